//! Starting and stopping: the admin listener first (`/readyz` answers 503 while the set
//! loads), then the policy store and its watcher, the approval service, the API
//! listener; [`Server::shutdown`] marks the server draining, stops accepting, lets what is
//! in flight finish, and flushes the decision log.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use writ_approvals::{Approvals, Config as FlowConfig, RedisStore};
use writ_reload::{PolicyStore, StoreConfig, WatchConfig, WatchHandle};

use crate::admin::{admin_app, AdminState};
use crate::conn::{serve, ConnStats, Listener};
use crate::decision_log::{DecisionLog, Sink};
use crate::identity::Identity;
use crate::tls::TlsFiles;
use crate::{app, AppState, Limits, StateParts};

/// Where the approval flow keeps its state.
#[derive(Clone, Debug, Default)]
pub enum StateConfig {
    /// No approval flow: an `approve` is answered, no challenge is opened.
    #[default]
    None,
    /// A state directory (redb, grant key, audit log), as `writ decide --state`.
    Dir(PathBuf),
    /// Challenges and consumed grants in Redis, shared by replicas; keys and the audit log
    /// in the state directory (every replica holds the same `grant.key`).
    Redis {
        /// The state directory.
        dir: PathBuf,
        /// `redis://host:port/db`.
        url: String,
    },
}

/// How to run.
pub struct ServerConfig {
    /// The policy set directory.
    pub dir: PathBuf,
    /// The API listener (`127.0.0.1:8180`).
    pub listen: SocketAddr,
    /// The admin listener (`127.0.0.1:9180`), if any.
    pub admin: Option<SocketAddr>,
    /// The approval state.
    pub state: StateConfig,
    /// Who is calling.
    pub identity: Identity,
    /// Limits.
    pub limits: Limits,
    /// The decision log and its queue capacity.
    pub decision_log: Option<(Sink, usize)>,
    /// Follow the directory (hot reload); on by default.
    pub watch: bool,
    /// The base URL advertised (discovery, `access_request.endpoint`).
    pub public_url: Option<String>,
    /// Serve over TLS (`--tls-cert`, `--tls-key`, `--client-ca`); without it, the API
    /// listens on loopback only.
    pub tls: Option<TlsFiles>,
    /// Webhook notices (`--notify notify.toml`).
    pub notify: Option<crate::notify::NotifyConfig>,
}

impl ServerConfig {
    /// The defaults for a directory: loopback listeners on 8180 and 9180, no state, no
    /// identity verification configured (which [`Server::start`] refuses unless it is
    /// [`Identity::InsecureDevFromBody`] on loopback).
    pub fn new(dir: impl Into<PathBuf>, identity: Identity) -> ServerConfig {
        ServerConfig {
            dir: dir.into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8180)),
            admin: Some(SocketAddr::from(([127, 0, 0, 1], 9180))),
            state: StateConfig::None,
            identity,
            limits: Limits::default(),
            decision_log: None,
            watch: true,
            public_url: None,
            tls: None,
            notify: None,
        }
    }
}

/// Why the server did not start.
#[derive(Debug)]
pub enum StartError {
    /// The configuration is refused (said why).
    Config(String),
    /// A listener could not bind.
    Bind(SocketAddr, std::io::Error),
    /// The policy set does not load (every problem, one line each).
    Policy(Vec<String>),
    /// The approval state could not be opened.
    State(String),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Config(m) | StartError::State(m) => f.write_str(m),
            StartError::Bind(a, e) => write!(f, "cannot listen on `{a}`: {e}"),
            StartError::Policy(errors) => {
                write!(f, "the policy set does not load:\n{}", errors.join("\n"))
            }
        }
    }
}

impl std::error::Error for StartError {}

/// What a successful load hands to [`Server::start`].
type Started = (
    SocketAddr,
    AppState,
    JoinHandle<std::io::Result<()>>,
    Option<Arc<DecisionLog>>,
    Option<WatchHandle>,
);

