//! `glob-domain`: a `matches` pattern that looks like a domain check (`"*@example.com"`)
//! in an `allow` rule's condition. `*` matches any run of characters, `@` and `#`
//! included, so `eve@evil.com#@example.com` matches `"*@example.com"`: a glob tests the
//! end of a string, not who owns the address. A warning (it proves nothing about
//! decisions); silenced when the same condition refuses a second `@` in the same value
//! (`not (principal.id matches "*@*@*")`), which makes the pattern a test of the one domain.

use writ_check::ir::{AtomKind, Cond, Effect, Operand, PolicySet};
use writ_syntax::{Diagnostic, Severity};

use crate::Ctx;

/// The lint's code.
pub const CODE: &str = "writ::lint::glob-domain";

/// Whether a pattern reads as "anything, then `@domain`": a `*` before its last `@`.
pub(crate) fn domain_like(pattern: &str) -> bool {
    match (pattern.find('*'), pattern.rfind('@')) {
        (Some(star), Some(at)) => star < at && at + 1 < pattern.len(),
        _ => false,
    }
}

/// The patterns a condition tests, with the polarity they are tested in (true under an
/// even number of `not`s). Iterative: the condition's depth never grows the stack.
fn matches_in(cond: &Cond) -> Vec<(bool, &Operand, &str, writ_syntax::Span)> {
    let mut out = Vec::new();
    let mut stack = vec![(cond, true)];
    while let Some((c, positive)) = stack.pop() {
        match c {
            Cond::Const(_) => {}
            Cond::Atom(a) => {
                if let AtomKind::Matches { value, glob } = &a.kind {
                    out.push((positive, value, glob.pattern.as_str(), a.span));
                }
            }
            Cond::Not(inner) => stack.push((inner, !positive)),
            Cond::Named { cond, .. } => stack.push((cond, positive)),
            Cond::And(parts) | Cond::Or(parts) => {
                stack.extend(parts.iter().rev().map(|p| (p, positive)));
            }
        }
    }
    out
}

fn operand_text(set: &PolicySet, o: &Operand) -> String {
    match o {
        Operand::Path(p) => set.path(*p).text.clone(),
        Operand::Lower(p) => format!("lower({})", set.path(*p).text),
        Operand::Const(_) | Operand::Arith(_) => "the value".into(),
    }
}

/// Reports every domain-like pattern an `allow` rule requires.
pub fn run(ctx: &Ctx<'_>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for rule in &ctx.set.rules {
        if !matches!(rule.effect, Effect::Allow { .. }) {
            continue;
        }
        let tests = matches_in(&rule.cond);
        for (positive, value, pattern, span) in &tests {
            if !positive || !domain_like(pattern) {
                continue;
            }
            // `not (x matches "*@*@*")` on the same value: one `@` only, so the
            // pattern's end is the domain.
            let guarded = tests.iter().any(|(p, v, pat, _)| {
                !p && v == value && pat.matches('@').count() >= 2 && pat.starts_with('*')
            });
            if guarded {
                continue;
            }
            let what = operand_text(ctx.set, value);
            let domain = &pattern[pattern.rfind('@').map_or(0, |at| at + 1)..];
            let example = domain.replace('*', "x");
            let verified = if domain.contains('*') {
                format!("principal.email_domain matches \"{domain}\"")
            } else {
                format!("principal.email_domain == \"{domain}\"")
            };
            out.push(
                Diagnostic::new(
                    CODE,
                    format!(
                        "`{what} matches \"{pattern}\"` in allow rule \"{}\" is not a domain check: `*` also matches `@` and `#`, so `eve@evil.com#@{example}` matches",
                        rule.name
                    ),
                    *span,
                    "a glob, not a domain check",
                )
                .with_help(format!(
                    "compare a domain your identity provider verified (declare e.g. `principal.email_domain: string` and test `{verified}`), or refuse a second `@`: `{what} matches \"{pattern}\" and not ({what} matches \"*@*@*\")`"
                ))
                .with_severity(Severity::Warning),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::domain_like;

    #[test]
    fn what_reads_as_a_domain_check() {
        for p in [
            "*@example.com",
            "*@*.example.com",
            "ops-*@example.com",
            "*@corp",
        ] {
            assert!(domain_like(p), "{p}");
        }
        for p in ["db.*", "alice@example.com", "admin@*", "*.write", "*"] {
            assert!(!domain_like(p), "{p}");
        }
    }
}
