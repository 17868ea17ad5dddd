//! Behaviour of the simulator over real HTTP.
//!
//! Every test serves a fresh simulator on `127.0.0.1:0` and talks to it with reqwest, checking
//! the statuses and bodies a client sees and, through `/__sim`, what the simulator recorded.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use embedctl::sim::{AccountState, Family, SimOptions, Simulator, StateFileError};
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::sim_context::{SimContext, TOKEN, quickstart_package_zip, send};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// `/managed_users/E<external id>`, the external id percent-encoded as a whole.
fn customer_path(external_id: &str) -> String {
    let mut path = String::from("/managed_users/E");
    for byte in external_id.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            path.push(char::from(byte));
        } else {
            let _ = write!(path, "%{byte:02X}");
        }
    }
    path
}

/// Creates a customer and returns the created object.
async fn create_customer(ctx: &SimContext, external_id: &str) -> Value {
    let (status, body) = ctx
        .send_json(
            Method::POST,
            "/managed_users",
            json!({
                "name": format!("Customer {external_id}"),
                "notification_email": "ops@example.com",
                "external_id": external_id,
            }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Creates a folder (a project without `parent`) and returns it.
async fn create_folder(ctx: &SimContext, customer: &str, name: &str, parent: Option<u64>) -> Value {
    let mut body = json!({ "name": name });
    if let Some(parent) = parent {
        body["parent_id"] = json!(parent);
    }
    let (status, folder) = ctx
        .send_json(Method::POST, &format!("{customer}/folders"), body)
        .await;
    assert_eq!(status, 200, "{folder}");
    folder
}

/// Creates a connection from `body` and returns it.
async fn create_connection(ctx: &SimContext, customer: &str, body: Value) -> Value {
    let (status, connection) = ctx
        .send_json(Method::POST, &format!("{customer}/connections"), body)
        .await;
    assert_eq!(status, 200, "{connection}");
    connection
}

/// The `result` of a connections list with `query`.
async fn list_connections(ctx: &SimContext, customer: &str, query: &str) -> Vec<Value> {
    let (status, body) = ctx.get(&format!("{customer}/connections{query}")).await;
    assert_eq!(status, 200, "{body}");
    body["result"].as_array().expect("result array").clone()
}

/// The `result` of a recipes list with `query`.
async fn list_recipes(ctx: &SimContext, customer: &str, query: &str) -> Vec<Value> {
    let (status, body) = ctx.get(&format!("{customer}/recipes{query}")).await;
    assert_eq!(status, 200, "{body}");
    body["result"].as_array().expect("result array").clone()
}

fn ids(items: &[Value]) -> Vec<u64> {
    items
        .iter()
        .map(|item| item["id"].as_u64().expect("numeric id"))
        .collect()
}

fn id_of(item: &Value) -> u64 {
    item["id"].as_u64().expect("numeric id")
}

fn named<'a>(items: &'a [Value], name: &str) -> &'a Value {
    items
        .iter()
        .find(|item| item["name"] == name)
        .unwrap_or_else(|| panic!("no `{name}` in {items:?}"))
}

/// POSTs a package zip to `…/imports` + `query`.
async fn post_import(ctx: &SimContext, customer: &str, query: &str, zip: Vec<u8>) -> (u16, Value) {
    send(
        ctx.request(Method::POST, &format!("{customer}/imports{query}"))
            .header(CONTENT_TYPE, "application/octet-stream")
            .body(zip),
    )
    .await
}

/// Polls an import until it leaves `in_progress` and returns its final status body.
async fn wait_for_import(ctx: &SimContext, customer: &str, import_id: u64) -> Value {
    for _ in 0..10 {
        let (status, body) = ctx.get(&format!("{customer}/imports/{import_id}")).await;
        assert_eq!(status, 200, "{body}");
        if body["status"] != "in_progress" {
            return body;
        }
    }
    panic!("import {import_id} never finished");
}

/// Imports `zip` into `folder` and returns the final status body.
async fn import(
    ctx: &SimContext,
    customer: &str,
    folder: u64,
    zip: Vec<u8>,
    restart: bool,
) -> Value {
    let query = format!("?folder_id={folder}&restart_recipes={restart}");
    let (status, started) = post_import(ctx, customer, &query, zip).await;
    assert_eq!(status, 200, "{started}");
    let import_id = started["id"].as_u64().expect("import id");
    wait_for_import(ctx, customer, import_id).await
}

/// The files of the quickstart example package, by path inside the package.
fn quickstart_files() -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).expect("readable package folder") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let relative = path.strip_prefix(root).expect("inside the package");
                let name = relative
                    .components()
                    .map(|part| part.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                out.insert(name, std::fs::read(&path).expect("readable file"));
            }
        }
    }
    let root = crate::context::repo_root().join("examples/quickstart/packages/files-sync");
    let mut files = BTreeMap::new();
    walk(&root, &root, &mut files);
    files
}

fn zip_files(files: BTreeMap<String, Vec<u8>>) -> Vec<u8> {
    let files: Vec<(String, Vec<u8>)> = files.into_iter().collect();
    embedctl::package::deterministic_zip(&files).expect("zippable files")
}

/// The quickstart package with the description of "List files" changed to `description`.
fn quickstart_with_description(description: &str) -> Vec<u8> {
    let mut files = quickstart_files();
    let recipe = files
        .get_mut("Files Sync/list_files.recipe.json")
        .expect("the example has list_files");
    let mut value: Value = serde_json::from_slice(recipe).expect("recipe JSON");
    value["description"] = json!(description);
    *recipe = serde_json::to_vec_pretty(&value).expect("serializable");
    zip_files(files)
}

/// A package of connection-free recipes at the package root.
fn recipes_package(names: &[String]) -> Vec<u8> {
    let files = names
        .iter()
        .enumerate()
        .map(|(index, name)| {
            let recipe = json!({
                "name": name,
                "version": 1,
                "code": { "provider": "clock", "name": "scheduled_event", "keyword": "trigger",
                          "block": [] },
                "config": [{ "keyword": "application", "provider": "clock",
                             "skip_validation": false, "account_id": null }],
            });
            (
                format!("recipe_{index:02}.recipe.json"),
                serde_json::to_vec(&recipe).expect("serializable"),
            )
        })
        .collect();
    zip_files(files)
}

/// A customer with the quickstart package imported into a project.
struct Quickstart {
    customer: String,
    project: u64,
    list_files: u64,
    get_file: u64,
    partner_app: u64,
    dropbox: u64,
}

async fn quickstart(ctx: &SimContext, external_id: &str) -> Quickstart {
    create_customer(ctx, external_id).await;
    let customer = customer_path(external_id);
    let project = create_folder(ctx, &customer, "Integrations", None).await["id"]
        .as_u64()
        .expect("folder id");
    let outcome = import(ctx, &customer, project, quickstart_package_zip(), false).await;
    assert_eq!(outcome["status"], "completed", "{outcome}");
    let recipes = list_recipes(ctx, &customer, "").await;
    let connections = list_connections(ctx, &customer, "").await;
    let id = |items: &[Value], name: &str| named(items, name)["id"].as_u64().expect("id");
    Quickstart {
        project,
        list_files: id(&recipes, "List files"),
        get_file: id(&recipes, "Get file"),
        partner_app: id(&connections, "PartnerApp"),
        dropbox: id(&connections, "Dropbox"),
        customer,
    }
}

