//! Secret values taken out of text that came from somewhere else, above all Workato's answers.
//!
//! A server may repeat the request in its error text (`Validation failed: {"input":{"api_key":
//! "…"}}`), and may do so in an escaped form: inside a JSON string, inside a JSON string quoted
//! again, with non-ASCII or HTML-sensitive characters as `\uXXXX` (Rails does so for `<`, `>`, `&`),
//! with `/` as `\/`, or percent-encoded. `Secrets` knows every resolved secret value of the run
//! (credentials, the API token, the fingerprint key) and every such form of it, and replaces each
//! occurrence, also inside a longer word, by `[redacted]` before the text is shown, logged or
//! stored. Values shorter than `MIN_SECRET_CHARS` are the one exception.
//!
//! One `Secrets` is shared by everything in a run (it is cheap to clone: clones share the set), so
//! a value registered late (credentials resolved just before apply) is redacted everywhere.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Arc, RwLock};

use aho_corasick::{AhoCorasick, MatchKind};

/// What a secret is replaced by.
pub const REDACTED: &str = "[redacted]";

/// Values shorter than this many characters are redacted only where they stand as a whole JSON
/// string (`"api_key":"abc"`): elsewhere they cannot be told apart from ordinary words (a test
/// token `t` would otherwise take every `t` out of every message).
pub const MIN_SECRET_CHARS: usize = 4;

/// The set of secret values of a run, and the matcher built from them.
#[derive(Clone, Default)]
pub struct Secrets {
    inner: Arc<RwLock<Inner>>,
}

#[derive(Default)]
struct Inner {
    /// Every form of every secret.
    needles: BTreeSet<String>,
    /// Built on first use after the set changed.
    matcher: Option<AhoCorasick>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the values, only how many forms are known.
        let count = self.read().needles.len();
        write!(formatter, "Secrets({count} forms)")
    }
}

impl Secrets {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a secret value, with the escaped and encoded forms a server may echo it in.
    pub fn add(&self, value: &str) {
        if value.is_empty() {
            return;
        }
        let forms = if value.chars().count() < MIN_SECRET_CHARS {
            quoted_forms_of(value)
        } else {
            forms_of(value)
        };
        let mut inner = self.write();
        let before = inner.needles.len();
        inner.needles.extend(forms);
        if inner.needles.len() != before {
            inner.matcher = None;
        }
    }

