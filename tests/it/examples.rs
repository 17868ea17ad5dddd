//! Every bundled example validates, and says so in one line.

use crate::context::{repo_root, run_in};

#[test]
fn quickstart_validates() {
    let outcome = run_in(
        &repo_root(),
        &["validate", "-f", "examples/quickstart/embedctl.yaml"],
    );
    insta::assert_snapshot!(outcome.transcript());
}

#[test]
fn multi_manifest_validates() {
    let outcome = run_in(
        &repo_root(),
        &["validate", "-f", "examples/multi-manifest/embedctl.yaml"],
    );
    insta::assert_snapshot!(outcome.transcript());
}

#[test]
fn custom_connector_validates() {
    let outcome = run_in(
        &repo_root(),
        &["validate", "-f", "examples/custom-connector/embedctl.yaml"],
    );
    insta::assert_snapshot!(outcome.transcript());
}

#[test]
fn every_example_starts_with_the_schema_line() {
    let examples = repo_root().join("examples");
    let mut checked = 0;
    for entry in std::fs::read_dir(&examples).expect("examples/ exists") {
        let file = entry.expect("readable entry").path().join("embedctl.yaml");
        if !file.exists() {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("readable example");
        assert!(
            text.starts_with(
                "# yaml-language-server: $schema=../../schemas/embedctl.schema.json\n"
            ),
            "{} must start with the yaml-language-server line",
            file.display()
        );
        let outcome = run_in(
            &repo_root(),
            &["validate", "-f", file.to_str().expect("utf-8 path")],
        );
        assert_eq!(outcome.code, 0, "{}", outcome.transcript());
        checked += 1;
    }
    assert!(
        checked >= 3,
        "expected at least three examples, found {checked}"
    );
}

#[test]
fn default_file_is_embedctl_yaml_in_the_current_folder() {
    let outcome = run_in(&repo_root().join("examples/quickstart"), &["validate"]);
    assert_eq!(outcome.code, 0, "{}", outcome.transcript());
    let outcome = run_in(&repo_root().join("tests"), &["validate"]);
    insta::assert_snapshot!(outcome.transcript());
}
