//! Ints, durations, `risk` and numbers: ranges, equalities and lists.
//!
//! Ints, durations and `risk` are exact integers (`i128`); a number constant compared
//! with them is turned into the integer bound it means (`x > 1.5` is `x >= 2`), except
//! beyond 2^53 where conversion could round (that fact is then ignored). Numbers are
//! reasoned about as reals, which can only find fewer contradictions than the floats a
//! request really carries.

use writ_check::ir::CmpOp;

use super::facts::{Fact, Num};

/// Past this magnitude a float may not be an exact integer.
const EXACT: f64 = 9_007_199_254_740_992.0;

/// The values a number path can take.
#[derive(Clone, Copy, Debug)]
pub enum Domain {
    /// Integers in `lo..=hi`.
    Int(i128, i128),
    /// Any number.
    Real,
}

/// Whether some value of the domain satisfies every fact.
pub fn consistent(facts: &[&Fact<'_>], domain: Domain) -> bool {
    match domain {
        Domain::Int(lo, hi) => ints(facts, lo, hi),
        Domain::Real => reals(facts),
    }
}

/// An integer that equals the constant, `Err(())` when none can, `Ok(None)` when unsure.
fn as_int(c: Num) -> Result<Option<i128>, ()> {
    match c {
        Num::Int(i) => Ok(Some(i)),
        Num::Float(f) if f.abs() >= EXACT || !f.is_finite() => Ok(None),
        Num::Float(f) if f.fract() == 0.0 => Ok(Some(f as i128)),
        Num::Float(_) => Err(()),
    }
}

fn ints(facts: &[&Fact<'_>], mut lo: i128, mut hi: i128) -> bool {
    let mut candidates: Option<Vec<i128>> = None;
    let mut excluded: Vec<i128> = Vec::new();
    let mut narrow = |allowed: Vec<i128>| {
        candidates = Some(match candidates.take() {
            None => allowed,
            Some(c) => c.into_iter().filter(|x| allowed.contains(x)).collect(),
        });
    };
    for f in facts {
        match f {
            Fact::NumCmp(op, c) => {
                let (floor, ceil) = match *c {
                    Num::Int(i) => (i, i),
                    Num::Float(x) if x.abs() < EXACT => (x.floor() as i128, x.ceil() as i128),
                    Num::Float(_) => continue,
                };
                match op {
                    CmpOp::Lt => hi = hi.min(ceil - 1),
                    CmpOp::Le => hi = hi.min(floor),
                    CmpOp::Gt => lo = lo.max(floor + 1),
                    CmpOp::Ge => lo = lo.max(ceil),
                    CmpOp::Eq => match as_int(*c) {
                        Ok(Some(i)) => narrow(vec![i]),
                        Ok(None) => {}
                        Err(()) => return false,
                    },
                    CmpOp::Ne => {
                        if let Ok(Some(i)) = as_int(*c) {
                            excluded.push(i);
                        }
                    }
                }
            }
            Fact::NumIn(list, inside) => {
                let mut ints = Vec::new();
                let mut sure = true;
                for c in list {
                    match as_int(*c) {
                        Ok(Some(i)) => ints.push(i),
                        Ok(None) => sure = false,
                        Err(()) => {}
                    }
                }
                if *inside && sure {
                    narrow(ints);
                } else if !*inside {
                    excluded.extend(ints);
                }
            }
            _ => {}
        }
    }
    if lo > hi {
        return false;
    }
    if let Some(c) = candidates {
        return c
            .iter()
            .any(|x| (lo..=hi).contains(x) && !excluded.contains(x));
    }
    // A small range may be excluded point by point.
    if hi - lo < 256 {
        return (lo..=hi).any(|x| !excluded.contains(&x));
    }
    true
}

fn as_real(c: Num) -> Option<f64> {
    match c {
        Num::Int(i) if (i as f64).abs() < EXACT => Some(i as f64),
        Num::Int(_) => None,
        Num::Float(f) => Some(f),
    }
}

/// A bound: the value and whether it is included.
type Bound = Option<(f64, bool)>;

fn reals(facts: &[&Fact<'_>]) -> bool {
    let mut lo: Bound = None;
    let mut hi: Bound = None;
    let mut candidates: Option<Vec<f64>> = None;
    let mut excluded: Vec<f64> = Vec::new();
    let tighter_lo = |lo: &mut Bound, v: f64, incl: bool| match lo {
        Some((x, i)) if *x > v || (*x == v && !*i) => {}
        _ => *lo = Some((v, incl)),
    };
    let tighter_hi = |hi: &mut Bound, v: f64, incl: bool| match hi {
        Some((x, i)) if *x < v || (*x == v && !*i) => {}
        _ => *hi = Some((v, incl)),
    };
    for f in facts {
        match f {
            Fact::NumCmp(op, c) => {
                let Some(v) = as_real(*c) else { continue };
                match op {
                    CmpOp::Lt => tighter_hi(&mut hi, v, false),
                    CmpOp::Le => tighter_hi(&mut hi, v, true),
                    CmpOp::Gt => tighter_lo(&mut lo, v, false),
                    CmpOp::Ge => tighter_lo(&mut lo, v, true),
                    CmpOp::Eq => {
                        candidates = Some(match candidates.take() {
                            None => vec![v],
                            Some(c) => c.into_iter().filter(|x| *x == v).collect(),
                        })
                    }
                    CmpOp::Ne => excluded.push(v),
                }
            }
            Fact::NumIn(list, inside) => {
                let reals: Option<Vec<f64>> = list.iter().map(|c| as_real(*c)).collect();
                match (reals, inside) {
                    (Some(r), true) => {
                        candidates = Some(match candidates.take() {
                            None => r,
                            Some(c) => c.into_iter().filter(|x| r.contains(x)).collect(),
                        })
                    }
                    (Some(r), false) => excluded.extend(r),
                    (None, _) => {}
                }
            }
            _ => {}
        }
    }
    let within = |x: f64| {
        lo.is_none_or(|(l, i)| x > l || (i && x == l))
            && hi.is_none_or(|(h, i)| x < h || (i && x == h))
    };
    if let Some(c) = candidates {
        return c.into_iter().any(|x| within(x) && !excluded.contains(&x));
    }
    match (lo, hi) {
        (Some((l, li)), Some((h, hi_incl))) => {
            if l > h || (l == h && !(li && hi_incl)) {
                return false;
            }
            // A single point may be excluded.
            !(l == h && excluded.contains(&l))
        }
        _ => true,
    }
}
