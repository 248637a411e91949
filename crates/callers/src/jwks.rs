//! JSON Web Key Sets (RFC 7517) as the JWT verifier reads them: the public keys it can
//! verify with — EC P-256 (ES256), OKP Ed25519 (EdDSA), RSA 2048 to 4096 bits (RS256).
//! Keys of other types or curves, and keys marked for encryption, are skipped; a private
//! or symmetric key, a malformed supported key and a repeated `kid` refuse the whole set.

use base64::Engine as _;
use serde::Deserialize;

use crate::error::CallersError;

/// The largest JWKS file read, in bytes.
pub const MAX_JWKS_BYTES: usize = 1 << 20;
/// The most keys one set may hold.
pub const MAX_KEYS: usize = 64;

/// The smallest RSA modulus accepted, in bits (NIST SP 800-131A).
const RSA_MIN_BITS: usize = 2048;
/// The largest, in bits (bounds the cost of one verification).
const RSA_MAX_BITS: usize = 4096;

/// A signature algorithm the verifier accepts (`alg` of the JOSE header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alg {
    /// ECDSA over P-256 with SHA-256.
    Es256,
    /// Ed25519.
    EdDsa,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
}

impl Alg {
    /// The JOSE name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
            Self::Rs256 => "RS256",
        }
    }

    /// The algorithm of a JOSE name, exactly as spelled (names are case-sensitive).
    pub fn from_name(name: &str) -> Option<Alg> {
        match name {
            "ES256" => Some(Self::Es256),
            "EdDSA" => Some(Self::EdDsa),
            "RS256" => Some(Self::Rs256),
            _ => None,
        }
    }
}

/// A public key to verify with.
#[derive(Debug, Clone)]
pub(crate) enum Key {
    Es256(p256::ecdsa::VerifyingKey),
    Ed25519(ed25519_dalek::VerifyingKey),
    Rs256(Box<rsa::RsaPublicKey>),
}

impl Key {
    /// The one algorithm this key verifies.
    pub(crate) fn alg(&self) -> Alg {
        match self {
            Self::Es256(_) => Alg::Es256,
            Self::Ed25519(_) => Alg::EdDsa,
            Self::Rs256(_) => Alg::Rs256,
        }
    }

    /// Verifies a JWS signature over `message`: 64 bytes `r || s` for ES256 (either of the
    /// twins `s` and `n − s`), 64 bytes with strict verification for Ed25519, exactly the
    /// modulus' length for RS256.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            Self::Es256(key) => {
                use p256::ecdsa::signature::Verifier as _;
                let Ok(sig) = p256::ecdsa::Signature::from_slice(signature) else {
                    return false;
                };
                let sig = sig.normalize_s().unwrap_or(sig);
                key.verify(message, &sig).is_ok()
            }
            Self::Ed25519(key) => {
                let Ok(bytes) = <[u8; 64]>::try_from(signature) else {
                    return false;
                };
                key.verify_strict(message, &ed25519_dalek::Signature::from_bytes(&bytes))
                    .is_ok()
            }
            Self::Rs256(key) => {
                use rsa::traits::PublicKeyParts as _;
                use sha2::{Digest as _, Sha256};
                if signature.len() != key.size() {
                    return false;
                }
                key.verify(
                    rsa::Pkcs1v15Sign::new::<Sha256>(),
                    &Sha256::digest(message),
                    signature,
                )
                .is_ok()
            }
        }
    }
}

/// One usable key of a set.
#[derive(Debug, Clone)]
pub(crate) struct Jwk {
    pub(crate) kid: Option<String>,
    pub(crate) key: Key,
}

/// The usable public keys of a JWKS file.
#[derive(Debug, Clone)]
pub struct Jwks {
    pub(crate) keys: Vec<Jwk>,
    skipped: usize,
}

#[derive(Deserialize)]
struct SetShape {
    keys: Vec<serde_json::Value>,
}

/// The members of a JWK this reader looks at; others (`x5c`, `x5t`, ...) are ignored.
#[derive(Deserialize, Default)]
#[serde(default)]
struct KeyShape {
    kty: Option<String>,
    crv: Option<String>,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    key_ops: Option<Vec<String>>,
    x: Option<String>,
    y: Option<String>,
    n: Option<String>,
    e: Option<String>,
    d: Option<serde_json::Value>,
    p: Option<serde_json::Value>,
    k: Option<serde_json::Value>,
}

fn b64(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()
}

impl Jwks {
    /// Parses a JWKS document; `name` names the file in errors.
    pub fn parse(name: &str, text: &str) -> Result<Jwks, CallersError> {
        if text.len() > MAX_JWKS_BYTES {
            return Err(CallersError::file(
                name,
                format!(
                    "is {} bytes; a JWKS of at most {MAX_JWKS_BYTES} bytes expected",
                    text.len()
                ),
            ));
        }
        let set: SetShape = serde_json::from_str(text).map_err(|e| {
            let what = match e.classify() {
                serde_json::error::Category::Data => {
                    "a JSON object with a `keys` array (a JWKS) expected".to_owned()
                }
                _ => format!("not JSON: {e}"),
            };
            CallersError::at_line(name, e.line(), e.column(), what)
        })?;
        if set.keys.len() > MAX_KEYS {
            return Err(CallersError::file(
                name,
                format!("has {} keys; at most {MAX_KEYS} expected", set.keys.len()),
            ));
        }
        let mut keys: Vec<Jwk> = Vec::new();
        let mut skipped = 0;
        for (i, value) in set.keys.into_iter().enumerate() {
            let which = format!("key {} of `keys`", i + 1);
            let shape: KeyShape = serde_json::from_value(value).map_err(|e| {
                CallersError::file(name, format!("{which}: {e}; a JWK object expected"))
            })?;
            let which = match &shape.kid {
                Some(kid) => format!("{which} (`kid` `{}`)", kid.escape_default()),
                None => which,
            };
            match read_key(&shape) {
                Ok(Some(key)) => {
                    if let Some(kid) = &shape.kid {
                        if keys.iter().any(|k| k.kid.as_deref() == Some(kid.as_str())) {
                            return Err(CallersError::file(
                                name,
                                format!(
                                    "{which}: a `kid` used twice; each key's `kid` must be its own"
                                ),
                            ));
                        }
                    }
                    keys.push(Jwk {
                        kid: shape.kid,
                        key,
                    });
                }
                Ok(None) => skipped += 1,
                Err(why) => return Err(CallersError::file(name, format!("{which}: {why}"))),
            }
        }
        if keys.is_empty() {
            return Err(CallersError::file(
                name,
                "has no key usable for ES256 (EC P-256), EdDSA (OKP Ed25519) or RS256 (RSA); one at least expected",
            ));
        }
        Ok(Jwks { keys, skipped })
    }

