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

/// One variable of this process's environment; `None` when unset or not UTF-8. Also what
/// `{ env: NAME }` credentials are read with.
pub fn process(name: &str) -> Option<String> {
    std::env::var(name).ok()
}
