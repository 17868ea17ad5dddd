//! `Client`: every request embedctl sends to Workato, paced, retried and counted.
//!
//! Each endpoint method names its endpoint family (the budget it draws on) and whether the
//! request may be sent again after it may have reached Workato (`Replay`). One loop, `execute`,
//! does the rest: wait for the family's slot, send, and on 429, 5xx, a timeout or a lost
//! connection wait and try again, or stop.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::config::ClientConfig;
use super::decode;
use super::error::ClientError;
use super::limits::EndpointFamily;
use super::pacing::Pacer;
use super::retry::RetryPolicy;
use crate::redact::Secrets;

use super::wire::{
    ActionResult, Connection, Customer, CustomerUpdate, Folder, ImportStatus, NewConnection,
    NewCustomer, Recipe,
};

/// Items per page on every paged list (Workato's maximum).
pub const PAGE_SIZE: usize = 100;

/// A connections list of exactly this many items may have been cut (docs/workato-api.md).
pub const CONNECTION_LIST_CAP: usize = 1_000;

/// The smallest page size Workato documents for a paged list (the recipes list's default; its
/// docs give 10 in one version and 100 in another). A page with fewer items than this is the last
/// one whatever the server's page size: a server that pages by 10 or more never answers a page
/// that short unless nothing follows. A page with this many or more, even short of `PAGE_SIZE`,
/// may be followed by another (a server may cap `per_page` below what was asked), so the list is
/// read on to its first empty page.
pub const MIN_SERVER_PAGE: usize = 10;

/// No list is read past this many pages (a million objects): a server that always answers with a
/// new full page would otherwise be read forever.
pub const MAX_PAGES: u32 = 10_000;

/// Which customer workspace a path names: the numeric id whenever it is known, else
/// `E<external id>` (docs/workato-api.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CustomerRef<'a> {
    Id(u64),
    ExternalId(&'a str),
}

impl From<u64> for CustomerRef<'_> {
    fn from(id: u64) -> Self {
        CustomerRef::Id(id)
    }
}

impl CustomerRef<'_> {
    /// The path segment: `123`, or `E` + the URL-encoded external id (`AM10:XV303` →
    /// `EAM10%3AXV303`).
    pub fn segment(&self) -> String {
        match self {
            CustomerRef::Id(id) => id.to_string(),
            CustomerRef::ExternalId(external_id) => format!("E{}", encode_segment(external_id)),
        }
    }
}

/// Filters of the connections list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnectionFilter {
    /// Also return runtime user connections (hidden by default).
    pub include_runtime_connections: bool,
    pub provider: Option<String>,
    pub folder_id: Option<u64>,
    pub external_id: Option<String>,
}

/// The Workato API client. Cheap to clone: clones share the pacing and the call counts.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base_url: String,
    authorization: HeaderValue,
    retry: RetryPolicy,
    rate_share: f64,
    pacer: Pacer,
    calls: Mutex<BTreeMap<EndpointFamily, u64>>,
    /// Taken out of every text Workato sends back.
    secrets: Secrets,
    /// Divides `Retry-After` (Workato's seconds) under `EMBEDCTL_TIME_SCALE`.
    time_scale: f64,
    /// One attempt's limit, the answer's body included.
    attempt_timeout: Duration,
    /// A request's limit in all, from its first attempt.
    request_deadline: Duration,
    max_body_bytes: usize,
}

impl fmt::Debug for Client {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Client")
            .field("base_url", &self.inner.base_url)
            .field("token", &"***")
            .field("rate_share", &self.inner.rate_share)
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

/// Whether a request may be sent again after it may have reached Workato.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Replay {
    /// Sending it twice does what sending it once does: GET, PUT, DELETE, the properties upsert,
    /// and imports (idempotent by content, docs/workato-api.md).
    Idempotent,
    /// A POST that creates: sent again only when it provably did not reach Workato (it could not
    /// connect, or Workato answered 429); otherwise the caller gets `OutcomeUnknown`.
    Create,
}

/// A request body.
enum Payload<'a> {
    Empty,
    Json(Vec<u8>),
    Zip(&'a [u8]),
}

/// One request, as data, so that it can be sent again.
struct Request<'a> {
    family: EndpointFamily,
    method: Method,
    path: String,
    query: Vec<(&'static str, String)>,
    payload: Payload<'a>,
    replay: Replay,
}

