//! Loading a policy set for a command: diagnostics on stderr and exit 1 when it fails.

use crate::exit::Exit;
use std::path::Path;

use crate::output::report;

/// A loaded engine, or the exit code of a failed load (diagnostics already printed).
pub fn engine(path: &Path) -> Result<writ::Engine, std::process::ExitCode> {
    match writ::load(path) {
        Ok(e) => Ok(e),
        Err(writ::Error::Rejected(r)) => {
            eprint!("{}", report(&r.diagnostics, &r.sources));
            Err(std::process::ExitCode::from(Exit::Invalid))
        }
        Err(writ::Error::Load(e)) => {
            eprintln!("error: {e}");
            Err(std::process::ExitCode::from(Exit::Invalid))
        }
    }
}

/// Opens a policy store over `path` (one load): an invalid set is reported as
/// [`engine`] reports it — every diagnostic rendered, exit 1 — from the store's own attempt.
pub fn store(path: &Path) -> Result<writ::PolicyStore, std::process::ExitCode> {
    writ::PolicyStore::open(path, writ::StoreConfig::default()).map_err(|e| {
        match &e.rejected {
            Some(r) => eprint!("{}", report(&r.diagnostics, &r.sources)),
            None => e.errors.iter().for_each(|line| eprintln!("error: {line}")),
        }
        std::process::ExitCode::from(Exit::Invalid)
    })
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

/// Why a request's text does not bind, for people. The binder reads as it goes and may
/// stop at the first value it cannot use even in a text that is not JSON at all; such a
/// text is reported as not JSON (with the line and column of the syntax error) instead.
pub fn request_problem(text: &str, error: &impl std::fmt::Display) -> String {
    if text.trim().is_empty() {
        return "it is empty: a request is a JSON object".into();
    }
    match serde_json::from_str::<serde::de::IgnoredAny>(text) {
        // Past 128 levels serde_json stops with "recursion limit exceeded"; the binder's
        // own error names the path and writ's limit (64), so it says more.
        Err(syntax) if !syntax.to_string().starts_with("recursion limit") => {
            format!("it is not valid JSON: {syntax}")
        }
        Err(_) => error.to_string(),
        Ok(_) => error.to_string(),
    }
}

/// How a request input is named in messages: the file, or standard input for `-`.
pub fn input_name(path: &Path) -> String {
    if path == Path::new("-") {
        "standard input".into()
    } else {
        format!("`{}`", path.display())
    }
}
