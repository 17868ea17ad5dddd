//! `observe`: the live state of the file's customers, read with list endpoints only.
//!
//! The calls (docs/workato-api.md): the customers list, page by page (or one
//! `GET /managed_users/E<ext>` when the run is limited to one customer); then for each customer of the
//! file, concurrently but at most `CONCURRENCY` at once, its `embedctl_` properties, its
//! connections with runtime user connections included, every page of its recipes without code,
//! and its projects only when a manifest's folder id is not recorded yet. Never one request per
//! end user: a thousand end users cost the same three or four calls as one. This module is also
//! where wire types become the model (`live`).

use std::collections::{BTreeMap, BTreeSet};

use tokio::task::JoinSet;

use crate::desired::Desired;
use crate::live::{
    Live, LiveConnection, LiveCustomer, LiveFolder, LiveRecipe, LiveRecipeConfig,
    UnmanagedCustomer, property,
};
use crate::workato::wire::{Connection, Customer, Folder, Recipe};
use crate::workato::{CONNECTION_LIST_CAP, Client, ClientError, ConnectionFilter};

/// Customers read at the same time. Pacing, not this number, keeps the client within Workato's
/// limits; the bound only keeps a thousand customers from being a thousand open requests.
///
/// Each customer's reads follow one another (properties, connections, recipes pages), so a
/// customer is read in about four round trips, and a fleet is read no faster than `CONCURRENCY`
/// customers per four round trips. The three list families allow 1,000 to 2,000 requests a
/// minute; to keep them busy with round trips of 300 ms, some 20 customers must be read at once.
/// With 8, reading 1,000 customers at 300 ms a round trip takes about 150 s where the limits
/// allow 71 s; with 32 the scale benchmark reads them in 74 s (BENCHMARKS.md), holding at most
/// 32 customers' lists at once.
pub const CONCURRENCY: usize = 32;

/// Reads what `diff` needs of the file's customers (only those in `only` when it is not empty).
/// Customers in Workato that the file does not list are reported in `unmanaged_customers` when
/// `only` is empty. `Live.calls` holds the requests this observation sent, per family.
pub async fn observe(
    client: &Client,
    desired: &Desired,
    only: &[String],
) -> Result<Live, ClientError> {
    let in_file: BTreeSet<&str> = desired
        .customers
        .iter()
        .map(|customer| customer.external_id.as_str())
        .collect();
    let wanted = |external_id: &str| {
        in_file.contains(external_id)
            && (only.is_empty() || only.iter().any(|name| name == external_id))
    };

    let calls_before = client.calls();
    // One customer asked for by name costs one GET, never more than the list's pages.
    let customers = match only {
        [external_id] if in_file.contains(external_id.as_str()) => client
            .get_customer_by_external_id(external_id)
            .await?
            .into_iter()
            .collect(),
        _ => client.list_customers().await?,
    };

    let mut live = Live::default();
    let mut work = Vec::new();
    for customer in customers {
        match customer.external_id.as_deref() {
            Some(external_id) if wanted(external_id) => {
                work.push(CustomerWork::new(customer, desired));
            }
            Some(external_id) if in_file.contains(external_id) => {}
            _ if only.is_empty() => live.unmanaged_customers.push(UnmanagedCustomer {
                id: customer.id,
                external_id: customer.external_id,
                name: customer.name,
            }),
            _ => {}
        }
    }

    for customer in read_concurrently(work, |next| read_customer(client.clone(), next)).await? {
        live.customers
            .insert(customer.external_id.clone(), customer);
    }
    live.calls = client
        .calls()
        .into_iter()
        .map(|(family, count)| {
            let earlier = calls_before.get(&family).copied().unwrap_or(0);
            (family, count - earlier)
        })
        .filter(|(_, count)| *count > 0)
        .collect();
    Ok(live)
}

