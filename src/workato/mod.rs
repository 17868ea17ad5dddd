//! The Workato API client: the only code that speaks HTTP (ARCHITECTURE.md).
//!
//! - `config`: base URL (region table or `WORKATO_BASE_URL`), the token (`ApiToken`, printed as
//!   `***`), `EMBEDCTL_RATE_SHARE`, `EMBEDCTL_TIME_SCALE`.
//! - `client`: `Client` and one method per endpoint embedctl uses.
//! - `wire`: Workato's JSON objects, separate from the model (`live`).
//! - `decode`: tolerant reading of list wrappers, error bodies and `success: false`.
//! - `pacing`, `retry`: even spacing per endpoint family; backoff with jitter and `Retry-After`.
//! - `limits`: the client's copy of the rate-limit table.
//! - `error`: `ConfigError` and `ClientError`; no message carries the token or a request body.

mod client;
mod config;
mod decode;
mod error;
pub mod limits;
mod pacing;
mod retry;
pub mod wire;

pub use client::{CONNECTION_LIST_CAP, Client, ConnectionFilter, CustomerRef, PAGE_SIZE};
pub use config::{
    ApiToken, ClientConfig, DEFAULT_REGION, DEFAULT_REQUEST_DEADLINE, DEFAULT_REQUEST_TIMEOUT,
    MAX_BODY_BYTES, REGIONS, normalize_base_url, parse_rate_share, parse_time_scale,
    region_base_url,
};
pub use error::{ClientError, ConfigError};
pub use limits::EndpointFamily;
pub use retry::RetryPolicy;
