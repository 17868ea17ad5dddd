//! Simulator responses validate against JSON Schemas of the Workato objects they stand for.
//!
//! The schemas are fixtures in `tests/fixtures/workato/`, one per object, each citing the page of
//! Workato's public documentation the object is described on. Their field names, types and
//! required fields are those of the component schemas of Workato's OpenAPI document of its
//! Developer API (Workato's own, MIT; published as `workato-api-spec.yaml` in
//! <https://github.com/workato-devs/workato-platform-cli>). That document is OpenAPI 3.0 and the
//! fixtures are JSON Schema 2020-12: `nullable` is translated as [`to_json_schema`] does.
//!
//! Each test drives the real simulator over HTTP and checks every response body it gets back
//! against the fixture of the object Workato documents for it. The fixtures need nothing outside
//! the repository; [`fixtures_agree_with_workato_openapi_document`] checks them against the
//! document itself when the environment variable [`OPENAPI_ENV`] names a copy of it.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::sim_context::{SimContext, quickstart_package_zip, send};

/// The Workato objects these tests hold the simulator to, one fixture each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Schema {
    Connection,
    Recipe,
    Folder,
    PackageDetailsResponse,
    RecipeStartResponse,
    ValidationError,
}

impl Schema {
    const ALL: [Schema; 6] = [
        Schema::Connection,
        Schema::Recipe,
        Schema::Folder,
        Schema::PackageDetailsResponse,
        Schema::RecipeStartResponse,
        Schema::ValidationError,
    ];

    /// The name under `components.schemas` in Workato's OpenAPI document, and the fixture's title.
    fn name(self) -> &'static str {
        match self {
            Schema::Connection => "Connection",
            Schema::Recipe => "Recipe",
            Schema::Folder => "Folder",
            Schema::PackageDetailsResponse => "PackageDetailsResponse",
            Schema::RecipeStartResponse => "RecipeStartResponse",
            Schema::ValidationError => "ValidationError",
        }
    }

    /// The fixture's file name in `tests/fixtures/workato/`.
    fn file_name(self) -> &'static str {
        match self {
            Schema::Connection => "connection.schema.json",
            Schema::Recipe => "recipe.schema.json",
            Schema::Folder => "folder.schema.json",
            Schema::PackageDetailsResponse => "package_details_response.schema.json",
            Schema::RecipeStartResponse => "recipe_start_response.schema.json",
            Schema::ValidationError => "validation_error.schema.json",
        }
    }

    /// Where the fixture lives.
    fn fixture_path(self) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/workato")
            .join(self.file_name())
    }
}

/// The fixture of `schema`, read once. A missing or broken fixture fails the test that asked for
/// it: these tests never pass by skipping.
fn fixture(schema: Schema) -> &'static Value {
    static FIXTURES: OnceLock<Vec<Value>> = OnceLock::new();
    let fixtures = FIXTURES.get_or_init(|| {
        Schema::ALL
            .iter()
            .map(|schema| {
                let path = schema.fixture_path();
                let text = std::fs::read_to_string(&path).unwrap_or_else(|error| {
                    panic!("cannot read the fixture {}: {error}", path.display())
                });
                serde_json::from_str(&text)
                    .unwrap_or_else(|error| panic!("{} is not JSON: {error}", path.display()))
            })
            .collect()
    });
    let index = Schema::ALL
        .iter()
        .position(|candidate| *candidate == schema)
        .expect("Schema::ALL lists every schema");
    &fixtures[index]
}

/// Converts an OpenAPI 3.0 schema (or any JSON holding schemas) into JSON Schema 2020-12.
///
/// OpenAPI 3.0's `nullable: true` has no JSON Schema keyword; it becomes a type that also admits
/// `null`: `type: X` → `type: [X, "null"]` (and an `enum` gains `null`, since a nullable enum is
/// meant to allow it), while a `$ref`/`allOf`/`oneOf`/`anyOf` node is wrapped as
/// `anyOf: [<that node>, {type: null}]`. A nullable node with none of these already admits null.
/// Example values are data, not schemas, and are left as they are.
///
/// The fixtures are written to this translation, and
/// [`fixtures_agree_with_workato_openapi_document`] applies it to the document before comparing.
fn to_json_schema(node: Value) -> Value {
    let Value::Object(object) = node else {
        return match node {
            Value::Array(items) => Value::Array(items.into_iter().map(to_json_schema).collect()),
            other => other,
        };
    };
    let mut converted = Map::new();
    for (key, value) in object {
        let value = match key.as_str() {
            "example" | "examples" | "enum" | "default" | "const" => value,
            _ => to_json_schema(value),
        };
        converted.insert(key, value);
    }
    let nullable = converted.remove("nullable") == Some(Value::Bool(true));
    if !nullable {
        return Value::Object(converted);
    }
    if let Some(Value::String(kind)) = converted.get("type").cloned() {
        converted.insert("type".to_owned(), json!([kind, "null"]));
        if let Some(Value::Array(values)) = converted.get_mut("enum")
            && !values.contains(&Value::Null)
        {
            values.push(Value::Null);
        }
        return Value::Object(converted);
    }
    let mut inner = Map::new();
    for keyword in ["$ref", "allOf", "oneOf", "anyOf"] {
        if let Some(value) = converted.remove(keyword) {
            inner.insert(keyword.to_owned(), value);
        }
    }
    if !inner.is_empty() {
        converted.insert(
            "anyOf".to_owned(),
            json!([Value::Object(inner), { "type": "null" }]),
        );
    }
    Value::Object(converted)
}

