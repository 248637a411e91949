//! Request bodies and client errors: one extractor reads every JSON body (content type,
//! size, strict JSON as the engine reads it), and every refusal is an [`ApiError`] that
//! says what was wrong — never axum's own 415/422 rejections, never a 500 for input.

use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value as Json};

use crate::AppState;

/// A refusal with its HTTP status, a stable code and a message people can act on.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable, machine-readable code (`invalid_request`, `body_too_large`, ...).
    pub code: &'static str,
    /// What was wrong and what was expected.
    pub message: String,
}

impl ApiError {
    /// A 400 with code `invalid_request`.
    pub fn bad(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_request",
            message: message.into(),
        }
    }

    /// Any status and code.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": {"code": self.code, "message": self.message}});
        let mut resp = (self.status, json_bytes(&body)).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        resp
    }
}

/// Serialises a value (a `Value` or a derived `Serialize` never fails to serialise).
pub fn json_bytes<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec())
}

/// A JSON response with status 200.
pub fn json_ok<T: serde::Serialize>(value: &T) -> Response {
    json_response(json_bytes(value))
}

/// A response with status 200 over JSON already written to bytes.
pub fn json_response(bytes: Vec<u8>) -> Response {
    let mut resp = bytes.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// A JSON object body, read under the server's limits and parsed by the engine's strict
/// rules (a repeated key, a number the digest cannot hold exactly, nesting past 64
/// levels are refused, naming the path), so that what the rules and the digest read is
/// what the caller sent.
#[derive(Debug)]
pub struct JsonBody(pub Map<String, Json>);

/// Whether a `Content-Type` is JSON (`application/json`, parameters allowed).
fn is_json(value: Option<&HeaderValue>) -> bool {
    let Some(v) = value.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = v.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
}

/// A JSON body's bytes, read under the server's limits (content type, size) but not yet
/// parsed: for routes that hand the text straight to the engine's streaming binder
/// ([`writ_engine::Engine::bind_str`], which applies the same strict rules), and parse it
/// with [`parse_object`] only when they need the tree.
#[derive(Debug)]
pub struct JsonText(pub axum::body::Bytes);

/// The body as the guard read it under its limits (`guard::read_body`), kept beside the
/// request's body so that [`JsonText`] takes it as it is rather than collecting the body
/// a second time.
#[derive(Clone, Debug)]
pub(crate) struct ReadBody(pub axum::body::Bytes);

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let JsonText(bytes) = JsonText::from_request(req, state).await?;
        parse_object(&bytes).map(JsonBody)
    }
}

impl FromRequest<AppState> for JsonText {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        json_text(req, state).await.map(JsonText)
    }
}

/// The extractor's work: the body of a JSON request, under the limits (for `crate::lane`
/// too).
pub(crate) async fn json_text(
    req: Request,
    state: &AppState,
) -> Result<axum::body::Bytes, ApiError> {
    if !is_json(req.headers().get(header::CONTENT_TYPE)) {
        let got = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map_or_else(|| "none".to_string(), |v| format!("`{v}`"));
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_content_type",
            format!("the body must be JSON with `Content-Type: application/json` (got {got})"),
        ));
    }
    let limit = state.limits().max_body_bytes;
    // A declared length over the limit is refused before any of the body is read (and
    // before a client sending `Expect: 100-continue` is invited to send it).
    declared_within(req.headers(), limit)?;
    if let Some(ReadBody(bytes)) = req.extensions().get::<ReadBody>() {
        if bytes.len() <= limit {
            return Ok(bytes.clone());
        }
        return Err(too_large(limit));
    }
    let bytes = axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|e| {
            if is_length_limit(&e) {
                too_large(limit)
            } else {
                ApiError::bad(format!("the body could not be read: {e}"))
            }
        })?;
    Ok(bytes)
}

/// The body length a request declares (`Content-Length`), refused past `limit` before any
/// of the body is read.
pub(crate) fn declared_within(
    headers: &axum::http::HeaderMap,
    limit: usize,
) -> Result<Option<u64>, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large(limit));
    }
    Ok(declared)
}

/// The refusal of a body over the limit.
pub(crate) fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!("the body is larger than the limit of {limit} bytes"),
    )
}

pub(crate) fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.to_string().contains("length limit exceeded") {
            return true;
        }
        source = s.source();
    }
    false
}

/// Parses a body as one strict JSON object.
pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Json>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad("the body is empty: expected a JSON object"));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ApiError::bad("the body is not UTF-8: expected a JSON object"))?;
    let value = writ_engine::parse_request(text).map_err(|e| {
        // The engine's strict reading says what is wrong (not JSON, a key twice, a
        // number it cannot hold, too deep), and where.
        ApiError::bad(match e.path.is_empty() {
            true => format!("the body is refused: {}", e.message),
            false => format!("the body is refused at `{}`: {}", e.path, e.message),
        })
    })?;
    match value {
        Json::Object(m) => Ok(m),
        other => Err(ApiError::bad(format!(
            "the body must be a JSON object, not {}",
            kind(&other)
        ))),
    }
}

/// A JSON value's kind, for messages.
pub fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn content_types() {
        assert!(is_json(Some(&HeaderValue::from_static("application/json"))));
        assert!(is_json(Some(&HeaderValue::from_static(
            "Application/JSON; charset=utf-8"
        ))));
        assert!(!is_json(Some(&HeaderValue::from_static("text/plain"))));
        assert!(!is_json(None));
    }

    #[test]
    fn bodies_are_strict_objects() {
        assert!(parse_object(b"{\"a\": 1}").is_ok());
        assert!(parse_object(b"  ").unwrap_err().message.contains("empty"));
        assert!(parse_object(b"[1]")
            .unwrap_err()
            .message
            .contains("an array"));
        let twice = parse_object(b"{\"a\": 1, \"a\": 2}").unwrap_err().message;
        assert!(twice.starts_with("the body is refused at `a`: "), "{twice}");
        assert!(!twice.contains("invalid request"), "{twice}");
        assert!(parse_object(b"{")
            .unwrap_err()
            .message
            .contains("not valid JSON"));
    }
}
