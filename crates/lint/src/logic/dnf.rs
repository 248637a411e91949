//! Conditions as sums of conjunctions of known-truth literals.
//!
//! Under Kleene logic a condition is *true* exactly when some conjunction of its leaf
//! tests, each required to come out true or false (never unknown), holds; likewise for
//! *false*. [`dnf`] expands "this condition comes out `want`" into those conjunctions,
//! giving up (`None`) past a size bound rather than guessing.

use writ_check::ir::{Atom, Cond};

/// Above this many conjunctions an expansion gives up.
pub const LIMIT: usize = 4096;

/// A leaf test that must come out `want` (so the paths it reads are present).
#[derive(Clone, Copy, Debug)]
pub struct Lit<'a> {
    /// The test.
    pub atom: &'a Atom,
    /// The truth it must have.
    pub want: bool,
}

/// A conjunction of literals.
pub type Conj<'a> = Vec<Lit<'a>>;

/// The conjunctions under which `c` comes out `want`; `None` when there are too many.
/// An empty result means never; a result holding an empty conjunction means always.
// INVARIANT: recursion follows the condition, whose depth the parser bounded
// (`writ_syntax::MAX_NESTING`); the expansion itself is capped in size.
pub fn dnf(c: &Cond, want: bool) -> Option<Vec<Conj<'_>>> {
    match c {
        Cond::Const(b) => Some(if *b == want {
            vec![Vec::new()]
        } else {
            Vec::new()
        }),
        Cond::Atom(atom) => Some(vec![vec![Lit { atom, want }]]),
        Cond::Not(inner) => dnf(inner, !want),
        Cond::Named { cond, .. } => dnf(cond, want),
        // `and` is true when every part is, false when some part is; `or` the dual.
        Cond::And(parts) if want => product(parts, true),
        Cond::Or(parts) if !want => product(parts, false),
        Cond::And(parts) | Cond::Or(parts) => union(parts, want),
    }
}

fn union(parts: &[Cond], want: bool) -> Option<Vec<Conj<'_>>> {
    let mut out = Vec::new();
    for p in parts {
        out.extend(dnf(p, want)?);
        if out.len() > LIMIT {
            return None;
        }
    }
    Some(out)
}

fn product(parts: &[Cond], want: bool) -> Option<Vec<Conj<'_>>> {
    let mut acc: Vec<Conj<'_>> = vec![Vec::new()];
    for p in parts {
        let next = dnf(p, want)?;
        if acc.len().saturating_mul(next.len()) > LIMIT {
            return None;
        }
        acc = acc
            .iter()
            .flat_map(|a| {
                next.iter().map(move |b| {
                    let mut c = a.clone();
                    c.extend(b.iter().copied());
                    c
                })
            })
            .collect();
    }
    Some(acc)
}
