//! `writ test PATH`: runs the policy test suites kept beside the policies.
//!
//! A suite is a TOML file named `*.test.toml`. It belongs to the policy set in its
//! directory (or, for a suite inside a `tests/` directory, in the parent of it). Format:
//!
//! ```toml
//! # a base request (or `base_file = "../requests/x.json"`), patched by each case
//! [base]
//! action = "db.read"
//! principal = { id = "alice", kind = "human", groups = ["engineering"] }
//!
//! [[case]]
//! name = "engineers read from a managed laptop"
//! set = { "device.managed" = true, "network.ip" = "10.1.2.3" }   # patches, field by field
//! unset = ["session.auth_method"]
//! expect = "allow"                 # required: allow, deny or approve
//! risk = 10                        # optional checks from here on
//! rules = ["engineers read at low risk"]
//! signals = ["outside business hours"]
//! obligations = ["record_session", "review(24h)"]
//! message = "..."
//! ttl_s = 900
//! unknown = ["device.patch_age"]
//! approval = { approvers = [{ count = 1, group = "db-owners" }], method = "phishing_resistant", ttl_s = 300, bind = ["action"] }
//! conditions = { "engineers read at low risk" = "true" }   # truths from the explain trace
//! ```
//!
//! `message`, `ttl_s` and `approval` may be `"none"` (the decision must not carry them);
//! `[bases.NAME]` tables (or JSON files) are chosen by `base = "NAME"` in a case.
//!
//! The format, and the runner, live in writ-cases (docs/language.md §20); this module
//! prints what it returns. Every failing case is printed with expected vs actual and the
//! explain trace; the exit code is 1 on any failure or any invalid suite.

use crate::exit::Exit;
use crate::output::outln;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use writ_cases::Outcome;

use crate::explain::render;

/// Arguments of `writ test`.
#[derive(clap::Args)]
pub struct Args {
    /// A policy set directory, or a directory holding several (searched recursively for
    /// `*.test.toml` suites).
    pub path: PathBuf,
}

/// Runs every suite under the path.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let suites = writ_cases::find_suites(&args.path)
        .map_err(|e| anyhow::anyhow!("cannot read `{}`: {e}", args.path.display()))?;
    if suites.is_empty() {
        eprintln!(
            "error: no `*.test.toml` suites under `{}`",
            args.path.display()
        );
        return Ok(ExitCode::from(Exit::Invalid));
    }
    let (mut passed, mut failed, mut broken) = (0usize, 0usize, 0usize);
    for (dir, files) in writ_cases::by_set(suites) {
        let engine = match crate::load::engine(&dir) {
            Ok(e) => e,
            Err(_) => {
                broken += files.len();
                continue;
            }
        };
        for file in files {
            let run = writ_cases::run_suite(&engine, &file);
            print_failures(&file, &run)?;
            match run.error {
                None => {
                    let (p, f) = run.counts();
                    passed += p;
                    failed += f;
                }
                Some(e) => {
                    eprintln!("error: {}: {e}", file.display());
                    broken += 1;
                }
            }
        }
    }
    outln!(
        "writ test: {passed} cases passed, {failed} failed{}",
        if broken > 0 {
            format!(", {broken} suites invalid")
        } else {
            String::new()
        }
    )?;
    Ok(if failed > 0 || broken > 0 {
        ExitCode::from(Exit::Invalid)
    } else {
        ExitCode::from(Exit::Ok)
    })
}

/// Prints each failing case of a suite: the differences, then the explain trace.
fn print_failures(file: &Path, run: &writ_cases::SuiteRun) -> anyhow::Result<()> {
    for case in &run.cases {
        match &case.outcome {
            Outcome::Passed => {}
            Outcome::InvalidRequest(e) => {
                outln!(
                    "FAIL {} :: {}\n  the request is invalid: {e}\n",
                    file.display(),
                    case.name
                )?;
            }
            Outcome::Failed { diffs, explanation } => {
                outln!("FAIL {} :: {}", file.display(), case.name)?;
                for d in diffs {
                    outln!("  {d}")?;
                }
                let trace = render(explanation);
                for line in trace.lines() {
                    outln!("  | {line}")?;
                }
                outln!()?;
            }
        }
    }
    Ok(())
}
