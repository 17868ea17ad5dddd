//! The steps: what each kind of change does in Workato, given what the plan says about it.
//! Objects the plan could not know the id of (made by an earlier change of the same apply) are
//! found by the rules `diff` used (`matching`); nothing here decides what to change.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::{Map, Value};

use super::schedule::ApplyOptions;
use crate::desired::{DesiredConnection, DesiredManifest};
use crate::live::property;
use crate::live::{LiveConnection, LiveRecipe};
use crate::matching::Workspace;
use crate::observe::{live_connection, live_recipe};
use crate::package::inventory;
use crate::plan::HomeAssetsRef;
use crate::plan::{Action, Change, ParentRef, ProviderRef, Subject};
use crate::workato::wire::{CustomerUpdate, ImportState, NewConnection, NewCustomer};
use crate::workato::{Client, ClientError, ConnectionFilter};

/// The pause between two reads of an import's status grows by half each time, up to this many
/// times the first pause (2 s → 30 s against Workato).
const MAX_POLL_FACTOR: u32 = 15;

/// What one customer's run has learnt so far.
pub(super) struct CustomerState {
    pub(super) customer_id: Option<u64>,
    /// Folder id by manifest.
    pub(super) folders: BTreeMap<String, u64>,
    /// The id of the folder for root-folder (Home) assets created by this apply, by manifest.
    pub(super) home_assets_folders: BTreeMap<String, u64>,
    /// The workspace's connections and recipes, read again after an import.
    pub(super) snapshot: Option<Snapshot>,
    /// `embedctl_` properties learnt by this run and not written yet: they go to Workato in one
    /// upsert per customer (`flush_properties`), after its import and credential updates and
    /// before its recipes start.
    pub(super) properties: BTreeMap<String, String>,
}

impl CustomerState {
    /// A fresh state for a customer with this id, if it exists.
    pub(super) fn new(customer_id: Option<u64>) -> Self {
        CustomerState {
            customer_id,
            folders: BTreeMap::new(),
            home_assets_folders: BTreeMap::new(),
            snapshot: None,
            properties: BTreeMap::new(),
        }
    }
}

/// Writes the properties this run has learnt for the customer, in one upsert. Losing them (a
/// crash before this) only costs redundant work next time: a folder found by name, a package
/// imported again while its recipes are still stopped, credentials sent again.
pub(super) async fn flush_properties(
    client: &Client,
    state: &mut CustomerState,
) -> Result<(), String> {
    if state.properties.is_empty() {
        return Ok(());
    }
    let id = customer_id(state)?;
    client
        .upsert_properties(id, &state.properties)
        .await
        .map_err(|error| format!("could not record what this run did ({})", describe(error)))?;
    state.properties.clear();
    Ok(())
}

/// The manifest `key` of the file.
fn desired_manifest<'o>(
    options: &'o ApplyOptions,
    key: &str,
) -> Result<&'o DesiredManifest, String> {
    options
        .desired
        .manifests
        .get(key)
        .ok_or_else(|| format!("manifest `{key}` is not in the file"))
}

/// The connection `connection` of manifest `manifest` of the file.
pub(super) fn desired_connection<'o>(
    options: &'o ApplyOptions,
    manifest: &str,
    connection: &str,
) -> Result<(&'o DesiredManifest, &'o DesiredConnection), String> {
    let declared = desired_manifest(options, manifest)?;
    let found = declared
        .connections
        .iter()
        .find(|c| c.key == connection)
        .ok_or_else(|| format!("connection `{manifest}.{connection}` is not in the file"))?;
    Ok((declared, found))
}

fn describe(error: ClientError) -> String {
    error.to_string()
}

/// A refused customer create, said so that the reader knows what happened: "external_id has
/// already been taken" means the customer appeared after the plan was made, most often because
/// another apply is running against the same account.
fn describe_customer_create(error: ClientError, external_id: &str) -> String {
    if error.is_already_taken() {
        format!(
            "customer `{external_id}` appeared in Workato after the plan was made ({error}); \
             another apply may be running against this account: run applies one at a time \
             (e.g. one GitHub Actions concurrency group), then plan again"
        )
    } else {
        describe(error)
    }
}

