//! embedctl: Terraform-style plan/apply for Workato Embedded.
//!
//! The binary (`main.rs`) only parses flags and maps outcomes to exit codes; everything else lives
//! here so that tests drive the same code. See ARCHITECTURE.md for the map of modules.

pub mod apply;
pub mod calendar;
pub mod cli;
pub mod commands;
pub mod credentials;
pub mod desired;
pub mod desired_file;
pub mod env;
pub mod export;
pub mod links;
pub mod live;
pub mod matching;
pub mod observe;
pub mod package;
pub mod plan;
pub mod redact;
pub mod render;
pub mod sim;
pub mod workato;
