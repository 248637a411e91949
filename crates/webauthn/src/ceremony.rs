//! The two relying-party operations: registering a credential from an attestation
//! (WebAuthn L2 §7.1) and verifying an assertion against a registered credential (§7.2).

use ciborium::Value;
use sha2::{Digest as _, Sha256};

use crate::auth_data::AuthData;
use crate::cbor;
use crate::client_data::{self, Ceremony};
use crate::cose::PublicKey;
use crate::error::{Part, WebauthnError};
use crate::statement;
use crate::types::{
    encode, Assertion, Attestation, AttestationTrust, Credential, Registration, RelyingParty,
    Verified,
};

/// Registers a credential from a `navigator.credentials.create()` response.
///
/// Checks, in this order: the client data (`type` is `webauthn.create`, the challenge,
/// the origin, not cross-origin); the attestation object's shape; the authenticator data
/// (rp id hash, UP, UV when required, attested credential data present); the credential
/// id the response names (`rawId`, when given) against the attested one; the credential
/// public key (a supported algorithm, a valid key); the attestation statement:
///
/// - `none`, with an empty statement;
/// - `packed` self attestation (`alg`, `sig`, no `x5c`): `alg` must be the credential
///   key's, and `sig` must verify with the credential key over
///   `authenticatorData ‖ SHA-256(clientDataJSON)`;
/// - `packed` with a certificate chain (`alg`, `sig`, `x5c`) and `fido-u2f` (`sig`, `x5c`,
///   an ES256 credential): the statement's shape is checked, its signature and chain are
///   not ([`AttestationTrust::Unverified`]);
///
/// then, when the relying party requires attestation, refuses all of them (no chain is
/// verified here). Returns the credential with the authenticator's initial count, and what
/// the attestation proved.
///
/// No attestation here proves anything about the authenticator's make: the caller
/// registers only within an authenticated session of the approver, and refuses a
/// credential id (or public key) already registered to anyone.
pub fn register(
    rp: &RelyingParty,
    challenge: &[u8],
    attestation: &Attestation,
) -> Result<Registration, WebauthnError> {
    client_data::check(
        rp,
        Ceremony::Create,
        challenge,
        &attestation.client_data_json,
    )?;
    let object = AttestationObject::parse(&attestation.attestation_object)?;
    let auth = AuthData::parse(&object.auth_data)?;
    auth.check(rp)?;
    let attested = auth.attested.as_ref().ok_or_else(|| {
        WebauthnError::malformed(
            Part::AuthenticatorData,
            "no attested credential data (AT flag not set)",
        )
    })?;
    if attested.credential_id.is_empty() {
        return Err(WebauthnError::malformed(
            Part::AuthenticatorData,
            "the credential id is empty",
        ));
    }
    if let Some(reported) = &attestation.credential_id {
        if reported.as_slice() != attested.credential_id {
            return Err(WebauthnError::CredentialIdMismatch {
                reported: encode(reported),
                attested: encode(attested.credential_id),
            });
        }
    }
    let key = PublicKey::from_cose(attested.public_key)?;
    let trust = statement::check(
        &object.fmt,
        object.statement,
        &key,
        &object.auth_data,
        &attestation.client_data_json,
    )?;
    if rp.require_attestation {
        return Err(WebauthnError::AttestationRequired {
            fmt: object.fmt,
            trust: match trust {
                AttestationTrust::None => "no attestation",
                AttestationTrust::SelfSigned => "a self attestation",
                AttestationTrust::Unverified => "not verified",
            },
        });
    }
    Ok(Registration {
        credential: Credential {
            id: attested.credential_id.to_vec(),
            public_key: attested.public_key.to_vec(),
            sign_count: auth.sign_count,
        },
        fmt: object.fmt,
        trust,
    })
}

