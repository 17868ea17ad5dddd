//! `Desired`: the file's intent, resolved into exactly what `diff` compares.
//!
//! Built from a validated `LoadedFile`. Credentials are resolved here (this reads environment variables
//! and secret files: the only I/O on the way to a plan besides `observe`), and only their
//! fingerprints are kept, so `Desired` holds no secret and `diff` stays pure. It also carries what
//! apply needs besides the plan (where each credential comes from, each package's zip), so that
//! apply never goes back to the file model.

use std::collections::{BTreeMap, BTreeSet};

use std::sync::Arc;

use crate::credentials::{InputSource, Unresolved};
use crate::desired_file::{LoadedFile, Parent};
use crate::package::Connector;

/// What the file asks for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Desired {
    /// Customers in file order.
    pub customers: Vec<DesiredCustomer>,
    /// Manifests by key.
    pub manifests: BTreeMap<String, DesiredManifest>,
}

/// A manifest with what its package holds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DesiredManifest {
    pub key: String,
    /// The project name in the customer workspace.
    pub folder: String,
    /// The project that receives the package's root-folder (Home) assets, when the file names one.
    pub home_assets_folder: Option<String>,
    pub restart_recipes: bool,
    /// The package digest (ARCHITECTURE.md).
    pub digest: String,
    /// The package as the zip apply imports (shared: clones of `Desired` do not copy it).
    pub zip: Arc<Vec<u8>>,
    /// Every asset of the package with its content digest, recorded at an import.
    pub assets: Arc<Vec<crate::package::PackageAsset>>,
    /// Every recipe of the package.
    pub recipes: Vec<DesiredRecipe>,
    /// Names of the recipes that must be running.
    pub required: BTreeSet<String>,
    /// The connections the manifest manages, in file order.
    pub connections: Vec<DesiredConnection>,
}

/// A recipe of a package.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DesiredRecipe {
    pub name: String,
    pub is_recipe_function: bool,
    /// Names of the package connections it needs authorized to start (not `skip_validation`).
    pub needs: Vec<String>,
    /// The connectors it uses, as the file names them (a custom connector by its slug).
    pub providers: Vec<String>,
}

/// A connection the manifest manages.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DesiredConnection {
    pub key: String,
    pub name: String,
    /// The `provider:` of the file: a standard provider, or a custom connector's slug.
    pub provider: String,
    /// Whether the package connection's connector is a custom connector, whose slug `provider`
    /// is: it is found in a workspace by that slug, never by the package's provider id.
    pub custom: bool,
    pub runtime_users: bool,
    pub parent: Parent,
    pub recipe_functions: Vec<String>,
    /// Whether end users also need a plain connection: a recipe that is not a recipe function
    /// uses this connector.
    pub plain_needed: bool,
}

/// A customer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DesiredCustomer {
    pub external_id: String,
    pub name: String,
    pub notification_email: String,
    pub manifests: Vec<String>,
    pub prune_runtime_users: bool,
    pub runtime_users: Vec<DesiredUser>,
    /// Per `<manifest>.<connection>` of every default connection of its manifests.
    pub credentials: BTreeMap<String, CredentialState>,
    /// Where the input of each of those connections comes from (the customer's own credentials
    /// or the manifest's), when the file gives any.
    pub inputs: BTreeMap<String, InputSource>,
}

/// An end user.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DesiredUser {
    pub id: String,
    pub name: Option<String>,
}

impl DesiredConnection {
    /// The connector, as the matching rules look for it (`matching`).
    pub fn connector(&self) -> Connector {
        if self.custom {
            Connector::Custom(self.provider.clone())
        } else {
            Connector::Standard(self.provider.clone())
        }
    }
}

impl DesiredUser {
    /// The name used in connection names: the display name, else the id.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }
}

/// What embedctl knows of the credentials it would send to one default connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CredentialState {
    /// The file gives neither credentials nor settings: embedctl can never authorize it.
    Absent,
    /// Resolved: the HMAC fingerprint of what would be sent.
    Known { fingerprint: String },
    /// Not resolvable now (an unset variable, no fingerprint key): "(known at apply)".
    Unknown { why: String },
}

/// How to resolve secrets while building `Desired`.
pub struct Resolver<'a> {
    /// Reads an environment variable.
    pub lookup: &'a dyn Fn(&str) -> Option<String>,
    /// The HMAC key of fingerprints; `None` leaves every credential `Unknown`.
    pub fingerprint_key: Option<String>,
    /// Receives every secret value resolved, so that it is redacted from Workato's answers.
    pub secrets: crate::redact::Secrets,
}

