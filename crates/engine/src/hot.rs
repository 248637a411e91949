//! The compact copy of a bound request's slots that a decision reads: the bytecode
//! (`vm.rs`), the action index and the narrowing.
//!
//! A [`Slot`] is six words (its texts live in it) and a set's ids are an allocation of their
//! own, so a request of a dozen slots spread a decision's reads over a dozen cache lines in
//! three or four allocations. [`Hot`] holds what the bytecode compares — interned ids,
//! numbers, booleans, addresses, instants as floor seconds, the ids of sets — as four 32-bit
//! words a slot, the sets' ids and IPv6 address words after them, the first
//! [`INLINE_SLOTS`] slots (and as many ids as fit) inside the request itself: a decision
//! reads two or three lines of one object. Texts are not copied (nothing the bytecode does
//! reads them); the full slots stay beside it for what does (the reference interpreter,
//! CEL, the digest, explanations).
//!
//! Built from the slots once, when binding ends ([`Hot::of`]); never changed after.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::slots::Slot;

const MISSING: u32 = 0;
const STR: u32 = 1;
const INT: u32 = 2;
const NUM: u32 = 3;
const BOOL: u32 = 4;
const DUR: u32 = 5;
const IP4: u32 = 6;
const IP6: u32 = 7;
const TIME: u32 = 8;
const SET: u32 = 9;
const OBJECT: u32 = 10;

/// Words a slot takes: its kind, one word of payload, then two more (a 64-bit value).
const WIDTH: usize = 4;

/// A slot as the bytecode reads it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Val<'h> {
    /// Absent or `null`.
    Missing,
    /// A string's interned id ([`crate::slots::NO_ID`] for one the set never mentions).
    Str(u32),
    /// An int.
    Int(i64),
    /// A number.
    Num(f64),
    /// A bool.
    Bool(bool),
    /// A duration in seconds.
    Dur(u64),
    /// An address.
    Ip(IpAddr),
    /// An instant, as whole seconds since 1970 rounded down (what every window reads:
    /// `writ_check::hours::floor_second`).
    Time(i64),
    /// A set's interned ids, sorted (strings the set never mentions left out).
    Set(&'h [u32]),
    /// An object.
    Object,
}

/// Slots whose words are held in the request itself, so that deciding a request reads no
/// other allocation. Over the bench's 10,000 bound requests, the same words in an
/// allocation of their own saved no time at all; inline they took a third of it off
/// (171 -> 110 ns at 1,000 rules). A miss of the address translation's cache per decision
/// is the likely cause (this machine has no hardware counters to confirm it).
const INLINE_SLOTS: usize = 16;

/// Words held in the request itself: the first [`INLINE_SLOTS`] slots, then as many of
/// the sets' ids and IPv6 addresses as fit. A power of two, so that reading a slot's words
/// needs no bounds check (the index is masked).
const INLINE_WORDS: usize = INLINE_SLOTS * WIDTH;

/// The compact slots of one request (see the module doc).
///
/// Words are addressed as one sequence: `0..INLINE_WORDS` in `inline`, the rest in `heap`.
/// Slot `s` is at `s * WIDTH`, so the slots past [`INLINE_SLOTS`] are in `heap`; each set's
/// ids (each IPv6 address's words) lie whole in one of the two.
#[derive(Clone, Debug)]
pub(crate) struct Hot {
    /// Words `0..INLINE_WORDS` (unused ones are zero: `Missing`).
    inline: [u32; INLINE_WORDS],
    /// Words `INLINE_WORDS..`; empty for most requests.
    heap: Box<[u32]>,
    /// How many slots there are (see `slot` and `get` for a read past them).
    slots: u32,
}

/// The words of a slot that is not there.
const NONE: [u32; WIDTH] = [MISSING, 0, 0, 0];

