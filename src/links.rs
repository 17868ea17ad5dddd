//! Connection-widget links: the URL an end user opens, inside the partner's own page, to
//! authorize a runtime user connection, and the signed token (JWT) in it.
//!
//! Workato describes the link and its token at https://docs.workato.com/oem/jwt-direct-linking.html
//! and the widget at https://docs.workato.com/oem/embedded-connections.html. The token is signed
//! with the partner's RSA private key (RS256); its `sub` is `<vendor id>:<customer workspace id>`,
//! its `jti` must not repeat within 10 minutes, `iat` is when it was made, and `origin` names the
//! page that hosts the widget. A token is meant for one use, so links are made per page load.
//!
//! This module owns the key (read once, never printed, never part of an error) and the making of
//! links; `commands/links.rs` decides which connections get one.

use std::fmt;
use std::path::Path;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

use crate::env::WORKATO_JWT_PRIVATE_KEY;

/// The value of `WORKATO_JWT_PRIVATE_KEY` as set: PEM text, or the path of a PEM file. Its
/// `Debug` prints no value.
#[derive(Clone)]
pub struct KeySetting(String);

impl KeySetting {
    /// The setting as read from the environment.
    pub fn new(value: String) -> Self {
        Self(value)
    }
}

impl fmt::Debug for KeySetting {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("KeySetting(***)")
    }
}

/// Why the key cannot sign links. No variant holds any part of the setting: a value that is
/// not PEM may still be key material pasted without its armour.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The variable is unset or blank.
    #[error(
        "`{WORKATO_JWT_PRIVATE_KEY}` is not set: set it to the RSA private key that signs \
         connection-widget links (the one whose public key Workato has for your account), as PEM \
         text or as the path of a PEM file"
    )]
    Missing,
    /// The value is not PEM text, and no PEM file can be read at it as a path.
    #[error(
        "`{WORKATO_JWT_PRIVATE_KEY}` does not start with `-----BEGIN`, so it is taken as the path \
         of a PEM file, and that file {why}: set it to the PEM text of the RSA private key, or to \
         the path of a readable PEM file (a regular file of at most 1 MiB)"
    )]
    Unreadable { why: &'static str },
    /// The PEM holds no usable RSA private key.
    #[error(
        "`{WORKATO_JWT_PRIVATE_KEY}` {why}: set it to an RSA private key in PEM form, PKCS#1 \
         (`-----BEGIN RSA PRIVATE KEY-----`) or PKCS#8 (`-----BEGIN PRIVATE KEY-----`)"
    )]
    Invalid { why: &'static str },
}

/// The RSA private key links are signed with, checked by signing once when it is loaded. Its
/// `Debug` prints nothing of it.
pub struct SigningKey {
    key: EncodingKey,
    /// The PEM text, kept only to be registered as a secret of the run.
    pem: String,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("SigningKey(***)")
    }
}

impl SigningKey {
    /// The key `WORKATO_JWT_PRIVATE_KEY` gives: its PEM text, or the PEM file at its path (read
    /// within the bounds of a `{ file }` secret).
    pub fn load(setting: Option<&KeySetting>) -> Result<SigningKey, KeyError> {
        let setting = setting.ok_or(KeyError::Missing)?;
        let value = setting.0.trim();
        if value.starts_with("-----BEGIN") {
            // PEM pasted into a `.env` file or a secret store often has its line breaks written
            // as the two characters `\n`.
            if !value.contains('\n') && value.contains("\\n") {
                return SigningKey::from_pem(value.replace("\\n", "\n"));
            }
            return SigningKey::from_pem(value.to_owned());
        }
        let text = crate::credentials::read_bounded(Path::new(value))
            .map_err(|why| KeyError::Unreadable { why })?;
        SigningKey::from_pem(text)
    }

