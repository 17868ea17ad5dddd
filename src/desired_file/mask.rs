//! Masking what may be a secret in the file's text before any diagnostic shows a snippet of it.
//!
//! A literal secret pasted into `credentials:` is an error, and the error's snippet must not
//! repeat it into a CI log. This works on the raw text, so that it also protects the snippets of
//! syntax errors, where no parsed structure exists: every value under a `credentials:` or
//! `oauth_token_pair:` key is masked, except the names after `env:` and the paths after `file:`,
//! which say where a secret is, not what it is. Keys stay visible (diagnostics name them).
//! Masking overwrites bytes with `*` one for one, so every byte offset stays valid.

/// Byte ranges (start, length) of the text to mask.
pub fn credential_ranges(text: &str) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    // The column of the `credentials:` key whose block we are in.
    let mut block: Option<usize> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let content = line.trim_end_matches(['\n', '\r']);
        let trimmed = content.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = content.len() - trimmed.len();
        if let Some(column) = block {
            if indent > column {
                mask_fragment(content, start, 0, None, &mut ranges);
                continue;
            }
            block = None;
        }
        // Skip list markers to find the key and its column.
        let mut key_column = indent;
        let mut rest = trimmed;
        while let Some(after) = rest.strip_prefix("- ") {
            let after_trimmed = after.trim_start();
            key_column += rest.len() - after_trimmed.len();
            rest = after_trimmed;
        }
        let Some((key, after_colon)) = split_key(rest) else {
            continue;
        };
        if is_secret_block_key(key) {
            block = Some(key_column);
            let value_start = content.len() - after_colon.len();
            mask_fragment(content, start, value_start, Some(key), &mut ranges);
        }
    }
    ranges
}

fn is_secret_block_key(key: &str) -> bool {
    let key = key.trim_matches(['"', '\'']);
    key == "credentials" || key == "oauth_token_pair"
}

/// `key: rest` → (`key`, `rest`), when the line is a mapping entry.
fn split_key(text: &str) -> Option<(&str, &str)> {
    let bytes = text.as_bytes();
    for (index, byte) in bytes.iter().enumerate() {
        match byte {
            b':' if bytes
                .get(index + 1)
                .is_none_or(|next| next.is_ascii_whitespace()) =>
            {
                return Some((text[..index].trim(), &text[index + 1..]));
            }
            b'{' | b'[' | b'"' | b'\'' if index == 0 => return None,
            _ => {}
        }
    }
    None
}

/// Masks the value tokens of `line[from..]` (a block line or a flow fragment), keeping keys and
/// the values of `env:` / `file:`.
fn mask_fragment(
    line: &str,
    line_start: usize,
    from: usize,
    key_before: Option<&str>,
    ranges: &mut Vec<(usize, usize)>,
) {
    let bytes = line.as_bytes();
    let mut index = from;
    let mut last_key: Option<String> = key_before.map(str::to_owned);
    while index < bytes.len() {
        let byte = bytes[index];
        if byte.is_ascii_whitespace() || matches!(byte, b'{' | b'}' | b'[' | b']' | b',') {
            index += 1;
            continue;
        }
        if byte == b'-' && bytes.get(index + 1).is_none_or(u8::is_ascii_whitespace) {
            index += 1;
            continue;
        }
        if byte == b'#' && (index == 0 || bytes[index - 1].is_ascii_whitespace()) {
            // A comment inside a credentials block may hold a secret too.
            ranges.push((line_start + index, bytes.len() - index));
            return;
        }
        if byte == b'|' || byte == b'>' {
            index += 1;
            continue;
        }
        let token_start = index;
        if byte == b'"' || byte == b'\'' {
            index += 1;
            while index < bytes.len() && bytes[index] != byte {
                index += if bytes[index] == b'\\' && byte == b'"' {
                    2
                } else {
                    1
                };
            }
            index = (index + 1).min(bytes.len());
        } else {
            while index < bytes.len() {
                let current = bytes[index];
                if matches!(current, b',' | b'{' | b'}' | b'[' | b']') {
                    break;
                }
                if current == b':' && bytes.get(index + 1).is_none_or(u8::is_ascii_whitespace) {
                    break;
                }
                if current == b' ' && bytes.get(index + 1) == Some(&b'#') {
                    break;
                }
                index += 1;
            }
        }
        let token = line[token_start..index].trim_end();
        let token_end = token_start + token.len();
        let mut lookahead = index;
        while lookahead < bytes.len() && bytes[lookahead] == b' ' {
            lookahead += 1;
        }
        let is_key = bytes.get(lookahead) == Some(&b':')
            && bytes.get(lookahead + 1).is_none_or(u8::is_ascii_whitespace);
        if is_key {
            last_key = Some(token.trim_matches(['"', '\'']).to_owned());
            index = lookahead + 1;
            continue;
        }
        let keep = match last_key.as_deref() {
            Some("env") => is_env_name(token),
            Some("file") => true,
            _ => false,
        };
        if !keep && token_end > token_start {
            ranges.push((line_start + token_start, token_end - token_start));
        }
        last_key = None;
    }
}

fn is_env_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::credential_ranges;

    fn masked(text: &str) -> String {
        let mut bytes = text.as_bytes().to_vec();
        for (start, len) in credential_ranges(text) {
            for byte in &mut bytes[start..start + len] {
                *byte = b'*';
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    #[test]
    fn masks_literals_keeps_keys_env_names_and_paths() {
        let text = "c:\n  credentials:\n    api_key: sk_live_1\n    token: { env: TOKEN }\n    cert: { file: certs/x.pem }\n  name: Visible\n";
        let out = masked(text);
        assert!(out.contains("api_key: *********\n"), "{out}");
        assert!(out.contains("token: { env: TOKEN }"), "{out}");
        assert!(out.contains("cert: { file: certs/x.pem }"), "{out}");
        assert!(out.contains("name: Visible"), "{out}");
    }

    #[test]
    fn masks_flow_values_bad_env_names_and_nested_token_pairs() {
        let out = masked("credentials: sk_live_2\n");
        assert_eq!(out, "credentials: *********\n");
        let out = masked("x:\n  credentials:\n    k: { env: sk-live-3 }\n");
        assert!(out.contains("{ env: ********* }"), "{out}");
        let out = masked(
            "    oauth_token_pair:\n      access_token: \"abc def\"\n      refresh_token: { env: R }\n",
        );
        assert!(out.contains("access_token: *********"), "{out}");
        assert!(out.contains("{ env: R }"), "{out}");
    }

    #[test]
    fn list_items_and_block_scalars_inside_credentials_are_masked() {
        let out = masked("credentials:\n  key: |\n    line-one-secret\n  other: - x\n");
        assert!(out.contains("    ***************\n"), "{out}");
        let out =
            masked("  - credentials:\n      files-sync.partner_app:\n        api_key: topsecret\n");
        assert!(out.contains("files-sync.partner_app:"), "{out}");
        assert!(out.contains("api_key: *********"), "{out}");
    }
}
