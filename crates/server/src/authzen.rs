//! AuthZEN Authorization API 1.0: discovery, `POST /access/v1/evaluation` and `POST
//! /access/v1/evaluations`, and the mapping of subject, action, resource and context onto
//! writ's request roots (docs/server.md, "The AuthZEN mapping"):
//!
//! - `subject.id` → `principal.id`; `subject.type` → `principal.type`, and
//!   `principal.kind` when it names one (`user`/`human` → `human`, `workload`/`service` →
//!   `workload`, `agent`); `subject.properties.*` → `principal.*`
//!   (`ip_address` → `network.ip`, `device_id` → `device.id`);
//! - `action.name` → `action`; `action.properties` → `request.params`;
//! - `resource.id` → `resource.id`; `resource.type` → `resource.kind`;
//!   `resource.properties.*` → `resource.*`;
//! - `context.{device,network,session,time,scope,request}` → those roots; `context.ip` →
//!   `network.ip`; any other `context` key `k` → `request.context.k`; `context.approval`
//!   is the retry carrying a grant, redeemed and never passed to the engine.
//!
//! Two sources writing one path with different values are refused (400), never merged
//! silently. `allow` is `true`; `deny` and `approve` are `false`, an `approve` with
//! `context.reason = "approval_required"` and, when the server keeps state, the
//! `access_request` of the Access Request and Approval profile draft.

use std::time::Instant;

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::Response;
use axum::Extension;
use serde_json::{json, Map, Value as Json};
use writ_engine::{Decision, Verdict};

use crate::body::{
    json_bytes, json_ok, json_response, kind, parse_object, ApiError, JsonBody, JsonText,
};
use crate::guard::RequestId;
use crate::identity::{self, Caller, Role};
use crate::metrics::{Outcome, Route};
use crate::native::{blocking, decide_bound, decide_one, flow_error, Answer, Ctx};
use crate::AppState;

/// The base URL: the configured one, or `http://` (`https://` over TLS) + the `Host` header.
pub(crate) fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(u) = state.public_url() {
        return u.trim_end_matches('/').to_string();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        })
        .unwrap_or("localhost");
    let scheme = if state.tls() == "off" {
        "http"
    } else {
        "https"
    };
    format!("{scheme}://{host}")
}

/// `GET /.well-known/authzen-configuration`.
pub async fn discovery(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let base = base_url(&state, &headers);
    let mut doc = json!({
        "policy_decision_point": base,
        "access_evaluation_endpoint": format!("{base}/access/v1/evaluation"),
        "access_evaluations_endpoint": format!("{base}/access/v1/evaluations"),
    });
    if state.approvals().is_some() {
        doc["capabilities"] = json!(["urn:openid:authzen:capability:access-request"]);
    }
    json_ok(&doc)
}

/// The writ roots a `context` key may name directly.
pub(crate) const CONTEXT_ROOTS: [&str; 6] =
    ["device", "network", "session", "time", "scope", "request"];

/// An entity of the request (`subject`, `action`, `resource`), checked: an object whose
/// `required` members are strings and whose `properties` is an object.
fn entity<'a>(
    value: &'a Json,
    name: &str,
    required: &[&str],
) -> Result<&'a Map<String, Json>, String> {
    let Json::Object(m) = value else {
        return Err(format!("`{name}` must be an object, not {}", kind(value)));
    };
    for field in required {
        match m.get(*field) {
            None | Some(Json::Null) => {
                return Err(format!("`{name}.{field}` is required (a string)"))
            }
            Some(Json::String(_)) => {}
            Some(other) => {
                return Err(format!(
                    "`{name}.{field}` must be a string, not {}",
                    kind(other)
                ))
            }
        }
    }
    match m.get("properties") {
        None | Some(Json::Null | Json::Object(_)) => Ok(m),
        Some(other) => Err(format!(
            "`{name}.properties` must be an object, not {}",
            kind(other)
        )),
    }
}

