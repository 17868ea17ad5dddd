//! Scheduling: one task per customer (bounded), each customer's changes in phase order, the
//! phase-4 gate re-checked live before the first phase-4 change, and the outcome counted.
//! What each change does is in `steps`; the gate in `gate`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::events::{ApplyEvent, ApplyOutcome, CustomerOutcome};
use super::gate::{Gate, check_gate};
use super::steps::{CustomerState, desired_connection, execute};
use crate::credentials::ConnectionInput;
use crate::desired::Desired;
use crate::plan::{Change, Plan, Subject};
use crate::workato::Client;

/// How many customers are worked on at once; the client's pacing keeps the total within limits.
const CUSTOMER_CONCURRENCY: usize = 8;
/// How long an import may stay `in_progress` before apply gives up on it.
pub const IMPORT_TIMEOUT: Duration = Duration::from_secs(600);

/// Everything apply needs besides the plan. Secrets are resolved before the first write, so a
/// missing one stops the run before it changes anything.
pub struct ApplyOptions {
    pub desired: Desired,
    /// The resolved input of every default connection to authorize, by (customer, `m.c`).
    pub inputs: BTreeMap<(String, String), ConnectionInput>,
    /// The HMAC key credential fingerprints are recorded with.
    pub fingerprint_key: String,
    /// How long an import may take before apply gives up on it.
    pub import_timeout: Duration,
    /// The first pause between two import status reads; later ones grow (`MAX_POLL_FACTOR`).
    pub poll_interval: Duration,
    /// Receives every event as it happens (lines on stderr, or NDJSON).
    pub on_event: Arc<dyn Fn(&ApplyEvent) + Send + Sync>,
}

/// Runs the plan's changes against Workato and reports the outcome.
pub async fn apply(client: &Client, plan: &Plan, options: ApplyOptions) -> ApplyOutcome {
    let options = Arc::new(options);
    let mut by_customer: BTreeMap<String, Vec<Change>> = BTreeMap::new();
    for change in &plan.changes {
        by_customer
            .entry(change.customer.clone())
            .or_default()
            .push(change.clone());
    }
    (options.on_event)(&ApplyEvent::ApplyStart {
        customers: by_customer.len(),
        changes: plan.changes.len(),
    });
    let permits = Arc::new(Semaphore::new(CUSTOMER_CONCURRENCY));
    let mut tasks = JoinSet::new();
    // Which customer each task works on, and how many changes it has.
    let mut task_customers = BTreeMap::new();
    for (customer, mut changes) in by_customer {
        // Phases strictly in order; within a phase, the plan's order.
        changes.sort_by_key(|change| change.phase);
        let client = client.clone();
        let options = Arc::clone(&options);
        let permits = Arc::clone(&permits);
        let count = changes.len();
        let task_customer = customer.clone();
        let handle = tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            run_customer(&client, &task_customer, changes, &options).await
        });
        task_customers.insert(handle.id(), (customer, count));
    }
    let mut outcome = ApplyOutcome::default();
    let mut results = Vec::new();
    while let Some(joined) = tasks.join_next_with_id().await {
        match joined {
            Ok((_, result)) => results.push(result),
            // A customer's task that died (a bug) must not vanish from the outcome: its changes
            // are counted as failed, so the run cannot exit 0 with their work undone.
            Err(error) => {
                let (customer, count) = task_customers
                    .get(&error.id())
                    .cloned()
                    .unwrap_or_else(|| ("(unknown customer)".to_owned(), 1));
                (options.on_event)(&ApplyEvent::CustomerFailed {
                    customer: customer.clone(),
                    error: format!(
                        "embedctl stopped working on this customer after an internal error (a \
                         bug: please report it); the outcome of its {count} changes is unknown \
                         and they count as failed: run apply again"
                    ),
                });
                results.push(CustomerOutcome {
                    customer,
                    failed: count.max(1),
                    ..CustomerOutcome::default()
                });
            }
        }
    }
    let mut customers: BTreeMap<String, CustomerOutcome> = results
        .into_iter()
        .map(|c| (c.customer.clone(), c))
        .collect();
    for blocked in &plan.blocked {
        customers
            .entry(blocked.customer.clone())
            .or_insert_with(|| CustomerOutcome {
                customer: blocked.customer.clone(),
                ..CustomerOutcome::default()
            })
            .blocked += 1;
    }
    for (customer, _) in plan.pending_people() {
        customers
            .entry(customer.to_owned())
            .or_insert_with(|| CustomerOutcome {
                customer: customer.to_owned(),
                ..CustomerOutcome::default()
            })
            .pending_users += 1;
    }
    for customer in customers.values_mut() {
        customer.status = if customer.failed > 0 || customer.blocked > 0 || customer.skipped > 0 {
            "integration setup is in progress".to_owned()
        } else {
            "ready".to_owned()
        };
        outcome.succeeded += customer.succeeded;
        outcome.failed += customer.failed;
        outcome.skipped += customer.skipped;
        outcome.blocked += customer.blocked;
        outcome.pending_users += customer.pending_users;
    }
    outcome.customers = customers.into_values().collect();
    (options.on_event)(&ApplyEvent::Summary(outcome.clone()));
    outcome
}

