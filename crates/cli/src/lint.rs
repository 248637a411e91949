//! `writ lint DIR`: what in a valid policy set can never matter, or should not be
//! written that way (see docs/repl-and-lint.md). Findings go to stderr, rendered like
//! `writ check`'s diagnostics; a summary line to stdout.
//!
//! Exit codes: 0 clean (warnings allowed unless `--deny-warnings`); 1 error findings,
//! warnings under `--deny-warnings`, an invalid set or an unreadable or malformed
//! `approvers.toml`; 2 usage.

use crate::exit::Exit;
use crate::output::outln;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use writ::{render, Style};

use crate::output::report;

/// Arguments of `writ lint`.
#[derive(clap::Args)]
pub struct Args {
    /// A directory of `.writ` files (searched recursively) or one file; an
    /// `approvers.toml` beside them is the approver registry.
    pub path: PathBuf,
    /// The longest acceptable `allow for` (a duration such as `30m`, `1h`).
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = duration)]
    pub max_allow_for: u64,
    /// Exit 1 on warnings too (for CI).
    #[arg(long)]
    pub deny_warnings: bool,
}

fn duration(text: &str) -> Result<u64, String> {
    match writ::syntax::parse_duration(text) {
        Some(s) if s > 0 => Ok(s),
        _ => Err(format!(
            "`{text}` is not a duration: write one such as `30m`, `1h` or `90s`"
        )),
    }
}

fn style() -> Style {
    if std::io::stderr().is_terminal() {
        Style::Color
    } else {
        Style::Plain
    }
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// Lints the set; prints findings and a summary.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let sources = writ::load_path(&args.path)?;
    let set = match writ::check(sources) {
        Ok(s) => s,
        Err(rejected) => {
            eprint!("{}", report(&rejected.diagnostics, &rejected.sources));
            return Ok(ExitCode::from(Exit::Invalid));
        }
    };
    let dir = if args.path.is_dir() {
        args.path.as_path()
    } else {
        args.path.parent().unwrap_or(Path::new("."))
    };
    // Read by the parser the approvals service uses (writ-registry): what it refuses is
    // refused here.
    let registry = match writ_lint::ApproverGroups::load(dir) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(Exit::Invalid));
        }
    };
    let config = writ_lint::Config {
        max_allow_for_s: args.max_allow_for,
        registry,
    };
    let findings = writ_lint::lint(&set, &config);
    let (errors, warnings) = writ_lint::counts(&findings);
    eprint!("{}", render(&findings, &set.sources, style()));
    let place = args.path.display();
    if findings.is_empty() {
        outln!("ok: {place}: no findings")?;
    } else {
        outln!(
            "{place}: {}, {}",
            plural(errors, "error"),
            plural(warnings, "warning")
        )?;
    }
    Ok(if errors > 0 || (args.deny_warnings && warnings > 0) {
        ExitCode::from(Exit::Invalid)
    } else {
        ExitCode::from(Exit::Ok)
    })
}
