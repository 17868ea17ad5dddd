//! The semantic checks of the desired-state file (docs/file-format.md).
//!
//! Each check appends to the `Diagnostics` list and goes on, so one run reports every problem.
//! Nothing here reads the network; it reads only the packages the file names. Lengths are the
//! shape pass's (`limits`); the checks here may see a value that is too long, so every value a
//! message repeats goes through `quote`, which cuts it short.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use super::diagnostic::{Diagnostic, Diagnostics, SourceFile, quote, quote_with, short};
use super::model::{Connection, Customer, DesiredFile, Manifest, Parent};
use super::{KeyedMap, SecretSource, Spanned, limits};
use crate::package::{Connector, Package, PackageProblem};

/// The byte ranges of literal secrets in the file, to be masked in every diagnostic snippet.
pub(super) fn literal_secret_ranges(
    file: &DesiredFile,
    source: &SourceFile,
) -> Vec<(usize, usize)> {
    fn collect(
        map: &KeyedMap<Spanned<SecretSource>>,
        source: &SourceFile,
        out: &mut Vec<(usize, usize)>,
    ) {
        for (_, value) in map.iter() {
            match &value.value {
                SecretSource::Literal => {
                    let span = source.span_of(value);
                    out.push((span.offset(), span.len().max(1)));
                }
                SecretSource::Nested(nested) => collect(nested, source, out),
                _ => {}
            }
        }
    }
    let mut ranges = Vec::new();
    for (_, manifest) in file.manifests.iter() {
        for (_, connection) in manifest.connections.iter() {
            collect(&connection.credentials, source, &mut ranges);
        }
    }
    for customer in &file.customers {
        for (_, credentials) in customer.value.credentials.iter() {
            collect(credentials, source, &mut ranges);
        }
    }
    ranges
}

/// Loads the package of every manifest; a missing or malformed package is an error located at
/// the manifest's `package:` (or inside the package file that is malformed).
pub(super) fn load_packages(
    file: &DesiredFile,
    base_dir: &Path,
    source: &SourceFile,
    diagnostics: &mut Diagnostics,
) -> BTreeMap<String, Package> {
    let mut packages = BTreeMap::new();
    for (key, manifest) in file.manifests.iter() {
        let written = &manifest.package.value;
        if written.trim().is_empty() {
            diagnostics.push(
                Diagnostic::error(
                    source,
                    source.span_of(&manifest.package),
                    "`package` is empty",
                    "empty",
                )
                .with_help("give the package folder or .zip, relative to the desired-state file"),
            );
            continue;
        }
        // The shape pass reported a path this long; it names no file worth looking for.
        if written.chars().count() > limits::PATH {
            continue;
        }
        let path = base_dir.join(written);
        match Package::load(&path) {
            Ok(package) => {
                packages.insert(key.value.clone(), package);
            }
            Err(problems) => {
                for problem in problems {
                    diagnostics.push(package_diagnostic(&problem, manifest, &path, source));
                }
            }
        }
    }
    packages
}

fn package_diagnostic(
    problem: &PackageProblem,
    manifest: &Manifest,
    path: &Path,
    source: &SourceFile,
) -> Diagnostic {
    if let PackageProblem::Malformed {
        file: inner,
        text,
        line,
        column,
        message,
    } = problem
    {
        let package_file = SourceFile::new(path.join(inner).display().to_string(), text.clone());
        // serde_json counts columns in bytes.
        let line_start = package_file.offset_of(*line, 1);
        let offset = (line_start + column.saturating_sub(1)).min(text.len());
        return Diagnostic::error(
            &package_file,
            (offset, 0).into(),
            format!("malformed package file {}", quote(inner)),
            message.clone(),
        )
        .with_help(
            "fix or re-export the package; embedctl reads *.recipe.json and *.connection.json",
        );
    }
    let help = match problem {
        PackageProblem::NotFound { .. } => {
            "the path is relative to the desired-state file; point it at a package folder or a .zip"
        }
        _ => "re-export the package from Workato (RLCM) or fix the folder",
    };
    Diagnostic::error(
        source,
        source.span_of(&manifest.package),
        problem.to_string(),
        "this package",
    )
    .with_help(help)
}

