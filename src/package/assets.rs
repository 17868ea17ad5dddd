//! What a package holds: its recipes and connections, read from their asset files, and which
//! connections each recipe needs authorized before it can start.

use std::path::Path;

use serde::{Deserialize, Deserializer};

use super::connector::{CUSTOM_ADAPTER_SUFFIX, Connector};
use super::problem::{PackageProblem, duplicate, malformed};
use super::read::is_ignored_for_assets;
use super::{
    CONNECTION_SUFFIX, ConnectionReference, PackageConnection, PackageFile, PackageRecipe,
    RECIPE_FUNCTION_PROVIDER, RECIPE_SUFFIX, RecipeConfigEntry,
};

/// The wire shape of a `*.connection.json` file; every other field is ignored.
#[derive(Deserialize)]
struct ConnectionFile {
    name: String,
    #[serde(rename = "provider", deserialize_with = "connector_of_connection")]
    connector: Connector,
    #[serde(default)]
    root_folder: bool,
}

/// A connection file's `provider`: a standard connector's name, or for a custom connector an
/// object whose `zip_name` is the connector's `<slug>.custom_adapter.json` file.
fn connector_of_connection<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Connector, D::Error> {
    use serde::de::Error;
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::String(provider) => Ok(Connector::Standard(provider)),
        serde_json::Value::Object(object) => {
            let zip_name = object
                .get("zip_name")
                .and_then(serde_json::Value::as_str)
                .ok_or_else(|| {
                    D::Error::custom(
                        "`provider` is an object without `zip_name`; a custom connector's \
                         connection names its `*.custom_adapter.json` file there",
                    )
                })?;
            Connector::of_custom_adapter(zip_name).ok_or_else(|| {
                D::Error::custom(format!(
                    "`provider.zip_name` is `{zip_name}`, not a `*.custom_adapter.json` file"
                ))
            })
        }
        _ => Err(D::Error::custom(
            "`provider` must be a connector name or a custom connector object",
        )),
    }
}

/// The wire shape of a `*.recipe.json` file; every other field is ignored.
#[derive(Deserialize)]
struct RecipeFile {
    name: String,
    code: RecipeCode,
    config: Vec<ConfigEntryFile>,
    #[serde(default)]
    root_folder: bool,
}

/// The trigger line of a recipe (`code`); its steps are not needed.
#[derive(Deserialize)]
struct RecipeCode {
    #[serde(default)]
    provider: Option<String>,
}

/// The wire shape of one `config[]` entry.
#[derive(Deserialize)]
struct ConfigEntryFile {
    provider: String,
    #[serde(default)]
    skip_validation: bool,
    #[serde(default)]
    account_id: Option<AccountIdFile>,
}

/// The wire shape of `config[].account_id`; its `folder` is not needed, `zip_name` says more.
#[derive(Deserialize)]
struct AccountIdFile {
    name: String,
    #[serde(default)]
    zip_name: Option<String>,
}

/// Any other asset file (a lookup table, a custom connector…): only its `root_folder` flag.
#[derive(Deserialize)]
struct RootFolderFlag {
    #[serde(default)]
    root_folder: bool,
}

/// The package's root-folder assets: the paths of the asset files whose JSON says
/// `"root_folder": true` (they sat in the exporting workspace's Home folder), sorted. Recipe and
/// connection files are read by [`parse_assets`]; every other `*.json` asset file counts too, and
/// one that cannot be read as a JSON object simply does not count.
pub(super) fn root_folder_assets(
    files: &[PackageFile],
    recipes: &[PackageRecipe],
    connections: &[PackageConnection],
) -> Vec<String> {
    let mut paths: Vec<String> = recipes
        .iter()
        .filter(|recipe| recipe.root_folder)
        .map(|recipe| recipe.path.clone())
        .chain(
            connections
                .iter()
                .filter(|connection| connection.root_folder)
                .map(|connection| connection.path.clone()),
        )
        .collect();
    for (path, content) in files {
        if is_ignored_for_assets(path)
            || !path.ends_with(".json")
            || path.ends_with(RECIPE_SUFFIX)
            || path.ends_with(CONNECTION_SUFFIX)
        {
            continue;
        }
        let text = std::str::from_utf8(content).unwrap_or_default();
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        if serde_json::from_str::<RootFolderFlag>(text).is_ok_and(|flag| flag.root_folder) {
            paths.push(path.clone());
        }
    }
    paths.sort();
    paths.dedup();
    paths
}

