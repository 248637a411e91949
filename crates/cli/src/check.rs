//! `writ check DIR`: is this policy set valid? An approver registry beside the policies
//! (`approvers.toml`) is checked too, with the parser the approval flow uses: a registry
//! the flow would refuse fails the check.

use crate::exit::Exit;
use crate::output::outln;
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
    let sources = writ::load_path(&args.path)?;
    let files = sources.len();
    match (writ::check(sources), registry_problem(&args.path)) {
        (Ok(_), Some(problem)) => {
            eprintln!("error: {problem}");
            Ok(ExitCode::from(Exit::Invalid))
        }
        (Ok(set), None) => {
            outln!(
                "ok: {}: {files} file{}, {} rule{}, {} signal{}",
                args.path.display(),
                plural(files),
                set.rules.len(),
                plural(set.rules.len()),
                set.signals.len(),
                plural(set.signals.len()),
            )?;
            Ok(ExitCode::from(Exit::Ok))
        }
        (Err(rejected), registry) => {
            eprint!("{}", report(&rejected.diagnostics, &rejected.sources));
            if let Some(problem) = registry {
                eprintln!("error: {problem}");
            }
            Ok(ExitCode::from(Exit::Invalid))
        }
    }
}

/// What is wrong with the directory's `approvers.toml`, when it has one that is.
fn registry_problem(path: &std::path::Path) -> Option<String> {
    let file = path.join(writ::approvals::REGISTRY_FILE);
    if !path.is_dir() || !file.exists() {
        return None;
    }
    match std::fs::read_to_string(&file) {
        Err(e) => Some(format!("cannot read `{}`: {e}", file.display())),
        Ok(text) => writ::approvals::Registry::parse(&file.display().to_string(), &text).err(),
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
