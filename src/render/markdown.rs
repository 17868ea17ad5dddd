//! The plan as one pull-request comment (`plan --format markdown`).
//!
//! A summary table comes first, then each customer's changes in a `<details>` block. GitHub
//! refuses comments over 65,536 characters, so the comment stays within [`MAX_CHARS`] by giving up
//! detail in tiers, and says what it left out:
//!
//! 1. everything: each changed field with its values (a diff for long ones);
//! 2. the names of the changed fields, without values;
//! 3. the summary table and as many changes as fit, blocked changes and deletions first;
//! 4. the summary line and the API budget only.
//!
//! Names come from the file and from Workato, so everything outside a code block is escaped
//! (`|`, `<`, `>`, backticks, `@` mentions and Markdown punctuation) and everything inside one is
//! fenced by a longer run of backticks than it contains. The plan holds no links; as a last line
//! of defence, any link with `token` in it is withheld from the comment.

use std::fmt::Write as _;

use super::RenderContext;
use super::field::{FieldLine, LineStyle, changed_field_names, field_lines};
use super::group::{CustomerPlan, Entry, by_customer};
use super::words::{
    PENDING_MARKER, asset_counts, asset_lines, budget_line, change_consequence, count, counted,
    customer_counts, headline, long_apply_line, more_changes_line, more_changes_note,
    more_pending_line, note_lines, observed_line, pending_headline, phase_heading, printable,
    summary_line, unmanaged_headline,
};
use crate::plan::{Action, ApiBudget, Change, Plan};

/// The most characters a comment may have: under GitHub's 65,536, with room for a bot's footer.
pub const MAX_CHARS: usize = 65_000;

/// The longest title that is shown; a longer one is cut.
const MAX_TITLE_CHARS: usize = 200;

/// Why detail is left out, and what to do instead.
const LEFT_OUT_BECAUSE: &str =
    "to stay under GitHub's 65,536-character comment limit; run `embedctl plan` for the full plan.";

/// The plan as a PR comment of at most [`MAX_CHARS`] characters.
pub fn render(plan: &Plan, budget: &ApiBudget, ctx: &RenderContext) -> String {
    render_with_limit(plan, budget, ctx, MAX_CHARS)
}

/// The plan as a PR comment of at most `max_chars` characters, with as much detail as fits.
pub fn render_with_limit(
    plan: &Plan,
    budget: &ApiBudget,
    ctx: &RenderContext,
    max_chars: usize,
) -> String {
    let mut comment = Comment {
        plan,
        budget,
        ctx,
        customers: by_customer(plan, ctx.listing),
        table: String::new(),
    };
    comment.table = comment.customer_table();
    let fits = |text: &String| text.chars().count() <= max_chars;
    let full = comment.detailed(Detail::Values);
    if fits(&full) {
        return withhold_token_links(&full);
    }
    let names_only = comment.detailed(Detail::FieldNames);
    if fits(&names_only) {
        return withhold_token_links(&names_only);
    }
    if let Some(top) = comment.top_changes(&fits) {
        return withhold_token_links(&top);
    }
    let summary = comment.summary_only();
    let summary = if fits(&summary) {
        summary
    } else {
        summary.chars().take(max_chars).collect()
    };
    withhold_token_links(&summary)
}

/// How much a customer's details say about each change.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Detail {
    /// Every changed field with its values.
    Values,
    /// The names of the changed fields.
    FieldNames,
}

/// The parts a comment is assembled from.
struct Comment<'a> {
    plan: &'a Plan,
    budget: &'a ApiBudget,
    ctx: &'a RenderContext,
    customers: Vec<CustomerPlan<'a>>,
    /// The summary table, made once: every tier but the last shows it.
    table: String,
}

