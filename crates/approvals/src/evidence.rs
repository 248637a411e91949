//! An approver's answer and the checks it must pass before it counts: the approver is
//! known, a person, neither the principal nor the human an agent acts for, answers once,
//! belongs to a required group, typed the right binding code, and proved it with evidence
//! at least as strong as the policy asks, verified over this challenge.

use serde::{Deserialize, Serialize};

use crate::challenge::{Challenge, Method};
use crate::error::{Refusal, RefusalCode};
use crate::keys::verify_b64;
use crate::registry::{Approver, Kind, Registry};

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
    /// A WebAuthn assertion whose `challenge` is [`webauthn_answer_challenge`] of this
    /// challenge's id and digest.
    Webauthn {
        /// The authenticator's response.
        assertion: writ_webauthn::Assertion,
    },
}

impl Evidence {
    /// The method this evidence is.
    pub fn method(&self) -> Method {
        match self {
            Evidence::Signature { .. } => Method::Signature,
            Evidence::Otp { .. } => Method::Otp,
            Evidence::Webauthn { .. } => Method::Webauthn,
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
/// OTP and WebAuthn evidence is verified before (what it consumes — a code's time step,
/// an assertion, a sign count — lives in the state store): `pre` is that verification's
/// outcome.
pub fn check(
    challenge: &Challenge,
    registry: &Registry,
    answer: &Answer,
    pre: Option<&Result<(), Refusal>>,
) -> Result<Method, Refusal> {
    let (approver, method) = eligible(challenge, registry, answer)?;
    let id = answer.approver.as_str();
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
        // Verified before the challenge is updated (the code is consumed in the store).
        Evidence::Otp { .. } | Evidence::Webauthn { .. } => match pre {
            Some(Ok(())) => {}
            Some(Err(r)) => return Err(r.clone()),
            None => {
                return refuse(
                    RefusalCode::BadWebauthn,
                    "the evidence was not verified".into(),
                )
            }
        },
    }
    // Checked once the proof holds: a valid proof with another binding code means the
    // approver was shown another transaction than this one (a relayed request), which
    // closes the challenge; without a proof it is nobody's and changes nothing.
    if let Some(code) = &answer.code {
        if !crate::encode::same_secret(code.trim().as_bytes(), challenge.code.as_bytes()) {
            return refuse(
                RefusalCode::RelaySuspected,
                "the binding code does not match this challenge's: the approver was shown another request than this one (relayed?), so the challenge is closed; do not approve a request you did not see".into(),
            );
        }
    }
    Ok(method)
}

/// Whether this approver may answer this challenge with this kind of evidence at all: in
/// the registry, a person, neither principal nor `on_behalf_of`, not counted yet, in a
/// required group, with a method strong enough. Checked before any evidence is verified,
/// so an answer refused for who gives it consumes nothing (a one-time code stays good).
pub fn eligible<'r>(
    challenge: &Challenge,
    registry: &'r Registry,
    answer: &Answer,
) -> Result<(&'r Approver, Method), Refusal> {
    let refuse = |code, message| Err(Refusal::new(code, message));
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
                "`{id}` is {}: only people approve",
                kind_name(approver.kind)
            ),
        );
    }
    // Separation of duties compares identities as people do: case and Unicode
    // compatibility forms do not make another person (`Frank@…` is `frank@…`).
    let r = &challenge.requester;
    let same = |who: &Option<String>| who.as_deref().is_some_and(|w| crate::identity::same(w, id));
    if same(&r.principal) {
        return refuse(
            RefusalCode::SelfApproval,
            format!("`{id}` is the principal of this request and cannot approve it"),
        );
    }
    if same(&r.on_behalf_of) {
        return refuse(
            RefusalCode::OnBehalfOfApproval,
            format!("the request is made on behalf of `{id}`, who therefore cannot approve it"),
        );
    }
    if challenge
        .approvals
        .iter()
        .any(|a| crate::identity::same(&a.approver, id))
    {
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
    let required = challenge.requirements.method;
    let method = answer.evidence.method();
    if method == Method::Otp && !method.satisfies(required) {
        return refuse(
            RefusalCode::MethodTooWeak,
            format!("a one-time code is accepted only where the policy's method is `otp`; this approval needs `{required}`"),
        );
    }
    if !method.satisfies(required) {
        return refuse(
            RefusalCode::MethodTooWeak,
            format!(
                "`{}` evidence is weaker than the required `{required}`",
                method.as_str()
            ),
        );
    }
    Ok((approver, method))
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Human => "a person",
        Kind::Workload => "a workload",
        Kind::Agent => "an agent",
    }
}

