//! The sentences and names every format shares: counts with thousands separators, durations,
//! the summary line, the API budget line, and how a change or a pending end user reads.
//!
//! Keeping them in one place means the text plan, the PR comment and the tests say the same thing
//! in the same words.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::group::{MoreChanges, SHOWN_PER_GROUP};
use crate::plan::{
    Action, ApiBudget, Change, FamilyBudget, Kind, Note, PendingStatus, PendingUser, Plan, Reason,
    Summary, Unmanaged,
};

/// `1240` → `1,240`.
pub(crate) fn count(value: u64) -> String {
    let digits = value.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// `count` with the noun in the right number: `1 call`, `1,240 calls`.
pub(crate) fn counted(value: u64, one: &str, many: &str) -> String {
    format!("{} {}", count(value), if value == 1 { one } else { many })
}

/// A lower bound on a duration, rounded down so that "≥" stays true: `45 s`, `1 min 40 s`,
/// `21 min`, `2 h 5 min`. Seconds are shown only while they matter (under ten minutes).
pub(crate) fn duration(seconds: u64) -> String {
    let (hours, minutes, rest) = (seconds / 3_600, seconds % 3_600 / 60, seconds % 60);
    match (hours, minutes, rest) {
        (0, 0, _) => format!("{rest} s"),
        (0, 1..=9, 1..) => format!("{minutes} min {rest} s"),
        (0, _, _) => format!("{minutes} min"),
        (_, 0, _) => format!("{} h", count(hours)),
        (_, _, _) => format!("{} h {minutes} min", count(hours)),
    }
}

/// The plan's last line: `Plan: 3 to create, 1 to update, 0 to delete; 2 blocked; 5 end users
/// pending.`, or `No changes. Workato matches the file.` when apply would write nothing.
///
/// A plan with nothing to apply but something blocked does not claim that Workato matches.
pub(crate) fn summary_line(plan: &Plan) -> String {
    let summary = plan.summary();
    let mut line = if plan.has_changes() {
        format!(
            "Plan: {} to create, {} to update, {} to delete",
            count(summary.create as u64),
            count(summary.update as u64),
            count(summary.delete as u64)
        )
    } else if summary.blocked == 0 {
        "No changes. Workato matches the file".to_owned()
    } else {
        "No changes to apply".to_owned()
    };
    for part in waiting_parts(&summary) {
        line.push_str("; ");
        line.push_str(&part);
    }
    line.push('.');
    line
}

/// `2 blocked`, `5 end users pending`: the parts of a summary that apply does not write, when
/// there are any.
pub(crate) fn waiting_parts(summary: &Summary) -> Vec<String> {
    let mut parts = Vec::new();
    if summary.blocked > 0 {
        parts.push(format!("{} blocked", count(summary.blocked as u64)));
    }
    if summary.pending_users > 0 {
        parts.push(format!(
            "{} pending",
            counted(summary.pending_users as u64, "end user", "end users")
        ));
    }
    parts
}

/// The counts of one customer's part of a summary, zeros left out: `4 to create, 1 to update;
/// 2 end users pending`.
pub(crate) fn customer_counts(summary: &Summary) -> String {
    let writes: Vec<String> = [
        (summary.create, "to create"),
        (summary.update, "to update"),
        (summary.delete, "to delete"),
    ]
    .into_iter()
    .filter(|(number, _)| *number > 0)
    .map(|(number, what)| format!("{} {what}", count(number as u64)))
    .collect();
    let mut parts = Vec::new();
    if !writes.is_empty() {
        parts.push(writes.join(", "));
    }
    parts.extend(waiting_parts(summary));
    parts.join("; ")
}

/// The API budget of the apply: `Apply needs ≈ 1,240 calls (connections 1,100 at 60/min, …);
/// ≥ 21 min at Workato's limits.` `None` when apply makes no calls.
///
/// Families are listed slowest first (the most time their limit imposes), so the one that makes
/// a rollout take hours leads; the fastest ones are summed up.
pub(crate) fn budget_line(budget: &ApiBudget) -> Option<String> {
    let total = budget.total_calls();
    if total == 0 {
        return None;
    }
    let mut families: Vec<(&String, &FamilyBudget)> = budget
        .families
        .iter()
        .filter(|(_, family)| family.calls > 0)
        .collect();
    families.sort_by(|(a_name, a), (b_name, b)| slower(b, a).then_with(|| a_name.cmp(b_name)));
    let shown = families.len().min(BUDGET_FAMILIES_SHOWN);
    let mut parts: Vec<String> = families[..shown]
        .iter()
        .map(|(name, family)| {
            format!(
                "{name} {} at {}/min",
                count(family.calls),
                count(family.limit_per_minute)
            )
        })
        .collect();
    let others = &families[shown..];
    if !others.is_empty() {
        let calls: u64 = others.iter().map(|(_, family)| family.calls).sum();
        parts.push(format!(
            "{} in {} more {}",
            counted(calls, "call", "calls"),
            count(others.len() as u64),
            if others.len() == 1 {
                "family"
            } else {
                "families"
            }
        ));
    }
    let time = if budget.min_seconds == 0 {
        "Workato's limits add no wait".to_owned()
    } else {
        format!("≥ {} at Workato's limits", duration(budget.min_seconds))
    };
    Some(format!(
        "Apply needs ≈ {} ({}); {time}.",
        counted(total, "call", "calls"),
        parts.join(", ")
    ))
}

/// The warning under the budget when the apply needs longer than a CI job may run: `apply
/// --max-duration` stops in time and the next run continues. `None` for a shorter apply.
pub(crate) fn long_apply_line(budget: &ApiBudget) -> Option<String> {
    if !budget.exceeds_ci_job() {
        return None;
    }
    Some(format!(
        "Warning: this apply needs ≥ {} at Workato's limits, longer than a CI job may usually run \
         ({}). Run `embedctl apply --max-duration 5h30m` in each job, again until it exits 0: \
         each run stops in time (exit 4 while work is left) and the next continues where it \
         stopped, duplicating nothing.",
        duration(budget.min_seconds),
        duration(crate::plan::CI_JOB_SECONDS)
    ))
}

/// How many endpoint families the budget line names; the rest are summed up (the JSON plan has
/// them all).
const BUDGET_FAMILIES_SHOWN: usize = 3;

/// Orders two families by the time their limit imposes on their calls (calls ÷ limit), exactly:
/// cross-multiplied in integers. A family without a limit counts as the slowest.
fn slower(a: &FamilyBudget, b: &FamilyBudget) -> Ordering {
    let time = |family: &FamilyBudget, other: &FamilyBudget| {
        u128::from(family.calls) * u128::from(other.limit_per_minute.max(1))
    };
    match (a.limit_per_minute == 0, b.limit_per_minute == 0) {
        (true, true) => a.calls.cmp(&b.calls),
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => time(a, b).cmp(&time(b, a)),
    }
}

/// What reading Workato cost: `Read Workato with 13 calls (connections_list 3, customers 1).`
/// `None` when the caller counted nothing.
pub(crate) fn observed_line(observed: &BTreeMap<String, u64>) -> Option<String> {
    let total: u64 = observed.values().sum();
    if total == 0 {
        return None;
    }
    let parts: Vec<String> = observed
        .iter()
        .filter(|(_, calls)| **calls > 0)
        .map(|(family, calls)| format!("{family} {}", count(*calls)))
        .collect();
    Some(format!(
        "Read Workato with {} ({}).",
        counted(total, "call", "calls"),
        parts.join(", ")
    ))
}

/// The heading of a phase: `Phase 1 customer`.
pub(crate) fn phase_heading(phase: u8) -> String {
    let name = match phase {
        1 => "customer",
        2 => "package",
        3 => "activation",
        4 => "runtime users",
        _ => return format!("Phase {phase}"),
    };
    format!("Phase {phase} {name}")
}

/// A kind of object in words: `runtime connection`.
pub(crate) fn kind_words(kind: Kind) -> &'static str {
    match kind {
        Kind::RuntimeConnection => "runtime connection",
        other => other.as_str(),
    }
}

