//! The captured values kept as ranges of the request text, and the borrowed decision, probed
//! from outside: escapes, numbers, whitespace, prefix-sibling paths, CEL roots, pinned times
//! and re-binds; every text bound both ways must agree on errors, decisions, digests (against
//! an independent JCS implementation) and `value_at`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::sync::Arc;

use serde_json::Value;
use sha2::{Digest as _, Sha256};
use writ_engine::{digest, Engine};

fn fixed(e: Engine) -> Engine {
    let t: jiff::Timestamp = "2026-11-27T09:00:00Z".parse().unwrap();
    e.with_clock(Arc::new(move || t))
}

fn eng(policy: &str) -> Engine {
    fixed(common::engine_of("p.writ", policy))
}

/// An independent digest: serde_json_canonicalizer over the bound object of the tree.
fn jcs_digest(req: &Value, paths: &[Arc<str>]) -> String {
    let bound = digest::bound_object(req, paths.iter().map(|p| &**p));
    let bytes = serde_json_canonicalizer::to_vec(&bound).unwrap();
    let mut h = Sha256::new();
    h.update(digest::DOMAIN);
    h.update([0u8]);
    h.update(&bytes);
    let out = h.finalize();
    format!(
        "sha256:{}",
        out.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

const PATHS: &[&str] = &[
    "action",
    "time",
    "request",
    "request.params",
    "request.params.amount",
    "request.params.a",
    "request.params.a.b",
    "request.params.count",
    "requester",
    "resource",
    "resource.owner",
    "resource.own",
    "resource.id",
    "resource.level",
    "principal.key",
    "principal.key.kty",
    "principal.groups",
    "session.id",
];

/// Everything that must agree between `bind_str(text)` and `bind(from_str(text))`.
fn agree(e: &Engine, other: Option<&Engine>, text: &str) -> Vec<String> {
    let mut bad = Vec::new();
    let s = e.bind_str(text);
    let parsed = writ_engine::parse_request(text);
    let t = match &parsed {
        Ok(v) => e.bind(v.clone()),
        Err(err) => Err(err.clone()),
    };
    match (&s, &t) {
        (Ok(a), Ok(b)) => {
            let v = parsed.as_ref().unwrap();
            let (da, db) = (e.decide(a), e.decide(b));
            if std::env::var("PROBE_STATS").is_ok() {
                eprintln!(
                    "STAT {} {}",
                    da.decision.as_str(),
                    da.approval
                        .as_ref()
                        .map_or(0, |x| x.bind.len() - x.missing.len())
                );
            }
            if da != db {
                bad.push(format!(
                    "decide differs:\n  str  {}\n  tree {}",
                    da.to_json(),
                    db.to_json()
                ));
            }
            for (name, r, d) in [("str", a, &da), ("tree", b, &db)] {
                let rj = e.decide_ref(r).to_json();
                if rj != d.to_json() {
                    bad.push(format!(
                        "{name}: decide_ref json {rj} != decide json {}",
                        d.to_json()
                    ));
                }
                let ex = e.explain(r).decision;
                if &ex != d {
                    bad.push(format!(
                        "{name}: explain {} != decide {}",
                        ex.to_json(),
                        d.to_json()
                    ));
                }
                if let Some(ap) = &d.approval {
                    let want = jcs_digest(v, &ap.bind);
                    if ap.digest != want {
                        bad.push(format!("{name}: digest {} != JCS digest {want}", ap.digest));
                    }
                    let want2 = digest::transaction_digest(v, ap.bind.iter().map(|p| &**p));
                    if ap.digest != want2 {
                        bad.push(format!("{name}: digest != transaction_digest"));
                    }
                }
            }
            for p in PATHS {
                let (x, y) = (a.value_at(p), b.value_at(p));
                let z = writ_engine::lookup(v, p.split('.'));
                if x != y || x != z {
                    bad.push(format!("value_at({p}): str {x:?} tree {y:?} lookup {z:?}"));
                }
            }
            // A pinned time, decided here and by another version.
            let at: jiff::Timestamp = "2026-11-28T15:30:00Z".parse().unwrap();
            let mut with_time = v.clone();
            with_time
                .as_object_mut()
                .unwrap()
                .insert("time".into(), Value::String(at.to_string()));
            let expected = e.bind(with_time.clone()).unwrap();
            for (name, r) in [("str", a), ("tree", b)] {
                let m = e.at_time(r, at);
                if e.decide(&m) != e.decide(&expected) {
                    bad.push(format!(
                        "{name}: at_time decide {} != bind(with time) {}",
                        e.decide(&m).to_json(),
                        e.decide(&expected).to_json()
                    ));
                }
                if e.decide_ref(&m).to_json() != e.decide(&expected).to_json() {
                    bad.push(format!("{name}: at_time decide_ref json differs"));
                }
                for p in PATHS {
                    if m.value_at(p) != expected.value_at(p) {
                        bad.push(format!(
                            "{name}: at_time value_at({p}) {:?} != {:?}",
                            m.value_at(p),
                            expected.value_at(p)
                        ));
                    }
                }
                if let Some(o) = other {
                    let there_now = o.bind_str(text).ok().map(|q| o.decide(&q));
                    let there_tree = o.bind(v.clone()).ok().map(|q| o.decide(&q));
                    if there_now != there_tree {
                        bad.push(format!(
                            "other version: bind_str/bind differ {there_now:?} / {there_tree:?}"
                        ));
                    }
                    if let Some(d) = &there_tree {
                        if &o.decide(r) != d {
                            bad.push(format!(
                                "{name}: re-bound for other version {} != {}",
                                o.decide(r).to_json(),
                                d.to_json()
                            ));
                        }
                    }
                    if let Ok(q) = o.bind(with_time.clone()) {
                        let d = o.decide(&q);
                        if o.decide(&m) != d {
                            bad.push(format!(
                                "{name}: other version of at_time {} != {}",
                                o.decide(&m).to_json(),
                                d.to_json()
                            ));
                        }
                        if o.decide(&o.at_time(r, at)) != d {
                            bad.push(format!("{name}: other.at_time differs"));
                        }
                    }
                }
            }
        }
        (Err(x), Err(y)) => {
            if std::env::var("PROBE_STATS").is_ok() {
                eprintln!("STAT err");
            }
            // With several faults, each binder names the first it meets: document order
            // for the stream, path order for the tree (as binders_agree.rs says). Then
            // each named path must be a fault on its own.
            let alone_refused = |path: &str| match &parsed {
                Ok(v) => e.bind(common::only(v, path)).is_err(),
                Err(_) => false,
            };
            if x != y && (x.path == y.path || !alone_refused(&x.path) || !alone_refused(&y.path)) {
                bad.push(format!("errors differ: str {x} / tree-or-parse {y}"));
            }
        }
        _ => bad.push(format!(
            "one accepted: str {:?} / tree {:?}",
            s.as_ref().err(),
            t.as_ref().err()
        )),
    }
    // The tree binder given serde_json's own parse (no strict parse): only when it parses.
    if let (Ok(v), Err(x)) = (serde_json::from_str::<Value>(text), &s) {
        if e.bind(v).is_ok() && !x.message.contains("twice") && !x.message.contains("not exactly") {
            bad.push(format!("str refused ({x}) what bind(from_str) accepts"));
        }
    }
    bad.into_iter().map(|m| format!("{text}\n  {m}")).collect()
}

fn run(e: &Engine, other: Option<&Engine>, texts: &[String]) {
    let mut all = Vec::new();
    for t in texts {
        all.extend(agree(e, other, t));
    }
    assert!(
        all.is_empty(),
        "{} failures:\n{}",
        all.len(),
        all.join("\n")
    );
}

const POLICY: &str = r#"
schema {
  request.params.amount: number
  request.params.count: int
  resource.level: int
  resource.owner: string
  resource.own: string
}
rule "p" { when action == "p" approve { approvers 1 of group "o" bind action, request.params, time } }
rule "g" { when action == "g" approve { approvers 1 of group resource.owner bind resource.owner, resource.id, resource.own } }
rule "q" { when action == "q" approve { approvers 2 of group resource.own bind request.params.amount, request.params, session.id } }
rule "c" { when cel("request.params.count > 2") deny }
rule "t" { when action == "t" allow for 5m
  obligations log("x") }
rule "t2" { when action == "t" allow for 2m
  obligations log("x"), review(24h) }
"#;

const OTHER: &str = r#"
schema { request.params.amount: string  resource.owner: string }
rule "p" { when action == "p" approve { approvers 1 of group "o" bind request.params, time } }
rule "g" { when action == "g" approve { approvers 1 of group resource.owner bind resource.owner } }
rule "c" { when cel("size(string(time)) > 30") deny }
"#;

fn values() -> Vec<&'static str> {
    vec![
        r#""plain""#,
        r#""x\"y\\z\/\b\f\n\r\t""#,
        r#""\u0000\u001f\u007f\u0080""#,
        r#""\ud83d\ude00 \u00e9 é 😀 \uE000 \uFFFF""#,
        r#""long string well over one hundred and twenty eight bytes so that the hashing buffer spills at least once ............................................. end \u0001""#,
        "null",
        "true",
        "false",
        "0",
        "-0",
        "0.0",
        "-0.0",
        "1e2",
        "1E+2",
        "1.0",
        "1.5",
        "0.1",
        "1e21",
        "1e22",
        "1.7976931348623157e308",
        "5e-324",
        "1e-7",
        "123456789.125",
        "9007199254740991",
        "-9007199254740991",
        "9007199254740992",
        "1e400",
        "0.10000000000000000001",
        "[]",
        "{}",
        "[1, \"a\", null, {\"b\": [2]}]",
        r#"{"b": {"c": null}, "\u0061a": 1}"#,
        r#"{"\ue000": 1, "\ud83d\ude00": 2, "a": 3, "\u0000": 4}"#,
        r#"{"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"b":14}"#,
        " \n\t 5 \r\n ",
        "{\"b\" :\n 1 ,\"c\":[ ]\t}",
    ]
}

#[test]
fn captured_request_params_values() {
    let e = eng(POLICY);
    let o = eng(OTHER);
    let mut texts = Vec::new();
    for v in values() {
        for action in ["p", "q", "x"] {
            texts.push(format!(
                r#"{{"action":"{action}","request":{{"params":{{"a":{v},"amount":3}}}}}}"#
            ));
            texts.push(format!(r#"{{"action":"{action}","request":{{"params":{{"amount":3, "a":{v}}}}},"session":{{"id":{v}}},"resource":{{"own":"g"}}}}"#));
            texts.push(format!(
                r#"{{"action":"{action}","request":{{"params":{v}}}}}"#
            ));
            texts.push(format!(r#"{{"request":{{"params":{{"count": 3, "a":{v}}}}},"action":"{action}","time":"2026-11-27T10:00:00Z"}}"#));
            texts.push(format!(r#"{{"action":"{action}","request":{v}}}"#));
            texts.push(format!(
                r#"{{"action":"{action}","request":{{"params":{{"amount":{v}}}}}}}"#
            ));
            texts.push(format!(
                r#"{{"action":"{action}","request":{{"params":{{"count":{v}}}}}}}"#
            ));
        }
    }
    run(&e, Some(&o), &texts);
}

#[test]
fn approver_groups_read_lazily() {
    let e = eng(POLICY);
    let o = eng(OTHER);
    let mut texts = Vec::new();
    for v in values().into_iter().chain([
        r#""""#,
        r#""   ""#,
        r#""\u0020\t""#,
        r#""ops\u0000""#,
        r#""o""#,
        r#""\u006f""#,
    ]) {
        for action in ["g", "q"] {
            texts.push(format!(
                r#"{{"action":"{action}","resource":{{"owner":{v},"id":"r1","own":"q"}}}}"#
            ));
            texts.push(format!(
                r#"{{"action":"{action}","resource":{{"own":{v},"owner":"ops"}}}}"#
            ));
            texts.push(format!(
                r#"{{"resource":{{"id":{v},"owner":"ops","own":"ops"}},"action":"{action}"}}"#
            ));
            texts.push(format!(r#"{{"action":"{action}","resource":{v}}}"#));
            texts.push(format!(
                r#"{{"action":"{action}","resource":{{"ownerx":{v},"owner":"a","own":"b"}}}}"#
            ));
        }
    }
    run(&e, Some(&o), &texts);
}

#[test]
fn whitespace_escapes_and_order() {
    let e = eng(POLICY);
    let o = eng(OTHER);
    let texts: Vec<String> = [
        "{ \"action\" : \"p\" , \"request\" : { \"params\" :\n\t { \"amount\" : 1 , \"a\" : [ 1 , 2 ] } \r\n } }",
        r#"{"\u0061ction":"p","re\u0071uest":{"par\u0061ms":{"amount":2}}}"#,
        r#"{"action":"\u0070","request":{"params":{"amount":2}}}"#,
        r#"{"action":"p","request":{"params":{"amount":2}},"time":"2026-11-27T10:00:00\u005a"}"#,
        r#"{"action":"p","time":"2026-11-27T10:00:00+01:00","request":{"params":{"amount":2}}}"#,
        r#"{"action":"p","time":null,"request":{"params":{"amount":2}}}"#,
        r#"{"action":"p","request":{"params":{"amount":2},"break_glass":true}}"#,
        r#"{"action":"p","request":{"params":{"amount":2},"params2":1}}"#,
        r#"{"action":"p","request":{"params":{"amount":"2"}}}"#,
        r#"{"action":"p","request":{"params":{"count":2.5}}}"#,
        r#"{"action":"p","request":{"params":[{"amount":1}]}}"#,
        r#"{"action":"p","request":{"params":"x"}}"#,
        r#"{"action":"p","request":[]}"#,
        r#"{"risk":1,"action":"p","request":{"params":{"amount":1}}}"#,
        r#"{"action":"p","request":{"params":{"amount":1}},"risk":1}"#,
        r#"{"action":"p","request":{"params":{"amount":1}},"bogus":{"x":1}}"#,
        r#"{"bogus":{"x":1},"action":"p","request":{"params":{"amount":1}}}"#,
        r#"{"action":"p","request":{"params":{"amount":1,"amount":2}}}"#,
        r#"{"action":"p","request":{"params":{"amount":1,"a":{"b":1,"b":1}}}}"#,
        r#"{"action":"p","request":{"params":{"amount":1}},"request":{"params":{"amount":1}}}"#,
        r#"{"action":"p","request":{"params":{"a":9007199254740992}}}"#,
        r#"{"action":"p","request":{"params":{"a":1e400}}}"#,
        r#"{"action":"p","request":{"params":{"a":"\ud800"}}}"#,
        r#"{"action":"p","request":{"params":{"a":"\udc00"}}}"#,
        r#"{"action":"p","request":{"params":{"a":"\ud800\u0041"}}}"#,
        r#"{"action":"p","request":{"params":{"a":01}}}"#,
        r#"{"action":"p","request":{"params":{"a":1.}}}"#,
        r#"{"action":"p","request":{"params":{"a":"tab	in"}}}"#,
        "{\"action\":\"p\",\"request\":{\"params\":{\"a\":\"\x7f\"}}}",
        r#"{"action":"p","request":{"params":{"a":tru}}}"#,
        r#"{"action":"p","request":{"params":{"a":nul}}}"#,
        r#"{"action":"p","request":{"params":{"a":1,}}}"#,
        r#"{"action":"p","request":{"params":{"a":1}} }  "#,
        r#"{"action":"p","request":{"params":{"a":1}}} x"#,
        r#"{"action":"p","principal":{"key":{"kty":"RSA","n":"A","e":"AQAB"}},"request":{"params":{}}}"#,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    run(&e, Some(&o), &texts);
    // Depth: exactly at the limit and one beyond, inside the captured value.
    let nest = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    let mut deep = Vec::new();
    for n in [60, 61, 62, 63, 64] {
        deep.push(format!(
            r#"{{"action":"p","request":{{"params":{{"a":{}}}}}}}"#,
            nest(n)
        ));
        deep.push(format!(
            r#"{{"action":"g","resource":{{"owner":"o","id":{}}}}}"#,
            nest(n)
        ));
    }
    run(&e, Some(&o), &deep);
}

/// CEL reads `request` (captured whole); approvals bind paths at and below it.
#[test]
fn bound_paths_at_and_below_a_cel_root() {
    let e = eng(r#"
        schema { request.params.amount: number  request.extra: string }
        rule "c" { when cel("has(request.params) && request.params.amount > 100.0") deny }
        rule "p" { when action == "p" approve { approvers 1 of group "o" bind request.params.amount, request.params, request.extra } }
        rule "r" { when action == "r" approve { approvers 1 of group request.extra bind request.params.amount } }
        "#);
    let mut texts = Vec::new();
    for v in values() {
        for action in ["p", "r"] {
            texts.push(format!(r#"{{"action":"{action}","request":{{"params":{{"amount":1,"z":{v}}},"extra":"grp"}}}}"#));
            texts.push(format!(
                r#"{{"action":"{action}","request":{{"extra":"grp","params":{{"amount":{v}}}}}}}"#
            ));
            texts.push(format!(
                r#"{{"action":"{action}","request":{{"extra":{v},"params":{{"amount":7}}}}}}"#
            ));
            texts.push(format!(r#"{{"action":"{action}","request":{v}}}"#));
            texts.push(format!(
                r#"{{"action":"{action}","request":{{"params":{v}}}}}"#
            ));
        }
    }
    run(&e, None, &texts);
}

/// Bound paths below a known leaf (JWK, string), and `time` bound with CEL reading it.
#[test]
fn captured_below_a_known_leaf() {
    for policy in [
        r#"rule "p" { when action == "p" approve { approvers 1 of group "o" bind principal.key.kty } }"#,
        r#"rule "p" { when action == "p" approve { approvers 1 of group "o" bind principal.key } }"#,
        r#"rule "p" { when action == "p" approve { approvers 1 of group principal.key.kid bind action } }"#,
        r#"rule "p" { when action == "p" approve { approvers 1 of group "o" bind resource.id.x } }"#,
        r#"rule "p" { when action == "p" approve { approvers 1 of group "o" bind action.x } }"#,
        r#"rule "p" { when action == "p" approve { approvers 1 of group "o" bind request.params.x } }"#,
        r#"rule "p" { when action == "p" approve { approvers 1 of group "o" bind time } }
           rule "c" { when cel("time > timestamp('2026-11-27T12:00:00Z')") deny }"#,
    ] {
        let Ok(set) = common::checked("p.writ", policy) else {
            eprintln!("policy refused by the checker: {policy}");
            continue;
        };
        eprintln!("policy accepted: {policy}");
        let e = fixed(Engine::new(set));
        let mut texts = Vec::new();
        for key in [
            r#"{"kty":"RSA","n":"AAAA","e":"AQAB"}"#,
            r#"{"kty":"OKP","crv":"Ed25519","x":"AAAA","d":"CCCC"}"#,
            r#"{"kty":"OKP","crv":"Ed25519","x":"AAAA","kid":"ops"}"#,
            r#""AAAA""#,
        ] {
            texts.push(format!(r#"{{"action":"p","principal":{{"key":{key}}}}}"#));
        }
        for rid in [r#""r1""#, r#"{"x":"r1"}"#, "5"] {
            texts.push(format!(r#"{{"action":"p","resource":{{"id":{rid}}}}}"#));
        }
        texts.push(r#"{"action":"p","request":{"params":{"x":[1]}}}"#.into());
        texts.push(r#"{"action":"p","request":{"params":[1]}}"#.into());
        texts.push(r#"{"action":"p","time":"2026-11-27T13:00:00Z"}"#.into());
        texts.push(r#"{"action":"p","time":"2026-11-27T11:00:00Z"}"#.into());
        texts.push(r#"{"action":"p"}"#.into());
        texts.push(r#"{"action":{"x":1}}"#.into());
        run(&e, None, &texts);
    }
}

use proptest::prelude::*;

/// Renders `v` as JSON text with random whitespace and random `\u` escapes (surrogate
/// pairs for characters beyond the BMP), in keys and strings.
fn render(v: &Value, noise: &mut impl Iterator<Item = u8>, out: &mut String) {
    let ws = |out: &mut String, n: &mut dyn Iterator<Item = u8>| match n.next().unwrap_or(0) % 6 {
        0 => out.push(' '),
        1 => out.push_str("\n\t"),
        2 => out.push_str(" \r\n "),
        _ => {}
    };
    fn string(s: &str, n: &mut dyn Iterator<Item = u8>, out: &mut String) {
        out.push('"');
        for c in s.chars() {
            let r = n.next().unwrap_or(0);
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if (c as u32) < 0x20 || r.is_multiple_of(3) => {
                    let mut buf = [0u16; 2];
                    for u in c.encode_utf16(&mut buf) {
                        if r.is_multiple_of(2) {
                            out.push_str(&format!("\\u{:04x}", u));
                        } else {
                            out.push_str(&format!("\\u{:04X}", u));
                        }
                    }
                }
                '/' if r.is_multiple_of(2) => out.push_str("\\/"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    ws(out, noise);
    match v {
        Value::Object(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                ws(out, noise);
                string(k, noise, out);
                ws(out, noise);
                out.push(':');
                render(x, noise, out);
            }
            ws(out, noise);
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                render(x, noise, out);
            }
            ws(out, noise);
            out.push(']');
        }
        Value::String(s) => string(s, noise, out),
        other => out.push_str(&other.to_string()),
    }
    ws(out, noise);
}

fn text_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-1000i64..1000).prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[a-z\\\\\"/\\x00-\\x1f\u{7f}\u{80}é\u{e000}\u{ffff}😀\u{10ffff} ]{0,12}"
            .prop_map(Value::from),
        prop::sample::select(vec![
            "o",
            "ops",
            "",
            " ",
            "p",
            "g",
            "q",
            "2026-11-27T10:00:00Z"
        ])
        .prop_map(Value::from),
    ]
}

fn text_value() -> impl Strategy<Value = Value> {
    text_scalar().prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::vec(
                (
                    prop::sample::select(vec![
                        "amount", "count", "a", "b", "\u{e000}", "😀", "", "aa", "owner"
                    ]),
                    inner
                ),
                0..4
            )
            .prop_map(|kv| Value::Object(
                kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
            )),
        ]
    })
}

fn text_request() -> impl Strategy<Value = Value> {
    let paths = vec![
        "action",
        "time",
        "request.params",
        "request.params.amount",
        "request.params.count",
        "request.params.a",
        "request.extra",
        "request",
        "resource.owner",
        "resource.own",
        "resource.id",
        "resource",
        "session.id",
        "resource.level",
    ];
    (
        prop::sample::select(vec!["p", "q", "g", "t", "x"]),
        prop::collection::vec(
            (
                prop::sample::select(paths),
                prop_oneof![2 => text_scalar(), 1 => text_value()],
            ),
            0..7,
        ),
    )
        .prop_map(|(action, entries)| {
            let mut root = serde_json::json!({"action": action});
            for (path, v) in entries {
                let segs: Vec<&str> = path.split('.').collect();
                common::put(&mut root, &segs, v);
            }
            root
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn text_with_escapes_and_whitespace_binds_alike(req in text_request(), noise in prop::collection::vec(any::<u8>(), 512)) {
        let e = eng(POLICY);
        let o = eng(OTHER);
        let mut text = String::new();
        let mut it = noise.into_iter().cycle();
        render(&req, &mut it, &mut text);
        // The rendering is the same request.
        let back: Value = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(&back, &req);
        let bad = agree(&e, Some(&o), &text);
        prop_assert!(bad.is_empty(), "{}", bad.join("\n"));
        let c = eng(CEL_POLICY);
        let bad = agree(&c, None, &text);
        prop_assert!(bad.is_empty(), "{}", bad.join("\n"));
    }
}

const CEL_POLICY: &str = r#"
schema { request.params.amount: number  request.extra: string  resource.owner: string }
rule "c" { when cel("has(request.params) && has(request.params.amount) && request.params.amount > 100.0") deny }
rule "p" { when action == "p" approve { approvers 1 of group "o" bind request.params.amount, request.params, request.extra, time } }
rule "q" { when action == "q" approve { approvers 1 of group request.extra bind request.params.amount } }
rule "g" { when action == "g" approve { approvers 1 of group resource.owner bind resource.owner, resource.id } }
"#;

fn good_request() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec!["p", "q", "g"]),
        prop::option::of(-1000i64..1000),
        prop::option::of("[a-z\u{e000}😀 \\\\\"\\x00-\\x1f]{0,6}"),
        prop::option::of("[a-z\u{e000}😀 \\\\\"\\x00-\\x1f]{0,6}"),
        prop::option::of(text_value()),
        prop::option::of(text_value()),
        prop::option::of(prop::sample::select(vec![
            "2026-11-27T10:00:00Z",
            "2026-11-27T13:00:00+02:00",
        ])),
    )
        .prop_map(|(action, amount, s1, s2, a, z, time)| {
            let mut root = serde_json::json!({"action": action});
            let mut put = |p: &str, v: Option<Value>| {
                if let Some(v) = v {
                    common::put(&mut root, &p.split('.').collect::<Vec<_>>(), v);
                }
            };
            put(
                "request.params.amount",
                amount.map(|n| serde_json::json!(n as f64 / 4.0)),
            );
            put("request.params.count", amount.map(Value::from));
            put("request.extra", s1.clone().map(Value::from));
            put("resource.owner", s1.map(Value::from));
            put("resource.own", s2.clone().map(Value::from));
            put("resource.id", s2.clone().map(Value::from));
            put("session.id", s2.map(Value::from));
            put("request.params.a", a);
            put("request.params.z", z);
            put("time", time.map(Value::from));
            root
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn approvals_over_escaped_text_bind_alike(req in good_request(), noise in prop::collection::vec(any::<u8>(), 512)) {
        let mut text = String::new();
        let mut it = noise.into_iter().cycle();
        render(&req, &mut it, &mut text);
        let back: Value = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(&back, &req);
        for (e, o) in [(eng(POLICY), Some(eng(OTHER))), (eng(CEL_POLICY), None)] {
            let bad = agree(&e, o.as_ref(), &text);
            prop_assert!(bad.is_empty(), "{}", bad.join("\n"));
        }
    }
}

#[test]
fn time_boxes_obligations_refusals_and_twice_pinned() {
    let e = eng(POLICY);
    let o = eng(OTHER);
    let texts: Vec<String> = [
        r#"{"action":"t"}"#,
        r#"{"action":"t","request":{"params":{"count":3}}}"#,
        r#"{"action":"g"}"#,
        r#"{"action":"g","resource":{"owner":" "}}"#,
        r#"{"action":"q","resource":{"owner":"a"},"request":{"params":{"count":9}}}"#,
        r#"{"action":"q","resource":{"own":"a"},"request":{"params":{"amount":1.5}}}"#,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    run(&e, Some(&o), &texts);
    let n = eng(r#"
        rule "a" { when action == "a" approve { approvers 1 of group "o" } }
        rule "b" { when action == "a" deny "no" }
        rule "c" { when action == "c" deny }
        rule "d" { when action == "c" deny "second" }
        rule "e" { when action == "e" approve { approvers 1 of group "o" bind time } obligations record_session }
        rule "f" { when action == "e" approve { approvers 2 of group "o" bind action, time } obligations record_session, review(24h) }
    "#);
    let texts: Vec<String> = [
        r#"{"action":"a"}"#,
        r#"{"action":"c"}"#,
        r#"{"action":"e"}"#,
        r#"{"action":"e","time":"2026-11-27T10:00:00Z"}"#,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    run(&n, Some(&e), &texts);
    // Pinned twice, then decided: the last time wins, as binding it would.
    let t1: jiff::Timestamp = "2026-11-28T01:00:00Z".parse().unwrap();
    let t2: jiff::Timestamp = "2026-11-29T02:00:00Z".parse().unwrap();
    for text in [
        r#"{"action":"e","time":"2026-11-27T10:00:00Z"}"#,
        r#"{"action":"e"}"#,
    ] {
        let s = n.bind_str(text).unwrap();
        let twice = n.at_time(&n.at_time(&s, t1), t2);
        let mut v: Value = serde_json::from_str(text).unwrap();
        v["time"] = Value::String(t2.to_string());
        let want = n.decide(&n.bind(v).unwrap());
        assert_eq!(n.decide(&twice), want, "{text}");
        assert_eq!(n.decide_ref(&twice).to_json(), want.to_json(), "{text}");
        assert_eq!(n.explain(&twice).decision, want, "{text}");
        eprintln!("{}", want.to_json());
    }
}

#[test]
fn two_faults_are_each_named_by_one_binder() {
    // A wrong type at an approver group's path (first in the text) and at a bound path
    // (first in path order): the stream names one, the tree the other, each a fault alone.
    let e = eng(POLICY);
    let o = eng(OTHER);
    let text = r#"{"action": "p", "resource": {"owner": false}, "request": {"params": false}}"#;
    let (s, t) = (
        e.bind_str(text).unwrap_err(),
        e.bind(serde_json::from_str(text).unwrap()).unwrap_err(),
    );
    assert_eq!(
        (s.path.as_str(), t.path.as_str()),
        ("resource.owner", "request.params")
    );
    let bad = agree(&e, Some(&o), text);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