/// Runs `read` on every item, at most `CONCURRENCY` at once, and collects the results in the
/// order they finish; the first error ends the run.
pub(crate) async fn read_concurrently<W, R, F, Fut>(
    items: Vec<W>,
    read: F,
) -> Result<Vec<R>, ClientError>
where
    F: Fn(W) -> Fut,
    Fut: std::future::Future<Output = Result<R, ClientError>> + Send + 'static,
    R: Send + 'static,
{
    let mut tasks = JoinSet::new();
    let mut queue = items.into_iter();
    let mut done = Vec::new();
    loop {
        while tasks.len() < CONCURRENCY {
            let Some(next) = queue.next() else { break };
            tasks.spawn(read(next));
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        match joined {
            Ok(result) => done.push(result?),
            // A panic in a task is a bug: let it surface as one.
            Err(error) => std::panic::resume_unwind(error.into_panic()),
        }
    }
    Ok(done)
}

/// What one customer's reads need to know, owned so that they can run in their own task.
struct CustomerWork {
    customer: Customer,
    external_id: String,
    /// The customer's manifests.
    manifests: Vec<String>,
    /// The folder name the file gives each of them.
    folder_names: BTreeMap<String, String>,
    /// The providers of those manifests' connections (for narrowing a cut connections list).
    providers: BTreeSet<String>,
    /// The customer's end users (the narrowing of last resort).
    users: Vec<String>,
    /// The customer's manifests that name a `home_assets_folder`.
    home_assets_manifests: Vec<String>,
}

impl CustomerWork {
    fn new(customer: Customer, desired: &Desired) -> Self {
        let external_id = customer.external_id.clone().unwrap_or_default();
        let wanted = desired
            .customers
            .iter()
            .find(|candidate| candidate.external_id == external_id);
        let manifests: Vec<String> = wanted.map(|c| c.manifests.clone()).unwrap_or_default();
        let providers = manifests
            .iter()
            .filter_map(|key| desired.manifests.get(key))
            .flat_map(|manifest| &manifest.connections)
            // A custom connector's slug is no provider Workato knows; its live id is among the
            // providers seen.
            .filter(|connection| !connection.custom)
            .map(|connection| connection.provider.clone())
            .collect();
        let users = wanted
            .map(|c| c.runtime_users.iter().map(|user| user.id.clone()).collect())
            .unwrap_or_default();
        let folder_names = manifests
            .iter()
            .filter_map(|key| desired.manifests.get(key))
            .map(|manifest| (manifest.key.clone(), manifest.folder.clone()))
            .collect();
        let home_assets_manifests = home_assets_manifests(&manifests, desired);
        Self {
            customer,
            external_id,
            manifests,
            folder_names,
            providers,
            users,
            home_assets_manifests,
        }
    }
}

/// Those of `manifests` that name a `home_assets_folder`.
fn home_assets_manifests(manifests: &[String], desired: &Desired) -> Vec<String> {
    manifests
        .iter()
        .filter(|key| {
            desired
                .manifests
                .get(*key)
                .is_some_and(|manifest| manifest.home_assets_folder.is_some())
        })
        .cloned()
        .collect()
}

async fn read_customer(client: Client, work: CustomerWork) -> Result<LiveCustomer, ClientError> {
    let id = work.customer.id;
    let mut live = LiveCustomer {
        id,
        external_id: work.external_id.clone(),
        name: work.customer.name.clone(),
        notification_email: work.customer.notification_email.clone().unwrap_or_default(),
        has_environments: work.customer.has_environments(),
        ..LiveCustomer::default()
    };
    // Customers with Embedded environments are reported and skipped in this version
    // (ARCHITECTURE.md): nothing of theirs is read.
    if live.has_environments {
        return Ok(live);
    }
    live.properties = client.get_properties(id, property::PREFIX).await?;
    let recorded_folders: BTreeSet<u64> = work
        .manifests
        .iter()
        .filter_map(|manifest| live.properties.get(&property::folder(manifest)))
        .filter_map(|value| value.trim().parse().ok())
        .collect();
    (live.connections, live.recipes) =
        connections_and_recipes(&client, id, &work.providers, &work.users, &recorded_folders)
            .await?;
    let folder_unknown = work
        .manifests
        .iter()
        .any(|manifest| !live.properties.contains_key(&property::folder(manifest)));
    // A recorded folder name that is not the file's: the folder may have to be renamed, which
    // needs its project's id and current name.
    let folder_renamed = work.folder_names.iter().any(|(manifest, wanted)| {
        live.properties
            .get(&property::folder_name(manifest))
            .is_some_and(|recorded| recorded != wanted)
    });
    let folder_unknown = folder_unknown
        || work.home_assets_manifests.iter().any(|manifest| {
            !live
                .properties
                .contains_key(&property::home_folder(manifest))
        });
    if folder_unknown || folder_renamed {
        let mut projects: Vec<LiveFolder> = client
            .list_folders(id, None)
            .await?
            .into_iter()
            .map(live_folder)
            .collect();
        projects.sort_by_key(|folder| folder.id);
        live.projects = Some(projects);
    }
    Ok(live)
}

/// A workspace's connections (`read_connections`) and recipes as the model has them, each
/// sorted by id.
pub(crate) async fn connections_and_recipes(
    client: &Client,
    customer_id: u64,
    providers: &BTreeSet<String>,
    users: &[String],
    recorded_folders: &BTreeSet<u64>,
) -> Result<(Vec<LiveConnection>, Vec<LiveRecipe>), ClientError> {
    let mut connections: Vec<LiveConnection> =
        read_connections(client, customer_id, providers, users, recorded_folders)
            .await?
            .into_iter()
            .map(live_connection)
            .collect();
    connections.sort_by_key(|connection| connection.id);
    let mut recipes: Vec<LiveRecipe> = client
        .list_recipes(customer_id)
        .await?
        .into_iter()
        .map(live_recipe)
        .collect();
    recipes.sort_by_key(|recipe| recipe.id);
    Ok((connections, recipes))
}

/// Every connection, runtime user connections included. A list of exactly
/// `CONNECTION_LIST_CAP` may be cut (docs/workato-api.md): it is narrowed by provider (each one
/// seen or in the file), a provider still at the cap by folder (each one seen or recorded), and a
/// folder still at the cap by each end user (`users`, and those seen in that folder's list),
/// merging by id. `providers` are looked for besides those seen.
pub(crate) async fn read_connections(
    client: &Client,
    customer_id: u64,
    providers: &BTreeSet<String>,
    users: &[String],
    recorded_folders: &BTreeSet<u64>,
) -> Result<Vec<Connection>, ClientError> {
    let everything = ConnectionFilter {
        include_runtime_connections: true,
        ..ConnectionFilter::default()
    };
    let first = client.list_connections(customer_id, &everything).await?;
    if first.len() < CONNECTION_LIST_CAP {
        return Ok(first);
    }
    let mut providers = providers.clone();
    providers.extend(first.iter().map(|c| c.connector().to_owned()));
    let mut merged: BTreeMap<u64, Connection> = BTreeMap::new();
    merge(&mut merged, first);
    for provider in providers {
        let by_provider = ConnectionFilter {
            provider: Some(provider),
            ..everything.clone()
        };
        let found = client.list_connections(customer_id, &by_provider).await?;
        if found.len() < CONNECTION_LIST_CAP {
            merge(&mut merged, found);
            continue;
        }
        let mut folders = recorded_folders.clone();
        folders.extend(found.iter().filter_map(|c| c.folder_id));
        merge(&mut merged, found);
        for folder_id in folders {
            let by_folder = ConnectionFilter {
                folder_id: Some(folder_id),
                ..by_provider.clone()
            };
            let found = client.list_connections(customer_id, &by_folder).await?;
            let cut = found.len() >= CONNECTION_LIST_CAP;
            let mut everyone: BTreeSet<String> = users.iter().cloned().collect();
            if cut {
                everyone.extend(found.iter().filter_map(|c| c.external_id.clone()));
            }
            merge(&mut merged, found);
            if cut {
                for user in &everyone {
                    let by_user = ConnectionFilter {
                        external_id: Some(user.clone()),
                        ..by_folder.clone()
                    };
                    merge(
                        &mut merged,
                        client.list_connections(customer_id, &by_user).await?,
                    );
                }
            }
        }
    }
    Ok(merged.into_values().collect())
}

fn merge(merged: &mut BTreeMap<u64, Connection>, found: Vec<Connection>) {
    for connection in found {
        merged.insert(connection.id, connection);
    }
}

pub(crate) fn live_connection(connection: Connection) -> LiveConnection {
    LiveConnection {
        id: connection.id,
        provider: connection.connector().to_owned(),
        name: connection.name,
        folder_id: connection.folder_id,
        parent_id: connection.parent_id,
        external_id: connection.external_id,
        // `authorization_status` decides; a connection Workato reports lost (its token revoked
        // or expired) gives its reason as the error when it has no other.
        authorization_status: connection.authorization_status,
        authorization_error: connection
            .authorization_error
            .filter(|e| !e.trim().is_empty())
            .or(connection.connection_lost_reason),
    }
}

pub(crate) fn live_recipe(recipe: Recipe) -> LiveRecipe {
    LiveRecipe {
        id: recipe.id,
        name: recipe.name,
        folder_id: recipe.folder_id,
        running: recipe.running,
        stop_cause: recipe.stop_cause,
        config: recipe
            .config
            .into_iter()
            .map(|entry| LiveRecipeConfig {
                provider: entry.provider.unwrap_or_default(),
                skip_validation: entry.skip_validation,
                account_id: entry.account_id,
            })
            .collect(),
    }
}

fn live_folder(folder: Folder) -> LiveFolder {
    LiveFolder {
        id: folder.id,
        name: folder.name,
        parent_id: folder.parent_id,
        project_id: folder.project_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection(json: serde_json::Value) -> LiveConnection {
        live_connection(serde_json::from_value(json).expect("a connection"))
    }

    #[test]
    fn a_lost_connection_gives_its_reason_when_it_has_no_error() {
        let lost = connection(serde_json::json!({
            "id": 7, "name": "Dropbox - Ann", "provider": "dropbox", "external_id": "u1",
            "authorization_status": "failed", "authorization_error": null,
            "connection_lost_at": "2026-11-01T10:00:00Z",
            "connection_lost_reason": "refresh token revoked",
        }));
        assert_eq!(
            lost.authorization_error.as_deref(),
            Some("refresh token revoked")
        );
        assert!(!lost.is_authorized());
        let both = connection(serde_json::json!({
            "id": 8, "name": "Dropbox - Bo", "provider": "dropbox", "external_id": "u2",
            "authorization_status": "failed", "authorization_error": "token expired",
            "connection_lost_reason": "refresh token revoked",
        }));
        assert_eq!(both.authorization_error.as_deref(), Some("token expired"));
        // The status decides: a connection that works again is authorized.
        let back = connection(serde_json::json!({
            "id": 9, "name": "Dropbox - Cy", "provider": "dropbox", "external_id": "u3",
            "authorization_status": "success", "connection_lost_at": "2026-10-01T10:00:00Z",
        }));
        assert!(back.is_authorized());
    }
}
