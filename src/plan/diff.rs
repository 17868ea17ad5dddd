//! `diff`: Desired × Live → Plan. Pure and deterministic (ARCHITECTURE.md invariant 1): no I/O,
//! no clock, no randomness; the same inputs give the same plan, byte for byte once rendered.
//!
//! It walks each customer bottom-up through the four phases of ARCHITECTURE.md and keeps track of
//! what the world will look like after this plan's earlier changes, so that a later phase is
//! planned when an earlier change will open its gate, and blocked (with the reason) when nothing
//! in the plan can.

use serde_json::{Value, json};

use super::HomeAssetsRef;
use super::{
    Action, Change, Kind, Note, ParentRef, PendingStatus, PendingUser, Plan, ProviderRef, Reason,
    SkippedCustomer, Subject, Target, Unmanaged,
};
use super::{AssetChanges, AssetRef};
use crate::credentials::short_fingerprint;
use crate::desired::{
    CredentialState, Desired, DesiredConnection, DesiredCustomer, DesiredManifest, DesiredUser,
};
use crate::desired_file::Parent;
use crate::live::{Live, LiveConnection, LiveCustomer, LiveRecipe, property};
use crate::matching::{Workspace, is_provider};
use crate::package::inventory;

/// Computes the plan that makes `live` match `desired`.
pub fn diff(desired: &Desired, live: &Live) -> Plan {
    let mut plan = Plan::default();
    for customer in &desired.customers {
        let live_customer = live.customers.get(&customer.external_id);
        if live_customer.is_some_and(|c| c.has_environments) {
            plan.skipped.push(SkippedCustomer {
                customer: customer.external_id.clone(),
                why: "the customer has Embedded environments (DEV/TEST/PROD), which this version does not manage".to_owned(),
            });
            continue;
        }
        CustomerDiff {
            desired,
            customer,
            live: live_customer,
            plan: &mut plan,
        }
        .run();
    }
    for unmanaged in &live.unmanaged_customers {
        plan.unmanaged.push(Unmanaged {
            customer: unmanaged
                .external_id
                .clone()
                .unwrap_or_else(|| format!("id:{}", unmanaged.id)),
            kind: Kind::Customer,
            key: unmanaged.name.clone(),
            reason: Reason::CustomerUnmanaged,
            id: Some(unmanaged.id),
        });
    }
    plan
}

/// The plan of one customer.
struct CustomerDiff<'a> {
    desired: &'a Desired,
    customer: &'a DesiredCustomer,
    live: Option<&'a LiveCustomer>,
    plan: &'a mut Plan,
}

/// What the plan does with a manifest's package.
struct ImportOutlook {
    /// An import is planned.
    planned: bool,
    /// Why a needed import is blocked, if it is.
    blocked: Option<String>,
}

/// What one manifest will look like after this plan's phase 2 and 3 changes.
struct ManifestOutlook {
    folder_id: Option<u64>,
    /// Why the phase-4 gate stays closed, if it does.
    gate_closed_by: Option<String>,
}

impl<'a> CustomerDiff<'a> {
    fn run(mut self) {
        let customer_id = self.live.map(|c| c.id);
        self.phase_customer(customer_id);
        for manifest_key in &self.customer.manifests {
            let Some(manifest) = self.desired.manifests.get(manifest_key) else {
                continue;
            };
            let outlook = self.phases_package_and_activation(manifest, customer_id);
            self.phase_runtime_users(manifest, customer_id, &outlook);
        }
    }

    // Every field of a `Change` is an argument on purpose: each call site reads as the change it
    // makes, and a struct literal would repeat the customer at every one.
    #[allow(clippy::too_many_arguments)]
    fn change(
        &self,
        phase: u8,
        action: Action,
        subject: Subject,
        reason: Reason,
        before: Value,
        after: Value,
        target: Target,
    ) -> Change {
        Change {
            customer: self.customer.external_id.clone(),
            phase,
            action,
            subject,
            reason,
            before: before.into(),
            after: after.into(),
            blocked_by: None,
            target,
            assets: None,
        }
    }

    /// Plans sending credentials to a default connection: `recorded` is the fingerprint recorded
    /// in Workato (none: never sent), `after` what the plan shows for the new one.
    fn plan_authorize(
        &mut self,
        subject: Subject,
        recorded: Option<&str>,
        after: String,
        target: &Target,
    ) {
        let reason = if recorded.is_none() {
            Reason::ConnectionCredentialsMissing
        } else {
            Reason::ConnectionCredentialsChanged
        };
        let before = recorded.map_or(
            Value::Null,
            |fp| json!({ "fingerprint": format!("fp:{}", short_fingerprint(fp)) }),
        );
        let change = self.change(
            3,
            Action::Authorize,
            subject,
            reason,
            before,
            json!({ "fingerprint": after }),
            target.clone(),
        );
        self.plan.changes.push(change);
    }

    fn block(&mut self, mut change: Change, why: String) {
        change.blocked_by = Some(why);
        self.plan.blocked.push(change);
    }

