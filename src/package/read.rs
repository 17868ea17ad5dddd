//! Reading a package: a folder or a zip, within the size limit, every entry name checked.

use std::fs;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

use zip::ZipArchive;

use super::PackageFile;
use super::problem::{PackageProblem, io_problem, too_large};

/// Reads every file of a package folder, sorted by path; dotfiles are left out, links refused.
pub(super) fn read_folder(
    root: &Path,
    limit: u64,
) -> Result<Vec<PackageFile>, Vec<PackageProblem>> {
    let mut problems = Vec::new();
    let mut files = Vec::new();
    let mut total: u64 = 0;
    // An explicit stack instead of recursion: depth is then bounded by memory, not the call stack.
    let mut pending: Vec<(PathBuf, String)> = vec![(root.to_path_buf(), String::new())];

    while let Some((folder, prefix)) = pending.pop() {
        let entries = match fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(error) => {
                problems.push(io_problem(&folder, &error));
                continue;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(error) => {
                    problems.push(io_problem(&folder, &error));
                    continue;
                }
            };
            let full_path = entry.path();
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                problems.push(PackageProblem::Io {
                    path: full_path,
                    message: "the name is not UTF-8; rename it, Workato package paths are UTF-8"
                        .to_owned(),
                });
                continue;
            };
            if name.starts_with('.') {
                continue;
            }
            let relative = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            // `symlink_metadata` does not follow links, so a link can be seen and refused.
            let file_type = match fs::symlink_metadata(&full_path) {
                Ok(metadata) => metadata.file_type(),
                Err(error) => {
                    problems.push(io_problem(&full_path, &error));
                    continue;
                }
            };
            if file_type.is_symlink() {
                problems.push(PackageProblem::Io {
                    path: full_path,
                    message: "it is a symbolic link, and links are not followed out of a package; \
                              copy the file into the package instead"
                        .to_owned(),
                });
            } else if file_type.is_dir() {
                pending.push((full_path, relative));
            } else if file_type.is_file() {
                let remaining = limit.saturating_sub(total);
                match read_limited(&full_path, remaining) {
                    Ok(Some(content)) => {
                        total = total.saturating_add(content.len() as u64);
                        files.push((relative, content));
                    }
                    // Past the limit there is no point in reading on: report just that.
                    Ok(None) => return Err(vec![too_large(root, limit)]),
                    Err(problem) => problems.push(problem),
                }
            } else {
                problems.push(PackageProblem::Io {
                    path: full_path,
                    message: "it is not a regular file; remove it from the package".to_owned(),
                });
            }
        }
    }

    if !problems.is_empty() {
        return Err(problems);
    }
    files.sort_by(|left, right| left.0.cmp(&right.0));
    Ok(files)
}

/// Reads a whole file, or `None` when it is longer than `limit` bytes.
///
/// The read itself is bounded, so a file that grows while being read (or a device that never
/// ends) cannot take more than `limit + 1` bytes of memory.
pub(super) fn read_limited(path: &Path, limit: u64) -> Result<Option<Vec<u8>>, PackageProblem> {
    let file = fs::File::open(path).map_err(|error| io_problem(path, &error))?;
    let mut content = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut content)
        .map_err(|error| io_problem(path, &error))?;
    if content.len() as u64 > limit {
        return Ok(None);
    }
    Ok(Some(content))
}

/// Reads every file entry of a package zip, sorted by path.
///
/// Entry names are checked before anything is decompressed, and the size limit is enforced twice:
/// on the sizes the zip declares (cheap, before inflating) and on the bytes actually inflated,
/// because a hostile zip can declare small sizes and inflate to far more. The zip crate already
/// refuses to inflate an entry past its declared size (that surfaces as [`PackageProblem::NotZip`]);
/// the bounded read here keeps the limit true without relying on that.
pub(super) fn read_zip(
    path: &Path,
    zip_bytes: &[u8],
    limit: u64,
) -> Result<Vec<PackageFile>, Vec<PackageProblem>> {
    let not_zip = |message: String| {
        vec![PackageProblem::NotZip {
            path: path.to_path_buf(),
            message,
        }]
    };
    let mut archive =
        ZipArchive::new(Cursor::new(zip_bytes)).map_err(|error| not_zip(error.to_string()))?;
    // The reader keeps only one of two same-named entries; which one Workato would use is unknown,
    // so such a zip is refused rather than digested differently from what gets imported.
    if archive.has_duplicate_names() {
        return Err(not_zip(
            "it holds two entries with the same name".to_owned(),
        ));
    }

    let mut problems = Vec::new();
    let mut declared_total: u64 = 0;
    let mut wanted: Vec<(usize, String)> = Vec::new();
    for index in 0..archive.len() {
        let entry = match archive.by_index_data(index) {
            Ok(entry) => entry,
            Err(error) => return Err(not_zip(error.to_string())),
        };
        if entry.is_dir() {
            continue;
        }
        let name = match entry.name() {
            Ok(name) => name.into_owned(),
            Err(_) => {
                problems.push(PackageProblem::UnsafeEntry {
                    entry: String::from_utf8_lossy(entry.name_raw()).into_owned(),
                });
                continue;
            }
        };
        if entry.is_symlink() || !is_safe_entry_name(&name) {
            problems.push(PackageProblem::UnsafeEntry { entry: name });
            continue;
        }
        if entry.encrypted() {
            return Err(not_zip(format!("entry `{name}` is encrypted")));
        }
        declared_total = declared_total.saturating_add(entry.size());
        wanted.push((index, name));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    if declared_total > limit {
        return Err(vec![too_large(path, limit)]);
    }

    let mut files = Vec::with_capacity(wanted.len());
    let mut actual_total: u64 = 0;
    for (index, name) in wanted {
        let entry = archive
            .by_index(index)
            .map_err(|error| not_zip(format!("entry `{name}`: {error}")))?;
        let remaining = limit.saturating_sub(actual_total);
        let mut content = Vec::new();
        entry
            .take(remaining.saturating_add(1))
            .read_to_end(&mut content)
            .map_err(|error| not_zip(format!("entry `{name}`: {error}")))?;
        if content.len() as u64 > remaining {
            return Err(vec![too_large(path, limit)]);
        }
        actual_total = actual_total.saturating_add(content.len() as u64);
        files.push((name, content));
    }
    files.sort_by(|left, right| left.0.cmp(&right.0));
    Ok(files)
}

/// Whether a zip entry name is a plain relative path that stays inside the package.
///
/// Besides the classic escapes (`..`, a leading `/`, a drive letter, a backslash that Windows
/// tools read as a separator), `.` and empty segments are refused too: they would make two
/// spellings of one path, and the digest depends on the spelling.
pub(super) fn is_safe_entry_name(name: &str) -> bool {
    if name.is_empty() || name.contains('\\') || name.contains('\0') || name.starts_with('/') {
        return false;
    }
    // `C:x` is a drive-relative path on Windows; a colon elsewhere (`CRM: Sync`) is a plain name.
    let bytes = name.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return false;
    }
    name.split('/')
        .all(|segment| !segment.is_empty() && segment != "." && segment != "..")
}

/// Whether a package path is hidden (a segment starts with `.`) or macOS zip debris
/// (`__MACOSX/`): such files are uploaded and digested as they are, but never parsed as assets.
pub(super) fn is_ignored_for_assets(path: &str) -> bool {
    path.split('/')
        .any(|segment| segment.starts_with('.') || segment == "__MACOSX")
}