/// A validator for the fixture of `schema`; compiling it also checks the fixture against the
/// JSON Schema 2020-12 meta-schema.
fn validator(schema: Schema) -> jsonschema::Validator {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(fixture(schema))
        .unwrap_or_else(|error| {
            panic!(
                "the fixture {} does not compile: {error}",
                schema.fixture_path().display()
            )
        })
}

/// The validation errors of `instance` against `schema`, one line each.
fn violations(schema: Schema, instance: &Value) -> Vec<String> {
    validator(schema)
        .iter_errors(instance)
        .map(|error| {
            format!(
                "at `{}` (schema `{}`): {error}",
                error.instance_path(),
                error.schema_path()
            )
        })
        .collect()
}

/// Fails, printing every violation and the offending JSON, unless `instance` conforms.
#[track_caller]
fn assert_conforms(schema: Schema, instance: &Value, what: &str) {
    let problems = violations(schema, instance);
    assert!(
        problems.is_empty(),
        "{what}: the response does not conform to `{}` ({}):\n  {}\nresponse:\n{}",
        schema.name(),
        schema.file_name(),
        problems.join("\n  "),
        serde_json::to_string_pretty(instance).unwrap_or_default()
    );
}

/// The environment variable that names a copy of Workato's OpenAPI document of its Developer API
/// for [`fixtures_agree_with_workato_openapi_document`].
const OPENAPI_ENV: &str = "EMBEDCTL_WORKATO_OPENAPI";

/// Keywords whose value is a map of names to schemas.
const SCHEMA_MAPS: [&str; 4] = [
    "properties",
    "patternProperties",
    "$defs",
    "dependentSchemas",
];

/// Keywords whose value is one schema.
const SCHEMA_VALUES: [&str; 10] = [
    "items",
    "additionalProperties",
    "unevaluatedProperties",
    "unevaluatedItems",
    "propertyNames",
    "contains",
    "not",
    "if",
    "then",
    "else",
];

/// Keywords whose value is a list of schemas.
const SCHEMA_LISTS: [&str; 4] = ["allOf", "anyOf", "oneOf", "prefixItems"];

/// Keywords that only annotate (JSON Schema's meta-data vocabulary, `$schema`, `$comment` and
/// OpenAPI's `example`): they never change what a schema accepts.
const ANNOTATIONS: [&str; 10] = [
    "$schema",
    "$comment",
    "title",
    "description",
    "default",
    "deprecated",
    "readOnly",
    "writeOnly",
    "examples",
    "example",
];

/// Calls `visit` with `schema` and every schema nested in it. Names under `properties` are field
/// names, not keywords: a field called `description` or `nullable` is visited as a schema.
fn each_schema<'a>(schema: &'a Value, visit: &mut dyn FnMut(&'a Value)) {
    visit(schema);
    let Value::Object(object) = schema else {
        return;
    };
    for (keyword, value) in object {
        let keyword = keyword.as_str();
        if SCHEMA_MAPS.contains(&keyword) {
            for nested in value.as_object().into_iter().flat_map(Map::values) {
                each_schema(nested, visit);
            }
        } else if SCHEMA_VALUES.contains(&keyword) {
            each_schema(value, visit);
        } else if SCHEMA_LISTS.contains(&keyword) {
            for nested in value.as_array().into_iter().flatten() {
                each_schema(nested, visit);
            }
        }
    }
}

/// What of `schema` decides which JSON it accepts: every annotation removed at every depth, and
/// the lists whose order means nothing (`required`, `type`, `enum`) sorted, so that two schemas
/// compare equal when they accept the same fields with the same types.
fn structure(schema: &Value) -> Value {
    let Value::Object(object) = schema else {
        return schema.clone();
    };
    let mut kept = Map::new();
    for (keyword, value) in object {
        let key = keyword.as_str();
        if ANNOTATIONS.contains(&key) {
            continue;
        }
        let value = if SCHEMA_MAPS.contains(&key) {
            match value {
                Value::Object(named) => Value::Object(
                    named
                        .iter()
                        .map(|(name, nested)| (name.clone(), structure(nested)))
                        .collect(),
                ),
                other => other.clone(),
            }
        } else if SCHEMA_VALUES.contains(&key) {
            structure(value)
        } else if SCHEMA_LISTS.contains(&key) {
            match value {
                Value::Array(nested) => Value::Array(nested.iter().map(structure).collect()),
                other => other.clone(),
            }
        } else if matches!(key, "required" | "type" | "enum") {
            match value {
                Value::Array(values) => {
                    let mut values = values.clone();
                    values.sort_by_key(Value::to_string);
                    Value::Array(values)
                }
                other => other.clone(),
            }
        } else {
            value.clone()
        };
        kept.insert(keyword.clone(), value);
    }
    Value::Object(kept)
}