impl Comment<'_> {
    /// Tiers 1 and 2: the table, then every customer's changes in `<details>`, then the objects
    /// the file does not list, skipped customers and notes.
    fn detailed(&self, detail: Detail) -> String {
        let mut out = self.heading();
        if detail == Detail::FieldNames {
            out.push_str(&left_out_note(&format!(
                "Values of changed fields left out {LEFT_OUT_BECAUSE}"
            )));
        }
        if self.customers.iter().any(CustomerPlan::has_hidden_changes) {
            out.push_str(&left_out_note(&sentence(&more_changes_note())));
        }
        out.push_str(&self.table);
        out.push_str(&self.facts());
        if !self.customers.is_empty() {
            let _ = writeln!(out, "{LEGEND}\n");
        }
        for customer in &self.customers {
            out.push_str(&customer_details(customer, detail));
        }
        out.push_str(&self.unmanaged());
        out.push_str(&self.skipped());
        out.push_str(&self.notes());
        out
    }

    /// Tier 3: the table and the most important changes that fit; `None` when not even the
    /// table fits.
    fn top_changes(&self, fits: &dyn Fn(&String) -> bool) -> Option<String> {
        // Every change, counted ones too, so that what is left out is said by the same count.
        let mut entries: Vec<Entry<'_>> = self
            .customers
            .iter()
            .flat_map(|customer| {
                customer
                    .phases
                    .values()
                    .flatten()
                    .chain(&customer.hidden)
                    .copied()
            })
            .filter(|entry| matches!(entry, Entry::Planned(_) | Entry::Blocked(_)))
            .collect();
        entries.sort_by_key(priority);
        let with = |shown: usize| self.top_changes_with(&entries, shown);
        let fewest = with(0);
        if !fits(&fewest) {
            return None;
        }
        // The comment grows with every change shown, so the most that fit is found by bisection.
        let (mut low, mut high) = (0, entries.len());
        while low < high {
            let middle = (low + high).div_ceil(2);
            if fits(&with(middle)) {
                low = middle;
            } else {
                high = middle - 1;
            }
        }
        Some(if low == 0 { fewest } else { with(low) })
    }

    fn top_changes_with(&self, entries: &[Entry<'_>], shown: usize) -> String {
        let mut left_out = vec![format!(
            "Details of {}",
            counted(self.customers.len() as u64, "customer", "customers")
        )];
        left_out.extend(self.left_out_lists());
        let mut out = self.heading();
        out.push_str(&left_out_note(&format!(
            "{} left out {LEFT_OUT_BECAUSE}",
            and_list(&left_out)
        )));
        out.push_str(&self.table);
        out.push_str(&self.facts());
        if shown > 0 {
            let _ = writeln!(
                out,
                "**{} of {} (blocked changes and deletions first)**\n",
                count(shown as u64),
                counted(entries.len() as u64, "change", "changes")
            );
            let _ = writeln!(out, "{LEGEND}\n");
            let mut lines = Vec::new();
            for entry in &entries[..shown] {
                let (Entry::Planned(change) | Entry::Blocked(change)) = entry else {
                    continue;
                };
                let marker = marker(change, matches!(entry, Entry::Blocked(_)));
                lines.push(format!(
                    "{marker} {}: {}  ({})",
                    printable(&change.customer),
                    headline(change),
                    change.reason.as_str()
                ));
                if let Entry::Blocked(_) = entry {
                    lines.push(blocked_line(change));
                }
            }
            out.push_str(&code_block("diff", &lines));
        }
        out
    }

    /// Tier 4: the summary line, the API budget, and what was left out.
    fn summary_only(&self) -> String {
        let mut left_out = Vec::new();
        if !self.customers.is_empty() {
            left_out.push(format!(
                "The table and details of {}",
                counted(self.customers.len() as u64, "customer", "customers")
            ));
        }
        left_out.extend(self.left_out_lists());
        let mut out = self.heading();
        if !left_out.is_empty() {
            out.push_str(&left_out_note(&format!(
                "{} left out {LEFT_OUT_BECAUSE}",
                and_list(&left_out)
            )));
        }
        out.push_str(&self.facts());
        out
    }

    /// The lists that tiers 3 and 4 leave out: unmanaged objects, skipped customers, notes.
    fn left_out_lists(&self) -> Vec<String> {
        let plan = self.plan;
        let mut lists = Vec::new();
        if !plan.unmanaged.is_empty() {
            lists.push(format!(
                "the list of {} not in the file",
                counted(plan.unmanaged.len() as u64, "object", "objects")
            ));
        }
        if !plan.skipped.is_empty() {
            lists.push(format!(
                "the list of {}",
                counted(
                    plan.skipped.len() as u64,
                    "skipped customer",
                    "skipped customers"
                )
            ));
        }
        if !plan.notes.is_empty() {
            lists.push(counted(plan.notes.len() as u64, "note", "notes"));
        }
        lists
    }

    /// The title and the summary line.
    fn heading(&self) -> String {
        let title: String = self.ctx.title.chars().take(MAX_TITLE_CHARS).collect();
        let command = self.ctx.command.as_str();
        let mut out = if title.trim().is_empty() {
            format!("## embedctl {command}\n\n")
        } else {
            format!("## embedctl {command}: {}\n\n", inline(&title))
        };
        let _ = writeln!(out, "**{}**\n", summary_line(self.plan));
        out
    }

    /// Customers × create / update / delete / blocked / end users pending.
    fn customer_table(&self) -> String {
        if self.customers.is_empty() {
            return String::new();
        }
        let mut out = String::from(
            "| customer | create | update | delete | blocked | end users pending |\n\
             |:--|--:|--:|--:|--:|--:|\n",
        );
        for customer in &self.customers {
            let summary = customer.summary();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                inline(customer.customer),
                count(summary.create as u64),
                count(summary.update as u64),
                count(summary.delete as u64),
                count(summary.blocked as u64),
                count(summary.pending_users as u64)
            );
        }
        out.push('\n');
        out
    }

    /// The API budget, the calls made to read Workato, and where end users find their links.
    fn facts(&self) -> String {
        let mut out = String::new();
        for line in [
            observed_line(&self.ctx.observed_calls),
            budget_line(self.budget),
            long_apply_line(self.budget),
        ]
        .into_iter()
        .flatten()
        {
            // Our own sentences: family names' underscores are intraword, so no emphasis.
            let _ = writeln!(out, "{line}\n");
        }
        if !self.plan.pending_users.is_empty() {
            out.push_str(
                "End users authorize these connections themselves, in the connection widget of your product.\n\n",
            );
        }
        out
    }

    fn unmanaged(&self) -> String {
        let unmanaged = &self.plan.unmanaged;
        if unmanaged.is_empty() {
            return String::new();
        }
        let lines: Vec<String> = unmanaged
            .iter()
            .map(|object| {
                format!(
                    "{}  ({})",
                    unmanaged_headline(object),
                    object.reason.as_str()
                )
            })
            .collect();
        format!(
            "<details><summary>{} in Workato not in the file (left alone)</summary>\n\n{}\n</details>\n\n",
            counted(unmanaged.len() as u64, "object", "objects"),
            code_block("text", &lines)
        )
    }

    fn skipped(&self) -> String {
        if self.plan.skipped.is_empty() {
            return String::new();
        }
        let mut out = String::from("**Skipped**\n\n");
        for skipped in &self.plan.skipped {
            let _ = writeln!(
                out,
                "- {}: {}",
                inline(&skipped.customer),
                sentence(&skipped.why)
            );
        }
        out.push('\n');
        out
    }

    fn notes(&self) -> String {
        if self.plan.notes.is_empty() {
            return String::new();
        }
        let mut out = String::from("**Notes**\n\n");
        for note in note_lines(&self.plan.notes) {
            let _ = writeln!(out, "- {}", sentence(&note));
        }
        out.push('\n');
        out
    }
}

