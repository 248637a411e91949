//! Nesting depth cannot kill the process: too-deep policy text is refused with a
//! diagnostic before any stage recurses on it, and text at the limit, or with flat
//! `and`/`or` chains of thousands of terms, goes through every stage (parse, check,
//! compile, decide, explain, format, lint) on a 2 MiB stack — the stack of the policy
//! watcher's thread, and of test threads.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use writ_engine::Engine;
use writ_syntax::MAX_NESTING;

fn parens(n: usize) -> String {
    format!(
        "rule \"r\" {{ when {}action == \"x\"{} allow }}\n",
        "(".repeat(n),
        ")".repeat(n)
    )
}

fn nots(n: usize) -> String {
    // An even number of `not`s: the rule still allows `x`.
    format!(
        "rule \"r\" {{ when {}action == \"x\" allow }}\n",
        "not ".repeat(n)
    )
}

fn mixed(n: usize) -> String {
    format!(
        "rule \"r\" {{ when {}action == \"x\"{} allow }}\n",
        "not not (".repeat(n / 3),
        ")".repeat(n / 3)
    )
}

fn chain(op: &str, n: usize) -> String {
    let terms: Vec<String> = (0..n).map(|i| format!("resource.id != \"r{i}\"")).collect();
    format!(
        "rule \"r\" {{ when action == \"x\" and ({}) allow }}\n",
        terms.join(&format!(" {op} "))
    )
}

fn check(text: &str) -> Result<writ_check::PolicySet, writ_check::Rejected> {
    let mut sources = writ_syntax::SourceMap::default();
    sources.add("deep.writ", text);
    writ_check::check(sources)
}

/// Runs `f` on a thread with the watcher's 2 MiB stack.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

/// Every stage, and the decision it reaches on `{"action": "x"}`.
fn every_stage(text: String) -> String {
    let formatted = writ_syntax::format_source(&text).unwrap();
    let set = check(&text).unwrap_or_else(|r| {
        panic!(
            "{}",
            writ_syntax::render(&r.diagnostics, &r.sources, writ_syntax::Style::Plain)
        )
    });
    let _ = writ_lint::lint(&set, &writ_lint::Config::default());
    let e = Engine::new(set);
    let req = e
        .bind_str(r#"{"action": "x", "resource": {"id": "a"}}"#)
        .unwrap();
    let d = e.decide(&req);
    assert_eq!(d, e.explain(&req).decision);
    // The formatted text checks to the same decision.
    let again = Engine::new(check(&formatted).unwrap());
    assert_eq!(
        again
            .decide(
                &again
                    .bind_str(r#"{"action": "x", "resource": {"id": "a"}}"#)
                    .unwrap()
            )
            .decision,
        d.decision
    );
    d.decision.as_str().to_string()
}

/// A CEL leaf at both of its limits: brackets 64 deep around a chain of selections and
/// operators (256 operator characters in all).
fn cel_at_limit() -> String {
    // `action == 'x'` is 2 operator characters, ` || !false` 3: 2 + 3 × 84 = 254.
    let chain = "action == 'x'".to_string() + &" || !false".repeat(84);
    let cel = format!("{}{chain}{}", "(".repeat(64), ")".repeat(64));
    format!("rule \"r\" {{ when cel(\"{cel}\") allow }}\n")
}

#[test]
fn nesting_at_the_limit_goes_through_every_stage_on_a_small_stack() {
    for text in [
        parens(MAX_NESTING),
        nots(MAX_NESTING),
        mixed(MAX_NESTING),
        cel_at_limit(),
    ] {
        assert_eq!(on_small_stack(move || every_stage(text)), "allow");
    }
}

#[test]
fn long_flat_chains_do_not_recurse_per_term() {
    assert_eq!(
        on_small_stack(|| every_stage(chain("and", 10_000))),
        "allow"
    );
    assert_eq!(on_small_stack(|| every_stage(chain("or", 10_000))), "allow");
}

#[test]
fn deep_nesting_is_a_diagnostic_not_a_stack_overflow() {
    for (text, line_col) in [
        (parens(1_000), "deep.writ:1:"),
        (nots(6_000), "deep.writ:1:"),
        (parens(MAX_NESTING + 1), "deep.writ:1:"),
        (nots(MAX_NESTING + 1), "deep.writ:1:"),
        (mixed(MAX_NESTING + 3), "deep.writ:1:"),
    ] {
        let r = on_small_stack(move || check(&text).err().unwrap());
        assert_eq!(r.diagnostics.len(), 1);
        let d = &r.diagnostics[0];
        assert_eq!(d.code, "writ::nesting");
        let one = d.one_line(&r.sources);
        assert!(one.contains(line_col), "{one}");
        assert!(one.contains("nested deeper than 64 levels"), "{one}");
        assert!(d.help.as_deref().unwrap().contains("at most 64"));
    }
    // The diagnostic points at the level too many, with its line and column.
    let text = format!(
        "\n\nrule \"r\" {{\n  when {}x{} allow }}\n",
        "(".repeat(70),
        ")".repeat(70)
    );
    let r = check(&text).err().unwrap();
    let one = r.diagnostics[0].one_line(&r.sources);
    assert!(one.contains("deep.writ:4:72"), "{one}");
    // A lone expression (the REPL) is bounded alike.
    let expr = format!("{}x", "not ".repeat(6_000));
    let d = writ_syntax::parse_expr(writ_syntax::FileId(0), &expr).unwrap_err();
    assert_eq!(d[0].code, "writ::nesting");
    // CEL text is bounded before the `cel` crate's recursive parser sees it.
    for (cel, what) in [
        (
            format!("{}true{}", "(".repeat(65), ")".repeat(65)),
            "nested deeper than 64",
        ),
        (
            format!("{}true{}", "[".repeat(10_000), "]".repeat(10_000)),
            "nested deeper than 64",
        ),
        (
            vec!["1"; 10_000].join(" + ") + " > 0",
            "more than 256 operators",
        ),
        (
            format!("request{} == 1", ".a".repeat(10_000)),
            "more than 256 operators",
        ),
        (
            format!("{}true", "!".repeat(257)),
            "more than 256 operators",
        ),
    ] {
        let text = format!("rule \"r\" {{ when cel(\"{cel}\") allow }}\n");
        let r = on_small_stack(move || check(&text).err().unwrap());
        let one = r.diagnostics[0].one_line(&r.sources);
        assert_eq!(r.diagnostics[0].code, "writ::cel", "{one}");
        assert!(one.contains(what), "{one}");
    }
    // Brackets inside CEL strings do not count.
    check(&format!(
        "rule \"r\" {{ when cel(\"action == '{}'\") allow }}\n",
        "(".repeat(100)
    ))
    .unwrap();
    // The formatter parses first: refused alike.
    assert_eq!(
        writ_syntax::format_source(&parens(1_000)).unwrap_err()[0].code,
        "writ::nesting"
    );
}
