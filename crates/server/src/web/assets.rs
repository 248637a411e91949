//! The pages and their assets, embedded in the binary (`include_str!`): nothing is read
//! from disk and nothing comes from another origin. Each page is the same for every
//! token or challenge id: what it shows is fetched by its script after sign-in.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

/// A page: the head every page shares (`page-head.html`: metadata, the stylesheet and the
/// script — no inline script, as the CSP requires), its title, `</head>`, its body's
/// `data-page` (which `app.js` reads), the bar every page shares (`page-bar.html`, which
/// opens `<main>`) and the page's own content (`NAME.html`, which closes it).
macro_rules! page {
    ($title:literal, $name:literal) => {
        concat!(
            include_str!("../../assets/page-head.html"),
            "<title>",
            $title,
            " — writ</title>\n</head>\n<body data-page=\"",
            $name,
            "\">\n",
            include_str!("../../assets/page-bar.html"),
            include_str!(concat!("../../assets/", $name, ".html")),
        )
    };
}

const ENROLL: &str = page!("Enrol a passkey", "enroll");
const SIGNIN: &str = page!("Sign in", "signin");
const APPROVE: &str = page!("Approve a request", "approve");
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

#[cfg(test)]
mod tests {
    /// The pages as served: one head and one bar for all three, each page's title and
    /// `data-page` in their places.
    #[test]
    fn pages_are_the_shared_pieces_around_their_own() {
        for (page, title, name) in [
            (super::ENROLL, "Enrol a passkey", "enroll"),
            (super::SIGNIN, "Sign in", "signin"),
            (super::APPROVE, "Approve a request", "approve"),
        ] {
            assert!(page.starts_with("<!doctype html>\n<html lang=\"en\">\n<head>\n"));
            assert!(page.contains(&format!(
                "<script src=\"/web/app.js\" defer></script>\n<title>{title} — writ</title>\n</head>\n<body data-page=\"{name}\">\n<a class=\"skip\""
            )));
            assert!(page.contains("<main id=\"main\" tabindex=\"-1\">\n<h1>"));
            assert!(page.trim_end().ends_with("</html>"));
            assert!(!page.contains("<script>"), "no inline script");
        }
    }
}
