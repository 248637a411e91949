//! Guards of the global rules: a rule that does not name the action is filed under every
//! action (and in the fallback), so the action index cannot rule it out, and lists of a
//! handful of rules are too short for the tree below the action (`narrow`) to split. Such
//! a rule is instead checked, before it is tried, against the cheap tests of its top-level
//! conjunction that read one request slot — a string against interned ids, a bool, an int
//! or duration against a constant, a set against an id, an address against a CIDR set,
//! `present` — each possibly negated (`not device.managed`).
//!
//! A guard is bytecode of its own (`Code::guard`: each test, negated where the conjunct is,
//! then `RequireKnown`), run by the same loop as the rules, so it is evaluated exactly as
//! the rule's own conjunct. It fails only when one of its tests is `false`: then the rule's condition is `false`, it
//! cannot fire, and has no unknown to report, so skipping it changes nothing. A missing
//! value is unknown, never `false`, and keeps the rule. `Engine::rules_tried` counts the
//! rules tried after their guards.

use writ_check::ir::{AtomKind, Cond, Operand};

use crate::compile::{Opd, Pred};

/// At most this many conjuncts are kept per rule: the guard stays cheaper than the rule.
pub(crate) const MAX_TESTS: usize = 3;

/// The atoms of a condition's top-level conjunction (through named conditions), with
/// whether each is negated, in order.
// INVARIANT: conditions nest at most `writ_check`'s MAX_COND_DEPTH deep (named ones too).
pub(crate) fn conjuncts<'c>(cond: &'c Cond, negated: bool, out: &mut Vec<(&'c AtomKind, bool)>) {
    match cond {
        Cond::And(parts) if !negated => parts.iter().for_each(|p| conjuncts(p, false, out)),
        Cond::Named { cond, .. } => conjuncts(cond, negated, out),
        Cond::Not(inner) if !negated => match &**inner {
            Cond::Atom(a) => out.push((&a.kind, true)),
            Cond::Named { cond, .. } => conjuncts(cond, true, out),
            _ => {}
        },
        Cond::Atom(a) => out.push((&a.kind, negated)),
        _ => {}
    }
}

/// Whether a compiled predicate is cheap and reads nothing but one slot of the request
/// (never the risk score, which is not known when candidates are counted).
pub(crate) fn cheap(p: &Pred) -> bool {
    match p {
        Pred::Truthy(_)
        | Pred::StrEq { .. }
        | Pred::IntCmp { .. }
        | Pred::DurCmp { .. }
        | Pred::HasId { .. }
        | Pred::Present(_) => true,
        Pred::InStrIds { v, .. } | Pred::InCidr { v, .. } => matches!(v, Opd::Slot(_)),
        _ => false,
    }
}

/// Whether an atom may be a guard's test at all (the compiled form decides the rest).
pub(crate) fn candidate(kind: &AtomKind) -> bool {
    !matches!(kind, AtomKind::Cel(_))
        && !matches!(
            kind,
            AtomKind::Compare {
                lhs: Operand::Arith(_),
                ..
            }
        )
}
