//! Apply at scale: `--max-duration` stops a run between changes and the next run continues,
//! with nothing done twice.

use crate::apply_e2e::{
    Scenario, Served, assert_converged, assert_no_duplicates, files_sync_manifest,
};

const ENV: [(&str, &str); 1] = [("PARTNER_KEY", "partner-key")];

/// One customer with `users` end users (two connections each: plain and "Get file").
fn customer_with_users(users: usize) -> String {
    let mut yaml = files_sync_manifest("PARTNER_KEY");
    yaml.push_str(
        "customers:\n  - external_id: acme-001\n    name: Acme\n    notification_email: it@acme.example\n    manifests: [files-sync]\n    runtime_users:\n",
    );
    for user in 1..=users {
        yaml.push_str(&format!("      - id: u{user:03}\n"));
    }
    yaml
}

#[test]
fn max_duration_stops_between_changes_and_the_next_run_continues() {
    // Every request takes 100 ms, so 40 end-user connections take seconds: a 3-second budget
    // ends each run with work left.
    let sim = Served::start(&["--latency-ms", "100"]);
    let scenario = Scenario::new(&customer_with_users(20));
    let mut stopped = 0;
    let mut runs = 0;
    loop {
        runs += 1;
        assert!(runs <= 8, "apply never finished within 8 runs");
        let outcome = sim.run(
            scenario.dir(),
            &[
                "apply",
                "-f",
                scenario.file(),
                "--auto-approve",
                "--max-duration",
                "3s",
            ],
            &ENV,
        );
        let summary = outcome.stderr.lines().last().unwrap_or_default().to_owned();
        match outcome.code {
            4 => {
                stopped += 1;
                assert!(
                    outcome.stderr.contains("Stopped at --max-duration: ")
                        && summary.contains("left (stopped at --max-duration)")
                        && summary.contains(" 0 failed, 0 skipped"),
                    "{}",
                    outcome.transcript()
                );
            }
            0 => {
                assert!(!summary.contains("left"), "{}", outcome.transcript());
                break;
            }
            _ => panic!("{}", outcome.transcript()),
        }
        assert_no_duplicates(&sim.state());
    }
    assert!(stopped >= 1, "the budget never stopped a run");
    let plan = sim.run(scenario.dir(), &["plan", "-f", scenario.file()], &ENV);
    assert_converged(&plan);
    assert_no_duplicates(&sim.state());
}

#[test]
fn a_stopped_run_says_so_in_json_and_exits_4() {
    let sim = Served::start(&["--latency-ms", "100"]);
    let scenario = Scenario::new(&customer_with_users(20));
    let outcome = sim.run(
        scenario.dir(),
        &[
            "apply",
            "-f",
            scenario.file(),
            "--auto-approve",
            "--format",
            "json",
            "--max-duration",
            "2s",
        ],
        &ENV,
    );
    assert_eq!(outcome.code, 4, "{}", outcome.transcript());
    let events: Vec<serde_json::Value> = outcome
        .stdout
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    let stopped = events
        .iter()
        .find(|e| e["event"] == "stopped")
        .unwrap_or_else(|| panic!("no stopped event:\n{}", outcome.stdout));
    let summary = events.last().expect("a summary");
    assert_eq!(summary["event"], "summary");
    assert_eq!(summary["left"], stopped["left"]);
    assert!(summary["left"].as_u64().unwrap_or(0) > 0);
    let done = events
        .iter()
        .filter(|e| e["event"] == "change_done")
        .count() as u64;
    let planned = events
        .iter()
        .find(|e| e["event"] == "apply_start")
        .and_then(|e| e["changes"].as_u64())
        .unwrap_or(0);
    assert_eq!(
        done + summary["left"].as_u64().unwrap_or(0),
        planned,
        "{}",
        outcome.stdout
    );
}

#[test]
fn a_duration_that_is_not_one_is_refused_naming_the_flag() {
    let scenario = Scenario::new(&customer_with_users(1));
    let outcome = crate::context::run(
        scenario.dir(),
        &["apply", "-f", scenario.file(), "--max-duration", "5 hours"],
        &[],
    );
    assert_eq!(outcome.code, 1, "{}", outcome.transcript());
    assert!(
        outcome.stderr.contains("--max-duration") && outcome.stderr.contains("is not a duration"),
        "{}",
        outcome.transcript()
    );
}

#[test]
fn a_run_killed_between_its_import_and_its_record_only_costs_redundant_work() {
    // Properties are written once per customer, after the import and the credentials: a run
    // killed before that write leaves an imported package with no digest recorded. The next run
    // imports it again (its recipes are still stopped) and converges; nothing is blocked,
    // wrong or duplicated.
    let sim = Served::start(&["--latency-ms", "50"]);
    let scenario = Scenario::new(&customer_with_users(2));
    let args = ["apply", "-f", scenario.file(), "--auto-approve"];
    let is_import = |entry: &serde_json::Value| {
        entry["method"] == "POST"
            && entry["path"]
                .as_str()
                .is_some_and(|p| p.contains("/imports"))
    };
    let is_record = |entry: &serde_json::Value| {
        entry["method"] == "POST"
            && entry["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("/properties"))
    };
    let mut child = sim.spawn(scenario.dir(), &args, &ENV);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !sim.writes_after(0).iter().any(is_import) {
        assert!(std::time::Instant::now() < deadline, "no import");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    crate::apply_e2e::kill_mid_run(&mut child);
    let killed = sim.writes_after(0);
    assert!(
        !killed.iter().any(is_record),
        "the kill came after the record: {killed:#?}"
    );

    let seen = sim.log().len();
    let rerun = sim.run(scenario.dir(), &args, &ENV);
    assert_eq!(rerun.code, 0, "{}", rerun.transcript());
    let writes = sim.writes_after(seen);
    assert_eq!(
        writes.iter().filter(|w| is_import(w)).count(),
        1,
        "the package is imported again: {writes:#?}"
    );
    assert_eq!(
        writes.iter().filter(|w| is_record(w)).count(),
        1,
        "one record for the customer: {writes:#?}"
    );
    assert_converged(&sim.run(scenario.dir(), &["plan", "-f", scenario.file()], &ENV));
    assert_no_duplicates(&sim.state());
}
