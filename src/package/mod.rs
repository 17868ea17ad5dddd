//! Recipe packages (Workato RLCM exports): loading, checking, digesting and zipping them.
//!
//! A manifest's `package:` is either a folder laid out the way an RLCM export unzips (one
//! `*.recipe.json` / `*.connection.json` / … file per asset, in sub-folders that mirror the Workato
//! folder tree) or the exported `.zip` itself. This module owns everything embedctl needs to know
//! about such a package before it talks to Workato:
//!
//! - the exact bytes that get uploaded to the import endpoint (the original zip unchanged, or a
//!   deterministic zip built from the folder);
//! - the [`PackageDigest`] recorded in Workato after an import, which decides whether a customer
//!   needs a re-import (ARCHITECTURE.md);
//! - the recipes and connections inside, with the connections each recipe needs authorized before
//!   it can start (ARCHITECTURE.md).
//!
//! Loading is pure apart from reading the package itself: no network, and every problem found is
//! returned at once so that `validate` can report them all in one run.
//!
//! - `read`: a package folder or zip, read within its size limit, entry names checked;
//! - `assets`: the recipes and connections inside, and which connections a recipe needs;
//! - `digest`: the content digest recorded in Workato after an import;
//! - `archive`: the deterministic zip built from a folder;
//! - `problem`: everything that can be wrong with a package, located for `validate`.

mod archive;
mod assets;
mod connector;
mod digest;
pub mod inventory;
mod problem;
mod read;

use std::fmt;
use std::fs;
use std::io;
use std::path::Path;

pub use archive::deterministic_zip;
pub use connector::{Connector, custom_slug};
pub use digest::{PackageDigest, digest_of_files};
pub use inventory::PackageAsset;
pub use problem::PackageProblem;

use assets::{parse_assets, root_folder_assets};
use problem::{io_problem, too_large};
use read::{read_folder, read_limited, read_zip};

/// The largest total uncompressed size a package may have.
///
/// Real packages are a few megabytes of JSON; the limit exists so that a zip bomb (a tiny zip that
/// inflates to gigabytes) or a folder pointed at by mistake cannot exhaust memory.
pub const MAX_PACKAGE_BYTES: u64 = 100 * 1024 * 1024;

/// The file-name suffix of a recipe asset in an RLCM package.
pub(crate) const RECIPE_SUFFIX: &str = ".recipe.json";

/// The file-name suffix of a connection asset in an RLCM package.
pub(crate) const CONNECTION_SUFFIX: &str = ".connection.json";

/// The trigger provider that makes a recipe a recipe function (callable recipe).
pub(crate) const RECIPE_FUNCTION_PROVIDER: &str = "workato_recipe_function";

/// One file of a package: its path inside the package (`/`-separated) and its content.
pub(crate) type PackageFile = (String, Vec<u8>);

/// A loaded and checked recipe package.
#[derive(Clone)]
pub struct Package {
    /// Exactly what gets uploaded to Workato's import endpoint: the original bytes of a `.zip`
    /// package, or the [`deterministic_zip`] of a folder package.
    pub zip_bytes: Vec<u8>,
    /// The content digest of the package's files, independent of how they are zipped.
    pub digest: PackageDigest,
    /// The package's recipes, sorted by name.
    pub recipes: Vec<PackageRecipe>,
    /// The package's connections, sorted by name.
    pub connections: Vec<PackageConnection>,
    /// The paths of the package's root-folder assets (`"root_folder": true`: they sat in the
    /// exporting workspace's Home folder), sorted; the import needs `folder_id_for_home_assets`
    /// when there is any.
    pub root_folder_assets: Vec<String>,
    /// Every asset of the package with a short digest of its content, sorted by key: what apply
    /// records at an import so that a later plan can name what a changed package changes.
    pub assets: Vec<PackageAsset>,
}

/// A recipe asset (`*.recipe.json`) of a package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageRecipe {
    /// The file's path inside the package, e.g. `Files Sync/list_files.recipe.json`.
    pub path: String,
    /// The recipe's name, which is also its name in the customer workspace after the import.
    pub name: String,
    /// Whether the recipe is a recipe function (its trigger is `workato_recipe_function`), the kind
    /// of recipe that the parent-connection trap is about (ARCHITECTURE.md).
    pub is_recipe_function: bool,
    /// The recipe's `config[]`: one entry per connector the recipe uses, in file order.
    pub config: Vec<RecipeConfigEntry>,
    /// `"root_folder": true`: the recipe sat in the exporting workspace's Home folder, so the
    /// import needs a folder for Home assets (`folder_id_for_home_assets`).
    pub root_folder: bool,
}

