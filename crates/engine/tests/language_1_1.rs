//! The additions of language 1.1, case by case, through both the compiled evaluator and
//! the reference interpreter: instants and their arithmetic, `present`, `lower`, named
//! conditions, approver groups read from the request and elevation.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use serde_json::{json, Value};
use writ_engine::{Decision, Engine, Truth, Verdict};

const PRELUDE: &str = r#"
schema {
  request.params.payee: string
  request.params.payee_added_at: time
  request.params.window: duration
  resource.admin_group: string
}
let corp = cidr ["10.0.0.0/8"]
"#;

fn engine(policy: &str) -> Engine {
    common::engine_with(PRELUDE, policy)
}

/// The truth of `cond` for `request` under the prelude and `lets`, through both
/// evaluators.
fn truth_in(lets: &str, cond: &str, request: Value) -> Truth {
    common::truth(&format!("{PRELUDE}\n{lets}"), cond, request)
}

fn decide(policy: &str, request: Value) -> Decision {
    common::decide(&engine(policy), request)
}

fn check_in(lets: &str, cond: &str, cases: &[(Value, Truth)]) {
    for (request, expected) in cases {
        assert_eq!(
            truth_in(lets, cond, request.clone()),
            *expected,
            "`{cond}` for {request}"
        );
    }
}

fn check(cond: &str, cases: &[(Value, Truth)]) {
    check_in("", cond, cases);
}

use Truth::{False as F, True as T, Unknown as U};

fn added(at: &str) -> Value {
    json!({"time": "2026-11-27T12:00:00Z", "request": {"params": {"payee_added_at": at}}})
}

#[test]
fn instant_differences_are_durations() {
    let cond = "time - request.params.payee_added_at < 24h";
    check(
        cond,
        &[
            (added("2026-11-27T11:00:00Z"), T),
            (added("2026-11-26T12:00:00Z"), F),
            // One second inside the day, and sub-second parts kept.
            (added("2026-11-26T12:00:01Z"), T),
            (added("2026-11-26T12:00:00.5Z"), T),
            (added("2026-11-26T11:59:59.5Z"), F),
            // Added in the future: a negative duration, less than a day.
            (added("2026-11-28T00:00:00Z"), T),
            // Offsets are instants too.
            (added("2026-11-27T13:30:00+02:00"), T),
            // A missing operand makes the result unknown.
            (json!({"time": "2026-11-27T12:00:00Z"}), U),
        ],
    );
    check(
        "request.params.payee_added_at + 1h > time",
        &[
            (added("2026-11-27T11:30:00Z"), T),
            (added("2026-11-27T11:00:00Z"), F),
            (json!({}), U),
        ],
    );
    check(
        "time - 2h >= request.params.payee_added_at",
        &[
            (added("2026-11-27T10:00:00Z"), T),
            (added("2026-11-27T10:00:01Z"), F),
        ],
    );
    check(
        "time - request.params.payee_added_at == request.params.window",
        &[
            (
                json!({"time": "2026-11-27T12:00:00Z", "request": {"params": {"payee_added_at": "2026-11-27T11:00:00Z", "window": "1h"}}}),
                T,
            ),
            (
                json!({"time": "2026-11-27T12:00:00Z", "request": {"params": {"payee_added_at": "2026-11-27T11:00:00Z", "window": 60}}}),
                F,
            ),
            (
                json!({"time": "2026-11-27T12:00:00Z", "request": {"params": {"window": 60}}}),
                U,
            ),
        ],
    );
    check(
        "request.params.window + 30m <= 2h",
        &[
            (json!({"request": {"params": {"window": "90m"}}}), T),
            (json!({"request": {"params": {"window": "91m"}}}), F),
            (json!({}), U),
        ],
    );
    // Instants compare with instants.
    check(
        "request.params.payee_added_at < \"2026-01-01T00:00:00Z\"",
        &[
            (added("2025-12-31T23:59:59Z"), T),
            (added("2026-01-01T00:00:00Z"), F),
        ],
    );
    // Past the range of instants: unknown, never a wrap-around.
    check(
        "request.params.payee_added_at + 100000000d > time",
        &[(added("2026-11-27T11:00:00Z"), U)],
    );
}