    /// Registers every value of `values`.
    pub fn add_all<'v>(&self, values: impl IntoIterator<Item = &'v str>) {
        for value in values {
            self.add(value);
        }
    }

    /// Whether no secret is known.
    pub fn is_empty(&self) -> bool {
        self.read().needles.is_empty()
    }

    /// `text` with every occurrence of every form of every secret replaced by `[redacted]`.
    pub fn redact(&self, text: &str) -> String {
        {
            let inner = self.read();
            if inner.needles.is_empty() || text.is_empty() {
                return text.to_owned();
            }
            if let Some(matcher) = &inner.matcher {
                return replace(matcher, text);
            }
        }
        let mut inner = self.write();
        if inner.matcher.is_none() {
            // Leftmost-longest: of two overlapping forms, the longer one (an escaped form that
            // contains the plain one) is taken whole.
            inner.matcher = AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(inner.needles.iter())
                .ok();
        }
        match &inner.matcher {
            Some(matcher) => replace(matcher, text),
            // The automaton could not be built (its size limits are far beyond any run's
            // secrets); hide everything rather than show a secret.
            None => REDACTED.to_owned(),
        }
    }

    /// Redacts `text` in place.
    pub fn redact_in_place(&self, text: &mut String) {
        if !self.is_empty() {
            *text = self.redact(text);
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Every match of `matcher` in `text` replaced by `[redacted]`.
fn replace(matcher: &AhoCorasick, text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for found in matcher.find_iter(text) {
        out.push_str(&text[last..found.start()]);
        out.push_str(REDACTED);
        last = found.end();
    }
    out.push_str(&text[last..]);
    out
}

/// How a JSON encoder may write a string's characters. Every encoder escapes `"`, `\` and
/// control characters; some also escape `/` as `\/` (`slash`), `<`, `>`, `&`, U+2028 and U+2029
/// as `\u003c`… (`html`, Rails' default), or every non-ASCII character as `\uXXXX` with surrogate
/// pairs (`ascii`, which implies `html` here), in lowercase or uppercase hex.
#[derive(Clone, Copy)]
struct Escaping {
    slash: bool,
    html: bool,
    ascii: bool,
    upper: bool,
}

/// Every combination (for a value of letters and digits they all write the same).
fn escapings() -> impl Iterator<Item = Escaping> {
    (0..16u8).map(|bits| Escaping {
        slash: bits & 1 != 0,
        html: bits & 2 != 0,
        ascii: bits & 4 != 0,
        upper: bits & 8 != 0,
    })
}

/// The value, its JSON-escaped forms once and twice (a message quoting a JSON document that
/// quoted the value), and its percent-encoded forms.
fn forms_of(value: &str) -> BTreeSet<String> {
    let mut forms = BTreeSet::new();
    forms.insert(value.to_owned());
    // The two levels may come from different encoders (a message built by one, quoted by
    // another), so every pair is generated; for most secrets (letters, digits, `-`) they all
    // collapse into the value itself.
    for first in escapings() {
        let once = json_escape(value, first);
        for second in escapings() {
            forms.insert(json_escape(&once, second));
        }
        forms.insert(once);
    }
    for plus in [false, true] {
        let encoded = percent_encode(value, plus);
        forms.insert(lowercase_escapes(&encoded));
        forms.insert(encoded);
    }
    forms.retain(|form| !form.is_empty());
    forms
}

/// A short value only as a whole JSON string, quotes included, escaped once or twice.
fn quoted_forms_of(value: &str) -> BTreeSet<String> {
    let mut forms = BTreeSet::new();
    for first in escapings() {
        let quoted = format!("\"{}\"", json_escape(value, first));
        for second in escapings() {
            forms.insert(json_escape(&quoted, second));
        }
        forms.insert(quoted);
    }
    forms
}

/// `%2F` → `%2f`: the hex digits of percent-escapes in lowercase, as some encoders write them.
fn lowercase_escapes(encoded: &str) -> String {
    let mut out = String::with_capacity(encoded.len());
    let mut hex_left = 0;
    for character in encoded.chars() {
        if character == '%' {
            hex_left = 2;
            out.push(character);
        } else if hex_left > 0 {
            hex_left -= 1;
            out.push(character.to_ascii_lowercase());
        } else {
            out.push(character);
        }
    }
    out
}

fn json_escape(value: &str, escaping: Escaping) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for character in value.chars() {
        let unicode = |out: &mut String, character: char| {
            let mut units = [0u16; 2];
            for unit in character.encode_utf16(&mut units) {
                if escaping.upper {
                    out.push_str(&format!("\\u{unit:04X}"));
                } else {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        };
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            control if control.is_control() && (control as u32) < 0x20 => {
                unicode(&mut out, control)
            }
            '/' if escaping.slash => out.push_str("\\/"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' if escaping.html => {
                unicode(&mut out, character)
            }
            other if !other.is_ascii() && escaping.ascii => unicode(&mut out, other),
            other => out.push(other),
        }
    }
    out
}

/// RFC 3986 percent-encoding of everything but unreserved characters; `plus` writes a space as
/// `+` (form encoding).
fn percent_encode(value: &str, plus: bool) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(byte))
            }
            b' ' if plus => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(values: &[&str]) -> Secrets {
        let secrets = Secrets::new();
        secrets.add_all(values.iter().copied());
        secrets
    }

    #[test]
    fn a_secret_is_redacted_wherever_it_appears() {
        let secrets = secrets(&["s3cr3t-KEY"]);
        assert_eq!(
            secrets.redact(r#"Validation failed: {"input":{"api_key":"s3cr3t-KEY"}}"#),
            r#"Validation failed: {"input":{"api_key":"[redacted]"}}"#
        );
        // Inside a longer word, and more than once.
        assert_eq!(
            secrets.redact("xxs3cr3t-KEYyy and s3cr3t-KEY"),
            "xx[redacted]yy and [redacted]"
        );
        assert_eq!(secrets.redact("nothing here"), "nothing here");
    }

    #[test]
    fn escaped_forms_are_redacted_too() {
        let value = "a\"b\\c/d<e>&é😀";
        let secrets = secrets(&[value]);
        let once = serde_json::to_string(value).expect("a string serializes");
        let once = &once[1..once.len() - 1];
        let twice = serde_json::to_string(once).expect("a string serializes");
        let twice = twice[1..twice.len() - 1].to_owned();
        for text in [
            value.to_owned(),
            once.to_owned(),
            twice.clone(),
            r#"a\"b\\c\/d\u003ce\u003e\u0026\u00e9\ud83d\ude00"#.to_owned(),
            r#"a\"b\\c/d\u003Ce\u003E\u0026\u00E9\uD83D\uDE00"#.to_owned(),
            "a%22b%5Cc%2Fd%3Ce%3E%26%C3%A9%F0%9F%98%80".to_owned(),
        ] {
            assert_eq!(
                secrets.redact(&format!("echo: [{text}] end")),
                "echo: [[redacted]] end",
                "{text}"
            );
        }
    }

    #[test]
    fn short_values_inside_longer_text_and_overlaps() {
        let secrets = secrets(&["abcd", "abcdef"]);
        assert_eq!(
            secrets.redact("xabcdefx xabcdx"),
            "x[redacted]x x[redacted]x"
        );
    }

    #[test]
    fn values_added_later_are_redacted_by_every_clone() {
        let secrets = Secrets::new();
        let clone = secrets.clone();
        assert_eq!(clone.redact("late-secret"), "late-secret");
        secrets.add("late-secret");
        assert_eq!(clone.redact("late-secret!"), "[redacted]!");
        assert!(!format!("{secrets:?}").contains("late"));
    }

    #[test]
    fn short_values_are_redacted_only_as_whole_json_strings() {
        let secrets = secrets(&["", "t", "a\"c"]);
        assert_eq!(secrets.redact("a test"), "a test");
        assert_eq!(
            secrets.redact(r#"{"token":"t","key":"a\"c"}"#),
            r#"{"token":[redacted],"key":[redacted]}"#
        );
        assert_eq!(
            secrets.redact(r#"input: "{\"token\":\"t\"}""#),
            r#"input: "{\"token\":[redacted]}""#
        );
        assert!(Secrets::new().is_empty());
        secrets.add("abcd");
        assert_eq!(secrets.redact("abc abcde"), "abc [redacted]e");
    }

    #[test]
    fn python_style_and_lowercase_escapes_are_redacted() {
        let secrets = secrets(&["k/é<"]);
        for text in [
            r"k/\u00e9<",
            r"k\/\u00E9<",
            "k%2f%c3%a9%3c",
            "k%2F%C3%A9%3C",
        ] {
            assert_eq!(secrets.redact(text), REDACTED, "{text}");
        }
    }
}
