//! `writ serve`: the policy decision point on the network.
//!
//! [`app`] is the API router (AuthZEN 1.0, the native `/v1` routes, the OpenAPI
//! document) over an [`AppState`]; [`admin_app`] the operator's router (`/livez`,
//! `/readyz`, `/metrics`, `/status`); [`Server::start`] binds both, loads the policy set
//! (hot-reloaded as `writ watch` does), and [`Server::shutdown`] stops accepting, drains
//! what is in flight and flushes the decision log.
//!
//! Architecture Invariant: client input never produces a 5xx — every refusal is an
//! [`ApiError`] with a 4xx status and a message; only load shedding and the time limit
//! answer 503 (with `Retry-After`). Deciding takes no lock: the engine is one atomic load,
//! counters are atomics, the decision log is a bounded queue that drops rather than
//! waits. No grant, key, code or collection secret reaches a log.

mod admin;
mod authzen;
#[doc(hidden)]
pub mod authzen_text;
pub mod body;
mod conn;
pub mod decision_log;
mod flow;
mod guard;
pub mod identity;
mod ids;
mod lane;
pub mod metrics;
mod native;
pub mod notify;
mod openapi;
mod revoke;
mod server;
mod tls;
mod web;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use writ_approvals::Approvals;
use writ_reload::{PolicyStore, ReloadEvent};

pub use admin::{admin_app, AdminState};
pub use body::ApiError;
pub use conn::ConnLimits;
pub use decision_log::{DecisionLog, Sink};
pub use identity::{Authenticate, Caller, Identity, Presented, Refusal, Role};
pub use metrics::Metrics;
pub use openapi::OPENAPI;
pub use server::{Server, ServerConfig, StartError, StateConfig};
pub use tls::{Peer, TlsFiles};
pub use web::{WebLimits, CSP};

/// Limits on what one request may cost.
#[derive(Clone, Debug)]
pub struct Limits {
    /// The largest body read, bytes (64 KiB by default); larger is 413.
    pub max_body_bytes: usize,
    /// The most requests in one batch (50 by default); more is 400.
    pub max_batch: usize,
    /// The time one request may take before it is answered 503 (10 s by default).
    pub timeout: Duration,
    /// Requests served at once; past it, 503 with `Retry-After` (1,024 by default).
    pub max_in_flight: usize,
    /// The longest a grant collection waits for the quorum (25 s by default; capped
    /// half a second below `timeout`, so the long poll answers before the limit cuts it).
    pub max_collect_wait: Duration,
    /// The longest the whole body of one request may take to arrive (10 s by default);
    /// read before the request takes a concurrency slot, and answered 408 past it.
    pub body_read_timeout: Duration,
    /// Connections: header read, keep-alive idle and TLS handshake timeouts, and the cap
    /// on open connections.
    pub connections: ConnLimits,
    /// Sign-ins and answers on the approver's pages, per minute.
    pub web: WebLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 64 * 1024,
            max_batch: 50,
            timeout: Duration::from_secs(10),
            max_in_flight: 1024,
            max_collect_wait: Duration::from_secs(25),
            body_read_timeout: Duration::from_secs(10),
            connections: ConnLimits::default(),
            web: WebLimits::default(),
        }
    }
}

/// Everything a request handler reads: the policy store, the approval service when the
/// server keeps state, limits, identity, metrics and the decision log.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    store: Arc<PolicyStore>,
    approvals: Option<Arc<Approvals>>,
    limits: Limits,
    identity: Identity,
    metrics: Arc<Metrics>,
    log: Option<Arc<DecisionLog>>,
    slots: Arc<tokio::sync::Semaphore>,
    conn_stats: Arc<conn::ConnStats>,
    public_url: Option<String>,
    tls: &'static str,
    last_reload: Mutex<Option<ReloadEvent>>,
    reloads: tokio::sync::watch::Sender<u64>,
    draining: AtomicBool,
    notifier: std::sync::OnceLock<Arc<notify::Notifier>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.0.store)
            .field("identity", &self.0.identity)
            .finish_non_exhaustive()
    }
}

/// What [`AppState::new`] is built from.
pub struct StateParts {
    /// The running policy set.
    pub store: Arc<PolicyStore>,
    /// The approval flow, when the server keeps state (`--state`, `--redis`).
    pub approvals: Option<Arc<Approvals>>,
    /// Limits.
    pub limits: Limits,
    /// Who is calling.
    pub identity: Identity,
    /// The decision log.
    pub log: Option<Arc<DecisionLog>>,
    /// The base URL advertised in discovery and `access_request.endpoint` (default: from
    /// the `Host` header).
    pub public_url: Option<String>,
    /// `off`, `server` (TLS) or `mutual` (TLS with client certificates), for the logs.
    pub tls: &'static str,
}

