//! Rendering a plan for people and programs: text for a terminal, JSON for scripts, Markdown for
//! a pull-request comment (docs/commands.md).
//!
//! Renderers are pure: the same plan, budget and context give byte-identical output. They print
//! only what the plan holds (which never includes a secret: credentials appear as short
//! fingerprints) and never add a link. Whether to colour is the caller's decision, so that
//! `NO_COLOR` and terminals are handled in one place (anstream, at the edge).

pub mod drift;
mod field;
mod group;
pub mod json;
pub mod markdown;
pub mod text;
mod words;

pub use group::Listing;
pub(crate) use words::{count, counted, duration, printable};

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::plan::{ApiBudget, Plan};

/// An output format of `plan` and `drift` (`--format`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// For a terminal: grouped by customer and phase, with markers and optional colour.
    #[default]
    Text,
    /// The JSON document described by `schemas/plan.schema.json`.
    Json,
    /// One pull-request comment, at most 65,000 characters.
    Markdown,
}

impl Format {
    /// Every format, in the order `--help` lists them.
    pub const ALL: [Format; 3] = [Format::Text, Format::Json, Format::Markdown];

    /// The format's name as given to `--format`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Markdown => "markdown",
        }
    }

    /// The format named `name` (`text`, `json`, `markdown`).
    pub fn parse(name: &str) -> Result<Format, UnknownFormat> {
        Format::ALL
            .into_iter()
            .find(|format| format.as_str() == name)
            .ok_or_else(|| UnknownFormat(name.to_owned()))
    }
}

impl FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(name: &str) -> Result<Format, UnknownFormat> {
        Format::parse(name)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A `--format` value that names no format.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an output format; use `text`, `json` or `markdown`")]
pub struct UnknownFormat(pub String);

/// The command whose report a renderer writes, as the Markdown heading names it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Command {
    #[default]
    Plan,
    Drift,
}

impl Command {
    /// `plan`, `drift`.
    pub fn as_str(self) -> &'static str {
        match self {
            Command::Plan => "plan",
            Command::Drift => "drift",
        }
    }
}

/// What a renderer needs to know besides the plan.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RenderContext {
    /// Write ANSI colours (text only). The caller decides, honouring `NO_COLOR` and whether the
    /// output is a terminal.
    pub color: bool,
    /// What the plan is of, for the Markdown heading: usually the desired-state file's name.
    pub title: String,
    /// The command the Markdown heading names: `## embedctl plan: FILE`, `## embedctl drift: FILE`.
    pub command: Command,
    /// The calls made to read Workato for this plan, by endpoint family; shown when not empty.
    pub observed_calls: BTreeMap<String, u64>,
    /// What text and Markdown list in full (`--verbose`, `--show-pending`); the rest of a long
    /// list is counted. JSON always lists everything.
    pub listing: Listing,
}

/// The plan in `format`. `budget` is the API budget of applying it (`plan::budget_of`).
pub fn render(plan: &Plan, budget: &ApiBudget, ctx: &RenderContext, format: Format) -> String {
    match format {
        Format::Text => text::render(plan, budget, ctx),
        Format::Json => json::render(plan, budget, ctx),
        Format::Markdown => markdown::render(plan, budget, ctx),
    }
}
