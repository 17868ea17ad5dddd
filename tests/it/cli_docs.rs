//! What a user reads about the commands without the docs: `--help`, shell completions and the
//! man page, all generated from the same clap types.

use clap::CommandFactory;

use crate::context::{repo_root, run_in};

/// Every command path below `embedctl` (`["plan"]`, `["sim", "serve"]`, …), clap's `help`
/// excepted: read from the clap types, so a command added later is covered without a test edit.
fn command_paths() -> Vec<Vec<String>> {
    fn walk(command: &clap::Command, prefix: &[String], paths: &mut Vec<Vec<String>>) {
        for sub in command.get_subcommands() {
            if sub.get_name() == "help" || sub.is_hide_set() {
                continue;
            }
            let mut path = prefix.to_vec();
            path.push(sub.get_name().to_owned());
            paths.push(path.clone());
            walk(sub, &path, paths);
        }
    }
    let mut paths = Vec::new();
    walk(&embedctl::cli::Cli::command(), &[], &mut paths);
    paths
}

#[test]
fn the_command_tree_is_what_the_docs_list() {
    // Guards the walk itself: if it found nothing, the tests below would pass vacuously.
    let names: Vec<String> = command_paths().iter().map(|path| path.join(" ")).collect();
    for expected in [
        "validate",
        "plan",
        "apply",
        "drift",
        "links",
        "export",
        "schema",
        "sim",
        "sim serve",
        "completions",
        "man",
    ] {
        assert!(names.iter().any(|name| name == expected), "{names:?}");
    }
}

