//! The compiler: typed IR → the structure the hot path runs.
//!
//! - a flat arena of condition nodes (`u32` indices, children in one shared array), from
//!   which the bytecode is emitted (`code.rs`); only the subtrees nested too deep for the
//!   code are kept once it is (`prune.rs`);
//! - atomic predicates deduplicated across the whole set, so a predicate shared by many
//!   rules is evaluated at most once per request (memoised per request);
//! - strings interned: a request string is compared by id;
//! - rules indexed by action: exact names hashed, patterns grouped, and for every exact
//!   action the full candidate list (rules for it, pattern rules that match it, rules with
//!   no action constraint) precomputed and sorted;
//! - CIDR sets as sorted, merged ranges (v4 and v6) for binary search;
//! - `hours` windows as minute-of-week bitmaps with their zone;
//! - CEL programs compiled at load (by the checker) and placed last among siblings.
//!
//! Architecture Invariant: the compiled set carries no spans and no pest type; the IR it
//! came from stays beside it for explanations.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rustc_hash::FxHashMap;
use writ_check::glob::Glob;
use writ_check::ir::{
    AtomKind, CmpOp, Cond, Operand, PathId, PathInfo, PolicySet, SetOperand, Value,
};
use writ_check::CelExpr;
use writ_syntax::ast::ArithOp;

use crate::narrow::{self, Bucket, Fallback};
use crate::slots::NO_ID;
pub(crate) use crate::tables::{daily, in_daily, in_net, HoursBits, Ranges, ZoneTable};
use crate::trie::{KnownPath, PathTrie};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A constant in a compiled predicate.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum CVal {
    Str(u32, Arc<str>),
    Int(i64),
    Num(f64),
    Bool(bool),
    Dur(u64),
    Ip(IpAddr),
    Time(jiff::Timestamp),
}

/// One side of a compiled test.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Opd {
    Slot(u32),
    /// The computed risk score.
    Risk,
    Const(CVal),
    /// `lower(path)`: the string in the slot, lower-cased.
    Lower(u32),
    /// Instant and duration arithmetic.
    Arith(Box<(Opd, ArithOp, Opd)>),
}

/// The right side of a compiled set operator.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum SetOpd {
    /// Sorted interned ids, and whether some constant was not interned (never: all
    /// constants are interned at compile time).
    Ids(Box<[u32]>),
    Slot(u32),
}

/// A compiled atomic predicate.
#[derive(Clone, Debug)]
pub(crate) enum Pred {
    Truthy(u32),
    /// `path == "const"` (or `!=`), by interned id.
    StrEq {
        slot: u32,
        id: u32,
        ne: bool,
    },
    /// `path op int` for an int or number path.
    IntCmp {
        slot: u32,
        op: CmpOp,
        c: i64,
    },
    /// `path op duration`.
    DurCmp {
        slot: u32,
        op: CmpOp,
        c: u64,
    },
    /// `risk op int`.
    RiskCmp {
        op: CmpOp,
        c: i64,
    },
    /// `set has "const"`, by interned id.
    HasId {
        set: u32,
        id: u32,
    },
    Cmp {
        a: Opd,
        op: CmpOp,
        b: Opd,
    },
    InStrIds {
        v: Opd,
        ids: Box<[u32]>,
    },
    InList {
        v: Opd,
        list: Box<[CVal]>,
    },
    InSet {
        v: Opd,
        set: u32,
    },
    InCidr {
        v: Opd,
        cidr: u32,
    },
    InHours {
        v: Opd,
        hours: u32,
    },
    Matches {
        v: Opd,
        glob: Arc<Glob>,
    },
    Has {
        set: u32,
        item: Opd,
    },
    HasAny {
        set: u32,
        items: SetOpd,
    },
    HasAll {
        set: u32,
        items: SetOpd,
    },
    Within {
        set: u32,
        items: SetOpd,
    },
    Cel(Arc<CelExpr>),
    /// `present(path)`: the slot holds a value.
    Present(u32),
}

