//! Who is calling `writ serve`: each request's caller authenticated from what the
//! transport presented — a client certificate (mutual TLS, the SPIFFE ID in its URI SAN),
//! a bearer JWT (a JWT-SVID or an OIDC access token, verified against a JWKS file) or a
//! static API key (stored hashed, compared in constant time) — and placed by callers.toml
//! as an *enforcement point* (asks about any subject) or an *actor* (is the subject). No
//! HTTP framework here: the server hands over the certificate and the two headers.
//!
//! # callers.toml
//!
//! ```toml
//! # SPIFFE IDs are accepted from these trust domains only, whether they come in a client
//! # certificate or as a JWT's `sub`. Without it, client certificates are refused.
//! trust_domains = ["example.org"]
//!
//! [jwt]                               # bearer tokens; without it, they are refused
//! issuer = "https://oidc.example.org" # `iss`, exactly
//! audience = "writ"                   # one of `aud`, exactly
//! jwks = "jwks.json"                  # relative to this file's directory
//! leeway_seconds = 60                 # clock skew on exp/nbf/iat: 0 to 300, default 60
//! attested = true                     # principal.attested for token callers (default true)
//!
//! [[enforcement_point]]               # may ask about any subject: exact identities only
//! id = "spiffe://example.org/ns/edge/sa/gateway"
//!
//! [[actor]]                           # is the subject: principal.id, kind, attested
//! id = "spiffe://example.org/ns/pay/sa/payments"
//! kind = "workload"                   # human | workload | agent
//!
//! [[actor]]                           # every SPIFFE ID under a path (whole segments)
//! prefix = "spiffe://example.org/ns/agents/"
//! kind = "agent"
//!
//! [[api_key]]                         # `writ callers hash-key` prints key and hash
//! name = "nightly-report"             # the caller's identity: 1-64 of [A-Za-z0-9._-]
//! hash = "sha256:…64 hex digits…"
//! role = "actor"                      # or "enforcement_point" (then no kind)
//! kind = "workload"
//!
//! [unlisted]                          # optional: any other proven identity is an actor
//! kind = "workload"                   # of this kind; without it, it is refused
//! ```
//!
//! An identity is looked up in this order: an exact `[[enforcement_point]]`, an exact
//! `[[actor]]`, the longest `[[actor]]` prefix, `[unlisted]`; anything else is refused
//! (`unknown_caller`). API keys are always listed by their own entry. Exactly one
//! credential per request: a certificate together with a token or a key, or a token with a
//! key, is refused as ambiguous (`ambiguous_credentials`); a malformed one is refused.
//!
//! docs/server-identity.md has the whole story: each method, what fills `principal.*`, and
//! why each choice was made.

mod api_key;
mod config;
mod error;
mod jwks;
mod jwt;
mod spiffe;
mod tls;

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

pub use api_key::{hash_api_key, new_api_key, HASH_PREFIX, KEY_PREFIX, MAX_KEY_BYTES};
pub use config::{DEFAULT_LEEWAY, KINDS, MAX_FILE_BYTES, MAX_LEEWAY};
pub use error::{AuthCode, AuthError, CallersError};
pub use jwks::{Alg, Jwks, MAX_JWKS_BYTES, MAX_KEYS};
pub use jwt::{MAX_CACHED_TOKENS, MAX_SUBJECT_BYTES, MAX_TOKEN_BYTES};
pub use spiffe::{peer_certificate, PeerCertificate, SpiffeId, MAX_SPIFFE_ID, MAX_TRUST_DOMAIN};
pub use tls::tls_config;

/// Who may call, read from callers.toml ([`Callers::load`], [`Callers::parse`]).
#[derive(Debug, Clone)]
pub struct Callers {
    trust_domains: BTreeSet<String>,
    jwt: Option<jwt::JwtConfig>,
    api_keys: Vec<ApiKeyEntry>,
    /// `api_keys[i]`'s SHA-256, apart so the comparison runs over a flat slice.
    api_key_hashes: Vec<[u8; 32]>,
    enforcement_points: BTreeSet<String>,
    /// Exact actor identities and what callers.toml vouches for them.
    actors: BTreeMap<String, Vouched>,
    /// Actor prefixes (SPIFFE IDs ending in `/`) and their kinds, longest first.
    prefixes: Vec<(String, Vouched)>,
    /// The kind of an identity listed nowhere, when such identities are admitted.
    unlisted: Option<Vouched>,
    /// Enforcement points that may see `/v1/explain`'s rule text.
    explainers: BTreeSet<String>,
    /// Tokens that verified (shared by clones: they have the same configuration).
    tokens: std::sync::Arc<jwt::TokenCache>,
}

