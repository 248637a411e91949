//! The compact copy of a bound request's slots that a decision reads (four words a slot, the
//! first 16 slots inline, the rest on the heap; sets' ids and IPv6 words after the inline
//! slots while they fit, else on the heap; instants as floor seconds), probed from outside:
//! `Engine::decide` (bytecode, action index, narrowing: the compact copy) must equal the
//! reference interpreter behind `Engine::explain` (the full slots) on sets that read more
//! than 16 paths in any order, with edge values — ints past 32 bits and negative, numbers
//! with a fraction and `-0.0`, durations past `i64::MAX` seconds, IPv4-mapped and other
//! IPv6 addresses, empty and spilling sets, instants before 1970 with a fraction and outside
//! the zone tables — bound from text, from a value and by the builder, moved by
//! `Engine::at_time` and re-bound for another version of the set.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::sync::Arc;

use common::pick;
use proptest::prelude::*;
use serde_json::{json, Value};
use writ_engine::{Engine, Request};

/// What a path holds.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Action,
    Str,
    Enum,
    Int,
    Num,
    Bool,
    Dur,
    Ip,
    Time,
    Set,
}

/// Every path the sets may read (23: more than the 16 inline slots), and its kind.
const PATHS: &[(&str, Kind)] = &[
    ("action", Kind::Action),
    ("time", Kind::Time),
    ("network.ip", Kind::Ip),
    ("resource.ip6", Kind::Ip),
    ("resource.peer", Kind::Ip),
    ("device.patch_age", Kind::Dur),
    ("resource.wait", Kind::Dur),
    ("resource.n", Kind::Int),
    ("resource.m", Kind::Int),
    ("resource.x", Kind::Num),
    ("device.managed", Kind::Bool),
    ("request.break_glass", Kind::Bool),
    ("resource.env", Kind::Enum),
    ("principal.groups", Kind::Set),
    ("scope.requested", Kind::Set),
    ("resource.tags", Kind::Set),
    ("resource.t", Kind::Time),
    ("resource.since", Kind::Time),
    ("resource.f0", Kind::Str),
    ("resource.f1", Kind::Str),
    ("resource.f2", Kind::Str),
    ("resource.f3", Kind::Str),
    ("resource.f4", Kind::Str),
];

/// The last path every set reads: the guard of the rule that fixes the slots' order.
const LAST: &str = "resource.owner";

const PRELUDE: &str = r#"
schema {
  resource.ip6: ip
  resource.peer: ip
  resource.wait: duration
  resource.n: int
  resource.m: int
  resource.x: number
  resource.env: "prod" | "staging" | "dev"
  resource.tags: set
  resource.t: time
  resource.since: time
  resource.owner: string
  resource.f0: string
  resource.f1: string
  resource.f2: string
  resource.f3: string
  resource.f4: string
  resource.f5: string
}
let corp = cidr ["10.0.0.0/8", "192.168.0.0/16", "fd00::/8"]
let office = hours "Mon-Fri 08:00-18:00" in "Europe/Berlin"
let late = hours "Sat 22:00-02:00, Wed 23:59-24:00" in "Europe/Berlin"
"#;

/// The strings a set's members are drawn from, all constants of the set (45 ids: a request
/// set of them spills past the inline words).
fn vocab() -> Vec<String> {
    (0..45).map(|i| format!("g{i}")).collect()
}

