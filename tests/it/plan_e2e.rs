//! `plan` and `drift` end to end: the binary against a simulator served over HTTP (the
//! production code path: `WORKATO_BASE_URL` + `WORKATO_API_TOKEN`) and against `--sim`; the
//! `--customer` filter, saved plans, configuration errors, and canary secrets that must never
//! appear in any output.

use std::path::Path;

use embedctl::credentials::SIMULATOR_FINGERPRINT_KEY;
use embedctl::sim::{AccountState, RunningSimulator, SimOptions, Simulator};
use serde_json::Value;

use crate::context::Outcome;
use crate::plan_scenarios::{
    Account, Env, Workspace, block_on, connection_input, embedctl, load_spec, quickstart_accounts,
};
use crate::sim_context::TOKEN;

/// The quick start with the bundled half-set-up account as `state.json`.
fn half_onboarded() -> Workspace {
    let workspace = Workspace::copy_of("quickstart");
    std::fs::copy(workspace.file("workato-state.json"), workspace.state())
        .expect("a copyable state");
    workspace
}

/// The quick start with PartnerApp's key read from the environment variable `name`.
fn key_from_env(workspace: &Workspace, name: &str) {
    workspace.edit(
        "embedctl.yaml",
        "api_key: { file: demo-secrets/partner_api_key }",
        &format!("api_key: {{ env: {name} }}"),
    );
}

/// Serves `state` on a loopback port, accepting only `token`.
async fn serve(state: AccountState, token: &str) -> RunningSimulator {
    let options = SimOptions {
        api_token: Some(token.to_owned()),
        ..SimOptions::default()
    };
    RunningSimulator::start(Simulator::new(state, options))
        .await
        .expect("the simulator binds a loopback port")
}

/// Runs the binary from async code while the simulator keeps serving.
pub async fn embedctl_async(dir: &Path, args: &[&str], env: Env<'_>) -> Outcome {
    let dir = dir.to_path_buf();
    let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        embedctl(&dir, &args, &env)
    })
    .await
    .expect("the run finishes")
}

// ---------------------------------------------------------------------------------------------
// Over HTTP, as in production

#[test]
fn plan_over_http_matches_sim_and_only_reads() {
    let workspace = half_onboarded();
    let simulated = workspace.plan("json", &[], &[]);
    assert_eq!(simulated.code, 2, "{}", simulated.transcript());

    block_on(async {
        let account = Account::load(&workspace.state()).await;
        let before = account.simulator().state_json();
        // Against Workato there is no demo key: give the one `--sim` uses, so that the
        // fingerprints shown are the same.
        let env: Env<'_> = &[
            ("WORKATO_BASE_URL", account.base_url()),
            ("WORKATO_API_TOKEN", TOKEN),
            ("EMBEDCTL_FINGERPRINT_KEY", SIMULATOR_FINGERPRINT_KEY),
        ];
        let args = [
            "plan",
            "-f",
            "embedctl.yaml",
            "--format",
            "json",
            "--detailed-exitcode",
        ];
        let served = embedctl_async(workspace.path(), &args, env).await;
        assert_eq!(served.code, 2, "{}", served.transcript());
        assert_eq!(
            served.stdout, simulated.stdout,
            "a plan over HTTP is the plan of `--sim` on the same state"
        );
        let drift = embedctl_async(workspace.path(), &["drift", "-f", "embedctl.yaml"], env).await;
        assert_eq!(drift.code, 2, "{}", drift.transcript());

        assert_eq!(
            account.simulator().state_json(),
            before,
            "plan and drift change nothing"
        );
        let log = account.log().await;
        assert!(!log.is_empty());
        for entry in &log {
            assert_eq!(entry["method"], "GET", "{entry}");
            assert_eq!(entry["status"], 200, "{entry}");
        }
        account.stop().await;
    });
}

