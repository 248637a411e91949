//! Grants: PASETO v4.public tokens (Ed25519; the version and purpose pin the algorithm,
//! there is no `alg` header to confuse) signed by the engine's grant key once a quorum is
//! met. The claims bind the grant to one principal, action, resource and transaction
//! digest, carry a single-use `jti`, a short `exp`, and, for a key-bound grant, `cnf`
//! (RFC 7800) with the workload key's RFC 7638 thumbprint.
//!
//! The footer names the signing key by its PASERK id (`{"kid":"k4.pid.…"}`: base64url of
//! BLAKE2b-264 over `"k4.pid." || "k4.public." || base64url(public key)`), so a third
//! party holding the public key (`writ grant key --state DIR`: JWK and `k4.public.…`)
//! finds and checks it with any PASETO library. Grants issued before this change carry
//! `writ:` and 16 characters of the key's SHA-256; they are still accepted while they
//! live (minutes: a grant's ttl), since the kid is only a hint and the signature is
//! verified with the same key either way.

use std::path::Path;

use jiff::Timestamp;
use pasetors::keys::{AsymmetricPublicKey, AsymmetricSecretKey};
use pasetors::paserk::{FormatAsPaserk as _, Id};
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

/// `cnf` (RFC 7800): what a grant is bound to, one member: `{"jkt": …}` or
/// `{"x5t#S256": …}`. A `cnf` with any other member does not parse, so such a grant is
/// refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Confirmation {
    /// RFC 7638 thumbprint (SHA-256, base64url) of the workload's public JWK
    /// (`principal.key`); redemption proves possession with a signature.
    #[serde(rename = "jkt")]
    Jkt(String),
    /// RFC 8705 §3.1 thumbprint (SHA-256 of the DER, base64url) of the client certificate
    /// the requester asked over; redemption over mutual TLS with that certificate is the
    /// proof of possession.
    #[serde(rename = "x5t#S256")]
    X5tS256(String),
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
    /// For an elevation (`approve for D`): `D` in seconds. The grant may then be redeemed
    /// again and again until `exp`, which is `iat` + `D`; absent for a single-use grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elv: Option<u64>,
}

/// The engine's grant key: signs grants, verifies them at redemption.
pub struct GrantKey {
    pair: KeyPair,
    kid: String,
    /// The id grants carried before PASERK ids (`writ:…`), still accepted.
    legacy_kid: String,
    paserk: String,
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
        let legacy_kid = format!(
            "writ:{}",
            &b64(&Sha256::digest(pair.public().as_bytes()))[..16]
        );
        let (paserk, kid) = paserk_public_and_id(pair.public().as_bytes());
        GrantKey {
            pair,
            kid,
            legacy_kid,
            paserk,
        }
    }

    /// The public key as a PASERK (`k4.public.…`).
    pub fn paserk(&self) -> &str {
        &self.paserk
    }

    /// The public key as a JWK (RFC 8037 `OKP`/`Ed25519`), its `kid` the PASERK id.
    pub fn public_jwk(&self) -> serde_json::Value {
        serde_json::json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": b64(self.pair.public().as_bytes()),
            "kid": self.kid,
            "alg": "EdDSA",
            "use": "sig",
        })
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

    /// The key id in every grant's footer: the PASERK id of the public key (`k4.pid.…`).
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
        if footer.kid != self.kid && footer.kid != self.legacy_kid {
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

/// The PASERK of an Ed25519 public key (`k4.public.…`) and its PASERK id (`k4.pid.…`).
/// Empty strings never happen for 32 bytes; they would only make every kid mismatch.
pub fn paserk_public_and_id(public: &[u8; 32]) -> (String, String) {
    let Ok(key) = AsymmetricPublicKey::<V4>::from(public) else {
        return (String::new(), String::new());
    };
    let mut paserk = String::new();
    let mut id = String::new();
    if key.fmt(&mut paserk).is_err() || Id::from(&key).fmt(&mut id).is_err() {
        return (String::new(), String::new());
    }
    (paserk, id)
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

    #[test]
    fn cnf_is_one_rfc_7800_member_and_nothing_else_parses() {
        let jkt = serde_json::to_value(Confirmation::Jkt("abc".into())).unwrap();
        assert_eq!(jkt, serde_json::json!({"jkt": "abc"}));
        let x5t = serde_json::to_value(Confirmation::X5tS256("def".into())).unwrap();
        assert_eq!(x5t, serde_json::json!({"x5t#S256": "def"}));
        assert_eq!(
            serde_json::from_value::<Confirmation>(x5t).unwrap(),
            Confirmation::X5tS256("def".into())
        );
        assert!(serde_json::from_value::<Confirmation>(serde_json::json!({"jwk": {}})).is_err());
    }

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
            elv: None,
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

    /// The PASERK specification's own k4.pid test vectors (paseto-standard/test-vectors,
    /// PASERK/k4.pid.json).
    #[test]
    fn the_kid_is_the_standard_paserk_id() {
        let hex = |h: &str| -> [u8; 32] {
            let v: Vec<u8> = (0..32)
                .map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap())
                .collect();
            v.try_into().unwrap()
        };
        for (key, pid) in [
            (
                "0000000000000000000000000000000000000000000000000000000000000000",
                "k4.pid.S_XQmeEwHbbvRmiyfXfHYpLGjXGzjTRSDoT1YtTakWFE",
            ),
            (
                "707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f",
                "k4.pid.9ShR3xc8-qVJ_di0tc9nx0IDIqbatdeM2mqLFBJsKRHs",
            ),
            (
                "707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e90",
                "k4.pid.-nyvbaTz8U6TQz7OZWW-iB3va31iAxIpUgzUcVQVmW9A",
            ),
        ] {
            let (paserk, id) = paserk_public_and_id(&hex(key));
            assert_eq!(id, pid);
            assert_eq!(paserk, format!("k4.public.{}", b64(&hex(key))));
        }
        // A grant's footer names it.
        let key = GrantKey::new(KeyPair::generate().unwrap());
        let token = key.issue(&claims()).unwrap();
        let footer = token.rsplit('.').next().unwrap();
        let footer: Footer =
            serde_json::from_slice(&crate::encode::unb64(footer, "footer").unwrap()).unwrap();
        assert_eq!(footer.kid, key.kid());
        assert!(key.kid().starts_with("k4.pid."));
        assert_eq!(key.public_jwk()["kid"], key.kid());
    }

    #[test]
    fn a_grant_with_the_old_kid_of_the_same_key_is_still_accepted() {
        let key = GrantKey::new(KeyPair::generate().unwrap());
        let secret = AsymmetricSecretKey::<V4>::from(&key.pair.keypair_bytes()[..]).unwrap();
        let footer = serde_json::to_vec(&Footer {
            kid: key.legacy_kid.clone(),
        })
        .unwrap();
        let payload = serde_json::to_vec(&claims()).unwrap();
        let old = PublicToken::sign(&secret, &payload, Some(&footer), Some(IMPLICIT)).unwrap();
        assert_eq!(key.verify(&old).unwrap(), claims());
        // Another key's old kid is not this key's.
        let other = GrantKey::new(KeyPair::generate().unwrap());
        assert_eq!(
            other.verify(&old).unwrap_err().code,
            RefusalCode::GrantUnknownKey
        );
    }
}
