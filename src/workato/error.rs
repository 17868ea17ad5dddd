//! What can go wrong when talking to Workato, said so that the reader knows what to do next.
//!
//! No message carries the API token or a request body (credentials travel in bodies): an
//! operation is named by its method and path only, and transport errors are described without
//! their URL's query.

use crate::redact::Secrets;

/// The settings are wrong; nothing was sent.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// No token in the environment.
    #[error(
        "`WORKATO_API_TOKEN` is not set; export the token of a Workato API client (Workato: \
         Workspace admin > API clients), or use `--sim STATE.json` to try embedctl against the \
         simulator"
    )]
    MissingToken,
    /// The token is blank.
    #[error("`WORKATO_API_TOKEN` is empty; export the token of a Workato API client")]
    EmptyToken,
    /// The token cannot be sent in a header.
    #[error(
        "`WORKATO_API_TOKEN` contains characters that cannot be sent in an HTTP header; check \
         that the variable holds only the token"
    )]
    TokenNotHeaderSafe,
    /// `workato.region` names no data center.
    #[error(
        "unknown Workato region `{region}`; use one of `us`, `eu`, `jp`, `sg`, `au`, `il`, `cn`, \
         or set `WORKATO_BASE_URL`"
    )]
    UnknownRegion { region: String },
    /// The base URL is not usable.
    #[error("invalid base URL `{url}` (from {origin}): {reason}")]
    InvalidBaseUrl {
        url: String,
        origin: &'static str,
        reason: String,
    },
    /// Plain HTTP to a host that is not this machine.
    #[error(
        "refusing the plain `http://` base URL `{url}` (from {origin}): the API token would \
         cross the network unencrypted; use `https://` (plain `http://` is allowed only for a \
         loopback host: 127.0.0.1, ::1, localhost)"
    )]
    InsecureBaseUrl { url: String, origin: &'static str },
    /// `EMBEDCTL_RATE_SHARE` is out of range.
    #[error(
        "`EMBEDCTL_RATE_SHARE` is `{value}`; it must be a number greater than 0 and at most 1 \
         (the share of each Workato rate limit embedctl may use), e.g. `0.5`"
    )]
    InvalidRateShare { value: String },
    /// `EMBEDCTL_TIME_SCALE` is not a positive number.
    #[error(
        "`EMBEDCTL_TIME_SCALE` is `{value}`; it must be a number greater than 0 (testing only: it \
         divides every rate-limit window, to match a simulator started with `--time-scale N`)"
    )]
    InvalidTimeScale { value: String },
    /// `EMBEDCTL_PROGRESS_INTERVAL_MS` is not a whole number of milliseconds above 0.
    #[error(
        "`EMBEDCTL_PROGRESS_INTERVAL_MS` is `{value}`; it must be a whole number of milliseconds \
         greater than 0 (testing only: how often apply reports progress without a terminal)"
    )]
    InvalidProgressInterval { value: String },
}

/// A request to Workato failed, or its answer could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The settings are wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The HTTP client could not be built (TLS set-up).
    #[error("cannot set up the HTTP client: {reason}")]
    Setup { reason: String },
    /// 401 or 403: the token is wrong or its role does not allow the endpoint.
    #[error(
        "Workato refused the API token for `{operation}` (HTTP {status}: {message}); check that \
         `WORKATO_API_TOKEN` belongs to an API client whose role allows this endpoint"
    )]
    Unauthorized {
        operation: String,
        status: u16,
        message: String,
    },
    /// 404.
    #[error("`{operation}` found nothing (HTTP 404: {message})")]
    NotFound { operation: String, message: String },
    /// Another 4xx: Workato understood the request and said no.
    #[error("`{operation}` failed with HTTP {status}: {message}")]
    Api {
        operation: String,
        status: u16,
        message: String,
    },
    /// HTTP 200 with `"success": false` (a recipe start with unauthorized connections, a change to
    /// a running recipe): Workato did not do it.
    #[error("Workato refused `{operation}`: {summary}")]
    Refused { operation: String, summary: String },
    /// Still 429 after every attempt.
    #[error(
        "`{operation}` was still rate limited (HTTP 429) after {attempts} attempts; something \
         else is using the same Workato budget: lower `EMBEDCTL_RATE_SHARE` or try again later"
    )]
    RateLimited { operation: String, attempts: u32 },
    /// Still 5xx after every attempt.
    #[error(
        "`{operation}` failed with HTTP {status} after {attempts} attempts: {message}; Workato \
         may be having trouble: try again later"
    )]
    Server {
        operation: String,
        status: u16,
        message: String,
        attempts: u32,
    },
    /// No answer (connection refused, reset, timed out) after every attempt.
    #[error(
        "`{operation}` got no answer after {attempts} attempts: {reason}; check the network and \
         the base URL"
    )]
    Transport {
        operation: String,
        reason: String,
        attempts: u32,
    },
    /// Attempts kept timing out (a server that accepts and then answers too slowly, or not at
    /// all) until the request's deadline passed.
    #[error(
        "`{operation}` timed out: no complete answer within {per_attempt_secs} s, {attempts} \
         attempts over {elapsed_secs} s; Workato may be slow or unreachable: try again later"
    )]
    TimedOut {
        operation: String,
        attempts: u32,
        per_attempt_secs: u64,
        elapsed_secs: u64,
    },
    /// The answer's body is larger than the client reads.
    #[error(
        "the answer to `{operation}` is larger than {limit_mib} MiB (HTTP {status}); embedctl \
         does not read it: this is not an answer Workato gives"
    )]
    TooLarge {
        operation: String,
        status: u16,
        limit_mib: usize,
    },
    /// A paged list that does not end: a page repeated objects already read, or there were more
    /// pages than any account has.
    #[error("`{endpoint}` cannot be read to its end: {reason}")]
    EndlessList { endpoint: String, reason: String },
    /// A create whose request reached Workato but whose answer was lost or was a server error:
    /// the object may exist now. Look it up by its natural key before creating it again
    /// (ARCHITECTURE.md).
    #[error(
        "`{operation}` may or may not have taken effect: {reason}; look the object up by its \
         natural key before creating it again (re-running `embedctl apply` does so)"
    )]
    OutcomeUnknown { operation: String, reason: String },
    /// The answer does not have the shape the client expects.
    #[error(
        "cannot read Workato's answer to `{operation}` at `{path}`: {reason}; Workato's API may \
         have changed: please report this with the path"
    )]
    Decode {
        operation: String,
        path: String,
        reason: String,
    },
}

