//! The approver registry: who may approve, in which groups, with which keys and codes.
//! It is a file next to the policies (`approvers.toml`), re-read when it changes; a file
//! that does not parse never replaces the registry in use.
//!
//! ```toml
//! [[approver]]
//! id = "dana@example.com"
//! groups = ["db-owners"]
//! kind = "human"                     # the default; workloads and agents never approve
//! ed25519 = ["<base64url public key>"]
//! totp = "<base32 secret>"           # optional: the OTP fallback
//! webauthn = [{ id = "<base64url>", public_key = "<base64url COSE key>", sign_count = 0 }]
//!
//!
//! [[webauthn]]                       # or appended later, by `writ webauthn register`
//! approver = "dana@example.com"
//! id = "<base64url>"
//! public_key = "<base64url COSE key>"
//! sign_count = 0
//! attestation = "none"               # optional, informative: none | self | unverified
//!
//! [relying_party]                    # required once any approver has a WebAuthn credential
//! rp_id = "approvals.example.com"
//! origins = ["https://approvals.example.com"]
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::Error;
use crate::keys::public_from_b64;

/// The registry's file name inside a policy directory.
pub const FILE_NAME: &str = "approvers.toml";

/// The values of a `[[webauthn]]` entry's `attestation` ([`writ_webauthn::AttestationTrust`]).
const ATTESTATIONS: [&str; 3] = ["none", "self", "unverified"];

/// What kind of actor an approver is. Only people approve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A person.
    Human,
    /// A service.
    Workload,
    /// An AI agent.
    Agent,
}

/// A TOTP secret: never printed, wiped on drop.
pub struct TotpSecret(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

impl TotpSecret {
    /// Checks an RFC 6238 code (SHA-1, 6 digits, 30 s steps, one step of skew either way)
    /// at `unix` seconds.
    pub fn check(&self, code: &str, unix: u64) -> bool {
        let Ok(totp) = totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, self.0.to_vec())
        else {
            return false;
        };
        totp.check(code.trim(), unix)
    }

    /// The time step (`unix / 30`) whose code `code` is, within one step of `unix`; `None`
    /// when it is none of them.
    pub fn matching_step(&self, code: &str, unix: u64) -> Option<u64> {
        let step = unix / 30;
        let code = code.trim().as_bytes();
        // Every candidate is compared, each in constant time: how long this takes says
        // nothing about how close a guess was.
        let mut found = None;
        for s in [step.saturating_sub(1), step, step + 1] {
            let matches = self
                .generate(s.saturating_mul(30))
                .is_some_and(|g| crate::encode::same_secret(g.as_bytes(), code));
            if matches && found.is_none() {
                found = Some(s);
            }
        }
        found
    }

    /// The code for `unix` seconds (for tests and enrolment checks).
    pub fn generate(&self, unix: u64) -> Option<String> {
        totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, self.0.to_vec())
            .ok()
            .map(|t| t.generate(unix))
    }
}

/// One approver.
#[derive(Debug)]
pub struct Approver {
    /// The approver's identity (as principals are named).
    pub id: String,
    /// Groups the approver belongs to.
    pub groups: BTreeSet<String>,
    /// Human, workload or agent.
    pub kind: Kind,
    /// Registered Ed25519 public keys (`signature` evidence).
    pub ed25519: Vec<VerifyingKey>,
    /// The TOTP secret (`otp` evidence), when enrolled.
    pub totp: Option<TotpSecret>,
    /// Registered WebAuthn credentials (`webauthn` evidence), with the sign count seen at
    /// registration (the state store keeps the latest).
    pub webauthn: Vec<writ_webauthn::Credential>,
}

