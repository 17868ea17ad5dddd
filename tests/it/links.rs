//! `embedctl links` end to end: the tokens verify with the partner's public key and carry the
//! claims Workato reads, bad input stops the run before any request, `--create-missing` creates
//! exactly the missing connections once (and nothing when the phase-4 gate is closed), and no
//! token, link or key line reaches anything but `links`'s own stdout.

use std::collections::BTreeSet;
use std::path::PathBuf;

use embedctl::sim::AccountState;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::Method;
use serde_json::{Value, json};

use crate::context::{Outcome, repo_root};
use crate::plan_e2e::embedctl_async;
use crate::plan_scenarios::{
    Account, Env, Workspace, add_user_d, block_on, customer_path, prepare, quickstart_accounts,
};
use crate::sim_context::TOKEN;

/// The Embedded vendor id of the quick start's file.
const VENDOR: &str = "9f3c2a";

/// A file of the test-only key pair (`tests/fixtures/jwt/`).
fn key_file(name: &str) -> PathBuf {
    repo_root().join("tests/fixtures/jwt").join(name)
}

/// The test-only private key as PKCS#8 PEM (`BEGIN PRIVATE KEY`): its path.
fn pkcs8_path() -> String {
    key_file("test-only-private-pkcs8.pem")
        .to_str()
        .expect("a UTF-8 path")
        .to_owned()
}

/// The same key as PKCS#1 PEM text (`BEGIN RSA PRIVATE KEY`).
fn pkcs1_text() -> String {
    std::fs::read_to_string(key_file("test-only-private-pkcs1.pem")).expect("the test key")
}

/// The quick start (whose file sets `workato.vendor_id`), over `state` (saved as `state.json`).
fn quickstart_over(state: AccountState) -> Workspace {
    let workspace = Workspace::copy_of("quickstart");
    prepare(&workspace, state, async |_| {});
    workspace
}

/// `embedctl links -f embedctl.yaml --sim state.json --customer acme-001` + `extra`.
fn links(workspace: &Workspace, extra: &[&str], env: Env<'_>) -> Outcome {
    let mut args = vec![
        "links",
        "-f",
        "embedctl.yaml",
        "--sim",
        "state.json",
        "--customer",
        "acme-001",
    ];
    args.extend_from_slice(extra);
    workspace.run(&args, env)
}

/// `embedctl links -f embedctl.yaml --customer acme-001` + `extra` over HTTP against `account`
/// (paced at its time scale), with the test-only key.
async fn links_over_http(workspace: &Workspace, account: &Account, extra: &[&str]) -> Outcome {
    let key = pkcs8_path();
    let env: Env<'_> = &[
        ("WORKATO_BASE_URL", account.base_url()),
        ("WORKATO_API_TOKEN", TOKEN),
        ("EMBEDCTL_TIME_SCALE", "1000"),
        ("WORKATO_JWT_PRIVATE_KEY", &key),
    ];
    let mut args = vec!["links", "-f", "embedctl.yaml", "--customer", "acme-001"];
    args.extend_from_slice(extra);
    embedctl_async(workspace.path(), &args, env).await
}

/// The tokens of every link in `text`.
fn tokens(text: &str) -> Vec<String> {
    text.split("workato_dl_token=")
        .skip(1)
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
                .collect()
        })
        .collect()
}

/// Verifies `token` with the test public key; its header and claims.
fn verify(token: &str) -> (jsonwebtoken::Header, Value) {
    let public = std::fs::read(key_file("test-only-public.pem")).expect("the test public key");
    let key = DecodingKey::from_rsa_pem(&public).expect("a PEM public key");
    let mut validation = Validation::new(Algorithm::RS256);
    // Workato's documentation names no `exp`, and embedctl writes none.
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<Value>(token, &key, &validation)
        .unwrap_or_else(|error| panic!("the token does not verify ({error}): {token}"));
    (data.header, data.claims)
}

/// The id of customer `external_id` in `state`.
fn customer_id(state: &AccountState, external_id: &str) -> u64 {
    state
        .customers
        .values()
        .find(|c| c.external_id.as_deref() == Some(external_id))
        .map(|c| c.id)
        .unwrap_or_else(|| panic!("no customer {external_id}"))
}