/// Writes `value` at `path` under `root`, refusing a different value already there
/// (objects merge member by member).
fn put(root: &mut Map<String, Json>, path: &[&str], value: Json, from: &str) -> Result<(), String> {
    let Some((last, parents)) = path.split_last() else {
        return Ok(());
    };
    let mut here = root;
    for (i, p) in parents.iter().enumerate() {
        let slot = here
            .entry((*p).to_string())
            .or_insert_with(|| Json::Object(Map::new()));
        match slot {
            Json::Object(m) => here = m,
            _ => {
                return Err(format!(
                    "`{from}` writes under `{}`, which is not an object",
                    path[..=i].join(".")
                ))
            }
        }
    }
    match (here.get_mut(*last), value) {
        (None, v) => {
            here.insert((*last).to_string(), v);
            Ok(())
        }
        (Some(Json::Object(existing)), Json::Object(new)) => {
            for (k, v) in new {
                put(existing, &[k.as_str()], v, from)?;
            }
            Ok(())
        }
        (Some(existing), v) if *existing == v => Ok(()),
        (Some(existing), v) => Err(format!(
            "`{from}` sets `{}` to {v}, but it is already {existing}",
            path.join(".")
        )),
    }
}

pub(crate) fn kind_of_type(t: &str) -> Option<&'static str> {
    match t {
        "user" | "human" => Some("human"),
        "workload" | "service" => Some("workload"),
        "agent" => Some("agent"),
        _ => None,
    }
}

/// Accepts `2025-06-27T18:03-07:00` (RFC 3339 without seconds, as the AuthZEN examples
/// write it) by inserting `:00`; anything else is left for the binder to judge.
pub(crate) fn normalise_time(t: &str) -> String {
    let b = t.as_bytes();
    let minute_end = 16; // YYYY-MM-DDTHH:MM
    if b.len() > minute_end
        && b.get(10).is_some_and(|c| *c == b'T' || *c == b't')
        && b.get(13) == Some(&b':')
        && matches!(b[minute_end], b'Z' | b'z' | b'+' | b'-')
    {
        format!("{}:00{}", &t[..minute_end], &t[minute_end..])
    } else {
        t.to_string()
    }
}

/// A checked 4-tuple mapped onto a writ request; `approval` is the retry's grant.
pub(crate) struct Mapped {
    pub request: Map<String, Json>,
    pub approval: Option<Map<String, Json>>,
}

