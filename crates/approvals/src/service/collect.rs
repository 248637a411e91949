//! Collecting a grant: the requester, and only the requester, takes the grant of a
//! granted challenge — proving possession of `principal.key` when the request carried
//! one, else presenting the collection secret `decide` returned once. Approvers, and
//! anyone else who knows a challenge id, see the challenge but never its grant.

use serde_json::Value as Json;

use super::{Approvals, CollectStatus, Collected};
use crate::audit::Entry;
use crate::challenge::{Challenge, State};
use crate::error::{Error, Refusal, RefusalCode};
use crate::keys::{thumbprint, WorkloadKey};
use crate::proof::{collect_message, parse_proof, secret_matches, Collect};

impl Approvals {
    /// The grant of challenge `id`, for its requester: `granted` with the grant, or
    /// `refused` saying why (the proof is not the requester's, or there is no grant yet).
    ///
    /// Blocks: reads the challenge from the state store (a redb read, or a Redis round
    /// trip) and audits the collection.
    pub fn collect(&self, id: &str, proof: &Collect) -> Result<Collected, Error> {
        self.observe_collect(id, || self.collect_unobserved(id, proof))
    }

    /// Whether `proof` is the requester's for challenge `id` (`false` when there is no such
    /// challenge), without collecting or auditing anything: what a long poll checks before
    /// it waits, so that whoever is not the requester is refused at once, not after the wait.
    ///
    /// Blocks: reads the challenge from the state store.
    pub fn is_requester(&self, id: &str, proof: &Collect) -> Result<bool, Error> {
        let now = self.now();
        Ok(match self.store.get(id)? {
            Some(c) => self.requester_proof(&c, proof, now).is_ok(),
            None => false,
        })
    }

    fn collect_unobserved(&self, id: &str, proof: &Collect) -> Result<Collected, Error> {
        let now = self.now();
        let Some(c) = self.store.get(id)? else {
            let refusal = Refusal::new(
                RefusalCode::ChallengeNotFound,
                format!("there is no challenge `{id}`"),
            );
            self.audit(
                Entry::new("collect.refused")
                    .with("challenge", id)
                    .with("code", "challenge_not_found")
                    .with("reason", refusal.message.as_str()),
            )?;
            return Ok(Collected {
                status: CollectStatus::Refused,
                refusal: Some(refusal),
                grant: None,
                challenge: None,
            });
        };
        let outcome =
            self.requester_proof(&c, proof, now)
                .and_then(|()| {
                    match (&c.state, &c.grant) {
                (State::Granted, Some(_)) if c.revoked_at.is_some() => Err(Refusal::new(
                    RefusalCode::GrantRevoked,
                    "the grant was revoked: it is redeemed no more, and not handed out",
                )),
                (State::Granted, Some(grant)) => Ok(grant.clone()),
                (state, _) => Err(Refusal::new(
                    RefusalCode::NotGranted,
                    match state {
                        State::Open if c.is_live(now) => {
                            "the challenge is still open: its approvers have not all answered yet"
                                .to_string()
                        }
                        State::Open => "the challenge expired without being granted".into(),
                        State::Denied => "the challenge was denied".into(),
                        State::Locked => {
                            "the challenge is locked: it has no grant to collect".into()
                        }
                        State::RelaySuspected => {
                            "the challenge was closed as a suspected relay: it has no grant to collect"
                                .into()
                        }
                        State::Granted => "the grant was withdrawn".into(),
                    },
                )),
            }
                });
        let base = |event: &str| {
            Entry::new(event)
                .with("challenge", c.id.as_str())
                .with("decision_id", c.decision_id.as_str())
                .with("digest", c.digest.as_str())
                .with("principal", super::opt(&c.requester.principal))
                .with(
                    "by",
                    match proof {
                        Collect::Secret(_) => "collection_secret",
                        Collect::Key { .. } => "key",
                    },
                )
        };
        let view = self.view(&c, false, now)?;
        match outcome {
            Ok(grant) => {
                self.audit(base("grant.collected"))?;
                Ok(Collected {
                    status: CollectStatus::Granted,
                    refusal: None,
                    grant: Some(grant),
                    challenge: Some(view),
                })
            }
            Err(refusal) => {
                self.audit(
                    base("collect.refused")
                        .with(
                            "code",
                            serde_json::to_value(refusal.code).unwrap_or(Json::Null),
                        )
                        .with("reason", refusal.message.as_str()),
                )?;
                Ok(Collected {
                    status: CollectStatus::Refused,
                    refusal: Some(refusal),
                    grant: None,
                    challenge: Some(view),
                })
            }
        }
    }

    /// Whether `proof` shows its holder is the challenge's requester, to collect.
    fn requester_proof(&self, c: &Challenge, proof: &Collect, now: i64) -> Result<(), Refusal> {
        self.requester_proof_over(c, proof, now, collect_message)
    }

    /// Whether `proof` shows its holder is the challenge's requester: the collection
    /// secret, or a proof with `principal.key` over `message(challenge id, iat)` (each step
    /// signs a message of its own domain, so a proof made for one is no proof for another).
    pub(super) fn requester_proof_over(
        &self,
        c: &Challenge,
        proof: &Collect,
        now: i64,
        message: fn(&str, i64) -> Vec<u8>,
    ) -> Result<(), Refusal> {
        let invalid = |m: &str| Err(Refusal::new(RefusalCode::ProofInvalid, m));
        match (&c.requester.jkt, proof) {
            (None, Collect::Secret(secret)) => {
                if secret_matches(secret, &c.collect) {
                    Ok(())
                } else {
                    invalid("the collection secret is not this challenge's: only the requester, who got it from `decide`, collects the grant")
                }
            }
            (None, Collect::Key { .. }) => Err(Refusal::new(
                RefusalCode::ProofMissing,
                "the request carried no `principal.key`: collect with the collection secret `decide` returned",
            )),
            (Some(_), Collect::Secret(_)) => Err(Refusal::new(
                RefusalCode::ProofMissing,
                "the request carried `principal.key`: collect with a proof of possession of that key",
            )),
            (Some(jkt), Collect::Key { jwk, proof }) => {
                if thumbprint(jwk).ok().as_deref() != Some(jkt.as_str()) {
                    return Err(Refusal::new(
                        RefusalCode::KeyMismatch,
                        "the key is not the request's `principal.key`",
                    ));
                }
                let Some((iat, signature)) = parse_proof(proof) else {
                    return invalid("the proof is not `IAT.SIGNATURE` (unix seconds, a dot, base64url)");
                };
                let skew = self.config.clock_skew_s;
                if iat.saturating_sub(now).saturating_abs() > skew {
                    return Err(Refusal::new(
                        RefusalCode::TimeOutOfSkew,
                        format!("the proof was made at {iat}, more than {skew} s from the engine's clock ({now}): make a fresh one"),
                    ));
                }
                match WorkloadKey::from_jwk(jwk) {
                    Ok(key) if key.verify_b64(&message(&c.id, iat), signature) => Ok(()),
                    _ => invalid("the proof does not verify with the request's `principal.key`"),
                }
            }
        }
    }
}
