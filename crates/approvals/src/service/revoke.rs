//! Revoking a grant: ends an elevation (or an unredeemed single-use grant) at once, on
//! every replica sharing the state store. The handle is the challenge id, as for
//! collection; the grant itself is never shown. Who may revoke: the requester (proving as
//! collection does, over a message of its own domain), an approver of the challenge's
//! groups (a registered Ed25519 key), or the operator (whoever holds the service: the
//! state directory, the admin tools). Every revocation and every refusal is audited,
//! durably, before the call returns; revoking twice is answered `revoked` with `was:
//! "revoked"`.

use serde_json::Value as Json;

use super::{opt, rfc3339, Approvals, RevokeStatus, Revoked, RevokedBefore};
use crate::audit::Entry;
use crate::challenge::{Challenge, State};
use crate::error::{Error, Refusal, RefusalCode};
use crate::grant::instant;
use crate::keys::verify_b64;
use crate::proof::{parse_proof, revoke_message, Collect};
use crate::registry::Kind;
use crate::store::Update;

/// Who asks to revoke a grant, with their proof.
#[derive(Clone, Debug)]
pub enum Revoker {
    /// The requester: the collection secret `decide` returned, or (for a request that
    /// carried `principal.key`) the public JWK and `IAT.SIGNATURE` over
    /// [`crate::revoke_message`]`(challenge id, iat)` made within the clock skew.
    Requester(Collect),
    /// An approver who could answer the challenge: in the registry, a person, in one of
    /// its required groups (or among those who approved it), proving with a registered
    /// Ed25519 key: `IAT.SIGNATURE` over [`crate::revoke_message`]`(challenge id, iat)`.
    Approver {
        /// The approver's id, as the registry writes it.
        id: String,
        /// `IAT.SIGNATURE` (base64url Ed25519 signature).
        proof: String,
    },
    /// The operator: whoever holds this service (its state directory and keys). The
    /// embedding application vouches for them; `by` names them in the audit log.
    Operator {
        /// Who, for the audit record.
        by: String,
    },
}

impl Revoker {
    /// How the audit record and the answer name who revoked.
    fn name(&self) -> String {
        match self {
            Revoker::Requester(_) => "requester".into(),
            Revoker::Approver { id, .. } => format!("approver:{id}"),
            Revoker::Operator { by } => format!("operator:{by}"),
        }
    }
}

impl Approvals {
    /// Revokes the grant of challenge `id`: from now on every redemption of it is refused
    /// (`grant_revoked`), on every replica sharing the state store. Answers `revoked`
    /// with how the grant stood before (`was`: `active`, `revoked` — revoking twice
    /// changes nothing and says so —, `redeemed` for a single-use grant already used,
    /// `expired`) and how many times it was used; or `refused` with the reason: no such
    /// challenge (`challenge_not_found`), no grant (`not_granted`), a proof that does not
    /// show a party allowed to revoke (`proof_missing`, `proof_invalid`, `key_mismatch`,
    /// `time_out_of_skew`, `not_allowed`).
    ///
    /// Blocks: reads the challenge and writes the revocation in the state store (a
    /// durable redb commit, or Redis round trips), and audits the outcome (durable before
    /// it returns).
    pub fn revoke(&self, id: &str, by: &Revoker) -> Result<Revoked, Error> {
        self.observe_revoke(id, || self.revoke_unobserved(id, by))
    }

