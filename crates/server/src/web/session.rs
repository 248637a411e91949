//! Signing in with a passkey: the server issues a random WebAuthn challenge (good once,
//! for two minutes), the browser answers with an assertion of any registered passkey
//! (`allowCredentials` empty: the authenticator offers its discoverable credentials), and
//! `Approvals::webauthn_sign_in` names the approver. The session is a random token in an
//! `HttpOnly`, `SameSite=Strict` cookie (`Secure` over TLS), good for 15 minutes, bound to
//! that approver; the server keeps only its SHA-256, in this process's memory.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Extension;
use serde_json::{json, Value as Json};
use sha2::{Digest as _, Sha256};

use super::limit::WebError;
use super::{service, source, Web};
use crate::body::{json_ok, ApiError, JsonBody};
use crate::native::{blocking, flow_error};
use crate::tls::Peer;
use crate::AppState;

/// How long a session lasts.
pub(crate) const SESSION_TTL: Duration = Duration::from_secs(15 * 60);
/// How long a sign-in challenge is good for.
const CHALLENGE_TTL: Duration = Duration::from_secs(120);
/// The most sessions and pending challenges kept (each); past it, expired ones are
/// dropped, then the oldest refused.
const MAX_ENTRIES: usize = 100_000;

/// Sessions and pending sign-in challenges, by SHA-256 of their secret.
#[derive(Default)]
pub(crate) struct Sessions {
    sessions: Mutex<HashMap<[u8; 32], (String, Instant)>>,
    pending: Mutex<Pending>,
}

/// Pending sign-in challenges, with the order they were issued in: they all live
/// [`CHALLENGE_TTL`], so the oldest expire first and are dropped from the front, each
/// once (no scan of the table). A taken challenge leaves its place in the queue until it
/// reaches the front, so the queue — what is bounded — counts every challenge issued in
/// the last two minutes.
#[derive(Default)]
struct Pending {
    by_hash: HashMap<[u8; 32], Instant>,
    issued: VecDeque<([u8; 32], Instant)>,
}

impl Pending {
    /// Drops the challenges expired by `now` (or taken, once they reach the front).
    fn expire(&mut self, now: Instant) {
        while let Some((h, until)) = self.issued.front().copied() {
            if until > now && self.by_hash.contains_key(&h) {
                break;
            }
            self.issued.pop_front();
            if self.by_hash.get(&h).is_some_and(|u| *u == until) {
                self.by_hash.remove(&h);
            }
        }
    }
}

fn hash(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn random32() -> Result<[u8; 32], ApiError> {
    let mut out = [0u8; 32];
    getrandom::fill(&mut out).map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "no randomness available: retry later",
        )
    })?;
    Ok(out)
}

fn full() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "overloaded",
        "too many sign-ins in progress: retry after the delay in `Retry-After`",
    )
}

impl Sessions {
    fn issue_challenge(&self) -> Result<[u8; 32], ApiError> {
        let c = random32()?;
        let now = Instant::now();
        let mut p = lock(&self.pending);
        p.expire(now);
        if p.issued.len() >= MAX_ENTRIES {
            return Err(full());
        }
        let h = hash(&c);
        let until = now + CHALLENGE_TTL;
        p.by_hash.insert(h, until);
        p.issued.push_back((h, until));
        Ok(c)
    }

    /// Takes a pending challenge: true when it was issued, unexpired, and not taken before.
    fn take_challenge(&self, c: &[u8]) -> bool {
        let now = Instant::now();
        lock(&self.pending)
            .by_hash
            .remove(&hash(c))
            .is_some_and(|until| until > now)
    }

    fn open(&self, approver: &str) -> Result<[u8; 32], ApiError> {
        let token = random32()?;
        let now = Instant::now();
        let mut s = lock(&self.sessions);
        if s.len() >= MAX_ENTRIES {
            s.retain(|_, (_, until)| *until > now);
            if s.len() >= MAX_ENTRIES {
                return Err(full());
            }
        }
        s.insert(hash(&token), (approver.to_string(), now + SESSION_TTL));
        Ok(token)
    }

    /// The approver a session token belongs to, and how long it has left.
    pub(crate) fn approver(&self, token: &str) -> Option<(String, Duration)> {
        let bytes = writ_approvals::unb64(token, "session").ok()?;
        let now = Instant::now();
        let mut s = lock(&self.sessions);
        let key = hash(&bytes);
        match s.get(&key) {
            Some((who, until)) if *until > now => Some((who.clone(), *until - now)),
            Some(_) => {
                s.remove(&key);
                None
            }
            None => None,
        }
    }

    fn close(&self, token: &str) {
        if let Ok(bytes) = writ_approvals::unb64(token, "session") {
            lock(&self.sessions).remove(&hash(&bytes));
        }
    }
}

/// The session cookie's name: `__Host-` prefixed over TLS (Secure, Path=/, no Domain).
pub(crate) fn cookie_name(state: &AppState) -> &'static str {
    if state.tls() == "off" {
        "writ_session"
    } else {
        "__Host-writ_session"
    }
}

