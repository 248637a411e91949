//! The native API: `POST /v1/decide` (one request, or `{"requests": [...]}`) answering
//! the decision JSON of docs/language.md §14 with its `decision_id`, and `POST
//! /v1/explain`. Also the one path every route decides through ([`decide_one`]): the
//! caller applied, the request bound, the engine asked, an `approve` handed to the
//! approval service (which opens the challenge), the decision counted and logged.

use std::time::Instant;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use serde_json::{Map, Value as Json};
use writ_approvals::{Decided, Error as FlowError};
use writ_engine::{Decision, Engine, Request, Verdict};

use crate::body::{json_ok, json_response, kind, parse_object, ApiError, JsonBody, JsonText};
use crate::decision_log::Record;
use crate::guard::RequestId;
use crate::identity::{self, Caller, Role};
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
    /// An `approve` the approval service handled (challenge opened or refused), with the
    /// approval page's link for its challenge when the server serves the pages.
    Flow(Box<Decided>, Option<String>),
}

impl Answer {
    pub fn decision(&self) -> &Decision {
        match self {
            Answer::Plain { decision, .. } => decision,
            Answer::Flow(d, _) => &d.decision,
        }
    }

    pub fn decision_id(&self) -> &str {
        match self {
            Answer::Plain { decision_id, .. } => decision_id,
            Answer::Flow(d, _) => &d.decision_id,
        }
    }
}

impl Answer {
    /// Writes the native JSON straight to bytes (no intermediate JSON value): a plain
    /// decision, then its id spliced in before the closing brace.
    fn write_json(&self, out: &mut Vec<u8>) {
        let start = out.len();
        let written = match self {
            Answer::Plain {
                decision,
                decision_id,
            } => {
                decision.write_json(out);
                if out.last() == Some(&b'}') {
                    out.pop();
                    out.extend_from_slice(b",\"decision_id\":");
                    serde_json::to_writer(&mut *out, decision_id).map(|()| out.push(b'}'))
                } else {
                    Ok(())
                }
            }
            Answer::Flow(d, None) => serde_json::to_writer(&mut *out, &**d),
            Answer::Flow(d, Some(page)) => serde_json::to_value(&**d).and_then(|mut v| {
                if let Some(c) = v.get_mut("challenge").and_then(Json::as_object_mut) {
                    c.insert("page".into(), Json::from(page.as_str()));
                }
                serde_json::to_writer(&mut *out, &v)
            }),
        };
        if written.is_err() {
            // A derived `Serialize` into a `Vec` does not fail; should it, no half value.
            out.truncate(start);
            out.extend_from_slice(b"null");
        }
    }

