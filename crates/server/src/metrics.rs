//! Metrics in the Prometheus text format, hand-written: a fixed set of counters and
//! histograms over fixed label values (routes, outcomes), each an atomic, so a decision
//! takes no lock and allocates nothing to be counted. (prometheus-client would add a
//! registry, a lock per family and a dependency for the same dozen series.)

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// The routes counted apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// `POST /access/v1/evaluation`.
    Evaluation,
    /// `POST /access/v1/evaluations`.
    Evaluations,
    /// `POST /v1/decide`.
    Decide,
    /// `POST /v1/explain`.
    Explain,
    /// `GET /v1/challenges/{id}`.
    Challenge,
    /// `POST /v1/challenges/{id}/answers`.
    Answer,
    /// `POST /v1/challenges/{id}/grant`.
    Collect,
    /// `POST /v1/redeem`.
    Redeem,
    /// `POST /web/api/signin/options` and `/web/api/signin/finish`: signing in on the
    /// approver's pages.
    WebSignIn,
    /// `POST /web/api/challenges/{id}/answer`: an answer from the approval page.
    WebAnswer,
    /// The rest of the approver's pages: `/enroll/…`, `/signin`, `/approve/…`, `/web/…`.
    Web,
    /// Discovery, the OpenAPI document, unknown paths.
    Other,
}

const ROUTES: [Route; N_ROUTES] = [
    Route::Evaluation,
    Route::Evaluations,
    Route::Decide,
    Route::Explain,
    Route::Challenge,
    Route::Answer,
    Route::Collect,
    Route::Redeem,
    Route::WebSignIn,
    Route::WebAnswer,
    Route::Web,
    Route::Other,
];

/// How many routes are counted apart.
const N_ROUTES: usize = 12;

impl Route {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Route::Evaluation => "/access/v1/evaluation",
            Route::Evaluations => "/access/v1/evaluations",
            Route::Decide => "/v1/decide",
            Route::Explain => "/v1/explain",
            Route::Challenge => "/v1/challenges/{id}",
            Route::Answer => "/v1/challenges/{id}/answers",
            Route::Collect => "/v1/challenges/{id}/grant",
            Route::Redeem => "/v1/redeem",
            Route::WebSignIn => "/web/api/signin",
            Route::WebAnswer => "/web/api/challenges/{id}/answer",
            Route::Web => "/web",
            Route::Other => "other",
        }
    }

    /// The route of a request path.
    pub fn of_path(path: &str) -> Route {
        match path {
            "/access/v1/evaluation" => Route::Evaluation,
            "/access/v1/evaluations" => Route::Evaluations,
            "/v1/decide" => Route::Decide,
            "/v1/explain" => Route::Explain,
            "/v1/redeem" => Route::Redeem,
            p if p.starts_with("/v1/challenges/") => {
                if p.ends_with("/answers") {
                    Route::Answer
                } else if p.ends_with("/grant") {
                    Route::Collect
                } else {
                    Route::Challenge
                }
            }
            "/web/api/signin/options" | "/web/api/signin/finish" => Route::WebSignIn,
            p if p.starts_with("/web/api/challenges/") && p.ends_with("/answer") => {
                Route::WebAnswer
            }
            "/signin" => Route::Web,
            p if p.starts_with("/web/")
                || p.starts_with("/enroll/")
                || p.starts_with("/approve/") =>
            {
                Route::Web
            }
            _ => Route::Other,
        }
    }

    fn index(self) -> usize {
        ROUTES
            .iter()
            .position(|r| *r == self)
            .unwrap_or(ROUTES.len() - 1)
    }
}

/// What a decision came to, as counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `allow` (AuthZEN `true`).
    Allow,
    /// `deny`.
    Deny,
    /// `approve` (AuthZEN `false` with `approval_required`).
    Approve,
    /// A request that could not be decided (a failed batch item, a bind error).
    Error,
}

const OUTCOMES: [&str; 4] = ["allow", "deny", "approve", "error"];

impl Outcome {
    fn index(self) -> usize {
        match self {
            Outcome::Allow => 0,
            Outcome::Deny => 1,
            Outcome::Approve => 2,
            Outcome::Error => 3,
        }
    }

    /// The outcome of an engine verdict.
    pub fn of(v: writ_engine::Verdict) -> Outcome {
        match v {
            writ_engine::Verdict::Allow => Outcome::Allow,
            writ_engine::Verdict::Deny => Outcome::Deny,
            writ_engine::Verdict::Approve => Outcome::Approve,
        }
    }
}

