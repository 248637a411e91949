//! Sets of strings (`principal.groups`, `scope.requested`): `has`, `has any`, `has all`,
//! `within`, each required or refused.
//!
//! Items that must be in the set, items that must not, the universe `within` allows (the
//! intersection of its lists) and the `has any` lists that must each meet the set are
//! checked against each other; a refused `has all` / `within` is met only if some item
//! can still be missing / some element can still lie outside.

use super::facts::Fact;

/// Whether some set satisfies every fact.
pub fn consistent(facts: &[&Fact<'_>]) -> bool {
    let mut must: Vec<&str> = Vec::new();
    let mut must_not: Vec<&str> = Vec::new();
    let mut universe: Option<Vec<&str>> = None;
    let mut some_of: Vec<Vec<&str>> = Vec::new();
    let mut one_missing: Vec<Vec<&str>> = Vec::new();
    let mut one_outside: Vec<Vec<&str>> = Vec::new();
    for f in facts {
        match f {
            Fact::Has(x, true) => must.push(x),
            Fact::Has(x, false) => must_not.push(x),
            Fact::Any(items, true) => some_of.push(items.iter().map(String::as_str).collect()),
            Fact::Any(items, false) => must_not.extend(items.iter().map(String::as_str)),
            Fact::All(items, true) => must.extend(items.iter().map(String::as_str)),
            Fact::All(items, false) => one_missing.push(items.iter().map(String::as_str).collect()),
            Fact::Within(items, true) => {
                let list: Vec<&str> = items.iter().map(String::as_str).collect();
                universe = Some(match universe.take() {
                    None => list,
                    Some(u) => u.into_iter().filter(|x| list.contains(x)).collect(),
                });
            }
            Fact::Within(items, false) => {
                one_outside.push(items.iter().map(String::as_str).collect())
            }
            _ => {}
        }
    }
    if must.iter().any(|x| must_not.contains(x)) {
        return false;
    }
    if let Some(u) = &universe {
        if must.iter().any(|x| !u.contains(x)) {
            return false;
        }
        // Some element must lie outside a list that holds the whole universe.
        if one_outside
            .iter()
            .any(|list| u.iter().all(|x| list.contains(x)))
        {
            return false;
        }
    }
    for list in &some_of {
        let possible = list
            .iter()
            .any(|x| !must_not.contains(x) && universe.as_ref().is_none_or(|u| u.contains(x)));
        if !possible {
            return false;
        }
    }
    // `has all L` refused: some item of L missing, impossible when all must be there.
    if one_missing
        .iter()
        .any(|list| list.iter().all(|x| must.contains(x)))
    {
        return false;
    }
    true
}
