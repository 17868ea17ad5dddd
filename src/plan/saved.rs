//! Saved plans (`plan --out PLAN.json`): the changes plus what `apply PLAN.json` must find
//! unchanged before it runs them (DESIGN.md §4). A saved plan never holds a secret: credentials
//! appear only as HMAC fingerprints.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{FORMAT_VERSION, Plan};
use crate::desired::{CredentialState, Desired};
use crate::live::Live;

/// The saved plan document.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SavedPlan {
    pub format_version: String,
    /// ISO-8601 creation time, and the same as Unix seconds for the age check.
    pub created_at: String,
    pub created_at_unix: u64,
    /// The API base URL, or `sim:<canonical state path>` under `--sim`.
    pub base_url: String,
    /// sha256 of the desired-state file's bytes.
    pub file_digest: String,
    /// HMAC fingerprint of every credential the plan will send, by `<customer>/<manifest>.<connection>`.
    pub credential_fingerprints: BTreeMap<String, String>,
    /// sha256 of the compared live fields of every customer with a change or a gate input,
    /// by external id (`absent` for a customer that does not exist yet).
    pub live_fingerprints: BTreeMap<String, String>,
    /// The plan itself, as rendered in JSON.
    pub plan: serde_json::Value,
}

/// Builds the saved plan. `now_unix` comes from the caller: `diff` and this function read no clock.
pub fn save(
    plan: &Plan,
    desired: &Desired,
    live: &Live,
    base_url: &str,
    file_bytes: &[u8],
    now_unix: u64,
) -> SavedPlan {
    let touched: std::collections::BTreeSet<&str> = plan
        .changes
        .iter()
        .chain(&plan.blocked)
        .map(|change| change.customer.as_str())
        .collect();
    let live_fingerprints = touched
        .into_iter()
        .map(|customer| {
            let digest = live
                .customers
                .get(customer)
                .and_then(|found| serde_json::to_vec(found).ok())
                .map_or_else(|| "absent".to_owned(), |bytes| sha256_hex(&bytes));
            (customer.to_owned(), digest)
        })
        .collect();
    let mut credential_fingerprints = BTreeMap::new();
    for customer in &desired.customers {
        for (reference, state) in &customer.credentials {
            if let CredentialState::Known { fingerprint } = state {
                credential_fingerprints.insert(
                    format!("{}/{reference}", customer.external_id),
                    fingerprint.clone(),
                );
            }
        }
    }
    SavedPlan {
        format_version: FORMAT_VERSION.to_owned(),
        created_at: crate::calendar::iso8601(now_unix),
        created_at_unix: now_unix,
        base_url: base_url.to_owned(),
        file_digest: sha256_hex(file_bytes),
        credential_fingerprints,
        live_fingerprints,
        plan: serde_json::to_value(plan).unwrap_or_default(),
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
