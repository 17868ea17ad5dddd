//! The Workato Embedded simulator: a stateful, faithful imitation of the partner API on loopback.
//!
//! It is what every test talks to and what partners use to try embedctl with no Workato account
//! (docs/simulator.md). It follows Workato's documented behaviour (docs/workato-api.md), and its own stated choices
//! (docs/simulator.md) where the documentation is silent. The
//! whole account sits behind one lock; every handler takes it, changes the state, builds its
//! answer and lets go, so requests are serializable and ids and timestamps deterministic.
//!
//! It shares no code with the client (`workato/`): it has its own types for Workato's objects.

// Route helpers return `Result<_, Response>` so that a handler can stop with a finished Workato
// answer; boxing the response would only add noise to every handler of a test server.
#![allow(clippy::result_large_err)]

mod faults;
mod http;
mod import;
mod limits;
mod model;
mod routes;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

pub use faults::{Faults, Storm};
pub use limits::{Family, RATE_LIMITS, RateLimiter};
pub use model::{AccountState, ID_HEADROOM, MAX_ID};

/// The largest state file `--sim` and `sim serve --state` read: 1 GiB.
pub const MAX_STATE_FILE_BYTES: u64 = 1 << 30;

use http::{LogEntry, Stats};

/// The knobs of a simulator (flags of `embedctl sim serve`, or set by tests).
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// Divides every rate-limit window by this factor (≥ 1 for fast tests).
    pub time_scale: f64,
    /// Latency added to every `/api` request.
    pub latency: Duration,
    /// The probability (0-1) that an `/api` request fails with a 500 before doing anything.
    pub fail_rate: f64,
    /// The only bearer token accepted; `None` accepts any non-empty token.
    pub api_token: Option<String>,
    /// How many status reads of an import answer `in_progress` before its outcome shows.
    pub import_polls: u32,
    /// The largest request body accepted (package zips included).
    pub max_body_bytes: usize,
    /// Seed of the fault-injection random sequence, so a failing run can be replayed.
    pub seed: u64,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            time_scale: 1.0,
            latency: Duration::ZERO,
            fail_rate: 0.0,
            api_token: None,
            import_polls: 1,
            max_body_bytes: 50 * 1024 * 1024,
            seed: 0x5eed,
        }
    }
}

/// Everything behind the simulator's one lock.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) account: AccountState,
    pub(crate) limiter: RateLimiter,
    pub(crate) faults: Faults,
    pub(crate) stats: Stats,
    pub(crate) log: Vec<LogEntry>,
    pub(crate) rng: u64,
}

/// A simulator instance; cheap to clone (all clones share one account).
#[derive(Clone, Debug)]
pub struct Simulator {
    inner: Arc<Mutex<Inner>>,
    options: Arc<SimOptions>,
    /// When it was made: the origin of the request log's `at_ms`.
    started: std::time::Instant,
}

/// Why a state file could not be loaded or saved.
#[derive(Debug, thiserror::Error)]
pub enum StateFileError {
    /// Reading or writing failed.
    #[error("cannot {action} simulator state `{path}`: {reason}")]
    Io {
        action: &'static str,
        path: String,
        reason: String,
    },
    /// The file is not a simulator state.
    #[error("`{path}` is not a simulator state file: {reason}")]
    Invalid { path: String, reason: String },
}

impl Simulator {
    /// A simulator over `account` with `options`.
    pub fn new(account: AccountState, options: SimOptions) -> Self {
        let faults = Faults {
            latency: options.latency,
            fail_rate: options.fail_rate,
            ..Faults::default()
        };
        let inner = Inner {
            account,
            limiter: RateLimiter::new(options.time_scale),
            faults,
            stats: Stats::default(),
            log: Vec::new(),
            rng: options.seed.max(1),
        };
        Self {
            inner: Arc::new(Mutex::new(inner)),
            options: Arc::new(options),
            started: std::time::Instant::now(),
        }
    }

