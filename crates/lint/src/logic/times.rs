//! The request time: comparisons with instants, lists of instants and `hours` windows.
//!
//! Windows are minute-of-week bitmaps in their own zone: the required windows of one
//! zone are intersected and the refused ones removed; every local minute of the week
//! happens in some week, so an empty result in any zone is a contradiction. Windows of
//! different zones are not compared with each other. Pinned instants (`==`, `in`) are
//! tried against every fact.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use jiff::Timestamp;
use writ_check::hours::Hours;
use writ_check::ir::CmpOp;

use super::facts::Fact;

fn holds(t: Timestamp, op: CmpOp, c: Timestamp) -> bool {
    match op {
        CmpOp::Eq => t == c,
        CmpOp::Ne => t != c,
        CmpOp::Lt => t < c,
        CmpOp::Le => t <= c,
        CmpOp::Gt => t > c,
        CmpOp::Ge => t >= c,
    }
}

/// Whether some instant satisfies every fact.
pub fn consistent(facts: &[&Fact<'_>]) -> bool {
    let mut candidates: Option<Vec<Timestamp>> = None;
    for f in facts {
        let allowed: Vec<Timestamp> = match f {
            Fact::TimeCmp(CmpOp::Eq, t) => vec![*t],
            Fact::TimeIn(list, true) => list.clone(),
            _ => continue,
        };
        candidates = Some(match candidates.take() {
            None => allowed,
            Some(c) => c.into_iter().filter(|x| allowed.contains(x)).collect(),
        });
    }
    if let Some(c) = candidates {
        return c.into_iter().any(|t| {
            facts.iter().all(|f| match f {
                Fact::TimeCmp(op, c) => holds(t, *op, *c),
                Fact::TimeIn(list, inside) => list.contains(&t) == *inside,
                Fact::Hours(h, inside) => h.contains(t) == *inside,
                _ => true,
            })
        });
    }
    // The bounds alone.
    let mut lo: Option<(Timestamp, bool)> = None;
    let mut hi: Option<(Timestamp, bool)> = None;
    for f in facts {
        if let Fact::TimeCmp(op, c) = f {
            match op {
                CmpOp::Gt | CmpOp::Ge => {
                    let incl = *op == CmpOp::Ge;
                    if lo.is_none_or(|(x, i)| *c > x || (*c == x && i && !incl)) {
                        lo = Some((*c, incl));
                    }
                }
                CmpOp::Lt | CmpOp::Le => {
                    let incl = *op == CmpOp::Le;
                    if hi.is_none_or(|(x, i)| *c < x || (*c == x && i && !incl)) {
                        hi = Some((*c, incl));
                    }
                }
                _ => {}
            }
        }
    }
    if let (Some((l, li)), Some((h, hi_incl))) = (lo, hi) {
        // Instants have nanosecond resolution: `> t` and `< t + 1ns` leave nothing.
        let first = if li {
            l.as_nanosecond()
        } else {
            l.as_nanosecond() + 1
        };
        let last = if hi_incl {
            h.as_nanosecond()
        } else {
            h.as_nanosecond() - 1
        };
        if first > last {
            return false;
        }
    }
    // The windows, zone by zone. One required window alone always has minutes (a window
    // never starts and ends at the same time): only combinations need the bitmaps.
    let mut zones: BTreeMap<&str, Vec<(&Hours, bool)>> = BTreeMap::new();
    for f in facts {
        if let Fact::Hours(h, inside) = f {
            zones
                .entry(h.zone_name.as_str())
                .or_default()
                .push((h, *inside));
        }
    }
    zones.values().all(|windows| match windows.as_slice() {
        [(_, true)] => true,
        _ => {
            let mut acc = vec![u64::MAX; writ_check::hours::MINUTES_PER_WEEK.div_ceil(64)];
            for (h, inside) in windows {
                let bits = bitmap(h);
                for (a, b) in acc.iter_mut().zip(bits.iter()) {
                    *a &= if *inside { *b } else { !*b };
                }
            }
            any_minute(&acc)
        }
    })
}

/// Whether a week bitmap has a bit set among the real minutes of the week.
fn any_minute(bits: &[u64]) -> bool {
    let minutes = writ_check::hours::MINUTES_PER_WEEK;
    bits.iter().enumerate().any(|(i, w)| {
        let valid = minutes.saturating_sub(i * 64).min(64);
        let mask = if valid >= 64 {
            u64::MAX
        } else {
            (1u64 << valid) - 1
        };
        w & mask != 0
    })
}

/// Week bitmaps by window text and zone name.
type Cache = HashMap<(String, String), Rc<Vec<u64>>>;

thread_local! {
    /// A set reuses few windows across many rules: each bitmap is built once.
    static BITMAPS: RefCell<Cache> = RefCell::new(HashMap::new());
}

fn bitmap(h: &Hours) -> Rc<Vec<u64>> {
    let key = (h.spec.clone(), h.zone_name.clone());
    BITMAPS.with(|cache| {
        cache
            .borrow_mut()
            .entry(key)
            .or_insert_with(|| Rc::new(h.week_bitmap()))
            .clone()
    })
}
