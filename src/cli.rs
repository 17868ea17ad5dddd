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
    after_help = "Exit codes: 0 success; 1 error (bad input or command line, or a failure talking to Workato); 2 `plan --detailed-exitcode`: apply would write, `drift`: actionable drift; 3 `drift`: only end users still to authorize; 4 `apply --max-duration`: stopped with work left; 130 `apply` interrupted (Ctrl-C, SIGTERM) with work left. Each command's --help lists the ones it uses.

Examples:
  # check the bundled example, then see what apply would change in a simulated account
  embedctl validate -f examples/quickstart/embedctl.yaml
  embedctl plan -f examples/quickstart/embedctl.yaml \\
    --sim examples/quickstart/workato-state.json"
)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands of embedctl (docs/commands.md).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse and check the desired-state file; no network.
    #[command(
        after_help = "Exit codes: 0 valid (warnings are printed on stderr), 1 invalid (every problem is printed on stderr) or unreadable.

Examples:
  # no network, no secrets: fit for every pull request
  embedctl validate -f examples/quickstart/embedctl.yaml"
    )]
    Validate(ValidateArgs),
    /// Read live Workato and show what apply would change.
    #[command(
        after_help = "Exit codes: 0 success, 1 error; with --detailed-exitcode: 0 nothing to apply, 1 error, 2 apply would write (blocked changes, pending end users and unmanaged objects never make it 2).

Examples:
  # a pull-request comment, and the plan saved for `embedctl apply plan.json`
  embedctl plan --format markdown --out plan.json > plan.md

  # in a script: is there anything to apply?
  embedctl plan --detailed-exitcode --format json > plan.json"
    )]
    Plan(PlanArgs),
    /// Make Workato match the file (a fresh plan), or apply exactly a saved plan.
    #[command(
        after_help = "Exit codes: 0 every change made (blocked changes and end users still to authorize do not count); 1 error, a change failed, or a change was skipped because something it depends on failed or could not be checked (run apply again to continue); 4 stopped at --max-duration with nothing failed and work left (run apply again to continue); 130 interrupted (SIGINT or SIGTERM: the changes in flight finish, nothing else starts, `--sim` state is saved; a second signal stops at once) with nothing failed.

Examples:
  # CI: apply exactly the plan that was reviewed (refused if anything changed since)
  embedctl apply plan.json --auto-approve

  # a canary: one customer first, stopping after 5 h 30 min at most
  embedctl apply --customer acme-001 --auto-approve --max-duration 5h30m"
    )]
    Apply(ApplyArgs),
    /// Read-only check for cron: drift, and end users who still have to authorize.
    #[command(
        after_help = "Exit codes: 0 in sync, 1 error, 2 actionable drift (apply would write, or something is blocked), 3 only end users still to authorize.

Examples:
  # cron: keep the report, then act on the exit code
  embedctl drift --format json > drift.json; status=$?"
    )]
    Drift(DriftArgs),
    /// Connection-widget links for a customer's end users who still have to authorize.
    #[command(
        after_help = "Exit codes: 0 success (end users whose connection does not exist yet are listed without a link); 1 error: bad input, `workato.vendor_id` or `WORKATO_JWT_PRIVATE_KEY` missing or unusable, the customer not in Workato, a failure talking to Workato, or, with --create-missing, any listed connection left without a link (the gate was closed, a create failed, or something below phase 4 is missing); the links that could be made are printed first.

Each link carries a token meant for one use: make links when the page that shows the widget loads, on your server, never ahead of time.

Examples:
  # every end user of acme-001 who still has to connect, as JSON for your backend
  WORKATO_JWT_PRIVATE_KEY=./jwt-private.pem \\
    embedctl links --customer acme-001 --format json

  # one end user, creating their missing connections first
  embedctl links --customer acme-001 --user user-a --create-missing \\
    --origin https://app.example.com"
    )]
    Links(LinksArgs),
    /// Write a desired-state file from a live account, to adopt embedctl on it.
    #[command(
        after_help = "Exit codes: 0 the file was written; 1 error: bad input (a `--customer` Workato does not know, an `--out` that cannot be written), or a failure talking to Workato. Nothing is written to Workato.

