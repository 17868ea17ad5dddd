//! The client against a hostile server: one that echoes secrets, never ends a list, answers with
//! a body too large to hold, trickles its answer, or answers with nothing. Each server is a small
//! axum app on `127.0.0.1:0`, programmed by the test; the client talks to it over real HTTP.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use embedctl::redact::Secrets;
use embedctl::workato::wire::NewCustomer;
use embedctl::workato::{
    ApiToken, Client, ClientConfig, ClientError, ConnectionFilter, DEFAULT_REQUEST_DEADLINE,
    DEFAULT_REQUEST_TIMEOUT, MAX_BODY_BYTES, RetryPolicy,
};
use serde_json::{Map, Value, json};

/// What each test's server counts.
#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    /// Bytes of body the server produced (for streamed bodies: as far as the client read).
    produced: AtomicU64,
}

/// Serves `app` on an ephemeral loopback port for the rest of the test.
async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("a loopback port");
    let address = listener.local_addr().expect("its address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{address}/api")
}

/// A client that never waits between attempts and barely paces.
fn client(base_url: &str, token: &str, secrets: &Secrets) -> Client {
    let mut config = ClientConfig::new(base_url, ApiToken::new(token)).expect("a valid config");
    config.retry = RetryPolicy::immediate();
    config.time_scale = 1_000_000.0;
    config.secrets = secrets.clone();
    Client::new(config).expect("the client builds")
}

fn page_of(query: &BTreeMap<String, String>) -> u64 {
    query
        .get("page")
        .and_then(|page| page.parse().ok())
        .unwrap_or(1)
}

// ---------------------------------------------------------------------------------------------
// Secrets echoed back

/// A secret with every character an encoder may escape.
const CANARY: &str = "CANARY-k3y\"with\\quotes</script>&é";

/// Every form in which the canary might appear in a text.
fn canary_forms() -> Vec<String> {
    let once = serde_json::to_string(CANARY).expect("serializes");
    let once = once[1..once.len() - 1].to_owned();
    let twice = serde_json::to_string(&once).expect("serializes");
    let twice = twice[1..twice.len() - 1].to_owned();
    vec![
        CANARY.to_owned(),
        once,
        twice,
        "CANARY-k3y".to_owned(),
        "k3y".to_owned(),
    ]
}

fn assert_no_canary(text: &str) {
    for form in canary_forms() {
        assert!(!text.contains(&form), "`{form}` leaked: {text}");
    }
    assert!(
        !text.contains("canary-token-0042"),
        "the token leaked: {text}"
    );
}

