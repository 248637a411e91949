//! A payments service with writ in front (axum + tokio): allow → 200, deny → 403,
//! approve → 202 with a challenge; approver routes; the requester collects the grant and
//! retries the transfer with it, once. See service.rs for the routes and
//! docs/embedding.md for the walk through.
//!
//! ```text
//! cargo run --example payments_service -- [POLICY_DIR] [STATE_DIR] [ADDR] [REDIS_URL]
//! ```
//!
//! Defaults: the policies beside this example, `./payments-state`, `127.0.0.1:8080`, and
//! the embedded store (a Redis URL makes replicas share challenges and consumed grants;
//! give every replica the same `grant.key`).

mod service;

use std::path::PathBuf;

use service::{Backend, Options, Service};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let policies = args
        .next()
        .map_or_else(service::example_policies, PathBuf::from);
    let state = PathBuf::from(args.next().unwrap_or_else(|| "payments-state".into()));
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8080".into());
    let backend = match args.next() {
        Some(url) => Backend::Redis(url),
        None => Backend::Embedded,
    };
    let service = Service::open(Options {
        policies,
        state,
        backend,
        clock: None,
        watch: true,
    })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_io()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        eprintln!("payments service on http://{}", listener.local_addr()?);
        service::serve(listener, service.app.clone()).await
    })?;
    Ok(())
}
