//! `export`: a desired-state file written from a live account, for adopting embedctl on an
//! account set up by hand or by an earlier tool.
//!
//! `read` reads the account; `infer` (pure) turns what it read into the file's model:
//!
//! - a manifest per distinct project (top-level folder) name, keyed by the manifest key an
//!   earlier apply recorded for that folder (`embedctl_folder.<key>`), else by the name made a
//!   key; its recipes and connections are those anywhere in the project's tree;
//! - a connection of the project with an end user (`external_id`) belongs to the project's
//!   connection of the same connector whose name, followed by ` - `, is its longest prefix, as
//!   `diff` owns them; that connection is then a runtime user connection, its recipe functions
//!   the recipe functions a name ends with (`<name> - <user> - <function>`), and every other
//!   connection a default connection with a credential placeholder (noted when no customer has
//!   it authorized: its end users may be the ones to connect it);
//! - the end users from those connections' names (`<name> - <user>`).
//!
//! `write` prints the file. Nothing read is a secret: Workato returns no credential.

pub mod read;
pub mod write;

use std::collections::{BTreeMap, BTreeSet};

use crate::live::{LiveConnection, LiveRecipe, OAUTH_ONLY_PROVIDERS, property};
use crate::package::custom_slug;

pub use read::{AccountCustomer, ReadError, read_account};

/// The provider of recipe functions' triggers, as a recipe's `config` names it.
const RECIPE_FUNCTION_PROVIDER: &str = "workato_recipe_function";

/// The longest manifest or connection key the file allows.
const MAX_KEY: usize = 40;

/// The one made-up credential field of each default connection: Workato never says which
/// fields a connection takes.
pub const CREDENTIAL_PLACEHOLDER_FIELD: &str = "replace_me";

/// What every exported `package:` starts with: a path that exists nowhere, for the user to
/// replace with the package they deploy.
pub const PACKAGE_PLACEHOLDER_PREFIX: &str = "REPLACE-ME/packages/";

/// The account as a desired-state file sees it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Export {
    /// By manifest key.
    pub manifests: BTreeMap<String, ExportedManifest>,
    /// Sorted by `external_id`.
    pub customers: Vec<ExportedCustomer>,
    /// What was left out, and why, for stderr.
    pub notes: Vec<String>,
}

/// One manifest: a project name and what it holds.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportedManifest {
    pub key: String,
    pub folder: String,
    pub home_assets_folder: Option<String>,
    /// The recipes running in some customer, when not every recipe of the folder is; `None`
    /// when every one runs (the file's default: every recipe of the package). Empty when the
    /// folder has recipes and none runs in any customer.
    pub recipes: Option<Vec<String>>,
    /// By connection key.
    pub connections: BTreeMap<String, ExportedConnection>,
}

impl ExportedManifest {
    /// The placeholder `package:` path.
    pub fn package_placeholder(&self) -> String {
        format!("{PACKAGE_PLACEHOLDER_PREFIX}{}", self.key)
    }

    /// Whether the folder has recipes and none of them runs in any customer: the file says
    /// `recipes: []`.
    pub fn nothing_runs(&self) -> bool {
        self.recipes.as_ref().is_some_and(Vec::is_empty)
    }
}

/// One connection of a manifest.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportedConnection {
    pub name: String,
    /// A standard connector's provider, or a custom connector's slug.
    pub provider: String,
    pub kind: ConnectionKind,
}

impl ExportedConnection {
    /// A default connection that no customer has authorized: nothing says the partner holds
    /// its credentials, and its end users may be the ones to connect it.
    pub fn never_authorized(&self) -> bool {
        matches!(
            self.kind,
            ConnectionKind::Default {
                authorized: false,
                ..
            }
        )
    }

    /// Whether its connector is one only OAuth authorizes.
    pub fn oauth_only(&self) -> bool {
        OAUTH_ONLY_PROVIDERS.contains(&self.provider.as_str())
    }
}

/// A default connection (with its credential placeholder) or a runtime user connection.
#[derive(Clone, Debug, PartialEq)]
pub enum ConnectionKind {
    /// The partner authorizes it; `env` is the variable its placeholder credential reads;
    /// `authorized` when Workato reports it authorized in at least one customer.
    Default { env: String, authorized: bool },
    /// End users authorize it.
    Runtime {
        /// End users' plain connections have this connection as their parent.
        parent_default: bool,
        recipe_functions: Vec<String>,
    },
}