#[tokio::test]
async fn secrets_that_workato_echoes_are_redacted_from_every_error_and_answer() {
    // The server repeats whatever it was sent, and the token it was sent with, in every shape a
    // server may use: raw in `message`, JSON-escaped in `errors`, escaped twice, with Rails'
    // `\u003c` escapes, and in a connection's `authorization_error`.
    let echo = |body: Bytes, auth: String| {
        let text = String::from_utf8_lossy(&body).into_owned();
        let escaped = serde_json::to_string(&text).unwrap_or_default();
        let rails = escaped
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026");
        (text, escaped, rails, auth)
    };
    let app = Router::new()
        .route(
            "/api/managed_users/1/connections/7",
            put(
                move |headers: axum::http::HeaderMap, body: Bytes| async move {
                    let auth = headers
                        .get(header::AUTHORIZATION)
                        .and_then(|value| value.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    let (text, escaped, rails, auth) = echo(body, auth);
                    (
                        StatusCode::BAD_REQUEST,
                        axum::Json(json!({
                            "message": format!("Validation failed: {text} (sent with {auth})"),
                            "errors": { "input": [escaped, rails] },
                        })),
                    )
                },
            ),
        )
        .route(
            "/api/managed_users/1/connections/8",
            put(|body: Bytes| async move {
                let text = String::from_utf8_lossy(&body).into_owned();
                axum::Json(json!({
                    "id": 8, "name": "PartnerApp", "provider": "partner_app",
                    "authorization_status": "failed",
                    "authorization_error": format!("Bad credentials in {text}"),
                }))
            }),
        )
        .route(
            "/api/managed_users/1/connections",
            get(|| async {
                axum::Json(json!({ "result": [{
                    "id": 8, "name": "PartnerApp", "provider": "partner_app",
                    "authorization_status": "failed",
                    "authorization_error": format!("key {CANARY} was refused"),
                }] }))
            }),
        )
        .route(
            "/api/managed_users/1/connections/6",
            // A long message: the secret straddles the length at which messages are cut.
            put(|| async {
                let filler = "x".repeat(280);
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    axum::Json(json!({ "message": format!("{filler} {CANARY} and more") })),
                )
            }),
        )
        .route(
            "/api/managed_users/1/recipes/9/start",
            put(|| async {
                axum::Json(json!({
                    "success": false,
                    "config_errors": [[1, [["account_id", CANARY, "unconnected", {}]]]],
                }))
            }),
        );
    let base = serve(app).await;
    let secrets = Secrets::new();
    secrets.add(CANARY);
    let client = client(&base, "canary-token-0042", &secrets);
    let mut body = Map::new();
    body.insert("input".to_owned(), json!({ "api_key": CANARY }));

    let refused = client
        .update_connection(1, 7, &body)
        .await
        .expect_err("a 400");
    let text = refused.to_string();
    assert!(text.contains("Validation failed"), "{text}");
    assert!(text.contains("[redacted]"), "{text}");
    assert_no_canary(&text);
    assert_no_canary(&format!("{refused:?}"));

    let long = client
        .update_connection(1, 6, &body)
        .await
        .expect_err("a 422")
        .to_string();
    assert!(long.contains("[redacted]"), "{long}");
    assert_no_canary(&long);

    let failed = client
        .update_connection(1, 8, &body)
        .await
        .expect("an answer");
    let reason = failed.authorization_error.unwrap_or_default();
    assert!(reason.starts_with("Bad credentials in"), "{reason}");
    assert_no_canary(&reason);

    let listed = client
        .list_connections(1, &ConnectionFilter::default())
        .await
        .expect("a list");
    let reason = listed[0].authorization_error.clone().unwrap_or_default();
    assert_eq!(reason, "key [redacted] was refused");

    let start = client.start_recipe(1, 9).await.expect_err("refused");
    assert!(matches!(start, ClientError::Refused { .. }), "{start:?}");
    assert_no_canary(&start.to_string());
}

// ---------------------------------------------------------------------------------------------
// Lists that never end