#[test]
fn customer_filter_limits_the_plan_and_the_reads() {
    let workspace = half_onboarded();
    let text = workspace.plan("text", &["--customer", "acme-001"], &[]);
    workspace.snapshots(|| {
        insta::assert_snapshot!(text.transcript());
    });
    let json = workspace.plan("json", &["--customer", "acme-001"], &[]);
    assert_eq!(json.code, 2, "{}", json.transcript());
    let document: Value = serde_json::from_str(&json.stdout).expect("JSON");
    for list in ["changes", "blocked", "pending_users", "unmanaged"] {
        for entry in document[list].as_array().into_iter().flatten() {
            assert_eq!(entry["customer"], "acme-001", "{list}: {entry}");
        }
    }
    assert_eq!(
        document["summary"]["pending_users"], 3,
        "three end users, six connections"
    );
    assert!(
        !json.stdout.contains("globex") && !json.stdout.contains("legacy"),
        "{}",
        json.stdout
    );

    // Over HTTP the simulator's log shows what was read: acme-001 and nothing else.
    block_on(async {
        let account = Account::load(&workspace.state()).await;
        let env: Env<'_> = &[
            ("WORKATO_BASE_URL", account.base_url()),
            ("WORKATO_API_TOKEN", TOKEN),
        ];
        let args = ["plan", "-f", "embedctl.yaml", "--customer", "acme-001"];
        let outcome = embedctl_async(workspace.path(), &args, env).await;
        assert_eq!(outcome.code, 0, "{}", outcome.transcript());
        let paths: Vec<String> = account
            .log()
            .await
            .iter()
            .map(|entry| entry["path"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert!(!paths.is_empty());
        for path in &paths {
            assert!(
                path.starts_with("/api/managed_users/Eacme-001")
                    || path.starts_with("/api/managed_users/1001"),
                "only acme-001 is read: {paths:#?}"
            );
        }
        account.stop().await;
    });
}

#[test]
fn an_unknown_customer_is_a_clear_error() {
    let workspace = half_onboarded();
    let outcome = workspace.plan("text", &["--customer", "nope"], &[]);
    assert_eq!(outcome.code, 1);
    assert!(outcome.stderr.contains("nope"), "{}", outcome.stderr);
    workspace.snapshots(|| {
        insta::assert_snapshot!(outcome.transcript());
    });
}

// ---------------------------------------------------------------------------------------------
// Saved plans

#[test]
fn plan_out_needs_every_secret() {
    let workspace = half_onboarded();
    key_from_env(&workspace, "CANARY_VAR");

    // A pull-request plan needs no secret: the credentials are known at apply.
    let plain = workspace.plan("text", &[], &[]);
    assert_eq!(plain.code, 2, "{}", plain.transcript());
    assert!(
        plain.stdout.contains("(known at apply)"),
        "{}",
        plain.stdout
    );
    // ... and it says now what `plan --out` and `apply` will ask for.
    assert!(
        plain.stdout.contains(
            "credentials of `files-sync.partner_app` are not known yet (`CANARY_VAR` is not set); `plan --out` and `apply` need them"
        ),
        "{}",
        plain.stdout
    );

    let saved = workspace.run(
        &[
            "plan",
            "-f",
            "embedctl.yaml",
            "--sim",
            "state.json",
            "--out",
            "plan.json",
        ],
        &[],
    );
    assert_eq!(saved.code, 1, "{}", saved.transcript());
    assert!(
        saved.stderr.contains("`CANARY_VAR` is not set"),
        "{}",
        saved.stderr
    );
    assert!(!workspace.file("plan.json").exists());
    workspace.snapshots(|| {
        insta::assert_snapshot!(saved.transcript());
    });
}

#[test]
fn a_saved_plan_is_applied_with_the_customers_it_was_made_for() {
    let workspace = half_onboarded();
    let planned = workspace.run(
        &[
            "plan",
            "-f",
            "embedctl.yaml",
            "--sim",
            "state.json",
            "--customer",
            "acme-001",
            "--out",
            "plan.json",
        ],
        &[],
    );
    assert_eq!(planned.code, 0, "{}", planned.transcript());
    let everyone = workspace.run(
        &[
            "apply",
            "plan.json",
            "-f",
            "embedctl.yaml",
            "--sim",
            "state.json",
            "--auto-approve",
        ],
        &[],
    );
    assert_eq!(everyone.code, 1, "{}", everyone.transcript());
    assert!(
        everyone.stderr.contains(
            "the plan was made for `--customer acme-001`, this run selects every customer: run apply with the same `--customer` flags"
        ),
        "{}",
        everyone.transcript()
    );
    let same = workspace.run(
        &[
            "apply",
            "plan.json",
            "-f",
            "embedctl.yaml",
            "--sim",
            "state.json",
            "--customer",
            "acme-001",
            "--auto-approve",
        ],
        &[],
    );
    assert_eq!(same.code, 0, "{}", same.transcript());
}

#[test]
fn plan_out_with_secrets_saves_fingerprints_not_secrets() {
    let workspace = half_onboarded();
    key_from_env(&workspace, "CANARY_VAR");
    let secret = "sk_live_saved_plan_secret_42";
    let env: Env<'_> = &[("CANARY_VAR", secret)];
    let outcome = workspace.run(
        &[
            "plan",
            "-f",
            "embedctl.yaml",
            "--sim",
            "state.json",
            "--customer",
            "acme-001",
            "--out",
            "plan.json",
        ],
        env,
    );
    assert_eq!(outcome.code, 0, "{}", outcome.transcript());
    let text = std::fs::read_to_string(workspace.file("plan.json")).expect("the plan is saved");
    assert!(!text.contains(secret), "the saved plan holds the secret");
    assert!(!outcome.stdout.contains(secret) && !outcome.stderr.contains(secret));

    let mut document: Value = serde_json::from_str(&text).expect("the saved plan is JSON");
    let state = workspace
        .state()
        .canonicalize()
        .expect("the state file exists");
    assert_eq!(
        document["base_url"],
        format!("sim:{}", state.display()),
        "a `--sim` plan is bound to its state file"
    );
    let spec = load_spec(&workspace.yaml());
    let expected = connection_input(&spec, "acme-001", "files-sync", "partner_app", env)
        .fingerprint(SIMULATOR_FINGERPRINT_KEY);
    assert_eq!(
        document["credential_fingerprints"]["acme-001/files-sync.partner_app"],
        expected
    );
    // Redact what moves from run to run, then show the rest.
    document["created_at"] = "[created_at]".into();
    document["created_at_unix"] = 0.into();
    document["base_url"] = "sim:[TMP]/state.json".into();
    let pretty = serde_json::to_string_pretty(&document).expect("JSON");
    workspace.snapshots(|| {
        insta::assert_snapshot!(format!("{}\n{pretty}", outcome.transcript()));
    });
}

// ---------------------------------------------------------------------------------------------
// Configuration errors

#[test]
fn a_missing_token_without_sim_is_an_error_naming_the_variable() {
    let workspace = half_onboarded();
    for command in ["plan", "drift"] {
        let outcome = workspace.run(&[command, "-f", "embedctl.yaml"], &[]);
        assert_eq!(outcome.code, 1, "{}", outcome.transcript());
        assert!(
            outcome.stderr.contains("`WORKATO_API_TOKEN` is not set"),
            "{}",
            outcome.stderr
        );
        assert_eq!(outcome.stdout, "");
    }
    let outcome = workspace.run(&["plan", "-f", "embedctl.yaml"], &[]);
    insta::assert_snapshot!(outcome.transcript());
}

#[test]
fn a_plain_http_base_url_off_loopback_is_refused() {
    let workspace = half_onboarded();
    let env: Env<'_> = &[
        ("WORKATO_API_TOKEN", "tok_never_sent"),
        ("WORKATO_BASE_URL", "http://workato.example.com/api"),
    ];
    let outcome = workspace.run(&["plan", "-f", "embedctl.yaml"], env);
    assert_eq!(outcome.code, 1, "{}", outcome.transcript());
    assert!(!outcome.stderr.contains("tok_never_sent"));
    insta::assert_snapshot!(outcome.transcript());
}

