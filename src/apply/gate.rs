//! The phase-4 gate, re-checked live right before a customer's runtime user connections.

use super::schedule::ApplyOptions;
use super::steps::{CustomerState, snapshot};
use crate::live::LiveConnection;
use crate::workato::Client;

/// The phase-4 gate as read live.
pub(super) enum Gate {
    Open,
    /// Workato says a layer below is not ready (a recipe not running, a connection not
    /// authorized): the phase-4 changes are blocked.
    Closed(String),
    /// The gate could not be read (an API error): the phase-4 changes are skipped, which fails
    /// the run.
    Unknown(String),
}

/// The phase-4 gate, live: every required recipe of the customer's manifests running and every
/// default connection authorized.
pub(super) async fn check_gate(
    client: &Client,
    customer: &str,
    state: &mut CustomerState,
    options: &ApplyOptions,
) -> Gate {
    state.snapshot = None;
    let Some(desired) = options
        .desired
        .customers
        .iter()
        .find(|c| c.external_id == customer)
    else {
        return Gate::Unknown("the customer is not in the file".to_owned());
    };
    let folders = state.folders.clone();
    let snapshot = match snapshot(client, state).await {
        Ok(snapshot) => snapshot,
        Err(error) => return Gate::Unknown(error),
    };
    for manifest_key in &desired.manifests {
        let Some(manifest) = options.desired.manifests.get(manifest_key) else {
            continue;
        };
        let folder = folders.get(manifest_key).copied();
        for connection in manifest.connections.iter().filter(|c| !c.runtime_users) {
            let authorized = snapshot
                .default_connection(manifest, folder, connection)
                .is_some_and(LiveConnection::is_authorized);
            if !authorized {
                return Gate::Closed(format!(
                    "connection \"{}\" is not authorized",
                    connection.name
                ));
            }
        }
        for required in &manifest.required {
            let running = snapshot
                .workspace()
                .recipe(required, folder)
                .is_some_and(|recipe| recipe.running);
            if !running {
                return Gate::Closed(format!("recipe \"{required}\" is not running"));
            }
        }
    }
    Gate::Open
}
