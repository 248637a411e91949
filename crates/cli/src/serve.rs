//! `writ serve DIR`: the policy decision point on the network (docs/server.md).

use crate::exit::Exit;
use std::net::SocketAddr;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use std::sync::Arc;

use writ_server::{
    ConnLimits, Identity, Limits, Server, ServerConfig, Sink, StateConfig, TlsFiles,
};

/// Arguments of `writ serve`.
#[derive(clap::Args)]
pub struct Args {
    /// The policy set directory (followed: a valid change goes live, an invalid one is
    /// rejected and the running set stays).
    pub dir: PathBuf,
    /// Where the API listens.
    #[arg(long, default_value = "127.0.0.1:8180")]
    pub listen: SocketAddr,
    /// Where `/livez`, `/readyz`, `/metrics` and `/status` listen.
    #[arg(long, default_value = "127.0.0.1:9180")]
    pub admin: SocketAddr,
    /// A state directory: `approve` opens challenges there and the approval routes work
    /// (grant key, audit log, `state.redb`).
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// With `--state`: keep challenges and consumed grants in Redis
    /// (`redis://host:port/db`), shared by every replica holding the same `grant.key`.
    #[arg(long, requires = "state")]
    pub redis: Option<String>,
    /// Write one JSON line per decision to FILE (appended), or `-` for standard output.
    #[arg(long)]
    pub decision_log: Option<String>,
    /// Who may call (callers.toml: mTLS SPIFFE IDs, JWTs against a JWKS, hashed API keys;
    /// docs/server-identity.md). Every request is then authenticated.
    #[arg(long, conflicts_with = "insecure_dev_identity")]
    pub callers: Option<PathBuf>,
    /// Serve over TLS with this certificate chain (PEM, leaf first); with `--tls-key`.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of `--tls-cert` (PEM).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Accept client certificates that chain to this CA (PEM): mutual TLS, the SPIFFE ID
    /// in the certificate is the caller.
    #[arg(long, requires = "tls_cert")]
    pub client_ca: Option<PathBuf>,
    /// DEVELOPMENT ONLY: do not authenticate callers; every caller is an enforcement point
    /// and the principal in the body is trusted. Refused on any address but loopback.
    #[arg(long)]
    pub insecure_dev_identity: bool,
    /// The base URL advertised in AuthZEN discovery (default: from the `Host` header).
    #[arg(long)]
    pub public_url: Option<String>,
    /// Webhook notices (notify.toml: `[[notify]]` targets per approver group and for the
    /// `notify("…")` obligation, each with an HMAC-SHA256 secret; docs/approvals.md).
    #[arg(long)]
    pub notify: Option<PathBuf>,
    /// The largest request body, bytes.
    #[arg(long, default_value_t = 64 * 1024)]
    pub max_body: usize,
    /// The most requests in one batch.
    #[arg(long, default_value_t = 50)]
    pub max_batch: usize,
    /// The time one request may take, milliseconds (then 503).
    #[arg(long, default_value_t = 10_000)]
    pub timeout_ms: u64,
    /// Requests served at once; past it, 503 with `Retry-After`.
    #[arg(long, default_value_t = 1024)]
    pub max_in_flight: usize,
    /// The longest the whole body of a request may take to arrive, milliseconds (then
    /// 408); it is read before the request takes a concurrency slot.
    #[arg(long, default_value_t = 10_000)]
    pub body_read_timeout_ms: u64,
    /// The longest a request head may take to arrive, from its first byte (of the
    /// connection, for the first request), milliseconds; then the connection is closed.
    #[arg(long, default_value_t = 10_000)]
    pub header_read_timeout_ms: u64,
    /// A kept-alive connection with no request and no byte moving for this long is
    /// closed, milliseconds.
    #[arg(long, default_value_t = 60_000)]
    pub idle_timeout_ms: u64,
    /// The longest a TLS handshake may take, milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub handshake_timeout_ms: u64,
    /// Connections open at once (each listener); past it, new connections are closed
    /// at once.
    #[arg(long, default_value_t = 4096)]
    pub max_connections: usize,
    /// Decision log records queued before new ones are dropped (and counted).
    #[arg(long, default_value_t = 65_536)]
    pub decision_log_queue: usize,
}

/// Runs the server until SIGTERM or Ctrl-C.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let identity = match (&args.callers, args.insecure_dev_identity) {
        (Some(path), _) => match writ_callers::Callers::load(path) {
            Ok(callers) => Identity::Verified(Arc::new(callers)),
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(ExitCode::from(Exit::Invalid));
            }
        },
        (None, true) => Identity::InsecureDevFromBody,
        (None, false) => {
            eprintln!(
                "error: no way to authenticate callers is configured: pass `--callers callers.toml` (mutual TLS, JWT, API keys; docs/server-identity.md), \
                 or, for development on this machine only, `--insecure-dev-identity` (loopback, identity taken from the body)"
            );
            return Ok(ExitCode::from(Exit::Usage));
        }
    };
    let state = match (&args.state, &args.redis) {
        (None, _) => StateConfig::None,
        (Some(dir), None) => StateConfig::Dir(dir.clone()),
        (Some(dir), Some(url)) => StateConfig::Redis {
            dir: dir.clone(),
            url: url.clone(),
        },
    };
    let decision_log = match args.decision_log.as_deref() {
        None => None,
        Some("-") => Some((Sink::Stdout, args.decision_log_queue)),
        Some(path) => {
            // Owner-only, whatever the umask: the log says who asked for what.
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| anyhow::anyhow!("cannot open the decision log `{path}`: {e}"))?;
            Some((Sink::File(file), args.decision_log_queue))
        }
    };
    let mut config = ServerConfig::new(&args.dir, identity);
    config.tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
            client_ca: args.client_ca.clone(),
        }),
        _ => None,
    };
    config.listen = args.listen;
    config.admin = Some(args.admin);
    config.state = state;
    config.decision_log = decision_log;
    config.public_url = args.public_url.clone();
    if let Some(path) = &args.notify {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: cannot read `{}`: {e}", path.display());
                return Ok(ExitCode::from(Exit::Invalid));
            }
        };
        match writ_server::notify::NotifyConfig::parse(&path.display().to_string(), &text, |var| {
            std::env::var(var).ok()
        }) {
            Ok(n) => config.notify = Some(n),
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(ExitCode::from(Exit::Invalid));
            }
        }
    }
    config.limits = Limits {
        max_body_bytes: args.max_body,
        max_batch: args.max_batch,
        timeout: Duration::from_millis(args.timeout_ms),
        max_in_flight: args.max_in_flight,
        body_read_timeout: Duration::from_millis(args.body_read_timeout_ms),
        connections: ConnLimits {
            header_read_timeout: Duration::from_millis(args.header_read_timeout_ms),
            idle_timeout: Duration::from_millis(args.idle_timeout_ms),
            handshake_timeout: Duration::from_millis(args.handshake_timeout_ms),
            max_connections: args.max_connections,
        },
        ..Limits::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match Server::start(config).await {
            Ok(server) => {
                server.run_until_signal().await;
                Ok(ExitCode::from(Exit::Ok))
            }
            Err(e) => {
                eprintln!("error: {e}");
                Ok(ExitCode::from(Exit::Invalid))
            }
        }
    })
}
