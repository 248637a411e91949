//! What a literal says about the paths it reads, sorted by domain.
//!
//! Only literals whose meaning is exactly captured become facts: a test between two paths,
//! a CEL leaf or a constant compared with a constant says nothing here, which can only
//! hide a contradiction, never invent one.

use std::net::IpAddr;

use writ_check::glob::Glob;
use writ_check::hours::Hours;
use writ_check::ir::{AtomKind, CmpOp, Operand, PathId, SetOperand, Value};
use writ_check::net::CidrSet;

use super::dnf::Lit;

/// A number constant, as the evaluator compares it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Num {
    /// An int or a duration in seconds: exact.
    Int(i128),
    /// A number.
    Float(f64),
}

/// A fact about one path.
#[derive(Debug)]
pub enum Fact<'a> {
    /// The test can never come out as required (`x in []` required true).
    Impossible,
    /// A bool path is this value.
    Bool(bool),
    /// A string path compared with a constant: `==` (true) or `!=` (false).
    StrEq(&'a str, bool),
    /// A string path is (true) or is not (false) one of these.
    StrIn(Vec<&'a str>, bool),
    /// A string path matches (true) or does not match (false) a pattern.
    Glob(&'a Glob, bool),
    /// A number path compared with a constant (path on the left).
    NumCmp(CmpOp, Num),
    /// A number path is (true) or is not (false) one of these.
    NumIn(Vec<Num>, bool),
    /// An address path equals (true) or differs from (false) an address.
    IpEq(IpAddr, bool),
    /// An address path is (true) or is not (false) one of these.
    IpIn(Vec<IpAddr>, bool),
    /// An address path is (true) or is not (false) in a CIDR set.
    Cidr(&'a CidrSet, bool),
    /// The time compared with an instant (path on the left).
    TimeCmp(CmpOp, jiff::Timestamp),
    /// The time is (true) or is not (false) one of these instants.
    TimeIn(Vec<jiff::Timestamp>, bool),
    /// The time is (true) or is not (false) in a window.
    Hours(&'a Hours, bool),
    /// A set holds (true) or lacks (false) an item.
    Has(&'a str, bool),
    /// A set holds some of these (true) or none of them (false).
    Any(&'a [String], bool),
    /// A set holds all of these (true) or lacks one of them (false).
    All(&'a [String], bool),
    /// Every element of a set is in these (true) or one is not (false).
    Within(&'a [String], bool),
    /// The request holds a value at the path (true) or does not (false).
    Present(bool),
}

/// The comparison that holds when `op` is known to be false.
pub fn negate(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Eq => CmpOp::Ne,
        CmpOp::Ne => CmpOp::Eq,
        CmpOp::Lt => CmpOp::Ge,
        CmpOp::Le => CmpOp::Gt,
        CmpOp::Gt => CmpOp::Le,
        CmpOp::Ge => CmpOp::Lt,
    }
}

fn num(v: &Value) -> Option<Num> {
    match v {
        Value::Int(i) => Some(Num::Int(i128::from(*i))),
        Value::Duration(d) => Some(Num::Int(i128::from(*d))),
        Value::Number(n) => Some(Num::Float(*n)),
        _ => None,
    }
}

/// Every element converted, or `None` when one does not fit (the fact is then dropped).
fn all<'a, T>(list: &'a [Value], f: impl Fn(&'a Value) -> Option<T>) -> Option<Vec<T>> {
    list.iter().map(f).collect()
}

fn compare<'a>(path: PathId, op: CmpOp, c: &'a Value) -> Option<(PathId, Fact<'a>)> {
    let fact = match (op, c) {
        (CmpOp::Eq | CmpOp::Ne, Value::Bool(b)) => Fact::Bool(*b == (op == CmpOp::Eq)),
        (CmpOp::Eq | CmpOp::Ne, Value::String(s)) => Fact::StrEq(s, op == CmpOp::Eq),
        (CmpOp::Eq | CmpOp::Ne, Value::Ip(ip)) => Fact::IpEq(*ip, op == CmpOp::Eq),
        (_, Value::Time(t)) => Fact::TimeCmp(op, *t),
        (_, v) => Fact::NumCmp(op, num(v)?),
    };
    Some((path, fact))
}

/// The facts a literal states (none when it is not understood).
pub fn facts<'a>(lit: &Lit<'a>) -> Option<(PathId, Fact<'a>)> {
    let w = lit.want;
    match &lit.atom.kind {
        AtomKind::Truthy(p) => Some((*p, Fact::Bool(w))),
        AtomKind::Compare { lhs, op, rhs } => {
            let op = if w { *op } else { negate(*op) };
            match (lhs, rhs) {
                (Operand::Path(p), Operand::Const(c)) => compare(*p, op, c),
                (Operand::Const(c), Operand::Path(p)) => compare(*p, op.flip(), c),
                _ => None,
            }
        }
        AtomKind::InList {
            value: Operand::Path(p),
            list,
        } => {
            let fact = match list.first() {
                // An empty list holds nothing: `x in []` is false whenever `x` is known.
                None if w => Fact::Impossible,
                None => return None,
                Some(Value::String(_)) => Fact::StrIn(
                    all(list, |v| match v {
                        Value::String(s) => Some(&**s),
                        _ => None,
                    })?,
                    w,
                ),
                Some(Value::Ip(_)) => Fact::IpIn(
                    all(list, |v| match v {
                        Value::Ip(ip) => Some(*ip),
                        _ => None,
                    })?,
                    w,
                ),
                Some(Value::Time(_)) => Fact::TimeIn(
                    all(list, |v| match v {
                        Value::Time(t) => Some(*t),
                        _ => None,
                    })?,
                    w,
                ),
                Some(_) => Fact::NumIn(all(list, num)?, w),
            };
            Some((*p, fact))
        }
        AtomKind::InSet {
            value: Operand::Const(Value::String(s)),
            set,
        }
        | AtomKind::Has {
            set,
            item: Operand::Const(Value::String(s)),
        } => Some((*set, Fact::Has(s, w))),
        AtomKind::InCidr {
            value: Operand::Path(p),
            nets,
        } => Some((*p, Fact::Cidr(nets, w))),
        AtomKind::InHours {
            value: Operand::Path(p),
            hours,
        } => Some((*p, Fact::Hours(hours, w))),
        AtomKind::Matches {
            value: Operand::Path(p),
            glob,
        } => Some((*p, Fact::Glob(glob, w))),
        AtomKind::HasAny {
            set,
            items: SetOperand::Const(items),
        } => Some((*set, Fact::Any(items, w))),
        AtomKind::HasAll {
            set,
            items: SetOperand::Const(items),
        } => Some((*set, Fact::All(items, w))),
        AtomKind::Within {
            set,
            items: SetOperand::Const(items),
        } => Some((*set, Fact::Within(items, w))),
        AtomKind::Present(p) => Some((*p, Fact::Present(w))),
        _ => None,
    }
}

/// The paths a test reads (and needs present to come out true or false: `present(p)`,
/// never unknown, reads none in that sense).
pub fn paths_of(kind: &AtomKind) -> Vec<PathId> {
    let mut out = Vec::new();
    let mut operand = |o: &Operand| o.paths(&mut out);
    match kind {
        AtomKind::Truthy(p) => return vec![*p],
        AtomKind::Compare { lhs, rhs, .. } => {
            operand(lhs);
            operand(rhs);
        }
        AtomKind::InList { value, .. }
        | AtomKind::InCidr { value, .. }
        | AtomKind::InHours { value, .. }
        | AtomKind::Matches { value, .. } => operand(value),
        AtomKind::InSet { value, set } => {
            operand(value);
            out.push(*set);
        }
        AtomKind::Has { set, item } => {
            operand(item);
            out.push(*set);
        }
        AtomKind::HasAny { set, items }
        | AtomKind::HasAll { set, items }
        | AtomKind::Within { set, items } => {
            out.push(*set);
            if let SetOperand::Path(p) = items {
                out.push(*p);
            }
        }
        AtomKind::Cel(_) | AtomKind::Present(_) => {}
    }
    out
}
