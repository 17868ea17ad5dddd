//! Phase 4 as end users live it, end to end against a served simulator: a user is added (a shell
//! is created, they are pending), connects (in sync), loses the connection (pending again, with
//! Workato's error, never a create), is renamed (the connection is renamed, not replaced), and is
//! removed (unmanaged, or disconnected and deleted with `prune_runtime_users`). And the repair of
//! a connection made with the wrong parent: the right one first, then the wrong one goes.

use serde_json::{Value, json};

use crate::apply_e2e::{
    Scenario, Served, assert_converged, assert_no_duplicates, customer, files_sync_manifest,
    objects,
};
use crate::context::Outcome;

const ENV: [(&str, &str); 1] = [("PARTNER_KEY", "partner-key")];

/// The files-sync manifest with one customer, `acme-001`, and these end users (id, name).
fn file_with_users(users: &[(&str, &str)], extra: &str) -> String {
    let mut yaml = files_sync_manifest("PARTNER_KEY");
    yaml.push_str(
        "customers:\n  - external_id: acme-001\n    name: Acme\n    notification_email: it@acme.example\n    manifests: [files-sync]\n",
    );
    yaml.push_str(extra);
    if !users.is_empty() {
        yaml.push_str("    runtime_users:\n");
        for (id, name) in users {
            yaml.push_str(&format!("      - id: {id}\n        name: {name}\n"));
        }
    }
    yaml
}

fn rewrite(scenario: &Scenario, yaml: &str) {
    std::fs::write(scenario.file(), yaml).expect("rewrite the file");
}

fn apply(sim: &Served, scenario: &Scenario) -> Outcome {
    let outcome = sim.run(
        scenario.dir(),
        &["apply", "-f", scenario.file(), "--auto-approve"],
        &ENV,
    );
    assert_eq!(outcome.code, 0, "{}", outcome.transcript());
    outcome
}

fn run(sim: &Served, scenario: &Scenario, args: &[&str]) -> Outcome {
    let mut all = args.to_vec();
    all.extend(["-f", scenario.file()]);
    sim.run(scenario.dir(), &all, &ENV)
}

fn json_of(outcome: &Outcome) -> Value {
    serde_json::from_str(&outcome.stdout)
        .unwrap_or_else(|error| panic!("not JSON ({error}):\n{}", outcome.transcript()))
}

/// The runtime connections of acme-001 as (external id, name, id, parent id).
fn user_connections(sim: &Served) -> Vec<(String, String, u64, Option<u64>)> {
    let state = sim.state();
    let mut found: Vec<_> = objects(customer(&state, "acme-001"), "connections")
        .into_iter()
        .filter(|c| !c["external_id"].is_null())
        .map(|c| {
            (
                c["external_id"].as_str().unwrap_or_default().to_owned(),
                c["name"].as_str().unwrap_or_default().to_owned(),
                c["id"].as_u64().unwrap_or_default(),
                c["parent_id"].as_u64(),
            )
        })
        .collect();
    found.sort();
    found
}

/// The id of acme-001's imported (default) Dropbox connection.
fn default_dropbox(sim: &Served) -> u64 {
    let state = sim.state();
    objects(customer(&state, "acme-001"), "connections")
        .into_iter()
        .find(|c| c["external_id"].is_null() && c["provider"] == "dropbox")
        .and_then(|c| c["id"].as_u64())
        .expect("the imported Dropbox connection")
}

