//! The HTTP edge of the simulator: authentication, rate limits, faults, the request log and the
//! helpers every route uses to answer in Workato's shapes.

use std::collections::BTreeMap;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{Family, Simulator};

/// Calls per family and 429s sent (`GET /__sim/stats`).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Stats {
    /// Requests admitted per family name (those refused with 429 are not counted here).
    pub calls: BTreeMap<String, u64>,
    /// Requests refused with 429 per family name.
    pub throttled: BTreeMap<String, u64>,
    /// Every `/api` request, admitted or not.
    pub total_requests: u64,
    /// Requests failed by an injected fault (`fail_rate`, a storm, an echoed request).
    pub injected_failures: u64,
    /// Responses dropped after commit.
    pub dropped_responses: u64,
}

/// One request as the simulator saw it (`GET /__sim/log`).
#[derive(Clone, Debug, Serialize)]
pub struct LogEntry {
    /// Position in the log, from 1.
    pub seq: u64,
    /// When the request was counted, in milliseconds since the simulator started (for a request
    /// that reached the rate limiter, the instant it was admitted or refused there), so that a
    /// benchmark can read pacing and start times from the log.
    pub at_ms: f64,
    pub method: String,
    /// Path and query, as sent.
    pub path: String,
    /// The endpoint family, when the path belongs to one.
    pub family: Option<String>,
    pub status: u16,
    /// `true` when the write was committed but its response was cut.
    pub dropped: bool,
    /// The request body, with every credential value replaced by `sha256:<hex>` of it; a package
    /// zip appears as its size and digest.
    pub body: Value,
}

/// A JSON answer with a status.
pub fn json_response(status: StatusCode, value: Value) -> Response {
    (status, axum::Json(value)).into_response()
}

/// `200` with a JSON body.
pub fn ok(value: Value) -> Response {
    json_response(StatusCode::OK, value)
}

/// An error in Workato's plain shape: `{"message": …}`.
pub fn error(status: StatusCode, message: &str) -> Response {
    json_response(status, json!({ "message": message }))
}

/// `404 {"message": "Not found"}`.
pub fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "Not found")
}

/// A Rails-style validation error: `400 {"message": "Validation failed", "errors": {…}}`.
pub fn validation_failed(errors: &[(&str, &str)]) -> Response {
    let mut map = serde_json::Map::new();
    for (field, message) in errors {
        map.insert((*field).to_owned(), json!([message]));
    }
    json_response(
        StatusCode::BAD_REQUEST,
        json!({ "message": "Validation failed", "errors": map }),
    )
}

/// Parses a JSON request body, or answers 400 as Workato does for malformed input.
pub fn parse_json(body: &Bytes) -> Result<Value, Response> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(_) => Err(error(
            StatusCode::BAD_REQUEST,
            "Bad request: expected a JSON object",
        )),
        Err(_) => Err(error(
            StatusCode::BAD_REQUEST,
            "Bad request: malformed JSON",
        )),
    }
}

/// A JSON object request body, refused in Workato's 400 shape when malformed.
pub struct JsonBody(pub Value);

impl<S: Send + Sync> axum::extract::FromRequest<S> for JsonBody {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = <Bytes as axum::extract::FromRequest<S>>::from_request(request, state)
            .await
            .map_err(|_| error(StatusCode::BAD_REQUEST, "Bad request: unreadable body"))?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// Lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The middleware in front of every route: `/__sim` passes straight through; `/api` requests are
/// authenticated, rate limited, slowed, failed or cut as configured, and logged.
pub async fn gate(State(sim): State<Simulator>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    if path.starts_with("/__sim/") {
        return next.run(request).await;
    }
    let method = request.method().as_str().to_owned();
    let path_and_query = request
        .uri()
        .path_and_query()
        .map_or_else(|| path.clone(), |pq| pq.as_str().to_owned());
    let segments: Vec<&str> = path
        .strip_prefix("/api/")
        .unwrap_or_default()
        .split('/')
        .filter(|segment| !segment.is_empty())
        .collect();
    let family = Family::classify(&method, &segments);
    let is_import = family == Some(Family::ImportsCreate);
    let mut seen = Seen {
        at: Instant::now(),
        method: method.clone(),
        path: path_and_query,
        family,
        body: Value::Null,
    };

    let (parts, body) = request.into_parts();
    let limit = sim.options().max_body_bytes;
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => bytes,
        Err(_) => {
            let response = error(
                StatusCode::BAD_REQUEST,
                "Bad request: request body too large",
            );
            return finish(&sim, seen, response, false);
        }
    };
    seen.body = redact(&bytes, is_import);

    if !path.starts_with("/api/") {
        return finish(&sim, seen, not_found(), false);
    }
    if !authorized(&sim, parts.headers.get(header::AUTHORIZATION)) {
        let response = error(StatusCode::UNAUTHORIZED, "Unauthorized");
        return finish(&sim, seen, response, false);
    }

