//! What `plan`, `drift`, `apply` and `links` share: read the file, resolve it, connect (to
//! Workato or an in-process simulator), observe, diff. `prepare` does everything before the first
//! request, so that a command can check its own inputs before anything is sent.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::cli::TargetArgs;
use crate::credentials::SIMULATOR_FINGERPRINT_KEY;
use crate::desired::{CredentialState, Desired, Resolver};
use crate::desired_file;
use crate::env::{self, Settings};
use crate::live::Live;
use crate::observe::observe;
use crate::plan::{ApiBudget, Plan, budget_of, diff};
use crate::redact::Secrets;
use crate::sim::{RunningSimulator, SimOptions, Simulator};
use crate::workato::{ApiToken, Client, ClientConfig, RetryPolicy};

/// How much faster than Workato's windows an in-process `--sim` run is paced (unless
/// `EMBEDCTL_TIME_SCALE` says otherwise).
pub const SIM_TIME_SCALE: f64 = 20.0;

/// A run's inputs and what it observed.
pub struct Observed {
    pub desired: Desired,
    pub live: Live,
    pub plan: Plan,
    pub budget: ApiBudget,
    /// The base URL, or `sim:<canonical state path>`.
    pub target_label: String,
    pub file_bytes: Vec<u8>,
    /// The client, for apply.
    pub client: Client,
    /// The in-process simulator under `--sim`; stop it (and save it, for apply) when done.
    pub simulator: Option<RunningSimulator>,
    /// The HMAC key credentials were fingerprinted with.
    pub fingerprint_key: Option<String>,
    /// The settings read from the environment at the start.
    pub settings: Settings,
}

impl Observed {
    /// Stops the in-process simulator, if any.
    pub async fn finish(self) {
        if let Some(running) = self.simulator {
            let _ = running.stop().await;
        }
    }
}

/// Why a run stopped; the message is already user-facing (and secret-free).
pub struct Stop(pub String);

/// What a run needs beyond the file.
pub struct RunOptions<'a> {
    pub file: &'a Path,
    pub target: &'a TargetArgs,
    pub customers: &'a [String],
    /// `plan --out` and `apply` need every credential resolved.
    pub need_all_credentials: bool,
}

/// Loads, resolves, observes and diffs. Diagnostics and warnings of the file go to stderr.
pub async fn observe_and_diff(options: RunOptions<'_>) -> Result<Observed, Stop> {
    prepare(&options)?.observe(options.customers).await
}

/// The file loaded, checked and resolved, and the settings read: everything a run knows before
/// its first request, so that a command can refuse bad input before anything is sent.
pub struct Prepared {
    pub desired: Desired,
    pub file_bytes: Vec<u8>,
    pub settings: Settings,
    /// Every secret value of the run; the client redacts them from whatever Workato sends back.
    /// A command adds its own secrets here before `observe`.
    pub secrets: Secrets,
    pub fingerprint_key: Option<String>,
    /// `workato.vendor_id` of the file, when it is set.
    pub vendor_id: Option<String>,
    region: Option<&'static str>,
    file_base_url: Option<String>,
    sim_state: Option<PathBuf>,
}

/// Loads the file (its diagnostics and warnings go to stderr), checks the `--customer` values,
/// reads the settings and resolves the file's credentials. No request is made.
pub fn prepare(options: &RunOptions<'_>) -> Result<Prepared, Stop> {
    let color = super::stderr_has_color();
    let loaded = match desired_file::load(options.file) {
        Ok(loaded) => loaded,
        Err(diagnostics) => {
            let mut stderr = anstream::stderr();
            let _ = write!(stderr, "{}", diagnostics.render(color));
            return Err(Stop(format!(
                "`{}` is not valid: {}",
                options.file.display(),
                desired_file::plural(diagnostics.error_count(), "error", "errors")
            )));
        }
    };
    if !loaded.warnings.is_empty() {
        let _ = write!(anstream::stderr(), "{}", loaded.warnings.render(color));
    }
    for wanted in options.customers {
        if !loaded
            .file
            .customers
            .iter()
            .any(|c| &c.value.external_id.value == wanted)
        {
            return Err(Stop(format!(
                "`--customer {wanted}`: no customer with that `external_id` in `{}`",
                options.file.display()
            )));
        }
    }
    let file_bytes = std::fs::read(options.file).map_err(|error| {
        Stop(format!(
            "cannot read `{}`: {}",
            options.file.display(),
            desired_file::io_reason(&error)
        ))
    })?;

    let simulated = options.target.sim.is_some();
    let settings = Settings::read(env::process).map_err(|error| Stop(error.to_string()))?;
    let fingerprint_key = settings
        .fingerprint_key
        .clone()
        .or_else(|| simulated.then(|| SIMULATOR_FINGERPRINT_KEY.to_owned()));
    let lookup = env::process;
    // Every secret value of the run, redacted from whatever Workato sends back.
    let secrets = Secrets::new();
    if let Some(key) = &fingerprint_key {
        secrets.add(key);
    }
    let resolver = Resolver {
        lookup: &lookup,
        fingerprint_key: fingerprint_key.clone(),
        secrets: secrets.clone(),
    };
    let mut desired = Desired::from_file(&loaded, &resolver);
    if !options.customers.is_empty() {
        desired
            .customers
            .retain(|customer| options.customers.contains(&customer.external_id));
    }
    if options.need_all_credentials {
        let missing: Vec<String> = desired
            .customers
            .iter()
            .flat_map(|customer| {
                customer
                    .credentials
                    .iter()
                    .filter_map(move |(reference, state)| match state {
                        CredentialState::Unknown { why } => {
                            Some(format!("`{}/{reference}`: {why}", customer.external_id))
                        }
                        _ => None,
                    })
            })
            .collect();
        if !missing.is_empty() {
            return Err(Stop(format!(
                "every credential must be known to save or apply a plan:\n  {}\n{}",
                missing.join("\n  "),
                if simulated {
                    "export the variables, or check the `file:` paths"
                } else {
                    "export the variables (and `EMBEDCTL_FINGERPRINT_KEY`), or check the `file:` paths"
                }
            )));
        }
    }

    let workato = loaded.file.workato.as_ref().map(|w| &w.value);
    Ok(Prepared {
        desired,
        file_bytes,
        settings,
        secrets,
        fingerprint_key,
        vendor_id: workato
            .and_then(|w| w.vendor_id.as_ref())
            .map(|id| id.value.clone()),
        region: workato
            .and_then(|w| w.region.as_ref())
            .map(|r| r.value.name()),
        file_base_url: workato
            .and_then(|w| w.base_url.as_ref())
            .map(|u| u.value.clone()),
        sim_state: options.target.sim.clone(),
    })
}

