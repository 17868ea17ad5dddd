//! A package's assets, each with a short digest of its content, and the record of them that apply
//! keeps in a customer's `embedctl_assets.<manifest>.<n>` properties, so that a plan can say
//! which recipes, connections and other assets a changed package adds, changes or removes since
//! the last import.
//!
//! An asset is known by a key that stays the same from one version of a package to the next:
//!
//! - a recipe by its name (`r:List files`), a connection by its name (`c:Dropbox`): the names
//!   they have in the workspace after an import, whatever file they are in;
//! - a custom connector by its path without the extension (`p:partner_app.custom_adapter`): its
//!   `.json`, `.rb` and logo files are one asset;
//! - anything else by its path (`p:Files Sync/countries.lookup_table.json`).
//!
//! The digest of an asset is the first 48 bits of a SHA-256 over its files' paths and contents, as
//! 8 base64url characters: enough to see a change, short enough to record hundreds of assets.
//!
//! # The record
//!
//! Workato keeps a property value of at most 1,024 characters
//! (<https://docs.workato.com/oem/oem-api/limits.html>), so the record is split over as many
//! properties as it needs, at most [`MAX_PARTS`]. Each part is
//!
//! ```text
//! a1.<first 16 hex digits of the package digest>.<part>.<parts>|<entry>|<entry>…
//! ```
//!
//! where an entry is the asset's digest followed by its key, with `%`, `|` and control
//! characters percent-encoded. Every part names the package it describes and how many parts there
//! are, so a record cut short, mixed with parts of an older one, or left behind by an import that
//! recorded nothing, is read as no record at all: never as "nothing changed".

use std::collections::BTreeMap;

use super::digest::sha256_of_files;
use super::read::is_ignored_for_assets;
use super::{CONNECTION_SUFFIX, PackageConnection, PackageFile, PackageRecipe, RECIPE_SUFFIX};
use crate::live::property;
use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};

/// The longest property value Workato keeps, in characters; parts are measured in bytes, which
/// are never fewer.
pub const MAX_VALUE_BYTES: usize = 1024;

/// The most properties one package's record may use (a workspace holds about 1,000 properties).
pub const MAX_PARTS: usize = 32;

/// The version tag that starts every part.
const VERSION: &str = "a1";

/// How many hex digits of the package digest each part carries.
const TAG_DIGITS: usize = 16;

/// The characters of an asset digest.
const DIGEST_CHARS: usize = 8;

/// The room a part's header may take: `a1.` + 16 digits + `.31.32` + `|`, with slack.
const HEADER_ROOM: usize = 32;

/// What is percent-encoded in a key: control characters, and the two characters the record uses.
const ESCAPED: &AsciiSet = &CONTROLS.add(b'%').add(b'|');

/// What kind of asset a key names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum AssetKind {
    Recipe,
    Connection,
    CustomConnector,
    /// Another asset file of a package (`*.lookup_table.json`, `*.api_endpoint.json`…).
    Other,
    /// A file that names no asset type.
    File,
}

/// One asset of a package: its key (see the module's documentation) and its content digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageAsset {
    pub key: String,
    pub digest: String,
}

/// What a key says about its asset: its kind, its type as the package names it (`recipe`,
/// `connection`, `custom_connector`, `lookup_table`…, `file`), and its name for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssetName {
    pub kind: AssetKind,
    pub type_name: String,
    pub name: String,
}

