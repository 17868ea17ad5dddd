//! The longest value each string of the desired-state file may hold, in characters.
//!
//! Every string in the file has a maximum, so that a runaway value (a file generated wrong, a
//! paste gone wild) is an error at its place instead of something sent to Workato or repeated in
//! every message. The limits reach the JSON Schema through `#[schemars(length(max = …))]` and
//! `propertyNames.maxLength`, and the shape pass (`shape`) enforces whatever the schema says: one
//! table, one check, and the schema shows the user the same numbers.

/// Names (customer, connection, end user, recipe, `folder`, `home_assets_folder`, `provider`) and external ids
/// (`external_id`, runtime user `id`, `vendor_id`): Workato's limit for names and external ids.
pub const NAME: usize = 255;

/// Manifest and connection keys: every `embedctl_` property name built from them (prefix, manifest
/// key, connection key, suffix) stays within Workato's 100-character limit for property names.
pub const KEY: usize = 40;

/// A customer's credentials reference `<manifest>.<connection>`: two keys and a dot.
pub const REFERENCE: usize = 2 * KEY + 1;

/// The field names under `settings:` and `credentials:` (connection input fields).
pub const FIELD: usize = 255;

/// `package:` and `{ file: … }`: the usual `PATH_MAX` of Linux.
pub const PATH: usize = 4096;

/// `workato.base_url`: the length browsers and servers commonly accept for a URL.
pub const URL: usize = 2048;

/// `notification_email`: the longest address SMTP can carry (RFC 5321: a 256-octet path less its
/// angle brackets).
pub const EMAIL: usize = 254;

/// `{ env: NAME }`: far beyond any real variable name, and the same limit as names.
pub const ENV_NAME: usize = 255;

/// A text value under `settings:`: hosts, URLs, account ids and scopes fit with room to spare.
/// Anything bigger (a certificate, a key) belongs in a file, under `credentials: { file: … }`.
pub const SETTING_VALUE: usize = 4096;

/// How many characters of a value a diagnostic quotes before it cuts the value short.
pub const QUOTED: usize = 60;
