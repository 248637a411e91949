//! The typed request builder (`Engine::request`) binds what the text binder binds: the
//! same typed values, decision, digest and JSON for every request, the same refusals;
//! and `decide_batch` decides each request as `decide` does.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use proptest::prelude::*;
use serde_json::{json, Map, Value};
use writ_engine::{BindError, Engine, Request, RequestBuilder};

use common::binding_engine as engine;

/// The builder calls that give `v` at `path`: one typed call per leaf.
fn add<'e>(b: RequestBuilder<'e>, path: &str, v: &Value) -> RequestBuilder<'e> {
    match v {
        Value::Object(m) if !m.is_empty() && !path.is_empty() && path != "principal.key" => m
            .iter()
            .fold(b, |b, (k, v)| add(b, &format!("{path}.{k}"), v)),
        Value::Object(m) if path.is_empty() => m.iter().fold(b, |b, (k, v)| add(b, k, v)),
        Value::String(s) => b.str(path, s),
        Value::Bool(x) => b.bool(path, *x),
        Value::Number(n) if n.is_i64() => b.int(path, n.as_i64().unwrap()),
        Value::Number(n) if n.is_f64() => b.num(path, n.as_f64().unwrap()),
        Value::Array(items) if items.iter().all(Value::is_string) => {
            b.strs(path, items.iter().filter_map(Value::as_str))
        }
        other => b.json(path, other.clone()),
    }
}

fn build(e: &Engine, req: &Value) -> Result<Request, BindError> {
    add(e.request(), "", req).build()
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-5i64..20).prop_map(Value::from),
        (0u32..100).prop_map(|x| json!(f64::from(x) / 4.0)),
        prop::sample::select(vec![
            "a",
            "p",
            "g",
            "prod",
            "dev",
            "o",
            "10.1.2.3",
            "bad ip",
            "5m",
            "2026-11-27T10:00:00Z",
            "2026-11-28T10:00:00+01:00",
        ])
        .prop_map(Value::from),
        prop::collection::vec(
            prop::sample::select(vec!["g", "h"]).prop_map(Value::from),
            0..3
        )
        .prop_map(Value::from),
        Just(json!({"kty": "OKP", "crv": "Ed25519", "x": "AAAA"})),
        Just(json!({"kty": "RSA"})),
    ]
}

