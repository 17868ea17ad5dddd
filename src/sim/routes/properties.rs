//! Environment properties of a customer workspace: `/api/managed_users/:id/properties`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::customers::with_customer;
use crate::sim::Simulator;
use crate::sim::http::{JsonBody, error, not_found, ok, validation_failed};

/// The most properties a workspace holds (docs/workato-api.md: about 1,000).
const MAX_PROPERTIES: usize = 1_000;

/// The longest property name and value Workato accepts, in characters.
const MAX_NAME_CHARS: usize = 100;
const MAX_VALUE_CHARS: usize = 1_024;

/// `GET …/properties?prefix=`: `{"result": {name: value}}` of every property whose name starts
/// with `prefix`, as Workato's documentation shows it.
pub async fn list(
    State(sim): State<Simulator>,
    Path(segment): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(prefix) = query.get("prefix").cloned() else {
        return error(StatusCode::BAD_REQUEST, "Bad request: `prefix` is required");
    };
    with_customer(&sim, &segment, |account, id| {
        let Some(customer) = account.customers.get(&id) else {
            return not_found();
        };
        let found: Map<String, Value> = customer
            .properties
            .iter()
            .filter(|(name, _)| name.starts_with(&prefix))
            .map(|(name, value)| (name.clone(), Value::String(value.clone())))
            .collect();
        ok(json!({ "result": Value::Object(found) }))
    })
}

/// `POST …/properties` `{"properties": {name: value}}`: upserts by name; values are strings.
pub async fn upsert(
    State(sim): State<Simulator>,
    Path(segment): Path<String>,
    JsonBody(body): JsonBody,
) -> Response {
    let Some(properties) = body.get("properties").and_then(Value::as_object).cloned() else {
        return validation_failed(&[("properties", "must be an object")]);
    };
    if properties.values().any(|value| !value.is_string()) {
        return validation_failed(&[("properties", "values must be strings")]);
    }
    if properties
        .keys()
        .any(|name| name.chars().count() > MAX_NAME_CHARS)
    {
        return validation_failed(&[("name", "is too long (maximum is 100 characters)")]);
    }
    if properties
        .values()
        .filter_map(Value::as_str)
        .any(|value| value.chars().count() > MAX_VALUE_CHARS)
    {
        return validation_failed(&[("value", "is too long (maximum is 1024 characters)")]);
    }
    with_customer(&sim, &segment, |account, id| {
        let Some(customer) = account.customers.get_mut(&id) else {
            return not_found();
        };
        let new = properties
            .keys()
            .filter(|name| !customer.properties.contains_key(*name))
            .count();
        if customer.properties.len() + new > MAX_PROPERTIES {
            return validation_failed(&[("properties", "limit of 1000 reached")]);
        }
        for (name, value) in properties {
            customer
                .properties
                .insert(name, value.as_str().unwrap_or_default().to_owned());
        }
        ok(json!({ "success": true }))
    })
}