/// The writes logged after the first `seen` entries, as `METHOD PATH`.
fn writes_since(sim: &Served, seen: usize) -> Vec<String> {
    sim.writes_after(seen)
        .iter()
        .map(|w| {
            format!(
                "{} {}",
                w["method"].as_str().unwrap_or_default(),
                w["path"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

/// `(status, authorization_error)` of each pending entry of a plan or drift JSON document.
fn pending_statuses(document: &Value) -> Vec<(String, String, Value)> {
    document["pending_users"]
        .as_array()
        .expect("pending_users")
        .iter()
        .map(|p| {
            (
                p["user"].as_str().unwrap_or_default().to_owned(),
                p["status"].as_str().unwrap_or_default().to_owned(),
                p["authorization_error"].clone(),
            )
        })
        .collect()
}

#[test]
fn an_end_user_is_added_connects_loses_it_is_renamed_and_is_removed() {
    let sim = Served::start(&[]);
    let scenario = Scenario::new(&file_with_users(&[("u1", "Ann")], ""));

    // Added: a shell per connection, and the user is pending (drift exits 3, never 2).
    apply(&sim, &scenario);
    let connections = user_connections(&sim);
    let names: Vec<&str> = connections.iter().map(|c| c.1.as_str()).collect();
    assert_eq!(names, ["Dropbox - Ann", "Dropbox - Ann - Get file"]);
    let drift = run(&sim, &scenario, &["drift", "--format", "json"]);
    assert_eq!(drift.code, 3, "{}", drift.transcript());
    assert_eq!(
        pending_statuses(&json_of(&drift)),
        [
            ("u1".into(), "never_connected".into(), Value::Null),
            ("u1".into(), "never_connected".into(), Value::Null)
        ]
    );

    // Connected in the widget: in sync, drift exits 0.
    for (_, _, id, _) in &connections {
        assert_eq!(
            sim.sim_post(&format!("/connections/{id}/authorize"), json!({})),
            200
        );
    }
    let drift = run(&sim, &scenario, &["drift"]);
    assert_eq!(drift.code, 0, "{}", drift.transcript());
    assert!(
        drift.stdout.starts_with("In sync"),
        "{}",
        drift.transcript()
    );

    // Revoked: pending again with Workato's error, distinguishable from never connected, and
    // nothing for apply to do (no create).
    let plain = connections[0].2;
    assert_eq!(
        sim.sim_post(
            &format!("/connections/{plain}/revoke"),
            json!({ "authorization_error": "revoked: token expired" })
        ),
        200
    );
    let drift = run(&sim, &scenario, &["drift"]);
    assert_eq!(drift.code, 3, "{}", drift.transcript());
    assert!(
        drift
            .stdout
            .contains("acme-001  u1  files-sync.dropbox again: revoked: token expired"),
        "{}",
        drift.transcript()
    );
    let plan = run(&sim, &scenario, &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}", plan.transcript());
    assert!(
        plan.stdout.contains(
            "… u1 has to authorize files-sync.dropbox again: revoked: token expired  (runtime_connection.pending)"
        ),
        "{}",
        plan.transcript()
    );
    assert!(!plan.stdout.contains("+ create"), "{}", plan.transcript());
    let plan = json_of(&run(&sim, &scenario, &["plan", "--format", "json"]));
    assert_eq!(
        pending_statuses(&plan),
        [(
            "u1".into(),
            "authorization_failed".into(),
            json!("revoked: token expired")
        )]
    );

    // Renamed: the same connections get the new name; none is created or deleted.
    rewrite(&scenario, &file_with_users(&[("u1", "Ann Smith")], ""));
    let plan = run(&sim, &scenario, &["plan"]);
    assert!(
        plan.stdout.contains(
            "~ update runtime connection files-sync.dropbox/u1  (runtime_connection.renamed)"
        ),
        "{}",
        plan.transcript()
    );
    assert!(
        plan.stdout
            .contains("name: \"Dropbox - Ann\" → \"Dropbox - Ann Smith\""),
        "{}",
        plan.transcript()
    );
    apply(&sim, &scenario);
    let renamed = user_connections(&sim);
    assert_eq!(
        renamed
            .iter()
            .map(|c| (c.1.as_str(), c.2))
            .collect::<Vec<_>>(),
        [
            ("Dropbox - Ann Smith", connections[0].2),
            ("Dropbox - Ann Smith - Get file", connections[1].2)
        ]
    );

    // Removed from the file: reported as not in the file, left alone, and not drift.
    rewrite(&scenario, &file_with_users(&[("u2", "Bo")], ""));
    apply(&sim, &scenario);
    let drift = run(&sim, &scenario, &["drift"]);
    assert_eq!(
        drift.code,
        3,
        "u2 is pending, u1 is unmanaged:\n{}",
        drift.transcript()
    );
    let plan = run(&sim, &scenario, &["plan"]);
    assert!(
        plan.stdout.contains(&format!(
            "runtime connection files-sync.dropbox/u1 of acme-001, id {}  (runtime_connection.unlisted)",
            connections[0].2
        )),
        "{}",
        plan.transcript()
    );
    assert_eq!(
        user_connections(&sim)
            .iter()
            .filter(|c| c.0 == "u1")
            .count(),
        2
    );

    // Pruned: disconnected, then deleted.
    rewrite(
        &scenario,
        &file_with_users(&[("u2", "Bo")], "    prune_runtime_users: true\n"),
    );
    let plan = run(&sim, &scenario, &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.transcript());
    assert!(
        plan.stdout.contains(
            "- delete runtime connection files-sync.dropbox/u1  (runtime_connection.unlisted)"
        ) && plan
            .stdout
            .contains("the end user's connection is disconnected and deleted"),
        "{}",
        plan.transcript()
    );
    let acme = customer(&sim.state(), "acme-001")["id"].clone();
    let seen = sim.log().len();
    apply(&sim, &scenario);
    let writes = writes_since(&sim, seen);
    for (_, _, id, _) in &connections {
        let disconnect = writes.iter().position(|w| {
            w == &format!("POST /api/managed_users/{acme}/connections/{id}/disconnect")
        });
        let delete = writes
            .iter()
            .position(|w| w == &format!("DELETE /api/managed_users/{acme}/connections/{id}"));
        assert!(
            matches!((disconnect, delete), (Some(d), Some(x)) if d < x),
            "connection {id} is disconnected, then deleted: {writes:#?}"
        );
    }
    assert!(user_connections(&sim).iter().all(|c| c.0 == "u2"));
    assert_converged(&run(&sim, &scenario, &["plan"]));
    assert_no_duplicates(&sim.state());
}

/// Sets up acme-001 with end user u1, then swaps their "Get file" connection for one made with
/// the default connection as parent: the trap. Returns the wrong connection's id.
fn with_wrong_parent(sim: &Served, scenario: &Scenario, keep_right: bool) -> u64 {
    apply(sim, scenario);
    let function = user_connections(sim)
        .into_iter()
        .find(|c| c.1.ends_with(" - Get file"))
        .expect("the Get file connection");
    let state = sim.state();
    let folder = objects(customer(&state, "acme-001"), "connections")
        .into_iter()
        .find(|c| c["id"] == function.2)
        .map(|c| c["folder_id"].clone())
        .expect("the connection's folder");
    if !keep_right {
        let (status, _) = sim.api(
            reqwest::Method::DELETE,
            &format!("/managed_users/Eacme-001/connections/{}", function.2),
            json!({}),
        );
        assert_eq!(status, 200);
    }
    let (status, created) = sim.api(
        reqwest::Method::POST,
        "/managed_users/Eacme-001/connections",
        json!({
            "name": "Dropbox - Ann - Get file",
            "provider": "dropbox",
            "parent_id": default_dropbox(sim),
            "external_id": "u1",
            "folder_id": folder,
            "shell_connection": true,
        }),
    );
    assert_eq!(status, 200, "{created}");
    let wrong = created["id"].as_u64().expect("the new connection's id");
    assert_eq!(
        sim.sim_post(&format!("/connections/{wrong}/authorize"), json!({})),
        200
    );
    wrong
}

#[test]
fn a_connection_with_the_wrong_parent_is_replaced_right_one_first() {
    let sim = Served::start(&[]);
    let scenario = Scenario::new(&file_with_users(&[("u1", "Ann")], ""));
    let wrong = with_wrong_parent(&sim, &scenario, false);

    let plan = run(&sim, &scenario, &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.transcript());
    for expected in [
        "-/+ replace runtime connection files-sync.dropbox/u1/Get file  (runtime_connection.wrong_parent)",
        "the end user has to connect again: the new connection starts unconnected",
        "… u1 has to authorize files-sync.dropbox (recipe function Get file) again: its connection is replaced",
    ] {
        assert!(
            plan.stdout.contains(expected),
            "{expected}\n{}",
            plan.transcript()
        );
    }
    let document = json_of(&run(&sim, &scenario, &["plan", "--format", "json"]));
    assert!(
        pending_statuses(&document).contains(&("u1".into(), "replaced".into(), Value::Null)),
        "{document:#}"
    );

    let seen = sim.log().len();
    apply(&sim, &scenario);
    let writes: Vec<String> = writes_since(&sim, seen);
    let create = writes
        .iter()
        .position(|w| w.starts_with("POST ") && w.ends_with("/connections"));
    let disconnect = writes
        .iter()
        .position(|w| w.ends_with(&format!("/connections/{wrong}/disconnect")));
    let delete = writes
        .iter()
        .position(|w| w.starts_with("DELETE ") && w.ends_with(&format!("/connections/{wrong}")));
    assert!(
        matches!((create, disconnect, delete), (Some(c), Some(d), Some(x)) if c < d && d < x),
        "create, then disconnect, then delete: {writes:#?}"
    );
    let function: Vec<_> = user_connections(&sim)
        .into_iter()
        .filter(|c| c.1.ends_with(" - Get file"))
        .collect();
    assert_eq!(function.len(), 1, "{function:?}");
    assert_ne!(function[0].2, wrong);
    assert_eq!(
        function[0].3, None,
        "a recipe function's connection has no parent"
    );
    assert_converged(&run(&sim, &scenario, &["plan"]));
    // The user has to connect again: pending, never connected.
    let drift = run(&sim, &scenario, &["drift"]);
    assert_eq!(drift.code, 3, "{}", drift.transcript());
}

#[test]
fn a_replace_cut_short_after_its_create_only_deletes_on_the_next_run() {
    // Both exist: the right connection (kept, authorized) and the wrong one, as when an apply
    // stopped between creating the new connection and deleting the old.
    let sim = Served::start(&[]);
    let scenario = Scenario::new(&file_with_users(&[("u1", "Ann")], ""));
    let wrong = with_wrong_parent(&sim, &scenario, true);
    for (_, _, id, _) in user_connections(&sim) {
        sim.sim_post(&format!("/connections/{id}/authorize"), json!({}));
    }
    let plan = run(&sim, &scenario, &["plan"]);
    assert!(
        plan.stdout.contains(
            "- delete runtime connection files-sync.dropbox/u1/Get file  (runtime_connection.wrong_parent)"
        ) && plan.stdout.contains("it has the wrong parent and the right one exists"),
        "{}",
        plan.transcript()
    );
    assert!(
        !plan.stdout.contains("has to authorize"),
        "the kept connection is authorized: nobody has to act\n{}",
        plan.transcript()
    );
    let seen = sim.log().len();
    apply(&sim, &scenario);
    let writes: Vec<String> = writes_since(&sim, seen);
    assert!(
        !writes
            .iter()
            .any(|w| w.starts_with("POST ") && w.ends_with("/connections")),
        "no second connection is created: {writes:#?}"
    );
    assert!(
        writes
            .iter()
            .any(|w| w.starts_with("DELETE ") && w.ends_with(&format!("/connections/{wrong}"))),
        "{writes:#?}"
    );
    assert_converged(&run(&sim, &scenario, &["plan"]));
    let drift = run(&sim, &scenario, &["drift"]);
    assert_eq!(drift.code, 0, "{}", drift.transcript());
}

#[test]
fn two_end_user_connections_of_one_connector_keep_to_their_own() {
    // "Dropbox - Ann" and "Dropbox Personal - Ann" are both Dropbox connections of u1: neither
    // may be taken for the other's (each would be "replaced" by the other on every run).
    let sim = Served::start(&[]);
    let dir = tempfile::tempdir().expect("temp dir");
    let package = dir.path().join("files-sync");
    crate::apply_e2e::copy_tree(
        &crate::context::repo_root().join("examples/quickstart/packages/files-sync"),
        &package,
    );
    std::fs::write(
        package.join("Files Sync/dropbox_personal.connection.json"),
        r#"{ "name": "Dropbox Personal", "provider": "dropbox", "root_folder": false }"#,
    )
    .expect("a second Dropbox connection");
    let manifest = files_sync_manifest("PARTNER_KEY").replace(
        &crate::context::repo_root()
            .join("examples/quickstart/packages/files-sync")
            .display()
            .to_string(),
        &package.display().to_string(),
    ) + "      dropbox_personal:\n        name: Dropbox Personal\n        provider: dropbox\n        runtime_users: true\n        parent: default\n";
    let file = |users: &str, extra: &str| {
        format!(
            "{manifest}customers:\n  - external_id: acme-001\n    name: Acme\n    notification_email: it@acme.example\n    manifests: [files-sync]\n{extra}    runtime_users:\n{users}"
        )
    };
    let both = "      - id: u1\n        name: Ann\n      - id: u2\n        name: Bo\n";
    let scenario = Scenario::new(&file(both, ""));
    apply(&sim, &scenario);
    assert_converged(&run(&sim, &scenario, &["plan"]));
    let before = user_connections(&sim);
    assert_eq!(
        before.iter().map(|c| c.1.as_str()).collect::<Vec<_>>(),
        [
            "Dropbox - Ann",
            "Dropbox - Ann - Get file",
            "Dropbox Personal - Ann",
            "Dropbox - Bo",
            "Dropbox - Bo - Get file",
            "Dropbox Personal - Bo"
        ]
    );
    for (_, _, id, _) in &before {
        sim.sim_post(&format!("/connections/{id}/authorize"), json!({}));
    }
    let seen = sim.log().len();
    apply(&sim, &scenario);
    assert_eq!(sim.writes_after(seen), Vec::<Value>::new());
    let drift = run(&sim, &scenario, &["drift"]);
    assert_eq!(drift.code, 0, "{}", drift.transcript());

    // u2 leaves: each of their three connections is reported once, by the connection it
    // belongs to; pruned, they go and u1's stay as they were.
    let only_ann = "      - id: u1\n        name: Ann\n";
    rewrite(&scenario, &file(only_ann, ""));
    let plan = run(&sim, &scenario, &["plan"]);
    for (key, name) in [
        ("files-sync.dropbox/u2 of acme-001", "Dropbox - Bo"),
        (
            "files-sync.dropbox/u2/Get file of acme-001",
            "Dropbox - Bo - Get file",
        ),
        (
            "files-sync.dropbox_personal/u2 of acme-001",
            "Dropbox Personal - Bo",
        ),
    ] {
        let id = before
            .iter()
            .find(|c| c.1 == name)
            .map(|c| c.2)
            .unwrap_or_default();
        let line = format!("runtime connection {key}, id {id}  (runtime_connection.unlisted)");
        assert_eq!(
            plan.stdout.matches(&line).count(),
            1,
            "{line}\n{}",
            plan.transcript()
        );
    }
    assert_eq!(
        plan.stdout.matches("(runtime_connection.unlisted)").count(),
        3,
        "{}",
        plan.transcript()
    );
    rewrite(
        &scenario,
        &file(only_ann, "    prune_runtime_users: true\n"),
    );
    apply(&sim, &scenario);
    assert_eq!(user_connections(&sim), before[..3].to_vec());
    assert_converged(&run(&sim, &scenario, &["plan"]));
}
