//! The drift report (`embedctl drift`): the plan read as a drift class, for cron jobs.

use super::RenderContext;
use super::group::{Entry, by_customer};
use super::words::{more_pending_line, note_lines, pending_why, printable};
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

fn line(change: &Change) -> String {
    let mut text = format!(
        "  {}  {} {} {} ({})",
        change.customer,
        if change.blocked_by.is_some() {
            "!"
        } else {
            change.action.marker()
        },
        change.kind().as_str(),
        change.key(),
        change.reason.as_str()
    );
    if let Some(why) = &change.blocked_by {
        text.push_str(&format!("\n      blocked: {why}"));
    }
    text
}

/// The drift report for people.
pub fn text(plan: &Plan, class: DriftClass, show_pending: bool) -> String {
    let mut out = String::new();
    match class {
        DriftClass::InSync => out.push_str("In sync: Workato matches the file.\n"),
        DriftClass::PendingUsers => {
            out.push_str("No drift; end users still have to authorize their connections.\n")
        }
        DriftClass::Drift => out.push_str(&format!(
            "Drift: apply would make {} {}; {} blocked.\n",
            plan.changes.len(),
            if plan.changes.len() == 1 {
                "change"
            } else {
                "changes"
            },
            plan.blocked.len()
        )),
    }
    for change in plan.changes.iter().chain(&plan.blocked) {
        out.push_str(&line(change));
        out.push('\n');
    }
    if !plan.pending_users.is_empty() {
        // People, as everywhere: one end user with two connections to authorize is one.
        out.push_str(&format!(
            "\nEnd users still to authorize ({}):\n",
            plan.pending_people().len()
        ));
        for customer in by_customer(plan, show_pending) {
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
                    Entry::Planned(_) | Entry::Blocked(_) => {}
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
