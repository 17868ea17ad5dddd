//! The API budget of an apply: calls per endpoint family and the time Workato's published
//! limits impose on them (docs/workato-api.md). Printed by `plan` so that nobody is surprised by a
//! two-hour rollout after pressing `apply`.
//!
//! The time is the pacer's own arithmetic (`EndpointFamily::min_seconds`, its safety margin
//! included), in two waves, as apply runs them: phases 1 to 3 of every customer first (the
//! *setup*: customers, packages, default connections, recipe starts), then the end users'
//! runtime connections. Each wave takes as long as its slowest family, so the import family's
//! hourly cap counts in the setup even when connection writes dominate the whole run. Round trips
//! are not counted: at Workato's windows they are a small part of any run that takes long.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Action, Change, Kind};
use crate::workato::limits::EndpointFamily;

/// The calls an apply needs and the least time they take.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ApiBudget {
    /// By family name.
    pub families: BTreeMap<String, FamilyBudget>,
    /// The shortest time the published limits allow for the whole apply, in seconds.
    pub min_seconds: u64,
    /// The part of `min_seconds` that phases 1 to 3 of every customer take: apply does them
    /// before any runtime connection, so this is the earliest every customer's recipes run.
    pub setup_seconds: u64,
}

/// A common limit on one CI job (GitHub Actions' hosted runners stop a job after 6 hours): a
/// plan whose apply needs longer says so and suggests `apply --max-duration`.
pub const CI_JOB_SECONDS: u64 = 6 * 3_600;

/// One family's part of the budget.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct FamilyBudget {
    pub calls: u64,
    pub limit_per_minute: u64,
}

impl ApiBudget {
    /// All calls.
    pub fn total_calls(&self) -> u64 {
        self.families.values().map(|family| family.calls).sum()
    }

    /// Whether the apply needs longer than a CI job usually may run (`CI_JOB_SECONDS`).
    pub fn exceeds_ci_job(&self) -> bool {
        self.min_seconds > CI_JOB_SECONDS
    }
}

/// The calls each change costs at apply time, by family, including the bookkeeping writes
/// (properties), the import polls and the live re-checks of the phase-4 gate, and the least time
/// they take at `share` of every limit: the setup wave (phases 1 to 3) and then the runtime
/// connections, each as long as its slowest family.
pub fn budget_of(changes: &[Change], share: f64) -> ApiBudget {
    let share = if share > 0.0 && share <= 1.0 {
        share
    } else {
        1.0
    };
    let (runtime, setup): (Vec<&Change>, Vec<&Change>) =
        changes.iter().partition(|change| change.phase == 4);
    let setup = calls_of(setup);
    let runtime = calls_of(runtime);
    let wave_seconds = |calls: &BTreeMap<EndpointFamily, u64>| {
        calls
            .iter()
            .map(|(family, count)| family.min_seconds(*count, share))
            .fold(0.0f64, f64::max)
    };
    let setup_seconds = wave_seconds(&setup);
    let mut budget = ApiBudget {
        min_seconds: (setup_seconds + wave_seconds(&runtime)).ceil() as u64,
        setup_seconds: setup_seconds.ceil() as u64,
        ..ApiBudget::default()
    };
    let mut all = setup;
    for (family, count) in runtime {
        *all.entry(family).or_default() += count;
    }
    for (family, count) in all {
        budget.families.insert(
            family.name().to_owned(),
            FamilyBudget {
                calls: count,
                limit_per_minute: (family.limit_per_minute() * share).floor() as u64,
            },
        );
    }
    budget
}

