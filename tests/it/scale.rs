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

/// `customers` customers of the files-sync manifest with `users` end users each.
fn fleet(customers: usize, users: usize) -> String {
    let mut yaml = files_sync_manifest("PARTNER_KEY");
    yaml.push_str("customers:\n");
    for c in 1..=customers {
        yaml.push_str(&format!(
            "  - external_id: c{c:03}\n    name: Customer {c}\n    notification_email: it@c{c:03}.example\n    manifests: [files-sync]\n    runtime_users:\n"
        ));
        for u in 1..=users {
            yaml.push_str(&format!("      - id: c{c:03}-u{u:02}\n"));
        }
    }
    yaml
}

/// The simulator's admitted calls per family since `before`.
fn calls_since(
    sim: &Served,
    before: &serde_json::Value,
) -> std::collections::BTreeMap<String, u64> {
    let now = sim.sim_get("/stats");
    let mut calls = std::collections::BTreeMap::new();
    if let Some(families) = now["calls"].as_object() {
        for (family, count) in families {
            let earlier = before["calls"][family].as_u64().unwrap_or(0);
            let delta = count.as_u64().unwrap_or(0) - earlier;
            if delta > 0 {
                calls.insert(family.clone(), delta);
            }
        }
    }
    calls
}

fn counts(pairs: &[(&str, u64)]) -> std::collections::BTreeMap<String, u64> {
    pairs.iter().map(|(f, n)| ((*f).to_owned(), *n)).collect()
}

