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
    /// received count 0) is accepted. Default `true`: synced passkeys (Apple's, Google's)
    /// always report 0. Nothing in such an assertion tells a replay from a fresh one, so
    /// the caller must make each challenge answerable once (writ's approval challenges
    /// cover the challenge id: an assertion answers one challenge only). `false` refuses
    /// them with [`crate::WebauthnError::SignCountMissing`]. A non-zero count must
    /// increase either way.
    #[serde(default = "yes")]
    pub allow_counterless: bool,
    /// Whether a registration must carry an attestation verified to a trusted root.
    /// Default `false`: `none` and `packed` self attestation are accepted, and `packed`
    /// with a certificate chain and `fido-u2f` are accepted with the attestation recorded
    /// as unverified. This crate verifies no attestation certificate chain, so `true`
    /// refuses every registration, saying why
    /// ([`crate::WebauthnError::AttestationRequired`]).
    #[serde(default)]
    pub require_attestation: bool,
}

fn yes() -> bool {
    true
}

impl RelyingParty {
    /// A relying party with the defaults: user verification required, authenticators
    /// without a counter accepted, attestation not required.
    pub fn new(
        rp_id: impl Into<String>,
        origins: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            rp_id: rp_id.into(),
            origins: origins.into_iter().map(Into::into).collect(),
            require_user_verification: true,
            allow_counterless: true,
            require_attestation: false,
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

impl Credential {
    /// What identifies this credential's public key whatever its COSE encoding (see
    /// [`public_key_fingerprint`]); an error when the stored key is not a valid key of a
    /// supported algorithm.
    pub fn key_fingerprint(&self) -> Result<[u8; 32], crate::WebauthnError> {
        public_key_fingerprint(&self.public_key)
    }
}

/// What identifies a COSE public key whatever its encoding (label order, extra labels,
/// leading zeros): SHA-256 of `"writ-webauthn-key-v1" 0x00`, the algorithm name
/// (`ES256`, `EdDSA`, `RS256`) and 0x00, then the uncompressed SEC1 point (ES256), the 32
/// key bytes (EdDSA) or `n` and `e` minimal big-endian, each after its 4-byte big-endian
/// length (RS256). Two credentials with one fingerprint hold one key.
pub fn public_key_fingerprint(cose_key: &[u8]) -> Result<[u8; 32], crate::WebauthnError> {
    crate::cose::PublicKey::from_cose(cose_key).map(|k| k.fingerprint())
}

/// What a browser returns for `navigator.credentials.get()`.
///
/// JSON, in either of two shapes (byte fields base64url without padding):
///
/// - `PublicKeyCredential.toJSON()` (WebAuthn L3 `AuthenticationResponseJSON`), the
///   primary one, and the one serialised: `{"id", "rawId", "type": "public-key",
///   "response": {"clientDataJSON", "authenticatorData", "signature", "userHandle"?,
///   "attestationObject"?}, "authenticatorAttachment"?, "clientExtensionResults"?}`.
///   `id` and `rawId` must name the same credential; `attestationObject`,
///   `authenticatorAttachment` and `clientExtensionResults` are read and not used.
/// - writ's earlier flat shape: `{"credential_id", "authenticator_data",
///   "client_data_json", "signature", "user_handle"?}`.
///
/// A document mixing the two, or with any other member, is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assertion {
    /// The credential id the authenticator used (the credential's `rawId`).
    pub credential_id: Vec<u8>,
    /// `response.authenticatorData`.
    pub authenticator_data: Vec<u8>,
    /// `response.clientDataJSON`: the exact bytes the client hashed.
    pub client_data_json: Vec<u8>,
    /// `response.signature` (DER for ES256, 64 raw bytes for EdDSA, as long as the
    /// modulus for RS256).
    pub signature: Vec<u8>,
    /// `response.userHandle`, when the authenticator returned one. Not verified here: the
    /// credential identifies the approver.
    pub user_handle: Option<Vec<u8>>,
}

impl Assertion {
    /// What identifies this assertion whatever the encoding of its signature (an ES256
    /// signature `(r, s)` has a twin `(r, n − s)` that verifies as well): SHA-256 of
    /// `"writ-webauthn-assertion-v1" 0x00`, then the credential id and the authenticator
    /// data, each after its 4-byte big-endian length, then SHA-256(clientDataJSON). What
    /// the authenticator signed, and under which credential: record this, never the
    /// signature, to accept an assertion once.
    pub fn identity(&self) -> [u8; 32] {
        use sha2::{Digest as _, Sha256};
        let mut h = Sha256::new();
        h.update(b"writ-webauthn-assertion-v1\0");
        for part in [&self.credential_id, &self.authenticator_data] {
            let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
            h.update(len.to_be_bytes());
            h.update(part);
        }
        h.update(Sha256::digest(&self.client_data_json));
        h.finalize().into()
    }
}

/// What a browser returns for `navigator.credentials.create()`.
///
/// JSON, in either of two shapes (byte fields base64url without padding):
///
/// - `PublicKeyCredential.toJSON()` (WebAuthn L3 `RegistrationResponseJSON`), the primary
///   one, and the one serialised when the credential id is known: `{"id", "rawId",
///   "type": "public-key", "response": {"clientDataJSON", "attestationObject",
///   "authenticatorData"?, "transports"?, "publicKeyAlgorithm"?, "publicKey"?},
///   "authenticatorAttachment"?, "clientExtensionResults"?}`. `id` and `rawId` must name
///   the same credential, which registration checks is the attested one; the browser's
///   conveniences (`authenticatorData`, `transports`, `publicKeyAlgorithm`, `publicKey`)
///   are read and not used: the attestation object is what counts.
/// - writ's earlier shape: `{"attestation_object", "client_data_json"}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attestation {
    /// The credential id the client reported (`rawId`), when it did.
    pub credential_id: Option<Vec<u8>>,
    /// `response.attestationObject` (CBOR).
    pub attestation_object: Vec<u8>,
    /// `response.clientDataJSON`.
    pub client_data_json: Vec<u8>,
}

/// How far a registration's attestation was checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttestationTrust {
    /// Format `none`: nothing is attested.
    None,
    /// `packed` self attestation: the credential's own key signed
    /// `authenticatorData ‖ SHA-256(clientDataJSON)`, verified. It proves possession of the
    /// key, nothing about the authenticator's make.
    SelfSigned,
    /// `packed` with a certificate chain (`x5c`), or `fido-u2f`: accepted with the
    /// statement's shape checked, its signature and certificate chain not verified.
    Unverified,
}

impl AttestationTrust {
    /// How the registry records it: `none`, `self`, `unverified`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::SelfSigned => "self",
            Self::Unverified => "unverified",
        }
    }
}

/// An accepted registration: the credential to store, and what its attestation proved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    /// The credential.
    pub credential: Credential,
    /// The attestation statement format (`none`, `packed`, `fido-u2f`).
    pub fmt: String,
    /// How far the attestation was checked.
    pub trust: AttestationTrust,
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

pub(crate) fn decode(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text)
}

/// Serde for `Vec<u8>` as a base64url string without padding.
pub(crate) mod b64 {
    use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::encode(bytes))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        super::decode(&text)
            .map_err(|e| D::Error::custom(format!("not base64url without padding: {e}")))
    }
}
