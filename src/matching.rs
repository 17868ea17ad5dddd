//! How the objects of the file are found among a workspace's live objects: the one home of these
//! rules, used by `diff` when it plans and by `apply` when an object the plan could not know the
//! id of (imported by the same apply) must be found.
//!
//! - A recipe is found by name among all the workspace's recipes (imports create sub-folders); a
//!   name found more than once prefers one inside the manifest folder's tree, then the lowest id.
//! - A default connection is the one that the manifest's recipes name in `config[].account_id`
//!   for its connector (and that has its name and no end user); failing that, the connection with
//!   its name and connector and no end user or parent, the lowest id when there are several (the
//!   others are reported).
//! - A live provider is a connector's when it is the same provider, or, for a custom connector,
//!   any `<slug>__connector_<id>_<ts>` with its slug ([`is_provider`]): the import gives
//!   the connector a new id in each workspace, so the package's id is never looked for.
//! - A custom connector's live provider is the one of its default connection, else the one the
//!   manifest's recipes name in `config[]` ([`Workspace::live_provider`]).

use crate::live::{LiveConnection, LiveCustomer, LiveFolder, LiveRecipe};
use crate::package::{Connector, custom_slug};

/// Whether a live provider string (a connection's or a recipe config entry's) is `connector`:
/// the same provider, or for a custom connector any id with its slug, whatever the
/// workspace-specific part.
pub fn is_provider(connector: &Connector, live_provider: &str) -> bool {
    match connector {
        Connector::Standard(provider) => provider == live_provider,
        Connector::Custom(slug) => custom_slug(live_provider) == Some(slug.as_str()),
    }
}

/// What of a workspace the rules look at.
#[derive(Clone, Copy, Debug)]
pub struct Workspace<'l> {
    pub connections: &'l [LiveConnection],
    pub recipes: &'l [LiveRecipe],
    /// The folder tree, when it was read; without it only the manifest folder itself counts as
    /// "inside".
    pub folders: Option<&'l [LiveFolder]>,
}

impl LiveCustomer {
    /// The workspace as the matching rules see it.
    pub fn workspace(&self) -> Workspace<'_> {
        Workspace {
            connections: &self.connections,
            recipes: &self.recipes,
            folders: self.projects.as_deref(),
        }
    }
}

/// The default connection of a desired connection, and the ids of other candidates that were
/// passed over (to report).
#[derive(Clone, Debug, Default)]
pub struct DefaultConnection<'l> {
    pub found: Option<&'l LiveConnection>,
    pub passed_over: Vec<u64>,
}

