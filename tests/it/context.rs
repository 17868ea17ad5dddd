//! Running the real `embedctl` binary and capturing what a user would see.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What one run printed and how it exited.
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// `exit`, `stdout` and `stderr` in one text, the shape of every CLI snapshot.
    pub fn transcript(&self) -> String {
        format!(
            "exit: {}\n----- stdout -----\n{}----- stderr -----\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// The repository root (where Cargo.toml is).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Environment variables for one run, as (name, value).
pub type Env<'a> = &'a [(&'a str, &'a str)];

/// Variables that change what embedctl does. Every run starts without them, so that nothing in
/// the developer's shell reaches an assertion or a snapshot; a test sets the ones it means.
const AMBIENT: &[&str] = &[
    "CLICOLOR",
    // clap wraps `--help` at `COLUMNS` when stdout is not a terminal.
    "COLUMNS",
    "CLICOLOR_FORCE",
    "NO_COLOR",
    "RUST_LOG",
    "WORKATO_API_TOKEN",
    "WORKATO_BASE_URL",
    "WORKATO_JWT_PRIVATE_KEY",
    "EMBEDCTL_FINGERPRINT_KEY",
    "EMBEDCTL_RATE_SHARE",
    "EMBEDCTL_TIME_SCALE",
    "EMBEDCTL_TIMINGS",
    "EMBEDCTL_PROGRESS_INTERVAL_MS",
    "PARTNER_API_KEY",
    "ACME_PARTNER_API_KEY",
];

/// `embedctl ARGS` in `dir`, colourless, stdin closed, with exactly the variables of `env` set
/// among those embedctl reads: the one way the tests start the binary.
pub fn command(dir: &Path, args: &[&str], env: Env<'_>) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_embedctl"));
    command.args(args).current_dir(dir);
    for name in AMBIENT {
        command.env_remove(name);
    }
    command.env("NO_COLOR", "1").stdin(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

/// Runs `embedctl ARGS` in `dir` (see `command`) and captures what it printed.
pub fn run(dir: &Path, args: &[&str], env: Env<'_>) -> Outcome {
    let output = command(dir, args, env)
        .output()
        .unwrap_or_else(|error| panic!("cannot run embedctl: {error}"));
    Outcome {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs `embedctl ARGS` in `dir` with none of the variables embedctl reads.
pub fn run_in(dir: &Path, args: &[&str]) -> Outcome {
    run(dir, args, &[])
}
