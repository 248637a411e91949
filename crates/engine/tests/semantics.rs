//! Semantics, case by case: every operator under Kleene logic (present, absent, edge
//! values), then combining, merging and the decision fields. Each case goes through both
//! the compiled evaluator and the reference interpreter.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use serde_json::{json, Value};
use writ_engine::{Decision, Engine, Truth, Verdict};

const PRELUDE: &str = r#"
schema {
  resource.env: "prod" | "staging" | "dev"
  resource.sensitivity: int
  request.params.amount: number
  request.params.payee: string
  request.params.payee_added_at: time
}
let corp = cidr ["10.0.0.0/8", "fd00::/8"]
let berlin_office = hours "Mon-Fri 08:00-18:00" in "Europe/Berlin"
let admin_scopes = ["db.admin", "db.drop"]
"#;

fn engine(policy: &str) -> Engine {
    let mut sources = writ_syntax::SourceMap::default();
    sources.add("t.writ", format!("{PRELUDE}\n{policy}"));
    match writ_check::check(sources) {
        Ok(set) => Engine::new(set),
        Err(r) => panic!(
            "{}",
            writ_syntax::render(&r.diagnostics, &r.sources, writ_syntax::Style::Plain)
        ),
    }
}

/// The truth of `cond` for `request`, through both evaluators.
fn truth(cond: &str, request: Value) -> Truth {
    // A deny rule fires on true or unknown, an allow rule only on true: together they
    // tell the three values apart through the compiled path too.
    let e = engine(&format!(
        "rule \"d\" {{ when {cond} deny }}\nrule \"a\" {{ when {cond} allow }}"
    ));
    let req = e
        .bind(request.clone())
        .unwrap_or_else(|err| panic!("{err}"));
    let explained = e.explain(&req);
    let reference = explained.rules[0].condition.value;
    let d = e.decide(&req);
    assert_eq!(
        d, explained.decision,
        "compiled and reference disagree on `{cond}` for {request}"
    );
    let compiled = match (d.rules.is_empty(), d.decision) {
        (true, _) => Truth::False,
        (false, Verdict::Deny) if d.unknown.is_empty() && explained.rules[1].fired => Truth::True,
        (false, Verdict::Deny) => Truth::Unknown,
        _ => unreachable!(),
    };
    assert_eq!(compiled, reference, "`{cond}` for {request}");
    reference
}

fn check(cond: &str, cases: &[(Value, Truth)]) {
    for (request, expected) in cases {
        assert_eq!(
            truth(cond, request.clone()),
            *expected,
            "`{cond}` for {request}"
        );
    }
}

use Truth::{False as F, True as T, Unknown as U};

#[test]
fn bool_paths() {
    check(
        "device.managed",
        &[
            (json!({"device": {"managed": true}}), T),
            (json!({"device": {"managed": false}}), F),
            (json!({}), U),
            (json!({"device": {"managed": null}}), U),
        ],
    );
    check(
        "not device.managed",
        &[(json!({"device": {"managed": false}}), T), (json!({}), U)],
    );
}