/// One customer's changes, phase by phase, in a `<details>` block.
fn customer_details(customer: &CustomerPlan<'_>, detail: Detail) -> String {
    let mut out = format!(
        "<details><summary><b>{}</b>: {}</summary>\n\n",
        inline(customer.customer),
        inline(&customer_counts(&customer.summary()))
    );
    for (phase, entries) in &customer.phases {
        let _ = writeln!(out, "**{}**\n", phase_heading(*phase));
        let mut lines = Vec::with_capacity(entries.len() * 2);
        for entry in entries {
            match entry {
                Entry::Planned(change) => {
                    lines.push(change_line(marker(change, false), change));
                    if let Some(consequence) = change_consequence(change) {
                        lines.push(format!("    {consequence}"));
                    }
                    lines.extend(details_of(change, detail, true));
                }
                Entry::Blocked(change) => {
                    lines.push(change_line(BLOCKED, change));
                    lines.push(blocked_line(change));
                    lines.extend(details_of(change, detail, false));
                }
                Entry::Pending(pending) => lines.push(format!(
                    "{PENDING_MARKER} {}  ({})",
                    pending_headline(pending),
                    pending.reason.as_str()
                )),
                Entry::MoreChanges(more) => lines.push(format!(
                    "{} {}",
                    marker(more.first, more.blocked),
                    more_changes_line(more)
                )),
                Entry::MorePending { connection, users } => lines.push(format!(
                    "{PENDING_MARKER} {}",
                    more_pending_line(connection, *users)
                )),
            }
        }
        out.push_str(&code_block("diff", &lines));
        out.push('\n');
    }
    out.push_str("</details>\n\n");
    out
}

