//! The tree below the action (`narrow`) must never change an answer: on random policy
//! sets with many rules per action — each rule requiring a resource kind, an environment,
//! a role or a group in its top-level conjunction, beside other tests, under exact
//! actions, patterns and no action at all — and random requests (attributes missing,
//! values the set never names, actions no rule names exactly), the indexed engine equals
//! the unindexed one and the reference interpreter, field for field, and never tries more
//! rules.

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
let internal = network.ip in cidr ["10.0.0.0/8"] and device.managed
"#;

const KINDS: [&str; 5] = ["table", "bucket", "queue", "secret", "job"];
const ROLES: [&str; 4] = ["dev", "ops", "admin", "analyst"];

fn quoted(v: &[&str]) -> String {
    v.iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One part of a rule's conjunction: an indexable requirement or another test.
fn part() -> BoxedStrategy<String> {
    prop_oneof![
        pick(&KINDS).prop_map(|k| format!("resource.kind == \"{k}\"")),
        pick(&KINDS).prop_map(|k| format!("\"{k}\" == resource.kind")),
        pick(&["prod", "staging", "dev"]).prop_map(|e| format!("resource.env == \"{e}\"")),
        prop::collection::vec(pick(&ROLES), 1..3)
            .prop_map(|v| format!("principal.role in [{}]", quoted(&v))),
        pick(&ROLES).prop_map(|r| format!("principal.role == \"{r}\"")),
        pick(&["g0", "g1", "g2"]).prop_map(|g| format!("principal.groups has \"{g}\"")),
        pick(&["g0", "g1", "g2"]).prop_map(|g| format!("\"{g}\" in principal.groups")),
        prop::collection::vec(pick(&["g0", "g1", "g2"]), 1..3)
            .prop_map(|v| format!("principal.groups has any [{}]", quoted(&v))),
        prop::collection::vec(pick(&["g0", "g1", "g2"]), 1..3)
            .prop_map(|v| format!("principal.groups has all [{}]", quoted(&v))),
        pick(&KINDS).prop_map(|k| format!("not resource.kind == \"{k}\"")),
        pick(&KINDS).prop_map(|k| format!("resource.kind != \"{k}\"")),
        (pick(&KINDS), pick(&KINDS))
            .prop_map(|(a, b)| format!("(resource.kind == \"{a}\" or resource.kind == \"{b}\")")),
        (1i64..5).prop_map(|s| format!("resource.sensitivity <= {s}")),
        Just("device.managed".to_string()),
        Just("internal".to_string()),
        Just("lower(resource.kind) == \"table\"".to_string()),
    ]
    .boxed()
}

fn action() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        6 => pick(&["a:read", "a:write", "b:read", "b:list"]).prop_map(|a| Some(format!("action == \"{a}\""))),
        1 => pick(&["a:*", "*:read", "b:*"]).prop_map(|g| Some(format!("action matches \"{g}\""))),
        1 => Just(None),
    ]
}

fn effect() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => Just("allow".to_string()),
        2 => Just("deny".to_string()),
        1 => Just("approve { approvers 1 of group \"owners\" bind action, resource.kind ttl 5m }".to_string()),
    ]
}

fn policy() -> impl Strategy<Value = String> {
    let rule = (action(), prop::collection::vec(part(), 0..4), effect());
    prop::collection::vec(rule, 6..48).prop_map(|rules| {
        let mut text = PRELUDE.to_string();
        for (i, (action, parts, eff)) in rules.iter().enumerate() {
            let mut all: Vec<String> = action.iter().cloned().collect();
            all.extend(parts.iter().cloned());
            let when = if all.is_empty() {
                String::new()
            } else {
                format!("\n  when {}", all.join(" and "))
            };
            text.push_str(&format!("rule \"r{i}\" {{{when}\n  {eff}\n}}\n"));
        }
        text
    })
}

fn request() -> impl Strategy<Value = Value> {
    (
        prop::option::weighted(
            0.9,
            pick(&[
                "a:read", "a:write", "b:read", "b:list", "a:other", "c:read", "zz",
            ]),
        ),
        prop::option::weighted(
            0.85,
            pick(&[
                "table", "bucket", "queue", "secret", "job", "TABLE", "other",
            ]),
        ),
        prop::option::weighted(0.85, pick(&["prod", "staging", "dev"])),
        prop::option::weighted(0.85, pick(&["dev", "ops", "admin", "analyst", "nobody"])),
        prop::option::weighted(
            0.85,
            prop::collection::vec(pick(&["g0", "g1", "g2", "g9"]), 0..3),
        ),
        prop::option::weighted(0.8, 0i64..6),
        prop::option::weighted(0.8, any::<bool>()),
        prop::option::weighted(0.8, pick(&["10.1.2.3", "192.0.2.1"])),
    )
        .prop_map(|(action, kind, env, role, groups, sens, managed, ip)| {
            common::request_of(
                &["resource", "principal"],
                [
                    ("action", action.map(|a| json!(a))),
                    ("resource.kind", kind.map(|k| json!(k))),
                    ("resource.env", env.map(|e| json!(e))),
                    ("resource.sensitivity", sens.map(|s| json!(s))),
                    ("principal.id", Some(json!("p1"))),
                    ("principal.role", role.map(|r| json!(r))),
                    ("principal.groups", groups.map(|g| json!(g))),
                    ("device.managed", managed.map(|m| json!(m))),
                    ("network.ip", ip.map(|i| json!(i))),
                ],
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn the_tree_never_changes_an_answer(policy in policy(), requests in prop::collection::vec(request(), 1..16)) {
        let (indexed, unindexed) = common::indexed_and_unindexed(&policy)?;
        for r in requests {
            common::indexed_agrees(&indexed, &unindexed, &policy, &r)?;
        }
    }
}

/// The tree does its job: on a set where every rule under an action names one of many
/// kinds, a request tries only the rules of its kind (and those that name none).
#[test]
fn a_request_tries_only_the_rules_of_its_kind() {
    let mut text = String::from("schema {\n  principal.role: string\n}\n");
    for i in 0..60 {
        text.push_str(&format!(
            "rule \"r{i}\" {{\n  when action == \"db:read\" and resource.kind == \"k{}\" and principal.role == \"dev\"\n  allow\n}}\n",
            i % 20
        ));
    }
    text.push_str("rule \"any kind\" {\n  when action == \"db:read\" and principal.role == \"ops\"\n  allow\n}\n");
    let (engine, _) = common::indexed_and_unindexed(&text).unwrap();
    let req = engine
        .bind(
            json!({"action": "db:read", "resource": {"kind": "k3"}, "principal": {"role": "dev"}}),
        )
        .unwrap();
    // Three rules name k3 ("r3", "r23", "r43"); "any kind" names none. The role is not
    // worth a split (60 of 61 rules require `dev`), so "any kind" is tried too.
    assert_eq!(engine.rules_tried(&req), 4);
    assert_eq!(engine.decide(&req).decision, writ_engine::Verdict::Allow);
    let missing = engine
        .bind(json!({"action": "db:read", "principal": {"role": "dev"}}))
        .unwrap();
    assert_eq!(
        engine.rules_tried(&missing),
        61,
        "a missing kind keeps every rule"
    );
    let tree = engine.tree("db:read");
    assert!(tree.contains("split on resource.kind (string)"), "{tree}");
    assert!(
        tree.contains("resource.kind == \"k3\": \"r3\", \"r23\", \"r43\""),
        "{tree}"
    );
}