#[test]
fn comparisons_and_numbers() {
    check(
        "device.patch_age > 30d",
        &[
            (json!({"device": {"patch_age": "31d"}}), T),
            (json!({"device": {"patch_age": 2_592_000}}), F),
            (json!({"device": {"patch_age": "1h30m"}}), F),
            (json!({}), U),
        ],
    );
    check(
        "resource.sensitivity >= 3",
        &[
            (json!({"resource": {"sensitivity": 3}}), T),
            (json!({"resource": {"sensitivity": 2}}), F),
        ],
    );
    // Ints and numbers compare by value.
    check(
        "request.params.amount > 10",
        &[
            (json!({"request": {"params": {"amount": 11}}}), T),
            (json!({"request": {"params": {"amount": 10.5}}}), T),
            (json!({"request": {"params": {"amount": 10}}}), F),
            (json!({"request": {"params": {}}}), U),
        ],
    );
    check(
        "request.params.amount == 10",
        &[(json!({"request": {"params": {"amount": 10.0}}}), T)],
    );
    check(
        "action != \"db.read\"",
        &[
            (json!({"action": "db.write"}), T),
            (json!({"action": "db.read"}), F),
            (json!({}), U),
        ],
    );
    check(
        "principal.kind == \"agent\"",
        &[
            (json!({"principal": {"kind": "agent"}}), T),
            (json!({"principal": {"kind": "human"}}), F),
        ],
    );
    check(
        "principal.id == principal.on_behalf_of",
        &[
            (json!({"principal": {"id": "a", "on_behalf_of": "a"}}), T),
            (json!({"principal": {"id": "a"}}), U),
        ],
    );
    check(
        "time > \"2026-01-01T00:00:00Z\"",
        &[
            (json!({"time": "2026-06-01T00:00:00Z"}), T),
            (json!({"time": "2025-06-01T00:00:00+02:00"}), F),
        ],
    );
    check(
        "network.ip == \"10.0.0.1\"",
        &[
            (json!({"network": {"ip": "10.0.0.1"}}), T),
            (json!({"network": {"ip": "10.0.0.2"}}), F),
        ],
    );
}

#[test]
fn lists_and_not_in() {
    check(
        "action in [\"a\", \"b\"]",
        &[
            (json!({"action": "b"}), T),
            (json!({"action": "c"}), F),
            (json!({}), U),
        ],
    );
    check(
        "action not in [\"a\"]",
        &[
            (json!({"action": "b"}), T),
            (json!({"action": "a"}), F),
            (json!({}), U),
        ],
    );
    check("action in []", &[(json!({"action": "a"}), F)]);
    check(
        "resource.sensitivity in [1, 2]",
        &[
            (json!({"resource": {"sensitivity": 2}}), T),
            (json!({"resource": {"sensitivity": 3}}), F),
        ],
    );
}

#[test]
fn patterns() {
    check(
        "action matches \"db.*.write\"",
        &[
            (json!({"action": "db.orders.write"}), T),
            (json!({"action": "db.write"}), F),
            (json!({"action": "db..write"}), T),
            (json!({}), U),
        ],
    );
    check("action matches \"*\"", &[(json!({"action": ""}), T)]);
}

#[test]
fn cidr_sets() {
    check(
        "network.ip in corp",
        &[
            (json!({"network": {"ip": "10.1.2.3"}}), T),
            (json!({"network": {"ip": "11.0.0.1"}}), F),
            (json!({"network": {"ip": "fd00::1"}}), T),
            (json!({"network": {"ip": "2001:db8::1"}}), F),
            (json!({"network": {"ip": "::ffff:10.0.0.1"}}), T),
            (json!({}), U),
        ],
    );
    check(
        "network.ip not in cidr [\"192.168.0.0/16\"]",
        &[
            (json!({"network": {"ip": "192.168.255.255"}}), F),
            (json!({"network": {"ip": "192.169.0.0"}}), T),
        ],
    );
}

#[test]
fn hours_windows() {
    check(
        "time in berlin_office",
        &[
            (json!({"time": "2026-11-27T07:30:00Z"}), T), // Fri 08:30 CET
            (json!({"time": "2026-11-27T17:00:00Z"}), F), // Fri 18:00 CET: end exclusive
            (json!({"time": "2026-07-01T06:30:00Z"}), T), // Wed 08:30 CEST
            (json!({"time": "2026-11-28T10:00:00Z"}), F), // Saturday
            (json!({"time": "2026-11-27T09:30:00+02:00"}), T),
        ],
    );
}

