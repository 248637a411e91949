//! A software authenticator (feature `soft`): real ES256 and Ed25519 keys, deterministic
//! from a seed, producing registration responses and assertions byte for byte as the
//! specification lays them out, with the counter under the caller's control.
//!
//! For tests, demos and the CLI's dry runs. Its keys live in memory and its seed is its
//! secret: it is no substitute for a hardware authenticator.
//!
//! [`SoftAuthenticator::register`] and [`SoftAuthenticator::assert`] are what a browser
//! and an honest authenticator would return. The building blocks below them
//! ([`client_data_json`], [`authenticator_data`], [`SoftAuthenticator::sign_assertion`], …)
//! let a test build any variation, honest or not, and have it signed.

use ciborium::Value;
use sha2::{Digest as _, Sha256};

use crate::cose::{EDDSA, ES256};
use crate::types::{encode, Assertion, Attestation};

/// Flag: user present.
pub const UP: u8 = crate::auth_data::UP;
/// Flag: user verified.
pub const UV: u8 = crate::auth_data::UV;
/// Flag: backup eligible.
pub const BE: u8 = crate::auth_data::BE;
/// Flag: backup state.
pub const BS: u8 = crate::auth_data::BS;
/// Flag: attested credential data included.
pub const AT: u8 = crate::auth_data::AT;
/// Flag: extension data included.
pub const ED: u8 = crate::auth_data::ED;

/// The AAGUID this authenticator reports: all zeros, as with `none` attestation.
pub const AAGUID: [u8; 16] = [0; 16];

#[derive(Clone)]
enum Key {
    Es256(p256::ecdsa::SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
}

/// A software authenticator holding one credential.
///
/// `Clone` copies the key and the counter: a clone is exactly what a cloned authenticator
/// is, and tests use it to show that the relying party notices.
#[derive(Clone)]
pub struct SoftAuthenticator {
    key: Key,
    credential_id: Vec<u8>,
    sign_count: u32,
    hold_counter: bool,
}

impl std::fmt::Debug for SoftAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the private key.
        f.debug_struct("SoftAuthenticator")
            .field("alg", &self.alg())
            .field("credential_id", &encode(&self.credential_id))
            .field("sign_count", &self.sign_count)
            .field("hold_counter", &self.hold_counter)
            .finish()
    }
}

/// SHA-256 of a domain-separated `label ‖ 0x00 ‖ seed ‖ extra`.
fn derive(label: &str, seed: &[u8], extra: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"writ-webauthn soft ");
    h.update(label.as_bytes());
    h.update([0u8]);
    h.update(seed);
    h.update(extra);
    h.finalize().into()
}

impl SoftAuthenticator {
    /// An ES256 (P-256) authenticator whose key and credential id derive from `seed`.
    pub fn es256(seed: &[u8]) -> Self {
        // A 32-byte string is a valid P-256 scalar unless it is 0 or ≥ n (odds about
        // 2^-32); the next candidate is taken in that case.
        let mut attempt: u32 = 0;
        let key = loop {
            let candidate = derive("es256 key", seed, &attempt.to_be_bytes());
            if let Ok(k) = p256::ecdsa::SigningKey::from_slice(&candidate) {
                break k;
            }
            attempt = attempt.wrapping_add(1);
        };
        Self::with_key(Key::Es256(key), derive("es256 credential id", seed, &[]))
    }

    /// An EdDSA (Ed25519) authenticator whose key and credential id derive from `seed`.
    pub fn ed25519(seed: &[u8]) -> Self {
        let secret = derive("ed25519 key", seed, &[]);
        Self::with_key(
            Key::Ed25519(ed25519_dalek::SigningKey::from_bytes(&secret)),
            derive("ed25519 credential id", seed, &[]),
        )
    }

    fn with_key(key: Key, credential_id: [u8; 32]) -> Self {
        Self {
            key,
            credential_id: credential_id.to_vec(),
            sign_count: 0,
            hold_counter: false,
        }
    }

    /// The COSE algorithm: -7 (ES256) or -8 (EdDSA).
    pub fn alg(&self) -> i128 {
        match self.key {
            Key::Es256(_) => ES256,
            Key::Ed25519(_) => EDDSA,
        }
    }

    /// The credential id.
    pub fn credential_id(&self) -> &[u8] {
        &self.credential_id
    }

    /// The current signature counter.
    pub fn sign_count(&self) -> u32 {
        self.sign_count
    }

    /// Sets the signature counter (the next assertion reports `count + 1`, or `count` when
    /// the counter is held).
    pub fn set_sign_count(&mut self, count: u32) {
        self.sign_count = count;
    }

    /// Holds the counter: while held, assertions repeat the current count instead of
    /// increasing it. Holding it at 0 makes an authenticator without a counter.
    pub fn hold_counter(&mut self, hold: bool) {
        self.hold_counter = hold;
    }

