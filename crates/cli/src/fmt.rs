//! `writ fmt PATH...`: rewrite policy files in the canonical style.

use crate::exit::Exit;
use crate::output::outln;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use writ::SourceMap;

use crate::output::report;

/// Arguments of `writ fmt`.
#[derive(clap::Args)]
pub struct Args {
    /// Files or directories (searched recursively for `.writ` files).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Change nothing; exit 1 and list the files that would change.
    #[arg(long)]
    pub check: bool,
}

/// Formats every file; a file that does not parse is reported and left untouched.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    let mut would_change = Vec::new();
    for path in &args.paths {
        let sources = writ::load_path(path)?;
        for (_, file) in sources.iter() {
            match writ::format_source(&file.text) {
                Ok(formatted) if formatted == file.text => {}
                Ok(formatted) => {
                    if args.check {
                        would_change.push(file.name.clone());
                    } else {
                        std::fs::write(&file.name, formatted)
                            .with_context(|| format!("cannot write `{}`", file.name))?;
                        eprintln!("formatted {}", file.name);
                    }
                }
                Err(diagnostics) => {
                    // Re-home the diagnostics on a one-file map so they name this file.
                    let mut one = SourceMap::default();
                    one.add(file.name.clone(), file.text.clone());
                    eprint!("{}", report(&diagnostics, &one));
                    failed = true;
                }
            }
        }
    }
    for name in &would_change {
        outln!("would reformat {name}")?;
    }
    Ok(if failed || !would_change.is_empty() {
        ExitCode::from(Exit::Invalid)
    } else {
        ExitCode::from(Exit::Ok)
    })
}