/// A node of the condition arena.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Node {
    Const(bool),
    /// A predicate only this node uses: evaluated directly.
    Pred(u32),
    /// A predicate several nodes share: evaluated once per request, then memoised.
    Shared(u32),
    Not(u32),
    /// Children are `kids[start..start + len]`.
    And(u32, u32),
    Or(u32, u32),
}

/// A compiled rule.
#[derive(Clone, Debug)]
pub(crate) struct CRule {
    /// An allow rule fires only on `true`; deny and approve rules on `unknown` too.
    pub allow: bool,
    /// Where the code of the rule's guard (`guard`) starts, run before the rule is tried;
    /// 0 (the shared `true` entry, never a guard) for none.
    pub guard: u32,
    /// Where its bytecode starts.
    pub entry: crate::code::Entry,
}

/// A policy set compiled for evaluation.
#[derive(Debug)]
pub struct Compiled {
    /// Unique per compilation (requests bound for another compilation are re-bound).
    pub(crate) id: u64,
    pub(crate) paths: Vec<PathInfo>,
    /// Every path a request may carry, with its segments and, when the set reads it, its
    /// slot.
    pub(crate) known: Vec<KnownPath>,
    /// The slot of `time`, when the set reads it.
    pub(crate) time_path: Option<u32>,
    /// The slot of `action`, when the set reads it.
    pub(crate) action_path: Option<u32>,
    interner: FxHashMap<Arc<str>, u32>,
    /// The predicates the code reads through the table (`prune`).
    pub(crate) preds: Vec<Pred>,
    /// Predicates memoised per request (the table's, then those only memoised).
    pub(crate) memo_len: usize,
    /// The subtrees nested deeper than the code's accumulator holds (`Op::Tree`).
    pub(crate) deep: crate::prune::Deep,
    /// Distinct predicates and condition nodes compiled (before pruning), for counts.
    pred_count: usize,
    node_count: usize,
    pub(crate) rules: Vec<CRule>,
    /// Signal code entries and points.
    pub(crate) signal_code: Vec<(u32, u32)>,
    /// The rules and signals as bytecode.
    pub(crate) code: crate::code::Code,
    /// The action index by the action's interned id: for every exactly named action, the
    /// candidate rules (its own, the global ones, the globbed ones that match it), flat
    /// when short, narrowed further by other attributes (`narrow`) when long (`lists`).
    pub(crate) actions: crate::lists::ActionIndex,
    /// The rules an action that is no exact name reaches.
    pub(crate) fallback: Fallback,
    /// Every rule (the action is unknown, or the set never reads it).
    pub(crate) all: Bucket,
    pub(crate) ranges: Vec<Ranges>,
    pub(crate) hours: Vec<HoursBits>,
    /// The time zones the windows are in.
    pub(crate) zones: Vec<ZoneTable>,
    /// The request roots any CEL leaf reads, sorted.
    pub(crate) cel_roots: Vec<String>,
    /// The known paths as a trie, for streaming binding.
    pub(crate) trie: PathTrie,
}

impl Compiled {
    /// The interned id of a string, [`NO_ID`] when the set never mentions it.
    pub(crate) fn intern_id(&self, s: &str) -> u32 {
        self.interner.get(s).copied().unwrap_or(NO_ID)
    }

    /// The strings of the set by interned id.
    pub(crate) fn strings(&self) -> Vec<Arc<str>> {
        let mut out: Vec<Arc<str>> = vec![Arc::from(""); self.interner.len()];
        for (s, &id) in &self.interner {
            if let Some(slot) = out.get_mut(id as usize) {
                *slot = s.clone();
            }
        }
        out
    }

    /// Number of atomic predicates after sharing.
    pub fn predicate_count(&self) -> usize {
        self.pred_count
    }

