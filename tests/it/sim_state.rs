//! Simulator state files that are not what they claim to be: `--sim /dev/zero`, a JSON array,
//! an empty or oversized file, a state whose id sequence would repeat or has run out. Each is
//! refused with a clear error, and a file that did not load is never overwritten.

use std::path::Path;

use embedctl::sim::{AccountState, ID_HEADROOM, MAX_ID, MAX_STATE_FILE_BYTES, SimOptions};
use serde_json::json;

use crate::context::{repo_root, run_in};
use crate::sim_context::SimContext;

fn quickstart_file() -> String {
    repo_root()
        .join("examples/quickstart/embedctl.yaml")
        .display()
        .to_string()
}

/// `plan` and `apply --auto-approve` against `state`: both exit 1 with `expected` in stderr, and
/// `state` is byte for byte what it was.
fn assert_refused(state: &Path, expected: &str) {
    let before = std::fs::metadata(state)
        .ok()
        .filter(|m| m.is_file())
        .map(|_| std::fs::read(state).expect("read the state"));
    let state_arg = state.display().to_string();
    let file = quickstart_file();
    for args in [
        vec!["plan", "-f", &file, "--sim", &state_arg],
        vec!["apply", "-f", &file, "--auto-approve", "--sim", &state_arg],
    ] {
        let outcome = run_in(&repo_root(), &args);
        assert_eq!(outcome.code, 1, "{args:?}\n{}", outcome.transcript());
        assert!(
            outcome
                .stderr
                .contains(&format!("`{state_arg}` is not a simulator state file"))
                && outcome.stderr.contains(expected),
            "{args:?}\n{}",
            outcome.transcript()
        );
        assert!(outcome.stdout.is_empty(), "{}", outcome.transcript());
    }
    if let Some(before) = before {
        assert_eq!(
            std::fs::read(state).expect("read the state"),
            before,
            "a state that did not load was overwritten"
        );
    }
}

#[test]
fn a_device_is_refused_without_being_read() {
    assert_refused(Path::new("/dev/zero"), "not a regular file");
}

#[test]
fn a_fifo_is_refused_without_waiting_for_a_writer() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("state.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    assert_refused(&fifo, "not a regular file");
}

#[test]
fn json_that_is_not_a_state_object_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text, expected) in [
        ("array.json", "[]\n", "expected a JSON object"),
        ("null.json", "null", "expected a JSON object"),
        ("empty.json", "", "the file is empty"),
        ("blank.json", "  \n", "the file is empty"),
        ("other.json", r#"{"users": []}"#, "unknown field `users`"),
        ("cut.json", r#"{"next_id": 1002, "customers": {"#, "EOF"),
    ] {
        let state = dir.path().join(name);
        std::fs::write(&state, text).expect("write");
        assert_refused(&state, expected);
    }
}

#[test]
fn a_state_file_larger_than_the_limit_is_refused_without_being_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("huge.json");
    // Sparse: no disk is used, and nothing may read it.
    let file = std::fs::File::create(&state).expect("create");
    file.set_len(MAX_STATE_FILE_BYTES + 1).expect("grow");
    drop(file);
    assert_eq!(MAX_STATE_FILE_BYTES, 1 << 30);
    let outcome = run_in(
        &repo_root(),
        &[
            "plan",
            "-f",
            &quickstart_file(),
            "--sim",
            &state.display().to_string(),
        ],
    );
    assert_eq!(outcome.code, 1, "{}", outcome.transcript());
    assert!(
        outcome.stderr.contains("larger than 1024 MiB"),
        "{}",
        outcome.transcript()
    );
}

#[test]
fn a_state_whose_ids_would_repeat_or_run_out_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let at_the_end = dir.path().join("at-the-end.json");
    std::fs::write(
        &at_the_end,
        json!({ "next_id": u64::MAX, "clock": 0, "customers": {} }).to_string(),
    )
    .expect("write");
    assert_refused(&at_the_end, "ids would run out or repeat");

    // The bundled example, with its sequence moved back below ids it already holds.
    let mut example: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("examples/quickstart/workato-state.json"))
            .expect("the example state"),
    )
    .expect("JSON");
    example["next_id"] = json!(1_002);
    let behind = dir.path().join("behind.json");
    std::fs::write(&behind, example.to_string()).expect("write");
    assert_refused(&behind, "already holds id");
}

#[tokio::test]
async fn a_simulator_out_of_ids_refuses_writes_instead_of_reusing_an_id() {
    let account = AccountState {
        next_id: MAX_ID - ID_HEADROOM + 1,
        ..AccountState::default()
    };
    let ctx = SimContext::start_with(account, SimOptions::default()).await;
    let (status, body) = ctx
        .send_json(
            reqwest::Method::POST,
            "/managed_users",
            json!({ "name": "A", "notification_email": "a@example.com", "external_id": "a" }),
        )
        .await;
    assert_eq!(status, 500, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|message| message.contains("run out of ids")),
        "{body}"
    );
    let state = ctx.sim_get("/state").await;
    assert_eq!(state["customers"], json!({}), "nothing was created");
    // Reads still work.
    let (status, _) = ctx.get("/managed_users").await;
    assert_eq!(status, 200);
}
