//! The outer layer of every API request: the request id (echoed, or made), the body read
//! whole under its size and time limits (413, 408) *before* the request takes a slot, the
//! global concurrency cap (load shedding: 503 with `Retry-After`, never a queue), the time
//! limit, and the HTTP metrics.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::body::{declared_within, is_length_limit, too_large, ApiError};
use crate::metrics::Route;
use crate::AppState;

/// The request's id, for handlers and the decision log.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

const X_REQUEST_ID: &str = "x-request-id";

/// A caller's id is echoed when it is a reasonable header value; otherwise one is made.
fn request_id(req: &Request) -> (String, HeaderValue) {
    if let Some(v) = req.headers().get(X_REQUEST_ID) {
        if let Ok(s) = v.to_str() {
            if !s.is_empty() && s.len() <= 256 {
                return (s.to_string(), v.clone());
            }
        }
    }
    let id = crate::ids::new_id("r_");
    let value = HeaderValue::from_str(&id).unwrap_or(HeaderValue::from_static("r_"));
    (id, value)
}

/// The layer itself.
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    guarded(&state, req, |req| next.run(req)).await
}

/// What the layer does around `inner` (the router's routes, or one of the decision routes
/// the connection serves without the router: `crate::lane`).
pub(crate) async fn guarded<F, Fut>(state: &AppState, mut req: Request, inner: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    let started = Instant::now();
    let route = Route::of_path(req.uri().path());
    let (id, header) = request_id(&req);
    req.extensions_mut().insert(RequestId(id));
    let metrics = state.metrics();
    // A body that trickles in holds no decision slot: it is read first, within its limit.
    let req = match read_body(state, req).await {
        Ok(req) => req,
        Err(refusal) => {
            let mut resp = refusal.into_response();
            // What is left of the body is not read: the connection cannot serve another.
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            resp.headers_mut().insert(X_REQUEST_ID, header);
            metrics.http(route, resp.status().as_u16(), started.elapsed());
            return resp;
        }
    };
    let resp = match state.slots().try_acquire() {
        Err(_) => {
            metrics.shed();
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                "the server is at its concurrency limit: retry after the delay in `Retry-After`",
            )
            .into_response()
        }
        Ok(permit) => {
            metrics.enter();
            let out = tokio::time::timeout(state.limits().timeout, inner(req)).await;
            metrics.leave();
            drop(permit);
            match out {
                Ok(r) => r,
                Err(_) => {
                    metrics.timeout();
                    ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "timeout",
                        format!(
                            "the request took longer than the limit of {} ms",
                            state.limits().timeout.as_millis()
                        ),
                    )
                    .into_response()
                }
            }
        }
    };
    let mut resp = json_error(resp).await;
    resp.headers_mut().insert(X_REQUEST_ID, header);
    metrics.http(route, resp.status().as_u16(), started.elapsed());
    resp
}

/// Every refusal carries the JSON error body openapi.json declares: one that the router
/// itself made (405 for a method a route lacks, axum's own rejection of a path it cannot
/// decode) is rewritten as an [`ApiError`] with the same status, its text as the message
/// and its `Allow` header kept.
async fn json_error(resp: Response) -> Response {
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if status.is_success() || status.is_informational() || status.is_redirection() || is_json {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 1024)
        .await
        .ok()
        .and_then(|b| String::from_utf8(b.to_vec()).ok())
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty());
    let (code, fallback) = match status {
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "this route does not take this method: see `Allow`, or `/openapi.json` for the routes",
        ),
        StatusCode::NOT_FOUND => (
            "not_found",
            "no such route: see `/openapi.json` for the routes",
        ),
        s if s.is_client_error() => ("invalid_request", "the request is malformed"),
        _ => ("unavailable", "the server could not answer: retry later"),
    };
    let message = match text {
        Some(t) if status != StatusCode::METHOD_NOT_ALLOWED => format!("{fallback}: {t}"),
        _ => fallback.to_string(),
    };
    let mut out = ApiError::new(status, code, message).into_response();
    if let Some(allow) = parts.headers.get(header::ALLOW) {
        out.headers_mut().insert(header::ALLOW, allow.clone());
    }
    out
}

/// The request with its body read whole: at most `max_body_bytes` (413 past it, refused
/// before any of it is read when the declared length says so), within
/// `body_read_timeout` (408 past it).
async fn read_body(state: &AppState, req: Request) -> Result<Request, ApiError> {
    let limits = state.limits();
    let limit = limits.max_body_bytes;
    let declared = declared_within(req.headers(), limit)?;
    if declared == Some(0) {
        return Ok(req);
    }
    let (parts, body) = req.into_parts();
    let read = within(limits.body_read_timeout, axum::body::to_bytes(body, limit));
    match read.await {
        Ok(Ok(bytes)) => {
            let mut req = Request::from_parts(parts, Body::from(bytes.clone()));
            req.extensions_mut().insert(crate::body::ReadBody(bytes));
            Ok(req)
        }
        Ok(Err(e)) if is_length_limit(&e) => Err(too_large(limit)),
        Ok(Err(e)) => Err(ApiError::bad(format!("the body could not be read: {e}"))),
        Err(_) => {
            state.metrics().timeout();
            Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                format!(
                    "the body did not arrive within the limit of {} ms: send it whole, at once",
                    limits.body_read_timeout.as_millis()
                ),
            ))
        }
    }
}

/// `fut` under a time limit counted from now, whose timer is armed only if `fut` is still
/// waiting after its first wait: a body already in hyper's buffer waits once, while the
/// connection hands it over, and is then read without a timer ever entering tokio's wheel.
/// The limit is the same; only its timer is set later.
async fn within<F: std::future::Future>(
    limit: std::time::Duration,
    fut: F,
) -> Result<F::Output, tokio::time::error::Elapsed> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut fut = std::pin::pin!(fut);
    let mut waited = false;
    let early = std::future::poll_fn(|cx| match fut.as_mut().poll(cx) {
        std::task::Poll::Ready(v) => std::task::Poll::Ready(Some(v)),
        // The first wait: come back at once (the connection delivers the body in the
        // meantime); a second one means the body is not all here.
        std::task::Poll::Pending if !waited => {
            waited = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
        std::task::Poll::Pending => std::task::Poll::Ready(None),
    })
    .await;
    match early {
        Some(v) => Ok(v),
        None => tokio::time::timeout_at(deadline, fut).await,
    }
}

/// Unknown paths: 404 with what exists.
pub async fn not_found(req: Request) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!(
            "no route `{} {}`: see `/openapi.json` for the routes",
            req.method(),
            req.uri().path()
        ),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use std::task::Poll;
    use std::time::Duration;

    use super::within;

    /// Pending `waits` times (waking itself each time), then ready.
    fn after(waits: u32) -> impl std::future::Future<Output = u32> {
        let mut left = waits;
        std::future::poll_fn(move |cx| {
            if left == 0 {
                return Poll::Ready(waits);
            }
            left -= 1;
            cx.waker().wake_by_ref();
            Poll::Pending
        })
    }

    #[tokio::test]
    async fn the_limit_holds_whether_or_not_the_first_wait_is_the_only_one() {
        let limit = Duration::from_millis(200);
        // Ready at once, after the one wait of a body being handed over, after many.
        for waits in [0, 1, 2, 50] {
            assert_eq!(within(limit, after(waits)).await.unwrap(), waits);
        }
        // Never ready: elapsed, at the limit counted from the call.
        let started = std::time::Instant::now();
        assert!(within(limit, std::future::pending::<()>()).await.is_err());
        let took = started.elapsed();
        assert!(took >= limit && took < limit * 10, "{took:?}");
    }
}
