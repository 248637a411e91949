//! The hashing canonical writer (`writ_engine::digest`) writes exactly what the RFC 8785
//! canonicalizer crate writes, on random JSON: numbers of every kind (ES6 formatting),
//! keys that sort differently by UTF-16 code units than by bytes, escapes, nesting.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use proptest::prelude::*;
use serde_json::{Map, Number, Value};

fn text() -> impl Strategy<Value = String> {
    // Controls, quotes, backslashes, ASCII, the BMP above U+E000 and beyond U+FFFF.
    let ch = prop_oneof![
        (0u32..0x20).prop_map(|c| char::from_u32(c).unwrap()),
        prop::sample::select(vec![
            '"', '\\', '/', '\u{7f}', 'a', 'Z', '0', 'é', '\u{2028}'
        ]),
        (0xe000u32..0x10000).prop_map(|c| char::from_u32(c).unwrap_or('x')),
        (0x10000u32..0x110000).prop_map(|c| char::from_u32(c).unwrap_or('y')),
        (0x20u32..0x7f).prop_map(|c| char::from_u32(c).unwrap()),
    ];
    prop::collection::vec(ch, 0..6).prop_map(|v| v.into_iter().collect())
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-100i64..100).prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        (-1e6f64..1e6).prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        (-30i32..30, 1u32..1000).prop_map(|(e, m)| {
            Value::Number(Number::from_f64(f64::from(m) * 10f64.powi(e)).unwrap())
        }),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((text(), inner), 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn the_writer_equals_the_canonicalizer(v in json()) {
        let expected = serde_json_canonicalizer::to_vec(&v).unwrap();
        let got = writ_engine::digest::canonical(&v);
        prop_assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&expected));
    }

    #[test]
    fn the_transaction_digest_equals_the_bound_object_canonicalized(
        members in prop::collection::vec((prop::sample::select(vec!["a", "b", "c.d", "\u{e000}", "\u{10000}", "e"]), json()), 0..8),
        paths in prop::collection::vec(prop::sample::select(vec!["a", "b", "c.d", "c", "\u{e000}", "\u{10000}", "zz", "e.f"]), 0..20),
    ) {
        let mut map = Map::new();
        for (k, v) in members {
            if let Some((root, leaf)) = k.split_once('.') {
                map.insert(root.to_string(), serde_json::json!({ leaf: v }));
            } else {
                map.insert(k.to_string(), v);
            }
        }
        let request = Value::Object(map);
        let bound = writ_engine::digest::bound_object(&request, paths.iter().copied());
        let canonical = serde_json_canonicalizer::to_vec(&bound).unwrap();
        let mut h = <sha2::Sha256 as sha2::Digest>::new();
        sha2::Digest::update(&mut h, b"writ-txn-v1\0");
        sha2::Digest::update(&mut h, &canonical);
        let hex: String = sha2::Digest::finalize(h).iter().map(|b| format!("{b:02x}")).collect();
        prop_assert_eq!(
            writ_engine::digest::transaction_digest(&request, paths.iter().copied()),
            format!("sha256:{hex}")
        );
    }
}