/// Every place where the structures `fixture` and `document` differ, as a JSON pointer into them
/// and what each side has there.
fn differences(pointer: &str, fixture: &Value, document: &Value, found: &mut Vec<String>) {
    match (fixture, document) {
        (Value::Object(ours), Value::Object(theirs)) => {
            let mut keys: Vec<&String> = ours.keys().chain(theirs.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let at = format!("{pointer}/{key}");
                match (ours.get(key), theirs.get(key)) {
                    (Some(value), None) => {
                        found.push(format!("{at}: only in the fixture: {value}"));
                    }
                    (None, Some(value)) => {
                        found.push(format!("{at}: only in the document: {value}"));
                    }
                    (Some(ours), Some(theirs)) => differences(&at, ours, theirs, found),
                    (None, None) => {}
                }
            }
        }
        _ if fixture == document => {}
        _ => found.push(format!(
            "{}: the fixture has {fixture}, the document {document}",
            if pointer.is_empty() { "/" } else { pointer }
        )),
    }
}

/// The component schemas of the OpenAPI document at `path`, as written (OpenAPI 3.0).
fn openapi_component_schemas(path: &Path) -> Map<String, Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|error| {
        panic!(
            "{OPENAPI_ENV} names {}, which cannot be read: {error}",
            path.display()
        )
    });
    let document: Value = serde_saphyr::from_str(&text)
        .unwrap_or_else(|error| panic!("{} is not valid YAML: {error}", path.display()));
    match document.pointer("/components/schemas") {
        Some(Value::Object(schemas)) => schemas.clone(),
        _ => panic!("{} has no components.schemas", path.display()),
    }
}

/// Fails unless `status` is the expected one, printing the body.
#[track_caller]
fn assert_status(status: u16, expected: u16, body: &Value, what: &str) {
    assert_eq!(
        status,
        expected,
        "{what}: HTTP {status}, expected {expected}; body:\n{}",
        serde_json::to_string_pretty(body).unwrap_or_default()
    );
}

/// The array under `key` of a list response.
#[track_caller]
fn items<'a>(body: &'a Value, key: &str, what: &str) -> &'a Vec<Value> {
    body.get(key)
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("{what}: no `{key}` array in {body}"))
}

#[track_caller]
fn id_of(body: &Value, what: &str) -> u64 {
    body.get("id")
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("{what}: no numeric `id` in {body}"))
}

/// Creates a customer and answers its id.
async fn create_customer(ctx: &SimContext, external_id: &str) -> u64 {
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
    assert_status(status, 200, &body, "create customer");
    id_of(&body, "create customer")
}

/// Creates a project (a top-level folder) and answers its id, checking the response.
async fn create_project(ctx: &SimContext, customer: u64, name: &str) -> u64 {
    let (status, body) = ctx
        .send_json(
            Method::POST,
            &format!("/managed_users/{customer}/folders"),
            json!({ "name": name }),
        )
        .await;
    assert_status(status, 200, &body, "create project");
    assert_conforms(Schema::Folder, &body, "POST folders (project)");
    id_of(&body, "create project")
}

/// POSTs a package zip; checks and answers the import's id.
async fn import(ctx: &SimContext, customer: u64, query: &str, zip: Vec<u8>, what: &str) -> u64 {
    let request = ctx
        .request(
            Method::POST,
            &format!("/managed_users/{customer}/imports?{query}"),
        )
        .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
        .body(zip);
    let (status, body) = send(request).await;
    assert_status(status, 200, &body, what);
    assert_conforms(Schema::PackageDetailsResponse, &body, what);
    assert_eq!(body["status"], "in_progress", "{what}: {body}");
    id_of(&body, what)
}

/// Polls an import until it leaves `in_progress`, checking every status read; answers every
/// status body seen, the last one final.
async fn poll_import(ctx: &SimContext, customer: u64, import: u64) -> Vec<Value> {
    let mut seen = Vec::new();
    for _ in 0..20 {
        let (status, body) = ctx
            .get(&format!("/managed_users/{customer}/imports/{import}"))
            .await;
        assert_status(status, 200, &body, "GET import status");
        assert_conforms(
            Schema::PackageDetailsResponse,
            &body,
            &format!("GET import status #{}", seen.len() + 1),
        );
        let done = body["status"] != "in_progress";
        seen.push(body);
        if done {
            return seen;
        }
    }
    panic!("the import {import} never left in_progress: {seen:?}");
}

