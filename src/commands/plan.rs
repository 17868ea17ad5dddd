//! `embedctl plan`: read live Workato, print what apply would change.

use std::io::Write;

use crate::cli::{ExitStatus, OutputFormat, PlanArgs};
use crate::plan::saved;
use crate::render::{self, Format, RenderContext};

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
        title: args.file.display().to_string(),
        observed_calls: observed.live.calls.clone(),
        listing: args.listing.listing(),
    };
    let output = render::render(
        &observed.plan,
        &observed.budget,
        &context,
        format_of(args.format),
    );
    let mut stdout = anstream::stdout();
    if stdout.write_all(output.as_bytes()).is_err() {
        return ExitStatus::Failure;
    }
    if let Some(out) = &args.out {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs());
        let document = saved::save(
            &observed.plan,
            &observed.desired,
            &observed.live,
            &observed.target_label,
            &observed.file_bytes,
            now,
        );
        let text = match serde_json::to_string_pretty(&document) {
            Ok(text) => text + "\n",
            Err(error) => return super::fail(&format!("cannot write the plan: {error}")),
        };
        if let Err(error) = super::write_atomically(out, &text) {
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
