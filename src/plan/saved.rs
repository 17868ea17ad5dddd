//! Saved plans (`plan --out PLAN.json`): the changes plus what `apply PLAN.json` must find
//! unchanged before it runs them (docs/commands.md). A saved plan never holds a secret: credentials
//! appear only as HMAC fingerprints.

use std::collections::BTreeMap;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{FORMAT_VERSION, Plan};
use crate::desired::{CredentialState, Desired};
use crate::live::{Live, LiveCustomer};

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
    /// sha256 of the compared live fields of every customer with a change or a gate input,
    /// by external id (`absent` for a customer that does not exist yet).
    pub live_fingerprints: BTreeMap<String, String>,
    /// The plan itself, as rendered in JSON.
    pub plan: serde_json::Value,
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
        format_version: FORMAT_VERSION.to_owned(),
        created_at: crate::calendar::iso8601(now_unix),
        created_at_unix: now_unix,
        base_url: base_url.to_owned(),
        file_digest: sha256_hex(file_bytes),
        credential_fingerprints,
        live_fingerprints,
        plan: serde_json::to_value(plan).unwrap_or_default(),
    }
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
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
