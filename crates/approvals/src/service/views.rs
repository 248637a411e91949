//! What the flow hands back: the decision with its challenge, an approver's answer, a
//! requester's collection, a redemption — and the challenge as approvers see it.

use std::sync::Arc;

use serde::Serialize;
use writ_engine::{Decision, Engine, Explanation, Request};

use crate::challenge::{Approved, BoundValue, Clause, Requester, Signal};
use crate::error::Refusal;
use crate::grant::GrantApprover;

/// A challenge as shown to requesters and approvers ([`crate::Approvals::challenge`]): what is
/// approved (every bound value in full, with its type), why (the rules, the risk and the
/// signals), and where it stands. Never a secret, never the grant: the requester, and only
/// the requester, collects that with [`crate::Approvals::collect`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChallengeView {
    /// Its id.
    pub id: String,
    /// The decision that opened it (in the audit log).
    pub decision_id: String,
    /// The policy version that asked for the approval.
    pub policy_version: String,
    /// The binding code to compare between requester and approver.
    pub code: String,
    /// What is approved, in one line for people: hidden characters escaped, shortened
    /// values said to be shortened, warnings last. The exact values are in `bound`.
    pub summary: String,
    /// Every bound path with its exact value in full and its JSON type, or marked
    /// missing.
    pub bound: Vec<BoundValue>,
    /// Look-alike names (mixed scripts) and hidden characters in who asks, for what, on
    /// what.
    pub warnings: Vec<String>,
    /// The transaction digest.
    pub digest: String,
    /// Open, granted, denied or locked (`expired` when open past its expiry).
    pub state: ChallengeState,
    /// Accepts answers until (RFC 3339).
    pub expires_at: String,
    /// The required method.
    pub method: crate::challenge::Method,
    /// For an elevation (`approve for D`): how long, seconds, the grant may be used again
    /// and again after it is issued — what an approver grants is a time box, not one
    /// transaction. `null` for a single-use approval.
    pub elevation_s: Option<u64>,
    /// Every approver clause.
    pub approvers: Vec<Clause>,
    /// Accepted approvals.
    pub approvals: Vec<Approved>,
    /// Who denied it, when denied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub denied_by: Option<String>,
    /// What is still missing.
    pub missing: Vec<Clause>,
    /// Whether this request joined an identical open challenge.
    pub merged: bool,
    /// The rules that asked for the approval.
    pub rules: Vec<String>,
    /// The decision's risk score, 0..=100.
    pub risk: u32,
    /// The risk signals that counted.
    pub signals: Vec<Signal>,
    /// Who asks, for what, on what, as the request names them (principal, kind,
    /// `on_behalf_of`, action, resource): for pages that lay them out. Not serialised
    /// (the JSON routes show them through `summary` and `bound`).
    #[serde(skip)]
    pub requester: Requester,
    /// Opened at (RFC 3339).
    #[serde(skip)]
    pub opened_at: String,
}

/// The answer to `decide`: the decision, its id, and the challenge it opened.
#[derive(Clone, Serialize)]
pub struct Decided {
    /// The engine's decision (turned into `deny` when the challenge could not be opened).
    #[serde(flatten)]
    pub decision: Decision,
    /// This decision's id (in the audit log).
    pub decision_id: String,
    /// For `approve`: the challenge to answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge: Option<ChallengeView>,
    /// Why an `approve` could not open a challenge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Refusal>,
    /// For a challenge opened by a request without `principal.key`: the secret that
    /// collects its grant ([`crate::Approvals::collect`]). Given once, here; only its hash is kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collection_secret: Option<String>,
    /// The request and the engine version it was decided on (not serialised).
    #[serde(skip)]
    pub basis: Basis,
}

impl Decided {
    /// A decision with no challenge and no refusal.
    pub(crate) fn plain(decision: Decision, decision_id: String, basis: Basis) -> Decided {
        Decided {
            decision,
            decision_id,
            challenge: None,
            refusal: None,
            collection_secret: None,
            basis,
        }
    }
}

/// What a decision was made on — the request as sent and as evaluated, and the engine
/// version that decided — kept beside the answers of `decide` ([`Decided`]) and `redeem`
/// ([`Redeemed`]) so that each can explain itself.
#[derive(Clone)]
pub struct Basis {
    /// The request as sent, bound.
    pub request: Request,
    /// The request as evaluated: its `time` is the engine's clock.
    pub evaluated: Request,
    /// The engine version that decided.
    pub(crate) engine: Arc<Engine>,
}

impl Basis {
    /// The decision explained rule by rule, on the engine version that made it (not the
    /// store's current one, which may have reloaded since).
    pub fn explain(&self) -> Explanation {
        self.engine.explain(&self.evaluated)
    }

    /// The engine version that made the decision.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }
}

/// The answer to [`crate::Approvals::collect`].
#[derive(Clone, Serialize)]
pub struct Collected {
    /// `granted` or `refused`.
    pub status: CollectStatus,
    /// Why it was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Refusal>,
    /// The grant: for the requester only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant: Option<String>,
    /// The challenge (absent when there is no such challenge).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge: Option<ChallengeView>,
}

// Never the collection secret or the grant in a `Debug` output.
impl std::fmt::Debug for Decided {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decided")
            .field("decision", &self.decision)
            .field("decision_id", &self.decision_id)
            .field("challenge", &self.challenge)
            .field("refusal", &self.refusal)
            .field(
                "collection_secret",
                &self.collection_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Collected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collected")
            .field("status", &self.status)
            .field("refusal", &self.refusal)
            .field("grant", &self.grant.as_ref().map(|_| "<redacted>"))
            .field("challenge", &self.challenge)
            .finish()
    }
}

