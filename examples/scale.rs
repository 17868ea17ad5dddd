//! The scale benchmark: the real `embedctl` binary against a simulator that enforces Workato's
//! published rate limits, time-scaled, with network latency, at the sizes of a large partner
//! (1,000 customers × 100 end users). It prints one PASS, FAIL or SKIP line per check, with the
//! numbers; BENCHMARKS.md holds a run and what it means.
//!
//! ```sh
//! cargo build --release
//! cargo run --release --example scale                      # every scenario, full size
//! cargo run --release --example scale -- a c --customers 100   # two scenarios, smaller fleet
//! ```
//!
//! Scenarios:
//! - `a`: `plan` of C × U customers and end users, in sync (every end user connected);
//! - `b`: the same with 10% of end users pending and 5% of customers with a stopped recipe;
//! - `c`: `apply` onboarding O × U from an empty account;
//! - `d`: the same reads done per end user, as a script would (one GET of the recipe, the default
//!   connection and the end user's connection each), against `c`'s account;
//! - `e`: `apply --max-duration` of C × U in several runs, until done.
//!
//! The simulator runs in this process; every `embedctl` run is a child process, started through a
//! small launcher (`launch`) so that its peak memory (`wait4`'s `ru_maxrss`) is its own. Plans of
//! `a` and `b` run at Workato's own limits by default (`--plan-time-scale`), the rest at x60
//! (`--time-scale`). The accounts of `a` and `b` are set up by
//! `embedctl apply --sim` paced a million times faster than Workato, then every end user is
//! marked connected (`b`: all but every tenth).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use embedctl::sim::{AccountState, RunningSimulator, SimOptions, Simulator};
use embedctl::workato::EndpointFamily;
use serde_json::Value;

/// The most memory an `embedctl` run may use.
const MAX_RSS_MB: f64 = 300.0;
/// How far above its floor a run's wall time may be.
const WALL_FACTOR: f64 = 1.1;
/// How much of an apply's requests may be answered 429.
const MAX_THROTTLED_SHARE: f64 = 0.001;
/// The CPU time `diff` may take for the whole fleet.
const MAX_DIFF_SECONDS: f64 = 1.0;
/// How many fewer calls, and how much less time, embedctl needs than per-end-user reads.
const PER_USER_FACTOR: f64 = 50.0;
/// The first argument that makes this binary the launcher of one measured child.
const LAUNCHER: &str = "__measure";
/// The requests of one customer's setup that each wait for the answer of the one before, outside
/// the paced part (the plan's `setup_seconds`, which runs from the first import to the last): the
/// customers list, the customer, its folder, then, after its import slot, the import, the two
/// status reads the simulator answers (in progress, then completed), the workspace read (its
/// connections and recipes side by side), the credentials update, the properties write, and the
/// start of each of the package's two recipes, one after the other. At the bench's latency they
/// take as long as the pacing (11 × 50 ms against 1.1 s at x60), so leaving them out would make the
/// check measure the network, not the schedule.
const SETUP_CHAIN_ROUND_TRIPS: u32 = 11;
/// A time scale so large that pacing costs nothing: for setting up accounts.
const SETUP_TIME_SCALE: &str = "1000000";

#[derive(Parser)]
#[command(about = "embedctl at scale against a time-scaled simulator (see BENCHMARKS.md)")]
struct Args {
    /// Scenarios to run (a, b, c, d, e); all when none is named.
    scenarios: Vec<String>,
    /// Customers of the fleet (scenarios a, b, e).
    #[arg(long, default_value_t = 1_000)]
    customers: usize,
    /// Customers onboarded from an empty account (scenarios c, d).
    #[arg(long, default_value_t = 10)]
    onboard: usize,
    /// End users per customer.
    #[arg(long, default_value_t = 100)]
    users: usize,
    /// Every rate-limit window is divided by this (and so are embedctl's).
    #[arg(long, default_value_t = 60.0)]
    time_scale: f64,
    /// The time scale of the plans of scenarios a and b. A plan's floor at x60 is about a second,
    /// less than loading a file of 100,000 end users takes, so by default they run at Workato's
    /// own limits (x1), where the floor is Workato's.
    #[arg(long, default_value_t = 1.0)]
    plan_time_scale: f64,
    /// Latency the simulator adds to every request, in milliseconds.
    #[arg(long, default_value_t = 50)]
    latency_ms: u64,
    /// `--max-duration` of each run of scenario e, in real seconds.
    #[arg(long, default_value_t = 120)]
    run_seconds: u64,
    /// The binary under test.
    #[arg(long)]
    embedctl: Option<PathBuf>,
}

fn main() {
    // The bench re-runs itself as a small launcher for each measured child (see `measure`).
    let raw: Vec<String> = std::env::args().collect();
    if raw.get(1).map(String::as_str) == Some(LAUNCHER) {
        std::process::exit(launch(&raw[2..]));
    }
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start a runtime: {error}");
            std::process::exit(1);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(report) if report.failed == 0 => {}
        Ok(_) => std::process::exit(1),
        Err(error) => {
            eprintln!("error: {error}");
            std::process::exit(2);
        }
    }
}

