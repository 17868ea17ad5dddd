//! Folders and projects in a customer workspace: `/api/managed_users/:id/folders`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::customers::{page_of, paging, with_customer};
use super::views;
use crate::sim::Simulator;
use crate::sim::http::{JsonBody, error, not_found, ok, validation_failed};
use crate::sim::model::Folder;

/// `GET …/folders?parent_id=`: the direct children of `parent_id` (default: Home), by id.
pub async fn list(
    State(sim): State<Simulator>,
    Path(segment): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let (page, per_page) = match paging(&query, 100) {
        Ok(paging) => paging,
        Err(response) => return response,
    };
    let parent = match query.get("parent_id").map(|text| text.parse::<u64>()) {
        None => None,
        Some(Ok(parent)) => Some(parent),
        Some(Err(_)) => {
            return error(
                StatusCode::BAD_REQUEST,
                "Bad request: `parent_id` must be a number",
            );
        }
    };
    with_customer(&sim, &segment, |account, id| {
        let Some(customer) = account.customers.get(&id) else {
            return not_found();
        };
        let parent = parent.unwrap_or(customer.home_folder_id);
        let children: Vec<Value> = customer
            .folders
            .values()
            .filter(|folder| folder.parent_id == parent && folder.id != customer.home_folder_id)
            .map(views::folder)
            .collect();
        ok(json!({ "result": page_of(&children, page, per_page) }))
    })
}

/// `POST …/folders` `{"name", "parent_id"?}`: no parent makes a project under Home.
pub async fn create(
    State(sim): State<Simulator>,
    Path(segment): Path<String>,
    JsonBody(body): JsonBody,
) -> Response {
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim()
        .to_owned();
    if name.is_empty() {
        return validation_failed(&[("name", "can't be blank")]);
    }
    let parent = body.get("parent_id").and_then(Value::as_u64);
    with_customer(&sim, &segment, |account, id| {
        let folder_id = account.allocate_id();
        let now = account.now();
        let Some(customer) = account.customers.get_mut(&id) else {
            return not_found();
        };
        let parent_id = parent.unwrap_or(customer.home_folder_id);
        let Some(parent_folder) = customer.folders.get(&parent_id) else {
            return validation_failed(&[("parent_id", "is invalid")]);
        };
        let is_project = parent_id == customer.home_folder_id;
        let project_id = if is_project {
            folder_id
        } else {
            parent_folder.project_id
        };
        if customer
            .folders
            .values()
            .any(|folder| folder.parent_id == parent_id && folder.name == name)
        {
            return validation_failed(&[("name", "has already been taken")]);
        }
        let folder = Folder {
            id: folder_id,
            name,
            parent_id,
            is_project,
            project_id,
            created_at: now.clone(),
            updated_at: now,
        };
        let view = views::folder(&folder);
        customer.folders.insert(folder_id, folder);
        ok(view)
    })
}

/// `PUT …/folders/:folder_id` `{"name"}`: renames a folder (a changed `folder:` in the file).
pub async fn update(
    State(sim): State<Simulator>,
    Path((segment, folder_id)): Path<(String, u64)>,
    JsonBody(body): JsonBody,
) -> Response {
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .map(|name| name.trim().to_owned());
    with_customer(&sim, &segment, |account, id| {
        let now = account.now();
        let Some(customer) = account.customers.get_mut(&id) else {
            return not_found();
        };
        let Some(folder) = customer.folders.get_mut(&folder_id) else {
            return not_found();
        };
        if folder.is_project {
            // Workato's folder routes do not handle projects; the projects route does.
            return error(
                StatusCode::BAD_REQUEST,
                "Bad request: a project is renamed through PUT /projects/:project_id",
            );
        }
        if let Some(name) = name {
            if name.is_empty() {
                return validation_failed(&[("name", "can't be blank")]);
            }
            folder.name = name;
        }
        folder.updated_at = now;
        ok(views::folder(folder))
    })
}

/// `PUT …/projects/:project_id` `{"name": …}`: renames a project (a top-level folder).
pub async fn update_project(
    State(sim): State<Simulator>,
    Path((segment, project_id)): Path<(String, u64)>,
    JsonBody(body): JsonBody,
) -> Response {
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .map(|name| name.trim().to_owned());
    with_customer(&sim, &segment, |account, id| {
        let now = account.now();
        let Some(customer) = account.customers.get_mut(&id) else {
            return not_found();
        };
        let home = customer.home_folder_id;
        let taken = |name: &str, folders: &std::collections::BTreeMap<u64, Folder>| {
            folders.values().any(|folder| {
                folder.parent_id == home && folder.name == name && folder.project_id != project_id
            })
        };
        if let Some(name) = &name {
            if name.is_empty() {
                return validation_failed(&[("name", "can't be blank")]);
            }
            if taken(name, &customer.folders) {
                return validation_failed(&[("name", "has already been taken")]);
            }
        }
        let Some(project) = customer
            .folders
            .values_mut()
            .find(|folder| folder.is_project && folder.project_id == project_id)
        else {
            return not_found();
        };
        if let Some(name) = name {
            project.name = name;
        }
        project.updated_at = now;
        ok(views::folder(project))
    })
}
