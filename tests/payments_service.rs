//! The example payments service (examples/payments_service) served on loopback and driven
//! through real sockets: allow; approve → answer → collect → redeem once; replay and
//! tamper refused; the approver's view holds every bound value in full and never the
//! grant; a broken `approvers.toml` edit surfaces as an event; two replicas over a real
//! `redis-server`, with a clock far from real time.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    dead_code,
    reason = "tests fail loudly; the example's module is shared with its binary"
)]

#[path = "../examples/payments_service/service.rs"]
mod service;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};
use service::{Backend, Options, Service};
use writ::approvals::{answer_message, KeyPair};
use writ_testkit::Redis;

/// One served replica; dropping it stops the server.
struct Running {
    addr: SocketAddr,
    _runtime: tokio::runtime::Runtime,
}

/// A policy directory with the example's policy and a registry whose approver keys the
/// test holds.
struct Setup {
    dir: tempfile::TempDir,
    fiona: KeyPair,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let policies = dir.path().join("policies");
        std::fs::create_dir_all(&policies).unwrap();
        std::fs::copy(
            service::example_policies().join("payments.writ"),
            policies.join("payments.writ"),
        )
        .unwrap();
        let fiona = KeyPair::generate().unwrap();
        std::fs::write(policies.join("approvers.toml"), registry(&fiona)).unwrap();
        Setup { dir, fiona }
    }

    fn policies(&self) -> PathBuf {
        self.dir.path().join("policies")
    }

    fn state(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn registry(fiona: &KeyPair) -> String {
    format!(
        "[[approver]]\nid = \"fiona\"\ngroups = [\"finance\"]\ned25519 = [\"{}\"]\n",
        fiona.public_b64()
    )
}

fn start(service: Service) -> Running {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_io()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    runtime.spawn(async move {
        let _keep = service;
        let app = _keep.app.clone();
        service::serve(listener, app).await
    });
    Running {
        addr,
        _runtime: runtime,
    }
}

fn embedded(setup: &Setup) -> Running {
    start(
        Service::open(Options {
            policies: setup.policies(),
            state: setup.state("state"),
            backend: Backend::Embedded,
            clock: None,
            watch: false,
        })
        .unwrap(),
    )
}

/// One HTTP/1.1 exchange over a fresh connection: the status and the JSON body.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).unwrap();
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(&body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let text = String::from_utf8(response).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
    };
    (status, body)
}

const ANN: [(&str, &str); 2] = [("x-principal", "ann"), ("x-session", "s-1")];

fn transfer(amount: f64, note: &str) -> Value {
    json!({"account": "acct-1", "payee": "ACME", "amount": amount, "note": note})
}

fn post_transfer(addr: SocketAddr, body: &Value, grant: Option<&str>) -> (u16, Value) {
    let mut headers = ANN.to_vec();
    if let Some(g) = grant {
        headers.push(("x-writ-grant", g));
    }
    http(addr, "POST", "/transfers", &headers, Some(body))
}

/// fiona's signed answer to the challenge in `view`.
fn fiona_approves(setup: &Setup, addr: SocketAddr, view: &Value) -> (u16, Value) {
    let id = view["id"].as_str().unwrap();
    let digest = view["digest"].as_str().unwrap();
    let signature = setup.fiona.sign_b64(&answer_message(id, digest, true));
    http(
        addr,
        "POST",
        &format!("/approvals/{id}/answer"),
        &[],
        Some(
            &json!({"approver": "fiona", "approve": true, "evidence": {"method": "signature", "signature": signature}}),
        ),
    )
}

/// Opens a challenge for `body`, has fiona approve it, collects the grant.
fn approved_grant(setup: &Setup, addr: SocketAddr, body: &Value) -> (Value, String) {
    let (status, opened) = post_transfer(addr, body, None);
    assert_eq!(status, 202, "{opened}");
    let view = opened["challenge"].clone();
    let (status, answered) = fiona_approves(setup, addr, &view);
    assert_eq!(status, 200, "{answered}");
    assert_eq!(answered["status"], "accepted");
    assert_eq!(answered["challenge"]["state"], "granted");
    let id = view["id"].as_str().unwrap();
    let (status, collected) = http(
        addr,
        "POST",
        &format!("/approvals/{id}/collect"),
        &[],
        Some(&json!({"secret": opened["collection_secret"]})),
    );
    assert_eq!(status, 200, "{collected}");
    (view, collected["grant"].as_str().unwrap().to_string())
}