impl<'l> Workspace<'l> {
    /// The live recipe named `name`, preferring one inside the folder `folder_id` (the manifest's
    /// project), then the lowest id.
    pub fn recipe(&self, name: &str, folder_id: Option<u64>) -> Option<&'l LiveRecipe> {
        let mut candidates: Vec<&'l LiveRecipe> = self
            .recipes
            .iter()
            .filter(|candidate| candidate.name == name)
            .collect();
        candidates.sort_by_key(|candidate| {
            let inside = match (folder_id, candidate.folder_id) {
                (Some(root), Some(folder)) => self.inside(folder, root),
                _ => false,
            };
            (!inside, candidate.id)
        });
        candidates.first().copied()
    }

    /// The default connection named `name` for `connector`, given the live recipes of the
    /// manifest (those found by `recipe`).
    pub fn default_connection<'r>(
        &self,
        name: &str,
        connector: &Connector,
        manifest_recipes: impl IntoIterator<Item = &'r LiveRecipe>,
    ) -> DefaultConnection<'l> {
        let used = manifest_recipes
            .into_iter()
            .flat_map(|recipe| recipe.config.iter())
            .filter(|entry| is_provider(connector, &entry.provider))
            .filter_map(|entry| entry.account_id)
            .find_map(|id| {
                self.connections
                    .iter()
                    .find(|c| c.id == id && !c.is_runtime() && c.name == name)
            });
        if let Some(found) = used {
            return DefaultConnection {
                found: Some(found),
                passed_over: Vec::new(),
            };
        }
        let mut candidates: Vec<&'l LiveConnection> = self
            .connections
            .iter()
            .filter(|c| c.name == name && is_provider(connector, &c.provider) && !c.is_runtime())
            .collect();
        candidates.sort_by_key(|c| c.id);
        let mut candidates = candidates.into_iter();
        let found = candidates.next();
        DefaultConnection {
            found,
            passed_over: candidates.map(|c| c.id).collect(),
        }
    }

    /// The provider string a connection of `connector` has in this workspace: a standard
    /// connector's own; for a custom connector, the live id of the default connection found
    /// (`default`), else the first one the manifest's live recipes name in `config[]`; `None` when
    /// the workspace has neither yet (the package is not imported).
    pub fn live_provider<'r>(
        connector: &Connector,
        default: Option<&'l LiveConnection>,
        manifest_recipes: impl IntoIterator<Item = &'r LiveRecipe>,
    ) -> Option<String> {
        let Connector::Custom(_) = connector else {
            return Some(connector.file_provider().to_owned());
        };
        default
            .map(|c| c.provider.as_str())
            .filter(|provider| is_provider(connector, provider))
            .map(str::to_owned)
            .or_else(|| {
                manifest_recipes
                    .into_iter()
                    .flat_map(|recipe| recipe.config.iter())
                    .find(|entry| is_provider(connector, &entry.provider))
                    .map(|entry| entry.provider.clone())
            })
    }

    /// Whether `folder` is `root` or inside it; without the folder tree, only `root` itself.
    pub fn inside(&self, folder: u64, root: u64) -> bool {
        let Some(folders) = self.folders else {
            return folder == root;
        };
        let mut current = Some(folder);
        // Bounded walk: a malformed tree with a cycle must not hang.
        for _ in 0..64 {
            match current {
                Some(id) if id == root => return true,
                Some(id) => {
                    current = folders
                        .iter()
                        .find(|f| f.id == id)
                        .and_then(|f| f.parent_id)
                }
                None => return false,
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::LiveRecipeConfig;

    fn connection(id: u64, name: &str, provider: &str) -> LiveConnection {
        LiveConnection {
            id,
            name: name.to_owned(),
            provider: provider.to_owned(),
            folder_id: None,
            parent_id: None,
            external_id: None,
            authorization_status: None,
            authorization_error: None,
        }
    }

    fn recipe(id: u64, name: &str, folder: u64, uses: Option<u64>) -> LiveRecipe {
        LiveRecipe {
            id,
            name: name.to_owned(),
            folder_id: Some(folder),
            running: false,
            stop_cause: None,
            config: vec![LiveRecipeConfig {
                provider: "partner_app".to_owned(),
                skip_validation: false,
                account_id: uses,
            }],
        }
    }

    #[test]
    fn the_connection_the_recipes_use_wins_over_the_lowest_id() {
        let connections = [
            connection(5, "PartnerApp", "partner_app"),
            connection(9, "PartnerApp", "partner_app"),
        ];
        let recipes = [recipe(20, "List files", 1, Some(9))];
        let workspace = Workspace {
            connections: &connections,
            recipes: &recipes,
            folders: None,
        };
        let partner_app = Connector::Standard("partner_app".to_owned());
        let found = workspace.default_connection("PartnerApp", &partner_app, &recipes);
        assert_eq!(found.found.map(|c| c.id), Some(9));
        let found = workspace.default_connection("PartnerApp", &partner_app, &[]);
        assert_eq!(found.found.map(|c| c.id), Some(5));
        assert_eq!(found.passed_over, vec![9]);
    }

    #[test]
    fn a_custom_connector_is_any_id_with_its_slug() {
        let custom = Connector::Custom("partner_app".to_owned());
        assert!(is_provider(&custom, "partner_app__connector_7_1700000000"));
        assert!(is_provider(&custom, "partner_app__connector_91_1800000000"));
        assert!(!is_provider(&custom, "partner_app"));
        assert!(!is_provider(&custom, "other__connector_7_1700000000"));
        let standard = Connector::Standard("dropbox".to_owned());
        assert!(is_provider(&standard, "dropbox") && !is_provider(&standard, "box"));
        let standard = Connector::Standard("partner_app".to_owned());
        assert!(!is_provider(
            &standard,
            "partner_app__connector_7_1700000000"
        ));
    }

    #[test]
    fn a_custom_connector_is_found_by_its_slug_whatever_the_workspace_id() {
        let live_id = "partner_app__connector_41_1800000000";
        let connections = [
            connection(5, "PartnerApp", "partner_app__connector_7_1700000000"),
            connection(9, "PartnerApp", live_id),
        ];
        let mut used = recipe(20, "List files", 1, Some(9));
        used.config[0].provider = live_id.to_owned();
        let recipes = [used];
        let workspace = Workspace {
            connections: &connections,
            recipes: &recipes,
            folders: None,
        };
        let custom = Connector::Custom("partner_app".to_owned());
        let found = workspace.default_connection("PartnerApp", &custom, &recipes);
        assert_eq!(found.found.map(|c| c.id), Some(9));
        assert_eq!(
            Workspace::live_provider(&custom, found.found, &recipes).as_deref(),
            Some(live_id)
        );
        // Without a default connection, the recipes' config says it.
        assert_eq!(
            Workspace::live_provider(&custom, None, &recipes).as_deref(),
            Some(live_id)
        );
        assert_eq!(Workspace::live_provider(&custom, None, &[]), None);
        // The standard connector of the same name is not the custom one.
        let standard = Connector::Standard("partner_app".to_owned());
        assert!(
            workspace
                .default_connection("PartnerApp", &standard, &[])
                .found
                .is_none()
        );
        assert_eq!(
            Workspace::live_provider(&standard, None, &[]).as_deref(),
            Some("partner_app")
        );
    }

    #[test]
    fn a_recipe_inside_the_manifest_folder_wins() {
        let recipes = [
            recipe(3, "List files", 7, None),
            recipe(8, "List files", 1, None),
        ];
        let folders = [
            LiveFolder {
                id: 1,
                name: "Files Sync".to_owned(),
                parent_id: None,
                project_id: None,
            },
            LiveFolder {
                id: 7,
                name: "Other".to_owned(),
                parent_id: None,
                project_id: None,
            },
        ];
        let workspace = Workspace {
            connections: &[],
            recipes: &recipes,
            folders: Some(&folders),
        };
        assert_eq!(
            workspace.recipe("List files", Some(1)).map(|r| r.id),
            Some(8)
        );
        assert_eq!(workspace.recipe("List files", None).map(|r| r.id), Some(3));
        assert_eq!(workspace.recipe("Nope", Some(1)).map(|r| r.id), None);
    }
}