    /// The native JSON as a response.
    fn into_response(self) -> Response {
        let mut bytes = Vec::with_capacity(1024);
        self.write_json(&mut bytes);
        json_response(bytes)
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
    request: Map<String, Json>,
) -> Result<Answer, ApiError> {
    let engine = ctx.state.store().engine();
    decide_with(ctx, &engine, request).await
}

/// Decides one writ request for a caller with an engine already loaded (a batch loads it
/// once and decides every item under the same policy version).
pub(crate) async fn decide_with(
    ctx: &Ctx<'_>,
    engine: &Engine,
    mut request: Map<String, Json>,
) -> Result<Answer, ApiError> {
    identity::apply(ctx.caller, &mut request)?;
    let started = Instant::now();
    let bound = engine
        .bind(Json::Object(request))
        .map_err(|e| ApiError::bad(format!("invalid request: {e}")))?;
    decide_bound(ctx, engine, &bound, started).await
}

/// Decides a bound request: the engine asked, an `approve` handed to the approval
/// service (which opens the challenge), the decision counted and logged. `started` is
/// when binding began (the decision latency counts binding).
pub(crate) async fn decide_bound(
    ctx: &Ctx<'_>,
    engine: &Engine,
    bound: &Request,
    started: Instant,
) -> Result<Answer, ApiError> {
    let decision = engine.decide(bound);
    let took = started.elapsed();
    let metrics = ctx.state.metrics();
    if decision.decision == Verdict::Approve {
        if let Some(approvals) = ctx.state.approvals() {
            // Everything the approval service does and everything that follows from it
            // (metrics, notices, the decision log) runs in one blocking task: should the
            // request's time limit drop this handler, the task still finishes, so no
            // challenge is opened without its notice and its log line.
            let (state, caller) = (ctx.state.clone(), ctx.caller.clone());
            let (route, request_id) = (ctx.route, ctx.request_id.to_string());
            let text = serde_json::to_string(bound.json()).unwrap_or_default();
            let json = bound.json().clone();
            let approvals = approvals.clone();
            let (decided, page) = blocking(move || {
                let ctx = Ctx {
                    state: &state,
                    route,
                    caller: &caller,
                    request_id: &request_id,
                };
                open_flow(&ctx, &approvals, &text, &json, took)
            })
            .await??;
            return Ok(Answer::Flow(Box::new(decided), page));
        }
    }
    metrics.decision(ctx.route, Outcome::of(decision.decision), took);
    let decision_id = crate::ids::new_id("d_");
    if let Some(n) = ctx.state.notifier() {
        n.obligations(&decision, &decision_id, bound.json());
    }
    ctx.log(&decision, &decision_id, None);
    Ok(Answer::Plain {
        decision,
        decision_id,
    })
}

/// An `approve` handed to the approval service (which opens the challenge, or refuses),
/// then counted, noticed and logged; with the approval page's link for its challenge.
fn open_flow(
    ctx: &Ctx<'_>,
    approvals: &writ_approvals::Approvals,
    text: &str,
    json: &Json,
    took: std::time::Duration,
) -> Result<(Decided, Option<String>), ApiError> {
    let metrics = ctx.state.metrics();
    let decided = match identity::binding(ctx.caller) {
        Some(x5t) => approvals.decide_over_certificate(text, &x5t),
        None => approvals.decide(text),
    }
    .map_err(|e| flow_error(ctx.state, e))?;
    // The approval pages serve when the registry has a relying party: its first origin
    // is theirs, unless the configuration names another.
    let origin = decided
        .challenge
        .is_some()
        .then(|| approvals.registry().ok())
        .flatten()
        .and_then(|r| r.relying_party().and_then(|rp| rp.origins.first().cloned()));
    metrics.decision(ctx.route, Outcome::of(decided.decision.decision), took);
    if decided.challenge.is_some() {
        metrics.challenge(ChallengeEvent::Opened);
    }
    if let Some(n) = ctx.state.notifier() {
        if let Some(view) = decided.challenge.as_ref().filter(|v| !v.merged) {
            n.challenge_opened(view, ctx.state.public_url(), origin.as_deref());
        }
        n.obligations(&decided.decision, &decided.decision_id, json);
    }
    let refusal = decided
        .refusal
        .as_ref()
        .and_then(|r| serde_json::to_value(r.code).ok())
        .and_then(|v| v.as_str().map(str::to_string));
    ctx.log(&decided.decision, &decided.decision_id, refusal);
    let page = decided.challenge.as_ref().and_then(|c| {
        let base = ctx
            .state
            .notifier()
            .and_then(|n| n.base_url())
            .or(ctx.state.public_url())
            .or(origin.as_deref())
            .filter(|_| origin.is_some())?;
        Some(format!("{}/approve/{}", base.trim_end_matches('/'), c.id))
    });
    Ok((decided, page))
}

/// `POST /v1/decide`.
///
/// The hot path: an enforcement point's single request goes from the body text straight
/// to the engine's streaming binder ([`Engine::bind_str`]: the same strict rules as
/// parsing to a tree and binding it, in one pass, no tree), and the decision is written
/// straight to bytes. A batch, an actor's request (its identity is applied to the tree)
/// and anything the binder refuses take the tree path, which also words every refusal.
pub async fn decide(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    JsonText(bytes): JsonText,
) -> Result<Response, ApiError> {
    decide_text(&state, &caller, &request_id, &bytes).await
}

/// [`decide`] on what its extractors give (for `crate::lane` too).
pub(crate) async fn decide_text(
    state: &AppState,
    caller: &Caller,
    request_id: &str,
    bytes: &[u8],
) -> Result<Response, ApiError> {
    let ctx = Ctx {
        state,
        route: Route::Decide,
        caller,
        request_id,
    };
    let engine = state.store().engine();
    if caller.role == Role::EnforcementPoint && !looks_like_batch(bytes) {
        if let Ok(text) = std::str::from_utf8(bytes) {
            let started = Instant::now();
            // A batch never binds (`requests` is no request root): it falls through.
            if let Ok(bound) = engine.bind_str(text) {
                return Ok(decide_bound(&ctx, &engine, &bound, started)
                    .await?
                    .into_response());
            }
        }
    }
    if caller.role == Role::EnforcementPoint {
        if let Some(bound) = bind_batch(&engine, bytes, state.limits().max_batch) {
            return decide_batch(&ctx, &engine, &bound).await;
        }
    }
    let mut body = parse_object(bytes)?;
    let Some(requests) = body.remove("requests") else {
        return Ok(decide_with(&ctx, &engine, body).await?.into_response());
    };
    let Json::Array(items) = requests else {
        return Err(ApiError::bad(format!(
            "`requests` must be an array of request objects, not {}",
            kind(&requests)
        )));
    };
    if !body.is_empty() {
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
    // One engine load, one response written as it is decided.
    let mut out = Vec::with_capacity(16 + items.len() * 1024);
    out.extend_from_slice(b"{\"decisions\":[");
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let answer = match item {
            Json::Object(m) => decide_with(&ctx, &engine, m).await.map_err(|mut e| {
                // Which item, in the words of the body.
                e.message = format!("`requests[{i}]`: {}", e.message);
                e
            }),
            other => Err(ApiError::bad(format!(
                "`requests[{i}]` must be a request object, not {}",
                kind(&other)
            ))),
        };
        write_item(state, &mut out, answer)?;
    }
    out.extend_from_slice(b"]}");
    Ok(json_response(out))
}

/// An enforcement point's batch bound item by item from spans of the body
/// ([`writ_engine::batch_items`]), each by the streaming binder (no tree of the whole
/// body, no tree per item): `None` unless the envelope is exactly a batch within `max`
/// items and *every* item binds, so that a batch with anything to refuse takes the tree
/// path, which words each refusal, before anything is decided.
fn bind_batch(engine: &Engine, bytes: &[u8], max: usize) -> Option<Vec<(Request, Instant)>> {
    if !looks_like_batch(bytes) {
        return None;
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let items = writ_engine::batch_items(text)?;
    if items.len() > max {
        return None;
    }
    items
        .iter()
        .map(|item| {
            let started = Instant::now();
            engine.bind_str(item).ok().map(|bound| (bound, started))
        })
        .collect()
}

/// Decides a batch [`bind_batch`] bound: one engine, one response written as it is
/// decided, in order.
async fn decide_batch(
    ctx: &Ctx<'_>,
    engine: &Engine,
    bound: &[(Request, Instant)],
) -> Result<Response, ApiError> {
    ctx.state.metrics().batch(bound.len());
    let mut out = Vec::with_capacity(16 + bound.len() * 1024);
    out.extend_from_slice(b"{\"decisions\":[");
    for (i, (request, started)) in bound.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let answer = decide_bound(ctx, engine, request, *started).await;
        write_item(ctx.state, &mut out, answer)?;
    }
    out.extend_from_slice(b"]}");
    Ok(json_response(out))
}

/// Writes one item of a batch's answer: its decision, or its refusal as an `error`
/// object in its place; a store that is unavailable fails the whole batch (503).
fn write_item(
    state: &AppState,
    out: &mut Vec<u8>,
    answer: Result<Answer, ApiError>,
) -> Result<(), ApiError> {
    match answer {
        Ok(a) => a.write_json(out),
        Err(e) if e.status == StatusCode::SERVICE_UNAVAILABLE => return Err(e),
        Err(e) => {
            state
                .metrics()
                .decision_outcome(Route::Decide, Outcome::Error);
            out.extend_from_slice(&crate::body::json_bytes(
                &serde_json::json!({"error": {"code": e.code, "message": e.message}}),
            ));
        }
    }
    Ok(())
}

/// Whether a body starts as a batch does (`{"requests"`): such a body goes straight to
/// the tree path rather than through a streaming bind that would scan all of it only to
/// refuse the `requests` root. Only a shortcut: a batch it misses is refused by the
/// binder and still decided as a batch.
fn looks_like_batch(bytes: &[u8]) -> bool {
    let rest = bytes.trim_ascii_start();
    let Some(rest) = rest.strip_prefix(b"{") else {
        return false;
    };
    rest.trim_ascii_start().starts_with(b"\"requests\"")
}

/// `POST /v1/explain`: the decision with every rule's and signal's trace — for callers
/// allowed to see the policy's text (callers.toml `explain = true`, or the development
/// identity); others get it [`redacted`].
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
    if caller.explain {
        return Ok(json_ok(&explanation));
    }
    Ok(json_ok(&redacted(
        serde_json::to_value(&explanation).unwrap_or(Json::Null),
    )))
}