pub(super) async fn execute(
    client: &Client,
    change: &Change,
    state: &mut CustomerState,
    options: &ApplyOptions,
) -> Result<(), String> {
    let customer_key = change.customer.as_str();
    let desired = options
        .desired
        .customers
        .iter()
        .find(|c| c.external_id == customer_key)
        .ok_or_else(|| format!("customer `{customer_key}` is not in the file"))?;
    match (&change.subject, change.action) {
        (Subject::Customer, Action::Create) => {
            let new = NewCustomer {
                name: desired.name.clone(),
                notification_email: desired.notification_email.clone(),
                external_id: desired.external_id.clone(),
            };
            let created = match client.create_customer(&new).await {
                Ok(created) => created,
                Err(error) if error.is_outcome_unknown() => {
                    // Look before trying again: the first create may have happened.
                    match client
                        .get_customer_by_external_id(&desired.external_id)
                        .await
                        .map_err(describe)?
                    {
                        Some(found) => found,
                        None => client
                            .create_customer(&new)
                            .await
                            .map_err(|error| describe_customer_create(error, customer_key))?,
                    }
                }
                Err(error) => return Err(describe_customer_create(error, customer_key)),
            };
            state.customer_id = Some(created.id);
            Ok(())
        }
        (Subject::Customer, _) => {
            let id = customer_id(state)?;
            let update = CustomerUpdate {
                name: Some(desired.name.clone()),
                notification_email: Some(desired.notification_email.clone()),
            };
            client
                .update_customer(id, &update)
                .await
                .map_err(describe)?;
            Ok(())
        }
        (Subject::Folder { manifest }, Action::Create) => {
            let id = customer_id(state)?;
            let name = match &change.target.name {
                Some(name) => name.clone(),
                None => desired_manifest(options, manifest)?.folder.clone(),
            };
            let folder = create_project(client, id, &name).await?;
            state.folders.insert(manifest.clone(), folder.id);
            state
                .properties
                .insert(property::folder(manifest), folder.id.to_string());
            state
                .properties
                .insert(property::folder_name(manifest), name);
            Ok(())
        }
        (Subject::Folder { manifest }, Action::Update) => {
            let id = customer_id(state)?;
            let name = change.target.name.clone().ok_or("the plan gives no name")?;
            let project = change
                .target
                .project_id
                .or(change.target.folder_id)
                .ok_or("the folder's project is unknown")?;
            client
                .rename_project(id, project, &name)
                .await
                .map_err(describe)?;
            state
                .properties
                .insert(property::folder_name(manifest), name);
            Ok(())
        }
        (Subject::HomeAssetsFolder { manifest }, Action::Create) => {
            create_home_assets_folder(client, manifest, change, state, options).await
        }
        (Subject::Package { manifest }, _) => {
            import(client, manifest, change, state, options).await
        }
        (
            Subject::Connection {
                manifest,
                connection,
            },
            _,
        ) => authorize(client, manifest, connection, change, state, options).await,
        (Subject::Recipe { manifest, recipe }, _) => {
            start(client, manifest, recipe, change, state).await
        }
        (Subject::RuntimeConnection { .. }, Action::Delete) => {
            let id = customer_id(state)?;
            let connection = change
                .target
                .connection_id
                .ok_or("the connection's id is unknown")?;
            retire_connection(client, id, connection).await
        }
        (Subject::RuntimeConnection { .. }, Action::Update) => {
            let id = customer_id(state)?;
            let connection = change
                .target
                .connection_id
                .ok_or("the connection's id is unknown")?;
            let name = change.target.name.clone().ok_or("the plan gives no name")?;
            let mut body = Map::new();
            body.insert("name".to_owned(), Value::String(name));
            client
                .update_connection(id, connection, &body)
                .await
                .map(|_| ())
                .map_err(describe)
        }
        (Subject::RuntimeConnection { user, .. }, Action::Replace) => {
            let id = customer_id(state)?;
            // The right connection first, then the wrong one goes: a failure in between leaves
            // the end user with a connection, and the next plan finds both and only deletes.
            let parent_id = parent_of(client, change, state, options).await?;
            let provider = provider_of(client, change, state, options).await?;
            let old = change.target.connection_id;
            let folder = folder_id(state, change.subject.manifest().unwrap_or_default(), change)?;
            let existing = connections_of(client, id, user, &provider).await?;
            let name = change.target.name.as_deref().unwrap_or_default();
            let has_right = existing.iter().any(|c| {
                Some(c.id) != old
                    && c.name == name
                    && c.parent_id == parent_id
                    && c.folder_id == Some(folder)
            });
            if !has_right {
                create_runtime_connection(client, user, parent_id, provider, change, state).await?;
            }
            match old {
                Some(old) => retire_connection(client, id, old).await,
                None => Ok(()),
            }
        }
        (Subject::RuntimeConnection { user, .. }, _) => {
            let parent_id = parent_of(client, change, state, options).await?;
            let provider = provider_of(client, change, state, options).await?;
            create_runtime_connection(client, user, parent_id, provider, change, state).await
        }
        (subject, action) => Err(format!(
            "`{}` of a {} is not something apply does in this version",
            action.as_str(),
            subject.kind().as_str()
        )),
    }
}

