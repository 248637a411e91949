//! Credential public keys as COSE_Key (RFC 9052/9053, WebAuthn L2 §5.8.5) and the signature
//! checks they make: ES256 over P-256 with `p256`, EdDSA over Ed25519 with `ed25519-dalek`,
//! RS256 (RSASSA-PKCS1-v1_5 with SHA-256, Windows Hello) with `rsa`.

use ciborium::Value;

use crate::cbor;
use crate::error::{Part, WebauthnError};

/// COSE algorithm ES256: ECDSA over P-256 with SHA-256.
pub(crate) const ES256: i128 = -7;
/// COSE algorithm EdDSA (here only over Ed25519).
pub(crate) const EDDSA: i128 = -8;
/// COSE algorithm RS256: RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8812).
pub(crate) const RS256: i128 = -257;

/// The smallest RSA modulus accepted, in bits (NIST SP 800-131A; Windows Hello uses 2048).
const RSA_MIN_BITS: usize = 2048;
/// The largest RSA modulus accepted, in bits (bounds the cost of one verification).
const RSA_MAX_BITS: usize = 4096;

/// COSE key labels (common and EC2/OKP parameters).
const KTY: i128 = 1;
const ALG: i128 = 3;
const CRV: i128 = -1;
const X: i128 = -2;
const Y: i128 = -3;

/// COSE key types and curves.
const KTY_OKP: i128 = 1;
const KTY_EC2: i128 = 2;
const KTY_RSA: i128 = 3;
const CRV_P256: i128 = 1;
const CRV_ED25519: i128 = 6;

/// A credential public key this crate can verify with.
#[derive(Debug)]
pub(crate) enum PublicKey {
    /// ES256.
    Es256(p256::ecdsa::VerifyingKey),
    /// EdDSA over Ed25519.
    Ed25519(ed25519_dalek::VerifyingKey),
    /// RS256.
    Rs256(Box<rsa::RsaPublicKey>),
}

fn bad(detail: impl Into<String>) -> WebauthnError {
    WebauthnError::malformed(Part::PublicKey, detail)
}

/// The key's parameters that matter, each at most once.
#[derive(Default)]
struct Params {
    kty: Option<Value>,
    alg: Option<Value>,
    crv: Option<Value>,
    x: Option<Value>,
    y: Option<Value>,
}

fn integer(value: Option<&Value>, name: &str) -> Result<Option<i128>, WebauthnError> {
    match value {
        None => Ok(None),
        Some(Value::Integer(i)) => Ok(Some(i128::from(*i))),
        Some(_) => Err(bad(format!("`{name}` is not an integer"))),
    }
}

fn require(
    value: Option<&Value>,
    name: &str,
    expected: i128,
    alg: &str,
) -> Result<(), WebauthnError> {
    match integer(value, name)? {
        Some(v) if v == expected => Ok(()),
        Some(v) => Err(bad(format!("{alg} needs `{name}` {expected}, not {v}"))),
        None => Err(bad(format!(
            "{alg} needs `{name}` {expected}, and it is missing"
        ))),
    }
}

fn coordinate(value: Option<Value>, name: &str) -> Result<[u8; 32], WebauthnError> {
    match value {
        Some(Value::Bytes(b)) => <[u8; 32]>::try_from(b.as_slice())
            .map_err(|_| bad(format!("`{name}` is {} bytes, 32 expected", b.len()))),
        Some(_) => Err(bad(format!("`{name}` is not a byte string"))),
        None => Err(bad(format!("`{name}` is missing"))),
    }
}

