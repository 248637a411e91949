//! The runner's own checks: absence, named bases, condition truths, explain against
//! decide, and the errors a suite author gets.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::path::Path;

use writ_cases::{run_path, run_suite, Outcome};

const POLICY: &str = r#"
rule "reads" { when action == "db.read" and device.managed allow }
rule "pay" { when action == "pay" approve { approvers 1 of group "g" ttl 5m } }
rule "nope" { when action == "drop" deny "never" }
rule "boxed" { when action == "db.read" and device.managed allow for 15m }
"#;

/// A policy set with one suite; returns the directory (kept alive by the guard).
fn set_with_suite(suite: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.writ"), POLICY).unwrap();
    std::fs::write(dir.path().join("s.test.toml"), suite).unwrap();
    dir
}

/// Every failure of the suite, as text.
fn failures(suite: &str) -> Vec<String> {
    let dir = set_with_suite(suite);
    run_path(dir.path())
        .failures
        .iter()
        .map(|f| f.to_string())
        .collect()
}

#[test]
fn absence_is_asserted_and_its_violation_named() {
    let ok = failures(
        r#"
[[case]]
name = "a plain deny"
set = { action = "x" }
expect = "deny"
message = "none"
approval = "none"
ttl_s = "none"
"#,
    );
    assert!(ok.is_empty(), "{ok:?}");
    let bad = failures(
        r#"
[[case]]
name = "a deny with a message"
set = { action = "drop" }
expect = "deny"
message = "none"

[[case]]
name = "an approval"
set = { action = "pay" }
expect = "approve"
approval = "none"

[[case]]
name = "a box"
set = { action = "db.read", "device.managed" = true }
expect = "allow"
ttl_s = "none"
"#,
    );
    let text = bad.join("\n");
    assert_eq!(bad.len(), 3, "{text}");
    assert!(
        text.contains("message: expected none, got \"never\""),
        "{text}"
    );
    assert!(
        text.contains("approval: expected none, got approval terms (method"),
        "{text}"
    );
    assert!(text.contains("ttl_s: expected none, got 900"), "{text}");
}

#[test]
fn a_value_that_is_neither_expected_nor_none_is_an_error() {
    let bad = failures(
        "[[case]]\nname = \"x\"\nset = { action = \"x\" }\nexpect = \"deny\"\nttl_s = \"soon\"\n",
    );
    let text = bad.join("\n");
    assert!(text.contains("ERROR"), "{text}");
    assert!(text.contains("or \"none\" for absent"), "{text}");
}

#[test]
fn cases_choose_among_named_bases_and_the_default() {
    let dir = set_with_suite(
        r#"
bases.file = "managed.json"

[base]
action = "db.read"

[bases.pay]
action = "pay"

[[case]]
name = "the default base"
expect = "deny"

[[case]]
name = "a named table"
base = "pay"
expect = "approve"

[[case]]
name = "a named file"
base = "file"
expect = "allow"
rules = ["reads", "boxed"]
"#,
    );
    std::fs::write(
        dir.path().join("managed.json"),
        r#"{"action": "db.read", "device": {"managed": true}}"#,
    )
    .unwrap();
    let summary = run_path(dir.path());
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
    assert_eq!(summary.passed, 3);
}

#[test]
fn an_unknown_base_is_an_error_naming_the_defined_ones() {
    let bad = failures(
        "[bases.pay]\naction = \"pay\"\n\n[[case]]\nname = \"x\"\nbase = \"paid\"\nexpect = \"deny\"\n",
    );
    let text = bad.join("\n");
    assert!(
        text.contains("`base` names `paid`, which this suite does not define"),
        "{text}"
    );
    assert!(text.contains("tables: pay"), "{text}");
}

#[test]
fn conditions_check_the_explain_trace() {
    let ok = failures(
        r#"
[[case]]
name = "absent evidence"
set = { action = "db.read" }
expect = "deny"
conditions = { reads = "unknown", nope = "false" }
"#,
    );
    assert!(ok.is_empty(), "{ok:?}");
    let bad = failures(
        r#"
[[case]]
name = "wrong truths"
set = { action = "db.read" }
expect = "deny"
conditions = { reads = "false", missing = "true" }
"#,
    );
    let text = bad.join("\n");
    assert!(
        text.contains("conditions.\"reads\": expected false, got unknown"),
        "{text}"
    );
    assert!(
        text.contains("conditions.\"missing\": expected true, got no such rule"),
        "{text}"
    );
    let bad =
        failures("[[case]]\nname = \"x\"\nexpect = \"deny\"\nconditions = { reads = \"maybe\" }\n");
    assert!(
        bad.join("\n")
            .contains("`conditions` of \"reads\" must be true, false or unknown, found `maybe`"),
        "{bad:?}"
    );
}

#[test]
fn failures_carry_the_explanation_and_earlier_cases_survive_an_invalid_one() {
    let dir = set_with_suite(
        r#"
[base]
action = "db.read"

[[case]]
name = "wrong"
expect = "allow"

[[case]]
name = "bad request"
set = { "device.managed" = "yes" }
expect = "allow"

[[case]]
name = "typo"
set = { "device.manged" = true }
expect = "allow"

[[case]]
name = "never reached"
expect = "deny"
"#,
    );
    let engine = {
        let sources = writ_check::load_path(dir.path()).unwrap();
        writ_engine::Engine::new(writ_check::check(sources).unwrap())
    };
    let run = run_suite(&engine, &dir.path().join("s.test.toml"));
    assert_eq!(run.cases.len(), 2);
    match &run.cases[0].outcome {
        Outcome::Failed { diffs, explanation } => {
            assert_eq!(diffs, &["decision: expected allow, got deny"]);
            assert_eq!(explanation.rules[0].name, "reads");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(&run.cases[1].outcome, Outcome::InvalidRequest(e) if e.contains("device.managed")),
        "{:?}",
        run.cases[1].outcome
    );
    assert_eq!(run.counts(), (0, 2));
    let error = run.error.unwrap();
    assert!(error.contains("did you mean `device.managed`?"), "{error}");
}

#[test]
fn a_directory_without_suites_fails() {
    let dir = tempfile::tempdir().unwrap();
    let summary = run_path(dir.path());
    assert_eq!(summary.failures.len(), 1);
    assert!(summary.failures[0]
        .to_string()
        .contains("no `*.test.toml` suites"));
    let missing = run_path(Path::new("/nonexistent/writ-cases"));
    assert!(missing.failures[0].to_string().contains("cannot read it"));
}