/// A customer with the quickstart package imported into the project "Files"; answers
/// (customer id, project id, recipe id by name).
async fn with_quickstart(ctx: &SimContext, external_id: &str) -> (u64, u64, Map<String, Value>) {
    let customer = create_customer(ctx, external_id).await;
    let project = create_project(ctx, customer, "Files").await;
    let import_id = import(
        ctx,
        customer,
        &format!("folder_id={project}"),
        quickstart_package_zip(),
        "POST imports (quickstart)",
    )
    .await;
    let seen = poll_import(ctx, customer, import_id).await;
    assert_eq!(
        seen[0]["status"], "in_progress",
        "the first status read is in_progress: {seen:?}"
    );
    let last = seen.last().expect("at least one status read");
    assert_eq!(last["status"], "completed", "quickstart import: {last}");
    assert!(
        last["recipe_status"]
            .as_array()
            .is_some_and(|s| s.len() == 2),
        "a completed import reports each recipe: {last}"
    );
    let (status, body) = ctx.get(&format!("/managed_users/{customer}/recipes")).await;
    assert_status(status, 200, &body, "GET recipes");
    let mut recipes = Map::new();
    for recipe in items(&body, "result", "GET recipes") {
        assert_conforms(Schema::Recipe, recipe, "GET recipes item");
        let name = recipe["name"].as_str().unwrap_or_default().to_owned();
        recipes.insert(name, recipe["id"].clone());
    }
    for name in ["List files", "Get file"] {
        assert!(recipes.contains_key(name), "no recipe {name:?} in {body}");
    }
    (customer, project, recipes)
}

/// The id of the recipe called `name`.
#[track_caller]
fn recipe_id(recipes: &Map<String, Value>, name: &str) -> u64 {
    recipes
        .get(name)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("no recipe {name:?} among {recipes:?}"))
}

/// GET one recipe by id and check it against `Recipe`.
async fn get_recipe(ctx: &SimContext, customer: u64, recipe: u64, what: &str) -> Value {
    let (status, body) = ctx
        .get(&format!("/managed_users/{customer}/recipes/{recipe}"))
        .await;
    assert_status(status, 200, &body, what);
    assert_conforms(Schema::Recipe, &body, what);
    body
}

/// PUT …/start and check the answer against `RecipeStartResponse`.
async fn start_recipe(ctx: &SimContext, customer: u64, recipe: u64, what: &str) -> Value {
    let (status, body) = ctx
        .send_json(
            Method::PUT,
            &format!("/managed_users/{customer}/recipes/{recipe}/start"),
            json!({}),
        )
        .await;
    assert_status(status, 200, &body, what);
    assert_conforms(Schema::RecipeStartResponse, &body, what);
    body
}

/// Every file of the quickstart package as (path inside the package, bytes).
fn quickstart_files() -> Vec<(String, Vec<u8>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples/quickstart/packages/files-sync/Files Sync");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&root)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", root.display()))
        .map(|entry| {
            let path = entry.expect("a directory entry").path();
            let name = path
                .file_name()
                .and_then(|name| name.to_str())
                .expect("a UTF-8 file name")
                .to_owned();
            let bytes = std::fs::read(&path)
                .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
            (format!("Files Sync/{name}"), bytes)
        })
        .collect();
    files.sort();
    files
}

/// The quickstart package with the description of "List files" changed, so importing it changes
/// that recipe.
fn changed_quickstart_zip() -> Vec<u8> {
    let mut files = quickstart_files();
    let (_, bytes) = files
        .iter_mut()
        .find(|(path, _)| path.ends_with("list_files.recipe.json"))
        .expect("the quickstart package has list_files.recipe.json");
    let mut recipe: Value = serde_json::from_slice(bytes).expect("the recipe file is JSON");
    recipe["description"] = json!("Every 30 minutes, lists the end user's Dropbox folder.");
    *bytes = serde_json::to_vec_pretty(&recipe).expect("JSON serializes");
    embedctl::package::deterministic_zip(&files).expect("the changed package zips")
}