type Result<T> = std::result::Result<T, String>;

async fn run(args: Args) -> Result<Report> {
    let bench = Bench::new(&args)?;
    println!(
        "embedctl {} | simulator x{} time scale (plans of a, b: x{}), {} ms latency | fleet {} x {}, onboarding {} x {}",
        bench.binary.display(),
        args.time_scale,
        args.plan_time_scale,
        args.latency_ms,
        args.customers,
        args.users,
        args.onboard,
        args.users
    );
    let wanted: BTreeSet<String> = if args.scenarios.is_empty() {
        ["a", "b", "c", "d", "e"].map(str::to_owned).into()
    } else {
        args.scenarios.iter().map(|s| s.to_lowercase()).collect()
    };
    if let Some(unknown) = wanted
        .iter()
        .find(|s| !["a", "b", "c", "d", "e"].contains(&s.as_str()))
    {
        return Err(format!(
            "no scenario `{unknown}`: choose among a, b, c, d, e"
        ));
    }
    let mut report = Report::default();
    if wanted.contains("a") || wanted.contains("b") {
        let fleet = bench.fleet(args.customers, args.users)?;
        if wanted.contains("a") {
            bench
                .plan_fleet(&mut report, "a", &fleet, &fleet.in_sync)
                .await?;
        }
        if wanted.contains("b") {
            bench
                .plan_fleet(&mut report, "b", &fleet, &fleet.with_drift)
                .await?;
        }
    }
    if wanted.contains("c") || wanted.contains("d") {
        bench
            .onboard(&mut report, &wanted, args.onboard, args.users)
            .await?;
    }
    if wanted.contains("e") {
        bench
            .apply_in_runs(&mut report, args.customers, args.users, args.run_seconds)
            .await?;
    }
    println!(
        "\n{} passed, {} failed, {} skipped",
        report.passed, report.failed, report.skipped
    );
    Ok(report)
}

/// PASS, FAIL and SKIP lines, counted.
#[derive(Default)]
struct Report {
    passed: usize,
    failed: usize,
    skipped: usize,
}

impl Report {
    fn check(&mut self, scenario: &str, what: &str, ok: bool, numbers: String) {
        if ok {
            self.passed += 1;
        } else {
            self.failed += 1;
        }
        let verdict = if ok { "PASS" } else { "FAIL" };
        println!("{verdict} ({scenario}) {what}: {numbers}");
    }

    fn skip(&mut self, scenario: &str, why: &str) {
        self.skipped += 1;
        println!("SKIP ({scenario}) {why}");
    }

    fn info(scenario: &str, what: &str) {
        println!("     ({scenario}) {what}");
    }
}

struct Bench {
    binary: PathBuf,
    /// This program, which measures each run (`launch`).
    launcher: PathBuf,
    work: tempfile::TempDir,
    time_scale: f64,
    plan_time_scale: f64,
    latency: Duration,
}

/// One run of the binary.
struct Run {
    code: i32,
    wall: Duration,
    peak_rss_mb: f64,
    stdout: String,
    stderr: String,
}

/// A fleet's desired-state file and two accounts: in sync, and with drift.
struct Fleet {
    file: PathBuf,
    customers: usize,
    in_sync: PathBuf,
    with_drift: PathBuf,
}

impl Bench {
    fn new(args: &Args) -> Result<Bench> {
        // Read once, at the start: once a rebuild replaces the file, the running process's own
        // path reads as deleted.
        let launcher = std::env::current_exe().map_err(|e| e.to_string())?;
        let binary = match &args.embedctl {
            Some(path) => path.clone(),
            None => {
                // target/release/examples/scale → target/release/embedctl
                let exe = launcher.clone();
                exe.parent()
                    .and_then(Path::parent)
                    .map(|dir| dir.join("embedctl"))
                    .ok_or("cannot find the target directory")?
            }
        };
        if !binary.is_file() {
            return Err(format!(
                "`{}` does not exist: run `cargo build --release` first, or pass `--embedctl PATH`",
                binary.display()
            ));
        }
        for (flag, scale) in [
            ("--time-scale", args.time_scale),
            ("--plan-time-scale", args.plan_time_scale),
        ] {
            if !(scale.is_finite() && scale >= 1.0) {
                return Err(format!("`{flag}` must be at least 1"));
            }
        }
        Ok(Bench {
            binary,
            launcher,
            work: tempfile::tempdir().map_err(|e| format!("cannot make a temp dir: {e}"))?,
            time_scale: args.time_scale,
            plan_time_scale: args.plan_time_scale,
            latency: Duration::from_millis(args.latency_ms),
        })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.work.path().join(name)
    }

