//! The bytecode: each rule's and signal's condition flattened into a short run of
//! instructions with inline operands (slot, interned id, constant, jump target), laid out
//! contiguously per rule in one array, and run by one loop (`vm.rs`).
//!
//! A condition is emitted from the compiled node arena (`compile.rs`), which is then
//! dropped but for the few subtrees nested too deep for the code (`prune.rs`); the rare
//! path (the paths whose absence made a fired rule unknown) runs the code again with a
//! tracker (`unknown.rs`):
//!
//! - the top-level conjunction of a rule is a run of conjuncts, each followed by a test
//!   that leaves the rule as soon as it can no longer fire (`RequireTrue` for an allow
//!   rule, which fires only on `true`; `RequireKnown`, not `false`, for the others and for
//!   signals), so the rule-level conjunction needs no stack;
//! - a nested `and`/`or` keeps its accumulator in a two-bit lane of a 64-bit register,
//!   and jumps past its remaining parts as soon as one part decides it;
//! - cheap predicates (a slot against an interned id or a constant) are inline and
//!   evaluated where they stand, shared or not; the costly ones (general comparisons,
//!   CIDR sets, hours, globs, set operators, CEL) go through the predicate table and are
//!   memoised per request only when several nodes share them;
//! - a rule pinned to its action by one conjunct (`action == "x"`, `action in [...]`,
//!   `action matches "..."`) has that conjunct emitted first, and a second entry point
//!   just past it: a rule reached through the action index (whose list holds the rule
//!   only for actions that conjunct accepts) starts there, without the test.
//!
//! Truth is two bits: bit 0 "may be true", bit 1 "may be false" (`T` = 1, `F` = 2,
//! unknown `U` = 3), so Kleene `and` and `or` are bitwise.

use writ_check::ir::CmpOp;

use crate::compile::{Node, Opd, Pred};

/// Certainly true.
pub(crate) const T: u8 = 1;
/// Certainly false.
pub(crate) const F: u8 = 2;
/// Unknown.
pub(crate) const U: u8 = 3;

/// Nested `and`/`or` levels the 64-bit accumulator register holds (two bits each); a
/// deeper part is evaluated by the tree walker instead.
const MAX_LANES: u32 = 31;

/// What a leaf does after setting `t`: a conjunct of the rule's top-level conjunction that
/// is one leaf carries the test that follows it (`RequireTrue`, `RequireKnown`, `End`)
/// instead of a second instruction, so a typical rule is half as many instructions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Then {
    /// Go on to the next instruction.
    Next,
    /// As `Op::RequireTrue`.
    Require,
    /// As `Op::RequireKnown`.
    Known,
    /// As `Op::End`.
    End,
}

impl Then {
    /// The instruction that does this when it cannot be fused into a leaf.
    fn op(self) -> Op {
        match self {
            Then::Require => Op::RequireTrue,
            Then::Known => Op::RequireKnown,
            Then::End | Then::Next => Op::End,
        }
    }
}

