//! Saved plans (`plan --out PLAN.json`): the changes plus what `apply PLAN.json` must find
//! unchanged before it runs them (docs/commands.md). A saved plan never holds a secret: credentials
//! appear only as HMAC fingerprints.

use std::collections::BTreeMap;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{Change, PendingUser, Plan};
use crate::desired::{CredentialState, Desired};
use crate::live::{Live, LiveCustomer};

/// The format of saved plans; a plan saved in another format is refused with a clear message
/// (version 2: changes carry a typed `subject` and `target`; version 4: `package_digests`).
pub const SAVED_FORMAT_VERSION: &str = "4";

/// The saved plan document.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SavedPlan {
    pub format_version: String,
    /// ISO-8601 creation time, and the same as Unix seconds for the age check.
    pub created_at: String,
    pub created_at_unix: u64,
    /// The API base URL, or `sim:<canonical state path>` under `--sim`.
    pub base_url: String,
    /// sha256 of the desired-state file's bytes.
    pub file_digest: String,
    /// HMAC fingerprint of every credential the plan will send, by `<customer>/<manifest>.<connection>`.
    pub credential_fingerprints: BTreeMap<String, String>,
    /// The digest of every manifest's package, by manifest key: the file names a package by its
    /// path, so the file's digest alone does not notice a package edited after the plan.
    pub package_digests: BTreeMap<String, String>,
    /// The `--customer` selection the plan was made with, sorted; empty for every customer.
    #[serde(default)]
    pub customers: Vec<String>,
    /// sha256 of the compared live fields of every customer with a change or a gate input,
    /// by external id (`absent` for a customer that does not exist yet).
    pub live_fingerprints: BTreeMap<String, String>,
    /// The plan itself, in the same types `diff` builds.
    pub plan: Plan,
}

/// Builds the saved plan. `now_unix` comes from the caller: `diff` and this function read no clock.
pub fn save(
    plan: &Plan,
    desired: &Desired,
    live: &Live,
    base_url: &str,
    file_bytes: &[u8],
    now_unix: u64,
) -> SavedPlan {
    let mut touched: BTreeMap<&str, BTreeSet<u64>> = BTreeMap::new();
    for change in plan.changes.iter().chain(&plan.blocked) {
        let targeted = touched.entry(change.customer.as_str()).or_default();
        targeted.extend(change.target.connection_id);
    }
    let live_fingerprints = touched
        .into_iter()
        .map(|(customer, targeted)| {
            (
                customer.to_owned(),
                customer_fingerprint(live.customers.get(customer), &targeted),
            )
        })
        .collect();
    let mut credential_fingerprints = BTreeMap::new();
    for customer in &desired.customers {
        for (reference, state) in &customer.credentials {
            if let CredentialState::Known { fingerprint } = state {
                credential_fingerprints.insert(
                    format!("{}/{reference}", customer.external_id),
                    fingerprint.clone(),
                );
            }
        }
    }
    SavedPlan {
        format_version: SAVED_FORMAT_VERSION.to_owned(),
        created_at: crate::calendar::iso8601(now_unix),
        created_at_unix: now_unix,
        base_url: base_url.to_owned(),
        file_digest: sha256_hex(file_bytes),
        credential_fingerprints,
        customers: Vec::new(),
        package_digests: package_digests(desired),
        live_fingerprints,
        plan: plan.clone(),
    }
}

/// Reads a saved plan; the format version is checked first, so that a plan saved by another
/// version of embedctl is refused as such, not as malformed JSON.
pub fn parse(text: &str) -> Result<SavedPlan, String> {
    let value: Value = serde_json::from_str(text)
        .map_err(|error| format!("is not a plan saved by `embedctl plan --out`: {error}"))?;
    match value.get("format_version").and_then(Value::as_str) {
        Some(SAVED_FORMAT_VERSION) => {}
        Some(other) => {
            return Err(format!(
                "was saved in plan format {other}; this embedctl reads format \
                 {SAVED_FORMAT_VERSION}: make a new plan with `embedctl plan --out`"
            ));
        }
        None => return Err("is not a plan saved by `embedctl plan --out`".to_owned()),
    }
    serde_json::from_value(value)
        .map_err(|error| format!("is not a plan saved by `embedctl plan --out`: {error}"))
}

/// What a saved plan is checked against before it is applied: a plan made now, of the same file
/// against the same account.
pub struct Fresh<'a> {
    pub plan: &'a Plan,
    pub desired: &'a Desired,
    pub live: &'a Live,
    /// The base URL, or `sim:<canonical state path>`.
    pub target_label: &'a str,
    pub file_bytes: &'a [u8],
    /// How the file is named in messages.
    pub file_label: &'a str,
    pub now_unix: u64,
    /// The `--customer` selection of this run; empty for every customer.
    pub customers: &'a [String],
    /// `--max-age`, in hours.
    pub max_age_hours: u64,
}