/// Creates a project (a top-level folder) named `name`. When the answer was lost, the projects
/// are listed first and one of that name is taken: never a second copy.
async fn create_project(
    client: &Client,
    customer: u64,
    name: &str,
) -> Result<crate::workato::wire::Folder, String> {
    match client.create_folder(customer, name, None).await {
        Ok(folder) => Ok(folder),
        Err(error) if error.is_outcome_unknown() => {
            let existing = client
                .list_folders(customer, None)
                .await
                .map_err(describe)?;
            match existing.into_iter().find(|f| f.name == name) {
                Some(folder) => Ok(folder),
                None => client
                    .create_folder(customer, name, None)
                    .await
                    .map_err(describe),
            }
        }
        Err(error) => Err(describe(error)),
    }
}

fn customer_id(state: &CustomerState) -> Result<u64, String> {
    state.customer_id.ok_or_else(|| {
        "the customer does not exist (its creation failed or was skipped)".to_owned()
    })
}

fn folder_id(state: &CustomerState, manifest: &str, change: &Change) -> Result<u64, String> {
    state
        .folders
        .get(manifest)
        .copied()
        .or(change.target.folder_id)
        .ok_or_else(|| format!("the folder of manifest `{manifest}` does not exist"))
}

/// The folder for a manifest's root-folder (Home) assets, as the plan decided it: by its id, the
/// manifest's folder, or the folder this apply created; `None` when the manifest names none.
fn home_assets_folder_id(
    state: &CustomerState,
    manifest: &str,
    change: &Change,
) -> Result<Option<u64>, String> {
    match &change.target.home_assets {
        None => Ok(None),
        Some(HomeAssetsRef::Folder { id }) => Ok(Some(*id)),
        Some(HomeAssetsRef::ManifestFolder) => folder_id(state, manifest, change).map(Some),
        Some(HomeAssetsRef::Created) => state
            .home_assets_folders
            .get(manifest)
            .copied()
            .map(Some)
            .ok_or_else(|| {
                format!("the folder for the Home assets of manifest `{manifest}` does not exist")
            }),
    }
}

/// Creates the project for a manifest's root-folder (Home) assets, as the manifest folder is
/// created (looked up before a retry), and records its id.
async fn create_home_assets_folder(
    client: &Client,
    manifest: &str,
    change: &Change,
    state: &mut CustomerState,
    options: &ApplyOptions,
) -> Result<(), String> {
    let id = customer_id(state)?;
    let name = match &change.target.name {
        Some(name) => name.clone(),
        None => desired_manifest(options, manifest)?
            .home_assets_folder
            .clone()
            .ok_or_else(|| format!("manifest `{manifest}` names no `home_assets_folder`"))?,
    };
    let folder = create_project(client, id, &name).await?;
    state
        .home_assets_folders
        .insert(manifest.to_owned(), folder.id);
    state
        .properties
        .insert(property::home_folder(manifest), folder.id.to_string());
    Ok(())
}

