//! The decision, serialised exactly as docs/language.md §14 (plus `policy_version`).

use std::sync::Arc;

use serde::{Serialize, Serializer};

/// A short list that reads as a slice: none or one item is held without allocating (an
/// allow is usually one rule), more in a vector. Serialised as a JSON array, exactly as a
/// `Vec` is.
#[derive(Clone)]
pub struct Few<T>(Repr<T>);

#[derive(Clone)]
enum Repr<T> {
    Empty,
    One(T),
    Many(Vec<T>),
}

impl<T> Few<T> {
    /// An empty list.
    pub const fn new() -> Few<T> {
        Few(Repr::Empty)
    }

    /// A list of one item.
    pub const fn from_one(item: T) -> Few<T> {
        Few(Repr::One(item))
    }

    /// Appends an item.
    pub fn push(&mut self, item: T) {
        match &mut self.0 {
            Repr::Many(v) => v.push(item),
            Repr::Empty => self.0 = Repr::One(item),
            Repr::One(_) => {
                if let Repr::One(first) = std::mem::replace(&mut self.0, Repr::Empty) {
                    self.0 = Repr::Many(vec![first, item]);
                }
            }
        }
    }

    /// Removes every item.
    pub fn clear(&mut self) {
        self.0 = Repr::Empty;
    }
}

impl<T> Default for Few<T> {
    fn default() -> Few<T> {
        Few::new()
    }
}

impl<T> std::ops::Deref for Few<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        match &self.0 {
            Repr::Empty => &[],
            Repr::One(x) => std::slice::from_ref(x),
            Repr::Many(v) => v,
        }
    }
}

impl<T> From<Vec<T>> for Few<T> {
    fn from(mut v: Vec<T>) -> Few<T> {
        match v.len() {
            0 => Few::new(),
            1 => v.pop().map_or_else(Few::new, |x| Few(Repr::One(x))),
            _ => Few(Repr::Many(v)),
        }
    }
}

impl<T> From<Few<T>> for Vec<T> {
    fn from(f: Few<T>) -> Vec<T> {
        match f.0 {
            Repr::Empty => Vec::new(),
            Repr::One(x) => vec![x],
            Repr::Many(v) => v,
        }
    }
}

impl<T> FromIterator<T> for Few<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Few<T> {
        let mut out = Few::new();
        for x in iter {
            out.push(x);
        }
        out
    }
}

impl<'a, T> IntoIterator for &'a Few<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<T: PartialEq> PartialEq for Few<T> {
    fn eq(&self, other: &Few<T>) -> bool {
        **self == **other
    }
}

impl<T: Eq> Eq for Few<T> {}

impl<T: PartialEq> PartialEq<Vec<T>> for Few<T> {
    fn eq(&self, other: &Vec<T>) -> bool {
        **self == **other
    }
}

impl<T: std::hash::Hash> std::hash::Hash for Few<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (**self).hash(state);
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Few<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T: Serialize> Serialize for Few<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

/// The three answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Go ahead.
    Allow,
    /// Go ahead once the approval is granted.
    Approve,
    /// Refused.
    Deny,
}

impl Verdict {
    /// `allow`, `approve` or `deny`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Approve => "approve",
            Verdict::Deny => "deny",
        }
    }
}

/// A risk signal that counted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SignalHit {
    /// The signal's name.
    pub name: Arc<str>,
    /// Its points.
    pub points: u32,
}

/// An obligation the service must carry out.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct ObligationOut {
    /// Its name.
    pub name: Arc<str>,
    /// Its arguments, as written.
    pub args: Arc<[String]>,
}

/// One merged approver clause.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApproverOut {
    /// How many distinct approvers.
    pub count: u32,
    /// From which group (for `group PATH`, the name the request gave).
    pub group: Arc<str>,
    /// For `approvers N of group PATH`: the path the group's name was read from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Arc<str>>,
}

/// The merged approval requirements and the transaction binding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApprovalOut {
    /// Every clause must be met, by distinct approvers.
    pub approvers: Vec<ApproverOut>,
    /// The weakest acceptable evidence.
    pub method: writ_check::ir::Method,
    /// Lifetime of the approval, seconds.
    pub ttl_s: u64,
    /// The bound paths, as written (shared with the rule when one rule binds them all).
    pub bind: Arc<[Arc<str>]>,
    /// `sha256:` + hex of the transaction digest (§6).
    pub digest: String,
    /// The bound paths the request does not carry (absent or `null`), in `bind` order:
    /// the digest binds `null` for each, so an approver must be told they are missing.
    pub missing: Vec<Arc<str>>,
    /// `approve for D`: the grant may be redeemed repeatedly for this many seconds after
    /// it was issued, for requests with the same bound values; `None` (`null`) for a
    /// single-use approval.
    pub elevation_s: Option<u64>,
}