/// The calls `changes` cost, by family.
fn calls_of<'c>(changes: impl IntoIterator<Item = &'c Change>) -> BTreeMap<EndpointFamily, u64> {
    let mut calls: BTreeMap<EndpointFamily, u64> = BTreeMap::new();
    let mut add = |family: EndpointFamily, count: u64| {
        if count > 0 {
            *calls.entry(family).or_default() += count;
        }
    };
    let mut gate_checks = std::collections::BTreeSet::new();
    // What apply learns (folder ids, digests, fingerprints) is written in one upsert per
    // customer.
    let mut recorders = std::collections::BTreeSet::new();
    for change in changes {
        if matches!(
            change.kind(),
            Kind::Folder | Kind::Package | Kind::Connection
        ) && recorders.insert(change.customer.clone())
        {
            add(EndpointFamily::PropertiesUpsert, 1);
        }
        match (change.kind(), change.action) {
            (Kind::Customer, Action::Create) => add(EndpointFamily::CustomersCreate, 1),
            (Kind::Customer, _) => add(EndpointFamily::Customers, 1),
            (Kind::Folder, _) => add(EndpointFamily::Folders, 1),
            (Kind::Package, _) => {
                add(EndpointFamily::ImportsCreate, 1);
                // Polls: the first after a short wait usually finds the import done; two is
                // the honest typical count.
                add(EndpointFamily::ImportsStatus, 2);
                // The import creates recipes and connections that later phases need the ids of:
                // the recipes (one page while a workspace has fewer than ten) and the
                // connections.
                add(EndpointFamily::RecipesRead, 1);
                add(EndpointFamily::ConnectionsList, 1);
            }
            (Kind::Connection, _) => add(EndpointFamily::Connections, 1),
            (Kind::Recipe, _) => add(EndpointFamily::Recipes, 1),
            (Kind::RuntimeConnection, action) => {
                // A replace looks for the new connection first, creates it, then disconnects
                // and deletes the old one; a delete disconnects first.
                let (lists, writes) = match action {
                    Action::Replace => (1, 3),
                    Action::Delete => (0, 2),
                    _ => (0, 1),
                };
                add(EndpointFamily::ConnectionsList, lists);
                add(EndpointFamily::Connections, writes);
                if gate_checks.insert(change.customer.clone()) {
                    add(EndpointFamily::ConnectionsList, 1);
                    add(EndpointFamily::RecipesRead, 1);
                }
            }
            (Kind::Gate, _) => {}
        }
    }
    calls
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::plan::{Reason, Subject, Target};

    fn change(customer: &str, phase: u8, action: Action, subject: Subject) -> Change {
        Change {
            customer: customer.to_owned(),
            phase,
            action,
            subject,
            reason: Reason::CustomerMissing,
            before: Value::Null.into(),
            after: Value::Null.into(),
            blocked_by: None,
            target: Target::default(),
            assets: None,
        }
    }

    /// What onboarding `customers` customers with `users` end users each plans: the customer,
    /// its folder and package, one default connection, two recipes, one runtime connection per
    /// end user.
    fn onboarding(customers: usize, users: usize) -> Vec<Change> {
        let manifest = || "files-sync".to_owned();
        let mut changes = Vec::new();
        for index in 0..customers {
            let customer = format!("c{index}");
            changes.push(change(&customer, 1, Action::Create, Subject::Customer));
            let folder = Subject::Folder {
                manifest: manifest(),
            };
            changes.push(change(&customer, 2, Action::Create, folder));
            let package = Subject::Package {
                manifest: manifest(),
            };
            changes.push(change(&customer, 2, Action::Import, package));
            let connection = Subject::Connection {
                manifest: manifest(),
                connection: "partner_app".to_owned(),
            };
            changes.push(change(&customer, 3, Action::Authorize, connection));
            for recipe in ["List files", "Get file"] {
                let recipe = Subject::Recipe {
                    manifest: manifest(),
                    recipe: recipe.to_owned(),
                };
                changes.push(change(&customer, 3, Action::Start, recipe));
            }
            for user in 0..users {
                let runtime = Subject::RuntimeConnection {
                    manifest: manifest(),
                    connection: "dropbox".to_owned(),
                    user: format!("u{user}"),
                    function: None,
                };
                changes.push(change(&customer, 4, Action::Create, runtime));
            }
        }
        changes
    }

    fn seconds_of(family: EndpointFamily, calls: u64) -> f64 {
        family.min_seconds(calls, 1.0)
    }

    #[test]
    fn the_setup_wave_and_the_runtime_wave_add_up() {
        let budget = budget_of(&onboarding(10, 100), 1.0);
        assert_eq!(budget.families["connections"].calls, 10 + 1_000);
        assert_eq!(budget.families["imports_create"].calls, 10);
        // The setup: ten imports at the hourly cap's spacing decide it.
        let setup = seconds_of(EndpointFamily::ImportsCreate, 10);
        assert_eq!(budget.setup_seconds, setup.ceil() as u64);
        // Then the thousand runtime connections, one connections slot each.
        let runtime = seconds_of(EndpointFamily::Connections, 1_000);
        assert_eq!(budget.min_seconds, (setup + runtime).ceil() as u64);
    }

    #[test]
    fn a_run_without_runtime_connections_is_its_setup() {
        let budget = budget_of(&onboarding(3, 0), 1.0);
        assert_eq!(budget.min_seconds, budget.setup_seconds);
        assert!(budget.min_seconds > 0);
        assert_eq!(budget_of(&[], 1.0), ApiBudget::default());
    }

    #[test]
    fn a_lower_share_takes_longer_and_an_odd_one_is_ignored() {
        let full = budget_of(&onboarding(2, 50), 1.0);
        let half = budget_of(&onboarding(2, 50), 0.5);
        assert!(half.min_seconds >= 2 * full.min_seconds - 1, "{half:?}");
        assert_eq!(half.families["connections"].limit_per_minute, 30);
        assert_eq!(budget_of(&onboarding(2, 50), 7.0), full);
    }

    #[test]
    fn six_hours_is_where_a_ci_job_ends() {
        // 1,000 customers of 100 end users: 100,000 connection writes, more than a day.
        let fleet = budget_of(&onboarding(1_000, 100), 1.0);
        assert!(fleet.exceeds_ci_job(), "{}", fleet.min_seconds);
        assert!(fleet.min_seconds > 100_000, "{}", fleet.min_seconds);
        // 10 customers of 100: about 35 minutes.
        assert!(!budget_of(&onboarding(10, 100), 1.0).exceeds_ci_job());
    }
}
