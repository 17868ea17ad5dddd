//! What apply reports while it runs and when it is done: plain lines for people, NDJSON for
//! machines (`apply --format json`). Events carry keys and reasons, never a secret.

use serde::Serialize;

use crate::plan::Change;
use crate::redact::Secrets;

/// One step of the run.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ApplyEvent {
    /// The run starts.
    ApplyStart { customers: usize, changes: usize },
    /// A change starts.
    ChangeStart {
        customer: String,
        phase: u8,
        action: String,
        kind: String,
        key: String,
    },
    /// A change is done.
    ChangeDone {
        customer: String,
        phase: u8,
        action: String,
        kind: String,
        key: String,
    },
    /// A change failed; the changes of the phases above it for this customer are skipped.
    ChangeFailed {
        customer: String,
        phase: u8,
        action: String,
        kind: String,
        key: String,
        error: String,
    },
    /// A change was not attempted. `because` is `failed_dependency` (something it depends on
    /// failed or could not be checked: the run fails) or `gate_closed` (the phase-4 gate, read
    /// live, was closed: the change is blocked, as in a plan).
    ChangeSkipped {
        customer: String,
        phase: u8,
        key: String,
        because: SkipKind,
        cause: String,
    },
    /// The phase-4 gate was closed when re-checked live.
    GateBlocked { customer: String, reason: String },
    /// Work on a customer stopped for a reason that is not one change's (an internal error):
    /// every change of that customer counts as failed.
    CustomerFailed { customer: String, error: String },
    /// `--max-duration` was reached, or the run was interrupted (SIGINT, SIGTERM): `left`
    /// changes were not started; the next run continues.
    Stopped { left: usize, because: StopCause },
    /// The run is over.
    Summary(ApplyOutcome),
}

impl ApplyEvent {
    /// Every event's name (its `event` field), in the order a run may print them: what
    /// `apply --help`, the README and docs/plan-json.md list.
    pub const NAMES: &'static [&'static str] = &[
        "apply_start",
        "change_start",
        "change_done",
        "change_failed",
        "change_skipped",
        "gate_blocked",
        "customer_failed",
        "stopped",
        "summary",
    ];

    /// The event's name, as its `event` field says it. A new event fails to compile here until
    /// it is named, and the test below until `NAMES` lists it.
    pub fn name(&self) -> &'static str {
        match self {
            ApplyEvent::ApplyStart { .. } => "apply_start",
            ApplyEvent::ChangeStart { .. } => "change_start",
            ApplyEvent::ChangeDone { .. } => "change_done",
            ApplyEvent::ChangeFailed { .. } => "change_failed",
            ApplyEvent::ChangeSkipped { .. } => "change_skipped",
            ApplyEvent::GateBlocked { .. } => "gate_blocked",
            ApplyEvent::CustomerFailed { .. } => "customer_failed",
            ApplyEvent::Stopped { .. } => "stopped",
            ApplyEvent::Summary(_) => "summary",
        }
    }

    pub(crate) fn start_of(change: &Change) -> Self {
        ApplyEvent::ChangeStart {
            customer: change.customer.clone(),
            phase: change.phase,
            action: change.action.as_str().to_owned(),
            kind: change.kind().as_str().to_owned(),
            key: change.key(),
        }
    }

    pub(crate) fn done_of(change: &Change) -> Self {
        ApplyEvent::ChangeDone {
            customer: change.customer.clone(),
            phase: change.phase,
            action: change.action.as_str().to_owned(),
            kind: change.kind().as_str().to_owned(),
            key: change.key(),
        }
    }

    /// A change left undone because something it depends on failed or could not be checked.
    pub(crate) fn skipped_of(change: &Change, cause: String) -> Self {
        ApplyEvent::ChangeSkipped {
            customer: change.customer.clone(),
            phase: change.phase,
            key: change.key(),
            because: SkipKind::FailedDependency,
            cause,
        }
    }

    /// A phase-4 change left undone because the gate, read live, was closed.
    pub(crate) fn gate_closed_for(change: &Change, cause: String) -> Self {
        ApplyEvent::ChangeSkipped {
            customer: change.customer.clone(),
            phase: change.phase,
            key: change.key(),
            because: SkipKind::GateClosed,
            cause,
        }
    }

    pub(crate) fn failed_of(change: &Change, error: String) -> Self {
        ApplyEvent::ChangeFailed {
            customer: change.customer.clone(),
            phase: change.phase,
            action: change.action.as_str().to_owned(),
            kind: change.kind().as_str().to_owned(),
            key: change.key(),
            error,
        }
    }

    /// The event with `secrets` taken out of its free text (errors, causes, reasons), the keys
    /// and names left as they are: a last pass before the event is printed. Workato's text is
    /// already redacted by the client.
    pub fn redacted(&self, secrets: &Secrets) -> ApplyEvent {
        let mut event = self.clone();
        match &mut event {
            ApplyEvent::ChangeFailed { error, .. } | ApplyEvent::CustomerFailed { error, .. } => {
                secrets.redact_in_place(error)
            }
            ApplyEvent::ChangeSkipped { cause, .. } => secrets.redact_in_place(cause),
            ApplyEvent::GateBlocked { reason, .. } => secrets.redact_in_place(reason),
            _ => {}
        }
        event
    }

    /// The event as one line for people.
    pub fn line(&self) -> String {
        match self {
            ApplyEvent::ApplyStart { customers, changes } => {
                format!("Applying {changes} changes to {customers} customers.")
            }
            ApplyEvent::ChangeStart {
                customer,
                action,
                kind,
                key,
                ..
            } => {
                format!("{customer}: {action} {kind} {key} …")
            }
            ApplyEvent::ChangeDone {
                customer,
                action,
                kind,
                key,
                ..
            } => {
                format!("{customer}: {action} {kind} {key}: done")
            }
            ApplyEvent::ChangeFailed {
                customer,
                action,
                kind,
                key,
                error,
                ..
            } => {
                format!("{customer}: {action} {kind} {key}: FAILED: {error}")
            }
            ApplyEvent::ChangeSkipped {
                customer,
                key,
                because: SkipKind::FailedDependency,
                cause,
                ..
            } => {
                format!("{customer}: skipped {key}: {cause}")
            }
            ApplyEvent::ChangeSkipped {
                customer,
                key,
                because: SkipKind::GateClosed,
                cause,
                ..
            } => {
                format!("{customer}: blocked {key}: {cause}")
            }
            ApplyEvent::GateBlocked { customer, reason } => {
                format!("{customer}: runtime users not set up: {reason}")
            }
            ApplyEvent::CustomerFailed { customer, error } => {
                format!("{customer}: FAILED: {error}")
            }
            ApplyEvent::Stopped { left, because } => format!(
                "{}: {} not started; run apply again to continue (it plans afresh and repeats \
                 nothing).",
                match because {
                    StopCause::MaxDuration => "Stopped at --max-duration",
                    StopCause::Interrupted => "Interrupted",
                },
                crate::render::counted(*left as u64, "change", "changes")
            ),
            ApplyEvent::Summary(outcome) => outcome.line(),
        }
    }
}

