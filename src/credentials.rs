//! Resolving `{ env }` / `{ file }` credentials and fingerprinting them.
//!
//! The resolved values live in `ConnectionInput`, whose `Debug` prints no value, and exist only
//! long enough to be fingerprinted (plan) or sent (apply). The fingerprint is HMAC-SHA256 over the
//! canonical sorted JSON of `{"input": …, "oauth_token_pair": …}`, keyed by
//! `EMBEDCTL_FINGERPRINT_KEY` (ARCHITECTURE.md); only its first 8 hex digits are ever shown.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;

use crate::desired_file::{KeyedMap, SecretSource, SettingValue, Spanned};

/// The key used under `--sim`, so that the demo needs no exported variable. Never for Workato.
pub const SIMULATOR_FINGERPRINT_KEY: &str = "embedctl-simulator-demo-key";

/// The `input` and `oauth_token_pair` of one connection, resolved. Never printed.
#[derive(Clone, PartialEq)]
pub struct ConnectionInput {
    /// Settings and credentials, sent as `input`.
    pub input: BTreeMap<String, Value>,
    /// `access_token` / `refresh_token`, sent as `oauth_token_pair`.
    pub oauth_token_pair: Option<BTreeMap<String, String>>,
    /// The values that came from `{ env }` / `{ file }`, to be redacted from Workato's answers.
    secret_values: Vec<String>,
}

impl fmt::Debug for ConnectionInput {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("ConnectionInput")
            .field("input_fields", &self.input.keys().collect::<Vec<_>>())
            .field("oauth_token_pair", &self.oauth_token_pair.is_some())
            .finish()
    }
}

impl ConnectionInput {
    /// An input from its parts; `secret_values` are the values read from `{ env }` / `{ file }`.
    pub fn new(
        input: BTreeMap<String, Value>,
        oauth_token_pair: Option<BTreeMap<String, String>>,
        secret_values: Vec<String>,
    ) -> Self {
        Self {
            input,
            oauth_token_pair,
            secret_values,
        }
    }

    /// The secret values of this input (never to print: to register with `redact::Secrets`).
    pub fn secret_values(&self) -> impl Iterator<Item = &str> {
        self.secret_values.iter().map(String::as_str)
    }

    /// The JSON body fields a connection update sends.
    pub fn to_body(&self) -> Map<String, Value> {
        let mut body = Map::new();
        body.insert(
            "input".to_owned(),
            Value::Object(self.input.clone().into_iter().collect()),
        );
        if let Some(tokens) = &self.oauth_token_pair {
            body.insert(
                "oauth_token_pair".to_owned(),
                Value::Object(
                    tokens
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                        .collect(),
                ),
            );
        }
        body
    }

    /// HMAC-SHA256 of the canonical JSON, as 64 hex digits.
    pub fn fingerprint(&self, key: &str) -> String {
        // serde_json's Map is sorted (no `preserve_order` feature), so this JSON is canonical.
        let canonical = Value::Object(self.to_body()).to_string();
        let mut mac = match Hmac::<Sha256>::new_from_slice(key.as_bytes()) {
            Ok(mac) => mac,
            // HMAC takes keys of any length; this arm cannot happen.
            Err(_) => return String::new(),
        };
        mac.update(canonical.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// Why a connection's input could not be resolved (no secret in it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unresolved(pub String);

/// Where a connection's input comes from: its settings as values, its secrets as the places to
/// read them (`{ env }` names, `{ file }` paths made absolute). It holds no secret, so `Desired`
/// can carry it to apply, which resolves it just before the first write.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InputSource {
    /// Non-secret fields, sent as part of `input`.
    pub settings: BTreeMap<String, Value>,
    /// Secret fields of `input`.
    pub secrets: BTreeMap<String, SecretRef>,
    /// `access_token` / `refresh_token` of `oauth_token_pair`.
    pub oauth_token_pair: Option<BTreeMap<String, SecretRef>>,
}

/// Where one secret value is read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretRef {
    /// An environment variable.
    Env(String),
    /// A file (absolute, or relative to the working directory), one trailing newline dropped.
    File { path: PathBuf, shown: String },
    /// Something the file should not hold (a literal): never resolvable.
    Invalid,
}

impl InputSource {
    /// The source of a connection's settings and credentials as the file writes them; `{ file }`
    /// paths are relative to `base_dir`.
    pub fn of(
        settings: &KeyedMap<Spanned<SettingValue>>,
        credentials: &KeyedMap<Spanned<SecretSource>>,
        base_dir: &Path,
    ) -> Self {
        let reference = |source: &SecretSource| match source {
            SecretSource::Env(name) => SecretRef::Env(name.value.clone()),
            SecretSource::File(path) => SecretRef::File {
                path: base_dir.join(&path.value),
                shown: path.value.clone(),
            },
            _ => SecretRef::Invalid,
        };
        let mut source = InputSource::default();
        for (key, value) in settings.iter() {
            let value = match &value.value {
                SettingValue::Text(text) => Value::String(text.clone()),
                SettingValue::Integer(number) => Value::from(*number),
                SettingValue::Number(number) => Value::from(*number),
                SettingValue::Boolean(flag) => Value::Bool(*flag),
            };
            source.settings.insert(key.value.clone(), value);
        }
        for (key, value) in credentials.iter() {
            match &value.value {
                SecretSource::Nested(tokens) if key.value == "oauth_token_pair" => {
                    source.oauth_token_pair = Some(
                        tokens
                            .iter()
                            .map(|(token, secret)| (token.value.clone(), reference(&secret.value)))
                            .collect(),
                    );
                }
                other => {
                    source.secrets.insert(key.value.clone(), reference(other));
                }
            }
        }
        source
    }

