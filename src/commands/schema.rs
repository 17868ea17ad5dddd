//! `embedctl schema`: the JSON Schema of the desired-state file, generated from its Rust types.

use crate::cli::ExitStatus;
use crate::desired_file::DesiredFile;

/// The schema as pretty JSON with a trailing newline: exactly the committed
/// `schemas/embedctl.schema.json`.
pub fn desired_file_schema() -> Result<String, serde_json::Error> {
    let schema = schemars::schema_for!(DesiredFile);
    let mut text = serde_json::to_string_pretty(&schema)?;
    text.push('\n');
    Ok(text)
}

/// Prints the schema on stdout.
pub fn run() -> ExitStatus {
    match desired_file_schema() {
        Ok(text) => {
            print!("{text}");
            ExitStatus::Success
        }
        Err(error) => {
            eprintln!("error: cannot render the schema: {error}");
            ExitStatus::Failure
        }
    }
}
