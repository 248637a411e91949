//! The rare path: which missing request paths made a fired rule (or a counted signal)
//! unknown, found by running its bytecode again with a tracker (`Run::exec_tracked`).
//!
//! The reference reads it off the condition tree: an unknown `and`/`or` is unknown through
//! its unknown parts (an unknown `and` has no false part, an unknown `or` no true one, so
//! every part was evaluated), and an unknown leaf through the missing paths it reads. The
//! tracker follows the code's structure the same way: the paths of the current truth `t`
//! (kept only while it is unknown), one list per open `and`/`or` lane beside the lane
//! register, and one for the rule's top-level conjunction. The hot path runs the same loop
//! with [`NoTrack`], whose methods are empty and vanish.

use crate::code::{Op, U};
use crate::compile::Compiled;
use crate::eval::{missing_in_pred, Run};
use crate::request::Slot;

/// What the code loop tells a tracker.
pub(crate) trait Track {
    /// Whether tracking is on (the hot path's [`NoTrack`] is off: nothing is called).
    const ON: bool;
    /// A leaf `op` set the current truth to `t`.
    fn leaf(&mut self, run: &mut Run<'_, '_>, op: Op, t: u8);
    /// A nested `and`/`or` opened a lane holding `t`.
    fn open(&mut self, t: u8);
    /// A nested `and`/`or` was decided early: its lane is dropped.
    fn drop_lane(&mut self);
    /// The part just evaluated (truth `t`) was folded into the open lane.
    fn fold(&mut self, t: u8);
    /// The last part (truth `t`) closes the lane: the current truth is now the lane's.
    fn last(&mut self, t: u8);
    /// A conjunct of the rule's top-level conjunction (truth `t`) was folded into it.
    fn fold_rule(&mut self, t: u8);
}

/// The hot path's tracker: tracks nothing.
pub(crate) struct NoTrack;

impl Track for NoTrack {
    const ON: bool = false;
    #[inline(always)]
    fn leaf(&mut self, _: &mut Run<'_, '_>, _: Op, _: u8) {}
    #[inline(always)]
    fn open(&mut self, _: u8) {}
    #[inline(always)]
    fn drop_lane(&mut self) {}
    #[inline(always)]
    fn fold(&mut self, _: u8) {}
    #[inline(always)]
    fn last(&mut self, _: u8) {}
    #[inline(always)]
    fn fold_rule(&mut self, _: u8) {}
}

/// Missing paths: slots, and the paths CEL leaves read.
#[derive(Debug, Default)]
struct Missing {
    slots: Vec<u32>,
    cel: Vec<String>,
}

impl Missing {
    fn clear(&mut self) {
        self.slots.clear();
        self.cel.clear();
    }

    fn extend(&mut self, other: &Missing) {
        self.slots.extend_from_slice(&other.slots);
        self.cel.extend(other.cel.iter().cloned());
    }
}

/// The tracker of the rare path: collects the missing paths of the rule's truth.
#[derive(Debug, Default)]
pub(crate) struct Paths {
    /// The paths of the current truth (while it is unknown).
    cur: Missing,
    /// One list per open lane.
    lanes: Vec<Missing>,
    /// The rule's top-level conjunction.
    rule: Missing,
}

impl Paths {
    /// The paths found, as text (order and repeats do not matter: the decision sorts
    /// and deduplicates them).
    pub(crate) fn texts(self, set: &Compiled) -> Vec<String> {
        let mut out: Vec<String> = self
            .rule
            .slots
            .iter()
            .filter_map(|&i| set.paths.get(i as usize).map(|p| p.text.clone()))
            .collect();
        out.extend(self.rule.cel);
        out
    }
}

/// The slot a leaf reads, for the leaves that read one slot inline.
fn leaf_slot(op: Op) -> Option<u32> {
    match op {
        Op::Truthy { slot: s, .. }
        | Op::StrEq { slot: s, .. }
        | Op::StrNe { slot: s, .. }
        | Op::IntCmp { slot: s, .. }
        | Op::DurCmp { slot: s, .. }
        | Op::HasId { set: s, .. }
        | Op::InIds { slot: s, .. }
        | Op::InCidr { slot: s, .. }
        | Op::InNet { slot: s, .. }
        | Op::InHours { slot: s, .. }
        | Op::InDaily { slot: s, .. }
        | Op::MemoCidr { slot: s, .. }
        | Op::MemoHours { slot: s, .. } => Some(s),
        _ => None,
    }
}

impl Track for Paths {
    const ON: bool = true;

    fn leaf(&mut self, run: &mut Run<'_, '_>, op: Op, t: u8) {
        self.cur.clear();
        if t != U {
            return;
        }
        let set = run.ctx.set;
        match op {
            Op::Pred(p) | Op::Shared(p) => {
                if let Some(pred) = set.preds.get(p as usize) {
                    missing_in_pred(&run.ctx, pred, &mut self.cur.slots, &mut self.cur.cel);
                }
            }
            Op::Tree(n) => run.unknown_paths(n, &mut self.cur.slots, &mut self.cur.cel),
            _ => {
                if let Some(s) = leaf_slot(op) {
                    if matches!(run.ctx.req.slots.get(s as usize), Some(Slot::Missing)) {
                        self.cur.slots.push(s);
                    }
                }
            }
        }
    }

    fn open(&mut self, t: u8) {
        let mut lane = Missing::default();
        if t == U {
            lane.extend(&self.cur);
        }
        self.lanes.push(lane);
    }

    fn drop_lane(&mut self) {
        self.lanes.pop();
    }

    fn fold(&mut self, t: u8) {
        if t == U {
            if let Some(top) = self.lanes.last_mut() {
                top.extend(&self.cur);
            }
        }
    }

    fn last(&mut self, t: u8) {
        let mut lane = self.lanes.pop().unwrap_or_default();
        if t == U {
            lane.extend(&self.cur);
        }
        self.cur = lane;
    }

    fn fold_rule(&mut self, t: u8) {
        if t == U {
            self.rule.extend(&self.cur);
        }
    }
}