/// A kind of object in plural words: `runtime connections`.
pub(crate) fn kinds_words(kind: Kind) -> &'static str {
    match kind {
        Kind::Customer => "customers",
        Kind::Folder => "folders",
        Kind::Package => "packages",
        Kind::Connection => "connections",
        Kind::Recipe => "recipes",
        Kind::RuntimeConnection => "runtime connections",
        Kind::Gate => "gates",
    }
}

/// Changes counted rather than listed, without their marker: `180 more runtime connections of
/// files-sync.dropbox to create`; blocked ones with their reason when they share it: `180 more
/// runtime connections of files-sync.dropbox blocked: integration setup is in progress: …`.
pub(crate) fn more_changes_line(more: &MoreChanges<'_>) -> String {
    let kind = more.first.kind();
    let mut line = format!(
        "{} more {}",
        count(more.changes as u64),
        if more.changes == 1 {
            kind_words(kind)
        } else {
            kinds_words(kind)
        }
    );
    if let Some(of) = more.of() {
        let _ = write!(line, " of {}", printable(&of));
    }
    match (&more.first.blocked_by, more.blocked, more.same_reason) {
        (_, false, _) => {
            let _ = write!(line, " to {}", more.first.action.as_str());
        }
        (Some(why), true, true) => {
            let _ = write!(line, " blocked: {}", printable(why));
        }
        (_, true, _) => line.push_str(" blocked for different reasons"),
    }
    line
}

