//! `writ watch DIR`: runs the policy store and prints one JSON line per reload event
//! until stopped.

use crate::output::outln;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{mpsc, Arc};

use writ_reload::{PolicyStore, ReloadEvent, StoreConfig, WatchConfig};

/// Arguments of `writ watch`.
#[derive(clap::Args)]
pub struct Args {
    /// The policy set directory.
    pub dir: PathBuf,
    /// Quiet time after the last file event before reloading, in milliseconds.
    #[arg(long, default_value_t = 50)]
    pub debounce_ms: u64,
    /// Accept a directory with no `.writ` files as an empty set (deny everything) instead
    /// of rejecting it.
    #[arg(long)]
    pub allow_empty: bool,
}

fn print(event: &ReloadEvent) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", serde_json::to_string(event).unwrap_or_default())?;
    out.flush()
}

/// Prints the initial load, then every reload, one JSON object per line.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    let config = StoreConfig {
        allow_empty: args.allow_empty,
    };
    let store = match PolicyStore::open(&args.dir, config) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            let event = serde_json::json!({"event": "rejected", "kept": null, "errors": e.0});
            outln!("{event}")?;
            return Ok(ExitCode::from(1));
        }
    };
    // Watches are in place before the first line is printed: a reader that changes a
    // file after seeing it never misses the change.
    let (tx, rx) = mpsc::channel();
    let _handle = writ_reload::watch(
        store.clone(),
        WatchConfig {
            debounce: std::time::Duration::from_millis(args.debounce_ms),
        },
        move |e| {
            let _ = tx.send(e);
        },
    )?;
    let engine = store.engine();
    print(&ReloadEvent::Loaded {
        version: engine.version().to_string(),
        rules: engine.policy_set().rules.len(),
        files: engine.policy_set().sources.len(),
        ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    })?;
    for event in rx {
        if print(&event).is_err() {
            // Standard output closed: the reader is gone.
            break;
        }
    }
    Ok(ExitCode::SUCCESS)
}