#[test]
fn every_help_lists_its_exit_codes_and_an_example() {
    let mut paths = command_paths();
    paths.push(Vec::new()); // `embedctl --help` itself
    let mut missing = Vec::new();
    for path in &paths {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let outcome = run_in(&repo_root(), &args);
        assert_eq!(outcome.code, 0, "{args:?}\n{}", outcome.transcript());
        for needle in ["Exit codes:", "Examples:\n  "] {
            if !outcome.stdout.contains(needle) {
                missing.push(format!("`embedctl {}` lacks {needle:?}", path.join(" ")));
            }
        }
        // Every example runs embedctl, so a reader can copy one.
        let examples = outcome.stdout.split("Examples:").nth(1).unwrap_or_default();
        if !examples.contains("embedctl ") {
            missing.push(format!(
                "`embedctl {}` has no example command",
                path.join(" ")
            ));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

/// The clap command at `path` below `embedctl` (itself for an empty path).
fn command_at(path: &[String]) -> clap::Command {
    let mut command = embedctl::cli::Cli::command();
    for name in path {
        command = command
            .find_subcommand(name)
            .cloned()
            .unwrap_or_else(|| panic!("no command {name:?} in {path:?}"));
    }
    command
}

#[test]
fn every_help_example_line_is_printed_as_written_so_it_can_be_copied() {
    // clap wraps `--help` to the terminal (100 columns here: the tests clear `COLUMNS`); an
    // example line wrapped after `--sim` pastes as a command missing its value. Each line of
    // every example must come out whole, and a long one is continued with ` \`.
    let mut paths = command_paths();
    paths.push(Vec::new());
    let mut broken = Vec::new();
    for path in &paths {
        let command = command_at(path);
        let after = command
            .get_after_help()
            .map(ToString::to_string)
            .unwrap_or_default();
        let examples = after.split("Examples:\n").nth(1).unwrap_or_default();
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let outcome = run_in(&repo_root(), &args);
        assert_eq!(outcome.code, 0, "{args:?}\n{}", outcome.transcript());
        let printed: Vec<&str> = outcome.stdout.lines().collect();
        let lines: Vec<&str> = examples.lines().collect();
        for (index, line) in lines.iter().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            if !printed.contains(line) {
                broken.push(format!(
                    "`embedctl {} --help` wraps {line:?}",
                    path.join(" ")
                ));
            }
            if line.ends_with(" \\")
                && lines
                    .get(index + 1)
                    .is_none_or(|next| next.trim().is_empty())
            {
                broken.push(format!(
                    "`embedctl {} --help`: {line:?} continues on no line",
                    path.join(" ")
                ));
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

/// The leaf commands and groups a completion script must offer.
fn subcommand_names() -> Vec<String> {
    let mut names: Vec<String> = command_paths()
        .into_iter()
        .filter_map(|path| path.last().cloned())
        .collect();
    names.dedup();
    names
}

#[test]
fn each_shell_gets_a_script_that_offers_every_command() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let outcome = run_in(&repo_root(), &["completions", shell]);
        assert_eq!(outcome.code, 0, "{shell}: {}", outcome.transcript());
        assert!(outcome.stderr.is_empty(), "{shell}: {}", outcome.stderr);
        for name in subcommand_names() {
            assert!(
                outcome.stdout.contains(&name),
                "the {shell} script does not offer `{name}`"
            );
        }
        // Flags of a nested command are there too, not only the command names.
        assert!(
            outcome.stdout.contains("time-scale"),
            "{shell}: no `sim serve --time-scale`"
        );
    }
}

#[test]
fn the_bash_script_is_valid_bash_and_completes_embedctl() {
    let outcome = run_in(&repo_root(), &["completions", "bash"]);
    assert_eq!(outcome.code, 0, "{}", outcome.transcript());
    assert!(
        outcome.stdout.contains("complete -F _embedctl"),
        "{}",
        outcome.stdout
    );
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("tempdir: {error}"));
    let script = dir.path().join("embedctl.bash");
    std::fs::write(&script, &outcome.stdout).unwrap_or_else(|error| panic!("write: {error}"));
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap_or_else(|error| panic!("cannot run bash: {error}"));
    assert!(
        check.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn an_unknown_shell_is_a_usage_error_that_lists_the_shells() {
    let outcome = run_in(&repo_root(), &["completions", "tcsh"]);
    // embedctl's usage errors exit 1 (2 is `drift`'s and `plan --detailed-exitcode`'s).
    assert_eq!(outcome.code, 1, "{}", outcome.transcript());
    assert!(outcome.stdout.is_empty(), "{}", outcome.stdout);
    assert!(
        outcome.stderr.contains("invalid value 'tcsh'"),
        "{}",
        outcome.stderr
    );
    for shell in ["bash", "fish", "powershell", "zsh"] {
        assert!(outcome.stderr.contains(shell), "{}", outcome.stderr);
    }
}

#[test]
fn the_man_page_has_a_title_every_command_and_the_exit_codes() {
    let outcome = run_in(&repo_root(), &["man"]);
    assert_eq!(outcome.code, 0, "{}", outcome.transcript());
    let page = &outcome.stdout;
    assert!(page.contains("\n.TH embedctl 1 "), "{page}");
    assert_eq!(
        page.matches(".ds Aq \\(aq").count(),
        1,
        "one preamble: {page}"
    );
    for path in command_paths().iter().filter(|path| path.len() == 1) {
        // roff escapes the hyphen of the page name.
        let reference = format!("embedctl\\-{}(1)", path[0]);
        assert!(page.contains(&reference), "no {reference}:\n{page}");
    }
    let exit_status = page
        .split(".SH \"EXIT STATUS\"")
        .nth(1)
        .unwrap_or_else(|| panic!("no EXIT STATUS section:\n{page}"));
    for code in ["0 success", "1 error", "2 ", "3 ", "4 "] {
        assert!(exit_status.contains(code), "no {code:?} in:\n{exit_status}");
    }
    assert!(page.contains(".SH EXAMPLES\n"), "{page}");
}

#[test]
fn man_out_dir_writes_one_page_per_command() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("tempdir: {error}"));
    let out = dir.path().join("man1");
    let out_arg = out.to_string_lossy().into_owned();
    let outcome = run_in(&repo_root(), &["man", "--out-dir", &out_arg]);
    assert_eq!(outcome.code, 0, "{}", outcome.transcript());
    assert!(outcome.stdout.is_empty(), "{}", outcome.stdout);

    let mut expected: Vec<String> = command_paths()
        .iter()
        .map(|path| format!("embedctl-{}.1", path.join("-")))
        .collect();
    expected.push("embedctl.1".to_owned());
    expected.sort();
    let mut written: Vec<String> = std::fs::read_dir(&out)
        .unwrap_or_else(|error| panic!("read_dir: {error}"))
        .map(|entry| {
            entry
                .unwrap_or_else(|error| panic!("entry: {error}"))
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    written.sort();
    assert_eq!(written, expected);
    assert!(
        outcome
            .stderr
            .contains(&format!("wrote {} man pages", expected.len())),
        "{}",
        outcome.stderr
    );

    let serve = std::fs::read_to_string(out.join("embedctl-sim-serve.1"))
        .unwrap_or_else(|error| panic!("read: {error}"));
    assert!(serve.contains("\n.TH embedctl-sim-serve 1 "), "{serve}");
    assert!(serve.contains("\\-\\-time\\-scale"), "{serve}");
    assert!(serve.contains(".SH \"EXIT STATUS\""), "{serve}");
    assert!(serve.contains(".SH EXAMPLES"), "{serve}");
}

#[test]
fn man_out_dir_that_cannot_be_made_is_an_error() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("tempdir: {error}"));
    let file = dir.path().join("not-a-folder");
    std::fs::write(&file, "x").unwrap_or_else(|error| panic!("write: {error}"));
    let out_arg = file.join("man1").to_string_lossy().into_owned();
    let outcome = run_in(&repo_root(), &["man", "--out-dir", &out_arg]);
    assert_eq!(outcome.code, 1, "{}", outcome.transcript());
    assert!(
        outcome
            .stderr
            .starts_with("error: cannot write the man pages into"),
        "{}",
        outcome.stderr
    );
}

#[test]
fn completions_help() {
    let outcome = run_in(&repo_root(), &["completions", "--help"]);
    insta::assert_snapshot!(outcome.transcript());
}

#[test]
fn man_help() {
    let outcome = run_in(&repo_root(), &["man", "--help"]);
    insta::assert_snapshot!(outcome.transcript());
}

/// The event names in the first `(`…`)` after `lead` in `text`, whitespace folded: `apply_start`,
/// `change_start`… as the list gives them.
fn listed_events(text: &str, lead: &str) -> Vec<String> {
    let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let list = folded
        .split_once(lead)
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(list, _)| list)
        .unwrap_or_default();
    list.split(", ")
        .map(|name| name.trim_matches('`').to_owned())
        .collect()
}

#[test]
fn apply_json_events_are_listed_alike_in_help_readme_and_docs() {
    let events: Vec<String> = embedctl::apply::ApplyEvent::NAMES
        .iter()
        .map(|name| (*name).to_owned())
        .collect();
    let help = run_in(&repo_root(), &["apply", "--help"]);
    assert_eq!(help.code, 0, "{}", help.transcript());
    assert_eq!(
        listed_events(&help.stdout, "One JSON event per line ("),
        events,
        "{}",
        help.stdout
    );
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    assert_eq!(
        listed_events(&readme, "one JSON event per line ("),
        events,
        "README.md"
    );
    // docs/plan-json.md: one table row per event, `| `name` | fields | when |`.
    let docs =
        std::fs::read_to_string(repo_root().join("docs/plan-json.md")).expect("docs/plan-json.md");
    let rows: Vec<String> = docs
        .split_once("| `event` | fields | when |\n|---|---|---|\n")
        .map(|(_, rest)| rest.split("\n\n").next().unwrap_or_default())
        .unwrap_or_default()
        .lines()
        .filter_map(|row| row.strip_prefix("| `")?.split_once('`'))
        .map(|(name, _)| name.to_owned())
        .collect();
    assert_eq!(rows, events, "docs/plan-json.md");
}
