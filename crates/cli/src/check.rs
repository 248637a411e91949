//! `writ check DIR`: is this policy set valid?

use std::path::PathBuf;
use std::process::ExitCode;

use crate::output::report;

/// Arguments of `writ check`.
#[derive(clap::Args)]
pub struct Args {
    /// A directory of `.writ` files (searched recursively) or one file.
    pub path: PathBuf,
}

/// Prints a one-line summary and exits 0 when the set is valid; diagnostics and 1 when not.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let sources = writ_check::load_path(&args.path)?;
    let files = sources.len();
    match writ_check::check(sources) {
        Ok(set) => {
            println!(
                "ok: {}: {files} file{}, {} rule{}, {} signal{}",
                args.path.display(),
                plural(files),
                set.rules.len(),
                plural(set.rules.len()),
                set.signals.len(),
                plural(set.signals.len()),
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(rejected) => {
            eprint!("{}", report(&rejected.diagnostics, &rejected.sources));
            Ok(ExitCode::from(1))
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
