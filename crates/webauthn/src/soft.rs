//! A software authenticator (feature `soft`): real ES256, Ed25519 and RS256 keys,
//! deterministic from a seed (RS256: one fixed test key), producing registration responses and assertions byte for byte as the
//! specification lays them out, with the counter under the caller's control.
//!
//! For tests, demos and the CLI's dry runs. Its keys live in memory and its seed is its
//! secret: it is no substitute for a hardware authenticator.
//!
//! [`SoftAuthenticator::register`] and [`SoftAuthenticator::assert`] are what a browser
//! and an honest authenticator would return. The building blocks below them
//! ([`client_data_json`], [`authenticator_data`], [`SoftAuthenticator::sign_assertion`], …)
//! let a test build any variation, honest or not, and have it signed.

pub use ciborium::Value;
use sha2::{Digest as _, Sha256};

use crate::cose::{EDDSA, ES256, RS256};
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
    Rs256(Box<rsa::RsaPrivateKey>),
}

// The RS256 test key (2048 bits, e = 65537), fixed: generating an RSA key per seed would
// take seconds in a debug build. Public in effect: it is in the source.
const RSA_N: &str = concat!(
    "a5ef84f5131f064f4bf88f7e9cd805a55e3976f73b3478c8a483cccd1da5f150",
    "70b7cec7d571ccbe94ed2f71d4ad6c66d8cb879dc6c5c23e6b3c39662727232d",
    "b83f0f9f4c808c061ef02f3d9415b35c46f01ce41ec5666c6597016b1d5c540f",
    "69b8b3d73d437b1ae0688698212be5ea8c60fb0fa74425ff652c39d45fd60cf2",
    "27d15f6091f0a4d5f5da74deb70891c854db667b6a721b625ce9055596958da3",
    "ab9024e0906c82fd3676fd720068b19b00f1bae1dcb7e470002b7f414a5067f4",
    "f3013bcb17b1747ae6ea9890f94b0cc7145add4eea0e72f65c2bcad49624d295",
    "395ea7d1ace6b5f485ca0aa8f019acb2f67119741d45d204976131dc6be8c93b",
);
const RSA_D: &str = concat!(
    "06d5c060c5ea5bbcad70ee1c3582b26cd6de4017bbf113de93e437ede5003e59",
    "e562b4da4760fa218989e18feb463f76570cbf27d115b9440fefb99f8b125221",
    "227b3a7e01cd33b756d3e6e63ef0cbe40ba9fd4eaa33d05dbbab862beed82c40",
    "3c4716e5514933cb6e1df0195918714e817cc72aa465aab903e657f577031ea2",
    "53df162f6513b83b39e3dcd29e833c900a6e952575f34fc4017238ea9db0d1f6",
    "46fecd9353dbb10a72e50b5823accee26a5830df68a8253e837848dca38bd720",
    "153fba019f22caa384d87ff3b0587340864cfa0e00ba13fab39c5ee0b5b95b07",
    "ad2071bf197baea39c189c3ab7d0bff77a99d50d6592596ada528eeb97954375",
);
const RSA_P: &str = concat!(
    "d9e54578bf5c5c7600317cbffc94a9d5ba0ad6c450c436046a8fe73db5a50690",
    "cd5df2dc4dff8cf6566aaebf5cf2888bf1335f0b59a21d6c9bd4243ac1545329",
    "1688be4c1b61a59f1e4fac7202f7e7f195d7fe7a5cd0fc4367d0f8ad8e8493c1",
    "a77a4d5cbf33f2a6b9cac974558052347fbcfefc0b3a403650f984f83ff99535",
);
const RSA_Q: &str = concat!(
    "c2f41bf23ab1bf100d43cf704cbed104f48fd4b3a13761e63361aa5d9e22de7f",
    "fa0591ed5d1e7f30469001c575fe9234ece1f29ca95843a7c37a2ccd4ffe0e73",
    "284ea51a5ade2c3d2d8d6d8c9b8e98332efe7f8692a34b4965c4771b123db0c3",
    "b7d042cabae38ae5fb03595b4a90452eb407d36af8cbe4019a9fe34f91a7e2af",
);

/// The fixed RSA 2048 test key (e = 65537) behind [`SoftAuthenticator::rs256`], for any
/// test support that needs an RS256 key (generating one takes seconds in a debug build).
/// Public in effect: it is in the source.
#[expect(
    clippy::expect_used,
    reason = "the components are a fixed key that is valid: tests show it signs"
)]
pub fn rsa_test_key() -> rsa::RsaPrivateKey {
    rsa::RsaPrivateKey::from_components(
        from_hex(RSA_N),
        rsa::BigUint::from(65_537u32),
        from_hex(RSA_D),
        vec![from_hex(RSA_P), from_hex(RSA_Q)],
    )
    .expect("the fixed RSA test key is valid")
}

