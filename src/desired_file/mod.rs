//! The desired-state file: reading it, checking it, and telling the user exactly what is wrong.
//!
//! `load` is the only entry point. It reads the YAML (through `yaml`, the one module that calls the
//! YAML reader), loads every manifest's package, and runs every semantic check, collecting all the
//! problems of the file into one `Diagnostics` list.

mod diagnostic;
mod keyed_map;
pub mod limits;
mod mask;
mod model;
mod secret;
mod shape;
mod validate;
mod yaml;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use diagnostic::{Diagnostic, Diagnostics, Severity, SourceFile};
pub use keyed_map::KeyedMap;
pub use model::{
    Connection, Customer, DesiredFile, Manifest, Parent, Region, RuntimeUser, SettingValue,
    WorkatoSettings,
};
pub use secret::SecretSource;
pub use serde_saphyr::Spanned;

use crate::package::Package;

/// The largest desired-state file embedctl reads. A file with 1,000 customers of 100 end users
/// each is about 5 MB; anything far beyond that is a mistake (a wrong path, a generated file gone
/// wild), refused before it is read into memory.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// A desired-state file that passed every check, with its packages loaded.
#[derive(Debug)]
pub struct LoadedFile {
    /// The path the file was read from, as given.
    pub path: PathBuf,
    /// The file as written.
    pub file: DesiredFile,
    /// The package of every manifest, by manifest key.
    pub packages: BTreeMap<String, Package>,
    /// Warnings: things that are allowed but can never work as written.
    pub warnings: Diagnostics,
}

impl LoadedFile {
    /// The folder that relative paths in the file (packages, `{ file: … }`) are relative to.
    pub fn base_dir(&self) -> &Path {
        base_dir_of(&self.path)
    }

    /// "2 customers, 1 manifest, 5 runtime users".
    pub fn summary(&self) -> String {
        let runtime_users: usize = self
            .file
            .customers
            .iter()
            .map(|customer| customer.value.runtime_users.len())
            .sum();
        format!(
            "{}, {}, {}",
            plural(self.file.customers.len(), "customer", "customers"),
            plural(self.file.manifests.len(), "manifest", "manifests"),
            plural(runtime_users, "runtime user", "runtime users"),
        )
    }
}

/// "1 customer", "2 customers".
pub fn plural(count: usize, one: &str, many: &str) -> String {
    if count == 1 {
        format!("{count} {one}")
    } else {
        format!("{count} {many}")
    }
}

/// The folder of `path`; empty (not `.`) for a bare file name, so that joined paths read as the
/// user would write them (`packages/x`, not `./packages/x`).
fn base_dir_of(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new(""))
}

/// Reads and checks the desired-state file at `path`. Reads the packages it names; touches no
/// network. On failure, the diagnostics hold every error found (and any warnings).
pub fn load(path: &Path) -> Result<LoadedFile, Diagnostics> {
    let mut diagnostics = Diagnostics::new();
    let name = path.display().to_string();
    let source = match read_source(path, &name) {
        Ok(source) => source,
        Err(diagnostic) => {
            diagnostics.push(diagnostic);
            return Err(diagnostics);
        }
    };
    if is_blank(source.text()) {
        diagnostics.push(
            Diagnostic::error(
                &source,
                (0, 0).into(),
                "the file is empty",
                "expected `version: 1` here",
            )
            .with_help("start with `version: 1`; `embedctl schema` prints the whole format"),
        );
        return Err(diagnostics);
    }
    // Every snippet any diagnostic shows comes from `display`: the text with whatever may be a
    // secret masked, for syntax errors as much as for semantic ones.
    let display = source.masked(&mask::credential_ranges(source.text()));
    let tree: Spanned<shape::Node> = match yaml::parse(source.text(), &display) {
        Ok(tree) => tree,
        Err(diagnostic) => {
            diagnostics.push(diagnostic);
            return Err(diagnostics);
        }
    };
    let schema = serde_json::to_value(schemars::schema_for!(DesiredFile)).unwrap_or_default();
    let shape = shape::check(&tree, &schema, &display);
    drop(tree);
    diagnostics.extend(shape.diagnostics);
    if shape.blocks_typed_read {
        return Err(diagnostics);
    }
    let file: DesiredFile = match yaml::parse(source.text(), &display) {
        Ok(file) => file,
        Err(diagnostic) => {
            diagnostics.push(diagnostic);
            return Err(diagnostics);
        }
    };
    let source = display.masked(&validate::literal_secret_ranges(&file, &display));
    let base_dir = base_dir_of(path);
    let packages = validate::load_packages(&file, base_dir, &source, &mut diagnostics);
    validate::check(&file, &packages, &source, &mut diagnostics);
    if diagnostics.has_errors() {
        return Err(diagnostics);
    }
    Ok(LoadedFile {
        path: path.to_path_buf(),
        file,
        packages,
        warnings: diagnostics,
    })
}

fn read_source(path: &Path, name: &str) -> Result<SourceFile, Diagnostic> {
    let metadata = std::fs::metadata(path).map_err(|error| {
        let diagnostic = Diagnostic::error_without_location(format!(
            "cannot read `{name}`: {}",
            io_reason(&error)
        ));
        if error.kind() == std::io::ErrorKind::NotFound {
            diagnostic
                .with_help("pass the desired-state file with `-f FILE` (default `./embedctl.yaml`)")
        } else {
            diagnostic
        }
    })?;
    if metadata.is_dir() {
        return Err(Diagnostic::error_without_location(format!(
            "`{name}` is a folder, not a desired-state file"
        ))
        .with_help("pass the YAML file itself with `-f FILE`"));
    }
    if metadata.len() > MAX_FILE_BYTES {
        return Err(Diagnostic::error_without_location(format!(
            "`{name}` is {} bytes; embedctl reads desired-state files of up to {} MiB",
            metadata.len(),
            MAX_FILE_BYTES / 1024 / 1024
        )));
    }
    // Read at most one byte past the limit: a device or a pipe reports no size up front.
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| {
            std::io::Read::read_to_end(
                &mut std::io::Read::take(file, MAX_FILE_BYTES + 1),
                &mut bytes,
            )
        })
        .map_err(|error| {
            Diagnostic::error_without_location(format!(
                "cannot read `{name}`: {}",
                io_reason(&error)
            ))
        })?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(Diagnostic::error_without_location(format!(
            "`{name}` is larger than {} MiB; embedctl reads desired-state files of up to that size",
            MAX_FILE_BYTES / 1024 / 1024
        )));
    }
    // A UTF-8 byte-order mark is not content; dropping it keeps line-1 columns right.
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        bytes.drain(..3);
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(SourceFile::new(name, text)),
        Err(error) => {
            let valid_up_to = error.utf8_error().valid_up_to();
            let lossy = String::from_utf8_lossy(error.as_bytes()).into_owned();
            let ranges = mask::credential_ranges(&lossy);
            let source = SourceFile::new(name, lossy).masked(&ranges);
            Err(Diagnostic::error(
                &source,
                (valid_up_to, 1).into(),
                "the file is not valid UTF-8",
                "this byte is not UTF-8",
            )
            .with_help("save the file as UTF-8"))
        }
    }
}

/// The reason of an I/O error without the OS's error number ("No such file or directory").
pub fn io_reason(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => {
            let text = error.to_string();
            match text.find(" (os error") {
                Some(index) => text[..index].to_owned(),
                None => text,
            }
        }
    }
}

fn is_blank(text: &str) -> bool {
    text.lines().all(|line| {
        let line = line.trim();
        line.is_empty() || line.starts_with('#') || line == "---" || line == "..."
    })
}
