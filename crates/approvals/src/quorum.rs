//! Quorum: can the approvals meet every approver clause, each approver counting once?
//! Approvers may sit in several groups, so this is a bipartite matching of approvers to
//! clause slots (augmenting paths; the sizes are a handful).

use std::collections::BTreeSet;

use crate::challenge::Clause;

/// The outcome of matching approvers to clauses.
#[derive(Debug, PartialEq, Eq)]
pub struct Tally {
    /// Every slot of every clause is filled.
    pub met: bool,
    /// What is still missing (per clause, how many more), in clause order.
    pub missing: Vec<Clause>,
}

/// Matches `approvers` (id and groups) against `clauses`. Ids that are one identity under
/// [`crate::identity::fold`] count once (the first one).
pub fn tally(clauses: &[Clause], approvers: &[(String, BTreeSet<String>)]) -> Tally {
    let mut seen = BTreeSet::new();
    let distinct: Vec<(String, BTreeSet<String>)> = approvers
        .iter()
        .filter(|(id, _)| seen.insert(crate::identity::fold(id)))
        .cloned()
        .collect();
    let approvers = distinct.as_slice();
    // One slot per required approver.
    let slots: Vec<usize> = clauses
        .iter()
        .enumerate()
        .flat_map(|(i, c)| std::iter::repeat_n(i, c.count as usize))
        .collect();
    let mut slot_owner: Vec<Option<usize>> = vec![None; slots.len()];
    for a in 0..approvers.len() {
        let mut seen = vec![false; slots.len()];
        augment(a, clauses, &slots, approvers, &mut slot_owner, &mut seen);
    }
    let mut missing: Vec<Clause> = Vec::new();
    for (slot, owner) in slots.iter().zip(&slot_owner) {
        if owner.is_none() {
            let group = &clauses[*slot].group;
            match missing.iter_mut().find(|c| &c.group == group) {
                Some(c) => c.count += 1,
                None => missing.push(Clause {
                    count: 1,
                    group: group.clone(),
                }),
            }
        }
    }
    Tally {
        met: missing.is_empty(),
        missing,
    }
}

fn augment(
    a: usize,
    clauses: &[Clause],
    slots: &[usize],
    approvers: &[(String, BTreeSet<String>)],
    owner: &mut [Option<usize>],
    seen: &mut [bool],
) -> bool {
    for s in 0..slots.len() {
        if seen[s] || !approvers[a].1.contains(&clauses[slots[s]].group) {
            continue;
        }
        seen[s] = true;
        let free = match owner[s] {
            None => true,
            Some(other) => augment(other, clauses, slots, approvers, owner, seen),
        };
        if free {
            owner[s] = Some(a);
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clause(count: u32, group: &str) -> Clause {
        Clause {
            count,
            group: group.into(),
        }
    }

    fn who(id: &str, groups: &[&str]) -> (String, BTreeSet<String>) {
        (id.into(), groups.iter().map(|g| g.to_string()).collect())
    }

    #[test]
    fn one_approver_never_fills_two_slots() {
        let clauses = [clause(1, "a"), clause(1, "b")];
        let t = tally(&clauses, &[who("x", &["a", "b"])]);
        assert!(!t.met);
        assert_eq!(t.missing.len(), 1);
        assert!(tally(&clauses, &[who("x", &["a", "b"]), who("y", &["a"])]).met);
    }

    #[test]
    fn matching_rearranges_to_meet_the_quorum() {
        // x is in both groups; greedy x→a would leave b unmet once y (only a) arrives.
        let clauses = [clause(1, "a"), clause(1, "b")];
        assert!(tally(&clauses, &[who("x", &["a", "b"]), who("y", &["a"])]).met);
        assert!(tally(&clauses, &[who("y", &["a"]), who("x", &["a", "b"])]).met);
    }

    #[test]
    fn one_person_under_two_spellings_fills_one_slot() {
        let clauses = [clause(2, "owners")];
        let t = tally(
            &clauses,
            &[
                who("Frank@example.com", &["owners"]),
                who("frank@example.com", &["owners"]),
            ],
        );
        assert!(!t.met);
    }

    #[test]
    fn counts_and_missing() {
        let clauses = [clause(2, "owners")];
        let t = tally(&clauses, &[who("x", &["owners"]), who("y", &["other"])]);
        assert_eq!(t.missing, vec![clause(1, "owners")]);
        assert!(tally(&[], &[]).met);
    }
}