/// An explanation without the policy's text, for a caller callers.toml does not let see
/// it (`explain = true`): the decision as `/v1/decide` gives it, the rules that won and
/// the signals that counted by name, no condition of any rule or signal, and
/// `"redacted": true`.
fn redacted(mut explanation: Json) -> Json {
    let keep = |list: Option<&mut Json>, flag: &str| {
        if let Some(Json::Array(items)) = list {
            items.retain(|i| i.get(flag) == Some(&Json::Bool(true)));
            for item in items.iter_mut() {
                if let Json::Object(m) = item {
                    m.remove("condition");
                }
            }
        }
    };
    keep(explanation.get_mut("rules"), "won");
    keep(explanation.get_mut("signals"), "counted");
    if let Json::Object(m) = &mut explanation {
        m.insert("redacted".into(), Json::Bool(true));
    }
    explanation
}

#[cfg(test)]
mod tests {
    #[test]
    fn batches_are_recognised_by_their_start() {
        assert!(super::looks_like_batch(b" {\n \"requests\": []}"));
        assert!(!super::looks_like_batch(b"{\"action\": \"x\"}"));
        assert!(!super::looks_like_batch(
            b"{\"action\": \"x\", \"requests\": []}"
        ));
        assert!(!super::looks_like_batch(b"[\"requests\"]"));
        assert!(!super::looks_like_batch(b""));
    }
}