#[test]
fn a_small_transfer_is_allowed_and_a_blocked_payee_denied() {
    let setup = Setup::new();
    let server = embedded(&setup);
    let (status, body) = post_transfer(server.addr, &transfer(40.0, "lunch"), None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "executed");
    let blocked = json!({"account": "acct-1", "payee": "BLOCKED LTD", "amount": 40, "note": ""});
    let (status, body) = post_transfer(server.addr, &blocked, None);
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["message"], "transfers to this payee are blocked");
    assert_eq!(
        body["rules_fired"],
        json!(["blocked payees", "small transfers"])
    );
    // Without the identity headers the service refuses before writ is asked.
    let (status, _) = http(
        server.addr,
        "POST",
        "/transfers",
        &[],
        Some(&transfer(1.0, "")),
    );
    assert_eq!(status, 401);
}

#[test]
fn approve_answer_collect_and_redeem_once_then_replay_and_tamper_are_refused() {
    let setup = Setup::new();
    let server = embedded(&setup);
    let body = transfer(1200.0, "invoice 7");
    let (_, grant) = approved_grant(&setup, server.addr, &body);

    // Tampered: another amount under the same grant.
    let (status, refused) =
        post_transfer(server.addr, &transfer(12000.0, "invoice 7"), Some(&grant));
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["refusal"]["code"], "digest_mismatch");
    // Tampered: the grant itself.
    // One character of the signed payload changed (`v4.public.PAYLOAD.FOOTER`).
    let mut parts: Vec<String> = grant.split('.').map(str::to_string).collect();
    let flipped = if parts[2].starts_with('A') { "B" } else { "A" };
    parts[2].replace_range(0..1, flipped);
    let forged = parts.join(".");
    let (status, refused) = post_transfer(server.addr, &body, Some(&forged));
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["refusal"]["code"], "grant_invalid");

    // The exact transfer: executed once.
    let (status, done) = post_transfer(server.addr, &body, Some(&grant));
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "executed");
    assert_eq!(done["redemption"]["approvers"][0]["id"], "fiona");
    // Replayed.
    let (status, again) = post_transfer(server.addr, &body, Some(&grant));
    assert_eq!(status, 403, "{again}");
    assert_eq!(again["refusal"]["code"], "replayed");

    // The metrics hook counted every step, by outcome.
    let (_, status_body) = http(server.addr, "GET", "/status", &[], None);
    let m = &status_body["metrics"];
    assert_eq!(m["decisions"]["approve"], 1, "{m}");
    assert_eq!(m["challenges"]["opened"], 1);
    assert_eq!(m["answers"]["accepted"], 1);
    assert_eq!(m["collections"]["granted"], 1);
    assert_eq!(m["redemptions"]["allowed"], 1);
    assert_eq!(m["redemptions"]["refused"], 3);
    assert_eq!(m["redemptions"]["replayed"], 1);
}

#[test]
fn the_approver_s_view_has_every_bound_value_in_full_and_never_the_grant() {
    let setup = Setup::new();
    let server = embedded(&setup);
    // A note far longer than the summary shows, with a run of spaces.
    let note = format!("pay {}then{}", "x".repeat(600), " ".repeat(40));
    let body = transfer(20000.0, &note);
    let (opened, grant) = approved_grant(&setup, server.addr, &body);
    let id = opened["id"].as_str().unwrap();
    let (status, view) = http(server.addr, "GET", &format!("/approvals/{id}"), &[], None);
    assert_eq!(status, 200);
    assert_eq!(view["state"], "granted");
    let bound = view["bound"].as_array().unwrap();
    let at = |path: &str| bound.iter().find(|b| b["path"] == path).unwrap().clone();
    assert_eq!(at("request.params.note")["value"], note.as_str());
    assert_eq!(at("request.params.note")["type"], "string");
    assert_eq!(at("request.params.amount")["value"], 20000.0);
    assert_eq!(at("request.params.amount")["type"], "number");
    assert_eq!(at("principal.id")["value"], "ann");
    assert_eq!(bound.len(), 7);
    assert!(bound.iter().all(|b| b["missing"] == false));
    // Why it needs approval: the rules, the risk and its signals; and the summary.
    assert_eq!(view["rules"], json!(["larger transfers need finance"]));
    assert_eq!(view["risk"], 30);
    assert_eq!(
        view["signals"],
        json!([{"name": "large amount", "points": 30}])
    );
    assert!(view["summary"].as_str().unwrap().contains("SHORTENED"));
    // Never the grant, under any key.
    let text = view.to_string();
    assert!(!text.contains(&grant), "the view leaks the grant");
    assert!(view.get("grant").is_none());
    assert!(view.get("collection_secret").is_none());
}

