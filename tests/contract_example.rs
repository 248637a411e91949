//! The example policy set of the language contract (written out below), decided end to
//! end through the facade: each rule's effect, the approval terms and the digest of
//! docs/language.md §15 (recomputed here from the formula), risk from missing evidence,
//! the time box of break glass.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};
use writ::Verdict;

fn engine() -> writ::Engine {
    let text = include_str!("../crates/syntax/tests/format/contract-example.writ");
    writ::from_sources(&[("prod-database.writ", text)]).unwrap()
}

/// A request from a managed, encrypted, patched laptop in the office, in business hours,
/// with a phishing-resistant session.
fn office() -> Value {
    json!({
        "principal": {"id": "alice@example.com", "kind": "human", "groups": ["engineering"]},
        "action": "db.read",
        "resource": {"id": "orders", "env": "prod", "sensitivity": 2},
        "session": {"id": "s-1", "auth_method": "webauthn", "auth_age": "5m"},
        "device": {"managed": true, "disk_encrypted": true, "patch_age": "2d"},
        "network": {"ip": "10.20.30.40"},
        "time": "2026-11-27T09:00:00Z",
        "scope": {"requested": ["db.read"], "granted": ["db.read"]},
        "request": {"params": {"amount": 10, "payee": "x"}, "break_glass": false}
    })
}

fn decide(req: Value) -> writ::Decision {
    let e = engine();
    let bound = e.bind(req).unwrap();
    let d = e.decide(&bound);
    assert_eq!(d, e.explain(&bound).decision);
    d
}

fn names(v: &[std::sync::Arc<str>]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn engineers_read_at_low_risk() {
    let d = decide(office());
    assert_eq!((d.decision, d.risk), (Verdict::Allow, 0));
    assert_eq!(names(&d.rules), ["engineers read at low risk"]);
    assert!(d.unknown.is_empty());
}

#[test]
fn risk_adds_up_and_blocks_the_read() {
    let mut r = office();
    r["device"]["managed"] = json!(false);
    r["network"]["ip"] = json!("203.0.113.9");
    let d = decide(r);
    assert_eq!((d.decision, d.risk), (Verdict::Deny, 65));
    let signals: Vec<(String, u32)> = d
        .signals
        .iter()
        .map(|s| (s.name.to_string(), s.points))
        .collect();
    assert_eq!(
        signals,
        [
            ("unmanaged device".to_string(), 40),
            ("off corporate network".to_string(), 25)
        ]
    );
    assert!(d.rules.is_empty());
}

#[test]
fn missing_posture_counts_against_the_request() {
    let mut r = office();
    r.as_object_mut().unwrap().remove("device");
    let d = decide(r);
    // Unmanaged, unencrypted and unpatched all count when the device is unknown: 40+20+15.
    assert_eq!((d.decision, d.risk), (Verdict::Deny, 75));
    assert_eq!(
        names(&d.unknown),
        [
            "device.disk_encrypted",
            "device.managed",
            "device.patch_age"
        ]
    );
}

#[test]
fn prod_writes_need_a_bound_approval_with_the_contract_digest() {
    let mut r = office();
    r["action"] = json!("db.orders.write");
    let d = decide(r.clone());
    assert_eq!(d.decision, Verdict::Approve);
    assert_eq!(names(&d.rules), ["prod writes need a bound approval"]);
    let obligations: Vec<(String, Vec<String>)> = d
        .obligations
        .iter()
        .map(|o| (o.name.to_string(), o.args.to_vec()))
        .collect();
    assert_eq!(
        obligations,
        [
            ("record_session".to_string(), vec![]),
            ("review".to_string(), vec!["24h".to_string()])
        ]
    );
    let a = d.approval.unwrap();
    assert_eq!(
        (a.approvers[0].count, &*a.approvers[0].group),
        (1, "db-owners")
    );
    assert_eq!((a.method.as_str(), a.ttl_s), ("phishing_resistant", 300));
    assert_eq!(
        names(&a.bind),
        [
            "principal.id",
            "action",
            "resource.id",
            "session.id",
            "request.params"
        ]
    );
    let canonical = r#"{"action":"db.orders.write","principal.id":"alice@example.com","request.params":{"amount":10,"payee":"x"},"resource.id":"orders","session.id":"s-1"}"#;
    let mut h = Sha256::new();
    h.update(b"writ-txn-v1\x00");
    h.update(canonical.as_bytes());
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(a.digest, format!("sha256:{hex}"));
    // Change a bound value: another digest.
    r["request"]["params"]["amount"] = json!(11);
    assert_ne!(decide(r).approval.unwrap().digest, a.digest);
}

#[test]
fn unencrypted_disks_never_write_to_prod() {
    let mut r = office();
    r["action"] = json!("db.orders.write");
    r["device"]["disk_encrypted"] = json!(false);
    let d = decide(r);
    assert_eq!(d.decision, Verdict::Deny);
    assert_eq!(
        d.message.as_deref(),
        Some("writes to production need an encrypted disk")
    );
}

#[test]
fn break_glass_is_time_boxed_with_obligations() {
    let mut r = office();
    r["action"] = json!("db.config.read");
    r["principal"]["groups"] = json!(["incident-response"]);
    r["request"]["break_glass"] = json!(true);
    let d = decide(r);
    assert_eq!((d.decision, d.ttl_s), (Verdict::Allow, Some(900)));
    let obligations: Vec<String> = d
        .obligations
        .iter()
        .map(|o| format!("{}{:?}", o.name, o.args))
        .collect();
    assert_eq!(
        obligations,
        ["record_session[]", "notify[\"secops\"]", "review[\"24h\"]"]
    );
}

#[test]
fn agents_never_drop_tables() {
    let mut r = office();
    r["action"] = json!("db.drop");
    r["principal"]["kind"] = json!("agent");
    let d = decide(r);
    assert_eq!(
        (d.decision, names(&d.rules)),
        (Verdict::Deny, vec!["agents never drop tables".to_string()])
    );
}

#[test]
fn large_euro_payments_need_two_treasurers() {
    let mut r = office();
    r["action"] = json!("payments.transfer");
    r["request"]["params"] = json!({"amount": 20000, "currency": "EUR", "payee": "ACME"});
    let d = decide(r.clone());
    assert_eq!(d.decision, Verdict::Approve);
    let a = d.approval.unwrap();
    assert_eq!(
        (
            a.approvers[0].count,
            &*a.approvers[0].group,
            a.method.as_str(),
            a.ttl_s
        ),
        (2, "treasury", "webauthn", 120)
    );
    r["request"]["params"]["currency"] = json!("USD");
    assert_eq!(decide(r).decision, Verdict::Deny);
}
