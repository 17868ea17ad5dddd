//! The text plan, for a terminal or a CI log.
//!
//! ```text
//! Customer acme-001
//!   Phase 1 customer
//!     + create customer acme-001  (customer.missing)
//!         name: "Acme Corp"
//!   Phase 4 runtime users
//!   -/+ replace runtime connection files-sync.dropbox/user-a  (runtime_connection.wrong_parent)
//!         parent_id: 41 → (none)
//!     … user-a has to authorize files-sync.dropbox  (runtime_connection.pending)
//!
//! Apply needs ≈ 4 calls (connections 3 at 60/min, customers_create 1 at 1,000/min); ≥ 2 s at Workato's limits.
//! Plan: 1 to create, 0 to update, 0 to delete; 1 end user pending.
//! ```
//!
//! Each customer lists 20 alike changes, then a count such as `+ 80 more runtime connections of
//! files-sync.dropbox to create` (`group.rs`); `--verbose` lists them all.
//!
//! Markers are right-aligned so that names line up; colour, when asked for, is only on markers,
//! headings, diff lines and the dimmed reason codes.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};

use super::RenderContext;
use super::field::{FieldLine, LineStyle, field_lines};
use super::group::{CustomerPlan, Entry, by_customer};
use super::words::{
    BLOCKED_MARKER, PENDING_MARKER, asset_lines, budget_line, change_consequence, headline,
    long_apply_line, more_changes_line, more_changes_note, more_pending_line, note_lines,
    observed_line, pending_headline, phase_heading, printable, summary_line, unmanaged_headline,
};
use crate::plan::{Action, ApiBudget, Change, Plan};

const CREATE: Style = AnsiColor::Green.on_default();
const UPDATE: Style = AnsiColor::Yellow.on_default();
const DELETE: Style = AnsiColor::Red.on_default();
const BLOCKED: Style = AnsiColor::Magenta.on_default();
const PENDING: Style = AnsiColor::Cyan.on_default();
const HUNK: Style = AnsiColor::Cyan.on_default();
const HEADING: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();

/// Where markers end: the width of `  -/+`.
const MARKER_COLUMN: usize = 5;

/// Where field lines start, under the change's text.
const FIELD_INDENT: &str = "        ";

/// The plan as text: customers, then the objects the file does not list, skipped customers and
/// notes, then the API budget and the summary line.
pub fn render(plan: &Plan, budget: &ApiBudget, ctx: &RenderContext) -> String {
    let paint = Painter { color: ctx.color };
    let mut out = String::new();
    let customers = by_customer(plan, ctx.listing);
    for customer in &customers {
        let _ = writeln!(
            out,
            "{}",
            paint.style(
                HEADING,
                &format!("Customer {}", printable(customer.customer))
            )
        );
        for (phase, entries) in &customer.phases {
            let _ = writeln!(out, "  {}", paint.style(HEADING, &phase_heading(*phase)));
            for entry in entries {
                write_entry(&mut out, &paint, entry);
            }
        }
        out.push('\n');
    }
    if !plan.unmanaged.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            paint.style(HEADING, "Not in the file (left alone)")
        );
        for unmanaged in &plan.unmanaged {
            let _ = writeln!(
                out,
                "  {}  {}",
                unmanaged_headline(unmanaged),
                paint.reason(unmanaged.reason.as_str())
            );
        }
        out.push('\n');
    }
    if !plan.skipped.is_empty() {
        let _ = writeln!(out, "{}", paint.style(HEADING, "Skipped"));
        for skipped in &plan.skipped {
            let _ = writeln!(
                out,
                "  {}: {}",
                printable(&skipped.customer),
                printable(&skipped.why)
            );
        }
        out.push('\n');
    }
    if !plan.notes.is_empty() {
        let _ = writeln!(out, "{}", paint.style(HEADING, "Notes"));
        for note in note_lines(&plan.notes) {
            let _ = writeln!(out, "  - {}", printable(&note));
        }
        out.push('\n');
    }
    for line in [
        observed_line(&ctx.observed_calls),
        budget_line(budget),
        long_apply_line(budget),
    ]
    .into_iter()
    .flatten()
    {
        let _ = writeln!(out, "{line}");
    }
    if customers.iter().any(CustomerPlan::has_hidden_changes) {
        let _ = writeln!(out, "{}", more_changes_note());
    }
    if !plan.pending_users.is_empty() {
        let _ = writeln!(
            out,
            "End users authorize these connections themselves, in the connection widget of your product."
        );
    }
    let _ = writeln!(out, "{}", paint.style(HEADING, &summary_line(plan)));
    out
}