    /// How many usable keys the set holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether it holds none (never, for a parsed set).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// How many keys were skipped (another type, curve or algorithm, or for encryption).
    pub fn skipped(&self) -> usize {
        self.skipped
    }
}

/// A usable key, `None` for one this reader skips, or why the key refuses the set.
fn read_key(shape: &KeyShape) -> Result<Option<Key>, String> {
    if shape.d.is_some() || shape.p.is_some() {
        return Err(
            "holds a private key (`d`); a JWKS for verification holds public keys only".into(),
        );
    }
    let Some(kty) = shape.kty.as_deref() else {
        return Err("has no `kty`".into());
    };
    if kty == "oct" || shape.k.is_some() {
        return Err(
            "is a symmetric key (`oct`); HS256 and the other HMAC algorithms are refused".into(),
        );
    }
    if shape.use_.as_deref().is_some_and(|u| u != "sig") {
        return Ok(None);
    }
    if let Some(ops) = &shape.key_ops {
        if !ops.iter().any(|o| o == "verify") {
            return Ok(None);
        }
    }
    let wanted = match shape.alg.as_deref() {
        None => None,
        Some(name) => match Alg::from_name(name) {
            Some(alg) => Some(alg),
            None if name == "none" || name.starts_with("HS") => {
                return Err(format!("is marked `alg` `{name}`, which is refused"))
            }
            None => return Ok(None),
        },
    };
    let key = match (kty, shape.crv.as_deref()) {
        ("EC", Some("P-256")) => {
            let x = coordinate(shape.x.as_deref(), "x")?;
            let y = coordinate(shape.y.as_deref(), "y")?;
            let mut sec1 = [0u8; 65];
            sec1[0] = 0x04;
            sec1[1..33].copy_from_slice(&x);
            sec1[33..].copy_from_slice(&y);
            p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1)
                .map(Key::Es256)
                .map_err(|_| "is not a point on P-256".to_owned())?
        }
        ("OKP", Some("Ed25519")) => {
            if shape.y.is_some() {
                return Err("is an Ed25519 key with a `y`; Ed25519 keys have `x` only".into());
            }
            let x = coordinate(shape.x.as_deref(), "x")?;
            let key = ed25519_dalek::VerifyingKey::from_bytes(&x)
                .map_err(|_| "is not a valid Ed25519 point".to_owned())?;
            if key.is_weak() {
                return Err("is an Ed25519 key of small order".into());
            }
            Key::Ed25519(key)
        }
        ("RSA", _) => Key::Rs256(Box::new(rsa_key(shape.n.as_deref(), shape.e.as_deref())?)),
        ("EC" | "OKP", _) => return Ok(None),
        _ => return Ok(None),
    };
    match wanted {
        Some(alg) if alg != key.alg() => Err(format!(
            "is marked `alg` `{}` but is an {} key",
            alg.as_str(),
            key.alg().as_str()
        )),
        _ => Ok(Some(key)),
    }
}

fn coordinate(text: Option<&str>, name: &str) -> Result<[u8; 32], String> {
    let text = text.ok_or_else(|| format!("has no `{name}`"))?;
    let bytes = b64(text).ok_or_else(|| format!("`{name}` is not base64url without padding"))?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| format!("`{name}` is {} bytes, 32 expected", bytes.len()))
}

/// An RSA public key: a modulus of 2048 to 4096 bits, an odd exponent from 3 to 2^32 − 1.
fn rsa_key(n: Option<&str>, e: Option<&str>) -> Result<rsa::RsaPublicKey, String> {
    let n = n.ok_or("has no `n`")?;
    let e = e.ok_or("has no `e`")?;
    let n = b64(n).ok_or("`n` is not base64url without padding")?;
    let e = b64(e).ok_or("`e` is not base64url without padding")?;
    let n = rsa::BigUint::from_bytes_be(&n);
    let bits = n.bits();
    if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
        return Err(format!(
            "has an RSA modulus of {bits} bits, {RSA_MIN_BITS} to {RSA_MAX_BITS} expected"
        ));
    }
    let start = e.iter().position(|b| *b != 0).unwrap_or(e.len());
    let digits = &e[start..];
    let exponent = if digits.len() <= 4 {
        digits
            .iter()
            .fold(0u32, |acc, b| (acc << 8) | u32::from(*b))
    } else {
        0
    };
    if exponent < 3 || exponent % 2 == 0 {
        return Err("has an RSA exponent that is not an odd number from 3 to 2^32 - 1".into());
    }
    rsa::RsaPublicKey::new(n, rsa::BigUint::from(exponent))
        .map_err(|e| format!("is not a valid RSA key: {e}"))
}
