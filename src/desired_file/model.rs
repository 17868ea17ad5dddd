//! The desired-state file (`embedctl.yaml`) exactly as written: docs/file-format.md.
//!
//! These types mirror the YAML one to one, with a location on every value a diagnostic may point
//! at. They reject unknown keys; duplicate keys are rejected by the YAML reader. Meaning (does the
//! manifest exist, is the email valid) is checked afterwards by `validate`, so that every problem
//! is reported in one run. The JSON Schema of the file is generated from these types.

use schemars::JsonSchema;
use serde::Deserialize;

use super::{KeyedMap, SecretSource, Spanned, limits};

/// The whole file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "embedctl desired state",
    description = "The customers, recipe packages, connection credentials and runtime users of one Workato Embedded account."
)]
pub struct DesiredFile {
    /// Format version of this file; only `1` exists.
    #[schemars(with = "u32", range(min = 1, max = 1))]
    pub version: Spanned<u64>,
    /// Which Workato data center to talk to.
    #[serde(default)]
    #[schemars(with = "Option<WorkatoSettings>")]
    pub workato: Option<Spanned<WorkatoSettings>>,
    /// Recipe packages and their connections, by manifest key (`[a-z0-9_-]+`, 1-40 characters).
    #[serde(default)]
    #[schemars(extend("propertyNames" = { "pattern": "^[a-z0-9_-]+$", "maxLength": limits::KEY }))]
    pub manifests: KeyedMap<Manifest>,
    /// The customers (managed users) and what each of them gets.
    #[serde(default)]
    #[schemars(with = "Vec<Customer>")]
    pub customers: Vec<Spanned<Customer>>,
}

/// The `workato:` section.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkatoSettings {
    /// The data center of the account (default `us`). `WORKATO_BASE_URL` overrides it.
    #[serde(default)]
    #[schemars(with = "Option<Region>")]
    pub region: Option<Spanned<Region>>,
    /// The API base URL, instead of `region` (e.g. `https://www.workato.com/api`).
    #[serde(default)]
    #[schemars(with = "Option<String>", length(max = limits::URL))]
    pub base_url: Option<Spanned<String>>,
    /// The Embedded vendor id; needed only for connection-widget links.
    #[serde(default)]
    #[schemars(with = "Option<String>", length(max = limits::NAME))]
    pub vendor_id: Option<Spanned<String>>,
}

/// A Workato data center; its base URL is in the client's table (`workato::REGIONS`,
/// docs/workato-api.md).
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    /// United States (the default)
    Us,
    /// Europe
    Eu,
    /// Japan
    Jp,
    /// Singapore
    Sg,
    /// Australia
    Au,
    /// Israel
    Il,
    /// China
    Cn,
}

impl Region {
    /// The region's name in the file; the client's table (`workato::REGIONS`) maps it to the
    /// base URL, and a test checks that every region is there.
    pub fn name(self) -> &'static str {
        match self {
            Region::Us => "us",
            Region::Eu => "eu",
            Region::Jp => "jp",
            Region::Sg => "sg",
            Region::Au => "au",
            Region::Il => "il",
            Region::Cn => "cn",
        }
    }
}

/// One manifest: a recipe package, the folder it goes into, and its connections.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// A package folder (RLCM layout) or a `.zip`, relative to this file.
    #[schemars(with = "String", length(max = limits::PATH))]
    pub package: Spanned<String>,
    /// The project (top-level folder) in the customer workspace that receives the package.
    #[schemars(with = "String", length(min = 1, max = limits::NAME))]
    pub folder: Spanned<String>,
    /// The project (top-level folder) that receives the package's root-folder (Home) assets;
    /// needed when the package has any (`"root_folder": true`), and created like `folder`.
    #[serde(default)]
    #[schemars(with = "Option<String>", length(min = 1, max = limits::NAME))]
    pub home_assets_folder: Option<Spanned<String>>,
    /// `true` lets a re-import stop and restart running recipes.
    #[serde(default)]
    pub restart_recipes: bool,
    /// The recipes that must be running (default: every recipe in the package).
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>", inner(length(max = limits::NAME)))]
    pub recipes: Option<Spanned<Vec<Spanned<String>>>>,
    /// The package's connections that embedctl manages, by connection key (`[a-z0-9_-]+`, 1-40 characters).
    #[serde(default)]
    #[schemars(extend("propertyNames" = { "pattern": "^[a-z0-9_-]+$", "maxLength": limits::KEY }))]
    pub connections: KeyedMap<Connection>,
}