#[test]
fn the_fixtures_define_every_checked_schema() {
    for schema in Schema::ALL {
        let name = schema.name();
        let fixture = fixture(schema);
        let file = schema.file_name();
        assert_eq!(
            fixture["type"], "object",
            "`{name}` describes a JSON object"
        );
        // Each fixture is JSON Schema 2020-12, says which object it is and cites where Workato
        // documents it.
        assert_eq!(
            fixture["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{file} declares JSON Schema 2020-12"
        );
        if let Err(error) = jsonschema::meta::validate(fixture) {
            panic!("{file} is not a valid JSON Schema 2020-12 schema: {error}");
        }
        assert_eq!(fixture["title"], name, "{file} is titled after `{name}`");
        assert!(
            fixture["description"]
                .as_str()
                .is_some_and(|text| text.contains("https://docs.workato.com/")),
            "{file} cites the Workato documentation of `{name}`"
        );
        // OpenAPI's `nullable` means nothing to JSON Schema, which would ignore it: a field that
        // may be null says so in its `type`.
        each_schema(fixture, &mut |nested| {
            assert!(
                nested.get("nullable").is_none(),
                "{file} keeps OpenAPI's `nullable` in {nested}"
            );
        });
        // The validator is not vacuous: a bare string is never one of these objects.
        assert!(
            !violations(schema, &json!("not an object")).is_empty(),
            "`{name}` accepts anything"
        );
    }
    // The schemas that list required fields really enforce them.
    for schema in [
        Schema::Connection,
        Schema::Recipe,
        Schema::Folder,
        Schema::PackageDetailsResponse,
        Schema::RecipeStartResponse,
    ] {
        assert!(
            !violations(schema, &json!({})).is_empty(),
            "`{}` accepts an empty object",
            schema.name()
        );
    }
}

#[test]
fn nullable_becomes_a_type_that_admits_null() {
    let converted = to_json_schema(json!({
        "type": "object",
        "properties": {
            "plain": { "type": "string", "nullable": true, "example": { "nullable": true } },
            "closed": { "type": "string", "enum": ["success", "failed"], "nullable": true },
            "linked": { "$ref": "#/components/schemas/Thing", "nullable": true, "description": "d" },
            "either": { "oneOf": [{ "type": "string" }, { "type": "integer" }], "nullable": true },
            "strict": { "type": "integer", "nullable": false },
            "anything": { "nullable": true },
        },
    }));
    assert_eq!(
        converted["properties"],
        json!({
            "plain": { "type": ["string", "null"], "example": { "nullable": true } },
            "closed": { "type": ["string", "null"], "enum": ["success", "failed", null] },
            "linked": {
                "anyOf": [{ "$ref": "#/components/schemas/Thing" }, { "type": "null" }],
                "description": "d",
            },
            "either": {
                "anyOf": [
                    { "oneOf": [{ "type": "string" }, { "type": "integer" }] },
                    { "type": "null" },
                ],
            },
            "strict": { "type": "integer" },
            "anything": {},
        })
    );
    // And in the fixture: a never-authorized connection has a null status, which the nullable
    // enum allows; a missing required field is still caught.
    let connection = json!({
        "id": 1, "application": "jira", "provider": "jira", "name": "Jira", "description": null,
        "authorized_at": null, "authorization_status": null, "authorization_error": null,
        "created_at": "2026-01-01T00:00:01.000Z", "updated_at": "2026-01-01T00:00:01.000Z",
        "external_id": null, "folder_id": 2, "connection_lost_at": null,
        "connection_lost_reason": null, "parent_id": null, "tags": null,
    });
    assert_conforms(
        Schema::Connection,
        &connection,
        "hand-made shell connection",
    );
    let mut without_name = connection.clone();
    without_name
        .as_object_mut()
        .map(|object| object.remove("name"));
    assert!(!violations(Schema::Connection, &without_name).is_empty());
    let mut bad_status = connection;
    bad_status["authorization_status"] = json!("connected");
    assert!(!violations(Schema::Connection, &bad_status).is_empty());
}

#[test]
fn comparing_with_the_document_ignores_annotations_and_catches_drift() {
    // An OpenAPI 3.0 schema as Workato's document writes one, and the fixture written from it:
    // the descriptions differ, and so do the orders of `required` and of the types; nothing that
    // decides what is accepted does.
    let documented = to_json_schema(json!({
        "type": "object",
        "required": ["id", "description"],
        "properties": {
            "id": { "type": "integer", "example": 36 },
            "description": { "type": "string", "nullable": true, "description": "Free text" },
            "status": { "type": "string", "enum": ["success", "failed"], "nullable": true },
        },
    }));
    let fixture = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Thing",
        "description": "A thing (https://docs.workato.com/).",
        "$comment": "Fields not listed here are allowed.",
        "type": "object",
        "required": ["description", "id"],
        "properties": {
            "id": { "type": "integer", "description": "The thing's ID." },
            "description": { "type": ["null", "string"] },
            "status": { "type": ["string", "null"], "enum": [null, "failed", "success"] },
        },
    });
    let compare = |fixture: &Value| {
        let mut found = Vec::new();
        differences("", &structure(fixture), &structure(&documented), &mut found);
        found
    };
    assert_eq!(compare(&fixture), Vec::<String>::new());

    // A field named wrongly is reported on both sides; `description` is a field here, not an
    // annotation to ignore.
    let mut renamed = fixture.clone();
    let properties = renamed["properties"]
        .as_object_mut()
        .expect("the fixture has properties");
    let field = properties
        .remove("description")
        .expect("a description field");
    properties.insert("desc".to_owned(), field);
    assert_eq!(
        compare(&renamed),
        vec![
            r#"/properties/desc: only in the fixture: {"type":["null","string"]}"#.to_owned(),
            r#"/properties/description: only in the document: {"type":["null","string"]}"#
                .to_owned(),
        ]
    );

    // A wrong type, a lost `null`, a missing enum value and a dropped required field are too.
    let mut drifted = fixture.clone();
    drifted["properties"]["id"]["type"] = json!("string");
    drifted["properties"]["description"]["type"] = json!("string");
    drifted["properties"]["status"]["enum"] = json!(["success", null]);
    drifted["required"] = json!(["id"]);
    assert_eq!(
        compare(&drifted),
        vec![
            r#"/properties/description/type: the fixture has "string", the document ["null","string"]"#
                .to_owned(),
            r#"/properties/id/type: the fixture has "string", the document "integer""#.to_owned(),
            r#"/properties/status/enum: the fixture has ["success",null], the document ["failed","success",null]"#
                .to_owned(),
            r#"/required: the fixture has ["id"], the document ["description","id"]"#.to_owned(),
        ]
    );
}