async fn import(
    client: &Client,
    manifest_key: &str,
    change: &Change,
    state: &mut CustomerState,
    options: &ApplyOptions,
) -> Result<(), String> {
    let id = customer_id(state)?;
    let folder = folder_id(state, manifest_key, change)?;
    let home_assets_folder = home_assets_folder_id(state, manifest_key, change)?;
    let manifest = desired_manifest(options, manifest_key)?;
    let started = client
        .import_package(
            id,
            folder,
            home_assets_folder,
            &manifest.zip,
            manifest.restart_recipes,
        )
        .await
        .map_err(describe)?;
    let deadline = Instant::now() + options.import_timeout;
    // Polled with backoff: quickly at first (most imports take seconds), then every
    // `MAX_POLL_FACTOR` × the first interval at most.
    let mut interval = options.poll_interval;
    let max_interval = options.poll_interval.saturating_mul(MAX_POLL_FACTOR);
    let mut status = started;
    loop {
        match status.state() {
            ImportState::Completed => break,
            ImportState::Failed => {
                return Err(format!(
                    "Workato failed the import: {}",
                    status
                        .error
                        .clone()
                        .unwrap_or_else(|| "no reason given".to_owned())
                ));
            }
            ImportState::InProgress => {
                if Instant::now() >= deadline {
                    return Err(format!(
                        "the import was still in progress after {} s; run apply again to check on it",
                        options.import_timeout.as_secs()
                    ));
                }
                let remaining = deadline.saturating_duration_since(Instant::now());
                tokio::time::sleep(interval.min(remaining)).await;
                interval = interval.mul_f64(1.5).min(max_interval);
                status = client
                    .import_status(id, status.id)
                    .await
                    .map_err(describe)?;
            }
        }
    }
    let troubled: Vec<String> = status
        .recipe_status
        .iter()
        .filter(|r| r.import_result == "restart_failed" || r.import_result == "stopped")
        .map(|r| format!("recipe {}: {}", r.id, r.import_result))
        .collect();
    state.snapshot = None;
    state
        .properties
        .insert(property::digest(manifest_key), manifest.digest.clone());
    // What the package holds, asset by asset, so that the next plan can name what a changed
    // package changes; written in the same upsert as the digest.
    state.properties.extend(inventory::record_properties(
        manifest_key,
        &manifest.digest,
        &manifest.assets,
    ));
    state
        .properties
        .insert(property::folder(manifest_key), folder.to_string());
    state
        .properties
        .insert(property::folder_name(manifest_key), manifest.folder.clone());
    if troubled.is_empty() {
        Ok(())
    } else {
        Err(format!("the import completed, but {}", troubled.join(", ")))
    }
}

/// The workspace's connections (runtime ones included) and recipes, as the model reads them.
pub(super) struct Snapshot {
    connections: Vec<LiveConnection>,
    recipes: Vec<LiveRecipe>,
}

impl Snapshot {
    pub(super) fn workspace(&self) -> Workspace<'_> {
        Workspace {
            connections: &self.connections,
            recipes: &self.recipes,
            folders: None,
        }
    }

    /// The default connection of a desired connection, by the rule `diff` used (`matching`).
    pub(super) fn default_connection(
        &self,
        manifest: &DesiredManifest,
        folder_id: Option<u64>,
        connection: &DesiredConnection,
    ) -> Option<&LiveConnection> {
        let workspace = self.workspace();
        let recipes: Vec<&LiveRecipe> = manifest
            .recipes
            .iter()
            .filter_map(|recipe| workspace.recipe(&recipe.name, folder_id))
            .collect();
        workspace
            .default_connection(&connection.name, &connection.connector(), recipes)
            .found
    }

    /// The live provider of a desired connection's connector, by the rule `diff` used
    /// (`matching`): for a custom connector, its id in this workspace.
    pub(super) fn live_provider(
        &self,
        manifest: &DesiredManifest,
        folder_id: Option<u64>,
        connection: &DesiredConnection,
    ) -> Option<String> {
        let workspace = self.workspace();
        let connector = connection.connector();
        let recipes: Vec<&LiveRecipe> = manifest
            .recipes
            .iter()
            .filter_map(|recipe| workspace.recipe(&recipe.name, folder_id))
            .collect();
        let default = workspace
            .default_connection(&connection.name, &connector, recipes.iter().copied())
            .found;
        Workspace::live_provider(&connector, default, recipes)
    }
}

