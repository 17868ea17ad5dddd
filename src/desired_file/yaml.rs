//! The one place that calls the YAML reader (serde-saphyr).
//!
//! Keeping every YAML call here means the reader can be swapped, and its limits (nesting depth,
//! aliases, duplicate keys) are set once. The limits are far above what a real desired-state file
//! needs and far below what makes an alias bomb or a deeply nested file expensive.

use serde::de::DeserializeOwned;
use serde_saphyr::{Budget, DuplicateKeyPolicy, Options};

use super::diagnostic::{Diagnostic, SourceFile, quote};

/// Reads `text` as one YAML document into `T`, or says where and why it cannot. Diagnostics
/// show `display`: the same text with possible secrets masked.
pub fn parse<T: DeserializeOwned>(text: &str, display: &SourceFile) -> Result<T, Diagnostic> {
    serde_saphyr::from_str_with_options(text, options())
        .map_err(|error| to_diagnostic(&error, display))
}

fn options() -> Options {
    let mut budget = Budget::default();
    // The file's size is capped before it is read (`MAX_FILE_BYTES`), so counts that grow with
    // the size of the text need no tighter cap here; what must be capped is what grows faster
    // than the text: nesting, and aliases that replay anchors.
    let plenty = 2 * super::MAX_FILE_BYTES as usize;
    budget.max_events = plenty;
    budget.max_nodes = plenty;
    budget.max_total_scalar_bytes = plenty;
    budget.max_depth = 64;
    budget.flow_nesting_limit = 64;
    // Many aliases are normal (`<<: *defaults` on every customer); what must stay small is how
    // much they expand, which `alias_limits` caps below.
    budget.max_aliases = 1_000_000;
    budget.enforce_alias_anchor_ratio = false;
    budget.max_anchors = 1_000_000;
    budget.max_documents = 1;
    budget.max_recorded_anchor_events = 100_000;
    let mut options = Options::default();
    options.budget = Some(budget);
    options.duplicate_keys = DuplicateKeyPolicy::Error;
    options.alias_limits.max_total_replayed_events = 100_000;
    options.alias_limits.max_replay_stack_depth = 16;
    options
}

fn to_diagnostic(error: &serde_saphyr::Error, source: &SourceFile) -> Diagnostic {
    let message = message_of(error);
    let help = help_for(&message);
    let diagnostic = match error.location() {
        Some(location) if location.line() > 0 => {
            let span = source.span_of_location(&location);
            let label = if message.starts_with("missing key") {
                "in this mapping"
            } else {
                "here"
            };
            Diagnostic::error(source, span, message, label)
        }
        _ => Diagnostic::error_without_location(format!("{}: {message}", source.name())),
    };
    match help {
        Some(help) => diagnostic.with_help(help),
        None => diagnostic,
    }
}

/// The reader's message without the location suffix it appends (the caret shows the place).
fn message_of(error: &serde_saphyr::Error) -> String {
    let rendered = error.without_snippet().to_string();
    let first_line = rendered.lines().next().unwrap_or_default().trim();
    let trimmed = match first_line.find(" at line ") {
        Some(index) => &first_line[..index],
        None => first_line,
    };
    let trimmed = trimmed.trim_start_matches("error: ").trim();
    if trimmed.is_empty() {
        return "the file is not valid YAML".to_owned();
    }
    reword(trimmed)
}

/// Rewords the reader's messages that speak of its own API rather than of the user's file. A
/// value the message repeats (a key, an enum value) is cut short: it may be megabytes long.
fn reword(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
        let key = rest
            .split(", set DuplicateKeyPolicy")
            .next()
            .unwrap_or(rest);
        return format!("duplicate key {}", quote(key));
    }
    if let Some(rest) = message.strip_prefix("unknown field ") {
        if let Some((field, expected)) = rest.split_once(", expected ") {
            let expected = expected
                .trim_start_matches("one of ")
                .split(", ")
                .map(|name| format!("`{}`", name.trim_matches('`')))
                .collect::<Vec<_>>()
                .join(", ");
            return format!(
                "unknown key {} (allowed here: {expected})",
                quote(field.trim_matches('`'))
            );
        }
        return format!("unknown key {}", quote(rest.trim_matches('`')));
    }
    if message.starts_with("cannot deserialize null") {
        return "expected a value here, found nothing".to_owned();
    }
    if message.starts_with("cannot deserialize tagged scalar") {
        return "YAML tags (`!!…`) are not supported here; write the plain value".to_owned();
    }
    if message == "expected string scalar" {
        return "expected a single text value here".to_owned();
    }
    if message == "expected mapping start" {
        return "expected a mapping here".to_owned();
    }
    if message == "expected sequence start" {
        return "expected a list here".to_owned();
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        if let Some((value, expected)) = rest.split_once(", expected one of ") {
            let expected = expected
                .split(", ")
                .map(|name| format!("`{}`", name.trim_matches('`')))
                .collect::<Vec<_>>()
                .join(", ");
            return format!(
                "unknown value {} (expected one of {expected})",
                quote(value.trim_matches('`'))
            );
        }
        return format!("unknown value {}", quote(rest.trim_matches('`')));
    }
    if message.starts_with("budget breached: Depth") || message == "recursion limit exceeded" {
        return "the file nests deeper than any desired-state file needs (more than 64 levels)"
            .to_owned();
    }
    if message.starts_with("budget breached: Documents") {
        return "the file holds more than one YAML document (`---`); embedctl reads one".to_owned();
    }
    if message == "invalid u64" || message == "invalid i64" || message == "invalid u32" {
        return "expected a whole number".to_owned();
    }
    if message == "invalid boolean" {
        return "expected `true` or `false`".to_owned();
    }
    if message.starts_with("budget breached: Events")
        || message.starts_with("budget breached: Nodes")
        || message.starts_with("budget breached: ScalarBytes")
    {
        return "the file is larger than any desired-state file embedctl reads".to_owned();
    }
    if message.starts_with("budget breached") || message.contains("alias replay") {
        return "aliases in the file expand far beyond any desired-state file (an alias bomb?)"
            .to_owned();
    }
    if message.contains("untagged enum SettingValue") {
        return "a setting must be a string, a number or a boolean".to_owned();
    }
    if let Some(rest) = message.strip_prefix("missing field ") {
        return format!("missing key {rest}");
    }
    message.to_owned()
}

fn help_for(message: &str) -> Option<String> {
    if message.starts_with("unknown key") {
        Some("check the spelling; `embedctl schema` prints every key of the file".to_owned())
    } else if message.contains("duplicate") {
        Some("each key may appear once in a mapping; remove or merge the repeated one".to_owned())
    } else if message.starts_with("missing key") {
        Some("add the field; `embedctl schema` prints every field and its type".to_owned())
    } else if message.contains("nests deeper") || message.contains("alias") {
        Some(
            "embedctl refuses YAML that expands or nests far beyond any real desired-state file"
                .to_owned(),
        )
    } else {
        None
    }
}
