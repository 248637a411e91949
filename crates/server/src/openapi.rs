//! The OpenAPI 3.1 document of the API, kept in the repository (`crates/server/openapi.json`)
//! and served at `/openapi.json`; a test checks that it lists every route of the router.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

/// The document's text.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// `GET /openapi.json`.
pub async fn document() -> Response {
    let mut r = OPENAPI.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}
