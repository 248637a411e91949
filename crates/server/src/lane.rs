//! The two decision routes, `POST /v1/decide` and `POST /access/v1/evaluation`, served
//! by the connection straight through the same steps the router takes them through —
//! the guard ([`crate::guard::guarded`]), identity ([`crate::identity::caller_of`]), the
//! body under its limits ([`crate::body::json_text`]) and the handler's own work — without
//! the router's dispatch, its two middleware layers and the extractors' copies.
//!
//! Only the exact method and path take this lane; anything else (another method on these
//! paths: 405 with `Allow`; a path that differs by a byte) goes to the router, which
//! answers it as before. Every test of the two routes goes through real sockets, so they
//! all run through here.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::response::{IntoResponse, Response};

use crate::guard::RequestId;
use crate::AppState;

/// A route this lane serves.
#[derive(Clone, Copy)]
pub(crate) enum Hot {
    Decide,
    Evaluation,
}

impl Hot {
    /// The lane's route for this request, if any.
    pub(crate) fn of<B>(req: &axum::http::Request<B>) -> Option<Hot> {
        if req.method() != Method::POST {
            return None;
        }
        match req.uri().path() {
            "/v1/decide" => Some(Hot::Decide),
            "/access/v1/evaluation" => Some(Hot::Evaluation),
            _ => None,
        }
    }
}

/// Serves `req` on route `hot` as the router would.
pub(crate) async fn serve(state: &AppState, hot: Hot, req: Request<Body>) -> Response {
    let mut resp = crate::guard::guarded(state, req, |mut req| async move {
        let caller = match crate::identity::caller_of(state, &req) {
            Ok(c) => c,
            Err(refusal) => return refusal.into_response(),
        };
        // Taken, not copied: nothing after this reads it from the request.
        let request_id = req
            .extensions_mut()
            .remove::<RequestId>()
            .map(|r| r.0)
            .unwrap_or_default();
        // Links in an AuthZEN answer need the `Host` header alone.
        let mut host = HeaderMap::new();
        if let (Hot::Evaluation, Some(h)) = (hot, req.headers().get(header::HOST)) {
            host.insert(header::HOST, h.clone());
        }
        let bytes = match crate::body::json_text(req, state).await {
            Ok(b) => b,
            Err(e) => return e.into_response(),
        };
        let answer = match hot {
            Hot::Decide => crate::native::decide_text(state, &caller, &request_id, &bytes).await,
            Hot::Evaluation => {
                crate::authzen::evaluation_text(state, &caller, &request_id, &host, &bytes).await
            }
        };
        answer.unwrap_or_else(IntoResponse::into_response)
    })
    .await;
    content_length(&mut resp);
    resp
}

/// `Content-Length` written into the headers when the body's size is known, as the
/// router's route does: the same headers in the same order as the router's answer (hyper
/// would otherwise write it itself, after a `Connection` it adds).
fn content_length(resp: &mut Response) {
    if resp.headers().contains_key(header::CONTENT_LENGTH) {
        return;
    }
    if let Some(size) = axum::body::HttpBody::size_hint(resp.body()).exact() {
        resp.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    }
}
