//! The plan: what `apply` would do, change by change, per customer and phase (docs/commands.md).
//!
//! `diff` builds it from `Desired` × `Live` with no I/O; the renderers print it; `apply` follows
//! it without making decisions of its own.

mod budget;
mod diff;
pub mod saved;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use budget::{ApiBudget, CI_JOB_SECONDS, FamilyBudget, budget_of};
pub use diff::diff;

/// The JSON format version of a rendered plan.
pub const FORMAT_VERSION: &str = "1.1";

/// Everything a plan says. A saved plan is read back into the same types.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Changes apply will make, ordered by customer, then phase.
    pub changes: Vec<Change>,
    /// Changes that cannot happen until something outside the plan changes.
    pub blocked: Vec<Change>,
    /// End users whose runtime user connection waits for them to authorize it.
    pub pending_users: Vec<PendingUser>,
    /// Objects in Workato that the file does not list (reported, never deleted).
    pub unmanaged: Vec<Unmanaged>,
    /// Customers skipped in this version (Embedded environments), with why.
    pub skipped: Vec<SkippedCustomer>,
    /// Things the reader should know that change nothing (e.g. credentials not compared).
    pub notes: Vec<Note>,
}

/// Something the reader should know that changes nothing, about one customer or the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// The customer it concerns, if one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    /// What to know, without the customer: the same message for many customers is printed
    /// once in text, with how many it concerns.
    pub message: String,
}

impl Note {
    /// A note about one customer.
    pub fn customer(customer: &str, message: String) -> Note {
        Note {
            customer: Some(customer.to_owned()),
            message,
        }
    }

    /// The note as one sentence: ``customer `acme-001`: credentials of … not compared``.
    pub fn sentence(&self) -> String {
        match &self.customer {
            Some(customer) => format!("customer `{customer}`: {}", self.message),
            None => self.message.clone(),
        }
    }
}

/// The compared fields of a change (a JSON object, or `null`), kept as compact JSON text. A
/// fleet's plan holds hundreds of thousands of changes, and a JSON map of four fields costs a
/// whole tree node (over 600 bytes) where its text is about 100; the renderers parse the few they
/// show.
#[derive(Clone, PartialEq, Eq)]
pub struct Fields(Box<str>);

impl Fields {
    /// `null`.
    pub fn null() -> Fields {
        Fields("null".into())
    }

    /// The fields as a JSON value.
    pub fn value(&self) -> Value {
        // The text was written from a `Value` by `From<Value>`; it always parses back.
        serde_json::from_str(&self.0).unwrap_or(Value::Null)
    }

    /// Whether there are no fields (a create's `before`).
    pub fn is_null(&self) -> bool {
        &*self.0 == "null"
    }
}

impl From<Value> for Fields {
    fn from(value: Value) -> Fields {
        // Serializing a `Value` cannot fail: its map keys are strings.
        Fields(serde_json::to_string(&value).map_or_else(|_| "null".into(), String::into_boxed_str))
    }
}

impl std::fmt::Debug for Fields {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl Serialize for Fields {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Value::deserialize(deserializer).map(Fields::from)
    }
}

/// One change: what it is about (`subject`), what it does, and everything apply needs to carry
/// it out (`target`), so that apply never works out again what the plan meant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The customer's `external_id`.
    pub customer: String,
    /// 1 customer, 2 package, 3 activation, 4 runtime users.
    pub phase: u8,
    pub action: Action,
    /// What the change is about.
    pub subject: Subject,
    pub reason: Reason,
    /// The compared fields as they are, secrets masked; `null` for a create.
    pub before: Fields,
    /// The compared fields as they will be, secrets masked.
    pub after: Fields,
    /// Why a blocked change cannot happen (only in `blocked`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_by: Option<String>,
    /// The Workato ids apply needs (customer, folder, connection, recipe), when known.
    pub target: Target,
    /// Of a changed package: what it adds, changes and removes since the last import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assets: Option<Box<AssetChanges>>,
}

/// What a changed package adds, changes and removes since the last import, by the record of
/// its assets that import left in the workspace (`package::inventory`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetChanges {
    /// Whether the last import left a whole record of its assets; when it did not (an import by
    /// an older embedctl or by hand, or a record cut short), the lists are empty and only the
    /// digest says that the package changed.
    pub recorded: bool,
    #[serde(default)]
    pub added: Vec<AssetRef>,
    #[serde(default)]
    pub changed: Vec<AssetRef>,
    #[serde(default)]
    pub removed: Vec<AssetRef>,
}