#[test]
fn the_calls_of_a_fleet_are_exactly_these() {
    // 50 customers × 20 end users × 2 connections each, onboarded from an empty account and then
    // planned: the calls per endpoint family are exact, so a regression in calls fails here.
    // Both clocks run 1,000 times faster than Workato's, so the test takes seconds.
    let sim = Served::start_scaled("1000", &[]);
    let scenario = Scenario::new(&fleet(50, 20));
    let env = ENV;

    let before = sim.sim_get("/stats");
    let applied = sim.run(
        scenario.dir(),
        &["apply", "-f", scenario.file(), "--auto-approve"],
        &env,
    );
    assert_eq!(applied.code, 0, "{}", applied.transcript());
    // Requests answered 429 are not counted (their retries are): the counts do not depend on
    // how exactly the client paced itself, which the benchmark measures.
    assert_eq!(
        calls_since(&sim, &before),
        // Per customer: its create, its project, the import and two status reads (the
        // simulator answers `in_progress` once), a connections list and the recipes (one page:
        // fewer than ten) after the import and again for the phase-4 gate, one credential update,
        // two recipe starts, ONE properties upsert, and 40 end-user connections. Plus the
        // customers list of an empty account: one empty page.
        counts(&[
            ("connections", 50 * (1 + 40)),
            ("connections_list", 50 * 2),
            ("customers", 1),
            ("customers_create", 50),
            ("folders", 50),
            ("imports_create", 50),
            ("imports_status", 50 * 2),
            ("properties_upsert", 50),
            ("recipes", 50 * 2),
            ("recipes_read", 50 * 2),
        ])
    );

    // Two waves: every customer's recipes were started before the first end-user connection.
    let log = sim.log();
    let last_start = log.iter().rposition(|e| {
        e["method"] == "PUT" && e["path"].as_str().is_some_and(|p| p.ends_with("/start"))
    });
    let first_end_user = log.iter().position(|e| {
        e["method"] == "POST"
            && e["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("/connections"))
            && e["status"] == 200
    });
    assert!(
        matches!((last_start, first_end_user), (Some(s), Some(u)) if s < u),
        "recipes started at {last_start:?}, end users' connections from {first_end_user:?}"
    );

    let before = sim.sim_get("/stats");
    let plan = sim.run(scenario.dir(), &["plan", "-f", scenario.file()], &env);
    assert_converged(&plan);
    // One customers page per 100 customers and the empty page that ends the list (a page of 50
    // may be a server's full page); per customer one connections list, one recipes page (fewer
    // than ten recipes end the list) and the properties.
    assert_eq!(
        calls_since(&sim, &before),
        counts(&[
            ("connections_list", 50),
            ("customers", 2),
            ("properties_list", 50),
            ("recipes_read", 50),
        ])
    );
}

/// Reads `apply --format json` events from `stdout` until one matches `wanted`.
fn wait_for_event(
    lines: &mut impl Iterator<Item = std::io::Result<String>>,
    wanted: impl Fn(&serde_json::Value) -> bool,
) -> Vec<serde_json::Value> {
    let mut seen = Vec::new();
    for line in lines {
        let Ok(line) = line else { break };
        let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        let found = wanted(&event);
        seen.push(event);
        if found {
            return seen;
        }
    }
    panic!("apply ended before the awaited event: {seen:#?}");
}

#[test]
fn an_interrupted_apply_finishes_what_is_in_flight_saves_and_the_next_run_continues() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let scenario = Scenario::new(&customer_with_users(20));
    let state = scenario.path("state.json");
    let state_arg = state.to_str().expect("UTF-8 path");
    // At Workato's own limits (x1) the 40 end-user connections take 40 s: plenty of time to
    // interrupt the run after its first one.
    let args = [
        "apply",
        "-f",
        scenario.file(),
        "--sim",
        state_arg,
        "--auto-approve",
        "--format",
        "json",
    ];
    let slow = [ENV[0], ("EMBEDCTL_TIME_SCALE", "1")];
    let mut child = crate::context::command(scenario.dir(), &args, &slow)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("embedctl starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    wait_for_event(&mut lines, |event| {
        event["event"] == "change_done" && event["kind"] == "runtime_connection"
    });
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let rest: Vec<serde_json::Value> = lines
        .map_while(Result::ok)
        .filter_map(|line| serde_json::from_str(&line).ok())
        .collect();
    let output = child.wait_with_output().expect("apply ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("Interrupted: no new change starts"),
        "{stderr}"
    );
    let stopped = rest
        .iter()
        .find(|event| event["event"] == "stopped")
        .unwrap_or_else(|| panic!("no stopped event: {rest:#?}"));
    assert_eq!(stopped["because"], "interrupted");
    assert!(stopped["left"].as_u64().unwrap_or(0) > 0, "{stopped}");

    // What was done before the interruption was saved: the next run only continues.
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).expect("the state was saved"))
            .expect("state JSON");
    assert_no_duplicates(&saved);
    let fast = [ENV[0], ("EMBEDCTL_TIME_SCALE", "1000000")];
    let again = crate::context::run(scenario.dir(), &args[..6], &fast);
    assert_eq!(again.code, 0, "{}", again.transcript());
    assert!(
        again.stdout.contains("create runtime connection")
            && !again.stdout.contains("create customer"),
        "the customer made before the interruption was kept, and only the rest is done:\n{}",
        again.transcript()
    );
    let plan = crate::context::run(
        scenario.dir(),
        &["plan", "-f", scenario.file(), "--sim", state_arg],
        &fast,
    );
    assert_converged(&plan);
}

#[test]
fn apply_refuses_a_sim_state_it_could_not_save_before_doing_anything() {
    let scenario = Scenario::new(&customer_with_users(1));
    let outcome = crate::context::run(
        scenario.dir(),
        &[
            "apply",
            "-f",
            scenario.file(),
            "--sim",
            "no-such-folder/state.json",
            "--auto-approve",
        ],
        &ENV,
    );
    assert_eq!(outcome.code, 1, "{}", outcome.transcript());
    assert!(
        outcome.stderr.contains(
            "`--sim no-such-folder/state.json`: the folder `no-such-folder` does not exist"
        ),
        "{}",
        outcome.transcript()
    );
    assert!(
        !outcome.stderr.contains("Apply:"),
        "{}",
        outcome.transcript()
    );
}
