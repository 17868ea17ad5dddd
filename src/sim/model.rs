//! The simulator's own types for Workato's objects and the account state that holds them.
//!
//! These are deliberately separate from the client's wire types (ARCHITECTURE.md): if
//! either side names a field wrongly, the other side's tests catch it. The whole state is plain
//! data, saved to and loaded from JSON; a connection's input is kept only as a sha256 digest, so a
//! saved state never holds a secret.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The first id handed out in an empty account.
pub const FIRST_ID: u64 = 1_001;

/// The largest id the simulator hands out: JSON integers above 2^53 lose precision in many
/// clients.
pub const MAX_ID: u64 = 1 << 53;

/// Writes are refused with a 500 once fewer ids than this are left (one import may take many), so
/// an id is never handed out twice.
pub const ID_HEADROOM: u64 = 1_000_000;

/// Everything in the simulated Embed admin account.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccountState {
    /// The next id to hand out; ids are deterministic so that tests and snapshots are stable.
    pub next_id: u64,
    /// The logical clock, in seconds since 2026-01-01T00:00:00Z; every write advances it by one,
    /// so timestamps are deterministic and strictly ordered.
    pub clock: u64,
    /// Customer workspaces by id.
    pub customers: BTreeMap<u64, Customer>,
}

/// A managed user: one customer workspace and everything in it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Customer {
    pub id: u64,
    pub external_id: Option<String>,
    pub name: String,
    pub notification_email: String,
    #[serde(default)]
    pub origin_url: Option<String>,
    #[serde(default = "default_plan")]
    pub plan_id: String,
    pub created_at: String,
    pub updated_at: String,
    /// TEST and PROD workspaces of a customer with Embedded environments (reported, not managed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environments: Option<Vec<EnvironmentRef>>,
    /// The id of the workspace's Home folder, parent of every project.
    pub home_folder_id: u64,
    #[serde(default)]
    pub folders: BTreeMap<u64, Folder>,
    #[serde(default)]
    pub connections: BTreeMap<u64, Connection>,
    #[serde(default)]
    pub recipes: BTreeMap<u64, Recipe>,
    #[serde(default)]
    pub imports: BTreeMap<u64, Import>,
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    /// Custom connectors created in this workspace by imports, by slug.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_connectors: BTreeMap<String, CustomConnector>,
}

/// A custom connector of a customer workspace, created by the first import of a package that
/// holds it (`<slug>.custom_adapter.json`). Its id is this workspace's own, so the provider
/// string that connections and recipes of this workspace use differs from the exporting
/// workspace's.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CustomConnector {
    pub id: u64,
    pub title: String,
    /// `<slug>__connector_<id>_<unix seconds>`: what connections and recipe config name.
    pub provider: String,
    pub created_at: String,
}

fn default_plan() -> String {
    "oem_plan".to_owned()
}

/// One TEST or PROD workspace of a customer with environments.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EnvironmentRef {
    pub id: u64,
    pub environment_type: String,
}

/// A folder or project in a customer workspace.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Folder {
    pub id: u64,
    pub name: String,
    /// The parent folder; the Home folder for a project.
    pub parent_id: u64,
    pub is_project: bool,
    pub project_id: u64,
    pub created_at: String,
    pub updated_at: String,
}

/// A connection, including runtime user connections.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Connection {
    pub id: u64,
    pub name: String,
    pub provider: String,
    pub folder_id: u64,
    pub parent_id: Option<u64>,
    pub external_id: Option<String>,
    /// `success`, `failed`, or `None` for a shell that was never authorized.
    pub authorization_status: Option<String>,
    pub authorization_error: Option<String>,
    pub authorized_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// sha256 of the canonical JSON of the last `input` and `oauth_token_pair` received. Never
    /// the values themselves.
    #[serde(default)]
    pub input_digest: Option<String>,
}

impl Connection {
    /// Runtime user connections are hidden from the default list.
    pub fn is_runtime(&self) -> bool {
        self.external_id.is_some() || self.parent_id.is_some()
    }
}

/// One `config[]` entry of a recipe: a connector it uses.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ConfigEntry {
    pub keyword: String,
    pub name: String,
    pub provider: String,
    pub skip_validation: bool,
    pub account_id: Option<u64>,
}

