//! Package imports (RLCM): `POST …/imports?folder_id=&restart_recipes=` and its status.
//!
//! The zip is really unpacked: connection files become connection shells, recipe files become
//! stopped recipes whose `config[].account_id` points at the imported connections. Re-importing
//! updates by name within the folder. Root-folder assets (`"root_folder": true`) go into
//! `folder_id_for_home_assets`, which such a package needs and which cannot be the Home folder.
//! A running recipe that the package would change blocks the
//! import unless `restart_recipes=true`, in which case it is stopped, updated and started again.

use std::collections::{BTreeMap, HashMap};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::customers::with_customer;
use super::recipes::config_errors;
use crate::sim::Simulator;
use crate::sim::http::{error, not_found, ok, validation_failed};
use crate::sim::import::{
    PackageContents, PackagedProvider, PackagedRecipe, custom_provider_slug, read_package,
};
use crate::sim::model::{
    AccountState, ConfigEntry, Connection, CustomConnector, Folder, Import, Recipe,
    RecipeImportStatus, unix_seconds,
};

/// `POST …/imports`: body is the raw zip; answers `{id, operation_type, status: in_progress}`.
pub async fn create(
    State(sim): State<Simulator>,
    Path(segment): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let Some(folder_id) = query.get("folder_id") else {
        return validation_failed(&[("folder_id", "is required")]);
    };
    let Ok(folder_id) = folder_id.parse::<u64>() else {
        return error(
            StatusCode::BAD_REQUEST,
            "Bad request: `folder_id` must be a number",
        );
    };
    let restart = query.get("restart_recipes").map(String::as_str) == Some("true");
    let home_assets_folder = match query.get("folder_id_for_home_assets") {
        None => None,
        Some(text) => match text.parse::<u64>() {
            Ok(id) => Some(id),
            Err(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "Bad request: `folder_id_for_home_assets` must be a number",
                );
            }
        },
    };
    let contents = match read_package(&body) {
        Ok(contents) => contents,
        Err(reason) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("Bad request: invalid package: {reason}"),
            );
        }
    };
    let polls = sim.options().import_polls;
    with_customer(&sim, &segment, |account, id| {
        let exists = account
            .customers
            .get(&id)
            .is_some_and(|customer| customer.folders.contains_key(&folder_id));
        if !exists {
            return not_found();
        }
        let home_assets_exists = home_assets_folder.is_none_or(|home_assets| {
            account
                .customers
                .get(&id)
                .is_some_and(|customer| customer.folders.contains_key(&home_assets))
        });
        if !home_assets_exists {
            return not_found();
        }
        let import_id = account.allocate_id();
        // The package as this workspace reads it: its custom connectors by this workspace's ids.
        let outcome = check_home_assets(account, id, &contents, home_assets_folder)
            .and_then(|()| with_workspace_connectors(account, id, &contents))
            .and_then(|contents| {
                import_package(
                    account,
                    id,
                    Targets {
                        folder: folder_id,
                        home_assets: home_assets_folder,
                    },
                    &contents,
                    restart,
                )
            });
        let (final_status, failure, recipe_status) = match outcome {
            Ok(recipe_status) => ("completed", None, recipe_status),
            Err(reason) => ("failed", Some(reason), Vec::new()),
        };
        let Some(customer) = account.customers.get_mut(&id) else {
            return not_found();
        };
        customer.imports.insert(
            import_id,
            Import {
                id: import_id,
                folder_id,
                status: if polls == 0 {
                    final_status
                } else {
                    "in_progress"
                }
                .to_owned(),
                polls_left: polls,
                final_status: final_status.to_owned(),
                error: failure,
                recipe_status,
            },
        );
        ok(json!({ "id": import_id, "operation_type": "import", "status": "in_progress" }))
    })
}

/// `GET …/imports/:id`: `in_progress` for the configured number of reads, then the outcome.
pub async fn show(
    State(sim): State<Simulator>,
    Path((segment, import_id)): Path<(String, u64)>,
) -> Response {
    with_customer(&sim, &segment, |account, id| {
        let Some(import) = account
            .customers
            .get_mut(&id)
            .and_then(|c| c.imports.get_mut(&import_id))
        else {
            return not_found();
        };
        if import.polls_left > 0 {
            import.polls_left -= 1;
            return ok(
                json!({ "id": import.id, "operation_type": "import", "status": "in_progress" }),
            );
        }
        import.status = import.final_status.clone();
        let mut body =
            json!({ "id": import.id, "operation_type": "import", "status": import.status });
        if let Some(object) = body.as_object_mut() {
            if let Some(failure) = &import.error {
                object.insert("error".to_owned(), json!(failure));
            } else {
                let statuses: Vec<_> = import
                    .recipe_status
                    .iter()
                    .map(|status| json!({ "id": status.id, "import_result": status.import_result }))
                    .collect();
                object.insert("recipe_status".to_owned(), json!(statuses));
            }
        }
        ok(body)
    })
}

