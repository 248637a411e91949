//! Who is calling: a layer that turns what the caller presented (client certificate,
//! `Authorization`, API key) into a [`Caller`] attached to the request, and the rule that
//! applies it (issue 12 §3): an enforcement point may ask about any subject; any other
//! caller *is* the actor — its identity fills `principal.id`, `kind` and `attested`, and
//! a conflicting value in the body is refused.
//!
//! Verification itself belongs to an [`Authenticate`] implementation: [`writ_callers::Callers`]
//! (mTLS SPIFFE IDs, JWT-SVID/OIDC, hashed API keys, placed by callers.toml) is one. The
//! client certificate comes from the TLS listener (`ConnectInfo<`[`Peer`]`>`, one per
//! connection); the `Authorization` and `X-API-Key` headers from the request, each at most
//! once. [`Identity::InsecureDevFromBody`] is the development mode: loopback only, logged
//! at start, every caller an enforcement point whose body is trusted.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value as Json};

use crate::body::ApiError;
use crate::tls::Peer;
use crate::AppState;

/// What a caller is allowed to ask.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A policy enforcement point (a gateway, a service's middleware): may ask about any
    /// subject.
    EnforcementPoint,
    /// The actor itself: may ask only about itself.
    Actor,
}

/// An authenticated caller.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Caller {
    /// Its identity (a SPIFFE ID, a token subject, an API key's name).
    pub id: String,
    /// How it proved it (`mtls`, `jwt`, `api_key`, `insecure_dev`).
    pub method: &'static str,
    /// Enforcement point or actor.
    pub role: Role,
    /// For an actor: `principal.kind` (`human`, `workload`, `agent`).
    pub principal_kind: Option<String>,
    /// For an actor: whether its identity was proven cryptographically.
    pub attested: bool,
    /// The SHA-256 thumbprint of its client certificate (RFC 8705 `x5t#S256`).
    pub cert_thumbprint: Option<String>,
    /// For an actor: `principal.groups`, when its identity vouches for them.
    pub groups: Option<Vec<String>>,
    /// For an actor: `principal.on_behalf_of`, when its identity vouches for it.
    pub on_behalf_of: Option<String>,
    /// Whether it may see the rules' text in `/v1/explain`.
    pub explain: bool,
}

/// What the caller presented.
#[derive(Clone, Copy, Debug, Default)]
pub struct Presented<'a> {
    /// The client certificate (DER), over mutual TLS.
    pub peer_certificate: Option<&'a [u8]>,
    /// The `Authorization` header.
    pub authorization: Option<&'a str>,
    /// The `X-API-Key` header.
    pub api_key: Option<&'a str>,
}

/// Why a caller is refused: answered 401 with `code` and `message` (never a credential).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// A stable code (`no_credentials`, `invalid_token`, ... — `writ_callers::AuthCode`).
    pub code: &'static str,
    /// What was wrong, for a person.
    pub message: String,
}

/// A verifier of callers ([`writ_callers::Callers`] is one).
pub trait Authenticate: Send + Sync {
    /// The caller, or why it is refused (said to the caller: no secret in it).
    fn authenticate(
        &self,
        presented: &Presented<'_>,
        now: jiff::Timestamp,
    ) -> Result<Caller, Refusal>;
}

impl Authenticate for writ_callers::Callers {
    fn authenticate(
        &self,
        presented: &Presented<'_>,
        now: jiff::Timestamp,
    ) -> Result<Caller, Refusal> {
        let presented = writ_callers::Presented {
            peer_certificate: presented.peer_certificate,
            authorization: presented.authorization,
            api_key: presented.api_key,
        };
        match writ_callers::Callers::authenticate(self, &presented, now) {
            Ok(c) => Ok(Caller {
                id: c.id,
                method: c.method.as_str(),
                role: match c.role {
                    writ_callers::Role::EnforcementPoint => Role::EnforcementPoint,
                    writ_callers::Role::Actor => Role::Actor,
                },
                principal_kind: c.principal_kind,
                attested: c.attested,
                cert_thumbprint: c.cert_thumbprint,
                groups: c.groups,
                on_behalf_of: c.on_behalf_of,
                explain: c.explain,
            }),
            Err(e) => Err(Refusal {
                code: e.code(),
                message: e.message,
            }),
        }
    }
}

/// How the server knows who is calling.
#[derive(Clone)]
pub enum Identity {
    /// Development only: nobody is authenticated; every caller is an enforcement point
    /// named `insecure-dev` and the body's `principal` is trusted. The server refuses to
    /// listen anywhere but loopback in this mode.
    InsecureDevFromBody,
    /// Every caller is verified.
    Verified(Arc<dyn Authenticate>),
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Identity::InsecureDevFromBody => f.write_str("InsecureDevFromBody"),
            Identity::Verified(_) => f.write_str("Verified"),
        }
    }
}

