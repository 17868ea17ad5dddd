//! The deterministic zip built from a package folder: the same files always give the same bytes.

use std::fmt;
use std::io::{Cursor, Write};
use std::path::PathBuf;

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, System, ZipWriter};

use super::read::is_safe_entry_name;
use super::{PackageFile, PackageProblem};

/// A zip of the files that depends on nothing but their paths and contents.
///
/// Entries are sorted by path, with no directory entries, the fixed timestamp 1980-01-01 00:00:00,
/// Unix permissions `0o644`, Deflate at level 6 and no extra fields, so the same files always give
/// byte-identical zips from the same embedctl build (whatever the files' mtimes or the machine).
/// Paths must be plain relative paths ([`PackageProblem::UnsafeEntry`]) and unique
/// ([`PackageProblem::DuplicateName`]).
pub fn deterministic_zip(files: &[(String, Vec<u8>)]) -> Result<Vec<u8>, PackageProblem> {
    let mut sorted: Vec<&PackageFile> = files.iter().collect();
    sorted.sort_by(|left, right| left.0.cmp(&right.0));
    for (path, _) in &sorted {
        if !is_safe_entry_name(path) {
            return Err(PackageProblem::UnsafeEntry {
                entry: path.clone(),
            });
        }
    }
    if let Some(pair) = sorted.windows(2).find(|pair| pair[0].0 == pair[1].0) {
        return Err(PackageProblem::DuplicateName {
            kind: "file",
            name: pair[0].0.clone(),
            first: pair[0].0.clone(),
            second: pair[1].0.clone(),
        });
    }

    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(6))
        .last_modified_time(DateTime::DEFAULT)
        .unix_permissions(0o644)
        // Without this the writer records the host system, so the same files would zip
        // differently on Windows.
        .system(System::Unix)
        .large_file(false);
    let write_failed = |path: &str, error: &dyn fmt::Display| PackageProblem::Io {
        path: PathBuf::from(path),
        message: format!("zipping it in memory failed: {error}"),
    };
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    for (path, content) in sorted {
        writer
            .start_file(path.as_str(), options)
            .map_err(|error| write_failed(path, &error))?;
        writer
            .write_all(content)
            .map_err(|error| write_failed(path, &error))?;
    }
    let cursor = writer
        .finish()
        .map_err(|error| write_failed("<package zip>", &error))?;
    Ok(cursor.into_inner())
}
