//! Test support shared by the workspace's tests and benches: a real `redis-server` on a
//! free loopback port, started for a test and stopped when dropped — plain, or TLS-only
//! with certificates made for the test and an ACL user ([`Redis::start_tls`]). Tests
//! never skip when it is missing: they fail and say what to install (`.ci/run` installs
//! it; Debian's redis-server is built with TLS).
//!
//! For `writ serve`'s callers: [`pki`] makes a CA, server and client certificates (SPIFFE
//! IDs in URI SANs, and wrong ones) with rcgen, and [`jwt`] makes signing keys, their
//! JWKS and signed tokens (ES256, EdDSA, RS256; unsigned and HMAC ones to refuse), so no
//! test needs a key or certificate file in the repository. [`sets`] holds the policy sets
//! the tests of several crates share, and the repository's bundled ones.

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test support fails loudly, naming what is missing"
)]

pub mod jwt;
pub mod pki;
pub mod sets;

/// The TOTP code (RFC 6238: SHA-1, 6 digits, 30 s steps) of the base32 `secret` at `unix`
/// seconds, as the approvals service reads the secret from `approvers.toml`.
pub fn totp_code(secret: &str, unix: u64) -> String {
    let registry = writ_registry::Registry::parse(
        "totp",
        &format!("[[approver]]\nid = \"t\"\ntotp = \"{secret}\"\n"),
    )
    .unwrap();
    registry
        .get("t")
        .unwrap()
        .totp
        .as_ref()
        .unwrap()
        .generate(unix)
        .unwrap()
}

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

/// A running redis-server, stopped on drop.
pub struct Redis {
    child: Child,
    port: u16,
    tls: Option<Tls>,
}

/// What a TLS server was started with.
struct Tls {
    /// Holds the certificates and keys.
    dir: tempfile::TempDir,
}

/// The ACL user of a TLS server ([`Redis::start_tls`]).
pub const TLS_USER: &str = "writ";
/// Its password.
pub const TLS_PASSWORD: &str = "correct-horse-battery";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A CA and a server certificate for `127.0.0.1` and `localhost` signed by it, as PEM
/// files in `dir`: `ca.pem`, `server.pem`, `server.key`.
fn make_certificates(dir: &std::path::Path) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "writ test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut server =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    server
        .distinguished_name
        .push(DnType::CommonName, "writ test redis");
    let cert = server.signed_by(&key, &issuer).unwrap();
    std::fs::write(dir.join("ca.pem"), ca_cert.pem()).unwrap();
    std::fs::write(dir.join("server.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("server.key"), key.serialize_pem()).unwrap();
}

impl Redis {
    /// Starts one on a free loopback port, without persistence, and waits for its own word
    /// that it is ready (not a fixed time).
    pub fn start() -> Redis {
        let port = free_port();
        Self::spawn(&["--port", &port.to_string()], port, None)
    }

    /// Starts one that speaks TLS only (no plain port), with a certificate for `127.0.0.1`
    /// from a CA made for this server ([`Redis::ca_file`]), and an ACL user
    /// [`TLS_USER`]/[`TLS_PASSWORD`] besides a default user that may do nothing.
    pub fn start_tls() -> Redis {
        let dir = tempfile::tempdir().unwrap();
        make_certificates(dir.path());
        let port = free_port();
        let path = |f: &str| dir.path().join(f).to_str().unwrap().to_string();
        let args = [
            "--port".to_string(),
            "0".to_string(),
            "--tls-port".to_string(),
            port.to_string(),
            "--tls-cert-file".to_string(),
            path("server.pem"),
            "--tls-key-file".to_string(),
            path("server.key"),
            "--tls-ca-cert-file".to_string(),
            path("ca.pem"),
            "--tls-auth-clients".to_string(),
            "no".to_string(),
            // Each word of an ACL rule is its own argument.
            "--user".to_string(),
            "default".to_string(),
            "off".to_string(),
            "--user".to_string(),
            TLS_USER.to_string(),
            "on".to_string(),
            format!(">{TLS_PASSWORD}"),
            "~*".to_string(),
            "&*".to_string(),
            "+@all".to_string(),
        ];
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Self::spawn(&args, port, Some(Tls { dir }))
    }

    fn spawn(extra: &[&str], port: u16, tls: Option<Tls>) -> Redis {
        let mut child = Command::new("redis-server")
            .args(extra)
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start `redis-server` ({e}): install it (Debian: `apt-get install -y redis-server`; .ci/run does this)")
            });
        let out = child.stdout.take().unwrap();
        for line in BufReader::new(out).lines() {
            if line.unwrap().contains("Ready to accept connections") {
                return Redis { child, port, tls };
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("redis-server exited before it was ready (for TLS it must be built with TLS support: Debian's is)");
    }

    /// The PEM file of the CA that signed a TLS server's certificate.
    pub fn ca_file(&self) -> std::path::PathBuf {
        match &self.tls {
            Some(t) => t.dir.path().join("ca.pem"),
            None => panic!("not a TLS server: start it with `Redis::start_tls`"),
        }
    }

    /// `rediss://writ:PASSWORD@127.0.0.1:PORT/0?ca_file=…` for a TLS server.
    pub fn tls_url(&self) -> String {
        format!(
            "rediss://{TLS_USER}:{TLS_PASSWORD}@127.0.0.1:{}/0?ca_file={}",
            self.port,
            self.ca_file().display()
        )
    }

    /// Its loopback port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