impl PublicKey {
    /// Parses a COSE_Key and checks that it is a valid key of a supported algorithm: `alg`
    /// must be present (§5.8.5), `kty` and `crv` must match it, coordinates must be 32
    /// bytes, a P-256 point must be on the curve, an Ed25519 point must decode and must not
    /// be of small order.
    pub(crate) fn from_cose(bytes: &[u8]) -> Result<Self, WebauthnError> {
        let value = cbor::parse(bytes).map_err(bad)?;
        let entries = cbor::map_entries(value, "the COSE key", 16).map_err(bad)?;
        let mut p = Params::default();
        for (label, value) in entries {
            // Text labels and other integer labels carry nothing this crate uses.
            let Value::Integer(label) = label else {
                continue;
            };
            let slot = match i128::from(label) {
                KTY => &mut p.kty,
                ALG => &mut p.alg,
                CRV => &mut p.crv,
                X => &mut p.x,
                Y => &mut p.y,
                _ => continue,
            };
            *slot = Some(value);
        }
        let alg = integer(p.alg.as_ref(), "alg")?.ok_or_else(|| bad("`alg` is missing"))?;
        match alg {
            ES256 => {
                require(p.kty.as_ref(), "kty", KTY_EC2, "ES256")?;
                require(p.crv.as_ref(), "crv", CRV_P256, "ES256")?;
                let x = coordinate(p.x, "x")?;
                let y = coordinate(p.y, "y")?;
                let mut sec1 = [0u8; 65];
                sec1[0] = 0x04;
                sec1[1..33].copy_from_slice(&x);
                sec1[33..].copy_from_slice(&y);
                p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1)
                    .map(Self::Es256)
                    .map_err(|_| bad("the ES256 key is not a point on P-256"))
            }
            EDDSA => {
                require(p.kty.as_ref(), "kty", KTY_OKP, "EdDSA")?;
                require(p.crv.as_ref(), "crv", CRV_ED25519, "EdDSA")?;
                if p.y.is_some() {
                    return Err(bad("an Ed25519 key has no `y`"));
                }
                let x = coordinate(p.x, "x")?;
                let key = ed25519_dalek::VerifyingKey::from_bytes(&x)
                    .map_err(|_| bad("the Ed25519 key is not a valid point"))?;
                if key.is_weak() {
                    return Err(bad("the Ed25519 key is of small order"));
                }
                Ok(Self::Ed25519(key))
            }
            RS256 => {
                require(p.kty.as_ref(), "kty", KTY_RSA, "RS256")?;
                // RSA keys label the modulus -1 and the exponent -2 (RFC 8230), the labels
                // that EC2 and OKP keys use for the curve and x.
                let (n, e) = match (p.crv, p.x) {
                    (Some(Value::Bytes(n)), Some(Value::Bytes(e))) => (n, e),
                    (None, _) => return Err(bad("RS256 needs `n` (-1), and it is missing")),
                    (_, None) => return Err(bad("RS256 needs `e` (-2), and it is missing")),
                    _ => return Err(bad("RS256 `n` (-1) and `e` (-2) must be byte strings")),
                };
                if p.y.is_some() {
                    return Err(bad("an RSA key has no label -3"));
                }
                rsa_key(&n, &e).map(|k| Self::Rs256(Box::new(k)))
            }
            other => Err(WebauthnError::UnsupportedAlgorithm { alg: other }),
        }
    }

    /// The COSE algorithm of this key.
    pub(crate) fn alg(&self) -> i128 {
        match self {
            Self::Es256(_) => ES256,
            Self::Ed25519(_) => EDDSA,
            Self::Rs256(_) => RS256,
        }
    }

    /// What identifies the key whatever its COSE encoding (labels in another order, extra
    /// labels, leading zeros of an RSA modulus): SHA-256 over a domain label, the algorithm
    /// and the key's canonical bytes (the uncompressed SEC1 point for ES256, the 32 bytes
    /// for Ed25519, the minimal big-endian `n` and `e` each with a 4-byte length for RS256).
    pub(crate) fn fingerprint(&self) -> [u8; 32] {
        use rsa::traits::PublicKeyParts as _;
        use sha2::{Digest as _, Sha256};
        let mut h = Sha256::new();
        h.update(b"writ-webauthn-key-v1\0");
        match self {
            Self::Es256(k) => {
                h.update(b"ES256\0");
                h.update(k.to_encoded_point(false).as_bytes());
            }
            Self::Ed25519(k) => {
                h.update(b"EdDSA\0");
                h.update(k.as_bytes());
            }
            Self::Rs256(k) => {
                h.update(b"RS256\0");
                for part in [k.n().to_bytes_be(), k.e().to_bytes_be()] {
                    let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
                    h.update(len.to_be_bytes());
                    h.update(&part);
                }
            }
        }
        h.finalize().into()
    }

    /// Verifies `signature` over `message`: a DER ECDSA signature (SHA-256 of the message)
    /// for ES256, normalised to low `S` first (an authenticator may send either of the
    /// twins `(r, s)` and `(r, n − s)`, and both verify: nothing may depend on which one
    /// came); 64 bytes with strict verification (canonical `S`, no small-order `R`) for
    /// Ed25519; RSASSA-PKCS1-v1_5 over SHA-256 for RS256, the signature exactly as long as
    /// the modulus.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), WebauthnError> {
        match self {
            Self::Es256(key) => {
                use p256::ecdsa::signature::Verifier as _;
                let sig = p256::ecdsa::Signature::from_der(signature).map_err(|_| {
                    WebauthnError::malformed(Part::Signature, "not a DER-encoded ECDSA signature")
                })?;
                let sig = sig.normalize_s().unwrap_or(sig);
                key.verify(message, &sig)
                    .map_err(|_| WebauthnError::BadSignature)
            }
            Self::Rs256(key) => {
                use rsa::traits::PublicKeyParts as _;
                use sha2::{Digest as _, Sha256};
                if signature.len() != key.size() {
                    return Err(WebauthnError::malformed(
                        Part::Signature,
                        format!(
                            "an RS256 signature is as long as the modulus ({} bytes), not {}",
                            key.size(),
                            signature.len()
                        ),
                    ));
                }
                key.verify(
                    rsa::Pkcs1v15Sign::new::<Sha256>(),
                    &Sha256::digest(message),
                    signature,
                )
                .map_err(|_| WebauthnError::BadSignature)
            }
            Self::Ed25519(key) => {
                let bytes = <[u8; 64]>::try_from(signature).map_err(|_| {
                    WebauthnError::malformed(
                        Part::Signature,
                        format!("an Ed25519 signature is 64 bytes, not {}", signature.len()),
                    )
                })?;
                let sig = ed25519_dalek::Signature::from_bytes(&bytes);
                key.verify_strict(message, &sig)
                    .map_err(|_| WebauthnError::BadSignature)
            }
        }
    }
}

