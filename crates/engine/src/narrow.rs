//! The decision tree below the action (docs/performance.md, "The tree"): within the rules
//! filed under one action, the few that can still fire for a request, found without
//! trying the others.
//!
//! At compile time each rule's condition is read for what it *requires*: the parts of its
//! top-level conjunction (named conditions included) that test one string attribute for
//! equality or membership in a literal list (`resource.kind == "table"`, `principal.role
//! in ["dev", "ops"]`), or a set attribute for a literal (`principal.groups has "g3"`,
//! `has any [..]`, `has all [..]`). For each list of rules (one per exact action, one for
//! every rule when the action is unknown, and one for the glob fallback) the attributes
//! that split the list best are chosen, and each gets one bitset per value (the rules
//! that require that value) and one for the rules that do not test it.
//!
//! For a request, a rule survives an attribute when it does not test it, or when the
//! request's value is one it allows. An attribute the request does not carry (or carries
//! with another type) keeps every rule: a requirement on a missing value is unknown, and
//! an unknown may still make a deny or approve rule fire, so Kleene semantics are
//! untouched. A rule dropped here has a conjunct that is `false` for this request, so its
//! condition is `false`: it cannot fire and has no unknown to report.

use std::sync::Arc;

use rustc_hash::FxHashMap;
use writ_check::glob::Glob;
use writ_check::ir::{AtomKind, CmpOp, Cond, Operand, SetOperand, Value};

use crate::hot::{Hot, Val};
use crate::request::NO_ID;

/// Lists shorter than this are tried whole: narrowing them would cost more than it saves.
const MIN_RULES: usize = 6;
/// At most this many attributes are consulted per list.
const MAX_ATTRS: usize = 4;

/// What a rule requires of one attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Need {
    /// The string at this slot is one of these interned ids (sorted).
    OneOf(u32, Vec<u32>),
    /// The set at this slot holds at least one of these interned ids (sorted).
    AnyOf(u32, Vec<u32>),
}

impl Need {
    fn key(&self) -> (u32, bool) {
        match self {
            Need::OneOf(slot, _) => (*slot, false),
            Need::AnyOf(slot, _) => (*slot, true),
        }
    }

    fn ids(&self) -> &[u32] {
        match self {
            Need::OneOf(_, ids) | Need::AnyOf(_, ids) => ids,
        }
    }
}

fn sorted(mut ids: Vec<u32>) -> Option<Vec<u32>> {
    if ids.is_empty() || ids.contains(&NO_ID) {
        return None;
    }
    ids.sort_unstable();
    ids.dedup();
    Some(ids)
}

fn strings<'a>(values: impl IntoIterator<Item = &'a Value>) -> Option<Vec<&'a str>> {
    values
        .into_iter()
        .map(|v| match v {
            Value::String(s) => Some(&**s),
            _ => None,
        })
        .collect()
}

/// The requirements of a condition: the indexable parts of its top-level conjunction.
// INVARIANT: conditions nest at most `writ_check`'s MAX_COND_DEPTH deep (named ones too),
// so this recursion is bounded.
fn needs(cond: &Cond, intern: &dyn Fn(&str) -> u32, out: &mut Vec<Need>) {
    let ids = |texts: &[&str]| sorted(texts.iter().map(|t| intern(t)).collect());
    match cond {
        Cond::And(parts) => parts.iter().for_each(|p| needs(p, intern, out)),
        Cond::Named { cond, .. } => needs(cond, intern, out),
        Cond::Atom(atom) => {
            let need = match &atom.kind {
                AtomKind::Compare {
                    lhs,
                    op: CmpOp::Eq,
                    rhs,
                } => match (lhs, rhs) {
                    (Operand::Path(p), Operand::Const(Value::String(s)))
                    | (Operand::Const(Value::String(s)), Operand::Path(p)) => {
                        ids(&[s]).map(|i| Need::OneOf(p.0, i))
                    }
                    _ => None,
                },
                AtomKind::InList {
                    value: Operand::Path(p),
                    list,
                } => strings(list.iter())
                    .and_then(|t| ids(&t))
                    .map(|i| Need::OneOf(p.0, i)),
                AtomKind::Has {
                    set,
                    item: Operand::Const(Value::String(s)),
                }
                | AtomKind::InSet {
                    value: Operand::Const(Value::String(s)),
                    set,
                } => ids(&[s]).map(|i| Need::AnyOf(set.0, i)),
                AtomKind::HasAny {
                    set,
                    items: SetOperand::Const(items),
                } => {
                    let texts: Vec<&str> = items.iter().map(String::as_str).collect();
                    ids(&texts).map(|i| Need::AnyOf(set.0, i))
                }
                AtomKind::HasAll {
                    set,
                    items: SetOperand::Const(items),
                } => {
                    for item in items.iter() {
                        if let Some(i) = ids(&[item]) {
                            out.push(Need::AnyOf(set.0, i));
                        }
                    }
                    None
                }
                _ => None,
            };
            out.extend(need);
        }
        Cond::Const(_) | Cond::Not(_) | Cond::Or(_) => {}
    }
}