/// Where an import puts the package: `folder_id`, and `folder_id_for_home_assets` for its
/// root-folder assets.
#[derive(Clone, Copy)]
struct Targets {
    folder: u64,
    home_assets: Option<u64>,
}

impl Targets {
    /// The folder an asset's folder path starts from.
    fn base(self, root_folder: bool) -> u64 {
        match self.home_assets {
            Some(home_assets) if root_folder => home_assets,
            _ => self.folder,
        }
    }
}

/// Refuses, changing nothing, a package with root-folder assets imported without
/// `folder_id_for_home_assets`, or with the workspace's Home folder as that folder.
fn check_home_assets(
    account: &AccountState,
    customer_id: u64,
    contents: &PackageContents,
    home_assets_folder: Option<u64>,
) -> Result<(), String> {
    let home = account
        .customers
        .get(&customer_id)
        .map(|customer| customer.home_folder_id);
    match home_assets_folder {
        Some(folder) if Some(folder) == home => Err(
            "folder_id_for_home_assets cannot be the root (Home) folder; give a project".to_owned(),
        ),
        None if !contents.root_folder_paths.is_empty() => Err(format!(
            "The package contains root folder assets ({}); folder_id_for_home_assets is required",
            contents.root_folder_paths.join(", ")
        )),
        _ => Ok(()),
    }
}

