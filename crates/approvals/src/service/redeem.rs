//! Redeeming a grant at execution: the policy decides again at the engine's clock (a deny
//! wins; a request `time` beyond the skew is refused), the digest is re-derived from the
//! actual request, the grant, its claims and its proof of possession (over the grant, the
//! digest and a fresh `iat`) are verified, the approvals re-checked against today's
//! requirements, and the `jti` consumed once.

use serde_json::Value as Json;
use writ_engine::{Decision, Request, Verdict};

use super::{denied, rfc3339, Approvals, Effective, ElevationUse, Input, Redeemed, Redemption};
use crate::challenge::{Requester, Requirements};
use crate::encode::unique_id;
use crate::error::{Error, Refusal, RefusalCode};
use crate::grant::{instant, Claims, Confirmation};
use crate::keys::{pop_message, WorkloadKey};
use crate::proof::parse_proof;
use crate::quorum::tally;
use crate::store::GrantUse;

impl Approvals {
    /// Redeems a grant for a request given as JSON text: [`Approvals::redeem_value`] of
    /// the text (text keeps what a parsed value loses: a repeated key, an inexact number,
    /// are refused).
    ///
    /// Blocks: see [`Approvals::redeem_value`].
    pub fn redeem(
        &self,
        request: &str,
        grant: &str,
        proof: Option<&str>,
    ) -> Result<Redeemed, Error> {
        self.observe_redeem(|| {
            let instant = (self.clock)();
            let effective = self.bind_for_effect("redeem", Input::Text(request), instant)?;
            self.redeem_bound(effective, instant, grant, proof)
        })
    }

    /// Redeems a grant for a request at execution: `allow` once, or `deny` with the reason.
    /// A key-bound grant comes with `proof`, `IAT.SIGNATURE` over
    /// [`crate::pop_message`]`(grant, digest, iat)`, made within the clock skew. The answer
    /// carries the bound request and the engine version that re-decided it
    /// ([`Basis::explain`](crate::Basis::explain)).
    ///
    /// Blocks: the grant's `jti` is consumed in the state store (a durable redb commit, or
    /// a Redis round trip) and the outcome appended to the audit log.
    pub fn redeem_value(
        &self,
        request: Json,
        grant: &str,
        proof: Option<&str>,
    ) -> Result<Redeemed, Error> {
        self.observe_redeem(|| {
            let instant = (self.clock)();
            let effective = self.bind_for_effect("redeem", Input::Value(&request), instant)?;
            self.redeem_bound(effective, instant, grant, proof)
        })
    }

    /// [`Approvals::redeem`] over mutual TLS with the client certificate whose RFC 8705
    /// thumbprint is `x5t`: a grant bound to a certificate (`cnf` `x5t#S256`) is redeemed
    /// only over that one (RFC 8705 §3); a grant bound otherwise, or not at all, as by
    /// `redeem`.
    pub fn redeem_over_certificate(
        &self,
        request: &str,
        grant: &str,
        proof: Option<&str>,
        x5t: &str,
    ) -> Result<Redeemed, Error> {
        self.observe_redeem(|| {
            let instant = (self.clock)();
            let mut effective = self.bind_for_effect("redeem", Input::Text(request), instant)?;
            effective.x5t = Some(x5t.to_string());
            self.redeem_bound(effective, instant, grant, proof)
        })
    }

