//! `embedctl apply`: plan fresh (or load a saved plan and check it still holds), ask, execute.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::apply::{ApplyEvent, ApplyOptions, IMPORT_TIMEOUT, Progress, Ticker, apply};
use crate::cli::{ApplyArgs, ApplyFormat, ExitStatus};
use crate::credentials::ConnectionInput;
use crate::desired::Desired;
use crate::plan::{Action, Plan, Reason, Subject, budget_of, saved::SavedPlan};
use crate::render::{self, Command, Format, RenderContext};

use super::session::{Observed, RunOptions, Stop, observe_and_diff};

/// Runs the apply command.
pub fn run(args: &ApplyArgs) -> ExitStatus {
    super::block_on(execute(args))
}

async fn execute(args: &ApplyArgs) -> ExitStatus {
    // `--max-duration` counts from here: reading Workato and planning are part of the job's time.
    // A budget too large for the clock is no limit at all.
    let deadline = args
        .max_duration
        .and_then(|budget| tokio::time::Instant::now().checked_add(budget));
    if args.saved_plan.is_some() && args.refresh_credentials {
        return super::fail(
            "`--refresh-credentials` cannot be combined with a saved plan: a saved plan is applied \
             exactly as it was reviewed; run `embedctl apply --refresh-credentials` without one",
        );
    }
    if let Some(state) = &args.target.sim
        && let Err(message) = super::check_state_writable(state)
    {
        return super::fail(&message);
    }
    let saved = match &args.saved_plan {
        Some(path) => match load_saved(path) {
            Ok(saved) => Some(saved),
            Err(message) => return super::fail(&message),
        },
        None => None,
    };
    let mut observed = match observe_and_diff(RunOptions {
        file: &args.file,
        target: &args.target,
        customers: &args.customers,
        need_all_credentials: true,
    })
    .await
    {
        Ok(observed) => observed,
        Err(Stop(message)) => return super::fail(&message),
    };
    if let Some(saved) = &saved
        && let Err(message) = check_saved(saved, &observed, args)
    {
        if in_effect(saved, &observed, args) {
            eprint_line(&format!(
                "Nothing to apply: `{}` is already in effect. Workato matches the file, which is \
                 the one the plan was made from (it was applied before, or the same changes were \
                 made since).",
                args.saved_plan
                    .as_deref()
                    .map(|path| path.display().to_string())
                    .unwrap_or_default()
            ));
            observed.finish().await;
            return ExitStatus::Success;
        }
        // It quotes live values that moved since the plan.
        let message = observed.client.secrets().redact(&message);
        observed.finish().await;
        return super::fail(&message);
    }
    if let Some(saved) = saved {
        // What runs is the plan that was reviewed (the check found a fresh plan identical).
        observed.plan = saved.plan;
        observed.budget = budget_of(&observed.plan.changes, observed.client.rate_share());
    }
    if args.refresh_credentials {
        refresh_credentials(&mut observed.plan);
        observed.budget = budget_of(&observed.plan.changes, observed.client.rate_share());
    }
    if args.format == ApplyFormat::Text {
        let context = RenderContext {
            color: super::stdout_has_color(),
            title: args.file.display().to_string(),
            command: Command::Plan,
            observed_calls: observed.live.calls.clone(),
            listing: args.listing.listing(),
        };
        let text = render::render(&observed.plan, &observed.budget, &context, Format::Text);
        let _ = anstream::stdout().write_all(text.as_bytes());
    }
    if !observed.plan.has_changes() {
        observed.finish().await;
        return ExitStatus::Success;
    }
    if !args.auto_approve {
        if !std::io::stdin().is_terminal() {
            observed.finish().await;
            return super::fail(
                "apply asks for `yes` before it writes, and this is not a terminal; review the plan and pass `--auto-approve`",
            );
        }
        eprint!("\nApply these changes to Workato? Only `yes` is accepted: ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        if answer.trim() != "yes" {
            observed.finish().await;
            return super::fail("apply cancelled; nothing was written");
        }
    }
    let inputs = match resolve_inputs(&observed.desired, &observed.plan) {
        Ok(inputs) => inputs,
        Err(message) => {
            observed.finish().await;
            return super::fail(&message);
        }
    };
    // Already known from the plan; registered again in case a value differs from what the plan
    // resolved (a file rewritten in between).
    for input in inputs.values() {
        observed.client.secrets().add_all(input.secret_values());
    }
    let fingerprint_key = observed.fingerprint_key.clone().unwrap_or_default();

    let json = args.format == ApplyFormat::Json;
    let terminal = std::io::stderr().is_terminal();
    // A progress bar on a terminal (indicatif hides itself elsewhere); plain lines in CI.
    let progress = indicatif::ProgressBar::new(observed.plan.changes.len() as u64);
    if json || !terminal {
        progress.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let bar = progress.clone();
    // Without a terminal (CI), a line per change made would drown the log: what went wrong or
    // was left undone, a progress line every interval and the summary (`--verbose`: every line).
    let every_change = terminal || args.listing.verbose;
    let ticker = (!json && !terminal).then(|| {
        // The budget is at Workato's limits; a time-scaled simulator runs faster.
        let min_seconds =
            observed.budget.min_seconds as f64 / observed.client.time_scale().max(1.0);
        Arc::new(Ticker::start(
            Progress::new(observed.plan.changes.len(), min_seconds),
            observed.settings.progress_interval,
            eprint_line,
        ))
    });
    let counts = ticker.clone();
    // The client already redacts Workato's answers; every event's free text is redacted once
    // more on its way out, so that no path from a server's text to the terminal can skip it.
    let secrets = observed.client.secrets().clone();
    let on_event: Arc<dyn Fn(&ApplyEvent) + Send + Sync> = Arc::new(move |event: &ApplyEvent| {
        let event = &event.redacted(&secrets);
        if json {
            if let Ok(line) = serde_json::to_string(event) {
                let _ = writeln!(std::io::stdout().lock(), "{line}");
            }
            return;
        }
        if let Some(counts) = &counts {
            counts.record(event);
        }
        let line = event.line();
        match event {
            ApplyEvent::ChangeStart { .. } => bar.set_message(line),
            ApplyEvent::ChangeDone { .. } => {
                bar.inc(1);
                if every_change {
                    print_line(&bar, &line);
                }
            }
            ApplyEvent::ChangeFailed { .. } | ApplyEvent::ChangeSkipped { .. } => {
                bar.inc(1);
                print_line(&bar, &line);
            }
            ApplyEvent::Summary(_) => {
                bar.finish_and_clear();
                print_line(&bar, &line);
            }
            _ => print_line(&bar, &line),
        }
    });
    let simulated = args.target.sim.is_some();
    let interrupted = Arc::new(AtomicBool::new(false));
    let watcher = tokio::spawn(watch_interrupts(Arc::clone(&interrupted)));
    let options = ApplyOptions {
        deadline,
        interrupted: Arc::clone(&interrupted),
        // Taken, not copied: a fleet's file is large, and nothing below needs it again.
        desired: std::mem::take(&mut observed.desired),
        inputs,
        fingerprint_key,
        import_timeout: IMPORT_TIMEOUT,
        // Public clients poll every 2-3 s; a time-scaled or in-process simulator faster.
        poll_interval: {
            let first = Duration::from_secs_f64(2.0 / observed.client.time_scale().max(1.0));
            if simulated {
                first.min(Duration::from_millis(50))
            } else {
                first
            }
        },
        on_event,
    };
    let plan = std::mem::take(&mut observed.plan);
    // What was read is not needed any more: apply reads again what it needs.
    observed.live = crate::live::Live::default();
    let outcome = apply(&observed.client, plan, options).await;
    watcher.abort();
    drop(ticker);
    if let (Some(path), Some(running)) = (&args.target.sim, &observed.simulator) {
        // Saved also after a partial failure: the simulated account is what it is.
        if let Err(error) = running.simulator().save_state(path) {
            observed.finish().await;
            return super::fail(&error.to_string());
        }
    }
    observed.finish().await;
    if outcome.is_failure() {
        ExitStatus::Failure
    } else if outcome.left > 0 && interrupted.load(Ordering::Relaxed) {
        ExitStatus::Interrupted
    } else if outcome.left > 0 {
        ExitStatus::Stopped
    } else {
        ExitStatus::Success
    }
}

/// While apply runs: the first SIGINT or SIGTERM (Ctrl-C, a cancelled CI job) stops it the way
/// `--max-duration` does, so that what was done is recorded (and `--sim` state saved); a second
/// one ends the process at once.
async fn watch_interrupts(interrupted: Arc<AtomicBool>) {
    super::interrupt_signal().await;
    interrupted.store(true, Ordering::Relaxed);
    eprint_line(
        "Interrupted: no new change starts; the ones in flight finish. Interrupt again to stop at \
         once.",
    );
    super::interrupt_signal().await;
    eprint_line("Interrupted again: stopping at once.");
    std::process::exit(i32::from(ExitStatus::Interrupted.code()));
}

/// A line on stderr that does not tear the progress bar.
fn print_line(bar: &indicatif::ProgressBar, line: &str) {
    if bar.is_hidden() {
        eprint_line(line);
    } else {
        bar.println(line);
    }
}

/// A line on stderr in one write, so that the progress thread's lines never split another's.
fn eprint_line(line: &str) {
    let _ = anstream::stderr().write_all(format!("{line}\n").as_bytes());
}

/// `--refresh-credentials`: send every known credential, even unchanged or failed ones.
fn refresh_credentials(plan: &mut Plan) {
    let mut kept = Vec::new();
    for mut blocked in std::mem::take(&mut plan.blocked) {
        if blocked.reason == Reason::ConnectionAuthFailed {
            blocked.reason = Reason::ConnectionCredentialsChanged;
            blocked.blocked_by = None;
            blocked.after = serde_json::json!({ "fingerprint": "(sent again)" }).into();
            plan.changes.push(blocked);
        } else {
            kept.push(blocked);
        }
    }
    plan.blocked = kept;
    plan.changes
        .sort_by(|a, b| a.customer.cmp(&b.customer).then(a.phase.cmp(&b.phase)));
}

/// Resolves the input of every connection the plan authorizes, before anything is written.
fn resolve_inputs(
    desired: &Desired,
    plan: &Plan,
) -> Result<BTreeMap<(String, String), ConnectionInput>, String> {
    let mut inputs = BTreeMap::new();
    for change in &plan.changes {
        let Subject::Connection {
            manifest,
            connection,
        } = &change.subject
        else {
            continue;
        };
        if change.action != Action::Authorize {
            continue;
        }
        let reference = format!("{manifest}.{connection}");
        let source = desired
            .customers
            .iter()
            .find(|c| c.external_id == change.customer)
            .and_then(|customer| customer.inputs.get(&reference))
            .ok_or_else(|| {
                format!(
                    "`{}/{reference}`: the file gives it no credentials",
                    change.customer
                )
            })?;
        let input = source
            .resolve(&crate::env::process)
            .map_err(|unresolved| format!("`{}/{reference}`: {}", change.customer, unresolved.0))?;
        inputs.insert((change.customer.clone(), reference), input);
    }
    Ok(inputs)
}

fn load_saved(path: &std::path::Path) -> Result<SavedPlan, String> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        format!(
            "cannot read the saved plan `{}`: {}",
            path.display(),
            crate::desired_file::io_reason(&error)
        )
    })?;
    crate::plan::saved::parse(&text).map_err(|reason| format!("`{}` {reason}", path.display()))
}

/// Refuses a saved plan that no longer describes reality (`plan::saved::check`).
fn check_saved(saved: &SavedPlan, observed: &Observed, args: &ApplyArgs) -> Result<(), String> {
    let file_label = args.file.display().to_string();
    crate::plan::saved::check(saved, &fresh_of(observed, args, &file_label))
}

/// Whether the saved plan's work is done already (`saved::in_effect`).
fn in_effect(saved: &SavedPlan, observed: &Observed, args: &ApplyArgs) -> bool {
    let file_label = args.file.display().to_string();
    crate::plan::saved::in_effect(saved, &fresh_of(observed, args, &file_label))
}

/// What a saved plan is checked against: this run's fresh plan.
fn fresh_of<'a>(
    observed: &'a Observed,
    args: &'a ApplyArgs,
    file_label: &'a str,
) -> crate::plan::saved::Fresh<'a> {
    let now_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    crate::plan::saved::Fresh {
        plan: &observed.plan,
        desired: &observed.desired,
        live: &observed.live,
        target_label: &observed.target_label,
        file_bytes: &observed.file_bytes,
        file_label,
        now_unix,
        customers: &args.customers,
        max_age_hours: args.max_age,
    }
}
