//! Risk is scored by one function (`reference::score`): the evaluator behind `decide`, the
//! reference interpreter behind `explain` and the REPL's `risk` (a lone expression,
//! `Engine::evaluate`) give the same score on random risk blocks — points that overflow
//! 100, signals over missing attributes (unknown counts), signals that never count.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use common::pick;
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use writ_engine::{Engine, Evaluated};

fn signal() -> impl Strategy<Value = String> {
    let when = prop_oneof![
        Just("not device.managed".to_string()),
        Just("device.managed".to_string()),
        (1u32..60).prop_map(|d| format!("device.patch_age > {d}d")),
        pick(&["10.0.0.0/8", "192.0.2.0/24"]).prop_map(|c| format!("network.ip in cidr [\"{c}\"]")),
        pick(&["sms", "otp", "webauthn"]).prop_map(|m| format!("session.auth_method == \"{m}\"")),
        Just("time in hours \"Mon-Fri 08:00-18:00\" in \"Europe/Berlin\"".to_string()),
        Just("not present(session.id)".to_string()),
    ];
    (1u32..80, when, any::<bool>()).prop_map(|(p, w, negate)| {
        if negate {
            format!("+{p} \"s\" when not ({w})")
        } else {
            format!("+{p} \"s\" when {w}")
        }
    })
}

fn policy() -> impl Strategy<Value = String> {
    prop::collection::vec(signal(), 0..7).prop_map(|signals| {
        let mut text = String::from("risk {\n");
        for (i, s) in signals.iter().enumerate() {
            text.push_str(&format!(
                "  {}\n",
                s.replacen("\"s\"", &format!("\"s{i}\""), 1)
            ));
        }
        text.push_str(
            "}\nrule \"risky\" {\n  when risk >= 50\n  deny\n}\nrule \"rest\" {\n  allow\n}\n",
        );
        text
    })
}

fn request() -> impl Strategy<Value = Value> {
    (
        prop::option::weighted(0.7, any::<bool>()),
        prop::option::weighted(0.7, 0u32..90),
        prop::option::weighted(0.7, pick(&["10.1.2.3", "192.0.2.9", "203.0.113.1"])),
        prop::option::weighted(0.7, pick(&["sms", "otp", "webauthn", "password"])),
        prop::option::weighted(0.7, pick(&["2026-11-23T10:00:00Z", "2026-11-28T23:30:00Z"])),
        any::<bool>(),
    )
        .prop_map(|(managed, age, ip, method, time, session_id)| {
            let mut root = Map::new();
            root.insert("action".into(), json!("x"));
            let mut device = Map::new();
            if let Some(m) = managed {
                device.insert("managed".into(), json!(m));
            }
            if let Some(a) = age {
                device.insert("patch_age".into(), json!(format!("{a}d")));
            }
            root.insert("device".into(), Value::Object(device));
            if let Some(ip) = ip {
                root.insert("network".into(), json!({ "ip": ip }));
            }
            let mut session = Map::new();
            if let Some(m) = method {
                session.insert("auth_method".into(), json!(m));
            }
            if session_id {
                session.insert("id".into(), json!("s-1"));
            }
            root.insert("session".into(), Value::Object(session));
            root.insert("time".into(), json!(time.unwrap_or("2026-11-24T12:00:00Z")));
            Value::Object(root)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn decide_explain_and_the_repl_score_risk_alike(policy in policy(), requests in prop::collection::vec(request(), 1..8)) {
        let set = common::checked("p.writ", &policy).map_err(TestCaseError::fail)?;
        let engine = Engine::new(set);
        let lone = writ_check::check_expr(engine.policy_set(), "repl", "risk")
            .map_err(|_| TestCaseError::fail("`risk` does not check as a lone expression"))?;
        for r in requests {
            let req = engine.bind(r.clone()).unwrap();
            let decided = engine.decide(&req).risk;
            let explained = engine.explain(&req).decision.risk;
            let shown = match engine.evaluate(&lone, &req) {
                Evaluated::Value(Some(v)) => v.as_u64().unwrap(),
                other => panic!("risk evaluated to {other:?}"),
            };
            prop_assert_eq!(decided, explained, "policy:\n{}\nrequest: {}", policy, r);
            prop_assert_eq!(u64::from(decided), shown, "policy:\n{}\nrequest: {}", policy, r);
            prop_assert!(decided <= 100);
        }
    }
}
