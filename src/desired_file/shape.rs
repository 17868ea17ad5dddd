//! The shape pass: every unknown key, missing key and wrong kind of value in one run.
//!
//! serde stops at the first error, but `validate` reports every error of the file at once. So the
//! file is first read into a located, untyped tree (`Node`) and walked against the JSON Schema
//! that schemars generates from the file's own types — one source of truth for which keys exist.
//! Only when the shape is right does the typed read run, for the finer points (numbers, enums).
//!
//! The schema's `maxLength` (of values) and `propertyNames.maxLength` (of keys) are enforced here
//! too, for every string of the file, credentials included: `limits` holds the numbers. A value
//! that is too long does not stop the typed read, so the semantic checks still run and every
//! error of the file is reported at once.

use std::fmt;

use miette::SourceSpan;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::Spanned;
use super::diagnostic::{Diagnostic, Diagnostics, SourceFile, quote, short, thousands};

/// A YAML value with the location of every part.
#[derive(Debug)]
pub enum Node {
    /// A mapping, keys in file order.
    Map(Vec<(Spanned<String>, Spanned<Node>)>),
    /// A sequence.
    Seq(Vec<Spanned<Node>>),
    /// A string, number or boolean; its text is not kept (it may be a secret).
    Scalar(Scalar),
    /// `~`, `null` or nothing.
    Null,
}

/// What kind of scalar the YAML reader saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scalar {
    /// Text (quoted, or plain text that reads as no number or boolean), and its length in
    /// characters.
    Text(usize),
    /// A plain number or boolean.
    Other,
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any YAML value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Node, E> {
        Ok(Node::Scalar(Scalar::Other))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Node, E> {
        Ok(Node::Scalar(Scalar::Other))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Node, E> {
        Ok(Node::Scalar(Scalar::Other))
    }
    fn visit_i128<E>(self, _: i128) -> Result<Node, E> {
        Ok(Node::Scalar(Scalar::Other))
    }
    fn visit_u128<E>(self, _: u128) -> Result<Node, E> {
        Ok(Node::Scalar(Scalar::Other))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Scalar(Scalar::Other))
    }
    fn visit_str<E>(self, text: &str) -> Result<Node, E> {
        Ok(Node::Scalar(Scalar::Text(text.chars().count())))
    }
    fn visit_bytes<E>(self, _: &[u8]) -> Result<Node, E> {
        Ok(Node::Scalar(Scalar::Other))
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        Node::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Node>>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            let value = map.next_value::<Spanned<Node>>()?;
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }
}

/// What the shape pass found.
pub struct Report {
    /// Every problem, in the order of the file.
    pub diagnostics: Diagnostics,
    /// Whether a problem keeps the typed read from running: anything but a value that is too long.
    pub blocks_typed_read: bool,
}

/// Walks `root` against the schema of the desired-state file and reports every shape problem.
pub fn check(root: &Spanned<Node>, schema: &Value, source: &SourceFile) -> Report {
    let mut report = Report {
        diagnostics: Diagnostics::new(),
        blocks_typed_read: false,
    };
    let walker = Walker {
        root: schema,
        source,
    };
    walker.walk(root, schema, Place::File, &mut report);
    report
}

impl Report {
    /// A wrong shape: the typed read cannot run.
    fn shape(&mut self, diagnostic: Diagnostic) {
        self.blocks_typed_read = true;
        self.diagnostics.push(diagnostic);
    }

    /// A value or key longer than its limit: an error, but the typed read can still run.
    fn length(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }
}

/// Which value a diagnostic speaks of, for its message.
#[derive(Clone, Copy)]
enum Place<'a> {
    /// The whole file.
    File,
    /// The value of key `0`.
    Key(&'a str),
    /// An entry of the list under key `0`.
    Entry(&'a str),
}

impl Place<'_> {
    /// The key the value belongs to (its own, or its list's).
    fn key(&self) -> &str {
        match self {
            Place::File => "",
            Place::Key(key) | Place::Entry(key) => key,
        }
    }
}

impl fmt::Display for Place<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::File => formatter.write_str("the file"),
            Place::Key(key) => formatter.write_str(&quote(key)),
            Place::Entry(key) => write!(formatter, "an entry of {}", quote(key)),
        }
    }
}

struct Walker<'a> {
    root: &'a Value,
    source: &'a SourceFile,
}

