//! What the compiled set keeps once its bytecode is emitted: the node arena the code was
//! emitted from is dropped, except the few subtrees nested deeper than the code's
//! accumulator register holds (`Op::Tree`), and the predicate table keeps only the
//! predicates the code reads through it (`Op::Pred`, `Op::Shared`, and the leaves of those
//! deep subtrees); the predicates inlined into the code (a slot against an interned id or
//! a constant, CIDR sets, windows) are dropped from it.
//!
//! Predicates are renumbered: those of the table first (`0..table`), then those only
//! memoised (`Op::MemoCidr`, `Op::MemoHours`), so that the per-request memo is indexed by
//! the same number wherever one predicate is read.

use rustc_hash::FxHashMap;

use crate::code::Op;
use crate::compile::{Node, Pred};

/// The subtrees evaluated by the tree walker (`Op::Tree`), in an arena of their own.
#[derive(Debug, Default)]
pub(crate) struct Deep {
    pub nodes: Vec<Node>,
    /// Children of `And`/`Or` nodes: `kids[start..start + len]`.
    pub kids: Vec<u32>,
}

impl Deep {
    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.nodes.len() * std::mem::size_of::<Node>() + self.kids.len() * 4
    }
}

/// The pruned predicate table, the memo's length and the deep subtrees.
pub(crate) struct Pruned {
    pub preds: Vec<Pred>,
    pub memo_len: usize,
    pub deep: Deep,
}

struct Copier<'a> {
    nodes: &'a [Node],
    kids: &'a [u32],
    deep: Deep,
    /// Old node index → new (named conditions are shared nodes: copied once).
    seen: FxHashMap<u32, u32>,
}

impl Copier<'_> {
    // INVARIANT: one frame per level of a checked condition, whose depth the parser
    // bounded (`writ_syntax::MAX_NESTING`).
    fn copy(&mut self, n: u32) -> u32 {
        if let Some(&m) = self.seen.get(&n) {
            return m;
        }
        let node = match self.nodes.get(n as usize).copied() {
            Some(Node::Not(c)) => Node::Not(self.copy(c)),
            Some(Node::And(start, len)) | Some(Node::Or(start, len)) => {
                let parts: Vec<u32> = self
                    .kids
                    .get(start as usize..(start + len) as usize)
                    .unwrap_or(&[])
                    .to_vec();
                let copied: Vec<u32> = parts.into_iter().map(|k| self.copy(k)).collect();
                let at = at(self.deep.kids.len());
                self.deep.kids.extend(copied);
                match self.nodes.get(n as usize) {
                    Some(Node::And(..)) => Node::And(at, len),
                    _ => Node::Or(at, len),
                }
            }
            Some(leaf) => leaf,
            // Emitted code names only nodes of the arena; fail closed if not.
            None => Node::Const(false),
        };
        self.deep.nodes.push(node);
        let m = at(self.deep.nodes.len() - 1);
        self.seen.insert(n, m);
        m
    }
}

fn at(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Drops what the code does not read: see the module documentation. `ops` are rewritten
/// in place (predicate and node numbers).
pub(crate) fn prune(preds: Vec<Pred>, nodes: &[Node], kids: &[u32], ops: &mut [Op]) -> Pruned {
    let mut copier = Copier {
        nodes,
        kids,
        deep: Deep::default(),
        seen: FxHashMap::default(),
    };
    for op in ops.iter_mut() {
        if let Op::Tree(n) = op {
            *n = copier.copy(*n);
        }
    }
    let mut deep = copier.deep;
    // Predicates the table must hold, then those only memoised.
    const NONE: u32 = u32::MAX;
    let mut map = vec![NONE; preds.len()];
    let mut order: Vec<u32> = Vec::new();
    let take = |p: u32, map: &mut Vec<u32>, order: &mut Vec<u32>| {
        if let Some(m) = map.get_mut(p as usize) {
            if *m == NONE {
                *m = at(order.len());
                order.push(p);
            }
        }
    };
    for op in ops.iter() {
        if let Op::Pred(p) | Op::Shared(p) = op {
            take(*p, &mut map, &mut order);
        }
    }
    for n in &deep.nodes {
        if let Node::Pred(p) | Node::Shared(p) = n {
            take(*p, &mut map, &mut order);
        }
    }
    let table = order.len();
    for op in ops.iter() {
        if let Op::MemoCidr { p, .. } | Op::MemoHours { p, .. } = op {
            take(*p, &mut map, &mut order);
        }
    }
    let memo_len = order.len();
    let new = |p: u32| map.get(p as usize).copied().unwrap_or(NONE);
    for op in ops.iter_mut() {
        match op {
            Op::Pred(p) | Op::Shared(p) => *p = new(*p),
            Op::MemoCidr { p, .. } | Op::MemoHours { p, .. } => *p = new(*p),
            _ => {}
        }
    }
    for n in &mut deep.nodes {
        if let Node::Pred(p) | Node::Shared(p) = n {
            *p = new(*p);
        }
    }
    let mut slots: Vec<Option<Pred>> = preds.into_iter().map(Some).collect();
    let preds: Vec<Pred> = order[..table]
        .iter()
        .filter_map(|&p| slots.get_mut(p as usize).and_then(Option::take))
        .collect();
    deep.nodes.shrink_to_fit();
    deep.kids.shrink_to_fit();
    Pruned {
        preds,
        memo_len,
        deep,
    }
}