#[derive(Debug, Clone)]
struct ApiKeyEntry {
    name: String,
    role: Role,
    /// For an actor's key, what callers.toml vouches for it.
    vouched: Option<Vouched>,
    /// For an enforcement point's key, whether it may see the rule text of explain.
    explain: bool,
}

/// What callers.toml says of an actor beyond its identity: its kind, and, when listed,
/// the groups it is in and the human it acts for; whether it may see the rule text of
/// `/v1/explain`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Vouched {
    pub kind: String,
    pub groups: Option<Vec<String>>,
    pub on_behalf_of: Option<String>,
    pub explain: bool,
}

/// What the transport presented for one request. Its `Debug` says which credentials are
/// there, never their values.
#[derive(Clone, Copy, Default)]
pub struct Presented<'a> {
    /// DER of the client's leaf certificate, as rustls verified it in the handshake
    /// (`ServerConnection::peer_certificates()[0]`).
    pub peer_certificate: Option<&'a [u8]>,
    /// The `Authorization` header's value (`Bearer …`).
    pub authorization: Option<&'a str>,
    /// The `X-API-Key` header's value.
    pub api_key: Option<&'a str>,
}

impl std::fmt::Debug for Presented<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |present: bool| if present { "<present>" } else { "<absent>" };
        f.debug_struct("Presented")
            .field("peer_certificate", &shown(self.peer_certificate.is_some()))
            .field("authorization", &shown(self.authorization.is_some()))
            .field("api_key", &shown(self.api_key.is_some()))
            .finish()
    }
}

/// How the caller proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthMethod {
    /// A client certificate (mutual TLS).
    Mtls,
    /// A bearer JWT.
    Jwt,
    /// A static API key.
    ApiKey,
}

impl AuthMethod {
    /// `mtls`, `jwt` or `api_key` (for logs and metrics).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mtls => "mtls",
            Self::Jwt => "jwt",
            Self::ApiKey => "api_key",
        }
    }
}

/// What the caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// May ask about any subject (a gateway, a service mesh's policy point).
    EnforcementPoint,
    /// Is the subject of what it asks: its identity fills `principal.*`.
    Actor,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The identity: the SPIFFE ID (mTLS), the token's `sub` (JWT) or the key's name.
    pub id: String,
    /// How it was proven.
    pub method: AuthMethod,
    /// Enforcement point or actor.
    pub role: Role,
    /// For actors, what fills `principal.kind` (`human`, `workload`, `agent`); `None`
    /// for enforcement points.
    pub principal_kind: Option<String>,
    /// What fills `principal.attested`: true for mTLS, callers.toml's `[jwt] attested`
    /// (default true) for tokens, false for API keys (a shared secret).
    pub attested: bool,
    /// For mTLS, `x5t#S256` of the client certificate (base64url SHA-256 of its DER,
    /// RFC 8705 §3.1), to bind a grant to it.
    pub cert_thumbprint: Option<String>,
    /// For actors whose callers.toml entry lists `groups`: what fills `principal.groups`
    /// (a body that says otherwise is refused).
    pub groups: Option<Vec<String>>,
    /// For actors whose callers.toml entry names `on_behalf_of`: what fills
    /// `principal.on_behalf_of` (a body that says otherwise is refused).
    pub on_behalf_of: Option<String>,
    /// Whether callers.toml lets it see the rules' text in `/v1/explain` (`explain =
    /// true`); others get the decision and the trace's outcomes without it.
    pub explain: bool,
}