fn quoted<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(|s| format!("\"{}\"", s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The rule that reads `order` first, in that order, then [`LAST`]: the slots are laid out
/// in this order. It never fires (no request sends `resource.owner == "nobody"`).
fn order_rule(order: &[&str]) -> String {
    let all = quoted(&vocab());
    let parts: Vec<String> = order
        .iter()
        .map(|&p| match kind(p) {
            Kind::Set => format!("{p} has any [{all}]"),
            _ => format!("present({p})"),
        })
        .collect();
    format!(
        "rule \"order\" {{\n  when {} and {LAST} == \"nobody\"\n  allow\n}}\n",
        parts.join(" and ")
    )
}

fn kind(path: &str) -> Kind {
    PATHS
        .iter()
        .find(|(p, _)| *p == path)
        .map_or(Kind::Str, |(_, k)| *k)
}

const INTS: &[&str] = &[
    "0",
    "1",
    "-1",
    "5",
    "-5",
    "4294967295",
    "4294967296",
    "-4294967295",
    "-4294967296",
    "9007199254740991",
    "-9007199254740991",
];

const DURS: &[&str] = &["0s", "1s", "30d", "106751991167300d", "106751991167301d"];

const CIDRS: &[&str] = &[
    "\"10.0.0.0/8\"",
    "\"10.0.0.0/8\", \"fd00::/8\"",
    "\"2001:db8::/32\"",
    "\"0.0.0.0/0\"",
    "\"::/96\"",
    "\"64:ff9b::/96\"",
    "\"255.255.255.255/32\", \"ffff:ffff::/32\"",
    "\"::/0\"",
];

const WINDOWS: &[&str] = &[
    "office",
    "late",
    "hours \"Mon-Fri 08:00-18:00\" in \"America/St_Johns\"",
    "hours \"Thu 00:00-00:01\" in \"UTC\"",
    "hours \"Wed 23:59-24:00\" in \"UTC\"",
    "hours \"Mon 00:00-12:00\" in \"Europe/Amsterdam\"",
    "hours \"Sun 23:00-01:00\" in \"Asia/Kolkata\"",
    "hours \"Mon-Sun 00:00-00:01\" in \"Pacific/Chatham\"",
];

const CMPS: &[&str] = &[">", ">=", "<", "<=", "==", "!="];

/// A test of `path` that the bytecode runs (an inline leaf) or the predicates do.
fn atom_of(path: &'static str) -> BoxedStrategy<String> {
    let p = path;
    let present = Just(format!("present({p})")).boxed();
    let own: BoxedStrategy<String> = match kind(path) {
        Kind::Action => prop_oneof![
            (0..4u32).prop_map(|i| format!("action == \"a{i}\"")),
            (0..4u32).prop_map(|i| format!("action != \"a{i}\"")),
            Just("action in [\"a0\", \"a2\", \"b.x\"]".to_string()),
            Just("action matches \"b.*\"".to_string()),
        ]
        .boxed(),
        Kind::Str => prop_oneof![
            (0..3u32).prop_map(move |i| format!("{p} == \"v{i}\"")),
            (0..3u32).prop_map(move |i| format!("{p} != \"v{i}\"")),
            Just(format!("{p} in [\"v0\", \"v2\"]")),
        ]
        .boxed(),
        Kind::Enum => pick(&["prod", "staging", "dev"])
            .prop_flat_map(move |e| {
                prop_oneof![
                    Just(format!("{p} == \"{e}\"")),
                    Just(format!("{p} != \"{e}\""))
                ]
            })
            .boxed(),
        Kind::Int => (pick(CMPS), pick(INTS))
            .prop_map(move |(op, c)| format!("{p} {op} {c}"))
            .boxed(),
        Kind::Num => (
            pick(CMPS),
            pick(&[INTS, &["2.5", "-0.5", "0.0", "-0.0", "4294967296.5"]].concat()),
        )
            .prop_map(move |(op, c)| format!("{p} {op} {c}"))
            .boxed(),
        Kind::Bool => prop_oneof![
            Just(p.to_string()),
            Just(format!("not {p}")),
            Just(format!("{p} == false")),
        ]
        .boxed(),
        Kind::Dur => (pick(CMPS), pick(DURS))
            .prop_map(move |(op, c)| format!("{p} {op} {c}"))
            .boxed(),
        Kind::Ip => prop_oneof![
            pick(CIDRS).prop_map(move |c| format!("{p} in cidr [{c}]")),
            Just(format!("{p} in corp")),
            Just(format!("{p} not in corp")),
        ]
        .boxed(),
        Kind::Time => pick(WINDOWS)
            .prop_map(move |w| format!("{p} in {w}"))
            .boxed(),
        Kind::Set => prop_oneof![
            (0..45u32).prop_map(move |i| format!("{p} has \"g{i}\"")),
            (0..45u32).prop_map(move |i| format!("\"g{i}\" in {p}")),
            prop::collection::vec(0..45u32, 0..3).prop_map(move |v| format!(
                "{p} has any [{}]",
                quoted(&v.iter().map(|i| format!("g{i}")).collect::<Vec<_>>())
            )),
            prop::collection::vec(0..45u32, 0..3).prop_map(move |v| format!(
                "{p} has all [{}]",
                quoted(&v.iter().map(|i| format!("g{i}")).collect::<Vec<_>>())
            )),
        ]
        .boxed(),
    };
    prop_oneof![1 => present, 6 => own].boxed()
}

/// A condition over `paths`.
fn expr(paths: Vec<&'static str>) -> impl Strategy<Value = String> {
    let atoms: Vec<BoxedStrategy<String>> = paths.into_iter().map(atom_of).collect();
    prop::strategy::Union::new(atoms).prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} and {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} or {b})")),
            inner.prop_map(|a| format!("not ({a})")),
        ]
    })
}

fn effect() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("allow".to_string()),
        Just("allow for 15m".to_string()),
        Just("deny".to_string()),
        Just("deny \"no\"".to_string()),
    ]
}

/// A policy reading `order` (then [`LAST`]) in that order, with rules over those paths:
/// some pinned to an action and split on a string or a set (the action index and the
/// narrowing), some global, and risk signals.
fn policy_text(
    order: &[&str],
    rules: &[(String, String, Option<String>)],
    signals: &[String],
) -> String {
    let mut text = PRELUDE.to_string();
    text.push_str(&order_rule(order));
    text.push_str("risk {\n");
    for (i, s) in signals.iter().enumerate() {
        text.push_str(&format!("  +{} \"s{i}\" when {s}\n", 20 + 10 * i));
    }
    text.push_str("}\n");
    for (i, (cond, effect, pin)) in rules.iter().enumerate() {
        let when = match pin {
            Some(pin) => format!("{pin} and {cond}"),
            None => cond.clone(),
        };
        text.push_str(&format!(
            "rule \"r{i}\" {{\n  when {when}\n  {effect}\n}}\n"
        ));
    }
    text
}

/// The pins that make the action index and the narrowing split rules: an action and a
/// string or set attribute among `order`.
fn pins(order: Vec<&'static str>) -> impl Strategy<Value = Option<String>> {
    let splits: Vec<String> = order
        .iter()
        .filter_map(|&p| match kind(p) {
            Kind::Str => Some(format!("{p} == \"v1\"")),
            Kind::Enum => Some(format!("{p} == \"prod\"")),
            Kind::Set => Some(format!("{p} has \"g3\"")),
            _ => None,
        })
        .collect();
    let splits = if splits.is_empty() {
        vec!["true".to_string()]
    } else {
        splits
    };
    prop::option::weighted(
        0.7,
        (pick(&["a0", "a1", "b.x"]), pick(&splits))
            .prop_map(|(a, s)| format!("action == \"{a}\" and {s}")),
    )
}