/// A running server.
pub struct Server {
    /// Where the API listens.
    pub addr: SocketAddr,
    /// Where the admin routes listen.
    pub admin_addr: Option<SocketAddr>,
    state: AppState,
    stop: watch::Sender<bool>,
    api: JoinHandle<std::io::Result<()>>,
    admin: Option<JoinHandle<std::io::Result<()>>>,
    log: Option<Arc<DecisionLog>>,
    _watch: Option<WatchHandle>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .field("admin_addr", &self.admin_addr)
            .finish_non_exhaustive()
    }
}

fn log_line(msg: &str, fields: serde_json::Value) {
    let mut line = serde_json::json!({"ts": jiff::Timestamp::now().to_string(), "msg": msg});
    if let (Some(l), serde_json::Value::Object(f)) = (line.as_object_mut(), fields) {
        l.extend(f);
    }
    eprintln!("{line}");
}

fn open_approvals(
    store: Arc<PolicyStore>,
    state: &StateConfig,
) -> Result<Option<Arc<Approvals>>, StartError> {
    let flow = match state {
        StateConfig::None => return Ok(None),
        StateConfig::Dir(dir) => Approvals::with_state_dir(store, dir, FlowConfig::default()),
        StateConfig::Redis { dir, url } => {
            let redis = RedisStore::lazy(url, "writ:", Duration::from_secs(2))
                .map_err(|e| StartError::State(e.to_string()))?;
            Approvals::with_store(store, dir, Arc::new(redis), FlowConfig::default())
        }
    };
    flow.map(|a| Some(Arc::new(a)))
        .map_err(|e| StartError::State(e.to_string()))
}

impl Server {
    /// Binds the admin listener, loads the set, starts the watcher and the API listener.
    pub async fn start(config: ServerConfig) -> Result<Server, StartError> {
        if matches!(config.identity, Identity::InsecureDevFromBody) {
            if !config.listen.ip().is_loopback() {
                return Err(StartError::Config(format!(
                    "`--insecure-dev-identity` trusts the identity in the body: it listens on loopback only, not on `{}`",
                    config.listen
                )));
            }
            log_line(
                "INSECURE: caller identity is not verified; every caller is an enforcement point and the body's principal is trusted (development only)",
                serde_json::json!({"listen": config.listen.to_string()}),
            );
        }
        let c = &config.limits.connections;
        for (name, d) in [
            ("the header read timeout", c.header_read_timeout),
            ("the idle timeout", c.idle_timeout),
            ("the TLS handshake timeout", c.handshake_timeout),
            ("the body read timeout", config.limits.body_read_timeout),
        ] {
            if d.is_zero() {
                return Err(StartError::Config(format!(
                    "{name} is 0: every connection would be closed at once; at least 1 ms expected"
                )));
            }
        }
        if c.max_connections == 0 {
            return Err(StartError::Config(
                "the connection cap is 0: no connection could be served; at least 1 expected"
                    .into(),
            ));
        }
        if config.tls.is_none() && !config.listen.ip().is_loopback() {
            return Err(StartError::Config(format!(
                "without TLS the API listens on loopback only, not on `{}`: credentials would cross the network in the clear (pass `--tls-cert` and `--tls-key`)",
                config.listen
            )));
        }
        let tls = match &config.tls {
            None => None,
            Some(files) => Some(
                writ_callers::tls_config(&files.cert, &files.key, files.client_ca.as_deref())
                    .map_err(|e| StartError::Config(e.to_string()))?,
            ),
        };
        let (stop, stop_rx) = watch::channel(false);
        let admin_state = AdminState::default();
        let (admin, admin_addr) = match config.admin {
            Some(addr) => {
                let l = TcpListener::bind(addr)
                    .await
                    .map_err(|e| StartError::Bind(addr, e))?;
                let bound = l.local_addr().map_err(|e| StartError::Bind(addr, e))?;
                let listener = Listener {
                    lane: None,
                    router: admin_app(admin_state.clone()),
                    tls: None,
                    limits: config.limits.connections.clone(),
                    stats: Arc::new(ConnStats::default()),
                };
                let h = tokio::spawn(serve(l, listener, stop_rx.clone()));
                (Some(h), Some(bound))
            }
            None => (None, None),
        };
        match Self::load_and_listen(config, tls, stop_rx).await {
            Ok((addr, state, api, log, watch_handle)) => {
                admin_state.loaded(state.clone());
                log_line(
                    "serving",
                    serde_json::json!({
                        "listen": addr.to_string(),
                        "admin": admin_addr.map(|a| a.to_string()),
                        "policy_version": state.store().version(),
                        "approvals": state.approvals().is_some(),
                        "tls": state.tls(),
                    }),
                );
                Ok(Server {
                    addr,
                    admin_addr,
                    state,
                    stop,
                    api,
                    admin,
                    log,
                    _watch: watch_handle,
                })
            }
            Err(e) => {
                // The admin listener stops with the failed start.
                let _ = stop.send(true);
                if let Some(a) = admin {
                    let _ = a.await;
                }
                Err(e)
            }
        }
    }

