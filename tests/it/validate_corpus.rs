//! The bad-input corpus: every file under `tests/bad/` must be refused with exit 1, a diagnostic
//! at the right `FILE:LINE:COL`, and no panic. Each file's first line says where the caret must be
//! (`# expect: LINE:COL[, LINE:COL…]`, or `PATH:LINE:COL` for a problem inside a package file).

use std::path::{Path, PathBuf};

use crate::context::{Outcome, repo_root, run_in};

fn corpus_dir() -> PathBuf {
    repo_root().join("tests/bad")
}

fn corpus_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("tests/bad exists")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    files
}

/// The positions the file's first line promises; an empty file promises `1:1`.
fn expected_positions(file: &Path) -> Vec<String> {
    let bytes = std::fs::read(file).expect("readable corpus file");
    let text = String::from_utf8_lossy(&bytes);
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .expect("utf-8 name")
        .to_owned();
    let Some(first) = text.lines().next() else {
        return vec![format!("{name}:1:1")];
    };
    let list = first
        .trim_start_matches('\u{feff}')
        .strip_prefix("# expect: ")
        .unwrap_or_else(|| panic!("{name}: first line must be `# expect: LINE:COL`"));
    list.split(", ")
        .map(|position| {
            if position.matches(':').count() == 2 {
                position.to_owned()
            } else {
                format!("{name}:{position}")
            }
        })
        .collect()
}

fn check(file: &Path) -> Outcome {
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .expect("utf-8 name");
    let outcome = run_in(&corpus_dir(), &["validate", "-f", name]);
    assert_eq!(
        outcome.code,
        1,
        "{name}: expected exit 1\n{}",
        outcome.transcript()
    );
    assert!(
        !outcome.stderr.contains("panicked"),
        "{name} panicked\n{}",
        outcome.stderr
    );
    assert!(
        outcome.stdout.is_empty(),
        "{name}: nothing on stdout\n{}",
        outcome.transcript()
    );
    for position in expected_positions(file) {
        assert!(
            outcome.stderr.contains(&format!("[{position}]")),
            "{name}: expected a diagnostic at {position}\n{}",
            outcome.stderr
        );
    }
    outcome
}

#[test]
fn every_bad_file_is_refused_at_the_right_place() {
    let files = corpus_files();
    assert!(
        files.len() >= 30,
        "the corpus has only {} files",
        files.len()
    );
    for file in files {
        let outcome = check(&file);
        let stem = file
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("utf-8 name");
        insta::assert_snapshot!(format!("bad__{stem}"), outcome.transcript());
    }
}

/// Every corpus file that holds the canary (a literal secret in some shape) must not show it.
#[test]
fn a_literal_secret_never_reaches_the_output() {
    let mut checked = 0;
    for file in corpus_files() {
        let bytes = std::fs::read(&file).expect("readable corpus file");
        if !String::from_utf8_lossy(&bytes).contains("CANARY") {
            continue;
        }
        checked += 1;
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 name");
        let outcome = run_in(&corpus_dir(), &["validate", "-f", name]);
        assert_eq!(outcome.code, 1, "{name}");
        assert!(
            !outcome.stderr.contains("CANARY") && !outcome.stdout.contains("CANARY"),
            "{name}: the literal secret leaked\n{}",
            outcome.stderr
        );
    }
    assert!(checked >= 9, "only {checked} canary files");
}

/// Many aliases are normal: 1,001 customers sharing defaults through a merge key validate.
#[test]
fn many_aliases_are_not_an_alias_bomb() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut text = String::from(
        "version: 1
defaults: &defaults
  notification_email: it@example.com
",
    );
    text = text.replace(
        "defaults: &defaults\n  notification_email: it@example.com\n",
        "",
    );
    text.push_str("customers:\n");
    for customer in 0..1_001 {
        if customer == 0 {
            text.push_str(&format!("  - &first\n    external_id: c-{customer}\n    name: C\n    notification_email: it@example.com\n"));
        } else {
            text.push_str(&format!("  - <<: *first\n    external_id: c-{customer}\n"));
        }
    }
    std::fs::write(dir.path().join("aliases.yaml"), &text).expect("write");
    let outcome = run_in(dir.path(), &["validate", "-f", "aliases.yaml"]);
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    assert_eq!(
        outcome.stdout,
        "1001 customers, 0 manifests, 0 runtime users: valid\n"
    );
}

