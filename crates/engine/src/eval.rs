//! The hot path: evaluates a compiled set against a bound request.
//!
//! Risk signals first (the score is needed by rules that read `risk`), then only the rules
//! the action index selects. Predicates are memoised per request in a thread-local
//! scratch stamped with a generation counter, so nothing is cleared or allocated per
//! request; short-circuiting follows Kleene logic.
//!
//! Architecture Invariant: evaluation does no I/O and takes no lock.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::net::IpAddr;

use jiff::Timestamp;
use writ_check::ir::CmpOp;
use writ_syntax::ast::ArithOp;

use crate::cel_run;
use crate::compile::{CVal, Compiled, Node, Opd, Pred, SetOpd};
use crate::lists::{Act, Cand};
use crate::request::{Request, SetVal, Slot, NO_ID};
use crate::truth::Truth;

/// What one evaluation produced: the risk, the counted signals and the fired rules (each
/// with the truth of its condition, in set order), and for those that counted or fired on
/// `unknown`, the paths whose absence made them so.
#[derive(Debug)]
pub(crate) struct Outcome<'s> {
    pub risk: u32,
    pub counted: &'s [(u32, Truth)],
    pub fired: &'s [(u32, Truth)],
    pub rule_unknowns: &'s [(u32, Vec<String>)],
    pub signal_unknowns: &'s [(u32, Vec<String>)],
}

/// Per-thread scratch: predicate memo (generation-stamped), candidate and outcome buffers.
#[derive(Default)]
struct Scratch {
    set_id: u64,
    generation: u32,
    memo: Vec<(u32, Truth)>,
    candidates: Vec<u32>,
    /// Bitsets of the narrowing (`narrow`).
    acc: Vec<u64>,
    start: Vec<u64>,
    counted: Vec<(u32, Truth)>,
    fired: Vec<(u32, Truth)>,
    /// The missing paths of what fired or counted on `unknown` (the rare path).
    rule_unknowns: Vec<(u32, Vec<String>)>,
    signal_unknowns: Vec<(u32, Vec<String>)>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Nanoseconds in a second: durations are compared in nanoseconds, so that the difference
/// of two instants keeps its sub-second part.
pub(crate) const NANOS: i128 = 1_000_000_000;

/// A borrowed scalar.
#[derive(Clone, Copy, Debug)]
enum V<'a> {
    Str(u32, &'a str),
    Int(i64),
    Num(f64),
    Bool(bool),
    /// A duration in nanoseconds (negative for the difference of an instant and a later
    /// one).
    Dur(i128),
    Ip(IpAddr),
    Time(Timestamp),
}

fn slot_val(s: &Slot) -> Option<V<'_>> {
    Some(match s {
        Slot::Str(id, t) => V::Str(*id, t),
        Slot::Int(i) => V::Int(*i),
        Slot::Num(n) => V::Num(*n),
        Slot::Bool(b) => V::Bool(*b),
        Slot::Dur(d) => V::Dur(i128::from(*d) * NANOS),
        Slot::Ip(ip) => V::Ip(*ip),
        Slot::Time(t) => V::Time(*t),
        Slot::Missing | Slot::Set(_) | Slot::Object => return None,
    })
}

fn cval(c: &CVal) -> V<'_> {
    match c {
        CVal::Str(id, s) => V::Str(*id, s),
        CVal::Int(i) => V::Int(*i),
        CVal::Num(n) => V::Num(*n),
        CVal::Bool(b) => V::Bool(*b),
        CVal::Dur(d) => V::Dur(i128::from(*d) * NANOS),
        CVal::Ip(ip) => V::Ip(*ip),
        CVal::Time(t) => V::Time(*t),
    }
}

fn num(v: V<'_>) -> Option<f64> {
    match v {
        V::Int(i) => Some(i as f64),
        V::Num(n) => Some(n),
        _ => None,
    }
}

fn equal(a: V<'_>, b: V<'_>) -> bool {
    match (a, b) {
        (V::Str(x, s), V::Str(y, t)) => {
            if x != NO_ID && y != NO_ID {
                x == y
            } else {
                s == t
            }
        }
        (V::Int(x), V::Int(y)) => x == y,
        (V::Bool(x), V::Bool(y)) => x == y,
        (V::Dur(x), V::Dur(y)) => x == y,
        (V::Ip(x), V::Ip(y)) => x == y,
        (V::Time(x), V::Time(y)) => x == y,
        (x, y) => matches!((num(x), num(y)), (Some(p), Some(q)) if p == q),
    }
}