#[test]
fn set_operators() {
    let groups = |g: Value| json!({"principal": {"groups": g}});
    check(
        "principal.groups has \"a\"",
        &[
            (groups(json!(["a", "b"])), T),
            (groups(json!(["b"])), F),
            (json!({}), U),
        ],
    );
    check(
        "\"a\" in principal.groups",
        &[
            (groups(json!(["a"])), T),
            (groups(json!([])), F),
            (json!({}), U),
        ],
    );
    check(
        "principal.groups has any [\"a\", \"x\"]",
        &[
            (groups(json!(["x"])), T),
            (groups(json!(["b"])), F),
            (json!({}), U),
        ],
    );
    check(
        "principal.groups has any []",
        &[(groups(json!(["a"])), F), (json!({}), U)],
    );
    check(
        "principal.groups has all [\"a\", \"b\"]",
        &[
            (groups(json!(["b", "a", "c"])), T),
            (groups(json!(["a"])), F),
        ],
    );
    check(
        "principal.groups has all []",
        &[(groups(json!([])), T), (json!({}), U)],
    );
    check(
        "principal.groups within [\"a\", \"b\"]",
        &[
            (groups(json!(["a"])), T),
            (groups(json!([])), T),
            (groups(json!(["a", "zzz"])), F),
            (json!({}), U),
        ],
    );
    check(
        "scope.requested has any admin_scopes",
        &[(json!({"scope": {"requested": ["db.drop"]}}), T)],
    );
    check(
        "scope.requested within scope.granted",
        &[
            (
                json!({"scope": {"requested": ["r"], "granted": ["r", "w"]}}),
                T,
            ),
            (
                json!({"scope": {"requested": ["r", "x"], "granted": ["r"]}}),
                F,
            ),
            (json!({"scope": {"requested": ["r"]}}), U),
        ],
    );
}

#[test]
fn cel_leaves() {
    check(
        "cel(\"request.params.amount > 10000 && request.params.payee == 'ACME'\")",
        &[
            (
                json!({"request": {"params": {"amount": 20000, "payee": "ACME"}}}),
                T,
            ),
            (
                json!({"request": {"params": {"amount": 20000.5, "payee": "ACME"}}}),
                T,
            ),
            (
                json!({"request": {"params": {"amount": 5, "payee": "ACME"}}}),
                F,
            ),
            // A run-time error (missing field) is unknown.
            (json!({"request": {"params": {"amount": 20000}}}), U),
            (json!({}), U),
        ],
    );
    // A non-bool result is unknown.
    check(
        "cel(\"request.params.payee\")",
        &[(json!({"request": {"params": {"payee": "ACME"}}}), U)],
    );
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
            T,
            "`{}`: {}",
            f.name,
            f.example
        );
    }
}

#[test]
fn cel_functions_that_used_to_be_unknown() {
    check(
        &cel("request.params.payee.lowerAscii() == 'acme' && request.params.payee.matches('^[A-Za-z]+$')"),
        &[
            (json!({"request": {"params": {"payee": "ACME"}}}), T),
            (json!({"request": {"params": {"payee": "AC ME"}}}), F),
            (json!({}), U),
        ],
    );
    check(
        &cel("timestamp(request.params.when) < timestamp('2026-01-01T00:00:00Z')"),
        &[
            (
                json!({"request": {"params": {"when": "2025-12-31T23:00:00-02:00"}}}),
                F,
            ),
            (
                json!({"request": {"params": {"when": "2025-12-31T23:00:00+02:00"}}}),
                T,
            ),
            // Not an instant: a run-time error, so unknown.
            (json!({"request": {"params": {"when": "soon"}}}), U),
        ],
    );
    check(
        &cel("duration(request.params.window) <= duration('1h')"),
        &[
            (json!({"request": {"params": {"window": "30m"}}}), T),
            (json!({"request": {"params": {"window": "90m"}}}), F),
        ],
    );
}