/// The assets of a package, sorted by key: each recipe and connection by its name, each custom
/// connector and other asset file by its path. Dotfiles and `__MACOSX` are not assets.
pub(super) fn inventory(
    files: &[PackageFile],
    recipes: &[PackageRecipe],
    connections: &[PackageConnection],
) -> Vec<PackageAsset> {
    let mut grouped: BTreeMap<String, Vec<&PackageFile>> = BTreeMap::new();
    for file in files {
        let path = file.0.as_str();
        if is_ignored_for_assets(path) {
            continue;
        }
        let key = if path.ends_with(RECIPE_SUFFIX) {
            recipes
                .iter()
                .find(|recipe| recipe.path == path)
                .map(|recipe| format!("r:{}", recipe.name))
        } else if path.ends_with(CONNECTION_SUFFIX) {
            connections
                .iter()
                .find(|connection| connection.path == path)
                .map(|connection| format!("c:{}", connection.name))
        } else {
            None
        };
        let key = key.unwrap_or_else(|| format!("p:{}", asset_path(path)));
        grouped.entry(key).or_default().push(file);
    }
    grouped
        .into_iter()
        .map(|(key, files)| {
            let hash = sha256_of_files(files);
            let digest = base64url(hash.get(..6).unwrap_or_default());
            PackageAsset { key, digest }
        })
        .collect()
}

/// The path that names the asset a file belongs to: a custom connector's files
/// (`x.custom_adapter.json`, `.rb`, `.png`) are one asset, `x.custom_adapter`.
fn asset_path(path: &str) -> &str {
    match path.rfind(".custom_adapter.") {
        Some(at) if !path[at + 1..].contains('/') => &path[..at + ".custom_adapter".len()],
        _ => path,
    }
}

/// The kind, type and name of the asset a key names; `None` for a key no package could give.
pub fn describe(key: &str) -> Option<AssetName> {
    let named = |kind, type_name: &str, name: &str| {
        (!name.is_empty()).then(|| AssetName {
            kind,
            type_name: type_name.to_owned(),
            name: name.to_owned(),
        })
    };
    if let Some(name) = key.strip_prefix("r:") {
        return named(AssetKind::Recipe, "recipe", name);
    }
    if let Some(name) = key.strip_prefix("c:") {
        return named(AssetKind::Connection, "connection", name);
    }
    let path = key.strip_prefix("p:")?;
    if let Some(name) = path.strip_suffix(".custom_adapter") {
        return named(AssetKind::CustomConnector, "custom_connector", name);
    }
    let file = path.rsplit('/').next().unwrap_or(path);
    let type_name = file
        .strip_suffix(".json")
        .and_then(|stem| stem.rsplit_once('.'))
        .map(|(_, type_name)| type_name)
        .filter(|type_name| {
            !type_name.is_empty()
                && type_name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        });
    match type_name {
        Some(type_name) => named(AssetKind::Other, type_name, path),
        None => named(AssetKind::File, "file", path),
    }
}

/// The record of `assets` for a package of digest `package_digest`, as the values of its parts
/// in order; `None` when it cannot be recorded within [`MAX_PARTS`] values of at most
/// [`MAX_VALUE_BYTES`] (an asset name too long for one value, or too many assets): a plan then
/// says that no record exists, which is true.
pub fn encode(package_digest: &str, assets: &[PackageAsset]) -> Option<Vec<String>> {
    let tag = package_digest.get(..TAG_DIGITS)?;
    let room = MAX_VALUE_BYTES - HEADER_ROOM;
    let mut bodies: Vec<String> = vec![String::new()];
    for asset in assets {
        let entry = format!(
            "|{}{}",
            asset.digest,
            utf8_percent_encode(&asset.key, ESCAPED)
        );
        if entry.len() > room {
            return None;
        }
        let fits = bodies
            .last()
            .is_some_and(|body| body.len() + entry.len() <= room);
        if !fits {
            bodies.push(String::new());
        }
        if let Some(body) = bodies.last_mut() {
            body.push_str(&entry);
        }
    }
    let parts = bodies.len();
    if parts > MAX_PARTS {
        return None;
    }
    Some(
        bodies
            .into_iter()
            .enumerate()
            .map(|(index, body)| format!("{VERSION}.{tag}.{index}.{parts}{body}"))
            .collect(),
    )
}