    /// `embedctl ARGS` with the run's variables, measured by a launcher (`launch`).
    async fn embedctl(&self, args: &[&str], env: &[(&str, &str)]) -> Result<Run> {
        let stdout_path = self.path("stdout.txt");
        let stderr_path = self.path("stderr.txt");
        let file = |path: &Path| {
            std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))
        };
        let result_path = self.path("measured.txt");
        let _ = std::fs::remove_file(&result_path);
        let mut command = Command::new(&self.launcher);
        command
            .arg(LAUNCHER)
            .arg(&result_path)
            .arg(&self.binary)
            .args(args)
            .current_dir(self.work.path())
            .env("NO_COLOR", "1")
            .env("PARTNER_API_KEY", "bench-partner-key")
            .env("EMBEDCTL_FINGERPRINT_KEY", "bench-fingerprint-key")
            .env("WORKATO_API_TOKEN", "bench-token")
            .env_remove("EMBEDCTL_RATE_SHARE")
            .stdin(Stdio::null())
            .stdout(file(&stdout_path)?)
            .stderr(file(&stderr_path)?);
        for (name, value) in env {
            command.env(name, value);
        }
        let started = Instant::now();
        let mut child = command.spawn().map_err(|e| {
            format!(
                "cannot run the launcher {} of {}: {e}",
                self.launcher.display(),
                self.binary.display()
            )
        })?;
        let waited = tokio::task::spawn_blocking(move || child.wait())
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("waiting for {}: {e}", self.binary.display()))?;
        let wall = started.elapsed();
        let measured = std::fs::read_to_string(&result_path).unwrap_or_default();
        let mut numbers = measured.split_whitespace().map(str::parse::<i64>);
        let (Some(Ok(status)), Some(Ok(usage))) = (numbers.next(), numbers.next()) else {
            return Err(format!(
                "the launcher of {} did not measure it (exit {waited})",
                self.binary.display()
            ));
        };
        let status = i32::try_from(status).unwrap_or(-1);
        let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
        Ok(Run {
            code: status,
            wall,
            peak_rss_mb: usage as f64 / 1024.0,
            stdout: read(&stdout_path),
            stderr: read(&stderr_path),
        })
    }

    /// A simulator on loopback over `account`, time-scaled, with the bench's latency.
    async fn serve(&self, account: AccountState, time_scale: f64) -> Result<Served> {
        let options = SimOptions {
            time_scale,
            latency: self.latency,
            ..SimOptions::default()
        };
        let simulator = Simulator::new(account, options);
        let origin = Instant::now();
        let running = RunningSimulator::start(simulator)
            .await
            .map_err(|e| format!("cannot serve the simulator: {e}"))?;
        Ok(Served {
            origin,
            time_scale,
            base: running.base_url().to_owned(),
            running,
            http: reqwest::Client::new(),
        })
    }

    fn served_env<'a>(&self, served: &'a Served, scale: &'a str) -> Vec<(&'a str, &'a str)> {
        vec![
            ("WORKATO_BASE_URL", served.base.as_str()),
            ("EMBEDCTL_TIME_SCALE", scale),
            ("EMBEDCTL_TIMINGS", "1"),
        ]
    }

    // ----- a, b: plan a fleet -----

    /// The fleet's file and its two accounts, set up by `embedctl apply --sim` at a time scale
    /// where pacing costs nothing.
    fn fleet(&self, customers: usize, users: usize) -> Result<Fleet> {
        let file = self.path("fleet.yaml");
        std::fs::write(&file, desired_file(customers, users)).map_err(|e| e.to_string())?;
        let state = self.path("fleet-applied.json");
        println!("setting up the fleet's account ({customers} x {users}) with apply --sim ...");
        let started = Instant::now();
        let run = blocking_run(
            &self.binary,
            self.work.path(),
            &[
                "apply",
                "-f",
                path_str(&file)?,
                "--sim",
                path_str(&state)?,
                "--auto-approve",
            ],
            &[("EMBEDCTL_TIME_SCALE", SETUP_TIME_SCALE)],
        )?;
        if run != 0 {
            return Err(format!("setting up the fleet failed (exit {run})"));
        }
        let text = std::fs::read_to_string(&state).map_err(|e| e.to_string())?;
        let applied: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        let in_sync = self.path("fleet-in-sync.json");
        let with_drift = self.path("fleet-with-drift.json");
        write_json(&in_sync, &connect_end_users(applied.clone(), |_| true))?;
        let mut drifted = connect_end_users(applied, |user| user % 10 != 0);
        stop_recipes(&mut drifted, |customer| customer % 20 == 0);
        write_json(&with_drift, &drifted)?;
        println!(
            "set up in {:.1} s ({} MB of state)",
            started.elapsed().as_secs_f64(),
            text.len() / 1_000_000
        );
        Ok(Fleet {
            file,
            customers,
            in_sync,
            with_drift,
        })
    }

    async fn plan_fleet(
        &self,
        report: &mut Report,
        scenario: &str,
        fleet: &Fleet,
        state: &Path,
    ) -> Result<()> {
        let account = Simulator::load_state(state).map_err(|e| e.to_string())?;
        let served = self.serve(account, self.plan_time_scale).await?;
        let scale = self.plan_time_scale.to_string();
        let env = self.served_env(&served, &scale);
        let run = self
            .embedctl(&["plan", "-f", path_str(&fleet.file)?], &env)
            .await?;
        let stats = served.stats().await?;
        served.stop().await;
        if run.code != 0 {
            return Err(format!(
                "({scenario}) plan exited {}: {}",
                run.code,
                tail(&run.stderr)
            ));
        }
        let summary = run.stdout.lines().last().unwrap_or_default().to_owned();
        Report::info(scenario, &summary);
        let calls: u64 = stats.calls.values().sum();
        let c = fleet.customers as u64;
        let bound = 1 + c.div_ceil(100) + 3 * c;
        report.check(
            scenario,
            "calls",
            calls <= bound,
            format!(
                "{} {} 1 + ceil(C/100) + 3·C = {} ({})",
                count(calls),
                if calls <= bound { "≤" } else { ">" },
                count(bound),
                families(&stats.calls)
            ),
        );
        let floor = self.read_floor(&stats.calls);
        report.check(
            scenario,
            "wall",
            run.wall.as_secs_f64() <= WALL_FACTOR * floor,
            format!(
                "{:.2} s against a floor of {:.2} s ({:.2}x)",
                run.wall.as_secs_f64(),
                floor,
                run.wall.as_secs_f64() / floor
            ),
        );
        match diff_seconds(&run.stderr) {
            Some(seconds) => report.check(
                scenario,
                "diff CPU",
                seconds < MAX_DIFF_SECONDS,
                format!("{seconds:.3} s (wall time of the pure diff, which bounds its CPU time)"),
            ),
            None => report.check(
                scenario,
                "diff CPU",
                false,
                "no `timings:` line on stderr (EMBEDCTL_TIMINGS)".to_owned(),
            ),
        }
        report.check(
            scenario,
            "peak RSS",
            run.peak_rss_mb < MAX_RSS_MB,
            format!("{:.0} MB (limit {MAX_RSS_MB:.0} MB)", run.peak_rss_mb),
        );
        Ok(())
    }

    /// The least time the published limits allow for a plan's reads, in real seconds: the
    /// customers list first, then every customer's reads, the slowest family deciding.
    fn read_floor(&self, calls: &BTreeMap<String, u64>) -> f64 {
        let seconds = |name: &str, count: u64| {
            EndpointFamily::from_name(name).map_or(0.0, |family| family.min_seconds(count, 1.0))
        };
        let customers = calls
            .get("customers")
            .map_or(0.0, |n| seconds("customers", *n));
        let others = calls
            .iter()
            .filter(|(name, _)| name.as_str() != "customers")
            .map(|(name, n)| seconds(name, *n))
            .fold(0.0, f64::max);
        (customers + others) / self.plan_time_scale
    }

    // ----- c, d: onboard from an empty account, then read per end user -----

    async fn onboard(
        &self,
        report: &mut Report,
        wanted: &BTreeSet<String>,
        customers: usize,
        users: usize,
    ) -> Result<()> {
        let file = self.path("onboard.yaml");
        std::fs::write(&file, desired_file(customers, users)).map_err(|e| e.to_string())?;
        let served = self.serve(AccountState::default(), self.time_scale).await?;
        let scale = self.time_scale.to_string();
        let env = self.served_env(&served, &scale);
        let file_arg = path_str(&file)?;
        let planned = self
            .embedctl(&["plan", "-f", file_arg, "--format", "json"], &env)
            .await?;
        let plan: Value = serde_json::from_str(&planned.stdout)
            .map_err(|e| format!("(c) the plan is not JSON: {e}: {}", tail(&planned.stderr)))?;
        let min_seconds = plan["api_budget"]["min_seconds"].as_f64().unwrap_or(0.0);
        let setup_seconds = plan["api_budget"]["setup_seconds"].as_f64().unwrap_or(0.0);
        let before = served.stats().await?;
        let seen = served.log().await?.len();
        let started = Instant::now();
        let applied = self
            .embedctl(&["apply", "-f", file_arg, "--auto-approve"], &env)
            .await?;
        let after = served.stats().await?;
        let log = served.log().await?;
        if wanted.contains("c") {
            Report::info(
                "c",
                applied.stderr.lines().last().unwrap_or("(no summary line)"),
            );
            report.check(
                "c",
                "exit",
                applied.code == 0,
                format!("apply exited {}", applied.code),
            );
            let floor = min_seconds / self.time_scale;
            let wall = applied.wall.as_secs_f64();
            report.check(
                "c",
                "wall",
                wall <= WALL_FACTOR * floor,
                format!(
                    "{wall:.2} s against the plan's floor of {floor:.2} s ({:.3}x; `≥ {}` at Workato's limits)",
                    wall / floor,
                    minutes(min_seconds)
                ),
            );
            let requests = after.total - before.total;
            let throttled: u64 = after.throttled_total() - before.throttled_total();
            let share = throttled as f64 / requests.max(1) as f64;
            report.check(
                "c",
                "429s",
                share <= MAX_THROTTLED_SHARE,
                format!(
                    "{throttled} of {} requests ({:.3}%, limit {:.1}%)",
                    count(requests),
                    share * 100.0,
                    MAX_THROTTLED_SHARE * 100.0
                ),
            );
            // When each recipe started: the simulator's clock, from its start, of the last
            // successful start, plus the latency after which it was handled.
            let apply_origin = (started - served.origin).as_secs_f64() * 1_000.0;
            let starts: Vec<f64> = log[seen..]
                .iter()
                .filter(|entry| {
                    entry["method"] == "PUT"
                        && entry["status"] == 200
                        && entry["path"]
                            .as_str()
                            .is_some_and(|p| p.ends_with("/start"))
                })
                .filter_map(|entry| entry["at_ms"].as_f64())
                .collect();
            let expected = 2 * customers;
            let last = starts.iter().copied().fold(0.0, f64::max);
            let recipes_run = (last - apply_origin) / 1_000.0 + self.latency.as_secs_f64();
            // The pacing floor of phases 1-3, plus the round trips of the last customer to get
            // its import slot and of everything that has to follow its import.
            let paced = setup_seconds / self.time_scale;
            let chain = SETUP_CHAIN_ROUND_TRIPS as f64 * self.latency.as_secs_f64();
            let setup_floor = paced + chain;
            report.check(
                "c",
                "recipes running",
                starts.len() == expected && recipes_run <= WALL_FACTOR * setup_floor,
                format!(
                    "all {} of {expected} recipes run {recipes_run:.2} s after apply started, \
                     against the floor of phases 1-3 of {setup_floor:.2} s ({:.3}x; paced \
                     {paced:.2} s + {SETUP_CHAIN_ROUND_TRIPS} round trips of {} ms)",
                    starts.len(),
                    recipes_run / setup_floor,
                    self.latency.as_millis(),
                ),
            );
        }
        if wanted.contains("d") {
            self.per_user_reads(report, &served, &env, file_arg, customers, users)
                .await?;
        }
        served.stop().await;
        Ok(())
    }

    async fn per_user_reads(
        &self,
        report: &mut Report,
        served: &Served,
        env: &[(&str, &str)],
        file: &str,
        customers: usize,
        users: usize,
    ) -> Result<()> {
        let before = served.stats().await?;
        let planned = self.embedctl(&["plan", "-f", file], env).await?;
        if planned.code != 0 {
            return Err(format!(
                "(d) plan exited {}: {}",
                planned.code,
                tail(&planned.stderr)
            ));
        }
        let middle = served.stats().await?;
        let embedctl_calls = middle.admitted() - before.admitted();
        let started = Instant::now();
        let script_calls = served.read_per_end_user(customers, users).await?;
        let script_wall = started.elapsed().as_secs_f64();
        let after = served.stats().await?;
        let counted = after.admitted() - middle.admitted();
        if counted != script_calls {
            Report::info(
                "d",
                &format!(
                    "the script sent {script_calls} requests, the simulator admitted {counted}"
                ),
            );
        }
        let call_ratio = script_calls as f64 / embedctl_calls.max(1) as f64;
        report.check(
            "d",
            "calls",
            call_ratio >= PER_USER_FACTOR,
            format!(
                "embedctl plan {} against {} read per end user ({call_ratio:.0}x fewer; {} end users)",
                count(embedctl_calls),
                count(script_calls),
                count((customers * users) as u64)
            ),
        );
        let wall_ratio = script_wall / planned.wall.as_secs_f64();
        report.check(
            "d",
            "wall",
            wall_ratio >= PER_USER_FACTOR,
            format!(
                "embedctl plan {:.2} s against {script_wall:.1} s read per end user, one request \
                 at a time ({wall_ratio:.0}x less)",
                planned.wall.as_secs_f64()
            ),
        );
        // At Workato's limits alone, with no latency: what even a perfectly parallel script
        // could not beat.
        let floor = |calls: &BTreeMap<String, u64>| {
            calls
                .iter()
                .filter_map(|(name, n)| {
                    EndpointFamily::from_name(name).map(|f| f.min_seconds(*n, 1.0))
                })
                .fold(0.0, f64::max)
        };
        Report::info(
            "d",
            &format!(
                "at Workato's limits: embedctl's reads ≥ {:.0} s, the per-end-user reads ≥ {:.0} s",
                floor(&delta(&middle.calls, &before.calls)),
                floor(&delta(&after.calls, &middle.calls))
            ),
        );
        Ok(())
    }

    // ----- e: apply a fleet in runs bounded by --max-duration -----

    async fn apply_in_runs(
        &self,
        report: &mut Report,
        customers: usize,
        users: usize,
        run_seconds: u64,
    ) -> Result<()> {
        let help = self.embedctl(&["apply", "--help"], &[]).await?;
        if !help.stdout.contains("--max-duration") {
            report.skip(
                "e",
                "`embedctl apply --help` has no `--max-duration`: this build cannot stop an apply in time",
            );
            return Ok(());
        }
        let file = self.path("fleet-e.yaml");
        std::fs::write(&file, desired_file(customers, users)).map_err(|e| e.to_string())?;
        let served = self.serve(AccountState::default(), self.time_scale).await?;
        let scale = self.time_scale.to_string();
        let env = self.served_env(&served, &scale);
        let max_duration = format!("{run_seconds}s");
        let mut runs = Vec::new();
        // When each run started, on the simulator's clock (ms).
        let mut starts = Vec::new();
        loop {
            starts.push((Instant::now() - served.origin).as_secs_f64() * 1_000.0);
            let run = self
                .embedctl(
                    &[
                        "apply",
                        "-f",
                        path_str(&file)?,
                        "--auto-approve",
                        "--max-duration",
                        &max_duration,
                    ],
                    &env,
                )
                .await?;
            let done = run.code == 0;
            println!(
                "     (e) run {}: exit {}, {:.1} s, {:.0} MB; {}",
                runs.len() + 1,
                run.code,
                run.wall.as_secs_f64(),
                run.peak_rss_mb,
                run.stderr.lines().last().unwrap_or_default()
            );
            let failed = run.code != 0 && run.code != 4;
            runs.push(run);
            if done || failed || runs.len() >= 200 {
                break;
            }
        }
        let state: Value =
            serde_json::from_str(&served.running.simulator().state_json()).unwrap_or_default();
        let log = served.log().await?;
        served.stop().await;
        let last = runs.last().map_or(-1, |run| run.code);
        report.check(
            "e",
            "done",
            last == 0,
            format!("{} runs, the last exited {last}", runs.len()),
        );
        let duplicates = duplicates(&state);
        report.check(
            "e",
            "no duplicate",
            duplicates.is_empty(),
            if duplicates.is_empty() {
                "every customer, folder and runtime connection exists once".to_owned()
            } else {
                format!(
                    "{} duplicated: {:?}",
                    duplicates.len(),
                    &duplicates[..duplicates.len().min(5)]
                )
            },
        );
        // A stopped run may send, after its budget, the request that was waiting for its slot
        // when time ran out: the slowest family's spacing and one round trip. What it sends
        // later is more than one request late.
        let one_request = EndpointFamily::ImportsCreate
            .spacing(1.0, self.time_scale)
            .as_secs_f64()
            + self.latency.as_secs_f64();
        let budget = run_seconds as f64;
        let mut times: Vec<f64> = log.iter().filter_map(|e| e["at_ms"].as_f64()).collect();
        times.sort_by(f64::total_cmp);
        let mut worst_request: f64 = f64::NEG_INFINITY;
        let mut worst_exit: f64 = f64::NEG_INFINITY;
        for (run, start) in runs.iter().zip(&starts).filter(|(run, _)| run.code == 4) {
            let end = start + run.wall.as_secs_f64() * 1_000.0;
            let last = times
                .iter()
                .copied()
                .filter(|at| *at >= *start && *at <= end)
                .fold(*start, f64::max);
            worst_request = worst_request.max((last - start) / 1_000.0 - budget);
            worst_exit = worst_exit.max(run.wall.as_secs_f64() - budget);
        }
        if worst_request.is_finite() {
            report.check(
                "e",
                "stops in time",
                worst_request <= one_request,
                format!(
                    "the latest last request of a stopped run came {worst_request:.2} s after its \
                     budget of {budget:.0} s (one request: {one_request:.2} s); the process \
                     exited at most {worst_exit:.2} s after it"
                ),
            );
        } else {
            report.check(
                "e",
                "stops in time",
                false,
                "no run was stopped by --max-duration: raise the fleet or lower --run-seconds"
                    .to_owned(),
            );
        }
        let peak = runs.iter().map(|run| run.peak_rss_mb).fold(0.0, f64::max);
        report.check(
            "e",
            "peak RSS",
            peak < MAX_RSS_MB,
            format!("{peak:.0} MB (limit {MAX_RSS_MB:.0} MB)"),
        );
        Ok(())
    }
}

