//! The approver registry file (`approvers.toml`, next to the policies), re-read when it
//! changes: a file that does not parse never replaces the registry in use. Its text is
//! read by [`writ_registry`]'s parser, the one the linter uses too; here it is followed on
//! disk, counted, reported and appended to (`writ webauthn register`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde::Serialize;

use crate::error::Error;
pub use writ_registry::{Approver, Kind, Registry, TotpSecret, FILE_NAME};

/// A TOML basic string (JSON's string escapes are all valid TOML escapes).
fn toml_string(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// What identifies one version of the file on disk.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    #[cfg(unix)]
    ino: u64,
}

fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some(Stamp {
        modified: meta.modified().ok(),
        len: meta.len(),
        #[cfg(unix)]
        ino: std::os::unix::fs::MetadataExt::ino(&meta),
    })
}

struct Cached {
    stamp: Option<Stamp>,
    registry: Arc<Registry>,
    error: Option<String>,
}

/// What a change of the registry file did, as policy reloads report theirs
/// (`writ_reload::ReloadEvent`): serialised with an `event` tag, `registry_loaded` or
/// `registry_rejected`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RegistryEvent {
    /// The file's registry went live (an absent file is an empty registry: nobody
    /// approves).
    RegistryLoaded {
        /// The file.
        path: String,
        /// Approvers in it.
        approvers: usize,
    },
    /// The file cannot be read or does not parse: the registry in use stays.
    RegistryRejected {
        /// The file.
        path: String,
        /// Approvers in the registry still in use.
        kept: usize,
        /// What is wrong (`file:line:col: message`).
        error: String,
    },
}

/// The registry file's counters and its last problem, for operators (as
/// `writ_reload::Stats` for policies).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RegistryStats {
    /// Versions of the file that went live (the first load included).
    pub loaded: u64,
    /// Versions of the file refused.
    pub rejected: u64,
    /// Why the file on disk is not the registry in use, until a later version loads.
    pub last_error: Option<String>,
    /// Approvers in the registry in use.
    pub approvers: usize,
}

/// A callback that receives every [`RegistryEvent`].
type Listener = Arc<dyn Fn(&RegistryEvent) + Send + Sync>;

/// Serialises this process's registry rewrites (the file lock serialises processes).
static WRITES: Mutex<()> = Mutex::new(());

/// The registry's write lock, held until dropped ([`RegistryFile::write_lock`]).
pub(crate) struct WriteLock {
    _file: std::fs::File,
    _guard: std::sync::MutexGuard<'static, ()>,
}

/// The registry file, re-read whenever it changes on disk (checked on each use, so it
/// follows the policy directory through edits, atomic renames and symlink swaps). A file
/// that does not parse keeps the last good registry in use and is reported by
/// [`RegistryFile::last_error`].
pub struct RegistryFile {
    path: PathBuf,
    cached: Mutex<Option<Cached>>,
    stats: Mutex<RegistryStats>,
    listener: Mutex<Option<Listener>>,
}

