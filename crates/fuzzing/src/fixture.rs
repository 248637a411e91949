//! What the targets share: fixed policy sets, a fixed clock, fixed keys, and scratch
//! directories made once per process. A fixture that cannot be built is a bug of the
//! harness, not an input's: it stops the run loudly.

#![allow(
    clippy::expect_used,
    reason = "a fixture that cannot be built is a harness bug; failing loudly is the point"
)]

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use jiff::Timestamp;
use writ_engine::{Clock, Engine};

/// The instant every engine of the harness reads as "now" (a Friday, 10:00 UTC).
pub const NOW: &str = "2026-11-27T10:00:00Z";

/// The repository's payments policy: schema, lets, risk, CEL, and approvals that bind
/// `request.params`.
pub const PAYMENTS: &str = include_str!("../../../policies/payments/payments.writ");

/// A small set without CEL, so the streaming binder skips what it does not read (with a
/// CEL leaf it parses the whole request).
pub const PLAIN: &str = r#"
schema {
  resource.env: "prod" | "dev"
  request.params.amount: number
  request.params.tags: set
  request.params.count: int
  resource.level: int
}
risk { +30 "unmanaged" when not device.managed }
rule "r" {
  when action == "a" and network.ip in cidr ["10.0.0.0/8", "fd00::/8"] and principal.groups has "g"
    and request.params.amount > 5 and resource.env == "prod" and session.auth_age < 1h
  allow
}
rule "d" { when time in hours "Mon-Fri 00:00-12:00" in "UTC" deny }
rule "p" { when action == "p" approve { approvers 1 of group "o" bind action, request.params } }
rule "l" { when resource.level > 3 deny }
rule "m" { when action matches "db.*" and not (device.managed or risk < 10) deny "no" }
"#;

/// The fixed clock.
pub fn now() -> Timestamp {
    NOW.parse().expect("NOW is an RFC 3339 instant")
}

/// A clock that always reads [`NOW`].
pub fn clock() -> Clock {
    let t = now();
    Arc::new(move || t)
}

/// Checks and compiles one file, on the fixed clock.
pub fn engine_of(name: &str, text: &str) -> Engine {
    let mut sources = writ_syntax::SourceMap::default();
    sources.add(name, text);
    let set = writ_check::check(sources).expect("the fixture policy checks");
    Engine::new(set).with_clock(clock())
}

/// The payments engine, compiled once.
pub fn payments() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| engine_of("payments.writ", PAYMENTS))
}

/// The plain engine, compiled once.
pub fn plain() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| engine_of("plain.writ", PLAIN))
}

/// A fresh scratch directory for this process: `$TMPDIR/writ-fuzz/<what>-<pid>`. Fuzzing
/// and the corpus replay start many short processes; each removes the directories of
/// processes that no longer run (on Linux, where `/proc` tells), so they do not pile up.
pub fn scratch(what: &str) -> PathBuf {
    let root = std::env::temp_dir().join("writ-fuzz");
    sweep(&root);
    let dir = root.join(format!("{what}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory can be created");
    dir
}

/// Removes the scratch directories of processes that have exited.
fn sweep(root: &std::path::Path) {
    let proc_fs = std::path::Path::new("/proc/self");
    if !proc_fs.exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.rsplit('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !std::path::Path::new("/proc").join(pid.to_string()).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// A fixed Ed25519 seed, so every run (and every corpus file) sees the same keys.
pub fn seed(n: u8) -> [u8; 32] {
    let mut s = [0u8; 32];
    for (i, b) in s.iter_mut().enumerate() {
        *b = n.wrapping_mul(31).wrapping_add(i as u8);
    }
    s
}

/// Base64url without padding.
pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A private Ed25519 JWK of [`seed`]`(n)`.
pub fn private_jwk(n: u8) -> serde_json::Value {
    let key = ed25519_dalek::SigningKey::from_bytes(&seed(n));
    serde_json::json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "d": b64(&seed(n)),
        "x": b64(key.verifying_key().as_bytes()),
    })
}

/// The public Ed25519 JWK of [`seed`]`(n)`.
pub fn public_jwk(n: u8) -> serde_json::Value {
    let key = ed25519_dalek::SigningKey::from_bytes(&seed(n));
    serde_json::json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64(key.verifying_key().as_bytes()),
    })
}
