//! The loop that runs the bytecode (`code.rs`) of one rule or signal against a bound
//! request: leaves read its compact slots (`hot.rs`) and set the current truth `t` (two
//! bits); nested `and`/`or` keep their accumulators in two-bit lanes of one register and
//! jump past the parts that can no longer change them; a rule ends as soon as it can no
//! longer fire.
//!
//! Architecture Invariant: no allocation, no I/O, no lock; the only state written is the
//! per-request predicate memo.

use crate::code::{and, bit, not, or, Op, Then, F, T, U};
use crate::eval::{compare_int, ordered, Run};
use crate::request::NO_ID;
use crate::truth::Truth;
use crate::unknown::{NoTrack, Track};

/// A three-valued truth as two bits.
#[inline(always)]
pub(crate) fn bits(t: Truth) -> u8 {
    match t {
        Truth::False => F,
        Truth::True => T,
        Truth::Unknown => U,
    }
}

/// Two bits as a three-valued truth.
#[inline(always)]
pub(crate) fn truth(b: u8) -> Truth {
    match b {
        T => Truth::True,
        F => Truth::False,
        _ => Truth::Unknown,
    }
}

impl Run<'_, '_> {
    /// Runs the code at `pc` to its `End` (or to the test that ends it early) and
    /// returns its truth: `F` for a rule that ended early because it cannot fire.
    // Not inlined on purpose: inlined where rules and guards are tried, it ran 8% fewer
    // instructions but took 15-30% longer over the bench's 10,000 requests (two copies of
    // the dispatch, each predicted worse); `REQUESTS=10000` in examples/instructions.rs.
    pub(crate) fn exec(&mut self, pc: u32) -> u8 {
        self.exec_with(pc, &mut NoTrack)
    }

    /// [`Run::exec`], telling `k` which missing paths made each part unknown (the rare
    /// path: a rule fired, or a signal counted, on `unknown`).
    pub(crate) fn exec_tracked<K: Track>(&mut self, pc: u32, k: &mut K) -> u8 {
        self.exec_with(pc, k)
    }

