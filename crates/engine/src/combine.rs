//! Combining (docs/language.md §13): deny > approve > allow > (nothing fired: deny); merging
//! approval requirements (every clause, per group the largest count; the strongest method;
//! the shortest ttl; the union of bound paths) and obligations (union without duplicates,
//! over the rules of the winning effect).
//!
//! Shared by the compiled evaluator and the reference interpreter: both hand it the
//! signals that counted and the rules that fired.

use std::sync::Arc;

use writ_check::ir::{ApproverGroup, Effect, Method, PolicySet};

use crate::borrowed::DecisionRef;
use crate::decision::{ApprovalOut, ApproverOut, Few, ObligationOut, Verdict};
use crate::digest::digest_and_missing;
use crate::eval::Outcome;
use crate::request::Request;
use crate::truth::Truth;

/// What combining needs to know of each rule and signal, computed once per set.
#[derive(Debug)]
pub(crate) struct Meta {
    pub version: Arc<str>,
    pub rules: Vec<RuleMeta>,
    pub signals: Vec<(Arc<str>, u32)>,
}

#[derive(Debug)]
pub(crate) struct RuleMeta {
    pub name: Arc<str>,
    pub verdict: Verdict,
    pub effect: Effect,
    pub message: Option<Arc<str>>,
    pub obligations: Vec<ObligationOut>,
    /// The bound paths, in order, each once.
    pub bind: Arc<[Arc<str>]>,
    /// The approver clauses: count and group, named or read from a request path.
    pub approvers: Vec<(u32, GroupSource)>,
}

/// Where an approver clause's group comes from, ready for combining.
#[derive(Debug)]
pub(crate) enum GroupSource {
    Name(Arc<str>),
    Path(Arc<str>),
}

impl Meta {
    pub fn new(set: &PolicySet, version: Arc<str>) -> Meta {
        let rules = set
            .rules
            .iter()
            .map(|r| RuleMeta {
                name: Arc::from(r.name.as_str()),
                verdict: match r.effect {
                    Effect::Allow { .. } => Verdict::Allow,
                    Effect::Deny { .. } => Verdict::Deny,
                    Effect::Approve(_) => Verdict::Approve,
                },
                message: match &r.effect {
                    Effect::Deny { message: Some(m) } => Some(Arc::from(m.as_str())),
                    _ => None,
                },
                bind: match &r.effect {
                    Effect::Approve(a) => {
                        let mut bind = Vec::new();
                        for p in &a.bind {
                            push_unique(&mut bind, Arc::from(set.path(*p).text.as_str()));
                        }
                        bind.into()
                    }
                    _ => Arc::from(Vec::new()),
                },
                approvers: match &r.effect {
                    Effect::Approve(a) => a
                        .approvers
                        .iter()
                        .map(|c| {
                            let g = match &c.group {
                                ApproverGroup::Name(n) => GroupSource::Name(Arc::from(n.as_str())),
                                ApproverGroup::Path(p) => {
                                    GroupSource::Path(Arc::from(set.path(*p).text.as_str()))
                                }
                            };
                            (c.count, g)
                        })
                        .collect(),
                    _ => Vec::new(),
                },
                effect: r.effect.clone(),
                obligations: r
                    .obligations
                    .iter()
                    .map(|o| ObligationOut {
                        name: Arc::from(o.name.as_str()),
                        args: o.args.clone().into(),
                    })
                    .collect(),
            })
            .collect();
        let signals = set
            .signals
            .iter()
            .map(|s| (Arc::from(s.name.as_str()), s.points))
            .collect();
        Meta {
            version,
            rules,
            signals,
        }
    }
}

fn push_unique<T: PartialEq>(v: &mut Vec<T>, item: T) {
    if !v.contains(&item) {
        v.push(item);
    }
}

/// Builds the decision, borrowing the names and lists it reports from `meta`.
#[inline]
pub(crate) fn combine<'m>(meta: &'m Meta, req: &Request, outcome: &Outcome<'_>) -> DecisionRef<'m> {
    let signals = match outcome.counted {
        [] => Few::new(),
        [(i, _)] => Few::from_one(*i),
        more => more.iter().map(|&(i, _)| i).collect(),
    };
    let mut decision = DecisionRef::new(meta, outcome.risk, signals);
    match outcome.fired {
        // Nothing fired: a deny with the signals and their unknowns, nothing to merge.
        [] => {}
        // The common case: one rule fired, on `true`, and it allows. Nothing to merge,
        // and no unknown of a rule to report (it fired on `true`); `merge` would give the
        // same.
        [(r, Truth::True)]
            if meta
                .rules
                .get(*r as usize)
                .is_some_and(|x| x.verdict == Verdict::Allow) =>
        {
            decision.won(Verdict::Allow, Few::from_one(*r));
        }
        _ => {
            merge(&mut decision, meta, req, outcome);
            return decision;
        }
    }
    if !outcome.signal_unknowns.is_empty() {
        add_unknowns(decision.unknown_mut(), outcome.signal_unknowns.iter());
    }
    decision
}

