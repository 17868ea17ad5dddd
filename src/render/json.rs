//! The JSON plan (`plan --format json`, docs/commands.md), for scripts and CI.
//!
//! The document is built from the types below, which are also where `schemas/plan.schema.json`
//! comes from (schemars): the renderer and its schema cannot drift apart, and a test fails when
//! the committed schema is stale. The field order of these types is the key order of the output;
//! objects inside `before`/`after` are written with sorted keys.

use std::borrow::Cow;
use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Serialize;
use serde_json::{Map, Value};

use super::RenderContext;
use crate::plan::{
    Action, ApiBudget, Change, FORMAT_VERSION, Fields, Kind, Note, PendingStatus, PendingUser,
    Plan, Reason, SkippedCustomer, Unmanaged,
};

/// The plan as a JSON document: pretty-printed, keys in a fixed order, ending with a newline.
pub fn render(plan: &Plan, budget: &ApiBudget, ctx: &RenderContext) -> String {
    let document = PlanDocument::new(plan, budget, ctx);
    // Serializing these types cannot fail (every map has string keys, every number is an
    // integer); should it ever, the output is still one JSON object that says so.
    let mut text = serde_json::to_string_pretty(&document)
        .unwrap_or_else(|error| serde_json::json!({ "error": error.to_string() }).to_string());
    text.push('\n');
    text
}

/// The plan's JSON document written to `out` as it is serialized, never held whole: a fleet's
/// plan is over a hundred megabytes of JSON.
pub fn write(
    plan: &Plan,
    budget: &ApiBudget,
    ctx: &RenderContext,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let document = PlanDocument::new(plan, budget, ctx);
    serde_json::to_writer_pretty(&mut *out, &document).map_err(std::io::Error::other)?;
    out.write_all(b"\n")
}

/// The drift report as JSON: the plan's document, keys in the same fixed order, followed by the
/// drift `status` and the `exit_code`.
pub fn render_drift(
    plan: &Plan,
    budget: &ApiBudget,
    ctx: &RenderContext,
    status: &str,
    exit_code: u8,
) -> String {
    #[derive(Serialize)]
    struct DriftDocument<'a> {
        #[serde(flatten)]
        plan: PlanDocument<'a>,
        status: &'a str,
        exit_code: u8,
    }
    let document = DriftDocument {
        plan: PlanDocument::new(plan, budget, ctx),
        status,
        exit_code,
    };
    let mut text = serde_json::to_string_pretty(&document)
        .unwrap_or_else(|error| serde_json::json!({ "error": error.to_string() }).to_string());
    text.push('\n');
    text
}

/// The JSON Schema of the document `render` writes, as committed in `schemas/plan.schema.json`.
pub fn plan_schema() -> String {
    let schema = schemars::schema_for!(PlanDocument<'static>);
    let mut text = serde_json::to_string_pretty(&schema)
        .unwrap_or_else(|error| serde_json::json!({ "error": error.to_string() }).to_string());
    text.push('\n');
    text
}

/// A plan, as `embedctl plan --format json` writes it.
#[derive(Serialize, JsonSchema)]
#[schemars(
    title = "embedctl plan",
    description = "What `embedctl apply` would change in a Workato Embedded account, as written by `embedctl plan --format json`."
)]
struct PlanDocument<'a> {
    /// The version of this format; `1.1` (1.1 added `assets` to package changes). A minor version adds fields, a major one changes them.
    #[schemars(schema_with = "format_version_schema")]
    format_version: &'static str,
    /// The changes apply will make, by customer, then phase. Nothing in sync is listed.
    changes: Vec<ChangeEntry<'a>>,
    /// Changes that cannot happen until something outside the plan changes; never in `changes`.
    blocked: Vec<BlockedEntry<'a>>,
    /// End users who still have to authorize a runtime user connection.
    pending_users: Vec<PendingEntry<'a>>,
    /// Objects in Workato that the file does not list: reported, never deleted.
    unmanaged: Vec<UnmanagedEntry<'a>>,
    /// Customers this version leaves alone, with why.
    skipped: Vec<SkippedEntry<'a>>,
    /// Things the reader should know that change nothing.
    notes: Vec<String>,
    /// The counts of the summary line.
    summary: SummaryDocument,
    /// The calls apply needs and the least time Workato's published limits allow for them.
    api_budget: BudgetDocument,
    /// The calls this plan made to read Workato, by endpoint family.
    observed_calls: &'a BTreeMap<String, u64>,
}

