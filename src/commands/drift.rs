//! `embedctl drift`: the plan's observation, read-only, as drift classes for cron jobs.
//!
//! Exit 0 in sync, 2 actionable drift (apply would write, or something is blocked), 3 only end
//! users still to authorize, 1 error. Unmanaged objects are reported, never counted.

use std::io::Write;

use serde_json::{Value, json};

use crate::cli::{DriftArgs, ExitStatus, OutputFormat};
use crate::plan::{Change, Plan};
use crate::render::{self, RenderContext};

use super::session::{RunOptions, Stop, observe_and_diff};

/// Runs the drift command.
pub fn run(args: &DriftArgs) -> ExitStatus {
    super::block_on(execute(args))
}

/// The drift class of a plan and its exit status.
fn classify(plan: &Plan) -> (&'static str, ExitStatus) {
    if !plan.changes.is_empty() || !plan.blocked.is_empty() {
        ("drift", ExitStatus::Changes)
    } else if !plan.pending_users.is_empty() {
        ("pending_users", ExitStatus::PendingUsers)
    } else {
        ("in_sync", ExitStatus::Success)
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
    let (class, status) = classify(plan);
    let output = match args.format {
        OutputFormat::Json => {
            let context = RenderContext {
                color: false,
                title: args.file.display().to_string(),
                observed_calls: observed.live.calls.clone(),
            };
            let rendered = render::render(plan, &observed.budget, &context, render::Format::Json);
            let mut document: Value = serde_json::from_str(&rendered).unwrap_or_else(|_| json!({}));
            if let Some(object) = document.as_object_mut() {
                object.insert("status".to_owned(), json!(class));
                object.insert("exit_code".to_owned(), json!(status.code()));
            }
            serde_json::to_string_pretty(&document).unwrap_or_default() + "\n"
        }
        OutputFormat::Markdown => {
            let context = RenderContext {
                color: false,
                title: format!("Drift of {}", args.file.display()),
                observed_calls: observed.live.calls.clone(),
            };
            render::render(plan, &observed.budget, &context, render::Format::Markdown)
        }
        OutputFormat::Text => text(plan, class),
    };
    let _ = anstream::stdout().write_all(output.as_bytes());
    observed.finish().await;
    status
}

fn line(change: &Change) -> String {
    let mut text = format!(
        "  {}  {} {} {} ({})",
        change.customer,
        if change.blocked_by.is_some() {
            "!"
        } else {
            change.action.marker()
        },
        change.kind().as_str(),
        change.key(),
        change.reason.as_str()
    );
    if let Some(why) = &change.blocked_by {
        text.push_str(&format!("\n      blocked: {why}"));
    }
    text
}

fn text(plan: &Plan, class: &str) -> String {
    let mut out = String::new();
    match class {
        "in_sync" => out.push_str("In sync: Workato matches the file.\n"),
        "pending_users" => {
            out.push_str("No drift; end users still have to authorize their connections.\n")
        }
        _ => out.push_str(&format!(
            "Drift: apply would make {} {}; {} blocked.\n",
            plan.changes.len(),
            if plan.changes.len() == 1 {
                "change"
            } else {
                "changes"
            },
            plan.blocked.len()
        )),
    }
    for change in plan.changes.iter().chain(&plan.blocked) {
        out.push_str(&line(change));
        out.push('\n');
    }
    if !plan.pending_users.is_empty() {
        out.push_str(&format!(
            "\nEnd users still to authorize ({}):\n",
            plan.pending_users.len()
        ));
        for pending in &plan.pending_users {
            let function = pending
                .recipe_function
                .as_ref()
                .map(|f| format!(" ({f})"))
                .unwrap_or_default();
            out.push_str(&format!(
                "  {}  {}  {}{function}\n",
                pending.customer, pending.user, pending.connection
            ));
        }
    }
    if !plan.unmanaged.is_empty() {
        out.push_str(&format!(
            "\nUnmanaged, not counted ({}):\n",
            plan.unmanaged.len()
        ));
        for unmanaged in &plan.unmanaged {
            out.push_str(&format!(
                "  {}  {} {}\n",
                unmanaged.customer,
                unmanaged.kind.as_str(),
                unmanaged.key
            ));
        }
    }
    for note in &plan.notes {
        out.push_str(&format!("\nnote: {note}\n"));
    }
    out
}