impl Request<'_> {
    fn new(family: EndpointFamily, method: Method, path: String, replay: Replay) -> Self {
        Self {
            family,
            method,
            path,
            query: Vec::new(),
            payload: Payload::Empty,
            replay,
        }
    }

    fn get(family: EndpointFamily, path: String) -> Self {
        Self::new(family, Method::GET, path, Replay::Idempotent)
    }

    fn query(mut self, name: &'static str, value: impl ToString) -> Self {
        self.query.push((name, value.to_string()));
        self
    }

    fn json(mut self, body: &impl serde::Serialize) -> Self {
        // Serializing plain structs and maps of JSON values cannot fail.
        self.payload = Payload::Json(serde_json::to_vec(body).unwrap_or_default());
        self
    }

    /// `GET /managed_users?page=2`: how errors name the request (never a body).
    fn operation(&self) -> String {
        let mut text = format!("{} {}", self.method, self.path);
        for (index, (name, value)) in self.query.iter().enumerate() {
            text.push(if index == 0 { '?' } else { '&' });
            text.push_str(name);
            text.push('=');
            text.push_str(value);
        }
        text
    }
}

/// What Workato answered, after retries. An empty body is `Value::Null` once interpreted.
struct Answer {
    status: u16,
    body: Vec<u8>,
    attempts: u32,
}

/// Why one attempt failed.
enum Failure {
    /// The request never left: it may be sent again, whatever it is.
    NotSent(String),
    /// The request may have reached Workato, but no answer came back.
    Lost(String),
    Throttled(Option<Duration>),
    Server(u16, String),
    /// The attempt's deadline passed before the whole answer arrived.
    TimedOut,
    /// The answer's body is larger than the client reads (with the status it came with).
    TooLarge(u16),
}

/// Objects that lists page through, for spotting a server that ignores `page`.
trait Identified {
    fn id(&self) -> u64;
}

impl Identified for Customer {
    fn id(&self) -> u64 {
        self.id
    }
}

impl Identified for Folder {
    fn id(&self) -> u64 {
        self.id
    }
}

impl Identified for Recipe {
    fn id(&self) -> u64 {
        self.id
    }
}

