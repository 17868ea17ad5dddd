//! Wire types: Workato's JSON objects as the client reads and writes them (docs/workato-api.md).
//!
//! They follow Workato's field names and are lenient where the sources disagree (an optional
//! field may be missing or `null`; unknown fields are ignored). They are not the model: `observe`
//! turns them into `live::Live`, and only `workato/` and `observe` see them.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// A customer (managed user).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Customer {
    pub id: u64,
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(default)]
    pub notification_email: Option<String>,
    /// TEST and PROD workspaces of a customer with Embedded environments; the shape is not
    /// documented (docs/workato-api.md), so it is kept as JSON and only its presence matters.
    #[serde(default)]
    pub environments: Option<Value>,
}

impl Customer {
    /// Whether the customer has Embedded environments: `environments` is present and not empty.
    pub fn has_environments(&self) -> bool {
        match &self.environments {
            None | Some(Value::Null) => false,
            Some(Value::Array(items)) => !items.is_empty(),
            Some(Value::Object(fields)) => !fields.is_empty(),
            Some(Value::Bool(flag)) => *flag,
            Some(_) => true,
        }
    }
}

/// The body of `POST /managed_users`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NewCustomer {
    pub name: String,
    pub notification_email: String,
    pub external_id: String,
}

/// The body of `PUT /managed_users/:id`: only the fields set are changed.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CustomerUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification_email: Option<String>,
}

/// A folder or project.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Folder {
    pub id: u64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(default)]
    pub parent_id: Option<u64>,
    #[serde(default)]
    pub is_project: Option<bool>,
    #[serde(default)]
    pub project_id: Option<u64>,
}

/// A connection, default or runtime user connection.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Connection {
    pub id: u64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Embedded objects name the connector `provider`; Developer API objects `application`.
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub application: Option<String>,
    #[serde(default)]
    pub folder_id: Option<u64>,
    #[serde(default)]
    pub parent_id: Option<u64>,
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub authorization_status: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    pub authorization_error: Option<String>,
    /// Why Workato noticed the connection stopped working (the Developer API's connection
    /// object has it; Embedded answers may not).
    #[serde(default, deserialize_with = "lenient_text")]
    pub connection_lost_reason: Option<String>,
}

impl Connection {
    /// The connector: `provider`, else `application`.
    pub fn connector(&self) -> &str {
        self.provider
            .as_deref()
            .or(self.application.as_deref())
            .unwrap_or_default()
    }
}

/// The body of `POST …/connections`. `input` and `oauth_token_pair` may hold secrets: `Debug`
/// shows only their keys.
#[derive(Clone, Default, PartialEq, Serialize)]
pub struct NewConnection {
    pub name: String,
    pub provider: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folder_id: Option<u64>,
    /// Always sent, `null` included: a runtime user connection without a parent says so.
    pub parent_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// `true` stores the connection without testing it (a shell the end user authorizes).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub shell_connection: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oauth_token_pair: Option<Map<String, Value>>,
}

impl fmt::Debug for NewConnection {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys = |map: &Option<Map<String, Value>>| {
            map.as_ref()
                .map(|map| map.keys().cloned().collect::<Vec<_>>())
        };
        formatter
            .debug_struct("NewConnection")
            .field("name", &self.name)
            .field("provider", &self.provider)
            .field("folder_id", &self.folder_id)
            .field("parent_id", &self.parent_id)
            .field("external_id", &self.external_id)
            .field("shell_connection", &self.shell_connection)
            .field("input_keys", &keys(&self.input))
            .field("oauth_token_pair_keys", &keys(&self.oauth_token_pair))
            .finish()
    }
}

/// A recipe, as the list returns it with `exclude_code=true`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Recipe {
    pub id: u64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(default)]
    pub folder_id: Option<u64>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub running: bool,
    /// Set when Workato stopped the recipe on its own (quota, trial, trigger errors).
    #[serde(default)]
    pub stop_cause: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub config: Vec<RecipeConfigEntry>,
}

