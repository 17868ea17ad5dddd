//! Where a credential comes from: `{ env: NAME }` or `{ file: PATH }`, never a literal.
//!
//! The deserializer accepts every YAML shape here on purpose. A literal string is a mistake the
//! validator reports together with every other error in the file, with a caret under it; if it
//! were a type error instead, parsing would stop at the first one. The literal's text is dropped
//! at once: embedctl never holds a secret it was not told how to fetch.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{Deserialize, Deserializer, Error as _, MapAccess, Visitor};

use super::{KeyedMap, Spanned, limits};

/// One value under `credentials:` as written in the file.
#[derive(Clone, Debug)]
pub enum SecretSource {
    /// `{ env: NAME }`: the value of an environment variable.
    Env(Spanned<String>),
    /// `{ file: PATH }`: the content of a file, relative to the desired-state file, with a single
    /// trailing newline dropped.
    File(Spanned<String>),
    /// A nested mapping, which only `oauth_token_pair` may hold.
    Nested(KeyedMap<Spanned<SecretSource>>),
    /// A literal scalar (string, number, boolean). Its text is deliberately not kept.
    Literal,
    /// `null` or an empty value.
    Empty,
}

impl<'de> Deserialize<'de> for SecretSource {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SecretSourceVisitor)
    }
}

struct SecretSourceVisitor;

impl<'de> Visitor<'de> for SecretSourceVisitor {
    type Value = SecretSource;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("`{ env: NAME }` or `{ file: PATH }`")
    }

    fn visit_str<E: serde::de::Error>(self, _value: &str) -> Result<Self::Value, E> {
        Ok(SecretSource::Literal)
    }

    fn visit_bool<E: serde::de::Error>(self, _value: bool) -> Result<Self::Value, E> {
        Ok(SecretSource::Literal)
    }

    fn visit_i64<E: serde::de::Error>(self, _value: i64) -> Result<Self::Value, E> {
        Ok(SecretSource::Literal)
    }

    fn visit_u64<E: serde::de::Error>(self, _value: u64) -> Result<Self::Value, E> {
        Ok(SecretSource::Literal)
    }

    fn visit_f64<E: serde::de::Error>(self, _value: f64) -> Result<Self::Value, E> {
        Ok(SecretSource::Literal)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(SecretSource::Empty)
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(SecretSource::Empty)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, _seq: A) -> Result<Self::Value, A::Error> {
        Err(A::Error::custom(
            "a list is not a credential; write `{ env: NAME }` or `{ file: PATH }`",
        ))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let Some(first) = map.next_key::<Spanned<String>>()? else {
            return Ok(SecretSource::Empty);
        };
        let source = match first.value.as_str() {
            "env" => SecretSource::Env(map.next_value()?),
            "file" => SecretSource::File(map.next_value()?),
            _ => {
                let mut entries = vec![(first, map.next_value::<Spanned<SecretSource>>()?)];
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    let value = map.next_value::<Spanned<SecretSource>>()?;
                    entries.push((key, value));
                }
                return Ok(SecretSource::Nested(KeyedMap::from_entries(entries)));
            }
        };
        if let Some(extra) = map.next_key::<Spanned<String>>()? {
            return Err(A::Error::custom(format!(
                "unexpected key `{}`: a credential is either `{{ env: NAME }}` or `{{ file: PATH }}`, with one key",
                extra.value
            )));
        }
        Ok(source)
    }
}

impl JsonSchema for SecretSource {
    fn schema_name() -> Cow<'static, str> {
        "SecretSource".into()
    }

    fn json_schema(_generator: &mut SchemaGenerator) -> Schema {
        let env = json_schema!({
            "type": "object",
            "description": "Read the value from this environment variable.",
            "properties": { "env": { "type": "string", "minLength": 1, "maxLength": limits::ENV_NAME } },
            "required": ["env"],
            "additionalProperties": false,
        });
        let file = json_schema!({
            "type": "object",
            "description": "Read the value from this file (relative to the desired-state file); one trailing newline is dropped.",
            "properties": { "file": { "type": "string", "minLength": 1, "maxLength": limits::PATH } },
            "required": ["file"],
            "additionalProperties": false,
        });
        let token_pair = json_schema!({
            "type": "object",
            "description": "Only under `oauth_token_pair`: the OAuth tokens, each from env or file.",
            "properties": {
                "access_token": { "oneOf": [env.clone(), file.clone()] },
                "refresh_token": { "oneOf": [env.clone(), file.clone()] },
            },
            "additionalProperties": false,
        });
        json_schema!({
            "description": "A secret is never literal: `{ env: NAME }` or `{ file: PATH }`.",
            "oneOf": [env, file, token_pair],
        })
    }
}