    #[inline(always)]
    fn exec_with<K: Track>(&mut self, mut pc: u32, k: &mut K) -> u8 {
        let set = self.ctx.set;
        let ops = &set.code.ops[..];
        let hot = &self.ctx.req.hot;
        let mut t = T;
        let mut acc = T;
        let mut lanes: u64 = 0;
        // After a leaf that carries what follows it (`Then`): track it, then do that.
        macro_rules! then {
            ($then:expr, $ins:expr) => {{
                if K::ON {
                    k.leaf(self, $ins, t);
                }
                match $then {
                    Then::Next => {}
                    Then::Require => {
                        if t != T {
                            return F;
                        }
                    }
                    Then::Known => {
                        if t == F {
                            return F;
                        }
                        acc = and(acc, t);
                        k.fold_rule(t);
                    }
                    Then::End => {
                        k.fold_rule(t);
                        return and(acc, t);
                    }
                }
                continue;
            }};
        }
        loop {
            let Some(&ins) = ops.get(pc as usize) else {
                // Emitted code always ends with `End`; fail closed if it did not.
                return F;
            };
            pc += 1;
            match ins {
                Op::Const(b) => t = b,
                Op::Truthy { slot: s, then } => {
                    t = match hot.bool(s) {
                        Some(b) => bit(b),
                        None => U,
                    };
                    then!(then, ins)
                }
                Op::StrEq { slot, id, then } => {
                    t = match hot.str(slot) {
                        Some(got) => bit(got == id),
                        None => U,
                    };
                    then!(then, ins)
                }
                Op::StrNe { slot, id, then } => {
                    t = match hot.str(slot) {
                        Some(got) => bit(got != id),
                        None => U,
                    };
                    then!(then, ins)
                }
                Op::IntCmp { slot, op, c, then } => {
                    t = match hot.int_or_num(slot) {
                        Some(Ok(i)) => bits(ordered(i.cmp(&c), op)),
                        Some(Err(n)) => bits(compare_int(n, op, c)),
                        None => U,
                    };
                    then!(then, ins)
                }
                Op::DurCmp { slot, op, c } => {
                    t = match hot.dur(slot) {
                        Some(d) => bits(ordered(d.cmp(&c), op)),
                        None => U,
                    }
                }
                Op::RiskCmp { op, c } => t = bits(ordered(i64::from(self.ctx.risk).cmp(&c), op)),
                Op::HasId { set: s, id, then } => {
                    t = match hot.set(s) {
                        Some(ids) => bit(ids.binary_search(&id).is_ok()),
                        None => U,
                    };
                    then!(then, ins)
                }
                Op::InIds {
                    slot,
                    start,
                    len,
                    then,
                } => {
                    t = match hot.str(slot) {
                        Some(id) => bit(id != NO_ID
                            && set
                                .code
                                .ids
                                .get(start as usize..(start + len) as usize)
                                .is_some_and(|ids| ids.binary_search(&id).is_ok())),
                        None => U,
                    };
                    then!(then, ins)
                }
                Op::Present(s) => t = bit(!hot.missing(s)),
                Op::InCidr { slot, cidr, then } => {
                    t = match hot.ip(slot) {
                        Some(ip) => bit(set.ranges[cidr as usize].contains(&ip)),
                        None => U,
                    };
                    then!(then, ins)
                }
                Op::InHours { slot, hours, then } => {
                    t = match hot.time(slot) {
                        Some(at) => bit(set.hours[hours as usize].contains(&set.zones, at)),
                        None => U,
                    };
                    then!(then, ins)
                }
                Op::InNet { slot, lo, hi, then } => {
                    t = match hot.ip(slot) {
                        Some(ip) => bit(crate::compile::in_net(&ip, lo, hi)),
                        None => U,
                    };
                    then!(then, ins)
                }
                Op::InDaily {
                    slot,
                    zone,
                    packed,
                    then,
                } => {
                    t = match hot.time(slot) {
                        Some(at) => match set.zones.get(zone as usize) {
                            Some(z) => bit(crate::compile::in_daily(packed, z.week_minute(at))),
                            None => F,
                        },
                        None => U,
                    };
                    then!(then, ins)
                }
                Op::MemoCidr {
                    slot,
                    cidr,
                    p,
                    then,
                } => {
                    t = match self.memo.get(p as usize) {
                        Some(&(g, m)) if g == self.generation => bits(m),
                        _ => {
                            let r = match hot.ip(slot) {
                                Some(ip) => bit(set.ranges[cidr as usize].contains(&ip)),
                                None => U,
                            };
                            self.remember(p, r);
                            r
                        }
                    };
                    then!(then, ins)
                }
                Op::MemoHours {
                    slot,
                    hours,
                    p,
                    then,
                } => {
                    t = match self.memo.get(p as usize) {
                        Some(&(g, m)) if g == self.generation => bits(m),
                        _ => {
                            let r = match hot.time(slot) {
                                Some(at) => bit(set.hours[hours as usize].contains(&set.zones, at)),
                                None => U,
                            };
                            self.remember(p, r);
                            r
                        }
                    };
                    then!(then, ins)
                }
                Op::Pred(p) => t = bits(self.ctx.pred(&set.preds[p as usize])),
                Op::Shared(p) => t = bits(self.pred(p)),
                Op::Tree(n) => t = bits(self.node(n)),
                Op::Not => {
                    t = not(t);
                    continue;
                }
                Op::AndFirst(j) => {
                    if t == F {
                        pc = j;
                    } else {
                        lanes = (lanes << 2) | u64::from(t);
                        k.open(t);
                    }
                    continue;
                }
                Op::AndNext(j) => {
                    if t == F {
                        lanes >>= 2;
                        pc = j;
                        k.drop_lane();
                    } else {
                        lanes = (lanes & !3) | u64::from(and(top(lanes), t));
                        k.fold(t);
                    }
                    continue;
                }
                Op::AndLast => {
                    k.last(t);
                    t = and(top(lanes), t);
                    lanes >>= 2;
                    continue;
                }
                Op::OrFirst(j) => {
                    if t == T {
                        pc = j;
                    } else {
                        lanes = (lanes << 2) | u64::from(t);
                        k.open(t);
                    }
                    continue;
                }
                Op::OrNext(j) => {
                    if t == T {
                        lanes >>= 2;
                        pc = j;
                        k.drop_lane();
                    } else {
                        lanes = (lanes & !3) | u64::from(or(top(lanes), t));
                        k.fold(t);
                    }
                    continue;
                }
                Op::OrLast => {
                    k.last(t);
                    t = or(top(lanes), t);
                    lanes >>= 2;
                    continue;
                }
                Op::RequireTrue => {
                    if t != T {
                        return F;
                    }
                    continue;
                }
                Op::RequireKnown => {
                    if t == F {
                        return F;
                    }
                    acc = and(acc, t);
                    k.fold_rule(t);
                    continue;
                }
                Op::End => {
                    k.fold_rule(t);
                    return and(acc, t);
                }
            }
            // A leaf set `t`.
            if K::ON {
                k.leaf(self, ins, t);
            }
        }
    }
}

impl Run<'_, '_> {
    /// Memoises predicate `p` for this request.
    #[inline(always)]
    fn remember(&mut self, p: u32, t: u8) {
        let generation = self.generation;
        if let Some(m) = self.memo.get_mut(p as usize) {
            *m = (generation, truth(t));
        }
    }
}

/// The top lane of the accumulator register.
#[inline(always)]
fn top(lanes: u64) -> u8 {
    // Two bits: the cast keeps exactly them.
    (lanes & 3) as u8
}