async fn get_recipe(ctx: &SimContext, customer: &str, recipe: u64) -> Value {
    let (status, body) = ctx.get(&format!("{customer}/recipes/{recipe}")).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn start_recipe(ctx: &SimContext, customer: &str, recipe: u64) -> (u16, Value) {
    ctx.send_json(
        Method::PUT,
        &format!("{customer}/recipes/{recipe}/start"),
        json!({}),
    )
    .await
}

async fn authorize(ctx: &SimContext, connection: u64) {
    let (status, body) = ctx
        .sim_post(&format!("/connections/{connection}/authorize"), json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
}

/// The raw text of a `/__sim` route.
async fn sim_text(ctx: &SimContext, path: &str) -> String {
    ctx.client
        .get(ctx.sim_url(path))
        .send()
        .await
        .expect("the simulator answers")
        .text()
        .await
        .expect("a text body")
}

async fn log_entries(ctx: &SimContext) -> Vec<Value> {
    ctx.sim_get("/log").await["entries"]
        .as_array()
        .expect("entries")
        .clone()
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .fold(String::new(), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

// ---------------------------------------------------------------------------------------------
// Authentication
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_request_without_a_token_is_unauthorized() {
    let ctx = SimContext::start().await;
    let (status, body) = send(ctx.client.get(ctx.url("/managed_users"))).await;
    assert_eq!(status, 401);
    assert_eq!(body, json!({ "message": "Unauthorized" }));
}

#[tokio::test]
async fn a_wrong_token_or_legacy_headers_are_unauthorized() {
    let ctx = SimContext::start().await;
    let wrong = ctx
        .client
        .get(ctx.url("/managed_users"))
        .bearer_auth("not-the-token");
    assert_eq!(
        send(wrong).await,
        (401, json!({ "message": "Unauthorized" }))
    );
    let basic = ctx
        .client
        .get(ctx.url("/managed_users"))
        .header("Authorization", format!("Basic {TOKEN}"));
    assert_eq!(send(basic).await.0, 401);
    let legacy = ctx
        .client
        .get(ctx.url("/managed_users"))
        .header("X-USER-EMAIL", "partner@example.com")
        .header("X-USER-TOKEN", TOKEN);
    assert_eq!(send(legacy).await.0, 401);
    // Refused requests change nothing.
    let (status, _) = send(
        ctx.client
            .post(ctx.url("/managed_users"))
            .json(&json!({ "name": "X", "notification_email": "x@example.com" })),
    )
    .await;
    assert_eq!(status, 401);
    assert!(ctx.running.simulator().account().customers.is_empty());
}

#[tokio::test]
async fn sim_routes_need_no_token() {
    let ctx = SimContext::start().await;
    for path in ["/state", "/log", "/stats", "/faults"] {
        let response = ctx
            .client
            .get(ctx.sim_url(path))
            .send()
            .await
            .expect("answers");
        assert_eq!(response.status().as_u16(), 200, "{path}");
    }
}

// ---------------------------------------------------------------------------------------------
// Managed users
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn creating_a_customer_requires_name_and_notification_email() {
    let ctx = SimContext::start().await;
    let (status, body) = ctx
        .send_json(
            Method::POST,
            "/managed_users",
            json!({ "external_id": "A1" }),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({
            "message": "Validation failed",
            "errors": {
                "name": ["can't be blank"],
                "notification_email": ["can't be blank"],
            },
        })
    );
    assert!(ctx.running.simulator().account().customers.is_empty());
}

#[tokio::test]
async fn creating_a_customer_returns_it_unwrapped() {
    let ctx = SimContext::start().await;
    let created = create_customer(&ctx, "A2300").await;
    assert!(created["id"].is_u64(), "{created}");
    assert_eq!(created["external_id"], "A2300");
    assert_eq!(created["name"], "Customer A2300");
    assert_eq!(created["notification_email"], "ops@example.com");
    assert_eq!(created["plan_id"], "oem_plan");
    assert!(created.get("result").is_none());
}

#[tokio::test]
async fn a_duplicate_external_id_is_a_validation_error() {
    let ctx = SimContext::start().await;
    create_customer(&ctx, "dup-1").await;
    let (status, body) = ctx
        .send_json(
            Method::POST,
            "/managed_users",
            json!({ "name": "Again", "notification_email": "a@example.com", "external_id": "dup-1" }),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({
            "message": "Validation failed",
            "errors": { "external_id": ["has already been taken"] },
        })
    );
    assert_eq!(ctx.running.simulator().account().customers.len(), 1);
}

#[tokio::test]
async fn the_customer_list_pages_by_per_page() {
    let ctx = SimContext::start().await;
    let mut created = Vec::new();
    for index in 0..7 {
        created.push(create_customer(&ctx, &format!("page-{index}")).await["id"].clone());
    }
    let mut seen = Vec::new();
    for (page, expected) in [(1, 3), (2, 3), (3, 1), (4, 0)] {
        let (status, body) = ctx
            .get(&format!("/managed_users?page={page}&per_page=3"))
            .await;
        assert_eq!(status, 200, "{body}");
        let result = body["result"].as_array().expect("result array");
        assert_eq!(result.len(), expected, "page {page}: {body}");
        seen.extend(result.iter().map(|customer| customer["id"].clone()));
    }
    assert_eq!(seen, created, "every customer once, in id order");
}

#[tokio::test]
async fn per_page_is_capped_at_100() {
    let ctx = SimContext::start().await;
    for index in 0..103 {
        create_customer(&ctx, &format!("many-{index}")).await;
    }
    let (status, first) = ctx.get("/managed_users?per_page=500").await;
    assert_eq!(status, 200);
    assert_eq!(first["result"].as_array().expect("result").len(), 100);
    let (_, second) = ctx.get("/managed_users?page=2&per_page=500").await;
    assert_eq!(second["result"].as_array().expect("result").len(), 3);
}

#[tokio::test]
async fn a_customer_is_found_by_id_and_by_encoded_external_id() {
    let ctx = SimContext::start().await;
    let created = create_customer(&ctx, "AM10:XV/303").await;
    let id = created["id"].as_u64().expect("id");
    let (status, by_id) = ctx.get(&format!("/managed_users/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(by_id, created);
    let (status, by_external) = ctx.get("/managed_users/EAM10%3AXV%2F303").await;
    assert_eq!(status, 200, "{by_external}");
    assert_eq!(by_external, created);
    assert_eq!(
        customer_path("AM10:XV/303"),
        "/managed_users/EAM10%3AXV%2F303"
    );
}

#[tokio::test]
async fn the_e_form_always_means_external_id() {
    let ctx = SimContext::start().await;
    let first = create_customer(&ctx, "first").await;
    let first_id = first["id"].as_u64().expect("id");
    // A second customer whose external id is the first one's numeric id.
    let second = create_customer(&ctx, &first_id.to_string()).await;
    let (_, by_number) = ctx.get(&format!("/managed_users/{first_id}")).await;
    assert_eq!(by_number["id"], first["id"]);
    let (_, by_external) = ctx.get(&format!("/managed_users/E{first_id}")).await;
    assert_eq!(by_external["id"], second["id"]);
}

#[tokio::test]
async fn an_unknown_customer_is_not_found() {
    let ctx = SimContext::start().await;
    create_customer(&ctx, "known").await;
    for path in [
        "/managed_users/999999",
        "/managed_users/Eunknown",
        "/managed_users/Eknown%2Fnot",
        "/managed_users/not-an-id",
        "/managed_users/Eunknown/connections",
    ] {
        assert_eq!(
            ctx.get(path).await,
            (404, json!({ "message": "Not found" })),
            "{path}"
        );
    }
}

#[tokio::test]
async fn updating_a_customer_changes_only_the_keys_sent() {
    let ctx = SimContext::start().await;
    let created = create_customer(&ctx, "upd-1").await;
    let (status, updated) = ctx
        .send_json(
            Method::PUT,
            &customer_path("upd-1"),
            json!({ "name": "Renamed", "origin_url": "https://app.example.com" }),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["name"], "Renamed");
    assert_eq!(updated["origin_url"], "https://app.example.com");
    assert_eq!(updated["notification_email"], created["notification_email"]);
    assert_eq!(updated["external_id"], created["external_id"]);
    assert_eq!(updated["id"], created["id"]);
    // `null` clears an optional key.
    let (_, cleared) = ctx
        .send_json(
            Method::PUT,
            &customer_path("upd-1"),
            json!({ "origin_url": null }),
        )
        .await;
    assert_eq!(cleared["origin_url"], Value::Null);
    assert_eq!(cleared["name"], "Renamed");
}

#[tokio::test]
async fn changing_the_external_id_moves_the_e_handle() {
    let ctx = SimContext::start().await;
    let created = create_customer(&ctx, "old-ext").await;
    let (status, updated) = ctx
        .send_json(
            Method::PUT,
            &customer_path("old-ext"),
            json!({ "external_id": "new:ext" }),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["external_id"], "new:ext");
    assert_eq!(ctx.get(&customer_path("old-ext")).await.0, 404);
    let (status, found) = ctx.get(&customer_path("new:ext")).await;
    assert_eq!(status, 200);
    assert_eq!(found["id"], created["id"]);
}

#[tokio::test]
async fn updating_to_a_taken_external_id_is_refused() {
    let ctx = SimContext::start().await;
    create_customer(&ctx, "one").await;
    create_customer(&ctx, "two").await;
    let (status, body) = ctx
        .send_json(
            Method::PUT,
            &customer_path("two"),
            json!({ "external_id": "one" }),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["errors"]["external_id"],
        json!(["has already been taken"])
    );
    assert_eq!(ctx.get(&customer_path("two")).await.0, 200);
}

// ---------------------------------------------------------------------------------------------
// Folders
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_folder_without_parent_is_a_project() {
    let ctx = SimContext::start().await;
    create_customer(&ctx, "f1").await;
    let customer = customer_path("f1");
    let project = create_folder(&ctx, &customer, "Files Sync", None).await;
    assert_eq!(project["name"], "Files Sync");
    assert_eq!(project["is_project"], true);
    assert_eq!(project["project_id"], project["id"]);
    assert!(project["parent_id"].is_u64(), "{project}");
    let (status, listed) = ctx.get(&format!("{customer}/folders")).await;
    assert_eq!(status, 200);
    assert_eq!(listed, json!({ "result": [project] }));
}

#[tokio::test]
async fn sub_folders_list_under_their_parent() {
    let ctx = SimContext::start().await;
    create_customer(&ctx, "f2").await;
    let customer = customer_path("f2");
    let project = create_folder(&ctx, &customer, "Project", None).await;
    let project_id = project["id"].as_u64().expect("id");
    let child = create_folder(&ctx, &customer, "Child", Some(project_id)).await;
    assert_eq!(child["parent_id"], project_id);
    assert_eq!(child["is_project"], false);
    assert_eq!(child["project_id"], project_id);
    let (_, children) = ctx
        .get(&format!("{customer}/folders?parent_id={project_id}"))
        .await;
    assert_eq!(children, json!({ "result": [child] }));
    let (_, top) = ctx.get(&format!("{customer}/folders")).await;
    assert_eq!(
        ids(top["result"].as_array().expect("result")),
        vec![project_id]
    );
}

#[tokio::test]
async fn a_folder_needs_a_name_and_a_known_parent() {
    let ctx = SimContext::start().await;
    create_customer(&ctx, "f3").await;
    let customer = customer_path("f3");
    let (status, body) = ctx
        .send_json(Method::POST, &format!("{customer}/folders"), json!({}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"]["name"], json!(["can't be blank"]));
    let (status, _) = ctx
        .send_json(
            Method::POST,
            &format!("{customer}/folders"),
            json!({ "name": "Orphan", "parent_id": 999_999 }),
        )
        .await;
    assert_eq!(status, 400);
}

// ---------------------------------------------------------------------------------------------
// Imports
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_import_is_in_progress_then_completed_with_recipe_statuses() {
    let ctx = SimContext::start().await;
    create_customer(&ctx, "imp-1").await;
    let customer = customer_path("imp-1");
    let project = create_folder(&ctx, &customer, "Integrations", None).await["id"]
        .as_u64()
        .expect("id");
    let (status, started) = post_import(
        &ctx,
        &customer,
        &format!("?folder_id={project}"),
        quickstart_package_zip(),
    )
    .await;
    assert_eq!(status, 200, "{started}");
    assert_eq!(started["operation_type"], "import");
    assert_eq!(started["status"], "in_progress");
    let import_id = started["id"].as_u64().expect("id");
    let path = format!("{customer}/imports/{import_id}");
    let (_, first) = ctx.get(&path).await;
    assert_eq!(first["status"], "in_progress", "{first}");
    let (_, done) = ctx.get(&path).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["id"], import_id);
    let statuses = done["recipe_status"].as_array().expect("recipe_status");
    assert_eq!(statuses.len(), 2, "{done}");
    let recipe_ids = ids(&list_recipes(&ctx, &customer, "").await);
    for status in statuses {
        assert!(recipe_ids.contains(&status["id"].as_u64().expect("id")));
        assert_eq!(
            status["import_result"],
            "no_update_or_updated_without_restart"
        );
    }
}

#[tokio::test]
async fn imported_recipes_are_stopped_and_use_the_imported_connection_shells() {
    let ctx = SimContext::start().await;
    let qs = quickstart(&ctx, "imp-2").await;
    let connections = list_connections(&ctx, &qs.customer, "").await;
    assert_eq!(connections.len(), 2, "{connections:?}");
    for connection in &connections {
        assert_eq!(
            connection["authorization_status"],
            Value::Null,
            "{connection}"
        );
        assert_ne!(
            connection["folder_id"], qs.project,
            "inside the package's own folder"
        );
    }
    assert_eq!(named(&connections, "Dropbox")["provider"], "dropbox");
    assert_eq!(named(&connections, "PartnerApp")["provider"], "partner_app");
    let list_files = get_recipe(&ctx, &qs.customer, qs.list_files).await;
    assert_eq!(list_files["running"], false);
    let accounts: Vec<(Value, Value)> = list_files["config"]
        .as_array()
        .expect("config")
        .iter()
        .map(|entry| (entry["provider"].clone(), entry["account_id"].clone()))
        .collect();
    assert_eq!(
        accounts,
        vec![
            (json!("clock"), Value::Null),
            (json!("dropbox"), json!(qs.dropbox)),
            (json!("partner_app"), json!(qs.partner_app)),
            (json!("logger"), Value::Null),
        ]
    );
    let get_file = get_recipe(&ctx, &qs.customer, qs.get_file).await;
    assert_eq!(get_file["running"], false);
    assert_eq!(get_file["config"][1]["account_id"], qs.dropbox);
    assert_eq!(get_file["config"][1]["skip_validation"], true);
    // The package's folder was created under the target folder.
    let (_, children) = ctx
        .get(&format!("{}/folders?parent_id={}", qs.customer, qs.project))
        .await;
    let folder = &children["result"][0];
    assert_eq!(folder["name"], "Files Sync");
    assert_eq!(list_files["folder_id"], folder["id"]);
}

#[tokio::test]
async fn reimporting_updates_by_name_without_duplicates() {
    let ctx = SimContext::start().await;
    let qs = quickstart(&ctx, "imp-3").await;
    let recipes_before = ids(&list_recipes(&ctx, &qs.customer, "").await);
    let connections_before = ids(&list_connections(&ctx, &qs.customer, "").await);
    let outcome = import(
        &ctx,
        &qs.customer,
        qs.project,
        quickstart_package_zip(),
        false,
    )
    .await;
    assert_eq!(outcome["status"], "completed", "{outcome}");
    assert_eq!(
        ids(&list_recipes(&ctx, &qs.customer, "").await),
        recipes_before
    );
    assert_eq!(
        ids(&list_connections(&ctx, &qs.customer, "").await),
        connections_before
    );
    // A changed package updates the recipe in place.
    let changed = quickstart_with_description("Changed description");
    let outcome = import(&ctx, &qs.customer, qs.project, changed, false).await;
    assert_eq!(outcome["status"], "completed", "{outcome}");
    let recipe = get_recipe(&ctx, &qs.customer, qs.list_files).await;
    assert_eq!(recipe["description"], "Changed description");
    assert_eq!(recipe["version_no"], 2);
    assert_eq!(
        ids(&list_recipes(&ctx, &qs.customer, "").await),
        recipes_before
    );
}

#[tokio::test]
async fn reimporting_keeps_connection_authorizations() {
    let ctx = SimContext::start().await;
    let qs = quickstart(&ctx, "imp-4").await;
    authorize(&ctx, qs.partner_app).await;
    let outcome = import(
        &ctx,
        &qs.customer,
        qs.project,
        quickstart_package_zip(),
        false,
    )
    .await;
    assert_eq!(outcome["status"], "completed", "{outcome}");
    let connections = list_connections(&ctx, &qs.customer, "").await;
    assert_eq!(
        named(&connections, "PartnerApp")["authorization_status"],
        "success"
    );
}

#[tokio::test]
async fn a_running_recipe_blocks_a_changed_reimport() {
    let ctx = SimContext::start().await;
    let qs = quickstart(&ctx, "imp-5").await;
    authorize(&ctx, qs.partner_app).await;
    assert_eq!(
        start_recipe(&ctx, &qs.customer, qs.list_files).await,
        (200, json!({ "success": true }))
    );
    let before = get_recipe(&ctx, &qs.customer, qs.list_files).await;
    let outcome = import(
        &ctx,
        &qs.customer,
        qs.project,
        quickstart_with_description("New version"),
        false,
    )
    .await;
    assert_eq!(outcome["status"], "failed", "{outcome}");
    let error = outcome["error"].as_str().expect("error text");
    assert!(error.contains("List files"), "{error}");
    assert!(outcome.get("recipe_status").is_none(), "{outcome}");
    let after = get_recipe(&ctx, &qs.customer, qs.list_files).await;
    assert_eq!(after, before, "a failed import changes nothing");
}

#[tokio::test]
async fn any_running_recipe_in_the_folder_blocks_an_import_even_an_unchanged_one() {
    // Workato refuses an import while recipes in the target folder run and `restart_recipes` is
    // false, whether or not the package would change them.
    let ctx = SimContext::start().await;
    let qs = quickstart(&ctx, "imp-6").await;
    authorize(&ctx, qs.partner_app).await;
    assert_eq!(start_recipe(&ctx, &qs.customer, qs.list_files).await.0, 200);
    let outcome = import(
        &ctx,
        &qs.customer,
        qs.project,
        quickstart_package_zip(),
        false,
    )
    .await;
    assert_eq!(outcome["status"], "failed", "{outcome}");
    assert!(
        outcome["error"]
            .as_str()
            .is_some_and(|error| error.contains("List files")),
        "{outcome}"
    );
    assert_eq!(
        get_recipe(&ctx, &qs.customer, qs.list_files).await["running"],
        true,
        "nothing was changed"
    );
    let outcome = import(
        &ctx,
        &qs.customer,
        qs.project,
        quickstart_package_zip(),
        true,
    )
    .await;
    assert_eq!(
        outcome["status"], "completed",
        "with restart_recipes: {outcome}"
    );
}

#[tokio::test]
async fn restart_recipes_lets_a_changed_reimport_restart_the_running_recipe() {
    let ctx = SimContext::start().await;
    let qs = quickstart(&ctx, "imp-7").await;
    authorize(&ctx, qs.partner_app).await;
    assert_eq!(start_recipe(&ctx, &qs.customer, qs.list_files).await.0, 200);
    let outcome = import(
        &ctx,
        &qs.customer,
        qs.project,
        quickstart_with_description("Restarted version"),
        true,
    )
    .await;
    assert_eq!(outcome["status"], "completed", "{outcome}");
    let statuses = outcome["recipe_status"].as_array().expect("recipe_status");
    let of = |id: u64| {
        statuses
            .iter()
            .find(|status| status["id"] == id)
            .map(|status| status["import_result"].clone())
    };
    assert_eq!(of(qs.list_files), Some(json!("restarted")), "{outcome}");
    assert_eq!(
        of(qs.get_file),
        Some(json!("no_update_or_updated_without_restart"))
    );
    let recipe = get_recipe(&ctx, &qs.customer, qs.list_files).await;
    assert_eq!(recipe["running"], true);
    assert_eq!(recipe["description"], "Restarted version");
}

#[tokio::test]
async fn a_bad_zip_is_refused_and_the_server_keeps_serving() {
    let ctx = SimContext::start().await;
    create_customer(&ctx, "imp-8").await;
    let customer = customer_path("imp-8");
    let project = create_folder(&ctx, &customer, "P", None).await["id"]
        .as_u64()
        .expect("id");
    let (status, body) = post_import(
        &ctx,
        &customer,
        &format!("?folder_id={project}"),
        b"this is not a zip".to_vec(),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .starts_with("Bad request")
    );
    assert!(list_recipes(&ctx, &customer, "").await.is_empty());
}

#[tokio::test]
async fn an_import_without_folder_id_is_refused() {
    let ctx = SimContext::start().await;
    create_customer(&ctx, "imp-9").await;
    let customer = customer_path("imp-9");
    let (status, body) = post_import(&ctx, &customer, "", quickstart_package_zip()).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["errors"]["folder_id"].is_array(), "{body}");
    let (status, _) =
        post_import(&ctx, &customer, "?folder_id=abc", quickstart_package_zip()).await;
    assert_eq!(status, 400);
    let (status, _) = post_import(
        &ctx,
        &customer,
        "?folder_id=999999",
        quickstart_package_zip(),
    )
    .await;
    assert_eq!(status, 404);
    assert!(list_recipes(&ctx, &customer, "").await.is_empty());
}

#[tokio::test]
async fn a_package_over_two_megabytes_is_accepted_under_the_default_body_limit() {
    // Real packages can be a few megabytes; the documented limit is `max_body_bytes` (50 MB by
    // default), not a framework default.
    let ctx = SimContext::start().await;
    create_customer(&ctx, "imp-10").await;
    let customer = customer_path("imp-10");
    let project = create_folder(&ctx, &customer, "P", None).await["id"]
        .as_u64()
        .expect("id");
    let mut files = quickstart_files();
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let noise: Vec<u8> = (0..3 * 1024 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect();
    files.insert("Files Sync/attachment.bin".to_owned(), noise);
    let zip = zip_files(files);
    assert!(zip.len() > 3 * 1024 * 1024);
    let outcome = import(&ctx, &customer, project, zip, false).await;
    assert_eq!(outcome["status"], "completed", "{outcome}");
}

// ---------------------------------------------------------------------------------------------
// Connections
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn runtime_connections_are_hidden_unless_asked_for() {
    let ctx = SimContext::start().await;
    create_customer(&ctx, "c1").await;
    let customer = customer_path("c1");
    let parent = create_connection(
        &ctx,
        &customer,
        json!({ "name": "Jira", "provider": "jira", "input": { "api_token": "t" } }),
    )
    .await;
    let runtime = create_connection(
        &ctx,
        &customer,
        json!({ "name": "Jira of user-1", "provider": "jira",
                "parent_id": parent["id"], "external_id": "user-1" }),
    )
    .await;
    assert_eq!(runtime["parent_id"], parent["id"]);
    assert_eq!(runtime["external_id"], "user-1");
    assert_eq!(
        ids(&list_connections(&ctx, &customer, "").await),
        vec![id_of(&parent)]
    );
    let mut all =
        ids(&list_connections(&ctx, &customer, "?include_runtime_connections=true").await);
    all.sort_unstable();
    let mut expected = vec![id_of(&parent), id_of(&runtime)];
    expected.sort_unstable();
    assert_eq!(all, expected);
}

#[tokio::test]
async fn the_connection_list_filters_by_provider_folder_parent_and_external_id() {
    let ctx = SimContext::start().await;
    create_customer(&ctx, "c2").await;
    let customer = customer_path("c2");
    let folder_a = create_folder(&ctx, &customer, "A", None).await["id"].clone();
    let folder_b = create_folder(&ctx, &customer, "B", None).await["id"].clone();
    let jira = create_connection(
        &ctx,
        &customer,
        json!({ "name": "Jira", "provider": "jira", "folder_id": folder_a }),
    )
    .await;
    let slack = create_connection(
        &ctx,
        &customer,
        json!({ "name": "Slack", "provider": "slack", "folder_id": folder_b }),
    )
    .await;
    let mut users = Vec::new();
    for user in ["user-1", "user-2"] {
        users.push(
            create_connection(
                &ctx,
                &customer,
                json!({ "name": user, "provider": "jira", "folder_id": folder_a,
                        "parent_id": jira["id"], "external_id": user }),
            )
            .await,
        );
    }
    let runtime = "&include_runtime_connections=true";
    let listed = |query: String| {
        let ctx = &ctx;
        let customer = customer.clone();
        async move {
            let mut found = ids(&list_connections(ctx, &customer, &query).await);
            found.sort_unstable();
            found
        }
    };
    assert_eq!(listed("?provider=slack".into()).await, vec![id_of(&slack)]);
    assert_eq!(
        listed(format!("?folder_id={folder_a}")).await,
        vec![id_of(&jira)]
    );
    assert_eq!(
        listed(format!("?folder_id={folder_b}")).await,
        vec![id_of(&slack)]
    );
    assert_eq!(
        listed(format!("?folder_id={folder_a}{runtime}")).await,
        vec![id_of(&jira), id_of(&users[0]), id_of(&users[1])]
    );
    assert_eq!(
        listed(format!("?parent_id={}{runtime}", jira["id"])).await,
        ids(&users)
    );
    assert_eq!(
        listed(format!("?external_id=user-2{runtime}")).await,
        vec![id_of(&users[1])]
    );
    assert_eq!(listed("?provider=box".into()).await, Vec::<u64>::new());
    let (status, _) = ctx
        .get(&format!("{customer}/connections?folder_id=abc"))
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_connection_created_without_credentials_is_a_shell() {
    let ctx = SimContext::start().await;
    create_customer(&ctx, "c3").await;
    let customer = customer_path("c3");
    let shell = create_connection(
        &ctx,
        &customer,
        json!({ "name": "Jira", "provider": "jira" }),
    )
    .await;
    assert_eq!(shell["name"], "Jira");
    assert_eq!(shell["provider"], "jira");
    assert_eq!(shell["authorization_status"], Value::Null);
    assert_eq!(shell["authorization_error"], Value::Null);
    assert_eq!(shell["authorized_at"], Value::Null);
    // `shell_connection: true` stores credentials without testing them.
    let untested = create_connection(
        &ctx,
        &customer,
        json!({ "provider": "jira", "shell_connection": true, "input": { "api_token": "t" } }),
    )
    .await;
    assert_eq!(untested["authorization_status"], Value::Null);
}

#[tokio::test]
async fn a_connection_without_provider_is_refused() {
    let ctx = SimContext::start().await;
    create_customer(&ctx, "c4").await;
    let (status, body) = ctx
        .send_json(
            Method::POST,
            &format!("{}/connections", customer_path("c4")),
            json!({ "name": "Nothing" }),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"]["provider"], json!(["can't be blank"]));
}

#[tokio::test]
async fn credentials_authorize_a_connection_and_the_value_invalid_fails_it() {
    let ctx = SimContext::start().await;
    create_customer(&ctx, "c5").await;
    let customer = customer_path("c5");
    let good = create_connection(
        &ctx,
        &customer,
        json!({ "provider": "jira", "input": { "email": "a@b.c", "api_token": "secret" } }),
    )
    .await;
    assert_eq!(good["authorization_status"], "success");
    assert_eq!(good["authorization_error"], Value::Null);
    assert!(good["authorized_at"].is_string(), "{good}");
    let bad = create_connection(
        &ctx,
        &customer,
        json!({ "provider": "jira", "input": { "email": "a@b.c", "api_token": "invalid" } }),
    )
    .await;
    assert_eq!(bad["authorization_status"], "failed");
    assert_eq!(
        bad["authorization_error"],
        "Authentication failed: invalid credentials"
    );
    assert_eq!(bad["authorized_at"], Value::Null);
}

#[tokio::test]
async fn an_oauth_only_provider_needs_an_access_token() {
    let ctx = SimContext::start().await;
    create_customer(&ctx, "c6").await;
    let customer = customer_path("c6");
    let input_only = create_connection(
        &ctx,
        &customer,
        json!({ "provider": "dropbox", "input": { "app_key": "k", "app_secret": "s" } }),
    )
    .await;
    assert_eq!(input_only["authorization_status"], "failed");
    assert!(
        input_only["authorization_error"]
            .as_str()
            .is_some_and(|error| error.contains("oauth_token_pair")),
        "{input_only}"
    );
    let with_token = create_connection(
        &ctx,
        &customer,
        json!({ "provider": "dropbox",
                "oauth_token_pair": { "access_token": "at", "refresh_token": "rt" } }),
    )
    .await;
    assert_eq!(with_token["authorization_status"], "success");
    let empty_token = create_connection(
        &ctx,
        &customer,
        json!({ "provider": "dropbox", "oauth_token_pair": { "access_token": "", "refresh_token": "rt" } }),
    )
    .await;
    assert_eq!(empty_token["authorization_status"], "failed");
}

#[tokio::test]
async fn updating_a_connection_with_input_reauthorizes_it() {
    let ctx = SimContext::start().await;
    create_customer(&ctx, "c7").await;
    let customer = customer_path("c7");
    let created = create_connection(
        &ctx,
        &customer,
        json!({ "provider": "jira", "input": { "api_token": "invalid" } }),
    )
    .await;
    assert_eq!(created["authorization_status"], "failed");
    let path = format!("{customer}/connections/{}", created["id"]);
    let (status, fixed) = ctx
        .send_json(
            Method::PUT,
            &path,
            json!({ "input": { "api_token": "good" } }),
        )
        .await;
    assert_eq!(status, 200, "{fixed}");
    assert_eq!(fixed["authorization_status"], "success");
    assert_eq!(fixed["authorization_error"], Value::Null);
    let (_, renamed) = ctx
        .send_json(Method::PUT, &path, json!({ "name": "Renamed" }))
        .await;
    assert_eq!(renamed["name"], "Renamed");
    assert_eq!(
        renamed["authorization_status"], "success",
        "a rename keeps the authorization"
    );
    let (_, broken) = ctx
        .send_json(
            Method::PUT,
            &path,
            json!({ "input": { "api_token": "invalid" } }),
        )
        .await;
    assert_eq!(broken["authorization_status"], "failed");
    let (status, _) = ctx
        .send_json(
            Method::PUT,
            &format!("{customer}/connections/999999"),
            json!({ "name": "x" }),
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn disconnecting_a_connection_of_a_running_recipe_needs_force() {
    let ctx = SimContext::start().await;
    let qs = quickstart(&ctx, "c8").await;
    let path = format!("{}/connections/{}", qs.customer, qs.partner_app);
    let (_, authorized) = ctx
        .send_json(Method::PUT, &path, json!({ "input": { "api_key": "k" } }))
        .await;
    assert_eq!(authorized["authorization_status"], "success");
    assert_eq!(start_recipe(&ctx, &qs.customer, qs.list_files).await.0, 200);

    let (status, body) = ctx
        .send_json(Method::POST, &format!("{path}/disconnect"), json!({}))
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].is_string());
    assert_eq!(
        get_recipe(&ctx, &qs.customer, qs.list_files).await["running"],
        true
    );

    let (status, body) = ctx
        .send_json(
            Method::POST,
            &format!("{path}/disconnect"),
            json!({ "force": true }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(
        get_recipe(&ctx, &qs.customer, qs.list_files).await["running"],
        false
    );
    let connections = list_connections(&ctx, &qs.customer, "").await;
    assert_eq!(
        named(&connections, "PartnerApp")["authorization_status"],
        Value::Null
    );
}

#[tokio::test]
async fn disconnecting_an_unused_connection_needs_no_force() {
    let ctx = SimContext::start().await;
    create_customer(&ctx, "c9").await;
    let customer = customer_path("c9");
    let connection = create_connection(
        &ctx,
        &customer,
        json!({ "provider": "jira", "input": { "api_token": "t" } }),
    )
    .await;
    let path = format!("{customer}/connections/{}/disconnect", connection["id"]);
    assert_eq!(
        ctx.send_json(Method::POST, &path, json!({})).await,
        (200, json!({ "success": true }))
    );
    let listed = list_connections(&ctx, &customer, "").await;
    assert_eq!(listed[0]["authorization_status"], Value::Null);
    // Already disconnected: a no-op.
    assert_eq!(ctx.send_json(Method::POST, &path, json!({})).await.0, 200);
}

#[tokio::test]
async fn deleting_a_connection_removes_it_unless_a_recipe_uses_it() {
    let ctx = SimContext::start().await;
    let qs = quickstart(&ctx, "c10").await;
    let extra = create_connection(&ctx, &qs.customer, json!({ "provider": "jira" })).await;
    let (status, body) = send(ctx.request(
        Method::DELETE,
        &format!("{}/connections/{}", qs.customer, extra["id"]),
    ))
    .await;
    assert_eq!((status, body), (200, json!({ "success": true })));
    let remaining = ids(&list_connections(&ctx, &qs.customer, "").await);
    assert!(!remaining.contains(&extra["id"].as_u64().expect("id")));
    assert_eq!(remaining.len(), 2);

    let (status, _) = send(ctx.request(
        Method::DELETE,
        &format!("{}/connections/{}", qs.customer, qs.partner_app),
    ))
    .await;
    assert_eq!(status, 400, "used by List files");
    assert_eq!(list_connections(&ctx, &qs.customer, "").await.len(), 2);
    let (status, _) = send(ctx.request(
        Method::DELETE,
        &format!("{}/connections/{}", qs.customer, extra["id"]),
    ))
    .await;
    assert_eq!(status, 404, "already deleted");
}

#[tokio::test]
async fn sim_authorize_and_revoke_play_the_end_user() {
    let ctx = SimContext::start().await;
    create_customer(&ctx, "c11").await;
    let customer = customer_path("c11");
    let shell = create_connection(&ctx, &customer, json!({ "provider": "dropbox" })).await;
    let id = shell["id"].as_u64().expect("id");
    let (status, body) = ctx
        .sim_post(&format!("/connections/{id}/authorize"), json!({}))
        .await;
    assert_eq!((status, body), (200, json!({ "success": true })));
    let listed = list_connections(&ctx, &customer, "").await;
    assert_eq!(listed[0]["authorization_status"], "success");
    assert!(listed[0]["authorized_at"].is_string());

    let (status, _) = ctx
        .sim_post(&format!("/connections/{id}/revoke"), json!({}))
        .await;
    assert_eq!(status, 200);
    let listed = list_connections(&ctx, &customer, "").await;
    assert_eq!(listed[0]["authorization_status"], "failed");
    assert!(listed[0]["authorization_error"].is_string());
    assert_eq!(listed[0]["authorized_at"], Value::Null);

    let (status, _) = ctx
        .sim_post("/connections/999999/authorize", json!({}))
        .await;
    assert_eq!(status, 404);
}

// ---------------------------------------------------------------------------------------------
// Recipes
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_recipe_list_is_a_result_ten_per_page_in_descending_id_order() {
    let ctx = SimContext::start().await;
    create_customer(&ctx, "r1").await;
    let customer = customer_path("r1");
    let project = create_folder(&ctx, &customer, "P", None).await["id"]
        .as_u64()
        .expect("id");
    let names: Vec<String> = (0..12).map(|index| format!("Recipe {index:02}")).collect();
    let outcome = import(&ctx, &customer, project, recipes_package(&names), false).await;
    assert_eq!(outcome["status"], "completed", "{outcome}");

    let (status, body) = ctx.get(&format!("{customer}/recipes")).await;
    assert_eq!(status, 200);
    assert!(body.get("items").is_none(), "recipes use `result`");
    let first = ids(body["result"].as_array().expect("result"));
    assert_eq!(first.len(), 10);
    let second = ids(&list_recipes(&ctx, &customer, "?page=2").await);
    assert_eq!(second.len(), 2);
    let all: Vec<u64> = first.iter().chain(&second).copied().collect();
    let mut descending = all.clone();
    descending.sort_unstable_by(|a, b| b.cmp(a));
    descending.dedup();
    assert_eq!(all, descending, "unique and descending");
    assert_eq!(
        ids(&list_recipes(&ctx, &customer, "?per_page=12").await),
        all
    );
}

#[tokio::test]
async fn the_recipe_list_filters_by_folder_and_running() {
    let ctx = SimContext::start().await;
    create_customer(&ctx, "r2").await;
    let customer = customer_path("r2");
    let folder_a = create_folder(&ctx, &customer, "A", None).await["id"]
        .as_u64()
        .expect("id");
    let folder_b = create_folder(&ctx, &customer, "B", None).await["id"]
        .as_u64()
        .expect("id");
    let a_names = vec!["A1".to_owned(), "A2".to_owned()];
    import(&ctx, &customer, folder_a, recipes_package(&a_names), false).await;
    import(
        &ctx,
        &customer,
        folder_b,
        recipes_package(&["B1".to_owned()]),
        false,
    )
    .await;

    let in_a = list_recipes(&ctx, &customer, &format!("?folder_id={folder_a}")).await;
    let mut names: Vec<&str> = in_a.iter().filter_map(|r| r["name"].as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["A1", "A2"]);
    let in_b = list_recipes(&ctx, &customer, &format!("?folder_id={folder_b}")).await;
    assert_eq!(in_b.len(), 1);
    assert_eq!(in_b[0]["name"], "B1");

    let a1 = named(&in_a, "A1")["id"].as_u64().expect("id");
    assert_eq!(
        start_recipe(&ctx, &customer, a1).await,
        (200, json!({ "success": true }))
    );
    assert_eq!(
        ids(&list_recipes(&ctx, &customer, "?running=true").await),
        vec![a1]
    );
    let stopped = ids(&list_recipes(&ctx, &customer, "?running=false").await);
    assert_eq!(stopped.len(), 2);
    assert!(!stopped.contains(&a1));
}

#[tokio::test]
async fn starting_a_recipe_with_an_unauthorized_connection_is_refused_with_config_errors() {
    let ctx = SimContext::start().await;
    let qs = quickstart(&ctx, "r3").await;
    let (status, body) = start_recipe(&ctx, &qs.customer, qs.list_files).await;
    assert_eq!(status, 200, "a refusal is still HTTP 200");
    assert_eq!(body["success"], false, "{body}");
    assert_eq!(body["code_errors"], json!([]));
    let errors = body["config_errors"].as_array().expect("config_errors");
    assert_eq!(errors.len(), 1, "only PartnerApp blocks: {body}");
    let tuple = &errors[0][1][0];
    assert_eq!(tuple[0], "account_id");
    assert_eq!(tuple[1], qs.partner_app);
    assert_eq!(tuple[2], "unconnected");
    assert_eq!(
        get_recipe(&ctx, &qs.customer, qs.list_files).await["running"],
        false
    );
}

#[tokio::test]
async fn skip_validation_connections_do_not_block_a_start() {
    let ctx = SimContext::start().await;
    let qs = quickstart(&ctx, "r4").await;
    // Get file uses only Dropbox, with skip_validation: true, and Dropbox is an unauthorized shell.
    assert_eq!(
        start_recipe(&ctx, &qs.customer, qs.get_file).await,
        (200, json!({ "success": true }))
    );
    assert_eq!(
        get_recipe(&ctx, &qs.customer, qs.get_file).await["running"],
        true
    );
}

#[tokio::test]
async fn a_recipe_starts_once_its_connection_is_authorized_and_stops() {
    let ctx = SimContext::start().await;
    let qs = quickstart(&ctx, "r5").await;
    authorize(&ctx, qs.partner_app).await;
    assert_eq!(
        start_recipe(&ctx, &qs.customer, qs.list_files).await,
        (200, json!({ "success": true }))
    );
    assert_eq!(
        get_recipe(&ctx, &qs.customer, qs.list_files).await["running"],
        true
    );
    let (status, _) = start_recipe(&ctx, &qs.customer, qs.list_files).await;
    assert_eq!(status, 400, "already running");

    let stop = format!("{}/recipes/{}/stop", qs.customer, qs.list_files);
    assert_eq!(
        ctx.send_json(Method::PUT, &stop, json!({})).await,
        (200, json!({ "success": true }))
    );
    let recipe = get_recipe(&ctx, &qs.customer, qs.list_files).await;
    assert_eq!(recipe["running"], false);
    assert!(recipe["stopped_at"].is_string());
    assert_eq!(ctx.send_json(Method::PUT, &stop, json!({})).await.0, 400);
}

#[tokio::test]
async fn a_revoked_connection_blocks_the_start_again() {
    let ctx = SimContext::start().await;
    let qs = quickstart(&ctx, "r6").await;
    authorize(&ctx, qs.partner_app).await;
    let (status, _) = ctx
        .sim_post(
            &format!("/connections/{}/revoke", qs.partner_app),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = start_recipe(&ctx, &qs.customer, qs.list_files).await;
    assert_eq!(status, 200);
    assert_eq!(body["success"], false);
    assert!(body["config_errors"].to_string().contains("unconnected"));
}

#[tokio::test]
async fn an_unknown_recipe_is_not_found() {
    let ctx = SimContext::start().await;
    create_customer(&ctx, "r7").await;
    let customer = customer_path("r7");
    assert_eq!(
        ctx.get(&format!("{customer}/recipes/999999")).await,
        (404, json!({ "message": "Not found" }))
    );
    assert_eq!(start_recipe(&ctx, &customer, 999_999).await.0, 404);
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn reading_properties_needs_a_prefix() {
    let ctx = SimContext::start().await;
    create_customer(&ctx, "p1").await;
    let (status, body) = ctx
        .get(&format!("{}/properties", customer_path("p1")))
        .await;
    assert_eq!(status, 400);
    assert!(body["message"].is_string());
}

#[tokio::test]
async fn properties_upsert_by_name_and_read_back_by_prefix() {
    let ctx = SimContext::start().await;
    create_customer(&ctx, "p2").await;
    let path = format!("{}/properties", customer_path("p2"));
    let (status, body) = ctx
        .send_json(
            Method::POST,
            &path,
            json!({ "properties": {
                "embedctl_package": "abc",
                "embedctl_version": "1",
                "salesforce_sync.object": "Account",
            } }),
        )
        .await;
    assert_eq!((status, body), (200, json!({ "success": true })));
    let (status, _) = ctx
        .send_json(
            Method::POST,
            &path,
            json!({ "properties": { "embedctl_version": "2" } }),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        ctx.get(&format!("{path}?prefix=embedctl_")).await,
        (
            200,
            json!({ "result": { "embedctl_package": "abc", "embedctl_version": "2" } })
        )
    );
    assert_eq!(
        ctx.get(&format!("{path}?prefix=nothing")).await,
        (200, json!({ "result": {} }))
    );
    let (status, _) = ctx
        .send_json(Method::POST, &path, json!({ "properties": { "n": 1 } }))
        .await;
    assert_eq!(status, 400, "values are strings");
    // Workato's limits: names of at most 100 characters, values of at most 1,024.
    let long_name = "n".repeat(101);
    let (status, _) = ctx
        .send_json(
            Method::POST,
            &path,
            json!({ "properties": { long_name: "v" } }),
        )
        .await;
    assert_eq!(status, 400, "a name over 100 characters");
    let (status, _) = ctx
        .send_json(
            Method::POST,
            &path,
            json!({ "properties": { "embedctl_x": "v".repeat(1_025) } }),
        )
        .await;
    assert_eq!(status, 400, "a value over 1,024 characters");
    let (status, _) = ctx
        .send_json(
            Method::POST,
            &path,
            json!({ "properties": { "n".repeat(100): "v".repeat(1_024) } }),
        )
        .await;
    assert_eq!(status, 200, "at the limits");
}

// ---------------------------------------------------------------------------------------------
// Rate limits
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_write_over_the_family_limit_gets_429_with_retry_after() {
    let ctx = SimContext::start().await;
    create_customer(&ctx, "rl1").await;
    let customer = customer_path("rl1");
    ctx.running
        .simulator()
        .set_rate_limit(Family::Connections, vec![(2, 60)]);
    for _ in 0..2 {
        create_connection(&ctx, &customer, json!({ "provider": "jira" })).await;
    }
    let response = ctx
        .request(Method::POST, &format!("{customer}/connections"))
        .json(&json!({ "provider": "jira" }))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status().as_u16(), 429);
    let retry_after: u64 = response
        .headers()
        .get(RETRY_AFTER)
        .expect("a Retry-After header")
        .to_str()
        .expect("ASCII")
        .parse()
        .expect("whole seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body, json!({ "message": "Too many requests" }));

    // Nothing was created, other families are not affected, and the stats count the refusal.
    assert_eq!(list_connections(&ctx, &customer, "").await.len(), 2);
    let stats = ctx.sim_get("/stats").await;
    assert_eq!(stats["throttled"]["connections"], 1, "{stats}");
    assert_eq!(stats["calls"]["connections"], 2, "{stats}");
    assert_eq!(stats["calls"]["customers_create"], 1, "{stats}");
    let last = log_entries(&ctx).await;
    assert!(
        last.iter()
            .any(|entry| entry["status"] == 429 && entry["family"] == "connections")
    );
}

#[tokio::test]
async fn a_throttled_family_admits_again_after_the_scaled_window() {
    let options = SimOptions {
        time_scale: 600.0, // one minute becomes 100 ms
        ..SimOptions::default()
    };
    let ctx = SimContext::start_with(AccountState::default(), options).await;
    create_customer(&ctx, "rl2").await;
    let customer = customer_path("rl2");
    ctx.running
        .simulator()
        .set_rate_limit(Family::Connections, vec![(1, 60)]);
    let path = format!("{customer}/connections");
    let body = json!({ "provider": "jira" });
    assert_eq!(
        ctx.send_json(Method::POST, &path, body.clone()).await.0,
        200
    );
    assert_eq!(
        ctx.send_json(Method::POST, &path, body.clone()).await.0,
        429
    );
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(ctx.send_json(Method::POST, &path, body).await.0, 200);
    assert_eq!(ctx.sim_get("/stats").await["throttled"]["connections"], 1);
}

// ---------------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_dropped_response_loses_the_answer_but_keeps_the_write() {
    let ctx = SimContext::start().await;
    ctx.running.simulator().set_faults(|faults| {
        faults
            .drop_after_commit
            .insert("customers_create".into(), 1);
    });
    let request = ctx.request(Method::POST, "/managed_users").json(&json!({
        "name": "Lost", "notification_email": "lost@example.com", "external_id": "lost-1",
    }));
    // The connection is cut before the status line arrives: the client sees no answer at all.
    let error = request.send().await.expect_err("the client gets no answer");
    assert!(
        error.status().is_none(),
        "a transport error, not a status: {error:?}"
    );
    assert!(error.is_request(), "{error:?}");

    let (status, found) = ctx.get(&customer_path("lost-1")).await;
    assert_eq!(status, 200, "the write was committed");
    assert_eq!(found["name"], "Lost");
    let entries = log_entries(&ctx).await;
    let post = entries
        .iter()
        .find(|entry| entry["method"] == "POST")
        .expect("the POST is logged");
    assert_eq!(post["dropped"], true);
    assert_eq!(post["status"], 200);
    assert_eq!(ctx.sim_get("/stats").await["dropped_responses"], 1);

    // Only the chosen number of responses is lost.
    create_customer(&ctx, "kept-2").await;
}

#[tokio::test]
async fn a_fail_rate_of_one_answers_500_and_changes_nothing() {
    let options = SimOptions {
        fail_rate: 1.0,
        ..SimOptions::default()
    };
    let ctx = SimContext::start_with(AccountState::default(), options).await;
    let (status, body) = ctx
        .send_json(
            Method::POST,
            "/managed_users",
            json!({ "name": "X", "notification_email": "x@example.com", "external_id": "x" }),
        )
        .await;
    assert_eq!(status, 500);
    assert_eq!(body["message"], "Server error");
    assert!(body["id"].is_string(), "{body}");
    assert!(ctx.running.simulator().account().customers.is_empty());
    assert_eq!(ctx.sim_get("/stats").await["injected_failures"], 1);
    // Faults can be switched off while running.
    ctx.running
        .simulator()
        .set_faults(|faults| faults.fail_rate = 0.0);
    create_customer(&ctx, "x").await;
}

#[tokio::test]
async fn latency_delays_every_api_request() {
    let options = SimOptions {
        latency: Duration::from_millis(300),
        ..SimOptions::default()
    };
    let ctx = SimContext::start_with(AccountState::default(), options).await;
    let started = Instant::now();
    assert_eq!(ctx.get("/managed_users").await.0, 200);
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------------------------
// Robustness
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn malformed_json_is_a_bad_request_and_the_server_keeps_serving() {
    let ctx = SimContext::start().await;
    for body in [&b"{\"name\": "[..], &b"[1, 2]"[..], &b"\xff\xfe"[..]] {
        let (status, answer) = send(
            ctx.request(Method::POST, "/managed_users")
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_vec()),
        )
        .await;
        assert_eq!(status, 400, "{answer}");
        assert!(
            answer["message"]
                .as_str()
                .is_some_and(|message| message.starts_with("Bad request")),
            "{answer}"
        );
    }
    assert_eq!(
        ctx.get("/managed_users").await,
        (200, json!({ "result": [] }))
    );
    create_customer(&ctx, "after").await;
}

#[tokio::test]
async fn a_body_over_max_body_bytes_is_a_bad_request_and_the_server_keeps_serving() {
    let options = SimOptions {
        max_body_bytes: 1024,
        ..SimOptions::default()
    };
    let ctx = SimContext::start_with(AccountState::default(), options).await;
    let huge = json!({
        "name": "x".repeat(8 * 1024),
        "notification_email": "x@example.com",
    });
    let (status, body) = ctx.send_json(Method::POST, "/managed_users", huge).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Bad request"))
    );
    assert!(ctx.running.simulator().account().customers.is_empty());
    create_customer(&ctx, "small").await;
}

#[tokio::test]
async fn an_unknown_path_is_not_found() {
    let ctx = SimContext::start().await;
    assert_eq!(
        ctx.get("/no_such_thing").await,
        (404, json!({ "message": "Not found" }))
    );
    let base = ctx.running.base_url().trim_end_matches("/api");
    let (status, _) = send(
        ctx.client
            .get(format!("{base}/elsewhere"))
            .bearer_auth(TOKEN),
    )
    .await;
    assert_eq!(status, 404);
}

// ---------------------------------------------------------------------------------------------
// Request log
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_log_lists_api_requests_in_order() {
    let ctx = SimContext::start().await;
    create_customer(&ctx, "log-1").await;
    ctx.get("/managed_users/Enobody").await;
    let _ = ctx.sim_get("/stats").await; // not an /api request: not logged
    ctx.get("/managed_users?per_page=5").await;
    send(ctx.client.get(ctx.url("/managed_users"))).await;
    let entries = log_entries(&ctx).await;
    let summary: Vec<(Value, Value, Value, Value)> = entries
        .iter()
        .map(|entry| {
            (
                entry["seq"].clone(),
                entry["method"].clone(),
                entry["path"].clone(),
                entry["status"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                json!(1),
                json!("POST"),
                json!("/api/managed_users"),
                json!(200)
            ),
            (
                json!(2),
                json!("GET"),
                json!("/api/managed_users/Enobody"),
                json!(404)
            ),
            (
                json!(3),
                json!("GET"),
                json!("/api/managed_users?per_page=5"),
                json!(200)
            ),
            (
                json!(4),
                json!("GET"),
                json!("/api/managed_users"),
                json!(401)
            ),
        ]
    );
    assert_eq!(entries[0]["family"], "customers_create");
    assert_eq!(entries[0]["body"]["external_id"], "log-1");
    assert_eq!(entries[0]["dropped"], false);
    // When each request was counted, on the simulator's clock: the requests followed one
    // another.
    let times: Vec<f64> = entries
        .iter()
        .map(|entry| entry["at_ms"].as_f64().expect("at_ms is a number"))
        .collect();
    assert!(times[0] >= 0.0, "{times:?}");
    assert!(times.windows(2).all(|pair| pair[0] <= pair[1]), "{times:?}");
}

#[tokio::test]
async fn credentials_reach_the_log_only_as_digests() {
    let ctx = SimContext::start().await;
    create_customer(&ctx, "log-2").await;
    let customer = customer_path("log-2");
    let shell = create_connection(&ctx, &customer, json!({ "provider": "partner_app" })).await;
    let (status, updated) = ctx
        .send_json(
            Method::PUT,
            &format!("{customer}/connections/{}", shell["id"]),
            json!({ "input": { "api_key": "CANARY-123" } }),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(updated["authorization_status"], "success");
    assert!(!updated.to_string().contains("CANARY"));

    let entries = log_entries(&ctx).await;
    let put = entries
        .iter()
        .find(|entry| entry["method"] == "PUT")
        .expect("the PUT is logged");
    assert_eq!(
        put["body"]["input"]["api_key"],
        format!("sha256:{}", sha256_hex("CANARY-123"))
    );
    assert!(!sim_text(&ctx, "/log").await.contains("CANARY"));
    assert!(!sim_text(&ctx, "/state").await.contains("CANARY"));
    assert!(!ctx.running.simulator().state_json().contains("CANARY"));
}

// ---------------------------------------------------------------------------------------------
// State files
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_saved_state_loads_back_and_serves_the_same_account() {
    let ctx = SimContext::start().await;
    let qs = quickstart(&ctx, "state-1").await;
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("state.json");
    ctx.running
        .simulator()
        .save_state(&path)
        .expect("the state saves");
    let loaded = Simulator::load_state(&path).expect("the state loads");
    let original: Value =
        serde_json::from_str(&ctx.running.simulator().state_json()).expect("state JSON");
    assert_eq!(
        serde_json::to_value(&loaded).expect("serializable"),
        original
    );

    let highest = original["next_id"].as_u64().expect("next_id");
    let reloaded = SimContext::start_with(loaded, SimOptions::default()).await;
    let (status, _) = reloaded.get(&customer_path("state-1")).await;
    assert_eq!(status, 200);
    let recipe = get_recipe(&reloaded, &qs.customer, qs.list_files).await;
    assert_eq!(recipe["name"], "List files");
    let newcomer = create_customer(&reloaded, "state-2").await;
    assert!(
        newcomer["id"].as_u64().expect("id") >= highest,
        "ids keep counting"
    );
}

#[test]
fn a_missing_state_file_is_an_empty_account() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let account = Simulator::load_state(&dir.path().join("absent.json")).expect("empty");
    assert!(account.customers.is_empty());
    assert_eq!(account.next_id, 0);
}

#[test]
fn a_garbage_state_file_is_an_error() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("garbage.json");
    std::fs::write(&path, "this is { not a state").expect("writable");
    let error = Simulator::load_state(&path).expect_err("garbage is refused");
    assert!(matches!(error, StateFileError::Invalid { .. }), "{error:?}");
    assert!(error.to_string().contains("garbage.json"), "{error}");
}

/// The custom-connector example's package, as embedctl uploads it.
fn custom_connector_package_zip() -> Vec<u8> {
    let path = crate::context::repo_root().join("examples/custom-connector/packages/ledger-sync");
    embedctl::package::Package::load(&path)
        .expect("the example package loads")
        .zip_bytes
}

/// The custom connector's id in the workspace that exported the example package.
const PACKAGE_CONNECTOR_ID: &str = "northwind_ledger__connector_2100004417_1767952800";

/// Imports the custom-connector example into a new customer; the connector's live provider there.
async fn import_custom_connector(ctx: &SimContext, external_id: &str) -> (String, u64, String) {
    create_customer(ctx, external_id).await;
    let customer = customer_path(external_id);
    let project = create_folder(ctx, &customer, "Ledger Sync", None).await["id"]
        .as_u64()
        .expect("folder id");
    // The package's root-folder asset goes into a project of its own.
    let home = create_folder(ctx, &customer, "Ledger Sync Home", None).await["id"]
        .as_u64()
        .expect("folder id");
    let zip = custom_connector_package_zip();
    let query =
        format!("?folder_id={project}&restart_recipes=false&folder_id_for_home_assets={home}");
    let (status, started) = post_import(ctx, &customer, &query, zip).await;
    assert_eq!(status, 200, "{started}");
    let import_id = started["id"].as_u64().expect("import id");
    let outcome = wait_for_import(ctx, &customer, import_id).await;
    assert_eq!(outcome["status"], "completed", "{outcome}");
    let connections = list_connections(ctx, &customer, "").await;
    let provider = named(&connections, "Northwind Ledger")["provider"]
        .as_str()
        .expect("provider")
        .to_owned();
    (customer, project, provider)
}

#[tokio::test]
async fn an_imported_custom_connector_gets_the_workspace_own_id_everywhere() {
    let ctx = SimContext::start().await;
    let (first, project, live) = import_custom_connector(&ctx, "cc-1").await;
    let (_, _, other) = import_custom_connector(&ctx, "cc-2").await;
    assert!(live.starts_with("northwind_ledger__connector_"), "{live}");
    assert_ne!(live, PACKAGE_CONNECTOR_ID);
    assert_ne!(live, other, "each workspace has its own id");

    let connections = list_connections(&ctx, &first, "").await;
    assert_eq!(
        named(&connections, "Northwind Ledger user")["provider"],
        live
    );
    assert_eq!(named(&connections, "Dropbox")["provider"], "dropbox");
    let recipes = list_recipes(&ctx, &first, "").await;
    let archive = named(&recipes, "Archive new ledger documents");
    assert!(
        !archive.to_string().contains(PACKAGE_CONNECTOR_ID),
        "{archive}"
    );
    assert_eq!(archive["config"][0]["provider"], live);
    assert_eq!(
        archive["config"][0]["account_id"],
        named(&connections, "Northwind Ledger")["id"]
    );

    // An unchanged re-import keeps the id, and does not count as a change of the running recipe,
    // which is therefore not restarted.
    let partner = named(&connections, "Northwind Ledger")["id"]
        .as_u64()
        .expect("id");
    authorize(&ctx, partner).await;
    let archive_id = archive["id"].as_u64().expect("id");
    assert_eq!(start_recipe(&ctx, &first, archive_id).await.0, 200);
    let (_, folders) = ctx.get(&format!("{first}/folders")).await;
    let home = folders["result"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|folder| folder["name"] == "Ledger Sync Home")
        .and_then(|folder| folder["id"].as_u64())
        .expect("the home-assets project");
    let query =
        format!("?folder_id={project}&restart_recipes=true&folder_id_for_home_assets={home}");
    let (status, started) = post_import(&ctx, &first, &query, custom_connector_package_zip()).await;
    assert_eq!(status, 200, "{started}");
    let import_id = started["id"].as_u64().expect("import id");
    let outcome = wait_for_import(&ctx, &first, import_id).await;
    assert_eq!(outcome["status"], "completed", "{outcome}");
    let result = outcome["recipe_status"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|status| status["id"] == archive_id)
        .map(|status| status["import_result"].clone());
    assert_eq!(
        result,
        Some(json!("no_update_or_updated_without_restart")),
        "{outcome}"
    );
    assert_eq!(get_recipe(&ctx, &first, archive_id).await["running"], true);
    let connections = list_connections(&ctx, &first, "").await;
    assert_eq!(named(&connections, "Northwind Ledger")["provider"], live);

    // Only this workspace's id is a connector here.
    for (provider, expected) in [
        (PACKAGE_CONNECTOR_ID, 400),
        (other.as_str(), 400),
        (live.as_str(), 200),
    ] {
        let (status, body) = ctx
            .send_json(
                Method::POST,
                &format!("{first}/connections"),
                json!({ "name": "Northwind Ledger - u-1", "provider": provider, "external_id": "u-1" }),
            )
            .await;
        assert_eq!(status, expected, "{provider}: {body}");
    }
}

// ---------------------------------------------------------------------------------------------
// Root-folder (Home) assets
// ---------------------------------------------------------------------------------------------

/// The quickstart package plus one recipe exported from the Home folder (`"root_folder": true`).
fn package_with_a_home_asset() -> Vec<u8> {
    let mut files = quickstart_files();
    let recipe = json!({
        "name": "Hourly ping",
        "version": 1,
        "code": { "provider": "clock", "name": "scheduled_event", "keyword": "trigger",
                  "block": [] },
        "config": [{ "keyword": "application", "provider": "clock",
                     "skip_validation": false, "account_id": null }],
        "root_folder": true,
    });
    files.insert(
        "hourly_ping.recipe.json".to_owned(),
        serde_json::to_vec_pretty(&recipe).expect("serializable"),
    );
    zip_files(files)
}

#[tokio::test]
async fn root_folder_assets_need_a_folder_for_home_assets_that_is_not_home() {
    let ctx = SimContext::start().await;
    create_customer(&ctx, "home-1").await;
    let customer = customer_path("home-1");
    let project = create_folder(&ctx, &customer, "Integrations", None).await;
    let project_id = project["id"].as_u64().expect("id");
    let home_id = project["parent_id"]
        .as_u64()
        .expect("a project's parent is Home");
    let home_assets = create_folder(&ctx, &customer, "Home assets", None).await["id"]
        .as_u64()
        .expect("id");

    // Without `folder_id_for_home_assets`: failed, nothing imported.
    let refused = import(
        &ctx,
        &customer,
        project_id,
        package_with_a_home_asset(),
        false,
    )
    .await;
    assert_eq!(refused["status"], "failed", "{refused}");
    let reason = refused["error"].as_str().expect("an error text");
    assert!(reason.contains("folder_id_for_home_assets"), "{reason}");
    assert!(reason.contains("hourly_ping.recipe.json"), "{reason}");
    assert!(list_recipes(&ctx, &customer, "").await.is_empty());

    // The Home folder itself: failed, nothing imported.
    let query = format!("?folder_id={project_id}&folder_id_for_home_assets={home_id}");
    let (status, started) = post_import(&ctx, &customer, &query, package_with_a_home_asset()).await;
    assert_eq!(status, 200, "{started}");
    let import_id = started["id"].as_u64().expect("import id");
    let refused = wait_for_import(&ctx, &customer, import_id).await;
    assert_eq!(refused["status"], "failed", "{refused}");
    let reason = refused["error"].as_str().expect("an error text");
    assert!(reason.contains("root"), "{reason}");
    assert!(list_recipes(&ctx, &customer, "").await.is_empty());

    // A project: completed, the Home asset in it and the rest under the target folder.
    let query = format!("?folder_id={project_id}&folder_id_for_home_assets={home_assets}");
    let (status, started) = post_import(&ctx, &customer, &query, package_with_a_home_asset()).await;
    assert_eq!(status, 200, "{started}");
    let import_id = started["id"].as_u64().expect("import id");
    let done = wait_for_import(&ctx, &customer, import_id).await;
    assert_eq!(done["status"], "completed", "{done}");
    let recipes = list_recipes(&ctx, &customer, "").await;
    assert_eq!(named(&recipes, "Hourly ping")["folder_id"], home_assets);
    let list_files_folder = named(&recipes, "List files")["folder_id"]
        .as_u64()
        .expect("folder id");
    assert_ne!(list_files_folder, home_assets);
    let (_, children) = ctx
        .get(&format!("{customer}/folders?parent_id={project_id}"))
        .await;
    assert!(
        children["result"]
            .as_array()
            .expect("folders")
            .iter()
            .any(|folder| folder["id"] == list_files_folder),
        "{children}"
    );
}