impl Desired {
    /// Resolves a loaded, validated file.
    pub fn from_file(loaded: &LoadedFile, resolver: &Resolver<'_>) -> Desired {
        let mut desired = Desired::default();
        for (key, manifest) in loaded.file.manifests.iter() {
            let Some(package) = loaded.packages.get(&key.value) else {
                continue;
            };
            let recipes: Vec<DesiredRecipe> = package
                .recipes
                .iter()
                .map(|recipe| DesiredRecipe {
                    name: recipe.name.clone(),
                    is_recipe_function: recipe.is_recipe_function,
                    needs: package
                        .connections_required_by(recipe)
                        .into_iter()
                        .map(|connection| connection.name.clone())
                        .collect(),
                    providers: recipe
                        .config
                        .iter()
                        .map(|entry| entry.connector.file_provider().to_owned())
                        .collect(),
                })
                .collect();
            let required = match &manifest.recipes {
                Some(list) => list.value.iter().map(|name| name.value.clone()).collect(),
                None => recipes.iter().map(|recipe| recipe.name.clone()).collect(),
            };
            let connections = manifest
                .connections
                .iter()
                .map(|(connection_key, connection)| DesiredConnection {
                    key: connection_key.value.clone(),
                    name: connection.name.value.clone(),
                    provider: connection.provider.value.clone(),
                    custom: package
                        .connection(&connection.name.value)
                        .is_some_and(|found| found.connector.is_custom()),
                    runtime_users: connection.runtime_users,
                    parent: connection
                        .parent
                        .as_ref()
                        .map(|p| p.value)
                        .unwrap_or_default(),
                    recipe_functions: connection
                        .recipe_functions
                        .iter()
                        .map(|function| function.value.clone())
                        .collect(),
                    plain_needed: recipes.iter().any(|recipe| {
                        !recipe.is_recipe_function
                            && recipe.providers.contains(&connection.provider.value)
                    }),
                })
                .collect();
            desired.manifests.insert(
                key.value.clone(),
                DesiredManifest {
                    key: key.value.clone(),
                    folder: manifest.folder.value.clone(),
                    home_assets_folder: manifest
                        .home_assets_folder
                        .as_ref()
                        .map(|folder| folder.value.clone()),
                    restart_recipes: manifest.restart_recipes,
                    digest: package.digest.as_str().to_owned(),
                    zip: Arc::new(package.zip_bytes.clone()),
                    assets: Arc::new(package.assets.clone()),
                    recipes,
                    required,
                    connections,
                },
            );
        }
        for customer in &loaded.file.customers {
            let customer = &customer.value;
            let mut credentials = BTreeMap::new();
            let mut inputs = BTreeMap::new();
            for manifest_key in &customer.manifests {
                let Some(manifest) = loaded.file.manifests.get(&manifest_key.value) else {
                    continue;
                };
                for (connection_key, connection) in manifest.connections.iter() {
                    if connection.runtime_users {
                        continue;
                    }
                    let reference = format!("{}.{}", manifest_key.value, connection_key.value);
                    let credential_map = customer
                        .credentials
                        .get(&reference)
                        .unwrap_or(&connection.credentials);
                    let state = if credential_map.is_empty() && connection.settings.is_empty() {
                        CredentialState::Absent
                    } else {
                        let source = InputSource::of(
                            &connection.settings,
                            credential_map,
                            loaded.base_dir(),
                        );
                        let resolved = source.resolve(resolver.lookup);
                        inputs.insert(reference.clone(), source);
                        match (&resolver.fingerprint_key, resolved) {
                            (Some(key), Ok(input)) => {
                                resolver.secrets.add_all(input.secret_values());
                                CredentialState::Known {
                                    fingerprint: input.fingerprint(key),
                                }
                            }
                            (None, Ok(input)) => {
                                resolver.secrets.add_all(input.secret_values());
                                CredentialState::Unknown {
                                    why: "`EMBEDCTL_FINGERPRINT_KEY` is not set".to_owned(),
                                }
                            }
                            (_, Err(Unresolved(why))) => CredentialState::Unknown { why },
                        }
                    };
                    credentials.insert(reference, state);
                }
            }
            desired.customers.push(DesiredCustomer {
                external_id: customer.external_id.value.clone(),
                name: customer.name.value.clone(),
                notification_email: customer.notification_email.value.clone(),
                manifests: customer.manifests.iter().map(|m| m.value.clone()).collect(),
                prune_runtime_users: customer.prune_runtime_users,
                runtime_users: customer
                    .runtime_users
                    .iter()
                    .map(|user| DesiredUser {
                        id: user.value.id.value.clone(),
                        name: user.value.name.as_ref().map(|name| name.value.clone()),
                    })
                    .collect(),
                credentials,
                inputs,
            });
        }
        desired
    }
}