/// Prints how long each corpus file takes (each should take well under a second). A benchmark, not a
/// test: run `cargo test --release --test it -- --ignored corpus_timings --nocapture`.
#[test]
#[ignore = "benchmark: prints timings, asserts nothing about speed"]
fn corpus_timings() {
    for file in corpus_files() {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 name");
        let started = std::time::Instant::now();
        let outcome = run_in(&corpus_dir(), &["validate", "-f", name]);
        println!(
            "{:>8.1} ms  exit {}  {name}",
            started.elapsed().as_secs_f64() * 1e3,
            outcome.code
        );
    }
}

/// A large file (about 5 MB: 1,000 customers of 100 end users) whose one error is at its end: the
/// line number must still be exact.
#[test]
fn five_megabyte_file_reports_the_error_at_its_end() {
    let dir = tempfile::tempdir().expect("temp dir");
    let package = repo_root().join("examples/quickstart/packages/files-sync");
    let mut text = format!(
        "version: 1\nmanifests:\n  files-sync:\n    package: \"{}\"\n    folder: Files Sync\n    connections:\n      partner_app:\n        name: PartnerApp\n        provider: partner_app\n        credentials:\n          api_key: {{ env: PARTNER_API_KEY }}\n      dropbox:\n        name: Dropbox\n        provider: dropbox\n        runtime_users: true\n        recipe_functions: [Get file]\ncustomers:\n",
        package.display()
    );
    for customer in 0..1_000 {
        text.push_str(&format!(
            "  - external_id: customer-{customer:05}\n    name: Customer number {customer}\n    notification_email: it@customer-{customer}.example\n    manifests: [files-sync]\n    runtime_users:\n"
        ));
        for user in 0..100 {
            text.push_str(&format!(
                "      - id: user-{customer:05}-{user:03}@customer-{customer}.example\n        name: User {user}\n"
            ));
        }
    }
    let line = text.lines().count() + 1;
    text.push_str("  - external_id: customer-00999\n    name: Again\n    notification_email: it@again.example\n");
    assert!(text.len() > 5_000_000, "only {} bytes", text.len());
    std::fs::write(dir.path().join("big.yaml"), &text).expect("write big file");
    let outcome = run_in(dir.path(), &["validate", "-f", "big.yaml"]);
    assert_eq!(outcome.code, 1, "{}", outcome.stderr);
    assert!(
        outcome.stderr.contains(&format!("[big.yaml:{line}:18]")),
        "expected the duplicate at line {line}\n{}",
        outcome.stderr
    );
    assert!(
        outcome
            .stderr
            .contains("duplicate customer external_id `customer-00999`")
    );
    assert!(
        outcome.stderr.ends_with("is not valid: 1 error\n"),
        "{}",
        outcome.stderr
    );
}

/// The 1-based line and column (ASCII text) of the first `needle` in `text`: where the caret of
/// a generated file's diagnostic must be.
fn position_of(text: &str, needle: &str) -> (usize, usize) {
    let offset = text.find(needle).expect("the needle is in the text");
    let line_start = text[..offset].rfind('\n').map_or(0, |index| index + 1);
    (
        text[..offset].matches('\n').count() + 1,
        offset - line_start + 1,
    )
}

/// A 20 MB `name` is an error at its place, and the report stays small: the message gives the
/// length, not the value, and the snippet shows a window of the line, not the line.
#[test]
fn a_twenty_megabyte_name_is_a_short_report_at_its_place() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = format!(
        "version: 1\ncustomers:\n  - external_id: acme-001\n    name: {}\n    notification_email: it@acme.example\n",
        "n".repeat(20_000_000)
    );
    std::fs::write(dir.path().join("huge.yaml"), &text).expect("write");
    let outcome = run_in(dir.path(), &["validate", "-f", "huge.yaml"]);
    assert_eq!(
        outcome.code,
        1,
        "{}",
        &outcome.stderr[..outcome.stderr.len().min(2_000)]
    );
    assert!(
        outcome.stderr.len() < 2_000,
        "{} bytes of diagnostics",
        outcome.stderr.len()
    );
    assert!(
        outcome.stderr.contains("[huge.yaml:4:11]"),
        "{}",
        outcome.stderr
    );
    insta::assert_snapshot!(outcome.transcript());
}

