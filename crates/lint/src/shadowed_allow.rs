//! `shadowed-allow`: an `allow` rule that can never win, because a `deny` (or `approve`)
//! rule fires whenever it does.
//!
//! An `allow` fires only when its condition is true; a `deny` or `approve` rule fires
//! when its condition is true *or unknown*, and outranks `allow`. So the allow rule `A`
//! never wins when no request makes `A` true and the other rule's condition `D` false:
//! every conjunction of (`A` true) with (`D` false) is refuted. This covers `D`'s tests
//! being a subset of `A`'s, `D` having no condition, and `D` reading paths `A` only
//! narrows (`A: action == "db.read"`, `D: action matches "db.*"`). Rules are compared in
//! pairs: an allow rule outranked only by several rules together is not reported.

use writ_check::ir::{Effect, Rule};
use writ_syntax::Diagnostic;

use crate::logic::{self, dnf};
use crate::{effect_name, Ctx};

/// The lint's code.
pub const CODE: &str = "writ::lint::shadowed-allow";

/// Whether `over` fires whenever `allow` is true (a proof), for the paths of the set.
/// Pairs of conjunctions are tried one by one: the first that may hold ends the search.
pub(crate) fn covers(
    paths: &[writ_check::ir::PathInfo],
    allow_true: &[dnf::Conj<'_>],
    over_false: &[dnf::Conj<'_>],
) -> bool {
    if allow_true.len().saturating_mul(over_false.len()) > dnf::LIMIT {
        return false;
    }
    let mut both = Vec::new();
    for a in allow_true {
        for d in over_false {
            both.clear();
            both.extend(a.iter().copied());
            both.extend(d.iter().copied());
            if logic::conflict(paths, &both).is_none() {
                return false;
            }
        }
    }
    true
}

/// Reports every allow rule that a deny or approve rule always outranks.
pub fn run(ctx: &Ctx<'_>) -> Vec<Diagnostic> {
    let paths = &ctx.set.paths;
    // Every deny and approve rule with the conjunctions under which it does not fire,
    // denies first (the more telling reason); expanded once for all allow rules.
    let mut others: Vec<(&Rule, Vec<dnf::Conj<'_>>)> = ctx
        .set
        .rules
        .iter()
        .filter(|r| !matches!(r.effect, Effect::Allow { .. }))
        .filter_map(|r| Some((r, dnf::dnf(&r.cond, false)?)))
        .collect();
    others.sort_by_key(|(r, _)| !matches!(r.effect, Effect::Deny { .. }));
    let mut out = Vec::new();
    for allow in ctx
        .set
        .rules
        .iter()
        .filter(|r| matches!(r.effect, Effect::Allow { .. }))
    {
        let Some(allow_true) = dnf::dnf(&allow.cond, true) else {
            continue;
        };
        // Never true is its own finding.
        if logic::refute_all(paths, &allow_true).is_err() {
            continue;
        }
        let Some(over) = others
            .iter()
            .find(|(_, f)| covers(paths, &allow_true, f))
            .map(|(r, _)| *r)
        else {
            continue;
        };
        let kind = effect_name(&over.effect);
        let at = ctx.set.sources.locate(ctx.header(over));
        out.push(
            Diagnostic::new(
                CODE,
                format!(
                    "allow rule \"{}\" can never win: {kind} rule \"{}\" fires whenever it does",
                    allow.name, over.name
                ),
                ctx.header(allow),
                "never decides",
            )
            .with_help(format!(
                "\"{}\" ({at}) fires on true and on unknown, and {kind} outranks allow; narrow it, or remove \"{}\"",
                over.name, allow.name
            )),
        );
    }
    out
}
