//! `clientDataJSON`: parsed with serde_json, then checked for type, challenge, origin and
//! cross-origin use (WebAuthn L2 §7.1 steps 5–9, §7.2 steps 9–13).

use serde::Deserialize;

use crate::error::{Part, WebauthnError};
use crate::types::{encode, RelyingParty};

/// The ceremony a client data must be for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ceremony {
    /// `navigator.credentials.create()`.
    Create,
    /// `navigator.credentials.get()`.
    Get,
}

impl Ceremony {
    fn type_name(self) -> &'static str {
        match self {
            Self::Create => "webauthn.create",
            Self::Get => "webauthn.get",
        }
    }
}

/// The members of `CollectedClientData` that are checked. Other members (`tokenBinding`,
/// `topOrigin`, future ones) are ignored as the specification says; a member named twice
/// is refused.
#[derive(Deserialize)]
struct ClientData {
    #[serde(rename = "type")]
    ty: String,
    challenge: String,
    origin: String,
    #[serde(rename = "crossOrigin", default)]
    cross_origin: Option<bool>,
}

/// Parses `json` and checks it, in this order: type, challenge, origin, cross-origin.
pub(crate) fn check(
    rp: &RelyingParty,
    ceremony: Ceremony,
    challenge: &[u8],
    json: &[u8],
) -> Result<(), WebauthnError> {
    let data: ClientData = serde_json::from_slice(json)
        .map_err(|e| WebauthnError::malformed(Part::ClientData, e.to_string()))?;
    let expected_type = ceremony.type_name();
    if data.ty != expected_type {
        return Err(WebauthnError::WrongType {
            expected: expected_type,
            received: data.ty,
        });
    }
    // Exact comparison with the unpadded encoding: a padded or otherwise re-encoded
    // challenge is not the one the authenticator was asked to sign.
    let expected_challenge = encode(challenge);
    if data.challenge != expected_challenge {
        return Err(WebauthnError::ChallengeMismatch {
            expected: expected_challenge,
            received: data.challenge,
        });
    }
    if !rp.origins.contains(&data.origin) {
        return Err(WebauthnError::OriginNotAllowed {
            origin: data.origin,
        });
    }
    if data.cross_origin == Some(true) {
        return Err(WebauthnError::CrossOrigin);
    }
    Ok(())
}
