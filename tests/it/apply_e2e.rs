//! `embedctl apply` end to end: the real binary against a simulator, either in-process
//! (`--sim STATE.json`) or served by a spawned `embedctl sim serve` whose request log and state the
//! tests read back. Every test checks exit codes and output as a pipeline would, and the account
//! the run left behind: converged, layered in the right order, nothing duplicated.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use embedctl::sim::{AccountState, Family, RunningSimulator, SimOptions, Simulator};
use serde_json::{Value, json};

use crate::context::{Outcome, repo_root, run};

/// Rate-limit windows of the served simulator and of the client are both divided by this, so a
/// minute of Workato's limits lasts a second.
const TIME_SCALE: &str = "60";

/// `embedctl ARGS` in `dir` with exactly the given variables (`context::command`).
fn embedctl_command(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    crate::context::command(dir, args, env)
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("test paths are UTF-8")
}

fn quickstart_package() -> PathBuf {
    repo_root().join("examples/quickstart/packages/files-sync")
}

/// A desired-state file written into a temp dir.
pub(crate) struct Scenario {
    dir: tempfile::TempDir,
    file: PathBuf,
}

impl Scenario {
    pub(crate) fn new(yaml: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("embedctl.yaml");
        std::fs::write(&file, yaml).expect("write the scenario");
        Self { dir, file }
    }

    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn file(&self) -> &str {
        path_str(&self.file)
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// The files-sync manifest of the quick start, with its package at an absolute path and the
/// partner key read from `$key_env`.
pub(crate) fn files_sync_manifest(key_env: &str) -> String {
    format!(
        r#"version: 1
workato:
  region: us
manifests:
  files-sync:
    package: "{package}"
    folder: Files Sync
    connections:
      partner_app:
        name: PartnerApp
        provider: partner_app
        settings:
          region: eu
        credentials:
          api_key: {{ env: {key_env} }}
      dropbox:
        name: Dropbox
        provider: dropbox
        runtime_users: true
        parent: none
        recipe_functions: [Get file]
"#,
        package = path_str(&quickstart_package()),
    )
}

/// One customer entry; `users` are end-user ids.
pub(crate) fn customer_yaml(external_id: &str, name: &str, users: &[&str], extra: &str) -> String {
    let mut text = format!(
        "  - external_id: {external_id}\n    name: {name}\n    notification_email: it@{external_id}.example\n    manifests: [files-sync]\n{extra}"
    );
    if !users.is_empty() {
        text.push_str("    runtime_users:\n");
        for user in users {
            text.push_str(&format!("      - id: {user}\n        name: User {user}\n"));
        }
    }
    text
}

/// A simulator the binary under test talks to over HTTP: `embedctl sim serve --port 0` in a
/// child process, or one hosted by the test itself (to change what no flag reaches), and a way to
/// talk to its test routes.
pub(crate) struct Served {
    child: Option<Child>,
    /// Kept open so that the server never writes into a closed pipe.
    _stdout: Option<BufReader<ChildStdout>>,
    /// The simulator hosted in this process, if it is not a child.
    hosted: Option<RunningSimulator>,
    /// What the windows of the simulator and of the client are divided by.
    time_scale: &'static str,
    base: String,
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
}

fn test_runtime() -> tokio::runtime::Runtime {
    // Multi-threaded, so that a hosted simulator keeps serving while the test waits for a child.
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime for the test's HTTP calls")
}

impl Served {
    /// A served simulator (time-scaled) with extra flags, e.g. `--fail-rate 0.3`.
    pub(crate) fn start(extra: &[&str]) -> Self {
        Self::start_scaled(TIME_SCALE, extra)
    }

    /// A served simulator whose windows (and the client's) are divided by `time_scale`.
    pub(crate) fn start_scaled(time_scale: &'static str, extra: &[&str]) -> Self {
        let mut args = vec!["sim", "serve", "--port", "0", "--time-scale", time_scale];
        args.extend_from_slice(extra);
        let mut child = crate::context::command(&repo_root(), &args, &[])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("embedctl sim serve starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("the URL line");
        let base = line.trim().to_owned();
        assert!(
            base.starts_with("http://127.0.0.1:") && base.ends_with("/api"),
            "unexpected first line of sim serve: {base:?}"
        );
        Self {
            child: Some(child),
            _stdout: Some(stdout),
            hosted: None,
            time_scale,
            base,
            runtime: test_runtime(),
            http: reqwest::Client::new(),
        }
    }

    /// A simulator served from this process (time-scaled like `start`), set up by `setup`.
    pub(crate) fn host(setup: impl FnOnce(&Simulator)) -> Self {
        Self::host_with(AccountState::default(), SimOptions::default(), setup)
    }

    /// A simulator over `account` with `options` (time-scaled like `start`) served from this
    /// process, set up by `setup`.
    fn host_with(
        account: AccountState,
        options: SimOptions,
        setup: impl FnOnce(&Simulator),
    ) -> Self {
        let runtime = test_runtime();
        let options = SimOptions {
            time_scale: TIME_SCALE.parse().expect("a number"),
            ..options
        };
        let simulator = Simulator::new(account, options);
        setup(&simulator);
        let hosted = runtime
            .block_on(RunningSimulator::start(simulator))
            .expect("the simulator binds a loopback port");
        Self {
            child: None,
            _stdout: None,
            time_scale: TIME_SCALE,
            base: hosted.base_url().to_owned(),
            hosted: Some(hosted),
            runtime,
            http: reqwest::Client::new(),
        }
    }

    fn env<'a>(&'a self, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut env = vec![
            ("WORKATO_BASE_URL", self.base.as_str()),
            ("WORKATO_API_TOKEN", "t"),
            ("EMBEDCTL_FINGERPRINT_KEY", "k"),
            ("EMBEDCTL_TIME_SCALE", self.time_scale),
        ];
        env.extend_from_slice(extra);
        env
    }

    /// `embedctl ARGS` against this simulator.
    pub(crate) fn run(&self, dir: &Path, args: &[&str], extra_env: &[(&str, &str)]) -> Outcome {
        run(dir, args, &self.env(extra_env))
    }

    /// `embedctl ARGS` against this simulator, not waited for.
    pub(crate) fn spawn(&self, dir: &Path, args: &[&str], extra_env: &[(&str, &str)]) -> Child {
        embedctl_command(dir, args, &self.env(extra_env))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("embedctl starts")
    }

    fn sim_url(&self, path: &str) -> String {
        format!("{}/__sim{path}", self.base.trim_end_matches("/api"))
    }

    pub(crate) fn sim_get(&self, path: &str) -> Value {
        let url = self.sim_url(path);
        self.runtime.block_on(async {
            self.http
                .get(&url)
                .send()
                .await
                .expect("the simulator answers")
                .json()
                .await
                .expect("JSON")
        })
    }

    pub(crate) fn sim_post(&self, path: &str, body: Value) -> u16 {
        let url = self.sim_url(path);
        self.runtime.block_on(async {
            self.http
                .post(&url)
                .json(&body)
                .send()
                .await
                .expect("the simulator answers")
                .status()
                .as_u16()
        })
    }

    /// An `/api` call as another program (the partner's own product) would make it.
    pub(crate) fn api(&self, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        self.runtime.block_on(async {
            let response = self
                .http
                .request(method, &url)
                .bearer_auth("someone-else")
                .json(&body)
                .send()
                .await
                .expect("the simulator answers");
            let status = response.status().as_u16();
            let text = response.text().await.unwrap_or_default();
            (status, serde_json::from_str(&text).unwrap_or(Value::Null))
        })
    }

    pub(crate) fn state(&self) -> Value {
        self.sim_get("/state")
    }

    pub(crate) fn log(&self) -> Vec<Value> {
        self.sim_get("/log")["entries"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The write requests (method other than GET) logged after the first `skip` entries.
    pub(crate) fn writes_after(&self, skip: usize) -> Vec<Value> {
        self.log()
            .into_iter()
            .skip(skip)
            .filter(|entry| entry["method"] != "GET")
            .collect()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        // Our own child, by its handle.
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(hosted) = self.hosted.take() {
            let _ = self.runtime.block_on(hosted.stop());
        }
    }
}

/// `apply --auto-approve --format json` against `sim`: the outcome and its events, one per line.
pub(crate) fn apply_json(
    sim: &Served,
    scenario: &Scenario,
    env: &[(&str, &str)],
) -> (Outcome, Vec<Value>) {
    let args = [
        "apply",
        "-f",
        scenario.file(),
        "--auto-approve",
        "--format",
        "json",
    ];
    let outcome = sim.run(scenario.dir(), &args, env);
    let events = outcome
        .stdout
        .lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|error| panic!("not a JSON line ({error}): {line:?}"))
        })
        .collect();
    (outcome, events)
}

/// The customers of a state document.
fn customers(state: &Value) -> Vec<&Value> {
    state["customers"]
        .as_object()
        .map(|map| map.values().collect())
        .unwrap_or_default()
}

pub(crate) fn customer<'s>(state: &'s Value, external_id: &str) -> &'s Value {
    customers(state)
        .into_iter()
        .find(|c| c["external_id"] == external_id)
        .unwrap_or_else(|| panic!("customer {external_id} is not in the account"))
}

pub(crate) fn objects<'c>(customer: &'c Value, kind: &str) -> Vec<&'c Value> {
    customer[kind]
        .as_object()
        .map(|map| map.values().collect())
        .unwrap_or_default()
}

fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Every natural key that appears more than once in the account: customers by `external_id`,
/// folders by (parent, name), recipes by (folder, name), default connections by (folder, name,
/// provider), runtime connections by (`external_id`, name).
fn duplicates(state: &Value) -> Vec<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for customer in customers(state) {
        let ext = text(&customer["external_id"]);
        *seen.entry(format!("customer {ext}")).or_default() += 1;
        for folder in objects(customer, "folders") {
            let key = format!(
                "{ext}: folder {} in {}",
                text(&folder["name"]),
                folder["parent_id"]
            );
            *seen.entry(key).or_default() += 1;
        }
        for recipe in objects(customer, "recipes") {
            let key = format!(
                "{ext}: recipe {} in {}",
                text(&recipe["name"]),
                recipe["folder_id"]
            );
            *seen.entry(key).or_default() += 1;
        }
        for connection in objects(customer, "connections") {
            let key = if connection["external_id"].is_null() {
                format!(
                    "{ext}: connection {} ({}) in {}",
                    text(&connection["name"]),
                    text(&connection["provider"]),
                    connection["folder_id"]
                )
            } else {
                format!(
                    "{ext}: runtime connection {} of {}",
                    text(&connection["name"]),
                    text(&connection["external_id"])
                )
            };
            *seen.entry(key).or_default() += 1;
        }
    }
    seen.into_iter()
        .filter(|(_, count)| *count > 1)
        .map(|(key, count)| format!("{key} ×{count}"))
        .collect()
}

pub(crate) fn assert_no_duplicates(state: &Value) {
    let found = duplicates(state);
    assert!(found.is_empty(), "duplicated objects: {found:#?}");
}

/// The runtime connections of a customer as (`external_id`, name).
pub(crate) fn runtime_connections(customer: &Value) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = objects(customer, "connections")
        .into_iter()
        .filter(|c| !c["external_id"].is_null())
        .map(|c| (text(&c["external_id"]), text(&c["name"])))
        .collect();
    found.sort();
    found
}

/// What `plan` must say once apply converged.
pub(crate) fn assert_converged(outcome: &Outcome) {
    assert_eq!(outcome.code, 0, "{}", outcome.transcript());
    assert!(
        outcome.stdout.contains("No changes."),
        "plan after apply must show no changes:\n{}",
        outcome.transcript()
    );
}

/// `(customer id → external id)` of a state document.
fn external_ids(state: &Value) -> BTreeMap<String, String> {
    customers(state)
        .into_iter()
        .map(|c| (c["id"].to_string(), text(&c["external_id"])))
        .collect()
}