#[test]
fn present_is_never_unknown() {
    check(
        "present(request.params.payee)",
        &[
            (json!({"request": {"params": {"payee": "ACME"}}}), T),
            (json!({"request": {"params": {"payee": ""}}}), T),
            (json!({"request": {"params": {"payee": null}}}), F),
            (json!({"request": {"params": {}}}), F),
            (json!({}), F),
        ],
    );
    check(
        "not present(request.params.payee)",
        &[
            (json!({}), T),
            (json!({"request": {"params": {"payee": "x"}}}), F),
        ],
    );
    check(
        "present(request.params) and present(principal.groups)",
        &[
            (
                json!({"request": {"params": {}}, "principal": {"groups": []}}),
                T,
            ),
            (json!({"request": {"params": {}}}), F),
        ],
    );
    // `time` is the engine's clock when the request has none.
    check("present(time)", &[(json!({}), T)]);
}

#[test]
fn lower_folds_case() {
    check(
        "lower(action) == \"db.drop\"",
        &[
            (json!({"action": "DB.DROP"}), T),
            (json!({"action": "Db.Drop"}), T),
            (json!({"action": "db.drop"}), T),
            (json!({"action": "db.read"}), F),
            (json!({}), U),
        ],
    );
    check(
        "lower(action) in [\"db.drop\", \"db.admin\"]",
        &[
            (json!({"action": "DB.ADMIN"}), T),
            (json!({"action": "DB.READ"}), F),
        ],
    );
    check(
        "lower(action) matches \"db.*\"",
        &[
            (json!({"action": "DB.X"}), T),
            (json!({"action": "PAY"}), F),
        ],
    );
    // Unicode lower-casing, and strings the set never mentions.
    check(
        "lower(request.params.payee) == \"straße\"",
        &[
            (json!({"request": {"params": {"payee": "STRAßE"}}}), T),
            (json!({"request": {"params": {"payee": "ÉCOLE"}}}), F),
        ],
    );
    check(
        "lower(request.params.payee) == principal.id",
        &[
            (
                json!({"request": {"params": {"payee": "ÉCOLE"}}, "principal": {"id": "école"}}),
                T,
            ),
            (json!({"principal": {"id": "école"}}), U),
        ],
    );
    check(
        "\"ops\" in principal.groups and principal.groups has lower(request.params.payee)",
        &[(
            json!({"request": {"params": {"payee": "OPS"}}, "principal": {"groups": ["ops"]}}),
            T,
        )],
    );
}

#[test]
fn named_conditions_are_three_valued_and_in_any_order() {
    let lets = r#"
      let trusted = internal and not risky
      let internal = network.ip in corp
      let risky = not device.managed
    "#;
    check_in(
        lets,
        "trusted",
        &[
            (
                json!({"network": {"ip": "10.1.1.1"}, "device": {"managed": true}}),
                T,
            ),
            (
                json!({"network": {"ip": "8.8.8.8"}, "device": {"managed": true}}),
                F,
            ),
            (json!({"network": {"ip": "10.1.1.1"}}), U),
            (json!({"device": {"managed": false}}), F),
        ],
    );
    check_in(lets, "not trusted or risky", &[(json!({}), U)]);
}

#[test]
fn explain_shows_a_named_condition_by_name_with_its_parts() {
    let e = engine(
        r#"
        let internal = network.ip in corp and device.managed
        rule "r" { when internal allow }
        "#,
    );
    let req = e
        .bind(json!({"network": {"ip": "10.0.0.1"}, "device": {"managed": false}}))
        .unwrap();
    let ex = e.explain(&req);
    let c = &ex.rules[0].condition;
    assert_eq!(c.text, "internal");
    assert_eq!(c.value, Truth::False);
    assert_eq!(c.children.len(), 1);
    let parts: Vec<(&str, Truth)> = c.children[0]
        .children
        .iter()
        .map(|p| (p.text.as_str(), p.value))
        .collect();
    assert_eq!(
        parts,
        vec![
            ("network.ip in corp", Truth::True),
            ("device.managed", Truth::False)
        ]
    );
}

