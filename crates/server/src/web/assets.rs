//! The pages and their assets, embedded in the binary (`include_str!`): nothing is read
//! from disk and nothing comes from another origin. Each page is the same for every
//! token or challenge id: what it shows is fetched by its script after sign-in.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

const ENROLL: &str = include_str!("../../assets/enroll.html");
const SIGNIN: &str = include_str!("../../assets/signin.html");
const APPROVE: &str = include_str!("../../assets/approve.html");
const SCRIPT: &str = include_str!("../../assets/app.js");
const STYLE: &str = include_str!("../../assets/app.css");

fn with_type(body: &'static str, content_type: &'static str) -> Response {
    let mut resp = body.into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// `GET /enroll/{token}`.
pub(crate) async fn enroll_page() -> Response {
    with_type(ENROLL, "text/html; charset=utf-8")
}

/// `GET /signin`.
pub(crate) async fn signin_page() -> Response {
    with_type(SIGNIN, "text/html; charset=utf-8")
}

/// `GET /approve/{id}`.
pub(crate) async fn approve_page() -> Response {
    with_type(APPROVE, "text/html; charset=utf-8")
}

/// `GET /web/app.js`.
pub(crate) async fn script() -> Response {
    with_type(SCRIPT, "text/javascript; charset=utf-8")
}

/// `GET /web/app.css`.
pub(crate) async fn style() -> Response {
    with_type(STYLE, "text/css; charset=utf-8")
}
