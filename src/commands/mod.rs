//! One small function per command: build the inputs, call the core, print, choose the status.

mod schema;
mod sim;
mod validate;

use crate::cli::{Cli, Command, ExitStatus, SimCommand};

pub use schema::desired_file_schema;

/// Runs the command the user asked for.
pub fn run(cli: Cli) -> ExitStatus {
    match cli.command {
        Command::Validate(args) => validate::run(&args),
        Command::Schema => schema::run(),
        Command::Plan(_) | Command::Drift(_) => {
            eprintln!("error: not built yet");
            ExitStatus::Failure
        }
        Command::Sim(SimCommand::Serve(args)) => sim::serve(&args),
    }
}

/// Whether text written to stderr may carry colour: a terminal, and `NO_COLOR` / `CLICOLOR` allow it.
pub(crate) fn stderr_has_color() -> bool {
    anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never
}
