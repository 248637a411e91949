//! Operations through real sockets: the admin routes, hot reload under load (a rejected
//! set keeps serving the last good one, zero failed requests), load shedding, the time
//! limit, graceful shutdown with nothing lost, and the OpenAPI document against the router
//! (with `oneshot`).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{get, post, start};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn alice_reads() -> Value {
    json!({"subject": {"type": "user", "id": "alice"}, "action": {"name": "read"}, "resource": {"type": "record", "id": "record-1"}})
}

fn fixture_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        common::policies("authzen-certification/records.writ"),
        dir.path().join("records.writ"),
    )
    .unwrap();
    dir
}

/// Waits, without sleeping, until the server counts `n` requests in flight.
async fn until_in_flight(s: &writ_server::Server, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while s.state().metrics().in_flight() < n {
        assert!(Instant::now() < deadline, "never reached {n} in flight");
        tokio::task::yield_now().await;
    }
}

/// A policy whose one rule asks for an approval.
const APPROVE: &str = r#"
rule "transfers need finance" {
  when action == "payments.transfer"
  approve {
    approvers 1 of group "finance"
    method signature
    bind principal.id, action, resource.id
    ttl 5m
  }
}
"#;

/// The state of a server whose approval store hangs: Redis at a socket that the kernel
/// accepts and nobody answers, so an `approve` holds its request in flight (its handler
/// waiting on the store) until the store's own timeout (2 s) answers 503.
struct Hanging {
    dir: tempfile::TempDir,
    _silent: std::net::TcpListener,
    url: String,
}

fn hanging_store() -> Hanging {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    std::fs::write(policies.join("payments.writ"), APPROVE).unwrap();
    let key = writ_approvals::KeyPair::generate().unwrap();
    std::fs::write(
        policies.join("approvers.toml"),
        format!(
            "[[approver]]\nid = \"dana\"\ngroups = [\"finance\"]\ned25519 = [\"{}\"]\n",
            key.public_b64()
        ),
    )
    .unwrap();
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://{}/0", silent.local_addr().unwrap());
    Hanging {
        dir,
        _silent: silent,
        url,
    }
}

impl Hanging {
    fn policies(&self) -> std::path::PathBuf {
        self.dir.path().join("policies")
    }

    fn tune(&self, c: &mut writ_server::ServerConfig) {
        c.state = writ_server::StateConfig::Redis {
            dir: self.dir.path().join("state"),
            url: self.url.clone(),
        };
    }
}

fn transfer() -> Value {
    json!({"subject": {"type": "user", "id": "ann"}, "action": {"name": "payments.transfer"},
           "resource": {"type": "account", "id": "acct-1"}})
}

/// A request whose handler waits on the hanging store: sent whole, answered later.
async fn held(addr: SocketAddr) -> TcpStream {
    let body = transfer().to_string();
    let mut c = TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "POST /access/v1/evaluation HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    c.write_all(req.as_bytes()).await.unwrap();
    c
}

async fn answer_of(mut c: TcpStream) -> String {
    let mut out = String::new();
    c.read_to_string(&mut out).await.unwrap();
    out
}

/// Opens a request whose body is still coming: once `100 Continue` is read, the server is
/// reading the body (the request is being served, before it takes a slot).
async fn half_sent(addr: SocketAddr, path: &str, body: &str) -> (TcpStream, String) {
    let mut c = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    c.write_all(head.as_bytes()).await.unwrap();
    let mut cont = [0u8; 25];
    c.read_exact(&mut cont).await.unwrap();
    assert!(cont.starts_with(b"HTTP/1.1 100 Continue\r\n\r\n"));
    let (first, rest) = body.split_at(body.len() / 2);
    c.write_all(first.as_bytes()).await.unwrap();
    (c, rest.to_string())
}