/// The runtime connections of end user `user` of customer `external_id` in `state`, as
/// (name, folder, parent).
fn connections_of(
    state: &AccountState,
    external_id: &str,
    user: &str,
) -> Vec<(String, u64, Option<u64>)> {
    state
        .customers
        .values()
        .filter(|c| c.external_id.as_deref() == Some(external_id))
        .flat_map(|c| c.connections.values())
        .filter(|c| c.external_id.as_deref() == Some(user))
        .map(|c| (c.name.clone(), c.folder_id, c.parent_id))
        .collect()
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs()
}

fn json_of(outcome: &Outcome) -> Value {
    serde_json::from_str(&outcome.stdout)
        .unwrap_or_else(|error| panic!("not JSON ({error}):\n{}", outcome.transcript()))
}

// ---------------------------------------------------------------------------------------------
// The token

#[test]
fn tokens_verify_with_the_public_key_and_carry_the_claims() {
    let accounts = quickstart_accounts();
    let workspace = quickstart_over(accounts.converged.clone());
    let acme = customer_id(&accounts.converged, "acme-001");

    // PKCS#8 from a path, no --origin.
    let before = now_unix();
    let outcome = links(
        &workspace,
        &["--format", "json"],
        &[("WORKATO_JWT_PRIVATE_KEY", &pkcs8_path())],
    );
    let after = now_unix();
    assert_eq!(outcome.code, 0, "{}", outcome.transcript());
    let document = json_of(&outcome);
    assert_eq!(document["customer"], "acme-001");
    assert_eq!(document["customer_id"], acme);
    let entries = document["links"].as_array().expect("a list of links");
    assert_eq!(entries.len(), 6, "three end users, two connections each");
    let mut jtis = BTreeSet::new();
    for entry in entries {
        let id = entry["connection_id"]
            .as_u64()
            .expect("an existing connection");
        let url = entry["url"].as_str().expect("a link");
        let prefix = format!("/direct_link/embedded/connections/{id}?workato_dl_token=");
        assert!(
            url.starts_with("http://127.0.0.1:") && url.contains(&prefix),
            "{url}"
        );
        assert!(!url.contains("/api/"), "the web host, not the API: {url}");
        let token = tokens(url).pop().expect("a token");
        let (header, claims) = verify(&token);
        assert_eq!(header.alg, Algorithm::RS256);
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        assert_eq!(claims["sub"], format!("{VENDOR}:{acme}"));
        let jti = claims["jti"].as_str().expect("a jti");
        assert_eq!(jti.len(), 32, "16 random bytes in hex: {jti}");
        assert!(jtis.insert(jti.to_owned()), "a jti repeats: {jti}");
        let iat = claims["iat"].as_u64().expect("an iat");
        assert!((before..=after).contains(&iat), "iat {iat} not now");
        assert!(claims.get("origin").is_none(), "no --origin: {claims}");
        assert!(claims.get("exp").is_none(), "{claims}");
    }

    // The same key as PKCS#1 PEM text, with --origin: every token differs from the first run's.
    let outcome = links(
        &workspace,
        &["--origin", "https://app.example.com/"],
        &[("WORKATO_JWT_PRIVATE_KEY", &pkcs1_text())],
    );
    assert_eq!(outcome.code, 0, "{}", outcome.transcript());
    let found = tokens(&outcome.stdout);
    assert_eq!(found.len(), 6, "{}", outcome.stdout);
    for token in found {
        let (_, claims) = verify(&token);
        assert_eq!(claims["origin"], "https://app.example.com");
        assert_eq!(claims["sub"], format!("{VENDOR}:{acme}"));
        let jti = claims["jti"].as_str().expect("a jti");
        assert!(jtis.insert(jti.to_owned()), "a jti repeats: {jti}");
    }
}

// ---------------------------------------------------------------------------------------------
// Bad input

/// One bad input of `links`: what it is, where it runs, its extra flags and its key setting.
struct Case<'a> {
    label: &'a str,
    place: &'a Workspace,
    extra: &'a [&'a str],
    key: Option<&'a str>,
}

impl<'a> Case<'a> {
    fn new(
        label: &'a str,
        place: &'a Workspace,
        extra: &'a [&'a str],
        key: Option<&'a str>,
    ) -> Self {
        Self {
            label,
            place,
            extra,
            key,
        }
    }
}

