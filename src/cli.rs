//! The command line: clap types and exit statuses. Nothing here does work; `commands` does.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Terraform-style plan/apply for Workato Embedded.
///
/// One YAML file says which customers exist, which recipe packages each gets, the credentials of
/// their default connections, and which end users connect their own accounts.
#[derive(Debug, Parser)]
#[command(name = "embedctl", version, about, long_about = None)]
#[command(
    after_help = "Exit codes: 0 success, 1 error (bad input, or a failure talking to Workato)."
)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands of embedctl (DESIGN.md §4).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse and check the desired-state file; no network.
    Validate(ValidateArgs),
    /// Print the JSON Schema of the desired-state file.
    Schema,
}

/// Flags of `embedctl validate`.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// The desired-state file.
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        default_value = "embedctl.yaml"
    )]
    pub file: PathBuf,
}

/// How a command ended, chosen on purpose in one place (ripgrep, uv).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// Everything worked.
    Success,
    /// The user's input is wrong, or a call failed.
    Failure,
}

impl ExitStatus {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
        }
    }
}
