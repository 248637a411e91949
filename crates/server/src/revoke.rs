//! `POST /v1/challenges/{id}/revoke`: ends a challenge's grant at once — an elevation in
//! its time box, or a single-use grant not yet redeemed — through
//! `writ_approvals::Approvals::revoke` on the blocking pool, on every replica sharing the
//! state. The body proves who asks: the requester (`{"secret"}`, or `{"jwk", "proof"}`
//! over `writ-revoke-v1`) or an approver of the challenge's groups (`{"approver",
//! "proof"}`, an Ed25519 signature over `writ-revoke-v1`). The operator revokes with
//! `writ revoke --operator` against the same state. Never answers with the grant.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use serde_json::Value as Json;
use writ_approvals::{Collect, Party, RevokeStatus, Revoker};

use crate::body::{json_ok, ApiError, JsonBody};
use crate::identity::{Caller, Role};
use crate::native::{blocking, flow_error};
use crate::AppState;

/// What the body must hold, for a message that says so.
const EXPECTED: &str = "expected `{\"secret\": \"…\"}` (the requester's collection secret), `{\"jwk\": {…}, \"proof\": \"IAT.SIGNATURE\"}` (the requester's key, signing `writ-revoke-v1`) or `{\"approver\": \"…\", \"proof\": \"IAT.SIGNATURE\"}` (an approver's registered key, signing `writ-revoke-v1`)";

/// `POST /v1/challenges/{id}/revoke` → 200 revoked (also when it was revoked before:
/// `was` says so), 403 refused (not allowed, a proof that does not verify), 404 no such
/// challenge, 409 no grant to revoke.
pub async fn revoke(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let approvals = state.approvals().cloned().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "approvals_disabled",
            "this server keeps no approval state: start it with `--state DIR` (or `--redis URL`)",
        )
    })?;
    crate::flow::party_to(
        &state,
        &approvals,
        &caller,
        &id,
        &[Party::Requester, Party::Approver],
    )
    .await?;
    if caller.role == Role::Actor {
        if let Some(Json::String(a)) = body.get("approver") {
            if *a != caller.id {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "identity_conflict",
                    format!(
                        "the body revokes as approver `{}` but the caller is `{}`: an actor revokes as itself",
                        writ_approvals::identity::visible(a),
                        writ_approvals::identity::visible(&caller.id)
                    ),
                ));
            }
        }
    }
    let known = ["secret", "jwk", "proof", "approver"];
    if let Some(other) = body.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(ApiError::bad(format!(
            "unknown field `{other}`: {EXPECTED}"
        )));
    }
    let by = match (
        body.get("secret"),
        body.get("jwk"),
        body.get("approver"),
        body.get("proof"),
    ) {
        (Some(Json::String(secret)), None, None, None) => {
            Revoker::Requester(Collect::Secret(secret.clone()))
        }
        (None, Some(jwk @ Json::Object(_)), None, Some(Json::String(proof))) => {
            Revoker::Requester(Collect::Key {
                jwk: jwk.clone(),
                proof: proof.clone(),
            })
        }
        (None, None, Some(Json::String(approver)), Some(Json::String(proof))) => {
            Revoker::Approver {
                id: approver.clone(),
                proof: proof.clone(),
            }
        }
        _ => return Err(ApiError::bad(EXPECTED)),
    };
    let revoked = blocking(move || approvals.revoke(&id, &by))
        .await?
        .map_err(|e| flow_error(&state, e))?;
    let status = if revoked.status == RevokeStatus::Revoked {
        StatusCode::OK
    } else {
        crate::flow::refusal_status(revoked.refusal.as_ref())
    };
    let mut response = json_ok(&revoked);
    *response.status_mut() = status;
    Ok(response)
}