#[test]
fn instants_and_durations_reach_cel_as_its_types() {
    let day = json!({"time": "2026-03-02T12:00:00Z", "request": {"params": {"payee_added_at": "2026-03-02T08:00:00+01:00"}}});
    let old = json!({"time": "2026-03-02T12:00:00Z", "request": {"params": {"payee_added_at": "2026-02-01T08:00:00Z"}}});
    check(
        &cel("time - request.params.payee_added_at < duration('24h')"),
        &[
            (day.clone(), T),
            (old, F),
            (json!({"time": "2026-03-02T12:00:00Z"}), U),
        ],
    );
    check(
        &cel("type(time) == google.protobuf.Timestamp && type(request.params.payee_added_at) == google.protobuf.Timestamp"),
        &[(day.clone(), T)],
    );
    // The request time, as the policy reads it: a timestamp, from the request or the clock.
    check(
        &cel("type(time) == string"),
        &[(day.clone(), F), (json!({}), F)],
    );
    check(
        &cel("time > timestamp('2020-01-01T00:00:00Z')"),
        &[(json!({}), T)],
    );
    check(
        &cel("time.getHours('Europe/Berlin') == 13 && time.getDayOfWeek() == 1"),
        &[(day, T)],
    );
    // Durations, whether sent as seconds or as text.
    check(
        &cel("session.auth_age < duration('5m') && type(device.patch_age) == google.protobuf.Duration"),
        &[
            (json!({"session": {"auth_age": 120}, "device": {"patch_age": "30d"}}), T),
            (json!({"session": {"auth_age": "10m"}, "device": {"patch_age": "30d"}}), F),
        ],
    );
}

#[test]
fn kleene_connectives() {
    let req = |managed: Option<bool>, action: &str| match managed {
        Some(m) => json!({"device": {"managed": m}, "action": action}),
        None => json!({"action": action}),
    };
    check(
        "device.managed and action == \"x\"",
        &[
            (req(None, "y"), F),
            (req(None, "x"), U),
            (req(Some(true), "x"), T),
        ],
    );
    check(
        "device.managed or action == \"x\"",
        &[
            (req(None, "x"), T),
            (req(None, "y"), U),
            (req(Some(false), "y"), F),
        ],
    );
    check(
        "not (device.managed or action == \"x\")",
        &[(req(None, "y"), U), (req(None, "x"), F)],
    );
}

fn decide(policy: &str, request: Value) -> Decision {
    let e = engine(policy);
    let req = e.bind(request).unwrap();
    let d = e.decide(&req);
    assert_eq!(d, e.explain(&req).decision);
    d
}

#[test]
fn strongest_effect_wins_and_nothing_fired_is_deny() {
    let p = r#"
      rule "a" { when action == "x" allow }
      rule "p" { when action == "x" approve { approvers 1 of group "g" } }
      rule "d" { when action == "x" and device.managed == false deny "nope" }
    "#;
    let d = decide(p, json!({"action": "x", "device": {"managed": false}}));
    assert_eq!(
        (d.decision, d.rules.len(), d.message.as_deref()),
        (Verdict::Deny, 1, Some("nope"))
    );
    let d = decide(p, json!({"action": "x", "device": {"managed": true}}));
    assert_eq!(d.decision, Verdict::Approve);
    assert_eq!(&*d.rules[0], "p");
    let d = decide(p, json!({"action": "y"}));
    assert_eq!(
        (d.decision, d.rules.len(), d.message.clone()),
        (Verdict::Deny, 0, None)
    );
}

#[test]
fn missing_evidence_makes_deny_fire_and_is_listed() {
    let p = r#"
      rule "allow reads" { when action == "db.read" allow }
      rule "unmanaged" { when not device.managed and action == "db.read" deny }
    "#;
    let d = decide(p, json!({"action": "db.read"}));
    assert_eq!(d.decision, Verdict::Deny);
    assert_eq!(
        d.unknown.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        vec!["device.managed"]
    );
    // A missing path that did not change the outcome is not listed.
    let p = r#"
      rule "d" { when action == "x" or device.managed deny }
    "#;
    let d = decide(p, json!({"action": "x"}));
    assert_eq!(d.decision, Verdict::Deny);
    assert!(d.unknown.is_empty(), "{:?}", d.unknown);
}