/// Runs every semantic check.
pub(super) fn check(
    file: &DesiredFile,
    packages: &BTreeMap<String, Package>,
    source: &SourceFile,
    diagnostics: &mut Diagnostics,
) {
    let checker = Checker {
        file,
        packages,
        source,
    };
    checker.version(diagnostics);
    checker.workato(diagnostics);
    for (key, manifest) in file.manifests.iter() {
        checker.manifest(key, manifest, diagnostics);
    }
    checker.customers(diagnostics);
    checker.unstartable_recipes(diagnostics);
}

struct Checker<'a> {
    file: &'a DesiredFile,
    packages: &'a BTreeMap<String, Package>,
    source: &'a SourceFile,
}

impl Checker<'_> {
    fn error<T>(&self, at: &Spanned<T>, message: impl Into<String>, label: &str) -> Diagnostic {
        Diagnostic::error(self.source, self.source.span_of(at), message, label)
    }

    /// The 1-based line of a located value, straight from the YAML reader (no scan of the text,
    /// which would make checks over 100,000 end users quadratic).
    fn line_of<T>(&self, at: &Spanned<T>) -> usize {
        at.referenced.line() as usize
    }

    fn version(&self, diagnostics: &mut Diagnostics) {
        let version = &self.file.version;
        if version.value != 1 {
            diagnostics.push(
                self.error(
                    version,
                    format!("unsupported `version: {}`", version.value),
                    "only version 1 exists",
                )
                .with_help("write `version: 1`"),
            );
        }
    }

    fn workato(&self, diagnostics: &mut Diagnostics) {
        let Some(workato) = &self.file.workato else {
            return;
        };
        if let (Some(_), Some(base_url)) = (&workato.value.region, &workato.value.base_url) {
            diagnostics.push(
                self.error(
                    base_url,
                    "both `region` and `base_url` are set",
                    "second way to say where",
                )
                .with_help(
                    "keep one: `region` for Workato's data centers, `base_url` for anything else",
                ),
            );
        }
        if let Some(base_url) = &workato.value.base_url
            && let Err(reason) = check_base_url(&base_url.value)
        {
            diagnostics.push(
                self.error(
                    base_url,
                    format!("invalid `base_url`: {reason}"),
                    "this URL",
                )
                .with_help("use `https://…/api`, e.g. `https://www.workato.com/api`"),
            );
        }
        if let Some(vendor_id) = &workato.value.vendor_id
            && vendor_id.value.trim().is_empty()
        {
            diagnostics.push(
                self.error(vendor_id, "`vendor_id` is empty", "empty")
                    .with_help("remove it, or give the Embedded vendor id from Workato"),
            );
        } else if let Some(vendor_id) = &workato.value.vendor_id
            && vendor_id
                .value
                .chars()
                .any(|c| c == ':' || c.is_whitespace() || c.is_control())
        {
            // It is the first part of the links' `sub` claim, `<vendor id>:<customer id>`.
            diagnostics.push(
                self.error(
                    vendor_id,
                    "`vendor_id` holds `:`, a space or a control character",
                    "not a vendor id",
                )
                .with_help(
                    "give the Embedded vendor id exactly as Workato shows it; it becomes the part \
                     before `:` in the links' token subject",
                ),
            );
        }
    }

    fn manifest(&self, key: &Spanned<String>, manifest: &Manifest, diagnostics: &mut Diagnostics) {
        if !is_key(&key.value) {
            diagnostics.push(
                self.error(key, format!("invalid manifest key {}", quote(&key.value)), "not [a-z0-9_-]+")
                    .with_help("manifest keys use lowercase letters, digits, `_` and `-` (customers refer to `<manifest>.<connection>`)"),
            );
        }
        if manifest.folder.value.trim().is_empty() {
            diagnostics.push(
                self.error(&manifest.folder, "`folder` is empty", "empty")
                    .with_help(
                        "name the project in the customer workspace that receives the package",
                    ),
            );
        }
        let package = self.packages.get(&key.value);
        self.home_assets_folder(manifest, package, diagnostics);
        if let (Some(package), Some(recipes)) = (package, &manifest.recipes) {
            let mut seen = HashMap::new();
            for recipe in &recipes.value {
                if package.recipe(&recipe.value).is_none() {
                    diagnostics.push(
                        self.error(
                            recipe,
                            format!("recipe {} is not in the package", quote(&recipe.value)),
                            "unknown recipe",
                        )
                        .with_help(format!(
                            "the package has: {}",
                            list(package.recipes.iter().map(|r| r.name.as_str()))
                        )),
                    );
                }
                if let Some(first) = seen.insert(recipe.value.as_str(), self.line_of(recipe)) {
                    diagnostics.push(
                        self.error(
                            recipe,
                            format!("recipe {} is listed twice", quote(&recipe.value)),
                            &format!("also on line {first}"),
                        )
                        .with_help("list each required recipe once"),
                    );
                }
            }
        }
        let mut names: HashMap<&str, &Spanned<String>> = HashMap::new();
        for (connection_key, connection) in manifest.connections.iter() {
            if !is_key(&connection_key.value) {
                diagnostics.push(
                    self.error(connection_key, format!("invalid connection key {}", quote(&connection_key.value)), "not [a-z0-9_-]+")
                        .with_help("connection keys use lowercase letters, digits, `_` and `-` (customers refer to `<manifest>.<connection>`)"),
                );
            }
            if let Some(first) = names.insert(connection.name.value.as_str(), &connection.name) {
                diagnostics.push(
                    self.error(
                        &connection.name,
                        format!(
                            "two connections of manifest {} are named {}",
                            quote(&key.value),
                            quote(&connection.name.value)
                        ),
                        &format!("also on line {}", self.line_of(first)),
                    )
                    .with_help("each connection key manages a different connection of the package"),
                );
            }
            self.connection(manifest, package, connection, diagnostics);
        }
    }

    /// A package with root-folder assets needs `home_assets_folder:`: Workato's import takes a
    /// folder for them (`folder_id_for_home_assets`) and refuses the root (Home) folder. The same
    /// folder as `folder:` is allowed, as Workato allows it.
    fn home_assets_folder(
        &self,
        manifest: &Manifest,
        package: Option<&Package>,
        diagnostics: &mut Diagnostics,
    ) {
        if let Some(folder) = &manifest.home_assets_folder
            && folder.value.trim().is_empty()
        {
            diagnostics.push(
                self.error(folder, "`home_assets_folder` is empty", "empty")
                    .with_help(
                        "name the project that receives the package's root-folder (Home) assets",
                    ),
            );
        }
        let Some(package) = package else {
            return;
        };
        if manifest.home_assets_folder.is_none() && package.has_root_folder_assets() {
            let shown: Vec<&str> = package
                .root_folder_assets
                .iter()
                .take(2)
                .map(String::as_str)
                .collect();
            let more = package.root_folder_assets.len() - shown.len();
            let assets = if more == 0 {
                list(shown.into_iter())
            } else {
                format!("{} and {more} more", list(shown.into_iter()))
            };
            diagnostics.push(
                self.error(
                    &manifest.package,
                    format!(
                        "the package has root-folder assets ({assets}) and the manifest has no `home_assets_folder`"
                    ),
                    "has Home assets",
                )
                .with_help(
                    "Workato imports assets exported from the Home folder (`\"root_folder\": true`) only into a folder given as `folder_id_for_home_assets`, and the root folder cannot be used; add `home_assets_folder: <project name>` (it may be the same as `folder:`)",
                ),
            );
        }
    }

    fn connection(
        &self,
        manifest: &Manifest,
        package: Option<&Package>,
        connection: &Connection,
        diagnostics: &mut Diagnostics,
    ) {
        if let Some(package) = package {
            match package.connection(&connection.name.value) {
                None => diagnostics.push(
                    self.error(
                        &connection.name,
                        format!(
                            "connection {} is not in the package {}",
                            quote(&connection.name.value),
                            quote(&manifest.package.value)
                        ),
                        "unknown connection",
                    )
                    .with_help(format!(
                        "the package has: {}",
                        list(package.connections.iter().map(|c| c.name.as_str()))
                    )),
                ),
                Some(found) if found.connector.file_provider() != connection.provider.value => {
                    let message = match &found.connector {
                        Connector::Custom(slug) => format!(
                            "the package's connection {} uses the custom connector {}, not {}",
                            quote_with(&connection.name.value, '"'),
                            quote(slug),
                            quote(&connection.provider.value)
                        ),
                        Connector::Standard(provider) => format!(
                            "connection {} has provider {} in the package, not {}",
                            quote(&connection.name.value),
                            quote(provider),
                            quote(&connection.provider.value)
                        ),
                    };
                    let help = match &found.connector {
                        Connector::Custom(slug) => format!(
                            "a custom connector is named by its slug: write `provider: {}`",
                            short(slug)
                        ),
                        Connector::Standard(provider) => {
                            format!("write `provider: {}`", short(provider))
                        }
                    };
                    diagnostics.push(
                        self.error(
                            &connection.provider,
                            message,
                            "provider differs from the package",
                        )
                        .with_help(help),
                    );
                }
                Some(_) => {}
            }
            let mut seen: HashMap<&str, usize> = HashMap::new();
            for function in &connection.recipe_functions {
                if let Some(first) = seen.insert(function.value.as_str(), self.line_of(function)) {
                    diagnostics.push(
                        self.error(
                            function,
                            format!("recipe function {} is listed twice", quote(&function.value)),
                            &format!("also on line {first}"),
                        )
                        .with_help("list each recipe function once"),
                    );
                }
                match package.recipe(&function.value) {
                    None => diagnostics.push(
                        self.error(function, format!("recipe function {} is not in the package", quote(&function.value)), "unknown recipe")
                            .with_help(format!(
                                "the package's recipe functions are: {}",
                                list(package.recipes.iter().filter(|r| r.is_recipe_function).map(|r| r.name.as_str()))
                            )),
                    ),
                    Some(recipe) if !recipe.is_recipe_function => diagnostics.push(
                        self.error(function, format!("recipe {} is not a recipe function", quote(&function.value)), "not a recipe function")
                            .with_help("`recipe_functions` lists recipes whose trigger is `workato_recipe_function` (callable recipes)"),
                    ),
                    Some(_) => {}
                }
            }
        }
        if !connection.runtime_users {
            if let Some(function) = connection.recipe_functions.first() {
                diagnostics.push(
                    self.error(function, "`recipe_functions` without `runtime_users: true`", "needs runtime_users")
                        .with_help("dedicated per-user connections exist only for runtime user connections; add `runtime_users: true` or remove `recipe_functions`"),
                );
            }
            if let Some(parent) = &connection.parent {
                diagnostics.push(
                    self.error(parent, "`parent` without `runtime_users: true`", "needs runtime_users")
                        .with_help("`parent` says where end users' connections hang from; remove it from a default connection"),
                );
            }
        } else {
            if let (Some(parent), false) =
                (&connection.parent, connection.recipe_functions.is_empty())
                && parent.value == Parent::Default
            {
                diagnostics.push(
                        self.error(parent, "`parent: default` cannot be used with `recipe_functions`", "parent connection trap")
                            .with_help("Workato does not support parent connections for recipe functions with runtime user connections on; use `parent: none` so each user gets a dedicated connection per function"),
                    );
            }
            if let Some((field, _)) = connection.credentials.iter().next() {
                diagnostics.push(
                    self.error(field, "credentials on a `runtime_users` connection", "end users authorize these")
                        .with_help("end users connect their own accounts through the connection widget; remove `credentials:` here"),
                );
            }
            if let Some((field, _)) = connection.settings.iter().next() {
                diagnostics.push(
                    self.error(field, "settings on a `runtime_users` connection", "end users authorize these")
                        .with_help("end users fill in their own connection through the connection widget; remove `settings:` here"),
                );
            }
        }
        self.credentials(&connection.credentials, diagnostics);
    }

    /// Checks one `credentials:` mapping: every value `{ env }` / `{ file }`, and `oauth_token_pair`
    /// the only nested one.
    fn credentials(
        &self,
        credentials: &KeyedMap<Spanned<SecretSource>>,
        diagnostics: &mut Diagnostics,
    ) {
        for (field, value) in credentials.iter() {
            if field.value == "oauth_token_pair" {
                match &value.value {
                    SecretSource::Nested(tokens) => {
                        for (token, token_value) in tokens.iter() {
                            if token.value != "access_token" && token.value != "refresh_token" {
                                diagnostics.push(
                                    self.error(token, format!("unknown key {} in `oauth_token_pair`", quote(&token.value)), "unknown key")
                                        .with_help("`oauth_token_pair` holds `access_token` and `refresh_token`"),
                                );
                            }
                            self.secret_leaf(token, token_value, diagnostics);
                        }
                        if tokens.get("access_token").is_none() {
                            diagnostics.push(
                                self.error(field, "`oauth_token_pair` has no `access_token`", "missing access_token")
                                    .with_help("add `access_token: { env: NAME }`"),
                            );
                        }
                    }
                    _ => diagnostics.push(
                        self.error(value, "`oauth_token_pair` must hold `access_token` and `refresh_token`", "not a token pair")
                            .with_help("write `oauth_token_pair: { access_token: { env: A }, refresh_token: { env: B } }`"),
                    ),
                }
            } else {
                self.secret_leaf(field, value, diagnostics);
            }
        }
    }

    fn secret_leaf(
        &self,
        field: &Spanned<String>,
        value: &Spanned<SecretSource>,
        diagnostics: &mut Diagnostics,
    ) {
        match &value.value {
            SecretSource::Env(name) => {
                if !is_env_name(&name.value) {
                    diagnostics.push(
                        // The value is not repeated: a secret pasted here by mistake must not be.
                        self.error(name, format!("`env:` of {} is not an environment variable name", quote(&field.value)), "invalid name")
                            .with_help("use letters, digits and `_`, not starting with a digit"),
                    );
                }
            }
            SecretSource::File(path) => {
                if path.value.trim().is_empty() {
                    diagnostics.push(
                        self.error(path, "`file:` is empty", "empty path")
                            .with_help("give a path relative to the desired-state file"),
                    );
                }
            }
            SecretSource::Literal => diagnostics.push(
                self.error(value, format!("literal secret in {}", quote(&field.value)), "secrets are never literal")
                    .with_help(format!(
                        "write `{}: {{ env: NAME }}` or `{{ file: PATH }}`; non-secret fields go under `settings:`",
                        short(&field.value)
                    )),
            ),
            SecretSource::Empty => diagnostics.push(
                self.error(value, format!("{} has no value", quote(&field.value)), "empty")
                    .with_help("write `{ env: NAME }` or `{ file: PATH }`"),
            ),
            SecretSource::Nested(_) => diagnostics.push(
                self.error(value, format!("{} is a nested mapping", quote(&field.value)), "not a credential")
                    .with_help("only `oauth_token_pair` nests; other fields are `{ env: NAME }` or `{ file: PATH }`"),
            ),
        }
    }

    fn customers(&self, diagnostics: &mut Diagnostics) {
        let mut external_ids: HashMap<&str, usize> = HashMap::new();
        for customer in &self.file.customers {
            let customer = &customer.value;
            let external_id = &customer.external_id;
            if external_id.value.trim().is_empty() {
                diagnostics.push(
                    self.error(external_id, "`external_id` is empty", "empty")
                        .with_help("give the customer's id in your product; embedctl finds the customer in Workato by it"),
                );
            } else if let Some(first) =
                external_ids.insert(external_id.value.as_str(), self.line_of(external_id))
            {
                diagnostics.push(
                    self.error(
                        external_id,
                        format!(
                            "duplicate customer external_id {}",
                            quote(&external_id.value)
                        ),
                        &format!("already used on line {first}"),
                    )
                    .with_help("each customer needs its own `external_id`; merge the two entries"),
                );
            }
            if customer.name.value.trim().is_empty() {
                diagnostics.push(
                    self.error(&customer.name, "customer `name` is empty", "empty")
                        .with_help("give the name the customer workspace has in Workato"),
                );
            }
            if let Err(reason) = check_email(&customer.notification_email.value) {
                diagnostics.push(
                    self.error(
                        &customer.notification_email,
                        format!("invalid `notification_email`: {reason}"),
                        "not an email address",
                    )
                    .with_help("write one address like `it@acme.example`"),
                );
            }
            self.customer_manifests(customer, diagnostics);
            self.customer_credentials(customer, diagnostics);
            self.runtime_users(customer, diagnostics);
        }
    }

    fn customer_manifests(&self, customer: &Customer, diagnostics: &mut Diagnostics) {
        let mut folders: HashMap<&str, &Spanned<String>> = HashMap::new();
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for reference in &customer.manifests {
            if let Some(first) = seen.insert(reference.value.as_str(), self.line_of(reference)) {
                diagnostics.push(
                    self.error(
                        reference,
                        format!("manifest {} is listed twice", quote(&reference.value)),
                        &format!("also on line {first}"),
                    )
                    .with_help("list each manifest once per customer"),
                );
                continue;
            }
            match self.file.manifests.get(&reference.value) {
                None => diagnostics.push(
                    self.error(
                        reference,
                        format!("unknown manifest {}", quote(&reference.value)),
                        "not under `manifests:`",
                    )
                    .with_help(known(
                        "manifests",
                        self.file.manifests.keys().map(|k| k.value.as_str()),
                    )),
                ),
                Some(manifest) => {
                    if let Some(other) = folders.insert(manifest.folder.value.as_str(), reference) {
                        diagnostics.push(
                            self.error(
                                reference,
                                format!(
                                    "manifests {} and {} both import into folder {}",
                                    quote(&other.value),
                                    quote(&reference.value),
                                    quote(&manifest.folder.value)
                                ),
                                "same folder",
                            )
                            .with_help("give each manifest its own `folder:`; two packages in one folder would overwrite each other"),
                        );
                    }
                }
            }
        }
    }

    fn customer_credentials(&self, customer: &Customer, diagnostics: &mut Diagnostics) {
        for (reference, credentials) in customer.credentials.iter() {
            // The values are checked whatever the key says: a literal secret must be reported even
            // under a misspelt reference.
            self.credentials(credentials, diagnostics);
            let Some((manifest_key, connection_key)) = reference.value.split_once('.') else {
                diagnostics.push(
                    self.error(reference, format!("{} does not name a connection", quote(&reference.value)), "expected `<manifest>.<connection>`")
                        .with_help("write the manifest key and the connection key joined by a dot, e.g. `files-sync.partner_app`"),
                );
                continue;
            };
            let Some(manifest) = self.file.manifests.get(manifest_key) else {
                diagnostics.push(
                    self.error(
                        reference,
                        format!(
                            "unknown manifest {} in {}",
                            quote(manifest_key),
                            quote(&reference.value)
                        ),
                        "unknown manifest",
                    )
                    .with_help(known(
                        "manifests",
                        self.file.manifests.keys().map(|k| k.value.as_str()),
                    )),
                );
                continue;
            };
            let Some(connection) = manifest.connections.get(connection_key) else {
                diagnostics.push(
                    self.error(
                        reference,
                        format!(
                            "manifest {} has no connection {}",
                            quote(manifest_key),
                            quote(connection_key)
                        ),
                        "unknown connection",
                    )
                    .with_help(known(
                        "connections",
                        manifest.connections.keys().map(|k| k.value.as_str()),
                    )),
                );
                continue;
            };
            if !customer.manifests.iter().any(|m| m.value == manifest_key) {
                diagnostics.push(
                    self.error(
                        reference,
                        format!(
                            "customer {} does not get manifest {}",
                            quote(&customer.external_id.value),
                            quote(manifest_key)
                        ),
                        "manifest not in this customer's `manifests`",
                    )
                    .with_help(format!(
                        "add {} to the customer's `manifests`, or remove these credentials",
                        quote(manifest_key)
                    )),
                );
            }
            if connection.runtime_users {
                diagnostics.push(
                    self.error(reference, format!("{} is a runtime user connection", quote(&reference.value)), "end users authorize these")
                        .with_help("end users connect their own accounts; credentials are only for default connections"),
                );
            }
        }
    }

    fn runtime_users(&self, customer: &Customer, diagnostics: &mut Diagnostics) {
        let mut ids: HashMap<&str, usize> = HashMap::new();
        for user in &customer.runtime_users {
            let id = &user.value.id;
            if id.value.trim().is_empty() {
                diagnostics.push(
                    self.error(id, "runtime user `id` is empty", "empty")
                        .with_help("give the end user's id in your product"),
                );
            } else if let Some(first) = ids.insert(id.value.as_str(), self.line_of(id)) {
                diagnostics.push(
                    self.error(
                        id,
                        format!(
                            "duplicate runtime user id {} in customer {}",
                            quote(&id.value),
                            quote(&customer.external_id.value)
                        ),
                        &format!("already used on line {first}"),
                    )
                    .with_help("list each end user once per customer"),
                );
            }
            if let Some(name) = &user.value.name
                && name.value.trim().is_empty()
            {
                diagnostics.push(
                    self.error(name, "runtime user `name` is empty", "empty")
                        .with_help("remove `name` to use the id, or give a display name"),
                );
            }
        }
        let has_runtime_connection = customer.manifests.iter().any(|reference| {
            self.file
                .manifests
                .get(&reference.value)
                .is_some_and(|manifest| manifest.connections.iter().any(|(_, c)| c.runtime_users))
        });
        if let (Some(first), false) = (customer.runtime_users.first(), has_runtime_connection) {
            diagnostics.push(
                Diagnostic::warning(
                    self.source,
                    self.source.span_of(&first.value.id),
                    format!("customer {} lists runtime users, but none of its manifests has a `runtime_users` connection", quote(&customer.external_id.value)),
                    "nothing will be created for these users",
                )
                .with_help("mark the connection end users bring themselves with `runtime_users: true`"),
            );
        }
    }

    /// Warns about required recipes that can never start: they need a connection that embedctl
    /// will never authorize (docs/file-format.md, `connection.no_credentials`).
    fn unstartable_recipes(&self, diagnostics: &mut Diagnostics) {
        for (key, manifest) in self.file.manifests.iter() {
            let Some(package) = self.packages.get(&key.value) else {
                continue;
            };
            let users: Vec<&Customer> = self
                .file
                .customers
                .iter()
                .map(|c| &c.value)
                .filter(|c| c.manifests.iter().any(|m| m.value == key.value))
                .collect();
            let required: Vec<&str> = match &manifest.recipes {
                Some(recipes) => recipes.value.iter().map(|r| r.value.as_str()).collect(),
                None => package.recipes.iter().map(|r| r.name.as_str()).collect(),
            };
            let mut warned = BTreeSet::new();
            for recipe_name in required {
                let Some(recipe) = package.recipe(recipe_name) else {
                    continue;
                };
                for needed in package.connections_required_by(recipe) {
                    if !warned.insert((recipe_name, needed.name.as_str())) {
                        continue;
                    }
                    let managed = manifest
                        .connections
                        .iter()
                        .find(|(_, c)| c.name.value == needed.name);
                    let (at, problem, help) = match managed {
                        None => (
                            key,
                            format!("connection {} is not under the manifest's `connections:`", quote_with(&needed.name, '"')),
                            "add it with `credentials:` (or `settings:`), or mark the recipe's config entry `skip_validation: true` in the package".to_string(),
                        ),
                        Some((connection_key, connection)) if connection.runtime_users => (
                            connection_key,
                            format!("connection {} is a runtime user connection and the recipe does not skip its validation", quote_with(&needed.name, '"')),
                            "set `skip_validation: true` on that config entry in the package, so the connection is supplied at run time".to_owned(),
                        ),
                        Some((connection_key, connection)) => {
                            if !connection.credentials.is_empty() || !connection.settings.is_empty() {
                                continue;
                            }
                            let reference = format!("{}.{}", key.value, connection_key.value);
                            let uncovered: Vec<&str> = users
                                .iter()
                                .filter(|c| c.credentials.get(&reference).is_none())
                                .map(|c| c.external_id.value.as_str())
                                .collect();
                            if uncovered.is_empty() && !users.is_empty() {
                                continue;
                            }
                            let whom = if users.is_empty() {
                                String::new()
                            } else {
                                format!(" for {}", list(uncovered.iter().copied()))
                            };
                            (
                                connection_key,
                                format!("connection {} has no credentials{whom}", quote_with(&needed.name, '"')),
                                format!("add `credentials:` to the connection (or per customer under {})", quote(&reference)),
                            )
                        }
                    };
                    diagnostics.push(
                        Diagnostic::warning(
                            self.source,
                            self.source.span_of(at),
                            format!(
                                "recipe {} of manifest {} can never start: {problem}",
                                quote_with(recipe_name, '"'),
                                quote(&key.value)
                            ),
                            "needed by a required recipe",
                        )
                        .with_help(help),
                    );
                }
            }
        }
    }
}

