//! The REPL's answers as text: an expression's value, a what-if comparison, reload
//! notices, listings.

use std::fmt::Write as _;

use serde_json::Value as Json;
use writ::{Decision, Evaluated, ReloadEvent, Truth};

use crate::explain::{cond, obligation};
use crate::output::Paint;

/// An expression's value: a truth with its parts, or a value (`unknown` when absent).
pub fn value(v: &Evaluated, paint: Paint) -> String {
    match v {
        Evaluated::Cond(trace) => {
            let mut out = paint.truth(trace.value, trace.value.as_str());
            out.push('\n');
            if !trace.children.is_empty() {
                for child in &trace.children {
                    cond(&mut out, child, 1, paint);
                }
            }
            out
        }
        Evaluated::Value(Some(Json::Bool(b))) => {
            format!("{}\n", paint.truth(Truth::from_bool(*b), &b.to_string()))
        }
        Evaluated::Value(Some(j)) => format!("{j}\n"),
        Evaluated::Value(None) => format!(
            "{}\n",
            paint.truth(Truth::Unknown, "unknown (not in the request)")
        ),
    }
}

fn approval(d: &Decision) -> String {
    d.approval
        .as_ref()
        .map_or_else(|| "none".into(), crate::explain::approval)
}

/// One line: the decision, its risk and the rules that made it.
pub fn one_line(d: &Decision, paint: Paint) -> String {
    let rules: Vec<String> = d.rules.iter().map(|r| writ::syntax::quote(r)).collect();
    let by = if rules.is_empty() {
        "no rule fired".to_string()
    } else {
        format!("by {}", rules.join(", "))
    };
    format!("{} (risk {}) {by}", paint.verdict(d.decision), d.risk)
}

/// What is in `after` and not in `before` (`+`), and the reverse (`-`).
fn list_diff(out: &mut String, what: &str, before: &[String], after: &[String]) {
    let gone: Vec<String> = before
        .iter()
        .filter(|x| !after.contains(x))
        .map(|x| format!("- {x}"))
        .collect();
    let came: Vec<String> = after
        .iter()
        .filter(|x| !before.contains(x))
        .map(|x| format!("+ {x}"))
        .collect();
    if !gone.is_empty() || !came.is_empty() {
        let all: Vec<String> = gone.into_iter().chain(came).collect();
        let _ = writeln!(out, "  {what}: {}", all.join(", "));
    }
}

fn quoted<'a>(items: impl Iterator<Item = &'a str>) -> Vec<String> {
    items.map(writ::syntax::quote).collect()
}

/// The decision before and after a what-if, and what changed.
pub fn what_if(before: &Decision, after: &Decision, paint: Paint) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "before: {}", one_line(before, paint));
    let _ = writeln!(out, "after:  {}", one_line(after, paint));
    let mut changes = String::new();
    if before.decision != after.decision {
        let _ = writeln!(
            changes,
            "  effect: {} -> {}",
            paint.verdict(before.decision),
            paint.verdict(after.decision)
        );
    }
    if before.risk != after.risk {
        let _ = writeln!(changes, "  risk: {} -> {}", before.risk, after.risk);
    }
    let signals = |d: &Decision| -> Vec<String> {
        d.signals
            .iter()
            .map(|s| format!("{} (+{})", writ::syntax::quote(&s.name), s.points))
            .collect()
    };
    list_diff(&mut changes, "signals", &signals(before), &signals(after));
    list_diff(
        &mut changes,
        "rules",
        &quoted(before.rules.iter().map(|r| &**r)),
        &quoted(after.rules.iter().map(|r| &**r)),
    );
    let obligations =
        |d: &Decision| -> Vec<String> { d.obligations.iter().map(obligation).collect() };
    list_diff(
        &mut changes,
        "obligations",
        &obligations(before),
        &obligations(after),
    );
    let (a, b) = (approval(before), approval(after));
    if a != b {
        let _ = writeln!(changes, "  approval: {a}\n         -> {b}");
    }
    // The digest is what an issued grant is bound to: with the same terms, a changed
    // bound value still voids every grant issued before.
    if let (Some(a), Some(b)) = (&before.approval, &after.approval) {
        if a.digest != b.digest {
            let _ = writeln!(
                changes,
                "  digest: {}\n       -> {}\n          (a grant issued for the old digest would not redeem)",
                a.digest, b.digest
            );
        }
    }
    if before.message != after.message {
        let m = |d: &Decision| {
            d.message
                .as_deref()
                .map_or("none".to_string(), |m| format!("\"{m}\""))
        };
        let _ = writeln!(changes, "  message: {} -> {}", m(before), m(after));
    }
    if before.ttl_s != after.ttl_s {
        let t = |d: &Decision| d.ttl_s.map_or("none".to_string(), |t| format!("{t}s"));
        let _ = writeln!(changes, "  time box: {} -> {}", t(before), t(after));
    }
    let unknown =
        |d: &Decision| -> Vec<String> { d.unknown.iter().map(|u| u.to_string()).collect() };
    list_diff(
        &mut changes,
        "missing evidence",
        &unknown(before),
        &unknown(after),
    );
    if changes.is_empty() {
        out.push_str("no change\n");
    } else {
        out.push_str("changed:\n");
        out.push_str(&changes);
    }
    out
}

fn literal(v: &writ::ir::Value) -> String {
    use writ::ir::Value;
    match v {
        Value::String(s) => writ::syntax::quote(s),
        Value::Int(i) => i.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Duration(d) => writ::syntax::duration_text(*d),
        Value::Ip(ip) => writ::syntax::quote(&ip.to_string()),
        Value::Time(t) => writ::syntax::quote(&t.to_string()),
    }
}

/// A `let` value as the language writes it (`written` is the whole declaration, for a
/// named condition, whose text is shown as written).
pub fn let_value(v: &writ::ir::LetValue, written: &str) -> String {
    use writ::ir::LetValue;
    let list = |items: Vec<String>| format!("[{}]", items.join(", "));
    match v {
        LetValue::List(values, _) => list(values.iter().map(literal).collect()),
        LetValue::Cidr(set) => format!(
            "cidr {}",
            list(
                set.nets
                    .iter()
                    .map(|n| writ::syntax::quote(&n.to_string()))
                    .collect()
            )
        ),
        LetValue::Hours(h) => format!(
            "hours {} in {}",
            writ::syntax::quote(&h.spec),
            writ::syntax::quote(&h.zone_name)
        ),
        LetValue::Scalar(v) => literal(v),
        LetValue::Cond(_) => written
            .split_once('=')
            .map_or(written, |(_, cond)| cond)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// A reload, as the REPL reports it (nothing for an unchanged set).
pub fn notice(event: &ReloadEvent) -> Option<String> {
    match event {
        ReloadEvent::Loaded {
            version,
            rules,
            files,
            ..
        } => Some(format!(
            "policy reloaded: version {version} ({rules} rule{}, {files} file{})",
            if *rules == 1 { "" } else { "s" },
            if *files == 1 { "" } else { "s" }
        )),
        ReloadEvent::Rejected { kept, errors, .. } => Some(format!(
            "policy change rejected, still running {kept}:\n  {}",
            errors.join("\n  ")
        )),
        ReloadEvent::Unchanged { .. } => None,
    }
}