/// A served simulator and a way to read its test routes.
struct Served {
    /// Close to the simulator's own start: the origin of its log's `at_ms`.
    origin: Instant,
    /// Its windows are divided by this.
    time_scale: f64,
    base: String,
    running: RunningSimulator,
    http: reqwest::Client,
}

/// `GET /__sim/stats`, the parts the bench reads.
struct Stats {
    calls: BTreeMap<String, u64>,
    throttled: BTreeMap<String, u64>,
    total: u64,
}

impl Stats {
    fn admitted(&self) -> u64 {
        self.calls.values().sum()
    }

    fn throttled_total(&self) -> u64 {
        self.throttled.values().sum()
    }
}

impl Served {
    fn sim_url(&self, route: &str) -> String {
        format!("{}/__sim/{route}", self.base.trim_end_matches("/api"))
    }

    async fn get(&self, url: &str) -> Result<Value> {
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        response.json().await.map_err(|e| format!("GET {url}: {e}"))
    }

    async fn stats(&self) -> Result<Stats> {
        let value = self.get(&self.sim_url("stats")).await?;
        let map = |value: &Value| -> BTreeMap<String, u64> {
            value
                .as_object()
                .map(|object| {
                    object
                        .iter()
                        .map(|(name, n)| (name.clone(), n.as_u64().unwrap_or(0)))
                        .collect()
                })
                .unwrap_or_default()
        };
        Ok(Stats {
            calls: map(&value["calls"]),
            throttled: map(&value["throttled"]),
            total: value["total_requests"].as_u64().unwrap_or(0),
        })
    }