/// Upper bounds of the latency buckets, microseconds.
const LATENCY_US: [u64; 14] = [
    25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 500_000, 2_500_000,
];

/// Upper bounds of the batch size buckets.
const BATCH: [u64; 7] = [1, 2, 5, 10, 20, 50, 100];

/// A histogram over fixed bounds.
struct Histogram<const N: usize> {
    bounds: [u64; N],
    buckets: [AtomicU64; N],
    count: AtomicU64,
    sum: AtomicU64,
}

impl<const N: usize> Histogram<N> {
    fn new(bounds: [u64; N]) -> Self {
        Histogram {
            bounds,
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            count: AtomicU64::new(0),
            sum: AtomicU64::new(0),
        }
    }

    fn observe(&self, v: u64) {
        if let Some(i) = self.bounds.iter().position(|b| v <= *b) {
            self.buckets[i].fetch_add(1, Relaxed);
        }
        self.count.fetch_add(1, Relaxed);
        self.sum.fetch_add(v, Relaxed);
    }

    /// Writes the series; `scale` divides bounds and sum (microseconds to seconds).
    fn write(&self, out: &mut String, name: &str, labels: &str, scale: f64) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0u64;
        for (b, n) in self.bounds.iter().zip(&self.buckets) {
            cumulative += n.load(Relaxed);
            let le = *b as f64 / scale;
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{le}\"}} {cumulative}"
            );
        }
        let count = self.count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {count}");
        let sum = self.sum.load(Relaxed) as f64 / scale;
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {sum}");
        let _ = writeln!(out, "{name}_count{braces} {count}");
    }
}

/// Every series the server exports.
pub struct Metrics {
    decisions: [[AtomicU64; 4]; N_ROUTES],
    http_by_class: [[AtomicU64; 5]; N_ROUTES],
    decision_latency: Histogram<14>,
    http_latency: [Histogram<14>; N_ROUTES],
    batch_sizes: Histogram<7>,
    in_flight: AtomicU64,
    shed: AtomicU64,
    timeouts: AtomicU64,
    challenges: [AtomicU64; 5],
    redemptions: [AtomicU64; 2],
    store_errors: AtomicU64,
    identity_refused: AtomicU64,
    notices: [AtomicU64; 4],
    signins: [AtomicU64; 2],
    web_limited: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            decisions: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
            http_by_class: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
            decision_latency: Histogram::new(LATENCY_US),
            http_latency: std::array::from_fn(|_| Histogram::new(LATENCY_US)),
            batch_sizes: Histogram::new(BATCH),
            in_flight: AtomicU64::new(0),
            shed: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            challenges: std::array::from_fn(|_| AtomicU64::new(0)),
            redemptions: std::array::from_fn(|_| AtomicU64::new(0)),
            store_errors: AtomicU64::new(0),
            identity_refused: AtomicU64::new(0),
            notices: std::array::from_fn(|_| AtomicU64::new(0)),
            signins: std::array::from_fn(|_| AtomicU64::new(0)),
            web_limited: AtomicU64::new(0),
        }
    }
}

/// Webhook notices counted (`writ_notices_total{result=…}`).
#[derive(Clone, Copy, Debug)]
pub enum NoticeEvent {
    /// The receiver answered 2xx.
    Delivered,
    /// An attempt failed and another one is scheduled.
    Retried,
    /// Every attempt failed (or the receiver refused it with a 4xx): given up.
    Failed,
    /// The queue was full: never sent.
    Dropped,
}

const NOTICE_RESULTS: [&str; 4] = ["delivered", "retried", "failed", "dropped"];

/// Challenge events counted.
#[derive(Clone, Copy, Debug)]
pub enum ChallengeEvent {
    /// A challenge opened (or joined).
    Opened,
    /// Its quorum was met: a grant was issued.
    Granted,
    /// An approver denied it.
    Denied,
    /// Too many failed answers: it accepts nothing more.
    Locked,
    /// A valid answer carried another binding code: closed as a suspected relay.
    Relay,
}

