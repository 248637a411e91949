//! Notices by webhook (`writ serve --notify notify.toml`): when a challenge opens, every
//! target configured for one of the approver groups it needs is told — a JSON body with
//! the challenge id, the approval page's link, who asks and what (never a grant, a code, a
//! collection secret or a bound value), with a Slack-compatible `text` (`&`, `<` and `>`
//! escaped as Slack's formatting asks, so a value cannot add a link or a mention) — and a decision
//! carrying the `notify("NAME")` obligation is delivered to the target named NAME the
//! same way. Each body is signed with HMAC-SHA256 under the target's secret
//! (`X-Writ-Signature-256: sha256=HEX` over `TIMESTAMP "." BODY`, the timestamp in
//! `X-Writ-Timestamp`, as GitHub and Slack sign theirs), and delivered from a bounded
//! queue per target: a decision never waits for a receiver; a full queue drops the notice;
//! a failed attempt (no connection, a timeout, a 5xx or 429) is retried with exponential
//! backoff, holding no delivery slot while it waits; a target that hangs fills only its own
//! queue and slots, never another target's; each outcome counts in
//! `writ_notices_total{result}`.
//!
//! ```toml
//! base_url = "https://writ.example.com"     # the approval page's origin (default: --public-url,
//!                                           # then the relying party's first origin)
//! [[notify]]
//! name = "db-owners-slack"
//! groups = ["db-owners"]                    # told when a challenge needs one of these groups
//! url = "https://hooks.slack.com/services/…"
//! secret_env = "WRIT_SLACK_SECRET"          # or `secret = "…"` (keep the file 0600)
//!
//! [[notify]]
//! name = "secops"                           # the target of `notify("secops")`
//! url = "http://alerts.internal:8080/writ"
//! secret_env = "WRIT_SECOPS_SECRET"
//! ```

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac as _};
use serde::Deserialize;
use serde_json::{json, Value as Json};
use sha2::Sha256;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::{mpsc, Semaphore};

use crate::metrics::{Metrics, NoticeEvent};