/// Applies the package to the workspace, or changes nothing and says why it failed.
fn import_package(
    account: &mut AccountState,
    customer_id: u64,
    targets: Targets,
    contents: &PackageContents,
    restart: bool,
) -> Result<Vec<RecipeImportStatus>, String> {
    let target_folder = targets.folder;
    // First, without changing anything: Workato refuses an import while any recipe in the
    // target folder's tree is running, unless `restart_recipes` is true.
    if !restart && let Some(customer) = account.customers.get(&customer_id) {
        let mut running: Vec<&str> = customer
            .recipes
            .values()
            .filter(|recipe| {
                recipe.running && in_tree(&customer.folders, recipe.folder_id, target_folder)
            })
            .map(|recipe| recipe.name.as_str())
            .collect();
        running.sort_unstable();
        if !running.is_empty() {
            return Err(format!(
                "Recipes are running in the target folder: {}. Stop them or import with restart_recipes=true",
                running.join(", ")
            ));
        }
    }

    let now = account.now();
    // The package's custom connectors that this workspace does not have yet are created, with
    // ids of this workspace, and the package is read with those ids.
    let mut live = workspace_connectors(account, customer_id);
    for adapter in &contents.adapters {
        if live.contains_key(&adapter.slug) {
            continue;
        }
        let id = account.allocate_id();
        let provider = format!(
            "{}__connector_{id}_{}",
            adapter.slug,
            unix_seconds(account.clock)
        );
        if let Some(customer) = account.customers.get_mut(&customer_id) {
            customer.custom_connectors.insert(
                adapter.slug.clone(),
                CustomConnector {
                    id,
                    title: adapter.title.clone(),
                    provider: provider.clone(),
                    created_at: now.clone(),
                },
            );
        }
        live.insert(adapter.slug.clone(), provider);
    }
    let contents = &with_live_providers(contents, &live);
    // Folders, created as needed, for every path in the package, from the target folder or,
    // for a root-folder asset, from the folder for Home assets.
    let mut paths: Vec<(u64, &Vec<String>)> = contents
        .connections
        .iter()
        .map(|c| (targets.base(c.root_folder), &c.folder_path))
        .chain(
            contents
                .recipes
                .iter()
                .map(|r| (targets.base(r.root_folder), &r.folder_path)),
        )
        .collect();
    paths.sort();
    paths.dedup();
    let mut folder_of: BTreeMap<(u64, Vec<String>), u64> = BTreeMap::new();
    for (base, path) in paths {
        let folder = ensure_folder(account, customer_id, base, path, &now);
        folder_of.insert((base, path.clone()), folder);
    }

    // Connection shells, matched by name within their folder.
    let mut connection_by_zip: HashMap<&str, u64> = HashMap::new();
    let mut connection_by_name: HashMap<&str, u64> = HashMap::new();
    for packaged in &contents.connections {
        let base = targets.base(packaged.root_folder);
        let folder = folder_of
            .get(&(base, packaged.folder_path.clone()))
            .copied()
            .unwrap_or(base);
        let existing = account.customers.get(&customer_id).and_then(|customer| {
            customer
                .connections
                .values()
                .find(|c| c.folder_id == folder && c.name == packaged.name && !c.is_runtime())
                .map(|c| c.id)
        });
        let id = match existing {
            Some(id) => id,
            None => {
                let id = account.allocate_id();
                if let Some(customer) = account.customers.get_mut(&customer_id) {
                    customer.connections.insert(
                        id,
                        Connection {
                            id,
                            name: packaged.name.clone(),
                            provider: match &packaged.provider {
                                PackagedProvider::Named(provider) => provider.clone(),
                                // Unreachable after `with_live_providers`: every slug is known.
                                PackagedProvider::Custom { slug } => slug.clone(),
                            },
                            folder_id: folder,
                            parent_id: None,
                            external_id: None,
                            authorization_status: None,
                            authorization_error: None,
                            authorized_at: None,
                            created_at: now.clone(),
                            updated_at: now.clone(),
                            input_digest: None,
                        },
                    );
                }
                id
            }
        };
        connection_by_zip.insert(packaged.zip_path.as_str(), id);
        connection_by_name.insert(packaged.name.as_str(), id);
    }

    // Recipes: created stopped, or updated in place by name.
    let mut statuses = Vec::new();
    for packaged in &contents.recipes {
        let base = targets.base(packaged.root_folder);
        let folder = folder_of
            .get(&(base, packaged.folder_path.clone()))
            .copied()
            .unwrap_or(base);
        let config: Vec<ConfigEntry> = packaged
            .config
            .iter()
            .map(|entry| ConfigEntry {
                keyword: entry.keyword.clone(),
                name: entry.name.clone(),
                provider: entry.provider.clone(),
                skip_validation: entry.skip_validation,
                account_id: entry.account.as_ref().and_then(|account| {
                    account
                        .zip_name
                        .as_deref()
                        .and_then(|zip| connection_by_zip.get(zip))
                        .or_else(|| {
                            account
                                .name
                                .as_deref()
                                .and_then(|name| connection_by_name.get(name))
                        })
                        .copied()
                }),
            })
            .collect();
        let new_id = account.allocate_id();
        let Some(customer) = account.customers.get_mut(&customer_id) else {
            continue;
        };
        let existing = customer
            .recipes
            .values()
            .find(|recipe| recipe.folder_id == folder && recipe.name == packaged.name)
            .map(|recipe| (recipe.id, recipe.running, recipe_changes(recipe, packaged)));
        let (id, was_running, changed) = existing.unwrap_or((new_id, false, true));
        let recipe = customer.recipes.entry(id).or_insert_with(|| Recipe {
            id,
            name: packaged.name.clone(),
            folder_id: folder,
            running: false,
            stop_cause: None,
            stopped_at: None,
            config: Vec::new(),
            code: String::new(),
            description: String::new(),
            trigger_application: String::new(),
            action_applications: Vec::new(),
            version_no: 0,
            created_at: now.clone(),
            updated_at: now.clone(),
        });
        if changed {
            recipe.config = config;
            recipe.code = packaged.code.clone();
            recipe.description = packaged.description.clone();
            recipe.trigger_application = packaged.trigger_application.clone();
            recipe.action_applications = packaged.action_applications.clone();
            recipe.version_no += 1;
            recipe.updated_at = now.clone();
        }
        let result = if was_running && changed {
            // restart_recipes=true: stop, update (done above), start again if it still can.
            let can_start = customer
                .recipes
                .get(&id)
                .is_some_and(|recipe| config_errors(customer, recipe).is_empty());
            if let Some(recipe) = customer.recipes.get_mut(&id) {
                recipe.running = can_start;
                if !can_start {
                    recipe.stopped_at = Some(now.clone());
                }
            }
            if can_start {
                "restarted"
            } else {
                "restart_failed"
            }
        } else {
            "no_update_or_updated_without_restart"
        };
        statuses.push(RecipeImportStatus {
            id,
            import_result: result.to_owned(),
        });
    }
    Ok(statuses)
}

