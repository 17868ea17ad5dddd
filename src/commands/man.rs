//! `embedctl man`: the roff man page of embedctl on stdout, or one page per command in a folder.
//!
//! clap_mangen renders the name, synopsis, description, options and subcommands from the clap
//! types; the text after each command's help (its exit codes, examples and notes) is rendered
//! here as the sections `EXIT STATUS`, `EXAMPLES` and `NOTES`, so that examples keep their lines.

use std::io::Write;
use std::path::Path;

use clap::CommandFactory;
use roff::{Roff, roman};

use crate::cli::{Cli, ExitStatus, ManArgs};

/// Prints `embedctl.1`, or writes every page into `--out-dir`.
pub fn run(args: &ManArgs) -> ExitStatus {
    let command = man_command();
    match &args.out_dir {
        None => {
            let mut page = Vec::new();
            if let Err(error) = render(&command, &mut page) {
                return super::fail(&format!("cannot render the man page: {error}"));
            }
            let mut stdout = std::io::stdout().lock();
            match stdout.write_all(&page).and_then(|()| stdout.flush()) {
                Ok(()) => ExitStatus::Success,
                Err(error) => super::fail(&format!("cannot write the man page: {error}")),
            }
        }
        Some(directory) => match write_pages(&command, directory) {
            Ok(written) => {
                eprintln!("wrote {written} man pages into `{}`", directory.display());
                ExitStatus::Success
            }
            Err(error) => super::fail(&format!(
                "cannot write the man pages into `{}`: {error}",
                directory.display()
            )),
        },
    }
}

/// The command tree as the pages show it: built (so that every subcommand has its display name,
/// `embedctl-sim-serve`), without clap's `help` subcommand, which has no page.
fn man_command() -> clap::Command {
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    command
}

/// Writes the page of `command` and of every subcommand below it; returns how many.
fn write_pages(command: &clap::Command, directory: &Path) -> std::io::Result<usize> {
    std::fs::create_dir_all(directory)?;
    let mut written = 0;
    let mut stack = vec![command];
    while let Some(command) = stack.pop() {
        let name = command
            .get_display_name()
            .unwrap_or_else(|| command.get_name());
        let mut page = Vec::new();
        render(command, &mut page)?;
        super::write_atomically(&directory.join(format!("{name}.1")), |file| {
            file.write_all(&page)
        })?;
        written += 1;
        stack.extend(command.get_subcommands().filter(|sub| !sub.is_hide_set()));
    }
    Ok(written)
}

/// One page: clap_mangen's sections, then the after-help text as sections of its own.
fn render(command: &clap::Command, out: &mut Vec<u8>) -> std::io::Result<()> {
    // Every section rendered apart starts with the same two-line preamble (the apostrophe
    // string for groff); the page needs it once, at the top.
    const PREAMBLE: &[u8] = b".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n";
    let mut sections = Vec::new();
    render_sections(command, &mut sections)?;
    out.extend_from_slice(PREAMBLE);
    let mut rest = sections.as_slice();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix(PREAMBLE) {
            rest = after;
            continue;
        }
        let end = rest
            .iter()
            .position(|&byte| byte == b'\n')
            .map_or(rest.len(), |newline| newline + 1);
        out.extend_from_slice(&rest[..end]);
        rest = &rest[end..];
    }
    Ok(())
}

fn render_sections(command: &clap::Command, out: &mut dyn Write) -> std::io::Result<()> {
    let man = clap_mangen::Man::new(command.clone())
        .source(concat!("embedctl ", env!("CARGO_PKG_VERSION")))
        .manual("embedctl manual");
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    if command.get_arguments().any(|arg| !arg.is_hide_set()) {
        man.render_options_section(out)?;
    }
    if command.has_subcommands() {
        man.render_subcommands_section(out)?;
    }
    if let Some(after) = command.get_after_help() {
        after_help_sections(&after.to_string()).to_writer(out)?;
    }
    if command.get_version().is_some() {
        man.render_version_section(out)?;
    }
    Ok(())
}

/// The after-help text, one paragraph per blank-line-separated block: `Exit codes: …` becomes
/// `EXIT STATUS`, `Examples:` with its indented lines becomes `EXAMPLES` (lines kept as they
/// are), any other paragraph goes under `NOTES`.
fn after_help_sections(text: &str) -> Roff {
    let mut exit_status = Vec::new();
    let mut examples: Vec<Vec<&str>> = Vec::new();
    let mut notes = Vec::new();
    let mut in_examples = false;
    for block in text.split("\n\n") {
        let block = block.trim_end();
        if let Some(rest) = block.strip_prefix("Exit codes:") {
            in_examples = false;
            exit_status.push(rest.trim().to_owned());
        } else if let Some(rest) = block.strip_prefix("Examples:") {
            in_examples = true;
            examples.push(rest.lines().filter(|line| !line.is_empty()).collect());
        } else if in_examples && block.starts_with("  ") {
            examples.push(block.lines().collect());
        } else {
            in_examples = false;
            notes.push(block.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    }
    let mut roff = Roff::new();
    if !exit_status.is_empty() {
        roff.control("SH", ["EXIT STATUS"]);
        for paragraph in exit_status {
            roff.control("PP", []).text([roman(paragraph)]);
        }
    }
    if !examples.is_empty() {
        roff.control("SH", ["EXAMPLES"]);
        for group in examples {
            roff.control("PP", [])
                .control("nf", [])
                .control("RS", ["4"]);
            for line in group {
                roff.text([roman(line.strip_prefix("  ").unwrap_or(line))]);
            }
            roff.control("RE", []).control("fi", []);
        }
    }
    if !notes.is_empty() {
        roff.control("SH", ["NOTES"]);
        for paragraph in notes {
            roff.control("PP", []).text([roman(paragraph)]);
        }
    }
    roff
}