/// Refuses a saved plan that no longer describes reality, saying what changed since ("the diff
/// of the diff").
pub fn check(saved: &SavedPlan, fresh: &Fresh<'_>) -> Result<(), String> {
    let mut problems = Vec::new();
    if saved.format_version != SAVED_FORMAT_VERSION {
        problems.push(format!(
            "the plan has format version {}, this embedctl writes {SAVED_FORMAT_VERSION}",
            saved.format_version
        ));
    }
    if saved.base_url != fresh.target_label {
        problems.push(format!(
            "the plan was made against `{}`, this run talks to `{}`",
            saved.base_url, fresh.target_label
        ));
    }
    let age_hours = fresh.now_unix.saturating_sub(saved.created_at_unix) / 3_600;
    if age_hours >= fresh.max_age_hours {
        problems.push(format!(
            "the plan is {age_hours} h old (made {}); `--max-age` is {} h",
            saved.created_at, fresh.max_age_hours
        ));
    }
    let now = save(
        fresh.plan,
        fresh.desired,
        fresh.live,
        fresh.target_label,
        fresh.file_bytes,
        fresh.now_unix,
    );
    if now.file_digest != saved.file_digest {
        problems.push(format!("`{}` changed since the plan", fresh.file_label));
    }
    let selection = |customers: &[String]| {
        let mut sorted = customers.to_vec();
        sorted.sort();
        sorted.dedup();
        sorted
    };
    if selection(&saved.customers) != selection(fresh.customers) {
        let said = |customers: &[String]| match customers {
            [] => "every customer".to_owned(),
            some => some
                .iter()
                .map(|customer| format!("`--customer {customer}`"))
                .collect::<Vec<_>>()
                .join(" "),
        };
        problems.push(format!(
            "the plan was made for {}, this run selects {}: run apply with the same `--customer` flags",
            said(&selection(&saved.customers)),
            said(&selection(fresh.customers))
        ));
    }
    for (manifest, digest) in &saved.package_digests {
        if now.package_digests.get(manifest) != Some(digest) {
            problems.push(format!(
                "the package of manifest `{manifest}` changed since the plan"
            ));
        }
    }
    for (reference, fingerprint) in &saved.credential_fingerprints {
        if now.credential_fingerprints.get(reference) != Some(fingerprint) {
            problems.push(format!(
                "the credentials of `{reference}` changed since the plan"
            ));
        }
    }
    for (customer, digest) in &saved.live_fingerprints {
        let now_digest = now
            .live_fingerprints
            .get(customer)
            .cloned()
            .unwrap_or_else(|| {
                // No change is planned for it any more: compare what it looks like now.
                customer_fingerprint(fresh.live.customers.get(customer), &BTreeSet::new())
            });
        if &now_digest != digest {
            problems.push(format!(
                "customer `{customer}` changed in Workato since the plan"
            ));
        }
    }
    let then: Vec<String> = saved.plan.changes.iter().map(change_line).collect();
    let fresh_lines: Vec<String> = fresh.plan.changes.iter().map(change_line).collect();
    // Compared as typed changes, not as lines: two subjects may read alike (a user `a/b` and a
    // user `a` with function `b`), and what apply would do (`target`) must not have moved.
    let same_changes = saved.plan.changes.len() == fresh.plan.changes.len()
        && saved
            .plan
            .changes
            .iter()
            .zip(&fresh.plan.changes)
            .all(|(then, now)| same_work(then, now));
    if problems.is_empty() && same_changes {
        return Ok(());
    }
    if problems.is_empty() {
        problems.push("a fresh plan differs from the saved one".to_owned());
    }
    let mut message = format!("refusing the saved plan:\n  {}", problems.join("\n  "));
    let mut differences: Vec<String> = Vec::new();
    differences.extend(
        then.iter()
            .filter(|line| !fresh_lines.contains(line))
            .map(|line| format!("- no longer planned: {line}")),
    );
    differences.extend(
        fresh_lines
            .iter()
            .filter(|line| !then.contains(line))
            .map(|line| format!("+ newly planned: {line}")),
    );
    differences.extend(
        moved_fields(&saved.plan, fresh.plan)
            .iter()
            .map(|line| format!("~ {line}")),
    );
    let lists: [(&str, Vec<String>, Vec<String>); 2] = [
        (
            "blocked",
            saved.plan.blocked.iter().map(change_line).collect(),
            fresh.plan.blocked.iter().map(change_line).collect(),
        ),
        (
            "pending",
            saved.plan.pending_users.iter().map(pending_line).collect(),
            fresh.plan.pending_users.iter().map(pending_line).collect(),
        ),
    ];
    for (what, then, now) in lists {
        differences.extend(
            then.iter()
                .filter(|line| !now.contains(line))
                .map(|line| format!("- no longer {what}: {line}")),
        );
        differences.extend(
            now.iter()
                .filter(|line| !then.contains(line))
                .map(|line| format!("+ newly {what}: {line}")),
        );
    }
    if !differences.is_empty() {
        message.push_str("\nwhat a fresh plan says differently:");
        for line in differences {
            message.push_str(&format!("\n  {line}"));
        }
    }
    message.push_str("\nmake a new plan with `embedctl plan --out`");
    Err(message)
}

