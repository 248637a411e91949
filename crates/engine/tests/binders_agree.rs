//! The streaming binder (`bind_str`, JSON text straight into typed slots) and the tree
//! binder (`bind`, from a parsed `serde_json::Value`) must accept and refuse the same
//! requests and lead to the same decision; when they name different paths (a request
//! with several faults), each named path must be a fault on its own.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use proptest::prelude::*;
use serde_json::{json, Map, Value};
use writ_engine::Engine;

use common::binding_engine as engine;
use common::{only, put};

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-5i64..20).prop_map(Value::from),
        // Beyond a 64-bit int: refused alike, read or not.
        Just(json!(9_223_372_036_854_775_808u64)),
        // Integers on both sides of ±(2^53−1).
        (-(1i64 << 54)..(1i64 << 54)).prop_map(Value::from),
        // Around the largest integer the digest's canonical form holds exactly: the
        // larger ones are refused alike, wherever they are.
        prop::sample::select(vec![
            json!(9_007_199_254_740_991i64),
            json!(9_007_199_254_740_992i64),
            json!(-9_007_199_254_740_992i64),
            json!(1e300),
        ]),
        (0u32..100).prop_map(|x| json!(f64::from(x) / 4.0)),
        prop::sample::select(vec![
            "a",
            "p",
            "prod",
            "dev",
            "g",
            "10.1.2.3",
            "fd00::1",
            "bad ip",
            "5m",
            "2h",
            "2026-11-27T10:00:00Z",
            "2026-11-28T10:00:00+01:00",
            "x\"y"
        ])
        .prop_map(Value::from),
        prop::collection::vec(
            prop::sample::select(vec!["g", "h", "i"]).prop_map(Value::from),
            0..3
        )
        .prop_map(Value::from),
        prop::collection::vec((0i64..3).prop_map(Value::from), 1..2).prop_map(Value::from),
        // Public keys (`principal.key`) and near misses.
        prop::sample::select(vec![
            json!({"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}),
            json!({"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "BBBB"}),
            json!({"kty": "RSA", "n": "AAAA", "e": "AQAB"}),
            json!({"kty": "OKP", "crv": "Ed25519", "x": "AAAA", "d": "CCCC"}),
            json!({"kty": "EC", "crv": "P-256", "x": "AAAA"}),
        ]),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(2, 8, 3, |inner| {
        prop::collection::vec(
            (
                prop::sample::select(vec!["x", "managed", "amount", "tags", "ip"]),
                inner,
            ),
            0..3,
        )
        .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
    })
}

fn request() -> impl Strategy<Value = Value> {
    let paths = vec![
        "action",
        "time",
        "device.managed",
        "device.extra",
        "network.ip",
        "principal.groups",
        "principal.kind",
        "request.params.amount",
        "request.params.tags",
        "request.params.other",
        "resource.env",
        "resource.level",
        "request.params.count",
        "session.auth_age",
        "scope.requested",
        "request.break_glass",
        "device",
        "request.params",
        "principal.key",
    ];
    prop::collection::vec(
        (
            prop::sample::select(paths),
            prop_oneof![4 => scalar(), 1 => value()],
        ),
        0..8,
    )
    .prop_map(|entries| {
        let mut root = Value::Object(Map::new());
        for (path, v) in entries {
            let segs: Vec<&str> = path.split('.').collect();
            put(&mut root, &segs, v);
        }
        root
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn streaming_and_tree_binding_agree(req in request()) {
        let e = engine();
        let text = req.to_string();
        let streamed = e.bind_str(&text);
        let tree = e.bind(req.clone());
        match (&streamed, &tree) {
            (Ok(a), Ok(b)) => prop_assert_eq!(e.decide(a), e.decide(b), "{}", text),
            // With several faults, each binder names the first it meets (document order
            // for the stream, path order for the tree): both must be real faults.
            (Err(a), Err(b)) if a.path != b.path => {
                for path in [&a.path, &b.path] {
                    let alone = only(&req, path);
                    prop_assert!(e.bind(alone.clone()).is_err(), "`{}` alone is accepted: {}", path, alone);
                }
            }
            (Err(_), Err(_)) => {}
            _ => prop_assert!(false, "one binder accepted, the other refused: {} → {:?} / {:?}", text, streamed.as_ref().err(), tree.as_ref().err()),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// A key repeated in any object of any request is refused, naming its path, by the
    /// streaming binder and by `parse_request` (a parsed value has lost the repetition).
    #[test]
    fn a_repeated_key_anywhere_is_refused(req in request(), pick in any::<prop::sample::Index>()) {
        let e = engine();
        let text = req.to_string();
        let opens: Vec<usize> = text.match_indices('{').map(|(i, _)| i).collect();
        let at = opens[pick.index(opens.len())] + 1;
        let twice = format!("{}\"dup\":1,\"dup\":2{}{}", &text[..at], if &text[at..at + 1] == "}" { "" } else { "," }, &text[at..]);
        let err = e.bind_str(&twice).unwrap_err();
        if e.bind_str(&text).is_err() {
            // Another fault may come first in document order: refused all the same.
            return Ok(());
        }
        prop_assert!(err.path == "dup" || err.path.ends_with(".dup"), "{} → {}", twice, err);
        prop_assert!(err.message.contains("appears twice"), "{}", err);
        let parsed = writ_engine::parse_request(&twice).unwrap_err();
        prop_assert_eq!(parsed, err);
    }
}

#[test]
fn root_shapes_are_refused_alike() {
    let e = engine();
    for text in [
        "[]",
        "null",
        "3",
        "\"x\"",
        r#"{"risk": 1}"#,
        r#"{"devise": {}}"#,
        r#"{"device": []}"#,
    ] {
        let a = e.bind_str(text).unwrap_err();
        let b = e.bind(serde_json::from_str(text).unwrap()).unwrap_err();
        assert_eq!(a.path, b.path, "{text}: {a} / {b}");
    }
    assert!(e
        .bind_str("{")
        .unwrap_err()
        .message
        .contains("not valid JSON"));
    assert!(e
        .bind_str("{} x")
        .unwrap_err()
        .message
        .contains("not valid JSON"));
}

#[test]
fn what_the_rules_read_is_what_the_digest_binds() {
    let e = engine();
    let base = r#""action": "p", "request": {"params": {"amount": 300, "x": JUNK}}"#;
    // Skipped values are parsed as strictly as a full parse: a number out of range or a
    // lone surrogate is refused, never left for a later re-read to fail on.
    for junk in ["1e400", "-1e400", "\"\\ud800\""] {
        let text = format!("{{{}}}", base.replace("JUNK", junk));
        let err = e.bind_str(&text).unwrap_err();
        assert!(err.message.contains("not valid JSON"), "{junk}: {err}");
    }
    // An integer the digest cannot hold exactly is refused before any parse.
    let text = format!("{{{}}}", base.replace("JUNK", &"9".repeat(400)));
    let err = e.bind_str(&text).unwrap_err();
    assert_eq!(err.path, "request.params.x", "{err}");
    assert!(err.message.contains("send it as a string"), "{err}");
    // A key given twice on a path the rules read is refused (the rules would read one
    // value, the digest and the service another).
    for (text, path) in [
        (r#"{"action": "p", "action": "a"}"#, "action"),
        (
            r#"{"request": {"params": {"amount": 300}}, "request": {"params": null}}"#,
            "request",
        ),
        (
            r#"{"request": {"params": {"amount": 1, "amount": null}}}"#,
            "request.params.amount",
        ),
    ] {
        let err = e.bind_str(text).unwrap_err();
        assert_eq!(err.path, path, "{text}: {err}");
    }
    // Unread keys may not repeat either: the digest would read the last one and a
    // first-wins service the first.
    let err = e
        .bind_str(r#"{"action": "p", "request": {"params": {"x": 1, "x": 2}}}"#)
        .unwrap_err();
    assert_eq!(err.path, "request.params.x", "{err}");
}

#[test]
fn an_int_beyond_the_exact_range_is_refused_in_both_binders() {
    let e = engine();
    // `resource.level` is read by a rule, `request.params.count` by none, `device.n` is
    // no known path: an integer the digest's canonical form cannot hold exactly is
    // refused at all three, alike.
    for path in ["resource.level", "request.params.count", "device.n"] {
        for n in [
            "9007199254740992",
            "-9007199254740992",
            "9223372036854775808",
            "18446744073709551615",
        ] {
            let mut req = json!({});
            put(&mut req, &path.split('.').collect::<Vec<_>>(), json!(0));
            let text = req.to_string().replace(":0", &format!(":{n}"));
            let a = e.bind_str(&text).unwrap_err();
            let b = e.bind(serde_json::from_str(&text).unwrap()).unwrap_err();
            assert_eq!(a, b, "{text}");
            assert_eq!(a.path, path, "{text}: {a}");
            assert!(a.message.contains(&format!("`{n}`")), "{text}: {a}");
            assert!(a.message.contains("send it as a string"), "{text}: {a}");
        }
        for n in ["9007199254740991", "-9007199254740991"] {
            let mut req = json!({});
            put(&mut req, &path.split('.').collect::<Vec<_>>(), json!(0));
            let text = req.to_string().replace(":0", &format!(":{n}"));
            assert!(e.bind_str(&text).is_ok(), "{text}");
            assert!(
                e.bind(serde_json::from_str(&text).unwrap()).is_ok(),
                "{text}"
            );
        }
    }
}

#[test]
fn principal_key_is_a_public_ed25519_or_p256_jwk_in_both_binders() {
    let e = engine();
    let bind_both = |key: Value| {
        let req = json!({"action": "p", "principal": {"id": "w", "key": key}});
        let a = e.bind_str(&req.to_string());
        let b = e.bind(req.clone());
        assert_eq!(
            a.as_ref().err(),
            b.as_ref().err(),
            "the binders disagree on {req}"
        );
        a.map(|_| ())
    };
    for key in [
        json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}),
        json!({"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
               "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0", "kid": "w-1", "alg": "ES256"}),
        Value::Null,
    ] {
        assert_eq!(bind_both(key.clone()), Ok(()), "{key}");
    }
    for (key, says) in [
        (
            json!({"kty": "RSA", "n": "AAAA", "e": "AQAB"}),
            "found a key of type `RSA`",
        ),
        (
            json!({"kty": "OKP", "crv": "X25519", "x": "AAAA"}),
            "found a key of type `OKP` on curve `X25519`",
        ),
        (
            json!({"kty": "EC", "crv": "P-384", "x": "AAAA", "y": "BBBB"}),
            "found a key of type `EC` on curve `P-384`",
        ),
        (
            json!({"crv": "Ed25519", "x": "AAAA"}),
            "found a JWK without a `kty` string",
        ),
        (
            json!({"kty": "OKP", "crv": "Ed25519", "x": "AAAA", "d": "CCCC"}),
            "the JWK holds a private key (`d`)",
        ),
        (
            json!({"kty": "EC", "crv": "P-256", "x": "AAAA"}),
            "the JWK has no `y` string",
        ),
        (
            json!({"kty": "OKP", "crv": "Ed25519", "x": 5}),
            "the JWK has no `x` string",
        ),
        (json!("AAAA"), "found a string"),
    ] {
        let err = bind_both(key.clone()).unwrap_err();
        assert_eq!(err.path, "principal.key", "{key}: {err}");
        assert!(err.message.contains(says), "{key}: {err}");
        assert!(
            err.message
                .contains(r#"Ed25519 ({"kty":"OKP","crv":"Ed25519","x":…}) or P-256"#),
            "{key}: {err}"
        );
    }
}

/// The same set with one more rule (another version), whose CEL leaf reads `time`.
fn other_version() -> Engine {
    common::engine_of(
        "p.writ",
        r#"
        schema { resource.level: int }
        rule "d" { when time in hours "Mon-Fri 00:00-12:00" in "UTC" deny }
        rule "c" { when cel("size(string(time)) > 30") deny }
        rule "l" { when resource.level > 3 approve { approvers 1 of group "o" bind time, resource.level } }
        "#,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// `at_time` is binding the request again with its `time` replaced: the same typed
    /// values, JSON and decision, whether it was bound from text or from a value, not yet
    /// parsed or parsed, and after a re-bind for another policy version.
    #[test]
    fn a_request_at_another_time_is_the_request_bound_with_that_time(
        req in request(),
        hour in 0i64..(24 * 14),
        parse_first in any::<bool>(),
    ) {
        let e = engine();
        let at: jiff::Timestamp = jiff::Timestamp::from_second(1_795_000_000 + hour * 3600).unwrap();
        let Ok(sent) = e.bind_str(&req.to_string()) else { return Ok(()) };
        let mut with_time = req.clone();
        if let Some(map) = with_time.as_object_mut() {
            map.insert("time".into(), Value::String(at.to_string()));
        }
        let expected = e.bind(with_time.clone()).unwrap();
        for bound in [sent, e.bind(req.clone()).unwrap()] {
            if parse_first {
                bound.json();
            }
            let moved = e.at_time(&bound, at);
            prop_assert_eq!(moved.time(), at);
            prop_assert_eq!(moved.json(), &with_time);
            prop_assert_eq!(e.decide(&moved), e.decide(&expected));
            prop_assert_eq!(e.explain(&moved).decision, e.explain(&expected).decision);
            // Another version re-binds it and keeps the pinned time.
            let other = other_version();
            if let Ok(there) = other.bind(with_time.clone()) {
                prop_assert_eq!(other.decide(&moved), other.decide(&there));
                prop_assert_eq!(other.decide(&other.at_time(&bound, at)), other.decide(&there));
            }
        }
    }
}
