//! The guards of the rules filed under every action (`guard`) must never change an
//! answer: on random sets of rules that name no action — whose top-level conjunctions mix
//! the tests a guard reads (strings, bools and their negations, ints, durations, CIDR
//! sets, set membership, `present`) with those it must not (risk, `or`, negated
//! conjunctions, hours) — and random requests with attributes missing, the guarded engine
//! equals the unguarded one and the reference interpreter, field for field, and never
//! tries more rules; and a guard does rule out what it should.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use common::pick;
use proptest::prelude::*;
use serde_json::{json, Value};

const PRELUDE: &str = r#"
schema {
  resource.env: "prod" | "staging" | "dev"
  resource.sensitivity: int
  principal.role: string
}
let corp = cidr ["10.0.0.0/8"]
let trusted = device.managed and network.ip in corp
risk {
  +30 "unmanaged" when not device.managed
  +20 "old patches" when device.patch_age > 30d
}
"#;

/// One conjunct of a global rule.
fn part() -> BoxedStrategy<String> {
    prop_oneof![
        pick(&["contractor", "dev", "ops"]).prop_map(|r| format!("principal.role == \"{r}\"")),
        pick(&["prod", "dev"]).prop_map(|e| format!("resource.env != \"{e}\"")),
        pick(&["prod", "dev"]).prop_map(|e| format!("resource.env in [\"{e}\", \"staging\"]")),
        Just("device.managed".to_string()),
        Just("not device.managed".to_string()),
        Just("device.managed == false".to_string()),
        Just("not trusted".to_string()),
        Just("trusted".to_string()),
        (1i64..6).prop_map(|s| format!("resource.sensitivity >= {s}")),
        (1i64..6).prop_map(|s| format!("not resource.sensitivity < {s}")),
        (10u32..40).prop_map(|d| format!("device.patch_age > {d}d")),
        Just("network.ip in cidr [\"10.66.0.0/16\"]".to_string()),
        Just("network.ip not in corp".to_string()),
        Just("principal.groups has \"g1\"".to_string()),
        Just("not principal.groups has \"g1\"".to_string()),
        Just("present(session.id)".to_string()),
        Just("not present(session.id)".to_string()),
        (0i64..60).prop_map(|r| format!("risk >= {r}")),
        Just("(device.managed or principal.role == \"ops\")".to_string()),
        Just("not (device.managed and resource.env == \"prod\")".to_string()),
    ]
    .boxed()
}

fn effect() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just("allow".to_string()),
        3 => Just("deny \"no\"".to_string()),
        1 => Just("approve { approvers 1 of group \"owners\" bind action ttl 5m }".to_string()),
    ]
}

fn policy() -> impl Strategy<Value = String> {
    let global = (prop::collection::vec(part(), 1..4), effect());
    let pinned = (
        pick(&["a", "b"]),
        prop::collection::vec(part(), 0..3),
        effect(),
    );
    (
        prop::collection::vec(global, 1..8),
        prop::collection::vec(pinned, 0..6),
    )
        .prop_map(|(globals, pinned)| {
            let mut text = PRELUDE.to_string();
            for (i, (parts, eff)) in globals.iter().enumerate() {
                text.push_str(&format!(
                    "rule \"g{i}\" {{\n  when {}\n  {eff}\n}}\n",
                    parts.join(" and ")
                ));
            }
            for (i, (action, parts, eff)) in pinned.iter().enumerate() {
                let mut all = vec![format!("action == \"{action}\"")];
                all.extend(parts.iter().cloned());
                text.push_str(&format!(
                    "rule \"p{i}\" {{\n  when {}\n  {eff}\n}}\n",
                    all.join(" and ")
                ));
            }
            text
        })
}

fn request() -> impl Strategy<Value = Value> {
    (
        prop::option::weighted(0.9, pick(&["a", "b", "c"])),
        prop::option::weighted(0.8, pick(&["contractor", "dev", "ops"])),
        prop::option::weighted(0.8, pick(&["prod", "staging", "dev"])),
        prop::option::weighted(0.8, 0i64..7),
        prop::option::weighted(0.8, any::<bool>()),
        prop::option::weighted(0.8, 0u32..60),
        prop::option::weighted(0.8, pick(&["10.66.1.1", "10.1.2.3", "192.0.2.1"])),
        prop::option::weighted(0.8, prop::collection::vec(pick(&["g1", "g2"]), 0..2)),
        prop::option::weighted(0.7, Just("s-1")),
    )
        .prop_map(
            |(action, role, env, sens, managed, patch, ip, groups, session)| {
                common::request_of(
                    &["principal", "resource", "device"],
                    [
                        ("action", action.map(|a| json!(a))),
                        ("principal.role", role.map(|r| json!(r))),
                        ("principal.groups", groups.map(|g| json!(g))),
                        ("resource.env", env.map(|e| json!(e))),
                        ("resource.sensitivity", sens.map(|s| json!(s))),
                        ("device.managed", managed.map(|m| json!(m))),
                        ("device.patch_age", patch.map(|p| json!(format!("{p}d")))),
                        ("network.ip", ip.map(|i| json!(i))),
                        ("session.id", session.map(|s| json!(s))),
                    ],
                )
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn guards_never_change_an_answer(policy in policy(), requests in prop::collection::vec(request(), 1..16)) {
        let (indexed, unindexed) = common::indexed_and_unindexed(&policy)?;
        for r in requests {
            common::indexed_agrees(&indexed, &unindexed, &policy, &r)?;
        }
    }
}

/// The guards do their job: of the full-style set's global rules, only those a request
/// can still satisfy are tried, and a missing value keeps its rule.
#[test]
fn a_global_rule_whose_guard_is_false_is_not_tried() {
    let text = format!(
        "{PRELUDE}\
rule \"contractors off prod\" {{\n  when principal.role == \"contractor\" and resource.env == \"prod\"\n  deny\n}}\n\
rule \"unmanaged sensitive\" {{\n  when not device.managed and resource.sensitivity >= 4\n  deny\n}}\n\
rule \"quarantine\" {{\n  when network.ip in cidr [\"10.66.0.0/16\"]\n  deny\n}}\n\
rule \"sensitive needs approval\" {{\n  when resource.sensitivity >= 4 and risk >= 20\n  approve {{ approvers 1 of group \"security\" bind action ttl 2m }}\n}}\n\
rule \"reads\" {{\n  when action == \"db:read\" and device.managed\n  allow\n}}\n"
    );
    let (engine, plain) = common::indexed_and_unindexed(&text).unwrap();
    let req = json!({
        "action": "db:read",
        "principal": {"role": "dev"},
        "resource": {"env": "prod", "sensitivity": 2},
        "device": {"managed": true},
        "network": {"ip": "10.1.2.3"}
    });
    let bound = engine.bind(req.clone()).unwrap();
    assert_eq!(engine.rules_tried(&bound), 1, "only \"reads\"");
    assert_eq!(plain.rules_tried(&plain.bind(req).unwrap()), 5);
    assert_eq!(engine.decide(&bound).decision, writ_engine::Verdict::Allow);
    // Nothing about the device, the network or the sensitivity: every rule that reads
    // them is kept (their conjuncts are unknown, not false).
    let bare = engine
        .bind(json!({"action": "db:read", "principal": {"role": "dev"}}))
        .unwrap();
    assert_eq!(engine.rules_tried(&bare), 4);
}