impl Hot {
    /// The compact copy of `slots`.
    pub(crate) fn of(slots: &[Slot]) -> Hot {
        let mut hot = Hot {
            inline: [MISSING; INLINE_WORDS],
            heap: Box::default(),
            // A request has far fewer than 4 G slots (one per path the set reads).
            slots: u32::try_from(slots.len()).unwrap_or(u32::MAX),
        };
        let (first, rest) = slots.split_at(slots.len().min(INLINE_SLOTS));
        let mut tail = Tail {
            at: first.len() * WIDTH,
            heap: vec![MISSING; rest.len() * WIDTH],
        };
        for (i, slot) in first.iter().enumerate() {
            let w = tail.words_of(slot, &mut hot.inline);
            hot.inline[i * WIDTH..(i + 1) * WIDTH].copy_from_slice(&w);
        }
        for (i, slot) in rest.iter().enumerate() {
            let w = tail.words_of(slot, &mut hot.inline);
            tail.heap[i * WIDTH..(i + 1) * WIDTH].copy_from_slice(&w);
        }
        if !tail.heap.is_empty() {
            hot.heap = tail.heap.into_boxed_slice();
        }
        hot
    }

    /// Words `at..at + len` of the sequence.
    #[inline(always)]
    fn range(&self, at: u32, len: usize) -> Option<&[u32]> {
        let at = at as usize;
        match at.checked_sub(INLINE_WORDS) {
            None => self.inline.get(at..at + len),
            Some(h) => self.heap.get(h..h + len),
        }
    }

    /// The four words of slot `s`.
    #[inline(always)]
    fn slot(&self, s: u32) -> [u32; WIDTH] {
        // Compiled code reads only slots below its set's path count, which every request
        // bound for the set has (a request of another set is re-bound before it is
        // decided). Checked in debug builds only: in release it cost 34 instructions a
        // decision. Past the last slot the words may be a set's ids: `get` says Missing.
        debug_assert!(
            s < self.slots,
            "slot {s} read past the request's {}",
            self.slots
        );
        let s = s as usize;
        if s < INLINE_SLOTS {
            // Masked (a no-op here) so that no bounds check is left.
            let at = (s * WIDTH) & (INLINE_WORDS - WIDTH);
            [
                self.inline[at],
                self.inline[at + 1],
                self.inline[at + 2],
                self.inline[at + 3],
            ]
        } else {
            self.heap_slot(s)
        }
    }

    /// The four words of a slot past the inline ones.
    #[cold]
    #[inline(never)]
    fn heap_slot(&self, s: usize) -> [u32; WIDTH] {
        let at = (s - INLINE_SLOTS) * WIDTH;
        match self.heap.get(at..at + WIDTH) {
            Some(&[a, b, c, d]) => [a, b, c, d],
            _ => NONE,
        }
    }

    /// A slot's 64-bit payload.
    #[inline(always)]
    fn wide(w: [u32; WIDTH]) -> u64 {
        u64::from(w[2]) | (u64::from(w[3]) << 32)
    }

    /// Slot `s`'s interned id, when it is a string.
    #[inline(always)]
    pub(crate) fn str(&self, s: u32) -> Option<u32> {
        let w = self.slot(s);
        (w[0] == STR).then_some(w[1])
    }

    /// Slot `s`, when it is a bool.
    #[inline(always)]
    pub(crate) fn bool(&self, s: u32) -> Option<bool> {
        let w = self.slot(s);
        (w[0] == BOOL).then_some(w[1] != 0)
    }

    /// Slot `s`, when it is an int (`Ok`) or a number (`Err`).
    #[inline(always)]
    pub(crate) fn int_or_num(&self, s: u32) -> Option<Result<i64, f64>> {
        let w = self.slot(s);
        match w[0] {
            INT => Some(Ok(Hot::wide(w) as i64)),
            NUM => Some(Err(f64::from_bits(Hot::wide(w)))),
            _ => None,
        }
    }

    /// Slot `s`, when it is a duration.
    #[inline(always)]
    pub(crate) fn dur(&self, s: u32) -> Option<u64> {
        let w = self.slot(s);
        (w[0] == DUR).then(|| Hot::wide(w))
    }

