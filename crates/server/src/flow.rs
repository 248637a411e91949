//! The approval flow over HTTP, through `writ_approvals::Approvals` (every call of it runs
//! on the blocking pool): the challenge as approvers see it, their answers, the
//! requester-only grant collection (a long poll until the quorum is met), and redemption.

use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde_json::{json, Value as Json};
use writ_approvals::{Answer, Approvals, Collect, Party, RefusalCode};
use writ_engine::Verdict;

use crate::body::{json_bytes, json_ok, kind, ApiError, JsonBody};
use crate::guard::RequestId;
use crate::identity::{self, Caller, Role};
use crate::metrics::{Outcome, Route};
use crate::native::{blocking, flow_error, Ctx};
use crate::AppState;

fn service(state: &AppState) -> Result<std::sync::Arc<Approvals>, ApiError> {
    state.approvals().cloned().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "approvals_disabled",
            "this server keeps no approval state: start it with `--state DIR` (or `--redis URL`)",
        )
    })
}

fn with_status(status: StatusCode, body: &Json) -> Response {
    let mut r = json_ok(body);
    *r.status_mut() = status;
    r
}

/// `GET /v1/challenges/{id}`: what is being approved, in full (never the grant). An
/// enforcement point (the service acting for requesters) sees any challenge; an actor only
/// one it asked for or one it is named to approve (`Approvals::challenge_for`); to others
/// it is 404, as an unknown id is.
pub async fn challenge(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let approvals = service(&state)?;
    let view = match caller.role {
        Role::EnforcementPoint => blocking(move || approvals.challenge(&id)).await?,
        Role::Actor => blocking(move || approvals.challenge_for(&id, &caller.id)).await?,
    }
    .map_err(|e| flow_error(&state, e))?;
    match view {
        Some(v) => Ok(json_ok(&v)),
        None => Err(not_found()),
    }
}

/// The 404 of a challenge a caller may not know of: the same as for an unknown id.
fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "challenge_not_found",
        "there is no such challenge (or it has been removed after expiry)",
    )
}

/// Lets an actor act on challenge `id` only as one of `parties` (an enforcement point, the
/// service acting for requesters, always may): anyone else gets the 404 an unknown id gets,
/// before anything is tried, so that no step confirms that the challenge exists or shows it.
pub(crate) async fn party_to(
    state: &AppState,
    approvals: &std::sync::Arc<Approvals>,
    caller: &Caller,
    id: &str,
    parties: &[Party],
) -> Result<(), ApiError> {
    if caller.role == Role::EnforcementPoint {
        return Ok(());
    }
    let (a, i, who) = (approvals.clone(), id.to_string(), caller.id.clone());
    let party = blocking(move || a.party_of(&i, &who))
        .await?
        .map_err(|e| flow_error(state, e))?;
    match party {
        Some(p) if parties.contains(&p) => Ok(()),
        _ => Err(not_found()),
    }
}

/// `POST /v1/challenges/{id}/answers`: an approver approves or denies, with evidence. An
/// actor answers only as itself, and only a challenge it is named to approve.
pub async fn answer(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    JsonBody(mut body): JsonBody,
) -> Result<Response, ApiError> {
    let approvals = service(&state)?;
    party_to(&state, &approvals, &caller, &id, &[Party::Approver]).await?;
    if caller.role == Role::Actor {
        match body.get("approver") {
            Some(Json::String(a)) if *a == caller.id => {}
            Some(Json::String(a)) => {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "identity_conflict",
                    format!(
                    "the body answers as `{}` but the caller is `{}`: an actor answers as itself",
                    writ_approvals::identity::visible(a),
                    writ_approvals::identity::visible(&caller.id)
                ),
                ))
            }
            _ => {}
        }
    }
    match body.get("challenge") {
        None => {
            body.insert("challenge".into(), Json::from(id.as_str()));
        }
        Some(Json::String(c)) if *c == id => {}
        Some(other) => {
            return Err(ApiError::bad(format!(
                "`challenge` is {other} in the body but the path names `{id}`"
            )))
        }
    }
    let answer: Answer = serde_json::from_value(Json::Object(body)).map_err(|e| {
        ApiError::bad(format!(
            "not an answer: {e} (expected `approver`, `approve` and `evidence`: `{{\"method\": \"signature\", \"signature\": …}}`, `{{\"method\": \"otp\", \"code\": …}}` or `{{\"method\": \"webauthn\", \"assertion\": …}}`)"
        ))
    })?;
    let answered = blocking(move || approvals.answer(&answer))
        .await?
        .map_err(|e| flow_error(&state, e))?;
    crate::metrics::answered(state.metrics(), &answered);
    let status =
        if answered.status == "accepted" {
            StatusCode::OK
        } else if answered.refusal.as_ref().is_some_and(|r| {
            serde_json::to_value(r.code).ok() == Some(json!("challenge_not_found"))
        }) {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::FORBIDDEN
        };
    Ok(with_status(
        status,
        &serde_json::to_value(&answered).unwrap_or(Json::Null),
    ))
}