/// The external id of the customer a logged path is about.
fn customer_of(path: &str, ids: &BTreeMap<String, String>) -> Option<String> {
    let rest = path.strip_prefix("/api/managed_users/")?;
    let segment = rest.split(['/', '?']).next()?;
    if let Some(external) = segment.strip_prefix('E') {
        return Some(external.to_owned());
    }
    ids.get(segment).cloned()
}

fn is_runtime_create(entry: &Value) -> bool {
    entry["method"] == "POST"
        && entry["path"]
            .as_str()
            .is_some_and(|p| p.split('?').next().unwrap_or(p).ends_with("/connections"))
        && entry["body"]["external_id"].is_string()
}

// ---------------------------------------------------------------------------------------------
// 1. Onboarding converges.

/// The README quick start, exactly: the bundled account, `--sim`, plan → apply → plan.
#[test]
fn quickstart_plan_apply_plan_shows_no_changes_and_drift_only_pending_users() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("workato-state.json");
    copy_quickstart_state(&state);
    let file = repo_root().join("examples/quickstart/embedctl.yaml");
    let (file, state_arg) = (path_str(&file), path_str(&state));

    let before = run(
        dir.path(),
        &[
            "plan",
            "-f",
            file,
            "--sim",
            state_arg,
            "--detailed-exitcode",
        ],
        &[],
    );
    assert_eq!(before.code, 2, "{}", before.transcript());
    assert!(before.stdout.contains("Plan: "), "{}", before.transcript());
    let drift_before = run(dir.path(), &["drift", "-f", file, "--sim", state_arg], &[]);
    assert_eq!(drift_before.code, 2, "{}", drift_before.transcript());

    let applied = run(
        dir.path(),
        &["apply", "-f", file, "--sim", state_arg, "--auto-approve"],
        &[],
    );
    assert_eq!(applied.code, 0, "{}", applied.transcript());
    let summary = applied
        .stderr
        .lines()
        .last()
        .expect("apply ends with its summary");
    assert!(
        summary.starts_with("Apply: ") && summary.contains(" 0 failed, 0 skipped"),
        "{}",
        applied.transcript()
    );
    assert!(
        summary.contains("5 end users pending"),
        "{}",
        applied.transcript()
    );

    let after = run(
        dir.path(),
        &[
            "plan",
            "-f",
            file,
            "--sim",
            state_arg,
            "--detailed-exitcode",
        ],
        &[],
    );
    assert_converged(&after);
    let drift_after = run(dir.path(), &["drift", "-f", file, "--sim", state_arg], &[]);
    assert_eq!(
        drift_after.code,
        3,
        "only end users are left to authorize:\n{}",
        drift_after.transcript()
    );
    // docs/commands.md shows this very run: it must be what the user sees.
    let commands = std::fs::read_to_string(repo_root().join("docs/commands.md")).expect("docs");
    let shown = commands
        .split_once(
            "$ embedctl drift -f examples/quickstart/embedctl.yaml --sim /tmp/workato-state.json\n",
        )
        .and_then(|(_, rest)| rest.split_once("$ echo $?\n3\n"))
        .map(|(shown, _)| shown)
        .expect("docs/commands.md shows the quick start's drift");
    assert_eq!(drift_after.stdout, shown, "{}", drift_after.transcript());
    assert!(
        drift_after
            .stdout
            .contains("\nEnd users still to authorize (5 end users, 10 connections):\n"),
        "{}",
        drift_after.transcript()
    );
    let drift_markdown = run(
        dir.path(),
        &[
            "drift", "-f", file, "--sim", state_arg, "--format", "markdown",
        ],
        &[],
    );
    assert_eq!(drift_markdown.code, 3, "{}", drift_markdown.transcript());
    assert!(
        drift_markdown.stdout.lines().next().is_some_and(|heading| {
            heading.starts_with("## embedctl drift: ")
                && heading.ends_with("examples/quickstart/embedctl.yaml")
        }),
        "{}",
        drift_markdown.transcript()
    );

    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&state).expect("state saved back"))
            .expect("state is JSON");
    assert_no_duplicates(&saved);
    assert_eq!(
        runtime_connections(customer(&saved, "globex-002")),
        vec![
            ("g-1001".to_owned(), "Dropbox - Hank Scorpio".to_owned()),
            (
                "g-1001".to_owned(),
                "Dropbox - Hank Scorpio - Get file".to_owned()
            ),
            ("g-1002".to_owned(), "Dropbox - Frank Grimes".to_owned()),
            (
                "g-1002".to_owned(),
                "Dropbox - Frank Grimes - Get file".to_owned()
            ),
        ]
    );
    let text = serde_json::to_string(&saved).expect("JSON");
    let key = std::fs::read_to_string(
        repo_root().join("examples/quickstart/demo-secrets/partner_api_key"),
    )
    .expect("the demo key");
    assert!(
        !text.contains(key.trim()),
        "the saved state must not hold the partner key"
    );
}

/// The custom connector's id in the workspace that exported the example's package.
const PACKAGE_CONNECTOR_ID: &str = "northwind_ledger__connector_2100004417_1767952800";

/// The custom-connector example from an empty account: validates, plans, applies and converges.
/// Each customer workspace gets the connector under its own id, and the end users' connections
/// of it are created with that workspace's id: never the package's, which no request carries.
#[test]
fn custom_connector_example_uses_each_workspace_own_connector_id() {
    let sim = Served::start(&[]);
    let dir = repo_root().join("examples/custom-connector");
    let recipe = std::fs::read_to_string(
        dir.join("packages/ledger-sync/Ledger Sync/Recipes/archive_ledger_documents.recipe.json"),
    )
    .expect("the example's recipe");
    assert!(
        recipe.contains(PACKAGE_CONNECTOR_ID),
        "the package names the connector by the exporting workspace's id"
    );

    let validated = sim.run(&dir, &["validate"], &[]);
    assert_eq!(validated.code, 0, "{}", validated.transcript());
    let before = sim.run(&dir, &["plan", "--detailed-exitcode"], &[]);
    assert_eq!(before.code, 2, "{}", before.transcript());
    let applied = sim.run(&dir, &["apply", "--auto-approve"], &[]);
    assert_eq!(applied.code, 0, "{}", applied.transcript());
    let after = sim.run(&dir, &["plan", "--detailed-exitcode"], &[]);
    assert_converged(&after);

    let state = sim.state();
    assert_no_duplicates(&state);
    let mut live_ids = Vec::new();
    for (external_id, users) in [("initech-001", 2), ("umbrella-002", 1)] {
        let workspace = customer(&state, external_id);
        let live_id = text(&workspace["custom_connectors"]["northwind_ledger"]["provider"]);
        assert!(
            live_id.starts_with("northwind_ledger__connector_") && live_id != PACKAGE_CONNECTOR_ID,
            "{external_id}: {live_id}"
        );
        let connections: Vec<&Value> = workspace["connections"]
            .as_object()
            .map(|map| map.values().collect())
            .unwrap_or_default();
        let of_connector: Vec<&Value> = connections
            .iter()
            .copied()
            .filter(|c| text(&c["name"]).starts_with("Northwind Ledger"))
            .collect();
        // The default connection, the end users' shell, and a plain and a dedicated connection
        // per end user.
        assert_eq!(of_connector.len(), 2 + 2 * users, "{external_id}");
        for connection in &of_connector {
            assert_eq!(text(&connection["provider"]), live_id, "{connection}");
        }
        let runtime = of_connector
            .iter()
            .filter(|c| !c["external_id"].is_null())
            .count();
        assert_eq!(runtime, 2 * users, "{external_id}");
        for recipe in workspace["recipes"]
            .as_object()
            .into_iter()
            .flat_map(|m| m.values())
        {
            assert!(
                !recipe.to_string().contains(PACKAGE_CONNECTOR_ID),
                "{external_id}: an imported recipe keeps the package's id: {recipe}"
            );
        }
        live_ids.push(live_id);
    }
    assert_ne!(live_ids[0], live_ids[1], "each workspace has its own id");

    let log = sim.log();
    let runtime_creates: Vec<&Value> = log.iter().filter(|e| is_runtime_create(e)).collect();
    assert_eq!(
        runtime_creates.len(),
        4 * 3,
        "two connectors, 2 + 1 users, plain + dedicated"
    );
    for entry in &log {
        assert!(
            !entry["body"].to_string().contains(PACKAGE_CONNECTOR_ID)
                && !entry["path"].to_string().contains(PACKAGE_CONNECTOR_ID),
            "a request carries the package's connector id: {entry}"
        );
    }
}

/// The multi-manifest example from an empty account: converges, and the simulator's log shows
/// the layer cake was respected for every customer.
#[test]
fn multi_manifest_onboards_an_empty_account_in_layer_order() {
    let sim = Served::start(&[]);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = repo_root().join("examples/multi-manifest/embedctl.yaml");
    let file = path_str(&file);
    let env = [("ACME_PARTNER_API_KEY", "acme-demo-key")];

    let before = sim.run(
        dir.path(),
        &["plan", "-f", file, "--detailed-exitcode"],
        &env,
    );
    assert_eq!(before.code, 2, "{}", before.transcript());
    let applied = sim.run(dir.path(), &["apply", "-f", file, "--auto-approve"], &env);
    assert_eq!(applied.code, 0, "{}", applied.transcript());
    let after = sim.run(
        dir.path(),
        &["plan", "-f", file, "--detailed-exitcode"],
        &env,
    );
    assert_converged(&after);
    let drift = sim.run(dir.path(), &["drift", "-f", file], &env);
    assert_eq!(drift.code, 3, "{}", drift.transcript());

    let state = sim.state();
    assert_no_duplicates(&state);
    assert_eq!(customers(&state).len(), 6);
    assert_layer_order(&state, &sim.log());
}

/// Per customer: no runtime-connection POST before every recipe of the customer was started
/// (HTTP 200, and never started again after) and every default connection was given its
/// credentials (HTTP 200); and no recipe start before the credentials of the connections it uses.
fn assert_layer_order(state: &Value, log: &[Value]) {
    let ids = external_ids(state);
    let mut checked = 0;
    for customer in customers(state) {
        let ext = text(&customer["external_id"]);
        let own: Vec<(usize, &Value)> = log
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                customer_of(e["path"].as_str().unwrap_or_default(), &ids).as_deref()
                    == Some(ext.as_str())
            })
            .collect();
        let Some(first_runtime) = own
            .iter()
            .find(|(_, e)| is_runtime_create(e))
            .map(|(i, _)| *i)
        else {
            continue;
        };
        checked += 1;
        for recipe in objects(customer, "recipes") {
            assert_eq!(recipe["running"], true, "{ext}: {recipe}");
            let start = format!("/recipes/{}/start", recipe["id"]);
            let starts: Vec<&(usize, &Value)> = own
                .iter()
                .filter(|(_, e)| e["method"] == "PUT" && text(&e["path"]).ends_with(&start))
                .collect();
            assert!(
                starts
                    .iter()
                    .any(|(i, e)| *i < first_runtime && e["status"] == 200),
                "{ext}: recipe {} was not started before the first runtime connection (log #{})",
                recipe["name"],
                first_runtime + 1
            );
            assert!(
                starts.iter().all(|(i, _)| *i < first_runtime),
                "{ext}: recipe {} started again after runtime connections were created",
                recipe["name"]
            );
        }
        let defaults: Vec<&Value> = objects(customer, "connections")
            .into_iter()
            .filter(|c| {
                c["external_id"].is_null()
                    && c["parent_id"].is_null()
                    && c["authorization_status"] == "success"
            })
            .collect();
        assert!(
            !defaults.is_empty(),
            "{ext}: no authorized default connection"
        );
        for connection in defaults {
            let put = format!("/connections/{}", connection["id"]);
            let authorized = own.iter().find(|(_, e)| {
                e["method"] == "PUT"
                    && text(&e["path"]).ends_with(&put)
                    && e["status"] == 200
                    && (e["body"].get("input").is_some()
                        || e["body"].get("oauth_token_pair").is_some())
            });
            let Some((at, _)) = authorized else {
                panic!(
                    "{ext}: connection {} never got its credentials",
                    connection["name"]
                );
            };
            assert!(
                *at < first_runtime,
                "{ext}: connection {} was authorized after the first runtime connection",
                connection["name"]
            );
            // The recipes that use it start only after it is authorized.
            for recipe in objects(customer, "recipes") {
                let uses_it = recipe["config"].as_array().is_some_and(|config| {
                    config.iter().any(|entry| {
                        entry["account_id"] == connection["id"] && entry["skip_validation"] != true
                    })
                });
                if !uses_it {
                    continue;
                }
                let start = format!("/recipes/{}/start", recipe["id"]);
                let early = own.iter().find(|(i, e)| {
                    *i < *at && e["method"] == "PUT" && text(&e["path"]).ends_with(&start)
                });
                assert!(
                    early.is_none(),
                    "{ext}: recipe {} was started before connection {} was authorized",
                    recipe["name"],
                    connection["name"]
                );
            }
        }
    }
    assert!(checked > 0, "no customer got runtime connections");
}