/// The workspace's connections (runtime ones included) and recipes, read once per customer
/// after the changes that create them.
pub(super) async fn snapshot<'s>(
    client: &Client,
    state: &'s mut CustomerState,
) -> Result<&'s Snapshot, String> {
    if state.snapshot.is_none() {
        let id = customer_id(state)?;
        let filter = ConnectionFilter {
            include_runtime_connections: true,
            ..ConnectionFilter::default()
        };
        // Read side by side: they are two families, and this read sits between a customer's
        // import and its recipes starting, so each round trip here delays them.
        let (connections, recipes) = tokio::try_join!(
            client.list_connections(id, &filter),
            client.list_recipes(id)
        )
        .map_err(describe)?;
        state.snapshot = Some(Snapshot {
            connections: connections.into_iter().map(live_connection).collect(),
            recipes: recipes.into_iter().map(live_recipe).collect(),
        });
    }
    state
        .snapshot
        .as_ref()
        .ok_or_else(|| "no snapshot".to_owned())
}

async fn authorize(
    client: &Client,
    manifest_key: &str,
    connection_key: &str,
    change: &Change,
    state: &mut CustomerState,
    options: &ApplyOptions,
) -> Result<(), String> {
    let id = customer_id(state)?;
    let (manifest, connection) = desired_connection(options, manifest_key, connection_key)?;
    let reference = format!("{manifest_key}.{connection_key}");
    let input = options
        .inputs
        .get(&(change.customer.clone(), reference.clone()))
        .ok_or_else(|| format!("the credentials of `{reference}` are not resolved"))?;
    let connection_id = match change.target.connection_id {
        Some(found) => found,
        None => {
            // Imported by this apply: found now by the rule the plan uses.
            let folder = state.folders.get(manifest_key).copied();
            snapshot(client, state)
                .await?
                .default_connection(manifest, folder, connection)
                .map(|c| c.id)
                .ok_or_else(|| {
                    format!(
                        "connection \"{}\" is not in the workspace (was the package imported?)",
                        connection.name
                    )
                })?
        }
    };
    let updated = client
        .update_connection(id, connection_id, &input.to_body())
        .await
        .map_err(describe)?;
    // Workato accepted the credentials: record their fingerprint whether or not they authorize,
    // so that a plan can tell "sent and failed" from "never sent".
    state.properties.insert(
        property::fingerprint(manifest_key, connection_key),
        input.fingerprint(&options.fingerprint_key),
    );
    let updated = live_connection(updated);
    let authorized = updated.is_authorized();
    let error = updated.authorization_error.clone();
    if let Some(cached) = state.snapshot.as_mut()
        && let Some(entry) = cached
            .connections
            .iter_mut()
            .find(|c| c.id == connection_id)
    {
        *entry = updated;
    }
    if authorized {
        Ok(())
    } else {
        Err(format!(
            "Workato did not authorize connection \"{}\": {}",
            connection.name,
            error.unwrap_or_else(|| "no reason given".to_owned())
        ))
    }
}

async fn start(
    client: &Client,
    manifest_key: &str,
    recipe_name: &str,
    change: &Change,
    state: &mut CustomerState,
) -> Result<(), String> {
    let id = customer_id(state)?;
    let recipe_id = match change.target.recipe_id {
        Some(found) => found,
        None => {
            // Imported by this apply: found now by the rule the plan uses.
            let folder = state.folders.get(manifest_key).copied();
            snapshot(client, state)
                .await?
                .workspace()
                .recipe(recipe_name, folder)
                .map(|r| r.id)
                .ok_or_else(|| {
                    format!(
                        "recipe \"{recipe_name}\" is not in the workspace (was the package imported?)"
                    )
                })?
        }
    };
    match client.start_recipe(id, recipe_id).await {
        Ok(()) => Ok(()),
        Err(error) => Err(format!(
            "Workato refused to start recipe \"{recipe_name}\": {error}"
        )),
    }
}

/// The parent id of a runtime connection to create, as the plan chose it.
async fn parent_of(
    client: &Client,
    change: &Change,
    state: &mut CustomerState,
    options: &ApplyOptions,
) -> Result<Option<u64>, String> {
    Ok(match &change.target.parent {
        ParentRef::None => None,
        ParentRef::Connection(parent) => Some(*parent),
        ParentRef::DefaultOf {
            manifest,
            connection,
        } => {
            // The plan chose the default connection as parent; it was imported by this apply.
            let (declared_manifest, declared) = desired_connection(options, manifest, connection)?;
            let folder = state.folders.get(manifest).copied();
            let found = snapshot(client, state)
                .await?
                .default_connection(declared_manifest, folder, declared)
                .map(|c| c.id)
                .ok_or_else(|| {
                    format!(
                        "the parent connection \"{}\" is not in the workspace",
                        declared.name
                    )
                })?;
            Some(found)
        }
    })
}

