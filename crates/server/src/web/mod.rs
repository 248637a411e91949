//! The approver's side of `writ serve`: pages an approver opens in a browser — enrolment
//! through a one-time invitation (`/enroll/{token}`), signing in with a passkey
//! (`/signin`), and the approval page (`/approve/{challenge}`) — and the JSON routes under
//! `/web/api/` their script calls. These routes sit outside the API's caller identity (a
//! browser holds no workload credential): an approver proves who they are with a
//! WebAuthn assertion, and then holds a short-lived session cookie bound to them.
//!
//! Hardening: every response carries a strict Content-Security-Policy (no inline script or
//! style, nothing from another origin, `frame-ancestors 'none'`), `Referrer-Policy:
//! no-referrer`, `X-Frame-Options: DENY`, `nosniff` and `no-store` (and HSTS over TLS); every asset is
//! embedded in the binary; every state-changing request must come from the relying
//! party's configured origin (`Origin` header); signing in and answering are rate-limited
//! per source address and per approver. Answers go through `Approvals::answer`, so the
//! quorum, separation of duties and the audit log are the API's.

mod assets;
mod enroll;
mod limit;
mod page;
mod session;

use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};
use writ_approvals::Approvals;

use crate::body::ApiError;
use crate::tls::Peer;
use crate::AppState;

pub use limit::WebLimits;

/// The Content-Security-Policy of every page and asset.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

/// What the web routes share: sessions, pending sign-in challenges, rate limits.
pub(crate) struct Web {
    sessions: session::Sessions,
    limits: limit::RateLimits,
}

/// The web routes (pages, assets, `/web/api/…`), over the API's state.
pub(crate) fn router(state: &AppState, limits: WebLimits) -> Router<AppState> {
    let web = Arc::new(Web {
        sessions: session::Sessions::default(),
        limits: limit::RateLimits::new(limits),
    });
    Router::new()
        .route("/enroll/{token}", get(assets::enroll_page))
        .route("/signin", get(assets::signin_page))
        .route("/approve/{id}", get(assets::approve_page))
        .route("/web/app.js", get(assets::script))
        .route("/web/app.css", get(assets::style))
        .route("/web/api/enroll/options", post(enroll::options))
        .route("/web/api/enroll/finish", post(enroll::finish))
        .route("/web/api/signin/options", post(session::options))
        .route("/web/api/signin/finish", post(session::finish))
        .route("/web/api/signout", post(session::sign_out))
        .route("/web/api/session", get(session::current))
        .route("/web/api/passkeys", get(enroll::passkeys))
        .route("/web/api/passkeys/remove", post(enroll::remove))
        .route("/web/api/challenges/{id}", get(page::challenge))
        .route("/web/api/challenges/{id}/answer", post(page::answer))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            origin_check,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            hardened,
        ))
        .layer(Extension(web))
}

/// Adds the hardening headers to every web response.
async fn hardened(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    if resp.status() == StatusCode::TOO_MANY_REQUESTS {
        state.metrics().web_limited();
    }
    let h = resp.headers_mut();
    if state.tls() != "off" {
        h.insert(
            "strict-transport-security",
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    for (name, value) in [
        ("content-security-policy", CSP),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("x-content-type-options", "nosniff"),
        ("cache-control", "no-store"),
        ("cross-origin-opener-policy", "same-origin"),
        ("cross-origin-resource-policy", "same-origin"),
        (
            "permissions-policy",
            "publickey-credentials-get=(self), publickey-credentials-create=(self), camera=(), microphone=(), geolocation=()",
        ),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    resp
}

/// A state-changing request (`POST`) must say it comes from the relying party's
/// configured origin: a page on any other origin (a lookalike, a frame, a cross-site form)
/// is refused before anything is tried.
async fn origin_check(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if req.method() == Method::POST {
        let origin = req
            .headers()
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        check_origin(&state, origin.as_deref()).await?;
    }
    Ok(next.run(req).await)
}

/// The relying party's origins, or why the web routes cannot serve.
pub(crate) async fn origins(state: &AppState) -> Result<Vec<String>, ApiError> {
    let approvals = service(state)?;
    let registry = crate::native::blocking(move || approvals.registry())
        .await?
        .map_err(|e| crate::native::flow_error(state, e))?;
    match registry.relying_party() {
        Some(rp) => Ok(rp.origins.clone()),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "webauthn_disabled",
            "approvers.toml has no `[relying_party]` (rp_id, origins): passkeys are not configured",
        )),
    }
}

async fn check_origin(state: &AppState, origin: Option<&str>) -> Result<(), ApiError> {
    let allowed = origins(state).await?;
    match origin {
        Some(o) if allowed.iter().any(|a| a == o) => Ok(()),
        Some(o) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "wrong_origin",
            format!(
                "the request comes from `{}`, not from this server's configured origin ({}): open the page at that address",
                writ_approvals::identity::visible(o),
                allowed.join(", ")
            ),
        )),
        None => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "wrong_origin",
            "the request carries no `Origin` header: only the server's own pages may send it",
        )),
    }
}

/// The approval service, or 404 when the server keeps no state.
pub(crate) fn service(state: &AppState) -> Result<Arc<Approvals>, ApiError> {
    state.approvals().cloned().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "approvals_disabled",
            "this server keeps no approval state: start it with `--state DIR` (or `--redis URL`)",
        )
    })
}

/// The caller's address (for rate limits), when the listener said.
pub(crate) fn source(req_peer: Option<&Extension<ConnectInfo<Peer>>>) -> String {
    req_peer.map_or_else(|| "unknown".to_string(), |p| p.0 .0.addr.ip().to_string())
}

/// A cookie's value from the request's `Cookie` headers.
pub(crate) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The WebAuthn assertion a page posted as `credential`.
pub(crate) fn assertion_of(
    body: &serde_json::Map<String, serde_json::Value>,
) -> Result<writ_webauthn::Assertion, ApiError> {
    body.get("credential")
        .cloned()
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| ApiError::bad(format!("`credential` is not a WebAuthn assertion: {e}")))?
        .ok_or_else(|| ApiError::bad("`credential` is required (the assertion)"))
}

/// An approver's registered passkeys as WebAuthn credential descriptors
/// (`allowCredentials`, `excludeCredentials`); none for an unknown approver.
pub(crate) fn credential_descriptors(
    registry: &writ_approvals::Registry,
    approver: &str,
) -> Vec<serde_json::Value> {
    registry
        .get(approver)
        .map(|a| {
            a.webauthn
                .iter()
                .map(
                    |c| serde_json::json!({"type": "public-key", "id": writ_approvals::b64(&c.id)}),
                )
                .collect()
        })
        .unwrap_or_default()
}
