//! Loading a policy set for a command: diagnostics on stderr and exit 1 when it fails.

use std::path::Path;

use crate::output::report;

/// A loaded engine, or the exit code of a failed load (diagnostics already printed).
pub fn engine(path: &Path) -> Result<writ::Engine, std::process::ExitCode> {
    match writ::load(path) {
        Ok(e) => Ok(e),
        Err(writ::Error::Rejected(r)) => {
            eprint!("{}", report(&r.diagnostics, &r.sources));
            Err(std::process::ExitCode::from(1))
        }
        Err(writ::Error::Load(e)) => {
            eprintln!("error: {e}");
            Err(std::process::ExitCode::from(1))
        }
    }
}

/// Reads a file, or standard input for `-`.
pub fn read_input(path: &Path) -> anyhow::Result<String> {
    use anyhow::Context as _;
    if path == Path::new("-") {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .context("cannot read standard input")?;
        Ok(s)
    } else {
        std::fs::read_to_string(path).with_context(|| format!("cannot read `{}`", path.display()))
    }
}
