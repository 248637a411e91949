//! `break-glass-agent`: a break-glass `allow` rule (one that reads `request.break_glass`
//! positively) that an `agent` or a `workload` principal can satisfy.
//!
//! The rule passes when its condition, together with `principal.kind == "agent"` (then
//! `"workload"`), is
//! refuted (it requires `principal.kind == "human"`, `!= "agent"`, `in ["human", ...]`),
//! or when some `deny` rule fires whenever an agent satisfies it (a set-wide "only humans
//! break glass" deny). Otherwise nothing in the set provably keeps agents out, and the
//! rule is reported; a guard the reasoning does not read (inside `cel(...)`) is not seen.

use std::sync::Arc;

use writ_check::ir::{Atom, AtomKind, CmpOp, Cond, Effect, Operand, PolicySet, Value};
use writ_syntax::Diagnostic;

use crate::logic::{self, dnf};
use crate::shadowed_allow::covers;
use crate::Ctx;

/// The lint's code.
pub const CODE: &str = "writ::lint::break-glass-agent";

/// The path that asserts break-glass.
const BREAK_GLASS: &str = "request.break_glass";

/// Whether the condition reads `request.break_glass` positively (its truth helps the
/// condition hold), under an even number of negations.
pub(crate) fn is_break_glass(set: &PolicySet, cond: &Cond) -> bool {
    fn walk(set: &PolicySet, c: &Cond, positive: bool) -> bool {
        match c {
            Cond::Const(_) => false,
            Cond::Not(inner) => walk(set, inner, !positive),
            Cond::Named { cond, .. } => walk(set, cond, positive),
            Cond::And(parts) | Cond::Or(parts) => parts.iter().any(|p| walk(set, p, positive)),
            Cond::Atom(a) => {
                let is_bg =
                    |o: &Operand| matches!(o, Operand::Path(p) if set.path(*p).text == BREAK_GLASS);
                match &a.kind {
                    AtomKind::Truthy(p) => positive && set.path(*p).text == BREAK_GLASS,
                    AtomKind::Compare { lhs, op, rhs } if is_bg(lhs) || is_bg(rhs) => {
                        let constant = match (lhs, rhs) {
                            (Operand::Const(Value::Bool(b)), _)
                            | (_, Operand::Const(Value::Bool(b))) => *b,
                            _ => return false,
                        };
                        // `== true` and `!= false` read it positively.
                        let reads_true = (*op == CmpOp::Eq) == constant;
                        positive == reads_true
                    }
                    _ => false,
                }
            }
        }
    }
    walk(set, cond, true)
}

/// Reports every break-glass allow rule agents or workloads are not provably kept out of.
pub fn run(ctx: &Ctx<'_>) -> Vec<Diagnostic> {
    let set = ctx.set;
    let mut out = Vec::new();
    for rule in &set.rules {
        if !matches!(rule.effect, Effect::Allow { .. }) || !is_break_glass(set, &rule.cond) {
            continue;
        }
        if let Some(kind) = ["agent", "workload"]
            .into_iter()
            .find(|k| !kept_out(set, &rule.cond, rule.span, k))
        {
            out.push(
                Diagnostic::new(
                    CODE,
                    format!("break-glass rule \"{}\" does not keep {kind}s out", rule.name),
                    ctx.header(rule),
                    format!("a{} {kind} can satisfy this rule", if kind == "agent" { "n" } else { "" }),
                )
                .with_help("break-glass is a human decision: add `principal.kind == \"human\"` to the condition"),
            );
        }
    }
    out
}

/// Whether principals of this kind provably cannot use the rule: its condition with
/// `principal.kind == KIND` is refuted, never true, or always met by a deny.
fn kept_out(set: &PolicySet, cond: &Cond, span: writ_syntax::Span, kind: &str) -> bool {
    let paths = &set.paths;
    {
        // With `principal.kind == KIND` conjoined (when the set reads the kind at all).
        let agent = set.path_id("principal.kind").map(|path| {
            Cond::Atom(Atom {
                kind: AtomKind::Compare {
                    lhs: Operand::Path(path),
                    op: CmpOp::Eq,
                    rhs: Operand::Const(Value::String(Arc::from(kind))),
                },
                span,
            })
        });
        let as_agent = match agent {
            Some(a) => Cond::And(vec![cond.clone(), a]),
            None => cond.clone(),
        };
        // Too large to tell: nothing is claimed.
        let Some(agent_true) = dnf::dnf(&as_agent, true) else {
            return true;
        };
        // Refuted for this kind, or never true at all (its own finding).
        if logic::refute_all(paths, &agent_true).is_err() {
            return true;
        }
        set.rules
            .iter()
            .filter(|r| matches!(r.effect, Effect::Deny { .. }))
            .filter_map(|d| dnf::dnf(&d.cond, false))
            .any(|d_false| covers(paths, &agent_true, &d_false))
    }
}