/// Why a run stopped starting changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopCause {
    /// `--max-duration` was reached.
    MaxDuration,
    /// A signal (SIGINT, SIGTERM) asked the run to stop.
    Interrupted,
}

/// Why a change was not attempted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipKind {
    /// Something it depends on failed or could not be checked: a failure of the run.
    FailedDependency,
    /// The phase-4 gate, read live, was closed: blocked, not a failure.
    GateClosed,
}

/// The result of an apply.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ApplyOutcome {
    pub succeeded: usize,
    pub failed: usize,
    /// Changes not attempted because something they depend on failed or could not be checked;
    /// each one fails the run like a failed change.
    pub skipped: usize,
    /// Changes blocked: by the plan, or by the phase-4 gate read live; they do not fail the run.
    pub blocked: usize,
    pub pending_users: usize,
    /// Changes not started because `--max-duration` was reached (not a failure: exit 4), or the
    /// run was interrupted (`stopped_by`).
    pub left: usize,
    /// Why changes were left, when some were.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_by: Option<StopCause>,
    pub customers: Vec<CustomerOutcome>,
}

/// The result for one customer.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CustomerOutcome {
    pub customer: String,
    pub succeeded: usize,
    pub failed: usize,
    pub skipped: usize,
    pub blocked: usize,
    pub pending_users: usize,
    /// Changes not started because `--max-duration` was reached.
    pub left: usize,
    /// "integration setup is in progress" when something is blocked or failed, else "ready".
    pub status: String,
}

impl ApplyOutcome {
    /// `Apply: 12 succeeded, 0 failed, 0 skipped (failed dependency); 0 blocked (gate closed); 5
    /// end users pending.`
    pub fn line(&self) -> String {
        let left = if self.left > 0 {
            let cause = match self.stopped_by {
                Some(StopCause::Interrupted) => "interrupted",
                _ => "stopped at --max-duration",
            };
            format!("; {} left ({cause})", self.left)
        } else {
            String::new()
        };
        format!(
            "Apply: {} succeeded, {} failed, {} skipped (failed dependency); {} blocked (gate \
             closed); {} end users pending{left}.",
            self.succeeded, self.failed, self.skipped, self.blocked, self.pending_users
        )
    }

    /// Whether the run left work undone for a reason that is a failure: a change failed, or was
    /// skipped because something it depends on failed or could not be checked.
    pub fn is_failure(&self) -> bool {
        self.failed > 0 || self.skipped > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_event_fields_of_every_event() {
        let text = || "x".to_owned();
        let every = [
            ApplyEvent::ApplyStart {
                customers: 1,
                changes: 1,
            },
            ApplyEvent::ChangeStart {
                customer: text(),
                phase: 1,
                action: text(),
                kind: text(),
                key: text(),
            },
            ApplyEvent::ChangeDone {
                customer: text(),
                phase: 1,
                action: text(),
                kind: text(),
                key: text(),
            },
            ApplyEvent::ChangeFailed {
                customer: text(),
                phase: 1,
                action: text(),
                kind: text(),
                key: text(),
                error: text(),
            },
            ApplyEvent::ChangeSkipped {
                customer: text(),
                phase: 1,
                key: text(),
                because: SkipKind::GateClosed,
                cause: text(),
            },
            ApplyEvent::GateBlocked {
                customer: text(),
                reason: text(),
            },
            ApplyEvent::CustomerFailed {
                customer: text(),
                error: text(),
            },
            ApplyEvent::Stopped {
                left: 1,
                because: StopCause::MaxDuration,
            },
            ApplyEvent::Summary(ApplyOutcome::default()),
        ];
        let fields: Vec<String> = every
            .iter()
            .map(|event| {
                let json = serde_json::to_value(event).unwrap_or_default();
                assert_eq!(json["event"], event.name(), "{json}");
                event.name().to_owned()
            })
            .collect();
        assert_eq!(fields, ApplyEvent::NAMES);
    }
}