/// One change.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "Change")]
struct ChangeEntry<'a> {
    /// The customer's `external_id`.
    customer: &'a str,
    /// 1 customer, 2 package, 3 activation, 4 runtime users.
    #[schemars(range(min = 1, max = 4))]
    phase: u8,
    #[schemars(with = "ActionName")]
    action: &'static str,
    #[schemars(with = "KindName")]
    kind: &'static str,
    /// What the change is about, stable across runs (`files-sync.partner_app`).
    key: String,
    /// Why the change is needed, as a stable code.
    #[schemars(with = "ReasonCode")]
    reason: &'static str,
    /// The compared fields as they are (`null` for a create); credentials only as a short
    /// fingerprint (`fp:1a2b3c4d`).
    #[schemars(schema_with = "fields_schema")]
    before: &'a Fields,
    /// The compared fields as they will be; credentials only as a short fingerprint.
    #[schemars(schema_with = "fields_schema")]
    after: &'a Fields,
    /// Of a package imported again (`package.changed`, `package.recipes_running`): the recipes,
    /// connections and other assets it adds, changes and removes since the last import. Absent
    /// from every other change.
    #[serde(skip_serializing_if = "Option::is_none")]
    assets: Option<AssetsDocument<'a>>,
}

/// What a changed package adds, changes and removes since the last import.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "PackageAssets", transform = require_every_property)]
struct AssetsDocument<'a> {
    /// Whether the last import left a record of its assets. `false` when it was made by an
    /// older embedctl or by hand, or the record is incomplete: the lists are then empty, and
    /// only the digest says that the package changed.
    recorded: bool,
    /// Assets in the package that the last import did not have.
    added: Vec<AssetDocument<'a>>,
    /// Assets whose content differs from the last import's.
    changed: Vec<AssetDocument<'a>>,
    /// Assets the last import had that the package no longer holds.
    removed: Vec<AssetDocument<'a>>,
}

/// One asset of a package.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "PackageAsset", transform = require_every_property)]
struct AssetDocument<'a> {
    /// `recipe`, `connection`, `custom_connector`, the type a package file's name gives any
    /// other asset (`lookup_table` for `*.lookup_table.json`…), or `file`.
    #[serde(rename = "type")]
    type_name: &'a str,
    /// A recipe's or connection's name; a custom connector's path in the package without
    /// `.custom_adapter`; any other asset's path in the package.
    name: &'a str,
}

impl<'a> AssetsDocument<'a> {
    fn new(assets: &'a crate::plan::AssetChanges) -> Self {
        let list = |assets: &'a [crate::plan::AssetRef]| {
            assets
                .iter()
                .map(|asset| AssetDocument {
                    type_name: &asset.type_name,
                    name: &asset.name,
                })
                .collect()
        };
        AssetsDocument {
            recorded: assets.recorded,
            added: list(&assets.added),
            changed: list(&assets.changed),
            removed: list(&assets.removed),
        }
    }
}

/// A change that cannot happen, and why.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "BlockedChange")]
struct BlockedEntry<'a> {
    #[serde(flatten)]
    change: ChangeEntry<'a>,
    /// Why it cannot happen, as a sentence.
    blocked_by: &'a str,
}

/// An end user who has to authorize a runtime user connection.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "PendingUser", transform = require_every_property)]
struct PendingEntry<'a> {
    /// The customer's `external_id`.
    customer: &'a str,
    /// The end user's id (`runtime_users[].id`).
    user: &'a str,
    /// `<manifest>.<connection>`.
    connection: &'a str,
    /// The recipe function the connection is dedicated to; `null` for the plain connection.
    recipe_function: Option<&'a str>,
    /// The connection's id; `null` when this plan creates the connection.
    connection_id: Option<u64>,
    /// `never_connected` (new, or a shell nobody connected), `authorization_failed` (Workato
    /// reports it failed: revoked, expired, or a failed attempt) or `replaced` (this plan
    /// replaces a connection with the wrong parent, so the end user connects again).
    #[schemars(with = "PendingStatusCode")]
    status: &'static str,
    /// Workato's `authorization_error` when `status` is `authorization_failed`.
    authorization_error: Option<&'a str>,
    #[schemars(with = "ReasonCode")]
    reason: &'static str,
}