// ---------------------------------------------------------------------------------------------
// 2. Re-apply after success writes nothing.

#[test]
fn reapply_after_success_makes_zero_writes() {
    let sim = Served::start(&[]);
    let mut yaml = files_sync_manifest("PARTNER_KEY");
    yaml.push_str("customers:\n");
    yaml.push_str(&customer_yaml("acme-001", "Acme", &["u-1", "u-2"], ""));
    yaml.push_str(&customer_yaml("globex-002", "Globex", &["g-1"], ""));
    let scenario = Scenario::new(&yaml);
    let env = [("PARTNER_KEY", "partner-key")];

    let first = sim.run(
        scenario.dir(),
        &["apply", "-f", scenario.file(), "--auto-approve"],
        &env,
    );
    assert_eq!(first.code, 0, "{}", first.transcript());
    let writes = sim.writes_after(0);
    assert!(
        writes.iter().any(is_runtime_create),
        "the first apply creates runtime connections"
    );

    let seen = sim.log().len();
    let second = sim.run(
        scenario.dir(),
        &["apply", "-f", scenario.file(), "--auto-approve"],
        &env,
    );
    assert_eq!(second.code, 0, "{}", second.transcript());
    assert!(
        second.stdout.contains("No changes."),
        "{}",
        second.transcript()
    );
    let again = sim.writes_after(seen);
    assert!(again.is_empty(), "re-apply wrote: {again:#?}");
    assert!(sim.log().len() > seen, "the second apply did read Workato");
}

// ---------------------------------------------------------------------------------------------
// 4. No terminal, no `--auto-approve`: refuse, write nothing.

#[test]
fn apply_without_a_terminal_or_auto_approve_refuses_and_writes_nothing() {
    let mut yaml = files_sync_manifest("PARTNER_KEY");
    yaml.push_str("customers:\n");
    yaml.push_str(&customer_yaml("acme-001", "Acme", &["u-1"], ""));
    let scenario = Scenario::new(&yaml);
    let state = scenario.path("state.json");
    copy_quickstart_state(&state);
    let before = std::fs::read(&state).expect("state");

    let outcome = run(
        scenario.dir(),
        &["apply", "-f", scenario.file(), "--sim", path_str(&state)],
        &[("PARTNER_KEY", "partner-key")],
    );
    assert_eq!(outcome.code, 1, "{}", outcome.transcript());
    assert!(
        outcome.stderr.contains("--auto-approve"),
        "the refusal names the flag:\n{}",
        outcome.transcript()
    );
    assert!(
        outcome.stdout.contains("Plan: "),
        "the plan is shown before the refusal:\n{}",
        outcome.transcript()
    );
    assert!(
        !outcome.stderr.contains(": done"),
        "nothing may be applied:\n{}",
        outcome.transcript()
    );
    assert_eq!(
        std::fs::read(&state).expect("state"),
        before,
        "the state file must be unchanged"
    );
}

// ---------------------------------------------------------------------------------------------
// 5. `--format json`: NDJSON, and no secret anywhere.

#[test]
fn apply_json_streams_ndjson_events_without_secrets() {
    const CREDENTIAL: &str = "canary-credential-7f3a9c";
    const TOKEN: &str = "canary-token-b41e02";
    const FINGERPRINT_KEY: &str = "canary-hmac-key-5d8e";
    let sim = Served::start(&[]);
    let mut yaml = files_sync_manifest("PARTNER_KEY");
    yaml.push_str("customers:\n");
    yaml.push_str(&customer_yaml("acme-001", "Acme", &["u-1"], ""));
    yaml.push_str(&customer_yaml("globex-002", "Globex", &[], ""));
    let scenario = Scenario::new(&yaml);
    let env = [
        ("PARTNER_KEY", CREDENTIAL),
        ("WORKATO_API_TOKEN", TOKEN),
        ("EMBEDCTL_FINGERPRINT_KEY", FINGERPRINT_KEY),
    ];

    let (outcome, events) = apply_json(&sim, &scenario, &env);
    assert_eq!(outcome.code, 0, "{}", outcome.transcript());
    assert!(events.len() > 2, "{}", outcome.transcript());
    let kinds: Vec<&str> = events
        .iter()
        .map(|event| event["event"].as_str().expect("every event names itself"))
        .collect();
    assert_eq!(kinds.first(), Some(&"apply_start"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"summary"), "{kinds:?}");
    assert_eq!(
        kinds.iter().filter(|kind| **kind == "summary").count(),
        1,
        "{kinds:?}"
    );
    let starts = kinds.iter().filter(|kind| **kind == "change_start").count();
    let dones = kinds.iter().filter(|kind| **kind == "change_done").count();
    assert_eq!(starts, dones, "every started change is done: {kinds:?}");
    assert_eq!(events[0]["changes"], json!(starts), "{}", events[0]);
    assert_eq!(events[0]["customers"], 2, "{}", events[0]);
    let summary = events.last().expect("summary");
    assert_eq!(summary["succeeded"], json!(dones), "{summary}");
    assert_eq!(summary["failed"], 0, "{summary}");
    assert_eq!(
        summary["pending_users"], 1,
        "one end user, two connections: {summary}"
    );
    for event in &events {
        if event["event"] == "change_start" || event["event"] == "change_done" {
            for field in ["customer", "phase", "action", "kind", "key"] {
                assert!(!event[field].is_null(), "{field} missing in {event}");
            }
        }
    }
    assert!(
        kinds.contains(&"change_done")
            && events
                .iter()
                .any(|e| e["kind"] == "connection" && e["action"] == "authorize"),
        "the credential was sent: {kinds:?}"
    );
    for secret in [CREDENTIAL, TOKEN, FINGERPRINT_KEY] {
        assert!(
            !outcome.stdout.contains(secret) && !outcome.stderr.contains(secret),
            "a secret leaked into the output:\n{}",
            outcome.transcript()
        );
    }
    // The simulator kept only a digest of what it received.
    let state = serde_json::to_string(&sim.state()).expect("JSON");
    assert!(!state.contains(CREDENTIAL));
}

// ---------------------------------------------------------------------------------------------
// 6. Responses lost after committed creates.

#[test]
fn dropped_responses_after_committed_creates_leave_no_duplicates() {
    let sim = Served::start(&[
        "--drop-after-commit",
        "customers_create=1",
        "--drop-after-commit",
        "connections=2",
    ]);
    let mut yaml = files_sync_manifest("PARTNER_KEY");
    yaml.push_str("customers:\n");
    yaml.push_str(&customer_yaml("acme-001", "Acme", &["u-1", "u-2"], ""));
    yaml.push_str(&customer_yaml("globex-002", "Globex", &["g-1"], ""));
    let scenario = Scenario::new(&yaml);
    let env = [("PARTNER_KEY", "partner-key")];

    let converged = apply_until_converged(&sim, &scenario, &env, 3);
    assert!(
        converged.is_some(),
        "apply did not converge in 3 runs after lost responses"
    );
    let log = sim.log();
    let dropped: Vec<&Value> = log.iter().filter(|e| e["dropped"] == true).collect();
    assert_eq!(dropped.len(), 3, "the faults must have fired: {dropped:#?}");
    assert!(
        dropped
            .iter()
            .any(|e| e["method"] == "POST" && e["family"] == "customers_create")
    );
    // The lost create was looked up, not blindly sent again (which Workato refuses with a 400).
    let refused: Vec<&Value> = log
        .iter()
        .filter(|e| e["family"] == "customers_create" && e["status"] != 200)
        .collect();
    assert!(refused.is_empty(), "{refused:#?}");
    assert!(
        log.iter()
            .any(|e| e["method"] == "GET" && text(&e["path"]).starts_with("/api/managed_users/E")),
        "the customer was looked up by external id"
    );
    let state = sim.state();
    assert_no_duplicates(&state);
    assert_eq!(customers(&state).len(), 2);
    assert_eq!(runtime_connections(customer(&state, "acme-001")).len(), 4);
    assert_eq!(runtime_connections(customer(&state, "globex-002")).len(), 2);
}

/// Lost answers aimed at the runtime-connection creates themselves: phases 1-3 are done first,
/// then every connections write of the second apply loses its answer once.
#[test]
fn dropped_runtime_connection_creates_are_looked_up_not_repeated() {
    let sim = Served::start(&[]);
    let base = {
        let mut yaml = files_sync_manifest("PARTNER_KEY");
        yaml.push_str("customers:\n");
        yaml
    };
    let env = [("PARTNER_KEY", "partner-key")];
    let setup = Scenario::new(&(base.clone() + &customer_yaml("acme-001", "Acme", &[], "")));
    let first = sim.run(
        setup.dir(),
        &["apply", "-f", setup.file(), "--auto-approve"],
        &env,
    );
    assert_eq!(first.code, 0, "{}", first.transcript());

    let users = Scenario::new(&(base + &customer_yaml("acme-001", "Acme", &["u-1", "u-2"], "")));
    assert_eq!(
        sim.sim_post(
            "/faults",
            json!({ "drop_after_commit": { "connections": 2 } })
        ),
        200
    );
    let seen = sim.log().len();
    let second = sim.run(
        users.dir(),
        &["apply", "-f", users.file(), "--auto-approve"],
        &env,
    );
    let dropped: Vec<Value> = sim
        .writes_after(seen)
        .into_iter()
        .filter(|e| e["dropped"] == true)
        .collect();
    assert_eq!(dropped.len(), 2, "{dropped:#?}");
    assert!(
        dropped.iter().all(is_runtime_create),
        "the lost answers were runtime-connection creates: {dropped:#?}"
    );
    // Looked up, found, done: a lost answer is not a failure.
    assert_eq!(second.code, 0, "{}", second.transcript());
    let plan = sim.run(users.dir(), &["plan", "-f", users.file()], &env);
    assert_converged(&plan);
    let state = sim.state();
    assert_no_duplicates(&state);
    assert_eq!(
        runtime_connections(customer(&state, "acme-001")),
        vec![
            ("u-1".to_owned(), "Dropbox - User u-1".to_owned()),
            ("u-1".to_owned(), "Dropbox - User u-1 - Get file".to_owned()),
            ("u-2".to_owned(), "Dropbox - User u-2".to_owned()),
            ("u-2".to_owned(), "Dropbox - User u-2 - Get file".to_owned()),
        ]
    );
}

