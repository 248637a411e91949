//! The reference interpreter: evaluates the typed IR directly, every sub-condition, with
//! none of the compiler's machinery (no action index, no memo, no interning, no bitmaps or
//! ranges: CIDRs through `ipnet`, windows through jiff's zone conversion).
//!
//! It is the engine of `explain` (a full trace, rule by rule) and the oracle the compiled
//! tree must agree with on every request (the property tests).

use std::borrow::Cow;
use std::cmp::Ordering;

use serde::Serialize;
use writ_check::ir::{
    AtomKind, CmpOp, Cond, Operand, PathId, PathInfo, PolicySet, SetOperand, Value,
};
use writ_syntax::SourceMap;

use crate::cel_run;
use crate::combine::{combine, Meta};
use crate::decision::{Decision, Verdict};
use crate::request::{Request, Slot};
use crate::truth::Truth;

/// The value of a condition and of each part of it.
#[derive(Clone, Debug, Serialize)]
pub struct CondTrace {
    /// The source text of a test, or `all of` / `any of` / `not` for a combination.
    pub text: String,
    /// Its truth.
    pub value: Truth,
    /// The parts of a combination.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<CondTrace>,
}

/// How one risk signal came out.
#[derive(Clone, Debug, Serialize)]
pub struct SignalTrace {
    /// Its name.
    pub name: String,
    /// Its points.
    pub points: u32,
    /// Whether it counted (true or unknown).
    pub counted: bool,
    /// Its condition, part by part.
    pub condition: CondTrace,
}

/// How one rule came out.
#[derive(Clone, Debug, Serialize)]
pub struct RuleTrace {
    /// Its name.
    pub name: String,
    /// Its effect.
    pub effect: Verdict,
    /// Whether it fired (allow: true; deny and approve: true or unknown).
    pub fired: bool,
    /// Whether it is among the rules that produced the decision.
    pub won: bool,
    /// Its condition, part by part.
    pub condition: CondTrace,
}

/// A decision with its full trace.
#[derive(Clone, Debug, Serialize)]
pub struct Explanation {
    /// The decision.
    pub decision: Decision,
    /// Every risk signal.
    pub signals: Vec<SignalTrace>,
    /// Every rule, in set order.
    pub rules: Vec<RuleTrace>,
    /// Why the winner won, in a sentence.
    pub reason: String,
}

struct Interp<'a> {
    /// The paths, indexed by `PathId` (the set's, or a lone expression's).
    paths: &'a [PathInfo],
    /// The sources the spans point into.
    sources: &'a SourceMap,
    /// The request's slots, indexed like `paths`.
    slots: &'a [Slot],
    /// The CEL variables.
    vars: &'a [(String, Box<dyn cel::common::value::Val>)],
    req: &'a Request,
    risk: u32,
    /// Whether a named condition's trace shows its parts (not for a lone expression,
    /// whose sources are not the set's).
    named_parts: bool,
}

/// Nanoseconds in a second (durations are compared in nanoseconds).
const NANOS: i128 = 1_000_000_000;

#[derive(Clone, Debug)]
enum Val<'a> {
    Str(Cow<'a, str>),
    Int(i64),
    Num(f64),
    Bool(bool),
    /// Nanoseconds, signed.
    Dur(i128),
    Ip(std::net::IpAddr),
    Time(jiff::Timestamp),
}

fn from_value(v: &Value) -> Val<'_> {
    match v {
        Value::String(s) => Val::Str(Cow::Borrowed(s)),
        Value::Int(i) => Val::Int(*i),
        Value::Number(n) => Val::Num(*n),
        Value::Bool(b) => Val::Bool(*b),
        Value::Duration(d) => Val::Dur(i128::from(*d) * NANOS),
        Value::Ip(ip) => Val::Ip(*ip),
        Value::Time(t) => Val::Time(*t),
    }
}

/// `a + b`, `a - b` over instants and durations, computed directly with jiff.
fn arith<'v>(a: Val<'v>, op: writ_syntax::ast::ArithOp, b: Val<'v>) -> Option<Val<'v>> {
    use writ_syntax::ast::ArithOp::{Add, Sub};
    let shift = |t: jiff::Timestamp, nanos: i128| {
        let d = jiff::SignedDuration::try_from_nanos_i128(nanos)?;
        t.checked_add(d).ok()
    };
    match (a, op, b) {
        (Val::Time(x), Sub, Val::Time(y)) => Some(Val::Dur(x.duration_since(y).as_nanos())),
        (Val::Time(t), Add, Val::Dur(d)) | (Val::Dur(d), Add, Val::Time(t)) => {
            shift(t, d).map(Val::Time)
        }
        (Val::Time(t), Sub, Val::Dur(d)) => shift(t, -d).map(Val::Time),
        (Val::Dur(x), Add, Val::Dur(y)) => x.checked_add(y).map(Val::Dur),
        (Val::Dur(x), Sub, Val::Dur(y)) => x.checked_sub(y).map(Val::Dur),
        _ => None,
    }
}