/// The record's properties for `manifest`: `(name, value)` of each part, or none when the assets
/// cannot be recorded.
pub fn record_properties(
    manifest: &str,
    package_digest: &str,
    assets: &[PackageAsset],
) -> Vec<(String, String)> {
    encode(package_digest, assets)
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(index, value)| (property::assets(manifest, index), value))
        .collect()
}

/// The recorded assets of `manifest` (key → digest), read with `lookup` (a property's value by
/// name), when a whole record of the package with digest `recorded_digest` is there. A missing,
/// partial, mixed, stale or malformed record is `None`: whatever is in the properties, this never
/// panics and never reads a damaged record as a complete one.
pub fn decode<'a>(
    manifest: &str,
    recorded_digest: &str,
    lookup: impl Fn(&str) -> Option<&'a str>,
) -> Option<BTreeMap<String, String>> {
    let tag = recorded_digest.get(..TAG_DIGITS)?;
    let first = lookup(&property::assets(manifest, 0))?;
    let (_, _, parts, _) = parse_part(first)?;
    if parts == 0 || parts > MAX_PARTS {
        return None;
    }
    let mut assets = BTreeMap::new();
    for index in 0..parts {
        let value = lookup(&property::assets(manifest, index))?;
        let (part_tag, part, part_count, entries) = parse_part(value)?;
        if part_tag != tag || part != index || part_count != parts {
            return None;
        }
        for entry in entries {
            let digest = entry.get(..DIGEST_CHARS)?;
            if !digest.bytes().all(is_base64url) {
                return None;
            }
            let key = percent_decode_str(entry.get(DIGEST_CHARS..)?)
                .decode_utf8()
                .ok()?
                .into_owned();
            describe(&key)?;
            if assets.insert(key, digest.to_owned()).is_some() {
                return None;
            }
        }
    }
    // A part past the last one, of this same record, says the first part's count is not what
    // was written.
    let past = lookup(&property::assets(manifest, parts)).and_then(parse_part);
    if past.is_some_and(|(part_tag, ..)| part_tag == tag) {
        return None;
    }
    Some(assets)
}

/// A part's tag, index, count and entries.
fn parse_part(value: &str) -> Option<(&str, usize, usize, std::str::Split<'_, char>)> {
    if value.len() > MAX_VALUE_BYTES {
        return None;
    }
    let mut pieces = value.split('|');
    let header = pieces.next()?;
    let mut fields = header.split('.');
    if fields.next()? != VERSION {
        return None;
    }
    let tag = fields.next()?;
    let index = small_number(fields.next()?)?;
    let count = small_number(fields.next()?)?;
    if fields.next().is_some() || index >= count {
        return None;
    }
    Some((tag, index, count, pieces))
}

/// A number of at most two digits, written without a sign or leading zeros.
fn small_number(text: &str) -> Option<usize> {
    let canonical = !text.is_empty()
        && text.len() <= 2
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
}

fn is_base64url(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'
}