fn dev_caller() -> Caller {
    Caller {
        id: "insecure-dev".into(),
        method: "insecure_dev",
        role: Role::EnforcementPoint,
        principal_kind: None,
        attested: false,
        cert_thumbprint: None,
        groups: None,
        on_behalf_of: None,
        // Development: the whole trace, rule text included.
        explain: true,
    }
}

/// One header's value, when it is sent at most once and is visible ASCII; anything else
/// is refused (a credential sent twice is ambiguous, an unreadable one malformed).
fn one_header<'a>(
    headers: &'a axum::http::HeaderMap,
    name: &'static str,
) -> Result<Option<&'a str>, Refusal> {
    let mut all = headers.get_all(name).iter();
    let Some(first) = all.next() else {
        return Ok(None);
    };
    if all.next().is_some() {
        return Err(Refusal {
            code: "ambiguous_credentials",
            message: format!("`{name}` is sent more than once: one credential per request"),
        });
    }
    first.to_str().map(Some).map_err(|_| Refusal {
        code: "malformed_credential",
        message: format!("`{name}` is not visible ASCII"),
    })
}

/// The caller a connection's client certificate proved, kept for the connection's later
/// requests (see [`verify`]).
#[derive(Debug)]
pub(crate) struct Known {
    /// The verifier that proved it (its address: another verifier proves anew).
    verifier: usize,
    caller: Caller,
    /// The certificate's validity, Unix seconds: outside it, it is proved anew (and refused).
    not_before: i64,
    not_after: i64,
}

/// Who is calling, from the request's connection and headers.
///
/// A client certificate alone (no header credential) is read once per connection: the
/// caller it proved is reused while the certificate is valid and the verifier the same. A
/// certificate cannot change within a connection (rustls renegotiates nothing), so this
/// changes no answer, only spares parsing it and hashing its thumbprint per request.
fn verify(auth: &Arc<dyn Authenticate>, req: &Request) -> Result<Caller, Refusal> {
    let headers = req.headers();
    let authorization = one_header(headers, "authorization")?;
    let api_key = one_header(headers, "x-api-key")?;
    let peer = req
        .extensions()
        .get::<ConnectInfo<Peer>>()
        .map(|ConnectInfo(peer)| peer);
    let certificate = peer.and_then(|p| p.certificate.as_deref());
    let now = jiff::Timestamp::now();
    let verifier = Arc::as_ptr(auth).cast::<()>() as usize;
    let alone = authorization.is_none() && api_key.is_none();
    if let (Some(peer), true) = (peer, alone) {
        if let Some(k) = peer.known.get() {
            let t = now.as_second();
            if k.verifier == verifier && (k.not_before..=k.not_after).contains(&t) {
                return Ok(k.caller.clone());
            }
        }
    }
    let presented = Presented {
        peer_certificate: certificate,
        authorization,
        api_key,
    };
    let caller = auth.authenticate(&presented, now)?;
    if let (Some(peer), Some(der), true) = (peer, certificate, alone) {
        if let Ok(cert) = writ_callers::peer_certificate(der) {
            let _ = peer.known.set(Known {
                verifier,
                caller: caller.clone(),
                not_before: cert.not_before,
                not_after: cert.not_after,
            });
        }
    }
    Ok(caller)
}

