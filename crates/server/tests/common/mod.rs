//! What the server tests share: a policy directory with approvers and their keys, a
//! server on free loopback ports (alone, or two replicas over one Redis), an approver's
//! signed answer, and a small HTTP/1.1 client over a real socket (one connection per
//! request, `Connection: close`).

#![allow(dead_code, reason = "each test binary uses part of the helpers")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use writ_approvals::{answer_message, KeyPair};
use writ_server::{Identity, Server, ServerConfig, StateConfig};

/// A bundled policy set.
pub fn policies(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../policies")
        .join(name)
}

/// A policy directory `root/policies`: `file` holding `policy`, and `approvers.toml` with
/// one approver per `(id, group)`, each with a fresh Ed25519 key (returned in order).
pub fn policy_dir<const N: usize>(
    root: &Path,
    file: &str,
    policy: &str,
    approvers: [(&str, &str); N],
) -> (PathBuf, [KeyPair; N]) {
    let keys: [KeyPair; N] = std::array::from_fn(|_| KeyPair::generate().unwrap());
    let public: Vec<String> = keys.iter().map(KeyPair::public_b64).collect();
    let entries: Vec<(&str, &str, &str)> = approvers
        .iter()
        .zip(&public)
        .map(|((id, group), key)| (*id, *group, key.as_str()))
        .collect();
    let policies = writ_testkit::sets::policy_dir(root, file, policy, &entries);
    (policies, keys)
}

/// An approver's answer body: `approve` (or deny) challenge `id` over `digest`, signed with
/// `key`.
pub fn signed_answer(who: &str, key: &KeyPair, id: &str, digest: &str, approve: bool) -> Value {
    json!({"approver": who, "approve": approve,
           "evidence": {"method": "signature", "signature": key.sign_b64(&answer_message(id, digest, approve))}})
}

/// Two replicas over `policies` sharing the Redis at `url` and one grant key (as every
/// replica must), their state directories under `root`.
pub async fn replicas(root: &Path, policies: &Path, url: &str) -> (Server, Server) {
    use std::os::unix::fs::DirBuilderExt as _;
    let (sa, sb) = (root.join("state-a"), root.join("state-b"));
    let a = start(policies, |c| {
        c.state = StateConfig::Redis {
            dir: sa.clone(),
            url: url.to_string(),
        };
    })
    .await;
    std::fs::DirBuilder::new().mode(0o700).create(&sb).unwrap();
    std::fs::copy(sa.join("grant.key"), sb.join("grant.key")).unwrap();
    let b = start(policies, |c| {
        c.state = StateConfig::Redis {
            dir: sb.clone(),
            url: url.to_string(),
        };
    })
    .await;
    (a, b)
}

/// A server over `dir` on free loopback ports, identity from the body (dev mode).
pub async fn start(dir: &Path, tune: impl FnOnce(&mut ServerConfig)) -> Server {
    let mut config = ServerConfig::new(dir, Identity::InsecureDevFromBody);
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.admin = Some("127.0.0.1:0".parse().unwrap());
    tune(&mut config);
    Server::start(config).await.expect("the server starts")
}

/// One HTTP response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {} {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(line_end) = body.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = std::str::from_utf8(&body[..line_end]).unwrap();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        let start = line_end + 2;
        out.extend_from_slice(&body[start..start + size]);
        body = &body[start + size + 2..];
    }
}

/// Sends raw request bytes and reads the whole response.
pub async fn raw(addr: SocketAddr, request: &[u8]) -> Resp {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    parse(&buf)
}

/// Like [`raw`], but `None` when the server answers nothing parseable.
pub async fn try_raw(addr: SocketAddr, request: &'static [u8]) -> Option<Resp> {
    let mut s = TcpStream::connect(addr).await.ok()?;
    s.write_all(request).await.ok()?;
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf).await;
    buf.windows(4)
        .any(|w| w == b"\r\n\r\n")
        .then(|| parse(&buf))
}

/// A TLS client: trusts `ca` (DER), presents `client` (certificate and key, DER) if given.
pub fn tls_client(ca: &[u8], client: Option<(&[u8], &[u8])>) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(ca.to_vec()))
        .unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    let config = match client {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => builder
            .with_client_auth_cert(
                vec![rustls::pki_types::CertificateDer::from(cert.to_vec())],
                rustls::pki_types::PrivateKeyDer::try_from(key.to_vec()).unwrap(),
            )
            .unwrap(),
    };
    tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
}

/// A request over TLS (server name `localhost`); an error when the handshake or the
/// connection fails (a client certificate the server refuses).
pub async fn tls_request(
    addr: SocketAddr,
    tls: &tokio_rustls::TlsConnector,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Resp> {
    let tcp = TcpStream::connect(addr).await?;
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut s = tls.connect(name, tcp).await?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    s.write_all(&bytes).await?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await?;
    if buf.is_empty() {
        return Err(std::io::Error::other(
            "the connection closed with no response",
        ));
    }
    Ok(parse(&buf))
}

/// `POST` a JSON body over TLS with extra headers.
pub async fn tls_post(
    addr: SocketAddr,
    tls: &tokio_rustls::TlsConnector,
    path: &str,
    headers: &[(&str, &str)],
    body: &Value,
) -> std::io::Result<Resp> {
    let mut all = vec![("Content-Type", "application/json")];
    all.extend_from_slice(headers);
    tls_request(addr, tls, "POST", path, &all, body.to_string().as_bytes()).await
}

/// Parses a whole HTTP/1.1 response.
pub fn parse(buf: &[u8]) -> Resp {
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response head");
    let head = std::str::from_utf8(&buf[..split]).unwrap();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = buf[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Resp {
        status,
        headers,
        body,
    }
}

/// A request with the given headers and body.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    raw(addr, &bytes).await
}

/// `POST` with a JSON body.
pub async fn post(addr: SocketAddr, path: &str, body: &Value) -> Resp {
    request(
        addr,
        "POST",
        path,
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )
    .await
}

/// `POST` with a body given as text.
pub async fn post_text(addr: SocketAddr, path: &str, body: &str) -> Resp {
    request(
        addr,
        "POST",
        path,
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
    .await
}

/// `GET`.
pub async fn get(addr: SocketAddr, path: &str) -> Resp {
    request(addr, "GET", path, &[], b"").await
}