/// Every place that repeats a value in a message, or shows the line it is on, cuts it short: a
/// megabyte-long value in each of them still gives a report of a few lines, at the right place.
#[test]
fn megabyte_values_are_quoted_short_everywhere() {
    let long = |c: &str| c.repeat(1_000_000);
    let customer = |external_id: &str| {
        format!(
            "  - external_id: {external_id}\n    name: A\n    notification_email: it@a.example\n"
        )
    };
    let cases = [
        // Twice the same over-long external_id: two length errors and a duplicate that quotes it.
        (
            format!(
                "version: 1\ncustomers:\n{}{}",
                customer(&long("d")),
                customer(&long("d"))
            ),
            "dddd",
        ),
        // An over-long manifest key that is not [a-z0-9_-]+ either (YAML wants a key of more
        // than 1,024 characters written as an explicit `? KEY`).
        (
            format!(
                "version: 1\nmanifests:\n  ? {}\n  : package: p\n    folder: F\n",
                long("K")
            ),
            "KKKK",
        ),
        // An unknown region, which the YAML reader's message repeats.
        (
            format!("version: 1\nworkato:\n  region: {}\n", long("r")),
            "rrrr",
        ),
        // An unknown key.
        (format!("version: 1\n? {}\n: 1\n", long("u")), "uuuu"),
        // A duplicate key, in a flow mapping whose error is a megabyte into the line.
        (
            format!(
                "version: 1\nworkato: {{ vendor_id: {}, vendor_id: v }}\n",
                long("x")
            ),
            "vendor_id: v",
        ),
        // A literal secret: quoted nowhere, and masked in the snippet.
        (
            format!(
                "version: 1\nmanifests:\n  m:\n    package: p\n    folder: F\n    connections:\n      c:\n        name: C\n        provider: p\n        credentials:\n          api_key: {}\n",
                long("S")
            ),
            "SSSS",
        ),
    ];
    let dir = tempfile::tempdir().expect("temp dir");
    for (index, (text, needle)) in cases.iter().enumerate() {
        let name = format!("case-{index}.yaml");
        std::fs::write(dir.path().join(&name), text).expect("write");
        let outcome = run_in(dir.path(), &["validate", "-f", &name]);
        let shown = &outcome.stderr[..outcome.stderr.len().min(4_000)];
        assert_eq!(outcome.code, 1, "{name}\n{shown}");
        assert!(
            outcome.stderr.len() < 8_000,
            "{name}: {} bytes of diagnostics\n{shown}",
            outcome.stderr.len()
        );
        let (line, column) = position_of(text, needle);
        assert!(
            outcome
                .stderr
                .contains(&format!("[{name}:{line}:{column}]")),
            "{name}: expected a diagnostic at {line}:{column}\n{shown}"
        );
        assert!(
            !outcome.stderr.contains("SSSS"),
            "{name}: the secret leaked\n{shown}"
        );
    }
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let outcome = run_in(&corpus_dir(), &["validate", "-f", "no-such-file.yaml"]);
    insta::assert_snapshot!(outcome.transcript());
}

#[test]
fn a_folder_is_not_a_file() {
    let outcome = run_in(&corpus_dir(), &["validate", "-f", "packages"]);
    insta::assert_snapshot!(outcome.transcript());
}

#[test]
fn a_bad_flag_is_exit_1_and_names_the_flag() {
    let outcome = run_in(&corpus_dir(), &["validate", "--fiel", "x.yaml"]);
    assert_eq!(outcome.code, 1, "{}", outcome.transcript());
    assert!(outcome.stderr.contains("--fiel"), "{}", outcome.stderr);
    let help = run_in(&corpus_dir(), &["validate", "--help"]);
    assert_eq!(help.code, 0, "{}", help.transcript());
}