    let (latency, fail) = {
        let mut inner = sim.lock();
        inner.stats.total_requests += 1;
        if let Some(family) = family {
            seen.at = Instant::now();
            if let Err(wait) = inner.limiter.admit(family, seen.at) {
                *inner
                    .stats
                    .throttled
                    .entry(family.name().to_owned())
                    .or_default() += 1;
                drop(inner);
                // In Workato's seconds: a time-scaled client divides it by its own scale.
                let seconds = (wait.as_secs_f64() * sim.options().time_scale)
                    .ceil()
                    .max(1.0) as u64;
                let mut response = error(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
                if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
                return finish(&sim, seen, response, false);
            }
            *inner
                .stats
                .calls
                .entry(family.name().to_owned())
                .or_default() += 1;
        }
        let fail_rate = inner.faults.fail_rate;
        let mut fail = (fail_rate > 0.0 && next_random(&mut inner.rng) < fail_rate).then(|| {
            json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({ "message": "Server error", "id": "3188c2d0-29a4-4080-908e-582e7ed82580" }),
            )
        });
        if let Some(family) = family {
            if let Some(storm) = inner.faults.storms.get_mut(family.name()) {
                if storm.after > 0 {
                    storm.after -= 1;
                } else if fail.is_none() {
                    let status = StatusCode::from_u16(storm.status)
                        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                    fail = Some(error(status, "Simulated storm"));
                }
            }
            if method != "GET"
                && fail.is_none()
                && let Some(remaining) = inner.faults.echo_request_in_errors.get_mut(family.name())
                && *remaining > 0
            {
                *remaining -= 1;
                fail = Some(echo_request(&bytes));
            }
        }
        if fail.is_some() {
            inner.stats.injected_failures += 1;
        } else if method != "GET" && inner.account.ids_exhausted() {
            // Never an id twice: a write that might need one is refused instead.
            fail = Some(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Server error: the simulated account has run out of ids",
            ));
        }
        (inner.faults.latency, fail)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if let Some(response) = fail {
        return finish(&sim, seen, response, false);
    }

    let request = Request::from_parts(parts, Body::from(bytes));
    let response = next.run(request).await;

    let drop_it = method != "GET"
        && response.status().is_success()
        && family.is_some_and(|family| {
            let mut inner = sim.lock();
            match inner.faults.drop_after_commit.get_mut(family.name()) {
                Some(remaining) if *remaining > 0 => {
                    *remaining -= 1;
                    inner.stats.dropped_responses += 1;
                    true
                }
                _ => false,
            }
        });
    finish(&sim, seen, response, drop_it)
}

/// What the log keeps of a request, gathered as the gate goes.
struct Seen {
    at: Instant,
    method: String,
    path: String,
    family: Option<Family>,
    body: Value,
}

/// Logs the request and returns its response, or a response whose body fails at once when the
/// answer is to be lost: hyper then cuts the connection, and the client sees no answer at all.
fn finish(sim: &Simulator, seen: Seen, response: Response, dropped: bool) -> Response {
    let status = response.status();
    {
        let at_ms = seen.at.duration_since(sim.started()).as_secs_f64() * 1_000.0;
        let mut inner = sim.lock();
        let seq = inner.log.len() as u64 + 1;
        inner.log.push(LogEntry {
            seq,
            at_ms,
            method: seen.method,
            path: seen.path,
            family: seen.family.map(|family| family.name().to_owned()),
            status: status.as_u16(),
            dropped,
            body: seen.body,
        });
    }
    if dropped {
        let failing = futures_failing_stream();
        return Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from_stream(failing))
            .unwrap_or_else(|_| error(StatusCode::INTERNAL_SERVER_ERROR, "Server error"));
    }
    response
}

/// A body stream whose first poll fails.
fn futures_failing_stream()
-> impl futures_core::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    struct Failing(bool);
    impl futures_core::Stream for Failing {
        type Item = Result<Bytes, std::io::Error>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _context: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            if self.0 {
                return std::task::Poll::Ready(None);
            }
            self.0 = true;
            std::task::Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "simulated: response lost after commit",
            ))))
        }
    }
    Failing(false)
}

fn authorized(sim: &Simulator, header: Option<&HeaderValue>) -> bool {
    let Some(token) = header
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
    else {
        return false;
    };
    match &sim.options().api_token {
        Some(expected) => token == expected,
        None => !token.is_empty(),
    }
}

/// A 400 that repeats the request body: raw in `message`, and as a JSON string (escaped once
/// more) in `errors.input`, the shapes in which a server's validation error may quote its input.
fn echo_request(bytes: &Bytes) -> Response {
    let text = String::from_utf8_lossy(bytes);
    let quoted = serde_json::to_string(&text).unwrap_or_default();
    json_response(
        StatusCode::BAD_REQUEST,
        json!({
            "message": format!("Validation failed: {text}"),
            "errors": { "input": [quoted] },
        }),
    )
}

/// xorshift64*: a tiny deterministic generator, enough to decide which request fails.
fn next_random(state: &mut u64) -> f64 {
    let mut x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
}

/// The body as the log keeps it: credential values replaced by their digests.
fn redact(bytes: &Bytes, is_import: bool) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    if is_import {
        return json!({ "zip_bytes": bytes.len(), "sha256": sha256_hex(bytes) });
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(mut value) => {
            if let Some(object) = value.as_object_mut() {
                for key in ["input", "oauth_token_pair"] {
                    if let Some(secrets) = object.get_mut(key) {
                        digest_leaves(secrets);
                    }
                }
            }
            value
        }
        Err(_) => json!({ "unparsed_bytes": bytes.len(), "sha256": sha256_hex(bytes) }),
    }
}

fn digest_leaves(value: &mut Value) {
    match value {
        Value::Object(map) => map.values_mut().for_each(digest_leaves),
        Value::Array(items) => items.iter_mut().for_each(digest_leaves),
        Value::Null => {}
        Value::String(text) => {
            *value = Value::String(format!("sha256:{}", sha256_hex(text.as_bytes())))
        }
        other => {
            let text = other.to_string();
            *other = Value::String(format!("sha256:{}", sha256_hex(text.as_bytes())));
        }
    }
}