async fn finish(mut c: TcpStream, rest: &str) -> String {
    c.write_all(rest.as_bytes()).await.unwrap();
    let mut out = String::new();
    c.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_routes() {
    let s = start(&common::policies("authzen-certification"), |_| {}).await;
    let admin = s.admin_addr.unwrap();
    assert_eq!(get(admin, "/livez").await.status, 200);
    assert_eq!(get(admin, "/readyz").await.status, 200);
    assert_eq!(
        post(s.addr, "/access/v1/evaluation", &alice_reads())
            .await
            .status,
        200
    );
    let m = get(admin, "/metrics").await;
    assert_eq!(m.status, 200);
    assert!(m.header("content-type").unwrap().starts_with("text/plain"));
    let text = m.text();
    for want in [
        "writ_decisions_total{route=\"/access/v1/evaluation\",outcome=\"allow\"} 1",
        "writ_http_requests_total{route=\"/access/v1/evaluation\",status=\"2xx\"} 1",
        "writ_decision_seconds_count 1",
        "writ_reloads_total{result=\"loaded\"} 1",
        "writ_in_flight 0",
        "writ_shed_total 0",
        &format!(
            "writ_policy_info{{version=\"{}\"}} 1",
            s.state().store().version()
        ),
    ] {
        assert!(text.contains(want), "missing {want}:\n{text}");
    }
    let st = get(admin, "/status").await.json();
    assert_eq!(st["policy_version"], json!(s.state().store().version()));
    assert_eq!(st["reloads"]["rejected"], 0);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_reload_keeps_the_last_good_set_and_no_request_fails() {
    let dir = fixture_copy();
    let s = start(dir.path(), |_| {}).await;
    let first = s.state().store().version();
    let mut reloads = s.state().reload_events();
    // Load: four clients deciding in a loop until told to stop.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut clients = Vec::new();
    for _ in 0..4 {
        let (addr, stop) = (s.addr, stop.clone());
        clients.push(tokio::spawn(async move {
            let (mut ok, mut failed) = (0u32, Vec::new());
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let r = post(addr, "/access/v1/evaluation", &alice_reads()).await;
                if r.status == 200 && r.json()["decision"] == true {
                    ok += 1;
                } else {
                    failed.push(format!("{} {}", r.status, r.text()));
                }
            }
            (ok, failed)
        }));
    }
    // A broken set: rejected, the running one stays.
    std::fs::write(
        dir.path().join("records.writ"),
        "rule \"broken\" { when allow",
    )
    .unwrap();
    reloads.changed().await.unwrap();
    assert_eq!(s.state().store().version(), first);
    let status = get(s.admin_addr.unwrap(), "/status").await.json();
    // One rejection, or two when the editor's truncate and write came apart.
    assert!(
        status["reloads"]["rejected"].as_u64().unwrap() >= 1,
        "{status}"
    );
    assert_eq!(status["last_reload"]["event"], "rejected");
    let metrics = get(s.admin_addr.unwrap(), "/metrics").await.text();
    assert!(
        !metrics.contains("writ_reloads_total{result=\"rejected\"} 0"),
        "{metrics}"
    );
    assert!(metrics.contains("writ_policy_last_reload_rejected 1"));
    // A good new set goes live.
    let mut text =
        std::fs::read_to_string(common::policies("authzen-certification/records.writ")).unwrap();
    text.push_str("\n# a comment: a new version\n");
    std::fs::write(dir.path().join("records.writ"), text).unwrap();
    while s.state().store().version() == first {
        reloads.changed().await.unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut total = 0;
    for c in clients {
        let (ok, failed) = c.await.unwrap();
        assert!(failed.is_empty(), "failed requests: {failed:?}");
        total += ok;
    }
    assert!(total > 0);
    let metrics = get(s.admin_addr.unwrap(), "/metrics").await.text();
    assert!(
        metrics.contains("writ_policy_last_reload_rejected 0"),
        "{metrics}"
    );
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_concurrency_cap_requests_are_shed_with_retry_after() {
    let h = hanging_store();
    let s = start(&h.policies(), |c| {
        h.tune(c);
        c.limits.max_in_flight = 1;
    })
    .await;
    let held = held(s.addr).await;
    until_in_flight(&s, 1).await;
    let r = post(s.addr, "/access/v1/evaluation", &transfer()).await;
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(r.json()["error"]["code"], "overloaded");
    // The held request is still answered: the store failed, so refused (never allowed).
    let out = answer_of(held).await;
    assert!(out.contains("store_unavailable"), "{out}");
    assert!(out.contains("\"decision\":false"), "{out}");
    assert_eq!(s.state().metrics().shed_count(), 1);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_past_the_time_limit_is_503() {
    let h = hanging_store();
    let log_path = h.dir.path().join("decisions.jsonl");
    let file = std::fs::File::create(&log_path).unwrap();
    let s = start(&h.policies(), |c| {
        h.tune(c);
        c.limits.timeout = Duration::from_millis(200);
        c.decision_log = Some((writ_server::Sink::File(file), 16));
    })
    .await;
    // The store never answers within the limit: the limit answers.
    let out = answer_of(held(s.addr).await).await;
    assert!(out.starts_with("HTTP/1.1 503"), "{out}");
    assert!(out.to_ascii_lowercase().contains("retry-after: 1"));
    assert!(out.contains("\"timeout\""), "{out}");
    // What the approval service was doing still finishes after the answer: here the
    // store's own timeout, then the refusal logged (as a challenge opened would be).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(&log_path).unwrap();
        if let Some(line) = text.lines().next() {
            let record: Value = serde_json::from_str(line).unwrap();
            assert_eq!(record["outcome"], "deny", "{line}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the approval call was dropped with the request"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_what_is_in_flight_and_flushes_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("decisions.jsonl");
    let file = std::fs::File::create(&log_path).unwrap();
    let s = start(&common::policies("authzen-certification"), |c| {
        c.decision_log = Some((writ_server::Sink::File(file), 1024));
    })
    .await;
    let addr = s.addr;
    let admin = s.admin_addr.unwrap();
    for _ in 0..20 {
        assert_eq!(
            post(addr, "/access/v1/evaluation", &alice_reads())
                .await
                .status,
            200
        );
    }
    let body = alice_reads().to_string();
    let (slow, rest) = half_sent(addr, "/access/v1/evaluation", &body).await;
    let state = s.state().clone();
    let stopping = tokio::spawn(s.shutdown());
    // Draining: not ready any more, and the request in flight is still answered.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !state.draining() {
        assert!(Instant::now() < deadline);
        tokio::task::yield_now().await;
    }
    let out = finish(slow, &rest).await;
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.contains("\"decision\":true"), "{out}");
    stopping.await.unwrap();
    // No longer accepting.
    assert!(TcpStream::connect(addr).await.is_err());
    assert!(TcpStream::connect(admin).await.is_err());
    // Every decision is in the log, none dropped; no secret-bearing field.
    let text = std::fs::read_to_string(&log_path).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 21, "{text}");
    assert_eq!(state.log().unwrap().dropped(), 0);
    for l in &lines {
        assert_eq!(l["outcome"], "allow");
        assert_eq!(l["caller"], "insecure-dev");
        assert!(l["request_id"].as_str().unwrap().starts_with("r_"));
        for secret in ["grant", "collection_secret", "code", "key"] {
            assert!(l.get(secret).is_none());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_every_route_of_the_router() {
    use tower::ServiceExt as _;
    let doc: Value = serde_json::from_str(writ_server::OPENAPI).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    for (method, path) in writ_server::ROUTES {
        assert!(
            paths.get(*path).and_then(|p| p.get(*method)).is_some(),
            "{method} {path} is not in openapi.json"
        );
    }
    let documented: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(
        documented,
        writ_server::ROUTES.len(),
        "openapi.json lists a route the router lacks"
    );
    // Each listed route is one the router serves (not the fallback), and the document is
    // served as it is kept.
    let store = Arc::new(
        writ_reload::PolicyStore::open(
            common::policies("authzen-certification"),
            writ_reload::StoreConfig::default(),
        )
        .unwrap(),
    );
    let state = writ_server::AppState::new(writ_server::StateParts {
        store,
        approvals: None,
        limits: writ_server::Limits::default(),
        identity: writ_server::Identity::InsecureDevFromBody,
        log: None,
        public_url: Some("https://pdp.example.com".into()),
        tls: "off",
    });
    let app = writ_server::app(state);
    for (method, path) in writ_server::ROUTES {
        let uri = path.replace("{id}", "c_unknown");
        let req = axum::http::Request::builder()
            .method(method.to_ascii_uppercase().as_str())
            .uri(&uri)
            .header("content-type", "application/json")
            .body(axum::body::Body::from("{}"))
            .unwrap();
        let resp = app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_ne!(
            v["error"]["code"], "not_found",
            "{method} {uri}: {status} {v}"
        );
        assert!(status.as_u16() < 500, "{method} {uri}: {status} {v}");
    }
    let req = axum::http::Request::get("/openapi.json")
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    assert_eq!(bytes, writ_server::OPENAPI.as_bytes());
    // Discovery with a configured public URL.
    let req = axum::http::Request::get("/.well-known/authzen-configuration")
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = app.oneshot(req).await.unwrap();
    let v: Value = serde_json::from_slice(
        &axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        v["access_evaluation_endpoint"],
        "https://pdp.example.com/access/v1/evaluation"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_set_that_does_not_load_stops_the_start_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.writ"),
        "rule \"r\" { when devise.managed allow }",
    )
    .unwrap();
    let mut config =
        writ_server::ServerConfig::new(dir.path(), writ_server::Identity::InsecureDevFromBody);
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.admin = Some("127.0.0.1:0".parse().unwrap());
    let e = writ_server::Server::start(config).await.unwrap_err();
    let text = e.to_string();
    assert!(text.contains("p.writ:1:"), "{text}");
    assert!(text.contains("devise"), "{text}");
}
