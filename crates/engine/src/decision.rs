//! The decision, serialised exactly as LANGUAGE.md §6 (plus `policy_version`).

use std::sync::Arc;

use serde::Serialize;

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
    pub method: &'static str,
    /// Lifetime of the approval, seconds.
    pub ttl_s: u64,
    /// The bound paths, as written.
    pub bind: Vec<Arc<str>>,
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
    pub signals: Vec<SignalHit>,
    /// The rules that produced the decision (empty when nothing fired).
    pub rules: Vec<Arc<str>>,
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
    /// A deny with nothing in it yet, for the combiner to fill in place.
    pub(crate) fn empty(policy_version: Arc<str>) -> Decision {
        Decision {
            decision: Verdict::Deny,
            risk: 0,
            signals: Vec::new(),
            rules: Vec::new(),
            message: None,
            obligations: Vec::new(),
            approval: None,
            ttl_s: None,
            unknown: Vec::new(),
            policy_version,
        }
    }

    /// The decision as compact JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// The decision as indented JSON.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}
