//! `embedctl export`: an account made by apply (each bundled example, and 50 customers with end
//! users) exports to a file that, once its package placeholders point at the real packages,
//! validates and plans with nothing to do but credentials to supply. An account made by hand
//! exports to a file that validates. No secret reaches the file, stdout or stderr, and bad input
//! is refused naming its flag.

use std::path::Path;

use serde_json::Value;

use crate::apply_e2e::{copy_quickstart_state, copy_tree, customer_yaml, files_sync_manifest};
use crate::context::{Outcome, repo_root, run};

/// The only reasons a plan of an exported file may give for a change: the credentials it
/// cannot know, still to supply.
const ALLOWED_REASONS: &[&str] = &[
    "connection.credentials_missing",
    "connection.credentials_changed",
];

/// The in-process simulator runs (and is paced) this much faster than Workato.
const FAST: (&str, &str) = ("EMBEDCTL_TIME_SCALE", "1000");

/// What a partner would put in a variable: it must never come back out.
const CANARY: &str = "canary-7f3a9c1e-partner-secret";

fn path_str(path: &Path) -> &str {
    path.to_str().expect("test paths are UTF-8")
}

/// `embedctl ARGS` in `dir`, with the fast clock and `env`.
fn embedctl(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Outcome {
    let mut all = vec![FAST];
    all.extend_from_slice(env);
    run(dir, args, &all)
}

/// Applies `file` into the simulator state `state`; the run must succeed.
fn apply(dir: &Path, file: &Path, state: &Path, env: &[(&str, &str)]) {
    let applied = embedctl(
        dir,
        &[
            "apply",
            "-f",
            path_str(file),
            "--sim",
            path_str(state),
            "--auto-approve",
        ],
        env,
    );
    assert_eq!(applied.code, 0, "{}", applied.transcript());
}

/// Exports `state` to `dir/exported.yaml`; returns the run and the file.
fn export(dir: &Path, state: &Path, extra: &[&str]) -> (Outcome, String) {
    let out = dir.join("exported.yaml");
    let mut args = vec!["export", "--sim", path_str(state), "--out", path_str(&out)];
    args.extend_from_slice(extra);
    let outcome = embedctl(dir, &args, &[]);
    assert_eq!(outcome.code, 0, "{}", outcome.transcript());
    let text = std::fs::read_to_string(&out).expect("export wrote --out");
    (outcome, text)
}

/// The exported file with each `package:` placeholder pointed at `packages/<key>` under
/// `packages`, as the user would, written to `dir/adopted.yaml`.
fn adopt(dir: &Path, exported: &str, packages: &Path) -> std::path::PathBuf {
    let placeholder = "\"REPLACE-ME/packages/";
    assert!(
        exported.contains(placeholder),
        "the package placeholder is missing:\n{exported}"
    );
    let root = format!("{:?}", path_str(packages));
    let adopted = exported.replace(placeholder, &format!("{}/", &root[..root.len() - 1]));
    let file = dir.join("adopted.yaml");
    std::fs::write(&file, adopted).expect("write the adopted file");
    file
}

fn quickstart_packages() -> std::path::PathBuf {
    repo_root().join("examples/quickstart/packages")
}

/// `validate` accepts the adopted file, and `plan` against the same account shows no change
/// but credentials still to supply, nothing blocked.
fn assert_round_trip(dir: &Path, file: &Path, state: &Path) {
    let validated = embedctl(dir, &["validate", "-f", path_str(file)], &[]);
    assert_eq!(validated.code, 0, "{}", validated.transcript());
    assert!(
        validated.stdout.ends_with(": valid\n"),
        "{}",
        validated.transcript()
    );
    let planned = embedctl(
        dir,
        &[
            "plan",
            "-f",
            path_str(file),
            "--sim",
            path_str(state),
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(planned.code, 0, "{}", planned.transcript());
    let plan: Value = serde_json::from_str(&planned.stdout).expect("plan JSON");
    let changes = plan["changes"].as_array().expect("changes");
    let unexpected: Vec<&Value> = changes
        .iter()
        .filter(|change| !ALLOWED_REASONS.contains(&change["reason"].as_str().unwrap_or_default()))
        .collect();
    assert!(
        unexpected.is_empty(),
        "changes beyond credentials: {unexpected:#?}\n{}",
        std::fs::read_to_string(file).unwrap_or_default()
    );
    assert_eq!(plan["blocked"], serde_json::json!([]), "{}", planned.stdout);
}

/// None of `secrets` is in the exported file, stdout or stderr.
fn assert_no_secret(outcome: &Outcome, exported: &str, secrets: &[String]) {
    for secret in secrets {
        assert!(!secret.is_empty());
        for (what, text) in [
            ("the file", exported),
            ("stdout", outcome.stdout.as_str()),
            ("stderr", outcome.stderr.as_str()),
        ] {
            assert!(!text.contains(secret.as_str()), "{what} holds a secret");
        }
    }
}

/// The demo secrets an example's credentials read from files.
fn demo_secrets(example: &Path) -> Vec<String> {
    let mut secrets = Vec::new();
    if let Ok(entries) = std::fs::read_dir(example.join("demo-secrets")) {
        for entry in entries.flatten() {
            let text = std::fs::read_to_string(entry.path()).expect("a demo secret");
            secrets.push(text.trim().to_owned());
        }
    }
    secrets
}

/// Apply the bundled example into a simulator (the quick start's own half set-up account, the
/// others an empty one), export, adopt, round trip; no secret comes out. Returns the export's
/// run and the file.
fn example_round_trip(name: &str) -> (Outcome, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let example = repo_root().join("examples").join(name);
    let state = dir.path().join("workato-state.json");
    if name == "quickstart" {
        std::fs::copy(example.join("workato-state.json"), &state).expect("copy the state");
    }
    let env = [("ACME_PARTNER_API_KEY", CANARY)];
    apply(dir.path(), &example.join("embedctl.yaml"), &state, &env);
    let (outcome, exported) = export(dir.path(), &state, &[]);
    let mut secrets = demo_secrets(&example);
    secrets.push(CANARY.to_owned());
    assert_no_secret(&outcome, &exported, &secrets);
    let file = adopt(dir.path(), &exported, &example.join("packages"));
    assert_round_trip(dir.path(), &file, &state);
    (outcome, exported)
}

#[test]
fn quickstart_exports_what_it_applied() {
    let (outcome, exported) = example_round_trip("quickstart");
    // Applied: every connection authorized or end users', every recipe running: nothing to note.
    assert!(
        !outcome.stderr.contains("note:"),
        "{}",
        outcome.transcript()
    );
    assert!(!exported.contains("# NOTE:"), "{exported}");
    insta::assert_snapshot!(exported);
}

#[test]
fn a_half_set_up_account_notes_what_export_cannot_tell() {
    // The bundled quick start account before any apply: Dropbox (which end users connect, with
    // OAuth) and PartnerApp authorized in no customer, no recipe running.
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("workato-state.json");
    copy_quickstart_state(&state);
    let (outcome, exported) = export(dir.path(), &state, &[]);
    for expected in [
        "note: `files-sync.dropbox` (\"Dropbox\") is not authorized in any customer, so nothing says you hold its credentials: exported as a default connection with a placeholder credential; if your end users connect it, set `runtime_users: true` (and `parent:` or `recipe_functions:`) instead of `credentials:`; connector `dropbox` is authorized with OAuth only, so credentials of yours would be an `oauth_token_pair`\n",
        "note: `files-sync.partner_app` (\"PartnerApp\") is not authorized in any customer, so nothing says you hold its credentials: exported as a default connection with a placeholder credential; if your end users connect it, set `runtime_users: true` (and `parent:` or `recipe_functions:`) instead of `credentials:`\n",
        "note: `files-sync`: no recipe of \"Files Sync\" runs in any customer: exported as `recipes: []`, which requires none to run, so plan and drift report no recipe stopped; list the recipes that must run (or remove the key for every recipe of the package) and apply starts them\n",
    ] {
        assert!(
            outcome.stderr.contains(expected),
            "{expected}\n{}",
            outcome.transcript()
        );
    }
    // The file says the same where the user edits: above `recipes: []` and each connection.
    for expected in [
        "    # NOTE: no recipe of this folder runs in any customer. `recipes: []` requires none\n",
        "    # remove the key for every recipe of the package), and apply starts them.\n    recipes: []\n",
        "      # Connector \"dropbox\" is authorized with OAuth only: credentials of yours would be\n      # an `oauth_token_pair` (`access_token`, `refresh_token`).\n      \"dropbox\":\n",
        "      # (and `parent:` or `recipe_functions:`).\n      \"partner_app\":\n",
    ] {
        assert!(exported.contains(expected), "{expected}\n{exported}");
    }
    insta::assert_snapshot!(exported);
    // The notes are comments: the file, its packages pointed at, still validates.
    let adopted = adopt(dir.path(), &exported, &quickstart_packages());
    let validated = embedctl(dir.path(), &["validate", "-f", path_str(&adopted)], &[]);
    assert_eq!(validated.code, 0, "{}", validated.transcript());
}

#[test]
fn multi_manifest_exports_what_it_applied() {
    let (_, exported) = example_round_trip("multi-manifest");
    // Both packages' folders, and the customer with an id that needs quoting.
    assert!(exported.contains("  \"crm-sync\":\n"), "{exported}");
    assert!(exported.contains("  \"files-sync\":\n"), "{exported}");
    assert!(
        exported.contains("external_id: \"umbrella:eu/004\""),
        "{exported}"
    );
}

#[test]
fn custom_connector_exports_what_it_applied() {
    let (_, exported) = example_round_trip("custom-connector");
    assert!(
        exported.contains("provider: \"northwind_ledger\"\n"),
        "the custom connector by its slug, never a workspace's id:\n{exported}"
    );
    assert!(!exported.contains("__connector_"), "{exported}");
    assert!(
        exported.contains("home_assets_folder: \"Ledger Sync Home\"\n"),
        "{exported}"
    );
}

#[test]
fn fifty_customers_with_end_users_export_what_apply_made() {
    let mut yaml = files_sync_manifest("PARTNER_API_KEY");
    yaml.push_str("customers:\n");
    for index in 0..50 {
        let id = format!("cust-{index:03}");
        let users: Vec<String> = (0..index % 4).map(|u| format!("{id}-u{u}")).collect();
        let users: Vec<&str> = users.iter().map(String::as_str).collect();
        yaml.push_str(&customer_yaml(
            &id,
            &format!("Customer {index}"),
            &users,
            "",
        ));
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("embedctl.yaml");
    std::fs::write(&file, yaml).expect("write the file");
    let state = dir.path().join("state.json");
    apply(dir.path(), &file, &state, &[("PARTNER_API_KEY", CANARY)]);

    let (outcome, exported) = export(dir.path(), &state, &[]);
    assert_no_secret(&outcome, &exported, &[CANARY.to_owned()]);
    assert!(
        outcome
            .stderr
            .starts_with("Exported 50 customers, 1 manifest and 73 runtime users from"),
        "{}",
        outcome.transcript()
    );
    let adopted = adopt(dir.path(), &exported, &quickstart_packages());
    assert_round_trip(dir.path(), &adopted, &state);
}

#[test]
fn an_account_made_by_hand_exports_to_a_valid_file() {
    // The quick start's account, with nothing an apply would have recorded.
    let text = renamed_quickstart_account(&[]);
    assert!(!text.contains("embedctl_"));
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("by-hand.json");
    std::fs::write(&state, text).expect("write the state");

    let (outcome, exported) = export(dir.path(), &state, &[]);
    assert!(exported.contains("  \"files-sync\":\n"), "{exported}");
    assert!(
        outcome
            .stderr
            .contains("FILES_SYNC_PARTNER_APP_REPLACE_ME  files-sync.partner_app"),
        "{}",
        outcome.transcript()
    );
    let adopted = adopt(dir.path(), &exported, &quickstart_packages());
    let validated = embedctl(dir.path(), &["validate", "-f", path_str(&adopted)], &[]);
    assert_eq!(validated.code, 0, "{}", validated.transcript());
}

/// The bundled quick start account with its objects renamed by `rename` (name → new name), and
/// nothing an apply would have recorded (which would keep the old keys).
fn renamed_quickstart_account(rename: &[(&str, &str)]) -> String {
    let mut account: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("examples/quickstart/workato-state.json"))
            .expect("the bundled state"),
    )
    .expect("state JSON");
    for customer in account["customers"]
        .as_object_mut()
        .expect("customers")
        .values_mut()
    {
        customer["properties"] = serde_json::json!({});
        for collection in ["folders", "connections", "recipes"] {
            let Some(objects) = customer[collection].as_object_mut() else {
                continue;
            };
            for object in objects.values_mut() {
                for (from, to) in rename {
                    if object["name"] == *from {
                        object["name"] = Value::from(*to);
                    }
                }
            }
        }
    }
    serde_json::to_string(&account).expect("JSON")
}

#[test]
fn names_that_yaml_reads_as_other_things_export_to_a_valid_file() {
    // A project named "Null" is the manifest key `null`, a connection named "Yes" the key `yes`:
    // unquoted, YAML reads them as no key and as `true`.
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("odd.json");
    let account = renamed_quickstart_account(&[("Files Sync", "Null"), ("PartnerApp", "Yes")]);
    std::fs::write(&state, account).expect("write the state");
    let (_, exported) = export(dir.path(), &state, &[]);
    assert!(exported.contains("  \"null\":\n"), "{exported}");
    assert!(exported.contains("      \"yes\":\n"), "{exported}");
    let packages = dir.path().join("packages");
    copy_tree(
        &quickstart_packages().join("files-sync"),
        &packages.join("null"),
    );
    // The package the user points at has the connection under its new name too.
    for entry in std::fs::read_dir(packages.join("null/Files Sync")).expect("the package") {
        let path = entry.expect("an entry").path();
        let text = std::fs::read_to_string(&path).expect("a package file");
        std::fs::write(&path, text.replace("PartnerApp", "Yes")).expect("rename");
    }
    let adopted = adopt(dir.path(), &exported, &packages);
    let validated = embedctl(dir.path(), &["validate", "-f", path_str(&adopted)], &[]);
    assert_eq!(validated.code, 0, "{}", validated.transcript());
}

#[test]
fn values_the_file_refuses_are_named_on_stderr() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("odd.json");
    let long_folder = "F".repeat(300);
    let mut account: Value = serde_json::from_str(&renamed_quickstart_account(&[(
        "Files Sync",
        long_folder.as_str(),
    )]))
    .expect("JSON");
    for customer in account["customers"]
        .as_object_mut()
        .expect("customers")
        .values_mut()
    {
        if customer["external_id"] == "acme-001" {
            customer["name"] = Value::from("   ");
        }
    }
    std::fs::write(&state, account.to_string()).expect("write the state");
    let (outcome, _) = export(dir.path(), &state, &[]);
    for expected in [
        "note: the name of customer `acme-001` is empty, which the file refuses: give it one",
        "is 300 characters long, more than the file's 255: shorten it",
    ] {
        assert!(
            outcome.stderr.contains(expected),
            "{expected}\n{}",
            outcome.transcript()
        );
    }
}

#[test]
fn a_recipe_stopped_for_some_customers_only_is_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("state.json");
    copy_quickstart_state(&state);
    let file = repo_root().join("examples/quickstart/embedctl.yaml");
    apply(
        dir.path(),
        &file,
        &state,
        &[("ACME_PARTNER_API_KEY", CANARY)],
    );
    // Someone stops "List files" for globex-002 only.
    let mut account: Value =
        serde_json::from_str(&std::fs::read_to_string(&state).expect("state")).expect("JSON");
    for customer in account["customers"]
        .as_object_mut()
        .expect("customers")
        .values_mut()
    {
        if customer["external_id"] != "globex-002" {
            continue;
        }
        for recipe in customer["recipes"]
            .as_object_mut()
            .expect("recipes")
            .values_mut()
        {
            if recipe["name"] == "List files" {
                recipe["running"] = Value::Bool(false);
            }
        }
    }
    std::fs::write(&state, account.to_string()).expect("write the state");
    let (outcome, _) = export(dir.path(), &state, &[]);
    assert!(
        outcome.stderr.contains(
            "note: `files-sync`: recipe \"List files\" runs for some customers but is stopped for `globex-002`"
        ),
        "{}",
        outcome.transcript()
    );
}

