//! Which connector a connection or a recipe step uses: a standard one, named by its provider
//! (`dropbox`), or a custom connector of the package, named by its slug.
//!
//! A custom connector is packaged as `<slug>.custom_adapter.json` (with its `.rb` code and its
//! logo). Its connection file names it by an object whose `zip_name` is that file, and recipes name
//! it by a workspace-specific id `<slug>__connector_<id>_<timestamp>`, where `<id>` is the
//! connector's id in the workspace that exported the package. After an import Workato gives the
//! connector a new id in the customer workspace, so the id is never a key: only the slug is.

use std::fmt;

/// The file-name suffix of a custom connector's definition in an RLCM package.
pub(crate) const CUSTOM_ADAPTER_SUFFIX: &str = ".custom_adapter.json";

/// What separates the slug from the workspace-specific part of a custom connector's id.
const CUSTOM_ID_MARKER: &str = "__connector_";

/// The connector of a package connection or of a recipe's `config[]` entry.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Connector {
    /// A connector of Workato's, named by its provider, e.g. `dropbox`.
    Standard(String),
    /// A custom connector of the package, named by its slug, e.g. `nabu_casa_home_assistant_cloud`.
    Custom(String),
}

impl Default for Connector {
    fn default() -> Connector {
        Connector::Standard(String::new())
    }
}

impl Connector {
    /// The connector a recipe's `config[].provider` (or any Workato provider string) names: a
    /// custom connector's id `<slug>__connector_<id>_<ts>` gives its slug, anything else is a
    /// standard provider.
    pub fn of_provider(provider: &str) -> Connector {
        match custom_slug(provider) {
            Some(slug) => Connector::Custom(slug.to_owned()),
            None => Connector::Standard(provider.to_owned()),
        }
    }

    /// The connector a connection file's `provider` object names by its `zip_name`
    /// (`<slug>.custom_adapter.json`, possibly in a sub-folder).
    pub fn of_custom_adapter(zip_name: &str) -> Option<Connector> {
        let file = zip_name.rsplit('/').next().unwrap_or(zip_name);
        file.strip_suffix(CUSTOM_ADAPTER_SUFFIX)
            .filter(|slug| !slug.is_empty())
            .map(|slug| Connector::Custom(slug.to_owned()))
    }

    /// What the desired-state file writes as `provider:`: the provider, or the custom connector's
    /// slug.
    pub fn file_provider(&self) -> &str {
        match self {
            Connector::Standard(provider) | Connector::Custom(provider) => provider,
        }
    }

    /// Whether this is a custom connector.
    pub fn is_custom(&self) -> bool {
        matches!(self, Connector::Custom(_))
    }
}

impl fmt::Display for Connector {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.file_provider())
    }
}

/// The slug of a custom connector's id `<slug>__connector_<id>_<ts>`, or `None` for any other
/// provider string. The part after the marker must be digits and underscores, so a standard
/// provider that merely contains the marker is not taken for a custom one.
pub fn custom_slug(provider: &str) -> Option<&str> {
    let (slug, rest) = provider.rsplit_once(CUSTOM_ID_MARKER)?;
    let well_formed = !slug.is_empty()
        && !rest.is_empty()
        && rest.starts_with(|c: char| c.is_ascii_digit())
        && rest.chars().all(|c| c.is_ascii_digit() || c == '_');
    well_formed.then_some(slug)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_ids_name_their_slug() {
        let id = "nabu_casa_home_assistant_cloud__connector_2100002083_1768260720";
        assert_eq!(custom_slug(id), Some("nabu_casa_home_assistant_cloud"));
        assert_eq!(
            Connector::of_provider(id),
            Connector::Custom("nabu_casa_home_assistant_cloud".to_owned())
        );
        assert_eq!(
            Connector::of_provider("dropbox"),
            Connector::Standard("dropbox".to_owned())
        );
        for not_custom in [
            "dropbox",
            "__connector_1_2",
            "a__connector_",
            "a__connector_x1",
            "a__connector_1_b",
        ] {
            assert_eq!(custom_slug(not_custom), None, "{not_custom}");
        }
    }

    #[test]
    fn a_custom_adapter_file_names_its_slug() {
        let connector = Connector::of_custom_adapter("Apps/partner_app.custom_adapter.json");
        assert_eq!(connector, Some(Connector::Custom("partner_app".to_owned())));
        let connector = connector.unwrap_or_default();
        assert!(connector.is_custom());
        assert_eq!(connector.file_provider(), "partner_app");
        assert_eq!(Connector::of_custom_adapter("x.connection.json"), None);
        assert_eq!(Connector::of_custom_adapter(".custom_adapter.json"), None);
    }
}
