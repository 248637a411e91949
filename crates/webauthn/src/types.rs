//! The data a relying party configures, stores and receives, with their JSON shapes
//! (byte fields as base64url strings without padding).

use serde::{Deserialize, Serialize};

/// The relying party's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelyingParty {
    /// The rp id: a domain, e.g. `approve.example.com`. Authenticator data must carry
    /// SHA-256 of exactly these bytes.
    pub rp_id: String,
    /// The origins a ceremony may come from, each compared byte for byte with the client
    /// data's `origin` (the browser's serialisation: `https://host[:port]`, no trailing
    /// slash). No wildcard, no subdomain matching.
    pub origins: Vec<String>,
    /// Whether the UV flag is required (registration and assertion). Default `true`.
    #[serde(default = "yes")]
    pub require_user_verification: bool,
    /// Whether an authenticator that keeps no signature counter (stored count 0 and
    /// received count 0) is accepted. Default `false`: such an assertion is refused with
    /// [`crate::WebauthnError::SignCountMissing`]. When `true`, nothing in the assertion
    /// tells a replay from a fresh one, and the caller's single-use challenge store is
    /// the only replay protection. A non-zero count must increase either way.
    #[serde(default)]
    pub allow_counterless: bool,
}

fn yes() -> bool {
    true
}

impl RelyingParty {
    /// A relying party with the strict defaults: user verification required,
    /// authenticators without a counter refused.
    pub fn new(
        rp_id: impl Into<String>,
        origins: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            rp_id: rp_id.into(),
            origins: origins.into_iter().map(Into::into).collect(),
            require_user_verification: true,
            allow_counterless: false,
        }
    }
}

/// A registered credential, as stored in the approver registry:
/// `{"id": "<base64url>", "public_key": "<base64url COSE_Key>", "sign_count": 0}`.
///
/// After each accepted assertion, the caller stores [`Verified::sign_count`] as the new
/// `sign_count`, with a compare-and-set on the old value so that two concurrent uses of one
/// assertion cannot both pass.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    /// The credential id (raw bytes).
    #[serde(with = "b64")]
    pub id: Vec<u8>,
    /// The credential public key: the COSE_Key bytes exactly as the authenticator sent them.
    #[serde(with = "b64")]
    pub public_key: Vec<u8>,
    /// The last signature counter accepted for this credential.
    pub sign_count: u32,
}

/// What a browser returns for `navigator.credentials.get()`, flattened:
/// `{"credential_id", "authenticator_data", "client_data_json", "signature"}` as base64url
/// strings, plus an optional `"user_handle"`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assertion {
    /// The credential id the authenticator used (the credential's `rawId`).
    #[serde(with = "b64")]
    pub credential_id: Vec<u8>,
    /// `response.authenticatorData`.
    #[serde(with = "b64")]
    pub authenticator_data: Vec<u8>,
    /// `response.clientDataJSON`: the exact bytes the client hashed.
    #[serde(with = "b64")]
    pub client_data_json: Vec<u8>,
    /// `response.signature` (DER for ES256, 64 raw bytes for EdDSA).
    #[serde(with = "b64")]
    pub signature: Vec<u8>,
    /// `response.userHandle`, when the authenticator returned one. Not verified here: the
    /// credential identifies the approver.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "b64_opt")]
    pub user_handle: Option<Vec<u8>>,
}

/// What a browser returns for `navigator.credentials.create()`:
/// `{"attestation_object": "<base64url>", "client_data_json": "<base64url>"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attestation {
    /// `response.attestationObject` (CBOR).
    #[serde(with = "b64")]
    pub attestation_object: Vec<u8>,
    /// `response.clientDataJSON`.
    #[serde(with = "b64")]
    pub client_data_json: Vec<u8>,
}

/// What an accepted assertion established.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The assertion's signature counter: store it as the credential's new `sign_count`.
    pub sign_count: u32,
    /// Whether the authenticator verified the user (UV flag).
    pub user_verified: bool,
}

/// Base64url without padding, strict (no padding, no stray bits).
pub(crate) fn encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn decode(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text)
}

/// Serde for `Vec<u8>` as a base64url string without padding.
mod b64 {
    use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        super::decode(&text)
            .map_err(|e| D::Error::custom(format!("not base64url without padding: {e}")))
    }
}

/// Serde for `Option<Vec<u8>>` as an optional base64url string without padding.
mod b64_opt {
    use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        bytes: &Option<Vec<u8>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_str(&super::encode(b)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Vec<u8>>, D::Error> {
        let text = Option::<std::borrow::Cow<str>>::deserialize(d)?;
        text.map(|t| {
            super::decode(&t)
                .map_err(|e| D::Error::custom(format!("not base64url without padding: {e}")))
        })
        .transpose()
    }
}
