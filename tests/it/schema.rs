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

/// Every string of the file has a maximum length, and so does every key of a mapping with free
/// keys: a new text field without a limit fails here.
#[test]
fn every_string_and_every_free_key_has_a_maximum_length() {
    fn visit(path: &str, value: &serde_json::Value, missing: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(object) => {
                let is_string = match object.get("type") {
                    Some(serde_json::Value::String(kind)) => kind == "string",
                    Some(serde_json::Value::Array(kinds)) => kinds.iter().any(|k| k == "string"),
                    _ => false,
                };
                let is_fixed = object.contains_key("const") || object.contains_key("enum");
                if is_string && !is_fixed && !object.contains_key("maxLength") {
                    missing.push(format!("{path}: a string without maxLength"));
                }
                if object
                    .get("additionalProperties")
                    .is_some_and(serde_json::Value::is_object)
                    && object
                        .get("propertyNames")
                        .and_then(|names| names.get("maxLength"))
                        .is_none()
                {
                    missing.push(format!("{path}: free keys without propertyNames.maxLength"));
                }
                for (key, child) in object {
                    visit(&format!("{path}/{key}"), child, missing);
                }
            }
            serde_json::Value::Array(items) => {
                for (index, child) in items.iter().enumerate() {
                    visit(&format!("{path}/{index}"), child, missing);
                }
            }
            _ => {}
        }
    }
    let schema: serde_json::Value = serde_json::from_str(
        &embedctl::commands::desired_file_schema().expect("the schema renders"),
    )
    .expect("the schema is JSON");
    let mut missing = Vec::new();
    visit("#", &schema, &mut missing);
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}