impl Caller {
    fn placed(id: String, method: AuthMethod, place: Placed) -> Caller {
        let (role, vouched, explain) = match place {
            Placed::EnforcementPoint { explain } => (Role::EnforcementPoint, None, explain),
            Placed::Actor(v) => {
                let explain = v.explain;
                (Role::Actor, Some(v), explain)
            }
        };
        let (kind, groups, on_behalf_of) = match vouched {
            Some(v) => (Some(v.kind), v.groups, v.on_behalf_of),
            None => (None, None, None),
        };
        Caller {
            id,
            method,
            role,
            principal_kind: kind,
            attested: false,
            cert_thumbprint: None,
            groups,
            on_behalf_of,
            explain,
        }
    }
}

/// Where callers.toml places an identity.
enum Placed {
    EnforcementPoint { explain: bool },
    Actor(Vouched),
}

/// The `x5t#S256` thumbprint of a certificate: base64url (no padding) of SHA-256 of its DER.
pub fn thumbprint(der: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(der))
}

impl Callers {
    /// Who is calling, from what the transport presented, at `now`. Exactly one credential
    /// must be there; it must be well formed and valid, and its identity must be placed by
    /// callers.toml. Anything else is refused.
    pub fn authenticate(
        &self,
        presented: &Presented<'_>,
        now: jiff::Timestamp,
    ) -> Result<Caller, AuthError> {
        let mut which: Vec<&str> = Vec::new();
        if presented.peer_certificate.is_some() {
            which.push("a client certificate");
        }
        if presented.authorization.is_some() {
            which.push("an `Authorization` header");
        }
        if presented.api_key.is_some() {
            which.push("an `X-API-Key` header");
        }
        if which.len() > 1 {
            return Err(AuthError::new(
                AuthCode::AmbiguousCredentials,
                format!(
                    "the request carries {}; exactly one credential expected",
                    which.join(" and ")
                ),
            ));
        }
        let now = now.as_second();
        if let Some(der) = presented.peer_certificate {
            return self.mtls(der, now);
        }
        if let Some(header) = presented.authorization {
            return self.bearer(header, now);
        }
        if let Some(key) = presented.api_key {
            return self.api_key(key);
        }
        Err(AuthError::new(
            AuthCode::NoCredentials,
            "the request carries no credential; a client certificate, a bearer token or an API key expected",
        ))
    }

    fn mtls(&self, der: &[u8], now: i64) -> Result<Caller, AuthError> {
        if self.trust_domains.is_empty() {
            return Err(AuthError::new(
                AuthCode::MethodNotEnabled,
                "client certificates are not accepted: callers.toml lists no `trust_domains`",
            ));
        }
        let cert = peer_certificate(der)?;
        if now < cert.not_before {
            return Err(AuthError::new(
                AuthCode::InvalidCertificate,
                "the client certificate is not valid yet",
            ));
        }
        if now > cert.not_after {
            return Err(AuthError::new(
                AuthCode::InvalidCertificate,
                "the client certificate has expired",
            ));
        }
        self.check_domain(&cert.spiffe_id)?;
        let place = self.place(cert.spiffe_id.as_str())?;
        let mut caller =
            Caller::placed(cert.spiffe_id.as_str().to_owned(), AuthMethod::Mtls, place);
        caller.attested = true;
        caller.cert_thumbprint = Some(thumbprint(der));
        Ok(caller)
    }