impl AppState {
    /// The state over its parts, with fresh metrics.
    pub fn new(parts: StateParts) -> AppState {
        let slots = Arc::new(tokio::sync::Semaphore::new(
            parts.limits.max_in_flight.max(1),
        ));
        AppState(Arc::new(Inner {
            store: parts.store,
            approvals: parts.approvals,
            limits: parts.limits,
            identity: parts.identity,
            metrics: Arc::new(Metrics::default()),
            log: parts.log,
            slots,
            conn_stats: Arc::default(),
            public_url: parts.public_url,
            tls: parts.tls,
            last_reload: Mutex::new(None),
            reloads: tokio::sync::watch::Sender::new(0),
            draining: AtomicBool::new(false),
            notifier: std::sync::OnceLock::new(),
        }))
    }

    /// The policy store.
    pub fn store(&self) -> &Arc<PolicyStore> {
        &self.0.store
    }

    /// The approval service, when the server keeps state.
    pub fn approvals(&self) -> Option<&Arc<Approvals>> {
        self.0.approvals.as_ref()
    }

    /// The limits.
    pub fn limits(&self) -> &Limits {
        &self.0.limits
    }

    /// How callers are identified.
    pub fn identity(&self) -> &Identity {
        &self.0.identity
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    /// Starts sending webhook notices (challenges opened, `notify` obligations) as
    /// `config` says; once (a second call changes nothing). Needs a tokio runtime.
    pub fn start_notices(&self, config: notify::NotifyConfig) {
        let metrics = self.0.metrics.clone();
        let _ = self
            .0
            .notifier
            .get_or_init(|| notify::Notifier::start(config, metrics));
    }

    pub(crate) fn notifier(&self) -> Option<&Arc<notify::Notifier>> {
        self.0.notifier.get()
    }

    /// The decision log, when one is written.
    pub fn log(&self) -> Option<&DecisionLog> {
        self.0.log.as_deref()
    }

    pub(crate) fn slots(&self) -> &Arc<tokio::sync::Semaphore> {
        &self.0.slots
    }

    pub(crate) fn conn_stats(&self) -> &Arc<conn::ConnStats> {
        &self.0.conn_stats
    }

    /// `off`, `server` or `mutual`.
    pub fn tls(&self) -> &'static str {
        self.0.tls
    }

    pub(crate) fn public_url(&self) -> Option<&str> {
        self.0.public_url.as_deref()
    }

    /// Records a reload's outcome (the watcher calls it): a log line on standard error,
    /// and the last result for `/status` and `/metrics`.
    pub fn reloaded(&self, event: ReloadEvent) {
        let line = serde_json::json!({"ts": jiff::Timestamp::now().to_string(), "msg": "policy reload", "reload": &event});
        eprintln!("{line}");
        *self
            .0
            .last_reload
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(event);
        self.0.reloads.send_modify(|n| *n += 1);
    }

    /// Follows reloads: the value counts reload events since start (any outcome).
    pub fn reload_events(&self) -> tokio::sync::watch::Receiver<u64> {
        self.0.reloads.subscribe()
    }

    /// The last reload's outcome, if any reload happened since start.
    pub fn last_reload(&self) -> Option<ReloadEvent> {
        self.0
            .last_reload
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Marks the server as draining (`/readyz` answers 503).
    pub fn drain(&self) {
        self.0.draining.store(true, Ordering::SeqCst);
    }

    /// Whether the server is draining.
    pub fn draining(&self) -> bool {
        self.0.draining.load(Ordering::SeqCst)
    }
}

/// Every route of [`app`], with its method, as the OpenAPI document must list them.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/.well-known/authzen-configuration"),
    ("post", "/access/v1/evaluation"),
    ("post", "/access/v1/evaluations"),
    ("post", "/v1/decide"),
    ("post", "/v1/explain"),
    ("get", "/v1/challenges/{id}"),
    ("post", "/v1/challenges/{id}/answers"),
    ("post", "/v1/challenges/{id}/grant"),
    ("post", "/v1/redeem"),
    ("post", "/v1/challenges/{id}/revoke"),
    ("get", "/openapi.json"),
];

/// The API router: AuthZEN, the native routes, the approval flow, the OpenAPI document
/// (behind the identity layer), and the approver's pages (`/enroll/…`, `/signin`,
/// `/approve/…`, `/web/…`: not API routes, not in the OpenAPI document); all behind the
/// concurrency cap, the time limit and the request id.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route(
            "/.well-known/authzen-configuration",
            get(authzen::discovery),
        )
        .route("/access/v1/evaluation", post(authzen::evaluation))
        .route("/access/v1/evaluations", post(authzen::evaluations))
        .route("/v1/decide", post(native::decide))
        .route("/v1/explain", post(native::explain))
        .route("/v1/challenges/{id}", get(flow::challenge))
        .route("/v1/challenges/{id}/answers", post(flow::answer))
        .route("/v1/challenges/{id}/grant", post(flow::collect))
        .route("/v1/redeem", post(flow::redeem))
        .route("/v1/challenges/{id}/revoke", post(revoke::revoke))
        .route("/openapi.json", get(openapi::document))
        .fallback(guard::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            identity::identify,
        ))
        // The approver's pages: outside the callers' identity (an approver signs in with a
        // passkey), inside the limits below.
        .merge(web::router(&state, state.limits().web.clone()))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::guard,
        ))
        .with_state(state)
}