/// The challenge events of an answer (from the API or the approval page).
pub fn answered(metrics: &Metrics, answered: &writ_approvals::Answered) {
    if answered
        .refusal
        .as_ref()
        .is_some_and(|r| r.code == writ_approvals::RefusalCode::RelaySuspected)
    {
        metrics.challenge(ChallengeEvent::Relay);
    }
    if let Some(c) = &answered.challenge {
        match c.state.as_str() {
            "granted" if answered.status == "accepted" => {
                metrics.challenge(ChallengeEvent::Granted)
            }
            "denied" if answered.status == "accepted" => metrics.challenge(ChallengeEvent::Denied),
            "locked" => metrics.challenge(ChallengeEvent::Locked),
            _ => {}
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl Metrics {
    /// Counts one decision and the time the engine took.
    pub fn decision(&self, route: Route, outcome: Outcome, took: Duration) {
        self.decisions[route.index()][outcome.index()].fetch_add(1, Relaxed);
        self.decision_latency.observe(micros(took));
    }

    /// Counts a decision without timing it (a failed batch item).
    pub fn decision_outcome(&self, route: Route, outcome: Outcome) {
        self.decisions[route.index()][outcome.index()].fetch_add(1, Relaxed);
    }

    /// Counts one HTTP exchange.
    pub fn http(&self, route: Route, status: u16, took: Duration) {
        let class = usize::from((status / 100).clamp(1, 5)) - 1;
        self.http_by_class[route.index()][class].fetch_add(1, Relaxed);
        self.http_latency[route.index()].observe(micros(took));
    }

    /// Counts the size of one batch.
    pub fn batch(&self, size: usize) {
        self.batch_sizes
            .observe(u64::try_from(size).unwrap_or(u64::MAX));
    }

    /// One request more in flight.
    pub fn enter(&self) {
        self.in_flight.fetch_add(1, Relaxed);
    }

    /// One request fewer in flight.
    pub fn leave(&self) {
        self.in_flight.fetch_sub(1, Relaxed);
    }

    /// One request refused by the concurrency cap.
    pub fn shed(&self) {
        self.shed.fetch_add(1, Relaxed);
    }

    /// One request past the time limit.
    pub fn timeout(&self) {
        self.timeouts.fetch_add(1, Relaxed);
    }

    /// A challenge event.
    pub fn challenge(&self, e: ChallengeEvent) {
        self.challenges[e as usize].fetch_add(1, Relaxed);
    }

    /// A redemption: allowed or refused.
    pub fn redemption(&self, allowed: bool) {
        self.redemptions[usize::from(!allowed)].fetch_add(1, Relaxed);
    }

    /// A state store (or audit log) failure.
    pub fn store_error(&self) {
        self.store_errors.fetch_add(1, Relaxed);
    }

    /// A webhook notice event.
    pub fn notice(&self, event: NoticeEvent) {
        self.notices[event as usize].fetch_add(1, Relaxed);
    }

    /// How many notices came to `event` so far.
    pub fn notices(&self, event: NoticeEvent) -> u64 {
        self.notices[event as usize].load(Relaxed)
    }

    /// A sign-in on the approver's pages: signed in, or refused (the assertion did not
    /// sign anyone in).
    pub fn sign_in(&self, signed_in: bool) {
        self.signins[usize::from(!signed_in)].fetch_add(1, Relaxed);
    }

    /// A request to the approver's pages answered 429 (past a rate limit).
    pub fn web_limited(&self) {
        self.web_limited.fetch_add(1, Relaxed);
    }

    /// A caller refused by the identity layer.
    pub fn identity_refused(&self) {
        self.identity_refused.fetch_add(1, Relaxed);
    }

    /// Requests being served now.
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Relaxed)
    }

    /// Requests refused by the concurrency cap so far.
    pub fn shed_count(&self) -> u64 {
        self.shed.load(Relaxed)
    }

    /// The exposition text; `extra` holds what lives elsewhere (reloads, the policy
    /// version, the decision log).
    pub fn render(&self, extra: &Extra) -> String {
        let mut o = String::with_capacity(16 * 1024);
        o.push_str("# HELP writ_decisions_total Decisions by route and outcome.\n# TYPE writ_decisions_total counter\n");
        for r in ROUTES {
            for (oi, name) in OUTCOMES.iter().enumerate() {
                let n = self.decisions[r.index()][oi].load(Relaxed);
                let _ = writeln!(
                    o,
                    "writ_decisions_total{{route=\"{}\",outcome=\"{name}\"}} {n}",
                    r.as_str()
                );
            }
        }
        o.push_str("# HELP writ_http_requests_total HTTP exchanges by route and status class.\n# TYPE writ_http_requests_total counter\n");
        for r in ROUTES {
            for (ci, class) in ["1xx", "2xx", "3xx", "4xx", "5xx"].iter().enumerate() {
                let n = self.http_by_class[r.index()][ci].load(Relaxed);
                let _ = writeln!(
                    o,
                    "writ_http_requests_total{{route=\"{}\",status=\"{class}\"}} {n}",
                    r.as_str()
                );
            }
        }
        o.push_str("# HELP writ_decision_seconds Time the engine took per decision.\n# TYPE writ_decision_seconds histogram\n");
        self.decision_latency
            .write(&mut o, "writ_decision_seconds", "", 1e6);
        o.push_str("# HELP writ_http_request_seconds Time from request to response, by route.\n# TYPE writ_http_request_seconds histogram\n");
        for r in ROUTES {
            self.http_latency[r.index()].write(
                &mut o,
                "writ_http_request_seconds",
                &format!("route=\"{}\"", r.as_str()),
                1e6,
            );
        }
        o.push_str(
            "# HELP writ_batch_size Requests per batch.\n# TYPE writ_batch_size histogram\n",
        );
        self.batch_sizes.write(&mut o, "writ_batch_size", "", 1.0);
        o.push_str("# HELP writ_notices_total Webhook notices (challenges opened, notify obligations) by result.\n# TYPE writ_notices_total counter\n");
        for (i, result) in NOTICE_RESULTS.iter().enumerate() {
            let n = self.notices[i].load(Relaxed);
            let _ = writeln!(o, "writ_notices_total{{result=\"{result}\"}} {n}");
        }
        let gauges: [(&str, &str, &str, u64); 9] = [
            (
                "writ_in_flight",
                "gauge",
                "Requests being served.",
                self.in_flight.load(Relaxed),
            ),
            (
                "writ_shed_total",
                "counter",
                "Requests refused by the concurrency cap (503).",
                self.shed.load(Relaxed),
            ),
            (
                "writ_timeouts_total",
                "counter",
                "Requests past the time limit (503).",
                self.timeouts.load(Relaxed),
            ),
            (
                "writ_store_errors_total",
                "counter",
                "State store or audit log failures.",
                self.store_errors.load(Relaxed),
            ),
            (
                "writ_identity_refused_total",
                "counter",
                "Callers refused by the identity layer.",
                self.identity_refused.load(Relaxed),
            ),
            (
                "writ_decision_log_dropped_total",
                "counter",
                "Decision log records dropped (the writer was behind).",
                extra.log_dropped,
            ),
            (
                "writ_connections_open",
                "gauge",
                "API connections open now.",
                extra.connections_open,
            ),
            (
                "writ_connections_refused_total",
                "counter",
                "API connections closed at once: the connection cap was reached.",
                extra.connections_refused,
            ),
            (
                "writ_connections_timed_out_total",
                "counter",
                "API connections closed by the handshake, header read or idle timeout.",
                extra.connections_timed_out,
            ),
        ];
        for (name, ty, help, v) in gauges {
            let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {ty}\n{name} {v}");
        }
        o.push_str("# HELP writ_challenges_total Challenge events.\n# TYPE writ_challenges_total counter\n");
        for (i, e) in ["opened", "granted", "denied", "locked", "relay"]
            .iter()
            .enumerate()
        {
            let _ = writeln!(
                o,
                "writ_challenges_total{{event=\"{e}\"}} {}",
                self.challenges[i].load(Relaxed)
            );
        }
        o.push_str("# HELP writ_web_signins_total Passkey sign-ins on the approver's pages by result.\n# TYPE writ_web_signins_total counter\n");
        for (i, e) in ["signed_in", "refused"].iter().enumerate() {
            let _ = writeln!(
                o,
                "writ_web_signins_total{{result=\"{e}\"}} {}",
                self.signins[i].load(Relaxed)
            );
        }
        let _ = writeln!(
            o,
            "# HELP writ_web_rate_limited_total Requests to the approver's pages refused 429 (past a rate limit).\n# TYPE writ_web_rate_limited_total counter\nwrit_web_rate_limited_total {}",
            self.web_limited.load(Relaxed)
        );
        o.push_str("# HELP writ_redemptions_total Grant redemptions by result.\n# TYPE writ_redemptions_total counter\n");
        for (i, e) in ["allowed", "refused"].iter().enumerate() {
            let _ = writeln!(
                o,
                "writ_redemptions_total{{result=\"{e}\"}} {}",
                self.redemptions[i].load(Relaxed)
            );
        }
        o.push_str("# HELP writ_reloads_total Policy reloads by result.\n# TYPE writ_reloads_total counter\n");
        let _ = writeln!(
            o,
            "writ_reloads_total{{result=\"loaded\"}} {}",
            extra.loaded
        );
        let _ = writeln!(
            o,
            "writ_reloads_total{{result=\"rejected\"}} {}",
            extra.rejected
        );
        let _ = writeln!(
            o,
            "writ_reloads_total{{result=\"unchanged\"}} {}",
            extra.unchanged
        );
        o.push_str("# HELP writ_policy_info The running policy version (value 1).\n# TYPE writ_policy_info gauge\n");
        if let Some(v) = &extra.version {
            let _ = writeln!(o, "writ_policy_info{{version=\"{v}\"}} 1");
        }
        let _ = writeln!(
            o,
            "# HELP writ_policy_last_reload_rejected 1 when the last reload was rejected (the previous version still serves).\n# TYPE writ_policy_last_reload_rejected gauge\nwrit_policy_last_reload_rejected {}",
            u8::from(extra.last_rejected)
        );
        o
    }
}

/// Values the metrics read from elsewhere at render time.
#[derive(Debug, Default)]
pub struct Extra {
    /// Versions loaded (the first included).
    pub loaded: u64,
    /// Reloads rejected.
    pub rejected: u64,
    /// Reloads that found nothing new.
    pub unchanged: u64,
    /// The running version, once loaded.
    pub version: Option<String>,
    /// Whether the last reload was rejected.
    pub last_rejected: bool,
    /// Decision log records dropped.
    pub log_dropped: u64,
    /// API connections open now.
    pub connections_open: u64,
    /// API connections closed at once at the cap.
    pub connections_refused: u64,
    /// API connections closed by a timeout.
    pub connections_timed_out: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_routes_are_labelled() {
        let m = Metrics::default();
        m.decision(Route::Decide, Outcome::Allow, Duration::from_micros(30));
        m.decision(Route::Decide, Outcome::Allow, Duration::from_micros(3_000));
        m.http(Route::Decide, 200, Duration::from_micros(40));
        m.batch(7);
        let text = m.render(&Extra {
            version: Some("abc".into()),
            ..Extra::default()
        });
        assert!(text.contains("writ_decisions_total{route=\"/v1/decide\",outcome=\"allow\"} 2"));
        assert!(text.contains("writ_decision_seconds_bucket{le=\"0.00005\"} 1"));
        assert!(text.contains("writ_decision_seconds_bucket{le=\"0.005\"} 2"));
        assert!(text.contains("writ_decision_seconds_count 2"));
        assert!(text.contains("writ_http_requests_total{route=\"/v1/decide\",status=\"2xx\"} 1"));
        assert!(text.contains("writ_batch_size_bucket{le=\"10\"} 1"));
        assert!(text.contains("writ_policy_info{version=\"abc\"} 1"));
        assert_eq!(Route::of_path("/v1/challenges/c_1/answers"), Route::Answer);
        assert_eq!(Route::of_path("/v1/challenges/c_1"), Route::Challenge);
        assert_eq!(Route::of_path("/web/api/signin/finish"), Route::WebSignIn);
        assert_eq!(
            Route::of_path("/web/api/challenges/ch_1/answer"),
            Route::WebAnswer
        );
        assert_eq!(Route::of_path("/approve/ch_1"), Route::Web);
        assert_eq!(Route::of_path("/signin"), Route::Web);
    }

    #[test]
    fn a_suspected_relay_is_a_challenge_event() {
        let m = Metrics::default();
        answered(
            &m,
            &writ_approvals::Answered {
                status: writ_approvals::AnswerStatus::Refused,
                refusal: Some(writ_approvals::Refusal::new(
                    writ_approvals::RefusalCode::RelaySuspected,
                    "another binding code",
                )),
                challenge: None,
            },
        );
        let text = m.render(&Extra::default());
        assert!(
            text.contains("writ_challenges_total{event=\"relay\"} 1"),
            "{text}"
        );
    }
}
