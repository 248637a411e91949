//! The example payments service: writ in front of `POST /transfers` (axum + tokio).
//!
//! - `POST /transfers` (headers `x-principal`, `x-session`; body `{account, payee, amount,
//!   note}`): the service builds the writ request as a JSON value and decides it. `allow`
//!   → 200, the transfer executes; `deny` → 403 with the reason and the rules; `approve` →
//!   202 with the challenge (the approver's view) and the collection secret, which only
//!   this response ever carries.
//! - The same `POST /transfers` retried with `x-writ-grant: GRANT` redeems the grant:
//!   re-decided, the digest re-derived from this very transfer, the grant consumed once.
//!   200 and the transfer executes, or 403 with the refusal (`replayed`,
//!   `digest_mismatch`, …).
//! - `GET /approvals/{id}`: the approver's view — every bound value in full with its type,
//!   the rules, risk and signals. Never the grant.
//! - `POST /approvals/{id}/answer` (body `{approver, approve, evidence}`): an approver's
//!   answer; 200 when accepted, 403 when refused.
//! - `POST /approvals/{id}/collect` (body `{secret}`): the requester collects the grant.
//! - `GET /status`: the policy store's and the approver registry's stats, their reload
//!   events (a broken `approvers.toml` edit shows as `registry_rejected`), and the counts
//!   the metrics hook kept.
//!
//! Every call into writ blocks (an audit append, a redb commit, a Redis round trip), so
//! each runs on tokio's blocking pool (`spawn_blocking`), never on a reactor thread.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use writ::approvals::{
    AnswerStatus, Approvals, ChallengeOutcome, Collect, CollectStatus, Config, Evidence, Metrics,
    RedisStore, RefusalCode,
};
use writ::{PolicyStore, StoreConfig, Verdict, WatchConfig, WatchHandle};

/// Where the service keeps approval state.
pub enum Backend {
    /// One process: `state.redb` in the state directory.
    Embedded,
    /// Replicas: challenges and consumed grants in this Redis (`redis://…`); every replica
    /// holds the same `grant.key` in its state directory.
    Redis(String),
}

/// How to open the service.
pub struct Options {
    /// The policy directory (with `approvers.toml`).
    pub policies: PathBuf,
    /// The state directory (grant key, audit log, and `state.redb` when embedded).
    pub state: PathBuf,
    /// Where challenges live.
    pub backend: Backend,
    /// A clock other than the system's (tests, simulations).
    pub clock: Option<writ::Clock>,
    /// Follow edits of the policy directory (and re-read `approvers.toml` on each).
    pub watch: bool,
}