/// [`combine`] where rules fired: the winning effect's rules, merged.
#[inline(never)]
fn merge(decision: &mut DecisionRef<'_>, meta: &Meta, req: &Request, outcome: &Outcome<'_>) {
    let Outcome {
        fired,
        rule_unknowns,
        signal_unknowns,
        ..
    } = outcome;
    let winner = fired
        .iter()
        .map(|(r, _)| meta.rules[*r as usize].verdict)
        .max()
        .unwrap_or(Verdict::Deny);
    let winners = fired
        .iter()
        .map(|&(r, _)| r)
        .filter(|&r| meta.rules[r as usize].verdict == winner);
    decision.won(winner, winners.collect());
    if winner == Verdict::Approve {
        if let Err(refusal) = approve(decision, meta, req, fired) {
            decision.refuse(refusal.message);
            if let Some(path) = refusal.unknown {
                decision.unknown_mut().push(path);
            }
            return;
        }
    }
    let winners = rule_unknowns
        .iter()
        .filter(|(r, _)| meta.rules[*r as usize].verdict == winner);
    if !rule_unknowns.is_empty() || !signal_unknowns.is_empty() {
        let unknown = decision.unknown_mut();
        add_unknowns(unknown, winners);
        add_unknowns(unknown, signal_unknowns.iter());
    }
}

/// Why an approval could not be built: the refusal's message, and the path to report
/// missing.
struct Refusal {
    message: String,
    unknown: Option<Arc<str>>,
}

/// Merges the approval requirements of the fired approve rules (every clause, per group
/// the largest count; the strongest method; the shortest ttl; the union of bound paths)
/// and binds them to the request's digest.
fn approve(
    decision: &mut DecisionRef<'_>,
    meta: &Meta,
    req: &Request,
    fired: &[(u32, Truth)],
) -> Result<(), Refusal> {
    let mut approvers: Vec<ApproverOut> = Vec::new();
    let mut method: Option<Method> = None;
    let mut approval_ttl: Option<u64> = None;
    // The union of the bound paths, in order: the rule's own list while one rule binds.
    let mut bind: Option<Arc<[Arc<str>]>> = None;
    // `None` until an approve rule is seen; then the shortest elevation, or `None` inside
    // as soon as one rule is single-use (the most restrictive wins).
    let mut elevation: Option<Option<u64>> = None;
    // A group read from a path the request does not carry: the approval cannot be met.
    let mut missing_group: Option<Arc<str>> = None;
    for (r, _) in fired {
        let rule = &meta.rules[*r as usize];
        let Effect::Approve(a) = &rule.effect else {
            continue;
        };
        for (count, source) in &rule.approvers {
            let (group, from) = match source {
                GroupSource::Name(n) => (n.clone(), None),
                GroupSource::Path(p) => {
                    let name = req
                        .bound_at(p)
                        .and_then(serde_json::Value::as_str)
                        .filter(|g| !g.trim().is_empty());
                    match name {
                        Some(g) => (Arc::from(g), Some(p.clone())),
                        None => {
                            missing_group.get_or_insert_with(|| p.clone());
                            continue;
                        }
                    }
                }
            };
            match approvers.iter_mut().find(|c| c.group == group) {
                Some(c) => c.count = c.count.max(*count),
                None => approvers.push(ApproverOut {
                    count: *count,
                    group,
                    from,
                }),
            }
        }
        elevation = Some(match (elevation, a.elevation_s) {
            (None, e) => e,
            (Some(Some(x)), Some(y)) => Some(x.min(y)),
            (Some(_), _) => None,
        });
        method = Some(method.map_or(a.method, |m| m.max(a.method)));
        approval_ttl = Some(approval_ttl.map_or(a.ttl_s, |t| t.min(a.ttl_s)));
        bind = Some(match bind.take() {
            None => rule.bind.clone(),
            Some(b) if rule.bind.iter().all(|p| b.contains(p)) => b,
            Some(b) => {
                let mut union = b.to_vec();
                for p in rule.bind.iter() {
                    push_unique(&mut union, p.clone());
                }
                union.into()
            }
        });
    }
    if let Some(path) = missing_group {
        // The approvers are named by the request, which does not name them: nobody can
        // approve, so the request is refused, saying why.
        return Err(Refusal {
            message: format!(
                "the approval cannot be met: its approver group is read from `{path}`, which the request does not carry"
            ),
            unknown: Some(path),
        });
    }
    if !req.bound_readable() {
        // No request to bind the approval to: never hand out an approval that binds
        // nothing. (Binding rules this out; this is the last line of defence.)
        return Err(Refusal {
            message: "the request could not be re-read to bind an approval to it".into(),
            unknown: None,
        });
    }
    let bind = bind.unwrap_or_else(|| Arc::from(Vec::new()));
    let (digest, missing) = digest_and_missing(|p| req.bound_at(p), &bind);
    decision.set_approval(ApprovalOut {
        approvers,
        method: method.unwrap_or(Method::PhishingResistant),
        ttl_s: approval_ttl.unwrap_or(writ_check::DEFAULT_APPROVAL_TTL_S),
        bind,
        digest,
        missing,
        elevation_s: elevation.flatten(),
    });
    Ok(())
}

/// Adds missing paths without duplicates, keeping the list sorted.
fn add_unknowns<'a>(out: &mut Vec<Arc<str>>, from: impl Iterator<Item = &'a (u32, Vec<String>)>) {
    let before = out.len();
    for (_, paths) in from {
        for p in paths {
            if !out.iter().any(|q| **q == **p) {
                out.push(Arc::from(p.as_str()));
            }
        }
    }
    // Canonical order: evaluation order is an implementation detail.
    if out.len() != before {
        out.sort_unstable();
    }
}