/// The answer to an approver.
#[derive(Clone, Debug, Serialize)]
pub struct Answered {
    /// `accepted` or `refused`.
    pub status: AnswerStatus,
    /// Why it was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Refusal>,
    /// The challenge after the answer (absent when there is no such challenge).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge: Option<ChallengeView>,
}

/// What a redemption granted, when it did.
#[derive(Clone, Debug, Serialize)]
pub struct Redemption {
    /// The grant's id, now consumed.
    pub jti: String,
    /// The challenge it answered.
    pub challenge: String,
    /// Who approved.
    pub approvers: Vec<GrantApprover>,
    /// For an elevation grant: which use this was, and until when the grant is good.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elevation: Option<ElevationUse>,
}

/// One use of an elevation grant (`approve for D`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ElevationUse {
    /// The use number: 1 for the first redemption, then 2, 3, …
    #[serde(rename = "use")]
    pub number: u64,
    /// The elevation's length, seconds (`D`).
    pub elevation_s: u64,
    /// When it ends (RFC 3339): `D` after the grant was issued, or sooner when the policy
    /// now grants a shorter elevation.
    pub ends_at: String,
}

/// The answer to `redeem`: `allow` with the obligations, or `deny` with the reason.
#[derive(Clone, Serialize)]
pub struct Redeemed {
    /// The decision after redemption.
    #[serde(flatten)]
    pub decision: Decision,
    /// This decision's id.
    pub decision_id: String,
    /// Why it was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Refusal>,
    /// The consumed grant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant: Option<Redemption>,
    /// The request and the engine version it was decided on (not serialised).
    #[serde(skip)]
    pub basis: Basis,
}

impl std::fmt::Debug for Redeemed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redeemed")
            .field("decision", &self.decision)
            .field("decision_id", &self.decision_id)
            .field("refusal", &self.refusal)
            .field("grant", &self.grant)
            .finish_non_exhaustive()
    }
}

/// The answer to [`crate::Approvals::revoke`]: `revoked` (the grant can no longer be
/// redeemed, on any replica; `was` says how it stood before), or `refused` with the
/// reason. Never the grant itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Revoked {
    /// `revoked` or `refused`.
    pub status: RevokeStatus,
    /// Why it was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Refusal>,
    /// The challenge whose grant was revoked.
    pub challenge: String,
    /// The revoked grant's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// How the grant stood before this revocation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub was: Option<RevokedBefore>,
    /// How many times the grant was redeemed before it was revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uses: Option<u64>,
    /// For an elevation grant, its length in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elevation_s: Option<u64>,
    /// When the grant would have expired (RFC 3339): for an elevation, the end of its box.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Who revoked it: `requester`, `approver:ID` or `operator:NAME`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// Declares a status enum serialised as its snake_case name, comparable with that name.
macro_rules! status_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal,)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
        }

        impl $name {
            /// Its name, as serialised.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}

status_enum! {
    /// Where a challenge stands, as shown: [`crate::State`] with `expired` for an open
    /// challenge past its expiry.
    ChallengeState {
        /// Waiting for approvers.
        Open => "open",
        /// Open, but past its expiry: accepts nothing more.
        Expired => "expired",
        /// The quorum was met; the requester collects the grant.
        Granted => "granted",
        /// An approver denied it.
        Denied => "denied",
        /// Too many failed attempts.
        Locked => "locked",
        /// A valid answer carried another challenge's binding code: closed.
        RelaySuspected => "relay_suspected",
        /// Granted, then its grant was revoked: redeemed and collected no more.
        Revoked => "revoked",
    }
}

status_enum! {
    /// What became of an approver's answer.
    AnswerStatus {
        /// Counted (or, for a denial, the challenge is denied).
        Accepted => "accepted",
        /// Refused: [`Answered::refusal`] says why.
        Refused => "refused",
    }
}

status_enum! {
    /// What became of a requester's collection.
    CollectStatus {
        /// The grant is handed over.
        Granted => "granted",
        /// Refused: [`Collected::refusal`] says why.
        Refused => "refused",
    }
}

status_enum! {
    /// What became of a revocation.
    RevokeStatus {
        /// The grant can no longer be redeemed.
        Revoked => "revoked",
        /// Refused: [`Revoked::refusal`] says why.
        Refused => "refused",
    }
}

status_enum! {
    /// How a grant stood when it was revoked.
    RevokedBefore {
        /// It could still be redeemed: the revocation ended it.
        Active => "active",
        /// It was revoked before: nothing changed (revoking is idempotent).
        Revoked => "revoked",
        /// A single-use grant redeemed already: nothing was left to end.
        Redeemed => "redeemed",
        /// Its time was over already: nothing was left to end.
        Expired => "expired",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_serialise_to_the_names_they_compare_equal_to() {
        for s in [
            ChallengeState::Open,
            ChallengeState::Expired,
            ChallengeState::Granted,
            ChallengeState::Denied,
            ChallengeState::Locked,
            ChallengeState::RelaySuspected,
            ChallengeState::Revoked,
        ] {
            let json = serde_json::to_value(s).unwrap_or_default();
            assert_eq!(json, serde_json::Value::from(s.as_str()));
            assert!(s == s.as_str());
        }
        assert_eq!(
            serde_json::to_string(&AnswerStatus::Accepted).unwrap_or_default(),
            r#""accepted""#
        );
        assert_eq!(
            serde_json::to_string(&CollectStatus::Refused).unwrap_or_default(),
            r#""refused""#
        );
        assert_eq!(
            ChallengeState::RelaySuspected.to_string(),
            "relay_suspected"
        );
    }
}