impl AssetChanges {
    /// Whether the record says nothing changed asset by asset (only files that are no asset's
    /// differ, or the order of the zip's entries).
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty()
    }
}

/// One asset of a package, for people and scripts.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AssetRef {
    /// `recipe`, `connection`, `custom_connector`, the type a package's file name gives another
    /// asset (`lookup_table`…), or `file`.
    #[serde(rename = "type")]
    pub type_name: String,
    /// A recipe's or connection's name; a custom connector's path without `.custom_adapter`;
    /// another asset's path in the package.
    pub name: String,
}

impl Change {
    /// The kind of object the change is about.
    pub fn kind(&self) -> Kind {
        self.subject.kind()
    }

    /// What the change is about, for people: readable and stable (`acme-001`, `files-sync`,
    /// `files-sync.partner_app`, `files-sync/List files`, `files-sync.dropbox/user-a/Get file`).
    /// Derived from the subject for display only; nothing parses it.
    pub fn key(&self) -> String {
        self.subject.key(&self.customer)
    }
}

/// What a change is about, by the natural keys of the file.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Subject {
    /// The customer (managed user) itself.
    Customer,
    /// The project a manifest is imported into.
    Folder { manifest: String },
    /// A manifest's package.
    Package { manifest: String },
    /// The project that receives a manifest's root-folder (Home) assets (`home_assets_folder:`).
    HomeAssetsFolder { manifest: String },
    /// A default connection of a manifest, by its key in the file.
    Connection {
        manifest: String,
        connection: String,
    },
    /// A recipe of a manifest's package, by name.
    Recipe { manifest: String, recipe: String },
    /// An end user's runtime user connection: the manifest's connection key, the end user's id,
    /// and the recipe function it is dedicated to, if any.
    RuntimeConnection {
        manifest: String,
        connection: String,
        user: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        function: Option<String>,
    },
}

impl Subject {
    /// The kind of object.
    pub fn kind(&self) -> Kind {
        match self {
            Subject::Customer => Kind::Customer,
            Subject::Folder { .. } | Subject::HomeAssetsFolder { .. } => Kind::Folder,
            Subject::Package { .. } => Kind::Package,
            Subject::Connection { .. } => Kind::Connection,
            Subject::Recipe { .. } => Kind::Recipe,
            Subject::RuntimeConnection { .. } => Kind::RuntimeConnection,
        }
    }

    /// The manifest the subject belongs to (none for the customer).
    pub fn manifest(&self) -> Option<&str> {
        match self {
            Subject::Customer => None,
            Subject::Folder { manifest }
            | Subject::Package { manifest }
            | Subject::HomeAssetsFolder { manifest }
            | Subject::Connection { manifest, .. }
            | Subject::Recipe { manifest, .. }
            | Subject::RuntimeConnection { manifest, .. } => Some(manifest),
        }
    }

    /// The display key (see `Change::key`).
    pub fn key(&self, customer: &str) -> String {
        match self {
            Subject::Customer => customer.to_owned(),
            Subject::Folder { manifest } | Subject::Package { manifest } => manifest.clone(),
            Subject::HomeAssetsFolder { manifest } => format!("{manifest} (home assets)"),
            Subject::Connection {
                manifest,
                connection,
            } => format!("{manifest}.{connection}"),
            Subject::Recipe { manifest, recipe } => format!("{manifest}/{recipe}"),
            Subject::RuntimeConnection {
                manifest,
                connection,
                user,
                function,
            } => match function {
                Some(function) => format!("{manifest}.{connection}/{user}/{function}"),
                None => format!("{manifest}.{connection}/{user}"),
            },
        }
    }
}

/// What apply needs to carry a change out: the Workato ids the plan knew (absent ones are made
/// by earlier changes of the same apply), and what a created object is to be.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipe_id: Option<u64>,
    /// The project a folder to rename is (renamed through the projects route).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<u64>,
    /// The name the object gets: a folder's, a runtime connection's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The connector of a runtime connection to create, as the workspace names it (a custom
    /// connector by its live id in that workspace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Where apply reads the provider of a runtime connection to create when the plan could not
    /// know it: a custom connector that this apply imports gets its id in the workspace then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_of: Option<ProviderRef>,
    /// The parent of a runtime connection to create.
    #[serde(default, skip_serializing_if = "ParentRef::is_none")]
    pub parent: ParentRef,
    /// Of an import: the folder its root-folder (Home) assets go into
    /// (`folder_id_for_home_assets`), when the manifest names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_assets: Option<HomeAssetsRef>,
}