async fn run_customer(
    client: &Client,
    customer: &str,
    changes: Vec<Change>,
    options: &ApplyOptions,
) -> CustomerOutcome {
    let emit = |event: ApplyEvent| (options.on_event)(&event);
    let mut outcome = CustomerOutcome {
        customer: customer.to_owned(),
        ..CustomerOutcome::default()
    };
    let mut state = CustomerState {
        customer_id: changes.iter().find_map(|c| c.target.customer_id),
        folders: BTreeMap::new(),
        home_assets_folders: BTreeMap::new(),
        snapshot: None,
    };
    for change in &changes {
        if let (Some(folder), Some(manifest)) = (change.target.folder_id, change.subject.manifest())
        {
            state.folders.entry(manifest.to_owned()).or_insert(folder);
        }
    }
    let mut failed_phase: Option<u8> = None;
    let mut gate: Option<Gate> = None;
    // (manifest, connection name) of every authorization that failed in this run: a recipe that
    // needs one of them is not started (Workato's refusal is never the check).
    let mut unauthorized: Vec<(String, String)> = Vec::new();
    for change in &changes {
        if let Some(phase) = failed_phase.filter(|phase| change.phase > *phase) {
            outcome.skipped += 1;
            emit(ApplyEvent::skipped_of(
                change,
                format!("a phase-{phase} change of this customer failed"),
            ));
            continue;
        }
        if let Some(name) = unmet_need(change, &unauthorized, options) {
            outcome.skipped += 1;
            emit(ApplyEvent::skipped_of(
                change,
                format!("connection \"{name}\", which it needs, was not authorized"),
            ));
            continue;
        }
        if change.phase == 4 {
            if gate.is_none() {
                let checked = check_gate(client, customer, &mut state, options).await;
                if let Gate::Closed(reason) = &checked {
                    emit(ApplyEvent::GateBlocked {
                        customer: customer.to_owned(),
                        reason: reason.clone(),
                    });
                }
                gate = Some(checked);
            }
            match &gate {
                // Workato says the layers below are not ready: blocked, like a plan's blocked
                // change, not a failure of this run.
                Some(Gate::Closed(reason)) => {
                    outcome.blocked += 1;
                    emit(ApplyEvent::gate_closed_for(change, reason.clone()));
                    continue;
                }
                // Nobody knows whether they are ready: the change is left undone for a reason
                // that is a failure.
                Some(Gate::Unknown(reason)) => {
                    outcome.skipped += 1;
                    emit(ApplyEvent::skipped_of(
                        change,
                        format!("the phase-4 gate could not be checked: {reason}"),
                    ));
                    continue;
                }
                Some(Gate::Open) | None => {}
            }
        }
        emit(ApplyEvent::start_of(change));
        match execute(client, change, &mut state, options).await {
            Ok(()) => {
                outcome.succeeded += 1;
                emit(ApplyEvent::done_of(change));
            }
            Err(error) => {
                outcome.failed += 1;
                failed_phase = Some(failed_phase.map_or(change.phase, |p| p.min(change.phase)));
                if let Subject::Connection {
                    manifest,
                    connection,
                } = &change.subject
                    && let Ok((_, declared)) = desired_connection(options, manifest, connection)
                {
                    unauthorized.push((manifest.clone(), declared.name.clone()));
                }
                emit(ApplyEvent::failed_of(change, error));
            }
        }
    }
    outcome
}

/// For a recipe start: the name of a connection it needs whose authorization failed in this run.
fn unmet_need(
    change: &Change,
    unauthorized: &[(String, String)],
    options: &ApplyOptions,
) -> Option<String> {
    let Subject::Recipe { manifest, recipe } = &change.subject else {
        return None;
    };
    let recipe = options
        .desired
        .manifests
        .get(manifest)?
        .recipes
        .iter()
        .find(|r| &r.name == recipe)?;
    recipe
        .needs
        .iter()
        .find(|need| {
            unauthorized
                .iter()
                .any(|(failed_manifest, name)| failed_manifest == manifest && name == *need)
        })
        .cloned()
}