The file has PLACEHOLDERs to fill in (each `package:`, and each default connection's credential field names); the variables its credentials read are listed at its end and on stderr. No secret is ever written: Workato returns none.

Examples:
  # the whole account, then check the file once the placeholders are filled in
  embedctl export --out embedctl.yaml && embedctl validate

  # two customers of the bundled simulated account
  embedctl export --customer acme-001 --customer legacy-pilot \\
    --sim examples/quickstart/workato-state.json"
    )]
    Export(ExportArgs),
    /// Print the JSON Schema of the desired-state file.
    #[command(
        after_help = "Exit codes: 0 success, 1 error (the schema could not be rendered).

Examples:
  embedctl schema > embedctl.schema.json"
    )]
    Schema,
    /// The local Workato Embedded simulator.
    #[command(subcommand)]
    #[command(
        after_help = "Exit codes: those of `sim serve`: 0 stopped cleanly, 1 error.

Examples:
  embedctl sim serve --port 8080 --state /tmp/workato-state.json"
    )]
    Sim(SimCommand),
    /// Print a shell completion script on stdout.
    #[command(
        after_help = "Exit codes: 0 success, 1 error (an unknown shell, or stdout cannot be written).

Examples:
  # bash (needs the bash-completion package)
  embedctl completions bash > ~/.local/share/bash-completion/completions/embedctl

  # zsh: into a folder of your $fpath, then restart the shell
  embedctl completions zsh > ~/.zfunc/_embedctl

  # fish
  embedctl completions fish > ~/.config/fish/completions/embedctl.fish

  # PowerShell: add this line to your $PROFILE
  embedctl completions powershell | Out-String | Invoke-Expression"
    )]
    Completions(CompletionsArgs),
    /// Print the man page on stdout, or write one page per command into a folder.
    #[command(
        after_help = "Exit codes: 0 success, 1 error (the folder or stdout cannot be written).

Examples:
  # read it now
  embedctl man | man -l -

  # install a page per command (embedctl.1, embedctl-plan.1, embedctl-sim-serve.1, …)
  embedctl man --out-dir ~/.local/share/man/man1"
    )]
    Man(ManArgs),
}

/// Flags of `embedctl completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// Flags of `embedctl man`.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write `embedctl.1` and one page per command (`embedctl-plan.1`, `embedctl-sim-serve.1`, …)
    /// into DIR (created when missing) instead of printing `embedctl.1` on stdout.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

/// `embedctl sim …`.
#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Serve the simulator on loopback until Ctrl-C or SIGTERM; prints its base URL first.
    #[command(
        after_help = "Exit codes: 0 stopped cleanly by Ctrl-C or SIGTERM (the state saved when --state is given), 1 error (the port is taken, or the state file cannot be loaded or saved).

Examples:
  # a fixed port, the account kept between runs
  embedctl sim serve --port 8080 --state /tmp/workato-state.json

  # a slow and flaky Workato whose rate limits run 60 times faster
  embedctl sim serve --time-scale 60 --latency-ms 50 --fail-rate 0.05"
    )]
    Serve(SimServeArgs),
}

/// Flags of `embedctl sim serve`.
#[derive(Debug, clap::Args)]
pub struct SimServeArgs {
    /// The port to listen on (127.0.0.1 only); 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Load the account from FILE (empty when missing) and save it back on shutdown.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Divide every rate-limit window by N (fast tests; match with EMBEDCTL_TIME_SCALE).
    #[arg(long, value_name = "N", default_value_t = 1.0, value_parser = positive_number)]
    pub time_scale: f64,
    /// Add this latency to every API request.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency_ms: u64,
    /// Fail this share of API requests (0-1) with a 500.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = probability)]
    pub fail_rate: f64,
    /// Commit the next N writes of an endpoint family, then cut their responses (repeatable),
    /// e.g. `--drop-after-commit connections=2`.
    #[arg(long, value_name = "FAMILY=N", value_parser = family_count)]
    pub drop_after_commit: Vec<(String, u32)>,
    /// Refuse the next N writes of an endpoint family with a 400 whose message repeats the
    /// request body, credentials included (repeatable), e.g. `--echo-request-in-errors
    /// connections=1`: for checking that a client never shows what a server echoes.
    #[arg(long, value_name = "FAMILY=N", value_parser = family_count)]
    pub echo_request_in_errors: Vec<(String, u32)>,
}

fn family_count(text: &str) -> Result<(String, u32), String> {
    let (family, count) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not FAMILY=N"))?;
    if crate::sim::Family::from_name(family).is_none() {
        let known: Vec<&str> = crate::sim::Family::ALL.iter().map(|f| f.name()).collect();
        return Err(format!(
            "unknown family `{family}`; known: {}",
            known.join(", ")
        ));
    }
    let count = count
        .parse::<u32>()
        .map_err(|_| format!("`{count}` is not a count"))?;
    Ok((family.to_owned(), count))
}