/// One customer.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportedCustomer {
    pub external_id: String,
    pub name: String,
    /// `None` when Workato has none (the file needs one: a placeholder is written).
    pub notification_email: Option<String>,
    /// Manifest keys, sorted.
    pub manifests: Vec<String>,
    /// Sorted by id.
    pub runtime_users: Vec<ExportedUser>,
}

/// One end user.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportedUser {
    pub id: String,
    /// Their name as the connections' names give it, when it is not the id.
    pub name: Option<String>,
}

impl Export {
    /// The variables the credential placeholders read, with the connection each is for
    /// (`<manifest>.<connection>`), sorted by variable.
    pub fn variables(&self) -> Vec<(String, String)> {
        let mut variables: Vec<(String, String)> = self
            .manifests
            .values()
            .flat_map(|manifest| {
                manifest
                    .connections
                    .iter()
                    .filter_map(move |(key, connection)| match &connection.kind {
                        ConnectionKind::Default { env, .. } => {
                            Some((env.clone(), format!("{}.{key}", manifest.key)))
                        }
                        ConnectionKind::Runtime { .. } => None,
                    })
            })
            .collect();
        variables.sort();
        variables
    }

    /// How many end users the file lists, over all customers.
    pub fn runtime_user_count(&self) -> usize {
        self.customers.iter().map(|c| c.runtime_users.len()).sum()
    }
}

/// A key of the file made from a name: ASCII letters and digits lowercased, every other run of
/// characters (and a lowercase-to-uppercase step, `PartnerApp` → `partner_app`) one
/// `separator`, at most 40 characters; `fallback` when nothing is left.
pub fn key_of(name: &str, separator: char, fallback: &str) -> String {
    let mut key = String::new();
    let mut pending = false;
    let mut after_lower = false;
    for character in name.chars() {
        if character.is_ascii_alphanumeric() {
            if character.is_ascii_uppercase() && after_lower {
                pending = true;
            }
            if pending && !key.is_empty() {
                key.push(separator);
            }
            pending = false;
            key.push(character.to_ascii_lowercase());
            after_lower = !character.is_ascii_uppercase();
        } else {
            pending = true;
            after_lower = false;
        }
    }
    key.truncate(MAX_KEY);
    let key = key.trim_end_matches(separator);
    if key.is_empty() {
        fallback.to_owned()
    } else {
        key.to_owned()
    }
}

