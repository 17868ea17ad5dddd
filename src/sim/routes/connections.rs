//! Connections, including runtime user connections: `/api/managed_users/:id/connections`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::customers::with_customer;
use super::views;
use crate::live::OAUTH_ONLY_PROVIDERS;
use crate::sim::Simulator;
use crate::sim::http::{JsonBody, error, not_found, ok, sha256_hex, validation_failed};
use crate::sim::import::custom_provider_slug;
use crate::sim::model::{Connection, Customer};

/// The list's cap: Workato's own "List connections" stops at 1,000, most recently updated first
/// (docs/workato-api.md).
pub const LIST_CAP: usize = 1_000;

/// `GET …/connections`: filters `provider`, `folder_id`, `parent_id`, `external_id`;
/// runtime user connections only with `include_runtime_connections=true`.
pub async fn list(
    State(sim): State<Simulator>,
    Path(segment): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let number = |name: &str| -> Result<Option<u64>, Response> {
        match query.get(name) {
            None => Ok(None),
            Some(text) => text.parse().map(Some).map_err(|_| {
                error(
                    StatusCode::BAD_REQUEST,
                    &format!("Bad request: `{name}` must be a number"),
                )
            }),
        }
    };
    let (folder_id, parent_id) = match (number("folder_id"), number("parent_id")) {
        (Ok(folder), Ok(parent)) => (folder, parent),
        (Err(response), _) | (_, Err(response)) => return response,
    };
    let provider = query.get("provider").cloned();
    let external_id = query.get("external_id").cloned();
    let include_runtime =
        query.get("include_runtime_connections").map(String::as_str) == Some("true");
    with_customer(&sim, &segment, |account, id| {
        let Some(customer) = account.customers.get(&id) else {
            return not_found();
        };
        let mut found: Vec<&Connection> = customer
            .connections
            .values()
            .filter(|c| include_runtime || !c.is_runtime())
            .filter(|c| provider.as_ref().is_none_or(|p| &c.provider == p))
            .filter(|c| folder_id.is_none_or(|f| c.folder_id == f))
            .filter(|c| parent_id.is_none_or(|p| c.parent_id == Some(p)))
            .filter(|c| {
                external_id
                    .as_ref()
                    .is_none_or(|e| c.external_id.as_ref() == Some(e))
            })
            .collect();
        found.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(b.id.cmp(&a.id)));
        let result: Vec<Value> = found
            .into_iter()
            .take(LIST_CAP)
            .map(views::connection)
            .collect();
        ok(json!({ "result": result }))
    })
}

/// `POST …/connections`: a shell, or a connection authorized with `input` / `oauth_token_pair`.
pub async fn create(
    State(sim): State<Simulator>,
    Path(segment): Path<String>,
    JsonBody(body): JsonBody,
) -> Response {
    let provider = body
        .get("provider")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim()
        .to_owned();
    if provider.is_empty() {
        return validation_failed(&[("provider", "can't be blank")]);
    }
    with_customer(&sim, &segment, |account, id| {
        let connection_id = account.allocate_id();
        let now = account.now();
        let Some(customer) = account.customers.get_mut(&id) else {
            return not_found();
        };
        let folder_id = match body.get("folder_id") {
            None | Some(Value::Null) => customer.home_folder_id,
            Some(value) => match value.as_u64().filter(|f| customer.folders.contains_key(f)) {
                Some(folder) => folder,
                None => return validation_failed(&[("folder_id", "is invalid")]),
            },
        };
        // A custom connector exists per workspace, under this workspace's own id: another
        // workspace's id (the one in an exported package) is no connector here.
        if custom_provider_slug(&provider).is_some()
            && !customer
                .custom_connectors
                .values()
                .any(|connector| connector.provider == provider)
        {
            return validation_failed(&[("provider", "is not a connector of this workspace")]);
        }
        let parent_id = match parent_of(customer, &body, &provider) {
            Ok(parent) => parent,
            Err(response) => return response,
        };
        let mut connection = Connection {
            id: connection_id,
            name: body
                .get("name")
                .and_then(Value::as_str)
                .map_or_else(|| format!("My {provider} account"), str::to_owned),
            provider,
            folder_id,
            parent_id,
            external_id: body
                .get("external_id")
                .and_then(Value::as_str)
                .map(str::to_owned),
            authorization_status: None,
            authorization_error: None,
            authorized_at: None,
            created_at: now.clone(),
            updated_at: now.clone(),
            input_digest: None,
        };
        apply_credentials(&mut connection, &body, &now);
        let view = views::connection(&connection);
        customer.connections.insert(connection_id, connection);
        ok(view)
    })
}

/// `PUT …/connections/:id`: name, folder, parent, external id; new `input` re-authorizes.
pub async fn update(
    State(sim): State<Simulator>,
    Path((segment, connection_id)): Path<(String, u64)>,
    JsonBody(body): JsonBody,
) -> Response {
    with_customer(&sim, &segment, |account, id| {
        let now = account.now();
        let Some(customer) = account.customers.get_mut(&id) else {
            return not_found();
        };
        let Some(provider) = customer
            .connections
            .get(&connection_id)
            .map(|c| c.provider.clone())
        else {
            return not_found();
        };
        let folder_id = match body.get("folder_id") {
            None => None,
            Some(value) => match value.as_u64().filter(|f| customer.folders.contains_key(f)) {
                Some(folder) => Some(folder),
                None => return validation_failed(&[("folder_id", "is invalid")]),
            },
        };
        let parent_id = if body.get("parent_id").is_some() {
            match parent_of(customer, &body, &provider) {
                Ok(parent) => Some(parent),
                Err(response) => return response,
            }
        } else {
            None
        };
        let Some(connection) = customer.connections.get_mut(&connection_id) else {
            return not_found();
        };
        if let Some(name) = body.get("name").and_then(Value::as_str) {
            connection.name = name.to_owned();
        }
        if let Some(folder) = folder_id {
            connection.folder_id = folder;
        }
        if let Some(parent) = parent_id {
            connection.parent_id = parent;
        }
        if let Some(value) = body.get("external_id") {
            connection.external_id = value.as_str().map(str::to_owned);
        }
        apply_credentials(connection, &body, &now);
        connection.updated_at = now;
        ok(views::connection(connection))
    })
}