/// One change or pending end user, with its field lines.
fn write_entry(out: &mut String, paint: &Painter, entry: &Entry<'_>) {
    match entry {
        Entry::Planned(change) => {
            write_headline(out, paint, &marker(paint, change.action), change);
            if let Some(consequence) = change_consequence(change) {
                let _ = writeln!(out, "{FIELD_INDENT}{consequence}");
            }
            write_fields(out, paint, change);
        }
        Entry::Blocked(change) => {
            write_headline(out, paint, &blocked_marker(paint), change);
            let why = change.blocked_by.as_deref().unwrap_or("blocked");
            let _ = writeln!(
                out,
                "{FIELD_INDENT}{}",
                paint.style(BLOCKED, &format!("blocked: {}", printable(why)))
            );
            write_fields(out, paint, change);
        }
        Entry::MoreChanges(more) => {
            let (painted, width) = if more.blocked {
                blocked_marker(paint)
            } else {
                marker(paint, more.first.action)
            };
            let _ = writeln!(
                out,
                "{}{painted} {}",
                " ".repeat(MARKER_COLUMN.saturating_sub(width)),
                more_changes_line(more)
            );
        }
        Entry::MorePending { connection, users } => {
            let _ = writeln!(
                out,
                "{}{} {}",
                " ".repeat(MARKER_COLUMN - 1),
                paint.style(PENDING, PENDING_MARKER),
                more_pending_line(connection, *users)
            );
        }
        Entry::Pending(pending) => {
            let _ = writeln!(
                out,
                "{}{} {}  {}",
                " ".repeat(MARKER_COLUMN - 1),
                paint.style(PENDING, PENDING_MARKER),
                pending_headline(pending),
                paint.reason(pending.reason.as_str())
            );
        }
    }
}

/// `    + create customer acme-001  (customer.missing)`; `marker` is the painted marker and its
/// width in characters.
fn write_headline(out: &mut String, paint: &Painter, marker: &(String, usize), change: &Change) {
    let (painted, width) = marker;
    let _ = writeln!(
        out,
        "{}{painted} {}  {}",
        " ".repeat(MARKER_COLUMN.saturating_sub(*width)),
        headline(change),
        paint.reason(change.reason.as_str())
    );
}

fn write_fields(out: &mut String, paint: &Painter, change: &Change) {
    for FieldLine { style, text, .. } in field_lines(change) {
        let style = match style {
            LineStyle::Field | LineStyle::Context => Style::new(),
            LineStyle::Hunk => HUNK,
            LineStyle::Removed => DELETE,
            LineStyle::Added => CREATE,
        };
        let _ = writeln!(out, "{FIELD_INDENT}{}", paint.style(style, &text));
    }
    for line in asset_lines(change) {
        let _ = writeln!(out, "{FIELD_INDENT}{line}");
    }
}

/// The painted marker of an action and its width: green `+`, yellow `~`, red `-`, and `-/+` in
/// red and green.
fn marker(paint: &Painter, action: Action) -> (String, usize) {
    let text = action.marker();
    let painted = match action {
        Action::Create => paint.style(CREATE, text),
        Action::Delete | Action::Disconnect => paint.style(DELETE, text),
        Action::Replace => format!("{}/{}", paint.style(DELETE, "-"), paint.style(CREATE, "+")),
        Action::Update | Action::Import | Action::Authorize | Action::Start => {
            paint.style(UPDATE, text)
        }
    };
    (painted, text.chars().count())
}

/// The painted marker of a blocked change and its width.
fn blocked_marker(paint: &Painter) -> (String, usize) {
    (
        paint.style(BLOCKED, BLOCKED_MARKER),
        BLOCKED_MARKER.chars().count(),
    )
}

/// Writes styles only when colour is on.
struct Painter {
    color: bool,
}

impl Painter {
    fn style(&self, style: Style, text: &str) -> String {
        if self.color && !style.is_plain() {
            format!("{style}{text}{style:#}")
        } else {
            text.to_owned()
        }
    }

    /// A reason code, dimmed, in parentheses.
    fn reason(&self, code: &str) -> String {
        self.style(DIM, &format!("({code})"))
    }
}
