//! The `embedctl` binary: parse the command line, run the command, exit with its status.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match embedctl::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // `--help` and `--version` are not errors; every other parse failure is the user's
            // input problem, which embedctl reports with exit 1 (clap's own default is 2, which
            // `plan --detailed-exitcode` and `drift` reserve for "changes").
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::from(embedctl::cli::ExitStatus::Failure.code())
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let status = embedctl::commands::run(cli);
    ExitCode::from(status.code())
}