/// `POST …/connections/:id/disconnect` `{"force"?}`: refused while running recipes use it,
/// unless forced (which stops them).
pub async fn disconnect(
    State(sim): State<Simulator>,
    Path((segment, connection_id)): Path<(String, u64)>,
    JsonBody(body): JsonBody,
) -> Response {
    let force = body.get("force").and_then(Value::as_bool).unwrap_or(false);
    with_customer(&sim, &segment, |account, id| {
        let now = account.now();
        let Some(customer) = account.customers.get_mut(&id) else {
            return not_found();
        };
        if !customer.connections.contains_key(&connection_id) {
            return not_found();
        }
        let users: Vec<u64> = customer
            .recipes
            .values()
            .filter(|recipe| {
                recipe.running
                    && recipe
                        .config
                        .iter()
                        .any(|e| e.account_id == Some(connection_id))
            })
            .map(|recipe| recipe.id)
            .collect();
        if !users.is_empty() && !force {
            return error(
                StatusCode::BAD_REQUEST,
                "Connection is used by running recipes; pass force: true to disconnect it",
            );
        }
        for recipe_id in users {
            if let Some(recipe) = customer.recipes.get_mut(&recipe_id) {
                recipe.running = false;
                recipe.stopped_at = Some(now.clone());
            }
        }
        if let Some(connection) = customer.connections.get_mut(&connection_id) {
            connection.authorization_status = None;
            connection.authorization_error = None;
            connection.authorized_at = None;
            connection.updated_at = now;
        }
        ok(json!({ "success": true }))
    })
}

/// `DELETE …/connections/:id`: refused while a recipe uses it.
pub async fn delete(
    State(sim): State<Simulator>,
    Path((segment, connection_id)): Path<(String, u64)>,
) -> Response {
    with_customer(&sim, &segment, |account, id| {
        let Some(customer) = account.customers.get_mut(&id) else {
            return not_found();
        };
        if !customer.connections.contains_key(&connection_id) {
            return not_found();
        }
        if customer.recipes.values().any(|recipe| {
            recipe
                .config
                .iter()
                .any(|e| e.account_id == Some(connection_id))
        }) {
            return error(
                StatusCode::BAD_REQUEST,
                "Connection is used by recipes and cannot be deleted",
            );
        }
        customer.connections.remove(&connection_id);
        ok(json!({ "success": true }))
    })
}

/// The `parent_id` of a body: null, or a connection of the same provider in this workspace.
fn parent_of(customer: &Customer, body: &Value, provider: &str) -> Result<Option<u64>, Response> {
    match body.get("parent_id") {
        None | Some(Value::Null) => Ok(None),
        Some(value) => match value.as_u64().and_then(|p| customer.connections.get(&p)) {
            Some(parent) if parent.provider == provider => Ok(Some(parent.id)),
            Some(_) => Err(validation_failed(&[(
                "parent_id",
                "must be a connection of the same provider",
            )])),
            None => Err(validation_failed(&[("parent_id", "is invalid")])),
        },
    }
}

/// Stores the digest of `input` / `oauth_token_pair` and, unless `shell_connection`, tests them
/// by the simulator's rules (docs/simulator.md).
fn apply_credentials(connection: &mut Connection, body: &Value, now: &str) {
    let input = body.get("input").and_then(Value::as_object);
    let tokens = body.get("oauth_token_pair").and_then(Value::as_object);
    if input.is_none_or(Map::is_empty) && tokens.is_none_or(Map::is_empty) {
        return;
    }
    let canonical = json!({ "input": input, "oauth_token_pair": tokens }).to_string();
    connection.input_digest = Some(sha256_hex(canonical.as_bytes()));
    if body.get("shell_connection").and_then(Value::as_bool) == Some(true) {
        return;
    }
    let values = input
        .into_iter()
        .chain(tokens)
        .flat_map(|map| map.values())
        .filter_map(Value::as_str);
    let (status, message) = if values.clone().any(|value| value == "invalid") {
        (
            "failed",
            Some("Authentication failed: invalid credentials".to_owned()),
        )
    } else if OAUTH_ONLY_PROVIDERS.contains(&connection.provider.as_str()) {
        let access = tokens
            .and_then(|t| t.get("access_token"))
            .and_then(Value::as_str)
            .is_some_and(|token| !token.is_empty());
        if access {
            ("success", None)
        } else {
            (
                "failed",
                Some(format!(
                    "{} connections are authorized with OAuth: use the connection widget or oauth_token_pair",
                    connection.provider
                )),
            )
        }
    } else if values.clone().any(|value| !value.is_empty()) {
        ("success", None)
    } else {
        (
            "failed",
            Some("Authentication failed: missing credentials".to_owned()),
        )
    };
    connection.authorization_status = Some(status.to_owned());
    connection.authorization_error = message;
    connection.authorized_at = (status == "success").then(|| now.to_owned());
}