/// Whether what a saved plan was made for is already in effect: the same account, the same file
/// and packages, and a fresh plan with nothing to write. A plan applied once, then applied again
/// (a CI job run twice), is refused by `check` because its changes are no longer planned; this
/// tells that case apart, where there is nothing to do rather than something to review.
pub fn in_effect(saved: &SavedPlan, fresh: &Fresh<'_>) -> bool {
    fresh.plan.changes.is_empty()
        && saved.base_url == fresh.target_label
        && saved.file_digest == sha256_hex(fresh.file_bytes)
        && saved.package_digests == package_digests(fresh.desired)
}

/// The digest of every manifest's package, by manifest key.
fn package_digests(desired: &Desired) -> BTreeMap<String, String> {
    desired
        .manifests
        .iter()
        .map(|(key, manifest)| (key.clone(), manifest.digest.clone()))
        .collect()
}

/// Whether two changes do the same thing: the same subject, action, reason and target (the
/// fields shown as `before`/`after` are compared through the live fingerprints).
fn same_work(then: &Change, now: &Change) -> bool {
    then.customer == now.customer
        && then.phase == now.phase
        && then.action == now.action
        && then.subject == now.subject
        && then.reason == now.reason
        && then.target == now.target
}

/// `acme-001 authorize connection files-sync.partner_app (connection.credentials_changed)`.
fn change_line(change: &Change) -> String {
    format!(
        "{} {} {} {} ({})",
        change.customer,
        change.action.as_str(),
        change.kind().as_str(),
        change.key(),
        change.reason.as_str()
    )
}

/// `acme-001 user-a has to authorize files-sync.dropbox (recipe function Get file)`.
fn pending_line(pending: &PendingUser) -> String {
    let function = pending
        .recipe_function
        .as_ref()
        .map(|function| format!(" (recipe function {function})"))
        .unwrap_or_default();
    format!(
        "{} {} has to authorize {}{function}",
        pending.customer, pending.user, pending.connection
    )
}

/// For each change planned both then and now: the compared live fields (`before`) whose value
/// moved since the plan, as `<change>: <field> <then> → <now>` (values are masked in plans).
fn moved_fields(then: &Plan, now: &Plan) -> Vec<String> {
    // A field missing from `before` matched the file.
    let show = |value: Option<&Value>, missing: &str| {
        value.map_or_else(|| missing.to_owned(), |value| value.to_string())
    };
    let fields = |change: &Change| {
        change
            .before
            .value()
            .as_object()
            .cloned()
            .unwrap_or_default()
    };
    let mut lines = Vec::new();
    for earlier in &then.changes {
        let line = change_line(earlier);
        let Some(later) = now.changes.iter().find(|c| change_line(c) == line) else {
            continue;
        };
        let (old, new) = (fields(earlier), fields(later));
        let names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
        for name in names {
            if old.get(name) != new.get(name) {
                lines.push(format!(
                    "{line}: {name} in Workato {} → {}",
                    show(old.get(name), "(matched the file)"),
                    show(new.get(name), "(matches the file)")
                ));
            }
        }
    }
    lines
}

/// The digest of what a customer's planned changes and phase gates depend on: the customer's
/// fields, embedctl's properties, its folders, its recipes' state, its default connections, and
/// the runtime user connections that a change targets. An end user authorizing a connection no
/// change touches does not make a saved plan stale.
pub fn customer_fingerprint(live: Option<&LiveCustomer>, targeted: &BTreeSet<u64>) -> String {
    let Some(customer) = live else {
        return "absent".to_owned();
    };
    let recipes: Vec<Value> = customer
        .recipes
        .iter()
        .map(|r| json!([r.id, r.name, r.folder_id, r.running, r.stop_cause]))
        .collect();
    let connections: Vec<Value> = customer
        .connections
        .iter()
        .filter(|c| !c.is_runtime() || targeted.contains(&c.id))
        .map(|c| {
            json!([
                c.id,
                c.name,
                c.provider,
                c.folder_id,
                c.parent_id,
                c.external_id,
                c.authorization_status
            ])
        })
        .collect();
    let view = json!({
        "id": customer.id,
        "name": customer.name,
        "notification_email": customer.notification_email,
        "has_environments": customer.has_environments,
        "properties": customer.properties,
        "projects": customer.projects,
        "recipes": recipes,
        "connections": connections,
    });
    sha256_hex(view.to_string().as_bytes())
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
