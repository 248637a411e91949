//! The TLS listener: an [`axum::serve::Listener`] that completes each rustls handshake off
//! the accept loop (a slow client holds up nobody) and hands axum the stream together with
//! the peer's leaf certificate, which reaches the identity layer as
//! `ConnectInfo<`[`Peer`]`>` on every request of that connection.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// The TLS files of `--tls-cert`, `--tls-key` and `--client-ca`.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// The server's certificate chain (PEM, leaf first).
    pub cert: PathBuf,
    /// Its private key (PEM).
    pub key: PathBuf,
    /// With it, clients may present a certificate, which must chain to it (PEM).
    pub client_ca: Option<PathBuf>,
}

/// One connection's peer: its address and, over mutual TLS, its leaf certificate (DER) as
/// rustls verified it in the handshake.
#[derive(Clone, Debug)]
pub struct Peer {
    /// The remote address.
    pub addr: SocketAddr,
    /// The client certificate, when one was presented (and verified).
    pub certificate: Option<Arc<[u8]>>,
}

/// The longest a handshake may take before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshaken connections waiting for axum to take them.
const READY_QUEUE: usize = 256;

/// A TCP listener whose connections are TLS streams (see the module doc).
pub(crate) struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, Peer)>,
    local: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TlsListener {
    /// Accepts on `tcp`, handshaking with `config` (ALPN set to `http/1.1`).
    pub(crate) fn new(
        tcp: TcpListener,
        mut config: rustls::ServerConfig,
    ) -> std::io::Result<TlsListener> {
        let local = tcp.local_addr()?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let (tx, ready) = mpsc::channel(READY_QUEUE);
        let task = tokio::spawn(async move {
            loop {
                let (stream, addr) = match tcp.accept().await {
                    Ok(s) => s,
                    Err(_) => {
                        // Out of descriptors and the like: back off, as axum's own loop does.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                if tx.is_closed() {
                    return;
                }
                let _ = stream.set_nodelay(true);
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    let Ok(Ok(tls)) =
                        tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                    else {
                        // A failed handshake (no certificate the CA signed, a wrong protocol)
                        // ends here: rustls has already sent its alert.
                        return;
                    };
                    let certificate = tls
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|chain| chain.first())
                        .map(|leaf| Arc::<[u8]>::from(leaf.as_ref()));
                    let _ = tx.send((tls, Peer { addr, certificate })).await;
                });
            }
        });
        Ok(TlsListener { ready, local, task })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = Peer;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(next) => next,
            // The accept loop ended (it never does while the listener lives).
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(Peer {
            addr: self.local,
            certificate: None,
        })
    }
}

impl Connected<IncomingStream<'_, TlsListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Self {
        stream.remote_addr().clone()
    }
}
