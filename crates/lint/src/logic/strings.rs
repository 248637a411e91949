//! Strings (and unions of string literals): equalities, lists and patterns.
//!
//! When some fact pins the value to finitely many candidates (`==`, `in`, a pattern
//! without `*`, the members of a union type), each candidate is tried against every
//! fact. Otherwise only patterns can conflict: two required patterns whose fixed prefixes
//! (or suffixes) disagree, or a required pattern every match of which a refused pattern
//! also matches.

use writ_check::glob::Glob;

use super::facts::Fact;

/// Whether some string satisfies every fact (`members`: the union type's, if any).
pub fn consistent(facts: &[&Fact<'_>], members: Option<&[String]>) -> bool {
    let mut candidates: Option<Vec<&str>> = members.map(|m| m.iter().map(String::as_str).collect());
    let mut required: Vec<&Glob> = Vec::new();
    let mut refused: Vec<&Glob> = Vec::new();
    for f in facts {
        match f {
            Fact::StrEq(s, true) => narrow(&mut candidates, &[s]),
            Fact::StrIn(list, true) => narrow(&mut candidates, list),
            Fact::Glob(g, true) if g.is_exact() => narrow(&mut candidates, &[g.pattern.as_str()]),
            Fact::Glob(g, true) => required.push(g),
            Fact::Glob(g, false) => refused.push(g),
            _ => {}
        }
    }
    let passes = |s: &str| {
        facts.iter().all(|f| match f {
            Fact::StrEq(c, eq) => (s == *c) == *eq,
            Fact::StrIn(list, inside) => list.contains(&s) == *inside,
            Fact::Glob(g, m) => g.matches(s) == *m,
            _ => true,
        })
    };
    if let Some(c) = candidates {
        return c.into_iter().any(passes);
    }
    // `not (x matches "*")`: every string matches `*`.
    if refused.iter().any(|r| r.parts.iter().all(String::is_empty)) {
        return false;
    }
    for (i, a) in required.iter().enumerate() {
        if required[i + 1..].iter().any(|b| disjoint(a, b)) {
            return false;
        }
        if refused.iter().any(|r| implies(a, r)) {
            return false;
        }
    }
    true
}

/// Keeps the candidates also in `allowed` (all of `allowed` when there were none yet).
fn narrow<'a>(candidates: &mut Option<Vec<&'a str>>, allowed: &[&'a str]) {
    *candidates = Some(match candidates.take() {
        None => allowed.to_vec(),
        Some(c) => c.into_iter().filter(|x| allowed.contains(x)).collect(),
    });
}

fn prefix(g: &Glob) -> &str {
    g.parts.first().map_or("", String::as_str)
}

fn suffix(g: &Glob) -> &str {
    g.parts.last().map_or("", String::as_str)
}

/// Two patterns with a star each that no string matches both: their fixed starts (or
/// ends) disagree.
fn disjoint(a: &Glob, b: &Glob) -> bool {
    let (pa, pb) = (prefix(a), prefix(b));
    let (sa, sb) = (suffix(a), suffix(b));
    !(pa.starts_with(pb) || pb.starts_with(pa)) || !(sa.ends_with(sb) || sb.ends_with(sa))
}

/// Every string matching `a` (which has a star) matches `r`; proved only for `r` with at
/// most one star.
fn implies(a: &Glob, r: &Glob) -> bool {
    match r.parts.as_slice() {
        [only] if only.is_empty() => false,
        [head, tail] => {
            // `a` forces its prefix and suffix, and its matches are at least as long as
            // both together, so they start with `head` and end with `tail` without overlap.
            prefix(a).starts_with(head.as_str())
                && suffix(a).ends_with(tail.as_str())
                && prefix(a).len() + suffix(a).len() >= head.len() + tail.len()
        }
        _ => false,
    }
}
