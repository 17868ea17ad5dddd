//! `embedctl validate`: parse and check the file, report every problem, touch no network.

use std::io::Write;

use crate::cli::{ExitStatus, ValidateArgs};
use crate::desired_file::{self, plural};

/// Checks the file; prints a one-line summary on success, every diagnostic on stderr otherwise.
pub fn run(args: &ValidateArgs) -> ExitStatus {
    let color = super::stderr_has_color();
    let mut stderr = anstream::stderr();
    match desired_file::load(&args.file) {
        Ok(loaded) => {
            if !loaded.warnings.is_empty() {
                let _ = write!(stderr, "{}", loaded.warnings.render(color));
            }
            let verdict = match loaded.warnings.warning_count() {
                0 => "valid".to_owned(),
                count => format!("valid, {}", plural(count, "warning", "warnings")),
            };
            println!("{}: {verdict}", loaded.summary());
            ExitStatus::Success
        }
        Err(diagnostics) => {
            let _ = write!(stderr, "{}", diagnostics.render(color));
            let mut counts = plural(diagnostics.error_count(), "error", "errors");
            if diagnostics.warning_count() > 0 {
                counts.push_str(&format!(
                    ", {}",
                    plural(diagnostics.warning_count(), "warning", "warnings")
                ));
            }
            let _ = writeln!(
                stderr,
                "error: `{}` is not valid: {counts}",
                args.file.display()
            );
            ExitStatus::Failure
        }
    }
}
