//! The plan regrouped the way people read it: by customer, then phase, each change with whether
//! it is planned or blocked, and the end users still to act in phase 4.

use std::collections::BTreeMap;

use crate::plan::{Change, PendingUser, Plan, Summary};

/// One line of a customer's plan.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Entry<'a> {
    /// A change apply will make.
    Planned(&'a Change),
    /// A change that cannot happen (it carries `blocked_by`).
    Blocked(&'a Change),
    /// An end user who has to authorize a runtime user connection.
    Pending(&'a PendingUser),
}

/// Everything a plan says about one customer.
#[derive(Debug)]
pub(crate) struct CustomerPlan<'a> {
    pub customer: &'a str,
    /// By phase; within a phase planned changes first, then blocked ones, then pending end
    /// users, each in the plan's order.
    pub phases: BTreeMap<u8, Vec<Entry<'a>>>,
}

impl CustomerPlan<'_> {
    /// The customer's counts, by the same rules as the plan's summary line.
    pub fn summary(&self) -> Summary {
        let mut part = Plan::default();
        for entry in self.phases.values().flatten() {
            match entry {
                Entry::Planned(change) => part.changes.push((*change).clone()),
                Entry::Blocked(change) => part.blocked.push((*change).clone()),
                Entry::Pending(pending) => part.pending_users.push((*pending).clone()),
            }
        }
        part.summary()
    }
}

/// The plan's customers in `external_id` order.
pub(crate) fn by_customer<'a>(plan: &'a Plan) -> Vec<CustomerPlan<'a>> {
    let mut customers: BTreeMap<&'a str, BTreeMap<u8, Vec<Entry<'a>>>> = BTreeMap::new();
    let mut add = |customer: &'a str, phase: u8, entry: Entry<'a>| {
        customers
            .entry(customer)
            .or_default()
            .entry(phase)
            .or_default()
            .push(entry);
    };
    for change in &plan.changes {
        add(&change.customer, change.phase, Entry::Planned(change));
    }
    for change in &plan.blocked {
        add(&change.customer, change.phase, Entry::Blocked(change));
    }
    for pending in &plan.pending_users {
        add(&pending.customer, 4, Entry::Pending(pending));
    }
    customers
        .into_iter()
        .map(|(customer, phases)| CustomerPlan { customer, phases })
        .collect()
}
