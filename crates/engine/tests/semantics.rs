//! Semantics, case by case. The tables live as data in `tests/cases/` (the format is
//! docs/language.md §20), run by writ-cases through [`case_files`]: every operator under
//! Kleene logic (present, absent, edge values) in `cases/truth/`, then combining, missing
//! evidence, risk, merging approvals and `allow for` in one policy set each. Every case
//! goes through the compiled evaluator and the reference interpreter (the runner checks
//! that `explain` agrees with `decide`).
//!
//! What a case file cannot express stays here: every CEL function of
//! `writ_check::CEL_FUNCTIONS` (the list is code), the digest against its formula, the
//! decision JSON's field order, binding errors (a case with an invalid request fails), the
//! injected clock, and the hour-by-hour sweep of zones across transitions.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use serde_json::{json, Value};
use writ_engine::{Decision, Engine, Truth, Verdict};

/// The schema and named sets of the truth tables, for the policies written here.
const PRELUDE: &str = include_str!("cases/truth/prelude.writ");

/// Runs every suite under `tests/cases/` and fails listing each failing case.
#[test]
fn case_files() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let summary = writ_cases::run_path(&dir);
    let failures: Vec<String> = summary.failures.iter().map(|f| f.to_string()).collect();
    assert!(
        failures.is_empty(),
        "{} failing ({} passed):\n{}",
        failures.len(),
        summary.passed,
        failures.join("\n")
    );
    // The tables held 122 cases when they moved here; one that stops being found must not
    // pass quietly.
    assert!(summary.passed >= 122, "only {} cases ran", summary.passed);
}

fn engine(policy: &str) -> Engine {
    common::engine_with(PRELUDE, policy)
}

fn truth(cond: &str, request: Value) -> Truth {
    common::truth(PRELUDE, cond, request)
}

fn decide(policy: &str, request: Value) -> Decision {
    common::decide(&engine(policy), request)
}

/// Writes a CEL text as a writ string literal.
fn cel(text: &str) -> String {
    format!(
        "cel(\"{}\")",
        text.replace('\\', "\\\\").replace('"', "\\\"")
    )
}

#[test]
fn every_supported_cel_function_runs() {
    for f in writ_check::CEL_FUNCTIONS {
        assert_eq!(
            truth(&cel(f.example), json!({})),
            Truth::True,
            "`{}`: {}",
            f.name,
            f.example
        );
    }
}

#[test]
fn digest_is_the_contract_formula() {
    use sha2::{Digest as _, Sha256};
    let p = r#"rule "p" { when action == "pay" approve { approvers 1 of group "g" bind action, request.params, session.id } }"#;
    let d = decide(
        p,
        json!({"action": "pay", "request": {"params": {"payee": "ACME", "amount": 12.50}}}),
    );
    let canonical =
        r#"{"action":"pay","request.params":{"amount":12.5,"payee":"ACME"},"session.id":null}"#;
    let mut h = Sha256::new();
    h.update(b"writ-txn-v1\0");
    h.update(canonical.as_bytes());
    let expected: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(d.approval.unwrap().digest, format!("sha256:{expected}"));
}

#[test]
fn decision_json_has_the_contract_fields_in_order() {
    let d = decide(
        r#"rule "a" { when action == "x" allow }"#,
        json!({"action": "x"}),
    );
    let text = d.to_json();
    let v: Value = serde_json::from_str(&text).unwrap();
    let expected = [
        "decision",
        "risk",
        "signals",
        "rules",
        "message",
        "obligations",
        "approval",
        "ttl_s",
        "unknown",
        "policy_version",
    ];
    assert_eq!(v.as_object().unwrap().len(), expected.len(), "{text}");
    let positions: Vec<usize> = expected
        .iter()
        .map(|k| text.find(&format!("\"{k}\":")).unwrap())
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "fields out of order: {text}"
    );
    assert_eq!(v["approval"], Value::Null);
    assert_eq!(v["message"], Value::Null);
}

#[test]
fn binding_errors_name_the_path() {
    let e = engine(r#"rule "a" { when action == "x" allow }"#);
    let cases = [
        (r#"{"device": {"managed": "yes"}}"#, "device.managed"),
        (r#"{"network": {"ip": "10.0.0.300"}}"#, "network.ip"),
        (r#"{"time": "yesterday"}"#, "time"),
        (r#"{"principal": {"kind": "robot"}}"#, "principal.kind"),
        (
            r#"{"principal": {"groups": ["a", 1]}}"#,
            "principal.groups[1]",
        ),
        (r#"{"device": "laptop"}"#, "device"),
        (r#"{"devise": {}}"#, "devise"),
        (r#"{"risk": 5}"#, "risk"),
        (
            r#"{"session": {"auth_age": "5 minutes"}}"#,
            "session.auth_age",
        ),
        (
            r#"{"resource": {"sensitivity": 1.5}}"#,
            "resource.sensitivity",
        ),
    ];
    for (json, path) in cases {
        let err = e.bind_str(json).unwrap_err();
        assert_eq!(err.path, path, "{json}: {err}");
    }
    let err = e.bind_str("{not json").unwrap_err();
    assert!(err.to_string().contains("not valid JSON"), "{err}");
    let err = e.bind_str("[1]").unwrap_err();
    assert!(
        err.to_string().contains("a request is a JSON object"),
        "{err}"
    );
}

#[test]
fn time_defaults_to_the_injected_clock() {
    let set = common::checked(
        "t.writ",
        &format!("{PRELUDE}\nrule \"office\" {{ when time in berlin_office allow }}"),
    )
    .unwrap();
    let at = |s: &str| -> jiff::Timestamp { s.parse().unwrap() };
    let open = at("2026-11-27T09:00:00Z");
    let e = Engine::new(set).with_clock(std::sync::Arc::new(move || open));
    assert_eq!(
        e.decide(&e.bind_str("{}").unwrap()).decision,
        Verdict::Allow
    );
    assert_eq!(
        e.decide(&e.bind_str(r#"{"time": "2026-11-29T09:00:00Z"}"#).unwrap())
            .decision,
        Verdict::Deny
    );
}

#[test]
fn hours_follow_each_zone_across_transitions_and_outside_the_table() {
    // Every hour of 2026 in zones with and without daylight saving, plus instants before
    // 1970 and after 2200 (looked up in the zone itself): the compiled window (offset
    // table + bitmap) agrees with the reference (jiff's zone conversion) on each.
    let policy = r#"
      let ny = hours "Mon-Fri 09:00-17:00, Sun 23:30-01:15" in "America/New_York"
      let syd = hours "Sat-Sun 00:00-24:00" in "Australia/Sydney"
      let kol = hours "Mon 05:30-06:00" in "Asia/Kolkata"
      rule "ny" { when time in ny deny }
      rule "syd" { when time in syd deny }
      rule "kol" { when time in kol deny }
    "#;
    let e = engine(policy);
    let mut instants: Vec<i64> = (0..(365 * 24 * 4))
        .map(|q| 1_767_225_600 + q * 900)
        .collect();
    instants.extend([-2_000_000_000, -1, 7_258_118_400, 8_000_000_000]);
    for s in instants {
        let t = jiff::Timestamp::from_second(s).unwrap().to_string();
        let req = e.bind(json!({ "time": t })).unwrap();
        assert_eq!(e.decide(&req), e.explain(&req).decision, "at {t}");
    }
}