    fn redeem_bound(
        &self,
        effective: Effective,
        instant: jiff::Timestamp,
        grant: &str,
        proof: Option<&str>,
    ) -> Result<Redeemed, Error> {
        let now = instant.as_second();
        let decision = Self::decide_at_clock(&effective);
        let decision_id = unique_id("d_");
        let requester = Requester::of(&effective.sent, effective.jkt.clone());
        match self.check_grant(&effective, &decision, &requester, grant, proof, now) {
            Ok(Use {
                claims,
                number,
                ends_at,
            }) => {
                let mut allowed = decision;
                allowed.decision = Verdict::Allow;
                allowed.approval = None;
                allowed.message = None;
                let elevation = claims.elv.zip(ends_at).map(|(d, end)| ElevationUse {
                    number,
                    elevation_s: d,
                    ends_at: rfc3339(end),
                });
                let mut entry =
                    Self::decision_entry("grant.redeemed", &decision_id, &allowed, &requester);
                if let Some(e) = &elevation {
                    entry = entry
                        .with("use", e.number)
                        .with("elevation_s", e.elevation_s)
                        .with("elevation_ends_at", e.ends_at.as_str());
                }
                self.audit(
                    entry
                        .with("digest", claims.digest.as_str())
                        .with("jti", claims.jti.as_str())
                        .with("challenge", claims.chl.as_str())
                        .with(
                            "approvers",
                            Json::from(
                                claims
                                    .approvers
                                    .iter()
                                    .map(|a| Json::from(a.id.as_str()))
                                    .collect::<Vec<_>>(),
                            ),
                        ),
                )?;
                Ok(Redeemed {
                    decision: allowed,
                    decision_id,
                    refusal: None,
                    grant: Some(Redemption {
                        jti: claims.jti,
                        challenge: claims.chl,
                        approvers: claims.approvers,
                        elevation,
                    }),
                    basis: effective.basis(),
                })
            }
            Err(Refused::Operational(e)) => Err(e),
            Err(Refused::Refusal(refusal)) => {
                // For the record: the request's digest under today's policy (when it still
                // asks for an approval), and what the grant claims when it is ours and
                // intact — which grant was refused, issued for which transaction.
                let digest = decision
                    .approval
                    .as_ref()
                    .map_or(Json::Null, |a| Json::from(a.digest.as_str()));
                let presented = self.grant_key.verify(grant).ok();
                let denied = denied(decision, &refusal);
                self.audit(
                    Self::decision_entry("redeem.refused", &decision_id, &denied, &requester)
                        .with("digest", digest)
                        .with(
                            "code",
                            serde_json::to_value(refusal.code).unwrap_or(Json::Null),
                        )
                        .with("reason", refusal.message.as_str())
                        .with("jti", presented.as_ref().map(|c| c.jti.as_str()))
                        .with(
                            "grant_digest",
                            presented.as_ref().map(|c| c.digest.as_str()),
                        )
                        .with("challenge", presented.as_ref().map(|c| c.chl.as_str())),
                )?;
                Ok(Redeemed {
                    decision: denied,
                    decision_id,
                    refusal: Some(refusal),
                    grant: None,
                    basis: effective.basis(),
                })
            }
        }
    }