    /// Loads the set and the approval state, starts the watcher, binds the API listener.
    async fn load_and_listen(
        config: ServerConfig,
        tls: Option<rustls::ServerConfig>,
        stop_rx: watch::Receiver<bool>,
    ) -> Result<Started, StartError> {
        let dir = config.dir.clone();
        let store_state = config.state.clone();
        let loaded = tokio::task::spawn_blocking(move || {
            let store = Arc::new(
                PolicyStore::open(&dir, StoreConfig::default())
                    .map_err(|e| StartError::Policy(e.errors))?,
            );
            let approvals = open_approvals(store.clone(), &store_state)?;
            Ok::<_, StartError>((store, approvals))
        })
        .await
        .map_err(|e| StartError::Config(format!("loading stopped: {e}")));
        let (store, approvals) = loaded.and_then(|r| r)?;
        let log = match config.decision_log {
            Some((sink, capacity)) => {
                Some(Arc::new(DecisionLog::start(sink, capacity).map_err(
                    |e| StartError::Config(format!("cannot start the decision log: {e}")),
                )?))
            }
            None => None,
        };
        let tls_mode = match (&config.tls, &tls) {
            (None, _) => "off",
            (Some(f), _) if f.client_ca.is_some() => "mutual",
            _ => "server",
        };
        let state = AppState::new(StateParts {
            tls: tls_mode,
            store: store.clone(),
            approvals,
            limits: config.limits,
            identity: config.identity,
            log: log.clone(),
            public_url: config.public_url,
        });
        if let Some(n) = config.notify {
            state.start_notices(n);
        }
        let watch_handle = if config.watch {
            let s = state.clone();
            let h = writ_reload::watch(store.clone(), WatchConfig::default(), move |e| {
                s.reloaded(e)
            })
            .map_err(|e| StartError::Config(e.to_string()))?;
            Some(h)
        } else {
            None
        };
        let listener_tcp = TcpListener::bind(config.listen)
            .await
            .map_err(|e| StartError::Bind(config.listen, e))?;
        let addr = listener_tcp
            .local_addr()
            .map_err(|e| StartError::Bind(config.listen, e))?;
        let listener = Listener {
            lane: Some(state.clone()),
            router: app(state.clone()),
            tls: tls.map(crate::tls::acceptor),
            limits: state.limits().connections.clone(),
            stats: state.conn_stats().clone(),
        };
        let api = tokio::spawn(serve(listener_tcp, listener, stop_rx));
        Ok((addr, state, api, log, watch_handle))
    }

    /// The API state (tests, embedding).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops accepting, finishes what is in flight, flushes the decision log.
    pub async fn shutdown(self) {
        self.state.drain();
        let _ = self.stop.send(true);
        let _ = self.api.await;
        if let Some(a) = self.admin {
            let _ = a.await;
        }
        if let Some(l) = &self.log {
            l.close();
        }
        log_line("stopped", serde_json::json!({}));
    }

    /// Runs until SIGTERM or Ctrl-C, then shuts down gracefully.
    pub async fn run_until_signal(self) {
        wait_for_signal().await;
        log_line("signal received: draining", serde_json::json!({}));
        self.shutdown().await;
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
