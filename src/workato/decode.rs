//! Tolerant decoding of Workato's answers (docs/workato-api.md): the list wrappers the sources
//! disagree on, a one-element `result` array for one object, the several error-body shapes, and
//! HTTP 200 with `"success": false`. Decode errors name the JSON path of the field that did not
//! fit.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::ClientError;
use crate::redact::Secrets;

/// The longest piece of an answer quoted in an error message.
const MAX_QUOTE: usize = 300;

/// Parses an answer's body; an empty body is `Null`, which is enough for a request whose answer
/// is not read, and an "empty response" error for one that needs an object or a list.
pub(crate) fn parse(bytes: &[u8], operation: &str) -> Result<Value, ClientError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(bytes).map_err(|error| ClientError::Decode {
        operation: operation.to_owned(),
        path: "(whole body)".to_owned(),
        reason: format!("not JSON ({error})"),
    })
}

/// A list: `{"result": [...]}`, `{"items": [...]}` or a bare array.
pub(crate) fn list<T: DeserializeOwned>(
    value: Value,
    operation: &str,
) -> Result<Vec<T>, ClientError> {
    let (prefix, items) = match value {
        Value::Null => return empty_response(operation),
        Value::Array(items) => (String::new(), items),
        Value::Object(mut fields) => match ["result", "items"]
            .into_iter()
            .find(|key| fields.get(*key).is_some_and(Value::is_array))
        {
            Some(key) => match fields.remove(key) {
                Some(Value::Array(items)) => (key.to_owned(), items),
                _ => unreachable_shape(operation)?,
            },
            None => {
                return Err(ClientError::Decode {
                    operation: operation.to_owned(),
                    path: "(whole body)".to_owned(),
                    reason: if fields.is_empty() {
                        "expected a list (`{\"result\": [...]}`, `{\"items\": [...]}` or an \
                         array), found an empty object `{}`"
                            .to_owned()
                    } else {
                        format!(
                            "expected a list (`{{\"result\": [...]}}`, `{{\"items\": [...]}}` or \
                             an array), found an object with keys {}",
                            key_list(&fields)
                        )
                    },
                });
            }
        },
        other => {
            return Err(ClientError::Decode {
                operation: operation.to_owned(),
                path: "(whole body)".to_owned(),
                reason: format!("expected a list, found {}", kind_of(&other)),
            });
        }
    };
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| typed(item, &format!("{prefix}[{index}]"), operation))
        .collect()
}

/// One object: as is, or unwrapped from `{"result": {...}}` or a one-element `{"result": [...]}`.
pub(crate) fn object<T: DeserializeOwned>(value: Value, operation: &str) -> Result<T, ClientError> {
    match value {
        Value::Null => empty_response(operation),
        Value::Object(mut fields) if fields.len() == 1 && fields.contains_key("result") => {
            match fields.remove("result") {
                Some(Value::Array(mut items)) if items.len() == 1 => {
                    typed(items.remove(0), "result[0]", operation)
                }
                Some(Value::Array(items)) => Err(ClientError::Decode {
                    operation: operation.to_owned(),
                    path: "result".to_owned(),
                    reason: format!("expected one object, found a list of {}", items.len()),
                }),
                Some(inner) => typed(inner, "result", operation),
                None => unreachable_shape(operation),
            }
        }
        other => typed(other, "", operation),
    }
}

/// Environment properties: a flat object of name → value (unwrapped from `result` if wrapped).
/// Values are strings; anything else is kept as its JSON text.
pub(crate) fn properties(
    value: Value,
    operation: &str,
) -> Result<BTreeMap<String, String>, ClientError> {
    let fields = match value {
        Value::Null => return empty_response(operation),
        Value::Object(mut fields) => match fields.remove("result") {
            Some(Value::Object(inner)) if fields.is_empty() => inner,
            Some(other) => {
                fields.insert("result".to_owned(), other);
                fields
            }
            None => fields,
        },
        other => {
            return Err(ClientError::Decode {
                operation: operation.to_owned(),
                path: "(whole body)".to_owned(),
                reason: format!(
                    "expected an object of property names and values, found {}",
                    kind_of(&other)
                ),
            });
        }
    };
    Ok(fields
        .into_iter()
        .map(|(name, value)| {
            let text = match value {
                Value::String(text) => text,
                other => other.to_string(),
            };
            (name, text)
        })
        .collect())
}

