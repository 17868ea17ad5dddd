//! The Workato client and `observe`, over real HTTP.
//!
//! Most tests run against the simulator on `127.0.0.1:0`, set up through its own HTTP API; the
//! answer shapes the simulator never gives (bare arrays, other error bodies) come from wiremock.

use std::collections::BTreeMap;
use std::time::Duration;

use embedctl::desired::{
    Desired, DesiredConnection, DesiredCustomer, DesiredManifest, DesiredUser,
};
use embedctl::live::Live;
use embedctl::observe::observe;
use embedctl::sim::{AccountState, Family, RATE_LIMITS, SimOptions};
use embedctl::workato::wire::{CustomerUpdate, NewConnection, NewCustomer};
use embedctl::workato::{
    ApiToken, Client, ClientConfig, ClientError, ConfigError, ConnectionFilter, CustomerRef,
    EndpointFamily, RetryPolicy,
};
use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};
use wiremock::matchers::{body_bytes, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::sim_context::{SimContext, TOKEN, quickstart_package_zip};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A client for `base_url` that never sleeps between retries and paces as if every window were
/// 600 times shorter (so that the 60-a-minute families do not slow the tests).
fn client_at(base_url: &str, token: &str) -> Client {
    let mut config = ClientConfig::new(base_url, ApiToken::new(token)).expect("a valid config");
    config.retry = RetryPolicy::immediate();
    config.time_scale = 600.0;
    Client::new(config).expect("the client builds")
}

fn sim_client(ctx: &SimContext) -> Client {
    client_at(ctx.running.base_url(), TOKEN)
}

/// The file of these tests: the quickstart's manifest, given to `acme-001` and `globex-002`.
fn desired() -> Desired {
    let manifest = DesiredManifest {
        key: "files-sync".to_owned(),
        home_assets_folder: None,
        folder: "Files Sync".to_owned(),
        connections: vec![
            DesiredConnection {
                key: "partner_app".to_owned(),
                name: "PartnerApp".to_owned(),
                provider: "partner_app".to_owned(),
                ..DesiredConnection::default()
            },
            DesiredConnection {
                key: "dropbox".to_owned(),
                name: "Dropbox".to_owned(),
                provider: "dropbox".to_owned(),
                runtime_users: true,
                ..DesiredConnection::default()
            },
        ],
        ..DesiredManifest::default()
    };
    let customer = |external_id: &str, users: &[&str]| DesiredCustomer {
        external_id: external_id.to_owned(),
        name: format!("Customer {external_id}"),
        notification_email: "ops@example.com".to_owned(),
        manifests: vec!["files-sync".to_owned()],
        runtime_users: users
            .iter()
            .map(|id| DesiredUser {
                id: (*id).to_owned(),
                name: None,
            })
            .collect(),
        ..DesiredCustomer::default()
    };
    Desired {
        customers: vec![
            customer("acme-001", &["user-a", "user-b"]),
            customer("globex-002", &["g-1001"]),
        ],
        manifests: BTreeMap::from([("files-sync".to_owned(), manifest)]),
    }
}

/// `POST` `path` with a JSON body through the simulator's HTTP API; the answer's JSON.
async fn post(ctx: &SimContext, path: &str, body: Value) -> Value {
    let (status, answer) = ctx.send_json(Method::POST, path, body).await;
    assert_eq!(status, 200, "POST {path}: {answer}");
    answer
}

fn id_of(value: &Value) -> u64 {
    value["id"].as_u64().expect("an id")
}

/// What `set_up_account` made.
struct Account {
    acme: u64,
    acme_folder: u64,
    globex: u64,
    stranger: u64,
}

/// Through the simulator's HTTP API: `acme-001` with the quickstart package imported into
/// "Files Sync", its folder recorded in a property and two end users' Dropbox connections;
/// `globex-002` with nothing but itself and an unrecorded "Files Sync" project; and
/// `stranger-9`, whom the file does not list.
async fn set_up_account(ctx: &SimContext) -> Account {
    let customer = |external_id: &str| {
        json!({
            "name": format!("Customer {external_id}"),
            "notification_email": "ops@example.com",
            "external_id": external_id,
        })
    };
    let acme = id_of(&post(ctx, "/managed_users", customer("acme-001")).await);
    let globex = id_of(&post(ctx, "/managed_users", customer("globex-002")).await);
    let stranger = id_of(&post(ctx, "/managed_users", customer("stranger-9")).await);

    let acme_folder = id_of(
        &post(
            ctx,
            &format!("/managed_users/{acme}/folders"),
            json!({ "name": "Files Sync" }),
        )
        .await,
    );
    post(
        ctx,
        &format!("/managed_users/{globex}/folders"),
        json!({ "name": "Files Sync" }),
    )
    .await;

    let (status, import) = crate::sim_context::send(
        ctx.request(
            Method::POST,
            &format!("/managed_users/{acme}/imports?folder_id={acme_folder}"),
        )
        .header(CONTENT_TYPE, "application/octet-stream")
        .body(quickstart_package_zip()),
    )
    .await;
    assert_eq!(status, 200, "{import}");
    let import_path = format!("/managed_users/{acme}/imports/{}", id_of(&import));
    let mut done = false;
    for _ in 0..10 {
        let (_, status) = ctx.get(&import_path).await;
        if status["status"] == "completed" {
            done = true;
            break;
        }
    }
    assert!(done, "the import completes");

    post(
        ctx,
        &format!("/managed_users/{acme}/properties"),
        json!({ "properties": {
            "embedctl_folder.files-sync": acme_folder.to_string(),
            "embedctl_digest.files-sync": "d1g35t",
            "partner_setting": "not ours",
        }}),
    )
    .await;
    for user in ["user-a", "user-b"] {
        post(
            ctx,
            &format!("/managed_users/{acme}/connections"),
            json!({
                "name": format!("Dropbox - {user}"),
                "provider": "dropbox",
                "external_id": user,
                "folder_id": acme_folder,
                "parent_id": null,
                "shell_connection": true,
            }),
        )
        .await;
    }
    Account {
        acme,
        acme_folder,
        globex,
        stranger,
    }
}

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs
        .iter()
        .map(|(name, count)| ((*name).to_owned(), *count))
        .collect()
}

