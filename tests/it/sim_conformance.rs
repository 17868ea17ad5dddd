//! Simulator responses validate against the component schemas of Workato's OpenAPI spec.
