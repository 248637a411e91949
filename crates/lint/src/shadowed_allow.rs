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
//!
//! Not every pair is tried: an index ([`Index`]) sets aside, for each allow rule, the
//! rules that provably cannot outrank it, so a set of thousands of rules keyed by action
//! compares each allow rule with the few rules of its own action and the global ones. The
//! findings are those of trying every pair (the tests compare both on generated sets).

use std::collections::HashMap;

use writ_check::ir::{Effect, PathId, Rule};
use writ_syntax::Diagnostic;

use crate::logic::{self, dnf, facts::Fact};
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

/// A conjunction that pins string paths to single values (`action == "db.read"`): the
/// values, by path, from its `==` facts.
fn pinned<'a>(conj: &[dnf::Lit<'a>]) -> HashMap<PathId, &'a str> {
    let mut out = HashMap::new();
    for lit in conj {
        if let Some((p, Fact::StrEq(v, true))) = logic::facts::facts(lit) {
            out.insert(p, v);
        }
    }
    out
}

/// When every literal of `conj` states a refusal of string values on one path
/// (`action != "x"`, `action not in [...]`), that path and the refused values.
fn refusals<'a>(conj: &[dnf::Lit<'a>]) -> Option<(PathId, Vec<&'a str>)> {
    let mut path = None;
    let mut refused = Vec::new();
    for lit in conj {
        let (p, fact) = logic::facts::facts(lit)?;
        if path.is_some_and(|q| q != p) || logic::facts::paths_of(&lit.atom.kind) != [p] {
            return None;
        }
        path = Some(p);
        match fact {
            Fact::StrEq(v, false) => refused.push(v),
            Fact::StrIn(list, false) => refused.extend(list),
            _ => return None,
        }
    }
    Some((path?, refused))
}

/// Which deny and approve rules may outrank a given allow rule.
///
/// A rule `O` whose "does not fire" conjunctions include one that holds by itself and
/// only refuses values of one string path `p` (`action != "x"`, the usual shape of
/// `action == "x" and ...`) is *keyed* by `p` and those values. An allow rule whose first
/// satisfiable conjunction `a` pins `p` to a value `y` that `O` does not refuse is never
/// outranked by `O`: the facts of `a` and that conjunction together hold (on `p` the
/// single candidate `y` passes every fact; every other path keeps the facts of `a` alone,
/// which hold), so `covers` finds that pair consistent and answers no. Only the rules
/// that are not keyed, keyed by a path `a` does not pin, or keyed by `y` remain.
/// The rules keyed by one path: by refused value, and all of them.
type ByValue<'a> = (HashMap<&'a str, Vec<usize>>, Vec<usize>);

struct Keys<'a> {
    /// Rules (positions in the `others` order) that are not keyed.
    general: Vec<usize>,
    /// Keyed rules, by path: by refused value, and all of them.
    keyed: HashMap<PathId, ByValue<'a>>,
}

