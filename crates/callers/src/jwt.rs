//! Bearer JWTs (JWS compact serialization, RFC 7515/7519): a JWT-SVID or an OIDC access
//! token, verified against the keys of one JWKS with one issuer and one audience.
//!
//! The order is fixed and nothing is read before it is needed: the header (`alg` from an
//! allow-list — ES256, EdDSA, RS256; `none` and HMAC refused; no `crit`), the key (by
//! `kid`, or the only key for the algorithm), the signature, and only then the claims
//! (`iss`, `aud`, `exp` required, `nbf` and `iat` honoured with the skew, `sub` required).

use base64::Engine as _;
use serde::Deserialize;

use crate::error::{AuthCode, AuthError};
use crate::jwks::{Alg, Jwk, Jwks};

/// The longest bearer token accepted, in bytes.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// The longest `sub` accepted, in bytes.
pub const MAX_SUBJECT_BYTES: usize = 2048;

/// What a token must match.
#[derive(Debug, Clone)]
pub(crate) struct JwtConfig {
    pub(crate) issuer: String,
    pub(crate) audience: String,
    pub(crate) jwks: Jwks,
    /// Allowed clock skew, seconds.
    pub(crate) leeway: i64,
    /// What `principal.attested` says for a caller known by a token.
    pub(crate) attested: bool,
}

fn malformed(message: impl Into<String>) -> AuthError {
    AuthError::new(AuthCode::MalformedCredential, message)
}

fn invalid(message: impl Into<String>) -> AuthError {
    AuthError::new(AuthCode::InvalidToken, message)
}

#[derive(Deserialize)]
struct Header {
    alg: Option<String>,
    kid: Option<String>,
    typ: Option<String>,
    crit: Option<serde_json::Value>,
}

/// `aud`: one string or an array of strings.
#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct Claims {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<Audience>,
    exp: Option<serde_json::Number>,
    nbf: Option<serde_json::Number>,
    iat: Option<serde_json::Number>,
}

fn b64(part: &str, what: &str) -> Result<Vec<u8>, AuthError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| {
            malformed(format!(
                "the token's {what} is not base64url without padding"
            ))
        })
}

/// A NumericDate (RFC 7519 §2): seconds, possibly fractional; the fraction is dropped.
fn seconds(n: &serde_json::Number, claim: &str) -> Result<i64, AuthError> {
    if let Some(i) = n.as_i64() {
        return Ok(i);
    }
    match n.as_f64() {
        // Bounded well within `i64`, so the cast is exact after `floor`.
        Some(f) if f.is_finite() && f.abs() < 1e15 => Ok(f.floor() as i64),
        _ => Err(malformed(format!(
            "the token's `{claim}` is not a time in seconds"
        ))),
    }
}

/// The alg name, when it is short and plain enough to repeat in a message.
fn shown_alg(alg: &str) -> String {
    if !alg.is_empty()
        && alg.len() <= 16
        && alg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'+')
    {
        format!("`{alg}`")
    } else {
        "an unknown algorithm".to_owned()
    }
}

/// The key to verify with: the one whose `kid` is the token's, or, when the token names
/// none, the only key of the set for the algorithm.
fn select<'a>(jwks: &'a Jwks, alg: Alg, kid: Option<&str>) -> Result<&'a Jwk, AuthError> {
    match kid {
        Some(kid) => {
            let key = jwks
                .keys
                .iter()
                .find(|k| k.kid.as_deref() == Some(kid))
                .ok_or_else(|| invalid("no key of the JWKS has the token's `kid`"))?;
            if key.key.alg() != alg {
                return Err(invalid(format!(
                    "the token's `kid` names an {} key, and the token says {}",
                    key.key.alg().as_str(),
                    alg.as_str()
                )));
            }
            Ok(key)
        }
        None => {
            let mut fitting = jwks.keys.iter().filter(|k| k.key.alg() == alg);
            match (fitting.next(), fitting.next()) {
                (Some(one), None) => Ok(one),
                (None, _) => Err(invalid(format!(
                    "the JWKS has no {} key for the token",
                    alg.as_str()
                ))),
                (Some(_), Some(_)) => Err(invalid(format!(
                    "the token has no `kid` and the JWKS has several {} keys; a `kid` is needed",
                    alg.as_str()
                ))),
            }
        }
    }
}