    /// The credential public key as a COSE_Key, in CTAP2 canonical order.
    pub fn cose_public_key(&self) -> Vec<u8> {
        let int = |i: i64| Value::Integer(i.into());
        let entries = match &self.key {
            Key::Es256(k) => {
                let point = k.verifying_key().to_encoded_point(false);
                let coordinate = |c: Option<&p256::FieldBytes>| {
                    Value::Bytes(c.map(|b| b.to_vec()).unwrap_or_default())
                };
                vec![
                    (int(1), int(2)),
                    (int(3), int(-7)), // ES256
                    (int(-1), int(1)),
                    (int(-2), coordinate(point.x())),
                    (int(-3), coordinate(point.y())),
                ]
            }
            Key::Ed25519(k) => vec![
                (int(1), int(1)),
                (int(3), int(-8)), // EdDSA
                (int(-1), int(6)),
                (int(-2), Value::Bytes(k.verifying_key().to_bytes().to_vec())),
            ],
        };
        to_cbor(&Value::Map(entries))
    }

    /// Signs `message` as the authenticator would: a DER ECDSA signature (over SHA-256 of
    /// the message, RFC 6979 nonces) for ES256, 64 bytes for Ed25519.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match &self.key {
            Key::Es256(k) => {
                use p256::ecdsa::signature::Signer as _;
                let sig: p256::ecdsa::Signature = k.sign(message);
                sig.to_der().as_bytes().to_vec()
            }
            Key::Ed25519(k) => {
                use ed25519_dalek::Signer as _;
                k.sign(message).to_bytes().to_vec()
            }
        }
    }

    /// Authenticator data with attested credential data (AAGUID, credential id length and
    /// id, COSE key) after the 37-byte header. `flags` is written as given: include [`AT`].
    pub fn attested_authenticator_data(&self, rp_id: &str, flags: u8, sign_count: u32) -> Vec<u8> {
        let mut data = authenticator_data(rp_id, flags, sign_count);
        data.extend_from_slice(&AAGUID);
        let len = u16::try_from(self.credential_id.len()).unwrap_or(u16::MAX);
        data.extend_from_slice(&len.to_be_bytes());
        data.extend_from_slice(&self.credential_id);
        data.extend_from_slice(&self.cose_public_key());
        data
    }

    /// A registration response as `navigator.credentials.create()` returns it with
    /// attestation `none`: flags UP, UV and AT, the current count.
    pub fn register(&mut self, rp_id: &str, origin: &str, challenge: &[u8]) -> Attestation {
        let auth = self.attested_authenticator_data(rp_id, UP | UV | AT, self.sign_count);
        none_attestation(auth, client_data_json("webauthn.create", challenge, origin))
    }

    /// An assertion as `navigator.credentials.get()` returns it: flags UP, and UV when
    /// `user_verified`; the counter advances first unless held.
    pub fn assert(
        &mut self,
        rp_id: &str,
        origin: &str,
        challenge: &[u8],
        user_verified: bool,
    ) -> Assertion {
        if !self.hold_counter {
            self.sign_count = self.sign_count.saturating_add(1);
        }
        let flags = if user_verified { UP | UV } else { UP };
        self.sign_assertion(
            authenticator_data(rp_id, flags, self.sign_count),
            client_data_json("webauthn.get", challenge, origin),
        )
    }

    /// Signs `authenticator_data ‖ SHA-256(client_data_json)` and packages the assertion,
    /// whatever the two say.
    pub fn sign_assertion(
        &self,
        authenticator_data: Vec<u8>,
        client_data_json: Vec<u8>,
    ) -> Assertion {
        let mut message = authenticator_data.clone();
        message.extend_from_slice(&Sha256::digest(&client_data_json));
        Assertion {
            credential_id: self.credential_id.clone(),
            signature: self.sign(&message),
            authenticator_data,
            client_data_json,
            user_handle: None,
        }
    }
}

/// `clientDataJSON` as browsers serialise it: `type`, `challenge` (base64url, no padding),
/// `origin`, `crossOrigin: false`.
pub fn client_data_json(ty: &str, challenge: &[u8], origin: &str) -> Vec<u8> {
    let text = |s: &str| serde_json::Value::String(s.to_owned()).to_string();
    format!(
        r#"{{"type":{},"challenge":{},"origin":{},"crossOrigin":false}}"#,
        text(ty),
        text(&encode(challenge)),
        text(origin)
    )
    .into_bytes()
}

/// The 37-byte authenticator data header: SHA-256(`rp_id`), `flags`, `sign_count` big
/// endian.
pub fn authenticator_data(rp_id: &str, flags: u8, sign_count: u32) -> Vec<u8> {
    let mut data = Vec::with_capacity(37);
    data.extend_from_slice(&Sha256::digest(rp_id.as_bytes()));
    data.push(flags);
    data.extend_from_slice(&sign_count.to_be_bytes());
    data
}

/// An attestation object with format `none` and an empty statement, around
/// `authenticator_data`, packaged with `client_data_json`.
pub fn none_attestation(authenticator_data: Vec<u8>, client_data_json: Vec<u8>) -> Attestation {
    let object = Value::Map(vec![
        (Value::Text("fmt".into()), Value::Text("none".into())),
        (Value::Text("attStmt".into()), Value::Map(Vec::new())),
        (
            Value::Text("authData".into()),
            Value::Bytes(authenticator_data),
        ),
    ]);
    Attestation {
        attestation_object: to_cbor(&object),
        client_data_json,
    }
}

#[expect(
    clippy::expect_used,
    reason = "encoding a CBOR value into a Vec cannot fail: the only errors are the writer's"
)]
fn to_cbor(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(value, &mut out).expect("writing CBOR into a Vec");
    out
}