/// When the answer is `{"success": false, …}`: a readable summary of why, with `secrets` taken
/// out before it is cut to length (a secret cut in two would no longer be recognised).
pub(crate) fn refusal(value: &Value, secrets: &Secrets) -> Option<String> {
    if value.get("success").and_then(Value::as_bool) != Some(false) {
        return None;
    }
    let mut parts = Vec::new();
    for (key, label) in [("config_errors", "setup"), ("code_errors", "recipe code")] {
        if let Some(Value::Array(steps)) = value.get(key) {
            parts.extend(
                steps
                    .iter()
                    .map(|step| format!("{label}: {}", step_error(step))),
            );
        }
    }
    parts.extend(messages(value));
    if parts.is_empty() {
        parts.push("Workato answered `success: false` without details".to_owned());
    }
    Some(quote(&secrets.redact(&parts.join("; "))))
}

/// A readable message from an error answer: `message`, `errors{field: [..]}` (as
/// `field: message`), `errors[].title`, or `error`, whichever are there; `secrets` are taken out
/// before it is cut to length.
pub(crate) fn error_message(bytes: &[u8], secrets: &Secrets) -> String {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return "no details in the answer".to_owned();
    }
    let Ok(value) = serde_json::from_slice::<Value>(bytes) else {
        return format!("an answer that is not JSON ({} bytes)", bytes.len());
    };
    let mut parts = messages(&value);
    if parts.is_empty() {
        parts.push(value.to_string());
    }
    let text = match parts.split_first() {
        Some((first, rest)) if !rest.is_empty() && value.get("message").is_some() => {
            format!("{first}: {}", rest.join("; "))
        }
        _ => parts.join("; "),
    };
    quote(&secrets.redact(&text))
}

/// The messages of an error body, `message` first.
fn messages(value: &Value) -> Vec<String> {
    let mut parts = Vec::new();
    if let Some(message) = value.get("message").and_then(Value::as_str) {
        parts.push(message.to_owned());
    }
    match value.get("errors") {
        Some(Value::Object(fields)) => {
            for (field, problems) in fields {
                let problems = match problems {
                    Value::Array(items) => items.iter().map(text_of).collect::<Vec<_>>().join(", "),
                    other => text_of(other),
                };
                parts.push(format!("{field}: {problems}"));
            }
        }
        Some(Value::Array(items)) => {
            for item in items {
                let text = ["title", "message", "detail"]
                    .into_iter()
                    .find_map(|key| item.get(key).and_then(Value::as_str))
                    .map_or_else(|| text_of(item), str::to_owned);
                parts.push(text);
            }
        }
        Some(Value::String(text)) => parts.push(text.clone()),
        _ => {}
    }
    match value.get("error") {
        Some(Value::String(text)) => parts.push(text.clone()),
        Some(Value::Null) | None => {}
        Some(other) => parts.push(text_of(other)),
    }
    parts
}

/// One entry of `config_errors` / `code_errors`: `[step, [[label, value, message, meta?], …]]`
/// (docs/workato-api.md), as `step 1: account_id 32148 unconnected`. Other shapes are quoted.
fn step_error(step: &Value) -> String {
    let Some([number, Value::Array(problems)]) = step.as_array().map(Vec::as_slice) else {
        return text_of(step);
    };
    let problems: Vec<String> = problems
        .iter()
        .map(|problem| match problem.as_array().map(Vec::as_slice) {
            Some([label, current, message, ..]) => {
                format!(
                    "{} {} {}",
                    text_of(label),
                    text_of(current),
                    text_of(message)
                )
            }
            _ => text_of(problem),
        })
        .collect();
    format!("step {}: {}", text_of(number), problems.join(", "))
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// `text`, cut to `MAX_QUOTE` characters.
fn quote(text: &str) -> String {
    if text.chars().count() <= MAX_QUOTE {
        return text.to_owned();
    }
    let cut: String = text.chars().take(MAX_QUOTE).collect();
    format!("{cut}…")
}

fn typed<T: DeserializeOwned>(
    value: Value,
    prefix: &str,
    operation: &str,
) -> Result<T, ClientError> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let inner = error.path().to_string();
        let path = match (prefix.is_empty(), inner.as_str()) {
            (true, ".") => "(whole body)".to_owned(),
            (true, _) => inner,
            (false, ".") => prefix.to_owned(),
            (false, _) if inner.starts_with('[') => format!("{prefix}{inner}"),
            (false, _) => format!("{prefix}.{inner}"),
        };
        ClientError::Decode {
            operation: operation.to_owned(),
            path,
            reason: error.into_inner().to_string(),
        }
    })
}

