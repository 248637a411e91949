//! The policy store: the compiled set behind an `ArcSwap`, and `reload`, a plain function
//! that recompiles the directory off the hot path and swaps atomically — or changes
//! nothing.
//!
//! Architecture Invariant: a reload swaps a fully compiled set or changes nothing; a set
//! that fails to load or check never replaces the running one. Deciding takes no lock:
//! one atomic load of the current engine, and every decision runs on that one version.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use serde::Serialize;
use writ_engine::{version_of_sources, Clock, Engine};

/// The running engine, held by [`PolicyStore::current`] for a short use; derefs to the
/// [`Engine`].
pub struct EngineGuard(arc_swap::Guard<Arc<Engine>>);

impl std::ops::Deref for EngineGuard {
    type Target = Engine;

    fn deref(&self) -> &Engine {
        &self.0
    }
}

impl EngineGuard {
    /// The engine as an owned `Arc`, for a use that outlives the guard.
    pub fn to_arc(&self) -> Arc<Engine> {
        Arc::clone(&self.0)
    }
}

/// How the store treats edge cases.
#[derive(Clone, Debug, Default)]
pub struct StoreConfig {
    /// Accept a directory with no `.writ` file as a set with no rules (every request
    /// denied). Off by default: deleting every file is rejected and the running set stays.
    pub allow_empty: bool,
}

/// What one reload did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum ReloadEvent {
    /// A new version went live.
    Loaded {
        /// Its content hash.
        version: String,
        /// Its rules.
        rules: usize,
        /// Its files.
        files: usize,
        /// Milliseconds spent loading, checking and compiling.
        ms: u64,
    },
    /// The directory does not hold a valid set; the running version stays.
    Rejected {
        /// The version still running.
        kept: String,
        /// Every problem, one line each (`file:line:col: error: message`).
        errors: Vec<String>,
        /// Milliseconds spent.
        ms: u64,
    },
    /// The files hold the running version already.
    Unchanged {
        /// The running version.
        version: String,
        /// Milliseconds spent.
        ms: u64,
    },
}

/// Counters and the last problem, for operators.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Stats {
    /// Versions that went live (the initial load included).
    pub loaded: u64,
    /// Reloads rejected.
    pub rejected: u64,
    /// Reloads that found nothing new.
    pub unchanged: u64,
    /// The errors of the last rejected reload, until a later one loads.
    pub last_error: Option<Vec<String>>,
    /// The version running now (filled in by [`PolicyStore::stats`]).
    pub version: String,
    /// Milliseconds from the first file event of a change to its version going live, for
    /// the most recent changes (newest last, at most 1,024).
    pub change_to_live_ms: Vec<f64>,
}

/// Why the store could not open: every problem, one line each; and, when the set did not
/// check, the diagnostics with their sources, for a caller that renders them in full (the
/// command line does, without loading the set a second time).
#[derive(Debug)]
pub struct OpenError {
    /// Every problem, one line each (`file:line:col: error: message`).
    pub errors: Vec<String>,
    /// The diagnostics and their sources, when the set was read but did not check.
    pub rejected: Option<writ_check::Rejected>,
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.errors.join("\n"))
    }
}

impl std::error::Error for OpenError {}

/// A directory of policies, compiled, kept current.
pub struct PolicyStore {
    dir: PathBuf,
    config: StoreConfig,
    clock: Option<Clock>,
    current: ArcSwap<Engine>,
    // Serialises reloads (never decisions) and guards the counters.
    stats: Mutex<Stats>,
}

impl std::fmt::Debug for PolicyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyStore")
            .field("dir", &self.dir)
            .field("version", &self.engine().version())
            .finish()
    }
}

/// The result of loading the directory once.
enum Attempt {
    Ok(Box<Engine>),
    Err(Vec<String>, Option<writ_check::Rejected>),
}

/// Checks and compiles what one read of the directory found.
fn attempt(
    loaded: Result<writ_syntax::SourceMap, writ_check::LoadError>,
    config: &StoreConfig,
    clock: Option<&Clock>,
) -> Attempt {
    let sources = match loaded {
        Ok(s) => s,
        Err(writ_check::LoadError::Empty { .. }) if config.allow_empty => {
            writ_syntax::SourceMap::default()
        }
        Err(e) => return Attempt::Err(vec![e.to_string()], None),
    };
    // An empty file is almost always a write in progress (truncate, then write): going
    // live with it could drop a file of deny rules for a moment. Keep the running set.
    let empty: Vec<String> = sources
        .iter()
        .filter(|(_, f)| f.text.trim().is_empty())
        .map(|(_, f)| format!("{}: the file is empty (a write in progress?); write a comment in it if it is meant to be empty", f.name))
        .collect();
    if !empty.is_empty() {
        return Attempt::Err(empty, None);
    }
    match writ_check::check(sources) {
        Ok(set) => {
            let engine = Engine::new(set);
            Attempt::Ok(Box::new(match clock {
                Some(c) => engine.with_clock(c.clone()),
                None => engine,
            }))
        }
        Err(r) => Attempt::Err(
            r.diagnostics
                .iter()
                .map(|d| d.one_line(&r.sources))
                .collect(),
            Some(r),
        ),
    }
}

