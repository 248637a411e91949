//! TLS for the API listener: the files of `--tls-cert`, `--tls-key` and `--client-ca`,
//! the acceptor, and the [`Peer`] of each connection — its address and, over mutual TLS,
//! the leaf certificate rustls verified in the handshake, which reaches the identity layer
//! as `ConnectInfo<`[`Peer`]`>` on every request of that connection (the accept loop is
//! in `conn.rs`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

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
    /// The caller this connection's certificate proved, once read (the identity layer's
    /// per-connection memory: a certificate cannot change within a connection).
    pub(crate) known: Arc<std::sync::OnceLock<crate::identity::Known>>,
}

impl Peer {
    /// A connection's peer, its caller not read yet.
    pub(crate) fn new(addr: SocketAddr, certificate: Option<Arc<[u8]>>) -> Peer {
        Peer {
            addr,
            certificate,
            known: Arc::default(),
        }
    }
}

/// The TLS acceptor of `config`, ALPN set to `http/1.1` (the handshake itself runs in
/// each connection's task, under [`crate::ConnLimits::handshake_timeout`]).
pub(crate) fn acceptor(mut config: rustls::ServerConfig) -> TlsAcceptor {
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    TlsAcceptor::from(Arc::new(config))
}
