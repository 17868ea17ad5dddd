//! The integration tests: one binary (uv style), one module per area.

mod apply_e2e;
mod cli_docs;
mod client;
mod context;
mod end_users;
mod examples;
mod export;
mod hostile;
mod links;
mod plan_custom_connectors;
mod plan_e2e;
mod plan_properties;
mod plan_scenarios;
mod render;
mod scale;
mod schema;
mod sim_behaviour;
mod sim_conformance;
mod sim_context;
mod sim_serve;
mod sim_state;
mod validate_corpus;