/// Runs apply up to `runs` times until one succeeds and a plan shows no changes; returns how
/// many applies it took.
fn apply_until_converged(
    sim: &Served,
    scenario: &Scenario,
    env: &[(&str, &str)],
    runs: usize,
) -> Option<usize> {
    let mut transcripts = Vec::new();
    for attempt in 1..=runs {
        let outcome = sim.run(
            scenario.dir(),
            &["apply", "-f", scenario.file(), "--auto-approve"],
            env,
        );
        assert!(
            outcome.code == 0 || outcome.code == 1,
            "{}",
            outcome.transcript()
        );
        if outcome.code == 1 {
            assert!(
                outcome.stderr.contains("Apply: ") || outcome.stderr.contains("error"),
                "a failed apply says why:\n{}",
                outcome.transcript()
            );
        }
        transcripts.push(outcome.transcript());
        if outcome.code == 0 {
            let plan = sim.run(
                scenario.dir(),
                &["plan", "-f", scenario.file(), "--detailed-exitcode"],
                env,
            );
            if plan.code == 0 {
                return Some(attempt);
            }
            transcripts.push(plan.transcript());
        }
    }
    eprintln!("{}", transcripts.join("\n=====\n"));
    None
}

// ---------------------------------------------------------------------------------------------
// 7. A storm of 5xx.

#[test]
fn a_5xx_storm_converges_after_a_few_reruns_without_duplicates() {
    let sim = Served::start(&["--fail-rate", "0.3"]);
    let mut yaml = files_sync_manifest("PARTNER_KEY");
    yaml.push_str("customers:\n");
    yaml.push_str(&customer_yaml("acme-001", "Acme", &["u-1"], ""));
    yaml.push_str(&customer_yaml("globex-002", "Globex", &["g-1"], ""));
    let scenario = Scenario::new(&yaml);
    let env = [("PARTNER_KEY", "partner-key")];

    let runs = apply_until_converged(&sim, &scenario, &env, 4);
    assert!(runs.is_some(), "apply did not converge within 4 runs");
    let stats = sim.sim_get("/stats");
    assert!(
        stats["injected_failures"].as_u64().unwrap_or(0) > 0,
        "the storm happened: {stats}"
    );
    let state = sim.state();
    assert_no_duplicates(&state);
    assert_eq!(customers(&state).len(), 2);
    assert_eq!(runtime_connections(customer(&state, "acme-001")).len(), 2);
    assert_eq!(runtime_connections(customer(&state, "globex-002")).len(), 2);
}

/// Limits far below Workato's: the client, pacing itself for the published ones, runs into 429s
/// and must wait them out (honouring `Retry-After`) without giving up or duplicating anything.
#[test]
fn a_429_storm_converges_without_duplicates() {
    let sim = Served::host(|simulator| {
        for family in [
            Family::CustomersCreate,
            Family::Folders,
            Family::Connections,
            Family::PropertiesUpsert,
        ] {
            simulator.set_rate_limit(family, vec![(2, 60)]);
        }
    });
    let mut yaml = files_sync_manifest("PARTNER_KEY");
    yaml.push_str("customers:\n");
    yaml.push_str(&customer_yaml("acme-001", "Acme", &["u-1"], ""));
    yaml.push_str(&customer_yaml("globex-002", "Globex", &["g-1"], ""));
    let scenario = Scenario::new(&yaml);
    let env = [("PARTNER_KEY", "partner-key")];

    let runs = apply_until_converged(&sim, &scenario, &env, 2);
    assert_eq!(runs, Some(1), "429s are waited out within one apply");
    let stats = sim.sim_get("/stats");
    let throttled: u64 = stats["throttled"]
        .as_object()
        .map(|families| families.values().filter_map(Value::as_u64).sum())
        .unwrap_or(0);
    assert!(throttled > 0, "the storm happened: {stats}");
    let state = sim.state();
    assert_no_duplicates(&state);
    assert_eq!(runtime_connections(customer(&state, "acme-001")).len(), 2);
    assert_eq!(runtime_connections(customer(&state, "globex-002")).len(), 2);
}

// ---------------------------------------------------------------------------------------------
// 8. Saved plans.

/// `apply PLAN_PATH` of `scenario`, which must exit 1 saying `reason` and write nothing.
fn apply_refused(
    sim: &Served,
    scenario: &Scenario,
    plan_path: &str,
    env: &[(&str, &str)],
    reason: &str,
) -> Outcome {
    let seen = sim.log().len();
    let refused = sim.run(
        scenario.dir(),
        &["apply", plan_path, "-f", scenario.file(), "--auto-approve"],
        env,
    );
    assert_eq!(refused.code, 1, "{}", refused.transcript());
    assert!(refused.stderr.contains(reason), "{}", refused.transcript());
    assert!(
        sim.writes_after(seen).is_empty(),
        "a refused plan writes nothing"
    );
    refused
}

fn saved_plan_scenario() -> Scenario {
    let mut yaml = files_sync_manifest("PARTNER_KEY");
    yaml.push_str("customers:\n");
    yaml.push_str(&customer_yaml("acme-001", "Acme", &["u-1"], ""));
    Scenario::new(&yaml)
}

#[test]
fn a_saved_plan_applies_then_is_in_effect_then_stale_once_the_file_changes() {
    let sim = Served::start(&[]);
    let scenario = saved_plan_scenario();
    let env = [("PARTNER_KEY", "partner-key")];
    let plan_file = scenario.path("p.json");
    let plan_path = path_str(&plan_file);

    let planned = sim.run(
        scenario.dir(),
        &["plan", "-f", scenario.file(), "--out", plan_path],
        &env,
    );
    assert_eq!(planned.code, 0, "{}", planned.transcript());
    let saved = std::fs::read_to_string(&plan_file).expect("the plan was saved");
    assert!(
        !saved.contains("partner-key"),
        "a saved plan holds no secret"
    );

    let applied = sim.run(
        scenario.dir(),
        &["apply", plan_path, "-f", scenario.file(), "--auto-approve"],
        &env,
    );
    assert_eq!(applied.code, 0, "{}", applied.transcript());
    let plan = sim.run(scenario.dir(), &["plan", "-f", scenario.file()], &env);
    assert_converged(&plan);

    // The same plan again (a CI job run twice): everything it planned is done, the file is the
    // same, so there is nothing to do rather than something to review.
    let seen = sim.log().len();
    let again = sim.run(
        scenario.dir(),
        &["apply", plan_path, "-f", scenario.file(), "--auto-approve"],
        &env,
    );
    assert_eq!(again.code, 0, "{}", again.transcript());
    assert!(
        again.stderr.contains("Nothing to apply: `")
            && again.stderr.contains("is already in effect"),
        "{}",
        again.transcript()
    );
    assert!(sim.writes_after(seen).is_empty(), "nothing is written");

    // Once the file changes, the old plan is refused, saying what changed.
    let edited = std::fs::read_to_string(&scenario.file).expect("read the file") + "# edited\n";
    std::fs::write(&scenario.file, edited).expect("edit the file");
    let stale = apply_refused(&sim, &scenario, plan_path, &env, "refusing the saved plan");
    assert!(
        stale
            .stderr
            .contains("no longer planned: acme-001 create customer acme-001"),
        "the refusal says what changed:\n{}",
        stale.transcript()
    );
    let mut settings = insta::Settings::clone_current();
    for dir in [scenario.dir().to_path_buf()]
        .into_iter()
        .chain(scenario.dir().canonicalize().ok())
    {
        settings.add_filter(
            &crate::plan_scenarios::regex_literal(&dir.display().to_string()),
            "[TMP]",
        );
    }
    settings.bind(|| insta::assert_snapshot!(stale.stderr));
}

#[test]
fn a_saved_plan_is_refused_when_its_package_changed_since() {
    let sim = Served::start(&[]);
    // The package sits beside the file, as in a repository; the file itself never changes.
    let scenario = saved_plan_scenario();
    let package = scenario.path("files-sync");
    copy_tree(&quickstart_package(), &package);
    let yaml = std::fs::read_to_string(&scenario.file)
        .expect("read the scenario")
        .replace(path_str(&quickstart_package()), "files-sync");
    std::fs::write(&scenario.file, yaml).expect("point the file at the copy");
    let env = [("PARTNER_KEY", "partner-key")];
    let plan_file = scenario.path("p.json");
    let plan_path = path_str(&plan_file);
    let planned = sim.run(
        scenario.dir(),
        &["plan", "-f", scenario.file(), "--out", plan_path],
        &env,
    );
    assert_eq!(planned.code, 0, "{}", planned.transcript());

    // A recipe is edited after the review: the reviewed plan imports the old package.
    let recipe = package.join("Files Sync").join("list_files.recipe.json");
    let text = std::fs::read_to_string(&recipe).expect("read the recipe");
    std::fs::write(
        &recipe,
        text.replacen('{', "{\"description\": \"edited\", ", 1),
    )
    .expect("edit the recipe");

    apply_refused(
        &sim,
        &scenario,
        plan_path,
        &env,
        "the package of manifest `files-sync` changed since the plan",
    );
}

#[test]
fn a_saved_plan_is_refused_when_the_account_changed_since() {
    let sim = Served::start(&[]);
    let scenario = saved_plan_scenario();
    let env = [("PARTNER_KEY", "partner-key")];
    // The customer exists and is set up; the plan only has to rename it.
    let applied = sim.run(
        scenario.dir(),
        &["apply", "-f", scenario.file(), "--auto-approve"],
        &env,
    );
    assert_eq!(applied.code, 0, "{}", applied.transcript());
    let renamed = {
        let mut yaml = files_sync_manifest("PARTNER_KEY");
        yaml.push_str("customers:\n");
        yaml.push_str(&customer_yaml("acme-001", "Acme Renamed", &["u-1"], ""));
        yaml
    };
    std::fs::write(&scenario.file, renamed).expect("edit the file");
    let plan_file = scenario.path("p.json");
    let plan_path = path_str(&plan_file);
    let planned = sim.run(
        scenario.dir(),
        &["plan", "-f", scenario.file(), "--out", plan_path],
        &env,
    );
    assert_eq!(planned.code, 0, "{}", planned.transcript());
    assert!(
        planned.stdout.contains("Acme Renamed"),
        "{}",
        planned.transcript()
    );

    // Someone else changes the customer in Workato meanwhile.
    let id = customer(&sim.state(), "acme-001")["id"].clone();
    let (status, _) = sim.api(
        reqwest::Method::PUT,
        &format!("/managed_users/{id}"),
        json!({ "notification_email": "someone-else@acme.example" }),
    );
    assert_eq!(status, 200);

    let refused = apply_refused(
        &sim,
        &scenario,
        plan_path,
        &env,
        "customer `acme-001` changed in Workato since the plan",
    );
    assert!(
        refused.stderr.contains(
            "~ acme-001 update customer acme-001 (customer.changed): notification_email in Workato (matched the file) → \"someone-else@acme.example\""
        ),
        "the refusal says which field changed:\n{}",
        refused.transcript()
    );
    assert!(
        refused.stderr.contains("plan --out"),
        "the refusal says how to go on:\n{}",
        refused.transcript()
    );
    let state = sim.state();
    assert_eq!(customer(&state, "acme-001")["name"], "Acme");
    insta::assert_snapshot!(refused.stderr);
}

