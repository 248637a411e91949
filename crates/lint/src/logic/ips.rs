//! Addresses: equalities, lists and CIDR sets.
//!
//! A CIDR test reads an IPv4-mapped IPv6 address as the IPv4 address it maps (as the
//! evaluator does), so CIDR facts constrain that canonical address: the required sets are
//! intersected and the refused ones removed, as ranges, per family. Equalities pin the
//! address itself, and its canonical form must then lie in what remains.

use std::net::IpAddr;

use ipnet::IpNet;

use super::facts::Fact;

/// Inclusive ranges of one family, as integers.
type Ranges = Vec<(u128, u128)>;

fn range(net: &IpNet) -> (bool, u128, u128) {
    match net {
        IpNet::V4(n) => (
            true,
            u128::from(u32::from(n.network())),
            u128::from(u32::from(n.broadcast())),
        ),
        IpNet::V6(n) => (false, u128::from(n.network()), u128::from(n.broadcast())),
    }
}

fn canonical(ip: IpAddr) -> (bool, u128) {
    match writ_check::net::unmapped(ip) {
        IpAddr::V4(a) => (true, u128::from(u32::from(a))),
        IpAddr::V6(a) => (false, u128::from(a)),
    }
}

fn intersect(a: &Ranges, b: &Ranges) -> Ranges {
    let mut out = Vec::new();
    for (x0, x1) in a {
        for (y0, y1) in b {
            let (lo, hi) = ((*x0).max(*y0), (*x1).min(*y1));
            if lo <= hi {
                out.push((lo, hi));
            }
        }
    }
    out
}

fn subtract(a: &Ranges, (r0, r1): (u128, u128)) -> Ranges {
    let mut out = Vec::new();
    for (x0, x1) in a {
        if r1 < *x0 || r0 > *x1 {
            out.push((*x0, *x1));
            continue;
        }
        if r0 > *x0 {
            out.push((*x0, r0 - 1));
        }
        if r1 < *x1 {
            out.push((r1 + 1, *x1));
        }
    }
    out
}

/// Whether some address satisfies every fact.
pub fn consistent(facts: &[&Fact<'_>]) -> bool {
    let mut v4: Ranges = vec![(0, u128::from(u32::MAX))];
    let mut v6: Ranges = vec![(0, u128::MAX)];
    let mut candidates: Option<Vec<IpAddr>> = None;
    let mut narrow = |allowed: &[IpAddr]| {
        candidates = Some(match candidates.take() {
            None => allowed.to_vec(),
            Some(c) => c.into_iter().filter(|x| allowed.contains(x)).collect(),
        });
    };
    let mut excluded: Vec<IpAddr> = Vec::new();
    for f in facts {
        match f {
            Fact::Cidr(set, true) => {
                let (mut n4, mut n6) = (Vec::new(), Vec::new());
                for net in &set.nets {
                    let (is4, lo, hi) = range(net);
                    if is4 { &mut n4 } else { &mut n6 }.push((lo, hi));
                }
                v4 = intersect(&v4, &n4);
                v6 = intersect(&v6, &n6);
            }
            Fact::Cidr(set, false) => {
                for net in &set.nets {
                    let (is4, lo, hi) = range(net);
                    if is4 {
                        v4 = subtract(&v4, (lo, hi));
                    } else {
                        v6 = subtract(&v6, (lo, hi));
                    }
                }
            }
            Fact::IpEq(ip, true) => narrow(&[*ip]),
            Fact::IpEq(ip, false) => excluded.push(*ip),
            Fact::IpIn(list, true) => narrow(list),
            Fact::IpIn(list, false) => excluded.extend(list.iter().copied()),
            _ => {}
        }
    }
    let in_region = |ip: IpAddr| {
        let (is4, x) = canonical(ip);
        let r = if is4 { &v4 } else { &v6 };
        r.iter().any(|(lo, hi)| (*lo..=*hi).contains(&x))
    };
    match candidates {
        Some(c) => c
            .into_iter()
            .any(|ip| !excluded.contains(&ip) && in_region(ip)),
        None => !(v4.is_empty() && v6.is_empty()),
    }
}
