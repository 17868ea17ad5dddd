//! `embedctl plan`: read live Workato, print what apply would change.

use std::io::Write;

use crate::cli::{ExitStatus, OutputFormat, PlanArgs};
use crate::plan::saved;
use crate::render::{self, Command, Format, RenderContext};

use super::session::{RunOptions, Stop, observe_and_diff};

/// Runs the plan command.
pub fn run(args: &PlanArgs) -> ExitStatus {
    super::block_on(execute(args))
}

async fn execute(args: &PlanArgs) -> ExitStatus {
    let observed = match observe_and_diff(RunOptions {
        file: &args.file,
        target: &args.target,
        customers: &args.customers,
        need_all_credentials: args.out.is_some(),
    })
    .await
    {
        Ok(observed) => observed,
        Err(Stop(message)) => return super::fail(&message),
    };
    let context = RenderContext {
        color: super::stdout_has_color() && args.format == OutputFormat::Text,
        title: super::file_title(&args.file),
        command: Command::Plan,
        observed_calls: observed.live.calls.clone(),
        listing: args.listing.listing(),
    };
    {
        let mut stdout = std::io::BufWriter::new(anstream::stdout());
        let written = match args.format {
            // Written as it is serialized: a fleet's JSON plan is never held whole.
            OutputFormat::Json => {
                render::json::write(&observed.plan, &observed.budget, &context, &mut stdout)
            }
            format => stdout.write_all(
                render::render(
                    &observed.plan,
                    &observed.budget,
                    &context,
                    format_of(format),
                )
                .as_bytes(),
            ),
        };
        if written.and_then(|()| stdout.flush()).is_err() {
            return ExitStatus::Failure;
        }
    }
    if let Some(out) = &args.out {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs());
        let mut document = saved::save(
            &observed.plan,
            &observed.desired,
            &observed.live,
            &observed.target_label,
            &observed.file_bytes,
            now,
        );
        document.customers = args.customers.clone();
        document.customers.sort();
        document.customers.dedup();
        let written = super::write_atomically(out, |file| {
            serde_json::to_writer_pretty(&mut *file, &document).map_err(std::io::Error::other)?;
            file.write_all(b"\n")
        });
        if let Err(error) = written {
            return super::fail(&format!("cannot write `{}`: {error}", out.display()));
        }
        eprintln!(
            "Saved the plan to `{}`; apply it with `embedctl apply {}`.",
            out.display(),
            out.display()
        );
    }
    let has_changes = observed.plan.has_changes();
    observed.finish().await;
    if args.detailed_exitcode && has_changes {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    }
}

/// The renderer's format for a CLI format.
pub(super) fn format_of(format: OutputFormat) -> Format {
    match format {
        OutputFormat::Text => Format::Text,
        OutputFormat::Json => Format::Json,
        OutputFormat::Markdown => Format::Markdown,
    }
}