/// Compares every fixture with Workato's OpenAPI document of its Developer API, when
/// [`OPENAPI_ENV`] gives its path: each fixture must accept the same fields, with the same types,
/// nullability, formats, enums and required list, as the document's component schema of the same
/// name after [`to_json_schema`]. Annotations (descriptions, titles, examples) may differ.
#[test]
fn fixtures_agree_with_workato_openapi_document() {
    let Some(path) = std::env::var_os(OPENAPI_ENV).filter(|path| !path.is_empty()) else {
        eprintln!(
            "skipped fixtures_agree_with_workato_openapi_document: {OPENAPI_ENV} is not set. \
             To compare tests/fixtures/workato/*.schema.json with Workato's OpenAPI document of \
             its Developer API (`workato-api-spec.yaml` in \
             https://github.com/workato-devs/workato-platform-cli), run \
             `{OPENAPI_ENV}=/path/to/that/document.yaml cargo test --test it \
             fixtures_agree_with_workato_openapi_document`"
        );
        return;
    };
    let path = PathBuf::from(path);
    let documented = openapi_component_schemas(&path);
    let mut problems = Vec::new();
    for schema in Schema::ALL {
        let name = schema.name();
        let Some(component) = documented.get(name) else {
            problems.push(format!(
                "{name}: the document defines no component schema `{name}`"
            ));
            continue;
        };
        let mut found = Vec::new();
        differences(
            "",
            &structure(fixture(schema)),
            &structure(&to_json_schema(component.clone())),
            &mut found,
        );
        problems.extend(
            found
                .into_iter()
                .map(|difference| format!("{} vs `{name}`: {difference}", schema.file_name())),
        );
    }
    assert!(
        problems.is_empty(),
        "the fixtures disagree with {}:\n  {}",
        path.display(),
        problems.join("\n  ")
    );
    eprintln!(
        "the {} fixtures agree with {}",
        Schema::ALL.len(),
        path.display()
    );
}

#[tokio::test]
async fn connections_conform() {
    let ctx = SimContext::start().await;
    let customer = create_customer(&ctx, "conn-1").await;
    let path = format!("/managed_users/{customer}/connections");

    // Created with credentials: authorized.
    let (status, authorized) = ctx
        .send_json(
            Method::POST,
            &path,
            json!({ "name": "Jira", "provider": "jira", "input": { "api_key": "k" } }),
        )
        .await;
    assert_status(status, 200, &authorized, "create with input");
    assert_conforms(
        Schema::Connection,
        &authorized,
        "POST connections with input",
    );
    assert_eq!(
        authorized["authorization_status"], "success",
        "{authorized}"
    );

    // Created with credentials that fail: status `failed` and an error text.
    let (status, failed) = ctx
        .send_json(
            Method::POST,
            &path,
            json!({ "name": "Bad Jira", "provider": "jira", "input": { "api_key": "invalid" } }),
        )
        .await;
    assert_status(status, 200, &failed, "create with bad input");
    assert_conforms(
        Schema::Connection,
        &failed,
        "POST connections with bad input",
    );
    assert_eq!(failed["authorization_status"], "failed", "{failed}");

    // A shell: never authorized, null status.
    let (status, shell) = ctx
        .send_json(
            Method::POST,
            &path,
            json!({ "name": "Dropbox", "provider": "dropbox" }),
        )
        .await;
    assert_status(status, 200, &shell, "create shell");
    assert_conforms(Schema::Connection, &shell, "POST connections (shell)");
    assert_eq!(shell["authorization_status"], Value::Null, "{shell}");
    let parent = id_of(&shell, "create shell");

    // A runtime user connection: a shell with a parent and an end user's external id.
    let (status, runtime) = ctx
        .send_json(
            Method::POST,
            &path,
            json!({
                "name": "Ann's Dropbox",
                "provider": "dropbox",
                "parent_id": parent,
                "external_id": "ann@example.com",
            }),
        )
        .await;
    assert_status(status, 200, &runtime, "create runtime connection");
    assert_conforms(Schema::Connection, &runtime, "POST connections (runtime)");
    assert_eq!(runtime["parent_id"], json!(parent), "{runtime}");

    // Re-authorized by update, then the widget's OAuth for the shell.
    let jira = id_of(&authorized, "create with input");
    let (status, updated) = ctx
        .send_json(
            Method::PUT,
            &format!("{path}/{jira}"),
            json!({ "name": "Jira (renamed)", "input": { "api_key": "k2" } }),
        )
        .await;
    assert_status(status, 200, &updated, "update with input");
    assert_conforms(Schema::Connection, &updated, "PUT connections/:id");
    let (status, body) = ctx
        .sim_post(&format!("/connections/{parent}/authorize"), json!({}))
        .await;
    assert_status(status, 200, &body, "widget authorize");

    // The list, with runtime connections: every item conforms, runtime one included.
    let (status, list) = ctx
        .get(&format!("{path}?include_runtime_connections=true"))
        .await;
    assert_status(status, 200, &list, "list connections");
    let listed = items(&list, "result", "list connections");
    assert_eq!(listed.len(), 4, "{list}");
    for connection in listed {
        assert_conforms(Schema::Connection, connection, "GET connections item");
        // Embedded responses name the connector `provider`; the required `application` of
        // Workato's schema carries the same value.
        assert!(
            connection["provider"].is_string()
                && connection["provider"] == connection["application"],
            "an Embedded connection carries `provider` and `application`: {connection}"
        );
    }
    assert!(
        listed.iter().any(|c| c["external_id"] == "ann@example.com"),
        "{list}"
    );

    // The default list (runtime connections hidden) conforms too.
    let (status, list) = ctx.get(&path).await;
    assert_status(status, 200, &list, "default list");
    for connection in items(&list, "result", "default list") {
        assert_conforms(
            Schema::Connection,
            connection,
            "GET connections item (default)",
        );
    }
}