/// One instruction. Leaves set the current truth `t`; the others combine or jump.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Op {
    /// A constant truth (two bits).
    Const(u8),
    /// `path` (a bool slot).
    Truthy { slot: u32, then: Then },
    /// `path == "const"` by interned id.
    StrEq { slot: u32, id: u32, then: Then },
    /// `path != "const"` by interned id.
    StrNe { slot: u32, id: u32, then: Then },
    /// `path op int`.
    IntCmp {
        slot: u32,
        op: CmpOp,
        c: i64,
        then: Then,
    },
    /// `path op duration`.
    DurCmp { slot: u32, op: CmpOp, c: u64 },
    /// `risk op int`.
    RiskCmp { op: CmpOp, c: i64 },
    /// `set has "const"` by interned id.
    HasId { set: u32, id: u32, then: Then },
    /// `path in ["a", "b"]`: the sorted ids are `ids[start..start + len]`.
    InIds {
        slot: u32,
        start: u32,
        len: u32,
        then: Then,
    },
    /// `present(path)`.
    Present(u32),
    /// `path in cidr [...]`, unshared.
    InCidr { slot: u32, cidr: u32, then: Then },
    /// `path in cidr [...]`, unshared, a set of IPv4 networks that merge into the one
    /// range `lo..=hi`: tested inline.
    InNet {
        slot: u32,
        lo: u32,
        hi: u32,
        then: Then,
    },
    /// `path in hours ...`, unshared.
    InHours { slot: u32, hours: u32, then: Then },
    /// `path in hours ...`, unshared, a window that is one span of the day on some
    /// weekdays: tested inline (`compile::daily`), the zone's table being all it reads.
    InDaily {
        slot: u32,
        zone: u32,
        packed: u32,
        then: Then,
    },
    /// `path in cidr [...]` several nodes share: memoised per request as predicate `p`.
    MemoCidr {
        slot: u32,
        cidr: u32,
        p: u32,
        then: Then,
    },
    /// `path in hours ...` several nodes share: memoised per request as predicate `p`.
    MemoHours {
        slot: u32,
        hours: u32,
        p: u32,
        then: Then,
    },
    /// A predicate of the table evaluated where it stands (used by this node only).
    Pred(u32),
    /// A predicate of the table several nodes share: memoised per request.
    Shared(u32),
    /// A part nested deeper than the accumulator register holds: the tree walker
    /// evaluates this node.
    Tree(u32),
    /// Kleene negation of `t`.
    Not,
    /// After the first part of an `and`: `false` jumps to the target; else push `t`.
    AndFirst(u32),
    /// After a middle part: `false` pops and jumps; else the top lane `and`= `t`.
    AndNext(u32),
    /// After the last part: `t` = popped lane `and` `t`.
    AndLast,
    /// After the first part of an `or`: `true` jumps to the target; else push `t`.
    OrFirst(u32),
    /// After a middle part: `true` pops and jumps; else the top lane `or`= `t`.
    OrNext(u32),
    /// After the last part: `t` = popped lane `or` `t`.
    OrLast,
    /// A conjunct of an allow rule: anything but `true` ends the rule, not fired.
    RequireTrue,
    /// A conjunct of a deny or approve rule or of a signal: `false` ends it, not fired;
    /// otherwise the rule's accumulator `and`= `t`.
    RequireKnown,
    /// The end of a rule or signal: its truth is the accumulator `and` `t`.
    End,
}

impl Op {
    /// Fuses `then` into this instruction when it is a leaf that carries one.
    fn fuse(&mut self, then: Then) -> bool {
        match self {
            Op::Truthy { then: t, .. }
            | Op::StrEq { then: t, .. }
            | Op::StrNe { then: t, .. }
            | Op::IntCmp { then: t, .. }
            | Op::HasId { then: t, .. }
            | Op::InIds { then: t, .. }
            | Op::InCidr { then: t, .. }
            | Op::InNet { then: t, .. }
            | Op::InHours { then: t, .. }
            | Op::InDaily { then: t, .. }
            | Op::MemoCidr { then: t, .. }
            | Op::MemoHours { then: t, .. } => {
                *t = then;
                true
            }
            _ => false,
        }
    }

    /// Whether a rule's code ends here (`End`, or a leaf that ends it).
    #[cfg(test)]
    pub(crate) fn ends(&self) -> bool {
        match self {
            Op::End => true,
            Op::Truthy { then, .. }
            | Op::StrEq { then, .. }
            | Op::StrNe { then, .. }
            | Op::IntCmp { then, .. }
            | Op::HasId { then, .. }
            | Op::InIds { then, .. }
            | Op::InCidr { then, .. }
            | Op::InNet { then, .. }
            | Op::InHours { then, .. }
            | Op::InDaily { then, .. }
            | Op::MemoCidr { then, .. }
            | Op::MemoHours { then, .. } => *then == Then::End,
            _ => false,
        }
    }
}

/// Where a rule's code starts.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Entry {
    /// For a rule reached without the action index (every rule may apply).
    pub full: u32,
    /// For a rule reached through the action index: past the conjunct that pinned it to
    /// the action.
    pub indexed: u32,
}