/// A duration such as `5h30m`, `90m`, `45s` or `1h30m15s`: whole numbers, each with a unit
/// (`h`, `m`, `s`), largest first, none twice.
pub fn duration(text: &str) -> Result<std::time::Duration, String> {
    let bad = || {
        format!(
            "`{text}` is not a duration: write hours, minutes and seconds like `5h30m`, `90m` or `45s`"
        )
    };
    let mut seconds: u64 = 0;
    let mut number = String::new();
    let mut last_unit = u64::MAX;
    for character in text.trim().chars() {
        if character.is_ascii_digit() {
            number.push(character);
            continue;
        }
        let unit = match character {
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return Err(bad()),
        };
        if number.is_empty() || unit >= last_unit {
            return Err(bad());
        }
        let value: u64 = number.parse().map_err(|_| bad())?;
        seconds = value
            .checked_mul(unit)
            .and_then(|part| seconds.checked_add(part))
            .ok_or_else(bad)?;
        number.clear();
        last_unit = unit;
    }
    if !number.is_empty() || last_unit == u64::MAX {
        return Err(bad());
    }
    if seconds == 0 {
        return Err(format!(
            "`{text}` is no time at all: give a duration above zero"
        ));
    }
    Ok(std::time::Duration::from_secs(seconds))
}

fn positive_number(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() && value > 0.0 => Ok(value),
        _ => Err(format!("`{text}` is not a positive number")),
    }
}

fn probability(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if (0.0..=1.0).contains(&value) => Ok(value),
        _ => Err(format!("`{text}` is not a probability between 0 and 1")),
    }
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

/// Output formats of `plan` and `drift`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// For people: grouped by customer and phase, colour on a terminal.
    Text,
    /// For machines: `format_version` 1.1, described by `schemas/plan.schema.json`.
    Json,
    /// One pull-request comment, at most 65,000 characters.
    Markdown,
}

/// How much of a long plan text and Markdown list (`plan`, `drift`, `apply`).
#[derive(Debug, clap::Args)]
pub struct ListingArgs {
    /// List every end user still to authorize in text and Markdown (by default the first 20
    /// per customer and connection, then a count); JSON always lists them all.
    #[arg(long)]
    pub show_pending: bool,
    /// List every change and every end user in text and Markdown (by default the first 20 alike
    /// changes per customer, then a count); JSON always lists them all. `apply` also prints a
    /// line per change made when stderr is not a terminal.
    #[arg(long)]
    pub verbose: bool,
}

impl ListingArgs {
    /// What the renderers list in full: `--verbose` lists everything, pending end users too.
    pub fn listing(&self) -> crate::render::Listing {
        crate::render::Listing {
            every_change: self.verbose,
            every_pending: self.verbose || self.show_pending,
        }
    }
}

/// Where live state comes from: Workato, or an in-process simulator.
#[derive(Debug, clap::Args)]
pub struct TargetArgs {
    /// Talk to an in-process simulator whose state is loaded from STATE.json (an empty account
    /// when the file does not exist) instead of Workato.
    #[arg(long, value_name = "STATE.json")]
    pub sim: Option<PathBuf>,
}

/// Flags of `embedctl plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The desired-state file.
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        default_value = "embedctl.yaml"
    )]
    pub file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Save the plan for `embedctl apply PLAN.json` (no secret is written).
    #[arg(long, value_name = "PLAN.json")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub listing: ListingArgs,
    /// Exit 2 when apply would write, 0 when it would not, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Limit the run to these customers (repeatable).
    #[arg(long = "customer", value_name = "EXT")]
    pub customers: Vec<String>,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// Output formats of `apply`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ApplyFormat {
    /// Lines for people: the plan first, then what happens on stderr (without a terminal: every
    /// failure, skip and block, a progress line every 10 s and the summary).
    Text,
    /// One JSON event per line (`apply_start`, `change_start`, `change_done`, `change_failed`,
    /// `change_skipped`, `gate_blocked`, `customer_failed`, `stopped`, `summary`).
    Json,
}