fn from_hex(text: &str) -> rsa::BigUint {
    let digits: Vec<u8> = text
        .bytes()
        .map(|c| match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => 0,
        })
        .collect();
    let bytes: Vec<u8> = digits
        .chunks(2)
        .map(|p| p.iter().fold(0, |a, d| a * 16 + d))
        .collect();
    rsa::BigUint::from_bytes_be(&bytes)
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

    /// An RS256 (RSASSA-PKCS1-v1_5, SHA-256; 2048-bit) authenticator, as Windows Hello
    /// makes: its credential id derives from `seed`, its key is one fixed test key for
    /// every seed (so two of them share a public key).
    pub fn rs256(seed: &[u8]) -> Self {
        Self::with_key(
            Key::Rs256(Box::new(rsa_test_key())),
            derive("rs256 credential id", seed, &[]),
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

    /// The COSE algorithm: -7 (ES256), -8 (EdDSA) or -257 (RS256).
    pub fn alg(&self) -> i128 {
        match self.key {
            Key::Es256(_) => ES256,
            Key::Ed25519(_) => EDDSA,
            Key::Rs256(_) => RS256,
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
            Key::Rs256(k) => {
                use rsa::traits::PublicKeyParts as _;
                vec![
                    (int(1), int(3)),
                    (int(3), int(-257)), // RS256
                    (int(-1), Value::Bytes(k.n().to_bytes_be())),
                    (int(-2), Value::Bytes(k.e().to_bytes_be())),
                ]
            }
        };
        to_cbor(&Value::Map(entries))
    }

    /// Signs `message` as the authenticator would: a DER ECDSA signature (over SHA-256 of
    /// the message, RFC 6979 nonces) for ES256, 64 bytes for Ed25519, PKCS#1 v1.5
    /// over SHA-256 for RS256.
    #[expect(
        clippy::expect_used,
        reason = "PKCS#1 v1.5 signing with a 2048-bit key fails only for a digest too long for the modulus, and a SHA-256 one is not"
    )]
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
            Key::Rs256(k) => k
                .sign(rsa::Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(message))
                .expect("signing a SHA-256 digest with the RSA test key"),
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
    /// The response carries the credential id (`rawId`), as `toJSON()` does.
    pub fn register(&mut self, rp_id: &str, origin: &str, challenge: &[u8]) -> Attestation {
        let auth = self.attested_authenticator_data(rp_id, UP | UV | AT, self.sign_count);
        let mut attestation =
            none_attestation(auth, client_data_json("webauthn.create", challenge, origin));
        attestation.credential_id = Some(self.credential_id.clone());
        attestation
    }

    /// A registration response with `packed` self attestation: the credential's own key
    /// signs `authenticatorData ‖ SHA-256(clientDataJSON)` (`attStmt` `{alg, sig}`, no
    /// `x5c`), as many security keys and platform authenticators send it.
    pub fn register_packed_self(
        &mut self,
        rp_id: &str,
        origin: &str,
        challenge: &[u8],
    ) -> Attestation {
        let auth = self.attested_authenticator_data(rp_id, UP | UV | AT, self.sign_count);
        let client_data = client_data_json("webauthn.create", challenge, origin);
        let mut message = auth.clone();
        message.extend_from_slice(&Sha256::digest(&client_data));
        let statement = Value::Map(vec![
            (
                Value::Text("alg".into()),
                Value::Integer(self.alg_i64().into()),
            ),
            (Value::Text("sig".into()), Value::Bytes(self.sign(&message))),
        ]);
        let mut attestation = attestation_object("packed", statement, auth, client_data);
        attestation.credential_id = Some(self.credential_id.clone());
        attestation
    }

    fn alg_i64(&self) -> i64 {
        match self.key {
            Key::Es256(_) => -7,
            Key::Ed25519(_) => -8,
            Key::Rs256(_) => -257,
        }
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
/// `authenticator_data`, packaged with `client_data_json` (no credential id: the earlier
/// shape).
pub fn none_attestation(authenticator_data: Vec<u8>, client_data_json: Vec<u8>) -> Attestation {
    attestation_object(
        "none",
        Value::Map(Vec::new()),
        authenticator_data,
        client_data_json,
    )
}

/// An attestation object `{fmt, attStmt, authData}` with any format and statement, around
/// `authenticator_data`, packaged with `client_data_json` (no credential id).
pub fn attestation_object(
    fmt: &str,
    statement: Value,
    authenticator_data: Vec<u8>,
    client_data_json: Vec<u8>,
) -> Attestation {
    let object = Value::Map(vec![
        (Value::Text("fmt".into()), Value::Text(fmt.into())),
        (Value::Text("attStmt".into()), statement),
        (
            Value::Text("authData".into()),
            Value::Bytes(authenticator_data),
        ),
    ]);
    Attestation {
        credential_id: None,
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
