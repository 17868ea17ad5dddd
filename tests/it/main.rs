//! The integration tests: one binary (uv style), one module per area.

mod context;
mod examples;
mod schema;
mod validate_corpus;
