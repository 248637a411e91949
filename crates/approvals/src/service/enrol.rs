//! Registering a WebAuthn credential through the service: the registration challenge is
//! issued by the engine (signed with its grant key, with an expiry) and consumed once in
//! the state store when a registration over it is accepted.

use super::token::{self, Flaw, LEN};
use super::Approvals;
use crate::audit::Entry;
use crate::encode::b64;
use crate::error::Error;

/// The domain of a registration challenge's signature.
const DOMAIN: &[u8] = b"writ-webauthn-registration-v1\0";
/// How long a registration challenge is good for, in seconds (WebAuthn's default ceremony
/// timeout is 5 minutes; this leaves time to carry the response to the command line).
const REGISTRATION_TTL_S: i64 = 600;

impl Approvals {
    /// A fresh WebAuthn registration challenge for `approver`, good for
    /// 600 seconds (ten minutes) and for one registration:
    /// `nonce (16 random bytes) ‖ expiry (8 bytes, big-endian unix seconds) ‖ Ed25519
    /// signature (64 bytes)` by the grant key over `"writ-webauthn-registration-v1" 0x00
    /// approver-id 0x00 nonce expiry`. Nothing is stored until it is used. Refused (inner
    /// `Err`) for an approver who is not in the registry or not a person, and when the
    /// registry has no relying party.
    ///
    /// Blocks briefly: reads the registry file when it changed; signs; stores nothing.
    pub fn webauthn_registration_challenge(
        &self,
        approver: &str,
    ) -> Result<Result<Vec<u8>, String>, Error> {
        let registry = self.registry.current()?;
        let file = self.registry.path().display().to_string();
        if let Err(refused) = registry.passkey_party(approver, &file) {
            return Ok(Err(refused));
        }
        let expires = self.now().saturating_add(REGISTRATION_TTL_S);
        token::issue(self.grant_key.pair(), DOMAIN, approver, expires).map(Ok)
    }

    /// Registers `approver`'s authenticator from its registration response over
    /// `challenge`, which must be one that [`Approvals::webauthn_registration_challenge`]
    /// issued for this approver, unexpired and not used before; it is consumed in the
    /// state store once the registration verified, and the registration is audited
    /// (`webauthn.registered`), before the registry file is written.
    /// Returns the registry entry written, or (inner `Err`) why the registration is
    /// refused; the outer `Err` is the registry file or the store.
    ///
    /// Blocks: consumes the challenge in the state store, audits, and rewrites the
    /// registry file (fsynced).
    pub fn register_webauthn(
        &self,
        approver: &str,
        challenge: &[u8],
        attestation: &writ_webauthn::Attestation,
    ) -> Result<Result<String, String>, Error> {
        self.register_webauthn_consuming(approver, challenge, attestation, None)
    }

    /// [`Approvals::register_webauthn`], consuming also `invite` (a store key and its
    /// expiry) in the same step: a registration through an invitation uses it up.
    pub(super) fn register_webauthn_consuming(
        &self,
        approver: &str,
        challenge: &[u8],
        attestation: &writ_webauthn::Attestation,
        invite: Option<(String, i64)>,
    ) -> Result<Result<String, String>, Error> {
        let now = self.now();
        let (nonce, expires) = match token::check(
            self.grant_key.pair(),
            DOMAIN,
            approver,
            challenge,
            now,
        ) {
            Ok(good) => (good.nonce, good.expires),
            Err(Flaw::Length) => {
                return Ok(Err(format!(
                    "the registration challenge is {} bytes, not the {LEN} of one from `writ webauthn challenge`: ask for one",
                    challenge.len()
                )))
            }
            Err(Flaw::Signature) => {
                return Ok(Err(format!(
                    "the registration challenge was not issued by this engine for `{approver}`: ask for one with `writ webauthn challenge --as {approver}`"
                )))
            }
            Err(Flaw::Expired(at)) => {
                return Ok(Err(format!(
                    "the registration challenge expired at {}: ask for a new one",
                    super::rfc3339(at)
                )))
            }
        };
        let key = format!("wareg:{nonce}");
        self.registry
            .register_webauthn_once(approver, challenge, attestation, |registration| {
                if !self.store.consume(&key, expires, now)? {
                    return Ok(Err(
                        "the registration challenge was used already: ask for a new one".into(),
                    ));
                }
                if let Some((invite, until)) = &invite {
                    if !self.store.consume(invite, *until, now)? {
                        return Ok(Err(
                            "this invitation was used already: ask your administrator for a new one"
                                .into(),
                        ));
                    }
                }
                self.audit(
                    Entry::new("webauthn.registered")
                        .with("approver", approver)
                        .with("credential", b64(&registration.credential.id))
                        .with("fmt", registration.fmt.as_str())
                        .with("attestation", registration.trust.as_str()),
                )?;
                Ok(Ok(()))
            })
    }
}