/// Said once under a plan some of whose changes are counted rather than listed.
pub(crate) fn more_changes_note() -> String {
    format!(
        "Each customer lists the first {SHOWN_PER_GROUP} changes of an action, kind and \
         connection, then counts the rest; `--verbose` lists them all."
    )
}

/// What a change does, in words: `create customer acme-001`, `start recipe files-sync/List
/// files`.
pub(crate) fn headline(change: &Change) -> String {
    format!(
        "{} {} {}",
        change.action.as_str(),
        kind_words(change.kind()),
        printable(&change.key())
    )
}

/// Who still has to act: `user-a has to authorize files-sync.dropbox (recipe function Get
/// file)`, and why when they connected before: `… again: Token expired`.
pub(crate) fn pending_headline(pending: &PendingUser) -> String {
    let mut line = format!(
        "{} has to authorize {}",
        printable(&pending.user),
        printable(&pending.connection)
    );
    if let Some(function) = &pending.recipe_function {
        let _ = write!(line, " (recipe function {})", printable(function));
    }
    line.push_str(&pending_why(pending));
    line
}

/// Why someone who connected before has to again: ` again: Token expired`; empty for someone
/// who never connected.
pub(crate) fn pending_why(pending: &PendingUser) -> String {
    match pending.status {
        PendingStatus::NeverConnected => String::new(),
        PendingStatus::AuthorizationFailed => match &pending.authorization_error {
            Some(error) => format!(" again: {}", printable(&one_line(error, 120))),
            None => " again: Workato reports the connection failed".to_owned(),
        },
        PendingStatus::Replaced => " again: its connection is replaced".to_owned(),
    }
}

/// The notes as sentences, a message repeated for several customers printed once with how many
/// it concerns: ``1,000 customers (`acme-001`, `beta-002`, `c-003` and 997 more): credentials of
/// `files-sync.crm` not compared …``.
pub(crate) fn note_lines(notes: &[Note]) -> Vec<String> {
    let mut order: Vec<&str> = Vec::new();
    let mut by_message: std::collections::HashMap<&str, Vec<&Note>> =
        std::collections::HashMap::new();
    for note in notes {
        let group = by_message.entry(note.message.as_str()).or_default();
        if group.is_empty() {
            order.push(&note.message);
        }
        group.push(note);
    }
    order
        .into_iter()
        .map(|message| {
            let group = &by_message[message];
            let customers: Vec<&str> = group.iter().filter_map(|n| n.customer.as_deref()).collect();
            if group.len() == 1 || customers.len() != group.len() {
                return group[0].sentence();
            }
            const NAMED: usize = 3;
            let mut named: Vec<String> = customers
                .iter()
                .take(NAMED)
                .map(|c| format!("`{c}`"))
                .collect();
            let mut list = if customers.len() > NAMED {
                format!(
                    "{} and {} more",
                    named.join(", "),
                    count((customers.len() - NAMED) as u64)
                )
            } else {
                let last = named.pop().unwrap_or_default();
                format!("{} and {last}", named.join(", "))
            };
            list = format!("{} customers ({list})", count(customers.len() as u64));
            format!("{list}: {message}")
        })
        .collect()
}

/// `and 1,980 more end users of files-sync.dropbox pending (--show-pending lists them all)`.
pub(crate) fn more_pending_line(connection: &str, users: usize) -> String {
    format!(
        "and {} more {} of {} pending (--show-pending lists them all)",
        count(users as u64),
        if users == 1 { "end user" } else { "end users" },
        printable(connection)
    )
}

/// What a change means for people beyond its fields, if anything.
pub(crate) fn change_consequence(change: &Change) -> Option<&'static str> {
    match (change.kind(), change.action) {
        (Kind::RuntimeConnection, Action::Replace) => {
            Some("the end user has to connect again: the new connection starts unconnected")
        }
        (Kind::RuntimeConnection, Action::Delete)
            if change.reason == Reason::RuntimeConnectionWrongParent =>
        {
            Some("it has the wrong parent and the right one exists: it is disconnected and deleted")
        }
        (Kind::RuntimeConnection, Action::Delete) => {
            Some("the end user's connection is disconnected and deleted")
        }
        _ => None,
    }
}

