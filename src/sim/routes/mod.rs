//! The simulator's routes: one file per resource, plus the test-only `/__sim` routes.

mod connections;
mod customers;
mod folders;
mod imports;
mod properties;
mod recipes;
mod test_hooks;
mod views;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};

use super::Simulator;
use super::http::{gate, not_found};

/// Every route of the simulator behind the gate middleware.
pub fn router(sim: Simulator) -> Router {
    let api = Router::new()
        .route(
            "/api/managed_users",
            get(customers::list).post(customers::create),
        )
        .route(
            "/api/managed_users/{customer}",
            get(customers::show).put(customers::update),
        )
        .route(
            "/api/managed_users/{customer}/folders",
            get(folders::list).post(folders::create),
        )
        .route(
            "/api/managed_users/{customer}/folders/{folder}",
            put(folders::update),
        )
        .route(
            "/api/managed_users/{customer}/projects/{project}",
            put(folders::update_project),
        )
        .route(
            "/api/managed_users/{customer}/connections",
            get(connections::list).post(connections::create),
        )
        .route(
            "/api/managed_users/{customer}/connections/{connection}",
            put(connections::update).delete(connections::delete),
        )
        .route(
            "/api/managed_users/{customer}/connections/{connection}/disconnect",
            post(connections::disconnect),
        )
        .route("/api/managed_users/{customer}/recipes", get(recipes::list))
        .route(
            "/api/managed_users/{customer}/recipes/{recipe}",
            get(recipes::show),
        )
        .route(
            "/api/managed_users/{customer}/recipes/{recipe}/start",
            put(recipes::start),
        )
        .route(
            "/api/managed_users/{customer}/recipes/{recipe}/stop",
            put(recipes::stop),
        )
        .route(
            "/api/managed_users/{customer}/imports",
            post(imports::create),
        )
        .route(
            "/api/managed_users/{customer}/imports/{import}",
            get(imports::show),
        )
        .route(
            "/api/managed_users/{customer}/properties",
            get(properties::list).post(properties::upsert),
        )
        .route(
            "/__sim/connections/{connection}/authorize",
            post(test_hooks::authorize),
        )
        .route(
            "/__sim/connections/{connection}/revoke",
            post(test_hooks::revoke),
        )
        .route(
            "/__sim/recipes/{recipe}/stop_by_workato",
            post(test_hooks::stop_by_workato),
        )
        .route("/__sim/stats", get(test_hooks::stats))
        .route("/__sim/state", get(test_hooks::state))
        .route("/__sim/log", get(test_hooks::log))
        .route(
            "/__sim/faults",
            get(test_hooks::faults).post(test_hooks::set_faults),
        )
        .fallback(|| async { not_found() });
    // The gate enforces `max_body_bytes` (400 in Workato's shape); without this, axum's own 2 MB
    // default would refuse larger package zips with a bare 413 first.
    let body_limit = DefaultBodyLimit::max(sim.options().max_body_bytes);
    api.layer(body_limit)
        .layer(axum::middleware::from_fn_with_state(sim.clone(), gate))
        .with_state(sim)
}
