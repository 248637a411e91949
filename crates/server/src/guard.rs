//! The outer layer of every API request: the request id (echoed, or made), the global
//! concurrency cap (load shedding: 503 with `Retry-After`, never a queue), the time limit,
//! and the HTTP metrics.

use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::body::ApiError;
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
pub async fn guard(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = Route::of_path(req.uri().path());
    let (id, header) = request_id(&req);
    req.extensions_mut().insert(RequestId(id));
    let metrics = state.metrics();
    let mut resp = match state.slots().try_acquire() {
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
            let out = tokio::time::timeout(state.limits().timeout, next.run(req)).await;
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
    resp.headers_mut().insert(X_REQUEST_ID, header);
    metrics.http(route, resp.status().as_u16(), started.elapsed());
    resp
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