fn policy() -> impl Strategy<Value = (Vec<&'static str>, String, String)> {
    let all: Vec<&'static str> = PATHS.iter().map(|(p, _)| *p).collect();
    (Just(all).prop_shuffle(), 3..=PATHS.len()).prop_flat_map(|(order, take)| {
        let order: Vec<&'static str> = order[..take].to_vec();
        let rule = (expr(order.clone()), effect(), pins(order.clone()));
        (
            Just(order.clone()),
            prop::collection::vec(rule, 1..14),
            prop::collection::vec(expr(order), 0..3),
        )
            .prop_map(|(order, rules, signals)| {
                let text = policy_text(&order, &rules, &signals);
                // Another version of the set: the same rules over the paths in reverse order.
                let mut reversed = order.clone();
                reversed.reverse();
                let other = policy_text(&reversed, &rules, &signals);
                (order, text, other)
            })
    })
}

const IPS: &[&str] = &[
    "10.1.2.3",
    "0.0.0.0",
    "255.255.255.255",
    "192.168.9.9",
    "8.8.8.8",
    "::ffff:10.0.0.1",
    "::ffff:255.255.255.255",
    "::ffff:8.8.8.8",
    "::10.0.0.1",
    "::ffff:0:10.0.0.1",
    "64:ff9b::10.0.0.1",
    "2001:db8::1",
    "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
    "2001:db9::",
    "fd00::5",
    "::",
    "::1",
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "1:2:3:4:5:6:7:8",
];

/// Instants at the edges: before 1970 with a fraction (floor, not truncation, decides the
/// minute), at the zone tables' ends (1970, 2200), across Berlin's DST changes, the
/// extremes jiff accepts, and other offsets.
const TIMES: &[&str] = &[
    "1969-12-31T23:59:59.5Z",
    "1969-12-31T23:59:59.999999999Z",
    "1969-12-31T23:59:00Z",
    "1970-01-01T00:00:00Z",
    "1970-01-01T00:00:59.999Z",
    "1969-12-29T06:59:59.5Z",
    "1969-12-29T07:00:00Z",
    "1969-12-28T23:59:59.25Z",
    "1960-02-01T06:59:59.5Z",
    "1900-01-01T11:39:59.5Z",
    "1890-06-02T10:59:59.5Z",
    "0001-01-01T00:00:00.5Z",
    "2026-03-29T00:59:59.5Z",
    "2026-03-29T01:00:00Z",
    "2026-10-25T00:59:59.5Z",
    "2026-10-25T01:00:00.5Z",
    "2026-11-23T07:00:00Z",
    "2026-11-23T06:59:59.999Z",
    "2026-11-28T21:00:00.5Z",
    "2199-12-31T23:59:59.5Z",
    "2200-01-01T00:00:00Z",
    "2200-01-06T06:59:59.5Z",
    "2230-03-26T00:59:59.5Z",
    "2230-07-02T06:00:00.5Z",
    "9999-12-30T22:00:00.999999999Z",
    "-009999-01-02T01:59:59Z",
    "2026-11-23T08:00:00.5+01:00",
    "1969-12-31T23:59:59.5-03:30",
];

fn time_value() -> impl Strategy<Value = String> {
    prop_oneof![
        pick(TIMES).prop_map(str::to_string),
        (
            -3_000_000_000i64..8_000_000_000,
            prop_oneof![
                Just(0i64),
                Just(500_000_000),
                Just(999_999_999),
                0..1_000_000_000i64
            ]
        )
            .prop_map(|(s, n)| {
                jiff::Timestamp::from_nanosecond(i128::from(s) * 1_000_000_000 + i128::from(n))
                    .unwrap()
                    .to_string()
            }),
    ]
}

fn set_value() -> impl Strategy<Value = Value> {
    let words: Vec<String> = vocab()
        .into_iter()
        .chain(["other".to_string(), "g45".to_string()])
        .collect();
    prop_oneof![
        1 => Just(json!([])),
        3 => prop::collection::vec(pick(&words), 1..4).prop_map(|v| json!(v)),
        2 => prop::collection::vec(pick(&words), 20..48).prop_map(|v| json!(v)),
    ]
}

fn value_of(k: Kind) -> BoxedStrategy<Value> {
    match k {
        Kind::Action => pick(&["a0", "a1", "a2", "a3", "b.x", "b.y", "c"])
            .prop_map(Value::from)
            .boxed(),
        Kind::Str => pick(&["v0", "v1", "v2", "w"]).prop_map(Value::from).boxed(),
        Kind::Enum => pick(&["prod", "staging", "dev"])
            .prop_map(Value::from)
            .boxed(),
        Kind::Int => prop_oneof![
            pick(INTS).prop_map(|c| Value::from(c.parse::<i64>().unwrap())),
            (-9_007_199_254_740_991i64..=9_007_199_254_740_991).prop_map(Value::from),
        ]
        .boxed(),
        Kind::Num => prop_oneof![
            pick(INTS).prop_map(|c| Value::from(c.parse::<i64>().unwrap())),
            pick(NUM_VALUES).prop_map(|n| json!(n)),
        ]
        .boxed(),
        Kind::Bool => any::<bool>().prop_map(Value::from).boxed(),
        Kind::Dur => prop_oneof![
            pick(&[0i64, 1, 2_592_000, 2_592_001, 4_294_967_296]).prop_map(Value::from),
            pick(&[
                "0s",
                "30d",
                "9223372036854775807s",
                "9223372036854775808s",
                "9223372036854806400s",
                "18446744073709551615s",
                "4294967296s",
            ])
            .prop_map(Value::from),
        ]
        .boxed(),
        Kind::Ip => pick(IPS).prop_map(Value::from).boxed(),
        Kind::Time => time_value().prop_map(Value::from).boxed(),
        Kind::Set => set_value().boxed(),
    }
}

