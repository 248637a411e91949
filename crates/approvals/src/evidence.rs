//! An approver's answer and the checks it must pass before it counts: the approver is
//! known, a person, neither the principal nor the human an agent acts for, answers once,
//! belongs to a required group, typed the right binding code, and proved it with evidence
//! at least as strong as the policy asks, verified over this challenge.

use serde::{Deserialize, Serialize};

use crate::challenge::{Challenge, Method};
use crate::error::{Refusal, RefusalCode};
use crate::keys::verify_b64;
use crate::registry::{Kind, Registry};

/// The proof an approver sends. Tagged by `method`, so further kinds slot in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "lowercase")]
pub enum Evidence {
    /// An Ed25519 signature (base64url) over [`Challenge::message`].
    Signature {
        /// The signature.
        signature: String,
    },
    /// A TOTP code (RFC 6238).
    Otp {
        /// The six digits.
        code: String,
    },
}

impl Evidence {
    /// The method this evidence is.
    pub fn method(&self) -> Method {
        match self {
            Evidence::Signature { .. } => Method::Signature,
            Evidence::Otp { .. } => Method::Otp,
        }
    }
}

/// An approver's answer to one challenge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// The challenge id.
    pub challenge: String,
    /// The approver's id (as in the registry).
    pub approver: String,
    /// `true` approves, `false` denies (one denial closes the challenge).
    pub approve: bool,
    /// The binding code the approver was shown by the requester (number matching); when
    /// given, it must be the challenge's.
    #[serde(default)]
    pub code: Option<String>,
    /// The proof.
    pub evidence: Evidence,
}

fn refuse(code: RefusalCode, message: String) -> Result<Method, Refusal> {
    Err(Refusal::new(code, message))
}

/// Checks an answer against a challenge; on success, the method the evidence proved.
pub fn check(
    challenge: &Challenge,
    registry: &Registry,
    answer: &Answer,
    now_unix: u64,
) -> Result<Method, Refusal> {
    let id = answer.approver.as_str();
    let Some(approver) = registry.get(id) else {
        return refuse(
            RefusalCode::UnknownApprover,
            format!("`{id}` is not in the approver registry"),
        );
    };
    if approver.kind != Kind::Human {
        return refuse(
            RefusalCode::NotAHuman,
            format!(
                "`{id}` is a {}: only people approve",
                kind_name(approver.kind)
            ),
        );
    }
    let r = &challenge.requester;
    if r.principal.as_deref() == Some(id) {
        return refuse(
            RefusalCode::SelfApproval,
            format!("`{id}` is the principal of this request and cannot approve it"),
        );
    }
    if r.on_behalf_of.as_deref() == Some(id) {
        return refuse(
            RefusalCode::OnBehalfOfApproval,
            format!("the agent acts on behalf of `{id}`, who therefore cannot approve its request"),
        );
    }
    if challenge.approvals.iter().any(|a| a.approver == id) {
        return refuse(
            RefusalCode::DuplicateApprover,
            format!("`{id}` approved this challenge already; each approver counts once"),
        );
    }
    let groups: Vec<&str> = challenge
        .requirements
        .approvers
        .iter()
        .map(|c| c.group.as_str())
        .collect();
    if !groups.iter().any(|g| approver.groups.contains(*g)) {
        return refuse(
            RefusalCode::NotInGroup,
            format!(
                "`{id}` is in none of the required groups ({})",
                groups.join(", ")
            ),
        );
    }
    if let Some(code) = &answer.code {
        if code.trim() != challenge.code {
            return refuse(
                RefusalCode::CodeMismatch,
                "the binding code does not match this challenge's: do not approve a request you did not see".into(),
            );
        }
    }
    let required = challenge.requirements.method.as_str();
    let method = answer.evidence.method();
    if method == Method::Otp && required != "otp" {
        return refuse(
            RefusalCode::MethodTooWeak,
            format!("a one-time code is accepted only where the policy's method is `otp`; this approval needs `{required}`"),
        );
    }
    if method < Method::minimum_for(required) {
        return refuse(
            RefusalCode::MethodTooWeak,
            format!(
                "`{}` evidence is weaker than the required `{required}`",
                method.as_str()
            ),
        );
    }
    match &answer.evidence {
        Evidence::Signature { signature } => {
            if approver.ed25519.is_empty() {
                return refuse(
                    RefusalCode::NoCredential,
                    format!("`{id}` has no registered signing key"),
                );
            }
            let message = challenge.message(answer.approve);
            if !approver
                .ed25519
                .iter()
                .any(|k| verify_b64(k, &message, signature))
            {
                return refuse(
                    RefusalCode::BadSignature,
                    format!("the signature does not verify with `{id}`'s registered keys over this challenge"),
                );
            }
        }
        Evidence::Otp { code } => {
            let Some(secret) = &approver.totp else {
                return refuse(
                    RefusalCode::NoCredential,
                    format!("`{id}` has no enrolled one-time code"),
                );
            };
            if !secret.check(code, now_unix) {
                return refuse(
                    RefusalCode::BadOtp,
                    "the one-time code is wrong or expired".into(),
                );
            }
        }
    }
    Ok(method)
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Human => "person",
        Kind::Workload => "workload",
        Kind::Agent => "agent",
    }
}
