//! Scheduling: two waves (phases 1-3 of every customer, then phase 4), one task per customer in
//! each (bounded), each customer's changes in phase order, its properties written in one upsert
//! before its recipes start, the phase-4 gate re-checked live before the first phase-4 change,
//! a deadline (`--max-duration`) after which nothing starts, and the outcome counted.
//! What each change does is in `steps`; the gate in `gate`.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::task::JoinSet;

use super::events::{ApplyEvent, ApplyOutcome, CustomerOutcome, StopCause};
use super::gate::{Gate, check_gate};
use super::steps::{CustomerState, desired_connection, execute, flush_properties};
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
    /// `--max-duration`: no change starts after this; the ones in flight finish.
    pub deadline: Option<tokio::time::Instant>,
    /// Set when the run is interrupted (SIGINT, SIGTERM): as at the deadline, no change starts
    /// any more and the ones in flight finish.
    pub interrupted: Arc<AtomicBool>,
}

impl ApplyOptions {
    /// Why no change may start any more, if so.
    fn stop_cause(&self) -> Option<StopCause> {
        if self.interrupted.load(Ordering::Relaxed) {
            Some(StopCause::Interrupted)
        } else if self
            .deadline
            .is_some_and(|deadline| tokio::time::Instant::now() >= deadline)
        {
            Some(StopCause::MaxDuration)
        } else {
            None
        }
    }
}

/// Runs the plan's changes against Workato and reports the outcome.
///
/// In two waves: first phases 1 to 3 of every customer (customer, package, activation), then
/// phase 4 (end users' connections). Phase-4 writes share the 60-a-minute connections budget
/// with the credentials of phase 3 and can number a hundred per customer, so with one wave a
/// customer's recipes would wait behind other customers' end users; with two, every customer's
/// recipes run as early as the limits allow.
///
/// The plan is taken, not borrowed: its changes stay in one list that every customer's task
/// reads its own part of, never copied, which matters for a fleet's hundreds of thousands.
pub async fn apply(client: &Client, plan: Plan, options: ApplyOptions) -> ApplyOutcome {
    let options = Arc::new(options);
    let people: Vec<String> = plan
        .pending_people()
        .into_iter()
        .map(|(customer, _)| customer.to_owned())
        .collect();
    let Plan {
        mut changes,
        blocked,
        ..
    } = plan;
    // Each customer's changes together (a plan lists them so; a stable sort otherwise), and
    // within a customer the phases strictly in order, each phase in the plan's order.
    if !changes.is_sorted_by(|a, b| a.customer <= b.customer) {
        changes.sort_by(|a, b| a.customer.cmp(&b.customer));
    }
    let mut parts: Vec<(String, Range<usize>, Range<usize>)> = Vec::new();
    let mut start = 0;
    while start < changes.len() {
        let customer = changes[start].customer.clone();
        let end = start + changes[start..].partition_point(|c| c.customer == customer);
        let own = &mut changes[start..end];
        own.sort_by_key(|change| change.phase);
        let split = start + own.partition_point(|c| c.phase < 4);
        parts.push((customer, start..split, split..end));
        start = end;
    }
    (options.on_event)(&ApplyEvent::ApplyStart {
        customers: parts.len(),
        changes: changes.len(),
    });
    let changes = Arc::new(changes);
    let mut setup: Vec<(CustomerRun, Part)> = Vec::new();
    let mut end_users: Vec<Part> = Vec::new();
    for (customer, first, second) in parts {
        let run = CustomerRun::new(customer, &changes[first.clone()], &changes[second.clone()]);
        setup.push((run, Part::new(&changes, first)));
        end_users.push(Part::new(&changes, second));
    }
    // The waves keep the customers' order, so the second pairs each customer with its own.
    let finished = run_wave(client, setup, &options, Wave::Setup).await;
    let second: Vec<(CustomerRun, Part)> = finished.into_iter().zip(end_users).collect();
    let finished = run_wave(client, second, &options, Wave::EndUsers).await;

    let mut customers: BTreeMap<String, CustomerOutcome> = BTreeMap::new();
    for run in finished {
        customers.insert(run.outcome.customer.clone(), run.outcome);
    }
    for blocked in &blocked {
        customers
            .entry(blocked.customer.clone())
            .or_insert_with(|| CustomerOutcome {
                customer: blocked.customer.clone(),
                ..CustomerOutcome::default()
            })
            .blocked += 1;
    }
    for customer in people {
        customers
            .entry(customer.clone())
            .or_insert_with(|| CustomerOutcome {
                customer: customer.clone(),
                ..CustomerOutcome::default()
            })
            .pending_users += 1;
    }
    let mut outcome = ApplyOutcome::default();
    for customer in customers.values_mut() {
        customer.status = if customer.failed > 0
            || customer.blocked > 0
            || customer.skipped > 0
            || customer.left > 0
        {
            "integration setup is in progress".to_owned()
        } else {
            "ready".to_owned()
        };
        outcome.succeeded += customer.succeeded;
        outcome.failed += customer.failed;
        outcome.skipped += customer.skipped;
        outcome.blocked += customer.blocked;
        outcome.pending_users += customer.pending_users;
        outcome.left += customer.left;
    }
    if outcome.left > 0 {
        let because = if options.interrupted.load(Ordering::Relaxed) {
            StopCause::Interrupted
        } else {
            StopCause::MaxDuration
        };
        outcome.stopped_by = Some(because);
        (options.on_event)(&ApplyEvent::Stopped {
            left: outcome.left,
            because,
        });
    }
    outcome.customers = customers.into_values().collect();
    (options.on_event)(&ApplyEvent::Summary(outcome.clone()));
    outcome
}