#[test]
fn approver_groups_come_from_the_request_and_are_bound() {
    let p = r#"
      rule "support" {
        when action == "support.session"
        approve for 30m {
          approvers 1 of group resource.admin_group
          bind principal.id, resource.id, session.id
        }
      }
    "#;
    let d = decide(
        p,
        json!({"action": "support.session", "resource": {"id": "acme", "admin_group": "customer-admins-acme"}}),
    );
    assert_eq!(d.decision, Verdict::Approve);
    let a = d.approval.clone().unwrap();
    let v: Value = serde_json::from_str(&d.to_json()).unwrap();
    assert_eq!(
        v["approval"]["approvers"],
        json!([{"count": 1, "group": "customer-admins-acme", "from": "resource.admin_group"}])
    );
    assert_eq!(v["approval"]["elevation_s"], json!(1800));
    let bind: Vec<&str> = a.bind.iter().map(|b| &**b).collect();
    assert_eq!(
        bind,
        vec![
            "principal.id",
            "resource.id",
            "session.id",
            "resource.admin_group"
        ]
    );
    // Another group: another digest.
    let other = decide(
        p,
        json!({"action": "support.session", "resource": {"id": "acme", "admin_group": "customer-admins-evil"}}),
    );
    assert_ne!(a.digest, other.approval.unwrap().digest);

    // Missing group: nobody can approve, so deny, naming the path.
    for request in [
        json!({"action": "support.session", "resource": {"id": "acme"}}),
        json!({"action": "support.session", "resource": {"id": "acme", "admin_group": " "}}),
    ] {
        let d = decide(p, request);
        assert_eq!(d.decision, Verdict::Deny);
        assert!(d.approval.is_none());
        let m = d.message.unwrap();
        assert!(m.contains("`resource.admin_group`"), "{m}");
        assert_eq!(d.rules, vec!["support".into()]);
    }
}

#[test]
fn elevation_merges_shortest_and_single_use_wins() {
    let p = |a: &str, b: &str| {
        format!(
            r#"
            rule "a" {{ when action == "x" approve {a}{{ approvers 1 of group "g" }} }}
            rule "b" {{ when action == "x" approve {b}{{ approvers 1 of group "h" }} }}
            "#
        )
    };
    let elevation = |a: &str, b: &str| {
        decide(&p(a, b), json!({"action": "x"}))
            .approval
            .unwrap()
            .elevation_s
    };
    assert_eq!(elevation("for 2h ", "for 30m "), Some(1800));
    assert_eq!(elevation("for 2h ", ""), None);
    assert_eq!(elevation("", ""), None);
    let single = decide(&p("", ""), json!({"action": "x"}));
    let v: Value = serde_json::from_str(&single.to_json()).unwrap();
    assert_eq!(v["approval"]["elevation_s"], Value::Null);
    assert!(v["approval"]["approvers"][0].get("from").is_none());
}

#[test]
fn a_negative_duration_is_refused_as_negative() {
    let e = engine(r#"rule "r" { when request.params.window < 1h allow }"#);
    for v in [json!(-3600), json!(-0.5)] {
        let err = e
            .bind(json!({"request": {"params": {"window": v}}}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot be negative"), "{err}");
        assert!(err.contains("`request.params.window`"), "{err}");
    }
}

/// Minutes of one UTC day (from `start`, 48 hours of minutes) that a window matches,
/// through both evaluators.
fn minutes_matched(window: &str, start: &str) -> usize {
    let e = engine(&format!(
        "rule \"w\" {{ when time in hours \"{window}\" in \"Europe/Berlin\" allow }}"
    ));
    let start: jiff::Timestamp = start.parse().unwrap();
    (0..48 * 60)
        .filter(|m| {
            let at = start + jiff::SignedDuration::from_mins(*m);
            let req = e.bind(json!({ "time": at.to_string() })).unwrap();
            let d = e.decide(&req);
            assert_eq!(d, e.explain(&req).decision, "at {at}");
            d.decision == Verdict::Allow
        })
        .count()
}

#[test]
fn hours_windows_over_daylight_saving_changes() {
    // Spring (2027-03-28): 02:00-03:00 local does not exist, so the window never matches.
    assert_eq!(
        minutes_matched("Sun 02:00-02:45", "2027-03-27T12:00:00Z"),
        0
    );
    // Autumn (2026-10-25): 02:00-03:00 local happens twice, so it matches 2 × 45 minutes.
    assert_eq!(
        minutes_matched("Sun 02:00-02:45", "2026-10-24T12:00:00Z"),
        90
    );
    // A window around the change counts the instants that read as those local times.
    assert_eq!(
        minutes_matched("Sun 01:00-04:00", "2027-03-28T00:00:00Z"),
        120
    );
    assert_eq!(
        minutes_matched("Sun 01:00-04:00", "2026-10-24T12:00:00Z"),
        240
    );
}