fn request() -> impl Strategy<Value = Value> {
    let paths = vec![
        "action",
        "time",
        "device.managed",
        "device.extra",
        "network.ip",
        "principal.groups",
        "principal.key",
        "request.params.amount",
        "request.params.tags",
        "request.params.count",
        "request.params.other",
        "resource.env",
        "resource.level",
        "resource.owner",
        "session.auth_age",
    ];
    prop::collection::btree_map(prop::sample::select(paths), scalar(), 0..8).prop_map(|entries| {
        let mut root = Value::Object(Map::new());
        for (path, v) in entries {
            let segs: Vec<&str> = path.split('.').collect();
            common::put(&mut root, &segs, v);
        }
        root
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn the_builder_binds_what_the_text_binder_binds(req in request()) {
        let e = engine();
        let text = req.to_string();
        match (e.bind_str(&text), build(&e, &req)) {
            (Ok(a), Ok(b)) => {
                prop_assert_eq!(e.decide(&a), e.decide(&b), "{}", text);
                prop_assert_eq!(a.json(), b.json(), "{}", text);
            }
            // One fault each: the same words.
            (Err(a), Err(b)) => prop_assert_eq!(a.path.is_empty(), b.path.is_empty(), "{}: {} / {}", text, a, b),
            (a, b) => prop_assert!(false, "{} → {:?} / {:?}", text, a.err(), b.err()),
        }
    }
}

#[test]
fn typing_errors_are_bindings_word_for_word() {
    let e = engine();
    let cases: Vec<(RequestBuilder<'_>, &str)> = vec![
        (
            e.request().str("device.managed", "yes"),
            r#"{"device":{"managed":"yes"}}"#,
        ),
        (e.request().int("action", 3), r#"{"action":3}"#),
        (
            e.request().str("network.ip", "bad"),
            r#"{"network":{"ip":"bad"}}"#,
        ),
        (e.request().str("time", "noon"), r#"{"time":"noon"}"#),
        (
            e.request().str("resource.env", "qa"),
            r#"{"resource":{"env":"qa"}}"#,
        ),
        (
            e.request().num("resource.level", 1.5),
            r#"{"resource":{"level":1.5}}"#,
        ),
        (
            e.request().int("session.auth_age", -5),
            r#"{"session":{"auth_age":-5}}"#,
        ),
        (
            e.request().bool("principal.groups", true),
            r#"{"principal":{"groups":true}}"#,
        ),
        (e.request().str("risk", "x"), r#"{"risk":"x"}"#),
        (
            e.request().str("devise.managed", "x"),
            r#"{"devise":{"managed":"x"}}"#,
        ),
        (
            e.request().bool("device.managed.x", true),
            r#"{"device":{"managed":{"x":true}}}"#,
        ),
        (
            e.request().int("resource.level", 9_007_199_254_740_992),
            r#"{"resource":{"level":9007199254740992}}"#,
        ),
        (
            e.request().json("principal.key", json!({"kty": "RSA"})),
            r#"{"principal":{"key":{"kty":"RSA"}}}"#,
        ),
        (
            e.request().json("request.params", json!({"count": "x"})),
            r#"{"request":{"params":{"count":"x"}}}"#,
        ),
    ];
    for (builder, text) in cases {
        let built = builder.build().unwrap_err();
        let bound = e.bind_str(text).unwrap_err();
        assert_eq!(built, bound, "{text}");
    }
}

#[test]
fn each_value_once() {
    let e = engine();
    let err = e
        .request()
        .str("action", "a")
        .str("action", "b")
        .build()
        .unwrap_err();
    assert_eq!(err.path, "action");
    assert!(err.message.contains("appears twice"), "{err}");
    let err = e
        .request()
        .json("request.params", json!({"amount": 1}))
        .num("request.params.amount", 2.0)
        .build()
        .unwrap_err();
    assert_eq!(err.path, "request.params.amount");
    assert!(err.message.contains("inside `request.params`"), "{err}");
    let err = e
        .request()
        .num("request.params.amount", f64::NAN)
        .build()
        .unwrap_err();
    assert!(err.message.contains("finite"), "{err}");
    let err = e.request().str("device..managed", "x").build().unwrap_err();
    assert!(err.message.contains("dotted path"), "{err}");
}

#[test]
fn an_approval_built_binds_the_same_digest() {
    let e = engine();
    let text = r#"{"action":"p","time":"2026-11-28T13:00:00Z","resource":{"level":1},"request":{"params":{"amount":300,"count":1,"payee":"ACME","tags":["a"]}}}"#;
    let bound = e.bind_str(text).unwrap();
    let built = e
        .request()
        .str("action", "p")
        .str("time", "2026-11-28T13:00:00Z")
        .int("resource.level", 1)
        .json(
            "request.params",
            json!({"amount": 300, "count": 1, "payee": "ACME", "tags": ["a"]}),
        )
        .build()
        .unwrap();
    let (a, b) = (e.decide(&bound), e.decide(&built));
    assert_eq!(a.decision.as_str(), "approve");
    assert_eq!(a, b);
    assert!(a.approval.is_some_and(|x| x.digest.starts_with("sha256:")));
    // A group read from the request, and its digest.
    let text = r#"{"action":"g","resource":{"owner":"team-a","id":"r1"}}"#;
    let built = e
        .request()
        .str("action", "g")
        .str("resource.owner", "team-a")
        .str("resource.id", "r1")
        .build()
        .unwrap();
    assert_eq!(e.decide(&e.bind_str(text).unwrap()), e.decide(&built));
}

#[test]
fn a_batch_is_decided_as_one_by_one() {
    let e = engine();
    let requests: Vec<Request> = (0..1500)
        .map(|i| {
            let b = e
                .request()
                .str("action", ["a", "p", "g"][i % 3])
                .int("resource.level", (i % 7) as i64)
                .bool("device.managed", i % 2 == 0)
                .strs("principal.groups", ["g"]);
            b.build().unwrap()
        })
        .collect();
    let one_by_one: Vec<_> = requests.iter().map(|r| e.decide(r)).collect();
    assert_eq!(e.decide_batch(&requests), one_by_one);
    assert_eq!(e.decide_batch(&requests[..3]), one_by_one[..3]);
    assert!(e.decide_batch(&[]).is_empty());
}
