//! The compiled decision tree must never change an answer: on random policy sets and
//! random requests (attributes present or missing, so three-valued logic is exercised),
//! `Engine::decide` (action index, shared memoised predicates, interned strings, CIDR
//! ranges, hour bitmaps, CEL last) equals the reference interpreter behind
//! `Engine::explain`, field for field. The sets use the 1.1 additions too: instants and
//! their arithmetic, `present`, `lower`, named conditions (declared in any order),
//! approver groups read from the request and elevation.

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
use writ_engine::Engine;

const PRELUDE: &str = r#"
schema {
  resource.env: "prod" | "staging" | "dev"
  resource.sensitivity: int
  request.params.amount: number
  request.params.added_at: time
  resource.admin_group: string
}
let trusted = internal or principal.kind == "human"
let internal = network.ip in corp and device.managed
let fresh = time - request.params.added_at < 24h
let corp = cidr ["10.0.0.0/8", "192.168.0.0/16", "fd00::/8"]
let office = hours "Mon-Fri 08:00-18:00, Sat 22:00-02:00" in "Europe/Berlin"
let admin_scopes = ["db.admin", "db.drop"]
"#;

fn atom(in_rule: bool) -> BoxedStrategy<String> {
    let mut choices: Vec<BoxedStrategy<String>> = vec![
        Just("device.managed".to_string()).boxed(),
        Just("device.disk_encrypted".to_string()).boxed(),
        (1u32..60)
            .prop_map(|d| format!("device.patch_age > {d}d"))
            .boxed(),
        Just("network.ip in corp".to_string()).boxed(),
        pick(&["10.0.0.0/16", "203.0.113.0/24", "2001:db8::/32"])
            .prop_map(|c| format!("network.ip in cidr [\"{c}\"]"))
            .boxed(),
        pick(&["g0", "g1", "g2", "g3"])
            .prop_map(|g| format!("principal.groups has \"{g}\""))
            .boxed(),
        pick(&["g0", "g1", "g2"])
            .prop_map(|g| format!("\"{g}\" in principal.groups"))
            .boxed(),
        prop::collection::vec(pick(&["g0", "g1", "g2", "g3"]), 0..3)
            .prop_map(|v| format!("principal.groups has any [{}]", quoted(&v)))
            .boxed(),
        prop::collection::vec(pick(&["g0", "g1", "g2", "g3"]), 0..3)
            .prop_map(|v| format!("principal.groups has all [{}]", quoted(&v)))
            .boxed(),
        prop::collection::vec(pick(&["db.read", "db.write", "db.admin"]), 0..3)
            .prop_map(|v| format!("scope.requested within [{}]", quoted(&v)))
            .boxed(),
        Just("scope.requested has any admin_scopes".to_string()).boxed(),
        Just("scope.requested within scope.granted".to_string()).boxed(),
        pick(&["human", "workload", "agent"])
            .prop_map(|k| format!("principal.kind == \"{k}\""))
            .boxed(),
        pick(&["a0", "a1", "a2", "b.x", "b.y"])
            .prop_map(|a| format!("action == \"{a}\""))
            .boxed(),
        prop::collection::vec(pick(&["a0", "a1", "a2", "b.x"]), 1..3)
            .prop_map(|v| format!("action in [{}]", quoted(&v)))
            .boxed(),
        pick(&["a*", "b.*", "*x", "a1"])
            .prop_map(|g| format!("action matches \"{g}\""))
            .boxed(),
        pick(&["prod", "staging", "dev"])
            .prop_map(|e| format!("resource.env != \"{e}\""))
            .boxed(),
        (0i64..5)
            .prop_map(|n| format!("resource.sensitivity >= {n}"))
            .boxed(),
        (0u32..200)
            .prop_map(|n| format!("request.params.amount > {n}.5"))
            .boxed(),
        (0i64..200)
            .prop_map(|n| format!("request.params.amount <= {n}"))
            .boxed(),
        Just("time in office".to_string()).boxed(),
        pick(&["otp", "sms", "webauthn"])
            .prop_map(|m| format!("session.auth_method in [\"{m}\", \"email\"]"))
            .boxed(),
        Just("principal.id == principal.on_behalf_of".to_string()).boxed(),
        Just("cel(\"request.params.amount > 100.0 || principal.kind == 'agent'\")".to_string())
            .boxed(),
        pick(&[
            "request.params.amount",
            "device.managed",
            "network.ip",
            "principal.groups",
            "request.params",
            "request.params.added_at",
        ])
        .prop_map(|p| format!("present({p})"))
        .boxed(),
        pick(&["a0", "b.x", "A0"])
            .prop_map(|a| format!("lower(action) == \"{a}\""))
            .boxed(),
        Just("lower(action) in [\"a0\", \"b.y\"]".to_string()).boxed(),
        Just("lower(action) matches \"b.*\"".to_string()).boxed(),
        Just("lower(principal.id) == principal.on_behalf_of".to_string()).boxed(),
        (0u32..72)
            .prop_map(|h| format!("time - request.params.added_at < {h}h"))
            .boxed(),
        (0u32..72)
            .prop_map(|h| format!("request.params.added_at + {h}h >= time"))
            .boxed(),
        (0u32..3)
            .prop_map(|d| format!("time - {d}d - 1h > request.params.added_at"))
            .boxed(),
        Just("device.patch_age + 1d <= 30d".to_string()).boxed(),
        pick(&["fresh", "internal", "trusted", "not fresh"])
            .prop_map(str::to_string)
            .boxed(),
    ];
    if in_rule {
        choices.push((0u32..100).prop_map(|n| format!("risk < {n}")).boxed());
    }
    prop::strategy::Union::new(choices).boxed()
}

