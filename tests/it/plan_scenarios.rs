//! Plans of whole scenarios, from the real binary: each test builds a Workato account in a
//! simulator over HTTP (real API calls and `/__sim` hooks), saves it as a state file, runs
//! `embedctl plan --sim` on it in text, JSON and Markdown, and snapshots what a reviewer sees,
//! with the exit codes of `plan --detailed-exitcode` and `drift` (docs/commands.md).
//!
//! A set-up account cannot come from `apply` (not built yet), so `Account::converge` is a tiny
//! test-side apply: it plans in-process, then makes each planned change with plain HTTP calls, as
//! ARCHITECTURE.md describes them, until nothing is left to do. Scenarios then break that account
//! the way the world does: Workato stops a recipe, a key is rotated, an end user revokes access.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use embedctl::credentials::{self, ConnectionInput, SIMULATOR_FINGERPRINT_KEY};
use embedctl::desired::{Desired, Resolver};
use embedctl::desired_file::{self, LoadedFile};
use embedctl::live::property;
use embedctl::observe::observe;
use embedctl::package::inventory;
use embedctl::plan::{Action, Change, Kind, PendingUser, Plan, diff};
use embedctl::sim::{AccountState, SimOptions, Simulator};
use embedctl::workato::{ApiToken, Client, ClientConfig};
use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};

use crate::context::{Outcome, repo_root};
use crate::sim_context::{SimContext, TOKEN, send};

// ---------------------------------------------------------------------------------------------
// Running the binary

pub use crate::context::Env;

/// Runs `embedctl ARGS` in `dir` with exactly the variables of `env` (`context::run`).
pub fn embedctl(dir: &Path, args: &[&str], env: Env<'_>) -> Outcome {
    crate::context::run(dir, args, env)
}

/// Runs `future` to completion on a runtime of its own (tests here are plain `#[test]`s, because
/// the binary runs are blocking).
pub fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(future)
}

