//! Credential public keys as COSE_Key (RFC 9052/9053, WebAuthn L2 §5.8.5) and the signature
//! checks they make: ES256 over P-256 with `p256`, EdDSA over Ed25519 with `ed25519-dalek`.

use ciborium::Value;

use crate::cbor;
use crate::error::{Part, WebauthnError};

/// COSE algorithm ES256: ECDSA over P-256 with SHA-256.
pub(crate) const ES256: i128 = -7;
/// COSE algorithm EdDSA (here only over Ed25519).
pub(crate) const EDDSA: i128 = -8;

/// COSE key labels (common and EC2/OKP parameters).
const KTY: i128 = 1;
const ALG: i128 = 3;
const CRV: i128 = -1;
const X: i128 = -2;
const Y: i128 = -3;

/// COSE key types and curves.
const KTY_OKP: i128 = 1;
const KTY_EC2: i128 = 2;
const CRV_P256: i128 = 1;
const CRV_ED25519: i128 = 6;

/// A credential public key this crate can verify with.
#[derive(Debug)]
pub(crate) enum PublicKey {
    /// ES256.
    Es256(p256::ecdsa::VerifyingKey),
    /// EdDSA over Ed25519.
    Ed25519(ed25519_dalek::VerifyingKey),
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
            other => Err(WebauthnError::UnsupportedAlgorithm { alg: other }),
        }
    }

    /// Verifies `signature` over `message`: a DER ECDSA signature (SHA-256 of the message)
    /// for ES256; 64 bytes with strict verification (canonical `S`, no small-order `R`)
    /// for Ed25519.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), WebauthnError> {
        match self {
            Self::Es256(key) => {
                use p256::ecdsa::signature::Verifier as _;
                let sig = p256::ecdsa::Signature::from_der(signature).map_err(|_| {
                    WebauthnError::malformed(Part::Signature, "not a DER-encoded ECDSA signature")
                })?;
                key.verify(message, &sig)
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