    /// Slot `s`, when it is an address.
    #[inline(always)]
    pub(crate) fn ip(&self, s: u32) -> Option<IpAddr> {
        let w = self.slot(s);
        match w[0] {
            IP4 => Some(IpAddr::V4(Ipv4Addr::from(w[1]))),
            IP6 => match self.range(w[1], 4) {
                Some(&[a, b, c, d]) => Some(IpAddr::V6(Ipv6Addr::from(
                    (u128::from(a) << 96)
                        | (u128::from(b) << 64)
                        | (u128::from(c) << 32)
                        | u128::from(d),
                ))),
                _ => None,
            },
            _ => None,
        }
    }

    /// Slot `s`, when it is an instant: whole seconds since 1970, rounded down.
    #[inline(always)]
    pub(crate) fn time(&self, s: u32) -> Option<i64> {
        let w = self.slot(s);
        (w[0] == TIME).then(|| Hot::wide(w) as i64)
    }

    /// Slot `s`'s interned ids, when it is a set.
    #[inline(always)]
    pub(crate) fn set(&self, s: u32) -> Option<&[u32]> {
        let w = self.slot(s);
        if w[0] != SET {
            return None;
        }
        self.range(w[1], Hot::wide(w) as usize)
    }

    /// Whether slot `s` is absent or `null`.
    #[inline(always)]
    pub(crate) fn missing(&self, s: u32) -> bool {
        self.slot(s)[0] == MISSING
    }

    /// Slot `s`, whatever its kind (`Missing` past the last slot).
    pub(crate) fn get(&self, s: u32) -> Val<'_> {
        if s >= self.slots {
            return Val::Missing;
        }
        let w = self.slot(s);
        match w[0] {
            STR => Val::Str(w[1]),
            INT => Val::Int(Hot::wide(w) as i64),
            NUM => Val::Num(f64::from_bits(Hot::wide(w))),
            BOOL => Val::Bool(w[1] != 0),
            DUR => Val::Dur(Hot::wide(w)),
            IP4 | IP6 => self.ip(s).map_or(Val::Missing, Val::Ip),
            TIME => Val::Time(Hot::wide(w) as i64),
            SET => Val::Set(self.set(s).unwrap_or_default()),
            OBJECT => Val::Object,
            _ => Val::Missing,
        }
    }
}

/// Where a [`Hot`] being built puts the sets' ids and IPv6 words.
struct Tail {
    /// The next free inline word (in the sequence's numbering).
    at: usize,
    /// The words past the inline ones (the slots past [`INLINE_SLOTS`] first).
    heap: Vec<u32>,
}

impl Tail {
    /// The four words of `slot`, its ids or address words put where they fit (`extra`).
    #[inline(always)]
    fn words_of(&mut self, slot: &Slot, inline: &mut [u32; INLINE_WORDS]) -> [u32; WIDTH] {
        let (kind, aux, wide) = match slot {
            Slot::Missing => (MISSING, 0, 0),
            Slot::Str(id, _) => (STR, *id, 0),
            Slot::Int(n) => (INT, 0, *n as u64),
            Slot::Num(n) => (NUM, 0, n.to_bits()),
            Slot::Bool(b) => (BOOL, u32::from(*b), 0),
            Slot::Dur(d) => (DUR, 0, *d),
            Slot::Ip(IpAddr::V4(a)) => (IP4, u32::from(*a), 0),
            Slot::Ip(IpAddr::V6(a)) => {
                let n = u128::from(*a);
                let parts = [
                    (n >> 96) as u32,
                    (n >> 64) as u32,
                    (n >> 32) as u32,
                    n as u32,
                ];
                (IP6, self.extra(&parts, inline), 0)
            }
            Slot::Time(t) => (TIME, 0, writ_check::hours::floor_second(*t) as u64),
            Slot::Set(v) => (SET, self.extra(&v.ids, inline), v.ids.len() as u64),
            Slot::Object => (OBJECT, 0, 0),
        };
        [kind, aux, wide as u32, (wide >> 32) as u32]
    }

