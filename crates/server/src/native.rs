//! The native API: `POST /v1/decide` (one request, or `{"requests": [...]}`) answering
//! the decision JSON of docs/language.md §14 with its `decision_id`, and `POST
//! /v1/explain`. Also the one path every route decides through ([`decide_one`]): the
//! caller applied, the request bound, the engine asked, an `approve` handed to the
//! approval service (which opens the challenge), the decision counted and logged.

use std::time::Instant;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};
use axum::Extension;
use serde::Serialize;
use serde_json::{Map, Value as Json};
use writ_approvals::{Decided, Error as FlowError};
use writ_engine::{Decision, Verdict};

use crate::body::{json_ok, kind, ApiError, JsonBody};
use crate::decision_log::Record;
use crate::guard::RequestId;
use crate::identity::{self, Caller};
use crate::metrics::{ChallengeEvent, Outcome, Route};
use crate::AppState;

/// Who asks, through which route, in which exchange.
pub(crate) struct Ctx<'a> {
    pub state: &'a AppState,
    pub route: Route,
    pub caller: &'a Caller,
    pub request_id: &'a str,
}

/// A decision and its id; from the approval service when it opened a challenge.
#[expect(
    clippy::large_enum_variant,
    reason = "the plain decision is the hot path: boxing it would allocate per decision"
)]
pub(crate) enum Answer {
    /// The engine's decision.
    Plain {
        decision: Decision,
        decision_id: String,
    },
    /// An `approve` the approval service handled (challenge opened or refused).
    Flow(Box<Decided>),
}

impl Answer {
    pub fn decision(&self) -> &Decision {
        match self {
            Answer::Plain { decision, .. } => decision,
            Answer::Flow(d) => &d.decision,
        }
    }

    pub fn decision_id(&self) -> &str {
        match self {
            Answer::Plain { decision_id, .. } => decision_id,
            Answer::Flow(d) => &d.decision_id,
        }
    }

    /// The native JSON: the decision, its id, and for the flow the challenge.
    pub fn to_json(&self) -> Json {
        #[derive(Serialize)]
        struct WithId<'a> {
            #[serde(flatten)]
            decision: &'a Decision,
            decision_id: &'a str,
        }
        match self {
            Answer::Plain {
                decision,
                decision_id,
            } => serde_json::to_value(WithId {
                decision,
                decision_id,
            }),
            Answer::Flow(d) => serde_json::to_value(&**d),
        }
        .unwrap_or(Json::Null)
    }
}

impl Answer {
    /// The native JSON as a response, written straight to bytes on the hot path (the
    /// decision, then its id spliced in before the closing brace).
    fn into_response(self) -> Response {
        match self {
            Answer::Plain {
                decision,
                decision_id,
            } => {
                let mut bytes = crate::body::json_bytes(&decision);
                if bytes.last() == Some(&b'}') {
                    bytes.pop();
                    bytes.extend_from_slice(b",\"decision_id\":");
                    bytes.extend_from_slice(&crate::body::json_bytes(&decision_id));
                    bytes.push(b'}');
                }
                let mut r = bytes.into_response();
                r.headers_mut().insert(
                    axum::http::header::CONTENT_TYPE,
                    axum::http::HeaderValue::from_static("application/json"),
                );
                r
            }
            flow => json_ok(&flow.to_json()),
        }
    }
}

/// A failure of the approval service: the request's fault (400) or the store's (503,
/// failing closed).
pub(crate) fn flow_error(state: &AppState, e: FlowError) -> ApiError {
    match e {
        FlowError::Request(m) => ApiError::bad(format!("invalid request: {m}")),
        other => {
            state.metrics().store_error();
            eprintln!(
                "{}",
                serde_json::json!({"ts": jiff::Timestamp::now().to_string(), "msg": "approval service failure", "error": other.to_string()})
            );
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                "the approval state is unavailable: nothing was granted; retry later",
            )
        }
    }
}

/// Runs a blocking call of the approval service off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the server is shutting down",
        )
    })
}

impl Ctx<'_> {
    /// Logs one decision (never a grant, key or code: the record has no field for one).
    pub fn log(&self, decision: &Decision, decision_id: &str, refusal: Option<String>) {
        if let Some(log) = self.state.log() {
            log.log(Record {
                ts: jiff::Timestamp::now().to_string(),
                decision_id: decision_id.to_string(),
                request_id: self.request_id.to_string(),
                route: self.route.as_str(),
                caller: self.caller.id.clone(),
                policy_version: decision.policy_version.to_string(),
                outcome: decision.decision.as_str(),
                risk: decision.risk,
                rules: decision.rules.iter().map(ToString::to_string).collect(),
                digest: decision.approval.as_ref().map(|a| a.digest.clone()),
                refusal,
            });
        }
    }
}