/// Flags of `embedctl apply`.
#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// The desired-state file (also read when applying a saved plan: packages and secrets).
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        default_value = "embedctl.yaml"
    )]
    pub file: PathBuf,
    /// A plan saved with `plan --out`: apply exactly it, after checking nothing changed since.
    #[arg(value_name = "PLAN.json")]
    pub saved_plan: Option<PathBuf>,
    /// Do not ask for `yes` (required when not on a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// Limit the run to these customers (repeatable): a canary rollout.
    #[arg(long = "customer", value_name = "EXT")]
    pub customers: Vec<String>,
    /// Send again the credentials that were sent before and did not authorize (unchanged
    /// fingerprint, Workato still reports a failure), instead of blocking them.
    #[arg(long)]
    pub refresh_credentials: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ApplyFormat::Text)]
    pub format: ApplyFormat,
    #[command(flatten)]
    pub listing: ListingArgs,
    /// Refuse a saved plan older than this many hours.
    #[arg(long, value_name = "HOURS", default_value_t = 24)]
    pub max_age: u64,
    /// Stop starting changes once this much time has passed since apply started (e.g. `5h30m`,
    /// `90m`, `45s`); the ones in flight finish, what is left is printed, and apply exits 4.
    /// Run it again to continue: it plans afresh and repeats nothing.
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub max_duration: Option<std::time::Duration>,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// Flags of `embedctl drift`.
#[derive(Debug, clap::Args)]
pub struct DriftArgs {
    /// The desired-state file.
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        default_value = "embedctl.yaml"
    )]
    pub file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Limit the run to these customers (repeatable).
    #[arg(long = "customer", value_name = "EXT")]
    pub customers: Vec<String>,
    #[command(flatten)]
    pub listing: ListingArgs,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// Output formats of `links`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LinksFormat {
    /// One line per connection: end user, connection, link.
    Text,
    /// One JSON document: `{"customer", "customer_id", "links": […]}` (docs/commands.md).
    Json,
}

/// Flags of `embedctl links`.
#[derive(Debug, clap::Args)]
pub struct LinksArgs {
    /// The desired-state file.
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        default_value = "embedctl.yaml"
    )]
    pub file: PathBuf,
    /// The customer (its `external_id` in the file).
    #[arg(long, value_name = "EXT")]
    pub customer: String,
    /// Only this end user (an `id` of the customer's `runtime_users`; repeatable).
    #[arg(long = "user", value_name = "ID")]
    pub users: Vec<String>,
    /// The origin of the page that hosts the widget (e.g. `https://app.example.com`), put in
    /// the token's `origin` claim; needed when Workato knows several origins of yours.
    #[arg(long, value_name = "URL", value_parser = crate::links::parse_origin)]
    pub origin: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = LinksFormat::Text)]
    pub format: LinksFormat,
    /// First create the end users' runtime connections that do not exist yet (as apply would,
    /// after checking live that the customer's integration is set up).
    #[arg(long)]
    pub create_missing: bool,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// Flags of `embedctl export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Export only these customers (their `external_id` in Workato; repeatable).
    #[arg(long = "customer", value_name = "EXT")]
    pub customers: Vec<String>,
    /// Write the file here (atomically) instead of to stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// How a command ended, chosen on purpose in one place (ripgrep, uv).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// Everything worked.
    Success,
    /// The user's input is wrong, or a call failed.
    Failure,
    /// `plan --detailed-exitcode`: apply would write. `drift`: actionable drift.
    Changes,
    /// `drift`: only end users still have to authorize.
    PendingUsers,
    /// `apply --max-duration`: time was up with nothing failed and work left.
    Stopped,
    /// `apply` was interrupted (SIGINT, SIGTERM) with nothing failed: it let the changes in
    /// flight finish and started no other. 130, as a shell reports a command ended by SIGINT.
    Interrupted,
}

impl ExitStatus {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Changes => 2,
            ExitStatus::PendingUsers => 3,
            ExitStatus::Stopped => 4,
            ExitStatus::Interrupted => 130,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_clock() {
        let secs = |text| duration(text).map(|d| d.as_secs());
        assert_eq!(secs("5h30m"), Ok(19_800));
        assert_eq!(secs("90m"), Ok(5_400));
        assert_eq!(secs("45s"), Ok(45));
        assert_eq!(secs("1h30m15s"), Ok(5_415));
        assert_eq!(secs("2h"), Ok(7_200));
        for bad in [
            "",
            "5",
            "h",
            "30m5h",
            "5h5h",
            "1.5h",
            "5d",
            "-5m",
            "0s",
            "99999999999999999999h",
        ] {
            assert!(duration(bad).is_err(), "{bad:?}");
        }
    }
}