#[tokio::test]
async fn folders_conform() {
    let ctx = SimContext::start().await;
    let customer = create_customer(&ctx, "fold-1").await;
    let project = create_project(&ctx, customer, "Integrations").await;
    let (status, folder) = ctx
        .send_json(
            Method::POST,
            &format!("/managed_users/{customer}/folders"),
            json!({ "name": "Sync", "parent_id": project }),
        )
        .await;
    assert_status(status, 200, &folder, "create folder");
    assert_conforms(Schema::Folder, &folder, "POST folders (in a project)");
    assert_eq!(folder["parent_id"], json!(project), "{folder}");

    for (query, expected) in [
        (String::new(), project),
        (format!("?parent_id={project}"), 0),
    ] {
        let (status, list) = ctx
            .get(&format!("/managed_users/{customer}/folders{query}"))
            .await;
        assert_status(status, 200, &list, "list folders");
        let listed = items(&list, "result", "list folders");
        assert_eq!(listed.len(), 1, "{list}");
        for folder in listed {
            assert_conforms(Schema::Folder, folder, &format!("GET folders{query} item"));
        }
        if expected != 0 {
            assert_eq!(listed[0]["id"], json!(expected), "{list}");
        }
    }
}

#[tokio::test]
async fn recipes_conform() {
    let ctx = SimContext::start().await;
    let (customer, _, recipes) = with_quickstart(&ctx, "rec-1").await;

    // Each recipe by id, stopped as imported.
    for name in ["List files", "Get file"] {
        let recipe = get_recipe(
            &ctx,
            customer,
            recipe_id(&recipes, name),
            &format!("GET recipe {name:?}"),
        )
        .await;
        assert_eq!(recipe["running"], false, "{recipe}");
    }

    // The list without code, and with the documented filters.
    for query in [
        "exclude_code=true",
        "exclude_code=true&running=false",
        "per_page=1&page=2",
    ] {
        let (status, list) = ctx
            .get(&format!("/managed_users/{customer}/recipes?{query}"))
            .await;
        assert_status(status, 200, &list, "list recipes");
        let listed = items(&list, "result", "list recipes");
        assert!(!listed.is_empty(), "{query}: {list}");
        for recipe in listed {
            assert_conforms(Schema::Recipe, recipe, &format!("GET recipes?{query} item"));
            if query.contains("exclude_code") {
                // Workato's schema requires `code` even then ("truncated"); the simulator sends "".
                assert_eq!(recipe["code"], "", "{query}: {recipe}");
            }
        }
    }

    // Running, then stopped again: `stopped_at` appears.
    let get_file = recipe_id(&recipes, "Get file");
    let started = start_recipe(&ctx, customer, get_file, "start Get file").await;
    assert_eq!(started["success"], true, "{started}");
    let running = get_recipe(&ctx, customer, get_file, "GET running recipe").await;
    assert_eq!(running["running"], true, "{running}");
    let (status, body) = ctx
        .send_json(
            Method::PUT,
            &format!("/managed_users/{customer}/recipes/{get_file}/stop"),
            json!({}),
        )
        .await;
    assert_status(status, 200, &body, "stop Get file");
    let stopped = get_recipe(&ctx, customer, get_file, "GET stopped recipe").await;
    assert!(stopped["stopped_at"].is_string(), "{stopped}");

    // Stopped by Workato itself: `stop_cause` is set.
    let list_files = recipe_id(&recipes, "List files");
    let (status, body) = ctx
        .sim_post(
            &format!("/recipes/{list_files}/stop_by_workato"),
            json!({ "stop_cause": "txn_quota_limit" }),
        )
        .await;
    assert_status(status, 200, &body, "stop by Workato");
    let stopped = get_recipe(&ctx, customer, list_files, "GET recipe stopped by Workato").await;
    assert_eq!(stopped["stop_cause"], "txn_quota_limit", "{stopped}");

    let (status, list) = ctx
        .get(&format!("/managed_users/{customer}/recipes?running=false"))
        .await;
    assert_status(status, 200, &list, "list stopped recipes");
    for recipe in items(&list, "result", "list stopped recipes") {
        assert_conforms(Schema::Recipe, recipe, "GET recipes?running=false item");
    }
}

