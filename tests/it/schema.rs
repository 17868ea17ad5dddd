//! The committed JSON Schema is exactly what `embedctl schema` prints.

use crate::context::{repo_root, run_in};

#[test]
fn committed_schema_is_current() {
    let committed = std::fs::read_to_string(repo_root().join("schemas/embedctl.schema.json"))
        .unwrap_or_default();
    let generated = embedctl::commands::desired_file_schema().expect("the schema renders");
    assert!(
        committed == generated,
        "schemas/embedctl.schema.json is stale; regenerate it with\n\n    cargo run -- schema > schemas/embedctl.schema.json\n"
    );
    let outcome = run_in(&repo_root(), &["schema"]);
    assert_eq!(outcome.code, 0);
    assert_eq!(outcome.stdout, generated);
}