/// Counts kept by the metrics hook, by outcome.
#[derive(Default)]
pub struct Counts {
    allow: AtomicU64,
    deny: AtomicU64,
    approve: AtomicU64,
    challenges_opened: AtomicU64,
    challenges_refused: AtomicU64,
    answers_accepted: AtomicU64,
    answers_refused: AtomicU64,
    collections_granted: AtomicU64,
    collections_refused: AtomicU64,
    redeemed: AtomicU64,
    redemptions_refused: AtomicU64,
    replays: AtomicU64,
    failures: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Metrics for Counts {
    fn decision(&self, verdict: Verdict, _: Option<RefusalCode>) {
        bump(match verdict {
            Verdict::Allow => &self.allow,
            Verdict::Deny => &self.deny,
            Verdict::Approve => &self.approve,
        });
    }

    fn challenge(&self, outcome: ChallengeOutcome) {
        bump(match outcome {
            ChallengeOutcome::Opened | ChallengeOutcome::Merged => &self.challenges_opened,
            ChallengeOutcome::Refused(_) => &self.challenges_refused,
        });
    }

    fn answer(&self, status: AnswerStatus, _: Option<RefusalCode>) {
        bump(match status {
            AnswerStatus::Accepted => &self.answers_accepted,
            AnswerStatus::Refused => &self.answers_refused,
        });
    }

    fn collection(&self, status: CollectStatus, _: Option<RefusalCode>) {
        bump(match status {
            CollectStatus::Granted => &self.collections_granted,
            CollectStatus::Refused => &self.collections_refused,
        });
    }

    fn redemption(&self, verdict: Verdict, refusal: Option<RefusalCode>) {
        if refusal == Some(RefusalCode::Replayed) {
            bump(&self.replays);
        }
        bump(if verdict == Verdict::Allow {
            &self.redeemed
        } else {
            &self.redemptions_refused
        });
    }

    fn failure(&self, _: &'static str, _: &writ::approvals::Error) {
        bump(&self.failures);
    }
}

impl Counts {
    fn to_json(&self) -> Value {
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
        json!({
            "decisions": {"allow": n(&self.allow), "deny": n(&self.deny), "approve": n(&self.approve)},
            "challenges": {"opened": n(&self.challenges_opened), "refused": n(&self.challenges_refused)},
            "answers": {"accepted": n(&self.answers_accepted), "refused": n(&self.answers_refused)},
            "collections": {"granted": n(&self.collections_granted), "refused": n(&self.collections_refused)},
            "redemptions": {"allowed": n(&self.redeemed), "refused": n(&self.redemptions_refused), "replayed": n(&self.replays)},
            "failures": n(&self.failures),
        })
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct App {
    approvals: Arc<Approvals>,
    policies: Arc<PolicyStore>,
    events: Arc<Mutex<Vec<Value>>>,
    counts: Arc<Counts>,
}

/// A running service's state and, when it follows edits, its watcher.
pub struct Service {
    /// The handlers' shared state.
    pub app: App,
    _watch: Option<WatchHandle>,
}

fn record(events: &Mutex<Vec<Value>>, event: Value) {
    if let Ok(mut events) = events.lock() {
        events.push(event);
    }
}

impl Service {
    /// Opens the policy store and the approval flow.
    pub fn open(options: Options) -> Result<Service, Box<dyn std::error::Error>> {
        let policies = Arc::new(PolicyStore::open(
            &options.policies,
            StoreConfig::default(),
        )?);
        let events: Arc<Mutex<Vec<Value>>> = Arc::default();
        let counts = Arc::new(Counts::default());
        let approvals = match &options.backend {
            Backend::Embedded => {
                Approvals::with_state_dir(policies.clone(), &options.state, Config::default())?
            }
            Backend::Redis(url) => {
                let store = Arc::new(RedisStore::open(url, "writ:", Duration::from_secs(2))?);
                Approvals::with_store(policies.clone(), &options.state, store, Config::default())?
            }
        };
        let approvals = match options.clock {
            Some(clock) => approvals.with_clock(clock),
            None => approvals,
        };
        let sink = events.clone();
        let approvals = Arc::new(approvals.with_metrics(counts.clone()).on_registry_event(
            move |e| {
                record(&sink, serde_json::to_value(e).unwrap_or(Value::Null));
            },
        ));
        let watch = if options.watch {
            let sink = events.clone();
            let registry = approvals.clone();
            Some(writ::watch(
                policies.clone(),
                WatchConfig::default(),
                move |event| {
                    record(&sink, serde_json::to_value(&event).unwrap_or(Value::Null));
                    // The registry sits in the same directory: look at it now, so a broken
                    // edit surfaces when it is made (its event goes to the listener above).
                    let _ = registry.reload_registry();
                },
            )?)
        } else {
            None
        };
        Ok(Service {
            app: App {
                approvals,
                policies,
                events,
                counts,
            },
            _watch: watch,
        })
    }
}

/// The routes.
pub fn router(app: App) -> Router {
    Router::new()
        .route("/transfers", post(transfer))
        .route("/approvals/{id}", get(view))
        .route("/approvals/{id}/answer", post(answer))
        .route("/approvals/{id}/collect", post(collect))
        .route("/status", get(status))
        .with_state(app)
}

/// Serves `app` on `listener` until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, app: App) -> std::io::Result<()> {
    axum::serve(listener, router(app)).await
}

/// A transfer as the service's clients send it.
#[derive(Deserialize)]
pub struct Transfer {
    account: String,
    payee: String,
    amount: f64,
    #[serde(default)]
    note: String,
}

/// An approver's answer, as the approver's client sends it.
#[derive(Deserialize)]
pub struct AnswerBody {
    approver: String,
    approve: bool,
    #[serde(default)]
    code: Option<String>,
    evidence: Evidence,
}

/// The requester's collection.
#[derive(Deserialize)]
pub struct CollectBody {
    secret: String,
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn reply(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

/// Runs a blocking call into writ on the blocking pool; an operational error fails closed.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, writ::approvals::Error> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(writ::approvals::Error::Request(e))) => Err(reply(
            StatusCode::BAD_REQUEST,
            json!({"error": e.to_string(), "path": e.path}),
        )),
        // The store, the audit log or the registry failed: refuse (fail closed).
        Ok(Err(e)) => Err(reply(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"error": e.to_string()}),
        )),
        Err(e) => Err(reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": e.to_string()}),
        )),
    }
}