    /// Reads every secret: the input a connection update sends. `lookup` reads an environment
    /// variable (injected so tests need not touch the process environment).
    pub fn resolve(
        &self,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ConnectionInput, Unresolved> {
        let mut input = self.settings.clone();
        let mut secret_values = Vec::new();
        for (key, reference) in &self.secrets {
            let secret = read_secret(reference, lookup)?;
            secret_values.push(secret.clone());
            input.insert(key.clone(), Value::String(secret));
        }
        let oauth_token_pair = match &self.oauth_token_pair {
            None => None,
            Some(tokens) => {
                let mut pair = BTreeMap::new();
                for (token, reference) in tokens {
                    let secret = read_secret(reference, lookup)?;
                    secret_values.push(secret.clone());
                    pair.insert(token.clone(), secret);
                }
                Some(pair)
            }
        };
        Ok(ConnectionInput {
            input,
            oauth_token_pair,
            secret_values,
        })
    }
}

/// Resolves settings and credentials into the input a connection update sends (`InputSource::of`
/// then `resolve`).
pub fn resolve(
    settings: &KeyedMap<Spanned<SettingValue>>,
    credentials: &KeyedMap<Spanned<SecretSource>>,
    base_dir: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<ConnectionInput, Unresolved> {
    InputSource::of(settings, credentials, base_dir).resolve(lookup)
}

fn read_secret(
    reference: &SecretRef,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, Unresolved> {
    match reference {
        SecretRef::Env(name) => lookup(name)
            .filter(|value| !value.is_empty())
            .ok_or_else(|| Unresolved(format!("`{name}` is not set"))),
        SecretRef::File { path, shown } => {
            let text = read_bounded(path).map_err(|why| Unresolved(format!("`{shown}` {why}")))?;
            let text = text.strip_suffix('\n').unwrap_or(&text);
            let text = text.strip_suffix('\r').unwrap_or(text);
            Ok(text.to_owned())
        }
        SecretRef::Invalid => Err(Unresolved(
            "a credential is not `{ env }` or `{ file }`".to_owned(),
        )),
    }
}

/// The largest `{ file }` credential read: a key or a certificate is a few KiB.
pub const MAX_SECRET_FILE_BYTES: u64 = 1024 * 1024;

/// A secret file's text: a regular file (a FIFO would block, a device never end) of at most
/// `MAX_SECRET_FILE_BYTES`, in UTF-8. The error says why not, never what it holds.
pub(crate) fn read_bounded(path: &Path) -> Result<String, &'static str> {
    use std::io::Read;
    let metadata = std::fs::metadata(path).map_err(|_| "cannot be read")?;
    if !metadata.is_file() {
        return Err("is not a regular file");
    }
    if metadata.len() > MAX_SECRET_FILE_BYTES {
        return Err("is larger than 1 MiB");
    }
    let file = std::fs::File::open(path).map_err(|_| "cannot be read")?;
    let mut bytes = Vec::new();
    file.take(MAX_SECRET_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|_| "cannot be read")?;
    if bytes.len() as u64 > MAX_SECRET_FILE_BYTES {
        return Err("is larger than 1 MiB");
    }
    String::from_utf8(bytes).map_err(|_| "is not UTF-8 text")
}

/// The fingerprint as shown: its first 8 hex digits.
pub fn short_fingerprint(fingerprint: &str) -> &str {
    fingerprint.get(..8).unwrap_or(fingerprint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_files_are_read_only_when_they_are_small_regular_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        let small = dir.path().join("key");
        std::fs::write(&small, "s3cret\n").expect("write");
        assert_eq!(read_bounded(&small).as_deref(), Ok("s3cret\n"));
        let large = dir.path().join("large");
        let file = std::fs::File::create(&large).expect("create");
        file.set_len(MAX_SECRET_FILE_BYTES + 1).expect("grow");
        assert_eq!(read_bounded(&large), Err("is larger than 1 MiB"));
        assert_eq!(read_bounded(dir.path()), Err("is not a regular file"));
        assert_eq!(
            read_bounded(Path::new("/dev/zero")),
            Err("is not a regular file")
        );
        assert_eq!(
            read_bounded(&dir.path().join("missing")),
            Err("cannot be read")
        );
    }
}