fn as_f64(v: &Val<'_>) -> Option<f64> {
    match v {
        Val::Int(i) => Some(*i as f64),
        Val::Num(n) => Some(*n),
        _ => None,
    }
}

fn same(a: &Val<'_>, b: &Val<'_>) -> bool {
    match (a, b) {
        (Val::Str(x), Val::Str(y)) => x == y,
        (Val::Bool(x), Val::Bool(y)) => x == y,
        (Val::Dur(x), Val::Dur(y)) => x == y,
        (Val::Ip(x), Val::Ip(y)) => x == y,
        (Val::Time(x), Val::Time(y)) => x == y,
        (Val::Int(x), Val::Int(y)) => x == y,
        (x, y) => matches!((as_f64(x), as_f64(y)), (Some(p), Some(q)) if p == q),
    }
}

fn cmp(a: &Val<'_>, b: &Val<'_>) -> Option<Ordering> {
    match (a, b) {
        (Val::Int(x), Val::Int(y)) => Some(x.cmp(y)),
        (Val::Dur(x), Val::Dur(y)) => Some(x.cmp(y)),
        (Val::Time(x), Val::Time(y)) => Some(x.cmp(y)),
        (x, y) => as_f64(x)?.partial_cmp(&as_f64(y)?),
    }
}