/// One customer's changes of one wave: a range of the plan's list, shared by every task.
struct Part {
    all: Arc<Vec<Change>>,
    range: Range<usize>,
}

impl Part {
    fn new(all: &Arc<Vec<Change>>, range: Range<usize>) -> Self {
        Part {
            all: Arc::clone(all),
            range,
        }
    }

    fn changes(&self) -> &[Change] {
        self.all.get(self.range.clone()).unwrap_or_default()
    }

    fn len(&self) -> usize {
        self.range.len()
    }

    fn is_empty(&self) -> bool {
        self.range.is_empty()
    }
}

/// Which part of the run a wave is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wave {
    /// Phases 1 to 3 of every customer; each customer's properties are written at its end.
    Setup,
    /// Phase 4.
    EndUsers,
}

/// One customer across both waves: what the run learnt and how it went so far.
struct CustomerRun {
    outcome: CustomerOutcome,
    state: CustomerState,
    /// The lowest phase with a failed change: the phases above it are skipped.
    failed_phase: Option<u8>,
    gate: Option<Gate>,
    /// (manifest, connection name) of every authorization that failed in this run: a recipe
    /// that needs one of them is not started (Workato's refusal is never the check).
    unauthorized: Vec<(String, String)>,
}

impl CustomerRun {
    fn new(customer: String, setup: &[Change], end_users: &[Change]) -> Self {
        let all = || setup.iter().chain(end_users);
        let mut state = CustomerState::new(all().find_map(|c| c.target.customer_id));
        for change in all() {
            if let (Some(folder), Some(manifest)) =
                (change.target.folder_id, change.subject.manifest())
            {
                state.folders.entry(manifest.to_owned()).or_insert(folder);
            }
        }
        CustomerRun {
            outcome: CustomerOutcome {
                customer,
                ..CustomerOutcome::default()
            },
            state,
            failed_phase: None,
            gate: None,
            unauthorized: Vec::new(),
        }
    }
}

/// How many customers the end-users wave works on at once: at most `CUSTOMER_CONCURRENCY`, as
/// many in every round. A customer's end-user connections are written one after another, so a
/// customer left alone at the end writes one per round trip; when the round trip is longer than
/// the connection family's spacing, that tail runs below the limit. Ten customers go 5 and 5
/// rather than 8 and then 2. (The setup wave keeps every lane: its imports need customers ready
/// one after another.)
fn even_lanes(customers: usize) -> usize {
    let rounds = customers.div_ceil(CUSTOMER_CONCURRENCY).max(1);
    customers.div_ceil(rounds).max(1)
}

/// Runs one wave: each customer's changes in order, customers concurrently (bounded). The
/// customers come back in the order they were given.
async fn run_wave(
    client: &Client,
    customers: Vec<(CustomerRun, Part)>,
    options: &Arc<ApplyOptions>,
    wave: Wave,
) -> Vec<CustomerRun> {
    let lanes = match wave {
        Wave::Setup => CUSTOMER_CONCURRENCY,
        Wave::EndUsers => even_lanes(
            customers
                .iter()
                .filter(|(_, changes)| !changes.is_empty())
                .count(),
        ),
    };
    // What each customer had before the wave, and how many changes it takes on: what is
    // counted if its task dies.
    let before: Vec<(CustomerOutcome, usize)> = customers
        .iter()
        .map(|(run, changes)| (run.outcome.clone(), changes.len()))
        .collect();
    let mut finished: Vec<Option<CustomerRun>> = Vec::with_capacity(customers.len());
    let mut waiting = Vec::with_capacity(customers.len());
    for (slot, (run, changes)) in customers.into_iter().enumerate() {
        if changes.is_empty() && wave == Wave::EndUsers {
            finished.push(Some(run));
        } else {
            finished.push(None);
            waiting.push((slot, run, changes));
        }
    }
    // At most `lanes` tasks exist at once: a task is spawned when another ends, so a fleet's
    // thousand customers never hold a thousand suspended tasks in memory.
    let mut waiting = waiting.into_iter();
    let mut tasks = JoinSet::new();
    let mut task_slots = BTreeMap::new();
    loop {
        while tasks.len() < lanes {
            let Some((slot, run, changes)) = waiting.next() else {
                break;
            };
            let client = client.clone();
            let options = Arc::clone(options);
            let handle = tasks.spawn(async move {
                run_customer(&client, run, changes.changes(), &options, wave).await
            });
            task_slots.insert(handle.id(), slot);
        }
        let Some(joined) = tasks.join_next_with_id().await else {
            break;
        };
        let (slot, run) = match joined {
            Ok((id, run)) => (task_slots.remove(&id), Some(run)),
            Err(error) => (task_slots.remove(&error.id()), None),
        };
        if let (Some(slot), Some(run)) = (slot, run)
            && let Some(place) = finished.get_mut(slot)
        {
            *place = Some(run);
        }
    }
    finished
        .into_iter()
        .zip(before)
        .map(|(run, (outcome, count))| {
            run.unwrap_or_else(|| {
                // The customer's task died (a bug). It must not vanish from the outcome: its
                // changes count as failed, so the run cannot exit 0 with their work undone.
                (options.on_event)(&ApplyEvent::CustomerFailed {
                    customer: outcome.customer.clone(),
                    error: format!(
                        "embedctl stopped working on this customer after an internal error (a \
                         bug: please report it); the outcome of its {count} changes is unknown \
                         and they count as failed: run apply again"
                    ),
                });
                let mut run = CustomerRun::new(outcome.customer.clone(), &[], &[]);
                run.outcome = outcome;
                run.outcome.failed += count.max(1);
                // Nothing more is attempted for it.
                run.failed_phase = Some(1);
                run
            })
        })
        .collect()
}