/// Whether `text` may be a manifest or connection key of the file (`^[a-z0-9_-]{1,40}$`): a
/// key an earlier apply recorded is used only then.
fn is_key(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_KEY
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// `base`, or `base` with `<separator>2`, `<separator>3`… (cut to fit `max`) when `taken`
/// already holds it; the result is added to `taken`.
fn unique(base: &str, separator: char, max: usize, taken: &mut BTreeSet<String>) -> String {
    let mut candidate = base.to_owned();
    let mut number = 2u64;
    while taken.contains(&candidate) {
        let suffix = format!("{separator}{number}");
        let keep = max.saturating_sub(suffix.len()).min(base.len());
        candidate = format!("{}{suffix}", &base[..keep]);
        number += 1;
    }
    taken.insert(candidate.clone());
    candidate
}

/// The variable a default connection's credential field is read from:
/// `<MANIFEST>_<CONNECTION>_<FIELD>`, each part uppercased with every character other than an
/// ASCII letter or digit made `_`, and `_` in front when it would start with a digit.
pub fn variable_name(manifest: &str, connection: &str, field: &str) -> String {
    let mut name: String = format!("{manifest}_{connection}_{field}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    name
}

/// The connector of a live provider as the file names it: a custom connector by its slug.
fn file_provider(live_provider: &str) -> &str {
    custom_slug(live_provider).unwrap_or(live_provider)
}

/// Whether a live recipe is a recipe function (its trigger is `workato_recipe_function`).
fn is_recipe_function(recipe: &LiveRecipe) -> bool {
    recipe
        .config
        .iter()
        .any(|entry| entry.provider == RECIPE_FUNCTION_PROVIDER)
}

/// The note on a default connection no customer has authorized.
fn never_authorized_note(manifest: &str, key: &str, connection: &ExportedConnection) -> String {
    let mut note = format!(
        "`{manifest}.{key}` ({:?}) is not authorized in any customer, so nothing says you hold its credentials: exported as a default connection with a placeholder credential; if your end users connect it, set `runtime_users: true` (and `parent:` or `recipe_functions:`) instead of `credentials:`",
        connection.name
    );
    if connection.oauth_only() {
        note.push_str(&format!(
            "; connector `{}` is authorized with OAuth only, so credentials of yours would be an `oauth_token_pair`",
            connection.provider
        ));
    }
    note
}

/// What one customer's project adds to the manifest of its name.
struct Contribution<'a> {
    customer: usize,
    recorded_key: Option<String>,
    home_assets_folder: Option<String>,
    recipes: Vec<&'a LiveRecipe>,
    defaults: Vec<&'a LiveConnection>,
    runtime: Vec<&'a LiveConnection>,
}

/// What was seen of one connection name of a manifest.
#[derive(Default)]
struct ConnectionSeen {
    provider: String,
    /// Authorized in some customer.
    authorized: bool,
    owns_runtime: bool,
    functions: BTreeSet<String>,
    plain: usize,
    plain_with_parent: usize,
}

/// Turns what `read` read into the file's model. Pure and deterministic.
pub fn infer(account: &[AccountCustomer]) -> Export {
    let mut export = Export::default();
    let mut customers: Vec<&AccountCustomer> = Vec::new();
    for customer in account {
        match &customer.external_id {
            Some(_) => customers.push(customer),
            None => export.notes.push(format!(
                "customer {} ({:?}) has no `external_id`, which the file needs: not exported; give it one in Workato and export again",
                customer.id, customer.name
            )),
        }
    }
    customers.sort_by(|a, b| a.external_id.cmp(&b.external_id));

    // Each customer's projects, grouped by name over the account.
    let mut groups: BTreeMap<String, Vec<Contribution<'_>>> = BTreeMap::new();
    for (index, customer) in customers.iter().enumerate() {
        for (name, contribution) in contributions(index, customer, &mut export.notes) {
            groups.entry(name).or_default().push(contribution);
        }
    }

    // Manifest keys: the one an earlier apply recorded for the folder name (the most used one),
    // else the name made a key.
    let mut taken: BTreeSet<String> = BTreeSet::new();
    let mut keys: BTreeMap<&str, String> = BTreeMap::new();
    for (folder, contributions) in &groups {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for key in contributions
            .iter()
            .filter_map(|c| c.recorded_key.as_deref())
            .filter(|key| is_key(key))
        {
            *counts.entry(key).or_default() += 1;
        }
        let recorded = counts
            .iter()
            .max_by_key(|(key, count)| (**count, std::cmp::Reverse(**key)))
            .map(|(key, _)| *key);
        if let Some(key) = recorded
            && !taken.contains(key)
        {
            taken.insert(key.to_owned());
            keys.insert(folder.as_str(), key.to_owned());
        }
    }
    for folder in groups.keys() {
        if !keys.contains_key(folder.as_str()) {
            let key = unique(&key_of(folder, '-', "manifest"), '-', MAX_KEY, &mut taken);
            keys.insert(folder.as_str(), key);
        }
    }

    let mut users: Vec<BTreeMap<String, UserLabels>> = vec![BTreeMap::new(); customers.len()];
    let mut customer_manifests: Vec<BTreeSet<String>> = vec![BTreeSet::new(); customers.len()];
    let mut variables_taken: BTreeSet<String> = BTreeSet::new();
    for (folder, contributions) in &groups {
        let Some(key) = keys.get(folder.as_str()) else {
            continue;
        };
        let manifest = manifest_of(
            key,
            folder,
            contributions,
            &customers,
            &mut users,
            &mut variables_taken,
            &mut export.notes,
        );
        for contribution in contributions {
            customer_manifests[contribution.customer].insert(key.clone());
        }
        export.manifests.insert(key.clone(), manifest);
    }

    for (index, customer) in customers.iter().enumerate() {
        if customer.has_environments {
            export.notes.push(format!(
                "customer `{}` has Embedded environments, which embedctl does not manage: exported without its workspace",
                customer.external_id.as_deref().unwrap_or_default()
            ));
        }
        export.customers.push(ExportedCustomer {
            external_id: customer.external_id.clone().unwrap_or_default(),
            name: customer.name.clone(),
            notification_email: customer
                .notification_email
                .clone()
                .filter(|email| !email.trim().is_empty()),
            manifests: customer_manifests[index].iter().cloned().collect(),
            runtime_users: users[index]
                .iter()
                .map(|(id, labels)| ExportedUser {
                    id: id.clone(),
                    name: labels
                        .plain
                        .clone()
                        .or_else(|| labels.dedicated.clone())
                        .filter(|label| label != id && !label.is_empty()),
                })
                .collect(),
        });
    }
    let refused = refused_values(&export);
    export.notes.extend(refused);
    export
}

/// What Workato holds but the file refuses (an empty name, a value over the file's limits),
/// written as it is: one note each, so that the user fixes them before `validate` stops at them.
fn refused_values(export: &Export) -> Vec<String> {
    use crate::desired_file::limits;
    let mut notes = Vec::new();
    let mut check = |what: String, value: &str, limit: usize| {
        let length = value.chars().count();
        if value.trim().is_empty() {
            notes.push(format!(
                "{what} is empty, which the file refuses: give it one"
            ));
        } else if length > limit {
            notes.push(format!(
                "{what} is {length} characters long, more than the file's {limit}: shorten it"
            ));
        }
    };
    for manifest in export.manifests.values() {
        let at = format!("manifest `{}`", manifest.key);
        check(
            format!("the folder of {at}"),
            &manifest.folder,
            limits::NAME,
        );
        for (key, connection) in &manifest.connections {
            check(
                format!("the name of connection `{}.{key}`", manifest.key),
                &connection.name,
                limits::NAME,
            );
        }
    }
    for customer in &export.customers {
        let at = format!("customer `{}`", customer.external_id);
        check(
            format!("the `external_id` of {at}"),
            &customer.external_id,
            limits::NAME,
        );
        check(format!("the name of {at}"), &customer.name, limits::NAME);
        if let Some(email) = &customer.notification_email {
            check(
                format!("the notification email of {at}"),
                email,
                limits::EMAIL,
            );
        }
        for user in &customer.runtime_users {
            check(
                format!("end user `{}` of {at}", user.id),
                &user.id,
                limits::NAME,
            );
            if let Some(name) = &user.name {
                check(
                    format!("the name of end user `{}` of {at}", user.id),
                    name,
                    limits::NAME,
                );
            }
        }
    }
    notes
}

/// The names an end user's connections give them: from a plain connection, else from a
/// dedicated one.
#[derive(Clone, Default)]
struct UserLabels {
    plain: Option<String>,
    dedicated: Option<String>,
}

/// One customer's projects, by name, with what each holds; notes what is in no project.
fn contributions<'a>(
    index: usize,
    customer: &'a AccountCustomer,
    notes: &mut Vec<String>,
) -> Vec<(String, Contribution<'a>)> {
    let external_id = customer.external_id.as_deref().unwrap_or_default();
    let project_of: BTreeMap<u64, u64> = customer
        .folders
        .iter()
        .filter_map(|folder| folder.project_id.map(|project| (folder.id, project)))
        .collect();
    let projects: Vec<(u64, &str)> = customer
        .folders
        .iter()
        .filter(|folder| folder.project_id == Some(folder.id))
        .map(|folder| (folder.id, folder.name.as_str()))
        .collect();
    let recorded = |prefix: fn(&str) -> String| -> BTreeMap<u64, String> {
        let start = prefix("");
        customer
            .properties
            .iter()
            .filter_map(|(name, value)| {
                let key = name.strip_prefix(&start)?;
                Some((value.trim().parse::<u64>().ok()?, key.to_owned()))
            })
            .collect()
    };
    let recorded_folders = recorded(property::folder);
    let recorded_homes = recorded(property::home_folder);
    let in_project = |folder: Option<u64>, project: u64| {
        folder.and_then(|f| project_of.get(&f)) == Some(&project)
    };
    // A home-assets project of a manifest that is not itself a manifest's folder adds its
    // recipes to that manifest.
    let home_of: BTreeMap<u64, u64> = recorded_homes
        .iter()
        .filter(|(home, _)| !recorded_folders.contains_key(home))
        .filter_map(|(home, key)| {
            let folder = recorded_folders
                .iter()
                .find(|(_, recorded)| *recorded == key)
                .map(|(id, _)| *id)?;
            Some((*home, folder))
        })
        .collect();

    let mut found = Vec::new();
    for &(project_id, name) in &projects {
        if home_of.contains_key(&project_id) {
            continue;
        }
        let recorded_key = recorded_folders.get(&project_id).cloned();
        let homes: Vec<u64> = std::iter::once(project_id)
            .chain(
                home_of
                    .iter()
                    .filter(|(_, folder)| **folder == project_id)
                    .map(|(home, _)| *home),
            )
            .collect();
        let recipes: Vec<&LiveRecipe> = customer
            .recipes
            .iter()
            .filter(|r| homes.iter().any(|p| in_project(r.folder_id, *p)))
            .collect();
        let (runtime, defaults): (Vec<&LiveConnection>, Vec<&LiveConnection>) = customer
            .connections
            .iter()
            .filter(|c| in_project(c.folder_id, project_id))
            .partition(|c| c.is_runtime());
        let home_assets_folder = recorded_key.as_ref().and_then(|key| {
            let home = recorded_homes.iter().find(|(_, k)| *k == key)?.0;
            projects
                .iter()
                .find(|(id, _)| id == home)
                .map(|(_, name)| (*name).to_owned())
        });
        if recipes.is_empty() && defaults.is_empty() && runtime.is_empty() && recorded_key.is_none()
        {
            notes.push(format!(
                "project {name:?} of customer `{external_id}` holds no recipe and no connection: not exported"
            ));
            continue;
        }
        found.push((
            name.to_owned(),
            Contribution {
                customer: index,
                recorded_key,
                home_assets_folder,
                recipes,
                defaults,
                runtime,
            },
        ));
    }
    let homes: BTreeSet<u64> = home_of.keys().copied().collect();
    let outside_recipes = customer
        .recipes
        .iter()
        .filter(|r| {
            !projects.iter().any(|(p, _)| in_project(r.folder_id, *p))
                && !r
                    .folder_id
                    .and_then(|f| project_of.get(&f))
                    .is_some_and(|p| homes.contains(p))
        })
        .count();
    let outside_connections = customer
        .connections
        .iter()
        .filter(|c| !projects.iter().any(|(p, _)| in_project(c.folder_id, *p)))
        .count();
    if outside_recipes + outside_connections > 0 {
        notes.push(format!(
            "customer `{external_id}` has {outside_recipes} recipes and {outside_connections} connections outside any project: not exported (a manifest is a project)"
        ));
    }
    found
}

