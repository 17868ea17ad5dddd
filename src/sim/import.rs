//! Reading a package zip the way Workato's import does: connection shells and recipes, with the
//! folder each file sits in. The simulator's own reader: it shares nothing with the client's
//! package code, so a mistake in one shows up as a disagreement with the other.

use std::io::{Cursor, Read};

use serde_json::Value;

/// A connection file of the package.
#[derive(Clone, Debug)]
pub struct PackagedConnection {
    pub zip_path: String,
    pub folder_path: Vec<String>,
    pub name: String,
    pub provider: PackagedProvider,
    /// `"root_folder": true`: the connection sat in the exporting workspace's Home folder.
    pub root_folder: bool,
}

/// A connection file's `provider`: a connector's name, or for a custom connector an object whose
/// `zip_name` is the connector's `<slug>.custom_adapter.json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PackagedProvider {
    Named(String),
    Custom { slug: String },
}

/// A custom connector of the package (`<slug>.custom_adapter.json`).
#[derive(Clone, Debug)]
pub struct PackagedAdapter {
    pub slug: String,
    pub title: String,
}

/// What separates a custom connector's slug from its workspace-specific id in a provider string.
pub const CUSTOM_MARKER: &str = "__connector_";

/// The slug of a provider string `<slug>__connector_<id>_<ts>`, or `None` for a standard one.
pub fn custom_provider_slug(provider: &str) -> Option<&str> {
    let (slug, tail) = provider.split_once(CUSTOM_MARKER)?;
    (!slug.is_empty() && !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit() || b == b'_'))
        .then_some(slug)
}

/// A recipe's reference to a connection of the package.
#[derive(Clone, Debug)]
pub struct PackagedAccount {
    pub zip_name: Option<String>,
    pub name: Option<String>,
}

/// One `config[]` entry of a packaged recipe.
#[derive(Clone, Debug)]
pub struct PackagedConfig {
    pub keyword: String,
    pub name: String,
    pub provider: String,
    pub skip_validation: bool,
    pub account: Option<PackagedAccount>,
}

/// A recipe file of the package.
#[derive(Clone, Debug)]
pub struct PackagedRecipe {
    pub folder_path: Vec<String>,
    pub name: String,
    pub description: String,
    pub code: String,
    pub trigger_application: String,
    pub action_applications: Vec<String>,
    pub config: Vec<PackagedConfig>,
    /// `"root_folder": true`: the recipe sat in the exporting workspace's Home folder.
    pub root_folder: bool,
}

/// Everything the import uses from a package.
#[derive(Clone, Debug, Default)]
pub struct PackageContents {
    pub connections: Vec<PackagedConnection>,
    pub recipes: Vec<PackagedRecipe>,
    pub adapters: Vec<PackagedAdapter>,
    /// The paths of the files that say `"root_folder": true` (Home assets), in zip order.
    pub root_folder_paths: Vec<String>,
}

const ADAPTER_SUFFIX: &str = ".custom_adapter.json";

/// The largest total of uncompressed bytes the simulator inflates.
const MAX_INFLATED: u64 = 100 * 1024 * 1024;