/// `+ create customer acme-001  (customer.missing)`: the marker first, where GitHub's diff
/// highlighting looks for it.
fn change_line(marker: &str, change: &Change) -> String {
    format!(
        "{marker} {}  ({})",
        headline(change),
        change.reason.as_str()
    )
}

fn blocked_line(change: &Change) -> String {
    format!(
        "    blocked: {}",
        printable(change.blocked_by.as_deref().unwrap_or("blocked"))
    )
}

/// The marker of a blocked change: GitHub's diff highlighting leaves a line starting with `?`
/// uncoloured, so it reads as neither a change nor a deletion.
const BLOCKED: &str = "?";

/// A change's marker where GitHub's diff highlighting colours it by what it means: `+` create
/// (green), `-` delete and `-/+` replace (red), `!` update, import, authorization or start
/// (orange: changed), `?` blocked (uncoloured). The text plan's `~` would be uncoloured.
fn marker(change: &Change, blocked: bool) -> &'static str {
    if blocked {
        return BLOCKED;
    }
    match change.action {
        Action::Update | Action::Import | Action::Authorize | Action::Start => "!",
        action => action.marker(),
    }
}

/// The one line that says what the markers mean.
const LEGEND: &str = "`+` create · `!` update, import, authorize, start · `-` delete · `-/+` replace · \
                      `?` blocked · `…` end user to connect; under a change, `-` is a value in \
                      Workato and `+` the value after apply";

/// The lines under a change: its fields with values, or only their names; then what a changed
/// package does to its assets.
///
/// With values, an updated field is a `-` line (as it is) and a `+` line (as it will be), and a
/// long value's diff keeps its `-`/`+` signs in the first column, where GitHub colours them;
/// everything else is indented, which GitHub leaves uncoloured. Under a blocked change
/// (`coloured` false) every line is indented: nothing there is about to change.
fn details_of(change: &Change, detail: Detail, coloured: bool) -> Vec<String> {
    let mut lines = Vec::new();
    match detail {
        Detail::Values => {
            for FieldLine { style, text, sides } in field_lines(change) {
                let sides = sides.filter(|_| coloured);
                match (style, sides) {
                    (_, Some((before, after))) => {
                        lines.push(format!("-   {before}"));
                        lines.push(format!("+   {after}"));
                    }
                    (LineStyle::Removed | LineStyle::Added, None) if coloured => {
                        // `  -line` → `-      line`: the sign moves to the first column.
                        let sign = if style == LineStyle::Removed {
                            '-'
                        } else {
                            '+'
                        };
                        let rest = text.get(3..).unwrap_or_default();
                        lines.push(format!("{sign}      {rest}"));
                    }
                    _ => lines.push(format!("    {text}")),
                }
            }
            lines.extend(
                asset_lines(change)
                    .into_iter()
                    .map(|line| format!("    {line}")),
            );
        }
        Detail::FieldNames => {
            let names = changed_field_names(change);
            if !names.is_empty() {
                lines.push(format!("    fields: {}", names.join(", ")));
            }
            lines.extend(asset_counts(change).map(|line| format!("    {line}")));
        }
    }
    lines
}