/// Maps one evaluation (already merged with the defaults) onto a writ request.
pub(crate) fn map_tuple(t: &Map<String, Json>) -> Result<Mapped, String> {
    let subject = entity(
        t.get("subject")
            .ok_or("`subject` is required (an object with `type` and `id`)")?,
        "subject",
        &["type", "id"],
    )?;
    let action = entity(
        t.get("action")
            .ok_or("`action` is required (an object with `name`)")?,
        "action",
        &["name"],
    )?;
    let resource = entity(
        t.get("resource")
            .ok_or("`resource` is required (an object with `type` and `id`)")?,
        "resource",
        &["type", "id"],
    )?;
    let mut r = Map::new();
    // Subject.
    if let Some(Json::Object(props)) = subject.get("properties") {
        for (k, v) in props {
            match k.as_str() {
                "ip_address" => put(
                    &mut r,
                    &["network", "ip"],
                    v.clone(),
                    "subject.properties.ip_address",
                )?,
                "device_id" => put(
                    &mut r,
                    &["device", "id"],
                    v.clone(),
                    "subject.properties.device_id",
                )?,
                _ => put(&mut r, &["principal", k], v.clone(), "subject.properties")?,
            }
        }
    }
    put(
        &mut r,
        &["principal", "id"],
        subject["id"].clone(),
        "subject.id",
    )?;
    let stype = subject["type"].as_str().unwrap_or_default();
    put(
        &mut r,
        &["principal", "type"],
        Json::from(stype),
        "subject.type",
    )?;
    let has_kind = r.get("principal").and_then(|p| p.get("kind")).is_some();
    if let (Some(k), false) = (kind_of_type(stype), has_kind) {
        put(
            &mut r,
            &["principal", "kind"],
            Json::from(k),
            "subject.type",
        )?;
    }
    // Action.
    put(&mut r, &["action"], action["name"].clone(), "action.name")?;
    if let Some(p @ Json::Object(_)) = action.get("properties") {
        put(
            &mut r,
            &["request", "params"],
            p.clone(),
            "action.properties",
        )?;
    }
    // Resource.
    if let Some(Json::Object(props)) = resource.get("properties") {
        for (k, v) in props {
            put(&mut r, &["resource", k], v.clone(), "resource.properties")?;
        }
    }
    put(
        &mut r,
        &["resource", "id"],
        resource["id"].clone(),
        "resource.id",
    )?;
    put(
        &mut r,
        &["resource", "kind"],
        resource["type"].clone(),
        "resource.type",
    )?;
    // Context.
    let mut approval = None;
    match t.get("context") {
        None | Some(Json::Null) => {}
        Some(Json::Object(ctx)) => {
            for (k, v) in ctx {
                match k.as_str() {
                    "approval" => match v {
                        Json::Object(a) => approval = Some(a.clone()),
                        other => {
                            return Err(format!(
                                "`context.approval` must be an object with `grant` (and `proof`), not {}",
                                kind(other)
                            ))
                        }
                    },
                    "time" => {
                        let v = match v {
                            Json::String(s) => Json::from(normalise_time(s)),
                            other => other.clone(),
                        };
                        put(&mut r, &["time"], v, "context.time")?;
                    }
                    "ip" => put(&mut r, &["network", "ip"], v.clone(), "context.ip")?,
                    root if CONTEXT_ROOTS.contains(&root) => {
                        put(&mut r, &[root], v.clone(), &format!("context.{root}"))?;
                    }
                    other => put(&mut r, &["request", "context", other], v.clone(), "context")?,
                }
            }
        }
        Some(other) => return Err(format!("`context` must be an object, not {}", kind(other))),
    }
    Ok(Mapped {
        request: r,
        approval,
    })
}

/// Merges the top-level defaults into one item of `evaluations`: an item's entity
/// replaces the default whole, except that its required identifiers (`type`, `id`,
/// `name`) fall back to the default's; an item's `context` replaces the default's.
pub(crate) fn merge_defaults(
    defaults: &Map<String, Json>,
    item: &Map<String, Json>,
) -> Map<String, Json> {
    let mut out = Map::new();
    for (key, ids) in [
        ("subject", &["type", "id"][..]),
        ("action", &["name"][..]),
        ("resource", &["type", "id"][..]),
    ] {
        let merged = match (item.get(key), defaults.get(key)) {
            (Some(Json::Object(own)), Some(Json::Object(def))) => {
                let mut own = own.clone();
                for id in ids {
                    if !own.contains_key(*id) {
                        if let Some(v) = def.get(*id) {
                            own.insert((*id).to_string(), v.clone());
                        }
                    }
                }
                Some(Json::Object(own))
            }
            (Some(v), _) => Some(v.clone()),
            (None, d) => d.cloned(),
        };
        if let Some(v) = merged {
            out.insert(key.to_string(), v);
        }
    }
    if let Some(c) = item.get("context").or_else(|| defaults.get("context")) {
        out.insert("context".to_string(), c.clone());
    }
    out
}

/// Where links in an answer point: [`base_url`] for this request, written only when an
/// answer has a link (an `approve` that opened a challenge).
pub(crate) struct Base<'a> {
    pub state: &'a AppState,
    pub headers: &'a HeaderMap,
}

impl Base<'_> {
    fn url(&self) -> String {
        base_url(self.state, self.headers)
    }
}

/// One evaluation's answer: its `decision`, and the whole AuthZEN response object as JSON
/// text.
pub(crate) struct Evaluated {
    pub decision: bool,
    pub json: Vec<u8>,
}