/// One connector a recipe uses (`config[]`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct RecipeConfigEntry {
    #[serde(default)]
    pub keyword: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub skip_validation: bool,
    /// The connection the recipe uses for this connector; `null` for connectors without one.
    #[serde(default)]
    pub account_id: Option<u64>,
}

/// An import (RLCM), as `POST …/imports` and `GET …/imports/:id` return it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct ImportStatus {
    pub id: u64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub status: String,
    #[serde(default, deserialize_with = "lenient_text")]
    pub error: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub recipe_status: Vec<RecipeImportResult>,
}

/// Where an import stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportState {
    /// Still running: poll again.
    InProgress,
    /// Done; each recipe's own outcome is in `recipe_status`.
    Completed,
    /// Nothing was imported; `error` says why.
    Failed,
}

impl ImportStatus {
    /// The state, tolerating the spellings seen in the sources (`processing`, `succeeded`,
    /// `error`); anything unknown counts as still in progress, so the caller's poll deadline
    /// decides.
    pub fn state(&self) -> ImportState {
        match self.status.as_str() {
            "completed" | "succeeded" | "success" => ImportState::Completed,
            "failed" | "error" => ImportState::Failed,
            _ => ImportState::InProgress,
        }
    }
}

/// One recipe's outcome in a completed import.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct RecipeImportResult {
    pub id: u64,
    /// `no_update_or_updated_without_restart`, `restarted`, `stopped` or `restart_failed`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub import_result: String,
}

/// The answer to `PUT …/recipes/:id/start` (and other actions answering `success`). A refusal
/// comes back as HTTP 200 with `success: false`; the client turns it into
/// `ClientError::Refused` before this is seen.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct ActionResult {
    #[serde(default = "yes")]
    pub success: bool,
}

fn yes() -> bool {
    true
}

/// `null` reads as the type's default (an empty name, `false`, an empty list).
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Any JSON as text: a string as is, `null` as none, anything else as compact JSON (an error
/// given as an object still reaches the user).
fn lenient_text<'de, D>(deserializer: D) -> Result<Option<String>, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(match Value::deserialize(deserializer)? {
        Value::Null => None,
        Value::String(text) => Some(text),
        other => Some(other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_connection_debug_shows_no_secret() {
        let mut input = Map::new();
        input.insert(
            "api_key".to_owned(),
            Value::String("canary-secret".to_owned()),
        );
        let connection = NewConnection {
            name: "PartnerApp".to_owned(),
            provider: "partner_app".to_owned(),
            input: Some(input),
            ..NewConnection::default()
        };
        let debug = format!("{connection:?}");
        assert!(!debug.contains("canary-secret"), "{debug}");
        assert!(debug.contains("api_key"), "{debug}");
    }

    #[test]
    fn a_new_runtime_connection_sends_a_null_parent() {
        let connection = NewConnection {
            name: "Dropbox - User A".to_owned(),
            provider: "dropbox".to_owned(),
            external_id: Some("user-a".to_owned()),
            shell_connection: true,
            ..NewConnection::default()
        };
        let json = serde_json::to_value(&connection).unwrap();
        assert_eq!(json["parent_id"], Value::Null);
        assert!(json.as_object().unwrap().contains_key("parent_id"));
        assert!(!json.as_object().unwrap().contains_key("input"));
    }

    #[test]
    fn environments_count_only_when_present() {
        let customer = |environments: Value| Customer {
            id: 1,
            external_id: None,
            name: String::new(),
            notification_email: None,
            environments: Some(environments),
        };
        assert!(!customer(Value::Null).has_environments());
        assert!(!customer(serde_json::json!([])).has_environments());
        assert!(
            customer(serde_json::json!([{"id": 2, "environment_type": "test"}])).has_environments()
        );
    }

    #[test]
    fn import_states_tolerate_other_spellings() {
        let status = |text: &str| ImportStatus {
            id: 1,
            status: text.to_owned(),
            error: None,
            recipe_status: Vec::new(),
        };
        assert_eq!(status("processing").state(), ImportState::InProgress);
        assert_eq!(status("succeeded").state(), ImportState::Completed);
        assert_eq!(status("error").state(), ImportState::Failed);
    }
}