impl Client {
    /// A client for `config`.
    pub fn new(config: ClientConfig) -> Result<Client, ClientError> {
        let authorization = config.token.header_value()?;
        config.secrets.add(config.token.value());
        let http = reqwest::Client::builder()
            .user_agent(concat!("embedctl/", env!("CARGO_PKG_VERSION")))
            // Each attempt is also bounded in `execute`; this is the transport's own guard.
            .timeout(config.request_timeout)
            .connect_timeout(Duration::from_secs(10))
            // Workato's API does not redirect; following one could turn a POST into a GET or
            // carry the token to another host.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| ClientError::Setup {
                reason: describe(error),
            })?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base_url: config.base_url,
                authorization,
                retry: config.retry,
                rate_share: config.rate_share,
                pacer: Pacer::new(config.rate_share, config.time_scale),
                calls: Mutex::new(BTreeMap::new()),
                secrets: config.secrets,
                time_scale: config.time_scale,
                attempt_timeout: config.request_timeout,
                request_deadline: config.request_deadline,
                max_body_bytes: config.max_body_bytes,
            }),
        })
    }

    /// The API base URL (`https://www.workato.com/api`).
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The secret values redacted from Workato's answers; values added to it later (credentials
    /// resolved just before apply) are redacted too.
    pub fn secrets(&self) -> &Secrets {
        &self.inner.secrets
    }

    /// The factor every duration derived from Workato's clock is divided by
    /// (`EMBEDCTL_TIME_SCALE`; 1 against Workato).
    pub fn time_scale(&self) -> f64 {
        self.inner.time_scale
    }

    /// The share of each rate limit this client uses.
    pub fn rate_share(&self) -> f64 {
        self.inner.rate_share
    }

    /// Requests sent so far per family name (retries included: each one draws on the budget).
    pub fn calls(&self) -> BTreeMap<String, u64> {
        self.lock_calls()
            .iter()
            .map(|(family, count)| (family.name().to_owned(), *count))
            .collect()
    }

    // ----- customers -----

    /// One page (from 1) of customers, up to `PAGE_SIZE`.
    pub async fn list_customers_page(&self, page: u32) -> Result<Vec<Customer>, ClientError> {
        self.list(customers_page(page)).await
    }

    /// Every customer, page by page until an empty page.
    pub async fn list_customers(&self) -> Result<Vec<Customer>, ClientError> {
        self.all_pages(customers_page).await
    }

    /// One customer; `None` when Workato does not know it.
    pub async fn get_customer<'c>(
        &self,
        customer: impl Into<CustomerRef<'c>>,
    ) -> Result<Option<Customer>, ClientError> {
        let path = format!("/managed_users/{}", customer.into().segment());
        match self
            .object(Request::get(EndpointFamily::Customers, path))
            .await
        {
            Ok(customer) => Ok(Some(customer)),
            Err(ClientError::NotFound { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// The customer with this external id (`GET /managed_users/E<ext>`); `None` when none.
    pub async fn get_customer_by_external_id(
        &self,
        external_id: &str,
    ) -> Result<Option<Customer>, ClientError> {
        self.get_customer(CustomerRef::ExternalId(external_id))
            .await
    }

    /// Creates a customer. `OutcomeUnknown` when the answer was lost: look it up by external id.
    pub async fn create_customer(&self, customer: &NewCustomer) -> Result<Customer, ClientError> {
        let request = Request::new(
            EndpointFamily::CustomersCreate,
            Method::POST,
            "/managed_users".to_owned(),
            Replay::Create,
        )
        .json(customer);
        self.object(request).await
    }

    /// Changes the fields set in `update`.
    pub async fn update_customer(
        &self,
        customer_id: u64,
        update: &CustomerUpdate,
    ) -> Result<Customer, ClientError> {
        let request = Request::new(
            EndpointFamily::Customers,
            Method::PUT,
            format!("/managed_users/{customer_id}"),
            Replay::Idempotent,
        )
        .json(update);
        self.object(request).await
    }

    // ----- folders -----

    /// The direct children of `parent_id`, or the top-level folders (projects) without it.
    pub async fn list_folders<'c>(
        &self,
        customer: impl Into<CustomerRef<'c>>,
        parent_id: Option<u64>,
    ) -> Result<Vec<Folder>, ClientError> {
        let segment = customer.into().segment();
        self.all_pages(|page| {
            let request = Request::get(
                EndpointFamily::Folders,
                format!("/managed_users/{segment}/folders"),
            );
            let request = match parent_id {
                Some(parent) => request.query("parent_id", parent),
                None => request,
            };
            request.query("page", page).query("per_page", PAGE_SIZE)
        })
        .await
    }

    /// Creates a folder; without a parent it is a project. `OutcomeUnknown` when the answer was
    /// lost: list the folders and look for the name.
    pub async fn create_folder<'c>(
        &self,
        customer: impl Into<CustomerRef<'c>>,
        name: &str,
        parent_id: Option<u64>,
    ) -> Result<Folder, ClientError> {
        let mut body = json!({ "name": name });
        if let (Some(parent), Some(fields)) = (parent_id, body.as_object_mut()) {
            fields.insert("parent_id".to_owned(), json!(parent));
        }
        let request = Request::new(
            EndpointFamily::Folders,
            Method::POST,
            format!("/managed_users/{}/folders", customer.into().segment()),
            Replay::Create,
        )
        .json(&body);
        self.object(request).await
    }

    /// Renames a project (a top-level folder) through the projects route, which is the one that
    /// handles projects (`PUT …/projects/:project_id`).
    pub async fn rename_project<'c>(
        &self,
        customer: impl Into<CustomerRef<'c>>,
        project_id: u64,
        name: &str,
    ) -> Result<(), ClientError> {
        let request = Request::new(
            EndpointFamily::Folders,
            Method::PUT,
            format!(
                "/managed_users/{}/projects/{project_id}",
                customer.into().segment()
            ),
            Replay::Idempotent,
        )
        .json(&json!({ "name": name }));
        self.value(request).await.map(|_| ())
    }

    // ----- connections -----

    /// The connections matching `filter`. A list of exactly `CONNECTION_LIST_CAP` items may have
    /// been cut: narrow the filter (`observe` does).
    pub async fn list_connections<'c>(
        &self,
        customer: impl Into<CustomerRef<'c>>,
        filter: &ConnectionFilter,
    ) -> Result<Vec<Connection>, ClientError> {
        let mut request = Request::get(
            EndpointFamily::ConnectionsList,
            format!("/managed_users/{}/connections", customer.into().segment()),
        );
        if filter.include_runtime_connections {
            request = request.query("include_runtime_connections", "true");
        }
        if let Some(provider) = &filter.provider {
            request = request.query("provider", provider);
        }
        if let Some(folder_id) = filter.folder_id {
            request = request.query("folder_id", folder_id);
        }
        if let Some(external_id) = &filter.external_id {
            request = request.query("external_id", external_id);
        }
        self.list(request).await
    }

    /// Creates a connection (a shell, or one authorized by its `input`). `OutcomeUnknown` when
    /// the answer was lost: list the connections and look for it by its natural key.
    pub async fn create_connection<'c>(
        &self,
        customer: impl Into<CustomerRef<'c>>,
        connection: &NewConnection,
    ) -> Result<Connection, ClientError> {
        let request = Request::new(
            EndpointFamily::Connections,
            Method::POST,
            format!("/managed_users/{}/connections", customer.into().segment()),
            Replay::Create,
        )
        .json(connection);
        self.object(request).await
    }

    /// Updates a connection with `body` (`name`, `input`, `oauth_token_pair`, `folder_id`,
    /// `parent_id`, `external_id`: whichever the caller puts in). New `input` re-authorizes it;
    /// the answer says whether that worked (`authorization_status`).
    pub async fn update_connection<'c>(
        &self,
        customer: impl Into<CustomerRef<'c>>,
        connection_id: u64,
        body: &Map<String, Value>,
    ) -> Result<Connection, ClientError> {
        let request = Request::new(
            EndpointFamily::Connections,
            Method::PUT,
            format!(
                "/managed_users/{}/connections/{connection_id}",
                customer.into().segment()
            ),
            Replay::Idempotent,
        )
        .json(body);
        self.object(request).await
    }

    /// Disconnects a connection (drops its tokens; the end user would have to connect again).
    /// Never forced: a connection that running recipes use is refused, not stopped. The answer's
    /// shape differs between Workato's APIs (`{"result": […]}` or `{"success": true}`): any
    /// 2xx JSON that is not a refusal is success; disconnecting twice is a no-op.
    pub async fn disconnect_connection<'c>(
        &self,
        customer: impl Into<CustomerRef<'c>>,
        connection_id: u64,
    ) -> Result<(), ClientError> {
        let request = Request::new(
            EndpointFamily::Connections,
            Method::POST,
            format!(
                "/managed_users/{}/connections/{connection_id}/disconnect",
                customer.into().segment()
            ),
            Replay::Idempotent,
        )
        .json(&serde_json::json!({}));
        let operation = request.operation();
        let answer = self.execute(&request).await?;
        self.interpret(&operation, &answer).map(|_| ())
    }

    /// Deletes a connection. A 404 after a retry counts as done: the attempt whose answer was
    /// lost deleted it.
    pub async fn delete_connection<'c>(
        &self,
        customer: impl Into<CustomerRef<'c>>,
        connection_id: u64,
    ) -> Result<(), ClientError> {
        let request = Request::new(
            EndpointFamily::Connections,
            Method::DELETE,
            format!(
                "/managed_users/{}/connections/{connection_id}",
                customer.into().segment()
            ),
            Replay::Idempotent,
        );
        let operation = request.operation();
        let answer = self.execute(&request).await?;
        if answer.status == 404 && answer.attempts > 1 {
            return Ok(());
        }
        self.interpret(&operation, &answer).map(|_| ())
    }

    // ----- recipes -----

    /// One page (from 1) of the workspace's recipes, without their code.
    pub async fn list_recipes_page<'c>(
        &self,
        customer: impl Into<CustomerRef<'c>>,
        page: u32,
    ) -> Result<Vec<Recipe>, ClientError> {
        self.list(recipes_page(&customer.into().segment(), page))
            .await
    }

    /// Every recipe of the workspace, page by page until an empty page.
    pub async fn list_recipes<'c>(
        &self,
        customer: impl Into<CustomerRef<'c>>,
    ) -> Result<Vec<Recipe>, ClientError> {
        let segment = customer.into().segment();
        self.all_pages(|page| recipes_page(&segment, page)).await
    }

    /// Starts a recipe. Workato's refusal (HTTP 200 with `success: false` and `config_errors`,
    /// e.g. an unauthorized connection) is `ClientError::Refused` with the errors spelled out.
    pub async fn start_recipe<'c>(
        &self,
        customer: impl Into<CustomerRef<'c>>,
        recipe_id: u64,
    ) -> Result<(), ClientError> {
        self.recipe_action(customer.into(), recipe_id, "start", "running")
            .await
    }

    /// Stops a recipe.
    pub async fn stop_recipe<'c>(
        &self,
        customer: impl Into<CustomerRef<'c>>,
        recipe_id: u64,
    ) -> Result<(), ClientError> {
        self.recipe_action(customer.into(), recipe_id, "stop", "stopped")
            .await
    }

    /// `PUT …/recipes/:id/start|stop`. When an earlier attempt's answer was lost, the retry may
    /// find the recipe already in the wanted state ("invalid state running"): that is success.
    async fn recipe_action(
        &self,
        customer: CustomerRef<'_>,
        recipe_id: u64,
        action: &str,
        wanted_state: &str,
    ) -> Result<(), ClientError> {
        let request = Request::new(
            EndpointFamily::Recipes,
            Method::PUT,
            format!(
                "/managed_users/{}/recipes/{recipe_id}/{action}",
                customer.segment()
            ),
            Replay::Idempotent,
        );
        let operation = request.operation();
        let answer = self.execute(&request).await?;
        if answer.attempts > 1
            && answer.status == 400
            && decode::error_message(&answer.body, &self.inner.secrets)
                .contains(&format!("invalid state {wanted_state}"))
        {
            return Ok(());
        }
        let value = self.interpret(&operation, &answer)?;
        let _: ActionResult = self.clean(decode::object(value, &operation))?;
        Ok(())
    }

    // ----- imports -----

    /// Imports a package zip into `folder_id` (asynchronous: poll `import_status`), its root-folder
    /// (Home) assets into `home_assets_folder_id` (`folder_id_for_home_assets`) when given. Sent
    /// again after a lost answer: imports are idempotent by content (docs/workato-api.md).
    pub async fn import_package<'c>(
        &self,
        customer: impl Into<CustomerRef<'c>>,
        folder_id: u64,
        home_assets_folder_id: Option<u64>,
        zip: &[u8],
        restart_recipes: bool,
    ) -> Result<ImportStatus, ClientError> {
        let mut request = Request::new(
            EndpointFamily::ImportsCreate,
            Method::POST,
            format!("/managed_users/{}/imports", customer.into().segment()),
            Replay::Idempotent,
        )
        .query("folder_id", folder_id)
        .query("restart_recipes", restart_recipes);
        if let Some(home_assets_folder_id) = home_assets_folder_id {
            request = request.query("folder_id_for_home_assets", home_assets_folder_id);
        }
        request.payload = Payload::Zip(zip);
        self.object(request).await
    }

    /// Where an import stands.
    pub async fn import_status<'c>(
        &self,
        customer: impl Into<CustomerRef<'c>>,
        import_id: u64,
    ) -> Result<ImportStatus, ClientError> {
        let path = format!(
            "/managed_users/{}/imports/{import_id}",
            customer.into().segment()
        );
        self.object(Request::get(EndpointFamily::ImportsStatus, path))
            .await
    }

    // ----- properties -----

    /// The environment properties whose names start with `prefix`.
    pub async fn get_properties<'c>(
        &self,
        customer: impl Into<CustomerRef<'c>>,
        prefix: &str,
    ) -> Result<BTreeMap<String, String>, ClientError> {
        let request = Request::get(
            EndpointFamily::PropertiesList,
            format!("/managed_users/{}/properties", customer.into().segment()),
        )
        .query("prefix", prefix);
        let operation = request.operation();
        let value = self.value(request).await?;
        self.clean(decode::properties(value, &operation))
    }

    /// Sets properties by name (an upsert: sending it twice is harmless, so it is retried).
    pub async fn upsert_properties<'c>(
        &self,
        customer: impl Into<CustomerRef<'c>>,
        properties: &BTreeMap<String, String>,
    ) -> Result<(), ClientError> {
        let request = Request::new(
            EndpointFamily::PropertiesUpsert,
            Method::POST,
            format!("/managed_users/{}/properties", customer.into().segment()),
            Replay::Idempotent,
        )
        .json(&json!({ "properties": properties }));
        self.value(request).await.map(|_| ())
    }

    // ----- the machinery -----

    async fn value(&self, request: Request<'_>) -> Result<Value, ClientError> {
        let operation = request.operation();
        let answer = self.execute(&request).await?;
        self.interpret(&operation, &answer)
    }

    async fn object<T: DeserializeOwned>(&self, request: Request<'_>) -> Result<T, ClientError> {
        let operation = request.operation();
        let value = self.value(request).await?;
        self.clean(decode::object(value, &operation))
    }

    async fn list<T: DeserializeOwned>(&self, request: Request<'_>) -> Result<Vec<T>, ClientError> {
        let operation = request.operation();
        let value = self.value(request).await?;
        self.clean(decode::list(value, &operation))
    }

    /// Workato's answer as JSON (`Null` for an empty body), its free text (error messages,
    /// `authorization_error`) redacted; or the error it stands for, redacted.
    fn interpret(&self, operation: &str, answer: &Answer) -> Result<Value, ClientError> {
        let mut value = self.clean(interpret(operation, answer, &self.inner.secrets))?;
        redact_free_text(&mut value, &self.inner.secrets);
        Ok(value)
    }

    /// `result` with every secret taken out of its error's text.
    fn clean<T>(&self, result: Result<T, ClientError>) -> Result<T, ClientError> {
        result.map_err(|error| error.redacted(&self.inner.secrets))
    }

    /// Reads pages from 1 until an empty one, or one with fewer than `MIN_SERVER_PAGE` items. A
    /// page that is merely short of `PAGE_SIZE` is not the end: a server may cap `per_page` below
    /// what was asked. A page that repeats objects already read, or more than `MAX_PAGES` pages,
    /// is an error naming the endpoint: such a list would never end.
    async fn all_pages<T, F>(&self, page_request: F) -> Result<Vec<T>, ClientError>
    where
        T: DeserializeOwned + Identified,
        F: Fn(u32) -> Request<'static>,
    {
        let mut all = Vec::new();
        let mut seen = BTreeSet::new();
        for page in 1.. {
            let request = page_request(page);
            let endpoint = format!("{} {}", request.method, request.path);
            let items: Vec<T> = self.list(request).await?;
            if items.is_empty() {
                return Ok(all);
            }
            if page > MAX_PAGES {
                return Err(ClientError::EndlessList {
                    endpoint,
                    reason: format!(
                        "it has more than {MAX_PAGES} pages; no account has that many objects, so \
                         embedctl stopped reading"
                    ),
                });
            }
            let count = items.len();
            let repeated = items.iter().filter(|item| !seen.insert(item.id())).count();
            if repeated > 0 {
                return Err(ClientError::EndlessList {
                    endpoint,
                    reason: format!(
                        "page {page} repeats the ids of {repeated} of its {count} objects; the \
                         server ignores `page`, or the list changed while it was read: run \
                         again, and report it if it persists"
                    ),
                });
            }
            all.extend(items);
            if count < MIN_SERVER_PAGE {
                return Ok(all);
            }
        }
        // `1..` does not end; this is only for the type checker.
        Ok(all)
    }

    /// Sends `request` until Workato answers with something other than 429 or 5xx, the attempts
    /// or the request's deadline run out, or a create may have reached Workato without an answer.
    /// Errors come back redacted.
    async fn execute(&self, request: &Request<'_>) -> Result<Answer, ClientError> {
        self.clean(self.execute_unredacted(request).await)
    }

    async fn execute_unredacted(&self, request: &Request<'_>) -> Result<Answer, ClientError> {
        let policy = self.inner.retry;
        let max_attempts = policy.max_attempts.max(1);
        let mut attempt = 0;
        let mut first_sent: Option<Instant> = None;
        loop {
            attempt += 1;
            // Waiting for the family's turn is embedctl's own pacing, not Workato's slowness: the
            // request's deadline counts from its first attempt.
            self.inner.pacer.wait_turn(request.family).await;
            let started = *first_sent.get_or_insert_with(Instant::now);
            *self.lock_calls().entry(request.family).or_default() += 1;
            // Each attempt has its own deadline, and never outlives the request's.
            let remaining = self
                .inner
                .request_deadline
                .saturating_sub(started.elapsed());
            let sent = tokio::time::timeout(
                self.inner.attempt_timeout.min(remaining),
                self.send_once(request),
            )
            .await;
            let failure = match sent {
                Err(_elapsed) => Failure::TimedOut,
                Ok(Ok((status, retry_after, body))) => match status {
                    429 => Failure::Throttled(retry_after),
                    500..=599 => {
                        Failure::Server(status, decode::error_message(&body, &self.inner.secrets))
                    }
                    _ => {
                        return Ok(Answer {
                            status,
                            body,
                            attempts: attempt,
                        });
                    }
                },
                Ok(Err(failure)) => failure,
            };
            let operation = request.operation();
            if let Failure::TooLarge(status) = failure {
                // Sending it again would bring the same answer.
                let limit_mib = self.inner.max_body_bytes / (1024 * 1024);
                return Err(if request.replay == Replay::Create {
                    ClientError::OutcomeUnknown {
                        operation,
                        reason: format!(
                            "Workato answered HTTP {status} with a body larger than {limit_mib} \
                             MiB, which was not read"
                        ),
                    }
                } else {
                    ClientError::TooLarge {
                        operation,
                        status,
                        limit_mib,
                    }
                });
            }
            if request.replay == Replay::Create {
                let reason = match &failure {
                    Failure::Lost(reason) => Some(reason.clone()),
                    Failure::Server(status, message) => {
                        Some(format!("Workato answered HTTP {status} ({message})"))
                    }
                    Failure::TimedOut => Some(format!(
                        "no complete answer within {} s",
                        self.inner.attempt_timeout.as_secs()
                    )),
                    Failure::NotSent(_) | Failure::Throttled(_) | Failure::TooLarge(_) => None,
                };
                if let Some(reason) = reason {
                    return Err(ClientError::OutcomeUnknown { operation, reason });
                }
            }
            let delay = match &failure {
                // `Retry-After` is in Workato's seconds; a time-scaled test server's are shorter.
                Failure::Throttled(retry_after) => policy.delay(
                    attempt,
                    retry_after.map(|wait| scaled_down(wait, self.inner.time_scale)),
                ),
                _ => policy.delay(attempt, None),
            };
            let elapsed = started.elapsed();
            let out_of_time = elapsed + delay >= self.inner.request_deadline;
            if attempt >= max_attempts || out_of_time {
                return Err(match failure {
                    Failure::Throttled(_) => ClientError::RateLimited {
                        operation,
                        attempts: attempt,
                    },
                    Failure::Server(status, message) => ClientError::Server {
                        operation,
                        status,
                        message,
                        attempts: attempt,
                    },
                    Failure::TimedOut | Failure::TooLarge(_) => ClientError::TimedOut {
                        operation,
                        attempts: attempt,
                        per_attempt_secs: self.inner.attempt_timeout.as_secs(),
                        elapsed_secs: elapsed.as_secs(),
                    },
                    Failure::NotSent(reason) | Failure::Lost(reason) => ClientError::Transport {
                        operation,
                        reason,
                        attempts: attempt,
                    },
                });
            }
            match failure {
                // Every request of the family waits, not only this one.
                Failure::Throttled(_) => self.inner.pacer.hold(request.family, delay),
                _ => tokio::time::sleep(delay).await,
            }
        }
    }

    /// One attempt: status, `Retry-After`, body.
    async fn send_once(
        &self,
        request: &Request<'_>,
    ) -> Result<(u16, Option<Duration>, Vec<u8>), Failure> {
        let url = format!("{}{}", self.inner.base_url, request.path);
        let mut builder = self
            .inner
            .http
            .request(request.method.clone(), url)
            .header(AUTHORIZATION, self.inner.authorization.clone())
            .header(ACCEPT, "application/json");
        if !request.query.is_empty() {
            builder = builder.query(&request.query);
        }
        builder = match &request.payload {
            Payload::Empty => builder,
            Payload::Json(bytes) => builder
                .header(CONTENT_TYPE, "application/json")
                .body(bytes.clone()),
            Payload::Zip(bytes) => builder
                .header(CONTENT_TYPE, "application/octet-stream")
                .body(bytes.to_vec()),
        };
        let response = builder.send().await.map_err(|error| {
            if error.is_timeout() {
                Failure::TimedOut
            } else if error.is_connect() {
                Failure::NotSent(format!(
                    "cannot connect to `{}` ({})",
                    self.inner.base_url,
                    innermost_cause(error)
                ))
            } else if error.is_builder() {
                Failure::NotSent(describe(error))
            } else {
                Failure::Lost(describe(error))
            }
        })?;
        let status = response.status().as_u16();
        let retry_after = retry_after(response.headers());
        // Read piece by piece, so that an oversized answer costs no more memory than the limit.
        let limit = self.inner.max_body_bytes;
        if response
            .content_length()
            .is_some_and(|length| length > limit as u64)
        {
            return Err(Failure::TooLarge(status));
        }
        let mut response = response;
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|error| {
            if error.is_timeout() {
                Failure::TimedOut
            } else {
                Failure::Lost(describe(error))
            }
        })? {
            if body.len() + chunk.len() > limit {
                return Err(Failure::TooLarge(status));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, retry_after, body))
    }

    fn lock_calls(&self) -> std::sync::MutexGuard<'_, BTreeMap<EndpointFamily, u64>> {
        // Counters stay meaningful even if a panic interrupted an increment elsewhere.
        self.inner
            .calls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn customers_page(page: u32) -> Request<'static> {
    Request::get(EndpointFamily::Customers, "/managed_users".to_owned())
        .query("page", page)
        .query("per_page", PAGE_SIZE)
}

