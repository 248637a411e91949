//! The reasoning the lints share: a condition expanded into conjunctions of literals
//! ([`dnf`]), each literal turned into facts about one path ([`facts`]), and the facts of
//! one path checked for a value that satisfies them all (one module per domain).
//!
//! INVARIANT: every "inconsistent" answer is a proof. Each domain check may answer
//! "consistent" when unsure (a test it does not understand adds no fact), never the
//! other way round; paths are independent of each other in a request, so a conjunction
//! is inconsistent as soon as the facts of one path are.

pub mod dnf;
pub mod facts;
mod ips;
mod numbers;
mod sets;
mod strings;
mod times;

use std::collections::BTreeMap;

use writ_check::ir::{Cond, PathId, PathInfo};
use writ_check::types::Type;
use writ_syntax::Span;

use dnf::{Conj, Lit};
use facts::Fact;
use numbers::Domain;

/// Why a conjunction cannot hold: one path's facts conflict.
#[derive(Clone, Debug)]
pub struct Conflict {
    /// The path.
    pub path: PathId,
    /// The tests that state the conflicting facts.
    pub spans: Vec<Span>,
}

/// The first path whose facts in this conjunction no value satisfies.
pub fn conflict(paths: &[PathInfo], conj: &[Lit<'_>]) -> Option<Conflict> {
    let mut by_path: BTreeMap<PathId, Vec<(Fact<'_>, Span)>> = BTreeMap::new();
    for lit in conj {
        if let Some((p, f)) = facts::facts(lit) {
            by_path.entry(p).or_default().push((f, lit.atom.span));
        }
        // A test that comes out true or false read every path it reads: each is present
        // (`present(p)` itself states its own fact above).
        for p in facts::paths_of(&lit.atom.kind) {
            by_path
                .entry(p)
                .or_default()
                .push((Fact::Present(true), lit.atom.span));
        }
    }
    for (p, fs) in by_path {
        let info = paths.get(p.0 as usize)?;
        let only: Vec<&Fact<'_>> = fs.iter().map(|(f, _)| f).collect();
        if !consistent(info, &only) {
            let mut spans: Vec<Span> = fs.iter().map(|(_, s)| *s).collect();
            spans.dedup();
            return Some(Conflict { path: p, spans });
        }
    }
    None
}

fn consistent(info: &PathInfo, facts: &[&Fact<'_>]) -> bool {
    if facts.iter().any(|f| matches!(f, Fact::Impossible)) {
        return false;
    }
    // Absent, a path states nothing else: any other fact about it needs it present, and
    // `time` (the engine's clock when the request has none) is never absent.
    if facts.iter().any(|f| matches!(f, Fact::Present(false)))
        && (info.text == "time" || facts.iter().any(|f| !matches!(f, Fact::Present(false))))
    {
        return false;
    }
    let bools = |b: bool| facts.iter().any(|f| matches!(f, Fact::Bool(x) if *x == b));
    if bools(true) && bools(false) {
        return false;
    }
    let members = match &info.ty {
        Type::Enum(m) => Some(&m[..]),
        _ => None,
    };
    let domain = match (&info.ty, info.text.as_str()) {
        (_, "risk") => Domain::Int(0, 100),
        (Type::Int, _) => Domain::Int(i128::from(i64::MIN), i128::from(i64::MAX)),
        (Type::Duration, _) => Domain::Int(0, i128::from(u64::MAX)),
        _ => Domain::Real,
    };
    strings::consistent(facts, members)
        && numbers::consistent(facts, domain)
        && ips::consistent(facts)
        && times::consistent(facts)
        && sets::consistent(facts)
}

/// Whether `c` can come out `want`: `Some(false)` is a proof that it never does, with the
/// conflicts that rule out each way; `None` when the expansion is too large to tell.
pub fn can_be(paths: &[PathInfo], c: &Cond, want: bool) -> Option<Result<(), Vec<Conflict>>> {
    let conjs = dnf::dnf(c, want)?;
    Some(refute_all(paths, &conjs))
}

/// `Ok` when some conjunction may hold; otherwise the conflict of each.
pub fn refute_all(paths: &[PathInfo], conjs: &[Conj<'_>]) -> Result<(), Vec<Conflict>> {
    let mut conflicts = Vec::new();
    for c in conjs {
        match conflict(paths, c) {
            Some(x) => conflicts.push(x),
            None => return Ok(()),
        }
    }
    Err(conflicts)
}

/// Whether `c` may come out unknown. Over-approximates: `false` is a proof that it is
/// always known (every test it reads only `time`, `risk` or constants, or the parts that
/// could be unknown are always outweighed by a known part).
pub fn may_be_unknown(paths: &[PathInfo], c: &Cond) -> bool {
    let may = |p: &Cond, want: bool| !matches!(can_be(paths, p, want), Some(Err(_)));
    match c {
        Cond::Const(_) => false,
        Cond::Atom(a) => {
            matches!(a.kind, writ_check::ir::AtomKind::Cel(_))
                || facts::paths_of(&a.kind).iter().any(|p| {
                    !matches!(
                        paths.get(p.0 as usize).map(|i| i.text.as_str()),
                        Some("time" | "risk")
                    )
                })
        }
        Cond::Not(inner) => may_be_unknown(paths, inner),
        Cond::Named { cond, .. } => may_be_unknown(paths, cond),
        // `and` is unknown when one part is and none is false; `or` the dual.
        Cond::And(parts) | Cond::Or(parts) => {
            let other = !matches!(c, Cond::And(_));
            parts.iter().enumerate().any(|(i, p)| {
                may_be_unknown(paths, p)
                    && parts
                        .iter()
                        .enumerate()
                        .all(|(j, q)| i == j || may_be_unknown(paths, q) || may(q, !other))
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(cond: &str) -> writ_check::PolicySet {
        let mut s = writ_syntax::SourceMap::default();
        s.add(
            "p.writ",
            format!(
                "schema {{\n  resource.level: int\n  request.params.amount: number\n}}\nrule \"r\" {{ when {cond} allow }}\n"
            ),
        );
        writ_check::check(s).unwrap()
    }

    /// `Some(true)` when the condition can be true, `Some(false)` when proved never.
    fn can(cond: &str) -> bool {
        let s = set(cond);
        match can_be(&s.paths, &s.rules[0].cond, true) {
            Some(Ok(())) => true,
            Some(Err(_)) => false,
            None => panic!("too large: {cond}"),
        }
    }

    #[test]
    fn patterns() {
        assert!(!can(
            r#"action matches "db.*" and not (action matches "db.*")"#
        ));
        assert!(!can(
            r#"action matches "db.*.write" and not (action matches "db.*")"#
        ));
        assert!(!can(
            r#"action matches "db.*.write" and not (action matches "*.write")"#
        ));
        assert!(!can(r#"action matches "a*" and action matches "b*""#));
        assert!(!can(
            r#"action matches "*.read" and action matches "*.write""#
        ));
        assert!(can(r#"action matches "a*" and action matches "*b""#));
        assert!(can(
            r#"action matches "db.*" and not (action matches "db.*.write")"#
        ));
        assert!(can(
            r#"action matches "db.*x" and not (action matches "db.x*")"#
        ));
        assert!(!can(
            r#"action == "db.read" and action matches "db.*.write""#
        ));
        assert!(can(
            r#"action == "db.orders.write" and action matches "db.*.write""#
        ));
    }

    #[test]
    fn addresses_follow_the_evaluator_on_mapped_ipv6() {
        assert!(can(
            r#"network.ip == "::ffff:10.0.0.1" and network.ip in cidr ["10.0.0.0/8"]"#
        ));
        assert!(!can(
            r#"network.ip == "10.0.0.1" and network.ip not in cidr ["10.0.0.0/8"]"#
        ));
        assert!(!can(
            r#"network.ip == "10.0.0.1" and network.ip == "10.0.0.2""#
        ));
        assert!(!can(
            r#"network.ip in cidr ["10.0.0.0/8"] and network.ip not in cidr ["10.0.0.0/7"]"#
        ));
        assert!(can(
            r#"network.ip in cidr ["10.0.0.0/7"] and network.ip not in cidr ["10.0.0.0/8"]"#
        ));
        assert!(can(
            r#"network.ip in cidr ["10.0.0.0/8", "fd00::/8"] and network.ip not in cidr ["10.0.0.0/8"]"#
        ));
    }

    #[test]
    fn numbers_ints_and_risk() {
        assert!(!can("risk > 100"));
        assert!(can("risk >= 100"));
        assert!(!can("risk < 0"));
        assert!(!can("resource.level == 2.5"));
        assert!(can("request.params.amount == 2.5"));
        assert!(!can("resource.level > 2 and resource.level < 3"));
        assert!(can(
            "request.params.amount > 2 and request.params.amount < 3"
        ));
        assert!(!can("resource.level >= 2 and resource.level <= 3 and resource.level != 2 and resource.level != 3"));
        assert!(!can("resource.level in [1, 2] and resource.level > 5"));
        assert!(!can(
            "request.params.amount >= 5 and request.params.amount < 5"
        ));
        assert!(can(
            "request.params.amount >= 5 and request.params.amount <= 5"
        ));
        assert!(!can("request.params.amount >= 5 and request.params.amount <= 5 and request.params.amount != 5"));
        assert!(!can("session.auth_age > 1h and session.auth_age < 3600s"));
        assert!(!can("device.patch_age < 0s"));
    }

    #[test]
    fn times() {
        assert!(!can(
            r#"time > "2026-01-01T00:00:00Z" and time < "2025-01-01T00:00:00Z""#
        ));
        assert!(!can(
            r#"time == "2026-11-28T10:00:00Z" and time in hours "Mon-Fri 00:00-24:00" in "UTC""#
        ));
        assert!(can(
            r#"time == "2026-11-27T10:00:00Z" and time in hours "Mon-Fri 00:00-24:00" in "UTC""#
        ));
        assert!(!can(
            r#"time in hours "Mon-Fri 08:00-18:00" in "UTC" and not (time in hours "Mon-Sun 00:00-24:00" in "UTC")"#
        ));
        assert!(can(
            r#"time in hours "Mon 08:00-18:00" in "UTC" and time in hours "Mon 08:00-18:00" in "Asia/Tokyo""#
        ));
    }

    #[test]
    fn sets() {
        assert!(!can(r#"principal.groups has any []"#));
        assert!(!can(r#"not (principal.groups has all [])"#));
        assert!(!can(
            r#"principal.groups has any ["a", "b"] and not (principal.groups has "a") and not (principal.groups has "b")"#
        ));
        assert!(can(
            r#"principal.groups has any ["a", "b"] and not (principal.groups has "a")"#
        ));
        assert!(!can(
            r#"principal.groups has all ["a", "b"] and not (principal.groups has "b")"#
        ));
        assert!(!can(
            r#"principal.groups within ["a"] and not (principal.groups within ["a", "b"])"#
        ));
        assert!(!can(
            r#"principal.groups within [] and principal.groups has any ["a"]"#
        ));
        assert!(can(
            r#"principal.groups within ["a", "b"] and not (principal.groups within ["a"])"#
        ));
        assert!(!can(
            r#""a" in principal.groups and not (principal.groups has "a")"#
        ));
    }

    #[test]
    fn kleene_structure() {
        assert!(!can("device.managed == true and not device.managed"));
        assert!(can("not (device.managed and not device.managed)"));
        assert!(!can(
            r#"(device.managed or action == "x") and not device.managed and action != "x""#
        ));
        assert!(can(
            r#"(device.managed or action == "x") and not device.managed"#
        ));
        assert!(!can("false"));
        assert!(can("true"));
        // Two paths are never compared with each other: no fact, no finding.
        assert!(can(
            "session.auth_age > device.patch_age and session.auth_age < device.patch_age"
        ));
    }

    #[test]
    fn unknown_is_possible_unless_only_time_and_constants_are_read() {
        let unknown = |cond: &str| {
            let s = set(cond);
            may_be_unknown(&s.paths, &s.rules[0].cond)
        };
        assert!(unknown("device.managed"));
        assert!(!unknown(r#"time in hours "Mon 08:00-09:00" in "UTC""#));
        assert!(!unknown("risk > 5"));
        assert!(!unknown("device.managed and false"));
        assert!(unknown("device.managed or false"));
        assert!(!unknown("device.managed or true"));
        assert!(unknown(r#"cel("true")"#));
    }
}