/// One attribute a list is narrowed by.
#[derive(Clone, Debug)]
struct Attr {
    /// The request slot read.
    slot: u32,
    /// A set attribute (membership) rather than a string (equality).
    set: bool,
    /// The values some rule requires, sorted; `rows[i]` is the bitset of `keys[i]`.
    keys: Box<[u32]>,
    /// Offsets (in words) of each value's bitset in [`Bucket::bits`].
    rows: Box<[u32]>,
    /// Offset of the bitset of the rules that do not test the attribute.
    free: u32,
}

impl Attr {
    fn row(&self, id: u32) -> Option<usize> {
        self.keys
            .binary_search(&id)
            .ok()
            .map(|i| self.rows[i] as usize)
    }
}

/// An attribute: its slot, and whether it is a set.
type AttrKey = (u32, bool);
/// Per value, the positions of the rules that require it; and how many positions test
/// the attribute at all.
type Spread = (FxHashMap<u32, Vec<usize>>, usize);

/// A list of candidate rules (ascending rule indices) with the attributes that narrow it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Bucket {
    /// The rules, ascending; bit `i` of every bitset stands for `rules[i]`.
    pub(crate) rules: Box<[u32]>,
    /// Words per bitset.
    words: usize,
    attrs: Box<[Attr]>,
    bits: Box<[u64]>,
}

/// Every rule's requirements, by rule index.
pub(crate) type Needs = [Vec<Need>];

/// What a bucket may spend on bitsets: this many words per rule in it.
const WORDS_PER_RULE: usize = 4;

/// Reads every rule's requirements, for [`Bucket::new`].
pub(crate) fn rule_needs<'c>(
    conds: impl IntoIterator<Item = &'c Cond>,
    intern: &dyn Fn(&str) -> u32,
) -> Vec<Vec<Need>> {
    conds
        .into_iter()
        .map(|c| {
            let mut out = Vec::new();
            needs(c, intern, &mut out);
            out
        })
        .collect()
}