/// One manifest from the contributions of every customer that has its folder; adds the end
/// users its runtime connections name to `users`.
fn manifest_of(
    key: &str,
    folder: &str,
    contributions: &[Contribution<'_>],
    customers: &[&AccountCustomer],
    users: &mut [BTreeMap<String, UserLabels>],
    variables_taken: &mut BTreeSet<String>,
    notes: &mut Vec<String>,
) -> ExportedManifest {
    // Recipes: name → (running somewhere, recipe function).
    let mut recipes: BTreeMap<&str, (bool, bool)> = BTreeMap::new();
    for recipe in contributions.iter().flat_map(|c| &c.recipes) {
        let seen = recipes.entry(recipe.name.as_str()).or_default();
        seen.0 |= recipe.running;
        seen.1 |= is_recipe_function(recipe);
    }
    let mut functions: Vec<&str> = recipes
        .iter()
        .filter(|(_, (_, function))| *function)
        .map(|(name, _)| *name)
        .collect();
    // Longest first, so "Get file (v2)" is not read as "Get file".
    functions.sort_by_key(|f| std::cmp::Reverse(f.len()));

    let mut connections: BTreeMap<String, ConnectionSeen> = BTreeMap::new();
    for contribution in contributions {
        for connection in &contribution.defaults {
            connections
                .entry(connection.name.clone())
                .or_insert_with(|| ConnectionSeen {
                    provider: file_provider(&connection.provider).to_owned(),
                    ..ConnectionSeen::default()
                })
                .authorized |= connection.is_authorized();
        }
    }
    for contribution in contributions {
        let external_id = customers[contribution.customer]
            .external_id
            .as_deref()
            .unwrap_or_default();
        for connection in &contribution.runtime {
            let Some(user) = connection.external_id.as_deref() else {
                notes.push(format!(
                    "connection {:?} of customer `{external_id}` has a parent but no end user (`external_id`): not exported",
                    connection.name
                ));
                continue;
            };
            let owner = contribution
                .defaults
                .iter()
                .filter(|d| file_provider(&d.provider) == file_provider(&connection.provider))
                .filter(|d| {
                    connection
                        .name
                        .strip_prefix(d.name.as_str())
                        .is_some_and(|rest| rest.starts_with(" - "))
                })
                .max_by_key(|d| (d.name.len(), std::cmp::Reverse(d.id)));
            let Some(owner) = owner else {
                notes.push(format!(
                    "runtime connection {:?} of end user `{user}` (customer `{external_id}`) is named after no connection of project {folder:?} (`<connection> - <user>`): not exported",
                    connection.name
                ));
                continue;
            };
            let rest = &connection.name[owner.name.len() + 3..];
            let function = functions.iter().find(|f| {
                rest.strip_suffix(**f)
                    .is_some_and(|label| label.ends_with(" - "))
            });
            let labels = users[contribution.customer]
                .entry(user.to_owned())
                .or_default();
            let Some(seen) = connections.get_mut(&owner.name) else {
                continue;
            };
            seen.owns_runtime = true;
            match function {
                Some(function) => {
                    seen.functions.insert((*function).to_owned());
                    let label = &rest[..rest.len() - function.len() - 3];
                    labels.dedicated.get_or_insert_with(|| label.to_owned());
                }
                None => {
                    seen.plain += 1;
                    if connection.parent_id == Some(owner.id) {
                        seen.plain_with_parent += 1;
                    }
                    labels.plain.get_or_insert_with(|| rest.to_owned());
                }
            }
        }
    }

    // Connection keys: the name made a key; a default connection's key, when an earlier apply
    // recorded credentials under one other key only and it is the only connection left
    // without one, is that key, so that the recorded fingerprint still applies.
    let fingerprint_prefix = property::fingerprint(key, "");
    let recorded: BTreeSet<&str> = contributions
        .iter()
        .flat_map(|c| customers[c.customer].properties.keys())
        .filter_map(|name| name.strip_prefix(&fingerprint_prefix))
        .filter(|recorded| is_key(recorded))
        .collect();
    let derived: BTreeMap<&str, String> = connections
        .keys()
        .map(|name| (name.as_str(), key_of(name, '_', "connection")))
        .collect();
    let unmatched_recorded: Vec<&str> = recorded
        .iter()
        .filter(|r| !derived.values().any(|d| d == *r))
        .copied()
        .collect();
    let unmatched_defaults: Vec<&str> = connections
        .iter()
        .filter(|(name, seen)| {
            !seen.owns_runtime
                && derived
                    .get(name.as_str())
                    .is_some_and(|d| !recorded.contains(d.as_str()))
        })
        .map(|(name, _)| name.as_str())
        .collect();
    let recovered: Option<(String, String)> =
        match (&unmatched_recorded[..], &unmatched_defaults[..]) {
            ([recorded], [name]) => Some(((*name).to_owned(), (*recorded).to_owned())),
            _ => None,
        };
    let mut keys_taken: BTreeSet<String> = BTreeSet::new();
    let mut exported = BTreeMap::new();
    for (name, seen) in connections {
        let base = match &recovered {
            Some((recovered_name, recovered_key)) if *recovered_name == name => {
                recovered_key.clone()
            }
            _ => key_of(&name, '_', "connection"),
        };
        let connection_key = unique(&base, '_', MAX_KEY, &mut keys_taken);
        let kind = if seen.owns_runtime {
            let parent_default =
                seen.functions.is_empty() && seen.plain > 0 && seen.plain_with_parent == seen.plain;
            if !seen.functions.is_empty() && seen.plain_with_parent > 0 {
                notes.push(format!(
                    "`{key}.{connection_key}`: some end users' connections have a parent, which a connection with recipe functions cannot have in the file (the parent connection trap): exported as `parent: none`"
                ));
            }
            ConnectionKind::Runtime {
                parent_default,
                recipe_functions: seen.functions.into_iter().collect(),
            }
        } else {
            let base = variable_name(key, &connection_key, CREDENTIAL_PLACEHOLDER_FIELD);
            ConnectionKind::Default {
                env: unique(&base, '_', usize::MAX, variables_taken),
                authorized: seen.authorized,
            }
        };
        let connection = ExportedConnection {
            name,
            provider: seen.provider,
            kind,
        };
        if connection.never_authorized() {
            notes.push(never_authorized_note(key, &connection_key, &connection));
        }
        exported.insert(connection_key, connection);
    }

    let running: Vec<String> = recipes
        .iter()
        .filter(|(_, (running, _))| *running)
        .map(|(name, _)| (*name).to_owned())
        .collect();
    // Nothing runs: `recipes: []` keeps plan and drift from starting anything, but also from
    // reporting any recipe stopped. Say so, so that the user lists those that must run.
    if running.is_empty() && !recipes.is_empty() {
        notes.push(format!(
            "`{key}`: no recipe of {folder:?} runs in any customer: exported as `recipes: []`, which requires none to run, so plan and drift report no recipe stopped; list the recipes that must run (or remove the key for every recipe of the package) and apply starts them"
        ));
    }
    // `recipes:` means "running for every customer": a recipe someone stopped for some customers
    // only would be started by the next apply. Say where, so that the user decides.
    for name in &running {
        let mut stopped: Vec<&str> = contributions
            .iter()
            .filter(|c| {
                c.recipes
                    .iter()
                    .any(|recipe| recipe.name == *name && !recipe.running)
            })
            .filter_map(|c| customers.get(c.customer))
            .filter_map(|customer| customer.external_id.as_deref())
            .collect();
        if stopped.is_empty() {
            continue;
        }
        stopped.sort_unstable();
        let shown = stopped.len().min(5);
        let more = match stopped.len() - shown {
            0 => String::new(),
            left => format!(" and {left} more"),
        };
        notes.push(format!(
            "`{key}`: recipe {name:?} runs for some customers but is stopped for {}{more}: exported as one that must run, so apply would start it there; remove it from `recipes:` if it was stopped on purpose",
            stopped[..shown]
                .iter()
                .map(|id| format!("`{id}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let mut homes: Vec<&str> = contributions
        .iter()
        .filter_map(|c| c.home_assets_folder.as_deref())
        .collect();
    homes.sort_unstable();
    homes.dedup();
    if homes.len() > 1 {
        notes.push(format!(
            "`{key}`: customers put the package's root-folder assets into different projects ({}): exported with {:?}",
            homes.join(", "),
            homes[0]
        ));
    }
    ExportedManifest {
        key: key.to_owned(),
        folder: folder.to_owned(),
        home_assets_folder: homes.first().map(|h| (*h).to_owned()),
        recipes: (running.len() != recipes.len()).then_some(running),
        connections: exported,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_made_from_names() {
        assert_eq!(key_of("Files Sync", '-', "m"), "files-sync");
        assert_eq!(key_of("PartnerApp", '_', "c"), "partner_app");
        assert_eq!(key_of("CRM User", '_', "c"), "crm_user");
        assert_eq!(key_of("  ***  ", '_', "connection"), "connection");
        assert_eq!(key_of(&"x".repeat(50), '-', "m").len(), 40);
        let mut taken = BTreeSet::from(["files-sync".to_owned()]);
        assert_eq!(unique("files-sync", '-', 40, &mut taken), "files-sync-2");
        assert_eq!(unique("files-sync", '-', 40, &mut taken), "files-sync-3");
    }

    #[test]
    fn variables_are_upper_snake_case_and_start_with_no_digit() {
        assert_eq!(
            variable_name("files-sync", "partner_app", "replace_me"),
            "FILES_SYNC_PARTNER_APP_REPLACE_ME"
        );
        assert_eq!(variable_name("2024-sync", "crm", "x"), "_2024_SYNC_CRM_X");
    }
}