/// The layer: attaches a [`Caller`] to every request, or answers 401 with the refusal's
/// code and message.
pub async fn identify(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    match caller_of(&state, &req) {
        Ok(caller) => {
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        Err(refusal) => refusal.into_response(),
    }
}

/// Who sent `req`, or the 401 that answers it (the layer's work, for `crate::lane` too).
pub(crate) fn caller_of(state: &AppState, req: &Request) -> Result<Caller, ApiError> {
    match state.identity() {
        Identity::InsecureDevFromBody => Ok(dev_caller()),
        Identity::Verified(auth) => verify(auth, req).map_err(|why| {
            state.metrics().identity_refused();
            ApiError::new(StatusCode::UNAUTHORIZED, why.code, why.message)
        }),
    }
}

/// The client certificate a challenge opened for this caller binds its grant to (RFC 8705
/// `x5t#S256`): an actor's, over mutual TLS. An enforcement point asks on someone else's
/// behalf, so its certificate binds nothing.
pub(crate) fn binding(caller: &Caller) -> Option<String> {
    match caller.role {
        Role::Actor => caller.cert_thumbprint.clone(),
        Role::EnforcementPoint => None,
    }
}

/// Redeems over the caller's connection: with its client certificate when it has one (the
/// proof of possession of a certificate-bound grant).
pub(crate) fn redeem(
    approvals: &writ_approvals::Approvals,
    request: &str,
    grant: &str,
    proof: Option<String>,
    x5t: Option<String>,
) -> Result<writ_approvals::Redeemed, writ_approvals::Error> {
    match x5t {
        Some(x5t) => approvals.redeem_over_certificate(request, grant, proof.as_deref(), &x5t),
        None => approvals.redeem(request, grant, proof.as_deref()),
    }
}

/// Applies the caller to a writ request: an actor's identity fills `principal.id`,
/// `principal.kind` and `principal.attested`, and `principal.groups` and
/// `principal.on_behalf_of` when callers.toml vouches for them; a body that says
/// otherwise is refused (403 `identity_conflict`; groups compare as sets). An
/// enforcement point's request is left as sent.
pub fn apply(caller: &Caller, request: &mut Map<String, Json>) -> Result<(), ApiError> {
    if caller.role == Role::EnforcementPoint {
        return Ok(());
    }
    let principal = request
        .entry("principal")
        .or_insert_with(|| Json::Object(Map::new()));
    let Json::Object(p) = principal else {
        return Err(ApiError::bad("`principal` must be an object"));
    };
    // Vouched groups: the same groups in another order (or repeated) are no conflict.
    let groups = caller.groups.as_ref().map(|groups| {
        let vouched: BTreeSet<&str> = groups.iter().map(String::as_str).collect();
        match p.get("groups") {
            Some(sent @ Json::Array(items))
                if items
                    .iter()
                    .map(Json::as_str)
                    .collect::<Option<BTreeSet<&str>>>()
                    == Some(vouched.clone()) =>
            {
                sent.clone()
            }
            _ => Json::from(vouched.into_iter().collect::<Vec<_>>()),
        }
    });
    let mut set = |key: &str, value: Json| -> Result<(), ApiError> {
        match p.get(key) {
            Some(v) if !v.is_null() && *v != value => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "identity_conflict",
                // Hidden and bidirectional characters shown escaped, whoever sent them.
                format!(
                    "`principal.{key}` is {} in the body but the caller is authenticated as {}: an actor may only ask about itself",
                    writ_approvals::identity::visible(&v.to_string()),
                    writ_approvals::identity::visible(&value.to_string())
                ),
            )),
            _ => {
                p.insert(key.to_string(), value);
                Ok(())
            }
        }
    };
    set("id", Json::from(caller.id.as_str()))?;
    if let Some(kind) = &caller.principal_kind {
        set("kind", Json::from(kind.as_str()))?;
    }
    set("attested", Json::Bool(caller.attested))?;
    if let Some(groups) = groups {
        set("groups", groups)?;
    }
    if let Some(human) = &caller.on_behalf_of {
        set("on_behalf_of", Json::from(human.as_str()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn actor() -> Caller {
        Caller {
            id: "spiffe://acme/payments".into(),
            method: "mtls",
            role: Role::Actor,
            principal_kind: Some("workload".into()),
            attested: true,
            cert_thumbprint: None,
            groups: None,
            on_behalf_of: None,
            explain: false,
        }
    }

    #[test]
    fn an_actor_fills_its_principal_and_cannot_claim_another() {
        let mut req: Map<String, Json> =
            serde_json::from_str(r#"{"action": "x", "principal": {"groups": ["g"]}}"#).unwrap();
        apply(&actor(), &mut req).unwrap();
        assert_eq!(req["principal"]["id"], "spiffe://acme/payments");
        assert_eq!(req["principal"]["kind"], "workload");
        assert_eq!(req["principal"]["attested"], true);
        assert_eq!(req["principal"]["groups"][0], "g");

        let mut other: Map<String, Json> =
            serde_json::from_str(r#"{"principal": {"id": "spiffe://acme/admin"}}"#).unwrap();
        let e = apply(&actor(), &mut other).unwrap_err();
        assert_eq!(e.status, StatusCode::FORBIDDEN);
        assert!(e.message.contains("spiffe://acme/admin"), "{}", e.message);

        let mut kind: Map<String, Json> =
            serde_json::from_str(r#"{"principal": {"kind": "human"}}"#).unwrap();
        assert!(apply(&actor(), &mut kind).is_err());
    }

    #[test]
    fn a_conflict_shows_hidden_characters_escaped() {
        let mut caller = actor();
        caller.id = "spiffe://acme/pay\u{202e}ments".into();
        let mut req: Map<String, Json> =
            serde_json::from_str(r#"{"principal": {"id": "a\u200bb"}}"#).unwrap();
        let e = apply(&caller, &mut req).unwrap_err();
        assert!(!e.message.contains('\u{202e}') && !e.message.contains('\u{200b}'));
        assert!(e.message.contains("\\u{202e}"), "{}", e.message);
        assert!(e.message.contains("\\u{200b}"), "{}", e.message);
    }

    #[test]
    fn an_enforcement_point_asks_about_anyone() {
        let mut req: Map<String, Json> =
            serde_json::from_str(r#"{"principal": {"id": "alice"}}"#).unwrap();
        apply(&dev_caller(), &mut req).unwrap();
        assert_eq!(req["principal"]["id"], "alice");
    }
}