impl std::fmt::Debug for RegistryFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryFile")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl RegistryFile {
    /// The registry of a policy directory (`DIR/approvers.toml`); loads it now, so a broken
    /// file is an error at start.
    pub fn in_dir(dir: &Path) -> Result<RegistryFile, Error> {
        let file = RegistryFile::follow(dir);
        file.current()?;
        if let Some(e) = file.last_error() {
            return Err(Error::Registry(e));
        }
        Ok(file)
    }

    /// The registry of a policy directory, not read yet: the first
    /// [`RegistryFile::reload`] reads it and reports what it found (a watcher that must
    /// go on while the file is broken).
    pub fn follow(dir: &Path) -> RegistryFile {
        RegistryFile {
            path: dir.join(FILE_NAME),
            cached: Mutex::new(None),
            stats: Mutex::new(RegistryStats::default()),
            listener: Mutex::new(None),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The registry in use: re-read first when the file changed. An absent file is an empty
    /// registry (nobody can approve: fail closed). A change is reported to the listener
    /// ([`RegistryFile::on_event`]) and counted in [`RegistryFile::stats`].
    pub fn current(&self) -> Result<Arc<Registry>, Error> {
        self.check().0
    }

    /// Looks at the file now: the registry in use, and the event when the file changed
    /// since the last look (also handed to the listener).
    pub fn reload(&self) -> Result<Option<RegistryEvent>, Error> {
        let (current, event) = self.check();
        current.map(|_| event)
    }

    /// Sets the callback that receives every [`RegistryEvent`] (replacing any before).
    /// It runs on the thread that noticed the change, outside the registry's lock.
    pub fn on_event(&self, listener: impl Fn(&RegistryEvent) + Send + Sync + 'static) {
        *self
            .listener
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::new(listener));
    }

    /// The counters and the last problem.
    pub fn stats(&self) -> RegistryStats {
        self.stats
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn check(&self) -> (Result<Arc<Registry>, Error>, Option<RegistryEvent>) {
        let (current, event) = self.check_locked();
        if let Some(event) = &event {
            {
                let mut stats = self
                    .stats
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                match event {
                    RegistryEvent::RegistryLoaded { approvers, .. } => {
                        stats.loaded += 1;
                        stats.last_error = None;
                        stats.approvers = *approvers;
                    }
                    RegistryEvent::RegistryRejected { kept, error, .. } => {
                        stats.rejected += 1;
                        stats.last_error = Some(error.clone());
                        stats.approvers = *kept;
                    }
                }
            }
            let listener = self
                .listener
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone();
            if let Some(listener) = listener {
                listener(event);
            }
        }
        (current, event)
    }

    fn check_locked(&self) -> (Result<Arc<Registry>, Error>, Option<RegistryEvent>) {
        let mut cached = self
            .cached
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = stamp(&self.path);
        if let Some(c) = cached.as_ref() {
            if c.stamp == now {
                return (Ok(c.registry.clone()), None);
            }
        }
        let path = self.path.display().to_string();
        let loaded = match now {
            None => Ok(Registry::default()),
            Some(_) => Registry::read(&self.path),
        };
        match (loaded, cached.take()) {
            (Ok(registry), _) => {
                let registry = Arc::new(registry);
                *cached = Some(Cached {
                    stamp: now,
                    registry: registry.clone(),
                    error: None,
                });
                let approvers = registry.len();
                (
                    Ok(registry),
                    Some(RegistryEvent::RegistryLoaded { path, approvers }),
                )
            }
            (Err(error), Some(previous)) => {
                let registry = previous.registry.clone();
                *cached = Some(Cached {
                    stamp: now,
                    registry: registry.clone(),
                    error: Some(error.clone()),
                });
                let kept = registry.len();
                (
                    Ok(registry),
                    Some(RegistryEvent::RegistryRejected { path, kept, error }),
                )
            }
            (Err(error), None) => {
                *cached = Some(Cached {
                    stamp: now,
                    registry: Arc::new(Registry::default()),
                    error: Some(error.clone()),
                });
                (
                    Err(Error::Registry(error.clone())),
                    Some(RegistryEvent::RegistryRejected {
                        path,
                        kept: 0,
                        error,
                    }),
                )
            }
        }
    }

    /// Registers a WebAuthn credential for `approver` from a registration response
    /// (attestation `none`, `packed` or `fido-u2f`) over `challenge`, verified against the
    /// registry's relying
    /// party, and appends it to the file as a `[[webauthn]]` entry (written to a temporary
    /// file with the original's mode and owner, fsynced and renamed, so a watcher never
    /// sees half of it and nobody else gets to read it). Returns the entry's text, or
    /// (inner `Err`) why the registration is refused: an unknown approver, not a person, no
    /// relying party configured, an attestation that does not verify, a credential or a
    /// public key already registered. The outer `Err` is the file: unreadable, invalid, or not writable.
    pub fn register_webauthn(
        &self,
        approver: &str,
        challenge: &[u8],
        attestation: &writ_webauthn::Attestation,
    ) -> Result<Result<String, String>, Error> {
        self.register_webauthn_once(approver, challenge, attestation, |_| Ok(Ok(())))
    }

    /// [`RegistryFile::register_webauthn`], with `once` called with the verified
    /// registration before the file is written: it consumes the registration challenge and
    /// records the registration (inner `Err`: refused, say why; outer: the store or the
    /// audit log failed, and nothing is written), so that a challenge registers one
    /// credential at most.
    pub fn register_webauthn_once(
        &self,
        approver: &str,
        challenge: &[u8],
        attestation: &writ_webauthn::Attestation,
        once: impl FnOnce(&writ_webauthn::Registration) -> Result<Result<(), String>, Error>,
    ) -> Result<Result<String, String>, Error> {
        // Read, verify and write under the write lock: two enrolments at once both land.
        let _lock = self.write_lock()?;
        let text = std::fs::read_to_string(&self.path)
            .map_err(|e| Error::Registry(format!("cannot read `{}`: {e}", self.path.display())))?;
        let registry =
            Registry::parse(&self.path.display().to_string(), &text).map_err(Error::Registry)?;
        let rp = match registry.passkey_party(approver, &self.path.display().to_string()) {
            Ok(rp) => rp,
            Err(refused) => return Ok(Err(refused)),
        };
        let registration = match writ_webauthn::register(rp, challenge, attestation) {
            Ok(r) => r,
            Err(e) => return Ok(Err(format!("the registration is refused: {e}"))),
        };
        let credential = &registration.credential;
        if registry
            .iter()
            .any(|x| x.webauthn.iter().any(|c| c.id == credential.id))
        {
            return Ok(Err("this credential is registered already".to_string()));
        }
        let fingerprint = credential.key_fingerprint().ok();
        if let Some(owner) = registry.iter().find(|x| {
            x.webauthn
                .iter()
                .any(|c| c.key_fingerprint().ok() == fingerprint)
        }) {
            return Ok(Err(format!(
                "this authenticator's public key is registered already (to `{}`): each approver registers their own",
                owner.id
            )));
        }
        if let Err(refused) = once(&registration)? {
            return Ok(Err(refused));
        }
        let entry = format!(
            "\n[[webauthn]]\napprover = {}\nid = \"{}\"\npublic_key = \"{}\"\nsign_count = {}\nattestation = \"{}\"   # {}\n",
            toml_string(approver),
            crate::encode::b64(&credential.id),
            crate::encode::b64(&credential.public_key),
            credential.sign_count,
            registration.trust.as_str(),
            match registration.trust {
                writ_webauthn::AttestationTrust::None => "format `none`: nothing attested",
                writ_webauthn::AttestationTrust::SelfSigned => "`packed` self attestation, verified",
                writ_webauthn::AttestationTrust::Unverified => "certificate chain not verified",
            }
        );
        let mut updated = text;
        if !updated.ends_with('\n') {
            updated.push('\n');
        }
        updated.push_str(&entry);
        // Check the result parses before it replaces the file.
        Registry::parse(&self.path.display().to_string(), &updated).map_err(Error::Registry)?;
        // It may hold TOTP secrets: the rewrite keeps the file's mode and owner.
        crate::files::rewrite(&self.path, updated.as_bytes())
            .map_err(|e| Error::Registry(format!("cannot write `{}`: {e}", self.path.display())))?;
        Ok(Ok(entry.trim_start().to_string()))
    }

    /// Takes the registry's write lock: every read-modify-write of the file (a passkey
    /// registered, one removed) holds it from the read to the rename, so none overwrites
    /// another's change. It is this process's mutex and an exclusive lock on
    /// `.approvers.toml.lock` beside the file (another process — `writ webauthn register`,
    /// a replica on the same directory — waits too); dropping it releases both.
    pub(crate) fn write_lock(&self) -> Result<WriteLock, Error> {
        let guard = WRITES
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let path = self.path.with_file_name(format!(".{FILE_NAME}.lock"));
        let mut options = std::fs::OpenOptions::new();
        options.create(true).truncate(false).write(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let failed = |e: std::io::Error| {
            Error::Registry(format!(
                "cannot lock `{}` to change the registry: {e}",
                path.display()
            ))
        };
        let file = options.open(&path).map_err(failed)?;
        file.lock().map_err(failed)?;
        Ok(WriteLock {
            _file: file,
            _guard: guard,
        })
    }

    /// Why the file on disk is not the registry in use, if it is not.
    pub fn last_error(&self) -> Option<String> {
        self.cached
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .and_then(|c| c.error.clone())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    #[test]
    fn the_service_refuses_with_the_parsers_message() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(FILE_NAME),
            "[[approver]]\nid = \"ann\"\nkind = \"robot\"\n",
        )
        .unwrap();
        let service = RegistryFile::in_dir(dir.path()).unwrap_err().to_string();
        let parser = writ_registry::load(dir.path()).unwrap_err().to_string();
        assert_eq!(service, parser);
        assert!(service.starts_with("approver registry: "), "{service}");
        assert!(
            service.contains("approvers.toml:3:8: unknown variant `robot`"),
            "{service}"
        );
    }
}
