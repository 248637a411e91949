//! The admin listener: `/livez` (the process answers), `/readyz` (503 until a policy set
//! is loaded, and again while draining), `/metrics` (Prometheus text) and `/status` (the
//! running policy version, reload counters and the last reload's result), and
//! `/challenges/{id}` (any challenge, for operators: the API shows an actor only its own
//! or those it approves).

use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, OnceLock};

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::body::{json_ok, ApiError};
use crate::metrics::Extra;
use crate::AppState;

/// What the admin routes read: the API state once the set is loaded.
#[derive(Clone, Default)]
pub struct AdminState(Arc<OnceLock<AppState>>);

impl std::fmt::Debug for AdminState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminState")
            .field("loaded", &self.0.get().is_some())
            .finish()
    }
}

impl AdminState {
    /// Marks the set loaded: `/readyz` answers 200 from now on (until draining).
    pub fn loaded(&self, state: AppState) {
        let _ = self.0.set(state);
    }

    fn app(&self) -> Option<&AppState> {
        self.0.get()
    }
}

/// The admin router.
pub fn admin_app(state: AdminState) -> Router {
    Router::new()
        .route("/livez", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/status", get(status))
        .route("/challenges/{id}", get(challenge))
        .with_state(state)
}

async fn readyz(State(admin): State<AdminState>) -> Response {
    match admin.app() {
        Some(s) if !s.draining() => (StatusCode::OK, "ready\n").into_response(),
        Some(_) => (StatusCode::SERVICE_UNAVAILABLE, "draining\n").into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "loading the policy set\n").into_response(),
    }
}

fn extra(app: Option<&AppState>) -> Extra {
    let Some(s) = app else {
        return Extra::default();
    };
    let stats = s.store().stats();
    Extra {
        loaded: stats.loaded,
        rejected: stats.rejected,
        unchanged: stats.unchanged,
        version: Some(stats.version),
        last_rejected: stats.last_error.is_some(),
        log_dropped: s.log().map_or(0, crate::DecisionLog::dropped),
        connections_open: s.conn_stats().open.load(Relaxed),
        connections_refused: s.conn_stats().refused.load(Relaxed),
        connections_timed_out: s.conn_stats().timed_out.load(Relaxed),
    }
}

async fn metrics(State(admin): State<AdminState>) -> Response {
    let app = admin.app();
    let text = match app {
        Some(s) => s.metrics().render(&extra(app)),
        None => crate::Metrics::default().render(&extra(None)),
    };
    let mut r = text.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

async fn status(State(admin): State<AdminState>) -> Response {
    let Some(s) = admin.app() else {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "loading",
            "the policy set is still loading",
        )
        .into_response();
    };
    let stats = s.store().stats();
    json_ok(&serde_json::json!({
        "policy_version": stats.version,
        "policy_dir": s.store().dir().display().to_string(),
        "reloads": {"loaded": stats.loaded, "rejected": stats.rejected, "unchanged": stats.unchanged},
        "last_reload": s.last_reload(),
        "last_error": stats.last_error,
        "approvals": s.approvals().is_some(),
        "identity": format!("{:?}", s.identity()),
        "draining": s.draining(),
        "decision_log_dropped": s.log().map_or(0, crate::DecisionLog::dropped),
        "shed": s.metrics().shed_count(),
    }))
}

async fn challenge(
    State(admin): State<AdminState>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "challenge_not_found",
            "there is no such challenge (or it has been removed after expiry)",
        )
        .into_response()
    };
    let Some(approvals) = admin.app().and_then(|s| s.approvals().cloned()) else {
        return not_found();
    };
    match tokio::task::spawn_blocking(move || approvals.challenge(&id)).await {
        Ok(Ok(Some(view))) => json_ok(&view),
        Ok(Ok(None)) => not_found(),
        _ => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            "the approval state is unavailable; retry later",
        )
        .into_response(),
    }
}