impl ApprovalOut {
    /// The paths of `bind` that `request` does not carry (absent or `null`), in order.
    pub fn missing_in<'a>(
        request: &serde_json::Value,
        bind: impl IntoIterator<Item = &'a Arc<str>>,
    ) -> Vec<Arc<str>> {
        bind.into_iter()
            .filter(|p| crate::request::lookup(request, p.split('.')).is_none())
            .cloned()
            .collect()
    }
}

/// The engine's answer to one request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// `allow`, `deny` or `approve`.
    pub decision: Verdict,
    /// Risk score, 0..=100.
    pub risk: u32,
    /// The signals that counted, in set order.
    pub signals: Few<SignalHit>,
    /// The rules that produced the decision (empty when nothing fired).
    pub rules: Few<Arc<str>>,
    /// The winning deny rule's message.
    pub message: Option<Arc<str>>,
    /// Obligations of the winning rules, without duplicates.
    pub obligations: Vec<ObligationOut>,
    /// For `approve`: the merged requirements.
    pub approval: Option<ApprovalOut>,
    /// For a time-boxed `allow for D`: the shortest box, seconds.
    pub ttl_s: Option<u64>,
    /// Missing paths that made a winning rule fire or a signal count.
    pub unknown: Vec<Arc<str>>,
    /// Content hash of the policy set that decided.
    pub policy_version: Arc<str>,
}

impl Decision {
    /// Turns this decision into a `deny` saying `message`: no approval, no obligation, no
    /// time box; the risk, the signals, the rules and the unknowns stay, to say what was
    /// evaluated. The one way every stage refuses (the combiner, the approval flow).
    pub fn refuse(&mut self, message: impl Into<Arc<str>>) {
        self.decision = Verdict::Deny;
        self.message = Some(message.into());
        self.approval = None;
        self.obligations.clear();
        self.ttl_s = None;
    }

    /// A deny with nothing in it yet, for the combiner to fill in place.
    pub(crate) fn empty(policy_version: Arc<str>) -> Decision {
        Decision {
            decision: Verdict::Deny,
            risk: 0,
            signals: Few::new(),
            rules: Few::new(),
            message: None,
            obligations: Vec::new(),
            approval: None,
            ttl_s: None,
            unknown: Vec::new(),
            policy_version,
        }
    }

    /// The decision as compact JSON (what `serde_json` writes for it, byte for byte).
    pub fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(512);
        self.write_json(&mut out);
        String::from_utf8(out).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// Writes the decision as compact JSON at the end of `out`, as [`Decision::to_json`]
    /// gives it, without `serde_json`'s generic machinery.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        crate::json_out::write_decision(self, out);
    }

    /// The decision as indented JSON.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_list_reads_serialises_and_compares_as_a_vec() {
        for n in 0..4 {
            let v: Vec<Arc<str>> = (0..n)
                .map(|i| Arc::from(format!("r{i}").as_str()))
                .collect();
            let pushed: Few<Arc<str>> = v.iter().cloned().collect();
            let from: Few<Arc<str>> = Few::from(v.clone());
            assert_eq!(&*pushed, &v[..]);
            assert_eq!(pushed, from);
            assert!(pushed == v);
            assert_eq!(
                serde_json::to_string(&pushed).unwrap(),
                serde_json::to_string(&v).unwrap()
            );
            assert_eq!(format!("{pushed:?}"), format!("{v:?}"));
            assert_eq!(Vec::from(pushed.clone()), v);
            let mut cleared = pushed;
            cleared.clear();
            assert!(cleared.is_empty());
        }
    }

    #[test]
    fn a_decision_allocates_no_list_for_one_rule() {
        let mut d = Decision::empty(Arc::from("v"));
        d.rules.push(Arc::from("only"));
        assert!(matches!(d.rules.0, Repr::One(_)));
        assert_eq!(
            d.to_json(),
            r#"{"decision":"deny","risk":0,"signals":[],"rules":["only"],"message":null,"obligations":[],"approval":null,"ttl_s":null,"unknown":[],"policy_version":"v"}"#
        );
    }
}
