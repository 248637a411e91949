//! Enrolment through a one-time invitation (`writ webauthn invite DIR --as ID`): the page
//! at `/enroll/{token}` asks for creation options (a registration challenge the engine
//! signs, the relying party of approvers.toml, user verification required, a resident key
//! preferred) and sends back `navigator.credentials.create`'s response, which
//! `Approvals::register_webauthn_by_invite` verifies and records as `writ webauthn
//! register` does — consuming the invitation.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value as Json};
use sha2::{Digest as _, Sha256};

use super::service;
use crate::body::{json_ok, ApiError, JsonBody};
use crate::native::{blocking, flow_error};
use crate::AppState;

fn token_of(body: &serde_json::Map<String, Json>) -> Result<String, ApiError> {
    match body.get("token") {
        Some(Json::String(t)) if t.len() <= 1024 => Ok(t.clone()),
        _ => Err(ApiError::bad(
            "`token` is required: the invitation in the link (`/enroll/{token}`)",
        )),
    }
}

fn refused(message: String) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "enrolment_refused", message)
}

/// `POST /web/api/enroll/options`: `{"token": …}` → who is invited and the creation
/// options.
pub(crate) async fn options(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let approvals = service(&state)?;
    let token = token_of(&body)?;
    let approver = approvals.webauthn_invitee(&token).map_err(refused)?;
    let (a, who) = (approvals.clone(), approver.clone());
    let made = blocking(move || {
        let challenge = a.webauthn_registration_challenge(&who)?;
        let registry = a.registry()?;
        Ok::<_, writ_approvals::Error>((challenge, registry))
    })
    .await?
    .map_err(|e| flow_error(&state, e))?;
    let (challenge, registry) = made;
    let challenge = challenge.map_err(refused)?;
    let Some(rp) = registry.relying_party() else {
        return Err(refused(
            "approvers.toml has no `[relying_party]`: passkeys are not configured".into(),
        ));
    };
    let exclude = super::credential_descriptors(&registry, &approver);
    // An opaque user handle: no personal data on the authenticator beyond the name shown.
    let mut h = Sha256::new();
    h.update(b"writ-user-v1\0");
    h.update(approver.as_bytes());
    let user_id = writ_approvals::b64(&h.finalize()[..16]);
    Ok(json_ok(&json!({
        "approver": approver,
        "publicKey": {
            "challenge": writ_approvals::b64(&challenge),
            "rp": {"id": rp.rp_id, "name": "writ approvals"},
            "user": {"id": user_id, "name": approver, "displayName": approver},
            "pubKeyCredParams": [
                {"type": "public-key", "alg": -7},
                {"type": "public-key", "alg": -8},
                {"type": "public-key", "alg": -257}
            ],
            "authenticatorSelection": {"residentKey": "preferred", "userVerification": "required"},
            "attestation": "none",
            "timeout": 300_000,
            "excludeCredentials": exclude,
        }
    })))
}

/// `POST /web/api/enroll/finish`: `{"token", "challenge", "credential"}` → the passkey
/// is registered (the invitation is used up).
pub(crate) async fn finish(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let approvals = service(&state)?;
    let token = token_of(&body)?;
    let challenge = match body.get("challenge") {
        Some(Json::String(c)) => writ_approvals::unb64(c, "challenge").map_err(ApiError::bad)?,
        _ => return Err(ApiError::bad("`challenge` is required (from the options)")),
    };
    let attestation: writ_webauthn::Attestation = body
        .get("credential")
        .cloned()
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| {
            ApiError::bad(format!(
                "`credential` is not a WebAuthn registration response: {e}"
            ))
        })?
        .ok_or_else(|| ApiError::bad("`credential` is required (the registration response)"))?;
    let done =
        blocking(move || approvals.register_webauthn_by_invite(&token, &challenge, &attestation))
            .await?
            .map_err(|e| flow_error(&state, e))?;
    let (approver, entry) = done.map_err(refused)?;
    let credential = entry
        .lines()
        .find_map(|l| l.strip_prefix("id = \""))
        .map(|l| l.trim_end_matches('"').to_string());
    Ok(json_ok(
        &json!({"approver": approver, "credential": credential}),
    ))
}

/// `GET /web/api/passkeys`: the signed-in approver's passkeys.
pub(crate) async fn passkeys(
    State(state): State<AppState>,
    axum::Extension(web): axum::Extension<std::sync::Arc<super::Web>>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let approvals = service(&state)?;
    let (approver, _) = super::session::signed_in(&state, &web, &headers)?;
    let registry = blocking(move || approvals.registry())
        .await?
        .map_err(|e| flow_error(&state, e))?;
    let list: Vec<Json> = registry
        .get(&approver)
        .map(|a| {
            a.webauthn
                .iter()
                .map(|c| json!({"id": writ_approvals::b64(&c.id)}))
                .collect()
        })
        .unwrap_or_default();
    Ok(json_ok(&json!({"approver": approver, "passkeys": list})))
}

/// `POST /web/api/passkeys/remove`: `{"id": …}` — removes one of the signed-in approver's
/// passkeys (never the last one).
pub(crate) async fn remove(
    State(state): State<AppState>,
    axum::Extension(web): axum::Extension<std::sync::Arc<super::Web>>,
    headers: axum::http::HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let approvals = service(&state)?;
    let (approver, _) = super::session::signed_in(&state, &web, &headers)?;
    let id = match body.get("id") {
        Some(Json::String(id)) => id.clone(),
        _ => {
            return Err(ApiError::bad(
                "`id` is required: the passkey's credential id",
            ))
        }
    };
    let who = approver.clone();
    let removed = blocking(move || approvals.remove_webauthn(&who, &id))
        .await?
        .map_err(|e| flow_error(&state, e))?;
    removed.map_err(|m| ApiError::new(StatusCode::FORBIDDEN, "removal_refused", m))?;
    Ok(json_ok(&json!({"approver": approver, "removed": true})))
}