impl Bucket {
    /// A bucket over `rules` (ascending), narrowed when `index` and the list is long, by
    /// attributes other than `action` (the slot the buckets are already filed by).
    pub(crate) fn new(
        rules: Box<[u32]>,
        needs: &Needs,
        action: Option<u32>,
        index: bool,
    ) -> Bucket {
        let m = rules.len();
        let words = m.div_ceil(64);
        let mut bucket = Bucket {
            rules,
            words,
            attrs: Box::default(),
            bits: Box::default(),
        };
        if !index || m < MIN_RULES {
            return bucket;
        }
        // Per attribute: for each value, the positions of the rules that require it, and
        // how many positions test the attribute at all.
        let mut per: FxHashMap<AttrKey, Spread> = FxHashMap::default();
        for (pos, &r) in bucket.rules.iter().enumerate() {
            let mut seen: Vec<(u32, bool)> = Vec::new();
            for need in needs.get(r as usize).map_or(&[][..], Vec::as_slice) {
                let key = need.key();
                if Some(key.0) == action {
                    continue;
                }
                // Two requirements on one attribute: the first is enough (both hold).
                if seen.contains(&key) {
                    continue;
                }
                seen.push(key);
                let (values, tested) = per.entry(key).or_default();
                *tested += 1;
                for &id in need.ids() {
                    values.entry(id).or_default().push(pos);
                }
            }
        }
        // Expected survivors of an attribute: the rules that do not test it, plus the
        // rules of a value drawn as the rules' own values are distributed.
        let mut ranked: Vec<(f64, (u32, bool))> = per
            .iter()
            .map(|(key, (values, tested))| {
                let mass: usize = values.values().map(Vec::len).sum();
                let spread: f64 = values
                    .values()
                    .map(|v| (v.len() * v.len()) as f64)
                    .sum::<f64>()
                    / mass.max(1) as f64;
                ((m - tested) as f64 + spread, *key)
            })
            .filter(|(expected, _)| *expected <= 0.7 * m as f64)
            // One bitset per value: an attribute with very many values in a long list
            // would cost more memory than the list is worth.
            .filter(|(_, key)| {
                per.get(key)
                    .is_some_and(|(values, _)| (values.len() + 1) * words <= WORDS_PER_RULE * m)
            })
            .collect();
        ranked.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        ranked.truncate(MAX_ATTRS);
        let mut bits: Vec<u64> = Vec::new();
        let mut attrs = Vec::with_capacity(ranked.len());
        let row = |positions: &mut dyn Iterator<Item = usize>, bits: &mut Vec<u64>| {
            let at = bits.len();
            bits.resize(at + words, 0);
            for p in positions {
                bits[at + p / 64] |= 1 << (p % 64);
            }
            u32::try_from(at).unwrap_or(u32::MAX)
        };
        for (_, key) in ranked {
            let Some((values, _)) = per.get(&key) else {
                continue;
            };
            let mut keys: Vec<u32> = values.keys().copied().collect();
            keys.sort_unstable();
            let rows = keys
                .iter()
                .map(|k| {
                    let positions = values.get(k).map_or(&[][..], Vec::as_slice);
                    row(&mut positions.iter().copied(), &mut bits)
                })
                .collect();
            let tests = |pos: usize| {
                let r = bucket.rules[pos] as usize;
                needs
                    .get(r)
                    .is_some_and(|ns| ns.iter().any(|n| n.key() == key))
            };
            let free = row(&mut (0..m).filter(|&p| !tests(p)), &mut bits);
            attrs.push(Attr {
                slot: key.0,
                set: key.1,
                keys: keys.into_boxed_slice(),
                rows,
                free,
            });
        }
        bucket.attrs = attrs.into_boxed_slice();
        bucket.bits = bits.into_boxed_slice();
        bucket
    }

    /// Whether the bucket narrows at all.
    pub(crate) fn indexed(&self) -> bool {
        !self.attrs.is_empty()
    }

    /// The rules of the bucket that can still fire for a request with these slots, into
    /// `out` (cleared first), ascending. `start`, when given, is the bitset to begin from
    /// (the glob fallback's rules whose pattern matched); otherwise every rule.
    pub(crate) fn narrow(
        &self,
        hot: &Hot,
        start: Option<&[u64]>,
        acc: &mut Vec<u64>,
        out: &mut Vec<u32>,
    ) {
        out.clear();
        acc.clear();
        match start {
            Some(s) => acc.extend_from_slice(s),
            None => {
                acc.resize(self.words, u64::MAX);
                let tail = self.rules.len() % 64;
                if tail != 0 {
                    if let Some(last) = acc.last_mut() {
                        *last = (1u64 << tail) - 1;
                    }
                }
            }
        }
        for attr in self.attrs.iter() {
            let free = &self.bits[attr.free as usize..attr.free as usize + self.words];
            match (hot.get(attr.slot), attr.set) {
                (Val::Str(id), false) => match attr.row(id) {
                    Some(at) => {
                        let row = &self.bits[at..at + self.words];
                        for ((a, f), r) in acc.iter_mut().zip(free).zip(row) {
                            *a &= f | r;
                        }
                    }
                    None => acc.iter_mut().zip(free).for_each(|(a, f)| *a &= f),
                },
                (Val::Set(ids), true) => {
                    for (w, (a, f)) in acc.iter_mut().zip(free).enumerate() {
                        let mut keep = *f;
                        for &id in ids {
                            if let Some(at) = attr.row(id) {
                                keep |= self.bits[at + w];
                            }
                        }
                        *a &= keep;
                    }
                }
                // Missing (or of another type): a requirement on it is unknown, not false.
                _ => {}
            }
        }
        for (w, &word) in acc.iter().enumerate() {
            let mut word = word;
            while word != 0 {
                let bit = word.trailing_zeros() as usize;
                word &= word - 1;
                if let Some(&r) = self.rules.get(w * 64 + bit) {
                    out.push(r);
                }
            }
        }
    }