/// The provider of a runtime connection to create, as the plan gave it, or read from the
/// workspace when the plan says where (a custom connector imported by this apply).
async fn provider_of(
    client: &Client,
    change: &Change,
    state: &mut CustomerState,
    options: &ApplyOptions,
) -> Result<String, String> {
    if let Some(provider) = &change.target.provider {
        return Ok(provider.clone());
    }
    let Some(ProviderRef::LiveOf {
        manifest,
        connection,
    }) = &change.target.provider_of
    else {
        return Err("the plan gives no provider".to_owned());
    };
    let (declared_manifest, declared) = desired_connection(options, manifest, connection)?;
    let folder = state.folders.get(manifest).copied();
    snapshot(client, state)
        .await?
        .live_provider(declared_manifest, folder, declared)
        .ok_or_else(|| {
            format!(
                "the custom connector `{}` of connection \"{}\" is not in the workspace: neither \
                 the imported connection nor the imported recipes name it",
                declared.provider, declared.name
            )
        })
}

async fn create_runtime_connection(
    client: &Client,
    user: &str,
    parent_id: Option<u64>,
    provider: String,
    change: &Change,
    state: &mut CustomerState,
) -> Result<(), String> {
    let id = customer_id(state)?;
    let manifest_key = change.subject.manifest().unwrap_or_default();
    let folder = folder_id(state, manifest_key, change)?;
    let name = change.target.name.clone().ok_or("the plan gives no name")?;
    let new = NewConnection {
        name: name.clone(),
        provider: provider.clone(),
        folder_id: Some(folder),
        parent_id,
        external_id: Some(user.to_owned()),
        shell_connection: true,
        input: None,
        oauth_token_pair: None,
    };
    match client.create_connection(id, &new).await {
        Ok(_) => Ok(()),
        Err(error) if error.is_outcome_unknown() => {
            // Look before trying again: never a duplicate connection for an end user.
            let existing = connections_of(client, id, user, &provider).await?;
            if existing
                .iter()
                .any(|c| c.name == name && c.parent_id == parent_id && c.folder_id == Some(folder))
            {
                Ok(())
            } else {
                client
                    .create_connection(id, &new)
                    .await
                    .map(|_| ())
                    .map_err(describe)
            }
        }
        Err(error) => Err(describe(error)),
    }
}

/// The runtime connections of one end user of one connector.
async fn connections_of(
    client: &Client,
    customer: u64,
    user: &str,
    provider: &str,
) -> Result<Vec<crate::workato::wire::Connection>, String> {
    let filter = ConnectionFilter {
        include_runtime_connections: true,
        provider: Some(provider.to_owned()),
        folder_id: None,
        external_id: Some(user.to_owned()),
    };
    client
        .list_connections(customer, &filter)
        .await
        .map_err(describe)
}

/// Disconnects a runtime connection (its tokens go first), then deletes it. Both steps may be
/// repeated after a lost answer; a connection already gone counts as done. Workato does not
/// document how it answers a disconnect of a connection that was never connected: a refusal
/// (4xx, or `success: false`) does not stop the delete, which is what the change is for; if the
/// delete fails too, both answers are reported.
async fn retire_connection(client: &Client, customer: u64, connection: u64) -> Result<(), String> {
    let refused_disconnect = match client.disconnect_connection(customer, connection).await {
        Ok(()) => None,
        Err(error) if error.status() == Some(404) => return Ok(()),
        Err(error) if error.is_refusal() => Some(describe(error)),
        Err(error) => return Err(describe(error)),
    };
    client
        .delete_connection(customer, connection)
        .await
        .map_err(|error| match refused_disconnect {
            Some(first) => format!(
                "Workato refused to disconnect it ({first}), then to delete it: {}",
                describe(error)
            ),
            None => describe(error),
        })
}