    fn check_grant(
        &self,
        effective: &Effective,
        decision: &Decision,
        requester: &Requester,
        grant: &str,
        proof: Option<&str>,
        now: i64,
    ) -> Result<Use, Refused> {
        let no = |code, msg: String| Err(Refused::Refusal(Refusal::new(code, msg)));
        let req: &Request = &effective.sent;
        if let Some(refusal) = self.time_refusal(req, now) {
            return Err(Refused::Refusal(refusal));
        }
        if let Some(refusal) = Self::identity_refusal(requester) {
            return Err(Refused::Refusal(refusal));
        }
        if decision.decision == Verdict::Deny {
            let why = decision
                .message
                .as_deref()
                .map(str::to_string)
                .or_else(|| {
                    (!decision.rules.is_empty())
                        .then(|| format!("rules: {}", decision.rules.join(", ")))
                })
                .unwrap_or_else(|| "no rule allows it".into());
            return no(
                RefusalCode::PolicyDenies,
                format!(
                    "the policy denies this request now ({why}); a grant never overrides a deny"
                ),
            );
        }
        let claims = self.grant_key.verify(grant).map_err(Refused::Refusal)?;
        let skew = self.config.clock_skew_s;
        let exp = instant(&claims.exp, "exp").map_err(Refused::Refusal)?;
        let iat = instant(&claims.iat, "iat").map_err(Refused::Refusal)?;
        // An elevation's box is exact: it ends `D` after the issue, on the engine's clock
        // that issued it (no skew stretches it).
        let elevation = claims.elv;
        match elevation {
            Some(d) if now >= exp => {
                return no(
                    RefusalCode::ElevationExpired,
                    format!(
                        "the elevation ended at {} ({d} s after it was approved): ask for a new approval",
                        claims.exp
                    ),
                );
            }
            None if now > exp.saturating_add(skew) => {
                return no(
                    RefusalCode::GrantExpired,
                    format!("the grant expired at {}", claims.exp),
                );
            }
            _ => {}
        }
        if iat > now.saturating_add(skew) {
            return no(
                RefusalCode::GrantNotYetValid,
                format!("the grant is issued in the future ({})", claims.iat),
            );
        }
        let show = |v: &Option<String>| {
            v.as_deref()
                .map_or("nobody".to_string(), |s| format!("`{s}`"))
        };
        if claims.sub != requester.principal {
            return no(
                RefusalCode::WrongPrincipal,
                format!(
                    "the grant was issued to {}, this request is from {}",
                    show(&claims.sub),
                    show(&requester.principal)
                ),
            );
        }
        if claims.obo != requester.on_behalf_of {
            return no(
                RefusalCode::WrongPrincipal,
                format!(
                    "the grant was issued for acting on behalf of {}, this request is on behalf of {}",
                    show(&claims.obo),
                    show(&requester.on_behalf_of)
                ),
            );
        }
        // An elevation covers every request with the approved bound values: the action
        // and the resource are checked where they are bound (by the digest), as the
        // language says; a single-use grant is for its one action and resource always.
        let checked = |path: &str| elevation.is_none() || claims.bind.iter().any(|b| b == path);
        if checked("action") && claims.act != requester.action {
            return no(
                RefusalCode::WrongAction,
                format!(
                    "the grant is for action {}, not {}",
                    show(&claims.act),
                    show(&requester.action)
                ),
            );
        }
        if checked("resource.id") && claims.res != requester.resource {
            return no(
                RefusalCode::WrongResource,
                format!(
                    "the grant is for resource {}, not {}",
                    show(&claims.res),
                    show(&requester.resource)
                ),
            );
        }
        let digest = match decision
            .approval
            .as_ref()
            .filter(|_| decision.decision == Verdict::Approve)
        {
            Some(approval) => {
                let bind: Vec<String> = approval.bind.iter().map(|b| b.to_string()).collect();
                if bind != claims.bind {
                    return no(
                        RefusalCode::DigestMismatch,
                        format!(
                            "the policy now binds [{}], the grant covers [{}]: approve again",
                            bind.join(", "),
                            claims.bind.join(", ")
                        ),
                    );
                }
                approval.digest.clone()
            }
            // The policy allows the request outright now: the grant must still be for this
            // exact transaction.
            None => writ_engine::digest::transaction_digest(
                req.json(),
                claims.bind.iter().map(String::as_str),
            ),
        };
        if digest != claims.digest {
            return no(
                RefusalCode::DigestMismatch,
                format!(
                    "the request differs from the approved transaction in a bound field ({}): approved {}, got {digest}",
                    claims.bind.join(", "),
                    claims.digest
                ),
            );
        }
        let mut ends_at =
            elevation.map(|d| iat.saturating_add(i64::try_from(d).unwrap_or(i64::MAX)));
        if let Some(approval) = decision
            .approval
            .as_ref()
            .filter(|_| decision.decision == Verdict::Approve)
        {
            self.requirements_still_met(approval, &claims)?;
            if elevation.is_some() {
                ends_at = Self::elevation_still_granted(approval, iat, ends_at, now)?;
            }
        }
        if let Some(Confirmation::X5tS256(bound)) = &claims.cnf {
            // RFC 8705 §3: the certificate of this connection is the proof of possession.
            if effective.x5t.as_deref() != Some(bound.as_str()) {
                return no(
                    RefusalCode::KeyMismatch,
                    match &effective.x5t {
                        None => "the grant is bound to a client certificate (`cnf` `x5t#S256`): redeem it over mutual TLS with that certificate".into(),
                        Some(_) => "the grant is bound to another client certificate than this connection's (`cnf` `x5t#S256`)".into(),
                    },
                );
            }
        }
        let mut pop_seen = None;
        if let Some(Confirmation::Jkt(jkt)) = &claims.cnf {
            if requester.jkt.as_deref() != Some(jkt.as_str()) {
                return no(
                    RefusalCode::KeyMismatch,
                    match &requester.jkt {
                        None => "the grant is bound to a workload key and the request carries none (`principal.key`)".into(),
                        Some(_) => "the grant is bound to another workload key than this request's `principal.key`".into(),
                    },
                );
            }
            let Some(proof) = proof else {
                return no(
                    RefusalCode::ProofMissing,
                    "the grant is bound to a workload key: send a proof of possession signed with it".into(),
                );
            };
            let Some((iat, proof)) = parse_proof(proof) else {
                return no(
                    RefusalCode::ProofInvalid,
                    "the proof of possession is not `IAT.SIGNATURE` (unix seconds, a dot, base64url): sign `writ-pop-v2` over the grant, the digest and the time".into(),
                );
            };
            if iat.saturating_sub(now).saturating_abs() > skew {
                return no(
                    RefusalCode::TimeOutOfSkew,
                    format!(
                        "the proof of possession was made at {iat}, more than {skew} s from the engine's clock ({now}): a proof is good for one moment; make a fresh one"
                    ),
                );
            }
            let key = req
                .value_at("principal.key")
                .ok_or(())
                .and_then(|jwk| WorkloadKey::from_jwk(jwk).map_err(|_| ()));
            match key {
                Ok(key) if key.verify_b64(&pop_message(grant.trim(), &digest, iat), proof) => {
                    // An elevation is used again and again: each use needs a proof of its
                    // own, or a proof seen once would be good for the whole skew. A proof
                    // is known by its grant and `iat`, not by its signature's bytes (an
                    // ECDSA signature has a twin that verifies too).
                    if elevation.is_some() {
                        pop_seen = Some((iat, format!("pop:{}:{iat}", claims.jti)));
                    }
                }
                _ => return no(
                    RefusalCode::ProofInvalid,
                    "the proof of possession does not verify with the request's `principal.key`"
                        .into(),
                ),
            }
        }
        let unavailable = |e: Error| {
            no(
                RefusalCode::StoreUnavailable,
                format!("the replay store cannot be reached, so the grant cannot be consumed once: refused ({e})"),
            )
        };
        // Consumed where it was issued, or not at all: elsewhere its consumption would not
        // be remembered by the replicas that could redeem it again.
        match self.store.identity() {
            Ok(here) if here == claims.sid => {}
            Ok(_) => {
                return no(
                    RefusalCode::WrongStore,
                    "the grant was issued against another replay store: replicas must share one store (Redis) for a grant to be single-use across them, and a store created anew (flushed, deleted) no longer knows which grants were used".into(),
                )
            }
            Err(e) => return unavailable(e),
        }
        if let Some((iat, id)) = pop_seen {
            match self.store.consume(&id, iat.saturating_add(skew).saturating_add(1), now) {
                Ok(true) => {}
                Ok(false) => return no(
                    RefusalCode::ProofInvalid,
                    "this proof of possession was used before: each use of an elevation needs a fresh proof (one signed in another second)".into(),
                ),
                Err(e) => return unavailable(e),
            }
        }
        let keep_until = exp.saturating_add(skew).saturating_add(1);
        match self
            .store
            .use_grant(&claims.jti, elevation.is_some(), keep_until, now)
        {
            Ok(GrantUse::Counted(number)) => Ok(Use {
                claims,
                number,
                ends_at,
            }),
            Ok(GrantUse::Replayed) => no(
                RefusalCode::Replayed,
                format!(
                    "the grant `{}` was redeemed already: a grant is good for one execution",
                    claims.jti
                ),
            ),
            Ok(GrantUse::Revoked) => no(
                RefusalCode::GrantRevoked,
                format!(
                    "the grant `{}` was revoked: ask for a new approval",
                    claims.jti
                ),
            ),
            Err(e) => unavailable(e),
        }
    }