fn order(a: V<'_>, b: V<'_>) -> Option<Ordering> {
    match (a, b) {
        (V::Int(x), V::Int(y)) => Some(x.cmp(&y)),
        (V::Dur(x), V::Dur(y)) => Some(x.cmp(&y)),
        (V::Time(x), V::Time(y)) => Some(x.cmp(&y)),
        (x, y) => num(x)?.partial_cmp(&num(y)?),
    }
}

fn compare(a: V<'_>, op: CmpOp, b: V<'_>) -> Truth {
    let r = match op {
        CmpOp::Eq => Some(equal(a, b)),
        CmpOp::Ne => Some(!equal(a, b)),
        CmpOp::Lt => order(a, b).map(Ordering::is_lt),
        CmpOp::Le => order(a, b).map(Ordering::is_le),
        CmpOp::Gt => order(a, b).map(Ordering::is_gt),
        CmpOp::Ge => order(a, b).map(Ordering::is_ge),
    };
    // Incomparable values (NaN) are unknown, never an accidental `false`.
    Truth::from_option(r)
}

/// `number op int`, as the general comparison reads it.
pub(crate) fn compare_int(n: f64, op: CmpOp, c: i64) -> Truth {
    compare(V::Num(n), op, V::Int(c))
}

/// A known ordering read through a comparison operator.
#[inline]
pub(crate) fn ordered(o: Ordering, op: CmpOp) -> Truth {
    Truth::from_bool(match op {
        CmpOp::Eq => o.is_eq(),
        CmpOp::Ne => o.is_ne(),
        CmpOp::Lt => o.is_lt(),
        CmpOp::Le => o.is_le(),
        CmpOp::Gt => o.is_gt(),
        CmpOp::Ge => o.is_ge(),
    })
}

pub(crate) struct Ctx<'a> {
    pub set: &'a Compiled,
    pub req: &'a Request,
    pub risk: u32,
}

/// Instant and duration arithmetic; `None` (unknown) past the range of instants.
fn arith<'v>(a: V<'v>, op: ArithOp, b: V<'v>) -> Option<V<'v>> {
    let moved = |t: Timestamp, d: i128| Timestamp::from_nanosecond(t.as_nanosecond() + d).ok();
    match (a, op, b) {
        (V::Time(x), ArithOp::Sub, V::Time(y)) => {
            Some(V::Dur(x.as_nanosecond() - y.as_nanosecond()))
        }
        (V::Time(t), ArithOp::Add, V::Dur(d)) | (V::Dur(d), ArithOp::Add, V::Time(t)) => {
            moved(t, d).map(V::Time)
        }
        (V::Time(t), ArithOp::Sub, V::Dur(d)) => moved(t, -d).map(V::Time),
        (V::Dur(x), ArithOp::Add, V::Dur(y)) => x.checked_add(y).map(V::Dur),
        (V::Dur(x), ArithOp::Sub, V::Dur(y)) => x.checked_sub(y).map(V::Dur),
        _ => None,
    }
}

impl<'a> Ctx<'a> {
    // INVARIANT: `Opd::Arith` nests as deep as the parser let an arithmetic chain
    // (`writ_syntax` `MAX_TERMS`) within the bounded expression nesting.
    fn val(&self, o: &'a Opd) -> Option<V<'a>> {
        match o {
            Opd::Slot(i) => slot_val(&self.req.slots[*i as usize]),
            Opd::Risk => Some(V::Int(i64::from(self.risk))),
            Opd::Const(c) => Some(cval(c)),
            // The checker gives `lower` a string path and arithmetic only instants and
            // durations, so a lowered string never reaches here; `with_val` lowers it.
            Opd::Lower(_) => None,
            Opd::Arith(a) => arith(self.val(&a.0)?, a.1, self.val(&a.2)?),
        }
    }

    /// The value of an operand handed to `f`: for `lower(path)` the string is lowered
    /// into a buffer that lives for the call.
    #[inline]
    fn with_val<R>(&self, o: &'a Opd, f: impl FnOnce(Option<V<'_>>) -> R) -> R {
        match o {
            Opd::Lower(i) => match &self.req.slots[*i as usize] {
                Slot::Str(_, s) => {
                    let lowered = s.to_lowercase();
                    let id = self.set.intern_id(&lowered);
                    f(Some(V::Str(id, &lowered)))
                }
                _ => f(None),
            },
            _ => f(self.val(o)),
        }
    }