/// A request carrying each path with probability 0.8.
fn request() -> impl Strategy<Value = Value> {
    let fields: Vec<BoxedStrategy<Option<Value>>> = PATHS
        .iter()
        .map(|(_, k)| prop::option::weighted(0.8, value_of(*k)).boxed())
        .collect();
    fields.prop_map(|values| {
        let mut root = json!({});
        for ((path, _), v) in PATHS.iter().zip(values) {
            if let Some(v) = v {
                let segs: Vec<&str> = path.split('.').collect();
                common::put(&mut root, &segs, v);
            }
        }
        root
    })
}

fn fixed(e: Engine) -> Engine {
    let t: jiff::Timestamp = "2026-11-27T09:00:00Z".parse().unwrap();
    e.with_clock(Arc::new(move || t))
}

fn engine(policy: &str) -> Result<Engine, TestCaseError> {
    let set = common::checked("p.writ", policy).map_err(TestCaseError::fail)?;
    Ok(fixed(Engine::new(set)))
}

/// The leaves of a request, each at its dotted path.
fn leaves(v: &Value, at: &str, out: &mut Vec<(String, Value)>) {
    match v {
        // An empty object carries no value (the request `{}` has no leaves).
        Value::Object(m) => {
            for (k, v) in m {
                let path = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                leaves(v, &path, out);
            }
        }
        other => out.push((at.to_string(), other.clone())),
    }
}

/// `request` built value by value with the typed builder.
fn built(engine: &Engine, request: &Value) -> Request {
    let mut out = Vec::new();
    leaves(request, "", &mut out);
    let mut b = engine.request();
    for (path, v) in &out {
        b = match v {
            Value::String(s) => b.str(path, s),
            Value::Bool(x) => b.bool(path, *x),
            Value::Number(n) => match n.as_i64() {
                Some(i) => b.int(path, i),
                None => b.num(path, n.as_f64().unwrap()),
            },
            Value::Array(items) => b.strs(path, items.iter().map(|s| s.as_str().unwrap())),
            other => b.json(path, other.clone()),
        };
    }
    b.build()
        .unwrap_or_else(|e| panic!("builder refused {request}: {e}"))
}

/// `request` bound from text, from a value and by the builder.
fn three(engine: &Engine, request: &Value) -> [(&'static str, Request); 3] {
    let text = request.to_string();
    [
        (
            "bind_str",
            engine
                .bind_str(&text)
                .unwrap_or_else(|e| panic!("bind_str refused {text}: {e}")),
        ),
        (
            "bind",
            engine
                .bind(request.clone())
                .unwrap_or_else(|e| panic!("bind refused {text}: {e}")),
        ),
        ("builder", built(engine, request)),
    ]
}

/// The compiled decision of `req` equals the reference interpreter's, and the borrowed one.
fn agrees(
    engine: &Engine,
    req: &Request,
    what: &str,
    policy: &str,
    request: &Value,
) -> Result<writ_engine::Decision, TestCaseError> {
    let fast = engine.decide(req);
    let slow = engine.explain(req).decision;
    prop_assert_eq!(
        &fast,
        &slow,
        "{}: compiled != reference\npolicy:\n{}\nrequest: {}",
        what,
        policy,
        request
    );
    common::borrowed_agrees(engine, req, &fast)?;
    Ok(fast)
}

/// Every check of one request under one policy and another version of it.
fn check_request(
    e: &Engine,
    other: &Engine,
    policy: &str,
    request: &Value,
    at: jiff::Timestamp,
) -> Result<(), TestCaseError> {
    let mut first: Option<writ_engine::Decision> = None;
    for (how, req) in three(e, request) {
        let d = agrees(e, &req, how, policy, request)?;
        match &first {
            None => first = Some(d),
            Some(f) => prop_assert_eq!(
                f,
                &d,
                "{} differs from bind_str\n{}\n{}",
                how,
                policy,
                request
            ),
        }
        // At another time: a copy of the slots with the time replaced.
        let moved = e.at_time(&req, at);
        let dm = agrees(e, &moved, &format!("{how} at {at}"), policy, request)?;
        let mut pinned = request.clone();
        pinned["time"] = Value::from(at.to_string());
        let rebound = e.bind(pinned).unwrap();
        prop_assert_eq!(&dm, &e.decide(&rebound), "{} at {}", how, at);
        // Another version of the set: re-bound (slots in another order).
        let d2 = other.decide(&req);
        prop_assert_eq!(&d2, &other.explain(&req).decision, "{} re-bound", how);
        let own = other.bind(request.clone()).unwrap();
        prop_assert_eq!(&d2, &other.decide(&own), "{} re-bound vs bound", how);
        // Pinned, then re-bound; and re-bound, then pinned.
        let d3 = other.decide(&moved);
        prop_assert_eq!(
            &d3,
            &other.explain(&moved).decision,
            "{} pinned, re-bound",
            how
        );
        let own_moved = other.at_time(&own, at);
        prop_assert_eq!(
            &d3,
            &other.decide(&own_moved),
            "{} pinned re-bound vs own",
            how
        );
        let re_moved = other.at_time(&req, at);
        agrees(
            other,
            &re_moved,
            &format!("{how} re-bound at {at}"),
            policy,
            request,
        )?;
        prop_assert_eq!(&d3, &other.decide(&re_moved));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(160))]

    #[test]
    fn compact_slots_decide_as_the_reference(
        (order, policy, other_policy) in policy(),
        requests in prop::collection::vec(request(), 1..6),
        at in time_value(),
    ) {
        let e = engine(&policy)?;
        let other = engine(&other_policy)?;
        // The slots are laid out in the order the set reads its paths.
        let paths: Vec<&str> = e.policy_set().paths.iter().map(|p| p.text.as_str()).collect();
        prop_assert_eq!(&paths[..order.len()], &order[..], "{}", policy);
        let at: jiff::Timestamp = at.parse().unwrap();
        for r in &requests {
            check_request(&e, &other, &policy, r, at)?;
        }
    }
}