fn quoted(v: &[&str]) -> String {
    v.iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn expr(in_rule: bool) -> impl Strategy<Value = String> {
    atom(in_rule).prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} and {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} or {b})")),
            // Three parts: the middle one exercises the bytecode's mid-part jumps.
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(a, b, c)| format!("({a} and {b} and {c})")),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(a, b, c)| format!("({a} or {b} or {c})")),
            inner.prop_map(|a| format!("not ({a})")),
        ]
    })
}

fn effect() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("allow".to_string()),
        pick(&["5m", "15m", "1h"]).prop_map(|d| format!("allow for {d}")),
        Just("deny".to_string()),
        pick(&["no", "never"]).prop_map(|m| format!("deny \"{m}\"")),
        (1u32..3, pick(&["owners", "treasury"]), pick(&["otp", "signature", "webauthn", "phishing_resistant"]), pick(&["2m", "5m"]))
            .prop_map(|(n, g, m, t)| format!("approve {{ approvers {n} of group \"{g}\" method {m} bind action, request.params ttl {t} }}")),
        (pick(&["", "for 30m ", "for 2h "]), 1u32..3)
            .prop_map(|(f, n)| format!("approve {f}{{ approvers {n} of group resource.admin_group bind principal.id, session.id }}")),
        pick(&["", "for 1h "])
            .prop_map(|f| format!("approve {f}{{ approvers 1 of group \"owners\" approvers 1 of group resource.admin_group }}")),
    ]
}

fn policy() -> impl Strategy<Value = String> {
    let signals = prop::collection::vec((1u32..60, expr(false)), 0..4);
    let rules = prop::collection::vec((expr(true), effect(), any::<bool>()), 1..10);
    (signals, rules).prop_map(|(signals, rules)| {
        let mut text = PRELUDE.to_string();
        text.push_str("risk {\n");
        for (i, (p, e)) in signals.iter().enumerate() {
            text.push_str(&format!("  +{p} \"s{i}\" when {e}\n"));
        }
        text.push_str("}\n");
        for (i, (cond, eff, obl)) in rules.iter().enumerate() {
            let obligations = if *obl {
                "\n  obligations record_session, review(24h)"
            } else {
                ""
            };
            text.push_str(&format!(
                "rule \"r{i}\" {{\n  when {cond}\n  {eff}{obligations}\n}}\n"
            ));
        }
        text
    })
}

fn maybe(v: Value) -> impl Strategy<Value = Option<Value>> {
    prop::option::weighted(0.8, Just(v))
}

