//! The plan regrouped the way people read it: by customer, then phase, each change with whether
//! it is planned or blocked, and the end users still to act in phase 4.
//!
//! A plan of a thousand customers with a hundred end users each has a hundred thousand changes,
//! most of them alike. Unless everything is asked for (`Listing`), each customer lists the first
//! [`SHOWN_PER_GROUP`] of a group of alike changes (same phase, action, kind and manifest
//! connection; planned and blocked apart) or of the end users of one connection, then one count.

use std::collections::{BTreeMap, BTreeSet};

use crate::plan::{Action, Change, Kind, PendingUser, Plan, Subject, Summary};

/// One line of a customer's plan.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Entry<'a> {
    /// A change apply will make.
    Planned(&'a Change),
    /// A change that cannot happen (it carries `blocked_by`).
    Blocked(&'a Change),
    /// The changes of one group not listed, past `SHOWN_PER_GROUP`: `+ 180 more runtime
    /// connections of files-sync.dropbox to create`.
    MoreChanges(MoreChanges<'a>),
    /// An end user who has to authorize a runtime user connection.
    Pending(&'a PendingUser),
    /// The end users of one connection not listed, past `SHOWN_PER_GROUP`: `… and 1,980 more end
    /// users of files-sync.dropbox pending`.
    MorePending { connection: &'a str, users: usize },
}

/// Changes of one group that are counted, not listed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MoreChanges<'a> {
    /// The first change not listed: its phase, action, kind and manifest connection are the
    /// group's, and so is its `blocked_by` when `same_reason`.
    pub first: &'a Change,
    /// How many changes are not listed.
    pub changes: usize,
    /// Whether they are blocked changes.
    pub blocked: bool,
    /// Whether every one of them is blocked for the same reason (the first's).
    pub same_reason: bool,
}

impl<'a> MoreChanges<'a> {
    fn add(&mut self, change: &'a Change) {
        self.changes += 1;
        self.same_reason &= change.blocked_by == self.first.blocked_by;
    }

    /// The manifest connection (`files-sync.dropbox`) or manifest (`files-sync`) of the group;
    /// `None` for customers.
    pub fn of(&self) -> Option<String> {
        group_of(self.first).3
    }
}

/// At most this many changes of a group, or end users of a connection, are listed per customer
/// unless everything is asked for (`--verbose`, `--show-pending`); JSON always lists them all.
pub(crate) const SHOWN_PER_GROUP: usize = 20;

/// What text and Markdown list in full; the rest of a long list is counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Listing {
    /// Every change (`--verbose`), not the first 20 of a group per customer.
    pub every_change: bool,
    /// Every end user still to authorize (`--show-pending`, or `--verbose`), not the first 20
    /// per customer and connection.
    pub every_pending: bool,
}

/// Everything a plan says about one customer.
#[derive(Debug)]
pub(crate) struct CustomerPlan<'a> {
    pub customer: &'a str,
    /// By phase; within a phase planned changes first, then blocked ones, then pending end
    /// users, each in the plan's order, with a count after the last listed one of a group.
    pub phases: BTreeMap<u8, Vec<Entry<'a>>>,
    /// The changes and pending end users not listed (counted in `MoreChanges` and
    /// `MorePending` entries).
    pub hidden: Vec<Entry<'a>>,
}

impl CustomerPlan<'_> {
    /// The customer's counts, by the same rules as the plan's summary line, listed or not.
    pub fn summary(&self) -> Summary {
        let mut part = Plan::default();
        for entry in self.phases.values().flatten().chain(&self.hidden) {
            match entry {
                Entry::Planned(change) => part.changes.push((*change).clone()),
                Entry::Blocked(change) => part.blocked.push((*change).clone()),
                Entry::Pending(pending) => part.pending_users.push((*pending).clone()),
                Entry::MoreChanges(_) | Entry::MorePending { .. } => {}
            }
        }
        part.summary()
    }

    /// Whether some of the customer's changes are counted rather than listed.
    pub fn has_hidden_changes(&self) -> bool {
        self.hidden
            .iter()
            .any(|entry| matches!(entry, Entry::Planned(_) | Entry::Blocked(_)))
    }
}