    /// The bitset of the positions of `subset` (ascending rule indices, all in the bucket).
    pub(crate) fn positions_of(&self, subset: &[u32]) -> Box<[u64]> {
        let mut bits = vec![0u64; self.words];
        let mut at = 0;
        for r in subset {
            while at < self.rules.len() && self.rules[at] < *r {
                at += 1;
            }
            if self.rules.get(at) == Some(r) {
                bits[at / 64] |= 1 << (at % 64);
            }
        }
        bits.into_boxed_slice()
    }

    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.rules.len() * 4
            + self.bits.len() * 8
            + self
                .attrs
                .iter()
                .map(|a| a.keys.len() * 8 + 48)
                .sum::<usize>()
    }

    /// The bucket as text, for `writ explain --tree`: its rules, then each attribute it
    /// is split on with, per value, the rules that survive it.
    pub(crate) fn render(
        &self,
        rule_name: &dyn Fn(u32) -> String,
        path: &dyn Fn(u32) -> String,
        string: &dyn Fn(u32) -> String,
    ) -> String {
        use std::fmt::Write as _;
        let members = |at: u32| -> Vec<String> {
            let at = at as usize;
            (0..self.rules.len())
                .filter(|p| self.bits[at + p / 64] & (1 << (p % 64)) != 0)
                .map(|p| rule_name(self.rules[p]))
                .collect()
        };
        let mut out = String::new();
        let _ = writeln!(out, "{} rules", self.rules.len());
        if self.attrs.is_empty() {
            let _ = writeln!(out, "  not split: every rule is tried");
            for &r in self.rules.iter() {
                let _ = writeln!(out, "    {}", rule_name(r));
            }
            return out;
        }
        let _ = writeln!(
            out,
            "  a request tries the rules kept by every split below (a missing attribute keeps all)"
        );
        for a in self.attrs.iter() {
            let how = if a.set { "holds" } else { "==" };
            let _ = writeln!(
                out,
                "  split on {} ({})",
                path(a.slot),
                if a.set { "set" } else { "string" }
            );
            for (k, r) in a.keys.iter().zip(a.rows.iter()) {
                let _ = writeln!(
                    out,
                    "    {} {how} {:?}: {}",
                    path(a.slot),
                    string(*k),
                    members(*r).join(", ")
                );
            }
            let free = members(a.free);
            let _ = writeln!(
                out,
                "    any value (the rules that do not test it): {}",
                if free.is_empty() {
                    "none".to_string()
                } else {
                    free.join(", ")
                }
            );
        }
        out
    }
}

/// The rules reached when the action is not one of the exact names: the rules that do not
/// constrain the action, and those whose patterns match it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Fallback {
    /// Every such rule (global and globbed), narrowed like any list.
    pub(crate) bucket: Bucket,
    /// The global rules, as positions in the bucket.
    global: Box<[u64]>,
    /// Each pattern and its rules, as positions in the bucket.
    globs: Vec<(Arc<Glob>, Box<[u64]>)>,
}

impl Fallback {
    /// The fallback over the global rules and the globbed ones.
    pub(crate) fn new(
        global: &[u32],
        globs: &[(Arc<Glob>, Box<[u32]>)],
        needs: &Needs,
        action: Option<u32>,
        index: bool,
    ) -> Fallback {
        let mut all: Vec<u32> = global.to_vec();
        for (_, rules) in globs {
            all.extend_from_slice(rules);
        }
        all.sort_unstable();
        all.dedup();
        let bucket = Bucket::new(all.into_boxed_slice(), needs, action, index);
        Fallback {
            global: bucket.positions_of(global),
            globs: globs
                .iter()
                .map(|(g, rules)| (g.clone(), bucket.positions_of(rules)))
                .collect(),
            bucket,
        }
    }

    /// The rules that can fire for an `action` that is no exact name, into `out`.
    pub(crate) fn narrow(
        &self,
        action: &str,
        hot: &Hot,
        start: &mut Vec<u64>,
        acc: &mut Vec<u64>,
        out: &mut Vec<u32>,
    ) {
        start.clear();
        start.extend_from_slice(&self.global);
        for (g, bits) in &self.globs {
            if g.matches(action) {
                for (s, b) in start.iter_mut().zip(bits.iter()) {
                    *s |= b;
                }
            }
        }
        self.bucket.narrow(hot, Some(start), acc, out);
    }

    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.bucket.heap_bytes()
            + self.global.len() * 8
            + self
                .globs
                .iter()
                .map(|(g, b)| g.pattern.len() * 2 + b.len() * 8 + 64)
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test")]

