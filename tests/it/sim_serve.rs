//! `embedctl sim serve` as a user runs it: the binary prints its URL, serves real HTTP, and saves
//! the state when stopped with SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[tokio::test]
async fn serve_prints_its_url_and_saves_state_on_sigterm() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("state.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_embedctl"))
        .args([
            "sim",
            "serve",
            "--drop-after-commit",
            "customers_create=1",
            "--state",
        ])
        .arg(&state)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("embedctl starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut first_line = String::new();
    BufReader::new(stdout)
        .read_line(&mut first_line)
        .expect("the URL line");
    let base = first_line.trim().to_owned();
    assert!(
        base.starts_with("http://127.0.0.1:") && base.ends_with("/api"),
        "unexpected first line {base:?}"
    );

    let client = reqwest::Client::new();
    let created = client
        .post(format!("{base}/managed_users"))
        .bearer_auth("any-token")
        .json(&serde_json::json!({
            "name": "Acme Corp",
            "notification_email": "it@acme.example",
            "external_id": "acme-001"
        }))
        .send()
        .await;
    assert!(
        created.is_err(),
        "the first create's response is dropped after commit: {created:?}"
    );
    let found = client
        .get(format!("{base}/managed_users/Eacme-001"))
        .bearer_auth("any-token")
        .send()
        .await
        .expect("the simulator answers");
    assert_eq!(found.status().as_u16(), 200, "the create was committed");
    let unauthorized = client
        .get(format!("{base}/managed_users"))
        .send()
        .await
        .expect("the simulator answers");
    assert_eq!(unauthorized.status().as_u16(), 401);

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = child.wait().expect("embedctl exits");
    assert_eq!(status.code(), Some(0));
    let saved = std::fs::read_to_string(&state).expect("the state file was written");
    let saved: serde_json::Value = serde_json::from_str(&saved).expect("state is JSON");
    let customers = saved["customers"].as_object().expect("customers map");
    assert_eq!(customers.len(), 1);
    let customer = customers.values().next().expect("one customer");
    assert_eq!(customer["external_id"], "acme-001");
}

#[test]
fn serve_refuses_bad_flag_values() {
    let output = Command::new(env!("CARGO_BIN_EXE_embedctl"))
        .args(["sim", "serve", "--fail-rate", "2"])
        .output()
        .expect("embedctl runs");
    assert_eq!(output.status.code(), Some(1), "a bad flag value is exit 1");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--fail-rate"), "{stderr}");
    assert!(
        stderr.contains("not a probability between 0 and 1"),
        "{stderr}"
    );
}
