//! The package digest: a hash of the package's content that does not depend on how a zip was
//! encoded.

use std::fmt;

use sha2::{Digest, Sha256};

use super::PackageFile;

/// The content digest of a package (ARCHITECTURE.md): lowercase hex SHA-256, see [`digest_of_files`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PackageDigest(String);

/// The package digest of a set of files (ARCHITECTURE.md).
///
/// The digest is the lowercase hex SHA-256 of the concatenation, in path order (byte-wise), of one
/// line per file:
///
/// ```text
/// {path}\0{lowercase hex sha256 of the file's content}\n
/// ```
///
/// where `{path}` is the file's `/`-separated path inside the package and `\0` is a NUL byte.
/// Only paths and contents count, never timestamps, permissions or compression, so a folder and
/// any zip of the same files have the same digest. The input order does not matter.
pub fn digest_of_files(files: &[(String, Vec<u8>)]) -> PackageDigest {
    PackageDigest(hex::encode(sha256_of_files(files.iter().collect())))
}

/// The SHA-256 of the `{path}\0{sha256 of content}\n` lines of `files`, in path order: the
/// package digest's bytes, and an asset's (`inventory`).
pub(super) fn sha256_of_files(mut files: Vec<&PackageFile>) -> Vec<u8> {
    files.sort_by(|left, right| left.0.cmp(&right.0));
    let mut hasher = Sha256::new();
    for (path, content) in files {
        hasher.update(path.as_bytes());
        hasher.update([0u8]);
        hasher.update(hex::encode(Sha256::digest(content)).as_bytes());
        hasher.update(b"\n");
    }
    hasher.finalize().to_vec()
}

impl PackageDigest {
    /// The digest as 64 lowercase hex digits: the form recorded in Workato's properties.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 hex digits, for display: enough to tell packages apart at a glance.
    pub fn short(&self) -> &str {
        // `get` rather than slicing: a digest is always 64 ASCII digits, but this must not panic.
        self.0.get(..12).unwrap_or(&self.0)
    }
}

impl fmt::Display for PackageDigest {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}