impl ClientError {
    /// The error with every secret value of the run taken out of the text Workato sent (an error
    /// message may repeat the request that carried a credential).
    pub fn redacted(self, secrets: &Secrets) -> Self {
        if secrets.is_empty() {
            return self;
        }
        let clean = |text: String| secrets.redact(&text);
        match self {
            ClientError::Unauthorized {
                operation,
                status,
                message,
            } => ClientError::Unauthorized {
                operation: clean(operation),
                status,
                message: clean(message),
            },
            ClientError::NotFound { operation, message } => ClientError::NotFound {
                operation: clean(operation),
                message: clean(message),
            },
            ClientError::Api {
                operation,
                status,
                message,
            } => ClientError::Api {
                operation: clean(operation),
                status,
                message: clean(message),
            },
            ClientError::Refused { operation, summary } => ClientError::Refused {
                operation: clean(operation),
                summary: clean(summary),
            },
            ClientError::Server {
                operation,
                status,
                message,
                attempts,
            } => ClientError::Server {
                operation: clean(operation),
                status,
                message: clean(message),
                attempts,
            },
            ClientError::Transport {
                operation,
                reason,
                attempts,
            } => ClientError::Transport {
                operation: clean(operation),
                reason: clean(reason),
                attempts,
            },
            ClientError::OutcomeUnknown { operation, reason } => ClientError::OutcomeUnknown {
                operation: clean(operation),
                reason: clean(reason),
            },
            ClientError::Decode {
                operation,
                path,
                reason,
            } => ClientError::Decode {
                operation: clean(operation),
                path: clean(path),
                reason: clean(reason),
            },
            ClientError::EndlessList { endpoint, reason } => ClientError::EndlessList {
                endpoint: clean(endpoint),
                reason: clean(reason),
            },
            ClientError::Setup { reason } => ClientError::Setup {
                reason: clean(reason),
            },
            ClientError::RateLimited {
                operation,
                attempts,
            } => ClientError::RateLimited {
                operation: clean(operation),
                attempts,
            },
            ClientError::TimedOut {
                operation,
                attempts,
                per_attempt_secs,
                elapsed_secs,
            } => ClientError::TimedOut {
                operation: clean(operation),
                attempts,
                per_attempt_secs,
                elapsed_secs,
            },
            ClientError::TooLarge {
                operation,
                status,
                limit_mib,
            } => ClientError::TooLarge {
                operation: clean(operation),
                status,
                limit_mib,
            },
            // Made from the environment and the file, never from an answer.
            other @ ClientError::Config(_) => other,
        }
    }

    /// Whether Workato refused a create because an object with the same unique field exists
    /// (`external_id has already been taken`).
    pub fn is_already_taken(&self) -> bool {
        matches!(self, ClientError::Api { status: 400 | 409 | 422, message, .. }
            if message.contains("already been taken") || message.contains("already exists"))
    }

    /// Workato answered and said no: a 4xx other than 401/403, 404 and 429, or HTTP 200 with
    /// `success: false`. Not a timeout, a rate limit or a server error.
    pub fn is_refusal(&self) -> bool {
        matches!(self, ClientError::Refused { .. })
            || matches!(self, ClientError::Api { status, .. } if (400..500).contains(status))
    }

    /// The HTTP status Workato answered with, when it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Unauthorized { status, .. }
            | ClientError::Api { status, .. }
            | ClientError::Server { status, .. } => Some(*status),
            ClientError::NotFound { .. } => Some(404),
            ClientError::RateLimited { .. } => Some(429),
            ClientError::TooLarge { status, .. } => Some(*status),
            ClientError::Refused { .. } => Some(200),
            _ => None,
        }
    }

    /// Whether the outcome of a create is unknown (look up by natural key before retrying).
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, ClientError::OutcomeUnknown { .. })
    }
}