/// Writes `value` (a derived `Serialize` or a JSON value, which do not fail to write into
/// a `Vec`).
fn put_json<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    let _ = serde_json::to_writer(&mut *out, value);
}

/// `,"key":` then `value`.
fn member<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, key: &str, value: &T) {
    out.push(b',');
    put_json(out, key);
    out.push(b':');
    put_json(out, value);
}

/// The AuthZEN response for one evaluation, written straight to JSON text.
fn response(answer: &Answer, base: &Base<'_>) -> Evaluated {
    let d: &Decision = answer.decision();
    let allowed = d.decision == Verdict::Allow;
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(if allowed {
        b"{\"decision\":true,\"context\":{\"decision_id\":"
    } else {
        b"{\"decision\":false,\"context\":{\"decision_id\":"
    });
    put_json(&mut out, answer.decision_id());
    member(&mut out, "policy_version", &*d.policy_version);
    member(&mut out, "risk", &d.risk);
    if !d.rules.is_empty() {
        member(&mut out, "rules", &d.rules);
    }
    match d.decision {
        Verdict::Allow => {
            if !d.obligations.is_empty() {
                member(&mut out, "obligations", &d.obligations);
            }
            if let Some(t) = d.ttl_s {
                member(&mut out, "ttl_s", &t);
            }
        }
        Verdict::Deny => {
            let why = d.message.as_deref().unwrap_or("no rule allows the request");
            member(&mut out, "reason_admin", &json!({ "en": why }));
            if let Answer::Flow(f, _) = answer {
                if let Some(r) = &f.refusal {
                    member(&mut out, "refusal", r);
                }
            }
        }
        Verdict::Approve => {
            member(&mut out, "reason", "approval_required");
            member(&mut out, "evaluation_id", answer.decision_id());
            if let Some(a) = &d.approval {
                member(&mut out, "approval_required", a);
            }
            if let Answer::Flow(f, page) = answer {
                if let Some(c) = &f.challenge {
                    let base = base.url();
                    let mut ar = json!({
                        "endpoint": format!("{base}/v1/challenges/{}", c.id),
                        "expires_at": c.expires_at,
                        "binding_hash": c.digest,
                        "challenge_id": c.id,
                        "binding_code": c.code,
                        "collect_endpoint": format!("{base}/v1/challenges/{}/grant", c.id),
                    });
                    if let Some(s) = &f.collection_secret {
                        ar["collection_secret"] = Json::from(s.as_str());
                    }
                    if let Some(p) = page {
                        ar["page"] = Json::from(p.as_str());
                    }
                    member(&mut out, "access_request", &ar);
                }
            }
        }
    }
    out.extend_from_slice(b"}}");
    Evaluated {
        decision: allowed,
        json: out,
    }
}

