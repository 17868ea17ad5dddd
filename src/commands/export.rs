//! `embedctl export`: read the account (or the customers asked for) and write a desired-state
//! file from it, to stdout or atomically to `--out`. Exit 0 written, 1 error.

use std::io::Write;
use std::path::Path;

use crate::cli::{ExitStatus, ExportArgs};
use crate::env::{self, Settings};
use crate::export::write::{Where, count, render, variable_lines};
use crate::export::{Export, PACKAGE_PLACEHOLDER_PREFIX, infer, read_account};
use crate::redact::Secrets;
use crate::workato::REGIONS;

use super::session::{Stop, connect};

/// Runs the export command.
pub fn run(args: &ExportArgs) -> ExitStatus {
    super::block_on(execute(args))
}

async fn execute(args: &ExportArgs) -> ExitStatus {
    if let Some(out) = &args.out
        && let Err(why) = check_out(out)
    {
        return super::fail(&format!("`--out {}`: {why}", out.display()));
    }
    let settings = match Settings::read(env::process) {
        Ok(settings) => settings,
        Err(error) => return super::fail(&error.to_string()),
    };
    let mut customers = args.customers.clone();
    customers.sort();
    customers.dedup();
    let (client, simulator, _) = match connect(
        args.target.sim.as_deref(),
        None,
        None,
        &settings,
        &Secrets::new(),
    )
    .await
    {
        Ok(connected) => connected,
        Err(Stop(message)) => return super::fail(&message),
    };
    let (source, place) = match &args.target.sim {
        Some(state) => (
            format!(
                "the simulator state `{}`",
                state.file_name().map_or_else(
                    || state.display().to_string(),
                    |n| n.to_string_lossy().into_owned()
                )
            ),
            Where::Simulator,
        ),
        None => origin(client.base_url()),
    };
    let read = read_account(&client, &customers).await;
    if let Some(running) = simulator {
        let _ = running.stop().await;
    }
    let account = match read {
        Ok(account) => account,
        Err(error) => return super::fail(&error.to_string()),
    };
    let export = infer(&account);
    let text = render(&export, &source, &place);
    match &args.out {
        Some(out) => {
            if let Err(error) =
                super::write_atomically(out, |writer| writer.write_all(text.as_bytes()))
            {
                return super::fail(&format!(
                    "`--out {}`: cannot write it: {}",
                    out.display(),
                    crate::desired_file::io_reason(&error)
                ));
            }
        }
        None => {
            let _ = std::io::stdout().write_all(text.as_bytes());
        }
    }
    let _ = anstream::stderr().write_all(summary(&export, &source, args.out.as_deref()).as_bytes());
    ExitStatus::Success
}

/// Why `--out` cannot be written, found before anything is read: a folder, or in a folder that
/// does not exist.
fn check_out(out: &Path) -> Result<(), String> {
    if out.is_dir() {
        return Err("is a folder; name a file".to_owned());
    }
    let parent = match out.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        return Err(format!(
            "the folder `{}` does not exist; create it first",
            parent.display()
        ));
    }
    Ok(())
}

/// The host of the base URL (never more: no path, no token), and the file's `workato:` for it.
fn origin(base_url: &str) -> (String, Where) {
    let host = url::Url::parse(base_url)
        .ok()
        .and_then(|url| {
            url.host_str().map(|host| match url.port() {
                Some(port) => format!("{host}:{port}"),
                None => host.to_owned(),
            })
        })
        .unwrap_or_else(|| "Workato".to_owned());
    let place = REGIONS
        .iter()
        .find(|(_, url)| *url == base_url)
        .map_or_else(
            || Where::BaseUrl(base_url.to_owned()),
            |(name, _)| Where::Region(name),
        );
    (host, place)
}

/// What stderr says after the file: what was exported, what to fill in, what was left out.
fn summary(export: &Export, source: &str, out: Option<&Path>) -> String {
    let mut text = format!(
        "Exported {}, {} and {} from {source}{}.\n",
        count(export.customers.len(), "customer", "customers"),
        count(export.manifests.len(), "manifest", "manifests"),
        count(export.runtime_user_count(), "runtime user", "runtime users"),
        out.map(|p| format!(" to `{}`", p.display()))
            .unwrap_or_default()
    );
    if !export.manifests.is_empty() {
        text.push_str(&format!(
            "Point every `package:` ({PACKAGE_PLACEHOLDER_PREFIX}…) at the package you deploy.\n"
        ));
    }
    let variables = export.variables();
    if !variables.is_empty() {
        text.push_str(
            "Name each default connection's credential fields; they read these variables:\n",
        );
        text.push_str(&variable_lines(&variables, "  "));
    }
    for note in &export.notes {
        text.push_str(&format!("note: {note}\n"));
    }
    text
}