/// `POST /v1/challenges/{id}/grant`: the requester collects the grant, with the collection
/// secret (`{"secret": …}`) or a proof of possession of its key (`{"jwk": …, "proof":
/// …}`); `wait_s` (at most the server's limit) holds the request open until the
/// challenge is no longer open.
pub async fn collect(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let approvals = service(&state)?;
    party_to(&state, &approvals, &caller, &id, &[Party::Requester]).await?;
    let proof = match (body.get("secret"), body.get("jwk"), body.get("proof")) {
        (Some(Json::String(s)), None, None) => Collect::Secret(s.clone()),
        (None, Some(jwk @ Json::Object(_)), Some(Json::String(p))) => Collect::Key {
            jwk: jwk.clone(),
            proof: p.clone(),
        },
        _ => {
            return Err(ApiError::bad(
                "expected `{\"secret\": \"…\"}` (the collection secret `decide` returned) or `{\"jwk\": {…}, \"proof\": \"IAT.SIGNATURE\"}`",
            ))
        }
    };
    let wait = match body.get("wait_s") {
        None | Some(Json::Null) => Duration::ZERO,
        Some(Json::Number(n)) if n.as_u64().is_some() => {
            // Always answered before the request's time limit cuts it off.
            let cap = state.limits().max_collect_wait.min(
                state
                    .limits()
                    .timeout
                    .saturating_sub(Duration::from_millis(500)),
            );
            Duration::from_secs(n.as_u64().unwrap_or(0)).min(cap)
        }
        Some(other) => {
            return Err(ApiError::bad(format!(
                "`wait_s` must be a whole number of seconds, not {}",
                kind(other)
            )))
        }
    };
    // Whoever is not the requester is refused at once (below), not after the wait.
    let wait = if wait.is_zero() {
        wait
    } else {
        let (a, i, p) = (approvals.clone(), id.clone(), proof.clone());
        let requester = blocking(move || a.is_requester(&i, &p))
            .await?
            .map_err(|e| flow_error(&state, e))?;
        if requester {
            wait
        } else {
            Duration::ZERO
        }
    };
    // Long poll: watch the challenge (no audit record per look) until it leaves `open`.
    let deadline = Instant::now() + wait;
    let mut pause = Duration::from_millis(50);
    while Instant::now() < deadline {
        let (a, i) = (approvals.clone(), id.clone());
        let view = blocking(move || a.challenge(&i))
            .await?
            .map_err(|e| flow_error(&state, e))?;
        match view {
            Some(v) if v.state == "open" => {}
            _ => break,
        }
        let left = deadline.saturating_duration_since(Instant::now());
        tokio::time::sleep(pause.min(left)).await;
        pause = (pause * 2).min(Duration::from_millis(500));
    }
    let collected = blocking(move || approvals.collect(&id, &proof))
        .await?
        .map_err(|e| flow_error(&state, e))?;
    let status = if collected.status == "granted" {
        StatusCode::OK
    } else {
        refusal_status(collected.refusal.as_ref())
    };
    let mut resp = (status, json_bytes(&collected)).into_response();
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}

/// `POST /v1/redeem`: `{"request": {…}, "grant": "…", "proof": "…"}` — the policy decides
/// again, the digest is re-derived, the grant verified and consumed once.
pub async fn redeem(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let approvals = service(&state)?;
    let mut request = match body.get("request") {
        Some(Json::Object(r)) => r.clone(),
        Some(other) => {
            return Err(ApiError::bad(format!(
                "`request` must be the request object, not {}",
                kind(other)
            )))
        }
        None => return Err(ApiError::bad("`request` is required (the request object)")),
    };
    let grant = match body.get("grant") {
        Some(Json::String(g)) => g.clone(),
        _ => return Err(ApiError::bad("`grant` is required (a string)")),
    };
    let proof = match body.get("proof") {
        None | Some(Json::Null) => None,
        Some(Json::String(p)) => Some(p.clone()),
        Some(other) => {
            return Err(ApiError::bad(format!(
                "`proof` must be a string, not {}",
                kind(other)
            )))
        }
    };
    identity::apply(&caller, &mut request)?;
    let text = serde_json::to_string(&request).unwrap_or_default();
    let x5t = caller.cert_thumbprint.clone();
    let redeemed = blocking(move || identity::redeem(&approvals, &text, &grant, proof, x5t))
        .await?
        .map_err(|e| flow_error(&state, e))?;
    let allowed = redeemed.decision.decision == Verdict::Allow;
    state.metrics().redemption(allowed);
    state
        .metrics()
        .decision_outcome(Route::Redeem, Outcome::of(redeemed.decision.decision));
    let ctx = Ctx {
        state: &state,
        route: Route::Redeem,
        caller: &caller,
        request_id: &request_id,
    };
    let refusal = redeemed.refusal.as_ref().and_then(|r| {
        serde_json::to_value(r.code)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
    });
    ctx.log(&redeemed.decision, &redeemed.decision_id, refusal);
    Ok(json_ok(&redeemed))
}

/// The HTTP status of a step on a challenge that was refused: 404 for no such challenge,
/// 409 for one with no grant yet, 403 for anything else.
pub(crate) fn refusal_status(refusal: Option<&writ_approvals::Refusal>) -> StatusCode {
    match refusal.map(|r| r.code) {
        Some(RefusalCode::ChallengeNotFound) => StatusCode::NOT_FOUND,
        Some(RefusalCode::NotGranted) => StatusCode::CONFLICT,
        _ => StatusCode::FORBIDDEN,
    }
}
