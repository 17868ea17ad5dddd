//! Plans for custom connectors: found in a workspace by their slug whatever the workspace's id for
//! them, and end users' connections created with that live id, or with where apply reads it when
//! the same apply imports the package.

use std::collections::{BTreeMap, BTreeSet};

use embedctl::desired::{
    CredentialState, Desired, DesiredConnection, DesiredCustomer, DesiredManifest, DesiredRecipe,
    DesiredUser,
};
use embedctl::desired_file::Parent;
use embedctl::live::{Live, LiveConnection, LiveCustomer, LiveRecipe, LiveRecipeConfig, property};
use embedctl::plan::{Action, Change, ProviderRef, Subject, diff};

/// The connector's id in the customer workspace (the import gave it its own id there).
const LIVE_ID: &str = "northwind_ledger__connector_1007_1767225604";
/// The same connector in another workspace: not this customer's.
const OTHER_ID: &str = "northwind_ledger__connector_2100004417_1767952800";
const FOLDER: u64 = 10;

fn desired() -> Desired {
    let manifest = DesiredManifest {
        key: "ledger-sync".to_owned(),
        home_assets_folder: None,
        folder: "Ledger Sync".to_owned(),
        digest: "d".repeat(64),
        recipes: vec![DesiredRecipe {
            name: "Archive".to_owned(),
            is_recipe_function: false,
            needs: vec!["Northwind Ledger".to_owned()],
            providers: vec!["northwind_ledger".to_owned()],
        }],
        required: BTreeSet::from(["Archive".to_owned()]),
        connections: vec![
            DesiredConnection {
                key: "northwind".to_owned(),
                name: "Northwind Ledger".to_owned(),
                provider: "northwind_ledger".to_owned(),
                custom: true,
                ..DesiredConnection::default()
            },
            DesiredConnection {
                key: "users".to_owned(),
                name: "Northwind Ledger user".to_owned(),
                provider: "northwind_ledger".to_owned(),
                custom: true,
                runtime_users: true,
                parent: Parent::None,
                plain_needed: true,
                ..DesiredConnection::default()
            },
        ],
        ..DesiredManifest::default()
    };
    let customer = DesiredCustomer {
        external_id: "initech-001".to_owned(),
        name: "Initech".to_owned(),
        notification_email: "it@initech.example".to_owned(),
        manifests: vec!["ledger-sync".to_owned()],
        runtime_users: vec![
            DesiredUser {
                id: "u-1".to_owned(),
                name: None,
            },
            DesiredUser {
                id: "u-2".to_owned(),
                name: None,
            },
        ],
        credentials: BTreeMap::from([(
            "ledger-sync.northwind".to_owned(),
            CredentialState::Known {
                fingerprint: "f".repeat(64),
            },
        )]),
        ..DesiredCustomer::default()
    };
    Desired {
        customers: vec![customer],
        manifests: BTreeMap::from([("ledger-sync".to_owned(), manifest)]),
    }
}

fn connection(id: u64, name: &str, provider: &str, user: Option<&str>) -> LiveConnection {
    LiveConnection {
        id,
        name: name.to_owned(),
        provider: provider.to_owned(),
        folder_id: Some(FOLDER),
        parent_id: None,
        external_id: user.map(str::to_owned),
        authorization_status: Some("success".to_owned()),
        authorization_error: None,
    }
}

/// The workspace after the import: the connector under its own id, the default connection
/// authorized, the recipe running, and u-1's connection already there.
fn imported() -> Live {
    let desired = desired();
    let manifest = &desired.manifests["ledger-sync"];
    let customer = LiveCustomer {
        id: 1,
        external_id: "initech-001".to_owned(),
        name: "Initech".to_owned(),
        notification_email: "it@initech.example".to_owned(),
        has_environments: false,
        projects: None,
        connections: vec![
            connection(20, "Northwind Ledger", LIVE_ID, None),
            connection(21, "Northwind Ledger user", LIVE_ID, None),
            connection(22, "Northwind Ledger user - u-1", LIVE_ID, Some("u-1")),
        ],
        recipes: vec![LiveRecipe {
            id: 30,
            name: "Archive".to_owned(),
            folder_id: Some(FOLDER),
            running: true,
            stop_cause: None,
            config: vec![LiveRecipeConfig {
                provider: LIVE_ID.to_owned(),
                skip_validation: false,
                account_id: Some(20),
            }],
        }],
        properties: BTreeMap::from([
            (property::folder("ledger-sync"), FOLDER.to_string()),
            (property::digest("ledger-sync"), manifest.digest.clone()),
            (
                property::fingerprint("ledger-sync", "northwind"),
                "f".repeat(64),
            ),
        ]),
    };
    Live {
        customers: BTreeMap::from([("initech-001".to_owned(), customer)]),
        ..Live::default()
    }
}

fn runtime_creates(changes: &[Change]) -> Vec<&Change> {
    changes
        .iter()
        .filter(|c| matches!(c.subject, Subject::RuntimeConnection { .. }))
        .filter(|c| c.action == Action::Create)
        .collect()
}

#[test]
fn end_users_connections_are_created_with_the_workspace_own_connector_id() {
    let plan = diff(&desired(), &imported());
    assert!(plan.blocked.is_empty(), "{:#?}", plan.blocked);
    // Only u-2 lacks a connection: u-1's, under the live id, is recognised as the connector's.
    let creates = runtime_creates(&plan.changes);
    assert_eq!(creates.len(), 1, "{:#?}", plan.changes);
    let create = creates[0];
    assert!(matches!(&create.subject, Subject::RuntimeConnection { user, .. } if user == "u-2"));
    assert_eq!(create.target.provider.as_deref(), Some(LIVE_ID));
    assert_eq!(create.target.provider_of, None);
    assert_eq!(create.after.value()["provider"], LIVE_ID);
    // The default connection was found by the recipe that uses it: nothing to authorize.
    assert!(
        !plan
            .changes
            .iter()
            .any(|c| matches!(c.subject, Subject::Connection { .. })),
        "{:#?}",
        plan.changes
    );
}

#[test]
fn another_workspace_id_of_the_connector_is_the_same_connector_only_by_slug() {
    // u-1's connection carries some other id of the slug: still the connector's, so it is not
    // created twice. u-2's has the right name but another connector's id: not this connector's,
    // so u-2's is created, with the id the workspace's recipes use.
    let mut live = imported();
    if let Some(customer) = live.customers.get_mut("initech-001") {
        customer.connections[2].provider = OTHER_ID.to_owned();
        customer.connections.push(connection(
            23,
            "Northwind Ledger user - u-2",
            "partner_app__connector_7_1700000000",
            Some("u-2"),
        ));
    }
    let plan = diff(&desired(), &live);
    let creates = runtime_creates(&plan.changes);
    assert_eq!(creates.len(), 1, "{:#?}", plan.changes);
    assert_eq!(creates[0].target.provider.as_deref(), Some(LIVE_ID));
}

#[test]
fn before_the_import_apply_is_told_where_to_read_the_live_id() {
    let plan = diff(&desired(), &Live::default());
    let creates = runtime_creates(&plan.changes);
    assert_eq!(creates.len(), 2, "{:#?}", plan);
    for create in creates {
        assert_eq!(create.target.provider, None);
        assert_eq!(
            create.target.provider_of,
            Some(ProviderRef::LiveOf {
                manifest: "ledger-sync".to_owned(),
                connection: "users".to_owned(),
            })
        );
    }
}