/// The signed-in approver of this request, or 401 `signed_out`.
pub(crate) fn signed_in(
    state: &AppState,
    web: &Web,
    headers: &HeaderMap,
) -> Result<(String, Duration), ApiError> {
    super::cookie(headers, cookie_name(state))
        .and_then(|t| web.sessions.approver(t))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "signed_out",
                "sign in with your passkey first (the session lasts 15 minutes)",
            )
        })
}

/// `POST /web/api/signin/options`: a fresh challenge and the request options.
pub(crate) async fn options(
    State(state): State<AppState>,
    Extension(web): Extension<Arc<Web>>,
    peer: Option<Extension<ConnectInfo<Peer>>>,
) -> Result<Response, WebError> {
    let approvals = service(&state)?;
    web.limits.options(&source(peer.as_ref()))?;
    let registry = blocking(move || approvals.registry())
        .await?
        .map_err(|e| flow_error(&state, e))?;
    let Some(rp) = registry.relying_party() else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "webauthn_disabled",
            "approvers.toml has no `[relying_party]`: passkeys are not configured",
        )
        .into());
    };
    let c = web.sessions.issue_challenge()?;
    Ok(json_ok(&json!({
        "challenge": writ_approvals::b64(&c),
        "rpId": rp.rp_id,
        "timeout": 120_000,
        "userVerification": "required",
        "allowCredentials": [],
    })))
}

/// `POST /web/api/signin/finish`: `{"challenge": …, "credential": <assertion JSON>}`.
pub(crate) async fn finish(
    State(state): State<AppState>,
    Extension(web): Extension<Arc<Web>>,
    peer: Option<Extension<ConnectInfo<Peer>>>,
    JsonBody(body): JsonBody,
) -> Result<Response, WebError> {
    let approvals = service(&state)?;
    web.limits.address(&source(peer.as_ref()))?;
    let challenge = match body.get("challenge") {
        Some(Json::String(c)) => writ_approvals::unb64(c, "challenge").map_err(ApiError::bad)?,
        _ => {
            return Err(ApiError::bad("`challenge` is required (from the sign-in options)").into())
        }
    };
    let assertion = super::assertion_of(&body)?;
    if !web.sessions.take_challenge(&challenge) {
        state.metrics().sign_in(false);
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "challenge_unknown",
            "this sign-in challenge was not issued here, expired (2 minutes) or was used: start again",
        ).into());
    }
    // Nothing counts against an approver before their passkey has signed: a stranger
    // naming someone's (public) credential id spends only their own address's attempts.
    let signed = blocking(move || approvals.webauthn_sign_in(&challenge, &assertion))
        .await?
        .map_err(|e| flow_error(&state, e))?;
    let approver = match signed {
        Ok(a) => a,
        Err(refusal) => {
            state.metrics().sign_in(false);
            return Err(
                ApiError::new(StatusCode::FORBIDDEN, "signin_refused", refusal.message).into(),
            );
        }
    };
    web.limits.sign_in(&approver)?;
    state.metrics().sign_in(true);
    let token = web.sessions.open(&approver)?;
    let secure = if state.tls() == "off" { "" } else { "; Secure" };
    let cookie = format!(
        "{}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        cookie_name(&state),
        writ_approvals::b64(&token),
        SESSION_TTL.as_secs()
    );
    let mut resp = json_ok(&json!({
        "approver": approver,
        "expires_in_s": SESSION_TTL.as_secs(),
    }));
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// `POST /web/api/signout`: ends the session.
pub(crate) async fn sign_out(
    State(state): State<AppState>,
    Extension(web): Extension<Arc<Web>>,
    headers: HeaderMap,
) -> Response {
    if let Some(t) = super::cookie(&headers, cookie_name(&state)) {
        web.sessions.close(t);
    }
    let secure = if state.tls() == "off" { "" } else { "; Secure" };
    let mut resp = json_ok(&json!({"signed_out": true}));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}",
        cookie_name(&state)
    )) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

/// `GET /web/api/session`: who is signed in, or 401.
pub(crate) async fn current(
    State(state): State<AppState>,
    Extension(web): Extension<Arc<Web>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (approver, left) = signed_in(&state, &web, &headers)?;
    Ok(json_ok(
        &json!({"approver": approver, "expires_in_s": left.as_secs()}),
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn the_pending_table_is_bounded_and_expires_from_the_front() {
        let s = Sessions::default();
        let first = s.issue_challenge().unwrap();
        for _ in 1..MAX_ENTRIES {
            s.issue_challenge().unwrap();
        }
        // Full: refused; the oldest taken, its place is free again.
        assert!(s.issue_challenge().is_err());
        assert!(s.take_challenge(&first));
        assert!(!s.take_challenge(&first));
        s.issue_challenge().unwrap();
        assert!(s.issue_challenge().is_err());
        // Two minutes on, every one of them is dropped.
        let later = Instant::now() + CHALLENGE_TTL + Duration::from_secs(1);
        let mut p = lock(&s.pending);
        p.expire(later);
        assert!(p.issued.is_empty());
        assert!(p.by_hash.is_empty());
    }
}