#[test]
fn a_saved_plan_still_applies_when_an_end_user_authorized_since() {
    let sim = Served::start(&[]);
    let scenario = saved_plan_scenario();
    let env = [("PARTNER_KEY", "partner-key")];
    let applied = sim.run(
        scenario.dir(),
        &["apply", "-f", scenario.file(), "--auto-approve"],
        &env,
    );
    assert_eq!(applied.code, 0, "{}", applied.transcript());
    // A second end user makes a plan with changes.
    let more = {
        let mut yaml = files_sync_manifest("PARTNER_KEY");
        yaml.push_str("customers:\n");
        yaml.push_str(&customer_yaml("acme-001", "Acme", &["u-1", "u-2"], ""));
        yaml
    };
    std::fs::write(&scenario.file, more).expect("edit the file");
    let plan_file = scenario.path("p.json");
    let plan_path = path_str(&plan_file);
    let planned = sim.run(
        scenario.dir(),
        &["plan", "-f", scenario.file(), "--out", plan_path],
        &env,
    );
    assert_eq!(planned.code, 0, "{}", planned.transcript());

    // u-1 completes the connection widget meanwhile.
    let state = sim.state();
    let connection = objects(customer(&state, "acme-001"), "connections")
        .into_iter()
        .find(|c| c["external_id"] == "u-1")
        .expect("u-1's connection")["id"]
        .clone();
    assert_eq!(
        sim.sim_post(&format!("/connections/{connection}/authorize"), json!({})),
        200
    );

    // An end user's authorization touches no object of the plan and no input of a gate: the
    // saved plan still describes what apply must do, and applies.
    let applied_saved = sim.run(
        scenario.dir(),
        &["apply", plan_path, "-f", scenario.file(), "--auto-approve"],
        &env,
    );
    assert_eq!(applied_saved.code, 0, "{}", applied_saved.transcript());
    let after = sim.run(
        scenario.dir(),
        &["plan", "-f", scenario.file(), "--detailed-exitcode"],
        &env,
    );
    assert_eq!(after.code, 0, "{}", after.transcript());
}

#[test]
fn a_saved_plan_is_refused_when_too_old_or_for_another_account() {
    let scenario = saved_plan_scenario();
    let env = [("PARTNER_KEY", "partner-key")];
    let a = scenario.path("a.json");
    let b = scenario.path("b.json");
    std::fs::write(&a, "{}\n").expect("empty account a");
    std::fs::write(&b, "{}\n").expect("empty account b");
    let plan_file = scenario.path("p.json");
    let plan_path = path_str(&plan_file);
    let planned = run(
        scenario.dir(),
        &[
            "plan",
            "-f",
            scenario.file(),
            "--sim",
            path_str(&a),
            "--out",
            plan_path,
        ],
        &env,
    );
    assert_eq!(planned.code, 0, "{}", planned.transcript());

    let other = run(
        scenario.dir(),
        &[
            "apply",
            plan_path,
            "-f",
            scenario.file(),
            "--sim",
            path_str(&b),
            "--auto-approve",
        ],
        &env,
    );
    assert_eq!(other.code, 1, "{}", other.transcript());
    assert!(
        other.stderr.contains("the plan was made against `sim:") && other.stderr.contains("a.json"),
        "{}",
        other.transcript()
    );
    assert_eq!(
        std::fs::read_to_string(&b).expect("b"),
        "{}\n",
        "b untouched"
    );

    let old = run(
        scenario.dir(),
        &[
            "apply",
            plan_path,
            "-f",
            scenario.file(),
            "--sim",
            path_str(&a),
            "--auto-approve",
            "--max-age",
            "0",
        ],
        &env,
    );
    assert_eq!(old.code, 1, "{}", old.transcript());
    assert!(old.stderr.contains("--max-age"), "{}", old.transcript());
    assert_eq!(
        std::fs::read_to_string(&a).expect("a"),
        "{}\n",
        "a untouched"
    );

    // The file changed since the plan.
    let mut text = std::fs::read_to_string(&scenario.file).expect("file");
    text.push_str("# edited after the plan\n");
    std::fs::write(&scenario.file, text).expect("edit");
    let edited = run(
        scenario.dir(),
        &[
            "apply",
            plan_path,
            "-f",
            scenario.file(),
            "--sim",
            path_str(&a),
            "--auto-approve",
        ],
        &env,
    );
    assert_eq!(edited.code, 1, "{}", edited.transcript());
    assert!(
        edited.stderr.contains("changed since the plan"),
        "{}",
        edited.transcript()
    );
    // A different credential than the plan's.
    let rekeyed = run(
        scenario.dir(),
        &[
            "apply",
            plan_path,
            "-f",
            scenario.file(),
            "--sim",
            path_str(&a),
            "--auto-approve",
        ],
        &[("PARTNER_KEY", "another-key")],
    );
    assert_eq!(rekeyed.code, 1, "{}", rekeyed.transcript());
    assert!(
        rekeyed
            .stderr
            .contains("the credentials of `acme-001/files-sync.partner_app` changed"),
        "{}",
        rekeyed.transcript()
    );
    assert!(!rekeyed.stderr.contains("another-key"));
    assert_eq!(
        std::fs::read_to_string(&a).expect("a"),
        "{}\n",
        "a untouched"
    );
}

// ---------------------------------------------------------------------------------------------
// 9. Killed in the middle.