async fn transfer(
    State(app): State<App>,
    headers: HeaderMap,
    Json(body): Json<Transfer>,
) -> Response {
    let (Some(principal), Some(session)) = (
        header(&headers, "x-principal"),
        header(&headers, "x-session"),
    ) else {
        return reply(
            StatusCode::UNAUTHORIZED,
            json!({"error": "send `x-principal` and `x-session`"}),
        );
    };
    // The writ request, built as a value: no JSON text printed and parsed again.
    let request = json!({
        "principal": {"id": principal, "kind": "human"},
        "action": "payments.transfer",
        "resource": {"id": body.account},
        "session": {"id": session},
        "request": {"params": {"amount": body.amount, "payee": body.payee, "note": body.note}},
    });
    let approvals = app.approvals.clone();
    if let Some(grant) = header(&headers, "x-writ-grant").map(str::to_string) {
        let redeemed = match blocking(move || approvals.redeem_value(request, &grant, None)).await {
            Ok(r) => r,
            Err(response) => return response,
        };
        return match &redeemed.refusal {
            None => reply(
                StatusCode::OK,
                json!({"status": "executed", "decision_id": redeemed.decision_id, "redemption": redeemed.grant}),
            ),
            Some(refusal) => reply(
                StatusCode::FORBIDDEN,
                json!({"status": "refused", "decision_id": redeemed.decision_id, "refusal": refusal}),
            ),
        };
    }
    let decided = match blocking(move || approvals.decide_value(request)).await {
        Ok(d) => d,
        Err(response) => return response,
    };
    match decided.decision.decision {
        Verdict::Allow => reply(
            StatusCode::OK,
            json!({"status": "executed", "decision_id": decided.decision_id}),
        ),
        Verdict::Deny => {
            // Explained on the engine version that decided, not the store's current one.
            let explanation = decided.basis.explain();
            let fired: Vec<&str> = explanation
                .rules
                .iter()
                .filter(|r| r.fired)
                .map(|r| r.name.as_str())
                .collect();
            reply(
                StatusCode::FORBIDDEN,
                json!({
                    "status": "denied",
                    "decision_id": decided.decision_id,
                    "message": decided.decision.message.as_deref(),
                    "refusal": decided.refusal,
                    "rules_fired": fired,
                }),
            )
        }
        Verdict::Approve => reply(
            StatusCode::ACCEPTED,
            json!({
                "status": "approval_required",
                "decision_id": decided.decision_id,
                "challenge": decided.challenge,
                // For this requester only: it collects the grant once approved.
                "collection_secret": decided.collection_secret,
            }),
        ),
    }
}

async fn view(State(app): State<App>, UrlPath(id): UrlPath<String>) -> Response {
    let approvals = app.approvals.clone();
    match blocking(move || approvals.challenge(&id)).await {
        Ok(Some(view)) => reply(StatusCode::OK, json!(view)),
        Ok(None) => reply(StatusCode::NOT_FOUND, json!({"error": "no such challenge"})),
        Err(response) => response,
    }
}

async fn answer(
    State(app): State<App>,
    UrlPath(id): UrlPath<String>,
    Json(body): Json<AnswerBody>,
) -> Response {
    let approvals = app.approvals.clone();
    let answer = writ::approvals::Answer {
        challenge: id,
        approver: body.approver,
        approve: body.approve,
        code: body.code,
        evidence: body.evidence,
    };
    match blocking(move || approvals.answer(&answer)).await {
        Ok(answered) => reply(
            match answered.status {
                AnswerStatus::Accepted => StatusCode::OK,
                AnswerStatus::Refused => StatusCode::FORBIDDEN,
            },
            json!(answered),
        ),
        Err(response) => response,
    }
}

async fn collect(
    State(app): State<App>,
    UrlPath(id): UrlPath<String>,
    Json(body): Json<CollectBody>,
) -> Response {
    let approvals = app.approvals.clone();
    let proof = Collect::Secret(body.secret);
    match blocking(move || approvals.collect(&id, &proof)).await {
        Ok(collected) => {
            let status = match collected.status {
                CollectStatus::Granted => StatusCode::OK,
                CollectStatus::Refused => StatusCode::FORBIDDEN,
            };
            let body = json!({
                "status": collected.status,
                "grant": collected.grant,
                "refusal": collected.refusal,
            });
            reply(status, body)
        }
        Err(response) => response,
    }
}

async fn status(State(app): State<App>) -> Response {
    let approvals = app.approvals.clone();
    // Look at the registry file now (its change, if any, lands in the events).
    if let Err(response) = blocking(move || approvals.reload_registry()).await {
        return response;
    }
    let events = app.events.lock().map(|e| e.clone()).unwrap_or_default();
    reply(
        StatusCode::OK,
        json!({
            "policy": app.policies.stats(),
            "registry": app.approvals.registry_stats(),
            "events": events,
            "metrics": app.counts.to_json(),
        }),
    )
}

/// The policy directory shipped beside this example.
pub fn example_policies() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/payments_service/policies")
}
