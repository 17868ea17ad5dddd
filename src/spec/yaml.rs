//! The one place that calls the YAML reader (serde-saphyr).
//!
//! Keeping every YAML call here means the reader can be swapped, and its limits (nesting depth,
//! aliases, duplicate keys) are set once. The limits are far above what a real desired-state file
//! needs and far below what makes an alias bomb or a deeply nested file expensive.

use serde::de::DeserializeOwned;
use serde_saphyr::{Budget, DuplicateKeyPolicy, Options};

use super::diagnostic::{Diagnostic, SourceFile};

/// Reads `source` as one YAML document into `T`, or says where and why it cannot.
pub fn parse<T: DeserializeOwned>(source: &SourceFile) -> Result<T, Diagnostic> {
    serde_saphyr::from_str_with_options(source.text(), options())
        .map_err(|error| to_diagnostic(&error, source))
}

fn options() -> Options {
    let mut budget = Budget::default();
    budget.max_depth = 64;
    budget.flow_nesting_limit = 64;
    budget.max_aliases = 1_000;
    budget.max_anchors = 1_000;
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
            Diagnostic::error(source, span, message, "here")
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
    let trimmed = match first_line.rfind(" at line ") {
        Some(index) => &first_line[..index],
        None => first_line,
    };
    let trimmed = trimmed.trim_start_matches("error: ").trim();
    if trimmed.is_empty() {
        return "the file is not valid YAML".to_owned();
    }
    reword(trimmed)
}

/// Rewords the reader's messages that speak of its own API rather than of the user's file.
fn reword(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
        let key = rest.split(", set DuplicateKeyPolicy").next().unwrap_or(rest);
        return format!("duplicate key `{key}`");
    }
    if let Some(rest) = message.strip_prefix("unknown field ") {
        if let Some((field, expected)) = rest.split_once(", expected ") {
            let expected = expected
                .trim_start_matches("one of ")
                .split(", ")
                .map(|name| format!("`{}`", name.trim_matches('`')))
                .collect::<Vec<_>>()
                .join(", ");
            return format!("unknown key {field} (allowed here: {expected})");
        }
        return format!("unknown key {rest}");
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        return format!("unknown value {rest}");
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
    } else if message.contains("budget") || message.contains("alias") || message.contains("depth")
    {
        Some("embedctl refuses YAML that expands or nests far beyond any real desired-state file".to_owned())
    } else {
        None
    }
}