/// `text` as a regular expression that matches only itself, for insta filters.
pub fn regex_literal(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(character) {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}

// ---------------------------------------------------------------------------------------------
// A desired-state file in a temporary folder

/// A copy of a bundled example in a temporary folder, where a test may edit the file, its
/// packages and its secrets, and keep the account's state (`state.json`). Every run happens in
/// this folder with relative paths, so outputs do not depend on where the folder is.
pub struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    /// A copy of `examples/<name>` (the desired-state file, its packages and demo secrets).
    pub fn copy_of(example: &str) -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        copy_tree(&repo_root().join("examples").join(example), dir.path());
        Self { dir }
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A path inside the folder.
    pub fn file(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// The desired-state file.
    pub fn yaml(&self) -> PathBuf {
        self.file("embedctl.yaml")
    }

    /// The simulator state the runs read (`--sim state.json`).
    pub fn state(&self) -> PathBuf {
        self.file("state.json")
    }

    /// Writes `text` to `relative`, creating folders.
    pub fn write(&self, relative: &str, text: &str) {
        let path = self.file(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("a writable temporary folder");
        }
        std::fs::write(path, text).expect("a writable temporary folder");
    }

    /// Replaces the one occurrence of `from` in `relative` by `to`.
    #[track_caller]
    pub fn edit(&self, relative: &str, from: &str, to: &str) {
        let text = std::fs::read_to_string(self.file(relative)).expect("a readable file");
        assert_eq!(
            text.matches(from).count(),
            1,
            "`{from}` must occur once in {relative}"
        );
        self.write(relative, &text.replacen(from, to, 1));
    }

    /// `embedctl ARGS` in this folder.
    pub fn run(&self, args: &[&str], env: Env<'_>) -> Outcome {
        embedctl(self.path(), args, env)
    }

    /// `embedctl plan -f embedctl.yaml --sim state.json --detailed-exitcode --format FORMAT`.
    pub fn plan(&self, format: &str, extra: &[&str], env: Env<'_>) -> Outcome {
        let mut args = vec![
            "plan",
            "-f",
            "embedctl.yaml",
            "--sim",
            "state.json",
            "--detailed-exitcode",
            "--format",
            format,
        ];
        args.extend_from_slice(extra);
        self.run(&args, env)
    }

    /// `embedctl drift -f embedctl.yaml --sim state.json --format FORMAT` + `extra`.
    pub fn drift(&self, format: &str, extra: &[&str], env: Env<'_>) -> Outcome {
        let mut args = vec![
            "drift",
            "-f",
            "embedctl.yaml",
            "--sim",
            "state.json",
            "--format",
            format,
        ];
        args.extend_from_slice(extra);
        self.run(&args, env)
    }

    /// Runs `assertions` with insta filters that replace this folder's path by `[TMP]`.
    pub fn snapshots(&self, assertions: impl FnOnce()) {
        let mut paths = vec![self.path().to_path_buf()];
        if let Ok(canonical) = self.path().canonicalize() {
            paths.push(canonical);
        }
        let mut settings = insta::Settings::clone_current();
        for path in paths {
            settings.add_filter(&regex_literal(&path.display().to_string()), "[TMP]");
        }
        settings.bind(assertions);
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("a writable temporary folder");
    for entry in std::fs::read_dir(from).expect("a readable example folder") {
        let path = entry.expect("a directory entry").path();
        let target = to.join(path.file_name().expect("a named entry"));
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("a copyable file");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Resolving the file the way embedctl does

/// Loads and checks a desired-state file; a test file that does not validate is a test bug.
pub fn load_spec(path: &Path) -> LoadedFile {
    desired_file::load(path).unwrap_or_else(|diagnostics| {
        panic!(
            "{} does not validate:\n{}",
            path.display(),
            diagnostics.render(false)
        )
    })
}

fn variable(env: Env<'_>, name: &str) -> Option<String> {
    env.iter()
        .find(|(key, _)| *key == name)
        .map(|(_, value)| (*value).to_owned())
}

/// The fingerprint key a `--sim` run of embedctl uses with `env`.
pub fn fingerprint_key(env: Env<'_>) -> String {
    variable(env, "EMBEDCTL_FINGERPRINT_KEY")
        .unwrap_or_else(|| SIMULATOR_FINGERPRINT_KEY.to_owned())
}

/// What the file asks for, with secrets looked up in `env` only.
pub fn desired_of(spec: &LoadedFile, env: Env<'_>) -> Desired {
    let lookup = |name: &str| variable(env, name);
    Desired::from_file(
        spec,
        &Resolver {
            lookup: &lookup,
            fingerprint_key: Some(fingerprint_key(env)),
            secrets: Default::default(),
        },
    )
}

/// The input a default connection of `customer` is sent: the connection's settings plus its
/// credentials, or the customer's override of them.
pub fn connection_input(
    spec: &LoadedFile,
    customer: &str,
    manifest: &str,
    connection: &str,
    env: Env<'_>,
) -> ConnectionInput {
    let declared = spec
        .file
        .manifests
        .get(manifest)
        .and_then(|m| m.connections.get(connection))
        .unwrap_or_else(|| panic!("no connection `{manifest}.{connection}` in the file"));
    let overrides = spec
        .file
        .customers
        .iter()
        .find(|c| c.value.external_id.value == customer)
        .and_then(|c| c.value.credentials.get(&format!("{manifest}.{connection}")));
    let lookup = |name: &str| variable(env, name);
    credentials::resolve(
        &declared.settings,
        overrides.unwrap_or(&declared.credentials),
        spec.base_dir(),
        &lookup,
    )
    .unwrap_or_else(|why| panic!("the test must give every secret: {}", why.0))
}

// ---------------------------------------------------------------------------------------------
// A Workato account to build scenarios in

/// `/managed_users/E<external id>`, the id percent-encoded.
pub fn customer_path(external_id: &str) -> String {
    let mut path = String::from("/managed_users/E");
    for byte in external_id.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            path.push(char::from(byte));
        } else {
            path.push_str(&format!("%{byte:02X}"));
        }
    }
    path
}

/// A simulated account served over HTTP, driven by real API calls.
pub struct Account {
    ctx: SimContext,
}

impl Account {
    /// A simulator over `state`, with rate-limit windows shrunk so that building an account is
    /// never paced.
    pub async fn new(state: AccountState) -> Self {
        let options = SimOptions {
            time_scale: 1_000.0,
            ..SimOptions::default()
        };
        Self {
            ctx: SimContext::start_with(state, options).await,
        }
    }

    /// An empty account.
    pub async fn empty() -> Self {
        Self::new(AccountState::default()).await
    }

    /// The account of a state file.
    pub async fn load(path: &Path) -> Self {
        Self::new(Simulator::load_state(path).expect("a simulator state file")).await
    }

    /// The simulator's base URL (`http://127.0.0.1:PORT/api`).
    pub fn base_url(&self) -> &str {
        self.ctx.running.base_url()
    }

    /// The simulator serving this account.
    pub fn simulator(&self) -> &Simulator {
        self.ctx.running.simulator()
    }

    /// The account as it is now.
    pub fn state(&self) -> AccountState {
        self.simulator().account()
    }

    /// Saves the account where the binary's `--sim` will read it.
    pub fn save(&self, path: &Path) {
        self.simulator()
            .save_state(path)
            .expect("a writable state file");
    }

    /// Stops serving.
    pub async fn stop(self) {
        self.ctx.running.stop().await.expect("a clean shutdown");
    }

    /// `method path` with a JSON body; the answer must be 200.
    pub async fn call(&self, method: Method, path: &str, body: Value) -> Value {
        let (status, answer) = self.ctx.send_json(method.clone(), path, body).await;
        assert_eq!(status, 200, "{method} {path}: {answer}");
        answer
    }

    /// `GET path`; the answer must be 200.
    pub async fn read(&self, path: &str) -> Value {
        let (status, answer) = self.ctx.get(path).await;
        assert_eq!(status, 200, "GET {path}: {answer}");
        answer
    }

    /// POST to a `/__sim` hook; the answer must be 200.
    pub async fn hook(&self, path: &str, body: Value) {
        let (status, answer) = self.ctx.sim_post(path, body).await;
        assert_eq!(status, 200, "POST /__sim{path}: {answer}");
    }

    /// The `/__sim/log` entries so far.
    pub async fn log(&self) -> Vec<Value> {
        self.ctx.sim_get("/log").await["entries"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Upserts one environment property of a customer workspace.
    pub async fn record(&self, customer: &str, name: &str, value: &str) {
        let path = format!("{}/properties", customer_path(customer));
        self.call(
            Method::POST,
            &path,
            json!({ "properties": { name: value } }),
        )
        .await;
    }

    /// Every connection of a customer, runtime user connections included.
    pub async fn connections(&self, customer: &str) -> Vec<Value> {
        let path = format!(
            "{}/connections?include_runtime_connections=true",
            customer_path(customer)
        );
        self.read(&path).await["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The id of the connection of `customer` named `name`.
    pub async fn connection_id(&self, customer: &str, name: &str) -> u64 {
        let connections = self.connections(customer).await;
        connections
            .iter()
            .find(|c| c["name"] == name)
            .and_then(|c| c["id"].as_u64())
            .unwrap_or_else(|| panic!("no connection \"{name}\" of {customer}: {connections:?}"))
    }

    /// The id of the recipe of `customer` named `name`.
    pub async fn recipe_id(&self, customer: &str, name: &str) -> u64 {
        let recipes = self
            .read(&format!("{}/recipes", customer_path(customer)))
            .await;
        recipes["result"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["name"] == name)
            .and_then(|r| r["id"].as_u64())
            .unwrap_or_else(|| panic!("no recipe \"{name}\" of {customer}: {recipes}"))
    }

    /// Imports a package zip into `folder` and waits for the import to complete.
    pub async fn import(&self, customer: &str, folder: u64, zip: Vec<u8>, restart: bool) {
        let customer = customer_path(customer);
        let path = format!("{customer}/imports?folder_id={folder}&restart_recipes={restart}");
        let (status, started) = send(
            self.ctx
                .request(Method::POST, &path)
                .header(CONTENT_TYPE, "application/octet-stream")
                .body(zip),
        )
        .await;
        assert_eq!(status, 200, "POST {path}: {started}");
        let id = started["id"].as_u64().expect("an import id");
        for _ in 0..20 {
            let outcome = self.read(&format!("{customer}/imports/{id}")).await;
            match outcome["status"].as_str() {
                Some("in_progress") => continue,
                Some("completed") => return,
                _ => panic!("import {id} failed: {outcome}"),
            }
        }
        panic!("import {id} never finished");
    }

    /// Sends a default connection the input the file gives it and records its fingerprint, as
    /// apply does after every update Workato accepts, authorized or not.
    pub async fn send_credentials(
        &self,
        spec: &LoadedFile,
        env: Env<'_>,
        customer: &str,
        reference: &str,
        connection_id: u64,
    ) {
        let (manifest, connection) = reference
            .split_once('.')
            .expect("a `<manifest>.<connection>` reference");
        let input = connection_input(spec, customer, manifest, connection, env);
        let path = format!("{}/connections/{connection_id}", customer_path(customer));
        self.call(Method::PUT, &path, Value::Object(input.to_body()))
            .await;
        let fingerprint = input.fingerprint(&fingerprint_key(env));
        self.record(
            customer,
            &property::fingerprint(manifest, connection),
            &fingerprint,
        )
        .await;
    }

    /// The plan of `file` against this account, computed in-process (observe + diff), as the
    /// binary would compute it.
    pub async fn plan(&self, file: &Path, env: Env<'_>) -> Plan {
        let spec = load_spec(file);
        let desired = desired_of(&spec, env);
        let mut config =
            ClientConfig::new(self.base_url(), ApiToken::new(TOKEN)).expect("a loopback base URL");
        config.time_scale = 1_000.0;
        let client = Client::new(config).expect("a client");
        let live = observe(&client, &desired, &[])
            .await
            .expect("the simulator answers");
        let plan = diff(&desired, &live);
        // Every plan of every scenario reads back from JSON unchanged, as a saved plan must.
        let text = serde_json::to_string(&plan).expect("the plan serializes");
        let read: Plan = serde_json::from_str(&text).expect("the plan deserializes");
        assert_eq!(read, plan, "a plan that does not read back: {text}");
        plan
    }

    /// The test-side apply: plans `file` and makes the planned changes with plain API calls,
    /// again and again, until nothing is left to change. Blocked changes are left alone; end
    /// users are not played. Returns the last plan (no changes).
    pub async fn converge(&self, file: &Path, env: Env<'_>) -> Plan {
        let spec = load_spec(file);
        for _ in 0..10 {
            let plan = self.plan(file, env).await;
            if plan.changes.is_empty() {
                return plan;
            }
            // A change that needs an id an earlier change of this pass created waits for the
            // next pass, and so does the rest of its customer.
            let mut waiting: Vec<&str> = Vec::new();
            for change in &plan.changes {
                if waiting.contains(&change.customer.as_str()) {
                    continue;
                }
                if !self.make(&spec, env, change).await {
                    waiting.push(&change.customer);
                }
            }
        }
        let plan = self.plan(file, env).await;
        panic!(
            "the account does not converge to {}; still planned: {:#?}",
            file.display(),
            plan.changes
        );
    }

    /// Makes one change; `false` when an id it needs is not known yet.
    async fn make(&self, spec: &LoadedFile, env: Env<'_>, change: &Change) -> bool {
        let customer = customer_path(&change.customer);
        let target = &change.target;
        match (change.kind(), change.action) {
            (Kind::Customer, Action::Create) => {
                self.call(Method::POST, "/managed_users", change.after.value())
                    .await;
            }
            (Kind::Customer, Action::Update) => {
                self.call(Method::PUT, &customer, change.after.value())
                    .await;
            }
            (Kind::Folder, Action::Create) => {
                let folder = self
                    .call(
                        Method::POST,
                        &format!("{customer}/folders"),
                        json!({ "name": change.after.value()["name"] }),
                    )
                    .await;
                let id = folder["id"].as_u64().expect("a folder id");
                self.record(
                    &change.customer,
                    &property::folder(&change.key()),
                    &id.to_string(),
                )
                .await;
            }
            (Kind::Package, Action::Import) => {
                let Some(folder) = target.folder_id else {
                    return false;
                };
                let package = &spec.packages[&change.key()];
                let restart = change.after.value()["restart_recipes"].as_bool() == Some(true);
                self.import(&change.customer, folder, package.zip_bytes.clone(), restart)
                    .await;
                self.record(
                    &change.customer,
                    &property::digest(&change.key()),
                    package.digest.as_str(),
                )
                .await;
                // The record of the package's assets, as apply writes it with the digest.
                for (name, value) in inventory::record_properties(
                    &change.key(),
                    package.digest.as_str(),
                    &package.assets,
                ) {
                    self.record(&change.customer, &name, &value).await;
                }
            }
            (Kind::Connection, Action::Authorize) => {
                let Some(connection) = target.connection_id else {
                    return false;
                };
                self.send_credentials(spec, env, &change.customer, &change.key(), connection)
                    .await;
            }
            (Kind::Recipe, Action::Start) => {
                let Some(recipe) = target.recipe_id else {
                    return false;
                };
                let path = format!("{customer}/recipes/{recipe}/start");
                let answer = self.call(Method::PUT, &path, json!({})).await;
                assert_ne!(answer["success"], false, "PUT {path}: {answer}");
            }
            (Kind::RuntimeConnection, Action::Create) => {
                let Some(folder) = target.folder_id else {
                    return false;
                };
                let mut body = change.after.value();
                body["folder_id"] = json!(folder);
                self.call(Method::POST, &format!("{customer}/connections"), body)
                    .await;
            }
            (Kind::RuntimeConnection, Action::Update) => {
                let id = target.connection_id.expect("a renamed connection exists");
                let path = format!("{customer}/connections/{id}");
                self.call(Method::PUT, &path, change.after.value()).await;
            }
            (Kind::RuntimeConnection, Action::Replace) => {
                let id = target.connection_id.expect("a replaced connection exists");
                let folder = target
                    .folder_id
                    .expect("a replaced connection has a folder");
                let old = self
                    .connections(&change.customer)
                    .await
                    .into_iter()
                    .find(|c| c["id"] == id)
                    .expect("the replaced connection is listed");
                let path = format!("{customer}/connections/{id}");
                self.call(Method::DELETE, &path, json!({})).await;
                let body = json!({
                    "name": change.after.value()["name"],
                    "provider": old["provider"],
                    "external_id": old["external_id"],
                    "parent_id": change.after.value()["parent_id"],
                    "folder_id": folder,
                });
                self.call(Method::POST, &format!("{customer}/connections"), body)
                    .await;
            }
            (Kind::RuntimeConnection, Action::Delete) => {
                let id = target.connection_id.expect("a deleted connection exists");
                let path = format!("{customer}/connections/{id}");
                self.call(Method::DELETE, &path, json!({})).await;
            }
            (kind, action) => panic!("the test-side apply cannot {action:?} a {kind:?}"),
        }
        true
    }

    /// Plays the end users: every pending runtime user connection that exists is authorized
    /// through the widget hook, except those `skip` names.
    pub async fn authorize_end_users(
        &self,
        file: &Path,
        env: Env<'_>,
        skip: impl Fn(&PendingUser) -> bool,
    ) {
        let plan = self.plan(file, env).await;
        for pending in plan.pending_users.iter().filter(|p| !skip(p)) {
            let id = pending
                .connection_id
                .expect("a converged account has every runtime connection");
            self.hook(&format!("/connections/{id}/authorize"), json!({}))
                .await;
        }
    }
}

/// The quick start's account, built once from an empty account by the test-side apply.
pub struct QuickstartAccounts {
    /// Everything set up; the end users have not connected yet.
    pub converged: AccountState,
    /// Everything set up and every end user connected: in sync.
    pub synced: AccountState,
}

/// The quick start's converged and synced accounts (shared by the tests of this binary).
pub fn quickstart_accounts() -> &'static QuickstartAccounts {
    static ACCOUNTS: OnceLock<QuickstartAccounts> = OnceLock::new();
    ACCOUNTS.get_or_init(|| {
        block_on(async {
            let workspace = Workspace::copy_of("quickstart");
            let account = Account::empty().await;
            let plan = account.converge(&workspace.yaml(), &[]).await;
            assert!(plan.blocked.is_empty(), "{:?}", plan.blocked);
            assert_eq!(plan.pending_users.len(), 10, "{:?}", plan.pending_users);
            let converged = account.state();
            account
                .authorize_end_users(&workspace.yaml(), &[], |_| false)
                .await;
            let synced = account.state();
            account.stop().await;
            QuickstartAccounts { converged, synced }
        })
    })
}

/// Builds a scenario: serves `state`, lets `break_it` change it through the API, saves it as
/// the workspace's `state.json`.
pub fn prepare<F>(workspace: &Workspace, state: AccountState, break_it: F)
where
    F: AsyncFnOnce(&Account),
{
    block_on(async {
        let account = Account::new(state).await;
        break_it(&account).await;
        account.save(&workspace.state());
        account.stop().await;
    });
}

// ---------------------------------------------------------------------------------------------
// Checking a scenario

/// The exit codes a scenario must give.
#[derive(Clone, Copy, Debug)]
pub struct Expect {
    /// `plan --detailed-exitcode`: 0 nothing to write, 2 apply would write.
    pub plan: i32,
    /// `drift`: 0 in sync, 2 drift, 3 only end users pending.
    pub drift: i32,
}

fn plan_validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let path = repo_root().join("schemas/plan.schema.json");
        let text = std::fs::read_to_string(path).expect("schemas/plan.schema.json exists");
        let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&schema)
            .expect("the schema compiles")
    })
}

/// Runs plan (text, JSON, Markdown) and drift (text, JSON) on the workspace, both with `extra`
/// (flags they share, like `--customer`), checks every exit
/// code, checks the JSON plan against its schema, and snapshots `<name>_text` (plan, then
/// drift), `<name>_json` and `<name>_markdown`. Returns the JSON plan.
#[track_caller]
pub fn check_scenario(
    name: &str,
    workspace: &Workspace,
    extra: &[&str],
    env: Env<'_>,
    expect: Expect,
) -> Value {
    let text = workspace.plan("text", extra, env);
    let json = workspace.plan("json", extra, env);
    let markdown = workspace.plan("markdown", extra, env);
    for (format, outcome) in [("text", &text), ("json", &json), ("markdown", &markdown)] {
        assert_eq!(
            outcome.code,
            expect.plan,
            "plan --detailed-exitcode --format {format}:\n{}",
            outcome.transcript()
        );
    }
    let drift = workspace.drift("text", extra, env);
    assert_eq!(drift.code, expect.drift, "drift:\n{}", drift.transcript());
    let drift_json = workspace.drift("json", extra, env);
    assert_eq!(
        drift_json.code,
        expect.drift,
        "drift --format json:\n{}",
        drift_json.transcript()
    );
    let drift_document: Value =
        serde_json::from_str(&drift_json.stdout).expect("drift --format json prints JSON");
    // The plan document's keys, in their documented order, then the drift's own.
    let top_keys: Vec<&str> = drift_json
        .stdout
        .lines()
        .filter_map(|line| line.strip_prefix("  \""))
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert_eq!(
        top_keys,
        [
            "format_version",
            "changes",
            "blocked",
            "pending_users",
            "unmanaged",
            "skipped",
            "notes",
            "summary",
            "api_budget",
            "observed_calls",
            "status",
            "exit_code"
        ],
        "{}",
        drift_json.stdout
    );
    assert_eq!(
        drift_document["exit_code"], expect.drift,
        "{drift_document}"
    );

    let document: Value = serde_json::from_str(&json.stdout).expect("plan --format json is JSON");
    let problems: Vec<String> = plan_validator()
        .iter_errors(&document)
        .map(|error| format!("at `{}`: {error}", error.instance_path()))
        .collect();
    assert!(problems.is_empty(), "{name}: {problems:#?}");

    workspace.snapshots(|| {
        insta::assert_snapshot!(
            format!("{name}_text"),
            format!(
                "$ embedctl plan --detailed-exitcode\n{}\n$ embedctl drift\n{}",
                text.transcript(),
                drift.transcript()
            )
        );
        insta::assert_snapshot!(format!("{name}_json"), json.transcript());
        insta::assert_snapshot!(format!("{name}_markdown"), markdown.transcript());
    });
    document
}

/// `customer reason key` of every entry of a list of the JSON plan (`changes`, `blocked`).
pub fn listed(document: &Value, list: &str) -> Vec<String> {
    document[list]
        .as_array()
        .into_iter()
        .flatten()
        .map(|entry| {
            format!(
                "{} {} {}",
                entry["customer"].as_str().unwrap_or_default(),
                entry["reason"].as_str().unwrap_or_default(),
                entry["key"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

/// `customer user connection function` of every pending end user of the JSON plan.
pub fn pending(document: &Value) -> Vec<String> {
    document["pending_users"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|entry| {
            format!(
                "{} {} {} {}",
                entry["customer"].as_str().unwrap_or_default(),
                entry["user"].as_str().unwrap_or_default(),
                entry["connection"].as_str().unwrap_or_default(),
                entry["recipe_function"].as_str().unwrap_or("-")
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Edits of the quick start's file

/// Adds a fourth end user to Acme: a new user whose runtime connections the plan must create,
/// so that a closed phase-4 gate has something to block.
pub fn add_user_d(workspace: &Workspace) {
    workspace.edit(
        "embedctl.yaml",
        "      - id: user-c-external-id\n",
        "      - id: user-c-external-id\n      - id: user-d-external-id\n        name: User D\n",
    );
}

/// The quick start's package with "List files" running every two hours instead of every hour.
fn change_list_files(workspace: &Workspace) {
    workspace.edit(
        "packages/files-sync/Files Sync/list_files.recipe.json",
        "\"trigger_every\": \"1\"",
        "\"trigger_every\": \"2\"",
    );
}

// ---------------------------------------------------------------------------------------------
// Scenarios

#[test]
fn empty_account() {
    let workspace = Workspace::copy_of("quickstart");
    // No state file: an empty account.
    let document = check_scenario(
        "empty_account",
        &workspace,
        &[],
        &[],
        Expect { plan: 2, drift: 2 },
    );
    let changes = listed(&document, "changes");
    for customer in ["acme-001", "globex-002"] {
        for expected in [
            format!("{customer} customer.missing {customer}"),
            format!("{customer} folder.missing files-sync"),
            format!("{customer} package.not_imported files-sync"),
            format!("{customer} connection.credentials_missing files-sync.partner_app"),
            format!("{customer} recipe.not_running files-sync/List files"),
        ] {
            assert!(changes.contains(&expected), "{expected} in {changes:#?}");
        }
    }
    assert_eq!(document["blocked"], json!([]));
    assert_eq!(
        document["summary"]["pending_users"], 5,
        "five end users, ten connections"
    );
    assert!(
        !workspace.state().exists(),
        "plan never writes the state back"
    );
}

#[test]
fn fully_in_sync() {
    let workspace = Workspace::copy_of("quickstart");
    prepare(
        &workspace,
        quickstart_accounts().synced.clone(),
        async |_| {},
    );
    let document = check_scenario(
        "fully_in_sync",
        &workspace,
        &[],
        &[],
        Expect { plan: 0, drift: 0 },
    );
    for list in ["changes", "blocked", "pending_users", "unmanaged"] {
        assert_eq!(document[list], json!([]), "{list}");
    }
    let text = workspace.plan("text", &[], &[]);
    assert!(text.stdout.contains("No changes"), "{}", text.stdout);
}

/// The synced account satisfies ARCHITECTURE.md on its own terms, not only `diff`'s: the checks
/// here read the simulator's state, so a wrong plan cannot make them pass.
#[test]
fn the_synced_account_is_what_design_describes() {
    let state = serde_json::to_value(&quickstart_accounts().synced).expect("serializable");
    let customers: Vec<&Value> = state["customers"]
        .as_object()
        .expect("customers")
        .values()
        .collect();
    assert_eq!(customers.len(), 2);
    for customer in customers {
        let external_id = customer["external_id"].as_str().expect("external id");
        let properties = &customer["properties"];
        let folder: u64 = properties["embedctl_folder.files-sync"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .expect("the folder id is recorded");
        assert_eq!(
            customer["folders"][folder.to_string()]["name"],
            "Files Sync"
        );
        assert_eq!(
            customer["folders"][folder.to_string()]["is_project"],
            true,
            "{external_id}"
        );
        // The fingerprint the half-onboarded plan shows (`fp:0de16d81`) is the one recorded.
        assert!(
            properties["embedctl_fp.files-sync.partner_app"]
                .as_str()
                .is_some_and(|fp| fp.starts_with("0de16d81") && fp.len() == 64),
            "{properties}"
        );
        for recipe in customer["recipes"].as_object().expect("recipes").values() {
            assert_eq!(recipe["running"], true, "{external_id}: {recipe}");
        }
        let connections: Vec<&Value> = customer["connections"]
            .as_object()
            .expect("connections")
            .values()
            .collect();
        let partner_app: Vec<&&Value> = connections
            .iter()
            .filter(|c| c["provider"] == "partner_app")
            .collect();
        assert_eq!(partner_app.len(), 1, "{external_id}");
        assert_eq!(partner_app[0]["authorization_status"], "success");
        let runtime: Vec<&&Value> = connections
            .iter()
            .filter(|c| !c["external_id"].is_null())
            .collect();
        let users = if external_id == "acme-001" { 3 } else { 2 };
        assert_eq!(runtime.len(), users * 2, "{external_id}: {runtime:#?}");
        for connection in runtime {
            assert_eq!(connection["provider"], "dropbox");
            assert_eq!(connection["parent_id"], Value::Null, "{connection}");
            assert_eq!(connection["folder_id"], folder, "{connection}");
            assert_eq!(connection["authorization_status"], "success");
        }
    }
}

#[test]
fn half_onboarded_customer() {
    let workspace = Workspace::copy_of("quickstart");
    std::fs::copy(workspace.file("workato-state.json"), workspace.state())
        .expect("a copyable state");
    let document = check_scenario(
        "half_onboarded_customer",
        &workspace,
        &[],
        &[],
        Expect { plan: 2, drift: 2 },
    );
    let changes = listed(&document, "changes");
    assert!(
        !changes.iter().any(|c| c.starts_with("acme-001 customer.")
            || c.starts_with("acme-001 folder.")
            || c.starts_with("acme-001 package.")),
        "acme-001's phases 1 and 2 are done: {changes:#?}"
    );
    assert!(
        changes
            .contains(&"acme-001 connection.credentials_missing files-sync.partner_app".to_owned())
    );
    assert!(changes.contains(&"globex-002 customer.missing globex-002".to_owned()));
    assert_eq!(document["unmanaged"][0]["customer"], "legacy-pilot");
    assert_eq!(document["unmanaged"][0]["reason"], "customer.unmanaged");
}

#[test]
fn recipe_stopped_by_workato_blocks_phase_4() {
    let workspace = Workspace::copy_of("quickstart");
    add_user_d(&workspace);
    prepare(
        &workspace,
        quickstart_accounts().synced.clone(),
        async |account| {
            let recipe = account.recipe_id("acme-001", "List files").await;
            account
                .hook(
                    &format!("/recipes/{recipe}/stop_by_workato"),
                    json!({ "stop_cause": "trial_expired" }),
                )
                .await;
        },
    );
    let document = check_scenario(
        "recipe_stopped_by_workato",
        &workspace,
        &[],
        &[],
        Expect { plan: 0, drift: 2 },
    );
    assert_eq!(
        listed(&document, "blocked"),
        [
            "acme-001 recipe.stopped_by_workato files-sync/List files",
            "acme-001 gate.closed files-sync.dropbox/user-d-external-id",
            "acme-001 gate.closed files-sync.dropbox/user-d-external-id/Get file",
        ]
    );
    assert_eq!(document["changes"], json!([]));
    let why = document["blocked"][1]["blocked_by"]
        .as_str()
        .unwrap_or_default();
    assert!(
        why.starts_with("integration setup is in progress") && why.contains("trial_expired"),
        "{why}"
    );
}

#[test]
fn default_connection_failed_is_blocked() {
    let workspace = Workspace::copy_of("quickstart");
    add_user_d(&workspace);
    // Acme's key is overridden with one that the simulator refuses (`invalid`, docs/simulator.md),
    // and apply has already sent it: the fingerprint is recorded, the connection failed.
    workspace.edit(
        "embedctl.yaml",
        "    notification_email: it@acme.example\n    manifests: [files-sync]\n",
        "    notification_email: it@acme.example\n    manifests: [files-sync]\n    credentials:\n      files-sync.partner_app:\n        api_key: { file: demo-secrets/acme_partner_api_key }\n",
    );
    workspace.write("demo-secrets/acme_partner_api_key", "invalid\n");
    let spec = load_spec(&workspace.yaml());
    prepare(
        &workspace,
        quickstart_accounts().synced.clone(),
        async |account| {
            let id = account.connection_id("acme-001", "PartnerApp").await;
            account
                .send_credentials(&spec, &[], "acme-001", "files-sync.partner_app", id)
                .await;
        },
    );
    let document = check_scenario(
        "default_connection_failed",
        &workspace,
        &[],
        &[],
        Expect { plan: 0, drift: 2 },
    );
    assert_eq!(
        listed(&document, "blocked"),
        [
            "acme-001 connection.auth_failed files-sync.partner_app",
            "acme-001 gate.closed files-sync.dropbox/user-d-external-id",
            "acme-001 gate.closed files-sync.dropbox/user-d-external-id/Get file",
        ]
    );
    let why = document["blocked"][0]["blocked_by"]
        .as_str()
        .unwrap_or_default();
    assert!(
        // The credential sent was `invalid`, which Workato's message repeats: redacted.
        why.contains("Authentication failed: [redacted] credentials"),
        "{why}"
    );
}

#[test]
fn user_pending() {
    let workspace = Workspace::copy_of("quickstart");
    let yaml = workspace.yaml();
    prepare(
        &workspace,
        quickstart_accounts().converged.clone(),
        async |account| {
            account
                .authorize_end_users(&yaml, &[], |p| p.user == "user-b-external-id")
                .await;
        },
    );
    let document = check_scenario(
        "user_pending",
        &workspace,
        &[],
        &[],
        Expect { plan: 0, drift: 3 },
    );
    assert_eq!(
        pending(&document),
        [
            "acme-001 user-b-external-id files-sync.dropbox -",
            "acme-001 user-b-external-id files-sync.dropbox Get file",
        ]
    );
    assert!(document["pending_users"][0]["connection_id"].is_u64());
}

#[test]
fn user_revoked() {
    let workspace = Workspace::copy_of("quickstart");
    prepare(
        &workspace,
        quickstart_accounts().synced.clone(),
        async |account| {
            let id = account.connection_id("acme-001", "Dropbox - User A").await;
            account
                .hook(&format!("/connections/{id}/revoke"), json!({}))
                .await;
        },
    );
    let document = check_scenario(
        "user_revoked",
        &workspace,
        &[],
        &[],
        Expect { plan: 0, drift: 3 },
    );
    assert_eq!(
        pending(&document),
        ["acme-001 user-a-external-id files-sync.dropbox -"]
    );
}

#[test]
fn package_changed_is_reimported() {
    let workspace = restartable_with_list_files_changed();
    prepare(
        &workspace,
        quickstart_accounts().synced.clone(),
        async |_| {},
    );
    let document = check_scenario(
        "package_changed",
        &workspace,
        &[],
        &[],
        Expect { plan: 2, drift: 2 },
    );
    assert_eq!(
        listed(&document, "changes"),
        [
            "acme-001 package.changed files-sync",
            "globex-002 package.changed files-sync",
        ]
    );
    assert_eq!(document["blocked"], json!([]));
}

#[test]
fn package_changed_with_recipes_running_is_blocked() {
    let workspace = Workspace::copy_of("quickstart");
    change_list_files(&workspace);
    prepare(
        &workspace,
        quickstart_accounts().synced.clone(),
        async |_| {},
    );
    let document = check_scenario(
        "package_changed_recipes_running",
        &workspace,
        &[],
        &[],
        Expect { plan: 0, drift: 2 },
    );
    assert_eq!(
        listed(&document, "blocked"),
        [
            "acme-001 package.recipes_running files-sync",
            "globex-002 package.recipes_running files-sync",
        ]
    );
    assert_eq!(document["changes"], json!([]));
}

#[test]
fn package_changed_with_a_running_recipe_that_is_not_required_is_blocked() {
    // Only "List files" must run, and it was stopped; "Get file" runs although nothing requires
    // it. Workato refuses the import while any recipe of the folder runs, so the plan blocks it
    // instead of failing in Workato.
    let workspace = Workspace::copy_of("quickstart");
    workspace.edit(
        "embedctl.yaml",
        "    restart_recipes: false\n",
        "    restart_recipes: false\n    recipes: [List files]\n",
    );
    change_list_files(&workspace);
    prepare(
        &workspace,
        quickstart_accounts().synced.clone(),
        async |account| {
            for customer in ["acme-001", "globex-002"] {
                let recipe = account.recipe_id(customer, "List files").await;
                let path = format!("{}/recipes/{recipe}/stop", customer_path(customer));
                account.call(Method::PUT, &path, json!({})).await;
            }
        },
    );
    let outcome = workspace.plan("json", &[], &[]);
    let document: Value = serde_json::from_str(&outcome.stdout).expect("plan --format json");
    assert_eq!(
        listed(&document, "blocked")
            .into_iter()
            .filter(|line| line.contains("package.recipes_running"))
            .collect::<Vec<_>>(),
        [
            "acme-001 package.recipes_running files-sync",
            "globex-002 package.recipes_running files-sync",
        ],
        "{}",
        outcome.transcript()
    );
    let why = document["blocked"][0]["blocked_by"]
        .as_str()
        .unwrap_or_default();
    assert!(why.contains("\"Get file\""), "{why}");
}

#[test]
fn credentials_rotated() {
    let workspace = Workspace::copy_of("quickstart");
    workspace.write(
        "demo-secrets/partner_api_key",
        "demo-partner-key-rotated-2026\n",
    );
    prepare(
        &workspace,
        quickstart_accounts().synced.clone(),
        async |_| {},
    );
    let document = check_scenario(
        "credentials_rotated",
        &workspace,
        &[],
        &[],
        Expect { plan: 2, drift: 2 },
    );
    assert_eq!(
        listed(&document, "changes"),
        [
            "acme-001 connection.credentials_changed files-sync.partner_app",
            "globex-002 connection.credentials_changed files-sync.partner_app",
        ]
    );
    let change = &document["changes"][0];
    assert_eq!(change["before"]["fingerprint"], "fp:0de16d81");
    let after = change["after"]["fingerprint"].as_str().unwrap_or_default();
    assert!(
        after.starts_with("fp:") && after.len() == 11 && after != "fp:0de16d81",
        "{after}"
    );
}

#[test]
fn unmanaged_customer_is_reported_not_counted() {
    let workspace = Workspace::copy_of("quickstart");
    prepare(
        &workspace,
        quickstart_accounts().synced.clone(),
        async |account| {
            account
                .call(
                    Method::POST,
                    "/managed_users",
                    json!({
                        "external_id": "legacy-pilot",
                        "name": "Legacy Pilot",
                        "notification_email": "pilot@legacy.example",
                    }),
                )
                .await;
            // And an end user Acme no longer lists, whose two connections are left alone.
            let folder = quickstart_accounts()
                .synced
                .customers
                .values()
                .find_map(|c| {
                    (c.external_id.as_deref() == Some("acme-001"))
                        .then(|| c.properties["embedctl_folder.files-sync"].clone())
                });
            let folder = folder.and_then(|id| id.parse::<u64>().ok());
            for name in ["Dropbox - Former User", "Dropbox - Former User - Get file"] {
                account
                    .call(
                        Method::POST,
                        &format!("{}/connections", customer_path("acme-001")),
                        json!({
                            "name": name,
                            "provider": "dropbox",
                            "external_id": "user-z-external-id",
                            "folder_id": folder,
                        }),
                    )
                    .await;
            }
        },
    );
    let document = check_scenario(
        "unmanaged_customer",
        &workspace,
        &[],
        &[],
        Expect { plan: 0, drift: 0 },
    );
    let unmanaged: Vec<String> = document["unmanaged"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|u| format!("{} {} {}", u["customer"], u["reason"], u["key"]))
        .collect();
    assert_eq!(
        unmanaged,
        [
            r#""acme-001" "runtime_connection.unlisted" "files-sync.dropbox/user-z-external-id""#,
            r#""acme-001" "runtime_connection.unlisted" "files-sync.dropbox/user-z-external-id/Get file""#,
            r#""legacy-pilot" "customer.unmanaged" "Legacy Pilot""#,
        ]
    );
    assert_eq!(document["changes"], json!([]));
}

/// Edits of the file against a set-up account: a customer and an end user renamed (updated in
/// place, never created again), and an end user removed from a customer that prunes (both of
/// their connections deleted, each under its own key).
#[test]
fn renamed_and_removed_end_users() {
    let workspace = Workspace::copy_of("quickstart");
    workspace.edit(
        "embedctl.yaml",
        "    name: Acme Corp\n",
        "    name: Acme Corporation\n",
    );
    workspace.edit(
        "embedctl.yaml",
        "        name: User A\n",
        "        name: Alice Example\n",
    );
    workspace.edit(
        "embedctl.yaml",
        "      - id: g-1002\n        name: Frank Grimes\n",
        "",
    );
    workspace.edit(
        "embedctl.yaml",
        "    notification_email: ops@globex.example\n",
        "    notification_email: ops@globex.example\n    prune_runtime_users: true\n",
    );
    prepare(
        &workspace,
        quickstart_accounts().synced.clone(),
        async |_| {},
    );
    let document = check_scenario(
        "renamed_and_removed_end_users",
        &workspace,
        &[],
        &[],
        Expect { plan: 2, drift: 2 },
    );
    assert_eq!(
        listed(&document, "changes"),
        [
            "acme-001 customer.changed acme-001",
            "acme-001 runtime_connection.renamed files-sync.dropbox/user-a-external-id",
            "acme-001 runtime_connection.renamed files-sync.dropbox/user-a-external-id/Get file",
            "globex-002 runtime_connection.unlisted files-sync.dropbox/g-1002",
            "globex-002 runtime_connection.unlisted files-sync.dropbox/g-1002/Get file",
        ]
    );
}

/// `examples/multi-manifest`: "Lookup contact" is a recipe function whose end users bring their
/// own Salesforce connection, so every end user gets a dedicated connection for it, created
/// with `parent_id: null`, next to their plain one.
#[test]
fn parent_connection_trap_done_right() {
    let workspace = Workspace::copy_of("multi-manifest");
    let document = check_scenario(
        "parent_connection_trap",
        &workspace,
        &["--customer", "initech-003"],
        &[],
        Expect { plan: 2, drift: 2 },
    );
    let creates: Vec<String> = document["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["kind"] == "runtime_connection")
        .map(|c| {
            format!(
                "{} parent_id={}",
                c["after"]["name"], c["after"]["parent_id"]
            )
        })
        .collect();
    assert_eq!(
        creates,
        [
            r#""CRM User - Peter Gibbons" parent_id=null"#,
            r#""CRM User - Peter Gibbons - Lookup contact" parent_id=null"#,
            r#""CRM User - Milton Waddams" parent_id=null"#,
            r#""CRM User - Milton Waddams - Lookup contact" parent_id=null"#,
        ]
    );

    // The whole file: one dedicated connection per end user per recipe function, none with a
    // parent, in both manifests.
    let whole = workspace.plan("json", &[], &[]);
    assert_eq!(whole.code, 2, "{}", whole.transcript());
    let whole: Value = serde_json::from_str(&whole.stdout).expect("JSON");
    let dedicated: Vec<&Value> = whole["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["kind"] == "runtime_connection")
        .filter(|c| {
            c["key"]
                .as_str()
                .is_some_and(|k| k.ends_with("/Lookup contact") || k.ends_with("/Get file"))
        })
        .collect();
    // files-sync: acme 2 + globex 1 + umbrella 3 + wayne 1 users; crm-sync: acme 2 + initech 2
    // + umbrella 3 users (stark has none).
    assert_eq!(dedicated.len(), 7 + 7, "{dedicated:#?}");
    for change in dedicated {
        assert_eq!(change["after"]["parent_id"], Value::Null, "{change}");
    }
}

/// A dedicated connection that was given a parent (the trap, done wrong by hand in Workato) is
/// replaced by one without.
#[test]
fn parent_connection_trap_wrong_parent_is_replaced() {
    let workspace = Workspace::copy_of("multi-manifest");
    let env: Env<'_> = &[("ACME_PARTNER_API_KEY", "demo-acme-partner-key")];
    let yaml = workspace.yaml();
    prepare(&workspace, AccountState::default(), async |account| {
        let plan = account.converge(&yaml, env).await;
        assert!(plan.blocked.is_empty(), "{:#?}", plan.blocked);
        account.authorize_end_users(&yaml, env, |_| false).await;
        let dedicated = account
            .connection_id("initech-003", "CRM User - Peter Gibbons - Lookup contact")
            .await;
        let crm = account.connection_id("initech-003", "CRM").await;
        let path = format!("{}/connections/{dedicated}", customer_path("initech-003"));
        account
            .call(Method::PUT, &path, json!({ "parent_id": crm }))
            .await;
    });
    // The rest of the account is in sync.
    let whole = workspace.plan("json", &[], env);
    let whole: Value = serde_json::from_str(&whole.stdout).expect("JSON");
    assert_eq!(
        listed(&whole, "changes"),
        [
            "initech-003 runtime_connection.wrong_parent crm-sync.crm_user/peter.gibbons@initech.example/Lookup contact"
        ]
    );
    let document = check_scenario(
        "parent_connection_trap_wrong_parent",
        &workspace,
        &["--customer", "initech-003"],
        env,
        Expect { plan: 2, drift: 2 },
    );
    assert_eq!(document["changes"][0]["action"], "replace");
    assert_eq!(document["changes"][0]["after"]["parent_id"], Value::Null);
    assert!(document["changes"][0]["before"]["parent_id"].is_u64());
}

#[test]
fn three_hundred_customers_degrade_the_markdown_under_the_cap() {
    let workspace = Workspace::copy_of("quickstart");
    let text = std::fs::read_to_string(workspace.yaml()).expect("readable");
    let (head, _) = text
        .split_once("\ncustomers:\n")
        .expect("the quick start lists customers");
    let mut file = format!("{head}\ncustomers:\n");
    for number in 1..=300 {
        file.push_str(&format!(
            "  - external_id: customer-{number:03}\n    name: Customer {number:03}\n    notification_email: it@customer-{number:03}.example\n    manifests: [files-sync]\n    runtime_users:\n      - id: c{number:03}-u1\n        name: First user of {number:03}\n      - id: c{number:03}-u2\n"
        ));
    }
    workspace.write("embedctl.yaml", &file);

    let markdown = workspace.plan("markdown", &[], &[]);
    assert_eq!(markdown.code, 2, "{}", markdown.stderr);
    let length = markdown.stdout.chars().count();
    assert!(length <= 65_000, "{length} characters");
    assert!(
        markdown.stdout.contains("left out"),
        "the comment says what it left out"
    );
    assert!(
        markdown
            .stdout
            .contains(" of 3,000 changes (blocked changes and deletions first)"),
        "the degraded comment still shows the top changes"
    );
    let head: Vec<&str> = markdown.stdout.lines().take(40).collect();
    workspace.snapshots(|| {
        insta::assert_snapshot!(
            "three_hundred_customers_markdown_head",
            format!(
                "exit: {}\ncharacters: {}\n----- stdout (first 40 lines) -----\n{}\n----- stderr -----\n{}",
                markdown.code,
                if length <= 65_000 { "≤ 65,000" } else { "over the cap" },
                head.join("\n"),
                markdown.stderr
            )
        );
    });
}

/// A copy of the quick start whose "List files" changed, with `restart_recipes: true` so that
/// the import is planned rather than blocked.
fn restartable_with_list_files_changed() -> Workspace {
    let workspace = Workspace::copy_of("quickstart");
    change_list_files(&workspace);
    workspace.edit(
        "embedctl.yaml",
        "restart_recipes: false",
        "restart_recipes: true",
    );
    workspace
}

/// The assets of a changed package of `customer`, as the JSON plan lists them:
/// `changed recipe List files`.
fn assets_of(document: &Value, customer: &str) -> Vec<String> {
    let change = document["changes"]
        .as_array()
        .into_iter()
        .chain(document["blocked"].as_array())
        .flatten()
        .find(|change| change["customer"] == customer && change["kind"] == "package")
        .unwrap_or_else(|| panic!("a package change of {customer} in {document:#}"));
    let assets = &change["assets"];
    let mut listed = vec![format!("recorded {}", assets["recorded"])];
    for what in ["added", "changed", "removed"] {
        for asset in assets[what].as_array().into_iter().flatten() {
            listed.push(format!(
                "{what} {} {}",
                asset["type"].as_str().unwrap_or_default(),
                asset["name"].as_str().unwrap_or_default()
            ));
        }
    }
    listed
}

/// The record of the quick start's package as an import of another version of it would have
/// left it: without the Dropbox connection, with a lookup table since removed, and "Get file"
/// as it was then.
async fn record_an_older_package(account: &Account, workspace: &Workspace, customer: &str) {
    let spec = load_spec(&workspace.yaml());
    let package = &spec.packages["files-sync"];
    let mut assets: Vec<_> = package
        .assets
        .iter()
        .filter(|asset| asset.key != "c:Dropbox")
        .cloned()
        .collect();
    for asset in &mut assets {
        if asset.key == "r:Get file" {
            asset.digest = "AAAAAAAA".to_owned();
        }
    }
    assets.push(embedctl::package::PackageAsset {
        key: "p:Files Sync/countries.lookup_table.json".to_owned(),
        digest: "BBBBBBBB".to_owned(),
    });
    assets.sort_by(|left, right| left.key.cmp(&right.key));
    for (name, value) in
        inventory::record_properties("files-sync", package.digest.as_str(), &assets)
    {
        account.record(customer, &name, &value).await;
    }
}

#[test]
fn package_changed_names_the_assets_added_changed_and_removed() {
    let workspace = restartable_with_list_files_changed();
    prepare(
        &workspace,
        quickstart_accounts().synced.clone(),
        async |account| {
            // The record was made for the package before "List files" changed.
            let before = Workspace::copy_of("quickstart");
            record_an_older_package(account, &before, "acme-001").await;
        },
    );
    let document = check_scenario(
        "package_changed_assets",
        &workspace,
        &[],
        &[],
        Expect { plan: 2, drift: 2 },
    );
    assert_eq!(
        assets_of(&document, "acme-001"),
        [
            "recorded true",
            "added connection Dropbox",
            "changed recipe Get file",
            "changed recipe List files",
            "removed lookup_table Files Sync/countries.lookup_table.json",
        ]
    );
    assert_eq!(
        assets_of(&document, "globex-002"),
        ["recorded true", "changed recipe List files"]
    );
}

#[test]
fn a_package_imported_without_a_record_of_its_assets_shows_only_its_digest() {
    // The bundled account was set up by hand: `acme-001` has the package's digest recorded and
    // no record of its assets.
    let workspace = Workspace::copy_of("quickstart");
    change_list_files(&workspace);
    std::fs::copy(workspace.file("workato-state.json"), workspace.state())
        .expect("a copy of the bundled account");
    let text = workspace.plan("text", &[], &[]);
    assert_eq!(text.code, 2, "{}", text.transcript());
    assert!(
        text.stdout.contains(
            "        digest: \"sha256:2696d454d397\" → \"sha256:1d300403c5d2\"\n        assets: no record of them from the last import (an older embedctl, or by hand); only the digest tells\n"
        ),
        "{}",
        text.stdout
    );
    let json = workspace.plan("json", &[], &[]);
    let document: Value = serde_json::from_str(&json.stdout).expect("a JSON plan");
    assert_eq!(assets_of(&document, "acme-001"), ["recorded false"]);
}

#[test]
fn a_damaged_record_of_assets_is_no_record_never_nothing_changed() {
    let workspace = restartable_with_list_files_changed();
    // The record the synced account holds: of the package before "List files" changed.
    let before = load_spec(&Workspace::copy_of("quickstart").yaml());
    let package = &before.packages["files-sync"];
    let record =
        inventory::record_properties("files-sync", package.digest.as_str(), &package.assets);
    assert_eq!(record.len(), 1, "the quick start's record is one part");
    let (name, value) = record[0].clone();
    prepare(
        &workspace,
        quickstart_accounts().synced.clone(),
        async |account| {
            // acme-001: garbage; globex-002: a record that says it has a second part it lacks.
            account
                .record("acme-001", &name, "a1.%%%|\u{0}\u{1b}[31m|€€€€€€€€€€")
                .await;
            account
                .record("globex-002", &name, &value.replacen(".0.1|", ".0.2|", 1))
                .await;
        },
    );
    let json = workspace.plan("json", &[], &[]);
    assert_eq!(json.code, 2, "{}", json.transcript());
    let document: Value = serde_json::from_str(&json.stdout).expect("a JSON plan");
    assert_eq!(assets_of(&document, "acme-001"), ["recorded false"]);
    assert_eq!(assets_of(&document, "globex-002"), ["recorded false"]);
}