    fn property(&self, name: &str) -> Option<&'a str> {
        self.live
            .and_then(|c| c.properties.get(name))
            .map(String::as_str)
    }

    /// What a changed package adds, changes and removes since the import whose digest is
    /// `recorded`, by the record of its assets; not recorded when there is no whole record.
    fn asset_changes(&self, manifest: &DesiredManifest, recorded: &str) -> AssetChanges {
        let Some(mut before) =
            inventory::decode(&manifest.key, recorded, |name| self.property(name))
        else {
            return AssetChanges::default();
        };
        let mut changes = AssetChanges {
            recorded: true,
            ..AssetChanges::default()
        };
        for asset in manifest.assets.iter() {
            match before.remove(&asset.key) {
                None => changes.added.extend(asset_ref(&asset.key)),
                Some(digest) if digest != asset.digest => {
                    changes.changed.extend(asset_ref(&asset.key))
                }
                Some(_) => {}
            }
        }
        changes.removed = before.keys().filter_map(|key| asset_ref(key)).collect();
        for list in [
            &mut changes.added,
            &mut changes.changed,
            &mut changes.removed,
        ] {
            list.sort_by_cached_key(|asset| {
                (
                    asset_rank(&asset.type_name),
                    asset.type_name.clone(),
                    asset.name.clone(),
                )
            });
        }
        changes
    }

    // Phase 1: the managed user.
    fn phase_customer(&mut self, customer_id: Option<u64>) {
        let wanted = json!({
            "name": self.customer.name,
            "notification_email": self.customer.notification_email,
        });
        let target = Target {
            customer_id,
            ..Target::default()
        };
        match self.live {
            None => {
                let change = self.change(
                    1,
                    Action::Create,
                    Subject::Customer,
                    Reason::CustomerMissing,
                    Value::Null,
                    json!({
                        "external_id": self.customer.external_id,
                        "name": self.customer.name,
                        "notification_email": self.customer.notification_email,
                    }),
                    target,
                );
                self.plan.changes.push(change);
            }
            Some(live) => {
                let current = json!({
                    "name": live.name,
                    "notification_email": live.notification_email,
                });
                let (before, after) = changed_fields(&current, &wanted);
                if !after.is_empty() {
                    let change = self.change(
                        1,
                        Action::Update,
                        Subject::Customer,
                        Reason::CustomerChanged,
                        Value::Object(before),
                        Value::Object(after),
                        target,
                    );
                    self.plan.changes.push(change);
                }
            }
        }
    }

    /// The live recipes of a manifest by package recipe name (`matching`).
    fn manifest_recipes<'m>(
        &self,
        manifest: &'m DesiredManifest,
        folder_id: Option<u64>,
    ) -> Vec<(&'m str, Option<&'a LiveRecipe>)> {
        manifest
            .recipes
            .iter()
            .map(|recipe| {
                let found = self
                    .live
                    .and_then(|live| live.workspace().recipe(&recipe.name, folder_id));
                (recipe.name.as_str(), found)
            })
            .collect()
    }

    /// The default (non-runtime) live connection of a desired connection (`matching`); other
    /// candidates are reported in a note.
    fn default_connection(
        &mut self,
        connection: &DesiredConnection,
        recipes: &[(&str, Option<&'a LiveRecipe>)],
    ) -> Option<&'a LiveConnection> {
        let live = self.live?;
        let matched = live.workspace().default_connection(
            &connection.name,
            &connection.connector(),
            recipes.iter().filter_map(|(_, recipe)| *recipe),
        );
        if let Some(found) = matched.found
            && !matched.passed_over.is_empty()
        {
            let ids: Vec<String> = std::iter::once(found.id)
                .chain(matched.passed_over.iter().copied())
                .map(|id| id.to_string())
                .collect();
            self.plan.notes.push(Note::customer(&self.customer.external_id, format!(
                "{} connections are named \"{}\" ({}): embedctl uses {}; delete or rename the others",
                ids.len(),
                connection.name,
                ids.join(", "),
                ids[0]
            )));
        }
        matched.found
    }

    // Phases 2 and 3 of one manifest.
    fn phases_package_and_activation(
        &mut self,
        manifest: &DesiredManifest,
        customer_id: Option<u64>,
    ) -> ManifestOutlook {
        let folder_id = self.phase_folder(manifest, customer_id);
        let home_assets = self.phase_home_assets_folder(manifest, customer_id, folder_id);
        let recipes = self.manifest_recipes(manifest, folder_id);
        let import = self.phase_package(manifest, customer_id, folder_id, &recipes, home_assets);
        let mut gate_problems: Vec<String> = Vec::new();
        if let Some(why) = &import.blocked {
            gate_problems.push(format!(
                "package of `{}` cannot be imported: {why}",
                manifest.key
            ));
        }
        let authorized_after = self.phase_connections(
            manifest,
            customer_id,
            folder_id,
            &recipes,
            &import,
            &mut gate_problems,
        );
        self.phase_recipes(
            manifest,
            customer_id,
            folder_id,
            &recipes,
            &import,
            &authorized_after,
            &mut gate_problems,
        );
        gate_problems.dedup();
        ManifestOutlook {
            folder_id,
            gate_closed_by: gate_problems.into_iter().next(),
        }
    }

    /// Phase 2: the manifest's folder, by its recorded id or its name; created when missing.
    fn phase_folder(
        &mut self,
        manifest: &DesiredManifest,
        customer_id: Option<u64>,
    ) -> Option<u64> {
        let key = manifest.key.clone();
        let recorded_folder = self
            .property(&property::folder(&key))
            .and_then(|id| id.parse::<u64>().ok());
        let found_folder = self.live.and_then(|live| {
            live.projects
                .as_ref()
                .and_then(|projects| projects.iter().find(|p| p.name == manifest.folder))
                .map(|p| p.id)
        });
        let folder_id = recorded_folder.or(found_folder);
        if folder_id.is_none() {
            let change = self.change(
                2,
                Action::Create,
                Subject::Folder {
                    manifest: key.clone(),
                },
                Reason::FolderMissing,
                Value::Null,
                json!({ "name": manifest.folder }),
                Target {
                    customer_id,
                    name: Some(manifest.folder.clone()),
                    ..Target::default()
                },
            );
            self.plan.changes.push(change);
        }
        if let Some(folder_id) = recorded_folder {
            self.plan_folder_rename(manifest, customer_id, folder_id);
        }
        folder_id
    }

    /// A recorded folder whose name is not the file's `folder:` any more is renamed (never
    /// created again: the recipes stay where they are). The projects are read only when the
    /// recorded name differs from the file's, so this is planned only then.
    fn plan_folder_rename(
        &mut self,
        manifest: &DesiredManifest,
        customer_id: Option<u64>,
        folder_id: u64,
    ) {
        let Some(project) = self.live.and_then(|live| {
            live.projects
                .as_ref()
                .and_then(|projects| projects.iter().find(|p| p.id == folder_id))
        }) else {
            return;
        };
        if project.name == manifest.folder {
            return;
        }
        let change = self.change(
            2,
            Action::Update,
            Subject::Folder {
                manifest: manifest.key.clone(),
            },
            Reason::FolderRenamed,
            json!({ "name": project.name }),
            json!({ "name": manifest.folder }),
            Target {
                customer_id,
                folder_id: Some(folder_id),
                project_id: Some(project.project_id.unwrap_or(folder_id)),
                name: Some(manifest.folder.clone()),
                ..Target::default()
            },
        );
        self.plan.changes.push(change);
    }

    /// Phase 2: the project for the package's root-folder (Home) assets, when the manifest names
    /// one: by its recorded id or its name, created when missing, like the manifest folder. Named
    /// like the manifest folder, it is that folder. Where the import sends those assets.
    fn phase_home_assets_folder(
        &mut self,
        manifest: &DesiredManifest,
        customer_id: Option<u64>,
        folder_id: Option<u64>,
    ) -> Option<HomeAssetsRef> {
        let name = manifest.home_assets_folder.as_ref()?;
        if *name == manifest.folder {
            return Some(folder_id.map_or(HomeAssetsRef::ManifestFolder, |id| {
                HomeAssetsRef::Folder { id }
            }));
        }
        let recorded = self
            .property(&property::home_folder(&manifest.key))
            .and_then(|id| id.parse::<u64>().ok());
        let found = self.live.and_then(|live| {
            live.projects
                .as_ref()
                .and_then(|projects| projects.iter().find(|p| p.name == *name))
                .map(|p| p.id)
        });
        if let Some(id) = recorded.or(found) {
            return Some(HomeAssetsRef::Folder { id });
        }
        let change = self.change(
            2,
            Action::Create,
            Subject::HomeAssetsFolder {
                manifest: manifest.key.clone(),
            },
            Reason::FolderMissing,
            Value::Null,
            json!({ "name": name }),
            Target {
                customer_id,
                name: Some(name.clone()),
                ..Target::default()
            },
        );
        self.plan.changes.push(change);
        Some(HomeAssetsRef::Created)
    }

    /// Phase 2: the package, imported when its digest is not the one recorded; blocked when a
    /// changed package would stop running recipes.
    fn phase_package(
        &mut self,
        manifest: &DesiredManifest,
        customer_id: Option<u64>,
        folder_id: Option<u64>,
        recipes: &[(&str, Option<&'a LiveRecipe>)],
        home_assets: Option<HomeAssetsRef>,
    ) -> ImportOutlook {
        let key = manifest.key.clone();
        let recorded_digest = self.property(&property::digest(&key)).map(str::to_owned);
        let mut import_planned = false;
        let mut import_blocked = None;
        if recorded_digest.as_deref() != Some(manifest.digest.as_str()) {
            let reason = if recorded_digest.is_none() {
                Reason::PackageNotImported
            } else {
                Reason::PackageChanged
            };
            let change = self.change(
                2,
                Action::Import,
                Subject::Package {
                    manifest: key.clone(),
                },
                reason,
                recorded_digest.as_ref().map_or(Value::Null, |digest| {
                    json!({
                        "digest": short_digest(digest),
                        "folder": manifest.folder,
                        "restart_recipes": manifest.restart_recipes,
                    })
                }),
                json!({
                    "digest": short_digest(&manifest.digest),
                    "folder": manifest.folder,
                    "restart_recipes": manifest.restart_recipes,
                }),
                Target {
                    customer_id,
                    folder_id,
                    home_assets,
                    ..Target::default()
                },
            );
            let mut change = with_home_assets_folder(change, manifest);
            if let Some(recorded) = recorded_digest.as_deref() {
                change.assets = Some(Box::new(self.asset_changes(manifest, recorded)));
            }
            // Workato refuses an import while any recipe in the target folder's tree runs, required
            // or not: the package's own recipes (wherever in the tree the import put them) and any
            // other recipe inside the manifest's folder.
            let mut running: Vec<&str> = self
                .live
                .map(|live| {
                    let workspace = live.workspace();
                    live.recipes
                        .iter()
                        .filter(|recipe| recipe.running)
                        .filter(|recipe| {
                            recipes
                                .iter()
                                .any(|(_, found)| found.is_some_and(|f| f.id == recipe.id))
                                || match (recipe.folder_id, folder_id) {
                                    (Some(folder), Some(root)) => workspace.inside(folder, root),
                                    _ => false,
                                }
                        })
                        .map(|recipe| recipe.name.as_str())
                        .collect()
                })
                .unwrap_or_default();
            running.sort_unstable();
            running.dedup();
            if reason == Reason::PackageChanged && !manifest.restart_recipes && !running.is_empty()
            {
                let mut change = change;
                change.reason = Reason::PackageRecipesRunning;
                let why = format!(
                    "recipes are running ({}) and `restart_recipes` is false: Workato refuses the import; stop them or set `restart_recipes: true`",
                    quoted_list(&running)
                );
                import_blocked = Some(why.clone());
                self.block(change, why);
            } else {
                import_planned = true;
                self.plan.changes.push(change);
            }
        }

        ImportOutlook {
            planned: import_planned,
            blocked: import_blocked,
        }
    }

    /// Phase 3: the default connections' credentials. Returns, per connection name, whether it
    /// will be authorized after this plan (and why not), with its id.
    fn phase_connections(
        &mut self,
        manifest: &DesiredManifest,
        customer_id: Option<u64>,
        folder_id: Option<u64>,
        recipes: &[(&str, Option<&'a LiveRecipe>)],
        import: &ImportOutlook,
        gate_problems: &mut Vec<String>,
    ) -> Vec<(String, Result<(), String>, Option<u64>)> {
        let key = manifest.key.clone();
        let import_planned = import.planned;
        // Connection name → will it be authorized after this plan (and why not)?
        let mut authorized_after: Vec<(String, Result<(), String>, Option<u64>)> = Vec::new();
        for connection in manifest.connections.iter().filter(|c| !c.runtime_users) {
            let reference = format!("{key}.{}", connection.key);
            let subject = Subject::Connection {
                manifest: key.clone(),
                connection: connection.key.clone(),
            };
            let live_connection = self.default_connection(connection, recipes).cloned();
            let connection_id = live_connection.as_ref().map(|c| c.id);
            let authorized_now = live_connection
                .as_ref()
                .is_some_and(LiveConnection::is_authorized);
            let needed = manifest.recipes.iter().any(|recipe| {
                manifest.required.contains(&recipe.name) && recipe.needs.contains(&connection.name)
            });
            let target = Target {
                customer_id,
                folder_id,
                connection_id,
                ..Target::default()
            };
            let state = self
                .customer
                .credentials
                .get(&reference)
                .cloned()
                .unwrap_or(CredentialState::Absent);
            let recorded = self
                .property(&property::fingerprint(&key, &connection.key))
                .map(str::to_owned);
            let outcome: Result<(), String> = match state {
                CredentialState::Absent => {
                    if authorized_now && !import_planned {
                        Ok(())
                    } else {
                        let why = format!("connection \"{}\" has no credentials", connection.name);
                        if needed {
                            let change = self.change(
                                3,
                                Action::Authorize,
                                subject.clone(),
                                Reason::ConnectionNoCredentials,
                                Value::Null,
                                Value::Null,
                                target.clone(),
                            );
                            self.block(
                                change,
                                format!("{why}; add `credentials:` for `{reference}` in the file"),
                            );
                        }
                        Err(why)
                    }
                }
                CredentialState::Known { fingerprint } => {
                    let same = recorded.as_deref() == Some(fingerprint.as_str());
                    if same && live_connection.is_some() {
                        if authorized_now {
                            Ok(())
                        } else {
                            let error = live_connection
                                .as_ref()
                                .and_then(|c| c.authorization_error.clone())
                                .unwrap_or_else(|| "not authorized".to_owned());
                            let why = format!(
                                "connection \"{}\" was sent these credentials and Workato still reports: {error}",
                                connection.name
                            );
                            let change = self.change(
                                3,
                                Action::Authorize,
                                subject.clone(),
                                Reason::ConnectionAuthFailed,
                                json!({ "fingerprint": format!("fp:{}", short_fingerprint(&fingerprint)), "authorization_status": live_connection.as_ref().and_then(|c| c.authorization_status.clone()) }),
                                json!({ "fingerprint": format!("fp:{}", short_fingerprint(&fingerprint)), "authorization_status": "success" }),
                                target.clone(),
                            );
                            self.block(change, format!("{why}; fix the credentials, or `apply --refresh-credentials` to send them again"));
                            Err(why)
                        }
                    } else {
                        let after = format!("fp:{}", short_fingerprint(&fingerprint));
                        self.plan_authorize(subject.clone(), recorded.as_deref(), after, &target);
                        Ok(())
                    }
                }
                CredentialState::Unknown { why } => {
                    if recorded.is_some() && authorized_now && !import_planned {
                        self.plan.notes.push(Note::customer(
                            &self.customer.external_id,
                            format!(
                                "credentials of `{reference}` not compared ({why}); `plan --out` and `apply` need them"
                            ),
                        ));
                        Ok(())
                    } else {
                        // Said now, not first at `plan --out` or `apply`, which need them.
                        self.plan.notes.push(Note::customer(
                            &self.customer.external_id,
                            format!(
                                "credentials of `{reference}` are not known yet ({why}); `plan --out` and `apply` need them"
                            ),
                        ));
                        let after = "(known at apply)".to_owned();
                        self.plan_authorize(subject.clone(), recorded.as_deref(), after, &target);
                        Ok(())
                    }
                }
            };
            if let Err(why) = &outcome {
                gate_problems.push(why.clone());
            }
            authorized_after.push((connection.name.clone(), outcome, connection_id));
        }

        authorized_after
    }

    /// Phase 3: the required recipes, started when every connection they need will be
    /// authorized; blocked otherwise, or when Workato stopped them on its own.
    #[allow(clippy::too_many_arguments)]
    fn phase_recipes(
        &mut self,
        manifest: &DesiredManifest,
        customer_id: Option<u64>,
        folder_id: Option<u64>,
        recipes: &[(&str, Option<&'a LiveRecipe>)],
        import: &ImportOutlook,
        authorized_after: &[(String, Result<(), String>, Option<u64>)],
        gate_problems: &mut Vec<String>,
    ) {
        let key = manifest.key.clone();
        let import_planned = import.planned;
        let import_blocked = import.blocked.as_ref();
        for recipe in manifest
            .recipes
            .iter()
            .filter(|r| manifest.required.contains(&r.name))
        {
            let live_recipe = recipes
                .iter()
                .find(|(name, _)| *name == recipe.name)
                .and_then(|(_, found)| *found);
            let recipe_subject = Subject::Recipe {
                manifest: key.clone(),
                recipe: recipe.name.clone(),
            };
            let target = Target {
                customer_id,
                folder_id,
                recipe_id: live_recipe.map(|r| r.id),
                ..Target::default()
            };
            let running_after = match live_recipe {
                Some(r) if r.running => !import_planned || manifest.restart_recipes || !r.running,
                _ => false,
            };
            if running_after && import_blocked.is_none() {
                continue;
            }
            if let Some(cause) = live_recipe
                .filter(|r| !r.running)
                .and_then(|r| r.stop_cause.clone())
                && !import_planned
            {
                let why = format!(
                    "recipe \"{}\" was stopped by Workato ({cause}); fix the cause in Workato, then start it there",
                    recipe.name
                );
                let change = self.change(
                    3,
                    Action::Start,
                    recipe_subject,
                    Reason::RecipeStoppedByWorkato,
                    json!({ "running": false, "stop_cause": cause }),
                    json!({ "running": true }),
                    target,
                );
                self.block(change, why.clone());
                gate_problems.push(why);
                continue;
            }
            if import_blocked.is_some() && live_recipe.is_some_and(|r| r.running) {
                continue;
            }
            // Every connection it needs must be authorized after this plan.
            let missing: Vec<String> = recipe
                .needs
                .iter()
                .filter_map(|needed| {
                    match authorized_after.iter().find(|(name, _, _)| name == needed) {
                        Some((_, Ok(()), _)) => None,
                        Some((_, Err(why), _)) => Some(why.clone()),
                        None => {
                            // Not managed by the file: only Workato's state counts.
                            let authorized = self.live.is_some_and(|live| {
                                live.connections.iter().any(|c| &c.name == needed && !c.is_runtime() && c.is_authorized())
                            });
                            (!authorized).then(|| format!("connection \"{needed}\" is not managed by the file and not authorized"))
                        }
                    }
                })
                .collect();
            if let Some(first) = missing.first() {
                let why = format!("recipe \"{}\" cannot start: {first}", recipe.name);
                let change = self.change(
                    3,
                    Action::Start,
                    recipe_subject,
                    Reason::RecipeCannotStart,
                    json!({ "running": false }),
                    json!({ "running": true }),
                    target,
                );
                self.block(change, why.clone());
                gate_problems.push(why);
                continue;
            }
            let change = self.change(
                3,
                Action::Start,
                recipe_subject,
                Reason::RecipeNotRunning,
                json!({ "running": false }),
                json!({ "running": true }),
                target,
            );
            self.plan.changes.push(change);
        }
    }

    // Phase 4: runtime user connections of one manifest.
    fn phase_runtime_users(
        &mut self,
        manifest: &DesiredManifest,
        customer_id: Option<u64>,
        outlook: &ManifestOutlook,
    ) {
        let key = &manifest.key;
        for connection in manifest.connections.iter().filter(|c| c.runtime_users) {
            let reference = format!("{key}.{}", connection.key);
            let parent_id = match connection.parent {
                Parent::None => None,
                Parent::Default => {
                    let recipes = self.manifest_recipes(manifest, outlook.folder_id);
                    self.default_connection(connection, &recipes).map(|c| c.id)
                }
            };
            let provider = self.live_provider(manifest, connection, outlook);
            let connector = connection.connector();
            let live_runtime: Vec<&LiveConnection> = self
                .live
                .map(|live| {
                    live.connections
                        .iter()
                        .filter(|c| c.external_id.is_some() && is_provider(&connector, &c.provider))
                        .filter(|c| outlook.folder_id.is_none() || c.folder_id == outlook.folder_id)
                        .collect()
                })
                .unwrap_or_default();
            // Connections of one connector may belong to several of the manifest's connections
            // ("Dropbox - Ann", "Dropbox Personal - Ann"): each belongs to the one whose name,
            // followed by " - ", is its longest prefix, and to no other.
            let siblings: Vec<&str> = manifest
                .connections
                .iter()
                .filter(|c| c.runtime_users && c.connector() == connector)
                .map(|c| c.name.as_str())
                .collect();
            let live_runtime: Vec<&LiveConnection> = if siblings.len() > 1 {
                live_runtime
                    .into_iter()
                    .filter(|c| owner_of(&c.name, &siblings) == Some(connection.name.as_str()))
                    .collect()
            } else {
                live_runtime
            };
            let mut functions = connection.recipe_functions.clone();
            // Longest first, so "Get file (v2)" is not read as "Get file".
            functions.sort_by_key(|f| std::cmp::Reverse(f.len()));
            for user in &self.customer.runtime_users {
                let mut wanted: Vec<Option<&str>> = connection
                    .recipe_functions
                    .iter()
                    .map(|f| Some(f.as_str()))
                    .collect();
                if connection.plain_needed || connection.recipe_functions.is_empty() {
                    wanted.insert(0, None);
                }
                for function in wanted {
                    self.runtime_connection(
                        manifest,
                        connection,
                        &reference,
                        user,
                        function,
                        &functions,
                        &live_runtime,
                        parent_id,
                        &provider,
                        customer_id,
                        outlook,
                    );
                }
            }
            // Connections of end users the file no longer lists.
            for unlisted in live_runtime.iter().filter(|c| {
                !self
                    .customer
                    .runtime_users
                    .iter()
                    .any(|u| c.external_id.as_deref() == Some(u.id.as_str()))
            }) {
                let subject = Subject::RuntimeConnection {
                    manifest: key.clone(),
                    connection: connection.key.clone(),
                    user: unlisted.external_id.clone().unwrap_or_default(),
                    function: function_of(&unlisted.name, &functions),
                };
                if self.customer.prune_runtime_users {
                    let change = self.change(
                        4,
                        Action::Delete,
                        subject,
                        Reason::RuntimeConnectionUnlisted,
                        json!({ "name": unlisted.name }),
                        Value::Null,
                        Target {
                            customer_id,
                            folder_id: outlook.folder_id,
                            connection_id: Some(unlisted.id),
                            ..Target::default()
                        },
                    );
                    self.plan.changes.push(change);
                } else {
                    self.plan.unmanaged.push(Unmanaged {
                        customer: self.customer.external_id.clone(),
                        kind: Kind::RuntimeConnection,
                        key: subject.key(&self.customer.external_id),
                        reason: Reason::RuntimeConnectionUnlisted,
                        id: Some(unlisted.id),
                    });
                }
            }
        }
    }

    /// The provider that the runtime connections of `connection` are created with: a standard
    /// connector's own; a custom connector's live id in this workspace (`matching`), or, when the
    /// workspace has none yet (this apply imports the package), where apply reads it.
    fn live_provider(
        &self,
        manifest: &DesiredManifest,
        connection: &DesiredConnection,
        outlook: &ManifestOutlook,
    ) -> Result<String, ProviderRef> {
        let recipes = self.manifest_recipes(manifest, outlook.folder_id);
        let connector = connection.connector();
        let default = self.live.and_then(|live| {
            live.workspace()
                .default_connection(
                    &connection.name,
                    &connector,
                    recipes.iter().filter_map(|(_, recipe)| *recipe),
                )
                .found
        });
        Workspace::live_provider(
            &connector,
            default,
            recipes.iter().filter_map(|(_, recipe)| *recipe),
        )
        .ok_or_else(|| ProviderRef::LiveOf {
            manifest: manifest.key.clone(),
            connection: connection.key.clone(),
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn runtime_connection(
        &mut self,
        manifest: &DesiredManifest,
        connection: &DesiredConnection,
        reference: &str,
        user: &DesiredUser,
        function: Option<&str>,
        functions_longest_first: &[String],
        live_runtime: &[&LiveConnection],
        parent_id: Option<u64>,
        provider: &Result<String, ProviderRef>,
        customer_id: Option<u64>,
        outlook: &ManifestOutlook,
    ) {
        let name = match function {
            Some(function) => format!("{} - {} - {function}", connection.name, user.label()),
            None => format!("{} - {}", connection.name, user.label()),
        };
        // A dedicated connection never has a parent (the parent connection trap).
        let wanted_parent = if function.is_some() { None } else { parent_id };
        let parent = match (function, connection.parent, wanted_parent) {
            (Some(_), _, _) | (None, Parent::None, _) => ParentRef::None,
            (None, Parent::Default, Some(id)) => ParentRef::Connection(id),
            // The default connection comes with this plan's import: apply finds it then.
            (None, Parent::Default, None) => ParentRef::DefaultOf {
                manifest: manifest.key.clone(),
                connection: connection.key.clone(),
            },
        };
        let subject = Subject::RuntimeConnection {
            manifest: manifest.key.clone(),
            connection: connection.key.clone(),
            user: user.id.clone(),
            function: function.map(str::to_owned),
        };
        // The end user's connection with exactly the name it should have; failing that (the user
        // was renamed), the one whose name ends with the function, or none, unless that one has
        // exactly the name of another of this user's connections (a name ending in ` - <function>`
        // must not make a plain connection look like the function's).
        let theirs = |c: &&&LiveConnection| c.external_id.as_deref() == Some(user.id.as_str());
        let other_names: Vec<String> = std::iter::once(None)
            .chain(connection.recipe_functions.iter().map(|f| Some(f.as_str())))
            .filter(|other| *other != function)
            .map(|other| match other {
                Some(other) => format!("{} - {} - {other}", connection.name, user.label()),
                None => format!("{} - {}", connection.name, user.label()),
            })
            .collect();
        let exact: Vec<&LiveConnection> = live_runtime
            .iter()
            .filter(theirs)
            .filter(|c| c.name == name)
            .copied()
            .collect();
        let loose: Vec<&LiveConnection> = live_runtime
            .iter()
            .filter(theirs)
            .filter(|c| {
                c.name != name
                    && function_of(&c.name, functions_longest_first).as_deref() == function
                    && !other_names.contains(&c.name)
            })
            .copied()
            .collect();
        // The one to keep has the right parent, exactly the name first. One with the wrong
        // parent is replaced; when the right one exists too (a replace stopped between creating
        // the new connection and deleting the old), the wrong one is only deleted. A connection
        // found by its function alone (the user was renamed) is never deleted while a right one
        // exists.
        fn lowest<'c>(
            pool: &[&'c LiveConnection],
            parent: Option<u64>,
            right: bool,
        ) -> Option<&'c LiveConnection> {
            pool.iter()
                .filter(|c| (c.parent_id == parent) == right)
                .min_by_key(|c| c.id)
                .copied()
        }
        let right =
            lowest(&exact, wanted_parent, true).or_else(|| lowest(&loose, wanted_parent, true));
        let wrong = lowest(&exact, wanted_parent, false).or_else(|| {
            if right.is_none() {
                lowest(&loose, wanted_parent, false)
            } else {
                None
            }
        });
        let target = Target {
            customer_id,
            folder_id: outlook.folder_id,
            connection_id: wrong.or(right).map(|c| c.id),
            name: Some(name.clone()),
            provider: provider.as_ref().ok().cloned(),
            provider_of: provider.as_ref().err().cloned(),
            parent,
            ..Target::default()
        };
        let change = match (right, wrong) {
            (None, None) => Some(self.change(
                4,
                Action::Create,
                subject.clone(),
                Reason::RuntimeConnectionMissing,
                Value::Null,
                json!({
                    "name": name,
                    "provider": provider.as_ref().map_or(connection.provider.as_str(), String::as_str),
                    "external_id": user.id,
                    "parent_id": wanted_parent,
                }),
                target,
            )),
            (Some(_), Some(wrong)) => Some(self.change(
                4,
                Action::Delete,
                subject.clone(),
                Reason::RuntimeConnectionWrongParent,
                json!({ "name": wrong.name, "parent_id": wrong.parent_id }),
                Value::Null,
                target,
            )),
            (None, Some(wrong)) => Some(self.change(
                4,
                Action::Replace,
                subject.clone(),
                Reason::RuntimeConnectionWrongParent,
                json!({ "name": wrong.name, "parent_id": wrong.parent_id }),
                json!({ "name": name, "parent_id": wanted_parent }),
                target,
            )),
            (Some(live), None) if live.name != name => Some(self.change(
                4,
                Action::Update,
                subject.clone(),
                Reason::RuntimeConnectionRenamed,
                json!({ "name": live.name }),
                json!({ "name": name }),
                target,
            )),
            (Some(_), None) => None,
        };
        // Who has to act, and why: the connection kept (or to be created) decides; a replace
        // whose new connection does not exist yet means connecting again.
        let pending = match (right, wrong) {
            (Some(live), _) if live.is_authorized() => None,
            (Some(live), _) => {
                let status = PendingStatus::of(Some(live));
                let error = (status == PendingStatus::AuthorizationFailed)
                    .then(|| live.authorization_error.clone())
                    .flatten();
                Some((Some(live.id), status, error))
            }
            (None, Some(_)) => Some((None, PendingStatus::Replaced, None)),
            (None, None) => Some((None, PendingStatus::NeverConnected, None)),
        }
        .map(|(connection_id, status, authorization_error)| PendingUser {
            customer: self.customer.external_id.clone(),
            user: user.id.clone(),
            connection: reference.to_owned(),
            recipe_function: function.map(str::to_owned),
            connection_id,
            status,
            authorization_error,
            reason: Reason::RuntimeConnectionPending,
        });
        match (change, &outlook.gate_closed_by) {
            (Some(mut change), Some(why)) => {
                change.reason = Reason::GateClosed;
                self.block(change, format!("integration setup is in progress: {why}"));
                // Only people who could act now: a connection that exists.
                if let Some(pending) = pending.filter(|p| p.connection_id.is_some()) {
                    self.plan.pending_users.push(pending);
                }
            }
            (Some(change), None) => {
                self.plan.changes.push(change);
                if let Some(pending) = pending {
                    self.plan.pending_users.push(pending);
                }
            }
            (None, _) => {
                if let Some(pending) = pending {
                    self.plan.pending_users.push(pending);
                }
            }
        }
    }
}

/// Which of `names` (connections of one connector) a runtime connection's name belongs to: the
/// longest that, followed by ` - `, starts it.
fn owner_of<'n>(name: &str, names: &[&'n str]) -> Option<&'n str> {
    names
        .iter()
        .filter(|owner| {
            name.strip_prefix(**owner)
                .is_some_and(|rest| rest.starts_with(" - "))
        })
        .max_by_key(|owner| owner.len())
        .copied()
}

/// The recipe function a runtime connection's name ends with (`… - <function>`), matched
/// longest first; `None` for a plain connection.
fn function_of(name: &str, functions_longest_first: &[String]) -> Option<String> {
    functions_longest_first
        .iter()
        .find(|function| name.ends_with(&format!(" - {function}")))
        .cloned()
}

/// The fields of `wanted` that differ from `current`: (before, after).
fn changed_fields(
    current: &Value,
    wanted: &Value,
) -> (
    serde_json::Map<String, Value>,
    serde_json::Map<String, Value>,
) {
    let mut before = serde_json::Map::new();
    let mut after = serde_json::Map::new();
    if let Some(wanted) = wanted.as_object() {
        for (field, value) in wanted {
            let now = current.get(field).cloned().unwrap_or(Value::Null);
            if &now != value {
                before.insert(field.clone(), now);
                after.insert(field.clone(), value.clone());
            }
        }
    }
    (before, after)
}

/// An asset of a package as the plan names it.
fn asset_ref(key: &str) -> Option<AssetRef> {
    inventory::describe(key).map(|named| AssetRef {
        type_name: named.type_name,
        name: named.name,
    })
}

/// Recipes first, then connections, custom connectors, other assets, files.
fn asset_rank(type_name: &str) -> u8 {
    match type_name {
        "recipe" => 0,
        "connection" => 1,
        "custom_connector" => 2,
        "file" => 4,
        _ => 3,
    }
}

fn short_digest(digest: &str) -> String {
    format!("sha256:{}", digest.get(..12).unwrap_or(digest))
}

fn quoted_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|name| format!("\"{name}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An import change showing, when the manifest names one, the project its root-folder (Home)
/// assets go into.
fn with_home_assets_folder(mut change: Change, manifest: &DesiredManifest) -> Change {
    let mut after = change.after.value();
    if let (Some(name), Some(fields)) = (&manifest.home_assets_folder, after.as_object_mut()) {
        fields.insert("home_assets_folder".to_owned(), json!(name));
        change.after = after.into();
    }
    change
}
