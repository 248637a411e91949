//! JWTs made by the test itself: signing keys (ES256 and EdDSA fresh per key, RS256 one
//! fixed 2048-bit test key), their JWKS, signed tokens with any header and claims, and the
//! tokens a verifier must refuse (unsigned, HMAC-signed, with a bad signature).

use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

/// base64url without padding.
pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

enum Secret {
    Es256(p256::ecdsa::SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
    Rs256(Box<rsa::RsaPrivateKey>),
}

/// A signing key with its `kid`.
pub struct JwtKey {
    kid: Option<String>,
    secret: Secret,
}

fn random32() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).unwrap();
    bytes
}

impl JwtKey {
    /// A fresh P-256 key (ES256).
    pub fn es256(kid: &str) -> JwtKey {
        let key = loop {
            if let Ok(k) = p256::ecdsa::SigningKey::from_slice(&random32()) {
                break k;
            }
        };
        JwtKey {
            kid: Some(kid.to_owned()),
            secret: Secret::Es256(key),
        }
    }

    /// A P-256 key from a fixed seed (deterministic: for fuzz fixtures); a seed that is
    /// not a valid scalar panics.
    pub fn es256_from_seed(kid: &str, seed: [u8; 32]) -> JwtKey {
        JwtKey {
            kid: Some(kid.to_owned()),
            secret: Secret::Es256(p256::ecdsa::SigningKey::from_slice(&seed).unwrap()),
        }
    }

    /// A fresh Ed25519 key (EdDSA).
    pub fn ed25519(kid: &str) -> JwtKey {
        JwtKey {
            kid: Some(kid.to_owned()),
            secret: Secret::Ed25519(ed25519_dalek::SigningKey::from_bytes(&random32())),
        }
    }

    /// An Ed25519 key from a fixed seed (deterministic: for fuzz fixtures).
    pub fn ed25519_from_seed(kid: &str, seed: [u8; 32]) -> JwtKey {
        JwtKey {
            kid: Some(kid.to_owned()),
            secret: Secret::Ed25519(ed25519_dalek::SigningKey::from_bytes(&seed)),
        }
    }

    /// The fixed RSA 2048 test key (RS256): generating one takes seconds in a debug build.
    pub fn rs256(kid: &str) -> JwtKey {
        let key = writ_webauthn::soft::rsa_test_key();
        JwtKey {
            kid: Some(kid.to_owned()),
            secret: Secret::Rs256(Box::new(key)),
        }
    }

    /// The same key with no `kid` (in its JWK and in the tokens it signs).
    pub fn without_kid(mut self) -> JwtKey {
        self.kid = None;
        self
    }

    /// Its `kid`.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Its JOSE algorithm name.
    pub fn alg(&self) -> &'static str {
        match self.secret {
            Secret::Es256(_) => "ES256",
            Secret::Ed25519(_) => "EdDSA",
            Secret::Rs256(_) => "RS256",
        }
    }

    /// Its public key as a JWK (with `kid`, `alg` and `use` `sig`).
    pub fn public_jwk(&self) -> Value {
        let mut jwk = match &self.secret {
            Secret::Es256(k) => {
                let point = k.verifying_key().to_encoded_point(false);
                json!({
                    "kty": "EC", "crv": "P-256",
                    "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap()),
                })
            }
            Secret::Ed25519(k) => {
                json!({"kty": "OKP", "crv": "Ed25519", "x": b64(k.verifying_key().as_bytes())})
            }
            Secret::Rs256(k) => {
                use rsa::traits::PublicKeyParts as _;
                json!({"kty": "RSA", "n": b64(&k.n().to_bytes_be()), "e": b64(&k.e().to_bytes_be())})
            }
        };
        jwk["alg"] = json!(self.alg());
        jwk["use"] = json!("sig");
        if let Some(kid) = &self.kid {
            jwk["kid"] = json!(kid);
        }
        jwk
    }

    /// The raw signature over `message` with this key (ES256 as `r || s`).
    pub fn sign_bytes(&self, message: &[u8]) -> Vec<u8> {
        match &self.secret {
            Secret::Es256(k) => {
                use p256::ecdsa::signature::Signer as _;
                let sig: p256::ecdsa::Signature = k.sign(message);
                sig.to_bytes().to_vec()
            }
            Secret::Ed25519(k) => {
                use ed25519_dalek::Signer as _;
                k.sign(message).to_bytes().to_vec()
            }
            Secret::Rs256(k) => k
                .sign(rsa::Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(message))
                .unwrap(),
        }
    }

    /// The standard header: `alg`, `typ` `JWT` and the `kid` when it has one.
    pub fn header(&self) -> Value {
        let mut header = json!({"alg": self.alg(), "typ": "JWT"});
        if let Some(kid) = &self.kid {
            header["kid"] = json!(kid);
        }
        header
    }

    /// A token with the standard header and `claims`, signed with this key.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with_header(&self.header(), claims)
    }

    /// A token with this exact header and claims, signed with this key (whatever the
    /// header's `alg` says).
    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        self.sign_raw(header.to_string().as_bytes(), claims.to_string().as_bytes())
    }

    /// A token over these exact header and payload bytes, signed with this key.
    pub fn sign_raw(&self, header: &[u8], payload: &[u8]) -> String {
        let signing_input = format!("{}.{}", b64(header), b64(payload));
        let sig = self.sign_bytes(signing_input.as_bytes());
        format!("{signing_input}.{}", b64(&sig))
    }
}

/// A JWKS document (`{"keys": [...]}`) of the public keys.
pub fn jwks(keys: &[&JwtKey]) -> String {
    let keys: Vec<Value> = keys.iter().map(|k| k.public_jwk()).collect();
    json!({ "keys": keys }).to_string()
}

/// An unsigned token (`alg` `none`, empty signature).
pub fn unsigned_token(claims: &Value) -> String {
    let header = json!({"alg": "none", "typ": "JWT"});
    format!(
        "{}.{}.",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}

/// An HS256 token signed with `secret` (the algorithm-confusion attack signs with the
/// server's public key as the HMAC secret).
pub fn hs256_token(secret: &[u8], kid: Option<&str>, claims: &Value) -> String {
    let mut header = json!({"alg": "HS256", "typ": "JWT"});
    if let Some(kid) = kid {
        header["kid"] = json!(kid);
    }
    let signing_input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    format!(
        "{signing_input}.{}",
        b64(&hmac_sha256(secret, signing_input.as_bytes()))
    )
}

/// HMAC-SHA-256 (RFC 2104).
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}