/// Decides one writ request for a caller.
pub(crate) async fn decide_one(
    ctx: &Ctx<'_>,
    mut request: Map<String, Json>,
) -> Result<Answer, ApiError> {
    identity::apply(ctx.caller, &mut request)?;
    let engine = ctx.state.store().engine();
    let started = Instant::now();
    let bound = engine
        .bind(Json::Object(request))
        .map_err(|e| ApiError::bad(format!("invalid request: {e}")))?;
    let decision = engine.decide(&bound);
    let took = started.elapsed();
    let metrics = ctx.state.metrics();
    if decision.decision == Verdict::Approve {
        if let Some(approvals) = ctx.state.approvals() {
            let text = serde_json::to_string(bound.json()).unwrap_or_default();
            let approvals = approvals.clone();
            let x5t = identity::binding(ctx.caller);
            let decided = blocking(move || match x5t {
                Some(x5t) => approvals.decide_over_certificate(&text, &x5t),
                None => approvals.decide(&text),
            })
            .await?
            .map_err(|e| flow_error(ctx.state, e))?;
            metrics.decision(ctx.route, Outcome::of(decided.decision.decision), took);
            if decided.challenge.is_some() {
                metrics.challenge(ChallengeEvent::Opened);
            }
            let refusal = decided
                .refusal
                .as_ref()
                .and_then(|r| serde_json::to_value(r.code).ok())
                .and_then(|v| v.as_str().map(str::to_string));
            ctx.log(&decided.decision, &decided.decision_id, refusal);
            return Ok(Answer::Flow(Box::new(decided)));
        }
    }
    metrics.decision(ctx.route, Outcome::of(decision.decision), took);
    let decision_id = crate::ids::new_id("d_");
    ctx.log(&decision, &decision_id, None);
    Ok(Answer::Plain {
        decision,
        decision_id,
    })
}

/// `POST /v1/decide`.
pub async fn decide(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let ctx = Ctx {
        state: &state,
        route: Route::Decide,
        caller: &caller,
        request_id: &request_id,
    };
    let Some(requests) = body.get("requests") else {
        return Ok(decide_one(&ctx, body).await?.into_response());
    };
    let Json::Array(items) = requests else {
        return Err(ApiError::bad(format!(
            "`requests` must be an array of request objects, not {}",
            kind(requests)
        )));
    };
    if body.len() > 1 {
        return Err(ApiError::bad(
            "a batch is `{\"requests\": [...]}` alone: put every root inside each request",
        ));
    }
    let max = state.limits().max_batch;
    if items.len() > max {
        return Err(ApiError::bad(format!(
            "the batch has {} requests; at most {max} are accepted in one call",
            items.len()
        )));
    }
    state.metrics().batch(items.len());
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let answer = match item {
            Json::Object(m) => decide_one(&ctx, m.clone()).await,
            other => Err(ApiError::bad(format!(
                "`requests[{i}]` must be a request object, not {}",
                kind(other)
            ))),
        };
        out.push(match answer {
            Ok(a) => a.to_json(),
            Err(e) if e.status == StatusCode::SERVICE_UNAVAILABLE => return Err(e),
            Err(e) => {
                state
                    .metrics()
                    .decision_outcome(Route::Decide, Outcome::Error);
                serde_json::json!({"error": {"code": e.code, "message": e.message}})
            }
        });
    }
    Ok(json_ok(&serde_json::json!({ "decisions": out })))
}

/// `POST /v1/explain`: the decision with every rule's and signal's trace.
pub async fn explain(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    JsonBody(mut body): JsonBody,
) -> Result<Response, ApiError> {
    identity::apply(&caller, &mut body)?;
    let engine = state.store().engine();
    let bound = engine
        .bind(Json::Object(body))
        .map_err(|e| ApiError::bad(format!("invalid request: {e}")))?;
    let started = Instant::now();
    let explanation = engine.explain(&bound);
    state.metrics().decision(
        Route::Explain,
        Outcome::of(explanation.decision.decision),
        started.elapsed(),
    );
    Ok(json_ok(&explanation))
}
