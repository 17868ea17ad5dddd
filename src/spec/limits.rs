//! Limits on what the desired-state file's values may be, and on how much of them diagnostics show.

/// How many characters of a value a diagnostic quotes before it cuts the value short.
pub const QUOTED: usize = 60;