fn recipes_page(segment: &str, page: u32) -> Request<'static> {
    Request::get(
        EndpointFamily::RecipesRead,
        format!("/managed_users/{segment}/recipes"),
    )
    .query("page", page)
    .query("per_page", PAGE_SIZE)
    .query("exclude_code", "true")
}

/// Workato's answer as JSON (`Null` for an empty body), or the error it stands for: 401/403,
/// 404, other 4xx, and HTTP 200 with `success: false`.
fn interpret(operation: &str, answer: &Answer, secrets: &Secrets) -> Result<Value, ClientError> {
    let operation = operation.to_owned();
    match answer.status {
        200..=299 => {
            let value = decode::parse(&answer.body, &operation)?;
            match decode::refusal(&value, secrets) {
                Some(summary) => Err(ClientError::Refused { operation, summary }),
                None => Ok(value),
            }
        }
        401 | 403 => Err(ClientError::Unauthorized {
            operation,
            status: answer.status,
            message: decode::error_message(&answer.body, secrets),
        }),
        404 => Err(ClientError::NotFound {
            operation,
            message: decode::error_message(&answer.body, secrets),
        }),
        status => Err(ClientError::Api {
            operation,
            status,
            message: decode::error_message(&answer.body, secrets),
        }),
    }
}

/// The fields of Workato's objects and answers that carry free text, which may repeat a request.
const FREE_TEXT_FIELDS: &[&str] = &[
    "authorization_error",
    "connection_lost_reason",
    "error",
    "errors",
    "message",
    "code_errors",
    "config_errors",
];