fn ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

impl PolicyStore {
    /// Loads the directory; fails when it does not hold a valid set.
    pub fn open(dir: impl Into<PathBuf>, config: StoreConfig) -> Result<PolicyStore, OpenError> {
        Self::open_with_clock(dir, config, None)
    }

    /// As [`PolicyStore::open`], with the clock every version uses for requests without
    /// `time`.
    pub fn open_with_clock(
        dir: impl Into<PathBuf>,
        config: StoreConfig,
        clock: Option<Clock>,
    ) -> Result<PolicyStore, OpenError> {
        let dir = dir.into();
        match attempt(writ_check::load_path(&dir), &config, clock.as_ref()) {
            Attempt::Ok(engine) => {
                let stats = Stats {
                    loaded: 1,
                    ..Stats::default()
                };
                Ok(PolicyStore {
                    dir,
                    config,
                    clock,
                    current: ArcSwap::from(Arc::from(engine)),
                    stats: Mutex::new(stats),
                })
            }
            Attempt::Err(errors, rejected) => Err(OpenError { errors, rejected }),
        }
    }

    /// The directory the store reads.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The running version: decide with it, every decision on this one version.
    ///
    /// Each call clones one `Arc`, so threads deciding at once all write its reference
    /// count; for a decision on the hot path, [`PolicyStore::current`] writes no shared
    /// memory.
    pub fn engine(&self) -> Arc<Engine> {
        self.current.load_full()
    }

    /// The running version for a short use (one decision, or a few): a guard that keeps
    /// it alive without touching its reference count, so deciding on every core at once
    /// shares no written cache line. A reload does not wait for guards; the version a
    /// guard holds lives until it is dropped. Hold it briefly: each thread has a few
    /// cheap guards, and beyond them a guard costs what [`PolicyStore::engine`] does.
    pub fn current(&self) -> EngineGuard {
        EngineGuard(self.current.load())
    }

    /// The version running now.
    pub fn version(&self) -> String {
        self.current.load().version().to_string()
    }

    fn lock_stats(&self) -> MutexGuard<'_, Stats> {
        // A panic while holding the lock cannot leave the counters inconsistent in a way
        // that matters: keep going with what is there.
        self.stats
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counters, the last error, recent change-to-live latencies and the running version.
    pub fn stats(&self) -> Stats {
        let mut stats = self.lock_stats().clone();
        stats.version = self.version();
        stats
    }

    /// Reads, checks and compiles the directory; swaps it in when it is valid and new.
    pub fn reload(&self) -> ReloadEvent {
        let started = Instant::now();
        let mut stats = self.lock_stats();
        let running = self.current.load();
        let loaded = writ_check::load_path(&self.dir);
        // Unchanged content: nothing to compile.
        if let Ok(sources) = &loaded {
            if version_of_sources(sources) == running.version() {
                stats.unchanged += 1;
                return ReloadEvent::Unchanged {
                    version: running.version().to_string(),
                    ms: ms(started),
                };
            }
        }
        match attempt(loaded, &self.config, self.clock.as_ref()) {
            Attempt::Ok(engine) => {
                let event = ReloadEvent::Loaded {
                    version: engine.version().to_string(),
                    rules: engine.policy_set().rules.len(),
                    files: engine.policy_set().sources.len(),
                    ms: ms(started),
                };
                stats.loaded += 1;
                stats.last_error = None;
                self.current.store(Arc::from(engine));
                event
            }
            Attempt::Err(errors, _) => {
                stats.rejected += 1;
                stats.last_error = Some(errors.clone());
                ReloadEvent::Rejected {
                    kept: running.version().to_string(),
                    errors,
                    ms: ms(started),
                }
            }
        }
    }

    /// Records how long a change took to go live (called by the watcher).
    pub(crate) fn record_latency(&self, d: Duration) {
        let mut stats = self.lock_stats();
        if stats.change_to_live_ms.len() >= 1024 {
            stats.change_to_live_ms.remove(0);
        }
        stats.change_to_live_ms.push(d.as_secs_f64() * 1000.0);
    }
}