/// The domain of the WebAuthn challenge derivation (§21): version 2, which covers the
/// challenge id. Version 1 (the digest's 32 bytes to approve,
/// `SHA-256("writ-webauthn-deny-v1" 0x00 digest)` to deny) is no longer accepted: a v1
/// assertion fails as a challenge mismatch.
pub const WEBAUTHN_DOMAIN: &[u8] = b"writ-webauthn-v2";

/// The bytes a WebAuthn assertion's `challenge` must be to answer challenge
/// `challenge_id` over `digest` (its text, `sha256:<64 hex>`), approving or denying:
///
/// `SHA-256("writ-webauthn-v2" 0x00 challenge-id 0x00 digest-text 0x00 ("approve"|"deny"))`
///
/// (every string as its UTF-8 bytes, no length prefixes: the id and the digest text hold
/// no 0x00). The client data carries it base64url without padding. One assertion answers
/// one challenge, one way: it cannot be replayed on another challenge (even over the same
/// transaction) nor turned from a denial into an approval, whatever the authenticator's
/// counter does.
pub fn webauthn_answer_challenge(challenge_id: &str, digest: &str, approve: bool) -> [u8; 32] {
    use sha2::{Digest as _, Sha256};
    let mut h = Sha256::new();
    h.update(WEBAUTHN_DOMAIN);
    h.update([0u8]);
    h.update(challenge_id.as_bytes());
    h.update([0u8]);
    h.update(digest.as_bytes());
    h.update([0u8]);
    h.update(if approve {
        &b"approve"[..]
    } else {
        &b"deny"[..]
    });
    h.finalize().into()
}

/// The WebAuthn challenge bytes that approve challenge `challenge_id` over `digest`
/// ([`webauthn_answer_challenge`] with `"approve"`).
pub fn webauthn_challenge(challenge_id: &str, digest: &str) -> [u8; 32] {
    webauthn_answer_challenge(challenge_id, digest, true)
}

/// The WebAuthn challenge bytes that deny challenge `challenge_id` over `digest`
/// ([`webauthn_answer_challenge`] with `"deny"`).
pub fn webauthn_deny_challenge(challenge_id: &str, digest: &str) -> [u8; 32] {
    webauthn_answer_challenge(challenge_id, digest, false)
}

/// What the state store records to accept a WebAuthn assertion once: its
/// [`writ_webauthn::Assertion::identity`] (credential id, authenticator data, client data
/// hash — never the signature, which an ES256 signer or anyone holding the assertion can
/// re-encode as its `(r, n − s)` twin), base64url.
pub fn webauthn_assertion_id(assertion: &writ_webauthn::Assertion) -> String {
    crate::encode::b64(&assertion.identity())
}

/// Verifies a WebAuthn assertion by `approver` answering `challenge` (its id and digest,
/// [`webauthn_answer_challenge`]) against the
/// approver's registered credential, the stored sign count being `stored` (the greater of
/// the registry's and the store's). On success, the new sign count to record.
pub fn verify_webauthn(
    challenge: &Challenge,
    registry: &Registry,
    approver: &str,
    assertion: &writ_webauthn::Assertion,
    approve: bool,
    mut stored: impl FnMut(&[u8], u32) -> u32,
) -> Result<(Vec<u8>, u32), Refusal> {
    let Some(a) = registry.get(approver) else {
        return Err(Refusal::new(
            RefusalCode::UnknownApprover,
            format!("`{approver}` is not in the approver registry"),
        ));
    };
    let Some(rp) = registry.relying_party() else {
        return Err(Refusal::new(
            RefusalCode::NoCredential,
            "WebAuthn is not configured: the registry has no `[relying_party]`".to_string(),
        ));
    };
    let Some(credential) = a.webauthn.iter().find(|c| c.id == assertion.credential_id) else {
        return Err(Refusal::new(
            RefusalCode::NoCredential,
            format!("`{approver}` has no registered WebAuthn credential with this id"),
        ));
    };
    let bytes = webauthn_answer_challenge(&challenge.id, &challenge.digest, approve);
    let mut current = credential.clone();
    current.sign_count = stored(&credential.id, credential.sign_count);
    match writ_webauthn::verify_assertion(rp, &current, &bytes, assertion) {
        Ok(v) => Ok((credential.id.clone(), v.sign_count)),
        Err(e) if e.is_possible_clone() => Err(Refusal::new(
            RefusalCode::PossibleClone,
            format!("{e}; report it and re-register `{approver}`'s credential"),
        )),
        Err(e) => Err(Refusal::new(
            RefusalCode::BadWebauthn,
            format!("the WebAuthn assertion is refused: {e}"),
        )),
    }
}
