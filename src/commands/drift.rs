//! `embedctl drift`: the plan's observation, read-only, as drift classes for cron jobs.
//!
//! Exit 0 in sync, 2 actionable drift (apply would write, or something is blocked), 3 only end
//! users still to authorize, 1 error. Unmanaged objects are reported, never counted.

use std::io::Write;

use crate::cli::{DriftArgs, ExitStatus, OutputFormat};
use crate::render::drift::{self, DriftClass};
use crate::render::{self, Command, RenderContext};

use super::session::{RunOptions, Stop, observe_and_diff};

/// Runs the drift command.
pub fn run(args: &DriftArgs) -> ExitStatus {
    super::block_on(execute(args))
}

/// The exit status of a drift class.
fn status_of(class: DriftClass) -> ExitStatus {
    match class {
        DriftClass::Drift => ExitStatus::Changes,
        DriftClass::PendingUsers => ExitStatus::PendingUsers,
        DriftClass::InSync => ExitStatus::Success,
    }
}

async fn execute(args: &DriftArgs) -> ExitStatus {
    let observed = match observe_and_diff(RunOptions {
        file: &args.file,
        target: &args.target,
        customers: &args.customers,
        need_all_credentials: false,
    })
    .await
    {
        Ok(observed) => observed,
        Err(Stop(message)) => return super::fail(&message),
    };
    let plan = &observed.plan;
    let class = DriftClass::of(plan);
    let status = status_of(class);
    let output = match args.format {
        OutputFormat::Json => {
            let context = RenderContext {
                color: false,
                title: args.file.display().to_string(),
                command: Command::Drift,
                observed_calls: observed.live.calls.clone(),
                listing: args.listing.listing(),
            };
            drift::json(plan, &observed.budget, &context, class, status.code())
        }
        OutputFormat::Markdown => {
            let context = RenderContext {
                color: false,
                title: super::file_title(&args.file),
                command: Command::Drift,
                observed_calls: observed.live.calls.clone(),
                listing: args.listing.listing(),
            };
            render::render(plan, &observed.budget, &context, render::Format::Markdown)
        }
        OutputFormat::Text => drift::text(plan, class, args.listing.listing()),
    };
    let _ = anstream::stdout().write_all(output.as_bytes());
    observed.finish().await;
    status
}
