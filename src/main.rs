//! The `embedctl` binary: parse the command line, run the command, exit with its status.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = embedctl::cli::Cli::parse();
    let status = embedctl::commands::run(cli);
    ExitCode::from(status.code())
}