/// The compiled code of a set.
#[derive(Debug)]
pub(crate) struct Code {
    pub ops: Vec<Op>,
    /// Sorted interned ids of `in [...]` lists.
    pub ids: Vec<u32>,
}

/// The entry that evaluates to `true` at once: `[Const(T), End]`.
const TRUE_ENTRY: u32 = 0;

/// Kleene `and` of two-bit truths.
#[inline(always)]
pub(crate) fn and(a: u8, b: u8) -> u8 {
    ((a & b) & 1) | ((a | b) & 2)
}

/// Kleene `or` of two-bit truths.
#[inline(always)]
pub(crate) fn or(a: u8, b: u8) -> u8 {
    ((a | b) & 1) | ((a & b) & 2)
}

/// Kleene negation of a two-bit truth.
#[inline(always)]
pub(crate) fn not(a: u8) -> u8 {
    ((a & 1) << 1) | ((a >> 1) & 1)
}

/// A known bool as two bits.
#[inline(always)]
pub(crate) fn bit(b: bool) -> u8 {
    2 - u8::from(b)
}

/// What the emitter reads of the compiled set.
pub(crate) struct Source<'a> {
    pub nodes: &'a [Node],
    pub kids: &'a [u32],
    pub preds: &'a [Pred],
    pub hours: &'a [crate::compile::HoursBits],
    pub ranges: &'a [crate::compile::Ranges],
}