    /// A key from PEM text; refused unless it is an RSA private key that signs.
    pub fn from_pem(pem: String) -> Result<SigningKey, KeyError> {
        let invalid = |why| KeyError::Invalid { why };
        match pem_label(&pem) {
            Some("RSA PRIVATE KEY" | "PRIVATE KEY") => {}
            Some("ENCRYPTED PRIVATE KEY") => {
                return Err(invalid(
                    "holds an encrypted private key, which embedctl cannot use; decrypt it first \
                     (`openssl pkey -in KEY.pem -out PLAIN.pem`)",
                ));
            }
            Some(label) if label.contains("PUBLIC KEY") || label == "CERTIFICATE" => {
                return Err(invalid(
                    "holds a public key or a certificate; links are signed with the private key",
                ));
            }
            Some(_) => return Err(invalid("holds no RSA private key")),
            None => {
                return Err(invalid(
                    "is not PEM text (it has no `-----BEGIN …-----` line)",
                ));
            }
        }
        let key = EncodingKey::from_rsa_pem(pem.as_bytes())
            .map_err(|_| invalid("is not a well-formed RSA private key"))?;
        let signing = SigningKey { key, pem };
        // The key is only parsed for good when it signs: signing once now stops a key that could
        // never sign a link (another algorithm, a broken or too short key) before any request.
        let trial = Claims {
            sub: "check",
            jti: "check",
            iat: 0,
            origin: None,
        };
        signing.sign(&trial).map_err(|_| {
            invalid("cannot sign with RS256 (is it an RSA key of at least 2,048 bits?)")
        })?;
        Ok(signing)
    }

    /// The texts of the key to redact from anything shown: the PEM text and each line of it
    /// that is key material. Never to print.
    pub fn secret_texts(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.pem.as_str()).chain(
            self.pem
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty() && !line.starts_with("-----")),
        )
    }

    fn sign(&self, claims: &Claims<'_>) -> Result<String, jsonwebtoken::errors::Error> {
        // `Header::new` writes `"typ": "JWT"` beside the algorithm.
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), claims, &self.key)
    }
}

/// The label of the first PEM block (`RSA PRIVATE KEY` of `-----BEGIN RSA PRIVATE KEY-----`).
fn pem_label(text: &str) -> Option<&str> {
    let start = text.find("-----BEGIN ")? + "-----BEGIN ".len();
    let rest = &text[start..];
    let end = rest.find("-----")?;
    Some(rest[..end].trim())
}

/// The claims of a link's token.
#[derive(Serialize)]
struct Claims<'a> {
    sub: &'a str,
    jti: &'a str,
    iat: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    origin: Option<&'a str>,
}

/// Why one link could not be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The system's random source failed.
    #[error("the system's random source failed; no unique token id (`jti`) could be made")]
    Random,
    /// The token could not be signed (the key signed once already, so this is unexpected).
    #[error("the token could not be signed")]
    Sign,
}

/// Makes the connection-widget links of one account.
pub struct LinkMaker {
    key: SigningKey,
    vendor_id: String,
    web_base: String,
    origin: Option<String>,
}

impl LinkMaker {
    /// Links signed with `key` for the Embedded vendor `vendor_id`, on the web host `web_base`
    /// (`web_base_of` the API base URL), for a widget hosted at `origin` when given.
    pub fn new(
        key: SigningKey,
        vendor_id: String,
        web_base: String,
        origin: Option<String>,
    ) -> Self {
        Self {
            key,
            vendor_id,
            web_base,
            origin,
        }
    }

    /// The link to the widget of connection `connection_id` in the customer workspace
    /// `customer_id`, with a fresh token.
    pub fn link(&self, customer_id: u64, connection_id: u64) -> Result<String, LinkError> {
        let token = self.token(customer_id, now_unix())?;
        Ok(format!(
            "{}/direct_link/embedded/connections/{connection_id}?workato_dl_token={token}",
            self.web_base
        ))
    }

    /// A token for the customer workspace `customer_id`, issued at `issued_at` (Unix seconds),
    /// with a fresh random `jti`.
    fn token(&self, customer_id: u64, issued_at: u64) -> Result<String, LinkError> {
        let mut random = [0u8; 16];
        aws_lc_rs::rand::fill(&mut random).map_err(|_| LinkError::Random)?;
        let jti = hex::encode(random);
        let sub = format!("{}:{customer_id}", self.vendor_id);
        let claims = Claims {
            sub: &sub,
            jti: &jti,
            iat: issued_at,
            origin: self.origin.as_deref(),
        };
        self.key.sign(&claims).map_err(|_| LinkError::Sign)
    }
}

