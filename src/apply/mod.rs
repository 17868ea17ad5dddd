//! `apply`: the phase-layered executor (ARCHITECTURE.md).
//!
//! It follows the plan and decides nothing the plan did not decide: per customer it runs the
//! changes phase by phase, re-checks the phase-4 gate live right before phase 4, and looks an
//! object up by its natural key before retrying a create whose outcome is unknown. Customers run
//! concurrently; a failing customer never stops the others, and within a customer a failed
//! change skips the changes of the phases above it.

mod events;
mod gate;
mod progress;
mod schedule;
mod steps;

pub use events::{ApplyEvent, ApplyOutcome, CustomerOutcome, SkipKind, StopCause};
pub use progress::{PROGRESS_INTERVAL, Progress, Ticker};
pub use schedule::{ApplyOptions, IMPORT_TIMEOUT, apply};