impl Walker<'_> {
    /// Follows `$ref` and picks the non-null branch of `anyOf` (how schemars writes `Option`).
    fn resolve<'s>(&'s self, mut schema: &'s Value) -> &'s Value {
        loop {
            if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
                let name = reference.trim_start_matches("#/$defs/");
                match self.root.get("$defs").and_then(|defs| defs.get(name)) {
                    Some(target) => schema = target,
                    None => return schema,
                }
            } else if let Some(branches) = schema.get("anyOf").and_then(Value::as_array) {
                match branches
                    .iter()
                    .find(|branch| branch.get("type").and_then(Value::as_str) != Some("null"))
                {
                    Some(branch) => schema = branch,
                    None => return schema,
                }
            } else {
                return schema;
            }
        }
    }

    fn nullable(schema: &Value) -> bool {
        schema
            .get("anyOf")
            .and_then(Value::as_array)
            .is_some_and(|branches| {
                branches
                    .iter()
                    .any(|branch| branch.get("type").and_then(Value::as_str) == Some("null"))
            })
    }

    /// The type a schema expects, and whether it also allows null (`"type": ["string", "null"]`
    /// is how schemars writes an optional string).
    fn expected_type(schema: &Value) -> (Option<&str>, bool) {
        match schema.get("type") {
            Some(Value::String(kind)) => (Some(kind.as_str()), false),
            Some(Value::Array(kinds)) => {
                let kinds: Vec<&str> = kinds.iter().filter_map(Value::as_str).collect();
                (
                    kinds.iter().copied().find(|kind| *kind != "null"),
                    kinds.contains(&"null"),
                )
            }
            _ => (None, false),
        }
    }

    fn walk(&self, node: &Spanned<Node>, schema: &Value, place: Place, report: &mut Report) {
        let nullable = Self::nullable(schema);
        let schema = self.resolve(schema);
        // Credentials and settings have their own, finer checks (and may hold secrets); only
        // their lengths are checked here.
        if schema.get("oneOf").is_some() || schema.get("anyOf").is_some() {
            self.lengths_only(node, schema, place, report);
            return;
        }
        let (expected, null_type) = Self::expected_type(schema);
        let nullable = nullable || null_type;
        let span = self.source.span_of(node);
        let wrong = |what: &str, found: &str| {
            Diagnostic::error(
                self.source,
                span,
                format!("expected {what} here, found {found}"),
                format!("not {what}"),
            )
            .with_help("`embedctl schema` prints the type of every key")
        };
        match (&node.value, expected) {
            (Node::Null, _) if nullable => {}
            (Node::Null, Some("object")) => report.shape(wrong("a mapping", "nothing")),
            (Node::Null, Some("array")) => report.shape(wrong("a list", "nothing")),
            (Node::Null, Some("string")) => report.shape(wrong("a text value", "nothing")),
            (Node::Null, Some("integer")) => report.shape(wrong("a whole number", "nothing")),
            (Node::Null, Some("boolean")) => report.shape(wrong("`true` or `false`", "nothing")),
            (Node::Map(entries), Some("object")) => {
                self.walk_map(node, entries, schema, place, report)
            }
            (Node::Seq(items), Some("array")) => {
                let item_schema = schema.get("items").unwrap_or(&Value::Bool(true));
                for item in items {
                    self.walk(item, item_schema, Place::Entry(place.key()), report);
                }
            }
            (Node::Scalar(scalar), Some("string")) => {
                if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
                    self.check_length(node, *scalar, max, place, report);
                }
            }
            // A quoted `"1"` or `"true"` is text, however it reads: the schema says which one.
            (Node::Scalar(Scalar::Text(_)), Some("integer")) => {
                let key = place.key();
                let help = match (
                    schema.get("minimum").and_then(Value::as_u64),
                    schema.get("maximum").and_then(Value::as_u64),
                ) {
                    (Some(min), Some(max)) if min == max => {
                        format!("{place} is the integer {min}, not text: write `{key}: {min}`")
                    }
                    _ => format!("{place} is an integer, not text"),
                };
                report.shape(wrong("a whole number", "text").with_help(self.unquoted(span, help)));
            }
            (Node::Scalar(Scalar::Text(_)), Some("boolean")) => {
                let help = format!("{place} is `true` or `false`, not text");
                report
                    .shape(wrong("`true` or `false`", "text").with_help(self.unquoted(span, help)));
            }
            (Node::Map(_), Some("array")) => report.shape(wrong("a list", "a mapping")),
            (Node::Scalar(_), Some("array")) => report.shape(wrong("a list", "a single value")),
            (Node::Seq(_), Some("object")) => report.shape(wrong("a mapping", "a list")),
            (Node::Scalar(_), Some("object")) => report.shape(wrong("a mapping", "a single value")),
            (Node::Map(_), Some("string" | "integer" | "boolean")) => {
                report.shape(wrong("a single value", "a mapping"))
            }
            (Node::Seq(_), Some("string" | "integer" | "boolean")) => {
                report.shape(wrong("a single value", "a list"))
            }
            _ => {}
        }
    }

    /// `help`, and a word about the quotes when the value at `span` is quoted.
    fn unquoted(&self, span: SourceSpan, help: String) -> String {
        let quoted = self
            .source
            .text()
            .get(span.offset()..)
            .is_some_and(|rest| rest.starts_with(['"', '\'']));
        if quoted {
            format!("{help} (without quotes)")
        } else {
            help
        }
    }

    /// Reports a scalar longer than `max` characters. A number or boolean that stands where text
    /// belongs becomes the text it is written as, so its length is that of its source.
    fn check_length(
        &self,
        node: &Spanned<Node>,
        scalar: Scalar,
        max: u64,
        place: Place,
        report: &mut Report,
    ) {
        let span = self.source.span_of(node);
        let length = match scalar {
            Scalar::Text(chars) => chars,
            Scalar::Other => span.len(),
        };
        if length as u64 > max {
            report.length(
                Diagnostic::error(
                    self.source,
                    span,
                    format!("{place} is {} characters long", thousands(length)),
                    format!("longer than {} characters", thousands(max)),
                )
                .with_help(format!(
                    "{place} may be at most {} characters long",
                    thousands(max)
                )),
            );
        }
    }

    /// Reports the keys of a mapping longer than the schema's `propertyNames.maxLength`.
    fn check_key_lengths(
        &self,
        entries: &[(Spanned<String>, Spanned<Node>)],
        schema: &Value,
        place: Place,
        report: &mut Report,
    ) {
        let Some(max) = schema
            .get("propertyNames")
            .and_then(|names| names.get("maxLength"))
            .and_then(Value::as_u64)
        else {
            return;
        };
        for (key, _) in entries {
            let length = key.value.chars().count();
            if length as u64 > max {
                report.length(
                    Diagnostic::error(
                        self.source,
                        self.source.span_of(key),
                        format!(
                            "key `{}` is {} characters long",
                            short(&key.value),
                            thousands(length)
                        ),
                        format!("longer than {} characters", thousands(max)),
                    )
                    .with_help(format!(
                        "keys under {place} may be at most {} characters long",
                        thousands(max)
                    )),
                );
            }
        }
    }

    /// Checks only the lengths of keys and text under a schema with several branches (`oneOf`,
    /// `anyOf`): a mapping's key picks the branch that names it; text is held to the largest
    /// limit of the text branches, and is not checked when no branch is text (a literal secret,
    /// which the semantic checks report without repeating it).
    fn lengths_only(
        &self,
        node: &Spanned<Node>,
        schema: &Value,
        place: Place,
        report: &mut Report,
    ) {
        let schema = self.resolve(schema);
        let branches: Vec<&Value> = match schema
            .get("oneOf")
            .or_else(|| schema.get("anyOf"))
            .and_then(Value::as_array)
        {
            Some(branches) => branches.iter().map(|branch| self.resolve(branch)).collect(),
            None => vec![schema],
        };
        match &node.value {
            Node::Scalar(scalar) => {
                let max = branches
                    .iter()
                    .filter(|branch| Self::expected_type(branch).0 == Some("string"))
                    .filter_map(|branch| branch.get("maxLength").and_then(Value::as_u64))
                    .max();
                if let Some(max) = max {
                    self.check_length(node, *scalar, max, place, report);
                }
            }
            Node::Map(entries) => {
                if let Some(branch) = branches
                    .iter()
                    .find(|branch| branch.get("propertyNames").is_some())
                {
                    self.check_key_lengths(entries, branch, place, report);
                }
                for (key, value) in entries {
                    let property = branches.iter().find_map(|branch| {
                        branch
                            .get("properties")
                            .and_then(|properties| properties.get(&key.value))
                    });
                    let additional = || {
                        branches.iter().find_map(|branch| {
                            branch
                                .get("additionalProperties")
                                .filter(|schema| schema.is_object())
                        })
                    };
                    if let Some(value_schema) = property.or_else(additional) {
                        self.lengths_only(value, value_schema, Place::Key(&key.value), report);
                    }
                }
            }
            Node::Seq(items) => {
                if let Some(item_schema) = branches.iter().find_map(|branch| branch.get("items")) {
                    for item in items {
                        self.lengths_only(item, item_schema, Place::Entry(place.key()), report);
                    }
                }
            }
            Node::Null => {}
        }
    }

    fn walk_map(
        &self,
        node: &Spanned<Node>,
        entries: &[(Spanned<String>, Spanned<Node>)],
        schema: &Value,
        place: Place,
        report: &mut Report,
    ) {
        self.check_key_lengths(entries, schema, place, report);
        let properties = schema.get("properties").and_then(Value::as_object);
        let additional = schema.get("additionalProperties");
        for (key, value) in entries {
            match properties.and_then(|properties| properties.get(&key.value)) {
                Some(property) => self.walk(value, property, Place::Key(&key.value), report),
                None => match additional {
                    Some(Value::Bool(false)) => {
                        let allowed: Vec<String> = properties
                            .map(|p| p.keys().map(|k| format!("`{k}`")).collect())
                            .unwrap_or_default();
                        report.shape(
                            Diagnostic::error(
                                self.source,
                                self.source.span_of(key),
                                format!("unknown key {} (allowed here: {})", quote(&key.value), allowed.join(", ")),
                                "unknown key",
                            )
                            .with_help("check the spelling; `embedctl schema` prints every key of the file"),
                        );
                    }
                    Some(value_schema @ Value::Object(_)) => {
                        self.walk(value, value_schema, Place::Key(&key.value), report)
                    }
                    _ => {}
                },
            }
        }
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !entries.iter().any(|(key, _)| key.value == required) {
                report.shape(
                    Diagnostic::error(
                        self.source,
                        self.source.span_of(node),
                        format!("missing key `{required}`"),
                        format!("`{required}` is missing from this mapping"),
                    )
                    .with_help("add it; `embedctl schema` prints every key and its type"),
                );
            }
        }
    }
}
