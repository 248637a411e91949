//! Webhook notices against a real HTTP receiver on loopback: a challenge opened on
//! `POST /v1/decide` is posted to the target of its approver group, signed with
//! HMAC-SHA256 (checked here with the `hmac` crate over `TIMESTAMP "." BODY`), retried after
//! the receiver's 503, carrying the page's link and a Slack-compatible `text` but no code,
//! grant, collection secret or bound value; the `notify("secops")` obligation is delivered
//! the same way; an unreachable target is given up after its attempts; each outcome counts
//! in `/metrics`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac as _};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use writ_server::metrics::NoticeEvent;
use writ_server::notify::NotifyConfig;
use writ_server::StateConfig;

const SECRET: &str = "0123456789abcdef0123456789abcdef";

/// One request the receiver got: its path, headers (lowercase names) and body.
#[derive(Debug)]
struct Received {
    path: String,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

/// A loopback HTTP receiver: answers 503 to the first `fail_first` requests, then 200.
async fn receiver(fail_first: usize) -> (u16, mpsc::UnboundedReceiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::unbounded_channel();
    let seen = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        loop {
            let (mut s, _) = listener.accept().await.unwrap();
            let (tx, seen) = (tx.clone(), seen.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head_end, length) = loop {
                    let n = s.read(&mut chunk).await.unwrap();
                    assert!(n > 0, "the connection closed mid-request");
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .map_or(0, |v| v.trim().parse::<usize>().unwrap());
                        break (end + 4, length);
                    }
                };
                while buf.len() < head_end + length {
                    let n = s.read(&mut chunk).await.unwrap();
                    buf.extend_from_slice(&chunk[..n]);
                }
                let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
                let mut lines = head.lines();
                let path = lines
                    .next()
                    .unwrap()
                    .split_whitespace()
                    .nth(1)
                    .unwrap()
                    .to_string();
                let headers = lines
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
                    .collect();
                let n = seen.fetch_add(1, Ordering::SeqCst);
                let status = if n < fail_first {
                    "503 Service Unavailable"
                } else {
                    "200 OK"
                };
                s.write_all(
                    format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                        .as_bytes(),
                )
                .await
                .unwrap();
                let _ = tx.send(Received {
                    path,
                    headers,
                    body: buf[head_end..head_end + length].to_vec(),
                });
            });
        }
    });
    (port, rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("a notice arrives within 20 s")
        .unwrap()
}

/// Waits (yielding, up to 20 s) until the server has counted `n` notices as `event`.
async fn counted(server: &writ_server::Server, event: NoticeEvent, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.state().metrics().notices(event) < n {
        assert!(Instant::now() < deadline, "{event:?} never reached {n}");
        tokio::task::yield_now().await;
    }
}

fn verify(r: &Received) {
    let ts = &r.headers["x-writ-timestamp"];
    let sig = r.headers["x-writ-signature-256"]
        .strip_prefix("sha256=")
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(ts.as_bytes());
    mac.update(b".");
    mac.update(&r.body);
    let want: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(sig, want, "the signature verifies with the shared secret");
    let age = jiff::Timestamp::now().as_second() - ts.parse::<i64>().unwrap();
    assert!((0..60).contains(&age), "the timestamp is now");
    assert!(r.headers["x-writ-delivery"].starts_with("n_"));
}