/// Evaluates one mapped tuple: a retry carrying `context.approval` is redeemed as `writ
/// redeem` does; anything else is decided.
async fn evaluate(ctx: &Ctx<'_>, mapped: Mapped, base: &Base<'_>) -> Result<Evaluated, ApiError> {
    let Some(approval) = mapped.approval else {
        return Ok(response(&decide_one(ctx, mapped.request).await?, base));
    };
    let Some(approvals) = ctx.state.approvals() else {
        return Err(ApiError::bad(
            "`context.approval` carries a grant, but this server keeps no approval state (start it with `--state` or `--redis`)",
        ));
    };
    let grant = match approval.get("grant") {
        Some(Json::String(g)) => g.clone(),
        _ => {
            return Err(ApiError::bad(
                "`context.approval.grant` is required (a string)",
            ))
        }
    };
    let proof = match approval.get("proof") {
        None | Some(Json::Null) => None,
        Some(Json::String(p)) => Some(p.clone()),
        Some(other) => {
            return Err(ApiError::bad(format!(
                "`context.approval.proof` must be a string, not {}",
                kind(other)
            )))
        }
    };
    let mut request = mapped.request;
    identity::apply(ctx.caller, &mut request)?;
    let text = serde_json::to_string(&request).unwrap_or_default();
    let approvals = approvals.clone();
    let x5t = ctx.caller.cert_thumbprint.clone();
    let redeemed = blocking(move || identity::redeem(&approvals, &text, &grant, proof, x5t))
        .await?
        .map_err(|e| flow_error(ctx.state, e))?;
    let allowed = redeemed.decision.decision == Verdict::Allow;
    ctx.state.metrics().redemption(allowed);
    ctx.state
        .metrics()
        .decision_outcome(ctx.route, Outcome::of(redeemed.decision.decision));
    let refusal = redeemed.refusal.as_ref().map(|r| {
        serde_json::to_value(r.code)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    });
    ctx.log(&redeemed.decision, &redeemed.decision_id, refusal);
    let mut c = Map::new();
    c.insert(
        "decision_id".into(),
        Json::from(redeemed.decision_id.as_str()),
    );
    c.insert(
        "policy_version".into(),
        Json::from(&*redeemed.decision.policy_version),
    );
    if let Some(r) = &redeemed.refusal {
        c.insert("reason".into(), json!(r.code));
        c.insert("refusal".into(), json!(r));
    }
    if let Some(g) = &redeemed.grant {
        let mut grant = json!({"jti": g.jti, "challenge": g.challenge, "approvers": g.approvers});
        // An elevation's use, as `/v1/redeem` gives it.
        if let (Some(e), Some(map)) = (&g.elevation, grant.as_object_mut()) {
            map.insert("elevation".into(), json!(e));
        }
        c.insert("grant".into(), grant);
        if !redeemed.decision.obligations.is_empty() {
            c.insert("obligations".into(), json!(redeemed.decision.obligations));
        }
    }
    Ok(Evaluated {
        decision: allowed,
        json: json_bytes(&json!({ "decision": allowed, "context": c })),
    })
}

/// What both evaluation routes take from a request besides its body: the state, the
/// caller, the request id and the headers (for the base URL of links).
type Parts = (
    State<AppState>,
    Extension<Caller>,
    Extension<RequestId>,
    HeaderMap,
);

/// `POST /access/v1/evaluation`.
///
/// The hot path: an enforcement point's plain evaluation is written as writ request text
/// ([`crate::authzen_text`]) and bound by the engine's streaming binder, no tree of the
/// body or of the request; anything that path declines, or that does not bind, takes the
/// tree mapping, which words every refusal.
pub async fn evaluation(parts: Parts, JsonText(bytes): JsonText) -> Result<Response, ApiError> {
    let (State(state), Extension(caller), Extension(RequestId(request_id)), headers) = parts;
    evaluation_text(&state, &caller, &request_id, &headers, &bytes).await
}

/// [`evaluation`] on what its extractors give (for `crate::lane` too; of the headers only
/// `Host` is read, for links).
pub(crate) async fn evaluation_text(
    state: &AppState,
    caller: &Caller,
    request_id: &str,
    headers: &HeaderMap,
    bytes: &[u8],
) -> Result<Response, ApiError> {
    let ctx = ctx(state, Route::Evaluation, caller, request_id);
    let base = Base { state, headers };
    if caller.role == Role::EnforcementPoint {
        if let Some(text) = crate::authzen_text::request_text(bytes) {
            let engine = state.store().engine();
            let started = Instant::now();
            if let Ok(bound) = engine.bind_str(&text) {
                let answer = decide_bound(&ctx, &engine, &bound, started).await?;
                return Ok(json_response(response(&answer, &base).json));
            }
        }
    }
    let mapped = map_tuple(&parse_object(bytes)?).map_err(ApiError::bad)?;
    Ok(json_response(evaluate(&ctx, mapped, &base).await?.json))
}