    async fn log(&self) -> Result<Vec<Value>> {
        let value = self.get(&self.sim_url("log")).await?;
        match value.get("entries") {
            Some(Value::Array(entries)) => Ok(entries.clone()),
            _ => Err("the simulator's log has no entries".to_owned()),
        }
    }

    /// What a partner's script would do without embedctl: for every end user, one GET of the
    /// recipe their connection serves, one of the default connection and one of the end user's
    /// connection (both through the connections list, filtered: there is no GET of one
    /// connection), one request at a time; a 429 is waited out. The recipe ids are listed once
    /// per customer. Returns the requests sent.
    async fn read_per_end_user(&self, customers: usize, users: usize) -> Result<u64> {
        let mut sent = 0;
        for customer in 0..customers {
            let segment = format!("E{}", customer_id(customer));
            let recipes = self
                .api(
                    &format!("/managed_users/{segment}/recipes?per_page=100"),
                    &mut sent,
                )
                .await?;
            let recipe = recipes["result"][0]["id"].as_u64().unwrap_or(0);
            for user in 0..users {
                let paths = [
                    format!("/managed_users/{segment}/recipes/{recipe}"),
                    format!("/managed_users/{segment}/connections?provider=partner_app"),
                    format!(
                        "/managed_users/{segment}/connections?include_runtime_connections=true&external_id={}",
                        user_id(customer, user)
                    ),
                ];
                for path in paths {
                    self.api(&path, &mut sent).await?;
                }
            }
        }
        Ok(sent)
    }