    /// Puts `w` whole where it fits — after the inline slots, else on the heap — and
    /// returns where it starts in the sequence.
    fn extra(&mut self, w: &[u32], inline: &mut [u32; INLINE_WORDS]) -> u32 {
        if self.at + w.len() <= INLINE_WORDS {
            inline[self.at..self.at + w.len()].copy_from_slice(w);
            let at = self.at;
            self.at += w.len();
            return at as u32;
        }
        let at = INLINE_WORDS + self.heap.len();
        self.heap.extend_from_slice(w);
        // A sequence past 4 G words is no request's (bodies are bounded far below).
        u32::try_from(at).unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slots::{SetVal, Text, NO_ID};

    /// What the compact copy must say of a slot.
    fn expected(slot: &Slot) -> Val<'_> {
        match slot {
            Slot::Missing => Val::Missing,
            Slot::Str(id, _) => Val::Str(*id),
            Slot::Int(n) => Val::Int(*n),
            Slot::Num(n) => Val::Num(*n),
            Slot::Bool(b) => Val::Bool(*b),
            Slot::Dur(d) => Val::Dur(*d),
            Slot::Ip(ip) => Val::Ip(*ip),
            Slot::Time(t) => Val::Time(writ_check::hours::floor_second(*t)),
            Slot::Set(v) => Val::Set(&v.ids),
            Slot::Object => Val::Object,
        }
    }

    #[test]
    fn every_kind_reads_back() {
        let set = |ids: &[u32]| {
            Slot::Set(SetVal {
                ids: ids.into(),
                texts: ids.iter().map(|i| Text::from(i.to_string())).collect(),
                foreign: false,
            })
        };
        let slots = vec![
            Slot::Missing,
            Slot::Str(7, "x".into()),
            Slot::Str(NO_ID, "unknown to the set".into()),
            Slot::Int(i64::MIN),
            Slot::Int(-1),
            Slot::Int(i64::MAX),
            Slot::Num(-0.5),
            Slot::Num(f64::MAX),
            Slot::Bool(true),
            Slot::Bool(false),
            Slot::Dur(u64::MAX),
            Slot::Ip("10.1.2.3".parse().unwrap()),
            Slot::Ip("2001:db8::ff00:42:8329".parse().unwrap()),
            set(&[1, 5, 9]),
            Slot::Ip("::ffff:10.0.0.1".parse().unwrap()),
            set(&[]),
            Slot::Time("2026-11-23T14:07:00Z".parse().unwrap()),
            // Before 1970 with a fraction: rounded down, not toward zero.
            Slot::Time("1969-12-31T23:59:59.5Z".parse().unwrap()),
            Slot::Time(jiff::Timestamp::MIN),
            Slot::Time(jiff::Timestamp::MAX),
            Slot::Object,
            set(&[3]),
        ];
        let hot = Hot::of(&slots);
        for (i, slot) in slots.iter().enumerate() {
            assert_eq!(hot.get(i as u32), expected(slot), "slot {i}: {slot:?}");
        }
        assert_eq!(hot.get(slots.len() as u32), Val::Missing);
        assert_eq!(hot.get(u32::MAX), Val::Missing);
        // Past the last slot of a short request, where a set's ids are stored: Missing,
        // not the ids read as a slot (found by review: `Set([])` before the slot count).
        let short = Hot::of(&[set(&[9, 10, 11, 12])]);
        assert_eq!(short.get(0), Val::Set(&[9, 10, 11, 12]));
        for s in 1..20 {
            assert_eq!(short.get(s), Val::Missing, "slot {s}");
        }
        assert_eq!(hot.str(1), Some(7));
        assert_eq!(hot.str(3), None);
        assert_eq!(Hot::of(&[]).get(0), Val::Missing);
        // Past the inline words: the same reads from the heap.
        let many: Vec<Slot> = slots.iter().cycle().take(50).cloned().collect();
        let big = Hot::of(&many);
        for (i, slot) in many.iter().enumerate() {
            assert_eq!(big.get(i as u32), expected(slot), "slot {i}: {slot:?}");
        }
    }
}
