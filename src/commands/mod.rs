//! One small function per command: build the inputs, call the core, print, choose the status.

mod apply;
mod completions;
mod drift;
mod export;
mod links;
mod man;
mod plan;
mod schema;
mod session;
mod sim;
mod validate;

use crate::cli::{Cli, Command, ExitStatus, SimCommand};

pub use schema::desired_file_schema;

/// Runs the command the user asked for.
pub fn run(cli: Cli) -> ExitStatus {
    match cli.command {
        Command::Validate(args) => validate::run(&args),
        Command::Schema => schema::run(),
        Command::Plan(args) => plan::run(&args),
        Command::Drift(args) => drift::run(&args),
        Command::Apply(args) => apply::run(&args),
        Command::Links(args) => links::run(&args),
        Command::Export(args) => export::run(&args),
        Command::Sim(SimCommand::Serve(args)) => sim::serve(&args),
        Command::Completions(args) => completions::run(&args),
        Command::Man(args) => man::run(&args),
    }
}

/// Whether text written to stderr may carry colour: a terminal, and `NO_COLOR` / `CLICOLOR` allow it.
pub(crate) fn stderr_has_color() -> bool {
    anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never
}

/// Whether stdout may carry colour: a terminal, and `NO_COLOR` / `CLICOLOR` allow it.
pub(crate) fn stdout_has_color() -> bool {
    anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never
}

/// Runs an async command on a fresh runtime.
pub(crate) fn block_on(future: impl std::future::Future<Output = ExitStatus>) -> ExitStatus {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(future),
        Err(error) => fail(&format!("cannot start the async runtime: {error}")),
    }
}

/// Prints `error: MESSAGE` on stderr and returns the failure status.
/// The desired-state file as a pull-request comment names it: as given when relative (run from
/// the repository's top, `-f deploy/embedctl.yaml` reads `deploy/embedctl.yaml`); when absolute
/// and inside a git work tree, relative to the work tree's top; otherwise as given.
pub(crate) fn file_title(path: &std::path::Path) -> String {
    if path.is_absolute() {
        let top = path
            .ancestors()
            .skip(1)
            .find(|folder| folder.join(".git").exists());
        if let Some(relative) = top.and_then(|top| path.strip_prefix(top).ok()) {
            let parts: Vec<String> = relative
                .components()
                .map(|part| part.as_os_str().to_string_lossy().into_owned())
                .collect();
            if !parts.is_empty() {
                return parts.join("/");
            }
        }
    }
    path.display().to_string()
}

pub(crate) fn fail(message: &str) -> ExitStatus {
    use std::io::Write;
    let _ = writeln!(anstream::stderr(), "error: {message}");
    ExitStatus::Failure
}

/// Writes to `path` through a temporary file that `write` fills as it goes, renamed over `path`
/// when complete: a reader never sees half a file, and a large document is never held whole.
pub(crate) fn write_atomically(
    path: &std::path::Path,
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    use std::io::Write as _;
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => std::path::Path::new("."),
    };
    let name = path
        .file_name()
        .map_or_else(|| "plan".into(), |n| n.to_string_lossy().into_owned());
    let temporary = directory.join(format!(".{name}.tmp-{}", std::process::id()));
    let written = std::fs::File::create(&temporary).and_then(|file| {
        let mut buffered = std::io::BufWriter::new(file);
        write(&mut buffered)?;
        buffered.flush()?;
        buffered.get_ref().sync_all()
    });
    if let Err(error) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(error);
    }
    std::fs::rename(&temporary, path)
}

/// For a command that saves the `--sim` state when it is done (`apply`, `links --create-missing`):
/// refuses, before any request, a state path the command could not write at the end, so that no
/// run does all its work and then loses it.
pub(crate) fn check_state_writable(path: &std::path::Path) -> Result<(), String> {
    let shown = path.display();
    if path.is_dir() {
        return Err(format!("`--sim {shown}` is a folder, not a state file"));
    }
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => std::path::Path::new("."),
    };
    if !folder.is_dir() {
        return Err(format!(
            "`--sim {shown}`: the folder `{}` does not exist, so the simulated account could not be saved",
            folder.display()
        ));
    }
    // The state is written atomically, through a new file beside it: try one.
    let probe = folder.join(format!(".embedctl-write-check-{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(error) => Err(format!(
            "`--sim {shown}`: cannot write in `{}` ({}), so the simulated account could not be saved",
            folder.display(),
            crate::desired_file::io_reason(&error)
        )),
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub(crate) async fn interrupt_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

#[cfg(test)]
mod file_title_tests {
    use std::path::Path;

    use super::file_title;

    #[test]
    fn a_relative_path_is_shown_as_given() {
        assert_eq!(
            file_title(Path::new("deploy/embedctl.yaml")),
            "deploy/embedctl.yaml"
        );
    }

    #[test]
    fn an_absolute_path_in_a_work_tree_is_relative_to_its_top() {
        let top = tempfile::tempdir().expect("a temporary folder");
        std::fs::create_dir_all(top.path().join("deploy/prod")).expect("folders");
        // A linked worktree's `.git` is a file; a clone's is a folder: both mark the top.
        std::fs::write(top.path().join(".git"), "gitdir: elsewhere\n").expect("a .git file");
        let file = top.path().join("deploy/prod/embedctl.yaml");
        assert_eq!(file_title(&file), "deploy/prod/embedctl.yaml");
    }

    #[test]
    fn an_absolute_path_outside_any_work_tree_is_shown_as_given() {
        let outside = tempfile::tempdir().expect("a temporary folder");
        let file = outside.path().join("embedctl.yaml");
        if outside
            .path()
            .ancestors()
            .any(|folder| folder.join(".git").exists())
        {
            return; // the temporary folder is itself inside a work tree: nothing to check here
        }
        assert_eq!(file_title(&file), file.display().to_string());
    }
}