/// One webhook target.
#[derive(Clone)]
pub struct Target {
    /// Its name (what `notify("…")` names).
    pub name: String,
    /// The approver groups it is told about when a challenge opens.
    pub groups: Vec<String>,
    /// Where the notice is posted (`http://` or `https://`).
    pub url: String,
    /// The HMAC-SHA256 key.
    secret: Vec<u8>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("name", &self.name)
            .field("groups", &self.groups)
            .field("url", &self.url)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// The notice configuration (`--notify FILE`), with the queue's limits.
#[derive(Clone, Debug)]
pub struct NotifyConfig {
    /// The targets.
    pub targets: Vec<Target>,
    /// The approval page's origin in links (`base_url`), when the file says.
    pub base_url: Option<String>,
    /// Notices waiting per target at most (1,024 by default); past it, new ones to that
    /// target are dropped. As many again may be between attempts (in backoff).
    pub queue: usize,
    /// Attempts per notice (5 by default).
    pub attempts: u32,
    /// The wait before the second attempt, doubled after each failure (1 s by default).
    pub first_backoff: Duration,
    /// One attempt's time limit: connect, send, read the status (10 s by default).
    pub timeout: Duration,
    /// Attempts in flight at once per target (8 by default): a slow receiver holds its
    /// own target's slots only, and none while a notice waits to be retried.
    pub concurrency: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileShape {
    #[serde(default)]
    base_url: Option<String>,
    #[serde(default)]
    notify: Vec<TargetShape>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetShape {
    name: String,
    #[serde(default)]
    groups: Vec<String>,
    url: String,
    #[serde(default)]
    secret: Option<String>,
    #[serde(default)]
    secret_env: Option<String>,
}

impl NotifyConfig {
    /// Targets with the default queue limits.
    pub fn new(targets: Vec<Target>, base_url: Option<String>) -> NotifyConfig {
        NotifyConfig {
            targets,
            base_url,
            queue: 1024,
            attempts: 5,
            first_backoff: Duration::from_secs(1),
            timeout: Duration::from_secs(10),
            concurrency: 8,
        }
    }

    /// Reads `notify.toml` text (`name` in errors); `env` looks up `secret_env`.
    pub fn parse(
        name: &str,
        text: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<NotifyConfig, String> {
        let shape: FileShape = toml::from_str(text).map_err(|e| format!("{name}: {e}"))?;
        let mut targets = Vec::new();
        for t in shape.notify {
            let n = &t.name;
            if targets.iter().any(|x: &Target| x.name == *n) {
                return Err(format!("{name}: `[[notify]]` `{n}` is listed twice"));
            }
            if !(t.url.starts_with("http://") || t.url.starts_with("https://")) {
                return Err(format!(
                    "{name}: `[[notify]]` `{n}`: `url` must start with `http://` or `https://`, not `{}`",
                    t.url
                ));
            }
            parse_url(&t.url).map_err(|e| format!("{name}: `[[notify]]` `{n}`: {e}"))?;
            let secret = match (t.secret, t.secret_env) {
                (Some(s), None) => s,
                (None, Some(var)) => env(&var).ok_or_else(|| {
                    format!("{name}: `[[notify]]` `{n}`: the environment variable `{var}` (`secret_env`) is not set")
                })?,
                _ => {
                    return Err(format!(
                        "{name}: `[[notify]]` `{n}`: give exactly one of `secret` and `secret_env` (the HMAC-SHA256 key receivers check the signature with)"
                    ))
                }
            };
            if secret.len() < 16 {
                return Err(format!(
                    "{name}: `[[notify]]` `{n}`: the secret is shorter than 16 bytes: use a random one (`openssl rand -hex 32`)"
                ));
            }
            targets.push(Target {
                name: t.name,
                groups: t.groups,
                url: t.url,
                secret: secret.into_bytes(),
            });
        }
        Ok(NotifyConfig::new(targets, shape.base_url))
    }
}

/// A queued notice.
struct Notice {
    target: Arc<Target>,
    body: Vec<u8>,
    delivery: String,
}

/// The sender: a bounded queue per target, each drained by its own background task.
pub struct Notifier {
    /// The targets, each with its queue.
    targets: Vec<(Arc<Target>, mpsc::Sender<Notice>)>,
    base_url: Option<String>,
    metrics: Arc<Metrics>,
}

/// `text` as Slack's message formatting needs it: `&`, `<` and `>` escaped (`&amp;`,
/// `&lt;`, `&gt;`), so a value in it cannot open a link (`<https://…|label>`) or a mention
/// (`<!channel>`).
pub fn slack_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let targets: Vec<&Target> = self.targets.iter().map(|(t, _)| &**t).collect();
        f.debug_struct("Notifier")
            .field("targets", &targets)
            .finish_non_exhaustive()
    }
}

/// `HMAC-SHA256(secret, timestamp "." body)`, lowercase hex: the value after `sha256=`
/// in `X-Writ-Signature-256`.
pub fn signature(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        // HMAC takes a key of any length: this arm is never taken.
        Err(_) => return String::new(),
    };
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Notifier {
    /// Starts the sender on the current tokio runtime.
    pub fn start(config: NotifyConfig, metrics: Arc<Metrics>) -> Arc<Notifier> {
        let config = Arc::new(config);
        let targets = config
            .targets
            .iter()
            .map(|t| {
                let (tx, rx) = mpsc::channel(config.queue.max(1));
                tokio::spawn(drain(rx, config.clone(), metrics.clone()));
                (Arc::new(t.clone()), tx)
            })
            .collect();
        Arc::new(Notifier {
            targets,
            base_url: config.base_url.clone(),
            metrics,
        })
    }

    /// The approval page's origin the file gives (`base_url`), if it does.
    pub fn base_url(&self) -> Option<&str> {
        self.base_url.as_deref()
    }

    fn enqueue(&self, (target, queue): &(Arc<Target>, mpsc::Sender<Notice>), body: &Json) {
        let notice = Notice {
            target: target.clone(),
            body: serde_json::to_vec(body).unwrap_or_default(),
            delivery: crate::ids::new_id("n_"),
        };
        if queue.try_send(notice).is_err() {
            self.metrics.notice(NoticeEvent::Dropped);
        }
    }

    /// Tells every target of the groups `view` needs that it opened. `base` is the approval
    /// page's origin when neither the file nor `--public-url` gives one.
    pub fn challenge_opened(
        &self,
        view: &writ_approvals::ChallengeView,
        public_url: Option<&str>,
        base: Option<&str>,
    ) {
        let origin = self
            .base_url
            .as_deref()
            .or(public_url)
            .or(base)
            .unwrap_or("")
            .trim_end_matches('/');
        let link = format!("{origin}/approve/{}", view.id);
        let r = &view.requester;
        let needs: Vec<String> = view
            .approvers
            .iter()
            .map(|c| format!("{} of {}", c.count, c.group))
            .collect();
        let show = |v: &Option<String>| {
            v.as_deref()
                .map_or_else(|| "?".to_string(), writ_approvals::identity::visible)
        };
        let agent = if r.kind.as_deref() == Some("agent") {
            " (an AI agent)"
        } else {
            ""
        };
        let behalf = r
            .on_behalf_of
            .as_deref()
            .map(|h| format!(" on behalf of {}", writ_approvals::identity::visible(h)))
            .unwrap_or_default();
        let text = slack_escape(&format!(
            "writ: {}{agent}{behalf} asks to {} on {} — approval needed ({}) before {}: {link}",
            show(&r.principal),
            show(&r.action),
            show(&r.resource),
            needs.join(", "),
            view.expires_at
        ));
        for entry in &self.targets {
            let target = &entry.0;
            let groups: Vec<&str> = view
                .approvers
                .iter()
                .map(|c| c.group.as_str())
                .filter(|g| target.groups.iter().any(|t| t == g))
                .collect();
            if groups.is_empty() {
                continue;
            }
            self.enqueue(
                entry,
                &json!({
                    "type": "challenge.opened",
                    "challenge": view.id,
                    "url": link,
                    "text": text,
                    "principal": r.principal,
                    "kind": r.kind,
                    "on_behalf_of": r.on_behalf_of,
                    "action": r.action,
                    "resource": r.resource,
                    "approvers": view.approvers,
                    "groups": groups,
                    "expires_at": view.expires_at,
                    "rules": view.rules,
                    "risk": view.risk,
                }),
            );
        }
    }

    /// Delivers a decision's `notify("NAME")` obligations to the targets named NAME.
    pub fn obligations(&self, decision: &writ_engine::Decision, decision_id: &str, request: &Json) {
        for o in &decision.obligations {
            if &*o.name != "notify" {
                continue;
            }
            let Some(name) = o.args.first() else { continue };
            let name = name.trim().trim_matches('"');
            let Some(entry) = self.targets.iter().find(|(t, _)| t.name == name) else {
                continue;
            };
            let s = |path: &str| {
                writ_engine::lookup(request, path.split('.'))
                    .and_then(Json::as_str)
                    .map(str::to_string)
            };
            let (principal, action, resource) = (s("principal.id"), s("action"), s("resource.id"));
            let rules: Vec<&str> = decision.rules.iter().map(|r| &**r).collect();
            let text = slack_escape(&format!(
                "writ: {} — {} {} on {} ({}; rules: {})",
                name,
                principal
                    .as_deref()
                    .map_or("?".into(), writ_approvals::identity::visible),
                action
                    .as_deref()
                    .map_or("?".into(), writ_approvals::identity::visible),
                resource
                    .as_deref()
                    .map_or("?".into(), writ_approvals::identity::visible),
                decision.decision.as_str(),
                rules.join(", ")
            ));
            self.enqueue(
                entry,
                &json!({
                    "type": "obligation.notify",
                    "target": name,
                    "text": text,
                    "decision_id": decision_id,
                    "decision": decision.decision.as_str(),
                    "principal": principal,
                    "action": action,
                    "resource": resource,
                    "rules": rules,
                    "policy_version": &*decision.policy_version,
                }),
            );
        }
    }
}

/// Drains one target's queue: a notice taken out of it is delivered by its own task,
/// at most `queue` of them at once (attempting or waiting to retry), at most `concurrency`
/// attempts in flight.
async fn drain(mut rx: mpsc::Receiver<Notice>, config: Arc<NotifyConfig>, metrics: Arc<Metrics>) {
    let slots = Arc::new(Semaphore::new(config.concurrency.max(1)));
    let taken = Arc::new(Semaphore::new(config.queue.max(1)));
    loop {
        let Ok(held) = taken.clone().acquire_owned().await else {
            return;
        };
        let Some(notice) = rx.recv().await else {
            return;
        };
        let (config, metrics, slots) = (config.clone(), metrics.clone(), slots.clone());
        tokio::spawn(async move {
            deliver(&notice, &config, &metrics, &slots).await;
            drop(held);
        });
    }
}

/// Sends one notice, retrying with exponential backoff: each attempt holds one of the
/// target's slots, the wait before the next one holds none.
async fn deliver(notice: &Notice, config: &NotifyConfig, metrics: &Metrics, slots: &Semaphore) {
    let mut backoff = config.first_backoff;
    for attempt in 1..=config.attempts.max(1) {
        let Ok(slot) = slots.acquire().await else {
            return;
        };
        let outcome = tokio::time::timeout(config.timeout, post(notice)).await;
        drop(slot);
        let retry = match outcome {
            Ok(Ok(status)) if (200..300).contains(&status) => {
                metrics.notice(NoticeEvent::Delivered);
                return;
            }
            Ok(Ok(status)) => status >= 500 || status == 429,
            Ok(Err(_)) | Err(_) => true,
        };
        if !retry || attempt == config.attempts.max(1) {
            break;
        }
        metrics.notice(NoticeEvent::Retried);
        tokio::time::sleep(backoff).await;
        backoff = backoff.saturating_mul(2).min(Duration::from_secs(300));
    }
    metrics.notice(NoticeEvent::Failed);
    eprintln!(
        "{}",
        json!({"ts": jiff::Timestamp::now().to_string(), "msg": "notice not delivered", "target": notice.target.name, "delivery": notice.delivery})
    );
}

struct Url {
    tls: bool,
    host: String,
    port: u16,
    path: String,
}

fn parse_url(url: &str) -> Result<Url, String> {
    let uri: axum::http::Uri = url
        .parse()
        .map_err(|e| format!("`url` is not a URL: {e}"))?;
    let tls = match uri.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        _ => return Err("`url` must start with `http://` or `https://`".into()),
    };
    let host = uri
        .host()
        .ok_or("`url` has no host")?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let path = uri
        .path_and_query()
        .map_or("/".to_string(), |p| p.as_str().to_string());
    Ok(Url {
        tls,
        host,
        port,
        path,
    })
}

/// One attempt: the status code the receiver answered.
async fn post(notice: &Notice) -> std::io::Result<u16> {
    let url = parse_url(&notice.target.url).map_err(std::io::Error::other)?;
    let timestamp = jiff::Timestamp::now().as_second().to_string();
    let sig = signature(&notice.target.secret, &timestamp, &notice.body);
    let host_header = if (url.tls && url.port == 443) || (!url.tls && url.port == 80) {
        url.host.clone()
    } else {
        format!("{}:{}", url.host, url.port)
    };
    let mut request = format!(
        "POST {} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: writ\r\nContent-Type: application/json\r\nContent-Length: {}\r\nX-Writ-Timestamp: {timestamp}\r\nX-Writ-Signature-256: sha256={sig}\r\nX-Writ-Delivery: {}\r\nConnection: close\r\n\r\n",
        url.path,
        notice.body.len(),
        notice.delivery
    )
    .into_bytes();
    request.extend_from_slice(&notice.body);
    let tcp = tokio::net::TcpStream::connect((url.host.as_str(), url.port)).await?;
    if url.tls {
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        let config = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from(url.host.clone())
            .map_err(std::io::Error::other)?;
        let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await?;
        exchange(&mut tls, &request).await
    } else {
        let mut tcp = tcp;
        exchange(&mut tcp, &request).await
    }
}

/// Writes the request and reads the status line.
async fn exchange<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    stream: &mut S,
    request: &[u8],
) -> std::io::Result<u16> {
    stream.write_all(request).await?;
    stream.flush().await?;
    let mut head = Vec::with_capacity(256);
    let mut buf = [0u8; 256];
    while !head.windows(2).any(|w| w == b"\r\n") && head.len() < 4096 {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    line.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("not an HTTP response"))
}