// ---------------------------------------------------------------------------------------------
// Canary secrets

const CANARY_SECRET: &str = "sk_live_CANARY_123";
const CANARY_TOKEN: &str = "tok_CANARY_456";
const CANARY_KEY: &str = "fpkey_CANARY_789";

/// Every output of a run, labelled, for the canary search.
fn outputs(label: &str, outcome: &Outcome) -> Vec<(String, String)> {
    vec![
        (format!("{label}: stdout"), outcome.stdout.clone()),
        (format!("{label}: stderr"), outcome.stderr.clone()),
    ]
}

/// Plan and drift in every format, with `--out`, over `--sim` and over HTTP, against a
/// half-set-up account (credentials never sent) and a set-up one (credentials sent with
/// another key: changed), with canary values in every secret the run reads. None may appear.
#[test]
fn canary_secrets_appear_in_no_output() {
    let workspace = Workspace::copy_of("quickstart");
    key_from_env(&workspace, "EMBEDCTL_TEST_CANARY");
    let env: Env<'_> = &[
        ("EMBEDCTL_TEST_CANARY", CANARY_SECRET),
        ("WORKATO_API_TOKEN", CANARY_TOKEN),
        ("EMBEDCTL_FINGERPRINT_KEY", CANARY_KEY),
    ];
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut saved_plans: Vec<(String, String)> = Vec::new();
    let mut run = |label: String, args: &[&str], env: Env<'_>| -> Outcome {
        let outcome = workspace.run(args, env);
        seen.extend(outputs(&label, &outcome));
        outcome
    };

    let accounts = quickstart_accounts();
    let bundled = workspace.file("workato-state.json");
    let synced = workspace.file("synced-state.json");
    block_on(async {
        let account = Account::new(accounts.synced.clone()).await;
        account.save(&synced);
        account.stop().await;
    });

    for (state_label, state) in [("half-onboarded", &bundled), ("synced", &synced)] {
        std::fs::copy(state, workspace.state()).expect("a copyable state");
        for format in ["text", "json", "markdown"] {
            let label = format!("{state_label} plan --format {format} --out");
            let out = format!("plan-{state_label}-{format}.json");
            let args = [
                "plan",
                "-f",
                "embedctl.yaml",
                "--sim",
                "state.json",
                "--detailed-exitcode",
                "--format",
                format,
                "--out",
                &out,
            ];
            let outcome = run(label, &args, env);
            assert_eq!(outcome.code, 2, "{}", outcome.transcript());
            let saved = std::fs::read_to_string(workspace.file(&out)).expect("a saved plan");
            saved_plans.push((format!("{state_label} {out}"), saved));

            let label = format!("{state_label} drift --format {format}");
            let args = [
                "drift",
                "-f",
                "embedctl.yaml",
                "--sim",
                "state.json",
                "--format",
                format,
            ];
            let outcome = run(label, &args, env);
            assert_eq!(outcome.code, 2, "{}", outcome.transcript());
        }
    }
    // The synced account was sent the demo key: with the canary key, the credentials changed.
    let changed = run(
        "synced plan --format json".to_owned(),
        &[
            "plan",
            "-f",
            "embedctl.yaml",
            "--sim",
            "state.json",
            "--format",
            "json",
        ],
        env,
    );
    assert!(
        changed.stdout.contains("connection.credentials_changed"),
        "{}",
        changed.stdout
    );
    // Errors: an unknown customer, and a run that may not save because the key is unset.
    let outcome = run(
        "--customer nope".to_owned(),
        &[
            "plan",
            "-f",
            "embedctl.yaml",
            "--sim",
            "state.json",
            "--customer",
            "nope",
        ],
        env,
    );
    assert_eq!(outcome.code, 1);
    let without_key: Vec<(&str, &str)> = env
        .iter()
        .copied()
        .filter(|(name, _)| *name != "EMBEDCTL_FINGERPRINT_KEY")
        .collect();
    let outcome = run(
        "without a fingerprint key".to_owned(),
        &["plan", "-f", "embedctl.yaml", "--sim", "state.json"],
        &without_key,
    );
    assert_eq!(outcome.code, 0, "{}", outcome.transcript());

    // Over HTTP, with the canary as the API token: accepted, and refused by a simulator that
    // wants another token.
    let served_outputs = block_on(async {
        let mut seen = Vec::new();
        let running = serve(accounts.converged.clone(), CANARY_TOKEN).await;
        let env_http: Vec<(&str, &str)> = env
            .iter()
            .copied()
            .chain([("WORKATO_BASE_URL", running.base_url())])
            .collect();
        for (label, args) in [
            (
                "http plan",
                vec!["plan", "-f", "embedctl.yaml", "--out", "plan-http.json"],
            ),
            (
                "http plan markdown",
                vec!["plan", "-f", "embedctl.yaml", "--format", "markdown"],
            ),
            ("http drift", vec!["drift", "-f", "embedctl.yaml"]),
            (
                "http drift json",
                vec!["drift", "-f", "embedctl.yaml", "--format", "json"],
            ),
        ] {
            let outcome = embedctl_async(workspace.path(), &args, &env_http).await;
            assert!(
                outcome.code == 0 || outcome.code == 2,
                "{label}: {}",
                outcome.transcript()
            );
            seen.extend(outputs(label, &outcome));
        }
        running.stop().await.expect("a clean shutdown");

        let other = serve(AccountState::default(), "another-token").await;
        let env_refused: Vec<(&str, &str)> = env
            .iter()
            .copied()
            .chain([("WORKATO_BASE_URL", other.base_url())])
            .collect();
        let outcome = embedctl_async(
            workspace.path(),
            &["plan", "-f", "embedctl.yaml"],
            &env_refused,
        )
        .await;
        assert_eq!(outcome.code, 1, "{}", outcome.transcript());
        seen.extend(outputs("http plan with a refused token", &outcome));
        other.stop().await.expect("a clean shutdown");
        seen
    });
    seen.extend(served_outputs);
    seen.extend(saved_plans);
    let saved = std::fs::read_to_string(workspace.file("plan-http.json")).expect("a saved plan");
    seen.push(("plan-http.json".to_owned(), saved));

    assert!(seen.len() > 30, "{} outputs checked", seen.len());
    for (label, text) in &seen {
        assert!(
            !text.contains("CANARY"),
            "a canary leaked into {label}:\n{text}"
        );
    }
}

