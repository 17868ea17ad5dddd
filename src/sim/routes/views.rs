//! The JSON shapes Workato answers with, built from the simulator's model.

use serde_json::{Value, json};

use crate::sim::model::{Connection, Customer, Folder, Recipe};

/// A managed user as the list, get, create and update endpoints return it.
pub fn customer(customer: &Customer) -> Value {
    let mut value = json!({
        "id": customer.id,
        "external_id": customer.external_id,
        "name": customer.name,
        "notification_email": customer.notification_email,
        "plan_id": customer.plan_id,
        "origin_url": customer.origin_url,
        "in_trial": false,
        "trial": false,
        "created_at": customer.created_at,
        "updated_at": customer.updated_at,
    });
    if let (Some(environments), Some(object)) = (&customer.environments, value.as_object_mut()) {
        object.insert("environments".to_owned(), json!(environments));
    }
    value
}

/// A folder or project.
pub fn folder(folder: &Folder) -> Value {
    json!({
        "id": folder.id,
        "name": folder.name,
        "parent_id": folder.parent_id,
        "is_project": folder.is_project,
        "project_id": folder.project_id,
        "created_at": folder.created_at,
        "updated_at": folder.updated_at,
    })
}

/// A connection. Embedded objects carry `provider`; newer objects also `application`.
pub fn connection(connection: &Connection) -> Value {
    json!({
        "id": connection.id,
        "name": connection.name,
        "provider": connection.provider,
        "application": connection.provider,
        "description": null,
        "authorized_at": connection.authorized_at,
        "authorization_status": connection.authorization_status,
        "authorization_error": connection.authorization_error,
        "created_at": connection.created_at,
        "updated_at": connection.updated_at,
        "external_id": connection.external_id,
        "folder_id": connection.folder_id,
        "connection_lost_at": null,
        "connection_lost_reason": null,
        "parent_id": connection.parent_id,
        "tags": [],
    })
}

/// A recipe; `exclude_code` (the list's `exclude_code=true`) empties `code`, which Workato's
/// `Recipe` schema requires (a string, "truncated if exclude_code is true"). `last_run_at` and
/// `stopped_at` are strings when present, never null: absent until a run or a stop.
pub fn recipe(recipe: &Recipe, user_id: u64, exclude_code: bool) -> Value {
    let mut applications = vec![recipe.trigger_application.clone()];
    for application in &recipe.action_applications {
        if !applications.contains(application) {
            applications.push(application.clone());
        }
    }
    let config: Vec<Value> = recipe
        .config
        .iter()
        .map(|entry| {
            json!({
                "keyword": entry.keyword,
                "name": entry.name,
                "provider": entry.provider,
                "skip_validation": entry.skip_validation,
                "account_id": entry.account_id,
            })
        })
        .collect();
    let mut value = json!({
        "id": recipe.id,
        "user_id": user_id,
        "name": recipe.name,
        "created_at": recipe.created_at,
        "updated_at": recipe.updated_at,
        "copy_count": 0,
        "trigger_application": recipe.trigger_application,
        "action_applications": recipe.action_applications,
        "applications": applications,
        "description": recipe.description,
        "parameters_schema": [],
        "parameters": {},
        "webhook_url": null,
        "folder_id": recipe.folder_id,
        "running": recipe.running,
        "job_succeeded_count": 0,
        "job_failed_count": 0,
        "lifetime_task_count": 0,
        "version_no": recipe.version_no,
        "stop_cause": recipe.stop_cause,
        "config": config,
        "trigger_closure": null,
        "author_name": "embedctl simulator",
        "version_author_name": "embedctl simulator",
        "version_author_email": "simulator@embedctl.invalid",
        "version_comment": null,
        "tags": [],
    });
    if let Some(object) = value.as_object_mut() {
        let code = if exclude_code {
            ""
        } else {
            recipe.code.as_str()
        };
        object.insert("code".to_owned(), Value::String(code.to_owned()));
        if let Some(stopped_at) = &recipe.stopped_at {
            object.insert("stopped_at".to_owned(), Value::String(stopped_at.clone()));
        }
    }
    value
}
