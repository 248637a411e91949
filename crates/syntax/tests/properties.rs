//! Property tests of the syntax crate:
//! - round trip: for random well-formed policies, format → parse gives the same tree as
//!   parse (spans aside), formatting is idempotent and keeps every comment;
//! - robustness: arbitrary text and token soup never panic the parser or the formatter;
//! - durations: what `duration_text` prints is a literal the language reads back as the
//!   same number of seconds.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use proptest::prelude::*;
use writ_syntax::erase::erase_spans;
use writ_syntax::{duration_text, format_source, parse_duration, parse_expr, parse_file, FileId};

fn path() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "device.managed",
        "device.patch_age",
        "network.ip",
        "action",
        "principal.groups",
        "principal.kind",
        "request.params.amount",
        "risk",
        "time",
        "corp",
    ])
    .prop_map(str::to_string)
}

fn literal() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z .*#\\\\\"]{0,8}".prop_map(|s| writ_syntax::quote(&s)),
        (-1000i64..1000).prop_map(|i| i.to_string()),
        (0u32..1000, 0u32..100).prop_map(|(a, b)| format!("{a}.{b}")),
        (1u32..100, prop::sample::select(vec!["s", "m", "h", "d"]))
            .prop_map(|(n, u)| format!("{n}{u}")),
        any::<bool>().prop_map(|b| b.to_string()),
    ]
}

fn operand() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => path(),
        3 => literal(),
        1 => prop::collection::vec(literal(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
        1 => Just("cidr [\"10.0.0.0/8\"]".to_string()),
        1 => Just("hours \"Mon-Fri 08:00-18:00\" in \"UTC\"".to_string()),
        1 => Just("cel(\"request.params.amount > 1\")".to_string()),
    ]
}

fn op() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "==", "!=", "<", "<=", ">", ">=", "in", "not in", "matches", "has", "has any", "has all",
        "within",
    ])
}

fn expr() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        operand(),
        (operand(), op(), operand()).prop_map(|(a, o, b)| format!("{a} {o} {b}")),
    ];
    leaf.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} and {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} or {b}")),
            inner.clone().prop_map(|a| format!("not {a}")),
            inner.prop_map(|a| format!("({a})")),
        ]
    })
}

fn effect() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("allow".to_string()),
        Just("allow for 15m".to_string()),
        Just("deny".to_string()),
        "[a-z ]{0,10}".prop_map(|m| format!("deny \"{m}\"")),
        Just("approve { approvers 2 of group \"treasury\" method webauthn bind action, request.params ttl 2m }".to_string()),
    ]
}

fn item() -> impl Strategy<Value = String> {
    prop_oneof![
        (expr(), effect(), any::<bool>()).prop_map(|(e, eff, obl)| {
            let obligations = if obl {
                " obligations record_session, review(24h), notify(\"x\")"
            } else {
                ""
            };
            format!("rule \"r\" {{ when {e} {eff}{obligations} }}")
        }),
        (1u32..100, expr()).prop_map(|(p, e)| format!("risk {{ +{p} \"s\" when {e} }}")),
        prop::collection::vec(literal(), 0..4).prop_map(|v| format!("let l = [{}]", v.join(", "))),
        Just("schema { resource.env: \"a\" | \"b\" request.params.amount: number }".to_string()),
    ]
}

/// Items joined by whitespace, with comments sprinkled between them.
fn file() -> impl Strategy<Value = String> {
    common::file_of(item(), "[a-z #\"]{0,12}")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn format_round_trips(src in file()) {
        let original = parse_file(FileId(0), &src).map_err(|d| TestCaseError::fail(format!("{d:?}\n{src}")))?;
        let formatted = format_source(&src).unwrap();
        let reparsed = parse_file(FileId(0), &formatted).map_err(|d| TestCaseError::fail(format!("{d:?}\n{formatted}")))?;
        let before: Vec<String> = original.comments.iter().map(|c| c.text.clone()).collect();
        let after: Vec<String> = reparsed.comments.iter().map(|c| c.text.clone()).collect();
        prop_assert_eq!(erase_spans(original), erase_spans(reparsed));
        prop_assert_eq!(before, after);
        prop_assert_eq!(format_source(&formatted).unwrap(), formatted);
    }

    #[test]
    fn durations_print_as_the_language_reads_them(s in prop_oneof![0u64..200_000, any::<u64>()]) {
        let text = duration_text(s);
        prop_assert_eq!(parse_duration(&text), Some(s), "{}", text);
        let expr = format!("session.auth_age < {text}");
        prop_assert!(parse_expr(FileId(0), &expr).is_ok(), "{}", expr);
    }

    #[test]
    fn arbitrary_text_never_panics(src in "\\PC{0,200}") {
        let _ = parse_file(FileId(0), &src);
        let _ = parse_expr(FileId(0), &src);
        let _ = format_source(&src);
    }

    #[test]
    fn token_soup_never_panics(tokens in prop::collection::vec(prop::sample::select(vec![
        "rule", "\"r\"", "{", "}", "(", ")", "[", "]", ",", "when", "allow", "deny", "approve", "for",
        "approvers", "of", "group", "method", "bind", "ttl", "obligations", "risk", "+10", "-3", "let",
        "=", "schema", ":", "|", "cidr", "hours", "in", "not", "and", "or", "has", "any", "all", "within",
        "matches", "==", "!=", "<", ">=", "device.managed", "action", "5m", "1.5", "99999999999999999999",
        "\"\\u{110000}\"", "\"\\q\"", "#", "\n", "cel(\"a >\")", "true", "x.y.z",
    ]), 0..40)) {
        let src = tokens.join(" ");
        let _ = parse_file(FileId(0), &src);
        let _ = format_source(&src);
    }
}

#[test]
fn durations_are_compound_largest_unit_first() {
    for (s, text) in [
        (0, "0s"),
        (90, "1m30s"),
        (300, "5m"),
        (3600, "1h"),
        (3601, "1h1s"),
        (5400, "1h30m"),
        (86_400 + 3600, "1d1h"),
        (30 * 86_400, "30d"),
    ] {
        assert_eq!(duration_text(s), text);
    }
}
