//! What `export` reads of an account: every customer (or those asked for), and of each its
//! `embedctl_` properties, its connections (runtime user connections included), its recipes and
//! its folder tree. Reading only: nothing is written to Workato.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::live::{LiveConnection, LiveFolder, LiveRecipe, property};
use crate::observe::{connections_and_recipes, read_concurrently};
use crate::workato::wire::Customer;
use crate::workato::{Client, ClientError};

/// The most folders read of one workspace: a tree larger than this is an error, so that a
/// server that answers with the same folder again and again cannot keep export reading.
pub const MAX_FOLDERS: usize = 10_000;

/// One customer workspace as export read it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AccountCustomer {
    pub id: u64,
    /// `None` for a customer made without one; it cannot be in a desired-state file.
    pub external_id: Option<String>,
    pub name: String,
    pub notification_email: Option<String>,
    /// The customer has Embedded environments: nothing of its workspace is read.
    pub has_environments: bool,
    /// The `embedctl_` properties: what an earlier apply recorded.
    pub properties: BTreeMap<String, String>,
    pub connections: Vec<LiveConnection>,
    pub recipes: Vec<LiveRecipe>,
    /// Every folder of the workspace's projects, each with `project_id` set to the project
    /// (top-level folder) it is in; a project's is its own id.
    pub folders: Vec<LiveFolder>,
}

/// Why the account could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// `--customer` names a customer Workato does not know.
    #[error("`--customer {0}`: Workato has no customer with that `external_id`")]
    UnknownCustomer(String),
    #[error("cannot read Workato: {0}")]
    Client(#[from] ClientError),
    #[error("cannot read Workato: the folders of customer `{customer}` go beyond {MAX_FOLDERS}")]
    TooManyFolders { customer: String },
}

/// Reads every customer of the account, or only those whose `external_id` is in `only`, sorted
/// by id.
pub async fn read_account(
    client: &Client,
    only: &[String],
) -> Result<Vec<AccountCustomer>, ReadError> {
    let customers = if only.is_empty() {
        client.list_customers().await?
    } else {
        let mut found = Vec::new();
        for external_id in only {
            match client.get_customer_by_external_id(external_id).await? {
                Some(customer) => found.push(customer),
                None => return Err(ReadError::UnknownCustomer(external_id.clone())),
            }
        }
        found
    };
    let mut read = read_concurrently(customers, |customer| {
        read_customer(client.clone(), customer)
    })
    .await?
    .into_iter()
    .collect::<Result<Vec<_>, ReadError>>()?;
    read.sort_by_key(|customer| customer.id);
    read.dedup_by_key(|customer| customer.id);
    Ok(read)
}

async fn read_customer(
    client: Client,
    customer: Customer,
) -> Result<Result<AccountCustomer, ReadError>, ClientError> {
    let id = customer.id;
    let mut read = AccountCustomer {
        id,
        has_environments: customer.has_environments(),
        name: customer.name,
        notification_email: customer.notification_email,
        external_id: customer.external_id,
        ..AccountCustomer::default()
    };
    // A customer that cannot be in the file, or whose workspaces embedctl does not manage, is
    // exported without reading its objects.
    if read.external_id.is_none() || read.has_environments {
        return Ok(Ok(read));
    }
    read.properties = client.get_properties(id, property::PREFIX).await?;
    let recorded_folders: BTreeSet<u64> = read
        .properties
        .iter()
        .filter(|(name, _)| name.starts_with(&property::folder("")))
        .filter_map(|(_, value)| value.trim().parse().ok())
        .collect();
    (read.connections, read.recipes) =
        connections_and_recipes(&client, id, &BTreeSet::new(), &[], &recorded_folders).await?;
    match folder_tree(&client, id).await? {
        Some(folders) => read.folders = folders,
        None => {
            return Ok(Err(ReadError::TooManyFolders {
                customer: read.external_id.unwrap_or_default(),
            }));
        }
    }
    Ok(Ok(read))
}

/// The projects and every folder under them, breadth first, one list per folder; `None` beyond
/// `MAX_FOLDERS`.
async fn folder_tree(
    client: &Client,
    customer_id: u64,
) -> Result<Option<Vec<LiveFolder>>, ClientError> {
    let mut folders: Vec<LiveFolder> = Vec::new();
    let mut seen: BTreeSet<u64> = BTreeSet::new();
    let mut queue: VecDeque<(Option<u64>, Option<u64>)> = VecDeque::from([(None, None)]);
    while let Some((parent, project)) = queue.pop_front() {
        for folder in client.list_folders(customer_id, parent).await? {
            if !seen.insert(folder.id) {
                continue;
            }
            if folders.len() >= MAX_FOLDERS {
                return Ok(None);
            }
            let project_id = project.unwrap_or(folder.id);
            queue.push_back((Some(folder.id), Some(project_id)));
            folders.push(LiveFolder {
                id: folder.id,
                name: folder.name,
                parent_id: parent,
                project_id: Some(project_id),
            });
        }
    }
    folders.sort_by_key(|folder| folder.id);
    Ok(Some(folders))
}