/// The context of one call on `route`.
fn ctx<'a>(state: &'a AppState, route: Route, caller: &'a Caller, request_id: &'a str) -> Ctx<'a> {
    Ctx {
        state,
        route,
        caller,
        request_id,
    }
}

/// How a batch ends early.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Semantic {
    ExecuteAll,
    DenyOnFirstDeny,
    PermitOnFirstPermit,
}

fn semantic(body: &Map<String, Json>) -> Result<Semantic, String> {
    let options = match body.get("options") {
        None | Some(Json::Null) => return Ok(Semantic::ExecuteAll),
        Some(Json::Object(o)) => o,
        Some(other) => return Err(format!("`options` must be an object, not {}", kind(other))),
    };
    match options.get("evaluations_semantic") {
        None | Some(Json::Null) => Ok(Semantic::ExecuteAll),
        Some(Json::String(s)) => match s.as_str() {
            "execute_all" => Ok(Semantic::ExecuteAll),
            "deny_on_first_deny" => Ok(Semantic::DenyOnFirstDeny),
            "permit_on_first_permit" => Ok(Semantic::PermitOnFirstPermit),
            other => Err(format!(
                "`options.evaluations_semantic` is `{other}`; expected `execute_all`, `deny_on_first_deny` or `permit_on_first_permit`"
            )),
        },
        Some(other) => Err(format!(
            "`options.evaluations_semantic` must be a string, not {}",
            kind(other)
        )),
    }
}