    /// Where the policy still answers with an approval, an elevation lasts no longer than
    /// the policy grants now: the end of the box (`None` never happens for an elevation),
    /// or the refusal when the policy now asks for a single-use approval or a shorter box
    /// that has ended.
    fn elevation_still_granted(
        approval: &writ_engine::ApprovalOut,
        iat: i64,
        ends_at: Option<i64>,
        now: i64,
    ) -> Result<Option<i64>, Refused> {
        let Some(now_s) = approval.elevation_s else {
            return Err(Refused::Refusal(Refusal::new(
                RefusalCode::RequirementsNotMet,
                "the policy now asks for a single-use approval for this request: the elevation does not cover it",
            )));
        };
        let end = iat.saturating_add(i64::try_from(now_s).unwrap_or(i64::MAX));
        let end = ends_at.map_or(end, |e| e.min(end));
        if now >= end {
            return Err(Refused::Refusal(Refusal::new(
                RefusalCode::ElevationExpired,
                format!(
                    "the policy now grants {now_s} s of elevation: this one ended at {}",
                    rfc3339(end)
                ),
            )));
        }
        Ok(Some(end))
    }

    fn requirements_still_met(
        &self,
        approval: &writ_engine::ApprovalOut,
        claims: &Claims,
    ) -> Result<(), Refused> {
        let registry = self.registry.current().map_err(Refused::Operational)?;
        let required = approval.method;
        let weak: Vec<&str> = claims
            .approvers
            .iter()
            .filter(|a| !a.method.satisfies(required))
            .map(|a| a.id.as_str())
            .collect();
        if !weak.is_empty() {
            return Err(Refused::Refusal(Refusal::new(
                RefusalCode::RequirementsNotMet,
                format!(
                    "the policy now requires `{required}` evidence; {} approved with less",
                    weak.join(", ")
                ),
            )));
        }
        let requirements = Requirements::of(approval);
        let counted: Vec<_> = claims
            .approvers
            .iter()
            .map(|a| (a.id.clone(), registry.groups_of(&a.id)))
            .collect();
        let t = tally(&requirements.approvers, &counted);
        if !t.met {
            let missing: Vec<String> = t
                .missing
                .iter()
                .map(|c| format!("{} of group `{}`", c.count, c.group))
                .collect();
            return Err(Refused::Refusal(Refusal::new(
                RefusalCode::RequirementsNotMet,
                format!(
                    "the grant's approvals no longer meet the policy: missing {}",
                    missing.join(", ")
                ),
            )));
        }
        Ok(())
    }
}

/// A use of a grant that passed every check.
struct Use {
    claims: Claims,
    /// The use number (1 for a single-use grant).
    number: u64,
    /// For an elevation: when its box ends (unix seconds).
    ends_at: Option<i64>,
}

/// Why a grant check stopped.
enum Refused {
    Refusal(Refusal),
    Operational(Error),
}