/// Paths read only to fill slots: 17 of them, so that with them first every other path is
/// on the heap.
const FILLERS: &[&str] = &[
    "resource.f0",
    "resource.f1",
    "resource.f2",
    "resource.f3",
    "resource.f4",
    "resource.f5",
    "session.id",
    "session.auth_method",
    "resource.id",
    "resource.kind",
    "principal.id",
    "principal.on_behalf_of",
    "device.disk_encrypted",
    "principal.attested",
    "scope.granted",
    "session.auth_age",
    "principal.kind",
];

/// The paths whose values have edges (every one of [`PATHS`] but the fillers among them).
fn interesting() -> Vec<&'static str> {
    PATHS
        .iter()
        .map(|(p, _)| *p)
        .filter(|p| !FILLERS.contains(p))
        .collect()
}

const NUMS: &[&str] = &[
    "2.5",
    "-0.5",
    "0.0",
    "-0.0",
    "4294967296.5",
    "-4294967296.5",
];

/// Every test of `path` the explicit cases try, each its own `allow` rule (so a decision
/// lists exactly the tests that are true).
fn atoms_for(path: &str) -> Vec<String> {
    let p = path;
    let mut out = vec![format!("present({p})")];
    let cmp = |consts: &[&str], ops: &[&str], out: &mut Vec<String>| {
        for c in consts {
            for op in ops {
                out.push(format!("{p} {op} {c}"));
            }
        }
    };
    match kind(path) {
        Kind::Action => out.extend(
            [
                "action == \"a0\"",
                "action != \"a1\"",
                "action in [\"a0\", \"a2\", \"b.x\"]",
                "action matches \"b.*\"",
            ]
            .map(str::to_string),
        ),
        Kind::Str => {
            out.push(format!("{p} == \"v1\""));
            out.push(format!("{p} in [\"v0\", \"v2\"]"));
        }
        Kind::Enum => {
            out.push(format!("{p} == \"prod\""));
            out.push(format!("{p} != \"dev\""));
        }
        Kind::Int => cmp(INTS, &[">", "<=", "=="], &mut out),
        Kind::Num => cmp(&[INTS, NUMS].concat(), &[">", "<=", "=="], &mut out),
        Kind::Bool => {
            out.push(p.to_string());
            out.push(format!("not {p}"));
        }
        Kind::Dur => cmp(DURS, &[">", "<="], &mut out),
        Kind::Ip => {
            for c in CIDRS {
                out.push(format!("{p} in cidr [{c}]"));
            }
            out.push(format!("{p} not in corp"));
        }
        Kind::Time => {
            for w in WINDOWS {
                out.push(format!("{p} in {w}"));
            }
        }
        Kind::Set => {
            for g in ["g0", "g1", "g3", "g22", "g44"] {
                out.push(format!("{p} has \"{g}\""));
            }
            out.push(format!("{p} has any [\"g0\", \"g44\"]"));
            out.push(format!("{p} has all [\"g1\", \"g2\"]"));
            out.push(format!("\"g43\" in {p}"));
        }
    }
    out
}

/// A set reading `layout` in that order (then [`LAST`]), with one `allow` rule per test of
/// each interesting path in it (fillers are only read), named `k0`, `k1`, …; and the tests.
fn explicit_policy(layout: &[&str]) -> (String, Vec<String>) {
    let mut text = PRELUDE.to_string();
    text.push_str(&order_rule(layout));
    let mut conds = Vec::new();
    for p in layout.iter().filter(|p| !FILLERS.contains(p)) {
        // Each test and its negation: an `allow` fires on true only, so the two tell
        // true, false and unknown apart.
        for c in atoms_for(p) {
            conds.push(format!("not ({c})"));
            conds.push(c);
        }
    }
    for (i, c) in conds.iter().enumerate() {
        text.push_str(&format!("rule \"k{i}\" {{ when {c} allow }}\n"));
    }
    (text, conds)
}

fn explicit_engine(layout: &[&str]) -> (Engine, String, Vec<String>) {
    let (text, conds) = explicit_policy(layout);
    let e = fixed(common::engine_of("p.writ", &text));
    let paths: Vec<&str> = e
        .policy_set()
        .paths
        .iter()
        .map(|p| p.text.as_str())
        .collect();
    assert_eq!(&paths[..layout.len()], layout, "the slots' order");
    (e, text, conds)
}

/// The tests that are true for `req` (the `allow` rules the decision lists).
fn true_tests(e: &Engine, req: &Request, conds: &[String]) -> Vec<String> {
    e.decide(req)
        .rules
        .iter()
        .map(|r| {
            let i: usize = r.strip_prefix('k').unwrap().parse().unwrap();
            conds[i].clone()
        })
        .collect()
}