impl Prepared {
    /// Connects (to Workato, or to an in-process simulator under `--sim`), observes the
    /// customers (all of the file's when `customers` is empty) and diffs.
    pub async fn observe(self, customers: &[String]) -> Result<Observed, Stop> {
        let Prepared {
            desired,
            file_bytes,
            settings,
            secrets,
            fingerprint_key,
            vendor_id: _,
            region,
            file_base_url,
            sim_state,
        } = self;
        let (client, running, target_label) = connect(
            sim_state.as_deref(),
            region,
            file_base_url.as_deref(),
            &settings,
            &secrets,
        )
        .await?;
        let mut observed = Observed {
            desired,
            live: Live::default(),
            plan: Plan::default(),
            budget: budget_of(&[], client.rate_share()),
            target_label,
            file_bytes,
            client,
            simulator: running,
            fingerprint_key,
            settings,
        };
        if let Err(stop) = observed.refresh(customers).await {
            observed.finish().await;
            return Err(stop);
        }
        Ok(observed)
    }
}

/// A client for Workato (the base URL from `WORKATO_BASE_URL`, else `file_base_url`, else
/// `region`), or, with `sim_state`, for an in-process simulator loaded from that state file,
/// which the caller stops when done. The label is the base URL, or `sim:<canonical state path>`.
pub async fn connect(
    sim_state: Option<&Path>,
    region: Option<&str>,
    file_base_url: Option<&str>,
    settings: &Settings,
    secrets: &Secrets,
) -> Result<(Client, Option<RunningSimulator>, String), Stop> {
    match sim_state {
        Some(state_path) => {
            let account =
                Simulator::load_state(state_path).map_err(|error| Stop(error.to_string()))?;
            // The in-process simulator and the client share one clock scale, so a demo apply
            // is not paced at Workato's real limits; the plan's budget still quotes those.
            let time_scale = settings.time_scale.unwrap_or(SIM_TIME_SCALE);
            let sim_options = SimOptions {
                time_scale,
                ..SimOptions::default()
            };
            let running = RunningSimulator::start(Simulator::new(account, sim_options))
                .await
                .map_err(|error| Stop(format!("cannot start the in-process simulator: {error}")))?;
            let mut config = ClientConfig::new(running.base_url(), ApiToken::new("embedctl-sim"))
                .map_err(|error| Stop(error.to_string()))?;
            config.time_scale = time_scale;
            config.retry = RetryPolicy::standard().scaled(time_scale);
            config.secrets = secrets.clone();
            match Client::new(config) {
                Ok(client) => Ok((
                    client,
                    Some(running),
                    format!("sim:{}", canonical(state_path).display()),
                )),
                Err(error) => {
                    let _ = running.stop().await;
                    Err(Stop(error.to_string()))
                }
            }
        }
        None => {
            let mut config = ClientConfig::from_settings(region, file_base_url, settings)
                .map_err(|error| Stop(error.to_string()))?;
            config.secrets = secrets.clone();
            let client = Client::new(config).map_err(|error| Stop(error.to_string()))?;
            let label = client.base_url().to_owned();
            Ok((client, None, label))
        }
    }
}

impl Observed {
    /// Reads Workato again and diffs afresh, with the same client: what a command that wrote
    /// something sees next.
    pub async fn refresh(&mut self, customers: &[String]) -> Result<(), Stop> {
        let reading = std::time::Instant::now();
        let live = observe(&self.client, &self.desired, customers)
            .await
            .map_err(|error| Stop(format!("cannot read Workato: {error}")))?;
        let diffing = std::time::Instant::now();
        self.plan = diff(&self.desired, &live);
        if self.settings.timings {
            // `diff` is synchronous and pure: its wall time bounds the CPU time it took.
            eprintln!(
                "timings: read Workato in {:.3} s ({} calls), diff in {:.3} s",
                (diffing - reading).as_secs_f64(),
                live.calls.values().sum::<u64>(),
                diffing.elapsed().as_secs_f64()
            );
        }
        self.budget = budget_of(&self.plan.changes, self.client.rate_share());
        self.live = live;
        Ok(())
    }
}

/// The absolute path of a state file that may not exist yet.
fn canonical(path: &Path) -> PathBuf {
    if let Ok(full) = path.canonicalize() {
        return full;
    }
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    match (parent.canonicalize(), path.file_name()) {
        (Ok(parent), Some(name)) => parent.join(name),
        _ => path.to_path_buf(),
    }
}
