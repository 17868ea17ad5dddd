//! The API budget of an apply: calls per endpoint family and the time Workato's published
//! limits impose on them (docs/workato-api.md). Printed by `plan` so that nobody is surprised by a
//! two-hour rollout after pressing `apply`.

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
}

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
}

/// The calls each change costs at apply time, by family, including the bookkeeping writes
/// (properties), the import polls and the live re-checks of the phase-4 gate.
pub fn budget_of(changes: &[Change], share: f64) -> ApiBudget {
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
                // the recipes page and the empty page that ends the list, and the connections.
                add(EndpointFamily::RecipesRead, 2);
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
                    add(EndpointFamily::RecipesRead, 2);
                }
            }
            (Kind::Gate, _) => {}
        }
    }
    let share = if share > 0.0 && share <= 1.0 {
        share
    } else {
        1.0
    };
    let mut budget = ApiBudget::default();
    let mut slowest = 0.0f64;
    for (family, count) in calls {
        slowest = slowest.max(family.min_seconds(count, share));
        budget.families.insert(
            family.name().to_owned(),
            FamilyBudget {
                calls: count,
                limit_per_minute: (family.limit_per_minute() * share).floor() as u64,
            },
        );
    }
    budget.min_seconds = slowest.ceil() as u64;
    budget
}