/// Every mistake stops the run with exit 1 and a message that names what to set, and the
/// simulator's request log shows that nothing was asked of Workato.
#[test]
fn bad_input_is_refused_before_any_request() {
    let accounts = quickstart_accounts();
    let workspace = quickstart_over(accounts.converged.clone());
    let no_vendor = Workspace::copy_of("quickstart");
    let vendor_line = "  vendor_id: \"9f3c2a\"            # the Embedded vendor id; only `embedctl links` uses it\n";
    no_vendor.edit("embedctl.yaml", vendor_line, "");
    let garbage = "-----BEGIN RSA PRIVATE KEY-----\nTk9UQUtFWU5PVEFLRVlOT1RBS0VZ\n-----END RSA PRIVATE KEY-----\n";
    let public = std::fs::read_to_string(key_file("test-only-public.pem")).expect("the key");
    let missing_path = workspace.file("no-such-key.pem");
    let missing_path = missing_path.to_str().expect("a UTF-8 path");
    let key = pkcs8_path();

    let cases = [
        Case::new("no vendor_id", &no_vendor, &[], Some(&key)),
        Case::new("no key", &workspace, &[], None),
        Case::new(
            "a key path that does not exist",
            &workspace,
            &[],
            Some(missing_path),
        ),
        Case::new("a garbage key", &workspace, &[], Some(garbage)),
        Case::new("a public key", &workspace, &[], Some(&public)),
        Case::new(
            "an unknown --user",
            &workspace,
            &["--user", "user-a-external-id", "--user", "nobody"],
            Some(&key),
        ),
        Case::new(
            "an unknown --customer",
            &workspace,
            &["--customer", "nope"],
            Some(&key),
        ),
        Case::new(
            "an --origin that is not one",
            &workspace,
            &["--origin", "app.example.com/page"],
            Some(&key),
        ),
    ];
    let transcripts = block_on(async {
        let account = Account::load(&workspace.state()).await;
        let mut transcripts = String::new();
        for case in &cases {
            let mut args = vec!["links", "-f", "embedctl.yaml"];
            if !case.extra.contains(&"--customer") {
                args.extend(["--customer", "acme-001"]);
            }
            args.extend(case.extra);
            let mut env = vec![
                ("WORKATO_BASE_URL", account.base_url()),
                ("WORKATO_API_TOKEN", TOKEN),
            ];
            if let Some(key) = case.key {
                env.push(("WORKATO_JWT_PRIVATE_KEY", key));
            }
            let label = case.label;
            let outcome = embedctl_async(case.place.path(), &args, &env).await;
            assert_eq!(outcome.code, 1, "{label}: {}", outcome.transcript());
            assert_eq!(outcome.stdout, "", "{label}");
            assert!(
                !outcome.stderr.contains("Tk9UQUtF"),
                "{label}: the key text is echoed: {}",
                outcome.stderr
            );
            for line in public.lines().filter(|l| !l.starts_with("-----")) {
                assert!(
                    !outcome.stderr.contains(line),
                    "{label}: {}",
                    outcome.stderr
                );
            }
            transcripts.push_str(&format!("## {label}\n{}\n", outcome.transcript()));
        }
        let log = account.log().await;
        assert_eq!(log, Vec::<Value>::new(), "no request may be made");
        account.stop().await;
        transcripts
    });
    assert!(transcripts.contains("set `workato.vendor_id` in `embedctl.yaml`"));
    insta::assert_snapshot!(transcripts);
}

// ---------------------------------------------------------------------------------------------
// --create-missing