/// An object in Workato that the file does not list.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "Unmanaged", transform = require_every_property)]
struct UnmanagedEntry<'a> {
    /// The customer it belongs to (its own `external_id` for a customer).
    customer: &'a str,
    #[schemars(with = "KindName")]
    kind: &'static str,
    /// The object's name (`files-sync.dropbox/old-user`).
    key: &'a str,
    #[schemars(with = "ReasonCode")]
    reason: &'static str,
    /// Its Workato id; `null` when not known.
    id: Option<u64>,
}

/// A customer the plan leaves alone.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "SkippedCustomer")]
struct SkippedEntry<'a> {
    /// The customer's `external_id`.
    customer: &'a str,
    /// Why, as a sentence.
    why: &'a str,
}

/// The counts of the summary line. A replace counts as a create and a delete; imports,
/// authorizations and starts count as updates.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "Summary")]
struct SummaryDocument {
    /// Objects apply creates.
    create: u64,
    /// Objects apply updates, imports into, authorizes or starts.
    update: u64,
    /// Objects apply deletes.
    delete: u64,
    /// Entries of `blocked`.
    blocked: u64,
    /// End users in `pending_users` (one person with several connections to authorize counts
    /// once).
    pending_users: u64,
    /// Entries of `unmanaged`.
    unmanaged: u64,
}

/// The API budget of the apply.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "ApiBudget")]
struct BudgetDocument {
    /// By endpoint family (`connections`, `imports_create`, …).
    families: BTreeMap<String, FamilyDocument>,
    /// The shortest time, in seconds, that the published limits allow for the whole apply.
    min_seconds: u64,
    /// The part of `min_seconds` that phases 1 to 3 of every customer take; apply does them
    /// before any runtime connection, so every customer's recipes can run this early.
    setup_seconds: u64,
}

/// One endpoint family's part of the budget.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "FamilyBudget")]
struct FamilyDocument {
    /// Calls apply makes in this family.
    calls: u64,
    /// Requests a minute embedctl allows itself in this family (the tightest published window,
    /// times `EMBEDCTL_RATE_SHARE`).
    limit_per_minute: u64,
}

impl<'a> PlanDocument<'a> {
    fn new(plan: &'a Plan, budget: &ApiBudget, ctx: &'a RenderContext) -> Self {
        let summary = plan.summary();
        PlanDocument {
            format_version: FORMAT_VERSION,
            changes: plan.changes.iter().map(ChangeEntry::new).collect(),
            blocked: plan.blocked.iter().map(BlockedEntry::new).collect(),
            pending_users: plan.pending_users.iter().map(PendingEntry::new).collect(),
            unmanaged: plan.unmanaged.iter().map(UnmanagedEntry::new).collect(),
            skipped: plan.skipped.iter().map(SkippedEntry::new).collect(),
            notes: plan.notes.iter().map(Note::sentence).collect(),
            summary: SummaryDocument {
                create: summary.create as u64,
                update: summary.update as u64,
                delete: summary.delete as u64,
                blocked: summary.blocked as u64,
                pending_users: summary.pending_users as u64,
                unmanaged: summary.unmanaged as u64,
            },
            api_budget: BudgetDocument {
                families: budget
                    .families
                    .iter()
                    .map(|(name, family)| {
                        (
                            name.clone(),
                            FamilyDocument {
                                calls: family.calls,
                                limit_per_minute: family.limit_per_minute,
                            },
                        )
                    })
                    .collect(),
                min_seconds: budget.min_seconds,
                setup_seconds: budget.setup_seconds,
            },
            observed_calls: &ctx.observed_calls,
        }
    }
}

impl<'a> ChangeEntry<'a> {
    fn new(change: &'a Change) -> Self {
        ChangeEntry {
            customer: &change.customer,
            phase: change.phase,
            action: change.action.as_str(),
            kind: change.kind().as_str(),
            key: change.key(),
            reason: change.reason.as_str(),
            // Kept as compact JSON with sorted keys; parsed only as each is written.
            before: &change.before,
            after: &change.after,
            assets: change.assets.as_deref().map(AssetsDocument::new),
        }
    }
}

impl<'a> BlockedEntry<'a> {
    fn new(change: &'a Change) -> Self {
        BlockedEntry {
            change: ChangeEntry::new(change),
            blocked_by: change.blocked_by.as_deref().unwrap_or_default(),
        }
    }
}