/// Bytes as unpadded base64url.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for position in 0..=chunk.len() {
            let index = (n >> (18 - 6 * position)) & 63;
            out.push(char::from(ALPHABET[index as usize]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    const DIGEST: &str = "2696d454d397a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5";

    fn asset(key: &str, digest: &str) -> PackageAsset {
        PackageAsset {
            key: key.to_owned(),
            digest: digest.to_owned(),
        }
    }

    fn read(
        properties: &BTreeMap<String, String>,
        digest: &str,
    ) -> Option<BTreeMap<String, String>> {
        decode("files-sync", digest, |name| {
            properties.get(name).map(String::as_str)
        })
    }

    fn written(assets: &[PackageAsset]) -> BTreeMap<String, String> {
        record_properties("files-sync", DIGEST, assets)
            .into_iter()
            .collect()
    }

    /// 300 assets with long names: several parts.
    fn many() -> Vec<PackageAsset> {
        (0..300)
            .map(|n| {
                asset(
                    &format!("p:Files Sync/Lookups/lookup table number {n:03}.lookup_table.json"),
                    &base64url(&[n as u8, 1, 2, 3, 4, 5]),
                )
            })
            .collect()
    }

    #[test]
    fn base64url_is_the_standard_alphabet_without_padding() {
        assert_eq!(base64url(b"\xfb\xff\xbf"), "-_-_");
        assert_eq!(base64url(b"Man"), "TWFu");
        assert_eq!(base64url(&[0; 6]), "AAAAAAAA");
    }

    #[test]
    fn a_record_reads_back_with_every_key_and_digest() {
        let assets = vec![
            asset("c:Dropbox", "AAAAAAAA"),
            asset("r:List files | 100% done", "bbbbbbbb"),
            asset("p:a/x.custom_adapter", "-_-_-_-_"),
        ];
        let properties = written(&assets);
        assert_eq!(properties.len(), 1);
        let value = &properties["embedctl_assets.files-sync.0"];
        assert_eq!(
            value,
            "a1.2696d454d397a0b1.0.1|AAAAAAAAc:Dropbox|bbbbbbbbr:List files %7C 100%25 done|-_-_-_-_p:a/x.custom_adapter"
        );
        let read = read(&properties, DIGEST).expect("a whole record");
        let expected: BTreeMap<String, String> = assets
            .iter()
            .map(|a| (a.key.clone(), a.digest.clone()))
            .collect();
        assert_eq!(read, expected);
    }

    #[test]
    fn many_assets_are_split_over_parts_within_the_value_limit() {
        let assets = many();
        let properties = written(&assets);
        assert!(properties.len() > 1, "{} parts", properties.len());
        assert!(properties.len() <= MAX_PARTS);
        for (index, (name, value)) in record_properties("files-sync", DIGEST, &assets)
            .iter()
            .enumerate()
        {
            assert_eq!(name, &format!("embedctl_assets.files-sync.{index}"));
            assert!(name.chars().count() <= 100);
            assert!(value.chars().count() <= 1024, "{name}: {}", value.len());
            assert!(value.starts_with(&format!(
                "a1.2696d454d397a0b1.{index}.{}|",
                properties.len()
            )));
        }
        assert_eq!(read(&properties, DIGEST).map(|r| r.len()), Some(300));
    }

    #[test]
    fn a_partial_or_stale_record_is_no_record() {
        let properties = written(&many());
        let parts = properties.len();
        // A part missing.
        let mut cut = properties.clone();
        cut.remove(&format!("embedctl_assets.files-sync.{}", parts - 1));
        assert_eq!(read(&cut, DIGEST), None);
        // The record of another package (an older embedctl imported since, leaving it behind).
        let other = "ffff".repeat(16);
        assert_eq!(read(&properties, &other), None);
        // A part of another record mixed in.
        let mut mixed = properties.clone();
        let older = record_properties("files-sync", &other, &many());
        mixed.insert(older[1].0.clone(), older[1].1.clone());
        assert_eq!(read(&mixed, DIGEST), None);
        // A first part that says there are fewer parts than its second says.
        let mut shrunk = properties.clone();
        let first =
            shrunk["embedctl_assets.files-sync.0"].replacen(&format!(".0.{parts}|"), ".0.1|", 1);
        shrunk.insert("embedctl_assets.files-sync.0".to_owned(), first);
        assert_eq!(read(&shrunk, DIGEST), None);
        // No record at all.
        assert_eq!(read(&BTreeMap::new(), DIGEST), None);
    }

    #[test]
    fn hostile_values_are_no_record() {
        let long = format!("a1.2696d454d397a0b1.0.1|AAAAAAAAr:{}", "x".repeat(2000));
        let cases = [
            "",
            "garbage",
            "a1",
            "a1.2696d454d397a0b1.0.1.9|AAAAAAAAr:x",
            "a1.2696d454d397a0b1.0.0|AAAAAAAAr:x",
            "a1.2696d454d397a0b1.1.1|AAAAAAAAr:x",
            "a1.2696d454d397a0b1.0.01|AAAAAAAAr:x",
            "a1.2696d454d397a0b1.0.-1|AAAAAAAAr:x",
            "a1.2696d454d397a0b1.0.99|AAAAAAAAr:x",
            "a1.2696d454d397a0b1.0.1|AAAA",
            "a1.2696d454d397a0b1.0.1|AAAA====r:x",
            "a1.2696d454d397a0b1.0.1|AAAAAAAA",
            "a1.2696d454d397a0b1.0.1|AAAAAAAAz:x",
            "a1.2696d454d397a0b1.0.1|AAAAAAAAr:",
            "a1.2696d454d397a0b1.0.1|AAAAAAAAr:%FF%FE",
            "a1.2696d454d397a0b1.0.1|AAAAAAAAr:x|AAAAAAAAr:x",
            "a1.2696d454d397a0b1.0.1|éééééééér:x",
            "a1.2696d454d397a0b1.0.1|AAAAAAAé:x",
            "a2.2696d454d397a0b1.0.1|AAAAAAAAr:x",
            long.as_str(),
        ];
        for value in cases {
            let properties =
                BTreeMap::from([("embedctl_assets.files-sync.0".to_owned(), value.to_owned())]);
            assert_eq!(read(&properties, DIGEST), None, "{value:?}");
        }
        // A recorded digest too short to hold a tag.
        let properties = written(&[asset("r:x", "AAAAAAAA")]);
        assert_eq!(read(&properties, "2696"), None);
        assert_eq!(read(&properties, "é".repeat(20).as_str()), None);
        assert!(read(&properties, DIGEST).is_some());
    }

    #[test]
    fn what_cannot_be_recorded_is_not_recorded() {
        let too_long = asset(&format!("r:{}", "x".repeat(1100)), "AAAAAAAA");
        assert_eq!(encode(DIGEST, &[too_long]), None);
        let too_many: Vec<PackageAsset> = (0..3000)
            .map(|n| {
                asset(
                    &format!("p:assets/asset {n:04}.lookup_table.json"),
                    "AAAAAAAA",
                )
            })
            .collect();
        assert_eq!(encode(DIGEST, &too_many), None);
        assert_eq!(encode("short", &[asset("r:x", "AAAAAAAA")]), None);
        assert!(record_properties("files-sync", "short", &[]).is_empty());
    }

    #[test]
    fn keys_say_what_their_assets_are() {
        let of = |key: &str| describe(key).map(|n| (n.kind, n.type_name, n.name));
        assert_eq!(
            of("r:List files"),
            Some((
                AssetKind::Recipe,
                "recipe".to_owned(),
                "List files".to_owned()
            ))
        );
        assert_eq!(
            of("p:Files Sync/countries.lookup_table.json"),
            Some((
                AssetKind::Other,
                "lookup_table".to_owned(),
                "Files Sync/countries.lookup_table.json".to_owned()
            ))
        );
        assert_eq!(
            of("p:partner_app.custom_adapter"),
            Some((
                AssetKind::CustomConnector,
                "custom_connector".to_owned(),
                "partner_app".to_owned()
            ))
        );
        assert_eq!(of("p:README.md").map(|n| n.1), Some("file".to_owned()));
        assert_eq!(of("p:data.json").map(|n| n.1), Some("file".to_owned()));
        assert_eq!(of("x:what"), None);
        assert_eq!(of("r:"), None);
    }

    #[test]
    fn a_custom_connector_is_one_asset_of_its_files() {
        assert_eq!(asset_path("a/x.custom_adapter.json"), "a/x.custom_adapter");
        assert_eq!(asset_path("a/x.custom_adapter.rb"), "a/x.custom_adapter");
        assert_eq!(
            asset_path("a.custom_adapter.d/x.json"),
            "a.custom_adapter.d/x.json"
        );
        assert_eq!(asset_path("x.lookup_table.json"), "x.lookup_table.json");
    }
}
