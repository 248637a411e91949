//! Grants: PASETO v4.public tokens (Ed25519; the version and purpose pin the algorithm,
//! there is no `alg` header to confuse) signed by the engine's grant key once a quorum is
//! met. The claims bind the grant to one principal, action, resource and transaction
//! digest, carry a single-use `jti`, a short `exp`, and, for a key-bound grant, `cnf`
//! (RFC 7800) with the workload key's RFC 7638 thumbprint.

use std::path::Path;

use jiff::Timestamp;
use pasetors::keys::{AsymmetricPublicKey, AsymmetricSecretKey};
use pasetors::token::UntrustedToken;
use pasetors::version4::{PublicToken, V4};
use pasetors::Public;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::challenge::Method;
use crate::encode::b64;
use crate::error::{Error, Refusal, RefusalCode};
use crate::keys::KeyPair;

/// The implicit assertion every grant is signed with: a token made for anything else does
/// not verify as a grant.
const IMPLICIT: &[u8] = b"writ-grant-v1";

/// `cnf` (RFC 7800): the key a grant is bound to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// RFC 7638 thumbprint (SHA-256, base64url) of the workload's public JWK.
    pub jkt: String,
}

/// An approver named in a grant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantApprover {
    /// Who.
    pub id: String,
    /// With what evidence.
    pub method: Method,
}

/// The claims of a grant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// `writ`.
    pub iss: String,
    /// `principal.id` of the approved request.
    pub sub: Option<String>,
    /// `principal.on_behalf_of`, for an agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub obo: Option<String>,
    /// `action`.
    pub act: Option<String>,
    /// `resource.id`.
    pub res: Option<String>,
    /// The transaction digest.
    pub digest: String,
    /// The bound paths the digest covers.
    pub bind: Vec<String>,
    /// Single-use id.
    pub jti: String,
    /// Issued at (RFC 3339, as PASETO registers it).
    pub iat: String,
    /// Expires at (RFC 3339).
    pub exp: String,
    /// The key the grant is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
    /// The challenge it answers.
    pub chl: String,
    /// The policy version that asked for approval.
    pub pv: String,
    /// Who approved, with what.
    pub approvers: Vec<GrantApprover>,
    /// The identity of the replay store the grant must be consumed in
    /// ([`crate::StateStore::identity`]).
    pub sid: String,
}

/// The engine's grant key: signs grants, verifies them at redemption.
pub struct GrantKey {
    pair: KeyPair,
    kid: String,
}

impl std::fmt::Debug for GrantKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrantKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
struct Footer {
    kid: String,
}

impl GrantKey {
    /// A grant key from a key pair.
    pub fn new(pair: KeyPair) -> GrantKey {
        let kid = format!(
            "writ:{}",
            &b64(&Sha256::digest(pair.public().as_bytes()))[..16]
        );
        GrantKey { pair, kid }
    }

    /// Reads the key file, or creates it (owner-only) when absent. Replicas that redeem
    /// each other's grants share this file.
    pub fn load_or_create(path: &Path) -> Result<GrantKey, Error> {
        Ok(GrantKey::new(KeyPair::load_or_create(path)?))
    }

    /// The key pair, for the engine's other signatures, each under a domain of its own
    /// (WebAuthn registration challenges).
    pub(crate) fn pair(&self) -> &KeyPair {
        &self.pair
    }

    /// The key id in every grant's footer.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Signs the claims.
    pub fn issue(&self, claims: &Claims) -> Result<String, Error> {
        let payload = serde_json::to_vec(claims).map_err(|e| Error::Key(e.to_string()))?;
        let footer = serde_json::to_vec(&Footer {
            kid: self.kid.clone(),
        })
        .map_err(|e| Error::Key(e.to_string()))?;
        let secret = AsymmetricSecretKey::<V4>::from(&self.pair.keypair_bytes()[..])
            .map_err(|e| Error::Key(format!("grant key: {e}")))?;
        PublicToken::sign(&secret, &payload, Some(&footer), Some(IMPLICIT))
            .map_err(|e| Error::Key(format!("cannot sign the grant: {e}")))
    }

    /// Verifies the signature and returns the claims; every failure is a refusal.
    pub fn verify(&self, token: &str) -> Result<Claims, Refusal> {
        let invalid = |why: &str| {
            Refusal::new(
                RefusalCode::GrantInvalid,
                format!("the grant is not valid: {why}"),
            )
        };
        let untrusted = UntrustedToken::<Public, V4>::try_from(token.trim())
            .map_err(|_| invalid("not a v4.public token"))?;
        let footer: Footer = serde_json::from_slice(untrusted.untrusted_footer())
            .map_err(|_| invalid("no key id in its footer"))?;
        if footer.kid != self.kid {
            return Err(Refusal::new(
                RefusalCode::GrantUnknownKey,
                format!(
                    "the grant was signed by key `{}`, not by this engine's key",
                    footer.kid
                ),
            ));
        }
        let public = AsymmetricPublicKey::<V4>::from(self.pair.public().as_bytes())
            .map_err(|_| invalid("grant key"))?;
        let trusted = PublicToken::verify(&public, &untrusted, None, Some(IMPLICIT))
            .map_err(|_| invalid("its signature does not verify"))?;
        serde_json::from_str(trusted.payload()).map_err(|_| invalid("its claims are malformed"))
    }
}

/// An RFC 3339 instant of the claims, as unix seconds.
pub fn instant(text: &str, name: &str) -> Result<i64, Refusal> {
    text.parse::<Timestamp>()
        .map(|t| t.as_second())
        .map_err(|_| {
            Refusal::new(
                RefusalCode::GrantInvalid,
                format!("the grant is not valid: `{name}` is not an RFC 3339 instant"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            iss: "writ".into(),
            sub: Some("alice".into()),
            obo: None,
            act: Some("db.write".into()),
            res: Some("orders".into()),
            digest: "sha256:ab".into(),
            bind: vec!["action".into()],
            jti: "g_1".into(),
            iat: "2026-11-27T10:00:00Z".into(),
            exp: "2026-11-27T10:05:00Z".into(),
            cnf: None,
            chl: "ch_1".into(),
            pv: "v".into(),
            approvers: vec![],
            sid: "st_1".into(),
        }
    }

    #[test]
    fn issues_and_verifies() {
        let key = GrantKey::new(KeyPair::generate().unwrap());
        let token = key.issue(&claims()).unwrap();
        assert!(token.starts_with("v4.public."));
        assert_eq!(key.verify(&token).unwrap(), claims());
    }

    #[test]
    fn another_key_or_a_changed_token_is_refused() {
        let key = GrantKey::new(KeyPair::generate().unwrap());
        let other = GrantKey::new(KeyPair::generate().unwrap());
        let token = key.issue(&claims()).unwrap();
        assert_eq!(
            other.verify(&token).unwrap_err().code,
            RefusalCode::GrantUnknownKey
        );
        // Flip one character of the payload.
        let mut bytes = token.into_bytes();
        let i = "v4.public.".len() + 5;
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        assert_eq!(
            key.verify(&tampered).unwrap_err().code,
            RefusalCode::GrantInvalid
        );
        assert_eq!(
            key.verify("eyJhbGciOiJub25lIn0.e30.").unwrap_err().code,
            RefusalCode::GrantInvalid
        );
    }
}