const SETS: &[&[&str]] = &[
    &[],
    &["g1"],
    &["g44", "other", "g3", "g3"],
    &[
        "g0", "g1", "g2", "g3", "g4", "g5", "g6", "g7", "g8", "g9", "g10", "g11", "g12", "g13",
        "g14", "g15", "g16", "g17", "g18", "g19", "g20", "g21", "g22", "g23", "g24", "g25", "g26",
        "g27", "g28", "g29", "g30", "g31", "g32", "g33", "g34", "g35", "g36", "g37", "g38", "g39",
        "g40", "g41", "g42", "g43", "g44",
    ],
    &[
        "g44", "g43", "g42", "g41", "g40", "g39", "g38", "g37", "g36", "g35", "g34", "g33", "g32",
        "g31", "g30", "g29", "g28", "g27", "g26", "g25", "g24", "g23", "g22", "g21", "g20", "x",
        "g1", "g1",
    ],
];

const DUR_VALUES: &[&str] = &[
    "0s",
    "30d",
    "9223372036854775807s",
    "9223372036854775808s",
    "9223372036854806400s",
    "18446744073709551615s",
    "4294967296s",
];

const NUM_VALUES: &[f64] = &[
    -0.0,
    0.5,
    -0.5,
    2.5,
    -2.5,
    4_294_967_296.5,
    -4_294_967_296.5,
    1e300,
    -1e300,
    5e-324,
];

/// The `i`-th explicit request: every path carries the `i`-th value of its pool (shifted
/// per path, so that values meet in many combinations); a few are left out.
fn explicit_request(i: usize) -> Value {
    let mut root = json!({});
    for (j, (path, k)) in PATHS.iter().enumerate() {
        if (i + 3 * j) % 11 == 10 {
            continue;
        }
        let n = i + 5 * j;
        let v = match k {
            Kind::Action => Value::from(["a0", "a1", "a2", "b.x", "c"][n % 5]),
            Kind::Str => Value::from(["v0", "v1", "v2", "w"][n % 4]),
            Kind::Enum => Value::from(["prod", "staging", "dev"][n % 3]),
            Kind::Int => Value::from(INTS[n % INTS.len()].parse::<i64>().unwrap()),
            Kind::Num if n.is_multiple_of(3) => {
                Value::from(INTS[n % INTS.len()].parse::<i64>().unwrap())
            }
            Kind::Num => json!(NUM_VALUES[n % NUM_VALUES.len()]),
            Kind::Bool => Value::from(n.is_multiple_of(2)),
            Kind::Dur if n.is_multiple_of(4) => Value::from(4_294_967_296i64 + (n % 3) as i64 - 1),
            Kind::Dur => Value::from(DUR_VALUES[n % DUR_VALUES.len()]),
            Kind::Ip => Value::from(IPS[n % IPS.len()]),
            Kind::Time => Value::from(TIMES[n % TIMES.len()]),
            // Shifted by one per path, so that the three sets differ.
            Kind::Set => json!(SETS[(i + j) % SETS.len()]),
        };
        let segs: Vec<&str> = path.split('.').collect();
        common::put(&mut root, &segs, v);
    }
    for (j, f) in FILLERS.iter().enumerate() {
        let v = match *f {
            "device.disk_encrypted" | "principal.attested" => {
                Value::from((i + j).is_multiple_of(2))
            }
            "scope.granted" => json!(SETS[(i + j) % SETS.len()]),
            "session.auth_age" => Value::from("1h"),
            "principal.kind" => Value::from("human"),
            _ => Value::from(format!("f{}", (i + j) % 3)),
        };
        let segs: Vec<&str> = f.split('.').collect();
        common::put(&mut root, &segs, v);
    }
    root
}

/// Every explicit request, bound all three ways, at its own time and moved to others, on
/// `e`, agrees with the reference; `other` (the same tests over another layout) decides
/// the same tests true, re-binding a request bound for `e`.
fn explicit_agree(
    e: &Engine,
    text: &str,
    other: &Engine,
    conds: &[String],
    other_conds: &[String],
) {
    for i in 0..TIMES.len().max(IPS.len()) * 2 {
        let v = explicit_request(i);
        for (how, req) in three(e, &v) {
            let fast = e.decide(&req);
            assert_eq!(
                fast,
                e.explain(&req).decision,
                "{how}: compiled != reference\nrequest: {v}\npolicy:\n{text}"
            );
            let mine = true_tests(e, &req, conds);
            // Another layout of the same tests: the same ones are true, bound there or
            // re-bound from here.
            let theirs = true_tests(other, &other.bind(v.clone()).unwrap(), other_conds);
            // Compared on the tests both sets hold.
            let shared = |mut t: Vec<String>| {
                t.retain(|c| conds.contains(c) && other_conds.contains(c));
                t.sort();
                t
            };
            let a = shared(mine);
            let b = shared(theirs);
            assert_eq!(a, b, "{how}: layouts disagree on {v}");
            let c = shared(true_tests(other, &req, other_conds));
            assert_eq!(a, c, "{how}: re-bound from another version, {v}");
            assert_eq!(other.decide(&req), other.explain(&req).decision);
            for k in [1, 7, 13] {
                let at: jiff::Timestamp = TIMES[(i + k) % TIMES.len()].parse().unwrap();
                let moved = e.at_time(&req, at);
                assert_eq!(
                    e.decide(&moved),
                    e.explain(&moved).decision,
                    "{how} at {at}: compiled != reference\nrequest: {v}"
                );
                let mut pinned = v.clone();
                pinned["time"] = Value::from(at.to_string());
                assert_eq!(
                    e.decide(&moved),
                    e.decide(&e.bind(pinned).unwrap()),
                    "{how} at {at}"
                );
                let there = other.at_time(&req, at);
                assert_eq!(other.decide(&there), other.explain(&there).decision);
                assert_eq!(
                    other.decide(&moved),
                    other.decide(&there),
                    "{how} at {at}, re-bound"
                );
            }
        }
    }
}