/// The custom connectors of a workspace: slug → provider there.
fn workspace_connectors(account: &AccountState, customer_id: u64) -> BTreeMap<String, String> {
    account
        .customers
        .get(&customer_id)
        .map(|customer| {
            customer
                .custom_connectors
                .iter()
                .map(|(slug, connector)| (slug.clone(), connector.provider.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// The package with the custom connectors the workspace already has named by its ids (so that
/// an unchanged re-import changes no recipe), or why the import fails: a custom connector that
/// neither the package nor the workspace has. Changes nothing.
fn with_workspace_connectors(
    account: &AccountState,
    customer_id: u64,
    contents: &PackageContents,
) -> Result<PackageContents, String> {
    let live = workspace_connectors(account, customer_id);
    check_custom_connectors(contents, &live)?;
    Ok(with_live_providers(contents, &live))
}

/// Refuses a package whose connections or recipes use a custom connector that neither the
/// package nor the workspace has.
fn check_custom_connectors(
    contents: &PackageContents,
    live: &BTreeMap<String, String>,
) -> Result<(), String> {
    let known = |slug: &str| {
        live.contains_key(slug) || contents.adapters.iter().any(|adapter| adapter.slug == slug)
    };
    let from_connections =
        contents
            .connections
            .iter()
            .filter_map(|connection| match &connection.provider {
                PackagedProvider::Custom { slug } => Some(slug.as_str()),
                PackagedProvider::Named(_) => None,
            });
    let from_recipes = contents
        .recipes
        .iter()
        .flat_map(|recipe| &recipe.config)
        .filter_map(|entry| custom_provider_slug(&entry.provider));
    match from_connections
        .chain(from_recipes)
        .find(|slug| !known(slug))
    {
        Some(slug) => Err(format!(
            "custom connector {slug} is neither in the package nor in the workspace"
        )),
        None => Ok(()),
    }
}

/// The package as this workspace sees it: every custom connector id of the exporting workspace
/// (in connections, recipe config and code) replaced by this workspace's id of the same slug;
/// slugs `live` does not have yet are left as they are.
fn with_live_providers(
    contents: &PackageContents,
    live: &BTreeMap<String, String>,
) -> PackageContents {
    let live_of = |provider: &str| {
        custom_provider_slug(provider)
            .and_then(|slug| live.get(slug))
            .cloned()
    };
    let mut rewritten = contents.clone();
    for connection in &mut rewritten.connections {
        if let PackagedProvider::Custom { slug } = &connection.provider
            && let Some(provider) = live.get(slug)
        {
            connection.provider = PackagedProvider::Named(provider.clone());
        }
    }
    for recipe in &mut rewritten.recipes {
        let mut replacements: Vec<(String, String)> = Vec::new();
        for entry in &mut recipe.config {
            if let Some(provider) = live_of(&entry.provider) {
                replacements.push((entry.provider.clone(), provider.clone()));
                if entry.name == entry.provider {
                    entry.name = provider.clone();
                }
                entry.provider = provider;
            }
        }
        for application in std::iter::once(&mut recipe.trigger_application)
            .chain(recipe.action_applications.iter_mut())
        {
            if let Some(provider) = live_of(application) {
                replacements.push((application.clone(), provider.clone()));
                *application = provider;
            }
        }
        for (from, to) in replacements {
            recipe.code = recipe.code.replace(&from, &to);
        }
    }
    rewritten
}

/// Whether importing `packaged` over `existing` changes it.
fn recipe_changes(existing: &Recipe, packaged: &PackagedRecipe) -> bool {
    let same_connectors = existing.config.len() == packaged.config.len()
        && existing
            .config
            .iter()
            .zip(&packaged.config)
            .all(|(a, b)| a.provider == b.provider && a.skip_validation == b.skip_validation);
    existing.code != packaged.code
        || !same_connectors
        || existing.description != packaged.description
}

fn ensure_folder(
    account: &mut AccountState,
    customer_id: u64,
    root: u64,
    path: &[String],
    now: &str,
) -> u64 {
    let mut current = root;
    for name in path {
        let found = account.customers.get(&customer_id).and_then(|customer| {
            customer
                .folders
                .values()
                .find(|folder| folder.parent_id == current && &folder.name == name)
                .map(|folder| folder.id)
        });
        current = match found {
            Some(id) => id,
            None => {
                let id = account.allocate_id();
                if let Some(customer) = account.customers.get_mut(&customer_id) {
                    let project_id = customer
                        .folders
                        .get(&current)
                        .map_or(current, |parent| parent.project_id);
                    customer.folders.insert(
                        id,
                        Folder {
                            id,
                            name: name.clone(),
                            parent_id: current,
                            is_project: false,
                            project_id,
                            created_at: now.to_owned(),
                            updated_at: now.to_owned(),
                        },
                    );
                }
                id
            }
        };
    }
    current
}

/// Whether `folder` is `root` or inside it.
fn in_tree(folders: &std::collections::BTreeMap<u64, Folder>, folder: u64, root: u64) -> bool {
    let mut current = folder;
    // Bounded: a state with a cycle must not hang the simulator.
    for _ in 0..64 {
        if current == root {
            return true;
        }
        match folders.get(&current) {
            Some(found) if found.parent_id != current => current = found.parent_id,
            _ => return false,
        }
    }
    false
}