#[tokio::test]
async fn recipe_start_responses_conform() {
    let ctx = SimContext::start().await;
    let (customer, _, recipes) = with_quickstart(&ctx, "start-1").await;

    // "List files" needs the PartnerApp connection, still an unauthorized shell: refused with
    // HTTP 200, `success: false` and `config_errors`.
    let list_files = recipe_id(&recipes, "List files");
    let refused = start_recipe(&ctx, customer, list_files, "start refused").await;
    assert_eq!(refused["success"], false, "{refused}");
    assert!(
        refused["config_errors"]
            .as_array()
            .is_some_and(|errors| !errors.is_empty()),
        "a refused start lists config_errors: {refused}"
    );

    // "Get file" only uses Dropbox with skip_validation: it starts.
    let started = start_recipe(
        &ctx,
        customer,
        recipe_id(&recipes, "Get file"),
        "start success",
    )
    .await;
    assert_eq!(started["success"], true, "{started}");
}

#[tokio::test]
async fn package_imports_conform() {
    let ctx = SimContext::start().await;
    // The first import (POST answer, `in_progress` and `completed` reads) is checked inside.
    let (customer, project, recipes) = with_quickstart(&ctx, "imp-1").await;

    // Authorize what "List files" needs and start it.
    let (status, list) = ctx
        .get(&format!("/managed_users/{customer}/connections"))
        .await;
    assert_status(status, 200, &list, "list connections");
    for connection in items(&list, "result", "list connections") {
        assert_conforms(
            Schema::Connection,
            connection,
            "GET connections item (imported)",
        );
    }
    let partner_app = items(&list, "result", "list connections")
        .iter()
        .find(|connection| connection["provider"] == "partner_app")
        .map(|connection| id_of(connection, "PartnerApp connection"))
        .unwrap_or_else(|| panic!("no PartnerApp connection imported: {list}"));
    let (status, authorized) = ctx
        .send_json(
            Method::PUT,
            &format!("/managed_users/{customer}/connections/{partner_app}"),
            json!({ "input": { "api_key": "k" } }),
        )
        .await;
    assert_status(status, 200, &authorized, "authorize PartnerApp");
    assert_conforms(
        Schema::Connection,
        &authorized,
        "PUT connections/:id (imported)",
    );
    assert_eq!(
        authorized["authorization_status"], "success",
        "{authorized}"
    );
    let list_files = recipe_id(&recipes, "List files");
    let started = start_recipe(&ctx, customer, list_files, "start List files").await;
    assert_eq!(started["success"], true, "{started}");

    // Re-importing a changed "List files" while it runs, without restart_recipes: failed.
    let import_id = import(
        &ctx,
        customer,
        &format!("folder_id={project}"),
        changed_quickstart_zip(),
        "POST imports (blocked)",
    )
    .await;
    let seen = poll_import(&ctx, customer, import_id).await;
    assert!(
        seen.iter().any(|body| body["status"] == "in_progress"),
        "the status goes through in_progress: {seen:?}"
    );
    let failed = seen.last().expect("a final status");
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(failed["error"].is_string(), "{failed}");

    // With restart_recipes=true the same package goes through and restarts the recipe.
    let import_id = import(
        &ctx,
        customer,
        &format!("folder_id={project}&restart_recipes=true"),
        changed_quickstart_zip(),
        "POST imports (restart)",
    )
    .await;
    let seen = poll_import(&ctx, customer, import_id).await;
    let completed = seen.last().expect("a final status");
    assert_eq!(completed["status"], "completed", "{completed}");
    assert!(
        items(completed, "recipe_status", "completed import")
            .iter()
            .any(|status| status["id"] == json!(list_files)
                && status["import_result"] == "restarted"),
        "{completed}"
    );
    let recipe = get_recipe(&ctx, customer, list_files, "GET restarted recipe").await;
    assert_eq!(recipe["running"], true, "{recipe}");
}

#[tokio::test]
async fn validation_errors_conform() {
    let ctx = SimContext::start().await;
    create_customer(&ctx, "dup-1").await;

    // A duplicate external id: 400, Rails style.
    let (status, body) = ctx
        .send_json(
            Method::POST,
            "/managed_users",
            json!({
                "name": "Someone else",
                "notification_email": "else@example.com",
                "external_id": "dup-1",
            }),
        )
        .await;
    assert_status(status, 400, &body, "duplicate external_id");
    assert_conforms(
        Schema::ValidationError,
        &body,
        "POST managed_users (duplicate)",
    );
    assert_eq!(
        body.pointer("/errors/external_id/0"),
        Some(&json!("has already been taken")),
        "{body}"
    );

    // The other validation failures share the shape.
    let (status, body) = ctx
        .send_json(Method::POST, "/managed_users", json!({ "name": " " }))
        .await;
    assert_status(status, 400, &body, "blank customer");
    assert_conforms(Schema::ValidationError, &body, "POST managed_users (blank)");
    let customer = create_customer(&ctx, "dup-2").await;
    let (status, body) = ctx
        .send_json(
            Method::POST,
            &format!("/managed_users/{customer}/connections"),
            json!({ "name": "No provider" }),
        )
        .await;
    assert_status(status, 400, &body, "connection without provider");
    assert_conforms(
        Schema::ValidationError,
        &body,
        "POST connections (no provider)",
    );
}
