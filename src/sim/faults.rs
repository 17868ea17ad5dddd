//! Fault injection: latency, random 5xx, and responses lost after the write was committed.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The faults the simulator injects into `/api` requests.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Added to every request before it is handled.
    #[serde(with = "millis")]
    pub latency: Duration,
    /// Probability (0-1) of a 500 before the request does anything.
    pub fail_rate: f64,
    /// Per family name: how many of the next successful writes commit and then lose their
    /// response (the connection is cut), as a timeout after commit looks to a client.
    pub drop_after_commit: BTreeMap<String, u32>,
    /// Per family name: how many of the next writes are refused with a 400 whose message repeats
    /// the request body, credentials and all, as some servers' validation errors do (raw in
    /// `message`, JSON-escaped once more in `errors.input`).
    pub echo_request_in_errors: BTreeMap<String, u32>,
    /// Per family name: a storm that answers every request of the family, once `after` more
    /// have gone through, with `status` and no `Retry-After` (a 429 or 5xx storm).
    pub storms: BTreeMap<String, Storm>,
}

/// A family's requests answered with one status from some point on.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Storm {
    /// Requests still let through before the storm starts.
    pub after: u64,
    /// The status every later request gets (429, 500, 503…).
    pub status: u16,
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(value.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(deserializer)?))
    }
}