async fn run_customer(
    client: &Client,
    mut run: CustomerRun,
    changes: &[Change],
    options: &ApplyOptions,
    wave: Wave,
) -> CustomerRun {
    let emit = |event: ApplyEvent| (options.on_event)(&event);
    let customer = run.outcome.customer.clone();
    for change in changes {
        if options.stop_cause().is_some() {
            // Time is up, or the run was interrupted: nothing new starts; the next run plans
            // afresh and continues.
            run.outcome.left += 1;
            continue;
        }
        if let Some(phase) = run.failed_phase.filter(|phase| change.phase > *phase) {
            run.outcome.skipped += 1;
            emit(ApplyEvent::skipped_of(
                change,
                format!("a phase-{phase} change of this customer failed"),
            ));
            continue;
        }
        if let Some(name) = unmet_need(change, &run.unauthorized, options) {
            run.outcome.skipped += 1;
            emit(ApplyEvent::skipped_of(
                change,
                format!("connection \"{name}\", which it needs, was not authorized"),
            ));
            continue;
        }
        if matches!(change.subject, Subject::Recipe { .. })
            && let Err(error) = flush_properties(client, &mut run.state).await
        {
            // What the import and the credentials did is not recorded: starting recipes now
            // would leave the next plan blind to it.
            run.outcome.failed += 1;
            run.failed_phase = Some(
                run.failed_phase
                    .map_or(change.phase, |p| p.min(change.phase)),
            );
            emit(ApplyEvent::failed_of(change, error));
            continue;
        }
        if change.phase == 4 {
            if run.gate.is_none() {
                let checked = check_gate(client, &customer, &mut run.state, options).await;
                if let Gate::Closed(reason) = &checked {
                    emit(ApplyEvent::GateBlocked {
                        customer: customer.clone(),
                        reason: reason.clone(),
                    });
                }
                run.gate = Some(checked);
            }
            match &run.gate {
                // Workato says the layers below are not ready: blocked, like a plan's blocked
                // change, not a failure of this run.
                Some(Gate::Closed(reason)) => {
                    run.outcome.blocked += 1;
                    emit(ApplyEvent::gate_closed_for(change, reason.clone()));
                    continue;
                }
                // Nobody knows whether they are ready: the change is left undone for a reason
                // that is a failure.
                Some(Gate::Unknown(reason)) => {
                    run.outcome.skipped += 1;
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
        match execute(client, change, &mut run.state, options).await {
            Ok(()) => {
                run.outcome.succeeded += 1;
                emit(ApplyEvent::done_of(change));
            }
            Err(error) => {
                run.outcome.failed += 1;
                run.failed_phase = Some(
                    run.failed_phase
                        .map_or(change.phase, |p| p.min(change.phase)),
                );
                if let Subject::Connection {
                    manifest,
                    connection,
                } = &change.subject
                    && let Ok((_, declared)) = desired_connection(options, manifest, connection)
                {
                    run.unauthorized
                        .push((manifest.clone(), declared.name.clone()));
                }
                emit(ApplyEvent::failed_of(change, error));
            }
        }
    }
    if wave == Wave::Setup
        && let Err(error) = flush_properties(client, &mut run.state).await
    {
        // The changes were made; only their record is missing. The next run repeats some work
        // (a folder found by name, an import, credentials sent again) but the run is not clean.
        run.outcome.failed += 1;
        run.failed_phase = Some(run.failed_phase.map_or(3, |p| p.min(3)));
        emit(ApplyEvent::CustomerFailed {
            customer: customer.clone(),
            error: format!("{error}; the next apply repeats some of this run's work"),
        });
    }
    run
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_user_lanes_are_filled_evenly_and_never_more_than_the_bound() {
        let lanes: Vec<usize> = [0, 1, 3, 8, 9, 10, 16, 17, 1_000, 1_001]
            .into_iter()
            .map(even_lanes)
            .collect();
        assert_eq!(lanes, [1, 1, 3, 8, 5, 5, 8, 6, 8, 8]);
    }
}