/// Where an import's root-folder (Home) assets go, as the plan decided it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum HomeAssetsRef {
    /// The folder with this id, known when the plan was made.
    Folder { id: u64 },
    /// The manifest's own folder (`home_assets_folder` is `folder`), which this apply creates.
    ManifestFolder,
    /// The folder that this apply's `HomeAssetsFolder` change creates.
    Created,
}

/// The parent of a runtime user connection, as the plan decided it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParentRef {
    /// No parent (`parent: none`, and every connection dedicated to a recipe function).
    #[default]
    None,
    /// This connection (`parent: default`, the default connection exists).
    Connection(u64),
    /// The default connection of `<manifest>.<connection>`, which this apply imports: apply finds
    /// it by the same rule diff uses, once it exists.
    DefaultOf {
        manifest: String,
        connection: String,
    },
}

/// Where apply finds a provider the plan could not know.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderRef {
    /// The live provider of the custom connector of `<manifest>.<connection>`, which this apply
    /// imports: apply reads it by the same rule diff uses (`matching`), once it exists.
    LiveOf {
        manifest: String,
        connection: String,
    },
}

impl ParentRef {
    /// Whether there is no parent.
    pub fn is_none(&self) -> bool {
        *self == ParentRef::None
    }
}

/// What a change does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    Delete,
    Replace,
    Disconnect,
    Import,
    Authorize,
    Start,
}

impl Action {
    /// The marker in the text plan: `+` create, `~` update, `-` delete, `±` replace.
    pub fn marker(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Delete | Action::Disconnect => "-",
            Action::Replace => "-/+",
            Action::Update | Action::Import | Action::Authorize | Action::Start => "~",
        }
    }

    /// The action's name as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Replace => "replace",
            Action::Disconnect => "disconnect",
            Action::Import => "import",
            Action::Authorize => "authorize",
            Action::Start => "start",
        }
    }
}

/// The kind of object a change is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Customer,
    Folder,
    Package,
    Connection,
    Recipe,
    RuntimeConnection,
    Gate,
}

impl Kind {
    /// The kind's name as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Customer => "customer",
            Kind::Folder => "folder",
            Kind::Package => "package",
            Kind::Connection => "connection",
            Kind::Recipe => "recipe",
            Kind::RuntimeConnection => "runtime_connection",
            Kind::Gate => "gate",
        }
    }
}