/// `text` on one line, at most `max` characters (an ellipsis marks the cut).
fn one_line(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let mut cut: String = flat.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// An object the file does not list: `customer legacy-co, id 4711` or `runtime connection
/// files-sync.dropbox/old-user of acme-001, id 99`.
pub(crate) fn unmanaged_headline(unmanaged: &Unmanaged) -> String {
    let mut line = format!(
        "{} {}",
        kind_words(unmanaged.kind),
        printable(&unmanaged.key)
    );
    if unmanaged.kind != Kind::Customer || unmanaged.key != unmanaged.customer {
        let _ = write!(line, " of {}", printable(&unmanaged.customer));
    }
    if let Some(id) = unmanaged.id {
        let _ = write!(line, ", id {id}");
    }
    line
}

/// At most this many assets are named per line under a changed package; the rest are counted.
const ASSETS_NAMED: usize = 10;

/// What a changed package adds, changes and removes, one line each (`changed: recipe "List
/// files"`), at most [`ASSETS_NAMED`] names a line; or one line saying that the last import left
/// no record of its assets. Nothing for any other change.
pub(crate) fn asset_lines(change: &Change) -> Vec<String> {
    let Some(assets) = change.assets.as_deref() else {
        return Vec::new();
    };
    if !assets.recorded {
        return vec![
            "assets: no record of them from the last import (an older embedctl, or by hand); only the digest tells"
                .to_owned(),
        ];
    }
    if assets.is_empty() {
        return vec!["assets: none added, changed or removed".to_owned()];
    }
    [
        ("changed", &assets.changed),
        ("added", &assets.added),
        ("removed", &assets.removed),
    ]
    .into_iter()
    .filter(|(_, list)| !list.is_empty())
    .map(|(what, list)| {
        let mut names: Vec<String> = list
            .iter()
            .take(ASSETS_NAMED)
            .map(|asset| {
                format!(
                    "{} \"{}\"",
                    asset.type_name.replace('_', " "),
                    printable(&asset.name)
                )
            })
            .collect();
        if list.len() > ASSETS_NAMED {
            names.push(format!(
                "and {} more",
                count((list.len() - ASSETS_NAMED) as u64)
            ));
        }
        format!("{what}: {}", names.join(", "))
    })
    .collect()
}

/// How many assets a changed package adds, changes and removes, for a comment with no room for
/// names: `assets: 1 changed, 2 added`.
pub(crate) fn asset_counts(change: &Change) -> Option<String> {
    let assets = change.assets.as_deref()?;
    if !assets.recorded {
        return Some("assets: not recorded".to_owned());
    }
    let parts: Vec<String> = [
        ("changed", assets.changed.len()),
        ("added", assets.added.len()),
        ("removed", assets.removed.len()),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .map(|(what, n)| format!("{} {what}", count(n as u64)))
    .collect();
    (!parts.is_empty()).then(|| format!("assets: {}", parts.join(", ")))
}

/// The marker of an end user who has to act.
pub(crate) const PENDING_MARKER: &str = "…";

/// The marker of a change that cannot happen.
pub(crate) const BLOCKED_MARKER: &str = "!";

/// The marker of a change as plain text: its action's (`+`, `~`, `-`, `-/+`), or `!` when it is
/// blocked.
pub(crate) fn change_marker(change: &Change, blocked: bool) -> &'static str {
    if blocked {
        BLOCKED_MARKER
    } else {
        change.action.marker()
    }
}

/// Text as it may be printed on a terminal or inside a code block: control characters (escape
/// sequences, carriage returns, newlines) become visible escapes, so a name read from Workato can
/// neither restyle the terminal nor forge a line of the plan.
pub(crate) fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut clean = String::with_capacity(text.len() + 8);
    for character in text.chars() {
        if character.is_control() {
            clean.extend(character.escape_default());
        } else {
            clean.push(character);
        }
    }
    Cow::Owned(clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_240), "1,240");
        assert_eq!(count(1_000_000), "1,000,000");
    }

    #[test]
    fn an_apply_longer_than_a_ci_job_is_told_to_stop_in_time() {
        let mut budget = ApiBudget {
            min_seconds: crate::plan::CI_JOB_SECONDS,
            ..ApiBudget::default()
        };
        assert_eq!(long_apply_line(&budget), None, "six hours fit");
        budget.min_seconds = 103_000;
        let line = long_apply_line(&budget).expect("a warning");
        assert_eq!(
            line,
            "Warning: this apply needs ≥ 28 h 36 min at Workato's limits, longer than a CI job \
             may usually run (6 h). Run `embedctl apply --max-duration 5h30m` in each job, again \
             until it exits 0: each run stops in time (exit 4 while work is left) and the next \
             continues where it stopped, duplicating nothing."
        );
    }

    #[test]
    fn durations_round_down_and_keep_two_units() {
        assert_eq!(duration(0), "0 s");
        assert_eq!(duration(45), "45 s");
        assert_eq!(duration(100), "1 min 40 s");
        assert_eq!(duration(1_260), "21 min");
        assert_eq!(duration(1_299), "21 min");
        assert_eq!(duration(7_200), "2 h");
        assert_eq!(duration(7_500), "2 h 5 min");
    }

    #[test]
    fn control_characters_are_made_visible() {
        assert_eq!(printable("List files"), "List files");
        assert_eq!(printable("a\u{1b}[2Jb\nc"), "a\\u{1b}[2Jb\\nc");
    }
}
