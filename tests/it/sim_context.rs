//! Starting a simulator on `127.0.0.1:0` and talking to it over real HTTP.

use embedctl::sim::{AccountState, RunningSimulator, SimOptions, Simulator};
use serde_json::Value;

/// The bearer token the test simulators accept.
pub const TOKEN: &str = "test-token";

/// A served simulator and a client pointed at it.
pub struct SimContext {
    pub running: RunningSimulator,
    pub client: reqwest::Client,
}

impl SimContext {
    /// An empty account with default options (token `TOKEN`).
    pub async fn start() -> Self {
        Self::start_with(AccountState::default(), SimOptions::default()).await
    }

    /// A simulator over `account` with `options` (the token is forced to `TOKEN`).
    pub async fn start_with(account: AccountState, options: SimOptions) -> Self {
        let options = SimOptions {
            api_token: Some(TOKEN.to_owned()),
            ..options
        };
        let running = RunningSimulator::start(Simulator::new(account, options))
            .await
            .expect("the simulator binds a loopback port");
        Self {
            running,
            client: reqwest::Client::new(),
        }
    }

    /// `http://127.0.0.1:PORT/api` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.base_url())
    }

    /// `http://127.0.0.1:PORT/__sim` + `path`.
    pub fn sim_url(&self, path: &str) -> String {
        let base = self.running.base_url().trim_end_matches("/api");
        format!("{base}/__sim{path}")
    }

    /// An authenticated request.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(TOKEN)
    }

    /// GET `path` and return (status, JSON body).
    pub async fn get(&self, path: &str) -> (u16, Value) {
        send(self.request(reqwest::Method::GET, path)).await
    }

    /// `method` `path` with a JSON body; returns (status, JSON body).
    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> (u16, Value) {
        send(self.request(method, path).json(&body)).await
    }

    /// GET a test-only `/__sim` route.
    pub async fn sim_get(&self, path: &str) -> Value {
        self.client
            .get(self.sim_url(path))
            .send()
            .await
            .expect("the simulator answers")
            .json()
            .await
            .expect("JSON")
    }

    /// POST to a test-only `/__sim` route.
    pub async fn sim_post(&self, path: &str, body: Value) -> (u16, Value) {
        send(self.client.post(self.sim_url(path)).json(&body)).await
    }
}

/// Sends and decodes; a non-JSON body becomes `Value::Null`.
pub async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("the simulator answers");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The bytes of the quickstart example's package, zipped the way embedctl uploads it.
pub fn quickstart_package_zip() -> Vec<u8> {
    let path = crate::context::repo_root().join("examples/quickstart/packages/files-sync");
    embedctl::package::Package::load(&path)
        .expect("the example package loads")
        .zip_bytes
}