/// One connection of a manifest's package.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Connection {
    /// The connection's name in the package.
    #[schemars(with = "String", length(max = limits::NAME))]
    pub name: Spanned<String>,
    /// The connector (e.g. `salesforce`); must match the package.
    #[schemars(with = "String", length(max = limits::NAME))]
    pub provider: Spanned<String>,
    /// Non-secret connection fields, sent as part of `input`.
    #[serde(default)]
    #[schemars(
        with = "std::collections::BTreeMap<String, SettingValue>",
        extend("propertyNames" = { "maxLength": limits::FIELD })
    )]
    pub settings: KeyedMap<Spanned<SettingValue>>,
    /// Secret connection fields, sent as part of `input` (`oauth_token_pair` is sent as such).
    #[serde(default)]
    #[schemars(with = "KeyedMap<SecretSource>")]
    pub credentials: KeyedMap<Spanned<SecretSource>>,
    /// `true`: end users connect their own accounts (runtime user connections).
    #[serde(default)]
    pub runtime_users: bool,
    /// The parent of each end user's plain connection: `none` (`parent_id` null) or `default`.
    #[serde(default)]
    #[schemars(with = "Option<Parent>")]
    pub parent: Option<Spanned<Parent>>,
    /// Recipe functions with runtime user connections on: one dedicated connection per end user each.
    #[serde(default)]
    #[schemars(with = "Vec<String>", inner(length(max = limits::NAME)))]
    pub recipe_functions: Vec<Spanned<String>>,
}

/// A non-secret connection field: a string, number or boolean.
#[derive(Clone, Debug, Deserialize, JsonSchema, PartialEq)]
#[serde(untagged)]
pub enum SettingValue {
    /// Text (at most 4,096 characters).
    Text(#[schemars(length(max = limits::SETTING_VALUE))] String),
    /// A whole number.
    Integer(i64),
    /// A number with a fraction.
    Number(f64),
    /// `true` or `false`.
    Boolean(bool),
}

/// Which connection an end user's plain runtime user connection hangs from.
#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Parent {
    /// `parent_id: null` (the default).
    #[default]
    None,
    /// The manifest's default connection of the same provider.
    Default,
}

/// One customer (a managed user: a customer workspace).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    /// The partner's id for this customer (1-255 characters); how embedctl finds it in Workato.
    #[schemars(with = "String", length(min = 1, max = limits::NAME))]
    pub external_id: Spanned<String>,
    /// The customer's name in Workato (1-255 characters).
    #[schemars(with = "String", length(min = 1, max = limits::NAME))]
    pub name: Spanned<String>,
    /// Where Workato sends error and admin notifications.
    #[schemars(with = "String", length(max = limits::EMAIL))]
    pub notification_email: Spanned<String>,
    /// The manifest keys this customer gets.
    #[serde(default)]
    #[schemars(with = "Vec<String>", inner(length(max = limits::KEY)))]
    pub manifests: Vec<Spanned<String>>,
    /// Per-customer credentials, by `<manifest>.<connection>`, replacing the manifest's.
    #[serde(default)]
    #[schemars(
        with = "KeyedMap<KeyedMap<SecretSource>>",
        extend("propertyNames" = { "maxLength": limits::REFERENCE })
    )]
    pub credentials: KeyedMap<KeyedMap<Spanned<SecretSource>>>,
    /// `true`: apply disconnects and deletes the runtime user connections of end users no longer
    /// listed.
    #[serde(default)]
    pub prune_runtime_users: bool,
    /// The end users who connect their own accounts.
    #[serde(default)]
    #[schemars(with = "Vec<RuntimeUser>")]
    pub runtime_users: Vec<Spanned<RuntimeUser>>,
}

/// One end user of a customer.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuntimeUser {
    /// The end user's id in the partner's product (the connections' `external_id`).
    #[schemars(with = "String", length(min = 1, max = limits::NAME))]
    pub id: Spanned<String>,
    /// A display name, used in connection names (default: the id).
    #[serde(default)]
    #[schemars(with = "Option<String>", length(max = limits::NAME))]
    pub name: Option<Spanned<String>>,
}
