//! Recipes in a customer workspace: list, get, start, stop.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::customers::{page_of, paging, with_customer};
use super::views;
use crate::sim::Simulator;
use crate::sim::http::{error, not_found, ok};
use crate::sim::model::{Customer, Recipe};

/// `GET …/recipes`: `{"result": [...]}` in descending id order; filters `folder_id`, `running`;
/// `per_page` defaults to 10 (max 100); `exclude_code=true` empties each `code`.
pub async fn list(
    State(sim): State<Simulator>,
    Path(segment): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let (page, per_page) = match paging(&query, 10) {
        Ok(paging) => paging,
        Err(response) => return response,
    };
    let folder_id = match query.get("folder_id").map(|text| text.parse::<u64>()) {
        None => None,
        Some(Ok(folder)) => Some(folder),
        Some(Err(_)) => {
            return error(
                StatusCode::BAD_REQUEST,
                "Bad request: `folder_id` must be a number",
            );
        }
    };
    let running = match query.get("running").map(String::as_str) {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "Bad request: `running` must be true or false",
            );
        }
    };
    let exclude_code = query.get("exclude_code").map(String::as_str) == Some("true");
    with_customer(&sim, &segment, |account, id| {
        let Some(customer) = account.customers.get(&id) else {
            return not_found();
        };
        let matching: Vec<Value> = customer
            .recipes
            .values()
            .rev()
            .filter(|recipe| folder_id.is_none_or(|folder| recipe.folder_id == folder))
            .filter(|recipe| running.is_none_or(|running| recipe.running == running))
            .map(|recipe| views::recipe(recipe, customer.id, exclude_code))
            .collect();
        ok(json!({ "result": page_of(&matching, page, per_page) }))
    })
}

/// `GET …/recipes/:id`.
pub async fn show(
    State(sim): State<Simulator>,
    Path((segment, recipe_id)): Path<(String, u64)>,
) -> Response {
    with_customer(&sim, &segment, |account, id| {
        let Some(customer) = account.customers.get(&id) else {
            return not_found();
        };
        match customer.recipes.get(&recipe_id) {
            Some(recipe) => ok(views::recipe(recipe, customer.id, false)),
            None => not_found(),
        }
    })
}

/// The `config_errors` that block a start: every connection the recipe uses (unless its entry
/// says `skip_validation`) must exist and be authorized (docs/workato-api.md).
pub(crate) fn config_errors(customer: &Customer, recipe: &Recipe) -> Vec<Value> {
    recipe
        .config
        .iter()
        .enumerate()
        .filter(|(_, entry)| !entry.skip_validation)
        .filter_map(|(index, entry)| {
            let account_id = entry.account_id?;
            let authorized = customer
                .connections
                .get(&account_id)
                .is_some_and(|c| c.authorization_status.as_deref() == Some("success"));
            (!authorized).then(|| {
                json!([index + 1, [["account_id", account_id, "unconnected",
                    {"key": "packages.recipe_source_code.flow_validations.errors.config_unconnected"}]]])
            })
        })
        .collect()
}

/// `PUT …/recipes/:id/start`: `{"success": true}`, or HTTP 200 with `success: false` and
/// `config_errors` when a connection it needs is not authorized.
pub async fn start(
    State(sim): State<Simulator>,
    Path((segment, recipe_id)): Path<(String, u64)>,
) -> Response {
    with_customer(&sim, &segment, |account, id| {
        let now = account.now();
        let Some(customer) = account.customers.get_mut(&id) else {
            return not_found();
        };
        let Some(recipe) = customer.recipes.get(&recipe_id) else {
            return not_found();
        };
        if recipe.running {
            return error(
                StatusCode::BAD_REQUEST,
                "Can't change the recipe state: invalid state running",
            );
        }
        let errors = config_errors(customer, recipe);
        if !errors.is_empty() {
            return ok(json!({ "success": false, "code_errors": [], "config_errors": errors }));
        }
        if let Some(recipe) = customer.recipes.get_mut(&recipe_id) {
            recipe.running = true;
            recipe.stop_cause = None;
            recipe.updated_at = now;
        }
        ok(json!({ "success": true }))
    })
}

/// `PUT …/recipes/:id/stop`.
pub async fn stop(
    State(sim): State<Simulator>,
    Path((segment, recipe_id)): Path<(String, u64)>,
) -> Response {
    with_customer(&sim, &segment, |account, id| {
        let now = account.now();
        let Some(recipe) = account
            .customers
            .get_mut(&id)
            .and_then(|c| c.recipes.get_mut(&recipe_id))
        else {
            return not_found();
        };
        if !recipe.running {
            return error(
                StatusCode::BAD_REQUEST,
                "Can't change the recipe state: invalid state stopped",
            );
        }
        recipe.running = false;
        recipe.stopped_at = Some(now.clone());
        recipe.updated_at = now;
        ok(json!({ "success": true }))
    })
}
