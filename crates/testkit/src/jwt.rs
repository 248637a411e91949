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
        let key = rsa::RsaPrivateKey::from_components(
            from_hex(RSA_N),
            rsa::BigUint::from(65_537u32),
            from_hex(RSA_D),
            vec![from_hex(RSA_P), from_hex(RSA_Q)],
        )
        .unwrap();
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

// The RS256 test key (2048 bits, e = 65537), the one writ-webauthn's software
// authenticator uses. Public in effect: it is in the source.
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

fn from_hex(text: &str) -> rsa::BigUint {
    let bytes: Vec<u8> = text
        .as_bytes()
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect();
    rsa::BigUint::from_bytes_be(&bytes)
}