    fn revoke_unobserved(&self, id: &str, by: &Revoker) -> Result<Revoked, Error> {
        let now = self.now();
        let challenge = self.store.get(id)?;
        let checked = match &challenge {
            None => Err(Refusal::new(
                RefusalCode::ChallengeNotFound,
                format!("there is no challenge `{id}` (or it was removed a day after it expired)"),
            )),
            Some(c) => self.may_revoke(c, by, now).and_then(|()| grant_of(c)),
        };
        let grant = match checked {
            Ok(grant) => grant,
            Err(refusal) => {
                self.audit(
                    Entry::new("revoke.refused")
                        .with("challenge", id)
                        .with("by", by.name())
                        .with(
                            "code",
                            serde_json::to_value(refusal.code).unwrap_or(Json::Null),
                        )
                        .with("reason", refusal.message.as_str()),
                )?;
                return Ok(Revoked {
                    status: RevokeStatus::Refused,
                    refusal: Some(refusal),
                    challenge: id.to_string(),
                    jti: None,
                    was: None,
                    uses: None,
                    elevation_s: None,
                    expires_at: None,
                    by: Some(by.name()),
                });
            }
        };
        // The grant kept with the challenge was signed here; one that no longer verifies
        // (the grant key replaced) cannot be redeemed here anyway.
        let Ok(claims) = self.grant_key.verify(&grant) else {
            return Err(Error::Key(format!(
                "the grant kept with challenge `{id}` does not verify with this engine's grant key"
            )));
        };
        let skew = self.config.clock_skew_s;
        let exp = instant(&claims.exp, "exp").map_err(|r| Error::Key(r.message))?;
        let keep_until = exp.saturating_add(skew).saturating_add(1);
        let revocation = self.store.revoke_grant(&claims.jti, keep_until, now)?;
        let expired = match claims.elv {
            Some(_) => now >= exp,
            None => now > exp.saturating_add(skew),
        };
        let was = if !revocation.first {
            RevokedBefore::Revoked
        } else if claims.elv.is_none() && revocation.uses > 0 {
            RevokedBefore::Redeemed
        } else if expired {
            RevokedBefore::Expired
        } else {
            RevokedBefore::Active
        };
        let c = challenge.as_ref();
        self.audit(
            Entry::new("grant.revoked")
                .with("challenge", id)
                .with("jti", claims.jti.as_str())
                .with("by", by.name())
                .with("was", was.as_str())
                .with("uses", revocation.uses)
                .with("elevation_s", claims.elv)
                .with("expires_at", claims.exp.as_str())
                .with("digest", claims.digest.as_str())
                .with(
                    "principal",
                    c.map_or(Json::Null, |c| opt(&c.requester.principal)),
                )
                .with("decision_id", c.map(|c| c.decision_id.as_str())),
        )?;
        // Shown as revoked, and collected no more. Best effort, after the record: the
        // revocation record above is what refuses redemptions, on every replica; a store
        // that fails here (or a challenge gone meanwhile) leaves only the display behind,
        // and revoking again mends it.
        let _ = self
            .store
            .update(id, &mut |c: &mut Challenge| match c.revoked_at {
                Some(_) => Update::Keep(Ok(())),
                None => {
                    c.revoked_at = Some(now);
                    Update::Write(Ok(()))
                }
            });
        Ok(Revoked {
            status: RevokeStatus::Revoked,
            refusal: None,
            challenge: id.to_string(),
            jti: Some(claims.jti),
            was: Some(was),
            uses: Some(revocation.uses),
            elevation_s: claims.elv,
            expires_at: Some(rfc3339(exp)),
            by: Some(by.name()),
        })
    }

    /// Whether `by` may revoke the grant of `c`.
    fn may_revoke(&self, c: &Challenge, by: &Revoker, now: i64) -> Result<(), Refusal> {
        match by {
            Revoker::Operator { .. } => Ok(()),
            Revoker::Requester(proof) => self.requester_proof_over(c, proof, now, revoke_message),
            Revoker::Approver { id, proof } => {
                let registry = self.registry.current().map_err(|e| {
                    Refusal::new(
                        RefusalCode::NotAllowed,
                        format!("the approver registry cannot be read, so no approver can be recognised: {e}"),
                    )
                })?;
                let not_allowed = |m: String| Err(Refusal::new(RefusalCode::NotAllowed, m));
                let Some(approver) = registry.get(id) else {
                    return not_allowed(format!("`{id}` is not in the approver registry"));
                };
                if approver.kind != Kind::Human {
                    return not_allowed(format!(
                        "`{id}` is not a person: only people approve, and revoke"
                    ));
                }
                let approved = c.approvals.iter().any(|a| a.approver == *id);
                let in_group = c
                    .requirements
                    .approvers
                    .iter()
                    .any(|clause| approver.groups.contains(&clause.group));
                if !approved && !in_group {
                    return not_allowed(format!(
                        "`{id}` approved nothing on this challenge and is in none of its groups"
                    ));
                }
                let Some((iat, signature)) = parse_proof(proof) else {
                    return Err(Refusal::new(
                        RefusalCode::ProofInvalid,
                        "the proof is not `IAT.SIGNATURE` (unix seconds, a dot, base64url): sign `writ-revoke-v1` over the challenge id and the time",
                    ));
                };
                let skew = self.config.clock_skew_s;
                if iat.saturating_sub(now).saturating_abs() > skew {
                    return Err(Refusal::new(
                        RefusalCode::TimeOutOfSkew,
                        format!("the proof was made at {iat}, more than {skew} s from the engine's clock ({now}): make a fresh one"),
                    ));
                }
                let message = revoke_message(&c.id, iat);
                if approver
                    .ed25519
                    .iter()
                    .any(|k| verify_b64(k, &message, signature))
                {
                    Ok(())
                } else {
                    Err(Refusal::new(
                        RefusalCode::BadSignature,
                        format!("the signature does not verify with `{id}`'s registered keys over this revocation"),
                    ))
                }
            }
        }
    }
}

/// The grant a challenge holds, or why there is none to revoke.
fn grant_of(c: &Challenge) -> Result<String, Refusal> {
    match (&c.state, &c.grant) {
        (State::Granted, Some(grant)) => Ok(grant.clone()),
        (State::Granted, None) => Err(Refusal::new(
            RefusalCode::NotGranted,
            "the grant was withdrawn: there is nothing to revoke",
        )),
        (State::Open, _) => Err(Refusal::new(
            RefusalCode::NotGranted,
            "the challenge is not granted: there is no grant to revoke",
        )),
        _ => Err(Refusal::new(
            RefusalCode::NotGranted,
            "the challenge was closed without a grant: there is nothing to revoke",
        )),
    }
}