    use super::*;
    use crate::request::{SetVal, Slot};

    fn need_one(slot: u32, ids: &[u32]) -> Vec<Need> {
        vec![Need::OneOf(slot, ids.to_vec())]
    }

    #[test]
    fn a_bucket_keeps_the_rules_that_allow_the_value_and_those_that_do_not_test_it() {
        // Slot 0: kind. Rules 0..8 require kinds 10, 11, 10, 12, (none), 11, 10, 13.
        let needs: Vec<Vec<Need>> = vec![
            need_one(0, &[10]),
            need_one(0, &[11]),
            need_one(0, &[10]),
            need_one(0, &[12]),
            Vec::new(),
            need_one(0, &[11, 12]),
            need_one(0, &[10]),
            need_one(0, &[13]),
        ];
        let b = Bucket::new((0..8).collect(), &needs, None, true);
        assert!(b.indexed());
        let (mut acc, mut out) = (Vec::new(), Vec::new());
        b.narrow(
            &Hot::of(&[Slot::Str(11, "x".into())]),
            None,
            &mut acc,
            &mut out,
        );
        assert_eq!(out, vec![1, 4, 5]);
        b.narrow(
            &Hot::of(&[Slot::Str(NO_ID, "zz".into())]),
            None,
            &mut acc,
            &mut out,
        );
        assert_eq!(out, vec![4]);
        b.narrow(&Hot::of(&[Slot::Missing]), None, &mut acc, &mut out);
        assert_eq!(out, (0..8).collect::<Vec<_>>());
        // A value of another type keeps everything too.
        b.narrow(&Hot::of(&[Slot::Int(3)]), None, &mut acc, &mut out);
        assert_eq!(out.len(), 8);
    }

    #[test]
    fn a_set_attribute_keeps_the_rules_whose_item_the_request_holds() {
        let needs: Vec<Vec<Need>> = (0..10)
            .map(|i| {
                if i == 9 {
                    Vec::new()
                } else {
                    vec![Need::AnyOf(0, vec![100 + i % 3])]
                }
            })
            .collect();
        let b = Bucket::new((0..10).collect(), &needs, None, true);
        let set = |ids: &[u32]| {
            Slot::Set(SetVal {
                ids: ids.into(),
                texts: Box::default(),
                foreign: false,
            })
        };
        let (mut acc, mut out) = (Vec::new(), Vec::new());
        b.narrow(&Hot::of(&[set(&[101])]), None, &mut acc, &mut out);
        assert_eq!(out, vec![1, 4, 7, 9]);
        b.narrow(&Hot::of(&[set(&[100, 102])]), None, &mut acc, &mut out);
        assert_eq!(out, vec![0, 2, 3, 5, 6, 8, 9]);
        b.narrow(&Hot::of(&[set(&[])]), None, &mut acc, &mut out);
        assert_eq!(out, vec![9]);
    }

    #[test]
    fn short_lists_and_unindexed_sets_are_tried_whole() {
        let needs: Vec<Vec<Need>> = (0..70).map(|i| need_one(0, &[i])).collect();
        let (mut acc, mut out) = (Vec::new(), Vec::new());
        let short = Bucket::new((0..3).collect(), &needs, None, true);
        assert!(!short.indexed());
        short.narrow(
            &Hot::of(&[Slot::Str(1, "a".into())]),
            None,
            &mut acc,
            &mut out,
        );
        assert_eq!(out, vec![0, 1, 2]);
        let off = Bucket::new((0..70).collect(), &needs, None, false);
        off.narrow(
            &Hot::of(&[Slot::Str(1, "a".into())]),
            None,
            &mut acc,
            &mut out,
        );
        assert_eq!(out.len(), 70);
        // Across a word boundary.
        let on = Bucket::new((0..70).collect(), &needs, None, true);
        on.narrow(
            &Hot::of(&[Slot::Str(66, "a".into())]),
            None,
            &mut acc,
            &mut out,
        );
        assert_eq!(out, vec![66]);
    }
}