/// Every approver, by id.
#[derive(Debug, Default)]
pub struct Registry {
    approvers: BTreeMap<String, Approver>,
    relying_party: Option<writ_webauthn::RelyingParty>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileShape {
    #[serde(default)]
    approver: Vec<EntryShape>,
    #[serde(default)]
    relying_party: Option<writ_webauthn::RelyingParty>,
    /// Credentials registered later (`writ webauthn register` appends these).
    #[serde(default)]
    webauthn: Vec<toml::Spanned<toml::Table>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryShape {
    id: toml::Spanned<String>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    kind: Option<Kind>,
    #[serde(default)]
    ed25519: Vec<toml::Spanned<String>>,
    #[serde(default)]
    totp: Option<toml::Spanned<Zeroizing<String>>>,
    #[serde(default)]
    webauthn: Vec<writ_webauthn::Credential>,
}

impl Registry {
    /// Parses registry text; `name` is used in errors (`name:line:col: message`).
    pub fn parse(name: &str, text: &str) -> Result<Registry, String> {
        // `name:line:col` of a place in the text.
        let at = |span: std::ops::Range<usize>| {
            let (line, col) = line_col(text, span.start);
            format!("{name}:{line}:{col}")
        };
        let mut shape: FileShape = toml::from_str(text).map_err(|e| match e.span() {
            Some(span) => format!("{}: {}", at(span), e.message()),
            None => format!("{name}: {}", e.message()),
        })?;
        let mut approvers = BTreeMap::new();
        let mut credential_ids = BTreeSet::new();
        let mut signing_keys: BTreeMap<[u8; 32], String> = BTreeMap::new();
        // Secrets compared by their SHA-256, so no extra copy of one is kept.
        let mut totp_owners: BTreeMap<Vec<u8>, String> = BTreeMap::new();
        let mut extra: BTreeMap<String, Vec<writ_webauthn::Credential>> = BTreeMap::new();
        let mut extra_at: BTreeMap<String, std::ops::Range<usize>> = BTreeMap::new();
        // Where each `[[webauthn]]` credential is written (by credential id), for errors.
        let mut credential_at: BTreeMap<Vec<u8>, std::ops::Range<usize>> = BTreeMap::new();
        // WebAuthn public keys, by fingerprint: one key, one person.
        let mut webauthn_keys: BTreeMap<[u8; 32], String> = BTreeMap::new();
        for spanned in std::mem::take(&mut shape.webauthn) {
            let span = spanned.span();
            let mut table = spanned.into_inner();
            let Some(toml::Value::String(owner)) = table.remove("approver") else {
                return Err(format!(
                    "{}: a `[[webauthn]]` entry has no `approver`",
                    at(span)
                ));
            };
            // How far the registration's attestation was checked (recorded by `writ
            // webauthn register`): informative, never trusted.
            match table.remove("attestation") {
                None => {}
                Some(toml::Value::String(a)) if ATTESTATIONS.contains(&a.as_str()) => {}
                Some(_) => {
                    return Err(format!(
                        "{}: the `[[webauthn]]` entry of `{owner}`: `attestation` is one of {}",
                        at(span),
                        ATTESTATIONS.map(|a| format!("`{a}`")).join(", ")
                    ))
                }
            }
            let credential: writ_webauthn::Credential =
                toml::Value::Table(table).try_into().map_err(|e| {
                    format!(
                        "{}: the `[[webauthn]]` entry of `{owner}`: {e}",
                        at(span.clone())
                    )
                })?;
            credential_at.insert(credential.id.clone(), span.clone());
            extra_at.entry(owner.clone()).or_insert(span);
            extra.entry(owner).or_default().push(credential);
        }
        for entry in &mut shape.approver {
            if let Some(more) = extra.remove(entry.id.get_ref().as_str()) {
                entry.webauthn.extend(more);
            }
        }
        if let Some((owner, span)) = extra_at.iter().find(|(o, _)| extra.contains_key(*o)) {
            return Err(format!(
                "{}: a `[[webauthn]]` entry names `{owner}`, who is not an approver",
                at(span.clone())
            ));
        }
        for entry in shape.approver {
            let id_at = at(entry.id.span());
            let id = entry.id.get_ref().clone();
            if id.trim().is_empty() {
                return Err(format!("{id_at}: an approver has an empty `id`"));
            }
            // Ids are compared exactly, as `principal.id` is (never trimmed): `" dana"`
            // would be another person than `dana` to separation of duties.
            if id.trim() != id {
                return Err(format!(
                    "{id_at}: approver id `{id}` has spaces around it: ids are compared exactly (a request's `principal.id` is never trimmed); remove them"
                ));
            }
            let mut ed25519 = Vec::new();
            for k in &entry.ed25519 {
                let key_at = at(k.span());
                let key = public_from_b64(k.get_ref())
                    .map_err(|e| format!("{key_at}: approver `{id}`: {e}"))?;
                // One key, one person: a key shared by two ids would let one signature
                // count as two approvers.
                if let Some(other) = signing_keys.insert(key.to_bytes(), id.clone()) {
                    if other != id {
                        return Err(format!(
                            "{key_at}: approvers `{other}` and `{id}` share a signing key: approvers must be distinct people with their own keys"
                        ));
                    }
                }
                ed25519.push(key);
            }
            let totp = match entry.totp {
                None => None,
                Some(b32) => {
                    let totp_at = at(b32.span());
                    // As authenticator apps and pyotp read it: any case, spaces between
                    // groups, `=` padding at the end.
                    let text: String = b32
                        .get_ref()
                        .chars()
                        .filter(|c| !c.is_whitespace())
                        .collect::<String>()
                        .trim_end_matches('=')
                        .to_uppercase();
                    let bytes = totp_rs::Secret::Encoded(text).to_bytes().map_err(|_| {
                        format!("{totp_at}: approver `{id}`: `totp` is not a base32 secret")
                    })?;
                    if bytes.len() < 16 {
                        return Err(format!(
                            "{totp_at}: approver `{id}`: the `totp` secret is shorter than 128 bits"
                        ));
                    }
                    let fingerprint = {
                        use sha2::Digest as _;
                        sha2::Sha256::digest(&bytes).to_vec()
                    };
                    if let Some(other) = totp_owners.insert(fingerprint, id.clone()) {
                        return Err(format!(
                            "{totp_at}: approvers `{other}` and `{id}` share a TOTP secret: each approver enrols their own"
                        ));
                    }
                    Some(TotpSecret(Zeroizing::new(bytes)))
                }
            };
            if !entry.webauthn.is_empty() && shape.relying_party.is_none() {
                return Err(format!(
                    "{id_at}: approver `{id}` has WebAuthn credentials but there is no `[relying_party]` (rp_id, origins)"
                ));
            }
            for c in &entry.webauthn {
                let c_at = credential_at
                    .get(&c.id)
                    .map_or_else(|| id_at.clone(), |span| at(span.clone()));
                let c_id = crate::encode::b64(&c.id);
                if !credential_ids.insert(c.id.clone()) {
                    return Err(format!(
                        "{c_at}: approver `{id}`: WebAuthn credential `{c_id}` is registered twice"
                    ));
                }
                let fingerprint = c.key_fingerprint().map_err(|e| {
                    format!("{c_at}: approver `{id}`: WebAuthn credential `{c_id}`: {e}")
                })?;
                // One key, one person: a key under two approvers would let one touch count
                // as two approvals.
                if let Some(other) = webauthn_keys.insert(fingerprint, id.clone()) {
                    return Err(if other == id {
                        format!("{c_at}: approver `{id}`: WebAuthn credential `{c_id}` holds a public key already registered under another credential id")
                    } else {
                        format!("{c_at}: approvers `{other}` and `{id}` share a WebAuthn public key: each approver registers their own authenticator")
                    });
                }
            }
            let approver = Approver {
                id: id.clone(),
                groups: entry.groups.into_iter().collect(),
                kind: entry.kind.unwrap_or(Kind::Human),
                ed25519,
                totp,
                webauthn: entry.webauthn,
            };
            if approvers.insert(id.clone(), approver).is_some() {
                return Err(format!("{id_at}: approver `{id}` is listed twice"));
            }
        }
        refuse_folded_collisions(name, approvers.keys())?;
        Ok(Registry {
            approvers,
            relying_party: shape.relying_party,
        })
    }

    /// The WebAuthn relying party (rp id, allowed origins), when configured.
    pub fn relying_party(&self) -> Option<&writ_webauthn::RelyingParty> {
        self.relying_party.as_ref()
    }

    /// The approver with this id.
    pub fn get(&self, id: &str) -> Option<&Approver> {
        self.approvers.get(id)
    }

    /// Every approver, by id.
    pub fn iter(&self) -> impl Iterator<Item = &Approver> {
        self.approvers.values()
    }

    /// The groups of an approver (empty when unknown).
    pub fn groups_of(&self, id: &str) -> BTreeSet<String> {
        self.get(id).map(|a| a.groups.clone()).unwrap_or_default()
    }
}

/// Refuses two approver ids that are one identity once case and Unicode compatibility
/// forms are set aside ([`crate::identity::fold`]): separation of duties compares them
/// that way, so they would be one person with two entries.
fn refuse_folded_collisions<'a>(
    name: &str,
    ids: impl Iterator<Item = &'a String>,
) -> Result<(), String> {
    let mut folded: BTreeMap<String, &str> = BTreeMap::new();
    for id in ids {
        if let Some(other) = folded.insert(crate::identity::fold(id), id) {
            return Err(format!(
                "{name}: approvers `{}` and `{}` are one identity once case and Unicode compatibility forms are set aside: separation of duties would take them for one person; keep one entry",
                crate::identity::visible(other),
                crate::identity::visible(id)
            ));
        }
    }
    Ok(())
}

/// A TOML basic string (JSON's string escapes are all valid TOML escapes).
fn toml_string(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
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
            Some(_) => std::fs::read_to_string(&self.path)
                .map_err(|e| format!("cannot read `{path}`: {e}"))
                .and_then(|text| Registry::parse(&path, &text)),
        };
        match (loaded, cached.take()) {
            (Ok(registry), _) => {
                let registry = Arc::new(registry);
                *cached = Some(Cached {
                    stamp: now,
                    registry: registry.clone(),
                    error: None,
                });
                let approvers = registry.approvers.len();
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
                let kept = registry.approvers.len();
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
        let Some(a) = registry.get(approver) else {
            return Ok(Err(format!(
                "`{approver}` is not in `{}`: add the approver first",
                self.path.display()
            )));
        };
        if a.kind != Kind::Human {
            return Ok(Err(format!(
                "`{approver}` is not a person: only people approve"
            )));
        }
        let Some(rp) = registry.relying_party() else {
            return Ok(Err(format!(
                "`{}` has no `[relying_party]` (rp_id, origins): configure it first",
                self.path.display()
            )));
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
    use super::*;

    #[test]
    fn parses_entries_and_defaults_to_human() {
        let r = Registry::parse(
            "a.toml",
            "[[approver]]\nid = \"dana\"\ngroups = [\"db-owners\"]\ntotp = \"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\"\n",
        )
        .unwrap();
        let dana = r.get("dana").unwrap();
        assert_eq!(dana.kind, Kind::Human);
        assert!(dana.groups.contains("db-owners"));
        assert!(!format!("{dana:?}").contains("JBSW"));
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let e = Registry::parse("a.toml", "[[approver]]\nid = \"x\"\ngroup = []\n").unwrap_err();
        assert!(e.starts_with("a.toml:3:1:"), "{e}");
        let e = Registry::parse(
            "a.toml",
            "[[approver]]\nid = \"x\"\n[[approver]]\nid = \"x\"\n",
        )
        .unwrap_err();
        assert!(
            e.starts_with("a.toml:4:6: approver `x` is listed twice"),
            "{e}"
        );
        let e =
            Registry::parse("a.toml", "[[approver]]\nid = \"x\"\ntotp = \"JBSW\"\n").unwrap_err();
        assert!(e.starts_with("a.toml:3:8:"), "{e}");
        assert!(e.contains("shorter than 128 bits"), "{e}");
        let key = crate::KeyPair::generate().unwrap().public_b64();
        let shared = format!(
            "[[approver]]\nid = \"x\"\ned25519 = [\"{key}\"]\n\n[[approver]]\nid = \"y\"\ned25519 = [\"{key}\"]\n"
        );
        let e = Registry::parse("a.toml", &shared).unwrap_err();
        assert!(
            e.starts_with("a.toml:7:12: approvers `x` and `y` share a signing key"),
            "{e}"
        );
        let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
        let shared = format!(
            "[[approver]]\nid = \"x\"\ntotp = \"{secret}\"\n[[approver]]\nid = \"y\"\ntotp = \"{secret}\"\n"
        );
        let e = Registry::parse("a.toml", &shared).unwrap_err();
        assert!(
            e.starts_with("a.toml:6:8: approvers `x` and `y` share a TOTP secret"),
            "{e}"
        );
        assert!(!e.contains(secret), "{e}");
    }
}
