//! Properties of `diff` over random desired states: a live account that already matches the file
//! plans nothing, and the same inputs always give the same plan.

use std::collections::{BTreeMap, BTreeSet};

use embedctl::desired::{
    CredentialState, Desired, DesiredConnection, DesiredCustomer, DesiredManifest, DesiredRecipe,
    DesiredUser,
};
use embedctl::desired_file::Parent;
use embedctl::live::{Live, LiveConnection, LiveCustomer, LiveRecipe, LiveRecipeConfig, property};
use embedctl::plan::diff;
use proptest::prelude::*;

/// A Workato account in which everything the file asks for is already true.
pub fn converged_live(desired: &Desired) -> Live {
    let mut live = Live::default();
    let mut next_id = 10_000u64;
    let mut id = || {
        next_id += 1;
        next_id
    };
    for customer in &desired.customers {
        let mut live_customer = LiveCustomer {
            id: id(),
            external_id: customer.external_id.clone(),
            name: customer.name.clone(),
            notification_email: customer.notification_email.clone(),
            ..LiveCustomer::default()
        };
        for manifest_key in &customer.manifests {
            let manifest = &desired.manifests[manifest_key];
            let folder = id();
            let sub_folder = id();
            let folders = live_customer.projects.get_or_insert_with(Vec::new);
            folders.push(embedctl::live::LiveFolder {
                id: folder,
                name: manifest.folder.clone(),
                parent_id: Some(1),
                project_id: None,
            });
            folders.push(embedctl::live::LiveFolder {
                id: sub_folder,
                name: manifest.folder.clone(),
                parent_id: Some(folder),
                project_id: None,
            });
            live_customer
                .properties
                .insert(property::folder(manifest_key), folder.to_string());
            live_customer
                .properties
                .insert(property::digest(manifest_key), manifest.digest.clone());
            let mut by_name = BTreeMap::new();
            for connection in &manifest.connections {
                let connection_id = id();
                by_name.insert(connection.name.clone(), connection_id);
                live_customer.connections.push(LiveConnection {
                    id: connection_id,
                    name: connection.name.clone(),
                    provider: connection.provider.clone(),
                    folder_id: Some(folder),
                    parent_id: None,
                    external_id: None,
                    // The imported shell of a runtime-users connection is never authorized.
                    authorization_status: (!connection.runtime_users).then(|| "success".to_owned()),
                    authorization_error: None,
                });
                let reference = format!("{manifest_key}.{}", connection.key);
                if let Some(CredentialState::Known { fingerprint }) =
                    customer.credentials.get(&reference)
                {
                    live_customer.properties.insert(
                        property::fingerprint(manifest_key, &connection.key),
                        fingerprint.clone(),
                    );
                }
                if connection.runtime_users {
                    for user in &customer.runtime_users {
                        let mut names: Vec<(String, Option<u64>)> = connection
                            .recipe_functions
                            .iter()
                            .map(|f| {
                                (
                                    format!("{} - {} - {f}", connection.name, user.label()),
                                    None,
                                )
                            })
                            .collect();
                        if connection.plain_needed || connection.recipe_functions.is_empty() {
                            let parent =
                                (connection.parent == Parent::Default).then_some(connection_id);
                            names.push((format!("{} - {}", connection.name, user.label()), parent));
                        }
                        for (name, parent_id) in names {
                            live_customer.connections.push(LiveConnection {
                                id: id(),
                                name,
                                provider: connection.provider.clone(),
                                folder_id: Some(folder),
                                parent_id,
                                external_id: Some(user.id.clone()),
                                authorization_status: Some("success".to_owned()),
                                authorization_error: None,
                            });
                        }
                    }
                }
            }
            for recipe in &manifest.recipes {
                live_customer.recipes.push(LiveRecipe {
                    id: id(),
                    name: recipe.name.clone(),
                    folder_id: Some(sub_folder),
                    running: manifest.required.contains(&recipe.name),
                    stop_cause: None,
                    config: recipe
                        .needs
                        .iter()
                        .map(|needed| LiveRecipeConfig {
                            provider: manifest
                                .connections
                                .iter()
                                .find(|c| &c.name == needed)
                                .map(|c| c.provider.clone())
                                .unwrap_or_default(),
                            skip_validation: false,
                            account_id: by_name.get(needed).copied(),
                        })
                        .chain(
                            manifest
                                .connections
                                .iter()
                                .filter(|c| c.runtime_users)
                                .map(|c| LiveRecipeConfig {
                                    provider: c.provider.clone(),
                                    skip_validation: true,
                                    account_id: by_name.get(&c.name).copied(),
                                }),
                        )
                        .collect(),
                });
            }
        }
        live.customers
            .insert(customer.external_id.clone(), live_customer);
    }
    live
}