/// An RSA public key from its big-endian modulus and exponent: 2048 to 4096 bits, an odd
/// exponent of at least 3 that fits in 32 bits.
fn rsa_key(n: &[u8], e: &[u8]) -> Result<rsa::RsaPublicKey, WebauthnError> {
    let n = rsa::BigUint::from_bytes_be(n);
    let bits = n.bits();
    if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
        return Err(bad(format!(
            "the RS256 modulus has {bits} bits, {RSA_MIN_BITS} to {RSA_MAX_BITS} expected"
        )));
    }
    let start = e.iter().position(|b| *b != 0).unwrap_or(e.len());
    let exponent = match <[u8; 4]>::try_from(&e[start..]) {
        Ok(four) => u32::from_be_bytes(four),
        Err(_) if e.len() - start < 4 => e[start..]
            .iter()
            .fold(0u32, |acc, b| (acc << 8) | u32::from(*b)),
        Err(_) => 0,
    };
    if exponent < 3 || exponent % 2 == 0 {
        return Err(bad(
            "the RS256 exponent is not an odd number from 3 to 2^32 - 1",
        ));
    }
    rsa::RsaPublicKey::new(n, rsa::BigUint::from(exponent))
        .map_err(|e| bad(format!("the RS256 key is invalid: {e}")))
}