    fn set_val(&self, i: u32) -> Option<&'a SetVal> {
        match &self.req.slots[i as usize] {
            Slot::Set(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn pred(&self, p: &'a Pred) -> Truth {
        // Tests of one slot by id, number, bool or presence, and set tests against
        // constants, read the compact slots (`hot.rs`) as the bytecode does: the full slots
        // are a dozen cache lines of a request the decision need not touch. The others
        // (texts, addresses and instants through operands, set against set) read the full
        // slots.
        let hot = &self.req.hot;
        match p {
            Pred::Truthy(i) => match hot.bool(*i) {
                Some(b) => Truth::from_bool(b),
                None => Truth::Unknown,
            },
            Pred::StrEq { slot, id, ne } => match hot.str(*slot) {
                Some(got) => Truth::from_bool((got == *id) != *ne),
                None => Truth::Unknown,
            },
            Pred::IntCmp { slot, op, c } => match hot.int_or_num(*slot) {
                Some(Ok(i)) => ordered(i.cmp(c), *op),
                Some(Err(n)) => compare(V::Num(n), *op, V::Int(*c)),
                None => Truth::Unknown,
            },
            Pred::DurCmp { slot, op, c } => match hot.dur(*slot) {
                Some(d) => ordered(d.cmp(c), *op),
                None => Truth::Unknown,
            },
            Pred::RiskCmp { op, c } => ordered(i64::from(self.risk).cmp(c), *op),
            Pred::HasId { set, id } => self.ids_of(*set, |s| s.binary_search(id).is_ok()),
            Pred::Cmp { a, op, b } => self.with_val(a, |x| {
                self.with_val(b, |y| match (x, y) {
                    (Some(x), Some(y)) => compare(x, *op, y),
                    _ => Truth::Unknown,
                })
            }),
            Pred::InStrIds { v, ids } => self.with_val(v, |x| match x {
                Some(V::Str(id, _)) => {
                    Truth::from_bool(id != NO_ID && ids.binary_search(&id).is_ok())
                }
                _ => Truth::Unknown,
            }),
            Pred::InList { v, list } => self.with_val(v, |x| match x {
                Some(x) => Truth::from_bool(list.iter().any(|c| equal(x, cval(c)))),
                None => Truth::Unknown,
            }),
            Pred::InSet { v, set } => self.with_val(v, |x| match (x, self.set_val(*set)) {
                (Some(V::Str(id, text)), Some(s)) => Truth::from_bool(if id != NO_ID {
                    s.ids.binary_search(&id).is_ok()
                } else {
                    s.texts.iter().any(|t| &**t == text)
                }),
                _ => Truth::Unknown,
            }),
            Pred::InCidr { v, cidr } => match self.val(v) {
                Some(V::Ip(ip)) => Truth::from_bool(self.set.ranges[*cidr as usize].contains(&ip)),
                _ => Truth::Unknown,
            },
            Pred::InHours { v, hours } => match self.val(v) {
                Some(V::Time(t)) => Truth::from_bool(
                    self.set.hours[*hours as usize]
                        .contains(&self.set.zones, writ_check::hours::floor_second(t)),
                ),
                _ => Truth::Unknown,
            },
            Pred::Matches { v, glob } => self.with_val(v, |x| match x {
                Some(V::Str(_, s)) => Truth::from_bool(glob.matches(s)),
                _ => Truth::Unknown,
            }),
            Pred::Has { set, item } => self.with_val(item, |x| match (self.set_val(*set), x) {
                (Some(s), Some(V::Str(id, text))) => Truth::from_bool(if id != NO_ID {
                    s.ids.binary_search(&id).is_ok()
                } else {
                    s.texts.iter().any(|t| &**t == text)
                }),
                _ => Truth::Unknown,
            }),
            // Against constants only the ids are read (the `Ids` arms of `set_pair` below
            // serve `within`, which also reads whether the set holds a foreign string).
            Pred::HasAny {
                set,
                items: SetOpd::Ids(ids),
            } => self.ids_of(*set, |s| ids.iter().any(|i| s.binary_search(i).is_ok())),
            Pred::HasAll {
                set,
                items: SetOpd::Ids(ids),
            } => self.ids_of(*set, |s| ids.iter().all(|i| s.binary_search(i).is_ok())),
            Pred::HasAny { set, items } => self.set_pair(*set, items, |s, o| match o {
                Other::Ids(ids) => ids.iter().any(|i| s.ids.binary_search(i).is_ok()),
                Other::Set(o) => o.texts.iter().any(|t| s.texts.contains(t)),
            }),
            Pred::HasAll { set, items } => self.set_pair(*set, items, |s, o| match o {
                Other::Ids(ids) => ids.iter().all(|i| s.ids.binary_search(i).is_ok()),
                Other::Set(o) => o.texts.iter().all(|t| s.texts.contains(t)),
            }),
            Pred::Within { set, items } => self.set_pair(*set, items, |s, o| match o {
                Other::Ids(ids) => !s.foreign && s.ids.iter().all(|i| ids.binary_search(i).is_ok()),
                Other::Set(o) => s.texts.iter().all(|t| o.texts.contains(t)),
            }),
            Pred::Cel(c) => cel_run::run(c, &self.req.cel_vars),
            Pred::Present(i) => Truth::from_bool(!hot.missing(*i)),
        }
    }

    /// `f` of set slot `set`'s interned ids, from the compact slots; unknown when it is
    /// not a set.
    fn ids_of(&self, set: u32, f: impl FnOnce(&[u32]) -> bool) -> Truth {
        match self.req.hot.set(set) {
            Some(ids) => Truth::from_bool(f(ids)),
            None => Truth::Unknown,
        }
    }

    fn set_pair(
        &self,
        set: u32,
        items: &'a SetOpd,
        f: impl Fn(&SetVal, Other<'_>) -> bool,
    ) -> Truth {
        let Some(s) = self.set_val(set) else {
            return Truth::Unknown;
        };
        match items {
            SetOpd::Ids(ids) => Truth::from_bool(f(s, Other::Ids(ids))),
            SetOpd::Slot(o) => match self.set_val(*o) {
                Some(o) => Truth::from_bool(f(s, Other::Set(o))),
                None => Truth::Unknown,
            },
        }
    }
}

enum Other<'a> {
    Ids(&'a [u32]),
    Set(&'a SetVal),
}

pub(crate) struct Run<'a, 'c> {
    pub ctx: Ctx<'a>,
    pub memo: &'c mut [(u32, Truth)],
    pub generation: u32,
}

impl Run<'_, '_> {
    // INVARIANT: recursion follows the compiled nodes, one per level of a checked
    // condition, whose depth the parser bounded (`writ_syntax::MAX_NESTING`).
    pub(crate) fn node(&mut self, n: u32) -> Truth {
        match self.ctx.set.deep.nodes[n as usize] {
            Node::Const(b) => Truth::from_bool(b),
            Node::Pred(p) => self.ctx.pred(&self.ctx.set.preds[p as usize]),
            Node::Shared(p) => self.pred(p),
            Node::Not(c) => !self.node(c),
            Node::And(start, len) => {
                let mut acc = Truth::True;
                for k in start..start + len {
                    let child = self.ctx.set.deep.kids[k as usize];
                    match self.node(child) {
                        Truth::False => return Truth::False,
                        Truth::Unknown => acc = Truth::Unknown,
                        Truth::True => {}
                    }
                }
                acc
            }
            Node::Or(start, len) => {
                let mut acc = Truth::False;
                for k in start..start + len {
                    let child = self.ctx.set.deep.kids[k as usize];
                    match self.node(child) {
                        Truth::True => return Truth::True,
                        Truth::Unknown => acc = Truth::Unknown,
                        Truth::False => {}
                    }
                }
                acc
            }
        }
    }

    pub(crate) fn pred(&mut self, p: u32) -> Truth {
        let slot = &mut self.memo[p as usize];
        if slot.0 == self.generation {
            return slot.1;
        }
        let t = self.ctx.pred(&self.ctx.set.preds[p as usize]);
        self.memo[p as usize] = (self.generation, t);
        t
    }

    /// Collects the request paths whose absence made node `n` (of the deep subtrees)
    /// unknown.
    pub(crate) fn unknown_paths(&mut self, n: u32, out: &mut Vec<u32>, cel: &mut Vec<String>) {
        if self.node(n) != Truth::Unknown {
            return;
        }
        match self.ctx.set.deep.nodes[n as usize] {
            Node::Const(_) => {}
            Node::Pred(p) | Node::Shared(p) => {
                missing_in_pred(&self.ctx, &self.ctx.set.preds[p as usize], out, cel)
            }
            Node::Not(c) => self.unknown_paths(c, out, cel),
            Node::And(start, len) | Node::Or(start, len) => {
                for k in start..start + len {
                    let child = self.ctx.set.deep.kids[k as usize];
                    self.unknown_paths(child, out, cel);
                }
            }
        }
    }
}

/// The slots an operand reads.
fn opd_slots(o: &Opd, out: &mut Vec<u32>) {
    match o {
        Opd::Slot(i) | Opd::Lower(i) => out.push(*i),
        Opd::Risk | Opd::Const(_) => {}
        Opd::Arith(a) => {
            opd_slots(&a.0, out);
            opd_slots(&a.2, out);
        }
    }
}

pub(crate) fn missing_in_pred(ctx: &Ctx<'_>, p: &Pred, out: &mut Vec<u32>, cel: &mut Vec<String>) {
    let mut slot = |o: &Opd| {
        let mut read = Vec::new();
        opd_slots(o, &mut read);
        for i in read {
            if matches!(ctx.req.slots[i as usize], Slot::Missing) {
                out.push(i);
            }
        }
    };
    match p {
        Pred::Truthy(i)
        | Pred::StrEq { slot: i, .. }
        | Pred::IntCmp { slot: i, .. }
        | Pred::DurCmp { slot: i, .. }
        | Pred::HasId { set: i, .. } => slot(&Opd::Slot(*i)),
        Pred::RiskCmp { .. } | Pred::Present(_) => {}
        Pred::Cmp { a, b, .. } => {
            slot(a);
            slot(b);
        }
        Pred::InStrIds { v, .. }
        | Pred::InList { v, .. }
        | Pred::InCidr { v, .. }
        | Pred::InHours { v, .. }
        | Pred::Matches { v, .. } => slot(v),
        Pred::InSet { v, set } => {
            slot(v);
            slot(&Opd::Slot(*set));
        }
        Pred::Has { set, item } => {
            slot(&Opd::Slot(*set));
            slot(item);
        }
        Pred::HasAny { set, items } | Pred::HasAll { set, items } | Pred::Within { set, items } => {
            slot(&Opd::Slot(*set));
            if let SetOpd::Slot(o) = items {
                slot(&Opd::Slot(*o));
            }
        }
        Pred::Cel(c) => {
            for p in &c.paths {
                if ctx.req.value_at(p).is_none() {
                    cel.push(p.clone());
                }
            }
        }
    }
}

/// Buffers the candidate rules are computed in.
pub(crate) struct CandBufs<'s> {
    pub(crate) out: &'s mut Vec<u32>,
    pub(crate) acc: &'s mut Vec<u64>,
    pub(crate) start: &'s mut Vec<u64>,
}

/// The candidate rules of a request.
pub(crate) enum Cands<'s> {
    /// A short list under an exact action, then the global rules (`lists`).
    Flat(&'s [Cand], &'s [Cand]),
    /// Rules by index, and whether they were reached through the action index (so that
    /// the conjunct that pinned each to its action holds).
    Ids(&'s [u32], bool),
}

/// Which rules can fire for this request: those its action reaches, less those a
/// requirement on another attribute rules out (`narrow`).
pub(crate) fn candidates<'s>(set: &'s Compiled, req: &Request, bufs: CandBufs<'s>) -> Cands<'s> {
    let bucket = match set
        .action_path
        .and_then(|a| req.hot.str(a).map(|id| (a, id)))
    {
        Some((a, id)) => match set.actions.get(id) {
            Act::Flat(own) => return Cands::Flat(own, &set.actions.globals),
            Act::Tree(b) => b,
            Act::None => {
                let action = match &req.slots[a as usize] {
                    Slot::Str(_, action) => action.as_str(),
                    _ => "",
                };
                set.fallback
                    .narrow(action, &req.hot, bufs.start, bufs.acc, bufs.out);
                return Cands::Ids(bufs.out, true);
            }
        },
        // No action read, or an unknown one: every rule may apply, each tested in full.
        _ => {
            if !set.all.indexed() {
                return Cands::Ids(&set.all.rules, false);
            }
            set.all.narrow(&req.hot, None, bufs.acc, bufs.out);
            return Cands::Ids(bufs.out, false);
        }
    };
    if !bucket.indexed() {
        return Cands::Ids(&bucket.rules, true);
    }
    bucket.narrow(&req.hot, None, bufs.acc, bufs.out);
    Cands::Ids(bufs.out, true)
}

impl Run<'_, '_> {
    /// Whether a candidate rule is tried: it has no guard, or its guard is not false.
    #[inline(always)]
    pub(crate) fn tried(&mut self, r: u32, guarded: bool) -> bool {
        !guarded
            || self
                .ctx
                .set
                .rules
                .get(r as usize)
                .is_none_or(|rule| self.exec(rule.guard) != crate::code::F)
    }

    /// Tries rule `r` from `pc` (after its guard), recording it in `fired` when it fires.
    #[inline(always)]
    fn attempt(
        &mut self,
        fired: &mut Vec<(u32, Truth)>,
        r: u32,
        pc: u32,
        allow: bool,
        guarded: bool,
    ) {
        if !self.tried(r, guarded) {
            return;
        }
        // An allow rule fires only on `true`; deny and approve on `unknown` too.
        let t = self.exec(pc);
        if t == crate::code::T || (t == crate::code::U && !allow) {
            fired.push((r, crate::vm::truth(t)));
        }
    }
}

/// Evaluates signals and candidate rules, and hands the outcome to `f`.
pub(crate) fn evaluate<R>(set: &Compiled, req: &Request, f: impl FnOnce(&Outcome<'_>) -> R) -> R {
    SCRATCH.with(|cell| {
        let mut scratch = cell.borrow_mut();
        let Scratch {
            set_id,
            generation,
            memo,
            candidates: cand_buf,
            acc,
            start,
            counted,
            fired,
            rule_unknowns,
            signal_unknowns,
        } = &mut *scratch;
        if *set_id != set.id || memo.len() != set.memo_len || *generation == u32::MAX {
            *set_id = set.id;
            *generation = 0;
            memo.clear();
            memo.resize(set.memo_len, (0, Truth::Unknown));
        }
        *generation += 1;
        counted.clear();
        fired.clear();
        let mut run = Run {
            ctx: Ctx { set, req, risk: 0 },
            memo,
            generation: *generation,
        };
        for (i, (entry, _)) in set.signal_code.iter().enumerate() {
            let t = crate::vm::truth(run.exec(*entry));
            if t != Truth::False {
                counted.push((u32::try_from(i).unwrap_or(u32::MAX), t));
            }
        }
        let risk =
            crate::reference::score(counted.iter().map(|&(i, _)| set.signal_code[i as usize].1));
        run.ctx.risk = risk;
        let bufs = CandBufs {
            out: cand_buf,
            acc,
            start,
        };
        match candidates(set, req, bufs) {
            Cands::Flat(own, globals) => {
                for c in own {
                    run.attempt(fired, c.rule, c.pc, c.allow, c.guarded);
                }
                let before = fired.len();
                for c in globals {
                    run.attempt(fired, c.rule, c.pc, c.allow, c.guarded);
                }
                // The action's own rules, then the global ones: back in set order.
                if before > 0 && fired.len() > before {
                    fired.sort_unstable_by_key(|f| f.0);
                }
            }
            Cands::Ids(list, indexed) => {
                for &r in list {
                    let rule = &set.rules[r as usize];
                    let entry = if indexed {
                        rule.entry.indexed
                    } else {
                        rule.entry.full
                    };
                    run.attempt(fired, r, entry, rule.allow, rule.guard != 0);
                }
            }
        }
        // Unknown paths only for what fired or counted on unknown (the rare path): the
        // code is run again, tracking which missing paths made each part unknown.
        rule_unknowns.clear();
        for &(r, t) in fired.iter() {
            if t == Truth::Unknown {
                let mut k = crate::unknown::Paths::default();
                run.exec_tracked(set.rules[r as usize].entry.full, &mut k);
                rule_unknowns.push((r, k.texts(set)));
            }
        }
        signal_unknowns.clear();
        for &(s, t) in counted.iter() {
            if t == Truth::Unknown {
                let mut k = crate::unknown::Paths::default();
                run.exec_tracked(set.signal_code[s as usize].0, &mut k);
                signal_unknowns.push((s, k.texts(set)));
            }
        }
        f(&Outcome {
            risk,
            counted,
            fired,
            rule_unknowns,
            signal_unknowns,
        })
    })
}