/// Parses the recipe and connection files and checks names and references across them.
pub(super) fn parse_assets(
    package_path: &Path,
    files: &[PackageFile],
) -> Result<(Vec<PackageRecipe>, Vec<PackageConnection>), Vec<PackageProblem>> {
    let mut problems = Vec::new();
    let mut recipes = Vec::new();
    let mut connections = Vec::new();
    // Every connection file's path, parsed or not: a recipe pointing at a connection whose file is
    // malformed already has a problem reported, and should not get a second, misleading one.
    let mut connection_paths: Vec<&str> = Vec::new();
    let mut asset_files = 0usize;

    for (path, content) in files {
        if is_ignored_for_assets(path) {
            continue;
        }
        let is_recipe = path.ends_with(RECIPE_SUFFIX);
        let is_connection = path.ends_with(CONNECTION_SUFFIX);
        if !is_recipe && !is_connection {
            continue;
        }
        asset_files += 1;
        if is_connection {
            connection_paths.push(path);
        }
        let Ok(text) = std::str::from_utf8(content) else {
            problems.push(PackageProblem::NotUtf8 { file: path.clone() });
            continue;
        };
        // Editors on Windows may add a byte-order mark, which serde_json does not accept.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        if is_recipe {
            match serde_json::from_str::<RecipeFile>(text) {
                Ok(file) => recipes.push(recipe_from_file(path, file)),
                Err(error) => problems.push(malformed(path, text, &error)),
            }
        } else {
            match serde_json::from_str::<ConnectionFile>(text) {
                Ok(file) => connections.push(PackageConnection {
                    path: path.clone(),
                    name: file.name,
                    connector: file.connector,
                    root_folder: file.root_folder,
                }),
                Err(error) => problems.push(malformed(path, text, &error)),
            }
        }
    }

    if asset_files == 0 {
        return Err(vec![PackageProblem::Empty {
            path: package_path.to_path_buf(),
        }]);
    }

    // Sorting by (name, path) puts duplicates next to each other, reported in path order.
    recipes.sort_by(|left, right| (&left.name, &left.path).cmp(&(&right.name, &right.path)));
    connections.sort_by(|left, right| (&left.name, &left.path).cmp(&(&right.name, &right.path)));
    for pair in recipes.windows(2) {
        if pair[0].name == pair[1].name {
            problems.push(duplicate(
                "recipe",
                &pair[0].name,
                &pair[0].path,
                &pair[1].path,
            ));
        }
    }
    for pair in connections.windows(2) {
        if pair[0].name == pair[1].name {
            problems.push(duplicate(
                "connection",
                &pair[0].name,
                &pair[0].path,
                &pair[1].path,
            ));
        }
    }

    for recipe in &recipes {
        let references = recipe
            .config
            .iter()
            .filter_map(|entry| entry.connection.as_ref());
        for reference in references {
            let names_a_file = reference
                .zip_name
                .as_deref()
                .is_some_and(|zip_name| connection_paths.contains(&zip_name));
            let names_a_connection = connections
                .iter()
                .any(|connection| connection.name == reference.name);
            if !names_a_file && !names_a_connection {
                problems.push(PackageProblem::UnknownConnection {
                    recipe: recipe.name.clone(),
                    connection: reference.name.clone(),
                });
            }
        }
    }

    // Every custom connector used must come with the package: the import creates it from there.
    let adapters: Vec<&str> = files
        .iter()
        .map(|(path, _)| path.as_str())
        .filter(|path| !is_ignored_for_assets(path))
        .filter_map(|path| match Connector::of_custom_adapter(path) {
            Some(Connector::Custom(_)) => path.rsplit('/').next(),
            _ => None,
        })
        .collect();
    let used = connections
        .iter()
        .map(|connection| (&connection.path, &connection.connector))
        .chain(recipes.iter().flat_map(|recipe| {
            recipe
                .config
                .iter()
                .map(move |entry| (&recipe.path, &entry.connector))
        }));
    let mut missing: Vec<(String, String)> = Vec::new();
    for (file, connector) in used {
        if let Connector::Custom(slug) = connector
            && !adapters.contains(&format!("{slug}{CUSTOM_ADAPTER_SUFFIX}").as_str())
            && !missing.iter().any(|(f, s)| f == file && s == slug)
        {
            missing.push((file.clone(), slug.clone()));
        }
    }
    problems.extend(
        missing
            .into_iter()
            .map(|(file, slug)| PackageProblem::UnknownCustomConnector { file, slug }),
    );

    if problems.is_empty() {
        Ok((recipes, connections))
    } else {
        Err(problems)
    }
}

/// Turns the wire shape of a recipe file into the model.
fn recipe_from_file(path: &str, file: RecipeFile) -> PackageRecipe {
    let is_recipe_function = file.code.provider.as_deref() == Some(RECIPE_FUNCTION_PROVIDER);
    let config = file
        .config
        .into_iter()
        .map(|entry| RecipeConfigEntry {
            connector: Connector::of_provider(&entry.provider),
            provider: entry.provider,
            skip_validation: entry.skip_validation,
            connection: entry.account_id.map(|account| ConnectionReference {
                name: account.name,
                zip_name: account.zip_name,
            }),
        })
        .collect();
    PackageRecipe {
        path: path.to_owned(),
        name: file.name,
        is_recipe_function,
        config,
        root_folder: file.root_folder,
    }
}
