//! The HTTP stack's floor for `benches/serve.sh`: a bare axum handler answering a fixed
//! JSON body on the same runtime and HTTP/1 settings as `writ serve`, so the load script
//! measures what writ adds over the socket and the framework.
//!
//! `cargo run --release -p writ-server --example floor -- 127.0.0.1:8190`

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;

const BODY: &str =
    r#"{"decision":true,"context":{"decision_id":"d_0","policy_version":"floor","risk":0}}"#;

async fn fixed() -> Response {
    let mut r = BODY.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8190".to_string());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        let app = Router::new().fallback(post(fixed));
        axum::serve(listener, app).await
    })
}