fn at(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Code {
    /// New code holding the shared `true` entry.
    pub fn new() -> Code {
        Code {
            ops: vec![Op::Const(T), Op::End],
            ids: Vec::new(),
        }
    }

    /// Emits a rule (or signal, with `allow` false) whose condition is node `root`;
    /// `pin` is the predicate of the conjunct that pinned it to its action, if any.
    pub fn rule(&mut self, src: &Source<'_>, root: u32, allow: bool, pin: Option<u32>) -> Entry {
        let full = at(self.ops.len());
        let require = if allow { Then::Require } else { Then::Known };
        let is_leaf = |n: u32| matches!(src.nodes[n as usize], Node::Pred(_) | Node::Shared(_));
        let is_pin = |n: u32| match src.nodes[n as usize] {
            Node::Pred(p) | Node::Shared(p) => Some(p) == pin,
            _ => false,
        };
        match src.nodes[root as usize] {
            Node::And(start, len) if len > 0 => {
                let parts = &src.kids[start as usize..(start + len) as usize];
                let pinned = parts.iter().position(|&k| is_pin(k));
                let mut order: Vec<u32> = Vec::with_capacity(parts.len());
                order.extend(pinned.map(|i| parts[i]));
                order.extend(
                    parts
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| Some(*i) != pinned)
                        .map(|(_, k)| *k),
                );
                let mut indexed = full;
                for (i, &k) in order.iter().enumerate() {
                    self.expr(src, k, 0);
                    let then = if i + 1 == order.len() {
                        Then::End
                    } else {
                        require
                    };
                    self.finish(is_leaf(k), then);
                    if i == 0 && pinned.is_some() {
                        indexed = if order.len() == 1 {
                            TRUE_ENTRY
                        } else {
                            at(self.ops.len())
                        };
                    }
                }
                Entry { full, indexed }
            }
            _ => {
                self.expr(src, root, 0);
                self.finish(is_leaf(root), Then::End);
                let indexed = if is_pin(root) { TRUE_ENTRY } else { full };
                Entry { full, indexed }
            }
        }
    }

    /// Emits the guard of a rule (`guard`): each test (a predicate, negated or not), then
    /// `RequireKnown`, so that the run ends `F` as soon as one is false. `shared` says
    /// which predicates several nodes share (memoised).
    pub fn guard(
        &mut self,
        src: &Source<'_>,
        tests: &[(u32, bool)],
        shared: &dyn Fn(u32) -> bool,
    ) -> u32 {
        let start = at(self.ops.len());
        for (i, &(p, negated)) in tests.iter().enumerate() {
            self.leaf(src, p, shared(p));
            if negated {
                self.ops.push(Op::Not);
            }
            let then = if i + 1 == tests.len() {
                Then::End
            } else {
                Then::Known
            };
            self.finish(!negated, then);
        }
        start
    }

    /// Ends a conjunct with `then`: fused into its instruction when the conjunct is one
    /// leaf that carries one (`leaf`), else as an instruction of its own.
    fn finish(&mut self, leaf: bool, then: Then) {
        let fused = leaf && self.ops.last_mut().is_some_and(|op| op.fuse(then));
        if !fused {
            self.ops.push(then.op());
        }
    }

    // INVARIANT: one frame per level of the condition, whose depth the parser bounded.
    fn expr(&mut self, src: &Source<'_>, n: u32, depth: u32) {
        match src.nodes[n as usize] {
            Node::Const(b) => self.ops.push(Op::Const(bit(b))),
            Node::Pred(p) => self.leaf(src, p, false),
            Node::Shared(p) => self.leaf(src, p, true),
            Node::Not(c) => {
                self.expr(src, c, depth);
                self.ops.push(Op::Not);
            }
            Node::And(start, len) | Node::Or(start, len) => {
                let is_and = matches!(src.nodes[n as usize], Node::And(..));
                let parts = &src.kids[start as usize..(start + len) as usize];
                match parts {
                    [] => self.ops.push(Op::Const(if is_and { T } else { F })),
                    [one] => self.expr(src, *one, depth),
                    _ if depth >= MAX_LANES => self.ops.push(Op::Tree(n)),
                    _ => {
                        let mut jumps = Vec::with_capacity(parts.len());
                        for (i, &k) in parts.iter().enumerate() {
                            self.expr(src, k, depth + 1);
                            let op = match (is_and, i == 0, i + 1 == parts.len()) {
                                (true, _, true) => Op::AndLast,
                                (false, _, true) => Op::OrLast,
                                (true, true, _) => Op::AndFirst(0),
                                (true, false, _) => Op::AndNext(0),
                                (false, true, _) => Op::OrFirst(0),
                                (false, false, _) => Op::OrNext(0),
                            };
                            if !matches!(op, Op::AndLast | Op::OrLast) {
                                jumps.push(self.ops.len());
                            }
                            self.ops.push(op);
                        }
                        let end = at(self.ops.len());
                        for j in jumps {
                            match &mut self.ops[j] {
                                Op::AndFirst(t)
                                | Op::AndNext(t)
                                | Op::OrFirst(t)
                                | Op::OrNext(t) => *t = end,
                                _ => {}
                            }
                        }
                    }
                }
            }
        }
    }

    fn leaf(&mut self, src: &Source<'_>, p: u32, shared: bool) {
        let table = if shared { Op::Shared(p) } else { Op::Pred(p) };
        let op = match &src.preds[p as usize] {
            Pred::Truthy(s) => Op::Truthy {
                slot: *s,
                then: Then::Next,
            },
            Pred::StrEq { slot, id, ne } => {
                if *ne {
                    Op::StrNe {
                        slot: *slot,
                        id: *id,
                        then: Then::Next,
                    }
                } else {
                    Op::StrEq {
                        slot: *slot,
                        id: *id,
                        then: Then::Next,
                    }
                }
            }
            Pred::IntCmp { slot, op, c } => Op::IntCmp {
                slot: *slot,
                op: *op,
                c: *c,
                then: Then::Next,
            },
            Pred::DurCmp { slot, op, c } => Op::DurCmp {
                slot: *slot,
                op: *op,
                c: *c,
            },
            Pred::RiskCmp { op, c } => Op::RiskCmp { op: *op, c: *c },
            Pred::HasId { set, id } => Op::HasId {
                set: *set,
                id: *id,
                then: Then::Next,
            },
            Pred::Present(s) => Op::Present(*s),
            Pred::InStrIds {
                v: Opd::Slot(slot),
                ids,
            } => {
                let start = at(self.ids.len());
                self.ids.extend_from_slice(ids);
                Op::InIds {
                    slot: *slot,
                    start,
                    len: at(ids.len()),
                    then: Then::Next,
                }
            }
            Pred::InCidr {
                v: Opd::Slot(slot),
                cidr,
            } => match shared {
                false => match src.ranges.get(*cidr as usize) {
                    Some(r) if r.v6.is_empty() && r.v4.len() == 1 => Op::InNet {
                        slot: *slot,
                        lo: r.v4[0].0,
                        hi: r.v4[0].1,
                        then: Then::Next,
                    },
                    _ => Op::InCidr {
                        slot: *slot,
                        cidr: *cidr,
                        then: Then::Next,
                    },
                },
                true => Op::MemoCidr {
                    slot: *slot,
                    cidr: *cidr,
                    p,
                    then: Then::Next,
                },
            },
            Pred::InHours {
                v: Opd::Slot(slot),
                hours,
            } => match shared {
                false => match src.hours.get(*hours as usize) {
                    Some(crate::compile::HoursBits {
                        zone,
                        daily: Some(packed),
                        ..
                    }) => Op::InDaily {
                        slot: *slot,
                        zone: *zone,
                        packed: *packed,
                        then: Then::Next,
                    },
                    _ => Op::InHours {
                        slot: *slot,
                        hours: *hours,
                        then: Then::Next,
                    },
                },
                true => Op::MemoHours {
                    slot: *slot,
                    hours: *hours,
                    p,
                    then: Then::Next,
                },
            },
            _ => table,
        };
        self.ops.push(op);
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.ops.len() * std::mem::size_of::<Op>() + self.ids.len() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [u8; 3] = [T, F, U];

    fn kleene(a: u8) -> crate::truth::Truth {
        match a {
            T => crate::truth::Truth::True,
            F => crate::truth::Truth::False,
            _ => crate::truth::Truth::Unknown,
        }
    }

    #[test]
    fn two_bit_truth_is_kleene_logic() {
        for a in ALL {
            assert_eq!(kleene(not(a)), !kleene(a));
            for b in ALL {
                assert_eq!(kleene(and(a, b)), kleene(a).and(kleene(b)), "{a} and {b}");
                assert_eq!(kleene(or(a, b)), kleene(a).or(kleene(b)), "{a} or {b}");
            }
        }
        assert_eq!(bit(true), T);
        assert_eq!(bit(false), F);
    }

    #[test]
    fn a_rule_reached_through_the_index_skips_its_action_test() {
        let mut sources = writ_syntax::SourceMap::default();
        sources.add(
            "p.writ",
            r#"
            rule "r" { when action == "a" and device.managed allow }
            rule "s" { when device.managed and action in ["a", "b"] deny }
            rule "t" { when action == "a" allow }
            rule "u" { when device.managed allow }
            rule "v" { when device.managed or action == "a" allow }
            "#,
        );
        let set = writ_check::check(sources).unwrap();
        let c = crate::compile::compile_with(&set, true);
        let action = c.action_path.unwrap();
        let reads_action = |from: u32| {
            let ops = &c.code.ops[from as usize..];
            let end = ops.iter().position(Op::ends).map_or(ops.len(), |e| e + 1);
            ops[..end].iter().any(
                |o| matches!(o, Op::StrEq { slot, .. } | Op::InIds { slot, .. } if *slot == action),
            )
        };
        for r in &c.rules[..2] {
            assert!(reads_action(r.entry.full));
            assert!(!reads_action(r.entry.indexed));
        }
        assert_eq!(c.rules[2].entry.indexed, TRUE_ENTRY);
        for r in &c.rules[3..] {
            assert_eq!(r.entry.indexed, r.entry.full);
        }
        assert!(reads_action(c.rules[4].entry.full));
    }

    #[test]
    fn an_instruction_is_sixteen_bytes() {
        assert!(std::mem::size_of::<Op>() <= 16);
    }
}
