//! The watcher: thin glue on its own thread. notify events feed a channel; a burst is
//! debounced into one reload; the event is handed to a callback. The directory, its
//! parent (to see the directory itself replaced through a symlink swap) and, after every
//! reload, the directory's current target are watched.

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use notify::{RecursiveMode, Watcher as _};

use crate::store::{PolicyStore, ReloadEvent};

/// How the watcher waits.
#[derive(Clone, Debug)]
pub struct WatchConfig {
    /// Quiet time after the last file event before reloading (a burst becomes one reload).
    pub debounce: Duration,
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            debounce: Duration::from_millis(50),
        }
    }
}

/// A running watcher; dropping it stops the thread.
pub struct WatchHandle {
    stop: Option<mpsc::Sender<Msg>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for WatchHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(Msg::Stop);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

enum Msg {
    Fs(Instant),
    Stop,
}

/// Why watching could not start.
#[derive(Debug)]
pub struct WatchError(pub String);

impl std::fmt::Display for WatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot watch: {}", self.0)
    }
}

impl std::error::Error for WatchError {}

/// The file name of the watched directory, to pick its events out of the parent's.
fn concerns(event: &notify::Event, dir: &Path) -> bool {
    let name = dir.file_name();
    event
        .paths
        .iter()
        .any(|p| p.starts_with(dir) || (name.is_some() && p.file_name() == name))
}

/// Starts watching the store's directory; `on_event` receives every reload's outcome.
pub fn watch(
    store: Arc<PolicyStore>,
    config: WatchConfig,
    mut on_event: impl FnMut(ReloadEvent) + Send + 'static,
) -> Result<WatchHandle, WatchError> {
    let (tx, rx) = mpsc::channel::<Msg>();
    let dir = store.dir().to_path_buf();
    let abs_dir = std::path::absolute(&dir).unwrap_or_else(|_| dir.clone());
    let fs_tx = tx.clone();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(event) = res {
            if !event.kind.is_access() {
                let _ = fs_tx.send(Msg::Fs(Instant::now()));
            }
        }
    })
    .map_err(|e| WatchError(e.to_string()))?;
    // Watch what the directory resolves to; when it is a symlink swapped to another
    // target, the watch moves there after the reload (below).
    let initial_target = std::fs::canonicalize(&abs_dir).unwrap_or_else(|_| abs_dir.clone());
    watcher
        .watch(&initial_target, RecursiveMode::Recursive)
        .map_err(|e| WatchError(e.to_string()))?;
    // The parent sees `dir` itself replaced (a symlink swapped); its other events are
    // filtered out by path.
    let parent = abs_dir.parent().map(Path::to_path_buf);
    let parent_watcher = match &parent {
        Some(p) => {
            let ptx = tx.clone();
            let d = abs_dir.clone();
            let mut w = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
                if let Ok(event) = res {
                    if !event.kind.is_access() && concerns(&event, &d) {
                        let _ = ptx.send(Msg::Fs(Instant::now()));
                    }
                }
            })
            .map_err(|e| WatchError(e.to_string()))?;
            w.watch(p, RecursiveMode::NonRecursive)
                .map_err(|e| WatchError(e.to_string()))?;
            Some(w)
        }
        None => None,
    };
    let debounce = config.debounce;
    // The thread keeps the default 2 MiB stack: every stage a reload runs (parse, check,
    // compile) recurses at most `writ_syntax::MAX_NESTING` levels deep, because the
    // parser's lexical pre-scan refuses deeper text before anything recurses on it (a
    // stack overflow would kill the whole embedding process; it cannot be caught).
    let thread = std::thread::Builder::new()
        .name("writ-watch".into())
        .spawn(move || {
            let _parent_watcher = parent_watcher;
            let mut target = initial_target;
            // Catch up with changes made between opening the store and watching.
            let catch_up = store.reload();
            if !matches!(catch_up, ReloadEvent::Unchanged { .. }) {
                on_event(catch_up);
            }
            loop {
                let first = match rx.recv() {
                    Ok(Msg::Fs(at)) => at,
                    Ok(Msg::Stop) | Err(_) => return,
                };
                // Debounce: wait for a quiet period.
                loop {
                    match rx.recv_timeout(debounce) {
                        Ok(Msg::Fs(_)) => continue,
                        Ok(Msg::Stop) => return,
                        Err(RecvTimeoutError::Timeout) => break,
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
                let event = store.reload();
                if matches!(event, ReloadEvent::Loaded { .. }) {
                    store.record_latency(first.elapsed());
                }
                // Follow a directory that is a symlink swapped to a new target.
                // Re-add the watch after every reload: the directory may now resolve to
                // another target (a symlink swap), or be a new directory at the same path
                // (`rm -rf dir && mv new dir`), whose old inode took the watch with it.
                if let Ok(now) = std::fs::canonicalize(&abs_dir) {
                    // The old target may be gone already; unwatching it may fail.
                    let _ = watcher.unwatch(&target);
                    if watcher.watch(&now, RecursiveMode::Recursive).is_ok() {
                        target = now;
                    }
                }
                on_event(event);
            }
        })
        .map_err(|e| WatchError(e.to_string()))?;
    Ok(WatchHandle {
        stop: Some(tx),
        thread: Some(thread),
    })
}