/// `POST /access/v1/evaluations`.
pub async fn evaluations(parts: Parts, JsonBody(body): JsonBody) -> Result<Response, ApiError> {
    let (State(state), Extension(caller), Extension(RequestId(request_id)), headers) = parts;
    let ctx = ctx(&state, Route::Evaluations, &caller, &request_id);
    let base = Base {
        state: &state,
        headers: &headers,
    };
    let items = match body.get("evaluations") {
        None | Some(Json::Null) => None,
        Some(Json::Array(a)) if a.is_empty() => None,
        Some(Json::Array(a)) => Some(a),
        Some(other) => {
            return Err(ApiError::bad(format!(
                "`evaluations` must be an array of objects, not {}",
                kind(other)
            )))
        }
    };
    let semantic = semantic(&body).map_err(ApiError::bad)?;
    // No `evaluations` (or an empty one): the single Access Evaluation API.
    let Some(items) = items else {
        let mapped = map_tuple(&body).map_err(ApiError::bad)?;
        return Ok(json_response(evaluate(&ctx, mapped, &base).await?.json));
    };
    let max = state.limits().max_batch;
    if items.len() > max {
        return Err(ApiError::bad(format!(
            "`evaluations` has {} items; at most {max} are accepted in one call",
            items.len()
        )));
    }
    state.metrics().batch(items.len());
    let mut out = Vec::with_capacity(32 + items.len() * 512);
    out.extend_from_slice(b"{\"evaluations\":[");
    for (i, item) in items.iter().enumerate() {
        let result = match item {
            Json::Object(item) => match map_tuple(&merge_defaults(&body, item)) {
                Ok(mapped) => evaluate(&ctx, mapped, &base).await,
                Err(m) => Err(ApiError::bad(m)),
            },
            other => Err(ApiError::bad(format!(
                "`evaluations[{i}]` must be an object, not {}",
                kind(other)
            ))),
        };
        let answer = match result {
            Ok(a) => a,
            Err(e) => {
                state
                    .metrics()
                    .decision_outcome(Route::Evaluations, Outcome::Error);
                Evaluated {
                    decision: false,
                    json: json_bytes(
                        &json!({"decision": false, "context": {"error": {"status": e.status.as_u16(), "code": e.code, "message": e.message}}}),
                    ),
                }
            }
        };
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&answer.json);
        let decision = answer.decision;
        match semantic {
            Semantic::DenyOnFirstDeny if !decision => break,
            Semantic::PermitOnFirstPermit if decision => break,
            _ => {}
        }
    }
    out.extend_from_slice(b"]}");
    Ok(json_response(out))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn obj(s: &str) -> Map<String, Json> {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn the_mapping() {
        let m = map_tuple(&obj(
            r#"{"subject": {"type": "user", "id": "alice", "properties": {"role": "admin", "ip_address": "10.0.0.1"}},
                "action": {"name": "delete", "properties": {"soft": true}},
                "resource": {"type": "record", "id": "r1", "properties": {"status": "archived"}},
                "context": {"time": "2025-06-27T18:03-07:00", "device": {"managed": true}, "source": "x",
                            "approval": {"grant": "g"}}}"#,
        ))
        .unwrap();
        let r = Json::Object(m.request);
        assert_eq!(
            r,
            json!({
                "principal": {"id": "alice", "type": "user", "kind": "human", "role": "admin"},
                "network": {"ip": "10.0.0.1"},
                "action": "delete",
                "request": {"params": {"soft": true}, "context": {"source": "x"}},
                "resource": {"id": "r1", "kind": "record", "status": "archived"},
                "time": "2025-06-27T18:03:00-07:00",
                "device": {"managed": true}
            })
        );
        assert_eq!(m.approval.unwrap()["grant"], "g");
    }

    #[test]
    fn conflicting_sources_are_refused() {
        let e = map_tuple(&obj(
            r#"{"subject": {"type": "user", "id": "alice", "properties": {"id": "bob"}},
                "action": {"name": "read"}, "resource": {"type": "r", "id": "1"}}"#,
        ))
        .err()
        .unwrap();
        assert!(e.contains("principal.id"), "{e}");
    }

    #[test]
    fn missing_and_mistyped_fields_name_the_field() {
        let cases = [
            (
                r#"{"action": {"name": "read"}, "resource": {"type": "r", "id": "1"}}"#,
                "`subject` is required",
            ),
            (
                r#"{"subject": {"id": "a"}, "action": {"name": "read"}, "resource": {"type": "r", "id": "1"}}"#,
                "`subject.type` is required",
            ),
            (
                r#"{"subject": "alice", "action": {"name": "read"}, "resource": {"type": "r", "id": "1"}}"#,
                "`subject` must be an object, not a string",
            ),
            (
                r#"{"subject": {"type": "u", "id": "a"}, "action": {"name": 123}, "resource": {"type": "r", "id": "1"}}"#,
                "`action.name` must be a string, not a number",
            ),
            (
                r#"{"subject": {"type": "u", "id": "a"}, "action": {}, "resource": {"type": "r", "id": "1"}}"#,
                "`action.name` is required",
            ),
        ];
        for (body, want) in cases {
            let e = map_tuple(&obj(body)).err().unwrap();
            assert!(e.contains(want), "{body}: {e}");
        }
    }

    #[test]
    fn defaults_merge_entity_by_entity_with_identifier_fallback() {
        let defaults = obj(
            r#"{"subject": {"type": "user", "id": "alice"}, "resource": {"type": "record"},
                "context": {"time": "t"}, "evaluations": []}"#,
        );
        let item = obj(r#"{"resource": {"id": "record-1", "properties": {"status": "active"}}}"#);
        let merged = merge_defaults(&defaults, &item);
        assert_eq!(
            Json::Object(merged),
            json!({"subject": {"type": "user", "id": "alice"},
                   "resource": {"id": "record-1", "type": "record", "properties": {"status": "active"}},
                   "context": {"time": "t"}})
        );
    }

    #[test]
    fn times_without_seconds() {
        assert_eq!(
            normalise_time("2025-06-27T18:03-07:00"),
            "2025-06-27T18:03:00-07:00"
        );
        assert_eq!(normalise_time("2025-06-27T18:03Z"), "2025-06-27T18:03:00Z");
        assert_eq!(
            normalise_time("2025-06-27T18:03:04Z"),
            "2025-06-27T18:03:04Z"
        );
    }
}