#[test]
fn runs_killed_at_every_layer_converge_on_rerun_with_nothing_duplicated() {
    let sim = Served::start(&["--latency-ms", "50"]);
    let mut yaml = files_sync_manifest("PARTNER_KEY");
    yaml.push_str("customers:\n");
    yaml.push_str(&customer_yaml("acme-001", "Acme", &["u-1", "u-2"], ""));
    yaml.push_str(&customer_yaml("globex-002", "Globex", &["g-1"], ""));
    let scenario = Scenario::new(&yaml);
    let env = [("PARTNER_KEY", "partner-key")];
    let args = ["apply", "-f", scenario.file(), "--auto-approve"];

    // Each run continues where the one before was killed, and is killed with SIGKILL right after
    // its first write of the next layer: a customer created, a package imported, a connection
    // authorized, a recipe started, a runtime connection created.
    let points: [(&str, LogMatcher); 5] = [
        ("a customer create", |entry| {
            entry["method"] == "POST" && text(&entry["path"]) == "/api/managed_users"
        }),
        ("an import", |entry| {
            entry["method"] == "POST" && text(&entry["path"]).contains("/imports")
        }),
        ("an authorization", |entry| {
            entry["method"] == "PUT" && text(&entry["path"]).contains("/connections/")
        }),
        ("a recipe start", |entry| {
            entry["method"] == "PUT" && text(&entry["path"]).ends_with("/start")
        }),
        ("a runtime connection create", is_runtime_create),
    ];
    for (what, reached) in points {
        let seen = sim.log().len();
        let mut child = sim.spawn(scenario.dir(), &args, &env);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !sim.writes_after(seen).iter().any(reached) {
            assert!(Instant::now() < deadline, "no run reached {what}");
            assert!(
                child.try_wait().expect("child status").is_none(),
                "apply finished before {what}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        kill_mid_run(&mut child);
        assert_no_duplicates(&sim.state());
    }
    let partial = sim.state();
    assert!(
        customers(&partial)
            .iter()
            .map(|c| runtime_connections(c).len())
            .sum::<usize>()
            < 6,
        "the last run was killed before it finished"
    );

    let last = sim.run(scenario.dir(), &args, &env);
    assert_eq!(last.code, 0, "{}", last.transcript());
    let plan = sim.run(scenario.dir(), &["plan", "-f", scenario.file()], &env);
    assert_converged(&plan);
    let state = sim.state();
    assert_no_duplicates(&state);
    assert_eq!(runtime_connections(customer(&state, "acme-001")).len(), 4);
    assert_eq!(runtime_connections(customer(&state, "globex-002")).len(), 2);
}

/// Picks entries of the simulator's request log.
type LogMatcher = fn(&Value) -> bool;

/// Copies the bundled quick start account (half set up) to `state`.
pub(crate) fn copy_quickstart_state(state: &Path) {
    std::fs::copy(
        repo_root().join("examples/quickstart/workato-state.json"),
        state,
    )
    .expect("copy the bundled state");
}

/// SIGKILL an apply that must still be running.
pub(crate) fn kill_mid_run(child: &mut Child) {
    assert!(
        child.try_wait().expect("child status").is_none(),
        "apply was already done when it was to be killed"
    );
    let killed = Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = child.wait().expect("reaped");
    assert_eq!(status.code(), None, "killed by a signal");
}

// ---------------------------------------------------------------------------------------------
// 10. One customer's credentials fail; the other customer goes on.

/// Two customers of the files-sync manifest with one end user each: good-001 with the partner
/// key of `PARTNER_KEY`, bad-002 with its own of `BAD_KEY`, which the simulator refuses under
/// `GOOD_AND_BAD_KEYS`.
fn good_and_bad_customers() -> Scenario {
    let mut yaml = files_sync_manifest("PARTNER_KEY");
    yaml.push_str("customers:\n");
    yaml.push_str(&customer_yaml("good-001", "Good", &["g-1"], ""));
    yaml.push_str(&customer_yaml(
        "bad-002",
        "Bad",
        &["b-1"],
        "    credentials:\n      files-sync.partner_app:\n        api_key: { env: BAD_KEY }\n",
    ));
    Scenario::new(&yaml)
}

/// The keys of `good_and_bad_customers`: good-001's authorizes, bad-002's does not.
const GOOD_AND_BAD_KEYS: [(&str, &str); 2] = [("PARTNER_KEY", "good-key"), ("BAD_KEY", "invalid")];

#[test]
fn a_customer_whose_credentials_fail_stops_at_phase_3_and_others_succeed() {
    let sim = Served::start(&[]);
    let scenario = good_and_bad_customers();
    let env = GOOD_AND_BAD_KEYS;

    let outcome = sim.run(
        scenario.dir(),
        &["apply", "-f", scenario.file(), "--auto-approve"],
        &env,
    );
    assert_eq!(outcome.code, 1, "{}", outcome.transcript());
    let lines: Vec<&str> = outcome.stderr.lines().collect();
    assert!(
        lines.iter().any(|line| line.starts_with(
            "bad-002: authorize connection files-sync.partner_app: FAILED: Workato did not authorize"
        )),
        "{}",
        outcome.transcript()
    );
    let skipped: Vec<&&str> = lines
        .iter()
        .filter(|line| line.starts_with("bad-002: skipped files-sync.dropbox/b-1"))
        .collect();
    assert_eq!(
        skipped.len(),
        2,
        "phase 4 is skipped:\n{}",
        outcome.transcript()
    );
    assert!(
        !lines
            .iter()
            .any(|line| line.starts_with("good-001:") && line.contains("FAILED")),
        "{}",
        outcome.transcript()
    );
    let summary = lines.last().expect("summary line");
    assert!(
        summary.starts_with("Apply: ")
            && summary.contains(" skipped")
            && !summary.contains(" 0 failed"),
        "{}",
        outcome.transcript()
    );
    let counts = summary_counts(summary);
    assert!(counts["failed"] >= 1, "{summary}");
    assert!(counts["skipped"] >= 2, "{summary}");
    // good-001: 8 changes; bad-002: customer, folder, import and the start of "Get file" (which
    // needs no PartnerApp) done, the authorization failed, "List files" and phase 4 skipped.
    assert_eq!(
        *summary,
        "Apply: 12 succeeded, 1 failed, 3 skipped (failed dependency); 0 blocked (gate closed); 2 end users pending.",
        "{}",
        outcome.transcript()
    );
    assert!(
        lines.contains(
            &"bad-002: skipped files-sync/List files: connection \"PartnerApp\", which it needs, was not authorized"
        ),
        "{}",
        outcome.transcript()
    );

    let state = sim.state();
    assert_eq!(runtime_connections(customer(&state, "good-001")).len(), 2);
    assert!(runtime_connections(customer(&state, "bad-002")).is_empty());
    let log = sim.log();
    let ids = external_ids(&state);
    assert!(
        !log.iter().any(|e| is_runtime_create(e)
            && customer_of(e["path"].as_str().unwrap_or_default(), &ids).as_deref()
                == Some("bad-002")),
        "no runtime connection POST for the failed customer"
    );
    // "List files" needs PartnerApp: it must not be started while PartnerApp is not authorized
    // (Workato's refusal is never the check).
    let bad = customer(&state, "bad-002");
    let list_files = objects(bad, "recipes")
        .into_iter()
        .find(|r| r["name"] == "List files")
        .expect("List files imported")["id"]
        .clone();
    let start = format!("/recipes/{list_files}/start");
    assert!(
        !log.iter()
            .any(|e| e["method"] == "PUT" && text(&e["path"]).ends_with(&start)),
        "a recipe was started although its connection failed to authorize:\n{}",
        outcome.transcript()
    );
    // Sending the same key again cannot help: drift reports the customer as blocked.
    let drift = sim.run(scenario.dir(), &["drift", "-f", scenario.file()], &env);
    assert_eq!(drift.code, 2, "{}", drift.transcript());
    assert!(
        drift.stdout.contains("connection.auth_failed"),
        "{}",
        drift.transcript()
    );
}

#[test]
fn without_a_terminal_apply_lists_what_went_wrong_and_progress_not_every_change() {
    let scenario = good_and_bad_customers();
    // A progress line every 5 ms instead of every 10 s.
    let env = [
        GOOD_AND_BAD_KEYS[0],
        GOOD_AND_BAD_KEYS[1],
        ("EMBEDCTL_PROGRESS_INTERVAL_MS", "5"),
    ];
    let apply = |state: &str, extra: &[&str]| {
        let state = scenario.path(state);
        let mut args = vec![
            "apply",
            "-f",
            scenario.file(),
            "--sim",
            path_str(&state),
            "--auto-approve",
        ];
        args.extend(extra);
        run(scenario.dir(), &args, &env)
    };
    let summary = "Apply: 12 succeeded, 1 failed, 3 skipped (failed dependency); 0 blocked (gate \
                   closed); 2 end users pending.";
    let progress = |outcome: &Outcome| {
        outcome
            .stderr
            .lines()
            .filter(|line| line.starts_with("progress: "))
            .count()
    };

    let quiet = apply("quiet.json", &[]);
    assert_eq!(quiet.code, 1, "{}", quiet.transcript());
    assert!(quiet.stdout.contains("Plan: "), "{}", quiet.transcript());
    let lines: Vec<&str> = quiet.stderr.lines().collect();
    assert!(
        !lines.iter().any(|line| line.ends_with(": done")),
        "a line per change made:\n{}",
        quiet.transcript()
    );
    assert!(
        lines.iter().any(|line| line.starts_with(
            "bad-002: authorize connection files-sync.partner_app: FAILED: Workato did not authorize"
        )),
        "{}",
        quiet.transcript()
    );
    assert_eq!(
        lines
            .iter()
            .filter(|line| line.starts_with("bad-002: skipped "))
            .count(),
        3,
        "{}",
        quiet.transcript()
    );
    assert!(
        progress(&quiet) > 0,
        "no progress line:\n{}",
        quiet.transcript()
    );
    for line in lines.iter().filter(|line| line.starts_with("progress: ")) {
        let counts = summary_counts(line);
        assert!(
            counts.contains_key("done")
                && counts.contains_key("failed")
                && counts.contains_key("left"),
            "{line}"
        );
        assert!(counts["done"] + counts["left"] <= 16, "{line}");
    }
    assert_eq!(lines.last(), Some(&summary), "{}", quiet.transcript());

    let verbose = apply("verbose.json", &["--verbose"]);
    assert_eq!(verbose.code, 1, "{}", verbose.transcript());
    assert_eq!(
        verbose
            .stderr
            .lines()
            .filter(|line| line.ends_with(": done"))
            .count(),
        12,
        "{}",
        verbose.transcript()
    );
    assert!(
        verbose
            .stderr
            .contains("bad-002: authorize connection files-sync.partner_app: FAILED"),
        "{}",
        verbose.transcript()
    );
    assert_eq!(
        verbose.stderr.lines().last(),
        Some(summary),
        "{}",
        verbose.transcript()
    );
}

/// `Apply: 12 succeeded, 0 failed, 0 skipped (failed dependency); 0 blocked (gate closed); 5 end
/// users pending.` as numbers.
fn summary_counts(line: &str) -> BTreeMap<String, u64> {
    let words: Vec<&str> = line
        .split([' ', ',', ';', '.', ':'])
        .filter(|w| !w.is_empty())
        .collect();
    let mut counts = BTreeMap::new();
    for pair in words.windows(2) {
        if let Ok(number) = pair[0].parse::<u64>() {
            counts.insert(pair[1].to_owned(), number);
        }
    }
    counts
}

// ---------------------------------------------------------------------------------------------
// Property: whatever the account looks like, apply then plan is empty (up to pending users).

/// One customer of a random file: whether it is listed, whether its name is the alternative one,
/// and for each of three end users: 0 not listed, 1 listed with a name, 2 listed without.
type CustomerCase = (bool, bool, Vec<u8>);

fn random_file(customers: &[CustomerCase]) -> String {
    let mut yaml = files_sync_manifest("PARTNER_KEY");
    yaml.push_str("customers:");
    let listed: Vec<String> = customers
        .iter()
        .enumerate()
        .filter(|(_, (present, _, _))| *present)
        .map(|(index, (_, renamed, users))| {
            let name = if *renamed {
                format!("Customer {index} Renamed")
            } else {
                format!("Customer {index}")
            };
            let mut text = format!(
                "\n  - external_id: c{index}\n    name: {name}\n    notification_email: it@c{index}.example\n    manifests: [files-sync]\n    runtime_users:"
            );
            let mut any = false;
            for (user, shape) in users.iter().enumerate() {
                match shape {
                    1 => text.push_str(&format!("\n      - id: c{index}-u{user}\n        name: User {user}")),
                    2 => text.push_str(&format!("\n      - id: c{index}-u{user}")),
                    _ => continue,
                }
                any = true;
            }
            if !any {
                text.push_str(" []");
            }
            text
        })
        .collect();
    if listed.is_empty() {
        yaml.push_str(" []\n");
    } else {
        yaml.push_str(&listed.concat());
        yaml.push('\n');
    }
    yaml
}

const PROPERTY_KEY: &str = "property-partner-key";

fn property_lookup(name: &str) -> Option<String> {
    (name == "PARTNER_KEY").then(|| PROPERTY_KEY.to_owned())
}

/// Loads `yaml` (written into `dir`), observes the hosted simulator and diffs.
async fn observe_plan(
    client: &embedctl::workato::Client,
    dir: &Path,
    yaml: &str,
) -> (
    embedctl::desired_file::LoadedFile,
    embedctl::desired::Desired,
    embedctl::plan::Plan,
) {
    let file = dir.join("embedctl.yaml");
    std::fs::write(&file, yaml).expect("write the file");
    let spec = embedctl::desired_file::load(&file).unwrap_or_else(|diagnostics| {
        panic!("{yaml}\ndoes not validate:\n{}", diagnostics.render(false))
    });
    let desired = embedctl::desired::Desired::from_file(
        &spec,
        &embedctl::desired::Resolver {
            lookup: &property_lookup,
            fingerprint_key: Some("k".to_owned()),
            secrets: Default::default(),
        },
    );
    let live = embedctl::observe::observe(client, &desired, &[])
        .await
        .expect("observe");
    let plan = embedctl::plan::diff(&desired, &live);
    (spec, desired, plan)
}

/// Plans and applies `yaml` with the library, as `apply --auto-approve` does.
async fn apply_yaml(
    client: &embedctl::workato::Client,
    dir: &Path,
    yaml: &str,
) -> embedctl::apply::ApplyOutcome {
    let (spec, desired, plan) = observe_plan(client, dir, yaml).await;
    apply_planned(client, &spec, desired, &plan, |_| {}).await
}

/// Applies a plan made earlier with the library; `tweak` changes the options (timeouts, the
/// event sink) first.
async fn apply_planned(
    client: &embedctl::workato::Client,
    spec: &embedctl::desired_file::LoadedFile,
    desired: embedctl::desired::Desired,
    plan: &embedctl::plan::Plan,
    tweak: impl FnOnce(&mut embedctl::apply::ApplyOptions),
) -> embedctl::apply::ApplyOutcome {
    use embedctl::plan::{Action, Subject};
    let _ = spec;
    let mut inputs = BTreeMap::new();
    for change in &plan.changes {
        let (Subject::Connection { .. }, Action::Authorize) = (&change.subject, change.action)
        else {
            continue;
        };
        let source = desired
            .customers
            .iter()
            .find(|c| c.external_id == change.customer)
            .and_then(|c| c.inputs.get(&change.key()))
            .expect("the file gives the connection credentials");
        let input = source
            .resolve(&property_lookup)
            .unwrap_or_else(|_| panic!("cannot resolve {}", change.key()));
        inputs.insert((change.customer.clone(), change.key()), input);
    }
    let mut options = embedctl::apply::ApplyOptions {
        deadline: None,
        interrupted: Default::default(),
        desired,
        inputs,
        fingerprint_key: "k".to_owned(),
        import_timeout: Duration::from_secs(30),
        poll_interval: Duration::from_millis(20),
        on_event: std::sync::Arc::new(|_: &embedctl::apply::ApplyEvent| {}),
    };
    tweak(&mut options);
    embedctl::apply::apply(client, plan.clone(), options).await
}

/// What other people do to the account between two applies: end users authorize, someone
/// stops a recipe or renames a customer. Each bit of a mask picks one object.
fn meddle(sim: &Served, authorize: u8, stop: u8, rename: u8) {
    let state = sim.state();
    for (index, customer) in customers(&state).into_iter().enumerate() {
        let id = customer["id"].clone();
        if rename & (1 << index) != 0 {
            let (status, _) = sim.api(
                reqwest::Method::PUT,
                &format!("/managed_users/{id}"),
                json!({ "name": "Renamed by someone" }),
            );
            assert_eq!(status, 200);
        }
        for (bit, connection) in objects(customer, "connections")
            .into_iter()
            .filter(|c| !c["external_id"].is_null())
            .enumerate()
        {
            if authorize & (1 << (bit % 8)) != 0 {
                let path = format!("/connections/{}/authorize", connection["id"]);
                assert_eq!(sim.sim_post(&path, json!({})), 200);
            }
        }
        for (bit, recipe) in objects(customer, "recipes").into_iter().enumerate() {
            if stop & (1 << ((bit + index) % 8)) != 0 && recipe["running"] == true {
                let (status, _) = sim.api(
                    reqwest::Method::PUT,
                    &format!("/managed_users/{id}/recipes/{}/stop", recipe["id"]),
                    json!({}),
                );
                assert_eq!(status, 200);
            }
        }
    }
}

fn customer_case() -> impl proptest::strategy::Strategy<Value = CustomerCase> {
    use proptest::prelude::*;
    (
        any::<bool>(),
        any::<bool>(),
        proptest::collection::vec(0u8..3, 3),
    )
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 12,
        max_shrink_iters: 20,
        failure_persistence: None,
        ..proptest::prelude::ProptestConfig::default()
    })]

    #[test]
    fn apply_then_plan_is_empty_whatever_the_account_was(
        before in proptest::collection::vec(customer_case(), 3),
        after in proptest::collection::vec(customer_case(), 3),
        authorize in proptest::prelude::any::<u8>(),
        stop in proptest::prelude::any::<u8>(),
        rename in proptest::prelude::any::<u8>(),
    ) {
        let sim = Served::host(|_| {});
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = embedctl::workato::ClientConfig::new(
            &sim.base,
            embedctl::workato::ApiToken::new("t"),
        )
        .expect("config");
        config.time_scale = TIME_SCALE.parse().expect("a number");
        let client = embedctl::workato::Client::new(config).expect("client");
        let (first, second) = (random_file(&before), random_file(&after));

        let setup = sim.runtime.block_on(apply_yaml(&client, dir.path(), &first));
        proptest::prop_assert_eq!(setup.failed, 0, "{}\n{:#?}", first, setup);
        meddle(&sim, authorize, stop, rename);
        let outcome = sim.runtime.block_on(apply_yaml(&client, dir.path(), &second));
        proptest::prop_assert_eq!(outcome.failed, 0, "{}\n{:#?}", second, outcome);
        proptest::prop_assert_eq!(outcome.skipped, 0, "{}\n{:#?}", second, outcome);
        let (_, _, plan) = sim.runtime.block_on(observe_plan(&client, dir.path(), &second));
        proptest::prop_assert!(
            plan.changes.is_empty() && plan.blocked.is_empty(),
            "{}\nleft over: {:#?}\nblocked: {:#?}",
            second,
            plan.changes,
            plan.blocked
        );
        let state = sim.state();
        proptest::prop_assert!(duplicates(&state).is_empty(), "{:#?}", duplicates(&state));
    }
}

