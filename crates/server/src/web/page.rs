//! The approval page's data and its answers: a signed-in approver named by the challenge
//! reads it in full (never its binding code: they type the one the requester's screen
//! shows), and approves or denies it with a WebAuthn assertion whose challenge is the
//! documented derivation over the challenge id and digest, only their own passkeys
//! allowed. The answer goes through `Approvals::answer` like any other: a wrong code with
//! a valid assertion closes the challenge as a suspected relay.

use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde_json::{json, Value as Json};
use writ_approvals::{Answer, Evidence, Party};

use super::limit::WebError;
use super::session::signed_in;
use super::{service, source, Web};
use crate::body::{json_bytes, json_ok, ApiError, JsonBody};
use crate::native::{blocking, flow_error};
use crate::tls::Peer;
use crate::AppState;

fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "challenge_not_found",
        "there is no such challenge for you (or it has been removed after expiry)",
    )
}

/// The challenge as the page shows it: the view without its binding code, who asks, and
/// the WebAuthn request options for approving and denying.
fn page_view(
    view: &writ_approvals::ChallengeView,
    approver: &str,
    registry: &writ_approvals::Registry,
) -> Json {
    let mut v = serde_json::to_value(view).unwrap_or(Json::Null);
    if let Some(o) = v.as_object_mut() {
        // Number matching: the approver types the code the requester was shown.
        o.remove("code");
    }
    let r = &view.requester;
    let credentials = super::credential_descriptors(registry, approver);
    let answered = view
        .approvals
        .iter()
        .any(|a| writ_approvals::identity::same(&a.approver, approver));
    json!({
        "approver": approver,
        "challenge": v,
        "requester": {
            "principal": r.principal,
            "kind": r.kind,
            "on_behalf_of": r.on_behalf_of,
            "action": r.action,
            "resource": r.resource,
            "session": r.session,
        },
        "opened_at": view.opened_at,
        "answered": answered,
        "rpId": registry.relying_party().map(|rp| rp.rp_id.clone()),
        "allowCredentials": credentials,
        "approveChallenge": writ_approvals::b64(&writ_approvals::webauthn_answer_challenge(&view.id, &view.digest, true)),
        "denyChallenge": writ_approvals::b64(&writ_approvals::webauthn_answer_challenge(&view.id, &view.digest, false)),
        // What the page marks as hidden: the server's own list, as code point ranges.
        "hidden": writ_approvals::identity::hidden_ranges(),
    })
}

/// `GET /web/api/challenges/{id}`: the page's data, for a signed-in approver the
/// challenge names; 404 to anyone else (as for an unknown id).
pub(crate) async fn challenge(
    State(state): State<AppState>,
    Extension(web): Extension<Arc<Web>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let approvals = service(&state)?;
    let (approver, _) = signed_in(&state, &web, &headers)?;
    let who = approver.clone();
    let got = blocking(move || {
        let party = approvals.party_of(&id, &who)?;
        if party != Some(Party::Approver) {
            return Ok(None);
        }
        let view = approvals.challenge(&id)?;
        let registry = approvals.registry()?;
        Ok::<_, writ_approvals::Error>(view.map(|v| (v, registry)))
    })
    .await?
    .map_err(|e| flow_error(&state, e))?;
    let (view, registry) = got.ok_or_else(not_found)?;
    Ok(json_ok(&page_view(&view, &approver, &registry)))
}

/// `POST /web/api/challenges/{id}/answer`: `{"approve": bool, "code": "123456",
/// "credential": <assertion JSON>}` — answered as the signed-in approver. Approving
/// needs the code; denying takes it when typed.
pub(crate) async fn answer(
    State(state): State<AppState>,
    Extension(web): Extension<Arc<Web>>,
    peer: Option<Extension<ConnectInfo<Peer>>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, WebError> {
    let approvals = service(&state)?;
    web.limits.address(&source(peer.as_ref()))?;
    let (approver, _) = signed_in(&state, &web, &headers)?;
    web.limits.approver(&approver)?;
    let approve = match body.get("approve") {
        Some(Json::Bool(b)) => *b,
        _ => return Err(ApiError::bad("`approve` is required: true or false").into()),
    };
    let code = match body.get("code") {
        Some(Json::String(c)) if !c.trim().is_empty() => Some(c.trim().to_string()),
        None | Some(Json::Null) | Some(Json::String(_)) => None,
        Some(_) => return Err(ApiError::bad("`code` must be the six digits, as a string").into()),
    };
    if approve && code.is_none() {
        return Err(ApiError::bad(
            "type the six-digit code shown on the requester's screen before approving",
        )
        .into());
    }
    let assertion = super::assertion_of(&body)?;
    let (a, i, who) = (approvals.clone(), id.clone(), approver.clone());
    let party = blocking(move || a.party_of(&i, &who))
        .await?
        .map_err(|e| flow_error(&state, e))?;
    if party != Some(Party::Approver) {
        return Err(not_found().into());
    }
    let answer = Answer {
        challenge: id,
        approver: approver.clone(),
        approve,
        code,
        evidence: Evidence::Webauthn { assertion },
    };
    let a = approvals.clone();
    let answered = blocking(move || a.answer(&answer))
        .await?
        .map_err(|e| flow_error(&state, e))?;
    crate::metrics::answered(state.metrics(), &answered);
    let registry = blocking(move || approvals.registry())
        .await?
        .map_err(|e| flow_error(&state, e))?;
    let status = if answered.status == "accepted" {
        StatusCode::OK
    } else {
        StatusCode::FORBIDDEN
    };
    let body = json!({
        "status": answered.status,
        "refusal": answered.refusal,
        "page": answered.challenge.as_ref().map(|v| page_view(v, &approver, &registry)),
    });
    let mut resp = (status, json_bytes(&body)).into_response();
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}