impl<'a> Interp<'a> {
    /// An interpreter of the set's own conditions for `req` (named conditions traced part
    /// by part; the risk not computed yet).
    fn of_set(set: &'a PolicySet, req: &'a Request) -> Interp<'a> {
        Interp {
            paths: &set.paths,
            sources: &set.sources,
            slots: &req.slots,
            vars: &req.cel_vars,
            req,
            risk: 0,
            named_parts: true,
        }
    }

    /// An interpreter of a lone expression against `env`.
    fn of_lone(env: &LoneEnv<'a>, req: &'a Request) -> Interp<'a> {
        Interp {
            paths: env.paths,
            sources: env.sources,
            slots: env.slots,
            vars: env.vars,
            req,
            risk: env.risk,
            named_parts: false,
        }
    }

    fn text(&self, p: PathId) -> &'a str {
        self.paths.get(p.0 as usize).map_or("", |i| i.text.as_str())
    }

    fn slot(&self, p: PathId) -> &'a Slot {
        static MISSING: Slot = Slot::Missing;
        self.slots.get(p.0 as usize).unwrap_or(&MISSING)
    }

    fn val(&self, o: &'a Operand) -> Option<Val<'a>> {
        match o {
            Operand::Const(v) => Some(from_value(v)),
            Operand::Lower(p) => match self.slot(*p) {
                Slot::Str(_, s) => Some(Val::Str(Cow::Owned(s.to_lowercase()))),
                _ => None,
            },
            Operand::Arith(a) => arith(self.val(&a.lhs)?, a.op, self.val(&a.rhs)?),
            Operand::Path(p) if self.text(*p) == "risk" => Some(Val::Int(i64::from(self.risk))),
            Operand::Path(p) => match self.slot(*p) {
                Slot::Str(_, s) => Some(Val::Str(Cow::Borrowed(s))),
                Slot::Int(i) => Some(Val::Int(*i)),
                Slot::Num(n) => Some(Val::Num(*n)),
                Slot::Bool(b) => Some(Val::Bool(*b)),
                Slot::Dur(d) => Some(Val::Dur(i128::from(*d) * NANOS)),
                Slot::Ip(ip) => Some(Val::Ip(*ip)),
                Slot::Time(t) => Some(Val::Time(*t)),
                Slot::Missing | Slot::Set(_) | Slot::Object => None,
            },
        }
    }

    fn texts(&self, p: PathId) -> Option<Vec<&'a str>> {
        match self.slot(p) {
            Slot::Set(s) => Some(s.texts.iter().map(|t| &**t).collect()),
            _ => None,
        }
    }

    fn set_operand(&self, s: &'a SetOperand) -> Option<Vec<&'a str>> {
        match s {
            SetOperand::Const(items) => Some(items.iter().map(String::as_str).collect()),
            SetOperand::Path(p) => self.texts(*p),
        }
    }

    fn atom(&self, a: &'a AtomKind) -> Truth {
        let t = |b: Option<bool>| Truth::from_option(b);
        match a {
            AtomKind::Truthy(p) => match self.slot(*p) {
                Slot::Bool(b) => Truth::from_bool(*b),
                _ => Truth::Unknown,
            },
            AtomKind::Compare { lhs, op, rhs } => {
                let (Some(l), Some(r)) = (self.val(lhs), self.val(rhs)) else {
                    return Truth::Unknown;
                };
                t(match op {
                    CmpOp::Eq => Some(same(&l, &r)),
                    CmpOp::Ne => Some(!same(&l, &r)),
                    CmpOp::Lt => cmp(&l, &r).map(|o| o == Ordering::Less),
                    CmpOp::Le => cmp(&l, &r).map(|o| o != Ordering::Greater),
                    CmpOp::Gt => cmp(&l, &r).map(|o| o == Ordering::Greater),
                    CmpOp::Ge => cmp(&l, &r).map(|o| o != Ordering::Less),
                })
            }
            AtomKind::InList { value, list } => t(self
                .val(value)
                .map(|v| list.iter().any(|c| same(&v, &from_value(c))))),
            AtomKind::InSet { value, set } => match (self.val(value), self.texts(*set)) {
                (Some(Val::Str(s)), Some(texts)) => Truth::from_bool(texts.contains(&&*s)),
                _ => Truth::Unknown,
            },
            AtomKind::InCidr { value, nets } => match self.val(value) {
                Some(Val::Ip(ip)) => Truth::from_bool(nets.contains(&ip)),
                _ => Truth::Unknown,
            },
            AtomKind::InHours { value, hours } => match self.val(value) {
                Some(Val::Time(ts)) => Truth::from_bool(hours.contains(ts)),
                _ => Truth::Unknown,
            },
            AtomKind::Matches { value, glob } => match self.val(value) {
                Some(Val::Str(s)) => Truth::from_bool(glob.matches(&s)),
                _ => Truth::Unknown,
            },
            AtomKind::Has { set, item } => match (self.texts(*set), self.val(item)) {
                (Some(texts), Some(Val::Str(s))) => Truth::from_bool(texts.contains(&&*s)),
                _ => Truth::Unknown,
            },
            AtomKind::HasAny { set, items } => match (self.texts(*set), self.set_operand(items)) {
                (Some(s), Some(i)) => Truth::from_bool(i.iter().any(|x| s.contains(x))),
                _ => Truth::Unknown,
            },
            AtomKind::HasAll { set, items } => match (self.texts(*set), self.set_operand(items)) {
                (Some(s), Some(i)) => Truth::from_bool(i.iter().all(|x| s.contains(x))),
                _ => Truth::Unknown,
            },
            AtomKind::Within { set, items } => match (self.texts(*set), self.set_operand(items)) {
                (Some(s), Some(i)) => Truth::from_bool(s.iter().all(|x| i.contains(x))),
                _ => Truth::Unknown,
            },
            AtomKind::Cel(c) => cel_run::run(c, self.vars),
            AtomKind::Present(p) => Truth::from_bool(!matches!(self.slot(*p), Slot::Missing)),
        }
    }

    /// Evaluates every part (no short-circuit) and returns the trace.
    // INVARIANT: one frame per level of the condition, whose depth the parser bounded
    // (`writ_syntax::MAX_NESTING`); `and`/`or` parts are iterated.
    fn cond(&self, c: &'a Cond) -> CondTrace {
        match c {
            Cond::Const(b) => CondTrace {
                text: b.to_string(),
                value: Truth::from_bool(*b),
                children: Vec::new(),
            },
            Cond::Atom(a) => CondTrace {
                text: self.sources.snippet(a.span).to_string(),
                value: self.atom(&a.kind),
                children: Vec::new(),
            },
            // `x not in y` is `not (x in y)` in the IR, with the whole text on the test:
            // show it as the one test the author wrote.
            Cond::Not(inner) if matches!(&**inner, Cond::Atom(a) if matches!(a.kind, AtomKind::InList { .. } | AtomKind::InSet { .. } | AtomKind::InCidr { .. } | AtomKind::InHours { .. }) && self.sources.snippet(a.span).contains(" not in ")) =>
            {
                let child = self.cond(inner);
                CondTrace {
                    text: child.text,
                    value: !child.value,
                    children: Vec::new(),
                }
            }
            Cond::Not(inner) => {
                let child = self.cond(inner);
                CondTrace {
                    text: "not".into(),
                    value: !child.value,
                    children: vec![child],
                }
            }
            // A named condition shows by name, with its parts under it.
            Cond::Named { name, cond } => {
                let child = self.cond(cond);
                CondTrace {
                    text: name.to_string(),
                    value: child.value,
                    children: if self.named_parts {
                        vec![child]
                    } else {
                        Vec::new()
                    },
                }
            }
            Cond::And(parts) | Cond::Or(parts) => {
                let is_and = matches!(c, Cond::And(_));
                let children: Vec<CondTrace> = parts.iter().map(|p| self.cond(p)).collect();
                let value = children.iter().fold(Truth::from_bool(is_and), |acc, ch| {
                    if is_and {
                        acc.and(ch.value)
                    } else {
                        acc.or(ch.value)
                    }
                });
                CondTrace {
                    text: if is_and { "all of" } else { "any of" }.into(),
                    value,
                    children,
                }
            }
        }
    }

    /// The paths whose absence made `c` unknown (same walk as the compiled tree's).
    fn unknown_paths(&self, c: &'a Cond, out: &mut Vec<String>) {
        if self.cond(c).value != Truth::Unknown {
            return;
        }
        match c {
            Cond::Const(_) => {}
            Cond::Atom(a) => self.missing_in_atom(&a.kind, out),
            Cond::Not(inner) => self.unknown_paths(inner, out),
            Cond::Named { cond, .. } => self.unknown_paths(cond, out),
            Cond::And(parts) | Cond::Or(parts) => {
                parts.iter().for_each(|p| self.unknown_paths(p, out))
            }
        }
    }

    fn missing_in_atom(&self, a: &'a AtomKind, out: &mut Vec<String>) {
        let mut path = |p: PathId| {
            if matches!(self.slot(p), Slot::Missing) && self.text(p) != "risk" {
                out.push(self.text(p).to_string());
            }
        };
        let operand = |o: &Operand, path: &mut dyn FnMut(PathId)| {
            let mut read = Vec::new();
            o.paths(&mut read);
            read.into_iter().for_each(&mut *path);
        };
        match a {
            AtomKind::Truthy(p) => path(*p),
            AtomKind::Compare { lhs, rhs, .. } => {
                operand(lhs, &mut path);
                operand(rhs, &mut path);
            }
            AtomKind::InList { value, .. }
            | AtomKind::InCidr { value, .. }
            | AtomKind::InHours { value, .. }
            | AtomKind::Matches { value, .. } => operand(value, &mut path),
            AtomKind::InSet { value, set } => {
                operand(value, &mut path);
                path(*set);
            }
            AtomKind::Has { set, item } => {
                path(*set);
                operand(item, &mut path);
            }
            AtomKind::HasAny { set, items }
            | AtomKind::HasAll { set, items }
            | AtomKind::Within { set, items } => {
                path(*set);
                if let SetOperand::Path(p) = items {
                    path(*p);
                }
            }
            AtomKind::Present(_) => {}
            AtomKind::Cel(c) => {
                for p in &c.paths {
                    if self.req.value_at(p).is_none() {
                        out.push(p.clone());
                    }
                }
            }
        }
    }
}