/// Redacts every string under a free-text field, at any depth.
fn redact_free_text(value: &mut Value, secrets: &Secrets) {
    if secrets.is_empty() {
        return;
    }
    fn all_strings(value: &mut Value, secrets: &Secrets) {
        match value {
            Value::String(text) => secrets.redact_in_place(text),
            Value::Array(items) => items.iter_mut().for_each(|item| all_strings(item, secrets)),
            Value::Object(fields) => fields
                .values_mut()
                .for_each(|field| all_strings(field, secrets)),
            _ => {}
        }
    }
    match value {
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| redact_free_text(item, secrets)),
        Value::Object(fields) => {
            for (name, field) in fields.iter_mut() {
                if FREE_TEXT_FIELDS.contains(&name.as_str()) {
                    all_strings(field, secrets);
                } else {
                    redact_free_text(field, secrets);
                }
            }
        }
        _ => {}
    }
}

/// `Retry-After` in seconds (the HTTP-date form is not used by Workato and is ignored). A value
/// too large for a `Duration` is read as the longest one; the retry policy caps every wait anyway.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let seconds = text.parse::<f64>().ok()?;
    if seconds.is_nan() || seconds < 0.0 {
        return None;
    }
    Some(Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX))
}

/// `wait` divided by `time_scale` (`EMBEDCTL_TIME_SCALE`), never panicking on an odd scale.
fn scaled_down(wait: Duration, time_scale: f64) -> Duration {
    if !time_scale.is_finite() || time_scale <= 0.0 {
        return wait;
    }
    Duration::try_from_secs_f64(wait.as_secs_f64() / time_scale).unwrap_or(Duration::MAX)
}