/// The web host of an API base URL: its scheme, host and port, without the path
/// (`https://app.eu.workato.com/api` → `https://app.eu.workato.com`).
pub fn web_base_of(api_base: &str) -> Result<String, String> {
    let url =
        url::Url::parse(api_base).map_err(|_| format!("the base URL `{api_base}` is not a URL"))?;
    match url.origin() {
        origin @ url::Origin::Tuple(..) => Ok(origin.ascii_serialization()),
        url::Origin::Opaque(_) => Err(format!("the base URL `{api_base}` has no web host")),
    }
}

/// `--origin`: the origin of the page that hosts the widget, as a browser writes it
/// (`https://app.example.com`, a port only when it is not the scheme's default).
pub fn parse_origin(text: &str) -> Result<String, String> {
    let invalid =
        |why: &str| format!("`{text}` is not an origin such as `https://app.example.com`: {why}");
    let url = url::Url::parse(text.trim()).map_err(|_| invalid("it is not a URL"))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(invalid("it must start with `https://` or `http://`"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("it must not carry a user name or password"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("it must have no path, query or fragment"));
    }
    match url.origin() {
        origin @ url::Origin::Tuple(..) => Ok(origin.ascii_serialization()),
        url::Origin::Opaque(_) => Err(invalid("it has no host")),
    }
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_with_its_line_breaks_written_as_backslash_n_loads() {
        let pem = include_str!("../tests/fixtures/jwt/test-only-private-pkcs8.pem");
        let flattened = pem.trim().replace('\n', "\\n");
        assert!(!flattened.contains('\n'));
        let setting = KeySetting::new(flattened);
        assert!(SigningKey::load(Some(&setting)).is_ok());
    }

    #[test]
    fn the_web_base_is_the_api_base_without_its_path() {
        let cases = [
            ("https://www.workato.com/api", "https://www.workato.com"),
            (
                "https://app.eu.workato.com/api",
                "https://app.eu.workato.com",
            ),
            ("http://127.0.0.1:8080/api", "http://127.0.0.1:8080"),
            ("https://example.com:443/api", "https://example.com"),
        ];
        for (api, web) in cases {
            assert_eq!(web_base_of(api).as_deref(), Ok(web), "{api}");
        }
    }

    #[test]
    fn origins_are_written_as_browsers_send_them() {
        assert_eq!(
            parse_origin("https://App.Example.com/").as_deref(),
            Ok("https://app.example.com")
        );
        assert_eq!(
            parse_origin("http://localhost:3000").as_deref(),
            Ok("http://localhost:3000")
        );
        for bad in [
            "app.example.com",
            "ftp://example.com",
            "https://example.com/page",
            "https://example.com/?a=1",
            "https://user:pw@example.com",
        ] {
            assert!(parse_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn key_errors_name_the_variable_and_never_the_value() {
        let pasted = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC";
        let setting = KeySetting::new(pasted.to_owned());
        let error = SigningKey::load(Some(&setting)).expect_err("not a key");
        let text = error.to_string();
        assert!(text.contains(WORKATO_JWT_PRIVATE_KEY), "{text}");
        assert!(!text.contains(pasted), "{text}");
        assert_eq!(format!("{setting:?}"), "KeySetting(***)");
        assert_eq!(SigningKey::load(None).err(), Some(KeyError::Missing));
        let garbage =
            "-----BEGIN RSA PRIVATE KEY-----\nbm90IGEga2V5\n-----END RSA PRIVATE KEY-----\n";
        let error = SigningKey::from_pem(garbage.to_owned()).expect_err("not a key");
        assert!(!error.to_string().contains("bm90IGEga2V5"), "{error}");
        let public = "-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n";
        assert!(matches!(
            SigningKey::from_pem(public.to_owned()),
            Err(KeyError::Invalid { .. })
        ));
    }

    #[test]
    fn pem_labels_are_read_from_the_first_block() {
        assert_eq!(
            pem_label("Bag Attributes\n-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----"),
            Some("PRIVATE KEY")
        );
        assert_eq!(pem_label("no pem here"), None);
    }
}