/// With two new end users, `--create-missing --user` creates exactly the selected one's
/// connections, with their end user, folder and parent, and a second run creates nothing.
#[test]
fn create_missing_creates_the_selected_users_connections_once() {
    let accounts = quickstart_accounts();
    let workspace = quickstart_over(accounts.converged.clone());
    add_user_d(&workspace);
    workspace.edit(
        "embedctl.yaml",
        "        name: User D\n",
        "        name: User D\n      - id: user-e-external-id\n",
    );
    let acme = customer_id(&accounts.converged, "acme-001");
    let existing = connections_of(&accounts.converged, "acme-001", "user-a-external-id");
    let folder = existing[0].1;

    block_on(async {
        let account = Account::load(&workspace.state()).await;
        let args = [
            "--user",
            "user-d-external-id",
            "--create-missing",
            "--format",
            "json",
        ];
        let first = links_over_http(&workspace, &account, &args).await;
        assert_eq!(first.code, 0, "{}", first.transcript());
        let document = json_of(&first);
        let entries = document["links"].as_array().expect("links");
        assert_eq!(entries.len(), 2, "{document:#}");
        for entry in entries {
            assert_eq!(entry["user"], "user-d-external-id");
            assert_eq!(entry["created"], true, "{entry}");
            assert_eq!(entry["missing"], false, "{entry}");
            let token = tokens(entry["url"].as_str().expect("a link")).pop();
            let (_, claims) = verify(&token.expect("a token"));
            assert_eq!(claims["sub"], format!("{VENDOR}:{acme}"));
        }
        let log = account.log().await;
        let writes: Vec<&Value> = log.iter().filter(|e| e["method"] != "GET").collect();
        assert_eq!(writes.len(), 2, "two creates: {writes:#?}");
        for write in &writes {
            assert_eq!(write["method"], "POST");
            assert!(
                write["path"]
                    .as_str()
                    .is_some_and(|p| p.ends_with(&format!("/managed_users/{acme}/connections"))),
                "{write}"
            );
            assert_eq!(write["body"]["external_id"], "user-d-external-id");
            assert_eq!(write["body"]["folder_id"], folder);
            assert_eq!(write["body"]["parent_id"], Value::Null);
        }
        let state = account.state();
        let mut created = connections_of(&state, "acme-001", "user-d-external-id");
        created.sort();
        assert_eq!(
            created,
            [
                ("Dropbox - User D".to_owned(), folder, None),
                ("Dropbox - User D - Get file".to_owned(), folder, None),
            ]
        );
        assert_eq!(
            connections_of(&state, "acme-001", "user-e-external-id"),
            [],
            "user-e was not selected"
        );
        let ids: BTreeSet<u64> = state
            .customers
            .values()
            .flat_map(|c| c.connections.values())
            .filter(|c| c.external_id.as_deref() == Some("user-d-external-id"))
            .map(|c| c.id)
            .collect();
        let linked: BTreeSet<u64> = entries
            .iter()
            .filter_map(|e| e["connection_id"].as_u64())
            .collect();
        assert_eq!(ids, linked, "the links are to the new connections");

        let second = links_over_http(&workspace, &account, &args).await;
        assert_eq!(second.code, 0, "{}", second.transcript());
        let document = json_of(&second);
        for entry in document["links"].as_array().expect("links") {
            assert_eq!(entry["created"], false, "{entry}");
            assert!(entry["url"].is_string(), "{entry}");
        }
        let writes_after = account
            .log()
            .await
            .iter()
            .skip(log.len())
            .filter(|e| e["method"] != "GET")
            .count();
        assert_eq!(writes_after, 0, "the second run creates nothing");
        account.stop().await;
    });
}

/// Under `--sim`, the new connections are saved to the state file, as `apply --sim` saves.
#[test]
fn create_missing_under_sim_saves_the_state() {
    let workspace = quickstart_over(quickstart_accounts().converged.clone());
    add_user_d(&workspace);
    let env: Env<'_> = &[("WORKATO_JWT_PRIVATE_KEY", &pkcs8_path())];
    let outcome = links(&workspace, &["--create-missing"], env);
    assert_eq!(outcome.code, 0, "{}", outcome.transcript());
    assert_eq!(tokens(&outcome.stdout).len(), 8, "{}", outcome.stdout);
    let saved = embedctl::sim::Simulator::load_state(&workspace.state()).expect("a state");
    assert_eq!(
        connections_of(&saved, "acme-001", "user-d-external-id").len(),
        2
    );
    let again = links(&workspace, &["--create-missing", "--format", "json"], env);
    assert_eq!(again.code, 0, "{}", again.transcript());
    assert!(!again.stderr.contains("Creating"), "{}", again.stderr);
}

