//! Attestation statements (WebAuthn L2 §8): `none`; `packed` self attestation, verified;
//! `packed` with a certificate chain and `fido-u2f`, accepted with their shape checked and
//! their signature and chain not verified.

use ciborium::Value;
use sha2::{Digest as _, Sha256};

use crate::cbor;
use crate::cose::{PublicKey, ES256};
use crate::error::{Part, WebauthnError};
use crate::types::AttestationTrust;

fn bad(detail: impl Into<String>) -> WebauthnError {
    WebauthnError::malformed(Part::AttestationObject, detail)
}

/// The members of a `packed` or `fido-u2f` statement, each at most once.
#[derive(Default)]
struct Members {
    alg: Option<i128>,
    sig: Option<Vec<u8>>,
    x5c: Option<Vec<Vec<u8>>>,
}

fn members(fmt: &str, statement: Vec<(Value, Value)>) -> Result<Members, WebauthnError> {
    let entries = cbor::map_entries(Value::Map(statement), "`attStmt`", 8).map_err(bad)?;
    let mut m = Members::default();
    for (key, value) in entries {
        match (key.as_text(), value) {
            (Some("alg"), Value::Integer(i)) if fmt == "packed" => m.alg = Some(i128::from(i)),
            (Some("sig"), Value::Bytes(b)) => m.sig = Some(b),
            (Some("x5c"), Value::Array(certs)) => {
                let certs = certs
                    .into_iter()
                    .map(|c| match c {
                        Value::Bytes(b) if !b.is_empty() => Ok(b),
                        _ => Err(bad(format!(
                            "`{fmt}` `x5c` holds something other than a certificate"
                        ))),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                if certs.is_empty() {
                    return Err(bad(format!("`{fmt}` `x5c` is empty")));
                }
                m.x5c = Some(certs);
            }
            (Some("ecdaaKeyId"), _) => {
                return Err(bad("ECDAA attestation (`ecdaaKeyId`) is not supported"))
            }
            (Some(name @ ("alg" | "sig" | "x5c")), _) => {
                return Err(bad(format!("`{fmt}` `{name}` has the wrong CBOR type")))
            }
            (Some(name), _) => {
                return Err(bad(format!(
                    "`{fmt}` `attStmt` has an unknown member `{name}`"
                )))
            }
            (None, _) => return Err(bad(format!("`{fmt}` `attStmt` has a non-text key"))),
        }
    }
    Ok(m)
}

/// Checks the statement of format `fmt` for the credential `key`, over the attestation's
/// authenticator data and client data; how far it was verified.
pub(crate) fn check(
    fmt: &str,
    statement: Vec<(Value, Value)>,
    key: &PublicKey,
    auth_data: &[u8],
    client_data_json: &[u8],
) -> Result<AttestationTrust, WebauthnError> {
    match fmt {
        "none" if statement.is_empty() => Ok(AttestationTrust::None),
        "none" => Err(bad("a `none` attestation has a non-empty `attStmt`")),
        "packed" => {
            let m = members(fmt, statement)?;
            let alg = m.alg.ok_or_else(|| bad("`packed` `alg` is missing"))?;
            let sig = m.sig.ok_or_else(|| bad("`packed` `sig` is missing"))?;
            if m.x5c.is_some() {
                return Ok(AttestationTrust::Unverified);
            }
            // Self attestation (§8.2, "if x5c is not present"): the credential's own key.
            if alg != key.alg() {
                return Err(bad(format!(
                    "the `packed` self attestation's `alg` is {alg}, the credential key's is {}",
                    key.alg()
                )));
            }
            let mut signed = auth_data.to_vec();
            signed.extend_from_slice(&Sha256::digest(client_data_json));
            key.verify(&signed, &sig).map_err(|e| match e {
                WebauthnError::BadSignature => WebauthnError::BadAttestationSignature,
                other => other,
            })?;
            Ok(AttestationTrust::SelfSigned)
        }
        "fido-u2f" => {
            let m = members(fmt, statement)?;
            m.sig.ok_or_else(|| bad("`fido-u2f` `sig` is missing"))?;
            let x5c = m.x5c.ok_or_else(|| bad("`fido-u2f` `x5c` is missing"))?;
            if x5c.len() != 1 {
                return Err(bad(format!(
                    "`fido-u2f` `x5c` holds {} certificates, exactly 1 expected",
                    x5c.len()
                )));
            }
            if key.alg() != ES256 {
                return Err(bad(
                    "a `fido-u2f` attestation is for an ES256 (P-256) credential only",
                ));
            }
            Ok(AttestationTrust::Unverified)
        }
        _ => Err(WebauthnError::UnsupportedAttestation {
            fmt: fmt.to_owned(),
        }),
    }
}