fn config(owners_port: u16, secops_port: u16, dead_port: u16) -> NotifyConfig {
    let text = format!(
        r#"
base_url = "https://writ.example.com"
[[notify]]
name = "owners"
groups = ["db-owners"]
url = "http://127.0.0.1:{owners_port}/hooks/owners"
secret = "{SECRET}"

[[notify]]
name = "secops"
url = "http://127.0.0.1:{secops_port}/hooks/secops"
secret_env = "SECOPS_SECRET"

[[notify]]
name = "gone"
groups = ["db-owners"]
url = "http://127.0.0.1:{dead_port}/"
secret = "{SECRET}"
"#
    );
    let mut c = NotifyConfig::parse("notify.toml", &text, |v| {
        (v == "SECOPS_SECRET").then(|| SECRET.to_string())
    })
    .unwrap();
    c.first_backoff = Duration::from_millis(20);
    c.attempts = 3;
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notices_are_signed_retried_and_hold_no_secret() {
    let (owners_port, mut owners) = receiver(1).await;
    let (secops_port, mut secops) = receiver(0).await;
    let dead_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let state = tempfile::tempdir().unwrap();
    let notify = config(owners_port, secops_port, dead_port);
    let server = common::start(&common::policies("prod-database"), |c| {
        c.state = StateConfig::Dir(state.path().to_path_buf());
        c.notify = Some(notify);
    })
    .await;
    let mut request: Value = serde_json::from_str(
        &std::fs::read_to_string(
            common::policies("prod-database").join("requests/prod-write.json"),
        )
        .unwrap(),
    )
    .unwrap();
    request.as_object_mut().unwrap().remove("time");
    let decided = common::post(server.addr, "/v1/decide", &request)
        .await
        .json();
    assert_eq!(decided["decision"], "approve", "{decided}");
    let id = decided["challenge"]["id"].as_str().unwrap();
    // No `[relying_party]` in this registry: no approval pages, no link to one.
    assert!(decided["challenge"].get("page").is_none(), "{decided}");
    let code = decided["challenge"]["code"].as_str().unwrap();
    let secret = decided["collection_secret"].as_str().unwrap();

    // The first attempt is answered 503; the same notice comes again.
    let first = next(&mut owners).await;
    let second = next(&mut owners).await;
    assert_eq!(first.body, second.body);
    assert_eq!(
        first.headers["x-writ-delivery"],
        second.headers["x-writ-delivery"]
    );
    assert_eq!(second.path, "/hooks/owners");
    assert_eq!(second.headers["content-type"], "application/json");
    verify(&second);
    let body: Value = serde_json::from_slice(&second.body).unwrap();
    assert_eq!(body["type"], "challenge.opened");
    assert_eq!(body["challenge"], id);
    assert_eq!(
        body["url"],
        format!("https://writ.example.com/approve/{id}")
    );
    assert_eq!(body["principal"], "alice@example.com");
    assert_eq!(body["action"], "db.orders.write");
    assert_eq!(body["groups"], json!(["db-owners"]));
    let text = body["text"].as_str().unwrap();
    assert!(
        text.contains("alice@example.com") && text.contains(&format!("/approve/{id}")),
        "{text}"
    );
    let raw = String::from_utf8_lossy(&second.body);
    assert!(!raw.contains(code), "the binding code is not in the notice");
    assert!(
        !raw.contains(secret),
        "the collection secret is not in the notice"
    );
    assert!(
        !raw.contains("UPDATE orders"),
        "bound values are not in the notice"
    );
    assert!(!raw.contains("grant"), "no grant in the notice");
    counted(&server, NoticeEvent::Delivered, 1).await;
    // The unreachable target: three attempts, then given up.
    counted(&server, NoticeEvent::Failed, 1).await;
    assert!(server.state().metrics().notices(NoticeEvent::Retried) >= 3);

    // A break-glass allow carries `notify("secops")`.
    let glass: Value = serde_json::from_str(
        &std::fs::read_to_string(
            common::policies("prod-database").join("requests/break-glass-write.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let d = common::post(server.addr, "/v1/decide", &glass).await.json();
    assert_eq!(d["decision"], "allow", "{d}");
    let got = next(&mut secops).await;
    verify(&got);
    let body: Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(body["type"], "obligation.notify");
    assert_eq!(body["target"], "secops");
    assert_eq!(body["principal"], "bob@example.com");
    assert_eq!(body["decision"], "allow");
    assert!(body["text"].as_str().unwrap().contains("secops"));
    counted(&server, NoticeEvent::Delivered, 2).await;

    let admin = server.admin_addr.unwrap();
    let metrics = common::get(admin, "/metrics").await.text();
    assert!(
        metrics.contains("writ_notices_total{result=\"delivered\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("writ_notices_total{result=\"failed\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("writ_notices_total{result=\"dropped\"} 0"),
        "{metrics}"
    );
    server.shutdown().await;
}

#[test]
fn the_configuration_is_checked() {
    let parse = |t: &str| NotifyConfig::parse("notify.toml", t, |_| None).map(|_| ());
    let e = parse("[[notify]]\nname = \"a\"\nurl = \"ftp://x/\"\nsecret = \"0123456789abcdef\"\n")
        .unwrap_err();
    assert!(e.contains("`http://` or `https://`"), "{e}");
    let e = parse("[[notify]]\nname = \"a\"\nurl = \"http://x/\"\n").unwrap_err();
    assert!(
        e.contains("exactly one of `secret` and `secret_env`"),
        "{e}"
    );
    let e = parse("[[notify]]\nname = \"a\"\nurl = \"http://x/\"\nsecret_env = \"NOPE\"\n")
        .unwrap_err();
    assert!(e.contains("`NOPE`"), "{e}");
    let e =
        parse("[[notify]]\nname = \"a\"\nurl = \"http://x/\"\nsecret = \"short\"\n").unwrap_err();
    assert!(e.contains("shorter than 16 bytes"), "{e}");
    let e = parse("[[notify]]\nname = \"a\"\nurl = \"http://x/\"\nsecret = \"0123456789abcdef\"\nsecert = 1\n")
        .unwrap_err();
    assert!(e.contains("secert"), "{e}");
    let debug = format!(
        "{:?}",
        NotifyConfig::parse(
            "notify.toml",
            "[[notify]]\nname = \"a\"\nurl = \"http://x/\"\nsecret = \"0123456789abcdef-top\"\n",
            |_| None
        )
        .unwrap()
    );
    assert!(
        !debug.contains("0123456789abcdef-top"),
        "the secret never shows in Debug"
    );
}

/// A receiver that accepts connections and never answers; returns its port.
async fn hanging() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let (s, _) = listener.accept().await.unwrap();
            held.push(s);
        }
    });
    port
}

fn prod_write() -> Value {
    let mut request: Value = serde_json::from_str(
        &std::fs::read_to_string(
            common::policies("prod-database").join("requests/prod-write.json"),
        )
        .unwrap(),
    )
    .unwrap();
    request.as_object_mut().unwrap().remove("time");
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_target_does_not_delay_a_healthy_one() {
    let hang_port = hanging().await;
    let (owners_port, mut owners) = receiver(0).await;
    let text = format!(
        r#"
base_url = "https://writ.example.com"
[[notify]]
name = "hangs"
groups = ["db-owners"]
url = "http://127.0.0.1:{hang_port}/"
secret = "{SECRET}"

[[notify]]
name = "owners"
groups = ["db-owners"]
url = "http://127.0.0.1:{owners_port}/hooks/owners"
secret = "{SECRET}"
"#
    );
    let mut notify = NotifyConfig::parse("notify.toml", &text, |_| None).unwrap();
    // One slot, and an attempt the hanging receiver holds for a minute.
    notify.concurrency = 1;
    notify.timeout = Duration::from_secs(60);
    notify.attempts = 2;
    let state = tempfile::tempdir().unwrap();
    let server = common::start(&common::policies("prod-database"), |c| {
        c.state = StateConfig::Dir(state.path().to_path_buf());
        c.notify = Some(notify);
    })
    .await;
    // Three challenges: each told to both targets, the hanging one first.
    for i in 0..3 {
        let mut request = prod_write();
        request["resource"]["id"] = json!(format!("pg-prod-eu1/orders-{i}"));
        let d = common::post(server.addr, "/v1/decide", &request)
            .await
            .json();
        assert_eq!(d["decision"], "approve", "{d}");
    }
    for _ in 0..3 {
        let got = tokio::time::timeout(Duration::from_secs(10), owners.recv())
            .await
            .expect("the healthy target is told at once, whatever the other one does")
            .unwrap();
        verify(&got);
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_slack_text_cannot_carry_links_or_mentions() {
    assert_eq!(
        writ_server::notify::slack_escape("a & <b> <!channel>"),
        "a &amp; &lt;b&gt; &lt;!channel&gt;"
    );
    let (owners_port, mut owners) = receiver(0).await;
    let (secops_port, mut secops) = receiver(0).await;
    let dead_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let state = tempfile::tempdir().unwrap();
    let notify = config(owners_port, secops_port, dead_port);
    let server = common::start(&common::policies("prod-database"), |c| {
        c.state = StateConfig::Dir(state.path().to_path_buf());
        c.notify = Some(notify);
    })
    .await;
    let payload = "db1 — urgent, approve here: <https://evil.example/approve/x|http://localhost:8390/approve/ch_legit> <!channel>";
    let mut request = prod_write();
    request["resource"]["id"] = json!(payload);
    let d = common::post(server.addr, "/v1/decide", &request)
        .await
        .json();
    assert_eq!(d["decision"], "approve", "{d}");
    let mut glass: Value = serde_json::from_str(
        &std::fs::read_to_string(
            common::policies("prod-database").join("requests/break-glass-write.json"),
        )
        .unwrap(),
    )
    .unwrap();
    glass["resource"]["id"] = json!(payload);
    let d = common::post(server.addr, "/v1/decide", &glass).await.json();
    assert_eq!(d["decision"], "allow", "{d}");
    for got in [next(&mut owners).await, next(&mut secops).await] {
        let body: Value = serde_json::from_slice(&got.body).unwrap();
        let text = body["text"].as_str().unwrap();
        assert!(!text.contains('<') && !text.contains('>'), "{text}");
        assert!(
            text.contains("&lt;https://evil.example/approve/x|http://localhost:8390/approve/ch_legit&gt; &lt;!channel&gt;"),
            "{text}"
        );
        // The structured field keeps the value as it was.
        assert_eq!(body["resource"], payload);
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notice_waiting_to_be_retried_holds_no_slot() {
    // The receiver refuses the first two requests (503): each notice then waits a minute.
    let (owners_port, mut owners) = receiver(2).await;
    let text = format!(
        r#"
[[notify]]
name = "owners"
groups = ["db-owners"]
url = "http://127.0.0.1:{owners_port}/hooks/owners"
secret = "{SECRET}"
"#
    );
    let mut notify = NotifyConfig::parse("notify.toml", &text, |_| None).unwrap();
    notify.concurrency = 1;
    notify.first_backoff = Duration::from_secs(60);
    notify.attempts = 2;
    let state = tempfile::tempdir().unwrap();
    let server = common::start(&common::policies("prod-database"), |c| {
        c.state = StateConfig::Dir(state.path().to_path_buf());
        c.notify = Some(notify);
    })
    .await;
    for i in 0..2 {
        let mut request = prod_write();
        request["resource"]["id"] = json!(format!("pg-prod-eu1/orders-{i}"));
        let d = common::post(server.addr, "/v1/decide", &request)
            .await
            .json();
        assert_eq!(d["decision"], "approve", "{d}");
    }
    // Both first attempts arrive now: the first notice's wait does not hold the one slot.
    let mut deliveries = std::collections::BTreeSet::new();
    for _ in 0..2 {
        let got = tokio::time::timeout(Duration::from_secs(10), owners.recv())
            .await
            .expect("the second notice is tried while the first waits")
            .unwrap();
        deliveries.insert(got.headers["x-writ-delivery"].clone());
    }
    assert_eq!(deliveries.len(), 2);
    server.shutdown().await;
}
