//! `Live`: what Workato holds for the customers of the file, as `observe` read it.
//!
//! These are model types, separate from the client's wire types (`workato/`): the wire types
//! follow Workato's JSON; these hold only what `diff` compares, in the shape `diff` needs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The live account, limited to what one plan needs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Live {
    /// The file's customers that exist in Workato, by `external_id`.
    pub customers: BTreeMap<String, LiveCustomer>,
    /// Customers in Workato that the file does not list (reported, never touched).
    pub unmanaged_customers: Vec<UnmanagedCustomer>,
    /// Calls made per endpoint family while observing.
    pub calls: BTreeMap<String, u64>,
}

/// A customer in Workato the file does not list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnmanagedCustomer {
    pub id: u64,
    pub external_id: Option<String>,
    pub name: String,
}

/// One customer workspace and the objects of it that embedctl manages or must know about.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveCustomer {
    pub id: u64,
    pub external_id: String,
    pub name: String,
    pub notification_email: String,
    /// The customer has Embedded environments (TEST/PROD): reported and skipped in this version.
    pub has_environments: bool,
    /// Folders (projects and their sub-folders), read only when a manifest's folder id is not
    /// recorded yet.
    pub projects: Option<Vec<LiveFolder>>,
    /// Every connection of the workspace, runtime user connections included.
    pub connections: Vec<LiveConnection>,
    /// Every recipe of the workspace.
    pub recipes: Vec<LiveRecipe>,
    /// The `embedctl_` properties.
    pub properties: BTreeMap<String, String>,
}

/// A folder or project.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LiveFolder {
    pub id: u64,
    pub name: String,
    pub parent_id: Option<u64>,
    /// The project a top-level folder is: renamed through the projects route with this id.
    #[serde(default)]
    pub project_id: Option<u64>,
}

/// A connection, default or runtime.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LiveConnection {
    pub id: u64,
    pub name: String,
    pub provider: String,
    pub folder_id: Option<u64>,
    pub parent_id: Option<u64>,
    pub external_id: Option<String>,
    /// `success`, `failed`, `exception`, or `None` for a shell never authorized.
    pub authorization_status: Option<String>,
    pub authorization_error: Option<String>,
}

impl LiveConnection {
    /// A runtime user connection has an end user (`external_id`) or a parent.
    pub fn is_runtime(&self) -> bool {
        self.external_id.is_some() || self.parent_id.is_some()
    }

    /// Whether Workato reports the connection as connected.
    pub fn is_authorized(&self) -> bool {
        self.authorization_status.as_deref() == Some("success")
    }
}

/// Connectors whose connections only OAuth authorizes: `input` fields alone never connect them,
/// only an `oauth_token_pair` or an end user in the connection widget. The simulator refuses
/// them `input` (docs/simulator.md); `export` says so of such a connection no customer has
/// authorized.
pub const OAUTH_ONLY_PROVIDERS: &[&str] = &[
    "dropbox",
    "google_drive",
    "box",
    "salesforce",
    "slack",
    "hubspot",
];

/// A recipe.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LiveRecipe {
    pub id: u64,
    pub name: String,
    pub folder_id: Option<u64>,
    pub running: bool,
    /// Set when Workato stopped the recipe on its own (quota, trial, trigger errors).
    pub stop_cause: Option<String>,
    pub config: Vec<LiveRecipeConfig>,
}

/// One connector a recipe uses.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LiveRecipeConfig {
    pub provider: String,
    pub skip_validation: bool,
    pub account_id: Option<u64>,
}

/// The property names embedctl keeps in each workspace (ARCHITECTURE.md).
pub mod property {
    /// Prefix of every embedctl property.
    pub const PREFIX: &str = "embedctl_";

    /// `embedctl_folder.<manifest>`: the manifest folder's id.
    pub fn folder(manifest: &str) -> String {
        format!("embedctl_folder.{manifest}")
    }

    /// `embedctl_home_folder.<manifest>`: the id of the folder for the package's root-folder
    /// (Home) assets.
    pub fn home_folder(manifest: &str) -> String {
        format!("embedctl_home_folder.{manifest}")
    }

    /// `embedctl_digest.<manifest>`: the digest of the last imported package.
    pub fn digest(manifest: &str) -> String {
        format!("embedctl_digest.{manifest}")
    }

    /// `embedctl_folder_name.<manifest>`: the name the manifest's folder was given, so that a
    /// changed `folder:` is noticed without reading every customer's projects.
    pub fn folder_name(manifest: &str) -> String {
        format!("embedctl_folder_name.{manifest}")
    }

    /// `embedctl_assets.<manifest>.<part>`: part `part` of the record of the last imported
    /// package's assets (`package::inventory`).
    pub fn assets(manifest: &str, part: usize) -> String {
        format!("embedctl_assets.{manifest}.{part}")
    }

    /// `embedctl_fp.<manifest>.<connection>`: the fingerprint of the last credentials sent.
    pub fn fingerprint(manifest: &str, connection: &str) -> String {
        format!("embedctl_fp.{manifest}.{connection}")
    }
}