#[test]
fn risk_counts_true_or_unknown_and_caps_at_100() {
    let p = r#"
      risk {
        +60 "unmanaged" when not device.managed
        +30 "off network" when network.ip not in corp
        +25 "admin" when scope.requested has any admin_scopes
      }
      rule "low risk reads" { when action == "r" and risk < 50 allow }
    "#;
    let d = decide(
        p,
        json!({"action": "r", "device": {"managed": true}, "network": {"ip": "10.0.0.1"}, "scope": {"requested": []}}),
    );
    assert_eq!((d.decision, d.risk), (Verdict::Allow, 0));
    let d = decide(
        p,
        json!({"action": "r", "device": {"managed": true}, "scope": {"requested": []}}),
    );
    assert_eq!((d.decision, d.risk), (Verdict::Allow, 30));
    assert_eq!(
        d.unknown.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        vec!["network.ip"]
    );
    let d = decide(p, json!({"action": "r"}));
    assert_eq!(
        (d.decision, d.risk, d.signals.len()),
        (Verdict::Deny, 100, 3)
    );
}

#[test]
fn approvals_merge_most_restrictive() {
    let p = r#"
      rule "one" {
        when action == "pay"
        approve { approvers 1 of group "finance" approvers 1 of group "security" method signature bind action, request.params.amount ttl 10m }
        obligations record_session, review(24h)
      }
      rule "two" {
        when action == "pay" and request.params.amount > 100
        approve { approvers 2 of group "finance" method webauthn bind request.params.payee, action ttl 2m }
        obligations review(24h), notify("treasury")
      }
      rule "three" {
        when action == "pay"
        approve { approvers 1 of group "finance" method otp ttl 1h }
      }
    "#;
    let d = decide(
        p,
        json!({"action": "pay", "request": {"params": {"amount": 500, "payee": "ACME"}}, "principal": {"id": "p"}}),
    );
    assert_eq!(d.decision, Verdict::Approve);
    let a = d.approval.clone().unwrap();
    let approvers: Vec<(u32, String)> = a
        .approvers
        .iter()
        .map(|c| (c.count, c.group.to_string()))
        .collect();
    assert_eq!(
        approvers,
        vec![(2, "finance".into()), (1, "security".into())]
    );
    assert_eq!(a.method, "webauthn");
    assert_eq!(a.ttl_s, 120);
    let bind: Vec<String> = a.bind.iter().map(|s| s.to_string()).collect();
    // Union, first appearance first; rule three binds the default paths.
    assert_eq!(
        bind,
        vec![
            "action",
            "request.params.amount",
            "request.params.payee",
            "principal.id",
            "resource.id",
            "session.id",
            "request.params"
        ]
    );
    let obligations: Vec<String> = d
        .obligations
        .iter()
        .map(|o| format!("{}{:?}", o.name, o.args))
        .collect();
    assert_eq!(
        obligations,
        vec![
            "record_session[]",
            "review[\"24h\"]",
            "notify[\"treasury\"]"
        ]
    );
    assert_eq!(d.rules.len(), 3);
}

#[test]
fn signature_and_phishing_resistant_merge_to_signature() {
    let p = r#"
      rule "a" { when action == "x" approve { approvers 1 of group "g" method phishing_resistant } }
      rule "b" { when action == "x" approve { approvers 1 of group "g" method signature } }
    "#;
    assert_eq!(
        decide(p, json!({"action": "x"})).approval.unwrap().method,
        "signature"
    );
}

#[test]
fn allow_for_takes_the_shortest_box() {
    let p = r#"
      rule "a" { when action == "x" allow for 1h }
      rule "b" { when action == "x" allow for 15m obligations record_session }
      rule "c" { when action == "x" allow }
    "#;
    let d = decide(p, json!({"action": "x"}));
    assert_eq!((d.decision, d.ttl_s), (Verdict::Allow, Some(900)));
    let d = decide(
        r#"rule "c" { when action == "x" allow }"#,
        json!({"action": "x"}),
    );
    assert_eq!(d.ttl_s, None);
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
    let mut sources = writ_syntax::SourceMap::default();
    sources.add(
        "t.writ",
        format!("{PRELUDE}\nrule \"office\" {{ when time in berlin_office allow }}"),
    );
    let set = writ_check::check(sources).unwrap();
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