/// Verifies a `navigator.credentials.get()` response against the registered `credential`
/// and the `challenge` it answers (for writ, the transaction digest).
///
/// Checks, in this order: the credential id; the stored public key; the client data
/// (`type` is `webauthn.get`, the challenge, the origin, not cross-origin); the
/// authenticator data (well formed, no attested credential data, rp id hash, UP, UV when
/// required); the signature over `authenticatorData ‖ SHA-256(clientDataJSON)`; last, the
/// sign count, so that [`WebauthnError::SignCountNotIncreased`] is raised only for an
/// assertion the credential really signed.
///
/// On success the caller stores [`Verified::sign_count`] as the credential's count.
pub fn verify_assertion(
    rp: &RelyingParty,
    credential: &Credential,
    challenge: &[u8],
    assertion: &Assertion,
) -> Result<Verified, WebauthnError> {
    if assertion.credential_id != credential.id {
        return Err(WebauthnError::UnknownCredential {
            id: encode(&assertion.credential_id),
        });
    }
    let key = PublicKey::from_cose(&credential.public_key)?;
    client_data::check(rp, Ceremony::Get, challenge, &assertion.client_data_json)?;
    let auth = AuthData::parse(&assertion.authenticator_data)?;
    if auth.attested.is_some() {
        return Err(WebauthnError::malformed(
            Part::AuthenticatorData,
            "an assertion carries attested credential data (AT flag set)",
        ));
    }
    auth.check(rp)?;
    let mut signed = Vec::with_capacity(assertion.authenticator_data.len() + 32);
    signed.extend_from_slice(&assertion.authenticator_data);
    signed.extend_from_slice(&Sha256::digest(&assertion.client_data_json));
    key.verify(&signed, &assertion.signature)?;
    check_sign_count(rp, credential.sign_count, auth.sign_count)?;
    Ok(Verified {
        sign_count: auth.sign_count,
        user_verified: auth.user_verified(),
    })
}

/// WebAuthn L2 §7.2 step 21: if either count is non-zero, the received one must be greater
/// than the stored one. Both zero means an authenticator without a counter (synced
/// passkeys): accepted unless the relying party requires a counter.
fn check_sign_count(rp: &RelyingParty, stored: u32, received: u32) -> Result<(), WebauthnError> {
    if stored == 0 && received == 0 {
        return if rp.allow_counterless {
            Ok(())
        } else {
            Err(WebauthnError::SignCountMissing)
        };
    }
    if received > stored {
        Ok(())
    } else {
        Err(WebauthnError::SignCountNotIncreased { stored, received })
    }
}

/// The attestation object (§6.5.4): a CBOR map of `fmt`, `attStmt` and `authData`.
struct AttestationObject {
    fmt: String,
    statement: Vec<(Value, Value)>,
    auth_data: Vec<u8>,
}

impl AttestationObject {
    fn parse(bytes: &[u8]) -> Result<Self, WebauthnError> {
        let bad = |detail: String| WebauthnError::malformed(Part::AttestationObject, detail);
        let value = cbor::parse(bytes).map_err(bad)?;
        let entries = cbor::map_entries(value, "the attestation object", 8).map_err(bad)?;
        let (mut fmt, mut statement, mut auth_data) = (None, None, None);
        for (key, value) in entries {
            // Other members are not part of the format; they are ignored.
            match (key.as_text(), value) {
                (Some("fmt"), Value::Text(t)) => fmt = Some(t),
                (Some("attStmt"), Value::Map(m)) => statement = Some(m),
                (Some("authData"), Value::Bytes(b)) => auth_data = Some(b),
                (Some(name @ ("fmt" | "attStmt" | "authData")), _) => {
                    return Err(bad(format!("`{name}` has the wrong CBOR type")))
                }
                _ => {}
            }
        }
        let missing = |name: &str| bad(format!("`{name}` is missing"));
        Ok(Self {
            fmt: fmt.ok_or_else(|| missing("fmt"))?,
            statement: statement.ok_or_else(|| missing("attStmt"))?,
            auth_data: auth_data.ok_or_else(|| missing("authData"))?,
        })
    }
}
