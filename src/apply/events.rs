//! What apply reports while it runs and when it is done: plain lines for people, NDJSON for
//! machines (`apply --format json`). Events carry keys and reasons, never a secret.

use serde::Serialize;

use crate::plan::Change;

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
    /// A change was not attempted: an earlier failure, or the live gate was closed.
    ChangeSkipped {
        customer: String,
        phase: u8,
        key: String,
        cause: String,
    },
    /// The phase-4 gate was closed when re-checked live.
    GateBlocked { customer: String, reason: String },
    /// The run is over.
    Summary(ApplyOutcome),
}

impl ApplyEvent {
    pub(crate) fn start_of(change: &Change) -> Self {
        ApplyEvent::ChangeStart {
            customer: change.customer.clone(),
            phase: change.phase,
            action: change.action.as_str().to_owned(),
            kind: change.kind.as_str().to_owned(),
            key: change.key.clone(),
        }
    }

    pub(crate) fn done_of(change: &Change) -> Self {
        ApplyEvent::ChangeDone {
            customer: change.customer.clone(),
            phase: change.phase,
            action: change.action.as_str().to_owned(),
            kind: change.kind.as_str().to_owned(),
            key: change.key.clone(),
        }
    }

    pub(crate) fn skipped_of(change: &Change, cause: String) -> Self {
        ApplyEvent::ChangeSkipped {
            customer: change.customer.clone(),
            phase: change.phase,
            key: change.key.clone(),
            cause,
        }
    }

    pub(crate) fn failed_of(change: &Change, error: String) -> Self {
        ApplyEvent::ChangeFailed {
            customer: change.customer.clone(),
            phase: change.phase,
            action: change.action.as_str().to_owned(),
            kind: change.kind.as_str().to_owned(),
            key: change.key.clone(),
            error,
        }
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
                cause,
                ..
            } => {
                format!("{customer}: skipped {key}: {cause}")
            }
            ApplyEvent::GateBlocked { customer, reason } => {
                format!("{customer}: runtime users not set up: {reason}")
            }
            ApplyEvent::Summary(outcome) => outcome.line(),
        }
    }
}

/// The result of an apply.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ApplyOutcome {
    pub succeeded: usize,
    pub failed: usize,
    pub skipped: usize,
    pub blocked: usize,
    pub pending_users: usize,
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
    /// "integration setup is in progress" when something is blocked or failed, else "ready".
    pub status: String,
}

impl ApplyOutcome {
    /// `Apply: 12 succeeded, 0 failed, 0 skipped; 0 blocked; 5 end users pending.`
    pub fn line(&self) -> String {
        format!(
            "Apply: {} succeeded, {} failed, {} skipped; {} blocked; {} end users pending.",
            self.succeeded, self.failed, self.skipped, self.blocked, self.pending_users
        )
    }
}