/// Decides which members of each group are listed: the first `SHOWN_PER_GROUP` distinct ones,
/// or every one. A member listed once is listed again (an end user's second connection).
struct Cap<K, M> {
    every: bool,
    listed: BTreeMap<K, BTreeSet<M>>,
}

impl<K: Ord, M: Ord> Cap<K, M> {
    fn new(every: bool) -> Self {
        Cap {
            every,
            listed: BTreeMap::new(),
        }
    }

    /// Whether `member` of `group` is listed; counts it when it is.
    fn lists(&mut self, group: K, member: M) -> bool {
        let members = self.listed.entry(group).or_default();
        if self.every || members.contains(&member) || members.len() < SHOWN_PER_GROUP {
            members.insert(member);
            true
        } else {
            false
        }
    }
}

/// What makes changes alike: phase, action, kind, and the manifest connection
/// (`files-sync.dropbox`) or manifest they belong to.
type Group = (u8, Action, Kind, Option<String>);

/// The group of a change.
fn group_of(change: &Change) -> Group {
    let of = match &change.subject {
        Subject::Connection {
            manifest,
            connection,
        }
        | Subject::RuntimeConnection {
            manifest,
            connection,
            ..
        } => Some(format!("{manifest}.{connection}")),
        subject => subject.manifest().map(str::to_owned),
    };
    (change.phase, change.action, change.kind(), of)
}

/// The plan's customers in `external_id` order, each listing what `listing` asks for and
/// counting the rest.
pub(crate) fn by_customer(plan: &Plan, listing: Listing) -> Vec<CustomerPlan<'_>> {
    let mut customers: BTreeMap<&str, CustomerPlan<'_>> = BTreeMap::new();
    let planned = plan.changes.iter().map(|change| (change, false));
    let blocked = plan.blocked.iter().map(|change| (change, true));
    let mut cap = Cap::new(listing.every_change);
    // Where each group's count is, in its customer's phase.
    let mut counts: BTreeMap<(&str, bool, Group), usize> = BTreeMap::new();
    for (index, (change, is_blocked)) in planned.chain(blocked).enumerate() {
        let group = (change.customer.as_str(), is_blocked, group_of(change));
        let entry = if is_blocked {
            Entry::Blocked(change)
        } else {
            Entry::Planned(change)
        };
        let customer = slot(&mut customers, &change.customer);
        let phase = customer.phases.entry(change.phase).or_default();
        if cap.lists(group.clone(), index) {
            phase.push(entry);
            continue;
        }
        customer.hidden.push(entry);
        match counts.get(&group) {
            Some(&at) => {
                if let Some(Entry::MoreChanges(more)) = phase.get_mut(at) {
                    more.add(change);
                }
            }
            None => {
                counts.insert(group, phase.len());
                phase.push(Entry::MoreChanges(MoreChanges {
                    first: change,
                    changes: 1,
                    blocked: is_blocked,
                    same_reason: true,
                }));
            }
        }
    }
    // End users listed per (customer, connection), people rather than connections: one person
    // with a connection per recipe function is one of the twenty.
    let mut cap = Cap::new(listing.every_pending);
    let mut more: BTreeMap<(&str, &str), BTreeSet<&str>> = BTreeMap::new();
    for pending in &plan.pending_users {
        let key = (pending.customer.as_str(), pending.connection.as_str());
        let entry = slot(&mut customers, &pending.customer);
        if cap.lists(key, pending.user.as_str()) {
            entry
                .phases
                .entry(4)
                .or_default()
                .push(Entry::Pending(pending));
        } else {
            more.entry(key).or_default().insert(&pending.user);
            entry.hidden.push(Entry::Pending(pending));
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