fn fires(effect: Verdict, t: Truth) -> bool {
    match t {
        Truth::True => true,
        Truth::Unknown => effect != Verdict::Allow,
        Truth::False => false,
    }
}

/// The score of the signals that count: their points added (saturating), capped at 100.
/// The one definition the evaluator, `explain` and the REPL's `risk` share.
pub(crate) fn score(points: impl IntoIterator<Item = u32>) -> u32 {
    points.into_iter().fold(0u32, u32::saturating_add).min(100)
}

/// The risk score of a request: the points of the signals that count, capped at 100 (what
/// the REPL shows for `risk`).
pub(crate) fn risk(set: &PolicySet, req: &Request) -> u32 {
    let interp = Interp::of_set(set, req);
    score(
        set.signals
            .iter()
            .filter(|s| interp.cond(&s.cond).value != Truth::False)
            .map(|s| s.points),
    )
}

/// What a lone condition is evaluated against: its own paths, sources, slots and CEL
/// variables, and the risk already computed for the request.
pub(crate) struct LoneEnv<'a> {
    pub paths: &'a [PathInfo],
    pub sources: &'a SourceMap,
    pub slots: &'a [Slot],
    pub vars: &'a [(String, Box<dyn cel::common::value::Val>)],
    pub risk: u32,
}

/// Evaluates a lone condition, every part of it.
pub(crate) fn lone_cond(env: &LoneEnv<'_>, req: &Request, cond: &Cond) -> CondTrace {
    let interp = Interp::of_lone(env, req);
    interp.cond(cond)
}