fn manifest_strategy(index: usize) -> impl Strategy<Value = DesiredManifest> {
    (
        1..4usize,                               // recipes
        0..3usize,                               // of which recipe functions
        1..3usize,                               // default connections
        any::<bool>(),                           // a runtime-users connection
        any::<bool>(),                           // parent: default
        prop::collection::vec(any::<bool>(), 6), // which defaults each recipe needs
    )
        .prop_map(
            move |(recipes, functions, defaults, runtime, parent_default, needs)| {
                let key = format!("m{index}");
                let mut connections: Vec<DesiredConnection> = (0..defaults)
                    .map(|c| DesiredConnection {
                        key: format!("c{c}"),
                        name: format!("Conn {c}"),
                        provider: format!("provider_{c}"),
                        ..DesiredConnection::default()
                    })
                    .collect();
                let recipe_list: Vec<DesiredRecipe> = (0..recipes)
                    .map(|r| DesiredRecipe {
                        name: format!("Recipe {r}"),
                        is_recipe_function: r < functions,
                        needs: (0..defaults)
                            .filter(|c| needs[(r + c) % needs.len()])
                            .map(|c| format!("Conn {c}"))
                            .collect(),
                        providers: vec!["runtime_app".to_owned()],
                    })
                    .collect();
                if runtime {
                    let recipe_functions: Vec<String> = recipe_list
                        .iter()
                        .filter(|r| r.is_recipe_function)
                        .map(|r| r.name.clone())
                        .collect();
                    let plain_needed = recipe_list.iter().any(|r| !r.is_recipe_function);
                    connections.push(DesiredConnection {
                        key: "users".to_owned(),
                        name: "User App".to_owned(),
                        provider: "runtime_app".to_owned(),
                        custom: false,
                        runtime_users: true,
                        parent: if parent_default && recipe_functions.is_empty() {
                            Parent::Default
                        } else {
                            Parent::None
                        },
                        recipe_functions,
                        plain_needed,
                    });
                }
                DesiredManifest {
                    key: key.clone(),
                    home_assets_folder: None,
                    folder: format!("Folder {index}"),
                    restart_recipes: false,
                    digest: format!("{index:064x}"),
                    required: recipe_list
                        .iter()
                        .map(|r| r.name.clone())
                        .collect::<BTreeSet<_>>(),
                    recipes: recipe_list,
                    connections,
                    ..DesiredManifest::default()
                }
            },
        )
}

fn desired_strategy() -> impl Strategy<Value = Desired> {
    (1..3usize)
        .prop_flat_map(|manifests| {
            let manifest_list: Vec<_> = (0..manifests).map(manifest_strategy).collect();
            (
                manifest_list,
                prop::collection::vec(
                    (
                        prop::collection::vec(any::<bool>(), 2),
                        0..4usize,
                        any::<bool>(),
                        prop::collection::vec(any::<bool>(), 3),
                    ),
                    1..4,
                ),
            )
        })
        .prop_map(|(manifests, customers)| {
            let mut desired = Desired::default();
            for manifest in manifests {
                desired.manifests.insert(manifest.key.clone(), manifest);
            }
            for (index, (takes, users, named, has_credentials)) in customers.into_iter().enumerate()
            {
                let chosen: Vec<String> = desired
                    .manifests
                    .keys()
                    .enumerate()
                    .filter(|(m, _)| takes[m % takes.len()])
                    .map(|(_, key)| key.clone())
                    .collect();
                let mut credentials = BTreeMap::new();
                for key in &chosen {
                    for (c, connection) in desired.manifests[key].connections.iter().enumerate() {
                        if connection.runtime_users {
                            continue;
                        }
                        let state = if has_credentials[c % has_credentials.len()] {
                            CredentialState::Known {
                                fingerprint: format!("{index:02}{c:062x}"),
                            }
                        } else {
                            CredentialState::Absent
                        };
                        credentials.insert(format!("{key}.{}", connection.key), state);
                    }
                }
                desired.customers.push(DesiredCustomer {
                    external_id: format!("customer-{index}"),
                    name: format!("Customer {index}"),
                    notification_email: format!("it@customer-{index}.example"),
                    manifests: chosen,
                    prune_runtime_users: index % 2 == 0,
                    runtime_users: (0..users)
                        .map(|u| DesiredUser {
                            id: format!("user-{u}"),
                            name: named.then(|| format!("User {u}")),
                        })
                        .collect(),
                    credentials,
                    ..DesiredCustomer::default()
                });
            }
            desired
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn a_converged_account_plans_nothing(desired in desired_strategy()) {
        let live = converged_live(&desired);
        let plan = diff(&desired, &live);
        prop_assert!(plan.changes.is_empty(), "changes: {:#?}", plan.changes);
        prop_assert!(plan.blocked.is_empty(), "blocked: {:#?}", plan.blocked);
        prop_assert!(plan.pending_users.is_empty(), "pending: {:#?}", plan.pending_users);
        prop_assert!(plan.unmanaged.is_empty(), "unmanaged: {:#?}", plan.unmanaged);
    }

    #[test]
    fn the_same_inputs_give_the_same_plan(desired in desired_strategy()) {
        let empty = Live::default();
        let first = serde_json::to_string(&diff(&desired, &empty)).expect("plan serializes");
        let second = serde_json::to_string(&diff(&desired, &empty)).expect("plan serializes");
        prop_assert_eq!(first, second);
    }

    /// A saved plan is read back into exactly the plan that was saved: subjects, targets (the
    /// parent as the plan chose it), reasons and all.
    #[test]
    fn a_plan_reads_back_from_json_unchanged(desired in desired_strategy()) {
        let empty = Live::default();
        let plan = diff(&desired, &empty);
        let text = serde_json::to_string(&plan).expect("plan serializes");
        let read: embedctl::plan::Plan = serde_json::from_str(&text).expect("plan deserializes");
        prop_assert_eq!(read, plan);
    }
}