/// A pull-request plan runs against Workato without the production secrets and without
/// `EMBEDCTL_FINGERPRINT_KEY`: against a set-up account it must plan nothing, and say that the
/// credentials were not compared.
#[test]
fn a_plan_without_secrets_against_a_set_up_account_plans_nothing() {
    let workspace = Workspace::copy_of("quickstart");
    key_from_env(&workspace, "PARTNER_API_KEY");
    let accounts = quickstart_accounts();
    block_on(async {
        let account = Account::new(accounts.synced.clone()).await;
        let env: Env<'_> = &[
            ("WORKATO_BASE_URL", account.base_url()),
            ("WORKATO_API_TOKEN", TOKEN),
        ];
        let args = ["plan", "-f", "embedctl.yaml", "--detailed-exitcode"];
        let outcome = embedctl_async(workspace.path(), &args, env).await;
        account.stop().await;
        assert_eq!(outcome.code, 0, "{}", outcome.transcript());
        insta::assert_snapshot!(outcome.transcript());
    });
}

/// A default connection the file gives no credentials, needed by a required recipe: validate
/// warns, the plan blocks its authorization (`connection.no_credentials`), the recipe's start
/// (`recipe.cannot_start`) and the customer's phase 4 (`gate.closed`), and nothing of that makes
/// `--detailed-exitcode` 2 on its own.
#[test]
fn a_connection_without_credentials_blocks_its_recipe_and_phase_four() {
    let workspace = half_onboarded();
    workspace.edit(
        "embedctl.yaml",
        "        settings:\n          region: eu\n        credentials:\n          api_key: { file: demo-secrets/partner_api_key }\n",
        "",
    );
    let plan = workspace.plan("json", &["--customer", "acme-001"], &[]);
    assert_eq!(
        plan.code,
        2,
        "Get file can still start\n{}",
        plan.transcript()
    );
    assert!(
        plan.stderr
            .contains("can never start: connection \"PartnerApp\" has no"),
        "validate's warning is shown\n{}",
        plan.stderr
    );
    let document: Value = serde_json::from_str(&plan.stdout).expect("a JSON plan");
    let reasons: Vec<String> = document["blocked"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|entry| {
            format!(
                "{} {}",
                entry["reason"].as_str().unwrap_or_default(),
                entry["key"].as_str().unwrap_or_default()
            )
        })
        .collect();
    assert!(
        reasons.contains(&"connection.no_credentials files-sync.partner_app".to_owned()),
        "{reasons:#?}"
    );
    assert!(
        reasons.contains(&"recipe.cannot_start files-sync/List files".to_owned()),
        "{reasons:#?}"
    );
    assert_eq!(
        reasons
            .iter()
            .filter(|r| r.starts_with("gate.closed "))
            .count(),
        6,
        "three end users, two connections each: {reasons:#?}"
    );
    let blocked_by = document["blocked"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|entry| entry["reason"] == "recipe.cannot_start")
        .and_then(|entry| entry["blocked_by"].as_str())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        blocked_by,
        "recipe \"List files\" cannot start: connection \"PartnerApp\" has no credentials"
    );
    let drift = workspace.drift("text", &["--customer", "acme-001"], &[]);
    assert_eq!(
        drift.code,
        2,
        "blocked is actionable drift\n{}",
        drift.transcript()
    );
}

#[test]
fn timings_are_printed_on_stderr_only_when_asked_for() {
    let workspace = half_onboarded();
    let quiet = workspace.plan("json", &[], &[]);
    assert!(!quiet.stderr.contains("timings:"), "{}", quiet.transcript());
    let timed = workspace.plan("json", &[], &[("EMBEDCTL_TIMINGS", "1")]);
    assert_eq!(timed.stdout, quiet.stdout, "the plan itself is the same");
    let line = timed
        .stderr
        .lines()
        .find(|line| line.starts_with("timings: read Workato in "))
        .unwrap_or_else(|| panic!("no timings line: {}", timed.transcript()));
    assert!(
        line.contains(" calls), diff in ") && line.ends_with(" s"),
        "{line}"
    );
    let off = workspace.plan("json", &[], &[("EMBEDCTL_TIMINGS", "0")]);
    assert!(!off.stderr.contains("timings:"), "{}", off.transcript());
}
