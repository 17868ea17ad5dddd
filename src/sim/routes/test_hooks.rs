//! Test-only routes under `/__sim`, outside `/api` so no client code can call them by accident:
//! play the end user in the connection widget, simulate Workato stopping a recipe, read stats,
//! state and the request log, and change faults while running.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::sim::http::{JsonBody, error, not_found, ok};
use crate::sim::{Faults, Simulator};

/// `POST /__sim/connections/:id/authorize`: the end user finished the widget's OAuth.
pub async fn authorize(State(sim): State<Simulator>, Path(connection_id): Path<u64>) -> Response {
    set_authorization(&sim, connection_id, Some("success"), None)
}

/// `POST /__sim/connections/:id/revoke` `{"authorization_error"?}`: the token expired or was
/// revoked; Workato then reports the connection failed, with this error.
pub async fn revoke(
    State(sim): State<Simulator>,
    Path(connection_id): Path<u64>,
    JsonBody(body): JsonBody,
) -> Response {
    let message = body
        .get("authorization_error")
        .and_then(Value::as_str)
        .unwrap_or("Token expired or revoked")
        .to_owned();
    set_authorization(&sim, connection_id, Some("failed"), Some(&message))
}

fn set_authorization(
    sim: &Simulator,
    connection_id: u64,
    status: Option<&str>,
    message: Option<&str>,
) -> Response {
    let mut inner = sim.lock();
    let now = inner.account.now();
    for customer in inner.account.customers.values_mut() {
        if let Some(connection) = customer.connections.get_mut(&connection_id) {
            connection.authorization_status = status.map(str::to_owned);
            connection.authorization_error = message.map(str::to_owned);
            connection.authorized_at = (status == Some("success")).then(|| now.clone());
            connection.updated_at = now;
            return ok(json!({ "success": true }));
        }
    }
    not_found()
}

/// `POST /__sim/recipes/:id/stop_by_workato` `{"stop_cause"?}`: Workato stopped the recipe on its
/// own (quota, trial, trigger errors).
pub async fn stop_by_workato(
    State(sim): State<Simulator>,
    Path(recipe_id): Path<u64>,
    JsonBody(body): JsonBody,
) -> Response {
    let cause = body
        .get("stop_cause")
        .and_then(Value::as_str)
        .unwrap_or("trigger_errors_limit")
        .to_owned();
    let mut inner = sim.lock();
    let now = inner.account.now();
    for customer in inner.account.customers.values_mut() {
        if let Some(recipe) = customer.recipes.get_mut(&recipe_id) {
            recipe.running = false;
            recipe.stop_cause = Some(cause);
            recipe.stopped_at = Some(now.clone());
            recipe.updated_at = now;
            return ok(json!({ "success": true }));
        }
    }
    not_found()
}

/// `GET /__sim/stats`: calls per family, 429s sent, injected faults.
pub async fn stats(State(sim): State<Simulator>) -> Response {
    let inner = sim.lock();
    ok(serde_json::to_value(&inner.stats).unwrap_or(Value::Null))
}

/// `GET /__sim/state`: the whole account, as a state file holds it.
pub async fn state(State(sim): State<Simulator>) -> Response {
    let inner = sim.lock();
    ok(serde_json::to_value(&inner.account).unwrap_or(Value::Null))
}

/// `GET /__sim/log`: every `/api` request in order, credential values replaced by digests.
pub async fn log(State(sim): State<Simulator>) -> Response {
    let inner = sim.lock();
    ok(json!({ "entries": inner.log }))
}

/// `GET /__sim/faults`: the faults in force.
pub async fn faults(State(sim): State<Simulator>) -> Response {
    let inner = sim.lock();
    ok(serde_json::to_value(&inner.faults).unwrap_or(Value::Null))
}

/// `POST /__sim/faults`: replaces the faults (`latency`, `fail_rate`, `drop_after_commit`,
/// `echo_request_in_errors`, `storms`).
pub async fn set_faults(State(sim): State<Simulator>, JsonBody(body): JsonBody) -> Response {
    let faults: Faults = match serde_json::from_value(body) {
        Ok(faults) => faults,
        Err(problem) => return error(StatusCode::BAD_REQUEST, &format!("Bad request: {problem}")),
    };
    let mut inner = sim.lock();
    inner.faults = faults;
    ok(serde_json::to_value(&inner.faults).unwrap_or(Value::Null))
}
