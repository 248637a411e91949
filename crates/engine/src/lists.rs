//! The action index as the hot path reads it: one lookup by the action's interned id gives
//! either a short list of candidates laid out flat — each with its rule, the bytecode entry
//! to start from and the flags the loop needs, so a decision reads neither a list header
//! nor the rule table — or, for a list long enough to be split, its tree (`narrow`).
//!
//! A short list holds the rules filed under its action (its own, and the globbed ones that
//! match it); the rules filed under every action (the global ones) are one list of their
//! own, shared by every action and so hot in the cache, tried after the action's own: the
//! loop puts the rules that fired back in set order (`eval::evaluate`).

use crate::compile::CRule;
use crate::narrow::Bucket;
use crate::slots::NO_ID;

/// One candidate rule of a flat list.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cand {
    /// The rule's index in the set.
    pub rule: u32,
    /// Where its code starts for this list (past its action test under an exact action).
    pub pc: u32,
    /// An allow rule fires only on `true`.
    pub allow: bool,
    /// Its guard (`guard`) is run first.
    pub guarded: bool,
}

impl Cand {
    fn new(r: u32, rule: &CRule, indexed: bool) -> Cand {
        Cand {
            rule: r,
            pc: if indexed {
                rule.entry.indexed
            } else {
                rule.entry.full
            },
            allow: rule.allow,
            guarded: rule.guard != 0,
        }
    }
}

/// What an exact action reaches.
pub(crate) enum Act<'a> {
    /// No rule names it exactly.
    None,
    /// Its own candidates; the global ones are [`ActionIndex::globals`].
    Flat(&'a [Cand]),
    /// A list split by other attributes (global rules included).
    Tree(&'a Bucket),
}

/// A list split by other attributes: `start` is the tree's index.
const TREE: u32 = u32::MAX;

/// The action index by interned id.
#[derive(Debug, Default)]
pub(crate) struct ActionIndex {
    /// By interned id: `(start, len)` of a flat list in `cands`, `(tree, TREE)`, or
    /// `(NO_ID, 0)` for an id that is no exact action.
    refs: Box<[(u32, u32)]>,
    cands: Box<[Cand]>,
    trees: Box<[Bucket]>,
    /// The global rules, in set order, entered in full.
    pub globals: Box<[Cand]>,
}

fn at(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl ActionIndex {
    /// The index over `lists` (each exact action's interned id and its candidates, global
    /// rules included) for `ids` interned strings; `global` are the global rules.
    pub(crate) fn new(
        lists: Vec<(u32, Bucket)>,
        ids: usize,
        rules: &[CRule],
        global: &[u32],
    ) -> ActionIndex {
        let mut refs = vec![(NO_ID, 0u32); ids];
        let mut cands = Vec::new();
        let mut trees = Vec::new();
        for (id, bucket) in lists {
            let Some(slot) = refs.get_mut(id as usize) else {
                continue;
            };
            if bucket.indexed() {
                *slot = (at(trees.len()), TREE);
                trees.push(bucket);
                continue;
            }
            let start = at(cands.len());
            cands.extend(
                bucket
                    .rules
                    .iter()
                    .filter(|r| global.binary_search(r).is_err())
                    .filter_map(|&r| Some(Cand::new(r, rules.get(r as usize)?, true))),
            );
            *slot = (start, at(cands.len()) - start);
        }
        ActionIndex {
            refs: refs.into_boxed_slice(),
            cands: cands.into_boxed_slice(),
            trees: trees.into_boxed_slice(),
            globals: global
                .iter()
                .filter_map(|&r| Some(Cand::new(r, rules.get(r as usize)?, false)))
                .collect(),
        }
    }

    /// What the action with interned id `id` reaches.
    #[inline]
    pub(crate) fn get(&self, id: u32) -> Act<'_> {
        match self.refs.get(id as usize) {
            Some(&(t, TREE)) => self.trees.get(t as usize).map_or(Act::None, Act::Tree),
            Some(&(start, len)) if start != NO_ID => self
                .cands
                .get(start as usize..(start + len) as usize)
                .map_or(Act::None, Act::Flat),
            _ => Act::None,
        }
    }

    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        let cand = std::mem::size_of::<Cand>();
        self.refs.len() * 8
            + (self.cands.len() + self.globals.len()) * cand
            + self
                .trees
                .iter()
                .map(|b| b.heap_bytes() + 64)
                .sum::<usize>()
    }
}
