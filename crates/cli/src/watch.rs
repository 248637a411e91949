//! `writ watch DIR`: runs the policy store and prints one JSON line per reload event
//! until stopped. The approver registry beside the policies (`approvers.toml`) is looked at
//! after each: a change prints a `registry_loaded` line, or `registry_rejected` for a
//! broken edit (the last good registry stays in use).

use crate::exit::Exit;
use crate::output::outln;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{mpsc, Arc};

use writ::approvals::{RegistryEvent, RegistryFile};
use writ::{PolicyStore, ReloadEvent, StoreConfig, WatchConfig};

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

fn print(event: &impl serde::Serialize) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", serde_json::to_string(event).unwrap_or_default())?;
    out.flush()
}

/// One line out: a policy reload, or a change of the approver registry.
enum Line {
    Policy(ReloadEvent),
    Registry(RegistryEvent),
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
            let event = serde_json::json!({"event": "rejected", "kept": null, "errors": e.errors});
            outln!("{event}")?;
            return Ok(ExitCode::from(Exit::Invalid));
        }
    };
    // Watches are in place before the first line is printed: a reader that changes a
    // file after seeing it never misses the change.
    let (tx, rx) = mpsc::channel();
    // The registry as it is now (a broken one is said below); its changes go to the
    // channel after each policy reload, in order.
    let registry = Arc::new(RegistryFile::follow(store.dir()));
    let _ = registry.reload();
    let initial = registry.stats().last_error.map(|error| {
        serde_json::json!({
            "event": "registry_rejected",
            "path": registry.path().display().to_string(),
            "kept": 0,
            "error": error,
        })
    });
    let registry_tx = tx.clone();
    registry.on_event(move |e| {
        let _ = registry_tx.send(Line::Registry(e.clone()));
    });
    let _handle = writ::watch(
        store.clone(),
        WatchConfig {
            debounce: std::time::Duration::from_millis(args.debounce_ms),
        },
        move |e| {
            let _ = tx.send(Line::Policy(e));
            let _ = registry.reload();
        },
    )?;
    let engine = store.engine();
    print(&ReloadEvent::Loaded {
        version: engine.version().to_string(),
        rules: engine.policy_set().rules.len(),
        files: engine.policy_set().sources.len(),
        ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    })?;
    if let Some(rejected) = initial {
        print(&rejected)?;
    }
    for line in rx {
        let printed = match &line {
            Line::Policy(e) => print(e),
            Line::Registry(e) => print(e),
        };
        if printed.is_err() {
            // Standard output closed: the reader is gone.
            break;
        }
    }
    Ok(ExitCode::from(Exit::Ok))
}