/// The value of a lone computed operand (`lower(path)`, `time - x`) as JSON: strings and
/// instants as strings, durations as seconds (`"90s"`, fractions kept); `None` when
/// unknown.
pub(crate) fn lone_value(
    env: &LoneEnv<'_>,
    req: &Request,
    o: &Operand,
) -> Option<serde_json::Value> {
    let interp = Interp::of_lone(env, req);
    Some(match interp.val(o)? {
        Val::Str(s) => serde_json::Value::String(s.into_owned()),
        Val::Int(i) => serde_json::Value::from(i),
        Val::Num(n) => serde_json::Value::from(n),
        Val::Bool(b) => serde_json::Value::Bool(b),
        Val::Dur(d) if d % NANOS == 0 => serde_json::Value::String(format!("{}s", d / NANOS)),
        Val::Dur(d) => serde_json::Value::String(format!(
            "{}s",
            jiff::SignedDuration::try_from_nanos_i128(d)?.as_secs_f64()
        )),
        Val::Ip(ip) => serde_json::Value::String(ip.to_string()),
        Val::Time(t) => serde_json::Value::String(t.to_string()),
    })
}

/// Decides and explains by direct interpretation of the IR.
pub(crate) fn explain(set: &PolicySet, meta: &Meta, req: &Request) -> Explanation {
    let mut interp = Interp::of_set(set, req);
    let mut counted = Vec::new();
    let mut signal_traces = Vec::new();
    let mut signal_unknowns = Vec::new();
    let mut points = Vec::new();
    for (i, s) in set.signals.iter().enumerate() {
        let trace = interp.cond(&s.cond);
        let counts = trace.value != Truth::False;
        let idx = u32::try_from(i).unwrap_or(u32::MAX);
        if counts {
            counted.push((idx, trace.value));
            points.push(s.points);
            if trace.value == Truth::Unknown {
                let mut paths = Vec::new();
                interp.unknown_paths(&s.cond, &mut paths);
                signal_unknowns.push((idx, paths));
            }
        }
        signal_traces.push(SignalTrace {
            name: s.name.clone(),
            points: s.points,
            counted: counts,
            condition: trace,
        });
    }
    interp.risk = score(points);
    let mut fired = Vec::new();
    let mut rule_unknowns = Vec::new();
    let mut rule_traces = Vec::new();
    for (i, r) in set.rules.iter().enumerate() {
        let idx = u32::try_from(i).unwrap_or(u32::MAX);
        let trace = interp.cond(&r.cond);
        let verdict = meta.rules[i].verdict;
        let f = fires(verdict, trace.value);
        if f {
            fired.push((idx, trace.value));
            if trace.value == Truth::Unknown {
                let mut paths = Vec::new();
                interp.unknown_paths(&r.cond, &mut paths);
                rule_unknowns.push((idx, paths));
            }
        }
        rule_traces.push(RuleTrace {
            name: r.name.clone(),
            effect: verdict,
            fired: f,
            won: false,
            condition: trace,
        });
    }
    let decision = combine(
        meta,
        req,
        &crate::eval::Outcome {
            risk: interp.risk,
            counted: &counted,
            fired: &fired,
            rule_unknowns: &rule_unknowns,
            signal_unknowns: &signal_unknowns,
        },
    )
    .to_decision();
    for t in &mut rule_traces {
        t.won = t.fired
            && t.effect == decision.decision
            && decision.rules.iter().any(|n| **n == *t.name);
    }
    let reason = reason(&decision, &rule_traces);
    Explanation {
        decision,
        signals: signal_traces,
        rules: rule_traces,
        reason,
    }
}

fn reason(d: &Decision, rules: &[RuleTrace]) -> String {
    let fired: Vec<&RuleTrace> = rules.iter().filter(|r| r.fired).collect();
    if fired.is_empty() {
        return "no rule fired, so the request is denied (deny is the default)".into();
    }
    let names: Vec<String> = d.rules.iter().map(|n| writ_syntax::quote(n)).collect();
    let beaten: Vec<String> = fired
        .iter()
        .filter(|r| r.effect != d.decision)
        .map(|r| format!("{} ({})", writ_syntax::quote(&r.name), r.effect.as_str()))
        .collect();
    let mut s = format!("{} by {}", d.decision.as_str(), names.join(", "));
    if !beaten.is_empty() {
        s.push_str(&format!(
            "; it outranks {} (deny > approve > allow)",
            beaten.join(", ")
        ));
    }
    if !d.unknown.is_empty() {
        let u: Vec<String> = d.unknown.iter().map(|p| format!("`{p}`")).collect();
        s.push_str(&format!(
            "; missing evidence counted against the request: {}",
            u.join(", ")
        ));
    }
    s
}