impl<'a> Keys<'a> {
    fn new(paths: &[writ_check::ir::PathInfo], others: &[(&Rule, Vec<dnf::Conj<'a>>)]) -> Self {
        let mut general = Vec::new();
        let mut keyed: HashMap<PathId, ByValue<'a>> = HashMap::new();
        for (i, (_, off)) in others.iter().enumerate() {
            // The cheap shape test first; the consistency proof only for that shape.
            let key = off
                .iter()
                .filter_map(|d| Some((refusals(d)?, d)))
                .find(|(_, d)| logic::conflict(paths, d).is_none())
                .map(|(key, _)| key);
            match key {
                Some((p, mut values)) => {
                    values.sort_unstable();
                    values.dedup();
                    let (by_value, all) = keyed.entry(p).or_default();
                    for v in values {
                        by_value.entry(v).or_default().push(i);
                    }
                    all.push(i);
                }
                None => general.push(i),
            }
        }
        Keys { general, keyed }
    }

    /// The rules that may outrank an allow rule whose first satisfiable conjunction pins
    /// these values, in the `others` order.
    fn candidates(&self, pins: &HashMap<PathId, &str>, out: &mut Vec<usize>) {
        out.extend_from_slice(&self.general);
        for (p, (by_value, all)) in &self.keyed {
            match pins.get(p) {
                Some(y) => out.extend(by_value.get(y).into_iter().flatten()),
                None => out.extend_from_slice(all),
            }
        }
        out.sort_unstable();
        out.dedup();
    }
}

/// Reports every allow rule that a deny or approve rule always outranks.
pub fn run(ctx: &Ctx<'_>) -> Vec<Diagnostic> {
    find(ctx, true)
}

/// The findings, trying only the candidates the index leaves (`indexed`) or every pair.
fn find(ctx: &Ctx<'_>, indexed: bool) -> Vec<Diagnostic> {
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
    let keys = indexed.then(|| Keys::new(paths, &others));
    let mut candidates = Vec::new();
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
        let Some(first) = allow_true
            .iter()
            .find(|a| logic::conflict(paths, a).is_none())
        else {
            continue;
        };
        candidates.clear();
        match &keys {
            Some(k) => k.candidates(&pinned(first), &mut candidates),
            None => candidates.extend(0..others.len()),
        }
        let Some(over) = candidates
            .iter()
            .map(|&i| &others[i])
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use proptest::prelude::*;

    use super::find;
    use crate::{spans, Config, Ctx};

    /// The findings of both ways, as text.
    fn both(text: &str) -> (Vec<String>, Vec<String>) {
        let mut sources = writ_syntax::SourceMap::default();
        sources.add("p.writ", text.to_string());
        let set = writ_check::check(sources).unwrap_or_else(|r| {
            panic!(
                "{}",
                writ_syntax::render(&r.diagnostics, &r.sources, writ_syntax::Style::Plain)
            )
        });
        let config = Config::default();
        let places = spans::places(&set);
        let ctx = Ctx {
            set: &set,
            spans: places.rules,
            signal_headers: places.signals,
            config: &config,
        };
        let show = |ds: Vec<writ_syntax::Diagnostic>| -> Vec<String> {
            ds.into_iter()
                .map(|d| format!("{} {:?}", d.message, d.help))
                .collect()
        };
        (show(find(&ctx, true)), show(find(&ctx, false)))
    }

    /// Generated workloads (thousands of action-keyed allow rules and forbids), with deny
    /// and approve rules added that do outrank some allow rules, keyed and not.
    #[test]
    fn the_index_finds_what_every_pair_finds_on_workloads() {
        let mut total = 0;
        for seed in [1_u64, 2, 3] {
            let w = writ_gensets::Workload::generate(seed, 400, 0);
            let mut text = w.writ_policy();
            for k in (0..400).step_by(37) {
                let a = writ_gensets::action_of(k);
                text.push_str(&format!(
                    "\nrule \"deny {k}\" {{ when action == \"{a}\" deny }}\n"
                ));
                text.push_str(&format!(
                    "\nrule \"approve {k}\" {{\n  when action in [\"{a}\", \"none\"] and resource.env != \"dev\"\n  approve {{ approvers 1 of group \"g\" }}\n}}\n"
                ));
            }
            text.push_str("\nrule \"svc1 family\" { when action matches \"svc1*\" deny }\n");
            text.push_str(
                "\nrule \"not 5\" { when action != \"svc5:read\" and resource.sensitivity > 9 deny }\n",
            );
            let (indexed, pairwise) = both(&text);
            assert_eq!(indexed, pairwise, "seed {seed}");
            total += indexed.len();
        }
        assert!(
            total > 30,
            "the generated sets should have findings: {total}"
        );
    }

    const ATOMS: &[&str] = &[
        r#"action == "a""#,
        r#"action == "b""#,
        r#"action != "a""#,
        r#"action in ["a", "c"]"#,
        r#"action not in ["b"]"#,
        r#"action matches "a*""#,
        r#"lower(action) == "a""#,
        r#"resource.env == "prod""#,
        r#"resource.env != "dev""#,
        r#"resource.env in ["prod", "dev"]"#,
        "device.managed",
        "device.managed == false",
        "resource.level > 2",
        "resource.level < 3",
        "present(resource.level)",
        r#"principal.groups has "g""#,
        "risk > 10",
        r#"cel("true")"#,
        "true",
    ];

    fn cond() -> impl Strategy<Value = String> {
        let leaf = (0..ATOMS.len()).prop_map(|i| ATOMS[i].to_string());
        leaf.prop_recursive(3, 8, 2, |inner| {
            prop_oneof![
                inner.clone().prop_map(|c| format!("not ({c})")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) and ({b})")),
                (inner.clone(), inner).prop_map(|(a, b)| format!("({a}) or ({b})")),
            ]
        })
    }

    fn rule() -> impl Strategy<Value = (String, u8)> {
        (cond(), 0_u8..3)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn the_index_finds_what_every_pair_finds(rules in proptest::collection::vec(rule(), 2..10)) {
            let mut text = String::from(
                "schema {\n  resource.level: int\n  resource.env: \"prod\" | \"dev\"\n}\n",
            );
            for (i, (c, effect)) in rules.iter().enumerate() {
                let effect = match effect {
                    0 => "allow",
                    1 => "deny",
                    _ => "approve { approvers 1 of group \"g\" }",
                };
                text.push_str(&format!("rule \"r{i}\" {{\n  when {c}\n  {effect}\n}}\n"));
            }
            let (indexed, pairwise) = both(&text);
            prop_assert_eq!(indexed, pairwise);
        }
    }
}
