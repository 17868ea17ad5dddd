//! What can be wrong with a package, each problem located for `validate`.

use std::io;
use std::path::{Path, PathBuf};

/// Something wrong with a package; [`Package::load`] returns every one it finds.
#[derive(Debug, thiserror::Error)]
pub enum PackageProblem {
    /// The package path does not exist.
    #[error(
        "package `{}` does not exist; check the manifest's `package:` path",
        path.display()
    )]
    NotFound {
        /// The package path as given.
        path: PathBuf,
    },
    /// A file or folder of the package could not be read.
    #[error("cannot read `{}`: {message}", path.display())]
    Io {
        /// The file or folder that could not be read.
        path: PathBuf,
        /// What went wrong, and what to do about it.
        message: String,
    },
    /// The package path is a file, but not a zip that can be read.
    #[error(
        "`{}` is neither a folder nor a readable zip ({message}); point `package:` at a package folder or at a zip exported by Workato",
        path.display()
    )]
    NotZip {
        /// The package path as given.
        path: PathBuf,
        /// Why the zip could not be read.
        message: String,
    },
    /// A zip entry whose name could escape the package when unpacked, or that is not a plain file.
    #[error(
        "zip entry `{entry}` is not a plain relative file path (absolute, `..`, `.`, a backslash or a link); rebuild the zip from the package folder"
    )]
    UnsafeEntry {
        /// The entry's name as stored in the zip.
        entry: String,
    },
    /// The package's files add up to more than the limit once uncompressed.
    #[error(
        "package `{}` is larger than {} uncompressed; remove files that do not belong in the package, or check that the zip is not corrupt",
        path.display(),
        describe_bytes(*limit)
    )]
    TooLarge {
        /// The package path as given.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },
    /// The package holds no recipe and no connection.
    #[error(
        "package `{}` holds no `*.recipe.json` or `*.connection.json` file; point `package:` at an RLCM export (the zip, or the folder it unzips to)",
        path.display()
    )]
    Empty {
        /// The package path as given.
        path: PathBuf,
    },
    /// A recipe or connection file is not valid JSON, or lacks a field embedctl needs.
    #[error(
        "`{file}` line {line}, column {column}: {message}; fix the file or export the package from Workato again"
    )]
    Malformed {
        /// The file's path inside the package.
        file: String,
        /// The file's full text, so that the caller can show the line with a caret.
        text: String,
        /// The 1-based line of the problem.
        line: usize,
        /// The 1-based column of the problem, counted in bytes (as serde_json counts).
        column: usize,
        /// What is wrong, without the position.
        message: String,
    },
    /// A recipe or connection file is not UTF-8 text.
    #[error(
        "`{file}` is not UTF-8 text; save it as UTF-8 or export the package from Workato again"
    )]
    NotUtf8 {
        /// The file's path inside the package.
        file: String,
    },
    /// Two recipes, two connections or two files share a name, so a name would be ambiguous.
    #[error(
        "two {kind}s are named `{name}` (`{first}` and `{second}`); rename one in Workato and export the package again"
    )]
    DuplicateName {
        /// What shares the name: `recipe`, `connection` or `file`.
        kind: &'static str,
        /// The shared name.
        name: String,
        /// The path of the first one inside the package.
        first: String,
        /// The path of the second one inside the package.
        second: String,
    },
    /// A recipe names a connection (`config[].account_id`) that the package does not contain.
    #[error(
        "recipe `{recipe}` uses connection `{connection}`, which is not in the package; add the connection to the manifest in Workato and export the package again"
    )]
    UnknownConnection {
        /// The recipe's name.
        recipe: String,
        /// The connection's name as the recipe gives it.
        connection: String,
    },
    /// A connection or a recipe uses a custom connector whose `<slug>.custom_adapter.json` the
    /// package does not contain, so the import could not create the connector.
    #[error(
        "`{file}` uses the custom connector `{slug}`, but the package has no `{slug}.custom_adapter.json`; add the connector to the manifest in Workato and export the package again"
    )]
    UnknownCustomConnector {
        /// The path inside the package of the connection or recipe file.
        file: String,
        /// The custom connector's slug.
        slug: String,
    },
}

impl PackageProblem {
    /// The file, its text and the 1-based line and column of a [`PackageProblem::Malformed`], so
    /// the caller can render the line with a caret; `None` for every other problem.
    pub fn source_text(&self) -> Option<(&str, &str, usize, usize)> {
        match self {
            PackageProblem::Malformed {
                file,
                text,
                line,
                column,
                ..
            } => Some((file, text, *line, *column)),
            _ => None,
        }
    }
}

/// A [`PackageProblem::Malformed`] from a serde_json error, with a position a caret can use.
pub(super) fn malformed(path: &str, text: &str, error: &serde_json::Error) -> PackageProblem {
    let (line, column) = caret_position(text, error.line(), error.column());
    // serde_json appends " at line L column C" to its message; the position is reported apart.
    let full = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
    PackageProblem::Malformed {
        file: path.to_owned(),
        text: text.to_owned(),
        line,
        column,
        message,
    }
}

/// Maps serde_json's position to a 1-based line and column that point at a real character.
///
/// serde_json reports column 0 when the error is right after a newline (typically "EOF while
/// parsing"); a caret there would point at nothing, so it is moved to just past the end of the
/// previous line.
fn caret_position(text: &str, line: usize, column: usize) -> (usize, usize) {
    if line == 0 {
        return (1, 1);
    }
    if column > 0 {
        return (line, column);
    }
    if line == 1 {
        return (1, 1);
    }
    let previous = text.split('\n').nth(line - 2).unwrap_or("");
    (line - 1, previous.len() + 1)
}

/// A [`PackageProblem::DuplicateName`].
pub(super) fn duplicate(
    kind: &'static str,
    name: &str,
    first: &str,
    second: &str,
) -> PackageProblem {
    PackageProblem::DuplicateName {
        kind,
        name: name.to_owned(),
        first: first.to_owned(),
        second: second.to_owned(),
    }
}

/// A [`PackageProblem::Io`] from an I/O error, with the usual remedy.
pub(super) fn io_problem(path: &Path, error: &io::Error) -> PackageProblem {
    PackageProblem::Io {
        path: path.to_path_buf(),
        message: format!("{error}; check that it exists and is readable"),
    }
}

/// A [`PackageProblem::TooLarge`].
pub(super) fn too_large(path: &Path, limit: u64) -> PackageProblem {
    PackageProblem::TooLarge {
        path: path.to_path_buf(),
        limit,
    }
}

/// A byte count for messages: whole MiB when it is one, else bytes.
pub(super) fn describe_bytes(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}