/// One `config[]` entry of a recipe: a connector the recipe uses, and which connection it uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecipeConfigEntry {
    /// The provider as the export wrote it, e.g. `dropbox`, `logger`, or a custom connector's
    /// id in the exporting workspace (`<slug>__connector_<id>_<ts>`), which is never sent.
    pub provider: String,
    /// The connector that provider names: a custom connector's id gives its slug.
    pub connector: Connector,
    /// Whether Workato starts the recipe without this connection being authorized; true for
    /// runtime-user connections, which only exist once an end user connects.
    pub skip_validation: bool,
    /// The connection named by `account_id`; `None` for connectors that need no connection.
    pub connection: Option<ConnectionReference>,
}

/// A recipe's reference to a connection (`config[].account_id`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionReference {
    /// The connection's name.
    pub name: String,
    /// The path of the connection's file inside the package, when the export recorded it.
    pub zip_name: Option<String>,
}

/// A connection asset (`*.connection.json`) of a package. Packages never hold credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageConnection {
    /// The file's path inside the package, e.g. `Files Sync/dropbox.connection.json`.
    pub path: String,
    /// The connection's name, which is also its name in the customer workspace after the import.
    pub name: String,
    /// The connector: a standard one (`dropbox`), or a custom connector of the package by its slug.
    pub connector: Connector,
    /// `"root_folder": true`: the connection sat in the exporting workspace's Home folder.
    pub root_folder: bool,
}

impl fmt::Debug for Package {
    // Hand-written so that debug output shows the zip's size rather than megabytes of bytes.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Package")
            .field(
                "zip_bytes",
                &format_args!("<{} bytes>", self.zip_bytes.len()),
            )
            .field("digest", &self.digest)
            .field("recipes", &self.recipes)
            .field("connections", &self.connections)
            .field("root_folder_assets", &self.root_folder_assets)
            .field("assets", &self.assets.len())
            .finish()
    }
}

impl Package {
    /// Loads a package from a folder or a `.zip` file and checks it.
    ///
    /// A folder is walked recursively; dotfiles and dot-folders (`.git`, `.DS_Store`) are left out,
    /// and symbolic links are refused rather than followed out of the package. A file is read as a
    /// zip whatever its extension; its bytes are uploaded unchanged. Either way the package may
    /// hold at most [`MAX_PACKAGE_BYTES`] uncompressed.
    ///
    /// Every problem found is returned, not just the first, so that one `validate` run shows them
    /// all.
    pub fn load(path: &Path) -> Result<Package, Vec<PackageProblem>> {
        load_with_limit(path, MAX_PACKAGE_BYTES)
    }

    /// Whether the package holds root-folder assets, which Workato imports only with a folder for
    /// Home assets (`folder_id_for_home_assets`).
    pub fn has_root_folder_assets(&self) -> bool {
        !self.root_folder_assets.is_empty()
    }

    /// The recipe with this name, if the package has one.
    pub fn recipe(&self, name: &str) -> Option<&PackageRecipe> {
        self.recipes.iter().find(|recipe| recipe.name == name)
    }

    /// The connection with this name, if the package has one.
    pub fn connection(&self, name: &str) -> Option<&PackageConnection> {
        self.connections
            .iter()
            .find(|connection| connection.name == name)
    }

    /// The package connection a recipe's `account_id` points at: by file path (`zip_name`) first,
    /// because that is unambiguous, else by name.
    pub fn resolve_connection(
        &self,
        reference: &ConnectionReference,
    ) -> Option<&PackageConnection> {
        let by_path = reference.zip_name.as_deref().and_then(|zip_name| {
            self.connections
                .iter()
                .find(|connection| connection.path == zip_name)
        });
        by_path.or_else(|| self.connection(&reference.name))
    }

    /// The package connections a recipe needs authorized before it can start: the connections of
    /// its config entries without `skip_validation`, resolved as [`Package::resolve_connection`]
    /// does. Sorted by name, each connection once.
    ///
    /// Entries with `skip_validation: true` are left out on purpose: those are runtime-user
    /// connections, which Workato lets a recipe start without.
    pub fn connections_required_by(&self, recipe: &PackageRecipe) -> Vec<&PackageConnection> {
        let required: Vec<&PackageConnection> = recipe
            .config
            .iter()
            .filter(|entry| !entry.skip_validation)
            .filter_map(|entry| entry.connection.as_ref())
            .filter_map(|reference| self.resolve_connection(reference))
            .collect();
        // Walking `self.connections` (sorted by name) gives a sorted, duplicate-free answer.
        self.connections
            .iter()
            .filter(|connection| {
                required
                    .iter()
                    .any(|needed| std::ptr::eq(*needed, *connection))
            })
            .collect()
    }
}