    /// Number of condition nodes compiled (the code is emitted from them; only the few
    /// nested too deep for it are kept).
    pub fn node_count(&self) -> usize {
        self.node_count
    }

    /// An estimate of the heap bytes the compiled structure holds, part by part (the
    /// parts [`Compiled::heap_bytes`] sums), for finding what a large set spends them on.
    pub fn heap_parts(&self) -> Vec<(&'static str, usize)> {
        use std::mem::size_of;
        vec![
            ("preds", self.preds.len() * size_of::<Pred>()),
            ("nodes", self.deep.heap_bytes()),
            ("rules", self.rules.len() * size_of::<CRule>()),
            ("code", self.code.heap_bytes()),
            ("action lists", self.actions.heap_bytes()),
            (
                "fallback+all",
                self.fallback.heap_bytes() + self.all.heap_bytes(),
            ),
            ("interned", self.interner.keys().map(|k| k.len() + 40).sum()),
        ]
    }

    /// An estimate of the heap bytes the compiled structure holds.
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        let lists = self.actions.heap_bytes();
        let globs = self.fallback.heap_bytes() + self.all.heap_bytes();
        let interned: usize = self.interner.keys().map(|k| k.len() + 40).sum();
        self.preds.len() * size_of::<Pred>()
            + self.deep.heap_bytes()
            + self.signal_code.len() * 8
            + self.rules.len() * size_of::<CRule>()
            + self.code.heap_bytes()
            + lists
            + globs
            + interned
            + self
                .ranges
                .iter()
                .map(|r| r.v4.len() * 8 + r.v6.len() * 32)
                .sum::<usize>()
            + self
                .hours
                .iter()
                .map(|h| h.bits.len() * 8 + 16)
                .sum::<usize>()
            + self
                .zones
                .iter()
                .map(|z| z.offsets.len() * 16 + 32)
                .sum::<usize>()
    }
}

/// What a rule's condition says about the action.
enum ActionKey {
    Exact(Vec<Arc<str>>),
    Glob(Vec<Arc<Glob>>),
    Mixed(Vec<Arc<str>>, Vec<Arc<Glob>>),
    Any,
}

struct Builder<'a> {
    set: &'a PolicySet,
    interner: FxHashMap<Arc<str>, u32>,
    pred_index: FxHashMap<String, u32>,
    preds: Vec<Pred>,
    nodes: Vec<Node>,
    kids: Vec<u32>,
    ranges: Vec<Ranges>,
    /// Equal CIDR sets and windows share one compiled form, however many rules write them.
    range_index: FxHashMap<Vec<ipnet::IpNet>, u32>,
    hours: Vec<HoursBits>,
    hours_index: FxHashMap<(String, String), u32>,
    zones: Vec<ZoneTable>,
    zone_index: FxHashMap<String, u32>,
    /// A named condition is compiled once; every use points at the same node.
    named: FxHashMap<usize, u32>,
}

impl Builder<'_> {
    /// What the bytecode is emitted from: the built nodes and their tables.
    fn source(&self) -> crate::code::Source<'_> {
        crate::code::Source {
            nodes: &self.nodes,
            kids: &self.kids,
            preds: &self.preds,
            hours: &self.hours,
            ranges: &self.ranges,
        }
    }
}

