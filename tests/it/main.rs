//! The integration tests: one binary (uv style), one module per area.

mod context;
mod examples;
mod plan_properties;
mod schema;
mod sim_behaviour;
mod sim_conformance;
mod sim_context;
mod sim_serve;
mod validate_corpus;