// ---------------------------------------------------------------------------------------------
// 11. Hostile answers: secrets echoed, gates that cannot be read, stale plans, stuck imports.

/// A credential with every character an encoder may escape.
const ECHOED: &str = "CANARY-echo\"k3y\\</x>&é";

/// Every form in which `ECHOED` may show in a text: raw, JSON-escaped once and twice, and the
/// part before its first special character.
fn echoed_forms() -> Vec<String> {
    let once = serde_json::to_string(ECHOED).expect("serializes");
    let once = once[1..once.len() - 1].to_owned();
    let twice = serde_json::to_string(&once).expect("serializes");
    let twice = twice[1..twice.len() - 1].to_owned();
    vec![ECHOED.to_owned(), once, twice, "CANARY-echo".to_owned()]
}

#[test]
fn a_credential_that_workato_echoes_in_an_error_is_never_shown() {
    // The server refuses the first connection write of each run with a 400 that repeats the
    // request body, the credential included (raw and JSON-escaped again).
    let sim = Served::start(&["--echo-request-in-errors", "connections=2"]);
    let mut yaml = files_sync_manifest("PARTNER_KEY");
    yaml.push_str("customers:\n");
    yaml.push_str(&customer_yaml("acme-001", "Acme", &[], ""));
    let scenario = Scenario::new(&yaml);
    let env = [("PARTNER_KEY", ECHOED)];
    for format in ["text", "json"] {
        let outcome = sim.run(
            scenario.dir(),
            &[
                "apply",
                "-f",
                scenario.file(),
                "--auto-approve",
                "--format",
                format,
            ],
            &env,
        );
        let transcript = outcome.transcript();
        assert_eq!(outcome.code, 1, "{transcript}");
        assert!(
            transcript.contains("Validation failed") && transcript.contains("[redacted]"),
            "the refusal is shown, redacted:\n{transcript}"
        );
        for form in echoed_forms() {
            assert!(
                !transcript.contains(&form),
                "`{form}` leaked in {format}:\n{transcript}"
            );
        }
    }
    // The simulator really did echo it (so the test can fail).
    let echoed = sim.sim_get("/stats")["injected_failures"].as_u64();
    assert_eq!(echoed, Some(2));
}

/// A hosted simulator whose connections lists are all answered 429 (without `Retry-After`) from
/// the second one on: the first is apply's read before it authorizes, the second the phase-4
/// gate's live re-check.
fn gate_storm() -> Served {
    Served::host(|simulator| {
        simulator.set_faults(|faults| {
            faults.storms.insert(
                "connections_list".to_owned(),
                embedctl::sim::Storm {
                    after: 1,
                    status: 429,
                },
            );
        });
    })
}

#[test]
fn a_phase_4_gate_that_cannot_be_checked_fails_the_run_and_is_not_called_blocked() {
    let mut yaml = files_sync_manifest("PARTNER_KEY");
    yaml.push_str("customers:\n");
    yaml.push_str(&customer_yaml("acme-001", "Acme", &["u-1"], ""));
    let scenario = Scenario::new(&yaml);
    let env = [("PARTNER_KEY", "partner-key")];

    let sim = gate_storm();
    let outcome = sim.run(
        scenario.dir(),
        &["apply", "-f", scenario.file(), "--auto-approve"],
        &env,
    );
    let transcript = outcome.transcript();
    assert_eq!(outcome.code, 1, "work was left undone:\n{transcript}");
    let lines: Vec<&str> = outcome.stderr.lines().collect();
    let skipped: Vec<&&str> = lines
        .iter()
        .filter(|line| {
            line.starts_with("acme-001: skipped files-sync.dropbox/u-1")
                && line.contains("the phase-4 gate could not be checked")
                && line.contains("rate limited")
        })
        .collect();
    assert_eq!(skipped.len(), 2, "{transcript}");
    assert!(
        !transcript.contains("runtime users not set up"),
        "no gate was found closed:\n{transcript}"
    );
    let summary = lines.last().copied().unwrap_or_default();
    let counts = summary_counts(summary);
    assert_eq!(
        (counts["failed"], counts["skipped"], counts["blocked"]),
        (0, 2, 0),
        "{summary}"
    );
    assert!(
        summary.contains("2 skipped (failed dependency); 0 blocked (gate closed)"),
        "{summary}"
    );

    // The same in JSON, on a fresh account: `because` tells a failed dependency from a closed
    // gate, and no `gate_blocked` event claims the gate was found closed.
    let sim = gate_storm();
    let (outcome, events) = apply_json(&sim, &scenario, &env);
    assert_eq!(outcome.code, 1, "{}", outcome.transcript());
    assert!(events.iter().all(|event| event["event"] != "gate_blocked"));
    let because: Vec<&str> = events
        .iter()
        .filter(|event| event["event"] == "change_skipped")
        .filter_map(|event| event["because"].as_str())
        .collect();
    assert_eq!(because, ["failed_dependency", "failed_dependency"]);
    let summary = events.last().expect("a summary");
    assert_eq!(summary["event"], "summary");
    assert_eq!(
        (summary["skipped"].as_u64(), summary["blocked"].as_u64()),
        (Some(2), Some(0))
    );
}

#[test]
fn a_customer_created_by_someone_else_since_the_plan_points_at_serializing_applies() {
    let sim = Served::host(|_| {});
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config =
        embedctl::workato::ClientConfig::new(&sim.base, embedctl::workato::ApiToken::new("t"))
            .expect("config");
    config.time_scale = TIME_SCALE.parse().expect("a number");
    let client = embedctl::workato::Client::new(config).expect("client");
    let mut yaml = files_sync_manifest("PARTNER_KEY");
    yaml.push_str("customers:\n");
    yaml.push_str(&customer_yaml("acme-001", "Acme", &[], ""));
    let (spec, desired, plan) = sim
        .runtime
        .block_on(observe_plan(&client, dir.path(), &yaml));

    // Another apply creates the customer in between.
    let (status, _) = sim.api(
        reqwest::Method::POST,
        "/managed_users",
        json!({ "name": "Acme", "notification_email": "it@acme.example", "external_id": "acme-001" }),
    );
    assert_eq!(status, 200);

    let errors = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = std::sync::Arc::clone(&errors);
    let outcome = sim.runtime.block_on(apply_planned(
        &client,
        &spec,
        desired,
        &plan,
        move |options| {
            options.on_event = std::sync::Arc::new(move |event| {
                if let embedctl::apply::ApplyEvent::ChangeFailed { error, .. } = event {
                    sink.lock().expect("lock").push(error.clone());
                }
            });
        },
    ));
    assert_eq!(outcome.failed, 1, "{outcome:#?}");
    assert!(outcome.is_failure());
    let errors = errors.lock().expect("lock").clone();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let error = &errors[0];
    assert!(
        error.contains("customer `acme-001` appeared in Workato after the plan was made")
            && error.contains("another apply may be running")
            && error.contains("one at a time"),
        "{error}"
    );
    assert_no_duplicates(&sim.state());
}

#[test]
fn an_import_stuck_in_progress_is_polled_with_backoff_until_its_deadline() {
    let options = SimOptions {
        import_polls: u32::MAX,
        ..SimOptions::default()
    };
    let sim = Served::host_with(AccountState::default(), options, |_| {});
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config =
        embedctl::workato::ClientConfig::new(&sim.base, embedctl::workato::ApiToken::new("t"))
            .expect("config");
    config.time_scale = TIME_SCALE.parse().expect("a number");
    let client = embedctl::workato::Client::new(config).expect("client");
    let mut yaml = files_sync_manifest("PARTNER_KEY");
    yaml.push_str("customers:\n");
    yaml.push_str(&customer_yaml("acme-001", "Acme", &[], ""));
    let (spec, desired, plan) = sim
        .runtime
        .block_on(observe_plan(&client, dir.path(), &yaml));

    let errors = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = std::sync::Arc::clone(&errors);
    let outcome = sim.runtime.block_on(apply_planned(
        &client,
        &spec,
        desired,
        &plan,
        move |options| {
            // Two seconds from a first pause of 20 ms: a fixed pause would poll 100 times.
            options.import_timeout = Duration::from_secs(2);
            options.poll_interval = Duration::from_millis(20);
            options.on_event = std::sync::Arc::new(move |event| {
                if let embedctl::apply::ApplyEvent::ChangeFailed { error, .. } = event {
                    sink.lock().expect("lock").push(error.clone());
                }
            });
        },
    ));
    assert!(outcome.is_failure(), "{outcome:#?}");
    let errors = errors.lock().expect("lock").clone();
    assert!(
        errors
            .iter()
            .any(|error| error.contains("the import was still in progress after 2 s")),
        "{errors:#?}"
    );
    let polls = sim
        .log()
        .iter()
        .filter(|entry| entry["method"] == "GET" && text(&entry["path"]).contains("/imports/"))
        .count();
    assert!(
        (5..=20).contains(&polls),
        "{polls} status reads in 2 s: backoff, yet not given up early"
    );
    assert_eq!(embedctl::apply::IMPORT_TIMEOUT, Duration::from_secs(600));
}

#[test]
fn an_end_user_id_with_slashes_and_dashes_is_never_misread() {
    // Keys such as `files-sync.dropbox/team/alice - 1` used to be split on `/` to find the
    // recipe function: this user's plain connection was taken for a function's, and its parent
    // (`parent: default`) was never looked up.
    let sim = Served::start(&[]);
    let manifest = files_sync_manifest("PARTNER_KEY");
    let mut yaml = manifest.replace(
        "parent: none\n        recipe_functions: [Get file]\n",
        "parent: default\n",
    );
    assert_ne!(
        yaml, manifest,
        "the Dropbox connection takes its default as parent"
    );
    yaml.push_str(
        "customers:\n  - external_id: acme-001\n    name: Acme\n    notification_email: it@acme.example\n    manifests: [files-sync]\n    runtime_users:\n      - id: \"team/alice - 1\"\n      - id: \"bob\"\n",
    );
    let scenario = Scenario::new(&yaml);
    let env = [("PARTNER_KEY", "partner-key")];
    let (applied, events) = apply_json(&sim, &scenario, &env);
    assert_eq!(applied.code, 0, "{}", applied.transcript());
    let keys: Vec<&str> = events
        .iter()
        .filter(|event| event["event"] == "change_done" && event["kind"] == "runtime_connection")
        .filter_map(|event| event["key"].as_str())
        .collect();
    assert!(
        keys.contains(&"files-sync.dropbox/team/alice - 1"),
        "{keys:?}"
    );
    let plan = sim.run(scenario.dir(), &["plan", "-f", scenario.file()], &env);
    assert_converged(&plan);
    let state = sim.state();
    assert_no_duplicates(&state);
    let acme = customer(&state, "acme-001");
    let parent = objects(acme, "connections")
        .into_iter()
        .find(|c| c["external_id"].is_null() && c["provider"] == "dropbox")
        .map(|c| c["id"].clone())
        .expect("the imported Dropbox connection");
    for connection in objects(acme, "connections")
        .into_iter()
        .filter(|c| !c["external_id"].is_null())
    {
        assert_eq!(connection["parent_id"], parent, "{connection}");
    }
}

