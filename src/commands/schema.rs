//! `embedctl schema`: the JSON Schema of the desired-state file, generated from its Rust types.

use crate::cli::ExitStatus;
use crate::spec::DesiredFile;

/// The schema as pretty JSON with a trailing newline: exactly the committed
/// `schemas/embedctl.schema.json`.
pub fn desired_file_schema() -> String {
    let schema = schemars::schema_for!(DesiredFile);
    let mut text = serde_json::to_string_pretty(&schema)
        .unwrap_or_else(|error| format!("{{\"error\": \"{error}\"}}"));
    text.push('\n');
    text
}

/// Prints the schema on stdout.
pub fn run() -> ExitStatus {
    print!("{}", desired_file_schema());
    ExitStatus::Success
}