fn is_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

fn is_env_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A deliberately plain email check: one `@`, a non-empty local part, a dotted domain, no spaces.
/// Workato does the real validation; this catches typos before any call.
fn check_email(email: &str) -> Result<(), &'static str> {
    if email.chars().any(char::is_whitespace) {
        return Err("it contains whitespace");
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err("it has no `@`");
    };
    if local.is_empty() {
        return Err("nothing before the `@`");
    }
    if domain.contains('@') {
        return Err("it has more than one `@`");
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 || labels.iter().any(|label| label.is_empty()) {
        return Err("the domain after `@` is not a dotted name");
    }
    Ok(())
}

/// The base URL checked by the one rule the client applies (`normalize_base_url`), so that a
/// file that validates is never refused at run time; the reason, without the URL.
fn check_base_url(text: &str) -> Result<(), String> {
    use crate::workato::ConfigError;
    match crate::workato::normalize_base_url(text, "`workato.base_url`") {
        Ok(_) => Ok(()),
        Err(ConfigError::InvalidBaseUrl { reason, .. }) => Err(reason),
        Err(ConfigError::InsecureBaseUrl { .. }) => {
            Err("plain `http://` is allowed only for a loopback host".to_owned())
        }
        Err(other) => Err(other.to_string()),
    }
}

