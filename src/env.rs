//! Every environment variable embedctl reads, named once (docs/commands.md lists them for users).
//!
//! Code that reads settings takes a `lookup` function instead of calling `std::env` itself, so
//! tests can hand in any environment; `process` is the lookup of a real run.

/// The API client token (required for anything that talks to Workato; never a flag).
pub const WORKATO_API_TOKEN: &str = "WORKATO_API_TOKEN";

/// The API base URL; overrides the file's `workato.region` / `workato.base_url`.
pub const WORKATO_BASE_URL: &str = "WORKATO_BASE_URL";

/// The HMAC key of credential fingerprints.
pub const EMBEDCTL_FINGERPRINT_KEY: &str = "EMBEDCTL_FINGERPRINT_KEY";

/// The share (0 < x ≤ 1) of each Workato rate limit embedctl may use.
pub const EMBEDCTL_RATE_SHARE: &str = "EMBEDCTL_RATE_SHARE";

/// Testing only: divides every duration derived from Workato's clock.
pub const EMBEDCTL_TIME_SCALE: &str = "EMBEDCTL_TIME_SCALE";

/// When set (to anything but `0` or nothing), plan, drift and apply print on stderr how long
/// reading Workato and computing the plan took (benchmarks read it).
pub const EMBEDCTL_TIMINGS: &str = "EMBEDCTL_TIMINGS";
/// Testing only: how often, in milliseconds, apply prints a progress line when stderr is not a
/// terminal (`apply::PROGRESS_INTERVAL` otherwise), so that a test need not wait ten seconds.
pub const EMBEDCTL_PROGRESS_INTERVAL_MS: &str = "EMBEDCTL_PROGRESS_INTERVAL_MS";

/// The RSA private key that signs connection-widget links (`links`): PEM text or a path.
pub const WORKATO_JWT_PRIVATE_KEY: &str = "WORKATO_JWT_PRIVATE_KEY";

/// One variable of this process's environment; `None` when unset or not UTF-8. Also what
/// `{ env: NAME }` credentials are read with.
pub fn process(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Every setting embedctl reads from the environment, read and checked once at the start of a
/// command (`read`), so that no two places parse one variable two ways.
#[derive(Clone, Debug)]
pub struct Settings {
    /// `WORKATO_BASE_URL`, when set and not blank (checked when the client is configured).
    pub base_url: Option<String>,
    /// `WORKATO_API_TOKEN` (its `Debug` prints `***`).
    pub api_token: Option<crate::workato::ApiToken>,
    /// `EMBEDCTL_FINGERPRINT_KEY`, when set and not empty.
    pub fingerprint_key: Option<String>,
    /// `EMBEDCTL_RATE_SHARE` (default 1).
    pub rate_share: f64,
    /// `EMBEDCTL_TIME_SCALE`, when set.
    pub time_scale: Option<f64>,
    /// `EMBEDCTL_PROGRESS_INTERVAL_MS`, or `apply::PROGRESS_INTERVAL`.
    pub progress_interval: std::time::Duration,
    /// `WORKATO_JWT_PRIVATE_KEY`, when set and not blank (its `Debug` prints no value; read
    /// and checked by `links` only).
    pub jwt_private_key: Option<crate::links::KeySetting>,
    /// `EMBEDCTL_TIMINGS`: print how long reading and diffing took.
    pub timings: bool,
}

impl Settings {
    /// Reads and checks every setting; `lookup` reads one variable (`process` in a real run).
    pub fn read(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, crate::workato::ConfigError> {
        use crate::workato::{ApiToken, parse_rate_share, parse_time_scale};
        let time_scale = match lookup(EMBEDCTL_TIME_SCALE).filter(|value| !value.trim().is_empty())
        {
            Some(value) => Some(parse_time_scale(Some(&value))?),
            None => None,
        };
        let progress_interval = match lookup(EMBEDCTL_PROGRESS_INTERVAL_MS)
            .filter(|value| !value.trim().is_empty())
        {
            Some(value) => match value.trim().parse::<u64>() {
                Ok(millis) if millis > 0 => std::time::Duration::from_millis(millis),
                _ => return Err(crate::workato::ConfigError::InvalidProgressInterval { value }),
            },
            None => crate::apply::PROGRESS_INTERVAL,
        };
        Ok(Settings {
            base_url: lookup(WORKATO_BASE_URL).filter(|url| !url.trim().is_empty()),
            api_token: lookup(WORKATO_API_TOKEN).map(ApiToken::new),
            fingerprint_key: lookup(EMBEDCTL_FINGERPRINT_KEY).filter(|key| !key.is_empty()),
            rate_share: parse_rate_share(lookup(EMBEDCTL_RATE_SHARE).as_deref())?,
            time_scale,
            progress_interval,
            jwt_private_key: lookup(WORKATO_JWT_PRIVATE_KEY)
                .filter(|value| !value.trim().is_empty())
                .map(crate::links::KeySetting::new),
            timings: lookup(EMBEDCTL_TIMINGS)
                .is_some_and(|value| !matches!(value.trim(), "" | "0")),
        })
    }
}