/// Declares `Reason` from one list of variants and their codes: the enum, its code, the list of
/// every reason, and parsing, so that no second list can fall behind.
macro_rules! reasons {
    ($($(#[$doc:meta])* $variant:ident => $code:literal,)+) => {
        /// The stable reason codes (docs/plan-json.md): a new one is added, none is renamed.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
        pub enum Reason {
            $($(#[$doc])* $variant,)+
        }

        impl Reason {
            /// Every reason, in the order of the list.
            pub const ALL: &'static [Reason] = &[$(Reason::$variant,)+];

            /// The stable code (`customer.missing`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Reason::$variant => $code,)+
                }
            }

            /// The reason of a code.
            pub fn from_code(code: &str) -> Option<Reason> {
                match code {
                    $($code => Some(Reason::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

reasons! {
    CustomerMissing => "customer.missing",
    CustomerChanged => "customer.changed",
    FolderMissing => "folder.missing",
    FolderRenamed => "folder.renamed",
    PackageNotImported => "package.not_imported",
    PackageChanged => "package.changed",
    PackageRecipesRunning => "package.recipes_running",
    ConnectionCredentialsMissing => "connection.credentials_missing",
    ConnectionCredentialsChanged => "connection.credentials_changed",
    ConnectionAuthFailed => "connection.auth_failed",
    ConnectionNoCredentials => "connection.no_credentials",
    RecipeNotRunning => "recipe.not_running",
    RecipeStoppedByWorkato => "recipe.stopped_by_workato",
    RecipeCannotStart => "recipe.cannot_start",
    RuntimeConnectionMissing => "runtime_connection.missing",
    RuntimeConnectionRenamed => "runtime_connection.renamed",
    RuntimeConnectionWrongParent => "runtime_connection.wrong_parent",
    RuntimeConnectionUnlisted => "runtime_connection.unlisted",
    RuntimeConnectionPending => "runtime_connection.pending",
    CustomerUnmanaged => "customer.unmanaged",
    GateClosed => "gate.closed",
}

impl Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Reason {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Reason::from_code(&code)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown reason code `{code}`")))
    }
}

/// An end user who still has to authorize a runtime user connection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PendingUser {
    pub customer: String,
    /// The end user's id (`runtime_users[].id`).
    pub user: String,
    /// `<manifest>.<connection>`, and the recipe function when the connection is dedicated to one.
    pub connection: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipe_function: Option<String>,
    /// The connection's id when it exists already; `None` when this plan creates it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<u64>,
    /// Why the end user has to act: never connected, connected once and lost it, or replaced.
    #[serde(default)]
    pub status: PendingStatus,
    /// What Workato says went wrong (`authorization_failed` only), e.g. "Token expired".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_error: Option<String>,
    pub reason: Reason,
}

/// Why an end user has to authorize a connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PendingStatus {
    /// The connection is new, or a shell that nobody has connected yet.
    #[default]
    NeverConnected,
    /// Workato reports the connection failed: the end user's token was revoked or expired, or
    /// their last attempt in the widget did not succeed. They have to connect again.
    AuthorizationFailed,
    /// The plan replaces the connection (it had the wrong parent): the new one starts
    /// unconnected, so the end user has to connect again.
    Replaced,
}

impl PendingStatus {
    /// Every status, in the order of the schema's enum.
    pub const ALL: [PendingStatus; 3] = [
        PendingStatus::NeverConnected,
        PendingStatus::AuthorizationFailed,
        PendingStatus::Replaced,
    ];

    /// The code in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            PendingStatus::NeverConnected => "never_connected",
            PendingStatus::AuthorizationFailed => "authorization_failed",
            PendingStatus::Replaced => "replaced",
        }
    }

    /// The status of a live connection that is not authorized (`None`: it does not exist yet).
    /// Only a status Workato documents as a failure (`failed`, `exception`) counts as lost: a
    /// shell nobody connected has none, and any status this version does not know is taken as
    /// never connected rather than telling an end user they connected before.
    pub fn of(connection: Option<&crate::live::LiveConnection>) -> PendingStatus {
        match connection.and_then(|c| c.authorization_status.as_deref()) {
            Some("failed" | "exception") => PendingStatus::AuthorizationFailed,
            _ => PendingStatus::NeverConnected,
        }
    }
}

/// Something in Workato the file does not list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Unmanaged {
    /// The customer it belongs to (its own external id for an unmanaged customer).
    pub customer: String,
    pub kind: Kind,
    pub key: String,
    pub reason: Reason,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
}

/// A customer the plan leaves alone, with why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SkippedCustomer {
    pub customer: String,
    pub why: String,
}

/// Counts for the summary line.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
    pub blocked: usize,
    pub pending_users: usize,
    pub unmanaged: usize,
}

impl Plan {
    /// The counts of the summary line (`Plan: 3 to create, 1 to update, 0 to delete; …`).
    /// Imports, authorizations and starts count as updates; a replace counts as both a create
    /// and a delete.
    pub fn summary(&self) -> Summary {
        let mut summary = Summary {
            blocked: self.blocked.len(),
            pending_users: self.pending_people().len(),
            unmanaged: self.unmanaged.len(),
            ..Summary::default()
        };
        for change in &self.changes {
            match change.action {
                Action::Create => summary.create += 1,
                Action::Delete | Action::Disconnect => summary.delete += 1,
                Action::Replace => {
                    summary.create += 1;
                    summary.delete += 1;
                }
                Action::Update | Action::Import | Action::Authorize | Action::Start => {
                    summary.update += 1
                }
            }
        }
        summary
    }

    /// The end users still to authorize, as (customer, end user): people, not connections, so
    /// one person with two connections to authorize counts once.
    pub fn pending_people(&self) -> std::collections::BTreeSet<(&str, &str)> {
        self.pending_users
            .iter()
            .map(|pending| (pending.customer.as_str(), pending.user.as_str()))
            .collect()
    }

    /// Whether apply would write anything.
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }

    /// The changes grouped by customer, in order.
    pub fn customers(&self) -> BTreeMap<&str, Vec<&Change>> {
        let mut grouped: BTreeMap<&str, Vec<&Change>> = BTreeMap::new();
        for change in self.changes.iter().chain(&self.blocked) {
            grouped
                .entry(change.customer.as_str())
                .or_default()
                .push(change);
        }
        grouped
    }
}
