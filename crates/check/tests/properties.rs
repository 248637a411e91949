//! The checker never panics, whatever the input: arbitrary text, token soup built from the
//! language's own words, and arbitrary text inside `cel("...")`, `hours`, `cidr` and
//! `matches` literals, where the validators see it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use proptest::prelude::*;
use writ_syntax::{quote, SourceMap};

fn check(text: &str) {
    let mut sources = SourceMap::default();
    sources.add("fuzz.writ", text);
    let _ = writ_check::check(sources);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_text(src in "\\PC{0,200}") {
        check(&src);
    }

    #[test]
    fn arbitrary_literals_reach_the_validators(text in "\\PC{0,40}", op in prop::sample::select(vec!["<", ">=", "&&", "||", "(", ")", ".", "'", "[", "]", "in", "!"])) {
        let s = quote(&format!("{text}{op}{text}"));
        check(&format!("rule \"c\" {{ when cel({s}) deny }}"));
        check(&format!("let h = hours {s} in {s}"));
        check(&format!("let n = cidr [{s}]"));
        check(&format!("rule \"m\" {{ when action matches {s} deny }}"));
        check(&format!("rule \"e\" {{ when network.ip == {s} or time == {s} deny }}"));
    }

    #[test]
    fn token_soup(tokens in prop::collection::vec(prop::sample::select(vec![
        "rule", "\"r\"", "\"s\"", "{", "}", "(", ")", "[", "]", ",", "when", "allow", "deny", "approve",
        "approvers", "0", "1", "of", "group", "method", "otp", "bind", "ttl", "0s", "obligations",
        "risk", "+10", "-3", "let", "x", "=", "schema", ":", "|", "int", "cidr", "hours", "in", "not",
        "and", "or", "has", "any", "all", "within", "matches", "==", "<", "device.managed", "action",
        "time", "principal", "request.params", "request.params.a", "network.ip", "5m", "1.5",
        "\"10.0.0.0/8\"", "\"Mon-Fri 08:00-18:00\"", "\"UTC\"", "cel(\"a >\")", "cel(\"request.x > 1\")",
        "true", "scope.requested",
    ]), 0..40)) {
        check(&tokens.join(" "));
    }
}
