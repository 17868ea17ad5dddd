//! `embedctl completions SHELL`: a completion script generated from the clap types, on stdout.

use std::io::Write;

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs, ExitStatus};

/// Prints the completion script of `args.shell`.
pub fn run(args: &CompletionsArgs) -> ExitStatus {
    let mut command = Cli::command();
    // clap_complete panics when its writer fails; a buffer never does, and stdout's errors (a
    // closed pipe) are then reported like any other.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "embedctl", &mut script);
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(&script).and_then(|()| stdout.flush()) {
        Ok(()) => ExitStatus::Success,
        Err(error) => super::fail(&format!("cannot write the completion script: {error}")),
    }
}