impl<'a> PendingEntry<'a> {
    fn new(pending: &'a PendingUser) -> Self {
        PendingEntry {
            customer: &pending.customer,
            user: &pending.user,
            connection: &pending.connection,
            recipe_function: pending.recipe_function.as_deref(),
            connection_id: pending.connection_id,
            status: pending.status.as_str(),
            authorization_error: pending.authorization_error.as_deref(),
            reason: pending.reason.as_str(),
        }
    }
}

impl<'a> UnmanagedEntry<'a> {
    fn new(unmanaged: &'a Unmanaged) -> Self {
        UnmanagedEntry {
            customer: &unmanaged.customer,
            kind: unmanaged.kind.as_str(),
            key: &unmanaged.key,
            reason: unmanaged.reason.as_str(),
            id: unmanaged.id,
        }
    }
}

impl<'a> SkippedEntry<'a> {
    fn new(skipped: &'a SkippedCustomer) -> Self {
        SkippedEntry {
            customer: &skipped.customer,
            why: &skipped.why,
        }
    }
}

/// A copy of `value` whose objects have their keys in sorted order, whatever order the map type
/// keeps (serde_json's `preserve_order` feature would otherwise leak insertion order).
pub(crate) fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by_key(|(key, _)| *key);
            Value::Object(
                entries
                    .into_iter()
                    .map(|(key, value)| (key.clone(), sorted(value)))
                    .collect::<Map<String, Value>>(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// Lists every variant of a plan enum. The exhaustive `match` stops the build when a variant is
/// added to the plan and not here, so the schema's lists of codes cannot fall behind.
macro_rules! every {
    ($type:ident: $($variant:ident),+ $(,)?) => {{
        #[allow(dead_code)]
        fn exhaustive(value: $type) {
            match value {
                $($type::$variant)|+ => {}
            }
        }
        [$($type::$variant),+]
    }};
}

fn format_version_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "const": FORMAT_VERSION })
}

/// The schema of an action name, referenced as `#/$defs/Action`.
struct ActionName;

impl JsonSchema for ActionName {
    fn schema_name() -> Cow<'static, str> {
        "Action".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let names =
            every!(Action: Create, Update, Delete, Replace, Disconnect, Import, Authorize, Start)
                .map(Action::as_str);
        json_schema!({
            "description": "What a change does.",
            "type": "string",
            "enum": names,
        })
    }
}

/// The schema of a kind of object, referenced as `#/$defs/Kind`.
struct KindName;

impl JsonSchema for KindName {
    fn schema_name() -> Cow<'static, str> {
        "Kind".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let names =
            every!(Kind: Customer, Folder, Package, Connection, Recipe, RuntimeConnection, Gate)
                .map(Kind::as_str);
        json_schema!({
            "description": "The kind of object.",
            "type": "string",
            "enum": names,
        })
    }
}

/// The schema of a reason code, referenced as `#/$defs/Reason`.
struct ReasonCode;

impl JsonSchema for ReasonCode {
    fn schema_name() -> Cow<'static, str> {
        "Reason".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let codes: Vec<&str> = Reason::ALL.iter().map(|reason| reason.as_str()).collect();
        json_schema!({
            "description": "Why, as a stable code: new codes are added, none is renamed.",
            "type": "string",
            "enum": codes,
        })
    }
}

/// The schema of why an end user has to authorize, referenced as `#/$defs/PendingStatus`.
struct PendingStatusCode;

impl JsonSchema for PendingStatusCode {
    fn schema_name() -> Cow<'static, str> {
        "PendingStatus".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let codes: Vec<&str> = PendingStatus::ALL.iter().map(|s| s.as_str()).collect();
        json_schema!({
            "description": "Why the end user has to authorize.",
            "type": "string",
            "enum": codes,
        })
    }
}

/// Makes every property required, `null` or not: the renderer writes every field of these
/// entries, with `null` for an absent value, so that scripts can rely on each key being there.
fn require_every_property(schema: &mut Schema) {
    let mut required: Vec<Value> = schema
        .get("required")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let names: Vec<String> = schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|properties| properties.keys().cloned().collect())
        .unwrap_or_default();
    for name in names {
        let name = Value::String(name);
        if !required.contains(&name) {
            required.push(name);
        }
    }
    schema.insert("required".to_owned(), Value::Array(required));
}

fn fields_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "Field name to value; secrets appear only as a short fingerprint.",
        "type": ["object", "null"],
    })
}
