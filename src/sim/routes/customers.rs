//! Managed users (customers): `/api/managed_users`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::views;
use crate::sim::Simulator;
use crate::sim::http::{JsonBody, error, not_found, ok, validation_failed};
use crate::sim::model::{AccountState, Customer, Folder};

/// Runs `action` on the customer a path segment names (`123` or `E<external id>`), or answers 404.
pub(super) fn with_customer(
    sim: &Simulator,
    segment: &str,
    action: impl FnOnce(&mut AccountState, u64) -> Response,
) -> Response {
    let mut inner = sim.lock();
    match inner.account.resolve_customer(segment) {
        Some(id) => action(&mut inner.account, id),
        None => not_found(),
    }
}

/// `page` and `per_page` from the query: pages start at 1, `per_page` is capped at 100.
pub(super) fn paging(
    query: &HashMap<String, String>,
    default_per_page: usize,
) -> Result<(usize, usize), Response> {
    let number = |name: &str, default: usize| -> Result<usize, Response> {
        match query.get(name) {
            None => Ok(default),
            Some(text) => text.parse::<usize>().map_err(|_| {
                error(
                    StatusCode::BAD_REQUEST,
                    &format!("Bad request: `{name}` must be a number"),
                )
            }),
        }
    };
    let page = number("page", 1)?.max(1);
    let per_page = number("per_page", default_per_page)?.clamp(1, 100);
    Ok((page, per_page))
}

/// One page of `items`.
pub(super) fn page_of<T: Clone>(items: &[T], page: usize, per_page: usize) -> Vec<T> {
    items
        .iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .cloned()
        .collect()
}

/// `GET /api/managed_users`: `{"result": [...]}`, pages of up to 100, in id order.
pub async fn list(
    State(sim): State<Simulator>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let (page, per_page) = match paging(&query, 100) {
        Ok(paging) => paging,
        Err(response) => return response,
    };
    let inner = sim.lock();
    let all: Vec<Value> = inner
        .account
        .customers
        .values()
        .map(views::customer)
        .collect();
    ok(json!({ "result": page_of(&all, page, per_page) }))
}

/// `GET /api/managed_users/:id` (numeric or `E<external id>`).
pub async fn show(State(sim): State<Simulator>, Path(segment): Path<String>) -> Response {
    with_customer(&sim, &segment, |account, id| {
        match account.customers.get(&id) {
            Some(customer) => ok(views::customer(customer)),
            None => not_found(),
        }
    })
}

fn string_field<'a>(body: &'a Value, name: &str) -> Option<&'a str> {
    body.get(name).and_then(Value::as_str)
}

/// `POST /api/managed_users`: `name` and `notification_email` required; `external_id` unique.
pub async fn create(State(sim): State<Simulator>, JsonBody(body): JsonBody) -> Response {
    let name = string_field(&body, "name")
        .unwrap_or_default()
        .trim()
        .to_owned();
    let email = string_field(&body, "notification_email")
        .unwrap_or_default()
        .trim()
        .to_owned();
    let external_id = string_field(&body, "external_id").map(str::to_owned);
    let mut problems = Vec::new();
    if name.is_empty() {
        problems.push(("name", "can't be blank"));
    }
    if email.is_empty() {
        problems.push(("notification_email", "can't be blank"));
    }
    let mut inner = sim.lock();
    let account = &mut inner.account;
    if let Some(external) = &external_id
        && account
            .customers
            .values()
            .any(|customer| customer.external_id.as_deref() == Some(external))
    {
        problems.push(("external_id", "has already been taken"));
    }
    if !problems.is_empty() {
        return validation_failed(&problems);
    }
    let id = account.allocate_id();
    let home_folder_id = account.allocate_id();
    let now = account.now();
    let mut folders = std::collections::BTreeMap::new();
    folders.insert(
        home_folder_id,
        Folder {
            id: home_folder_id,
            name: "Home".to_owned(),
            parent_id: 0,
            is_project: false,
            project_id: home_folder_id,
            created_at: now.clone(),
            updated_at: now.clone(),
        },
    );
    let customer = Customer {
        id,
        external_id,
        name,
        notification_email: email,
        origin_url: string_field(&body, "origin_url").map(str::to_owned),
        plan_id: string_field(&body, "plan_id")
            .unwrap_or("oem_plan")
            .to_owned(),
        created_at: now.clone(),
        updated_at: now,
        environments: None,
        home_folder_id,
        folders,
        connections: Default::default(),
        recipes: Default::default(),
        imports: Default::default(),
        properties: Default::default(),
        custom_connectors: Default::default(),
    };
    let view = views::customer(&customer);
    account.customers.insert(id, customer);
    ok(view)
}

/// `PUT /api/managed_users/:id`: only the keys present change; `null` clears an optional one.
pub async fn update(
    State(sim): State<Simulator>,
    Path(segment): Path<String>,
    JsonBody(body): JsonBody,
) -> Response {
    with_customer(&sim, &segment, |account, id| {
        if let Some(Value::String(external)) = body.get("external_id") {
            let taken = account
                .customers
                .values()
                .any(|c| c.id != id && c.external_id.as_deref() == Some(external.as_str()));
            if taken {
                return validation_failed(&[("external_id", "has already been taken")]);
            }
        }
        for required in ["name", "notification_email"] {
            if let Some(value) = body.get(required)
                && value.as_str().is_none_or(|text| text.trim().is_empty())
            {
                return validation_failed(&[(required, "can't be blank")]);
            }
        }
        let now = account.now();
        let Some(customer) = account.customers.get_mut(&id) else {
            return not_found();
        };
        if let Some(name) = string_field(&body, "name") {
            customer.name = name.to_owned();
        }
        if let Some(email) = string_field(&body, "notification_email") {
            customer.notification_email = email.to_owned();
        }
        if let Some(value) = body.get("external_id") {
            customer.external_id = value.as_str().map(str::to_owned);
        }
        if let Some(value) = body.get("origin_url") {
            customer.origin_url = value.as_str().map(str::to_owned);
        }
        customer.updated_at = now;
        ok(views::customer(customer))
    })
}
