//! Two real `writ serve` processes (the built binary) over one real redis-server and one
//! grant key: a challenge opened on A is answered on B, and its grant collected and
//! redeemed on A — once; a replay on B is refused.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};
use writ::approvals::{answer_message, KeyPair};

/// A running `writ serve`; killed when dropped.
struct Replica {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `writ serve` on free loopback ports and waits for its `serving` line (which
/// names the address it bound).
fn serve(policies: &Path, state: &Path, redis: &str) -> Replica {
    let mut child = Command::new(env!("CARGO_BIN_EXE_writ"))
        .arg("serve")
        .arg(policies)
        .args(["--insecure-dev-identity", "--listen", "127.0.0.1:0"])
        .args(["--admin", "127.0.0.1:0", "--redis", redis, "--state"])
        .arg(state)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("writ serve exited before serving")
            .unwrap();
        let Ok(v) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if v["msg"] == "serving" {
            break v["listen"].as_str().unwrap().parse().unwrap();
        }
    };
    // Keep draining stderr so the process never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Replica { child, addr }
}

fn post(addr: SocketAddr, path: &str, body: &Value) -> (u16, Value) {
    let body = body.to_string();
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let text = String::from_utf8(buf).unwrap();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{head}"
    );
    (status, serde_json::from_str(rest).unwrap())
}

#[test]
fn opened_on_a_answered_on_b_redeemed_on_a() {
    let redis = writ_testkit::Redis::start();
    let dir = tempfile::tempdir().unwrap();
    let dana = KeyPair::generate().unwrap();
    let policies = writ_testkit::sets::policy_dir(
        dir.path(),
        "payments.writ",
        writ_testkit::sets::FINANCE_TRANSFERS,
        &[("dana", "finance", &dana.public_b64())],
    );
    let (sa, sb) = (dir.path().join("state-a"), dir.path().join("state-b"));
    let a = serve(&policies, &sa, &redis.url());
    // B holds A's grant key, as every replica must.
    {
        use std::os::unix::fs::DirBuilderExt as _;
        std::fs::DirBuilder::new().mode(0o700).create(&sb).unwrap();
    }
    std::fs::copy(sa.join("grant.key"), sb.join("grant.key")).unwrap();
    let b = serve(&policies, &sb, &redis.url());
    assert_ne!(a.addr, b.addr);

    let req = json!({"principal": {"id": "ann", "kind": "human"}, "action": "payments.transfer",
                     "request": {"params": {"amount": 1200}}});
    // Opened on A.
    let (status, d) = post(a.addr, "/v1/decide", &req);
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["decision"], "approve", "{d}");
    let id = d["challenge"]["id"].as_str().unwrap();
    let digest = d["challenge"]["digest"].as_str().unwrap();
    let secret = d["collection_secret"].as_str().unwrap();
    // Answered on B.
    let signature = dana.sign_b64(&answer_message(id, digest, true));
    let (status, r) = post(
        b.addr,
        &format!("/v1/challenges/{id}/answers"),
        &json!({"approver": "dana", "approve": true, "evidence": {"method": "signature", "signature": signature}}),
    );
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["challenge"]["state"], "granted", "{r}");
    // Collected and redeemed on A.
    let (status, c) = post(
        a.addr,
        &format!("/v1/challenges/{id}/grant"),
        &json!({"secret": secret}),
    );
    assert_eq!(status, 200, "{c}");
    let grant = c["grant"].as_str().unwrap();
    let (status, r) = post(
        a.addr,
        "/v1/redeem",
        &json!({"request": req, "grant": grant}),
    );
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["decision"], "allow", "{r}");
    // Replayed on B: refused.
    let (status, r) = post(
        b.addr,
        "/v1/redeem",
        &json!({"request": req, "grant": grant}),
    );
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["decision"], "deny", "{r}");
    assert_eq!(r["refusal"]["code"], "replayed", "{r}");
}