/// Reads a package zip, or says why it is not one.
pub fn read_package(bytes: &[u8]) -> Result<PackageContents, String> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|error| format!("not a zip archive: {error}"))?;
    let mut contents = PackageContents::default();
    let mut inflated = 0u64;
    for index in 0..archive.len() {
        let mut file = archive
            .by_index(index)
            .map_err(|error| format!("unreadable zip entry: {error}"))?;
        if file.is_dir() {
            continue;
        }
        let path = file
            .name()
            .map_err(|error| format!("unreadable entry name: {error}"))?
            .into_owned();
        if path.contains("..") || path.starts_with('/') || path.contains('\\') {
            return Err(format!("unsafe path in package: {path}"));
        }
        let is_connection = path.ends_with(".connection.json");
        let is_recipe = path.ends_with(".recipe.json");
        let is_adapter = path.ends_with(ADAPTER_SUFFIX);
        if !is_connection && !is_recipe && !is_adapter {
            continue;
        }
        let mut text = String::new();
        let budget = MAX_INFLATED.saturating_sub(inflated);
        file.by_ref()
            .take(budget + 1)
            .read_to_string(&mut text)
            .map_err(|error| format!("{path}: {error}"))?;
        inflated += text.len() as u64;
        if inflated > MAX_INFLATED {
            return Err("package too large".to_owned());
        }
        let value: Value =
            serde_json::from_str(&text).map_err(|error| format!("{path}: {error}"))?;
        let mut folder_path: Vec<String> = path.split('/').map(str::to_owned).collect();
        folder_path.pop();
        let text_of = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
        let root_folder = value
            .get("root_folder")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if root_folder {
            contents.root_folder_paths.push(path.clone());
        }
        if is_adapter {
            let slug = adapter_slug(&path).ok_or_else(|| format!("{path}: no slug"))?;
            contents.adapters.push(PackagedAdapter {
                slug: slug.to_owned(),
                title: text_of("title").unwrap_or_else(|| slug.to_owned()),
            });
        } else if is_connection {
            let provider = match value.get("provider") {
                Some(Value::String(name)) => PackagedProvider::Named(name.clone()),
                Some(Value::Object(object)) => {
                    let zip_name = object
                        .get("zip_name")
                        .and_then(Value::as_str)
                        .ok_or_else(|| format!("{path}: provider has no zip_name"))?;
                    let slug = adapter_slug(zip_name)
                        .ok_or_else(|| format!("{path}: provider names no custom adapter"))?;
                    PackagedProvider::Custom {
                        slug: slug.to_owned(),
                    }
                }
                _ => return Err(format!("{path}: no provider")),
            };
            contents.connections.push(PackagedConnection {
                zip_path: path.clone(),
                folder_path,
                name: text_of("name").ok_or_else(|| format!("{path}: no name"))?,
                provider,
                root_folder,
            });
        } else {
            contents
                .recipes
                .push(read_recipe(&path, folder_path, &value)?);
        }
    }
    Ok(contents)
}

/// The slug of a `…/<slug>.custom_adapter.json` path.
fn adapter_slug(path: &str) -> Option<&str> {
    path.rsplit('/')
        .next()?
        .strip_suffix(ADAPTER_SUFFIX)
        .filter(|slug| !slug.is_empty())
}

fn read_recipe(
    path: &str,
    folder_path: Vec<String>,
    value: &Value,
) -> Result<PackagedRecipe, String> {
    let name = value
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{path}: no name"))?
        .to_owned();
    let code = value.get("code").cloned().unwrap_or(Value::Null);
    let trigger_application = code
        .get("provider")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut action_applications = Vec::new();
    collect_providers(code.get("block"), &mut action_applications);
    let mut config = Vec::new();
    for entry in value
        .get("config")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let provider = entry
            .get("provider")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{path}: a config entry has no provider"))?
            .to_owned();
        let account = entry
            .get("account_id")
            .and_then(Value::as_object)
            .map(|account| PackagedAccount {
                zip_name: account
                    .get("zip_name")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                name: account
                    .get("name")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            });
        config.push(PackagedConfig {
            keyword: entry
                .get("keyword")
                .and_then(Value::as_str)
                .unwrap_or("application")
                .to_owned(),
            name: entry
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or(&provider)
                .to_owned(),
            skip_validation: entry
                .get("skip_validation")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            provider,
            account,
        });
    }
    Ok(PackagedRecipe {
        root_folder: value
            .get("root_folder")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        folder_path,
        name,
        description: value
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        code: code.to_string(),
        trigger_application,
        action_applications,
        config,
    })
}

fn collect_providers(block: Option<&Value>, out: &mut Vec<String>) {
    for step in block.and_then(Value::as_array).into_iter().flatten() {
        if let Some(provider) = step.get("provider").and_then(Value::as_str)
            && !out.iter().any(|known| known == provider)
        {
            out.push(provider.to_owned());
        }
        collect_providers(step.get("block"), out);
    }
}