fn list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<String> = names.map(quote).collect();
    if names.is_empty() {
        "nothing".to_owned()
    } else {
        names.join(", ")
    }
}

fn known<'a>(what: &str, names: impl Iterator<Item = &'a str>) -> String {
    format!("known {what}: {}", list(names))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(check_email("it@acme.example").is_ok());
        assert!(check_email("it@acme").is_err());
        assert!(check_email("it acme@x.y").is_err());
        assert!(check_email("@x.y").is_err());
        assert!(check_email("a@b@c.d").is_err());
        assert!(check_email("a@b..c").is_err());
    }

    #[test]
    fn base_urls() {
        assert!(check_base_url("https://www.workato.com/api").is_ok());
        assert!(check_base_url("http://127.0.0.1:8080/api").is_ok());
        assert!(check_base_url("http://example.com/api").is_err());
        assert!(check_base_url("ftp://x").is_err());
        assert!(check_base_url("https://").is_err());
        assert!(check_base_url("http://[::1]@evil.example/api").is_err());
        assert!(check_base_url("https://x y/api").is_err());
        assert!(check_base_url("http://[::1]:9000/api").is_ok());
    }

    #[test]
    fn keys_and_env_names() {
        assert!(is_key("files-sync"));
        assert!(!is_key("Files"));
        assert!(!is_key("a.b"));
        assert!(is_env_name("PARTNER_API_KEY"));
        assert!(!is_env_name("1X"));
        assert!(!is_env_name("A-B"));
    }
}