#[test]
fn a_broken_registry_edit_surfaces_as_an_event_and_the_last_registry_stays() {
    let setup = Setup::new();
    let server = embedded(&setup);
    let (_, before) = http(server.addr, "GET", "/status", &[], None);
    assert_eq!(before["registry"]["last_error"], Value::Null, "{before}");
    let file = setup.policies().join("approvers.toml");
    std::fs::write(
        &file,
        "[[approver]]\nid = \"fiona\"\ngroups = [\"finance\"\n",
    )
    .unwrap();
    let (_, after) = http(server.addr, "GET", "/status", &[], None);
    let events = after["events"].as_array().unwrap();
    let rejected: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "registry_rejected")
        .collect();
    assert_eq!(rejected.len(), 1, "{after}");
    assert_eq!(rejected[0]["kept"], 1);
    assert!(rejected[0]["error"]
        .as_str()
        .unwrap()
        .contains("approvers.toml"));
    assert_eq!(after["registry"]["rejected"], 1);
    assert!(after["registry"]["last_error"].is_string(), "{after}");
    // The last good registry is still in use: fiona still approves.
    approved_grant(&setup, server.addr, &transfer(500.0, "kept"));
    // Fixed: a load event, and no error.
    std::fs::write(&file, registry(&setup.fiona)).unwrap();
    let (_, fixed) = http(server.addr, "GET", "/status", &[], None);
    assert_eq!(fixed["registry"]["last_error"], Value::Null, "{fixed}");
    assert_eq!(
        fixed["events"].as_array().unwrap().last().unwrap()["event"],
        "registry_loaded"
    );
}

fn at(seconds: &Arc<AtomicI64>) -> writ::Clock {
    let seconds = seconds.clone();
    Arc::new(move || writ::Timestamp::from_second(seconds.load(Ordering::SeqCst)).unwrap())
}

fn replica(setup: &Setup, redis: &Redis, state: &Path, clock: writ::Clock) -> Running {
    start(
        Service::open(Options {
            policies: setup.policies(),
            state: state.to_path_buf(),
            backend: Backend::Redis(redis.url()),
            clock: Some(clock),
            watch: false,
        })
        .unwrap(),
    )
}

#[test]
fn two_replicas_over_redis_with_a_clock_years_behind_share_one_flow() {
    let redis = Redis::start();
    let setup = Setup::new();
    // 2001: years behind Redis's clock. Expiries are durations from this clock, so the
    // challenge opened on one replica lives on the other.
    let now = Arc::new(AtomicI64::new(978_307_200));
    let first = setup.state("replica-1");
    let a = replica(&setup, &redis, &first, at(&now));
    // The second replica shares the grant key.
    let second = setup.state("replica-2");
    std::fs::create_dir_all(&second).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&second, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    std::fs::copy(first.join("grant.key"), second.join("grant.key")).unwrap();
    let b = replica(&setup, &redis, &second, at(&now));

    let body = transfer(1500.0, "two replicas");
    let (status, opened) = post_transfer(a.addr, &body, None);
    assert_eq!(status, 202, "{opened}");
    let view = opened["challenge"].clone();
    let id = view["id"].as_str().unwrap();
    // Seen and approved on the other replica.
    let (status, seen) = http(b.addr, "GET", &format!("/approvals/{id}"), &[], None);
    assert_eq!(status, 200, "{seen}");
    assert_eq!(seen["state"], "open");
    let (status, answered) = fiona_approves(&setup, b.addr, &view);
    assert_eq!(status, 200, "{answered}");
    // Collected on the first, redeemed on the second, replay refused on the first.
    let (status, collected) = http(
        a.addr,
        "POST",
        &format!("/approvals/{id}/collect"),
        &[],
        Some(&json!({"secret": opened["collection_secret"]})),
    );
    assert_eq!(status, 200, "{collected}");
    let grant = collected["grant"].as_str().unwrap();
    now.fetch_add(60, Ordering::SeqCst);
    let (status, done) = post_transfer(b.addr, &body, Some(grant));
    assert_eq!(status, 200, "{done}");
    let (status, again) = post_transfer(a.addr, &body, Some(grant));
    assert_eq!(status, 403, "{again}");
    assert_eq!(again["refusal"]["code"], "replayed");
}
