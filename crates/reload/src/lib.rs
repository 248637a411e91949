//! Hot reload for writ: policies change under load, no request is dropped, a bad policy
//! never goes live.
//!
//! A [`PolicyStore`] holds the compiled set behind an `ArcSwap`: a decision takes the
//! running [`writ_engine::Engine`] with one atomic load and runs entirely on that version
//! (every decision reports it as `policy_version`). [`PolicyStore::reload`] recompiles
//! the directory and swaps atomically, or changes nothing; [`watch`] runs it on file
//! events (create, modify, delete, rename, editor atomic saves, symlink swaps), debounced.

mod store;
mod watch;

pub use store::{EngineGuard, OpenError, PolicyStore, ReloadEvent, Stats, StoreConfig};
pub use watch::{watch, WatchConfig, WatchError, WatchHandle};

// The store is shared across threads: the engine it swaps must be.
const _: fn() = || {
    fn shared<T: Send + Sync>() {}
    shared::<writ_engine::Engine>();
    shared::<PolicyStore>();
};