/// Which changes a shortened comment shows first: blocked ones, then deletions and replacements,
/// then updates, then creates.
fn priority(entry: &Entry<'_>) -> u8 {
    match entry {
        Entry::Blocked(_) => 0,
        Entry::Planned(change) => match change.action {
            Action::Delete | Action::Disconnect | Action::Replace => 1,
            Action::Update | Action::Import | Action::Authorize | Action::Start => 2,
            Action::Create => 3,
        },
        Entry::MoreChanges(_) | Entry::Pending(_) | Entry::MorePending { .. } => 4,
    }
}

/// A GitHub note (`> [!NOTE]`) with `text`, which is already Markdown.
fn left_out_note(text: &str) -> String {
    format!("> [!NOTE]\n> {text}\n\n")
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [only] => only.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// Lines in a fenced code block whose fence is longer than any run of backticks inside, so that
/// no name can close it.
fn code_block(language: &str, lines: &[String]) -> String {
    let body = lines.join("\n");
    let mut longest = 0;
    let mut run = 0;
    for character in body.chars() {
        run = if character == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}{language}\n{body}\n{fence}\n")
}

/// Text for outside a code block: HTML entities for everything Markdown or HTML would read as
/// syntax (table pipes, tags, code spans, emphasis, links, `@` mentions), in `<summary>` as well
/// as in table cells; control characters made visible.
fn inline(text: &str) -> String {
    let text = printable(text);
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '|' | '`' | '*' | '_' | '[' | ']' | '\\' | '~' | '@' | '#' | '!' => {
                let _ = write!(out, "&#{};", u32::from(character));
            }
            other => out.push(other),
        }
    }
    out
}

/// A sentence of ours (a note, a reason) whose values are in backticks: the code spans are kept,
/// with their content as it is (a code span shows text literally), and the rest is escaped like
/// `inline`. With unbalanced backticks the whole sentence is escaped.
fn sentence(text: &str) -> String {
    let text = printable(text);
    let parts: Vec<&str> = text.split('`').collect();
    if parts.len().is_multiple_of(2) {
        return inline(&text);
    }
    let mut out = String::with_capacity(text.len());
    for (index, part) in parts.iter().enumerate() {
        if index % 2 == 1 && !part.is_empty() {
            let _ = write!(out, "`{part}`");
        } else {
            out.push_str(&inline(part));
        }
    }
    out
}

/// The comment with every `http(s)://` link that mentions `token` replaced by `(link
/// withheld)`. The plan never holds such a link; this makes sure no change elsewhere can put a
/// connection-widget token into a PR comment.
fn withhold_token_links(comment: &str) -> String {
    let mut out = String::with_capacity(comment.len());
    let mut rest = comment;
    while let Some(start) = find_link(rest) {
        out.push_str(&rest[..start]);
        let link = &rest[start..];
        let end = link
            .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\'' | '`' | ')'))
            .unwrap_or(link.len());
        if link[..end].to_ascii_lowercase().contains("token") {
            out.push_str("(link withheld)");
        } else {
            out.push_str(&link[..end]);
        }
        rest = &link[end..];
    }
    out.push_str(rest);
    out
}

/// Where the next `http://` or `https://` starts, in any case.
fn find_link(text: &str) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    [lower.find("http://"), lower.find("https://")]
        .into_iter()
        .flatten()
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_text_cannot_make_markup() {
        assert_eq!(
            inline("a|b <script> `x` @team *y*"),
            "a&#124;b &lt;script&gt; &#96;x&#96; &#64;team &#42;y&#42;"
        );
    }

    #[test]
    fn sentences_keep_their_code_spans() {
        assert_eq!(
            sentence("`A_KEY` is not set; see <b>@docs</b>"),
            "`A_KEY` is not set; see &lt;b&gt;&#64;docs&lt;/b&gt;"
        );
        assert_eq!(sentence("odd ` count"), "odd &#96; count");
    }

    #[test]
    fn a_fence_is_longer_than_any_backtick_run_inside() {
        let block = code_block("diff", &["+ create recipe ````x".to_owned()]);
        assert!(block.starts_with("`````diff\n"), "{block}");
        assert!(block.ends_with("\n`````\n"), "{block}");
    }

    #[test]
    fn links_with_tokens_are_withheld() {
        assert_eq!(
            withhold_token_links(
                "see https://app.example/widget?Token=abc and http://x.example/ok."
            ),
            "see (link withheld) and http://x.example/ok."
        );
    }
}