#[test]
fn an_end_user_whose_name_ends_like_a_recipe_function_converges() {
    // "Dropbox - Ops - Get file" is this user's plain connection, not the "Get file" one: read
    // by its name's suffix alone, every plan would create it again.
    let sim = Served::start(&[]);
    let mut yaml = files_sync_manifest("PARTNER_KEY");
    yaml.push_str(
        "customers:\n  - external_id: acme-001\n    name: Acme\n    notification_email: it@acme.example\n    manifests: [files-sync]\n    runtime_users:\n      - id: u-9\n        name: Ops - Get file\n",
    );
    let scenario = Scenario::new(&yaml);
    let env = [("PARTNER_KEY", "partner-key")];
    let applied = sim.run(
        scenario.dir(),
        &["apply", "-f", scenario.file(), "--auto-approve"],
        &env,
    );
    assert_eq!(applied.code, 0, "{}", applied.transcript());
    let plan = sim.run(scenario.dir(), &["plan", "-f", scenario.file()], &env);
    assert_converged(&plan);
    let state = sim.state();
    assert_no_duplicates(&state);
    let names: Vec<String> = runtime_connections(customer(&state, "acme-001"))
        .into_iter()
        .map(|(_, name)| name)
        .collect();
    assert_eq!(
        names,
        [
            "Dropbox - Ops - Get file",
            "Dropbox - Ops - Get file - Get file"
        ]
    );
}

#[test]
fn a_changed_folder_name_renames_the_project_through_the_projects_route() {
    let sim = Served::start(&[]);
    let mut yaml = files_sync_manifest("PARTNER_KEY");
    yaml.push_str("customers:\n");
    yaml.push_str(&customer_yaml("acme-001", "Acme", &["u-1"], ""));
    let scenario = Scenario::new(&yaml);
    let env = [("PARTNER_KEY", "partner-key")];
    let args = ["apply", "-f", scenario.file(), "--auto-approve"];
    let first = sim.run(scenario.dir(), &args, &env);
    assert_eq!(first.code, 0, "{}", first.transcript());
    let folders_before = objects(customer(&sim.state(), "acme-001"), "folders").len();

    std::fs::write(
        scenario.file(),
        yaml.replace("folder: Files Sync\n", "folder: Files Sync Pro\n"),
    )
    .expect("rewrite the file");
    let plan = sim.run(
        scenario.dir(),
        &["plan", "-f", scenario.file(), "--format", "json"],
        &env,
    );
    assert_eq!(plan.code, 0, "{}", plan.transcript());
    let document: Value = serde_json::from_str(&plan.stdout).expect("JSON");
    let changes = document["changes"].as_array().cloned().unwrap_or_default();
    assert_eq!(changes.len(), 1, "only the rename: {changes:#?}");
    assert_eq!(changes[0]["reason"], "folder.renamed");
    assert_eq!(changes[0]["action"], "update");
    assert_eq!(changes[0]["before"]["name"], "Files Sync");
    assert_eq!(changes[0]["after"]["name"], "Files Sync Pro");

    let seen = sim.log().len();
    let applied = sim.run(scenario.dir(), &args, &env);
    assert_eq!(applied.code, 0, "{}", applied.transcript());
    let writes = sim.writes_after(seen);
    assert!(
        writes.iter().any(|entry| entry["method"] == "PUT"
            && text(&entry["path"]).contains("/projects/")
            && entry["status"] == 200),
        "{writes:#?}"
    );
    let state = sim.state();
    let acme = customer(&state, "acme-001");
    let folders = objects(acme, "folders");
    assert_eq!(folders.len(), folders_before, "renamed, not created again");
    let projects: Vec<&str> = folders
        .iter()
        .filter(|f| f["is_project"] == true)
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(projects, ["Files Sync Pro"], "the project was renamed");
    let again = sim.run(scenario.dir(), &["plan", "-f", scenario.file()], &env);
    assert_converged(&again);
    assert_no_duplicates(&state);
}

// ---------------------------------------------------------------------------------------------
// Root-folder (Home) assets.

/// Copies the folder `from` into `to`, recursively.
pub(crate) fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the copy");
    for entry in std::fs::read_dir(from).expect("readable folder") {
        let path = entry.expect("directory entry").path();
        let target = to.join(path.file_name().expect("a file name"));
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy a file");
        }
    }
}

/// The quick start with one more recipe in its package, exported from the Home folder
/// (`"root_folder": true`), and `home_assets_folder:` naming the project it goes into: apply
/// creates that project, imports with `folder_id_for_home_assets`, and converges.
#[test]
fn a_package_with_a_home_asset_is_imported_with_its_home_assets_folder() {
    apply_with_a_home_asset("Files Sync Home");
}

/// `home_assets_folder:` may name the manifest's own folder: one project, both sent as its id.
#[test]
fn home_assets_folder_may_be_the_manifest_folder() {
    apply_with_a_home_asset("Files Sync");
}

/// Applies the quick start with a Home asset in its package and `home_assets_folder: <name>`,
/// then checks that it converged, the asset is in that project, and the import said so.
fn apply_with_a_home_asset(home_assets_folder: &str) {
    let mut scenario_yaml = files_sync_manifest("PARTNER_KEY").replace(
        "    folder: Files Sync\n",
        &format!("    folder: Files Sync\n    home_assets_folder: {home_assets_folder}\n"),
    );
    scenario_yaml.push_str("customers:\n");
    scenario_yaml.push_str(&customer_yaml("home-001", "Home One", &[], ""));
    let scenario = Scenario::new("");
    let package = scenario.path("package");
    copy_tree(&quickstart_package(), &package);
    std::fs::write(
        package.join("hourly_ping.recipe.json"),
        serde_json::to_vec_pretty(&json!({
            "name": "Hourly ping",
            "version": 1,
            "code": { "provider": "clock", "name": "scheduled_event", "keyword": "trigger",
                      "block": [] },
            "config": [{ "keyword": "application", "provider": "clock",
                         "skip_validation": false, "account_id": null }],
            "root_folder": true,
        }))
        .expect("serializable"),
    )
    .expect("write the Home asset");
    let scenario_yaml = scenario_yaml.replace(path_str(&quickstart_package()), path_str(&package));
    std::fs::write(scenario.file(), &scenario_yaml).expect("write the scenario");

    let sim = Served::start(&[]);
    let env = [("PARTNER_KEY", "home-key")];
    let applied = sim.run(
        scenario.dir(),
        &["apply", "-f", scenario.file(), "--auto-approve"],
        &env,
    );
    assert_eq!(applied.code, 0, "{}", applied.transcript());
    let after = sim.run(
        scenario.dir(),
        &["plan", "-f", scenario.file(), "--detailed-exitcode"],
        &env,
    );
    assert_converged(&after);

    let state = sim.state();
    assert_no_duplicates(&state);
    let home = customer(&state, "home-001");
    let folders = objects(home, "folders");
    let project = |name: &str| {
        folders
            .iter()
            .find(|folder| folder["name"] == name && folder["is_project"] == true)
            .and_then(|folder| folder["id"].as_u64())
            .unwrap_or_else(|| panic!("no project {name}: {folders:#?}"))
    };
    let home_assets = project(home_assets_folder);
    let recipes = objects(home, "recipes");
    let hourly_ping = recipes
        .iter()
        .find(|recipe| recipe["name"] == "Hourly ping")
        .expect("the Home asset was imported");
    assert_eq!(hourly_ping["folder_id"], home_assets, "{hourly_ping}");
    assert_eq!(hourly_ping["running"], true, "{hourly_ping}");

    let imports: Vec<String> = sim
        .log()
        .iter()
        .filter(|entry| entry["method"] == "POST")
        .filter_map(|entry| entry["path"].as_str())
        .filter(|path| {
            path.split('?')
                .next()
                .is_some_and(|p| p.ends_with("/imports"))
        })
        .map(str::to_owned)
        .collect();
    assert_eq!(imports.len(), 1, "{imports:?}");
    assert!(
        imports[0].contains(&format!("folder_id_for_home_assets={home_assets}")),
        "{imports:?}"
    );
}

/// Every `embedctl_assets.` property in a simulator state, by name.
fn asset_properties(state: &Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut stack = vec![state];
    while let Some(value) = stack.pop() {
        match value {
            Value::Object(map) => {
                for (name, inner) in map {
                    match inner.as_str() {
                        Some(text) if name.starts_with("embedctl_assets.") => {
                            found.push((name.clone(), text.to_owned()));
                        }
                        _ => stack.push(inner),
                    }
                }
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    found.sort();
    found
}

#[test]
fn a_package_of_many_assets_is_recorded_over_several_properties_and_its_changes_named() {
    let workspace = crate::plan_scenarios::Workspace::copy_of("quickstart");
    workspace.edit(
        "embedctl.yaml",
        "restart_recipes: false",
        "restart_recipes: true",
    );
    let lookup = |n: usize| {
        format!(
            "packages/files-sync/Files Sync/Lookup tables/a lookup table with a rather long name {n:03}.lookup_table.json"
        )
    };
    for n in 0..60 {
        workspace.write(
            &lookup(n),
            &format!("{{\"name\": \"Lookup {n}\", \"rows\": [[{n}]]}}\n"),
        );
    }
    let apply = [
        "apply",
        "-f",
        "embedctl.yaml",
        "--sim",
        "state.json",
        "--auto-approve",
    ];
    let applied = workspace.run(&apply, &[]);
    assert_eq!(applied.code, 0, "{}", applied.transcript());
    let state: Value = serde_json::from_str(
        &std::fs::read_to_string(workspace.state()).expect("apply saved the state"),
    )
    .expect("a JSON state");
    let recorded = asset_properties(&state);
    let parts: Vec<&str> = recorded.iter().map(|(name, _)| name.as_str()).collect();
    // Two customers, each with the same record in several parts, numbered from 0.
    let per_customer = parts.len() / 2;
    assert!(per_customer >= 2, "{recorded:#?}");
    let expected: Vec<String> = (0..per_customer)
        .flat_map(|part| vec![format!("embedctl_assets.files-sync.{part}"); 2])
        .collect();
    assert_eq!(parts, expected, "{recorded:#?}");
    for (name, value) in &recorded {
        assert!(value.chars().count() <= 1024, "{name}: {value}");
    }

    // A recipe changed, a lookup table changed, one removed and one added.
    workspace.edit(
        "packages/files-sync/Files Sync/list_files.recipe.json",
        "\"trigger_every\": \"1\"",
        "\"trigger_every\": \"2\"",
    );
    workspace.edit(&lookup(8), "[[8]]", "[[8, 9]]");
    std::fs::remove_file(workspace.file(&lookup(7))).expect("a lookup table to remove");
    workspace.write(&lookup(99), "{\"name\": \"Lookup 99\", \"rows\": []}\n");
    let name = |n: usize| {
        lookup(n)
            .trim_start_matches("packages/files-sync/")
            .to_owned()
    };

    let json = workspace.plan("json", &[], &[]);
    assert_eq!(json.code, 2, "{}", json.transcript());
    let document: Value = serde_json::from_str(&json.stdout).expect("a JSON plan");
    for change in document["changes"].as_array().expect("changes") {
        assert_eq!(change["reason"], "package.changed", "{change:#}");
        assert_eq!(
            change["assets"],
            json!({
                "recorded": true,
                "added": [{ "type": "lookup_table", "name": name(99) }],
                "changed": [
                    { "type": "recipe", "name": "List files" },
                    { "type": "lookup_table", "name": name(8) },
                ],
                "removed": [{ "type": "lookup_table", "name": name(7) }],
            }),
        );
    }
    assert_eq!(document["changes"].as_array().map(Vec::len), Some(2));
    let text = workspace.plan("text", &[], &[]);
    assert!(
        text.stdout.contains(&format!(
            "        changed: recipe \"List files\", lookup table \"{}\"\n        added: lookup table \"{}\"\n        removed: lookup table \"{}\"\n",
            name(8),
            name(99),
            name(7)
        )),
        "{}",
        text.stdout
    );

    // Applied, the new record replaces the old: nothing left to change.
    let applied = workspace.run(&apply, &[]);
    assert_eq!(applied.code, 0, "{}", applied.transcript());
    let after = workspace.plan("text", &[], &[]);
    assert_eq!(after.code, 0, "{}", after.transcript());
}
