//! What a change does to each field: `name: "Old" → "New"` for short values, a unified diff for a
//! long or multi-line one.
//!
//! `before` and `after` are the compared fields as JSON objects (`null` for a create). Only fields
//! that differ are shown; credentials are already reduced to fingerprints by `diff`, and nothing
//! here adds a value that is not in the plan.

use std::borrow::Cow;

use serde_json::{Map, Value};
use similar::{ChangeTag, TextDiff};

use super::words::printable;
use crate::plan::Change;

/// Values longer than this (in characters) are shown as a diff rather than on one line.
const LONG_VALUE: usize = 60;

/// Lines of context around each change in a unified diff.
const CONTEXT_LINES: usize = 3;

/// The placeholder `diff` writes for a value that is resolved only at apply time; shown as is,
/// not as a quoted string.
const KNOWN_AT_APPLY: &str = "(known at apply)";

/// One line under a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FieldLine {
    pub style: LineStyle,
    pub text: String,
    /// Of a field updated on one line (`name: "Old" → "New"`): the field as it is and as it will
    /// be (`name: "Old"`, `name: "New"`), for formats that show them as a removed and an added
    /// line.
    pub sides: Option<(String, String)>,
}

/// How a field line reads, so that each format can style it its own way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LineStyle {
    /// `name: before → after`, or the name above a diff.
    Field,
    /// `@@ -1,3 +1,3 @@`
    Hunk,
    /// An unchanged line of a diff.
    Context,
    /// A removed line of a diff.
    Removed,
    /// An added line of a diff.
    Added,
}

/// The field lines of a change, fields in name order. Lines of a diff are indented by two
/// spaces under their field's name.
pub(crate) fn field_lines(change: &Change) -> Vec<FieldLine> {
    let creating = change.before.is_null();
    let mut lines = Vec::new();
    let (before_fields, after_fields) = (change.before.value(), change.after.value());
    for (name, before, after) in changed_fields(&before_fields, &after_fields) {
        let label = if name.is_empty() {
            String::new()
        } else {
            format!("{}: ", printable(&name))
        };
        match (shown(before), shown(after)) {
            (Shown::Inline(before), Shown::Inline(after)) => {
                let (text, sides) = if creating {
                    (format!("{label}{after}"), None)
                } else {
                    (
                        format!("{label}{before} → {after}"),
                        Some((format!("{label}{before}"), format!("{label}{after}"))),
                    )
                };
                lines.push(FieldLine {
                    style: LineStyle::Field,
                    text,
                    sides,
                });
            }
            _ => {
                lines.push(FieldLine {
                    style: LineStyle::Field,
                    text: label.trim_end().to_owned(),
                    sides: None,
                });
                lines.extend(unified_diff(&raw(before), &raw(after)));
            }
        }
    }
    lines
}

/// The names of the fields a change touches, in order (for a comment that has no room for
/// values).
pub(crate) fn changed_field_names(change: &Change) -> Vec<String> {
    changed_fields(&change.before.value(), &change.after.value())
        .into_iter()
        .filter(|(name, _, _)| !name.is_empty())
        .map(|(name, _, _)| printable(&name).into_owned())
        .collect()
}

/// The fields whose values differ, by name; a `before`/`after` that is not an object counts as
/// one unnamed field.
fn changed_fields<'a>(
    before: &'a Value,
    after: &'a Value,
) -> Vec<(String, Option<&'a Value>, Option<&'a Value>)> {
    let object = |value: &'a Value| match value {
        Value::Object(map) => Some(map),
        Value::Null => Some(empty()),
        _ => None,
    };
    let (Some(before_fields), Some(after_fields)) = (object(before), object(after)) else {
        return if before == after {
            Vec::new()
        } else {
            vec![(String::new(), present(before), present(after))]
        };
    };
    let mut names: Vec<&String> = before_fields.keys().chain(after_fields.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|name| {
            let old = before_fields.get(name).and_then(present);
            let new = after_fields.get(name).and_then(present);
            (old != new).then(|| (name.clone(), old, new))
        })
        .collect()
}

/// An empty object, for `null` sides.
fn empty() -> &'static Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    EMPTY.get_or_init(Map::new)
}

/// `null` is shown as absent.
fn present(value: &Value) -> Option<&Value> {
    (!value.is_null()).then_some(value)
}

/// A value as it is shown.
enum Shown {
    /// Short enough for one line (`"Acme Corp"`, `true`, `(none)`).
    Inline(String),
    /// Long or multi-line: shown as a diff of its lines (see `raw`).
    Block,
}