/// A success status with no body where an object or a list was expected.
fn empty_response<T>(operation: &str) -> Result<T, ClientError> {
    Err(ClientError::Decode {
        operation: operation.to_owned(),
        path: "(whole body)".to_owned(),
        reason: "empty response: Workato answered with no body where an object or a list was \
                 expected"
            .to_owned(),
    })
}

fn unreachable_shape<T>(operation: &str) -> Result<T, ClientError> {
    Err(ClientError::Decode {
        operation: operation.to_owned(),
        path: "(whole body)".to_owned(),
        reason: "the answer changed shape while being read".to_owned(),
    })
}

fn key_list(fields: &serde_json::Map<String, Value>) -> String {
    let keys: Vec<String> = fields.keys().map(|key| format!("`{key}`")).collect();
    keys.join(", ")
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::workato::wire::{Customer, Folder};

    #[test]
    fn lists_unwrap_every_known_wrapper() {
        for body in [
            json!([{"id": 1, "name": "a"}]),
            json!({"result": [{"id": 1, "name": "a"}], "count": 1}),
            json!({"items": [{"id": 1, "name": "a"}]}),
        ] {
            let folders: Vec<Folder> = list(body, "GET /x").unwrap();
            assert_eq!(folders.len(), 1);
            assert_eq!(folders[0].id, 1);
        }
    }

    #[test]
    fn decode_errors_name_the_path() {
        let error =
            list::<Folder>(json!({"result": [{"id": 1}, {"id": "two"}]}), "GET /x").unwrap_err();
        match error {
            ClientError::Decode { path, .. } => assert_eq!(path, "result[1].id"),
            other => panic!("{other:?}"),
        }
        let error = object::<Customer>(json!({"result": [{"id": null}]}), "GET /x").unwrap_err();
        match error {
            ClientError::Decode { path, .. } => assert_eq!(path, "result[0].id"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn one_object_may_come_wrapped() {
        let plain: Customer = object(json!({"id": 7, "name": "A"}), "GET /x").unwrap();
        let wrapped: Customer =
            object(json!({"result": [{"id": 7, "name": "A"}]}), "GET /x").unwrap();
        assert_eq!(plain, wrapped);
    }

    #[test]
    fn error_bodies_read_in_every_shape() {
        let message = |value: Value| error_message(value.to_string().as_bytes(), &Secrets::new());
        assert_eq!(
            message(
                json!({"message": "Validation failed", "errors": {"name": ["can't be blank"]}})
            ),
            "Validation failed: name: can't be blank"
        );
        assert_eq!(
            message(json!({"errors": [{"code": 429, "title": "Too many"}]})),
            "Too many"
        );
        assert_eq!(message(json!({"error": "Nope"})), "Nope");
        assert_eq!(message(json!({"message": "Not found"})), "Not found");
        assert_eq!(
            error_message(b"<html>", &Secrets::new()),
            "an answer that is not JSON (6 bytes)"
        );
    }

    #[test]
    fn refusals_summarize_config_errors() {
        let body = json!({"success": false, "code_errors": [], "config_errors": [
            [1, [["account_id", 32148, "unconnected", {"key": "x"}]]]
        ]});
        assert_eq!(
            refusal(&body, &Secrets::new()).unwrap(),
            "setup: step 1: account_id 32148 unconnected"
        );
        assert_eq!(
            refusal(
                &json!({"success": false, "errors": {"running": ["can't modify running recipe"]}}),
                &Secrets::new()
            )
            .unwrap(),
            "running: can't modify running recipe"
        );
        assert_eq!(refusal(&json!({"success": true}), &Secrets::new()), None);
    }
}
