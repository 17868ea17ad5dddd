//! The drift report (`embedctl drift`): the plan read as a drift class, for cron jobs.

use super::RenderContext;
use super::group::{CustomerPlan, Entry, Listing, by_customer};
use super::words::{
    change_marker, count, counted, more_changes_line, more_changes_note, more_pending_line,
    note_lines, pending_why, printable,
};
use crate::plan::{ApiBudget, Change, Plan};

/// What a drift check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DriftClass {
    /// Workato matches the file.
    InSync,
    /// Apply would write, or something is blocked.
    Drift,
    /// Only end users still have to authorize their connections.
    PendingUsers,
}

impl DriftClass {
    /// The class of a plan. Unmanaged objects are reported, never counted.
    pub fn of(plan: &Plan) -> DriftClass {
        if !plan.changes.is_empty() || !plan.blocked.is_empty() {
            DriftClass::Drift
        } else if !plan.pending_users.is_empty() {
            DriftClass::PendingUsers
        } else {
            DriftClass::InSync
        }
    }

    /// The class as in JSON (`in_sync`, `drift`, `pending_users`).
    pub fn as_str(self) -> &'static str {
        match self {
            DriftClass::InSync => "in_sync",
            DriftClass::Drift => "drift",
            DriftClass::PendingUsers => "pending_users",
        }
    }
}

/// The plan's JSON document with the drift `status` and the `exit_code` added.
pub fn json(
    plan: &Plan,
    budget: &ApiBudget,
    ctx: &RenderContext,
    class: DriftClass,
    exit_code: u8,
) -> String {
    super::json::render_drift(plan, budget, ctx, class.as_str(), exit_code)
}

/// `  acme-001  + runtime_connection files-sync.dropbox/user-a (runtime_connection.missing)`, and
/// the reason of a blocked change under it.
fn line(change: &Change, blocked: bool) -> String {
    let mut text = format!(
        "  {}  {} {} {} ({})",
        printable(&change.customer),
        change_marker(change, blocked),
        change.kind().as_str(),
        printable(&change.key()),
        change.reason.as_str()
    );
    if let Some(why) = change.blocked_by.as_deref().filter(|_| blocked) {
        text.push_str(&format!("\n      blocked: {}", printable(why)));
    }
    text
}

/// The drift report for people: changes customer by customer, then the end users still to
/// authorize, each list cut as `listing` says (like the text plan).
pub fn text(plan: &Plan, class: DriftClass, listing: Listing) -> String {
    let customers = by_customer(plan, listing);
    let mut out = String::new();
    match class {
        DriftClass::InSync => out.push_str("In sync: Workato matches the file.\n"),
        DriftClass::PendingUsers => {
            out.push_str("No drift; end users still have to authorize their connections.\n")
        }
        DriftClass::Drift => out.push_str(&format!(
            "Drift: apply would make {}; {} blocked.\n",
            counted(plan.changes.len() as u64, "change", "changes"),
            count(plan.blocked.len() as u64)
        )),
    }
    for customer in &customers {
        for entry in customer.phases.values().flatten() {
            let text = match entry {
                Entry::Planned(change) => line(change, false),
                Entry::Blocked(change) => line(change, true),
                Entry::MoreChanges(more) => format!(
                    "  {}  {} {}",
                    printable(customer.customer),
                    change_marker(more.first, more.blocked),
                    more_changes_line(more)
                ),
                Entry::Pending(_) | Entry::MorePending { .. } => continue,
            };
            out.push_str(&text);
            out.push('\n');
        }
    }
    if customers.iter().any(CustomerPlan::has_hidden_changes) {
        out.push_str(&more_changes_note());
        out.push('\n');
    }
    if !plan.pending_users.is_empty() {
        // People, as everywhere: one end user with two connections to authorize is one; the
        // lines below are connections, so the heading counts both.
        out.push_str(&format!(
            "\nEnd users still to authorize ({}, {}):\n",
            counted(plan.pending_people().len() as u64, "end user", "end users"),
            counted(plan.pending_users.len() as u64, "connection", "connections")
        ));
        for customer in &customers {
            for entry in customer.phases.get(&4).into_iter().flatten() {
                match entry {
                    Entry::Pending(pending) => {
                        let function = pending
                            .recipe_function
                            .as_ref()
                            .map(|f| format!(" ({})", printable(f)))
                            .unwrap_or_default();
                        out.push_str(&format!(
                            "  {}  {}  {}{function}{}\n",
                            printable(&pending.customer),
                            printable(&pending.user),
                            printable(&pending.connection),
                            pending_why(pending)
                        ));
                    }
                    Entry::MorePending { connection, users } => out.push_str(&format!(
                        "  {}  {}\n",
                        printable(customer.customer),
                        more_pending_line(connection, *users)
                    )),
                    Entry::Planned(_) | Entry::Blocked(_) | Entry::MoreChanges(_) => {}
                }
            }
        }
    }
    if !plan.unmanaged.is_empty() {
        out.push_str(&format!(
            "\nUnmanaged, not counted ({}):\n",
            plan.unmanaged.len()
        ));
        for unmanaged in &plan.unmanaged {
            out.push_str(&format!(
                "  {}  {} {}\n",
                unmanaged.customer,
                unmanaged.kind.as_str(),
                unmanaged.key
            ));
        }
    }
    for note in note_lines(&plan.notes) {
        out.push_str(&format!("\nnote: {note}\n"));
    }
    out
}
