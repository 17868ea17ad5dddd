//! The shape pass: every unknown key, missing key and wrong kind of value in one run.
//!
//! serde stops at the first error, but DESIGN.md §2 wants every error of the file at once. So the
//! file is first read into a located, untyped tree (`Node`) and walked against the JSON Schema
//! that schemars generates from the file's own types — one source of truth for which keys exist.
//! Only when the shape is right does the typed read run, for the finer points (numbers, enums).

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::Spanned;
use super::diagnostic::{Diagnostic, Diagnostics, SourceFile, quote};

/// A YAML value with the location of every part.
#[derive(Debug)]
pub enum Node {
    /// A mapping, keys in file order.
    Map(Vec<(Spanned<String>, Spanned<Node>)>),
    /// A sequence.
    Seq(Vec<Spanned<Node>>),
    /// A string, number or boolean; its text is not kept (it may be a secret).
    Scalar,
    /// `~`, `null` or nothing.
    Null,
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
        Ok(Node::Scalar)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_i128<E>(self, _: i128) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_u128<E>(self, _: u128) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_str<E>(self, _: &str) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_bytes<E>(self, _: &[u8]) -> Result<Node, E> {
        Ok(Node::Scalar)
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

/// Walks `root` against the schema of the desired-state file and reports every shape problem.
pub fn check(root: &Spanned<Node>, schema: &Value, source: &SourceFile) -> Diagnostics {
    let mut diagnostics = Diagnostics::new();
    let walker = Walker {
        root: schema,
        source,
    };
    walker.walk(root, schema, &mut diagnostics);
    diagnostics
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

    fn walk(&self, node: &Spanned<Node>, schema: &Value, diagnostics: &mut Diagnostics) {
        let nullable = Self::nullable(schema);
        let schema = self.resolve(schema);
        // Credentials and settings have their own, finer checks (and may hold secrets).
        if schema.get("oneOf").is_some() || schema.get("anyOf").is_some() {
            return;
        }
        let expected = schema.get("type").and_then(Value::as_str);
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
            (Node::Null, Some("object")) => diagnostics.push(wrong("a mapping", "nothing")),
            (Node::Null, Some("array")) => diagnostics.push(wrong("a list", "nothing")),
            (Node::Null, Some("string")) => diagnostics.push(wrong("a text value", "nothing")),
            (Node::Null, Some("integer")) => diagnostics.push(wrong("a whole number", "nothing")),
            (Node::Null, Some("boolean")) => {
                diagnostics.push(wrong("`true` or `false`", "nothing"))
            }
            (Node::Map(entries), Some("object")) => {
                self.walk_map(node, entries, schema, diagnostics)
            }
            (Node::Seq(items), Some("array")) => {
                let item_schema = schema.get("items").unwrap_or(&Value::Bool(true));
                for item in items {
                    self.walk(item, item_schema, diagnostics);
                }
            }
            (Node::Map(_), Some("array")) => diagnostics.push(wrong("a list", "a mapping")),
            (Node::Scalar, Some("array")) => diagnostics.push(wrong("a list", "a single value")),
            (Node::Seq(_), Some("object")) => diagnostics.push(wrong("a mapping", "a list")),
            (Node::Scalar, Some("object")) => {
                diagnostics.push(wrong("a mapping", "a single value"))
            }
            (Node::Map(_), Some("string" | "integer" | "boolean")) => {
                diagnostics.push(wrong("a single value", "a mapping"))
            }
            (Node::Seq(_), Some("string" | "integer" | "boolean")) => {
                diagnostics.push(wrong("a single value", "a list"))
            }
            _ => {}
        }
    }

    fn walk_map(
        &self,
        node: &Spanned<Node>,
        entries: &[(Spanned<String>, Spanned<Node>)],
        schema: &Value,
        diagnostics: &mut Diagnostics,
    ) {
        let properties = schema.get("properties").and_then(Value::as_object);
        let additional = schema.get("additionalProperties");
        for (key, value) in entries {
            match properties.and_then(|properties| properties.get(&key.value)) {
                Some(property) => self.walk(value, property, diagnostics),
                None => match additional {
                    Some(Value::Bool(false)) => {
                        let allowed: Vec<String> = properties
                            .map(|p| p.keys().map(|k| format!("`{k}`")).collect())
                            .unwrap_or_default();
                        diagnostics.push(
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
                        self.walk(value, value_schema, diagnostics)
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
                diagnostics.push(
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