/// [`Package::load`] with the size limit as a parameter, so tests can exercise it with small files.
fn load_with_limit(path: &Path, limit: u64) -> Result<Package, Vec<PackageProblem>> {
    // `fs::metadata` follows a symlink at the package root on purpose: pointing `package:` at a
    // link is the user's explicit choice; only links inside the package are refused.
    let metadata = match fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Err(vec![PackageProblem::NotFound {
                path: path.to_path_buf(),
            }]);
        }
        Err(error) => return Err(vec![io_problem(path, &error)]),
    };

    let (files, zip_bytes) = if metadata.is_dir() {
        let files = read_folder(path, limit)?;
        let zip_bytes = deterministic_zip(&files).map_err(|problem| vec![problem])?;
        (files, zip_bytes)
    } else {
        let zip_bytes = read_limited(path, limit)
            .map_err(|problem| vec![problem])?
            .ok_or_else(|| vec![too_large(path, limit)])?;
        let files = read_zip(path, &zip_bytes, limit)?;
        (files, zip_bytes)
    };

    let digest = digest_of_files(&files);
    let (recipes, connections) = parse_assets(path, &files)?;
    let root_folder_assets = root_folder_assets(&files, &recipes, &connections);
    let assets = inventory::inventory(&files, &recipes, &connections);
    Ok(Package {
        zip_bytes,
        digest,
        recipes,
        connections,
        root_folder_assets,
        assets,
    })
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Read, Write};

    use sha2::{Digest, Sha256};
    use zip::write::SimpleFileOptions;
    use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

    use super::read::is_safe_entry_name;
    use super::*;

    const PARTNER_APP: &str = r#"{
  "name": "PartnerApp",
  "provider": "partner_app",
  "root_folder": false
}
"#;

    const DROPBOX: &str = r#"{
  "name": "Dropbox",
  "provider": "dropbox",
  "root_folder": false
}
"#;

    const LIST_FILES: &str = r#"{
  "name": "List files",
  "version": 3,
  "private": true,
  "concurrency": 1,
  "code": {
    "number": 0,
    "provider": "clock",
    "name": "scheduled_event",
    "as": "trigger",
    "keyword": "trigger",
    "input": { "time_unit": "hours", "trigger_every": "1" },
    "block": []
  },
  "config": [
    { "keyword": "application", "provider": "clock", "skip_validation": false, "account_id": null },
    {
      "keyword": "application",
      "provider": "partner_app",
      "skip_validation": false,
      "account_id": {
        "zip_name": "Files Sync/partner_app.connection.json",
        "name": "PartnerApp",
        "folder": "Files Sync"
      }
    },
    {
      "keyword": "application",
      "provider": "dropbox",
      "skip_validation": true,
      "account_id": {
        "zip_name": "Files Sync/dropbox.connection.json",
        "name": "Dropbox",
        "folder": "Files Sync"
      }
    }
  ]
}
"#;

    const GET_FILE: &str = r#"{
  "name": "Get file",
  "version": 1,
  "private": true,
  "concurrency": 1,
  "code": {
    "number": 0,
    "provider": "workato_recipe_function",
    "name": "execute",
    "as": "trigger",
    "keyword": "trigger",
    "input": {},
    "block": []
  },
  "config": [
    {
      "keyword": "application",
      "provider": "workato_recipe_function",
      "skip_validation": false,
      "account_id": null
    },
    {
      "keyword": "application",
      "provider": "dropbox",
      "skip_validation": true,
      "account_id": {
        "zip_name": "Files Sync/dropbox.connection.json",
        "name": "Dropbox",
        "folder": "Files Sync"
      }
    }
  ]
}
"#;

    /// A small package like the quick start's, plus a file that is kept but not parsed.
    fn sample_files() -> Vec<PackageFile> {
        [
            ("Files Sync/partner_app.connection.json", PARTNER_APP),
            ("Files Sync/dropbox.connection.json", DROPBOX),
            ("Files Sync/list_files.recipe.json", LIST_FILES),
            ("Files Sync/get_file.recipe.json", GET_FILE),
            (
                "Files Sync/file_types.lookup_table.json",
                r#"{"name": "File types", "schema": "[]"}"#,
            ),
        ]
        .into_iter()
        .map(|(path, text)| (path.to_owned(), text.as_bytes().to_vec()))
        .collect()
    }

    fn write_folder(root: &Path, files: &[PackageFile]) {
        for (path, content) in files {
            let full = root.join(path);
            fs::create_dir_all(full.parent().unwrap()).unwrap();
            fs::write(full, content).unwrap();
        }
    }

    /// A zip encoded unlike `deterministic_zip` (stored, other timestamps, directory entries,
    /// reverse order), to show that the digest depends on the files only.
    fn foreign_zip(files: &[PackageFile]) -> Vec<u8> {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Stored)
            .last_modified_time(DateTime::from_date_and_time(2024, 5, 17, 9, 30, 12).unwrap())
            .unix_permissions(0o600);
        let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
        writer.add_directory("Files Sync/", options).unwrap();
        for (path, content) in files.iter().rev() {
            writer.start_file(path.as_str(), options).unwrap();
            writer.write_all(content).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
        for (name, content) in entries {
            writer
                .start_file(*name, SimpleFileOptions::default())
                .unwrap();
            writer.write_all(content).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    fn load_folder(files: &[PackageFile]) -> Result<Package, Vec<PackageProblem>> {
        let dir = tempfile::tempdir().unwrap();
        write_folder(dir.path(), files);
        Package::load(dir.path())
    }

    fn load_zip_bytes(bytes: &[u8], limit: u64) -> Result<Package, Vec<PackageProblem>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("package.zip");
        fs::write(&path, bytes).unwrap();
        load_with_limit(&path, limit)
    }

    fn only_problem(result: Result<Package, Vec<PackageProblem>>) -> PackageProblem {
        let mut problems = result.expect_err("the package should have been refused");
        assert_eq!(problems.len(), 1, "{problems:#?}");
        problems.remove(0)
    }

    #[test]
    fn same_folder_twice_gives_same_digest_and_identical_zip() {
        let files = sample_files();
        let first = load_folder(&files).unwrap();
        // Written in the opposite order into another folder: other directory order and mtimes.
        let mut reversed = files.clone();
        reversed.reverse();
        let second = load_folder(&reversed).unwrap();

        assert_eq!(first.digest, second.digest);
        assert_eq!(first.zip_bytes, second.zip_bytes);
        assert_eq!(first.digest.as_str().len(), 64);
        assert_eq!(first.digest.short(), &first.digest.as_str()[..12]);
        assert_eq!(first.digest.to_string(), first.digest.as_str());
    }

    #[test]
    fn digest_follows_the_documented_line_format() {
        let files = vec![
            ("b.txt".to_owned(), b"two".to_vec()),
            ("a.txt".to_owned(), b"one".to_vec()),
        ];
        let hex = |bytes: &[u8]| hex::encode(Sha256::digest(bytes));
        let lines = format!("a.txt\0{}\nb.txt\0{}\n", hex(b"one"), hex(b"two"));
        assert_eq!(digest_of_files(&files).as_str(), hex(lines.as_bytes()));
        // Pinned, so that a change of the format (which would re-import every customer's
        // packages) cannot go unnoticed.
        assert_eq!(
            hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn one_changed_byte_changes_the_digest() {
        let files = sample_files();
        let mut changed = files.clone();
        let content = &mut changed[0].1;
        let position = content.iter().position(|byte| *byte == b'P').unwrap();
        content[position] = b'Q';
        assert_ne!(digest_of_files(&files), digest_of_files(&changed));

        let mut renamed = files.clone();
        renamed[4].0 = "Files Sync/file_types2.lookup_table.json".to_owned();
        assert_ne!(digest_of_files(&files), digest_of_files(&renamed));
    }

    #[test]
    fn folder_and_zip_of_the_same_files_have_the_same_digest() {
        let files = sample_files();
        let folder = load_folder(&files).unwrap();
        let zip_bytes = foreign_zip(&files);
        let zipped = load_zip_bytes(&zip_bytes, MAX_PACKAGE_BYTES).unwrap();

        assert_eq!(folder.digest, zipped.digest);
        assert_ne!(folder.zip_bytes, zipped.zip_bytes);
        // A zip package is uploaded exactly as the user gave it.
        assert_eq!(zipped.zip_bytes, zip_bytes);
        assert_eq!(folder.recipes, zipped.recipes);
        assert_eq!(folder.connections, zipped.connections);
    }

    #[test]
    fn deterministic_zip_has_fixed_metadata_and_round_trips() {
        let files = sample_files();
        let bytes = deterministic_zip(&files).unwrap();
        let mut archive = ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut names = Vec::new();
        for index in 0..archive.len() {
            let mut entry = archive.by_index(index).unwrap();
            assert_eq!(entry.last_modified(), Some(DateTime::DEFAULT));
            assert_eq!(entry.unix_mode().map(|mode| mode & 0o777), Some(0o644));
            assert_eq!(entry.compression(), CompressionMethod::Deflated);
            assert!(entry.extra_data().unwrap_or_default().is_empty());
            let name = entry.name().unwrap().into_owned();
            let mut content = Vec::new();
            entry.read_to_end(&mut content).unwrap();
            let original = files.iter().find(|(path, _)| *path == name).unwrap();
            assert_eq!(original.1, content);
            names.push(name);
        }
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert_eq!(names.len(), files.len());
    }

    #[test]
    fn deterministic_zip_refuses_unsafe_and_duplicate_paths() {
        let unsafe_path = vec![("../evil".to_owned(), b"x".to_vec())];
        assert!(matches!(
            deterministic_zip(&unsafe_path),
            Err(PackageProblem::UnsafeEntry { entry }) if entry == "../evil"
        ));
        let twice = vec![
            ("a.json".to_owned(), b"1".to_vec()),
            ("a.json".to_owned(), b"2".to_vec()),
        ];
        assert!(matches!(
            deterministic_zip(&twice),
            Err(PackageProblem::DuplicateName { kind: "file", .. })
        ));
    }

    #[test]
    fn safe_entry_names_are_plain_relative_paths() {
        for name in [
            "a.json",
            "Files Sync/list_files.recipe.json",
            "CRM: Sync/x.json",
            "a/b/c",
        ] {
            assert!(is_safe_entry_name(name), "{name}");
        }
        for name in [
            "", "../x", "a/../x", "..", "/x", "a\\x", "C:x", "c:/x", "a//x", "./x", "a/.", "a\0b",
        ] {
            assert!(!is_safe_entry_name(name), "{name:?}");
        }
    }

    #[test]
    fn zip_entries_that_escape_are_refused() {
        for name in [
            "../evil",
            "/etc/passwd",
            "Files Sync\\evil.json",
            "a/./b",
            "C:/x",
        ] {
            let bytes = zip_of(&[
                ("Files Sync/dropbox.connection.json", DROPBOX.as_bytes()),
                (name, b"{}"),
            ]);
            let problem = only_problem(load_zip_bytes(&bytes, MAX_PACKAGE_BYTES));
            assert!(
                matches!(&problem, PackageProblem::UnsafeEntry { entry } if entry == name),
                "{name}: {problem:?}"
            );
        }
    }

    #[test]
    fn syntax_error_points_at_the_offending_character() {
        let text = "{\n  \"name\": \"PartnerApp\",\n  \"provider\" \"partner_app\"\n}\n";
        let mut files = sample_files();
        files[0].1 = text.as_bytes().to_vec();
        let problem = only_problem(load_folder(&files));
        let (file, source, line, column) = problem.source_text().unwrap();
        assert_eq!(file, "Files Sync/partner_app.connection.json");
        assert_eq!(source, text);
        // Line 3 is `  "provider" "partner_app"`; column 14 is the `"` where `:` belongs.
        assert_eq!((line, column), (3, 14));
        let line_text = source.lines().nth(line - 1).unwrap();
        assert_eq!(&line_text[column - 1..column], "\"");
        assert_eq!(
            problem.to_string(),
            "`Files Sync/partner_app.connection.json` line 3, column 14: expected `:`; \
             fix the file or export the package from Workato again"
        );
    }

    #[test]
    fn missing_fields_and_truncated_files_are_malformed() {
        let mut files = sample_files();
        files[0].1 = b"{\"name\": \"PartnerApp\"}".to_vec();
        files[2].1 = b"{\n  \"name\": \"List files\",\n".to_vec();
        let problems = load_folder(&files).unwrap_err();
        let mut found: Vec<(String, usize, usize, String)> = problems
            .iter()
            .map(|problem| match problem {
                PackageProblem::Malformed {
                    file,
                    line,
                    column,
                    message,
                    ..
                } => (file.clone(), *line, *column, message.clone()),
                other => panic!("unexpected problem {other:?}"),
            })
            .collect();
        found.sort();
        assert_eq!(
            found,
            vec![
                (
                    "Files Sync/list_files.recipe.json".to_owned(),
                    // serde_json says line 3 column 0; the caret goes past the end of line 2.
                    2,
                    24,
                    "EOF while parsing a value".to_owned()
                ),
                (
                    "Files Sync/partner_app.connection.json".to_owned(),
                    1,
                    22,
                    "missing field `provider`".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn config_entry_without_provider_is_malformed() {
        let mut files = sample_files();
        let text = GET_FILE.replace("\"provider\": \"dropbox\",", "");
        files[3].1 = text.into_bytes();
        let problem = only_problem(load_folder(&files));
        assert!(
            matches!(&problem, PackageProblem::Malformed { message, .. } if message == "missing field `provider`"),
            "{problem:?}"
        );
    }

    #[test]
    fn recipe_functions_are_detected_by_their_trigger() {
        let package = load_folder(&sample_files()).unwrap();
        let names: Vec<&str> = package.recipes.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["Get file", "List files"]);
        assert!(package.recipe("Get file").unwrap().is_recipe_function);
        assert!(!package.recipe("List files").unwrap().is_recipe_function);
        assert!(package.recipe("Nope").is_none());
    }

    #[test]
    fn root_folder_assets_are_the_files_that_say_root_folder_true() {
        let package = load_folder(&sample_files()).unwrap();
        assert!(!package.has_root_folder_assets());

        let mut files = sample_files();
        files[1].1 = DROPBOX
            .replace(r#""root_folder": false"#, r#""root_folder": true"#)
            .into_bytes();
        files.push((
            "home.lookup_table.json".to_owned(),
            br#"{"name": "Home table", "root_folder": true}"#.to_vec(),
        ));
        files.push((
            "notes.json".to_owned(),
            b"not JSON, and not counted".to_vec(),
        ));
        let package = load_folder(&files).unwrap();
        assert!(package.has_root_folder_assets());
        assert_eq!(
            package.root_folder_assets,
            [
                "Files Sync/dropbox.connection.json",
                "home.lookup_table.json"
            ]
        );
        assert!(package.connection("Dropbox").unwrap().root_folder);
        assert!(!package.connection("PartnerApp").unwrap().root_folder);
    }

    #[test]
    fn connections_required_by_leaves_out_skip_validation() {
        let package = load_folder(&sample_files()).unwrap();
        let names = |recipe: &str| -> Vec<&str> {
            package
                .connections_required_by(package.recipe(recipe).unwrap())
                .iter()
                .map(|connection| connection.name.as_str())
                .collect()
        };
        // Dropbox is `skip_validation: true` (runtime-user connection) in both recipes.
        assert_eq!(names("List files"), ["PartnerApp"]);
        assert!(names("Get file").is_empty());
        assert_eq!(
            package.connection("Dropbox").unwrap().path,
            "Files Sync/dropbox.connection.json"
        );
    }

    #[test]
    fn references_resolve_by_zip_name_before_name() {
        let package = load_folder(&sample_files()).unwrap();
        let by_path = ConnectionReference {
            name: "Renamed in the recipe".to_owned(),
            zip_name: Some("Files Sync/dropbox.connection.json".to_owned()),
        };
        assert_eq!(
            package.resolve_connection(&by_path).unwrap().name,
            "Dropbox"
        );
        let by_name = ConnectionReference {
            name: "PartnerApp".to_owned(),
            zip_name: Some("Elsewhere/partner_app.connection.json".to_owned()),
        };
        assert_eq!(
            package.resolve_connection(&by_name).unwrap().connector,
            Connector::Standard("partner_app".to_owned())
        );
    }

    /// The files of a custom connector as Workato exports them: definition, code and a binary logo.
    fn custom_connector_files() -> Vec<PackageFile> {
        let logo: Vec<u8> = vec![
            0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0xfe,
        ];
        vec![
            (
                "partner_app.custom_adapter.json".to_owned(),
                br#"{"title": "Partner App", "description": null, "logo_file_name": "partner.png", "logo_content_type": "image/png", "version_no": 1, "note": null}"#.to_vec(),
            ),
            (
                "partner_app.custom_adapter.rb".to_owned(),
                b"{ title: 'Partner App' }\n".to_vec(),
            ),
            ("partner_app.custom_adapter.png".to_owned(), logo),
            (
                "Partner/Connections/partner_app.connection.json".to_owned(),
                br#"{"name": "PartnerApp", "provider": {"folder": "", "name": "Partner App", "zip_name": "partner_app.custom_adapter.json"}, "root_folder": false}"#.to_vec(),
            ),
            (
                "Partner/Recipes/sync.recipe.json".to_owned(),
                br#"{"name": "Sync", "code": {"provider": "partner_app__connector_2100000017_1768000000", "block": []},
                    "config": [{"keyword": "application", "provider": "partner_app__connector_2100000017_1768000000", "skip_validation": false,
                                "account_id": {"zip_name": "Partner/Connections/partner_app.connection.json", "name": "PartnerApp", "folder": "Partner/Connections", "custom": true}}]}"#.to_vec(),
            ),
        ]
    }

    #[test]
    fn custom_connectors_load_by_their_slug() {
        let files = custom_connector_files();
        let package = load_folder(&files).unwrap();
        let connection = package.connection("PartnerApp").unwrap();
        assert_eq!(
            connection.connector,
            Connector::Custom("partner_app".to_owned())
        );
        let recipe = package.recipe("Sync").unwrap();
        assert_eq!(recipe.config[0].connector, connection.connector);
        assert_eq!(
            recipe.config[0].provider,
            "partner_app__connector_2100000017_1768000000"
        );
        let required: Vec<&str> = package
            .connections_required_by(recipe)
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(required, ["PartnerApp"]);
        // The binary logo and the code are digested and zipped byte for byte.
        assert_eq!(package.digest, digest_of_files(&files));
        let mut archive = ZipArchive::new(Cursor::new(package.zip_bytes.as_slice())).unwrap();
        for (path, content) in &files {
            let mut inflated = Vec::new();
            archive
                .by_name(path)
                .unwrap()
                .read_to_end(&mut inflated)
                .unwrap();
            assert_eq!(&inflated, content, "{path}");
        }
    }

    #[test]
    fn a_custom_connector_must_come_with_the_package() {
        let files: Vec<PackageFile> = custom_connector_files()
            .into_iter()
            .filter(|(path, _)| path != "partner_app.custom_adapter.json")
            .collect();
        let messages: Vec<String> = load_folder(&files)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            messages,
            [
                "`Partner/Connections/partner_app.connection.json` uses the custom connector \
                 `partner_app`, but the package has no `partner_app.custom_adapter.json`; add the \
                 connector to the manifest in Workato and export the package again",
                "`Partner/Recipes/sync.recipe.json` uses the custom connector `partner_app`, but \
                 the package has no `partner_app.custom_adapter.json`; add the connector to the \
                 manifest in Workato and export the package again",
            ]
        );
    }

    #[test]
    fn a_provider_object_must_name_a_custom_adapter() {
        let mut files = custom_connector_files();
        files[3].1 = br#"{"name": "PartnerApp", "provider": {"name": "Partner App", "zip_name": "partner_app.json"}}"#.to_vec();
        let problem = only_problem(load_folder(&files));
        assert!(
            matches!(&problem, PackageProblem::Malformed { message, .. }
                if message.contains("not a `*.custom_adapter.json` file")),
            "{problem:?}"
        );
        files[3].1 = br#"{"name": "PartnerApp", "provider": 7}"#.to_vec();
        let problem = only_problem(load_folder(&files));
        assert!(
            matches!(&problem, PackageProblem::Malformed { message, .. }
                if message.contains("connector name or a custom connector object")),
            "{problem:?}"
        );
    }

    #[test]
    fn inflating_past_the_declared_size_is_refused() {
        let big = vec![0u8; 10_000];
        let mut bytes = zip_of(&[("Files Sync/big.bin", big.as_slice())]);
        // Rewrite the declared uncompressed size (local header and central directory) to 10.
        let local = bytes.windows(4).position(|w| w == b"PK\x03\x04").unwrap();
        bytes[local + 22..local + 26].copy_from_slice(&10u32.to_le_bytes());
        let central = bytes.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
        bytes[central + 24..central + 28].copy_from_slice(&10u32.to_le_bytes());
        {
            let archive = ZipArchive::new(Cursor::new(bytes.as_slice())).unwrap();
            assert_eq!(archive.by_index_data(0).unwrap().size(), 10);
        }
        // The zip crate stops inflating one byte past the declared size, long before the limit.
        let problem = only_problem(load_zip_bytes(&bytes, MAX_PACKAGE_BYTES));
        assert!(
            matches!(&problem, PackageProblem::NotZip { message, .. }
                if message.contains("Files Sync/big.bin") && message.contains("declared")),
            "{problem:?}"
        );
    }

    #[test]
    fn declared_sizes_past_the_limit_are_too_large_before_inflating() {
        let bytes = zip_of(&[
            ("a.recipe.json", &[b' '; 600][..]),
            ("b.recipe.json", &[b' '; 600][..]),
        ]);
        let problem = only_problem(load_zip_bytes(&bytes, 1_000));
        assert!(
            matches!(problem, PackageProblem::TooLarge { .. }),
            "{problem:?}"
        );
        assert_eq!(
            problem.to_string().split(';').next().unwrap(),
            format!(
                "package `{}` is larger than 1000 bytes uncompressed",
                match &problem {
                    PackageProblem::TooLarge { path, .. } => path.display().to_string(),
                    _ => unreachable!(),
                }
            )
        );
    }

    #[test]
    fn folders_past_the_limit_are_too_large() {
        let dir = tempfile::tempdir().unwrap();
        write_folder(dir.path(), &sample_files());
        let problem = only_problem(load_with_limit(dir.path(), 100));
        assert!(matches!(
            problem,
            PackageProblem::TooLarge { limit: 100, .. }
        ));
    }

    #[test]
    fn a_file_that_is_not_a_zip_is_refused() {
        let problem = only_problem(load_zip_bytes(b"name: not a zip\n", MAX_PACKAGE_BYTES));
        assert!(
            matches!(problem, PackageProblem::NotZip { .. }),
            "{problem:?}"
        );
    }

    #[test]
    fn a_missing_path_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let problem = only_problem(Package::load(&dir.path().join("nope")));
        assert!(matches!(problem, PackageProblem::NotFound { .. }));
    }

    #[test]
    fn a_package_without_assets_is_empty() {
        let files = vec![("notes/readme.txt".to_owned(), b"hello".to_vec())];
        let problem = only_problem(load_folder(&files));
        assert!(matches!(problem, PackageProblem::Empty { .. }));
    }

    #[test]
    fn dotfiles_are_skipped_in_folders() {
        let files = sample_files();
        let dir = tempfile::tempdir().unwrap();
        write_folder(dir.path(), &files);
        fs::write(dir.path().join(".DS_Store"), b"junk").unwrap();
        fs::create_dir_all(dir.path().join(".git/objects")).unwrap();
        fs::write(dir.path().join(".git/objects/x.recipe.json"), b"not json").unwrap();
        let package = Package::load(dir.path()).unwrap();
        assert_eq!(package.digest, digest_of_files(&files));
    }

    #[test]
    fn hidden_zip_entries_are_digested_but_not_parsed() {
        let mut files = sample_files();
        files.push((
            "__MACOSX/Files Sync/._list_files.recipe.json".to_owned(),
            vec![0, 5, 22, 7],
        ));
        let bytes = foreign_zip(&files);
        let package = load_zip_bytes(&bytes, MAX_PACKAGE_BYTES).unwrap();
        assert_eq!(package.digest, digest_of_files(&files));
        assert_eq!(package.recipes.len(), 2);
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_inside_a_folder_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        write_folder(dir.path(), &sample_files());
        std::os::unix::fs::symlink("/etc/hostname", dir.path().join("Files Sync/x.json")).unwrap();
        let problem = only_problem(Package::load(dir.path()));
        assert!(
            matches!(&problem, PackageProblem::Io { message, .. } if message.contains("symbolic link")),
            "{problem:?}"
        );
    }

    #[test]
    fn non_utf8_assets_are_reported() {
        let mut files = sample_files();
        files[1].1 = vec![b'{', 0xff, b'}'];
        let problem = only_problem(load_folder(&files));
        assert!(
            matches!(&problem, PackageProblem::NotUtf8 { file } if file == "Files Sync/dropbox.connection.json")
        );
    }

    #[test]
    fn duplicate_names_and_unknown_connections_are_all_reported() {
        let mut files = sample_files();
        files.push((
            "Other/list_files.recipe.json".to_owned(),
            LIST_FILES.as_bytes().to_vec(),
        ));
        files.push((
            "Other/dropbox.connection.json".to_owned(),
            DROPBOX.as_bytes().to_vec(),
        ));
        // The recipe names a connection by a path and a name that are both absent.
        files[3].1 = GET_FILE
            .replace(
                "Files Sync/dropbox.connection.json",
                "Gone/box.connection.json",
            )
            .replace("\"name\": \"Dropbox\"", "\"name\": \"Box\"")
            .into_bytes();
        let messages: Vec<String> = load_folder(&files)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            messages,
            [
                "two recipes are named `List files` (`Files Sync/list_files.recipe.json` and \
                 `Other/list_files.recipe.json`); rename one in Workato and export the package again",
                "two connections are named `Dropbox` (`Files Sync/dropbox.connection.json` and \
                 `Other/dropbox.connection.json`); rename one in Workato and export the package again",
                "recipe `Get file` uses connection `Box`, which is not in the package; add the \
                 connection to the manifest in Workato and export the package again",
            ]
        );
    }

    #[test]
    fn example_packages_load() {
        let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        for (folder, recipes, functions) in [
            ("quickstart/packages/files-sync", 2, ["Get file"]),
            ("multi-manifest/packages/files-sync", 2, ["Get file"]),
            ("multi-manifest/packages/crm-sync", 2, ["Lookup contact"]),
        ] {
            let package = Package::load(&examples.join(folder))
                .unwrap_or_else(|problems| panic!("{folder}: {problems:#?}"));
            assert_eq!(package.recipes.len(), recipes, "{folder}");
            let found: Vec<&str> = package
                .recipes
                .iter()
                .filter(|recipe| recipe.is_recipe_function)
                .map(|recipe| recipe.name.as_str())
                .collect();
            assert_eq!(found, functions, "{folder}");
        }
        let quickstart = Package::load(&examples.join("quickstart/packages/files-sync")).unwrap();
        let copy = Package::load(&examples.join("multi-manifest/packages/files-sync")).unwrap();
        assert_eq!(quickstart.digest, copy.digest);
        let crm = Package::load(&examples.join("multi-manifest/packages/crm-sync")).unwrap();
        let required: Vec<&str> = crm
            .connections_required_by(crm.recipe("Sync contacts").unwrap())
            .iter()
            .map(|connection| connection.name.as_str())
            .collect();
        assert_eq!(required, ["CRM", "PartnerApp"]);
        assert!(
            crm.connections_required_by(crm.recipe("Lookup contact").unwrap())
                .is_empty()
        );
    }

    #[test]
    fn the_custom_connector_example_loads() {
        let folder = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/custom-connector/packages/ledger-sync");
        let package = Package::load(&folder).unwrap_or_else(|problems| panic!("{problems:#?}"));
        let functions: Vec<&str> = package
            .recipes
            .iter()
            .filter(|recipe| recipe.is_recipe_function)
            .map(|recipe| recipe.name.as_str())
            .collect();
        assert_eq!(functions, ["Fetch ledger entry", "Upload document"]);
        let custom = Connector::Custom("northwind_ledger".to_owned());
        for name in ["Northwind Ledger", "Northwind Ledger user"] {
            assert_eq!(
                package.connection(name).unwrap().connector,
                custom,
                "{name}"
            );
        }
        let archive = package.recipe("Archive new ledger documents").unwrap();
        let required: Vec<&str> = package
            .connections_required_by(archive)
            .iter()
            .map(|connection| connection.name.as_str())
            .collect();
        assert_eq!(required, ["Northwind Ledger"]);
        assert_eq!(archive.config[0].connector, custom);
        // The logo is in the package, byte for byte: the zip holds what the folder holds.
        let logo = fs::read(folder.join("northwind_ledger.custom_adapter.png")).unwrap();
        assert!(logo.starts_with(b"\x89PNG\r\n\x1a\n"));
        let mut archive = ZipArchive::new(Cursor::new(package.zip_bytes.as_slice())).unwrap();
        let mut zipped = Vec::new();
        archive
            .by_name("northwind_ledger.custom_adapter.png")
            .unwrap()
            .read_to_end(&mut zipped)
            .unwrap();
        assert_eq!(zipped, logo);
    }
}
