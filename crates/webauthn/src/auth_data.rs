//! Authenticator data (WebAuthn L2 §6.1): `rpIdHash (32) ‖ flags (1) ‖ signCount (4, big
//! endian) ‖ [attested credential data] ‖ [extensions (CBOR map)]`, and the checks on it that
//! do not need the signature: rp id hash, user present, user verified.

use sha2::{Digest as _, Sha256};

use crate::cbor;
use crate::error::{Part, WebauthnError};
use crate::types::RelyingParty;

/// User present.
pub(crate) const UP: u8 = 0x01;
/// User verified.
pub(crate) const UV: u8 = 0x04;
/// Backup eligible.
pub(crate) const BE: u8 = 0x08;
/// Backup state.
pub(crate) const BS: u8 = 0x10;
/// Attested credential data included.
pub(crate) const AT: u8 = 0x40;
/// Extension data included.
pub(crate) const ED: u8 = 0x80;

/// The longest credential id the specification allows.
const MAX_CREDENTIAL_ID: usize = 1023;

/// Parsed authenticator data, borrowing from the bytes it was parsed from.
#[derive(Debug)]
pub(crate) struct AuthData<'a> {
    pub(crate) rp_id_hash: &'a [u8],
    pub(crate) flags: u8,
    pub(crate) sign_count: u32,
    pub(crate) attested: Option<AttestedCredential<'a>>,
}

/// Attested credential data (§6.5.1).
#[derive(Debug)]
pub(crate) struct AttestedCredential<'a> {
    pub(crate) credential_id: &'a [u8],
    /// The COSE_Key, exactly the bytes it takes in the authenticator data.
    pub(crate) public_key: &'a [u8],
}

fn bad(detail: impl Into<String>) -> WebauthnError {
    WebauthnError::malformed(Part::AuthenticatorData, detail)
}

/// Splits `n` bytes off the front of `rest`.
fn take<'a>(rest: &mut &'a [u8], n: usize, what: &str) -> Result<&'a [u8], WebauthnError> {
    if rest.len() < n {
        return Err(bad(format!(
            "ends inside the {what} ({} bytes left, {n} needed)",
            rest.len()
        )));
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Ok(head)
}

/// Splits `N` bytes off the front of `rest`, as an array.
fn take_array<const N: usize>(rest: &mut &[u8], what: &str) -> Result<[u8; N], WebauthnError> {
    take(rest, N, what)?
        .try_into()
        .map_err(|_| bad(format!("the {what} is not {N} bytes")))
}

impl<'a> AuthData<'a> {
    /// Parses `bytes` whole: a flag that announces data must be followed by it, and
    /// nothing may follow the last part.
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self, WebauthnError> {
        let mut rest = bytes;
        let rp_id_hash = take(&mut rest, 32, "rp id hash")?;
        let [flags] = take_array(&mut rest, "flags")?;
        let sign_count = u32::from_be_bytes(take_array(&mut rest, "sign count")?);
        if flags & BS != 0 && flags & BE == 0 {
            return Err(bad(
                "the backup state flag is set without the backup eligibility flag",
            ));
        }
        let attested = if flags & AT != 0 {
            let _aaguid = take(&mut rest, 16, "AAGUID")?;
            let len = usize::from(u16::from_be_bytes(take_array(
                &mut rest,
                "credential id length",
            )?));
            if len > MAX_CREDENTIAL_ID {
                return Err(bad(format!(
                    "credential id length {len} exceeds {MAX_CREDENTIAL_ID}"
                )));
            }
            let credential_id = take(&mut rest, len, "credential id")?;
            let public_key = cbor::split_item(&mut rest)
                .map_err(|e| bad(format!("credential public key: {e}")))?;
            Some(AttestedCredential {
                credential_id,
                public_key,
            })
        } else {
            None
        };
        if flags & ED != 0 {
            let ext = cbor::split_item(&mut rest).map_err(|e| bad(format!("extensions: {e}")))?;
            if !matches!(cbor::parse(ext), Ok(ciborium::Value::Map(_))) {
                return Err(bad("extensions are not a CBOR map"));
            }
        }
        if !rest.is_empty() {
            return Err(bad(format!(
                "{} bytes follow the announced data",
                rest.len()
            )));
        }
        Ok(Self {
            rp_id_hash,
            flags,
            sign_count,
            attested,
        })
    }

    /// Checks the rp id hash, then UP, then UV when the relying party requires it.
    pub(crate) fn check(&self, rp: &RelyingParty) -> Result<(), WebauthnError> {
        let expected = Sha256::digest(rp.rp_id.as_bytes());
        if self.rp_id_hash != expected.as_slice() {
            return Err(WebauthnError::RpIdHashMismatch {
                rp_id: rp.rp_id.clone(),
            });
        }
        if self.flags & UP == 0 {
            return Err(WebauthnError::UserNotPresent);
        }
        if rp.require_user_verification && !self.user_verified() {
            return Err(WebauthnError::UserVerificationMissing);
        }
        Ok(())
    }

    pub(crate) fn user_verified(&self) -> bool {
        self.flags & UV != 0
    }
}
