//! `KeyedMap`: a YAML mapping that keeps its keys' order and source locations.
//!
//! The file's named maps (manifests, connections, credential overrides) need the location of every
//! key so that a bad or unknown key gets a caret under it. `BTreeMap<Spanned<String>, _>` is not
//! possible (`Spanned` has no `Ord`), and order of appearance is what a reader expects anyway.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{Deserialize, Deserializer, MapAccess, Unexpected, Visitor};

use super::{Spanned, limits};

/// A mapping from string keys (with their locations) to values, in the order of the file.
#[derive(Clone, Debug)]
pub struct KeyedMap<V> {
    entries: Vec<(Spanned<String>, V)>,
}

impl<V> Default for KeyedMap<V> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
        }
    }
}

impl<V> KeyedMap<V> {
    /// The entries in the order they appear in the file.
    pub fn iter(&self) -> impl Iterator<Item = (&Spanned<String>, &V)> {
        self.entries.iter().map(|(key, value)| (key, value))
    }

    /// The value under `key`, if present.
    pub fn get(&self, key: &str) -> Option<&V> {
        self.entries
            .iter()
            .find(|(candidate, _)| candidate.value == key)
            .map(|(_, value)| value)
    }

    /// The keys in the order of the file.
    pub fn keys(&self) -> impl Iterator<Item = &Spanned<String>> {
        self.entries.iter().map(|(key, _)| key)
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the mapping has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for KeyedMap<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(KeyedMapVisitor(PhantomData))
    }
}

struct KeyedMapVisitor<V>(PhantomData<V>);

impl<'de, V: Deserialize<'de>> Visitor<'de> for KeyedMapVisitor<V> {
    type Value = KeyedMap<V>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a mapping")
    }

    // A scalar where a mapping belongs may be a secret pasted in the wrong place (for example
    // `credentials: sk_live_…`), so the error names the kind of value and never echoes it.
    fn visit_str<E: serde::de::Error>(self, _value: &str) -> Result<Self::Value, E> {
        Err(E::invalid_type(Unexpected::Other("a string"), &self))
    }

    fn visit_i64<E: serde::de::Error>(self, _value: i64) -> Result<Self::Value, E> {
        Err(E::invalid_type(Unexpected::Other("a number"), &self))
    }

    fn visit_u64<E: serde::de::Error>(self, _value: u64) -> Result<Self::Value, E> {
        Err(E::invalid_type(Unexpected::Other("a number"), &self))
    }

    fn visit_f64<E: serde::de::Error>(self, _value: f64) -> Result<Self::Value, E> {
        Err(E::invalid_type(Unexpected::Other("a number"), &self))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            let value = map.next_value::<V>()?;
            entries.push((key, value));
        }
        Ok(KeyedMap { entries })
    }
}

impl<V: JsonSchema> JsonSchema for KeyedMap<V> {
    fn schema_name() -> Cow<'static, str> {
        format!("KeyedMap_of_{}", V::schema_name()).into()
    }

    /// Keys are field names (at most `limits::FIELD` characters) unless the field that holds the
    /// map says otherwise (manifest and connection keys, credentials references).
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "additionalProperties": generator.subschema_for::<V>(),
            "propertyNames": { "maxLength": limits::FIELD },
        })
    }

    fn inline_schema() -> bool {
        true
    }
}

impl<V> KeyedMap<V> {
    /// A map from entries already read (used by deserializers of nested shapes).
    pub(crate) fn from_entries(entries: Vec<(Spanned<String>, V)>) -> Self {
        Self { entries }
    }
}