#[test]
fn many_paths_inline_first_and_on_the_heap() {
    let mut inline_first = interesting();
    inline_first.extend(FILLERS);
    let mut heap_first: Vec<&str> = FILLERS.to_vec();
    heap_first.extend(interesting());
    assert!(heap_first.len() > 32);
    let (a, text_a, conds_a) = explicit_engine(&inline_first);
    let (b, text_b, conds_b) = explicit_engine(&heap_first);
    explicit_agree(&a, &text_a, &b, &conds_a, &conds_b);
    explicit_agree(&b, &text_b, &a, &conds_b, &conds_a);
}

#[test]
fn few_paths_with_sets_spilling_around_inline_ones() {
    // Seven slots: 36 words after them. A set of 45 ids spills to the heap, the IPv6 words
    // and small sets after it fit inline, a later large set spills again.
    let small = [
        "principal.groups",
        "resource.ip6",
        "resource.tags",
        "network.ip",
        "scope.requested",
        "time",
    ];
    let mut reversed = small.to_vec();
    reversed.reverse();
    let (a, text_a, conds_a) = explicit_engine(&small);
    let (b, text_b, conds_b) = explicit_engine(&reversed);
    explicit_agree(&a, &text_a, &b, &conds_a, &conds_b);
    explicit_agree(&b, &text_b, &a, &conds_b, &conds_a);
}

#[test]
fn fifteen_sixteen_and_seventeen_slots() {
    // The boundary: the last path read is slot 14, 15 (the last inline one) or 16 (the
    // first on the heap); sets and addresses read first.
    let mut all: Vec<&str> = vec![
        "principal.groups",
        "resource.ip6",
        "scope.requested",
        "resource.tags",
        "network.ip",
    ];
    all.extend(&FILLERS[..10]);
    for last in [
        "resource.n",
        "time",
        "resource.peer",
        "resource.wait",
        "resource.x",
    ] {
        for n in [13usize, 14, 15] {
            let mut layout = all[..n].to_vec();
            layout.push(last);
            // With `resource.owner` after it: 15, 16 or 17 slots.
            let (e, text, conds) = explicit_engine(&layout);
            let (o, _, o_conds) = explicit_engine(&interesting());
            explicit_agree(&e, &text, &o, &conds, &o_conds);
        }
    }
}

/// The truth of `cond` for `req` as the compiled decision says it: its `allow` rule fired
/// (true), its negation's did (false), or neither (unknown).
fn truth_of(e: &Engine, req: &Request, conds: &[String], cond: &str) -> writ_engine::Truth {
    assert!(conds.iter().any(|c| c == cond), "no test `{cond}`");
    let fired = true_tests(e, req, conds);
    let negated = format!("not ({cond})");
    match (fired.iter().any(|c| c == cond), fired.contains(&negated)) {
        (true, false) => writ_engine::Truth::True,
        (false, true) => writ_engine::Truth::False,
        (false, false) => writ_engine::Truth::Unknown,
        (true, true) => panic!("`{cond}` and its negation both fired"),
    }
}