/// A value as the text of one side of a diff: a string as it is, anything else as pretty JSON
/// with sorted keys, an absent value as nothing.
fn raw(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => {
            let sorted = super::json::sorted(other);
            serde_json::to_string_pretty(&sorted).unwrap_or_else(|_| sorted.to_string())
        }
    }
}

fn shown(value: Option<&Value>) -> Shown {
    let Some(value) = value else {
        return Shown::Inline("(none)".to_owned());
    };
    match value {
        Value::String(text) if text == KNOWN_AT_APPLY => Shown::Inline(text.clone()),
        Value::String(text) if text.contains('\n') || text.chars().count() > LONG_VALUE => {
            Shown::Block
        }
        Value::String(_) | Value::Bool(_) | Value::Number(_) | Value::Null => {
            Shown::Inline(value.to_string())
        }
        Value::Array(_) | Value::Object(_) => {
            let sorted = super::json::sorted(value);
            let compact = sorted.to_string();
            if compact.chars().count() > LONG_VALUE {
                Shown::Block
            } else {
                Shown::Inline(compact)
            }
        }
    }
}

/// A unified diff of two texts, line by line, with hunk headers; every line indented by two
/// spaces and made printable. A missing final newline is not a difference of the last line.
fn unified_diff(before: &str, after: &str) -> Vec<FieldLine> {
    let (before, after) = (with_final_newline(before), with_final_newline(after));
    if before == after {
        return vec![FieldLine {
            style: LineStyle::Context,
            text: "  (only the final newline differs)".to_owned(),
            sides: None,
        }];
    }
    let diff = TextDiff::from_lines(&before, &after);
    let mut lines = Vec::new();
    for group in diff.grouped_ops(CONTEXT_LINES) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let old = first.old_range().start..last.old_range().end;
        let new = first.new_range().start..last.new_range().end;
        lines.push(FieldLine {
            style: LineStyle::Hunk,
            text: format!("  @@ -{} +{} @@", hunk_range(&old), hunk_range(&new)),
            sides: None,
        });
        for op in &group {
            for change in diff.iter_changes(op) {
                let (style, sign) = match change.tag() {
                    ChangeTag::Equal => (LineStyle::Context, ' '),
                    ChangeTag::Delete => (LineStyle::Removed, '-'),
                    ChangeTag::Insert => (LineStyle::Added, '+'),
                };
                let value = change.value();
                let line = value.strip_suffix('\n').unwrap_or(value);
                lines.push(FieldLine {
                    style,
                    text: format!("  {sign}{}", printable(line)),
                    sides: None,
                });
            }
        }
    }
    lines
}

fn with_final_newline(text: &str) -> Cow<'_, str> {
    if text.is_empty() || text.ends_with('\n') {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(format!("{text}\n"))
    }
}

/// A hunk's range as unified diffs write it: `3` for one line, `3,4` otherwise, and the line
/// before an empty range.
fn hunk_range(range: &std::ops::Range<usize>) -> String {
    match range.len() {
        0 => format!("{},0", range.start),
        1 => format!("{}", range.start + 1),
        length => format!("{},{length}", range.start + 1),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::plan::{Action, Reason, Subject, Target};

    fn change(before: Value, after: Value) -> Change {
        Change {
            customer: "acme-001".to_owned(),
            phase: 1,
            action: Action::Update,
            subject: Subject::Customer,
            reason: Reason::CustomerChanged,
            before: before.into(),
            after: after.into(),
            blocked_by: None,
            target: Target::default(),
            assets: None,
        }
    }

    fn texts(lines: Vec<FieldLine>) -> Vec<String> {
        lines.into_iter().map(|line| line.text).collect()
    }

    #[test]
    fn only_changed_fields_are_shown() {
        let lines = field_lines(&change(
            json!({ "name": "Acme", "notification_email": "a@acme.example" }),
            json!({ "name": "Acme Corp", "notification_email": "a@acme.example" }),
        ));
        assert_eq!(texts(lines), ["name: \"Acme\" → \"Acme Corp\""]);
    }

    #[test]
    fn a_multi_line_value_is_a_unified_diff() {
        let lines = field_lines(&change(
            json!({ "description": "one\ntwo\nthree" }),
            json!({ "description": "one\n2\nthree" }),
        ));
        assert_eq!(
            texts(lines),
            [
                "description:",
                "  @@ -1,3 +1,3 @@",
                "   one",
                "  -two",
                "  +2",
                "   three"
            ]
        );
    }
}