    async fn api(&self, path: &str, sent: &mut u64) -> Result<Value> {
        let url = format!("{}{path}", self.base);
        loop {
            *sent += 1;
            let response = self
                .http
                .get(&url)
                .bearer_auth("bench-token")
                .send()
                .await
                .map_err(|e| format!("GET {url}: {e}"))?;
            if response.status().as_u16() == 429 {
                let seconds: f64 = response
                    .headers()
                    .get("retry-after")
                    .and_then(|value| value.to_str().ok())
                    .and_then(|value| value.parse().ok())
                    .unwrap_or(1.0);
                // In Workato's seconds: a time-scaled simulator's are shorter.
                tokio::time::sleep(Duration::from_secs_f64(seconds / self.time_scale)).await;
                continue;
            }
            return response.json().await.map_err(|e| format!("GET {url}: {e}"));
        }
    }

    async fn stop(self) {
        let _ = self.running.stop().await;
    }
}

/// The launcher: runs `PROGRAM ARGS…` (`args` = `RESULT_FILE PROGRAM ARGS…`) with this process's
/// stdio, environment and directory, waits for it with `wait4` and writes its exit code and peak
/// resident memory (KiB) to `RESULT_FILE`.
///
/// Why a launcher: Linux keeps a process's peak memory across `exec`, and a child forked from the
/// bench starts with the bench's memory (the simulator's account, hundreds of MB) as its own. The
/// launcher is small when it forks, so its child's peak is the child's.
fn launch(args: &[String]) -> i32 {
    let (Some(result), Some(program)) = (args.first(), args.get(1)) else {
        eprintln!("usage: {LAUNCHER} RESULT_FILE PROGRAM ARGS...");
        return 2;
    };
    let child = match Command::new(program).args(&args[2..]).spawn() {
        Ok(child) => child,
        Err(error) => {
            eprintln!("cannot run {program}: {error}");
            return 2;
        }
    };
    match wait4(child.id()) {
        Ok((code, peak_kib)) => match std::fs::write(result, format!("{code} {peak_kib}\n")) {
            Ok(()) => 0,
            Err(error) => {
                eprintln!("cannot write {result}: {error}");
                2
            }
        },
        Err(error) => {
            eprintln!("{error}");
            2
        }
    }
}