/// Verifies a compact JWS `token` at `now` (Unix seconds): its `sub` and when it is good.
pub(crate) fn verify(config: &JwtConfig, token: &str, now: i64) -> Result<Verified, AuthError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(malformed(format!(
            "the bearer token is {} bytes; at most {MAX_TOKEN_BYTES} expected",
            token.len()
        )));
    }
    let parts: Vec<&str> = token.split('.').collect();
    let [header_b64, payload_b64, signature_b64] = parts.as_slice() else {
        return Err(malformed(if parts.len() == 5 {
            "the bearer token is an encrypted JWT (JWE); a signed JWT (JWS) expected".to_owned()
        } else {
            format!(
                "the bearer token has {} dot-separated parts; a JWT has three",
                parts.len()
            )
        }));
    };
    let header: Header = serde_json::from_slice(&b64(header_b64, "header")?)
        .map_err(|_| malformed("the token's header is not a JSON object of JOSE parameters"))?;
    let alg = match header.alg.as_deref() {
        None => return Err(malformed("the token's header has no `alg`")),
        Some(name) => match Alg::from_name(name) {
            Some(alg) => alg,
            None if name.eq_ignore_ascii_case("none") => {
                return Err(invalid("the token is unsigned (`alg` `none`), which is refused"))
            }
            None if name.starts_with("HS") => {
                return Err(invalid(format!(
                    "the token is signed with a shared secret ({}), which is refused; ES256, EdDSA or RS256 expected",
                    shown_alg(name)
                )))
            }
            None => {
                return Err(invalid(format!(
                    "the token's algorithm {} is not accepted; ES256, EdDSA or RS256 expected",
                    shown_alg(name)
                )))
            }
        },
    };
    if header.crit.is_some() {
        return Err(invalid(
            "the token's header has `crit` extensions, none of which this server understands",
        ));
    }
    if let Some(typ) = header.typ.as_deref() {
        let typ = typ.to_ascii_lowercase();
        let typ = typ.strip_prefix("application/").unwrap_or(&typ);
        if !matches!(typ, "jwt" | "jose" | "at+jwt") {
            return Err(invalid(
                "the token's `typ` is not `JWT`, `JOSE` or `at+jwt`",
            ));
        }
    }
    let key = select(&config.jwks, alg, header.kid.as_deref())?;
    let signature = b64(signature_b64, "signature")?;
    let signed_len = header_b64.len() + 1 + payload_b64.len();
    let message = token
        .as_bytes()
        .get(..signed_len)
        .ok_or_else(|| malformed("the bearer token is cut short"))?;
    if !key.key.verify(message, &signature) {
        return Err(invalid("the token's signature does not verify"));
    }
    let claims: Claims = serde_json::from_slice(&b64(payload_b64, "payload")?).map_err(|_| {
        malformed("the token's claims are not a JSON object with string `iss`, `sub`, `aud` and numeric `exp`, `nbf`, `iat`")
    })?;
    match claims.iss.as_deref() {
        Some(iss) if iss == config.issuer => {}
        Some(_) => {
            return Err(invalid(format!(
                "the token's issuer is not `{}`",
                config.issuer
            )))
        }
        None => return Err(invalid("the token has no `iss`")),
    }
    let audience_ok = match &claims.aud {
        Some(Audience::One(a)) => *a == config.audience,
        Some(Audience::Many(all)) => all.contains(&config.audience),
        None => return Err(invalid("the token has no `aud`")),
    };
    if !audience_ok {
        return Err(invalid(format!(
            "the token's audience does not include `{}`",
            config.audience
        )));
    }
    let leeway = config.leeway;
    let Some(exp) = &claims.exp else {
        return Err(invalid("the token has no `exp`; an expiry is required"));
    };
    // The token is good in `[from, until)`: until `exp + leeway`, from the later of `nbf`
    // and `iat`, less the leeway.
    let until = seconds(exp, "exp")?.saturating_add(leeway);
    if now >= until {
        return Err(AuthError::new(
            AuthCode::TokenExpired,
            "the token has expired",
        ));
    }
    let mut from = i64::MIN;
    if let Some(nbf) = &claims.nbf {
        let nbf = seconds(nbf, "nbf")?;
        if now.saturating_add(leeway) < nbf {
            return Err(AuthError::new(
                AuthCode::TokenNotYetValid,
                "the token is not valid yet (`nbf`)",
            ));
        }
        from = from.max(nbf.saturating_sub(leeway));
    }
    if let Some(iat) = &claims.iat {
        let iat = seconds(iat, "iat")?;
        if now.saturating_add(leeway) < iat {
            return Err(AuthError::new(
                AuthCode::TokenNotYetValid,
                "the token was issued in the future (`iat`)",
            ));
        }
        from = from.max(iat.saturating_sub(leeway));
    }
    let Some(sub) = claims.sub else {
        return Err(invalid("the token has no `sub`"));
    };
    if sub.is_empty() || sub.len() > MAX_SUBJECT_BYTES || sub.chars().any(char::is_control) {
        return Err(invalid(format!(
            "the token's `sub` is empty, longer than {MAX_SUBJECT_BYTES} bytes or has control characters"
        )));
    }
    Ok(Verified { sub, from, until })
}

/// A token that verified: its `sub`, and the instants (Unix seconds) between which it does,
/// `from` included, `until` excluded.
pub(crate) struct Verified {
    pub(crate) sub: String,
    pub(crate) from: i64,
    pub(crate) until: i64,
}

/// The most tokens remembered as verified.
pub const MAX_CACHED_TOKENS: usize = 10_000;

/// Tokens that verified, by the SHA-256 of their text, with the caller they made and when
/// they are good: the same token again costs a hash and a lookup instead of a signature
/// check. Only successes are remembered, never past their validity, and a full cache drops
/// what has expired (or, failing that, everything).
#[derive(Default)]
pub(crate) struct TokenCache {
    entries: std::sync::RwLock<std::collections::HashMap<[u8; 32], (crate::Caller, i64, i64)>>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.entries.read().map_or(0, |e| e.len());
        write!(f, "TokenCache({n} tokens)")
    }
}

impl TokenCache {
    pub(crate) fn key(token: &str) -> [u8; 32] {
        use sha2::{Digest as _, Sha256};
        Sha256::digest(token.as_bytes()).into()
    }

    /// The caller of a token verified before, when it is still good at `now`.
    pub(crate) fn get(&self, key: &[u8; 32], now: i64) -> Option<crate::Caller> {
        let entries = self.entries.read().ok()?;
        match entries.get(key) {
            Some((caller, from, until)) if *from <= now && now < *until => Some(caller.clone()),
            _ => None,
        }
    }

    pub(crate) fn put(
        &self,
        key: [u8; 32],
        caller: &crate::Caller,
        from: i64,
        until: i64,
        now: i64,
    ) {
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        if entries.len() >= MAX_CACHED_TOKENS {
            entries.retain(|_, (_, _, until)| now < *until);
            if entries.len() >= MAX_CACHED_TOKENS {
                entries.clear();
            }
        }
        entries.insert(key, (caller.clone(), from, until));
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.read().map_or(0, |e| e.len())
    }
}