/// What went wrong on the wire, without the URL (its query may name objects) and with the
/// innermost cause, which is the useful one ("Connection refused").
fn describe(error: reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "cannot connect"
    } else if error.is_body() || error.is_decode() {
        "the answer was cut off"
    } else {
        "the request failed"
    };
    format!("{kind} ({})", innermost_cause(error))
}

fn innermost_cause(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut cause: &dyn std::error::Error = &error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// Everything but RFC 3986's unreserved characters (letters, digits, `-`, `.`, `_`, `~`).
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes one path segment.
fn encode_segment(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_ids_are_encoded_as_one_segment() {
        assert_eq!(
            CustomerRef::ExternalId("AM10:XV303").segment(),
            "EAM10%3AXV303"
        );
        assert_eq!(CustomerRef::ExternalId("A2300").segment(), "EA2300");
        assert_eq!(CustomerRef::ExternalId("a/b c").segment(), "Ea%2Fb%20c");
        assert_eq!(CustomerRef::from(42).segment(), "42");
    }

    #[test]
    fn operations_name_method_path_and_query() {
        let request = customers_page(2);
        assert_eq!(
            request.operation(),
            "GET /managed_users?page=2&per_page=100"
        );
    }

    #[test]
    fn retry_after_reads_seconds() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), None);
    }
}
