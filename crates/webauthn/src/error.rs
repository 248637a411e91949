//! Why a registration or an assertion was refused: one variant per refusal.

use std::fmt;

/// A refused registration or assertion.
///
/// Every variant is a refusal: nothing here is a retryable I/O error. The one that a caller
/// must treat apart is [`WebauthnError::SignCountNotIncreased`], a possible cloned
/// authenticator (see [`WebauthnError::is_possible_clone`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WebauthnError {
    /// The signature does not verify over `authenticatorData ‖ SHA-256(clientDataJSON)`
    /// with the credential's public key.
    #[error("the signature does not verify with the registered credential's public key")]
    BadSignature,
    /// The client data's `type` is not the one this ceremony expects.
    #[error("client data type is `{received}`, expected `{expected}`")]
    WrongType {
        /// `webauthn.get` for an assertion, `webauthn.create` for a registration.
        expected: &'static str,
        /// What the client data said.
        received: String,
    },
    /// The client data's `challenge` is not the base64url (no padding) encoding of the
    /// challenge this ceremony was given.
    #[error("client data challenge `{received}` is not the one issued (`{expected}`)")]
    ChallengeMismatch {
        /// The issued challenge, base64url without padding.
        expected: String,
        /// What the client data said.
        received: String,
    },
    /// The client data's `origin` is not one of the relying party's allowed origins.
    #[error("origin `{origin}` is not allowed")]
    OriginNotAllowed {
        /// The origin the client data names.
        origin: String,
    },
    /// The client data says the ceremony ran in a cross-origin frame (`crossOrigin: true`).
    #[error("cross-origin ceremonies are refused (client data has `crossOrigin: true`)")]
    CrossOrigin,
    /// The authenticator data is scoped to another relying party: its `rpIdHash` is not
    /// SHA-256 of the configured rp id.
    #[error(
        "the authenticator data is for another relying party (rp id hash is not that of `{rp_id}`)"
    )]
    RpIdHashMismatch {
        /// The configured rp id.
        rp_id: String,
    },
    /// The user-present flag (UP) is not set.
    #[error("the authenticator did not test user presence (UP flag not set)")]
    UserNotPresent,
    /// User verification is required and the user-verified flag (UV) is not set.
    #[error("user verification is required and the authenticator did not verify the user (UV flag not set)")]
    UserVerificationMissing,
    /// The signature counter did not increase: a replayed assertion or a cloned
    /// authenticator. Raised only for an assertion whose signature verified.
    #[error("sign count did not increase (stored {stored}, received {received}): a replayed assertion or a cloned authenticator")]
    SignCountNotIncreased {
        /// The count stored with the credential.
        stored: u32,
        /// The count in the assertion.
        received: u32,
    },
    /// Both the stored and the received count are 0 (an authenticator that keeps no
    /// counter) and the relying party does not accept such authenticators
    /// ([`crate::RelyingParty::allow_counterless`]).
    #[error("the authenticator keeps no signature counter (0 after 0), and this relying party requires one")]
    SignCountMissing,
    /// The assertion names a credential id other than the registered credential's.
    #[error("credential `{id}` is not the registered credential")]
    UnknownCredential {
        /// The assertion's credential id, base64url without padding.
        id: String,
    },
    /// The credential public key uses a COSE algorithm this crate does not verify
    /// (only ES256, -7, EdDSA over Ed25519, -8, and RS256, -257).
    #[error(
        "the COSE algorithm `{alg}` is not supported (ES256, -7, EdDSA, -8, and RS256, -257, are)"
    )]
    UnsupportedAlgorithm {
        /// The COSE `alg` value.
        alg: i128,
    },
    /// The attestation statement format is none of `none`, `packed`, `fido-u2f`.
    #[error("attestation format `{fmt}` is not supported (`none`, `packed` and `fido-u2f` are; ask the browser for attestation `none`)")]
    UnsupportedAttestation {
        /// The attestation object's `fmt`.
        fmt: String,
    },
    /// A `packed` self attestation's signature does not verify with the credential's own
    /// public key over `authenticatorData ‖ SHA-256(clientDataJSON)`.
    #[error(
        "the `packed` self-attestation signature does not verify with the credential's public key"
    )]
    BadAttestationSignature,
    /// The relying party requires a verified attestation
    /// ([`crate::RelyingParty::require_attestation`]) and this one is not: this crate
    /// verifies no attestation certificate chain.
    #[error("this relying party requires a verified attestation (`require_attestation = true`), and the `{fmt}` attestation is {trust}: writ verifies no attestation certificate chain")]
    AttestationRequired {
        /// The attestation object's `fmt`.
        fmt: String,
        /// What the attestation is: `not verified`, `self attestation`, `no attestation`.
        trust: &'static str,
    },
    /// The registration response's `id`/`rawId` is not the attested credential id.
    #[error(
        "the response names credential `{reported}`, the authenticator data attests `{attested}`"
    )]
    CredentialIdMismatch {
        /// `rawId`, base64url without padding.
        reported: String,
        /// The credential id in the attested credential data, base64url without padding.
        attested: String,
    },
    /// An input could not be parsed, or breaks the format's rules.
    #[error("malformed {part}: {detail}")]
    Malformed {
        /// Which input.
        part: Part,
        /// What is wrong with it.
        detail: String,
    },
}

impl WebauthnError {
    /// Whether this refusal is a signal of a possibly cloned authenticator (or a replayed
    /// assertion) that the caller must report, not merely refuse.
    pub fn is_possible_clone(&self) -> bool {
        matches!(self, Self::SignCountNotIncreased { .. })
    }

    pub(crate) fn malformed(part: Part, detail: impl Into<String>) -> Self {
        Self::Malformed {
            part,
            detail: detail.into(),
        }
    }
}

/// The input a [`WebauthnError::Malformed`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Part {
    /// `clientDataJSON`.
    ClientData,
    /// `authenticatorData` (on its own, or inside an attestation object).
    AuthenticatorData,
    /// The CBOR `attestationObject`.
    AttestationObject,
    /// A COSE_Key: the credential public key.
    PublicKey,
    /// The assertion signature.
    Signature,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ClientData => "client data",
            Self::AuthenticatorData => "authenticator data",
            Self::AttestationObject => "attestation object",
            Self::PublicKey => "credential public key",
            Self::Signature => "signature",
        })
    }
}