/// A recipe in a customer workspace.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Recipe {
    pub id: u64,
    pub name: String,
    pub folder_id: u64,
    pub running: bool,
    /// Why Workato stopped the recipe on its own (`trigger_errors_limit`, `txn_quota_limit`, …).
    pub stop_cause: Option<String>,
    pub stopped_at: Option<String>,
    pub config: Vec<ConfigEntry>,
    /// The recipe's code as a JSON string, as Workato returns it.
    pub code: String,
    pub description: String,
    pub trigger_application: String,
    pub action_applications: Vec<String>,
    pub version_no: u64,
    pub created_at: String,
    pub updated_at: String,
}

/// A package import and its outcome.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Import {
    pub id: u64,
    pub folder_id: u64,
    /// `in_progress`, `completed` or `failed`.
    pub status: String,
    /// How many more status reads answer `in_progress` before the final status shows.
    pub polls_left: u32,
    /// The status once the polls are used up.
    pub final_status: String,
    pub error: Option<String>,
    pub recipe_status: Vec<RecipeImportStatus>,
}

/// One recipe's outcome in an import.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecipeImportStatus {
    pub id: u64,
    pub import_result: String,
}

impl AccountState {
    /// A fresh id; ids are shared by every kind of object, as a single sequence keeps them unique
    /// in logs.
    ///
    /// It never wraps: writes are refused before the sequence comes near its end
    /// (`ids_exhausted`), and a state whose sequence would repeat an id is refused when loaded
    /// (`check_ids`).
    pub fn allocate_id(&mut self) -> u64 {
        let id = self.next_id.max(FIRST_ID);
        self.next_id = id.saturating_add(1);
        id
    }

    /// Whether so few ids are left that a write could run out of them.
    pub fn ids_exhausted(&self) -> bool {
        self.next_id.max(FIRST_ID) > MAX_ID - ID_HEADROOM
    }

    /// Refuses a state whose id sequence would hand out an id that is already taken, or has no
    /// room left.
    pub fn check_ids(&self) -> Result<(), String> {
        let next = self.next_id.max(FIRST_ID);
        if next > MAX_ID - ID_HEADROOM {
            return Err(format!(
                "`next_id` is {}, too close to the largest id the simulator hands out ({MAX_ID}); \
                 ids would run out or repeat",
                self.next_id
            ));
        }
        let mut largest = 0;
        for customer in self.customers.values() {
            let ids = std::iter::once(customer.id)
                .chain(std::iter::once(customer.home_folder_id))
                .chain(customer.folders.values().map(|folder| folder.id))
                .chain(
                    customer
                        .connections
                        .values()
                        .map(|connection| connection.id),
                )
                .chain(customer.recipes.values().map(|recipe| recipe.id))
                .chain(customer.imports.values().map(|import| import.id))
                .chain(
                    customer
                        .custom_connectors
                        .values()
                        .map(|connector| connector.id),
                )
                .chain(customer.folders.keys().copied())
                .chain(customer.connections.keys().copied())
                .chain(customer.recipes.keys().copied())
                .chain(customer.imports.keys().copied());
            largest = ids.fold(largest, u64::max);
        }
        if largest >= next {
            return Err(format!(
                "`next_id` is {} but the state already holds id {largest}; the next objects would \
                 get ids that are taken",
                self.next_id
            ));
        }
        Ok(())
    }

    /// Advances the logical clock and returns the new time as ISO-8601.
    pub fn now(&mut self) -> String {
        self.clock += 1;
        timestamp(self.clock)
    }

    /// The customer a path segment names: digits are an id, `E…` an external id (already
    /// URL-decoded by the router).
    pub fn resolve_customer(&self, segment: &str) -> Option<u64> {
        if let Some(external) = segment.strip_prefix('E') {
            return self
                .customers
                .values()
                .find(|customer| customer.external_id.as_deref() == Some(external))
                .map(|customer| customer.id);
        }
        let id: u64 = segment.parse().ok()?;
        self.customers.contains_key(&id).then_some(id)
    }
}

/// `2026-01-01T00:00:00Z` plus `seconds`, formatted as Workato does (`…T…Z`, milliseconds).
pub fn timestamp(seconds: u64) -> String {
    crate::calendar::iso8601(unix_seconds(seconds))
}

/// The logical clock as Unix seconds.
pub fn unix_seconds(seconds: u64) -> u64 {
    const BASE: u64 = 1_767_225_600; // 2026-01-01T00:00:00Z in Unix seconds
    BASE.saturating_add(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_start_at_2026() {
        assert_eq!(timestamp(0), "2026-01-01T00:00:00.000Z");
        assert_eq!(timestamp(86_400 * 59 + 3_661), "2026-03-01T01:01:01.000Z");
    }
}