/// A recipe Workato stopped closes the phase-4 gate in the plan: the missing connections are
/// reported with the reason, nothing is attempted, and `--create-missing` exits 1.
#[test]
fn create_missing_with_the_gate_closed_in_the_plan_creates_nothing() {
    let workspace = Workspace::copy_of("quickstart");
    add_user_d(&workspace);
    prepare(
        &workspace,
        quickstart_accounts().converged.clone(),
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
    let before = std::fs::read(workspace.state()).expect("a state");
    let env: Env<'_> = &[("WORKATO_JWT_PRIVATE_KEY", &pkcs8_path())];
    let outcome = links(
        &workspace,
        &["--create-missing", "--user", "user-d-external-id"],
        env,
    );
    assert_eq!(outcome.code, 1, "{}", outcome.transcript());
    assert_eq!(tokens(&outcome.stdout).len(), 0, "{}", outcome.stdout);
    assert!(
        outcome.stdout.contains("cannot be created now")
            && outcome.stdout.contains("trial_expired"),
        "{}",
        outcome.stdout
    );
    assert!(
        outcome
            .stderr
            .contains("error: 2 connections without a link")
    );
    assert_eq!(
        std::fs::read(workspace.state()).expect("a state"),
        before,
        "nothing was written"
    );

    // Without --create-missing the same report is not an error, and the others get links.
    let outcome = links(&workspace, &[], env);
    assert_eq!(outcome.code, 0, "{}", outcome.transcript());
    assert_eq!(tokens(&outcome.stdout).len(), 6, "{}", outcome.stdout);
}

/// A recipe stopped by someone: the plan would start it and then create the connections, but
/// `--create-missing` only creates connections, and the gate read live is closed: nothing is
/// created, the reason is shown, exit 1.
#[test]
fn create_missing_with_the_gate_closed_live_creates_nothing() {
    let workspace = Workspace::copy_of("quickstart");
    add_user_d(&workspace);
    prepare(
        &workspace,
        quickstart_accounts().converged.clone(),
        async |account| {
            let recipe = account.recipe_id("acme-001", "List files").await;
            let path = format!("{}/recipes/{recipe}/stop", customer_path("acme-001"));
            account.call(Method::PUT, &path, json!({})).await;
        },
    );
    block_on(async {
        let account = Account::load(&workspace.state()).await;
        let outcome = links_over_http(&workspace, &account, &["--create-missing"]).await;
        assert_eq!(outcome.code, 1, "{}", outcome.transcript());
        assert!(
            outcome
                .stdout
                .contains("the customer's integration is not set up yet (recipe \"List files\" is not running)"),
            "{}",
            outcome.stdout
        );
        assert_eq!(
            tokens(&outcome.stdout).len(),
            6,
            "the existing ones get links"
        );
        let writes: Vec<Value> = account
            .log()
            .await
            .into_iter()
            .filter(|e| e["method"] != "GET")
            .collect();
        assert_eq!(writes, Vec::<Value>::new(), "nothing is created");
        account.stop().await;
    });
}

/// A customer Workato does not have yet is an error; a customer whose manifest's folder is gone
/// gets no links, each with the reason, and `--create-missing` leaves that to apply.
#[test]
fn customers_and_folders_that_do_not_exist_yet() {
    let workspace = Workspace::copy_of("quickstart");
    // The bundled account: acme-001 half set up, globex-002 not there at all.
    std::fs::copy(workspace.file("workato-state.json"), workspace.state()).expect("a state");
    let env: Env<'_> = &[("WORKATO_JWT_PRIVATE_KEY", &pkcs8_path())];
    let args = [
        "links",
        "-f",
        "embedctl.yaml",
        "--sim",
        "state.json",
        "--customer",
        "globex-002",
    ];
    let outcome = workspace.run(&args, env);
    assert_eq!(outcome.code, 1, "{}", outcome.transcript());
    assert_eq!(outcome.stdout, "");
    assert!(
        outcome
            .stderr
            .contains("customer `globex-002` does not exist in Workato yet")
            && outcome
                .stderr
                .contains("run `embedctl apply --customer globex-002` first"),
        "{}",
        outcome.stderr
    );

    // acme-001 with nothing but its Home folder.
    let mut state: Value =
        serde_json::from_str(&std::fs::read_to_string(workspace.state()).expect("a state"))
            .expect("JSON");
    let acme = state["customers"]
        .as_object_mut()
        .and_then(|customers| {
            customers
                .values_mut()
                .find(|c| c["external_id"] == "acme-001")
        })
        .expect("acme-001 in the bundled account");
    let home = acme["home_folder_id"].clone();
    if let Some(folders) = acme["folders"].as_object_mut() {
        folders.retain(|_, folder| folder["id"] == home);
    }
    for emptied in ["connections", "recipes", "imports", "properties"] {
        acme[emptied] = json!({});
    }
    let text = serde_json::to_string_pretty(&state).expect("JSON");
    std::fs::write(workspace.state(), &text).expect("a writable state");
    let outcome = links(&workspace, &["--create-missing", "--format", "json"], env);
    assert_eq!(outcome.code, 1, "{}", outcome.transcript());
    let document = json_of(&outcome);
    let entries = document["links"].as_array().expect("links");
    assert_eq!(entries.len(), 6, "{document:#}");
    for entry in entries {
        assert_eq!(entry["url"], Value::Null);
        assert_eq!(entry["missing"], true);
        let why = entry["no_link_because"].as_str().unwrap_or_default();
        assert!(
            why.contains("nor does the folder of manifest `files-sync`: run `embedctl apply`"),
            "{why}"
        );
    }
    assert!(!outcome.stderr.contains("Creating"), "{}", outcome.stderr);
    assert_eq!(
        std::fs::read_to_string(workspace.state()).expect("a state"),
        text,
        "nothing was written"
    );
}

// ---------------------------------------------------------------------------------------------
// Output

/// Text and JSON as a user sees them, the tokens and the port filtered: four end users, one
/// whose plain connection Workato reports revoked, one whose connections do not exist yet.
#[test]
fn text_and_json_output() {
    let workspace = Workspace::copy_of("quickstart");
    add_user_d(&workspace);
    prepare(
        &workspace,
        quickstart_accounts().converged.clone(),
        async |account| {
            let id = account.connection_id("acme-001", "Dropbox - User B").await;
            account
                .hook(
                    &format!("/connections/{id}/revoke"),
                    json!({ "authorization_error": "revoked: token expired" }),
                )
                .await;
        },
    );
    let env: Env<'_> = &[("WORKATO_JWT_PRIVATE_KEY", &pkcs8_path())];
    let text = links(&workspace, &[], env);
    assert_eq!(text.code, 0, "{}", text.transcript());
    let json = links(
        &workspace,
        &[
            "--format",
            "json",
            "--user",
            "user-d-external-id",
            "--user",
            "user-b-external-id",
        ],
        env,
    );
    assert_eq!(json.code, 0, "{}", json.transcript());
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(
        r"workato_dl_token=[A-Za-z0-9_.\-]+",
        "workato_dl_token=[TOKEN]",
    );
    settings.add_filter(r"127\.0\.0\.1:[0-9]+", "127.0.0.1:[PORT]");
    settings.bind(|| {
        insta::assert_snapshot!("links_text", text.transcript());
        insta::assert_snapshot!("links_json", json.transcript());
    });
}

// ---------------------------------------------------------------------------------------------
// No token, link or key line anywhere else

/// Every command with the key set, links among them: no JWT (`eyJ`), no `workato_dl_token`
/// and no line of the key appears anywhere but the stdout of `links`: not in any stderr, saved
/// plan, or the simulated account.
#[test]
fn tokens_and_the_key_appear_only_on_the_stdout_of_links() {
    let workspace = quickstart_over(quickstart_accounts().converged.clone());
    add_user_d(&workspace);
    let key = pkcs1_text();
    let key_lines: Vec<&str> = key
        .lines()
        .filter(|line| !line.starts_with("-----") && !line.trim().is_empty())
        .collect();
    assert!(key_lines.len() > 20);
    // A broken copy of the real key: refused, and its lines must not be echoed either.
    let truncated: String = key
        .lines()
        .take(12)
        .chain(key.lines().last())
        .collect::<Vec<_>>()
        .join("\n");
    let env: Env<'_> = &[("WORKATO_JWT_PRIVATE_KEY", &key)];
    let broken: Env<'_> = &[("WORKATO_JWT_PRIVATE_KEY", &truncated)];

    let sim = ["--sim", "state.json"];
    let file = ["-f", "embedctl.yaml"];
    let with = |command: &[&str], extra: &[&str]| -> Vec<String> {
        command
            .iter()
            .chain(&file)
            .chain(&sim)
            .chain(extra)
            .map(|s| (*s).to_owned())
            .collect()
    };
    let mut checked: Vec<(String, String)> = Vec::new();
    let mut link_outputs = String::new();
    let runs: Vec<(bool, Vec<String>, Env<'_>)> = vec![
        (false, with(&["plan"], &["--out", "plan.json"]), env),
        (false, with(&["plan"], &["--format", "markdown"]), env),
        (false, with(&["plan"], &["--format", "json"]), env),
        (false, with(&["drift"], &["--format", "json"]), env),
        (false, with(&["drift"], &["--format", "markdown"]), env),
        (true, with(&["links"], &["--customer", "acme-001"]), env),
        (
            true,
            with(&["links"], &["--customer", "acme-001", "--format", "json"]),
            env,
        ),
        (
            true,
            with(&["links"], &["--customer", "acme-001", "--create-missing"]),
            env,
        ),
        (false, with(&["links"], &["--customer", "acme-001"]), broken),
        (false, with(&["apply"], &["--auto-approve"]), env),
        (false, with(&["drift"], &[]), env),
    ];
    for (is_links, args, env) in runs {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let outcome = workspace.run(&args, env);
        let label = args.join(" ");
        if is_links {
            assert_eq!(outcome.code, 0, "{label}: {}", outcome.transcript());
            link_outputs.push_str(&outcome.stdout);
        } else {
            checked.push((format!("{label}: stdout"), outcome.stdout));
        }
        checked.push((format!("{label}: stderr"), outcome.stderr));
    }
    checked.push((
        "plan.json".to_owned(),
        std::fs::read_to_string(workspace.file("plan.json")).expect("a saved plan"),
    ));
    checked.push((
        "state.json".to_owned(),
        std::fs::read_to_string(workspace.state()).expect("the state"),
    ));
    assert!(
        link_outputs.contains("eyJ") && link_outputs.contains("workato_dl_token="),
        "the canary search must be able to find something: {link_outputs}"
    );
    for (label, text) in &checked {
        for needle in ["eyJ", "workato_dl_token"].iter().chain(&key_lines) {
            assert!(
                !text.contains(needle),
                "`{needle}` appears in {label}:\n{text}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Scale

/// Links for one customer with 1,000 end users whose connections exist and wait: prints how
/// long `links` takes and how many links it made. A benchmark, not a test: run `cargo test
/// --release --test it -- --ignored links_for_1000_end_users --nocapture`.
#[test]
#[ignore = "benchmark: prints timings, asserts nothing about speed"]
fn links_for_1000_end_users() {
    let workspace = Workspace::copy_of("quickstart");
    let mut users = String::from("    runtime_users:\n");
    for n in 0..1_000 {
        users.push_str(&format!("      - id: end-user-{n:04}\n"));
    }
    let yaml = std::fs::read_to_string(workspace.yaml()).expect("the file");
    let start = yaml.find("    runtime_users:\n").expect("acme's end users");
    let end = yaml.find("\n  - external_id: globex-002").expect("globex");
    workspace.write(
        "embedctl.yaml",
        &format!("{}{users}{}", &yaml[..start], &yaml[end + 1..]),
    );
    // Set up by apply itself, its rate limits (and the simulator's) shrunk a thousandfold.
    let started = std::time::Instant::now();
    let applied = workspace.run(
        &[
            "apply",
            "-f",
            "embedctl.yaml",
            "--sim",
            "state.json",
            "--customer",
            "acme-001",
            "--auto-approve",
        ],
        &[("EMBEDCTL_TIME_SCALE", "1000")],
    );
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    println!(
        "apply set up 1,000 end users in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let env: Env<'_> = &[("WORKATO_JWT_PRIVATE_KEY", &pkcs8_path())];
    for format in ["text", "json"] {
        let started = std::time::Instant::now();
        let outcome = links(&workspace, &["--format", format], env);
        let elapsed = started.elapsed();
        assert_eq!(outcome.code, 0, "{}", outcome.stderr);
        println!(
            "links --format {format}: {} links in {:.2} s",
            tokens(&outcome.stdout).len(),
            elapsed.as_secs_f64()
        );
    }
}