#[test]
fn edge_values_read_as_written() {
    use writ_engine::Truth::{False, True};
    // (path, value, test, its truth).
    let cases: &[(&str, Value, &str, writ_engine::Truth)] = &[
        // Before 1970 with a fraction: rounded down (Wednesday 23:59), not toward zero.
        (
            "time",
            json!("1969-12-31T23:59:59.5Z"),
            "time in hours \"Wed 23:59-24:00\" in \"UTC\"",
            True,
        ),
        (
            "time",
            json!("1969-12-31T23:59:59.5Z"),
            "time in hours \"Thu 00:00-00:01\" in \"UTC\"",
            False,
        ),
        (
            "resource.t",
            json!("1969-12-31T23:59:59.999999999Z"),
            "resource.t in hours \"Wed 23:59-24:00\" in \"UTC\"",
            True,
        ),
        (
            "time",
            json!("1969-12-29T06:59:59.5Z"),
            "time in office",
            False,
        ),
        (
            "time",
            json!("1969-12-29T07:00:00Z"),
            "time in office",
            True,
        ),
        (
            "resource.since",
            json!("1969-12-29T06:59:59.5Z"),
            "resource.since in office",
            False,
        ),
        // Before the zone table (1970): the zone's own offset then, not 1970's (+1).
        (
            "time",
            json!("1900-01-01T11:39:59.5Z"),
            "time in hours \"Mon 00:00-12:00\" in \"Europe/Amsterdam\"",
            True,
        ),
        // After it (2200): summer time still applies (+2 in July).
        (
            "time",
            json!("2230-07-02T06:00:00.5Z"),
            "time in office",
            True,
        ),
        (
            "resource.t",
            json!("2230-07-02T06:00:00.5Z"),
            "resource.t in office",
            True,
        ),
        // Ints past 32 bits, negative.
        (
            "resource.n",
            json!(-4_294_967_296i64),
            "resource.n <= -4294967296",
            True,
        ),
        (
            "resource.n",
            json!(-4_294_967_296i64),
            "resource.n > -4294967295",
            False,
        ),
        (
            "resource.n",
            json!(-4_294_967_296i64),
            "resource.n == -4294967296",
            True,
        ),
        (
            "resource.m",
            json!(4_294_967_296i64),
            "resource.m == 4294967296",
            True,
        ),
        (
            "resource.m",
            json!(4_294_967_296i64),
            "resource.m <= 4294967295",
            False,
        ),
        ("resource.m", json!(-1), "resource.m > -5", True),
        (
            "resource.m",
            json!(-9_007_199_254_740_991i64),
            "resource.m <= -9007199254740991",
            True,
        ),
        // Numbers: -0.0 is 0; a fraction past 32 bits.
        ("resource.x", json!(-0.0), "resource.x == 0", True),
        ("resource.x", json!(-0.0), "resource.x > -0.5", True),
        (
            "resource.x",
            json!(4_294_967_296.5),
            "resource.x > 4294967296",
            True,
        ),
        (
            "resource.x",
            json!(4_294_967_296.5),
            "resource.x == 4294967296",
            False,
        ),
        (
            "resource.x",
            json!(-4_294_967_296.5),
            "resource.x <= -4294967296",
            True,
        ),
        // Durations past i64::MAX seconds.
        (
            "resource.wait",
            json!("18446744073709551615s"),
            "resource.wait > 106751991167301d",
            True,
        ),
        (
            "resource.wait",
            json!("9223372036854775807s"),
            "resource.wait > 106751991167300d",
            True,
        ),
        (
            "resource.wait",
            json!("9223372036854775807s"),
            "resource.wait <= 106751991167301d",
            True,
        ),
        (
            "device.patch_age",
            json!("9223372036854806400s"),
            "device.patch_age <= 106751991167301d",
            True,
        ),
        (
            "device.patch_age",
            json!("9223372036854806400s"),
            "device.patch_age > 106751991167300d",
            True,
        ),
        // An IPv4-mapped address is its IPv4 address; an IPv4-compatible one is not.
        (
            "network.ip",
            json!("::ffff:10.0.0.1"),
            "network.ip in cidr [\"10.0.0.0/8\"]",
            True,
        ),
        (
            "network.ip",
            json!("::ffff:10.0.0.1"),
            "network.ip not in corp",
            False,
        ),
        (
            "network.ip",
            json!("::ffff:10.0.0.1"),
            "network.ip in cidr [\"::/96\"]",
            False,
        ),
        (
            "resource.peer",
            json!("::10.0.0.1"),
            "resource.peer in cidr [\"10.0.0.0/8\"]",
            False,
        ),
        (
            "resource.peer",
            json!("::10.0.0.1"),
            "resource.peer in cidr [\"::/96\"]",
            True,
        ),
        (
            "resource.ip6",
            json!("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"),
            "resource.ip6 in cidr [\"2001:db8::/32\"]",
            True,
        ),
        (
            "resource.ip6",
            json!("2001:db9::"),
            "resource.ip6 in cidr [\"2001:db8::/32\"]",
            False,
        ),
        (
            "resource.ip6",
            json!("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
            "resource.ip6 in cidr [\"255.255.255.255/32\", \"ffff:ffff::/32\"]",
            True,
        ),
        // Sets: every id, and the empty set (false, not unknown).
        (
            "principal.groups",
            json!(SETS[3]),
            "principal.groups has \"g44\"",
            True,
        ),
        (
            "principal.groups",
            json!(SETS[3]),
            "principal.groups has \"g0\"",
            True,
        ),
        (
            "resource.tags",
            json!(SETS[4]),
            "resource.tags has \"g0\"",
            False,
        ),
        (
            "resource.tags",
            json!(SETS[4]),
            "resource.tags has all [\"g1\", \"g2\"]",
            False,
        ),
        (
            "scope.requested",
            json!([]),
            "scope.requested has \"g0\"",
            False,
        ),
        (
            "scope.requested",
            json!([]),
            "scope.requested has any [\"g0\", \"g44\"]",
            False,
        ),
        (
            "principal.groups",
            json!(["other"]),
            "\"g43\" in principal.groups",
            False,
        ),
    ];
    let mut inline_first = interesting();
    inline_first.extend(FILLERS);
    let mut heap_first: Vec<&str> = FILLERS.to_vec();
    heap_first.extend(interesting());
    let engines = [explicit_engine(&inline_first), explicit_engine(&heap_first)];
    for (i, (path, value, cond, want)) in cases.iter().enumerate() {
        // Every other path at an edge too (large sets first, so that this one's ids land
        // after theirs).
        let mut v = explicit_request(3 + i);
        let segs: Vec<&str> = path.split('.').collect();
        common::put(&mut v, &segs, value.clone());
        for (e, text, conds) in &engines {
            for (how, req) in three(e, &v) {
                assert_eq!(
                    e.decide(&req),
                    e.explain(&req).decision,
                    "{how}: compiled != reference\nrequest: {v}\npolicy:\n{text}"
                );
                assert_eq!(
                    truth_of(e, &req, conds, cond),
                    *want,
                    "{how}: `{cond}` for {v}"
                );
                if *path == "time" {
                    // The same instant given by `at_time` to a request without one.
                    let mut bare = v.clone();
                    bare.as_object_mut().unwrap().remove("time");
                    let at: jiff::Timestamp = value.as_str().unwrap().parse().unwrap();
                    for (how, req) in three(e, &bare) {
                        let moved = e.at_time(&req, at);
                        assert_eq!(
                            e.decide(&moved),
                            e.explain(&moved).decision,
                            "{how} at {at}"
                        );
                        assert_eq!(
                            truth_of(e, &moved, conds, cond),
                            *want,
                            "{how} at {at}: `{cond}`"
                        );
                    }
                }
            }
        }
    }
}