    fn bearer(&self, header: &str, now: i64) -> Result<Caller, AuthError> {
        let Some(config) = &self.jwt else {
            return Err(AuthError::new(
                AuthCode::MethodNotEnabled,
                "bearer tokens are not accepted: callers.toml has no `[jwt]`",
            ));
        };
        let header = header.trim_matches(|c| c == ' ' || c == '\t');
        let token = match header.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
                token.trim_start_matches(' ')
            }
            _ => {
                return Err(AuthError::new(
                    AuthCode::MalformedCredential,
                    "the `Authorization` header is not `Bearer` and a token",
                ))
            }
        };
        if token.is_empty()
            || !token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return Err(AuthError::new(
                AuthCode::MalformedCredential,
                "the bearer token is empty or has a character outside base64url and `.`",
            ));
        }
        let key = jwt::TokenCache::key(token);
        if let Some(caller) = self.tokens.get(&key, now) {
            return Ok(caller);
        }
        let jwt::Verified { sub, from, until } = jwt::verify(config, token, now)?;
        if sub.to_ascii_lowercase().starts_with("spiffe://") {
            let spiffe = SpiffeId::parse(&sub).map_err(|why| {
                AuthError::new(
                    AuthCode::InvalidToken,
                    format!("the token's `sub` looks like a SPIFFE ID but {why}"),
                )
            })?;
            self.check_domain(&spiffe)?;
        }
        let place = self.place(&sub)?;
        let mut caller = Caller::placed(sub, AuthMethod::Jwt, place);
        caller.attested = config.attested;
        self.tokens.put(key, &caller, from, until, now);
        Ok(caller)
    }

    fn api_key(&self, key: &str) -> Result<Caller, AuthError> {
        if self.api_keys.is_empty() {
            return Err(AuthError::new(
                AuthCode::MethodNotEnabled,
                "API keys are not accepted: callers.toml has no `[[api_key]]`",
            ));
        }
        api_key::check_presented(key)
            .map_err(|why| AuthError::new(AuthCode::MalformedCredential, why))?;
        let entry = api_key::find(&self.api_key_hashes, key)
            .and_then(|i| self.api_keys.get(i))
            .ok_or_else(|| {
                AuthError::new(
                    AuthCode::UnknownApiKey,
                    "the API key matches none of callers.toml",
                )
            })?;
        let place = match (&entry.role, &entry.vouched) {
            (Role::Actor, Some(v)) => Placed::Actor(v.clone()),
            _ => Placed::EnforcementPoint {
                explain: entry.explain,
            },
        };
        Ok(Caller::placed(
            entry.name.clone(),
            AuthMethod::ApiKey,
            place,
        ))
    }

    fn check_domain(&self, id: &SpiffeId) -> Result<(), AuthError> {
        if self.trust_domains.contains(id.trust_domain()) {
            Ok(())
        } else {
            Err(AuthError::new(
                AuthCode::UntrustedDomain,
                format!(
                    "the trust domain `{}` is not in callers.toml's `trust_domains`",
                    id.trust_domain()
                ),
            ))
        }
    }

    /// The role of a proven identity, and what callers.toml vouches for it.
    fn place(&self, id: &str) -> Result<Placed, AuthError> {
        if self.enforcement_points.contains(id) {
            return Ok(Placed::EnforcementPoint {
                explain: self.explainers.contains(id),
            });
        }
        if let Some(v) = self.actors.get(id) {
            return Ok(Placed::Actor(v.clone()));
        }
        if let Some((_, v)) = self
            .prefixes
            .iter()
            .find(|(p, _)| id.starts_with(p.as_str()))
        {
            return Ok(Placed::Actor(v.clone()));
        }
        if let Some(v) = &self.unlisted {
            return Ok(Placed::Actor(v.clone()));
        }
        Err(AuthError::new(
            AuthCode::UnknownCaller,
            format!(
                "`{}` is not listed in callers.toml, which admits no unlisted caller",
                id.escape_default()
            ),
        ))
    }

    /// The rustls server configuration for `--tls-cert`, `--tls-key` and `--client-ca`:
    /// the same as [`tls_config`] (client certificates optional at the TLS layer).
    pub fn tls_config(
        cert: &std::path::Path,
        key: &std::path::Path,
        client_ca: Option<&std::path::Path>,
    ) -> Result<rustls::ServerConfig, CallersError> {
        tls::tls_config(cert, key, client_ca)
    }

    /// Whether client certificates are accepted (`trust_domains` is not empty).
    pub fn accepts_certificates(&self) -> bool {
        !self.trust_domains.is_empty()
    }

    /// Whether bearer tokens are accepted (`[jwt]` is there).
    pub fn accepts_tokens(&self) -> bool {
        self.jwt.is_some()
    }

    /// How many verified tokens are remembered now (a token seen again is not verified
    /// again while it is good; at most [`MAX_CACHED_TOKENS`]).
    pub fn cached_tokens(&self) -> usize {
        self.tokens.len()
    }

    /// Whether API keys are accepted (one `[[api_key]]` at least).
    pub fn accepts_api_keys(&self) -> bool {
        !self.api_keys.is_empty()
    }
}