/// Compiles a checked policy set, with the rules under each action narrowed by other
/// attributes (`narrow`) when `index`, or tried whole.
pub fn compile_with(set: &PolicySet, index: bool) -> Compiled {
    let mut b = Builder {
        set,
        interner: FxHashMap::default(),
        pred_index: FxHashMap::default(),
        preds: Vec::new(),
        nodes: Vec::new(),
        kids: Vec::new(),
        ranges: Vec::new(),
        range_index: FxHashMap::default(),
        hours: Vec::new(),
        hours_index: FxHashMap::default(),
        zones: Vec::new(),
        zone_index: FxHashMap::default(),
        named: FxHashMap::default(),
    };
    let signals: Vec<(u32, u32)> = set
        .signals
        .iter()
        .map(|s| (b.cond(&s.cond), s.points))
        .collect();
    let action_id = set.path_id("action");
    let mut rules: Vec<(u32, CRule)> = set
        .rules
        .iter()
        .map(|r| {
            (
                b.cond(&r.cond),
                CRule {
                    allow: matches!(r.effect, writ_check::ir::Effect::Allow { .. }),
                    guard: 0,
                    entry: crate::code::Entry {
                        full: 0,
                        indexed: 0,
                    },
                },
            )
        })
        .collect();

    let mut exact: FxHashMap<Arc<str>, Vec<u32>> = FxHashMap::default();
    let mut globs: Vec<(Arc<Glob>, Vec<u32>)> = Vec::new();
    let mut global = Vec::new();
    for (i, r) in set.rules.iter().enumerate() {
        let i = u32::try_from(i).unwrap_or(u32::MAX);
        let key = action_id.map_or(ActionKey::Any, |a| action_key(&r.cond, a));
        let (names, patterns) = match key {
            ActionKey::Exact(n) => (n, Vec::new()),
            ActionKey::Glob(g) => (Vec::new(), g),
            ActionKey::Mixed(n, g) => (n, g),
            ActionKey::Any => {
                global.push(i);
                continue;
            }
        };
        for n in names {
            let list = exact.entry(n).or_default();
            if list.last() != Some(&i) {
                list.push(i);
            }
        }
        for g in patterns {
            match globs.iter_mut().find(|(h, _)| h.pattern == g.pattern) {
                Some((_, list)) => {
                    if list.last() != Some(&i) {
                        list.push(i);
                    }
                }
                None => globs.push((g, vec![i])),
            }
        }
    }
    let action_slot = action_id.map(|a| a.0);
    let needs = narrow::rule_needs(set.rules.iter().map(|r| &r.cond), &|s: &str| {
        b.interner.get(s).copied().unwrap_or(NO_ID)
    });
    let by_action: Vec<(Arc<str>, Bucket)> = exact
        .into_iter()
        .map(|(name, mut list)| {
            list.extend_from_slice(&global);
            for (g, rules) in &globs {
                if g.matches(&name) {
                    list.extend_from_slice(rules);
                }
            }
            list.sort_unstable();
            list.dedup();
            (
                name,
                Bucket::new(list.into_boxed_slice(), &needs, action_slot, index),
            )
        })
        .collect();
    let globs: Vec<(Arc<Glob>, Box<[u32]>)> = globs
        .into_iter()
        .map(|(g, l)| (g, l.into_boxed_slice()))
        .collect();
    let fallback = Fallback::new(&global, &globs, &needs, action_slot, index);
    // The index is read by the action's interned id: every exact action is interned.
    let keyed: Vec<(u32, Bucket)> = by_action
        .into_iter()
        .map(|(name, list)| (b.intern(&name), list))
        .collect();
    // Predicates used by several nodes are memoised per request; the others skip the memo.
    let mut uses = vec![0u32; b.preds.len()];
    for n in &b.nodes {
        if let Node::Pred(p) = n {
            uses[*p as usize] += 1;
        }
    }
    for n in &mut b.nodes {
        if let Node::Pred(p) = *n {
            if uses[p as usize] > 1 {
                *n = Node::Shared(p);
            }
        }
    }
    // The bytecode, emitted once sharing is known.
    let mut code = crate::code::Code::new();
    {
        let src = b.source();
        for ((node, rule), r) in rules.iter_mut().zip(&set.rules) {
            let pin = action_id
                .and_then(|a| pin_atom(&r.cond, a))
                .and_then(|kind| b.pred_index.get(&format!("{kind:?}")).copied());
            rule.entry = code.rule(&src, *node, rule.allow, pin);
        }
    }
    let signal_code: Vec<(u32, u32)> = {
        let src = b.source();
        signals
            .iter()
            .map(|(node, points)| (code.rule(&src, *node, false, None).full, *points))
            .collect()
    };
    // The rules filed under every action are checked against their cheap conjuncts
    // before they are tried (`guard`); the unindexed baseline tries them all.
    if index {
        let src = b.source();
        for &r in &global {
            let (Some(rule), Some((_, compiled))) =
                (set.rules.get(r as usize), rules.get_mut(r as usize))
            else {
                continue;
            };
            let mut atoms = Vec::new();
            crate::guard::conjuncts(&rule.cond, false, &mut atoms);
            let tests: Vec<(u32, bool)> = atoms
                .into_iter()
                .filter(|(kind, _)| crate::guard::candidate(kind))
                .filter_map(|(kind, negated)| {
                    let p = *b.pred_index.get(&format!("{kind:?}"))?;
                    crate::guard::cheap(b.preds.get(p as usize)?).then_some((p, negated))
                })
                .take(crate::guard::MAX_TESTS)
                .collect();
            if !tests.is_empty() {
                compiled.guard = code.guard(&src, &tests, &|p| {
                    uses.get(p as usize).is_some_and(|&u| u > 1)
                });
            }
        }
    }
    let all = Bucket::new(
        (0..u32::try_from(set.rules.len()).unwrap_or(u32::MAX)).collect(),
        &needs,
        action_slot,
        index,
    );
    let mut cel_roots: Vec<String> = b
        .preds
        .iter()
        .filter_map(|p| match p {
            Pred::Cel(c) => Some(c.roots.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    cel_roots.sort();
    cel_roots.dedup();
    let known: Vec<KnownPath> = set
        .known
        .iter()
        .map(|(text, ty)| KnownPath {
            text: text.clone(),
            segments: text.split('.').map(Box::from).collect(),
            ty: ty.clone(),
            slot: set.path_id(text).map(|p| p.0),
        })
        .collect();
    let trie = PathTrie::new(set, &known, &cel_roots);
    let rules: Vec<CRule> = rules.into_iter().map(|(_, r)| r).collect();
    let actions = crate::lists::ActionIndex::new(keyed, b.interner.len(), &rules, &global);
    let (pred_count, node_count) = (b.preds.len(), b.nodes.len());
    let pruned = crate::prune::prune(b.preds, &b.nodes, &b.kids, &mut code.ops);
    code.ops.shrink_to_fit();
    code.ids.shrink_to_fit();
    Compiled {
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        paths: set.paths.clone(),
        known,
        time_path: set.path_id("time").map(|p| p.0),
        action_path: action_id.map(|p| p.0),
        interner: b.interner,
        preds: pruned.preds,
        memo_len: pruned.memo_len,
        deep: pruned.deep,
        pred_count,
        node_count,
        rules,
        signal_code,
        code,
        actions,
        fallback,
        all,
        ranges: b.ranges,
        hours: b.hours,
        zones: b.zones,
        cel_roots,
        trie,
    }
}

fn is_action(op: &Operand, action: PathId) -> bool {
    matches!(op, Operand::Path(p) if *p == action)
}

/// The action constraint a condition implies (sound only when the action is known).
fn action_key(cond: &Cond, action: PathId) -> ActionKey {
    match cond {
        Cond::Atom(atom) => match &atom.kind {
            AtomKind::Compare {
                lhs,
                op: CmpOp::Eq,
                rhs,
            } => match (lhs, rhs) {
                (l, Operand::Const(Value::String(s))) | (Operand::Const(Value::String(s)), l)
                    if is_action(l, action) =>
                {
                    ActionKey::Exact(vec![s.clone()])
                }
                _ => ActionKey::Any,
            },
            AtomKind::InList { value, list } if is_action(value, action) => ActionKey::Exact(
                list.iter()
                    .filter_map(|v| match v {
                        Value::String(s) => Some(s.clone()),
                        _ => None,
                    })
                    .collect(),
            ),
            AtomKind::Matches { value, glob } if is_action(value, action) => {
                if glob.is_exact() {
                    ActionKey::Exact(vec![Arc::from(glob.pattern.as_str())])
                } else {
                    ActionKey::Glob(vec![glob.clone()])
                }
            }
            _ => ActionKey::Any,
        },
        Cond::Const(false) => ActionKey::Exact(Vec::new()),
        Cond::Named { cond, .. } => action_key(cond, action),
        // Any conjunct that pins the action pins the whole conjunction.
        Cond::And(parts) => parts
            .iter()
            .map(|p| action_key(p, action))
            .find(|k| !matches!(k, ActionKey::Any))
            .unwrap_or(ActionKey::Any),
        // A disjunction is pinned only when every part is.
        Cond::Or(parts) => {
            let mut names = Vec::new();
            let mut patterns = Vec::new();
            for p in parts {
                match action_key(p, action) {
                    ActionKey::Exact(n) => names.extend(n),
                    ActionKey::Glob(g) => patterns.extend(g),
                    ActionKey::Mixed(n, g) => {
                        names.extend(n);
                        patterns.extend(g);
                    }
                    ActionKey::Any => return ActionKey::Any,
                }
            }
            match (names.is_empty(), patterns.is_empty()) {
                (_, true) => ActionKey::Exact(names),
                (true, false) => ActionKey::Glob(patterns),
                (false, false) => ActionKey::Mixed(names, patterns),
            }
        }
        Cond::Const(true) | Cond::Not(_) => ActionKey::Any,
    }
}

/// The atom that pins a rule to its action, when one conjunct does (the condition
/// itself, or the first conjunct of its top-level `and` that pins the action, as
/// [`action_key`] reads it): a rule reached through the action index satisfies it.
fn pin_atom(cond: &Cond, action: PathId) -> Option<&AtomKind> {
    let pinned = |c: &Cond| !matches!(action_key(c, action), ActionKey::Any);
    match unnamed(cond) {
        Cond::Atom(a) if pinned(cond) => Some(&a.kind),
        Cond::And(parts) => match parts.iter().find(|p| pinned(p)).map(unnamed) {
            Some(Cond::Atom(a)) => Some(&a.kind),
            _ => None,
        },
        _ => None,
    }
}

/// A condition without the names around it.
fn unnamed(mut cond: &Cond) -> &Cond {
    while let Cond::Named { cond: inner, .. } = cond {
        cond = inner;
    }
    cond
}

/// Picks a specialised predicate for the common `path op constant` shapes.
fn specialise(a: Opd, op: CmpOp, b: Opd) -> Pred {
    let (a, op, b) = match (&a, &b) {
        (Opd::Const(_), Opd::Slot(_) | Opd::Risk) => (b, op.flip(), a),
        _ => (a, op, b),
    };
    match (&a, &b) {
        (Opd::Slot(slot), Opd::Const(CVal::Str(id, _))) if matches!(op, CmpOp::Eq | CmpOp::Ne) => {
            Pred::StrEq {
                slot: *slot,
                id: *id,
                ne: op == CmpOp::Ne,
            }
        }
        (Opd::Slot(slot), Opd::Const(CVal::Int(c))) => Pred::IntCmp {
            slot: *slot,
            op,
            c: *c,
        },
        (Opd::Slot(slot), Opd::Const(CVal::Dur(c))) => Pred::DurCmp {
            slot: *slot,
            op,
            c: *c,
        },
        (Opd::Risk, Opd::Const(CVal::Int(c))) => Pred::RiskCmp { op, c: *c },
        _ => Pred::Cmp { a, op, b },
    }
}

fn has_cel(cond: &Cond) -> bool {
    match cond {
        Cond::Atom(a) => matches!(a.kind, AtomKind::Cel(_)),
        Cond::Not(c) => has_cel(c),
        Cond::Named { cond, .. } => has_cel(cond),
        Cond::And(p) | Cond::Or(p) => p.iter().any(has_cel),
        Cond::Const(_) => false,
    }
}

impl Builder<'_> {
    fn intern(&mut self, s: &str) -> u32 {
        if let Some(id) = self.interner.get(s) {
            return *id;
        }
        let id = u32::try_from(self.interner.len()).unwrap_or(NO_ID - 1);
        self.interner.insert(Arc::from(s), id);
        id
    }

    fn push(&mut self, n: Node) -> u32 {
        self.nodes.push(n);
        u32::try_from(self.nodes.len() - 1).unwrap_or(u32::MAX)
    }

    // INVARIANT: one frame per level of the condition, whose depth the parser bounded
    // (`writ_syntax::MAX_NESTING`); `and`/`or` parts are iterated, not recursed per part.
    fn cond(&mut self, c: &Cond) -> u32 {
        match c {
            Cond::Const(b) => self.push(Node::Const(*b)),
            Cond::Atom(a) => {
                let p = self.pred(&a.kind);
                self.push(Node::Pred(p))
            }
            Cond::Not(inner) => {
                let i = self.cond(inner);
                self.push(Node::Not(i))
            }
            Cond::Named { cond, .. } => {
                let key = Arc::as_ptr(cond) as usize;
                match self.named.get(&key) {
                    Some(n) => *n,
                    None => {
                        let n = self.cond(cond);
                        self.named.insert(key, n);
                        n
                    }
                }
            }
            Cond::And(parts) | Cond::Or(parts) => {
                // CEL runs last: cheap siblings first, so short-circuiting skips it.
                let mut order: Vec<&Cond> = parts.iter().filter(|p| !has_cel(p)).collect();
                order.extend(parts.iter().filter(|p| has_cel(p)));
                let children: Vec<u32> = order.into_iter().map(|p| self.cond(p)).collect();
                let start = u32::try_from(self.kids.len()).unwrap_or(u32::MAX);
                let len = u32::try_from(children.len()).unwrap_or(u32::MAX);
                self.kids.extend(children);
                if matches!(c, Cond::And(_)) {
                    self.push(Node::And(start, len))
                } else {
                    self.push(Node::Or(start, len))
                }
            }
        }
    }

    fn pred(&mut self, kind: &AtomKind) -> u32 {
        let key = format!("{kind:?}");
        if let Some(i) = self.pred_index.get(&key) {
            return *i;
        }
        let pred = self.lower(kind);
        self.preds.push(pred);
        let i = u32::try_from(self.preds.len() - 1).unwrap_or(u32::MAX);
        self.pred_index.insert(key, i);
        i
    }

    fn cval(&mut self, v: &Value) -> CVal {
        match v {
            Value::String(s) => CVal::Str(self.intern(s), s.clone()),
            Value::Int(i) => CVal::Int(*i),
            Value::Number(n) => CVal::Num(*n),
            Value::Bool(b) => CVal::Bool(*b),
            Value::Duration(d) => CVal::Dur(*d),
            Value::Ip(ip) => CVal::Ip(*ip),
            Value::Time(t) => CVal::Time(*t),
        }
    }

    fn opd(&mut self, o: &Operand) -> Opd {
        match o {
            Operand::Path(p) if self.set.path(*p).text == "risk" => Opd::Risk,
            Operand::Path(p) => Opd::Slot(p.0),
            Operand::Const(v) => Opd::Const(self.cval(v)),
            Operand::Lower(p) => Opd::Lower(p.0),
            Operand::Arith(a) => {
                let l = self.opd(&a.lhs);
                let r = self.opd(&a.rhs);
                Opd::Arith(Box::new((l, a.op, r)))
            }
        }
    }

    fn set_opd(&mut self, s: &SetOperand) -> SetOpd {
        match s {
            SetOperand::Const(items) => {
                let mut ids: Vec<u32> = items.iter().map(|s| self.intern(s)).collect();
                ids.sort_unstable();
                ids.dedup();
                SetOpd::Ids(ids.into())
            }
            SetOperand::Path(p) => SetOpd::Slot(p.0),
        }
    }

    fn lower(&mut self, kind: &AtomKind) -> Pred {
        match kind {
            AtomKind::Truthy(p) => Pred::Truthy(p.0),
            AtomKind::Compare { lhs, op, rhs } => {
                let (a, b) = (self.opd(lhs), self.opd(rhs));
                specialise(a, *op, b)
            }
            AtomKind::InList { value, list } => {
                let v = self.opd(value);
                if list.iter().all(|x| matches!(x, Value::String(_))) && !list.is_empty() {
                    let mut ids: Vec<u32> = list
                        .iter()
                        .filter_map(|x| match x {
                            Value::String(s) => Some(self.intern(s)),
                            _ => None,
                        })
                        .collect();
                    ids.sort_unstable();
                    ids.dedup();
                    Pred::InStrIds { v, ids: ids.into() }
                } else {
                    let list = list.iter().map(|x| self.cval(x)).collect();
                    Pred::InList { v, list }
                }
            }
            AtomKind::InSet { value, set } => Pred::InSet {
                v: self.opd(value),
                set: set.0,
            },
            AtomKind::InCidr { value, nets } => {
                let v = self.opd(value);
                let mut key = nets.nets.clone();
                key.sort_unstable();
                let cidr = match self.range_index.get(&key) {
                    Some(i) => *i,
                    None => {
                        self.ranges.push(Ranges::new(nets));
                        let i = u32::try_from(self.ranges.len() - 1).unwrap_or(u32::MAX);
                        self.range_index.insert(key, i);
                        i
                    }
                };
                Pred::InCidr { v, cidr }
            }
            AtomKind::InHours { value, hours } => {
                let v = self.opd(value);
                let key = (hours.spec.clone(), hours.zone_name.clone());
                let h = match self.hours_index.get(&key) {
                    Some(i) => *i,
                    None => {
                        let zone = match self.zone_index.get(&hours.zone_name) {
                            Some(z) => *z,
                            None => {
                                self.zones.push(ZoneTable::new(hours.zone.clone()));
                                let z = u32::try_from(self.zones.len() - 1).unwrap_or(u32::MAX);
                                self.zone_index.insert(hours.zone_name.clone(), z);
                                z
                            }
                        };
                        let bits = hours.week_bitmap();
                        self.hours.push(HoursBits {
                            zone,
                            daily: daily(&bits),
                            bits,
                        });
                        let i = u32::try_from(self.hours.len() - 1).unwrap_or(u32::MAX);
                        self.hours_index.insert(key, i);
                        i
                    }
                };
                Pred::InHours { v, hours: h }
            }
            AtomKind::Matches { value, glob } => Pred::Matches {
                v: self.opd(value),
                glob: glob.clone(),
            },
            AtomKind::Has { set, item } => match self.opd(item) {
                Opd::Const(CVal::Str(id, _)) => Pred::HasId { set: set.0, id },
                item => Pred::Has { set: set.0, item },
            },
            AtomKind::HasAny { set, items } => Pred::HasAny {
                set: set.0,
                items: self.set_opd(items),
            },
            AtomKind::HasAll { set, items } => Pred::HasAll {
                set: set.0,
                items: self.set_opd(items),
            },
            AtomKind::Within { set, items } => Pred::Within {
                set: set.0,
                items: self.set_opd(items),
            },
            AtomKind::Cel(c) => Pred::Cel(c.clone()),
            AtomKind::Present(p) => Pred::Present(p.0),
        }
    }
}