    /// Loads the account from a state file; a file that does not exist is an empty account.
    ///
    /// Anything else that is not a state is refused, so that it is never taken for an empty
    /// account and then overwritten: a file that is not a regular file (`/dev/zero`), one larger
    /// than `MAX_STATE_FILE_BYTES` (read no further than that), one that is not a JSON object with
    /// only a state's fields, and one whose id sequence would repeat an id.
    pub fn load_state(path: &Path) -> Result<AccountState, StateFileError> {
        use std::io::Read;
        let shown = path.display().to_string();
        let io = |error: std::io::Error| StateFileError::Io {
            action: "read",
            path: shown.clone(),
            reason: error.to_string(),
        };
        let invalid = |reason: String| StateFileError::Invalid {
            path: shown.clone(),
            reason,
        };
        // Looked at before it is opened: opening a FIFO would wait for a writer forever.
        let metadata = match std::fs::metadata(path) {
            Ok(metadata) => metadata,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(AccountState::default());
            }
            Err(error) => return Err(io(error)),
        };
        if !metadata.is_file() {
            return Err(invalid(
                "it is not a regular file; a state file is a JSON document that embedctl wrote"
                    .to_owned(),
            ));
        }
        let too_large = || {
            invalid(format!(
                "it is larger than {} MiB, the most a state file may hold",
                MAX_STATE_FILE_BYTES / (1024 * 1024)
            ))
        };
        if metadata.len() > MAX_STATE_FILE_BYTES {
            return Err(too_large());
        }
        let file = std::fs::File::open(path).map_err(io)?;
        let mut bytes = Vec::new();
        file.take(MAX_STATE_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() as u64 > MAX_STATE_FILE_BYTES {
            return Err(too_large());
        }
        match bytes.iter().find(|byte| !byte.is_ascii_whitespace()) {
            Some(b'{') => {}
            Some(_) => {
                return Err(invalid(
                    "expected a JSON object (`{\"next_id\": …, \"customers\": {…}}`)".to_owned(),
                ));
            }
            None => return Err(invalid("the file is empty".to_owned())),
        }
        let account: AccountState =
            serde_json::from_slice(&bytes).map_err(|error| invalid(error.to_string()))?;
        account.check_ids().map_err(invalid)?;
        Ok(account)
    }

    /// Saves the account to `path` atomically (a temporary file renamed over it), so a killed
    /// process never leaves half a state file.
    pub fn save_state(&self, path: &Path) -> Result<(), StateFileError> {
        let io = |error: std::io::Error| StateFileError::Io {
            action: "write",
            path: path.display().to_string(),
            reason: error.to_string(),
        };
        let mut text = self.state_json();
        text.push('\n');
        let directory = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let file_name = path.file_name().map_or_else(
            || "state".into(),
            |name| name.to_string_lossy().into_owned(),
        );
        let temporary = directory.join(format!(".{file_name}.tmp-{}", std::process::id()));
        std::fs::write(&temporary, text).map_err(io)?;
        std::fs::rename(&temporary, path).map_err(io)
    }

    /// The account as pretty JSON (what `GET /__sim/state` returns and state files hold).
    pub fn state_json(&self) -> String {
        let inner = self.lock();
        serde_json::to_string_pretty(&inner.account).unwrap_or_else(|_| "{}".to_owned())
    }

    /// A copy of the account state, for tests.
    pub fn account(&self) -> AccountState {
        self.lock().account.clone()
    }

    /// Replaces a family's rate-limit windows (tests use tiny limits to provoke 429s).
    pub fn set_rate_limit(&self, family: Family, windows: Vec<(u32, u64)>) {
        self.lock().limiter.set_limit(family, windows);
    }

    /// Changes the fault injection while running.
    pub fn set_faults(&self, update: impl FnOnce(&mut Faults)) {
        update(&mut self.lock().faults);
    }

    /// The axum router of the simulator: `/api/…` and the test-only `/__sim/…`.
    pub fn router(&self) -> axum::Router {
        routes::router(self.clone())
    }

    /// Serves on `listener` until `shutdown` completes. The caller owns the socket, so tests bind
    /// `127.0.0.1:0` and read the port back.
    pub async fn serve(
        &self,
        listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown)
            .await
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        // A handler that panicked mid-change poisons the lock; the state it left is still the
        // best there is, and a simulator that stops answering would hide the bug behind timeouts.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn options(&self) -> &SimOptions {
        &self.options
    }

    pub(crate) fn started(&self) -> std::time::Instant {
        self.started
    }
}

/// A simulator serving on an ephemeral loopback port inside this process (`--sim STATE.json`),
/// so that the real client talks to it over real HTTP: the same code path as production. `stop`
/// ends it gracefully; dropping it (an early return, a panic) ends it too.
#[derive(Debug)]
pub struct RunningSimulator {
    simulator: Simulator,
    base_url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningSimulator {
    /// Binds `127.0.0.1:0` and serves `simulator` there until `stop`.
    pub async fn start(simulator: Simulator) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let address = listener.local_addr()?;
        let (sender, receiver) = tokio::sync::oneshot::channel::<()>();
        let serving = simulator.clone();
        let task = tokio::spawn(async move {
            serving
                .serve(listener, async move {
                    let _ = receiver.await;
                })
                .await
        });
        Ok(Self {
            simulator,
            base_url: format!("http://{address}/api"),
            shutdown: Some(sender),
            task,
        })
    }

    /// `http://127.0.0.1:PORT/api`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The simulator being served.
    pub fn simulator(&self) -> &Simulator {
        &self.simulator
    }

    /// Stops serving and waits for in-flight requests to finish.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(sender) = self.shutdown.take() {
            let _ = sender.send(());
        }
        match (&mut self.task).await {
            Ok(result) => result,
            Err(join) => Err(std::io::Error::other(join.to_string())),
        }
    }
}

impl Drop for RunningSimulator {
    fn drop(&mut self) {
        // After `stop` there is nothing left to do; otherwise stop serving now, without waiting.
        if let Some(sender) = self.shutdown.take() {
            let _ = sender.send(());
            self.task.abort();
        }
    }
}