async fn sim_stats(ctx: &SimContext) -> Value {
    ctx.sim_get("/stats").await
}

// ---------------------------------------------------------------------------------------------
// observe against the simulator
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn observing_an_empty_account_reads_one_page_of_customers() {
    let ctx = SimContext::start().await;
    let live = observe(&sim_client(&ctx), &desired(), &[])
        .await
        .expect("observe");
    assert_eq!(
        live,
        Live {
            calls: counts(&[("customers", 1)]),
            ..Live::default()
        }
    );
}

#[tokio::test]
async fn observe_reads_each_customer_with_list_calls_only() {
    let ctx = SimContext::start().await;
    let account = set_up_account(&ctx).await;
    let before = sim_stats(&ctx).await;
    let live = observe(&sim_client(&ctx), &desired(), &[])
        .await
        .expect("observe");

    // One customers page (two customers: fewer than any server's page, so nothing follows); per
    // customer one connections list, one recipes page (acme's few, globex's none), one
    // properties read; the folders (one short page) only for globex, whose folder id is not
    // recorded.
    assert_eq!(
        live.calls,
        counts(&[
            ("connections_list", 2),
            ("customers", 1),
            ("folders", 1),
            ("properties_list", 2),
            ("recipes_read", 2),
        ])
    );
    // The simulator counted the same calls.
    let after = sim_stats(&ctx).await;
    let received: BTreeMap<String, u64> = after["calls"]
        .as_object()
        .expect("calls")
        .iter()
        .map(|(family, count)| {
            let earlier = before["calls"][family].as_u64().unwrap_or(0);
            (family.clone(), count.as_u64().unwrap_or(0) - earlier)
        })
        .filter(|(_, count)| *count > 0)
        .collect();
    assert_eq!(received, live.calls);

    assert_eq!(live.customers.len(), 2);
    assert_eq!(live.unmanaged_customers.len(), 1);
    let stranger = &live.unmanaged_customers[0];
    assert_eq!(
        (
            stranger.id,
            stranger.external_id.as_deref(),
            stranger.name.as_str()
        ),
        (account.stranger, Some("stranger-9"), "Customer stranger-9")
    );

    let acme = &live.customers["acme-001"];
    assert_eq!(acme.id, account.acme);
    assert_eq!(acme.name, "Customer acme-001");
    assert_eq!(acme.notification_email, "ops@example.com");
    assert!(!acme.has_environments);
    assert_eq!(acme.projects, None, "the folder id is recorded");
    assert_eq!(
        acme.properties,
        BTreeMap::from([
            ("embedctl_digest.files-sync".to_owned(), "d1g35t".to_owned()),
            (
                "embedctl_folder.files-sync".to_owned(),
                account.acme_folder.to_string()
            ),
        ]),
        "only embedctl's own properties are read"
    );
    let connections: Vec<(&str, &str, Option<&str>, bool)> = acme
        .connections
        .iter()
        .map(|c| {
            (
                c.name.as_str(),
                c.provider.as_str(),
                c.external_id.as_deref(),
                c.folder_id == Some(account.acme_folder),
            )
        })
        .collect();
    // The package's own connections land in its "Files Sync" sub-folder of the target folder;
    // the end users' connections were put in the target folder itself.
    assert_eq!(
        connections,
        vec![
            ("Dropbox", "dropbox", None, false),
            ("PartnerApp", "partner_app", None, false),
            ("Dropbox - user-a", "dropbox", Some("user-a"), true),
            ("Dropbox - user-b", "dropbox", Some("user-b"), true),
        ],
        "runtime user connections are included, in id order"
    );
    assert!(acme.connections.iter().all(|c| !c.is_authorized()));
    let dropbox = acme.connections[0].id;
    let partner_app = acme.connections[1].id;
    let imported_folder = acme.connections[0].folder_id;
    assert!(imported_folder.is_some());
    type RecipeSummary<'a> = (&'a str, bool, Vec<(&'a str, Option<u64>)>);
    let mut recipes: Vec<RecipeSummary> = acme
        .recipes
        .iter()
        .map(|r| {
            (
                r.name.as_str(),
                r.running,
                r.config
                    .iter()
                    .map(|entry| (entry.provider.as_str(), entry.account_id))
                    .collect(),
            )
        })
        .collect();
    recipes.sort();
    assert_eq!(
        recipes,
        vec![
            (
                "Get file",
                false,
                vec![
                    ("workato_recipe_function", None),
                    ("dropbox", Some(dropbox))
                ]
            ),
            (
                "List files",
                false,
                vec![
                    ("clock", None),
                    ("dropbox", Some(dropbox)),
                    ("partner_app", Some(partner_app)),
                    ("logger", None)
                ]
            ),
        ]
    );
    assert!(acme.recipes.iter().all(|r| r.folder_id == imported_folder));

    let globex = &live.customers["globex-002"];
    assert_eq!(globex.id, account.globex);
    assert!(globex.connections.is_empty() && globex.recipes.is_empty());
    assert!(globex.properties.is_empty());
    let projects: Vec<&str> = globex
        .projects
        .as_ref()
        .expect("projects read: no folder id recorded")
        .iter()
        .map(|folder| folder.name.as_str())
        .collect();
    assert_eq!(projects, vec!["Files Sync"]);
}

#[tokio::test]
async fn observe_limited_to_some_customers_reads_only_them_and_reports_no_strangers() {
    let ctx = SimContext::start().await;
    set_up_account(&ctx).await;
    let live = observe(&sim_client(&ctx), &desired(), &["globex-002".to_owned()])
        .await
        .expect("observe");
    assert_eq!(
        live.customers.keys().collect::<Vec<_>>(),
        vec!["globex-002"]
    );
    assert!(live.unmanaged_customers.is_empty());
    let log = ctx.sim_get("/log").await;
    let customer_reads: Vec<&str> = log["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|entry| entry["family"] == "customers")
        .filter_map(|entry| entry["path"].as_str())
        .collect();
    assert_eq!(
        customer_reads,
        vec!["/api/managed_users/Eglobex-002"],
        "one customer is looked up by external id, not listed"
    );
    assert_eq!(
        live.calls,
        counts(&[
            ("connections_list", 1),
            ("customers", 1),
            ("folders", 1),
            ("properties_list", 1),
            ("recipes_read", 1),
        ])
    );
}

#[tokio::test]
async fn observe_limited_to_several_customers_lists_them_and_counts_only_its_own_calls() {
    let ctx = SimContext::start().await;
    set_up_account(&ctx).await;
    let client = sim_client(&ctx);
    let only = ["acme-001".to_owned(), "globex-002".to_owned()];
    let first = observe(&client, &desired(), &only).await.expect("observe");
    let second = observe(&client, &desired(), &only).await.expect("observe");
    assert_eq!(
        first.customers.keys().collect::<Vec<_>>(),
        vec!["acme-001", "globex-002"]
    );
    assert!(first.unmanaged_customers.is_empty(), "not with a filter");
    assert_eq!(
        first.calls["customers"], 1,
        "one page lists both; shorter than any server's page, it is the last"
    );
    assert_eq!(
        first, second,
        "the same account reads the same, calls included"
    );
    assert_eq!(
        client.calls()["customers"],
        2,
        "the client counts both runs"
    );
}

/// A state with `big-001`, whose 1,150 connections overflow the list's cap of 1,000, and
/// `env-003`, which has Embedded environments.
fn crowded_account() -> AccountState {
    let stamp = "2026-01-01T00:00:00Z";
    let folder = |id: u64, name: &str| {
        json!({ "id": id, "name": name, "parent_id": 2, "is_project": true, "project_id": id,
                "created_at": stamp, "updated_at": stamp })
    };
    let mut connections = serde_json::Map::new();
    let mut add = |id: u64, provider: &str, folder_id: u64, external_id: Option<String>| {
        connections.insert(
            id.to_string(),
            json!({
                "id": id, "name": format!("{provider} {id}"), "provider": provider,
                "folder_id": folder_id, "parent_id": null, "external_id": external_id,
                "authorization_status": null, "authorization_error": null, "authorized_at": null,
                "created_at": stamp, "updated_at": stamp,
            }),
        );
    };
    for id in 100..700 {
        add(id, "dropbox", 10, Some(format!("user-{id}")));
    }
    for id in 700..1200 {
        add(id, "dropbox", 11, Some(format!("user-{id}")));
    }
    for id in 1200..1250 {
        add(id, "partner_app", 10, None);
    }
    let state = json!({
        "next_id": 5000,
        "clock": 10,
        "customers": {
            "1": {
                "id": 1, "external_id": "big-001", "name": "Big", "notification_email": "b@x.example",
                "created_at": stamp, "updated_at": stamp, "home_folder_id": 2,
                "folders": {
                    "2": { "id": 2, "name": "Home", "parent_id": 0, "is_project": false,
                           "project_id": 2, "created_at": stamp, "updated_at": stamp },
                    "10": folder(10, "Files Sync"),
                    "11": folder(11, "Elsewhere"),
                },
                "connections": connections,
                "properties": { "embedctl_folder.files-sync": "10" },
            },
            "3": {
                "id": 3, "external_id": "env-003", "name": "Env", "notification_email": "e@x.example",
                "created_at": stamp, "updated_at": stamp, "home_folder_id": 4,
                "environments": [
                    { "id": 5, "environment_type": "test" },
                    { "id": 6, "environment_type": "prod" },
                ],
            },
        },
    });
    serde_json::from_value(state).expect("a simulator state")
}

#[tokio::test]
async fn a_cut_connections_list_is_narrowed_until_nothing_is_missing() {
    let ctx = SimContext::start_with(crowded_account(), SimOptions::default()).await;
    let mut file = desired();
    for customer in &mut file.customers {
        customer.external_id = customer.external_id.replace("acme-001", "big-001");
        customer.external_id = customer.external_id.replace("globex-002", "env-003");
    }
    let live = observe(&sim_client(&ctx), &file, &[])
        .await
        .expect("observe");

    let big = &live.customers["big-001"];
    assert_eq!(big.connections.len(), 1_150, "every connection, once");
    let ids: Vec<u64> = big.connections.iter().map(|c| c.id).collect();
    assert_eq!(ids, (100..1250).collect::<Vec<_>>());
    // Everything (cut) → dropbox (cut) → dropbox in folder 10, in folder 11 → partner_app.
    assert_eq!(live.calls["connections_list"], 5);

    let env = &live.customers["env-003"];
    assert!(env.has_environments);
    assert!(env.connections.is_empty() && env.recipes.is_empty() && env.projects.is_none());
    assert_eq!(
        live.calls,
        counts(&[
            ("connections_list", 5),
            ("customers", 1),
            ("properties_list", 1),
            ("recipes_read", 1),
        ]),
        "nothing is read of a customer with environments"
    );
}

// ---------------------------------------------------------------------------------------------
// Pacing, retries, lost answers
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn paced_writes_stay_under_the_limit_and_all_succeed() {
    // The simulator allows 2 connection writes per 60 s, every window 600 times shorter: one
    // write per 50 ms. The client's own table says 60 per 60 s; divided by 20 that is the same
    // one per 50 ms, which is what `EMBEDCTL_TIME_SCALE` is for.
    let options = SimOptions {
        time_scale: 600.0,
        ..SimOptions::default()
    };
    let ctx = SimContext::start_with(AccountState::default(), options).await;
    ctx.running
        .simulator()
        .set_rate_limit(Family::Connections, vec![(2, 60)]);
    let customer = id_of(
        &post(
            &ctx,
            "/managed_users",
            json!({ "name": "Acme", "notification_email": "a@x.example", "external_id": "acme" }),
        )
        .await,
    );
    let mut config = ClientConfig::from_env(None, None, |name| match name {
        "WORKATO_BASE_URL" => Some(ctx.running.base_url().to_owned()),
        "WORKATO_API_TOKEN" => Some(TOKEN.to_owned()),
        "EMBEDCTL_TIME_SCALE" => Some("20".to_owned()),
        // A little headroom, as a partner whose own product shares the budget would keep.
        "EMBEDCTL_RATE_SHARE" => Some("0.8".to_owned()),
        _ => None,
    })
    .expect("config");
    config.retry = RetryPolicy {
        max_attempts: 6,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(200),
    };
    let client = Client::new(config).expect("client");

    let writes = 10;
    let mut tasks = tokio::task::JoinSet::new();
    for user in 0..writes {
        let client = client.clone();
        tasks.spawn(async move {
            let connection = NewConnection {
                name: format!("Dropbox - user {user}"),
                provider: "dropbox".to_owned(),
                external_id: Some(format!("user-{user}")),
                shell_connection: true,
                ..NewConnection::default()
            };
            client.create_connection(customer, &connection).await
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.expect("no panic").expect("every write succeeds");
    }
    let stats = sim_stats(&ctx).await;
    assert_eq!(stats["calls"]["connections"], writes);
    let throttled = stats["throttled"]["connections"].as_u64().unwrap_or(0);
    assert!(
        throttled <= 2,
        "paced writes were throttled {throttled} times"
    );
}

#[tokio::test]
async fn unpaced_writes_would_have_been_throttled() {
    // The control for the test above: the same limit, the client pacing as if the limit were
    // Workato's published one, hence far too fast for it; retries still get every write through.
    let options = SimOptions {
        time_scale: 600.0,
        ..SimOptions::default()
    };
    let ctx = SimContext::start_with(AccountState::default(), options).await;
    ctx.running
        .simulator()
        .set_rate_limit(Family::Connections, vec![(2, 60)]);
    let customer = id_of(
        &post(
            &ctx,
            "/managed_users",
            json!({ "name": "Acme", "notification_email": "a@x.example", "external_id": "acme" }),
        )
        .await,
    );
    let mut config = ClientConfig::new(ctx.running.base_url(), ApiToken::new(TOKEN)).unwrap();
    config.time_scale = 600.0;
    config.retry = RetryPolicy {
        max_attempts: 20,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(60),
    };
    let client = Client::new(config).unwrap();
    for user in 0..6 {
        let connection = NewConnection {
            name: format!("Dropbox - user {user}"),
            provider: "dropbox".to_owned(),
            shell_connection: true,
            ..NewConnection::default()
        };
        client
            .create_connection(customer, &connection)
            .await
            .expect("a throttled create is sent again: Workato did not process it");
    }
    let stats = sim_stats(&ctx).await;
    assert_eq!(stats["calls"]["connections"], 6);
    assert!(stats["throttled"]["connections"].as_u64().unwrap_or(0) > 0);
    // The client counts what it sent, 429s included.
    assert!(client.calls()["connections"] > 6);
}

#[tokio::test]
async fn a_storm_of_server_errors_is_ridden_out_by_reads() {
    let ctx = SimContext::start_with(
        AccountState::default(),
        SimOptions {
            seed: 42,
            ..SimOptions::default()
        },
    )
    .await;
    set_up_account(&ctx).await;
    let calm = observe(&sim_client(&ctx), &desired(), &[])
        .await
        .expect("observe");

    ctx.running
        .simulator()
        .set_faults(|faults| faults.fail_rate = 0.5);
    let mut config = ClientConfig::new(ctx.running.base_url(), ApiToken::new(TOKEN)).unwrap();
    config.time_scale = 600.0;
    config.retry = RetryPolicy {
        max_attempts: 12,
        ..RetryPolicy::immediate()
    };
    let stormy = observe(&Client::new(config).unwrap(), &desired(), &[])
        .await
        .expect("every read gets through in the end");

    assert_eq!(stormy.customers, calm.customers);
    assert_eq!(stormy.unmanaged_customers, calm.unmanaged_customers);
    let stats = sim_stats(&ctx).await;
    assert!(stats["injected_failures"].as_u64().unwrap_or(0) > 0);
    let sent: u64 = stormy.calls.values().sum();
    let needed: u64 = calm.calls.values().sum();
    assert!(
        sent > needed,
        "retries are counted: {sent} sent for {needed}"
    );
}

#[tokio::test]
async fn a_server_error_on_a_create_is_not_retried_blindly() {
    let ctx = SimContext::start().await;
    let client = sim_client(&ctx);
    ctx.running
        .simulator()
        .set_faults(|faults| faults.fail_rate = 1.0);
    let error = client
        .create_customer(&NewCustomer {
            name: "Acme".to_owned(),
            notification_email: "a@x.example".to_owned(),
            external_id: "acme".to_owned(),
        })
        .await
        .expect_err("the create fails");
    assert!(error.is_outcome_unknown(), "{error}");
    assert_eq!(client.calls()["customers_create"], 1, "sent once");
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_is_outcome_unknown_and_did_happen() {
    let ctx = SimContext::start().await;
    let account = set_up_account(&ctx).await;
    let client = sim_client(&ctx);
    ctx.running.simulator().set_faults(|faults| {
        faults.drop_after_commit.insert("connections".to_owned(), 1);
    });
    let connection = NewConnection {
        name: "Dropbox - user-c".to_owned(),
        provider: "dropbox".to_owned(),
        folder_id: Some(account.acme_folder),
        external_id: Some("user-c".to_owned()),
        shell_connection: true,
        ..NewConnection::default()
    };
    let error = client
        .create_connection(account.acme, &connection)
        .await
        .expect_err("the answer is lost");
    assert!(
        matches!(error, ClientError::OutcomeUnknown { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("natural key"), "{message}");
    assert_eq!(client.calls()["connections"], 1, "not sent again");

    // It happened: the lookup by natural key that the caller must make finds it.
    let found = client
        .list_connections(
            account.acme,
            &ConnectionFilter {
                include_runtime_connections: true,
                external_id: Some("user-c".to_owned()),
                ..ConnectionFilter::default()
            },
        )
        .await
        .expect("list");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].name, "Dropbox - user-c");
}

#[tokio::test]
async fn idempotent_writes_whose_answer_is_lost_are_sent_again() {
    let ctx = SimContext::start().await;
    let account = set_up_account(&ctx).await;
    let client = sim_client(&ctx);
    ctx.running.simulator().set_faults(|faults| {
        faults.drop_after_commit.insert("folders".to_owned(), 1);
        faults
            .drop_after_commit
            .insert("properties_upsert".to_owned(), 1);
        faults.drop_after_commit.insert("customers".to_owned(), 1);
    });
    // A project is renamed through the projects route (the simulator's project id is the
    // folder's id).
    client
        .rename_project(account.acme, account.acme_folder, "Files Sync 2")
        .await
        .expect("rename");
    client
        .upsert_properties(
            account.acme,
            &BTreeMap::from([("embedctl_digest.files-sync".to_owned(), "new".to_owned())]),
        )
        .await
        .expect("upsert");
    let customer = client
        .update_customer(
            account.globex,
            &CustomerUpdate {
                name: Some("Globex Corporation".to_owned()),
                ..CustomerUpdate::default()
            },
        )
        .await
        .expect("update");
    assert_eq!(customer.name, "Globex Corporation");
    assert_eq!(
        client.calls(),
        counts(&[("customers", 2), ("folders", 2), ("properties_upsert", 2)])
    );
    let properties = client
        .get_properties(account.acme, "embedctl_digest")
        .await
        .unwrap();
    assert_eq!(properties["embedctl_digest.files-sync"], "new");
}

#[tokio::test]
async fn a_create_that_cannot_connect_is_retried_then_reported() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let client = client_at(&format!("http://{address}/api"), TOKEN);
    let error = client
        .create_customer(&NewCustomer {
            name: "Acme".to_owned(),
            notification_email: "a@x.example".to_owned(),
            external_id: "acme".to_owned(),
        })
        .await
        .expect_err("nothing listens");
    match &error {
        ClientError::Transport { attempts, .. } => assert_eq!(*attempts, 6),
        other => panic!("expected a transport error, got {other:?}"),
    }
    assert_eq!(client.calls()["customers_create"], 6);
}

#[tokio::test]
async fn the_client_speaks_every_endpoint_the_simulator_serves() {
    let ctx = SimContext::start().await;
    let client = sim_client(&ctx);
    let customer = client
        .create_customer(&NewCustomer {
            name: "Acme".to_owned(),
            notification_email: "a@x.example".to_owned(),
            external_id: "acme:001/x".to_owned(),
        })
        .await
        .expect("create");
    let by_external_id = client
        .get_customer_by_external_id("acme:001/x")
        .await
        .expect("get")
        .expect("found");
    assert_eq!(by_external_id.id, customer.id);
    assert_eq!(
        client.get_customer_by_external_id("nobody").await.unwrap(),
        None
    );

    let folder = client
        .create_folder(customer.id, "Files Sync", None)
        .await
        .expect("folder");
    let projects = client.list_folders(customer.id, None).await.unwrap();
    assert_eq!(projects.len(), 1);
    assert_eq!(projects[0].id, folder.id);

    let started = client
        .import_package(
            customer.id,
            folder.id,
            None,
            &quickstart_package_zip(),
            false,
        )
        .await
        .expect("import");
    let mut status = started.clone();
    for _ in 0..10 {
        status = client.import_status(customer.id, started.id).await.unwrap();
        if status.state() != embedctl::workato::wire::ImportState::InProgress {
            break;
        }
    }
    assert_eq!(
        status.state(),
        embedctl::workato::wire::ImportState::Completed
    );
    assert_eq!(status.recipe_status.len(), 2);

    let connections = client
        .list_connections(customer.id, &ConnectionFilter::default())
        .await
        .unwrap();
    let partner_app = connections
        .iter()
        .find(|c| c.connector() == "partner_app")
        .expect("imported shell");
    let recipes = client.list_recipes(customer.id).await.unwrap();
    let list_files = recipes
        .iter()
        .find(|r| r.name == "List files")
        .expect("imported recipe");

    // Starting before the connection is authorized: HTTP 200 with `success: false`.
    let refused = client
        .start_recipe(customer.id, list_files.id)
        .await
        .expect_err("refused");
    match &refused {
        ClientError::Refused { summary, .. } => {
            assert!(summary.contains("unconnected"), "{summary}");
            assert!(summary.contains(&partner_app.id.to_string()), "{summary}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }

    let mut body = serde_json::Map::new();
    body.insert("input".to_owned(), json!({ "api_key": "k-123" }));
    let updated = client
        .update_connection(customer.id, partner_app.id, &body)
        .await
        .unwrap();
    assert_eq!(updated.authorization_status.as_deref(), Some("success"));
    // Get file needs only Dropbox, which the end users bring (`skip_validation`).
    for recipe in &recipes {
        client
            .start_recipe(CustomerRef::ExternalId("acme:001/x"), recipe.id)
            .await
            .unwrap_or_else(|error| panic!("{}: {error}", recipe.name));
    }
    assert!(
        client
            .list_recipes_page(customer.id, 1)
            .await
            .unwrap()
            .iter()
            .all(|r| r.running)
    );
    client
        .stop_recipe(customer.id, list_files.id)
        .await
        .unwrap();

    let shell = client
        .create_connection(
            customer.id,
            &NewConnection {
                name: "Dropbox - u1".to_owned(),
                provider: "dropbox".to_owned(),
                folder_id: Some(folder.id),
                external_id: Some("u1".to_owned()),
                shell_connection: true,
                ..NewConnection::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(shell.parent_id, None);
    assert_eq!(shell.external_id.as_deref(), Some("u1"));
    client
        .delete_connection(customer.id, shell.id)
        .await
        .unwrap();
    let missing = client
        .delete_connection(customer.id, shell.id)
        .await
        .expect_err("already gone");
    assert_eq!(missing.status(), Some(404));

    let duplicate = client
        .create_customer(&NewCustomer {
            name: "Acme again".to_owned(),
            notification_email: "a@x.example".to_owned(),
            external_id: "acme:001/x".to_owned(),
        })
        .await
        .expect_err("duplicate external id");
    assert!(
        duplicate
            .to_string()
            .contains("external_id: has already been taken"),
        "{duplicate}"
    );
}

// ---------------------------------------------------------------------------------------------
// The two copies of the rate-limit table
// ---------------------------------------------------------------------------------------------

#[test]
fn the_client_and_the_simulator_agree_on_every_rate_limit() {
    for family in EndpointFamily::ALL {
        let sim = Family::from_name(family.name())
            .unwrap_or_else(|| panic!("the simulator has no family `{}`", family.name()));
        assert_eq!(
            family.windows(),
            sim.windows(),
            "`{}` differs between the client and the simulator",
            family.name()
        );
    }
    for (family, windows) in RATE_LIMITS {
        let client = EndpointFamily::from_name(family.name())
            .unwrap_or_else(|| panic!("the client has no family `{}`", family.name()));
        assert_eq!(client.windows(), *windows, "`{}`", family.name());
    }
    assert_eq!(EndpointFamily::ALL.len(), RATE_LIMITS.len());
}

// ---------------------------------------------------------------------------------------------
// Tolerant decoding (wiremock: shapes the simulator never gives)
// ---------------------------------------------------------------------------------------------

async fn mock(server: &MockServer, verb: &str, route: &str, response: ResponseTemplate) {
    Mock::given(method(verb))
        .and(path(format!("/api{route}")))
        .respond_with(response)
        .mount(server)
        .await;
}

fn mock_client(server: &MockServer) -> Client {
    client_at(&format!("{}/api", server.uri()), "canary-token-5e3f")
}

#[tokio::test]
async fn lists_come_bare_wrapped_in_items_or_in_result() {
    let server = MockServer::start().await;
    // Paged lists end at the first empty page (mounted first: the first matching mock answers).
    for (route, empty) in [
        ("/managed_users", json!([])),
        ("/managed_users/1/recipes", json!({ "items": [] })),
    ] {
        Mock::given(method("GET"))
            .and(path(format!("/api{route}")))
            .and(query_param("page", "2"))
            .respond_with(ResponseTemplate::new(200).set_body_json(empty))
            .mount(&server)
            .await;
    }
    mock(
        &server,
        "GET",
        "/managed_users",
        ResponseTemplate::new(200).set_body_json(json!([
            { "id": 1, "external_id": "a", "name": "A", "notification_email": null }
        ])),
    )
    .await;
    mock(
        &server,
        "GET",
        "/managed_users/1/recipes",
        ResponseTemplate::new(200).set_body_json(json!({ "items": [
            { "id": 9, "name": "R", "running": true, "config": [
                { "keyword": "application", "provider": "slack", "skip_validation": null, "account_id": 4 }
            ] }
        ] })),
    )
    .await;
    mock(
        &server,
        "GET",
        "/managed_users/1/connections",
        ResponseTemplate::new(200).set_body_json(json!({ "result": [
            { "id": 4, "name": "Slack", "application": "slack", "authorization_status": "success" }
        ] })),
    )
    .await;
    mock(
        &server,
        "GET",
        "/managed_users/Ea",
        ResponseTemplate::new(200)
            .set_body_json(json!({ "result": [ { "id": 1, "external_id": "a", "name": "A" } ] })),
    )
    .await;
    let client = mock_client(&server);

    let customers = client.list_customers().await.unwrap();
    assert_eq!(customers.len(), 1);
    assert_eq!(customers[0].external_id.as_deref(), Some("a"));
    let recipes = client.list_recipes(1).await.unwrap();
    assert_eq!(recipes[0].config[0].account_id, Some(4));
    assert!(!recipes[0].config[0].skip_validation);
    let connections = client
        .list_connections(1, &ConnectionFilter::default())
        .await
        .unwrap();
    assert_eq!(
        connections[0].connector(),
        "slack",
        "`application` stands in"
    );
    let customer = client.get_customer_by_external_id("a").await.unwrap();
    assert_eq!(customer.map(|c| c.id), Some(1), "a one-element `result`");
}

#[tokio::test]
async fn error_bodies_are_read_in_every_shape() {
    let server = MockServer::start().await;
    mock(
        &server,
        "POST",
        "/managed_users",
        ResponseTemplate::new(400).set_body_json(json!({
            "message": "Validation failed",
            "errors": { "name": ["can't be blank"], "notification_email": ["is invalid"] }
        })),
    )
    .await;
    mock(
        &server,
        "PUT",
        "/managed_users/1",
        ResponseTemplate::new(422).set_body_json(
            json!({ "errors": [ { "code": 422, "title": "Origin URL is invalid" } ] }),
        ),
    )
    .await;
    mock(
        &server,
        "GET",
        "/managed_users/1/connections",
        ResponseTemplate::new(404).set_body_json(json!({ "message": "Not found" })),
    )
    .await;
    mock(
        &server,
        "POST",
        "/managed_users/1/folders",
        ResponseTemplate::new(400).set_body_json(json!({ "error": "Folder name is too long" })),
    )
    .await;
    mock(
        &server,
        "PUT",
        "/managed_users/1/recipes/7/start",
        ResponseTemplate::new(200).set_body_json(json!({
            "success": false,
            "code_errors": [[2, [["name", "search_records", "is invalid"]]]],
            "config_errors": [[1, [["account_id", 32148, "unconnected", { "key": "k" }]]]]
        })),
    )
    .await;
    mock(
        &server,
        "PUT",
        "/managed_users/1/recipes/8/stop",
        ResponseTemplate::new(200).set_body_json(json!({
            "success": false, "errors": { "running": ["can't modify running recipe"] }
        })),
    )
    .await;
    let client = mock_client(&server);

    let error = client
        .create_customer(&NewCustomer {
            name: String::new(),
            notification_email: "x".to_owned(),
            external_id: "a".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "`POST /managed_users` failed with HTTP 400: Validation failed: name: can't be blank; \
         notification_email: is invalid"
    );
    let error = client
        .update_customer(1, &CustomerUpdate::default())
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "`PUT /managed_users/1` failed with HTTP 422: Origin URL is invalid"
    );
    let error = client
        .list_connections(1, &ConnectionFilter::default())
        .await
        .unwrap_err();
    assert!(matches!(error, ClientError::NotFound { .. }), "{error:?}");
    assert!(error.to_string().contains("Not found"), "{error}");
    let error = client.create_folder(1, "x", None).await.unwrap_err();
    assert!(
        error.to_string().contains("Folder name is too long"),
        "{error}"
    );
    let error = client.start_recipe(1, 7).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "Workato refused `PUT /managed_users/1/recipes/7/start`: setup: step 1: account_id 32148 \
         unconnected; recipe code: step 2: name search_records is invalid"
    );
    let error = client.stop_recipe(1, 8).await.unwrap_err();
    assert!(matches!(error, ClientError::Refused { .. }), "{error:?}");
    assert!(
        error.to_string().contains("can't modify running recipe"),
        "{error}"
    );
}

#[tokio::test]
async fn decode_errors_name_the_json_path() {
    let server = MockServer::start().await;
    mock(
        &server,
        "GET",
        "/managed_users/1/recipes",
        ResponseTemplate::new(200).set_body_json(json!({ "items": [
            { "id": 1, "name": "ok", "running": false },
            { "id": 2, "name": "bad", "running": "yes" }
        ] })),
    )
    .await;
    mock(
        &server,
        "GET",
        "/managed_users/1/properties",
        ResponseTemplate::new(200).set_body_string("<html>maintenance</html>"),
    )
    .await;
    let client = mock_client(&server);
    match client.list_recipes(1).await.unwrap_err() {
        ClientError::Decode {
            operation, path, ..
        } => {
            assert_eq!(path, "items[1].running");
            assert_eq!(
                operation,
                "GET /managed_users/1/recipes?page=1&per_page=100&exclude_code=true"
            );
        }
        other => panic!("{other:?}"),
    }
    let error = client.get_properties(1, "embedctl_").await.unwrap_err();
    assert!(matches!(error, ClientError::Decode { .. }), "{error:?}");
    assert!(error.to_string().contains("not JSON"), "{error}");
}

#[tokio::test]
async fn a_429_is_waited_out_and_retry_after_is_read() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/managed_users/1/properties"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "1")
                .set_body_json(
                    json!({ "errors": [ { "code": 429, "title": "Too many requests" } ] }),
                ),
        )
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/managed_users/1/properties"))
        .and(query_param("prefix", "embedctl_"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "embedctl_x": "1" })))
        .mount(&server)
        .await;
    let mut config =
        ClientConfig::new(&format!("{}/api", server.uri()), ApiToken::new("t")).unwrap();
    // `Retry-After: 1` is capped to 50 ms here, so that the test stays fast.
    config.retry = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(50),
    };
    let client = Client::new(config).unwrap();
    let started = std::time::Instant::now();
    let properties = client.get_properties(1, "embedctl_").await.unwrap();
    assert_eq!(properties["embedctl_x"], "1");
    assert!(
        started.elapsed() >= Duration::from_millis(100),
        "two waits of 50 ms"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 3);

    // With one attempt fewer, the client gives up and says so.
    let mut config =
        ClientConfig::new(&format!("{}/api", server.uri()), ApiToken::new("t")).unwrap();
    config.retry = RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::immediate()
    };
    server.reset().await;
    mock(
        &server,
        "GET",
        "/managed_users/1/properties",
        ResponseTemplate::new(429),
    )
    .await;
    let error = Client::new(config)
        .unwrap()
        .get_properties(1, "embedctl_")
        .await
        .unwrap_err();
    assert!(
        matches!(error, ClientError::RateLimited { attempts: 1, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("EMBEDCTL_RATE_SHARE"), "{error}");
}

#[tokio::test]
async fn requests_carry_the_token_the_query_and_the_right_content_type() {
    let server = MockServer::start().await;
    let zip = b"PK\x03\x04 not really a zip".to_vec();
    Mock::given(method("POST"))
        .and(path("/api/managed_users/EAM10%3AXV303/imports"))
        .and(query_param("folder_id", "55"))
        .and(query_param("restart_recipes", "true"))
        .and(header("authorization", "Bearer canary-token-5e3f"))
        .and(header("content-type", "application/octet-stream"))
        .and(body_bytes(zip.clone()))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({ "id": 251, "operation_type": "import", "status": "in_progress" }),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/managed_users/3/connections"))
        .and(query_param("include_runtime_connections", "true"))
        .and(query_param("provider", "dropbox"))
        .and(query_param("folder_id", "9"))
        .and(query_param("external_id", "user a"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "result": [] })))
        .expect(1)
        .mount(&server)
        .await;
    let client = mock_client(&server);
    let import = client
        .import_package(CustomerRef::ExternalId("AM10:XV303"), 55, None, &zip, true)
        .await
        .unwrap();
    assert_eq!(import.id, 251);
    let none = client
        .list_connections(
            3,
            &ConnectionFilter {
                include_runtime_connections: true,
                provider: Some("dropbox".to_owned()),
                folder_id: Some(9),
                external_id: Some("user a".to_owned()),
            },
        )
        .await
        .unwrap();
    assert!(none.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Configuration and the token
// ---------------------------------------------------------------------------------------------

fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |name| {
        pairs
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| (*value).to_owned())
    }
}

#[test]
fn a_missing_token_is_an_error_that_names_the_variable() {
    let error = ClientConfig::from_env(None, None, env(&[])).unwrap_err();
    assert!(matches!(error, ConfigError::MissingToken));
    assert!(
        error.to_string().contains("`WORKATO_API_TOKEN` is not set"),
        "{error}"
    );
    let error =
        ClientConfig::from_env(None, None, env(&[("WORKATO_API_TOKEN", "  ")])).unwrap_err();
    assert!(error.to_string().contains("WORKATO_API_TOKEN"), "{error}");
}

#[test]
fn base_urls_come_from_the_environment_the_file_or_the_region() {
    let token = ("WORKATO_API_TOKEN", "t");
    let base_url = |region: Option<&str>, file: Option<&str>, pairs: &[(&str, &str)]| {
        ClientConfig::from_env(region, file, env(pairs)).map(|config| config.base_url)
    };
    assert_eq!(
        base_url(None, None, &[token]).unwrap(),
        "https://www.workato.com/api"
    );
    assert_eq!(
        base_url(Some("eu"), None, &[token]).unwrap(),
        "https://app.eu.workato.com/api"
    );
    assert_eq!(
        base_url(Some("cn"), None, &[token]).unwrap(),
        "https://app.workatoapp.cn/api"
    );
    assert_eq!(
        base_url(
            Some("eu"),
            None,
            &[token, ("WORKATO_BASE_URL", "http://127.0.0.1:1234/api")]
        )
        .unwrap(),
        "http://127.0.0.1:1234/api",
        "the environment wins, and loopback may be plain http"
    );
    assert_eq!(
        base_url(None, Some("https://proxy.example/workato/api/"), &[token]).unwrap(),
        "https://proxy.example/workato/api"
    );
    let error = base_url(
        None,
        None,
        &[token, ("WORKATO_BASE_URL", "http://example.com")],
    )
    .unwrap_err();
    assert!(
        matches!(error, ConfigError::InsecureBaseUrl { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("loopback"), "{error}");
    assert!(error.to_string().contains("`WORKATO_BASE_URL`"), "{error}");
    let error = base_url(Some("mars"), None, &[token]).unwrap_err();
    assert!(
        error.to_string().contains("unknown Workato region `mars`"),
        "{error}"
    );
}

#[test]
fn rate_share_and_time_scale_are_read_and_checked() {
    let config = ClientConfig::from_env(
        None,
        None,
        env(&[
            ("WORKATO_API_TOKEN", "t"),
            ("EMBEDCTL_RATE_SHARE", "0.5"),
            ("EMBEDCTL_TIME_SCALE", "600"),
        ]),
    )
    .unwrap();
    assert_eq!((config.rate_share, config.time_scale), (0.5, 600.0));
    let error = ClientConfig::from_env(
        None,
        None,
        env(&[("WORKATO_API_TOKEN", "t"), ("EMBEDCTL_RATE_SHARE", "2")]),
    )
    .unwrap_err();
    assert!(
        error.to_string().contains("`EMBEDCTL_RATE_SHARE` is `2`"),
        "{error}"
    );
    let error = ClientConfig::from_env(
        None,
        None,
        env(&[("WORKATO_API_TOKEN", "t"), ("EMBEDCTL_TIME_SCALE", "fast")]),
    )
    .unwrap_err();
    assert!(error.to_string().contains("EMBEDCTL_TIME_SCALE"), "{error}");
}

#[tokio::test]
async fn the_token_never_shows_in_debug_output_or_error_messages() {
    const CANARY: &str = "canary-token-5e3f";
    let config =
        ClientConfig::from_env(Some("eu"), None, env(&[("WORKATO_API_TOKEN", CANARY)])).unwrap();
    let mut texts = vec![format!("{config:?}"), format!("{}", config.token)];

    let server = MockServer::start().await;
    mock(
        &server,
        "GET",
        "/managed_users",
        ResponseTemplate::new(401).set_body_json(json!({ "message": "Unauthorized" })),
    )
    .await;
    mock(
        &server,
        "POST",
        "/managed_users",
        ResponseTemplate::new(500).set_body_json(json!({ "message": "Server error" })),
    )
    .await;
    let client = mock_client(&server);
    texts.push(format!("{client:?}"));
    let unauthorized = client.list_customers().await.unwrap_err();
    assert!(matches!(
        unauthorized,
        ClientError::Unauthorized { status: 401, .. }
    ));
    assert!(unauthorized.to_string().contains("WORKATO_API_TOKEN"));
    let lost = client
        .create_customer(&NewCustomer {
            name: "A".to_owned(),
            notification_email: "a@x.example".to_owned(),
            external_id: "a".to_owned(),
        })
        .await
        .unwrap_err();
    let unreachable = client_at("http://127.0.0.1:9/api", CANARY)
        .list_customers()
        .await
        .unwrap_err();
    for error in [unauthorized, lost, unreachable] {
        texts.push(error.to_string());
        texts.push(format!("{error:?}"));
    }
    for text in &texts {
        assert!(!text.contains(CANARY), "the token leaked: {text}");
    }
    // The token was sent, though.
    let requests = server.received_requests().await.unwrap();
    assert!(requests.iter().all(
        |r| r.headers.get("authorization").and_then(|v| v.to_str().ok())
            == Some(&format!("Bearer {CANARY}")[..])
    ));
}