#[test]
fn customer_limits_the_export_and_stdout_is_the_default() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = repo_root().join("examples/quickstart/workato-state.json");
    let outcome = embedctl(
        dir.path(),
        &[
            "export",
            "--sim",
            path_str(&state),
            "--customer",
            "legacy-pilot",
        ],
        &[],
    );
    assert_eq!(outcome.code, 0, "{}", outcome.transcript());
    assert!(
        outcome.stdout.contains("external_id: \"legacy-pilot\""),
        "{}",
        outcome.transcript()
    );
    assert!(
        !outcome.stdout.contains("acme-001"),
        "{}",
        outcome.transcript()
    );
    assert!(
        !outcome.stdout.contains("manifests:"),
        "{}",
        outcome.transcript()
    );
}

#[test]
fn bad_input_is_refused_naming_the_flag() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = repo_root().join("examples/quickstart/workato-state.json");
    let state = path_str(&state);
    let unknown = embedctl(
        dir.path(),
        &["export", "--sim", state, "--customer", "nobody-999"],
        &[],
    );
    assert_eq!(unknown.code, 1, "{}", unknown.transcript());
    assert_eq!(
        unknown.stderr,
        "error: `--customer nobody-999`: Workato has no customer with that `external_id`\n"
    );
    assert_eq!(unknown.stdout, "");

    let missing = dir.path().join("no-such-folder/out.yaml");
    let unwritable = embedctl(
        dir.path(),
        &["export", "--sim", state, "--out", path_str(&missing)],
        &[],
    );
    assert_eq!(unwritable.code, 1, "{}", unwritable.transcript());
    assert!(
        unwritable
            .stderr
            .starts_with(&format!("error: `--out {}`: the folder", missing.display())),
        "{}",
        unwritable.transcript()
    );
    assert!(!missing.exists());

    let folder = embedctl(
        dir.path(),
        &["export", "--sim", state, "--out", path_str(dir.path())],
        &[],
    );
    assert_eq!(folder.code, 1, "{}", folder.transcript());
    assert!(
        folder.stderr.contains("is a folder"),
        "{}",
        folder.transcript()
    );

    let no_token = embedctl(dir.path(), &["export"], &[]);
    assert_eq!(no_token.code, 1, "{}", no_token.transcript());
    assert!(
        no_token.stderr.contains("WORKATO_API_TOKEN"),
        "{}",
        no_token.transcript()
    );
}

#[test]
fn help_lists_exit_codes_and_examples() {
    let help = embedctl(&repo_root(), &["export", "--help"], &[]);
    assert_eq!(help.code, 0, "{}", help.transcript());
    for wanted in [
        "Exit codes: 0",
        "Examples:",
        "--customer <EXT>",
        "--out <FILE>",
        "--sim",
    ] {
        assert!(help.stdout.contains(wanted), "{wanted}:\n{}", help.stdout);
    }
}