/// Waits for `pid` and returns its exit code and peak resident memory in KiB.
fn wait4(pid: u32) -> Result<(i32, i64)> {
    let mut status = 0;
    // SAFETY: `rusage` is plain data, valid when zeroed; `wait4` writes both out-parameters.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = libc::pid_t::try_from(pid).map_err(|e| e.to_string())?;
    // SAFETY: waits for our own child, with valid pointers to locals.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if waited != pid {
        return Err(format!("wait4: {}", std::io::Error::last_os_error()));
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    Ok((code, usage.ru_maxrss))
}

/// Runs the binary to completion outside the bench's runtime (setting accounts up).
fn blocking_run(binary: &Path, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<i32> {
    let mut command = Command::new(binary);
    command
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("PARTNER_API_KEY", "bench-partner-key")
        .env("EMBEDCTL_FINGERPRINT_KEY", "bench-fingerprint-key")
        .env_remove("WORKATO_BASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    let status = command
        .status()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    Ok(status.code().unwrap_or(-1))
}

fn customer_id(customer: usize) -> String {
    format!("c{customer:04}")
}

fn user_id(customer: usize, user: usize) -> String {
    format!("c{customer:04}-u{user:03}")
}

/// The quick start's files-sync manifest for `customers` customers of `users` end users each.
fn desired_file(customers: usize, users: usize) -> String {
    let package =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart/packages/files-sync");
    let mut text = format!(
        r#"version: 1
workato:
  region: us
manifests:
  files-sync:
    package: "{}"
    folder: Files Sync
    connections:
      partner_app:
        name: PartnerApp
        provider: partner_app
        settings:
          region: eu
        credentials:
          api_key: {{ env: PARTNER_API_KEY }}
      dropbox:
        name: Dropbox
        provider: dropbox
        runtime_users: true
        parent: none
        recipe_functions: [Get file]
customers:
"#,
        package.display()
    );
    for customer in 0..customers {
        let id = customer_id(customer);
        text.push_str(&format!(
            "  - external_id: {id}\n    name: Customer {customer}\n    notification_email: it@{id}.example\n    manifests: [files-sync]\n"
        ));
        if users > 0 {
            text.push_str("    runtime_users:\n");
        }
        for user in 0..users {
            text.push_str(&format!(
                "      - id: {}\n        name: User {user}\n",
                user_id(customer, user)
            ));
        }
    }
    text
}

/// The account with the runtime connections of end users for whom `connected(user index)` holds
/// authorized, as if they had completed the connection widget.
fn connect_end_users(mut state: Value, connected: impl Fn(usize) -> bool) -> Value {
    let Some(customers) = state["customers"].as_object_mut() else {
        return state;
    };
    for customer in customers.values_mut() {
        let Some(connections) = customer["connections"].as_object_mut() else {
            continue;
        };
        for connection in connections.values_mut() {
            let Some(user) = connection["external_id"].as_str() else {
                continue;
            };
            let index = user
                .rsplit_once("-u")
                .and_then(|(_, n)| n.parse::<usize>().ok())
                .unwrap_or(0);
            if connected(index) {
                let at = connection["created_at"].clone();
                connection["authorization_status"] = Value::from("success");
                connection["authorized_at"] = at;
            }
        }
    }
    state
}

/// Stops the first recipe of every customer for whom `stopped(customer index)` holds.
fn stop_recipes(state: &mut Value, stopped: impl Fn(usize) -> bool) {
    let Some(customers) = state["customers"].as_object_mut() else {
        return;
    };
    for customer in customers.values_mut() {
        let index = customer["external_id"]
            .as_str()
            .and_then(|id| id.strip_prefix('c'))
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(1);
        if !stopped(index) {
            continue;
        }
        if let Some(recipe) = customer["recipes"]
            .as_object_mut()
            .and_then(|recipes| recipes.values_mut().next())
        {
            recipe["running"] = Value::Bool(false);
        }
    }
}

/// Customers, folders and runtime connections that exist more than once.
fn duplicates(state: &Value) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut twice = Vec::new();
    let customers = state["customers"].as_object().cloned().unwrap_or_default();
    for customer in customers.values() {
        let external_id = customer["external_id"].as_str().unwrap_or_default();
        let mut keys = vec![format!("customer {external_id}")];
        for folder in customer["folders"]
            .as_object()
            .into_iter()
            .flat_map(|f| f.values())
        {
            keys.push(format!(
                "{external_id} folder {} in {}",
                folder["name"], folder["parent_id"]
            ));
        }
        for connection in customer["connections"]
            .as_object()
            .into_iter()
            .flat_map(|c| c.values())
        {
            if let Some(user) = connection["external_id"].as_str() {
                keys.push(format!(
                    "{external_id} connection {} of {user}",
                    connection["name"]
                ));
            }
        }
        for key in keys {
            if !seen.insert(key.clone()) {
                twice.push(key);
            }
        }
    }
    twice
}

fn write_json(path: &Path, value: &Value) -> Result<()> {
    let text = serde_json::to_string(value).map_err(|e| e.to_string())?;
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn path_str(path: &Path) -> Result<&str> {
    path.to_str()
        .ok_or_else(|| format!("`{}` is not UTF-8", path.display()))
}

/// `diff in 0.081 s` from the `timings:` line.
fn diff_seconds(stderr: &str) -> Option<f64> {
    let line = stderr.lines().find(|line| line.starts_with("timings:"))?;
    let (_, rest) = line.split_once("diff in ")?;
    rest.trim_end_matches(" s").trim().parse().ok()
}

fn delta(after: &BTreeMap<String, u64>, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(name, n)| (name.clone(), n - before.get(name).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

fn families(calls: &BTreeMap<String, u64>) -> String {
    calls
        .iter()
        .map(|(name, n)| format!("{name} {}", count(*n)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn count(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

fn minutes(seconds: f64) -> String {
    if seconds < 600.0 {
        format!("{seconds:.0} s")
    } else {
        format!("{:.0} min", seconds / 60.0)
    }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(5)..].join("\n")
}
