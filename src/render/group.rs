//! The plan regrouped the way people read it: by customer, then phase, each change with whether
//! it is planned or blocked, and the end users still to act in phase 4.

use std::collections::{BTreeMap, BTreeSet};

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
    /// The end users of one connection not listed, past `PENDING_SHOWN`: `… and 1,980 more end
    /// users of files-sync.dropbox pending`.
    MorePending { connection: &'a str, users: usize },
}

/// At most this many end users are listed per customer and connection unless all are asked for
/// (`--show-pending`); JSON always lists them all.
pub(crate) const PENDING_SHOWN: usize = 20;

/// Everything a plan says about one customer.
#[derive(Debug)]
pub(crate) struct CustomerPlan<'a> {
    pub customer: &'a str,
    /// By phase; within a phase planned changes first, then blocked ones, then pending end
    /// users, each in the plan's order.
    pub phases: BTreeMap<u8, Vec<Entry<'a>>>,
    /// The pending end users not listed (counted in `MorePending` entries).
    pub hidden: Vec<&'a PendingUser>,
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
                Entry::MorePending { .. } => {}
            }
        }
        part.pending_users
            .extend(self.hidden.iter().map(|pending| (*pending).clone()));
        part.summary()
    }
}

/// The plan's customers in `external_id` order. Unless `show_pending`, each customer lists the
/// end users of a connection up to `PENDING_SHOWN`, then a count.
pub(crate) fn by_customer(plan: &Plan, show_pending: bool) -> Vec<CustomerPlan<'_>> {
    let mut customers: BTreeMap<&str, CustomerPlan<'_>> = BTreeMap::new();
    for change in &plan.changes {
        let entry = slot(&mut customers, &change.customer);
        entry
            .phases
            .entry(change.phase)
            .or_default()
            .push(Entry::Planned(change));
    }
    for change in &plan.blocked {
        let entry = slot(&mut customers, &change.customer);
        entry
            .phases
            .entry(change.phase)
            .or_default()
            .push(Entry::Blocked(change));
    }
    // End users listed per (customer, connection), people rather than connections: one person
    // with a connection per recipe function is one of the twenty.
    let mut listed: BTreeMap<(&str, &str), BTreeSet<&str>> = BTreeMap::new();
    let mut more: BTreeMap<(&str, &str), BTreeSet<&str>> = BTreeMap::new();
    for pending in &plan.pending_users {
        let key = (pending.customer.as_str(), pending.connection.as_str());
        let users = listed.entry(key).or_default();
        let entry = slot(&mut customers, &pending.customer);
        if show_pending || users.contains(pending.user.as_str()) || users.len() < PENDING_SHOWN {
            users.insert(&pending.user);
            entry
                .phases
                .entry(4)
                .or_default()
                .push(Entry::Pending(pending));
        } else {
            more.entry(key).or_default().insert(&pending.user);
            entry.hidden.push(pending);
        }
    }
    for ((name, connection), users) in more {
        slot(&mut customers, name)
            .phases
            .entry(4)
            .or_default()
            .push(Entry::MorePending {
                connection,
                users: users.len(),
            });
    }
    customers.into_values().collect()
}

fn slot<'a, 'm>(
    customers: &'m mut BTreeMap<&'a str, CustomerPlan<'a>>,
    name: &'a str,
) -> &'m mut CustomerPlan<'a> {
    customers.entry(name).or_insert_with(|| CustomerPlan {
        customer: name,
        phases: BTreeMap::new(),
        hidden: Vec::new(),
    })
}