fn request() -> impl Strategy<Value = Value> {
    let scalars = (
        prop::option::weighted(
            0.85,
            pick(&["a0", "a1", "a2", "b.x", "b.y", "c", "A0", "B.Y"]),
        ),
        prop::option::weighted(0.8, any::<bool>()),
        prop::option::weighted(0.8, any::<bool>()),
        prop::option::weighted(0.8, 0u64..90 * 86400),
        prop::option::weighted(
            0.8,
            pick(&[
                "10.1.2.3",
                "192.168.9.9",
                "203.0.113.7",
                "2001:db8::1",
                "fd00::5",
                "::ffff:10.0.0.1",
                "8.8.8.8",
            ]),
        ),
        prop::option::weighted(0.8, pick(&["human", "workload", "agent"])),
    );
    let more = (
        prop::option::weighted(
            0.8,
            prop::collection::vec(pick(&["g0", "g1", "g2", "g3", "other"]), 0..4),
        ),
        prop::option::weighted(
            0.8,
            prop::collection::vec(pick(&["db.read", "db.write", "db.admin", "x"]), 0..3),
        ),
        prop::option::weighted(
            0.7,
            prop::collection::vec(pick(&["db.read", "db.write", "db.admin"]), 0..3),
        ),
        prop::option::weighted(0.8, pick(&["prod", "staging", "dev"])),
        prop::option::weighted(0.8, 0i64..6),
        prop::option::weighted(
            0.8,
            prop_oneof![
                (0i64..300).prop_map(Value::from),
                (0u32..30000).prop_map(|c| json!(f64::from(c) / 100.0))
            ],
        ),
    );
    let rest = (
        prop::option::weighted(0.9, 0i64..(14 * 86400)),
        prop::option::weighted(0.8, pick(&["otp", "sms", "webauthn", "password"])),
        prop::option::weighted(0.8, pick(&["alice", "bob"])),
        prop::option::weighted(0.5, pick(&["alice", "carol"])),
        prop::option::weighted(0.7, -3 * 86400i64..3 * 86400),
        prop::option::weighted(0.7, pick(&["admins-a", "owners", ""])),
    );
    (scalars, more, rest).prop_flat_map(
        |(
            (action, managed, enc, patch, ip, kind),
            (groups, requested, granted, env, sens, amount),
            (t, method, id, obo, added, admin_group),
        )| {
            let mut r = Map::new();
            let mut put = |path: &str, v: Option<Value>| {
                if let Some(v) = v {
                    let mut cur = &mut r;
                    let segs: Vec<&str> = path.split('.').collect();
                    for s in &segs[..segs.len() - 1] {
                        cur = cur
                            .entry(s.to_string())
                            .or_insert_with(|| json!({}))
                            .as_object_mut()
                            .unwrap();
                    }
                    cur.insert(segs[segs.len() - 1].to_string(), v);
                }
            };
            put("action", action.map(Value::from));
            put("device.managed", managed.map(Value::from));
            put("device.disk_encrypted", enc.map(Value::from));
            put("device.patch_age", patch.map(Value::from));
            put("network.ip", ip.map(Value::from));
            put("principal.kind", kind.map(Value::from));
            put("principal.groups", groups.map(|g| json!(g)));
            put("scope.requested", requested.map(|g| json!(g)));
            put("scope.granted", granted.map(|g| json!(g)));
            put("resource.env", env.map(Value::from));
            put("resource.sensitivity", sens.map(Value::from));
            put("request.params.amount", amount);
            // Around a week starting Monday 2026-11-23, in and out of the Berlin windows and
            // across the Saturday-night window that runs into Sunday.
            put(
                "time",
                t.map(|s| {
                    Value::from(
                        jiff::Timestamp::from_second(1_763_852_400 + s)
                            .unwrap()
                            .to_string(),
                    )
                }),
            );
            put("session.auth_method", method.map(Value::from));
            put("principal.id", id.map(Value::from));
            put("principal.on_behalf_of", obo.map(Value::from));
            // Payees added around the request times, before and after them.
            put(
                "request.params.added_at",
                added.map(|s| {
                    Value::from(
                        jiff::Timestamp::from_second(1_763_852_400 + 7 * 86400 / 2 + s)
                            .unwrap()
                            .to_string(),
                    )
                }),
            );
            put("resource.admin_group", admin_group.map(Value::from));
            maybe(Value::Object(r)).prop_map(|o| o.unwrap_or_else(|| json!({})))
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn compiled_tree_equals_reference(policy in policy(), requests in prop::collection::vec(request(), 1..12)) {
        let set = common::checked("p.writ", &policy).map_err(TestCaseError::fail)?;
        let engine = Engine::new(set);
        for r in requests {
            let req = engine.bind(r.clone()).map_err(|e| TestCaseError::fail(format!("{e}: {r}")))?;
            let fast = engine.decide(&req);
            let slow = engine.explain(&req).decision;
            prop_assert_eq!(&fast, &slow, "policy:\n{}\nrequest: {}", policy, r);
            common::borrowed_agrees(&engine, &req, &fast)?;
        }
    }
}

/// A condition nested `depth` levels, alternating `and` and `or`, with a `not` every fifth
/// level: deeper than the bytecode's accumulator register (31 levels), so its innermost
/// parts go through the tree walker.
fn deep(depth: usize, offset: usize) -> String {
    const ATOMS: [&str; 7] = [
        "device.managed",
        "principal.kind == \"human\"",
        "network.ip in corp",
        "resource.sensitivity >= 2",
        "\"g1\" in principal.groups",
        "time in office",
        "device.disk_encrypted",
    ];
    let mut text = ATOMS[offset % ATOMS.len()].to_string();
    for level in 1..=depth {
        let atom = ATOMS[(level + offset) % ATOMS.len()];
        let op = if level % 2 == 0 { "and" } else { "or" };
        text = format!("({atom} {op} {text})");
        if level % 5 == 0 {
            text = format!("not {text}");
        }
    }
    text
}

/// Policies for the paths the bytecode adds: short-circuit jumps over nested parts, parts
/// nested beyond the accumulator register, predicates shared by many rules (memoised) and
/// not, and rules pinned to their action (entered past that conjunct through the index).
fn bytecode_policies() -> Vec<String> {
    let mut deep_set = PRELUDE.to_string();
    deep_set.push_str(&format!(
        "risk {{\n  +40 \"deep\" when {}\n}}\n",
        deep(36, 3)
    ));
    for (i, effect) in [
        "allow",
        "deny",
        "allow",
        "approve { approvers 1 of group \"owners\" }",
    ]
    .iter()
    .enumerate()
    {
        deep_set.push_str(&format!(
            "rule \"d{i}\" {{\n  when action == \"a{}\" and {}\n  {effect}\n}}\n",
            i % 3,
            deep(33 + i, i)
        ));
    }
    deep_set.push_str(&format!(
        "rule \"d9\" {{\n  when {} and risk < 50\n  allow\n}}\n",
        deep(40, 5)
    ));

    let mut shared = PRELUDE.to_string();
    shared.push_str("let is_a1 = action == \"a1\"\n");
    shared.push_str(
        "risk {\n  +30 \"off\" when not (network.ip in corp)\n  +30 \"late\" when not (time in office)\n}\n",
    );
    let pins = [
        "action == \"a0\"",
        "action in [\"a0\", \"a1\", \"b.x\"]",
        "action matches \"b.*\"",
        "action matches \"a2\"",
        "is_a1",
        "action == \"A0\"",
    ];
    let rests = [
        "device.managed and network.ip in corp",
        "(network.ip in corp or principal.kind == \"human\") and time in office",
        "principal.groups has \"g1\" and not device.disk_encrypted",
        "(time in office and device.managed) or resource.env != \"prod\"",
        "risk < 40 and (network.ip in cidr [\"10.0.0.0/16\"] or scope.requested within scope.granted)",
        "present(request.params.amount) and request.params.amount > 100.5",
        "(device.managed or principal.kind == \"human\" or \"g1\" in principal.groups) and (resource.sensitivity >= 2 or time in office or not device.disk_encrypted)",
        "((device.managed or principal.kind == \"human\" or network.ip in corp) and (resource.env != \"prod\" or time in office or \"g2\" in principal.groups) and device.disk_encrypted) or risk < 20",
        "((device.managed and principal.kind == \"human\" and network.ip in corp) or (resource.env != \"prod\" and time in office and \"g2\" in principal.groups) or device.disk_encrypted) and present(principal.groups)",
    ];
    let effects = [
        "allow",
        "allow for 15m",
        "deny \"no\"",
        "approve { approvers 1 of group \"owners\" bind action, request.params }",
    ];
    let mut n = 0;
    for (p, pin) in pins.iter().enumerate() {
        for (r, rest) in rests.iter().enumerate() {
            let effect = effects[(p + r) % effects.len()];
            // The pin first, last, and alone.
            shared.push_str(&format!(
                "rule \"s{n}\" {{\n  when {pin} and {rest}\n  {effect}\n}}\n"
            ));
            n += 1;
            if r % 2 == 0 {
                shared.push_str(&format!(
                    "rule \"s{n}\" {{\n  when {rest} and {pin}\n  {effect}\n}}\n"
                ));
                n += 1;
            }
        }
        shared.push_str(&format!("rule \"s{n}\" {{\n  when {pin}\n  allow\n}}\n"));
        n += 1;
    }
    shared.push_str(
        "rule \"g\" {\n  when device.managed == false or not present(device.managed)\n  deny\n}\n",
    );
    vec![deep_set, shared]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn bytecode_paths_equal_reference(requests in prop::collection::vec(request(), 1..16)) {
        for policy in bytecode_policies() {
            let set = common::checked("p.writ", &policy).map_err(TestCaseError::fail)?;
            let engine = Engine::new(set);
            for r in &requests {
                let req = engine.bind(r.clone()).map_err(|e| TestCaseError::fail(format!("{e}: {r}")))?;
                let fast = engine.decide(&req);
                let slow = engine.explain(&req).decision;
                prop_assert_eq!(&fast, &slow, "policy:\n{}\nrequest: {}", policy, r);
            }
        }
    }
}
