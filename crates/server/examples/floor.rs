//! The HTTP stack's floor for `benches/serve.sh`: a bare axum handler answering a fixed
//! JSON body on the same runtime and HTTP/1 settings as `writ serve`, so the load script
//! measures what writ adds over the socket and the framework.
//!
//! `cargo run --release -p writ-server --example floor -- 127.0.0.1:8190 [DIR]`: with DIR (as
//! `load certs DIR` writes it), over TLS with the server certificate `writ serve` gets in
//! the same run, client certificates verified against DIR's CA (mutual TLS), HTTP/1.1
//! keep-alive as `writ serve` serves it.

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
    let tls = std::env::args().nth(2).map(std::path::PathBuf::from);
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        let app = Router::new().fallback(post(fixed));
        match tls {
            None => axum::serve(listener, app).await,
            Some(dir) => serve_tls(listener, app, &dir).await,
        }
    })
}

/// The same handler over mutual TLS: the handshake, then HTTP/1.1 on each connection.
async fn serve_tls(
    listener: tokio::net::TcpListener,
    app: Router,
    dir: &std::path::Path,
) -> std::io::Result<()> {
    let mut config = writ_callers::tls_config(
        &dir.join("server.pem"),
        &dir.join("server.key"),
        Some(&dir.join("ca.pem")),
    )
    .map_err(std::io::Error::other)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    loop {
        let (tcp, _) = listener.accept().await?;
        let _ = tcp.set_nodelay(true);
        let (acceptor, app) = (acceptor.clone(), app.clone());
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let service = hyper::service::service_fn(move |req| {
                let mut app = app.clone();
                async move { tower_service::Service::call(&mut app, req).await }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                .await;
        });
    }
}