#[tokio::test]
async fn a_list_that_always_has_another_page_stops_with_an_error_after_10000_pages() {
    let counters = Arc::new(Counters::default());
    let app = Router::new()
        .route(
            "/api/managed_users",
            get(
                |State(counters): State<Arc<Counters>>,
                 Query(query): Query<BTreeMap<String, String>>| async move {
                    counters.requests.fetch_add(1, Ordering::Relaxed);
                    // Ten new customers a page: a page of ten (the smallest page size Workato
                    // documents) does not end a list, so this one never ends.
                    let first = (page_of(&query) - 1) * 10;
                    let page: Vec<Value> = (first..first + 10)
                        .map(|id| json!({ "id": id + 1, "external_id": format!("c-{id}"), "name": "C" }))
                        .collect();
                    axum::Json(json!({ "result": page }))
                },
            ),
        )
        .with_state(Arc::clone(&counters));
    let base = serve(app).await;
    let error = client(&base, "t", &Secrets::new())
        .list_customers()
        .await
        .expect_err("an endless list is an error");
    assert!(
        matches!(&error, ClientError::EndlessList { endpoint, .. } if endpoint == "GET /managed_users"),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(text.contains("`GET /managed_users`"), "{text}");
    assert!(text.contains("more than 10000 pages"), "{text}");
    // Pages 1 to 10,000 are read, and the 10,001st is one too many.
    assert_eq!(counters.requests.load(Ordering::Relaxed), 10_001);
}

#[tokio::test]
async fn a_server_that_ignores_page_is_an_error_naming_the_endpoint() {
    let app = Router::new().route(
        "/api/managed_users/1/recipes",
        get(|| async {
            let page: Vec<Value> = (1..=100)
                .map(|id| json!({ "id": id, "name": format!("R{id}"), "running": false }))
                .collect();
            axum::Json(json!({ "items": page }))
        }),
    );
    let base = serve(app).await;
    let error = client(&base, "t", &Secrets::new())
        .list_recipes(1)
        .await
        .expect_err("a repeated page is an error");
    let text = error.to_string();
    assert!(
        text.contains("`GET /managed_users/1/recipes`")
            && text.contains("page 2 repeats the ids of 100"),
        "{text}"
    );
}

#[tokio::test]
async fn a_page_shorter_than_any_server_page_ends_the_list() {
    // Three recipes on page 1: no server that pages by 10 or more answers that unless nothing
    // follows, so page 2 is not asked for.
    let counters = Arc::new(Counters::default());
    let app = Router::new()
        .route(
            "/api/managed_users/1/recipes",
            get(|State(counters): State<Arc<Counters>>| async move {
                counters.requests.fetch_add(1, Ordering::Relaxed);
                let page: Vec<Value> = (1..=3)
                    .map(|id| json!({ "id": id, "name": format!("R{id}"), "running": false }))
                    .collect();
                axum::Json(json!({ "items": page }))
            }),
        )
        .with_state(Arc::clone(&counters));
    let base = serve(app).await;
    let recipes = client(&base, "t", &Secrets::new())
        .list_recipes(1)
        .await
        .expect("a list");
    assert_eq!(recipes.len(), 3);
    assert_eq!(counters.requests.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn a_short_page_is_not_the_end_of_a_list() {
    // A server that caps `per_page` at 10, whatever was asked: 25 customers in pages of 10, 10, 5.
    let app = Router::new().route(
        "/api/managed_users",
        get(|Query(query): Query<BTreeMap<String, String>>| async move {
            let first = (page_of(&query) - 1) * 10;
            let page: Vec<Value> = (first..(first + 10).min(25))
                .map(|id| json!({ "id": id + 1, "external_id": format!("c-{id}"), "name": "C" }))
                .collect();
            axum::Json(json!({ "result": page }))
        }),
    );
    let base = serve(app).await;
    let customers = client(&base, "t", &Secrets::new())
        .list_customers()
        .await
        .expect("a list");
    assert_eq!(
        customers.len(),
        25,
        "every customer, not only the first page"
    );
}

// ---------------------------------------------------------------------------------------------
// Bodies too large to hold

/// A streamed body of `total` bytes that is a valid JSON list of customers, counting what it
/// produces.
fn huge_list(total: u64, counters: Arc<Counters>) -> Body {
    const CHUNK: usize = 64 * 1024;
    let item = br#"{"id":1,"external_id":"x","name":"x"},"#;
    let mut filler = Vec::with_capacity(CHUNK);
    while filler.len() + item.len() <= CHUNK {
        filler.extend_from_slice(item);
    }
    let filler = Bytes::from(filler);
    let chunks = total / filler.len() as u64;
    let stream = futures_stream(
        std::iter::once(Bytes::from_static(b"{\"result\":["))
            .chain((0..chunks).map(move |_| filler.clone()))
            .chain(std::iter::once(Bytes::from_static(
                br#"{"id":2,"external_id":"y","name":"y"}]}"#,
            ))),
        counters,
    );
    Body::from_stream(stream)
}

/// An iterator of chunks as a body stream, counting the bytes polled out of it.
fn futures_stream(
    chunks: impl Iterator<Item = Bytes> + Send + Unpin + 'static,
    counters: Arc<Counters>,
) -> impl futures_core::Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    struct Chunks<I> {
        chunks: I,
        counters: Arc<Counters>,
    }
    impl<I: Iterator<Item = Bytes> + Unpin> futures_core::Stream for Chunks<I> {
        type Item = Result<Bytes, Infallible>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _context: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            let next = self.chunks.next();
            if let Some(chunk) = &next {
                self.counters
                    .produced
                    .fetch_add(chunk.len() as u64, Ordering::Relaxed);
            }
            std::task::Poll::Ready(next.map(Ok))
        }
    }
    Chunks { chunks, counters }
}

#[tokio::test]
async fn an_answer_larger_than_32_mib_is_an_error_and_is_not_read_whole() {
    // 500 MB, streamed without a length: the client must stop reading near the limit.
    let counters = Arc::new(Counters::default());
    let app = Router::new()
        .route(
            "/api/managed_users",
            get(|State(counters): State<Arc<Counters>>| async move {
                counters.requests.fetch_add(1, Ordering::Relaxed);
                Response::new(huge_list(500_000_000, counters))
            }),
        )
        .with_state(Arc::clone(&counters));
    let base = serve(app).await;
    let error = client(&base, "t", &Secrets::new())
        .list_customers()
        .await
        .expect_err("too large");
    assert!(
        matches!(error, ClientError::TooLarge { limit_mib: 32, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("larger than 32 MiB"), "{error}");
    assert_eq!(
        counters.requests.load(Ordering::Relaxed),
        1,
        "not sent again"
    );
    let produced = counters.produced.load(Ordering::Relaxed);
    assert!(
        produced < 64 * 1024 * 1024,
        "the client read {produced} bytes of a 500 MB answer"
    );
    assert_eq!(MAX_BODY_BYTES, 32 * 1024 * 1024);

    // A just-too-large answer that says its length is refused before it is read.
    let app = Router::new().route(
        "/api/managed_users/1/properties",
        get(|| async {
            let body = vec![b' '; MAX_BODY_BYTES + 1];
            ([(header::CONTENT_TYPE, "application/json")], body).into_response()
        }),
    );
    let base = serve(app).await;
    let error = client(&base, "t", &Secrets::new())
        .get_properties(1, "embedctl_")
        .await
        .expect_err("too large");
    assert!(matches!(error, ClientError::TooLarge { .. }), "{error:?}");
}

#[tokio::test]
async fn a_create_whose_answer_is_too_large_is_an_unknown_outcome() {
    let counters = Arc::new(Counters::default());
    let app = Router::new()
        .route(
            "/api/managed_users",
            axum::routing::post(|State(counters): State<Arc<Counters>>| async move {
                counters.requests.fetch_add(1, Ordering::Relaxed);
                Response::new(huge_list(40 * 1024 * 1024, counters))
            }),
        )
        .with_state(Arc::clone(&counters));
    let base = serve(app).await;
    let error = client(&base, "t", &Secrets::new())
        .create_customer(&NewCustomer {
            name: "A".to_owned(),
            notification_email: "a@example.com".to_owned(),
            external_id: "a".to_owned(),
        })
        .await
        .expect_err("too large");
    assert!(error.is_outcome_unknown(), "{error:?}");
    assert_eq!(counters.requests.load(Ordering::Relaxed), 1);
}

// ---------------------------------------------------------------------------------------------
// Slow and empty answers

#[tokio::test]
async fn a_trickling_server_times_out_each_attempt_and_the_request_gives_up_at_its_deadline() {
    // Headers at once, then one byte every 50 ms, forever.
    let counters = Arc::new(Counters::default());
    let app = Router::new()
        .route(
            "/api/managed_users/1/properties",
            get(|State(counters): State<Arc<Counters>>| async move {
                counters.requests.fetch_add(1, Ordering::Relaxed);
                let stream = TrickleStream {
                    sleep: Box::pin(tokio::time::sleep(Duration::from_millis(50))),
                };
                Response::builder()
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from_stream(stream))
                    .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
            }),
        )
        .with_state(Arc::clone(&counters));
    let base = serve(app).await;
    let mut config = ClientConfig::new(&base, ApiToken::new("t")).expect("config");
    config.retry = RetryPolicy::immediate();
    config.time_scale = 1_000_000.0;
    config.request_timeout = Duration::from_millis(300);
    config.request_deadline = Duration::from_secs(1);
    let error = Client::new(config)
        .expect("client")
        .get_properties(1, "embedctl_")
        .await
        .expect_err("it never answers");
    let text = error.to_string();
    assert!(
        matches!(error, ClientError::TimedOut { .. }),
        "{error:?}: {text}"
    );
    assert!(
        text.contains("`GET /managed_users/1/properties?prefix=embedctl_` timed out"),
        "{text}"
    );
    // Six attempts were allowed; the deadline stopped it after about a second's worth.
    let attempts = counters.requests.load(Ordering::Relaxed);
    assert!((2..=4).contains(&attempts), "{attempts} attempts");
    // What a real run allows.
    assert_eq!(DEFAULT_REQUEST_TIMEOUT, Duration::from_secs(60));
    assert_eq!(DEFAULT_REQUEST_DEADLINE, Duration::from_secs(180));

    // The request's deadline is a hard limit: an attempt allowed 2 s is cut at the 1 s the
    // request has in all.
    let mut config = ClientConfig::new(&base, ApiToken::new("t")).expect("config");
    config.retry = RetryPolicy::immediate();
    config.time_scale = 1_000_000.0;
    config.request_timeout = Duration::from_secs(2);
    config.request_deadline = Duration::from_secs(1);
    let error = Client::new(config)
        .expect("client")
        .get_properties(1, "embedctl_")
        .await
        .expect_err("it never answers");
    assert!(
        matches!(
            error,
            ClientError::TimedOut {
                attempts: 1,
                elapsed_secs: 1,
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_absurd_retry_after_is_capped_not_a_crash() {
    let counters = Arc::new(Counters::default());
    let app = Router::new()
        .route(
            "/api/managed_users/1/properties",
            get(|State(counters): State<Arc<Counters>>| async move {
                if counters.requests.fetch_add(1, Ordering::Relaxed) == 0 {
                    return (
                        StatusCode::TOO_MANY_REQUESTS,
                        [(header::RETRY_AFTER, "1e300")],
                    )
                        .into_response();
                }
                axum::Json(json!({ "embedctl_x": "1" })).into_response()
            }),
        )
        .with_state(Arc::clone(&counters));
    let base = serve(app).await;
    let properties = client(&base, "t", &Secrets::new())
        .get_properties(1, "embedctl_")
        .await
        .expect("the second attempt answers");
    assert_eq!(properties["embedctl_x"], "1");
    assert_eq!(counters.requests.load(Ordering::Relaxed), 2);
}

/// A body stream that yields one space, then waits, forever.
struct TrickleStream {
    sleep: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl futures_core::Stream for TrickleStream {
    type Item = Result<Bytes, Infallible>;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        match self.sleep.as_mut().poll(context) {
            std::task::Poll::Pending => std::task::Poll::Pending,
            std::task::Poll::Ready(()) => {
                let next = tokio::time::Instant::now() + Duration::from_millis(50);
                self.sleep.as_mut().reset(next);
                std::task::Poll::Ready(Some(Ok(Bytes::from_static(b" "))))
            }
        }
    }
}

use std::future::Future;

#[tokio::test]
async fn an_empty_answer_is_called_an_empty_response() {
    let app = Router::new().route(
        "/api/managed_users",
        get(|| async { StatusCode::OK.into_response() }),
    );
    let base = serve(app).await;
    let error = client(&base, "t", &Secrets::new())
        .list_customers()
        .await
        .expect_err("an empty 200 is not a list");
    let text = error.to_string();
    assert!(text.contains("empty response"), "{text}");
    assert!(!text.contains("keys none"), "{text}");
}
