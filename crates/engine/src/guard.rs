//! Guards of the global rules: a rule that does not name the action is filed under every
//! action (and in the fallback), so the action index cannot rule it out, and lists of a
//! handful of rules are too short for the tree below the action (`narrow`) to split. Such
//! a rule is instead checked, before it is tried, against the cheap tests of its top-level
//! conjunction that read one request slot — a string against interned ids, a bool, an int
//! or duration against a constant, a set against an id, an address against a CIDR set,
//! `present` — each possibly negated (`not device.managed`).
//!
//! A guard fails only when one of those conjuncts is `false` for this request, evaluated
//! exactly as the code evaluates it (`Ctx::pred`): then the rule's condition is `false`, it
//! cannot fire, and has no unknown to report, so skipping it changes nothing. A missing
//! value is unknown, never `false`, and keeps the rule. `Engine::rules_tried` counts the
//! rules tried after their guards.

use writ_check::ir::{AtomKind, Cond, Operand};

use crate::compile::{Opd, Pred};
use crate::eval::Ctx;
use crate::truth::Truth;

/// At most this many conjuncts are kept per rule: the guard stays cheaper than the rule.
const MAX_TESTS: usize = 3;

/// One test of a guard: a predicate, and whether the conjunct is its negation.
pub(crate) type Test = (Pred, bool);

/// The guards of a set.
#[derive(Debug, Default)]
pub(crate) struct Guards {
    /// `(rule, start, len)`, sorted by rule: the rule's tests are `tests[start..start + len]`.
    rules: Box<[(u32, u32, u32)]>,
    tests: Box<[Test]>,
}

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

impl Guards {
    /// The guards, from each guarded rule's tests (rules ascending).
    pub(crate) fn new(per_rule: Vec<(u32, Vec<Test>)>) -> Guards {
        let mut rules = Vec::new();
        let mut tests = Vec::new();
        for (r, t) in per_rule {
            let t: Vec<Test> = t.into_iter().take(MAX_TESTS).collect();
            if t.is_empty() {
                continue;
            }
            let start = u32::try_from(tests.len()).unwrap_or(u32::MAX);
            let len = u32::try_from(t.len()).unwrap_or(0);
            rules.push((r, start, len));
            tests.extend(t);
        }
        Guards {
            rules: rules.into_boxed_slice(),
            tests: tests.into_boxed_slice(),
        }
    }

    /// Whether rule `r` has a guard.
    pub(crate) fn guards(&self, r: u32) -> bool {
        self.rules.binary_search_by_key(&r, |g| g.0).is_ok()
    }

    /// Whether rule `r` may still fire for this request: no test of its guard is false.
    pub(crate) fn passes(&self, ctx: &Ctx<'_>, r: u32) -> bool {
        let Ok(i) = self.rules.binary_search_by_key(&r, |g| g.0) else {
            return true;
        };
        let (_, start, len) = self.rules[i];
        let Some(tests) = self.tests.get(start as usize..(start + len) as usize) else {
            return true;
        };
        tests.iter().all(|(p, negated)| {
            let t = ctx.pred(p);
            let t = if *negated { !t } else { t };
            t != Truth::False
        })
    }

    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.rules.len() * 12 + self.tests.len() * std::mem::size_of::<Test>()
    }
}
