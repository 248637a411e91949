//! `tls_config` over a real loopback socket: a client with a certificate from the client
//! CA completes the handshake and is known by its SPIFFE ID; one without a certificate
//! connects too (bearer and API-key callers); one with a certificate from another CA is
//! refused in the handshake. And the files it cannot use, each named.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConnection, StreamOwned};
use writ_callers::{tls_config, AuthMethod, Callers, Presented, Role};
use writ_testkit::pki::{Issued, TestCa};

struct Files {
    _dir: tempfile::TempDir,
    cert: PathBuf,
    key: PathBuf,
    ca: PathBuf,
}

fn files(ca: &TestCa) -> Files {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = ca.server().write(dir.path(), "server");
    let ca_path = ca.write(dir.path(), "client-ca");
    Files {
        cert,
        key,
        ca: ca_path,
        _dir: dir,
    }
}

fn client_config(ca: &TestCa, client: Option<&Issued>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(ca.cert_der().to_vec()))
        .unwrap();
    let builder =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
    let config = match client {
        Some(c) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from(c.cert_der.clone())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(c.key_der.clone())),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    Arc::new(config)
}

/// One exchange over loopback: the client sends `ping`, the server answers `pong`.
/// Returns the client certificate the server saw, or the server's handshake error.
fn exchange(
    server: Arc<rustls::ServerConfig>,
    client: Arc<ClientConfig>,
) -> Result<Option<Vec<u8>>, String> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let serving = std::thread::spawn(move || -> Result<Option<Vec<u8>>, String> {
        let (sock, _) = listener.accept().unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let conn = ServerConnection::new(server).unwrap();
        let mut tls = StreamOwned::new(conn, sock);
        let mut buf = [0u8; 4];
        tls.read_exact(&mut buf).map_err(|e| e.to_string())?;
        assert_eq!(&buf, b"ping");
        let peer = tls
            .conn
            .peer_certificates()
            .and_then(|chain| chain.first())
            .map(|c| c.to_vec());
        tls.write_all(b"pong").map_err(|e| e.to_string())?;
        tls.flush().map_err(|e| e.to_string())?;
        tls.conn.send_close_notify();
        let _ = tls.flush();
        Ok(peer)
    });
    let sock = TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let conn = ClientConnection::new(client, ServerName::try_from("localhost").unwrap()).unwrap();
    let mut tls = StreamOwned::new(conn, sock);
    let client_side = tls.write_all(b"ping").and_then(|()| {
        let mut buf = [0u8; 4];
        tls.read_exact(&mut buf).map(|()| buf)
    });
    let server_side = serving.join().unwrap();
    if let Ok(buf) = client_side {
        assert_eq!(&buf, b"pong");
    }
    server_side
}

#[test]
fn a_client_certificate_completes_the_handshake_and_names_the_caller() {
    let ca = TestCa::new("writ test CA");
    let f = files(&ca);
    let server = Arc::new(tls_config(&f.cert, &f.key, Some(&f.ca)).unwrap());
    let client = ca.client("spiffe://example.org/ns/pay/sa/payments");
    let peer = exchange(Arc::clone(&server), client_config(&ca, Some(&client)))
        .unwrap()
        .expect("the server sees the client certificate");
    assert_eq!(peer, client.cert_der);

    let callers = Callers::parse(
        "callers.toml",
        "trust_domains = [\"example.org\"]\n[[actor]]\nid = \"spiffe://example.org/ns/pay/sa/payments\"\nkind = \"workload\"\n",
    )
    .unwrap();
    let caller = callers
        .authenticate(
            &Presented {
                peer_certificate: Some(&peer),
                ..Presented::default()
            },
            jiff::Timestamp::now(),
        )
        .unwrap();
    assert_eq!(caller.id, "spiffe://example.org/ns/pay/sa/payments");
    assert_eq!(caller.method, AuthMethod::Mtls);
    assert_eq!(caller.role, Role::Actor);
    assert!(caller.attested);
    assert_eq!(
        caller.cert_thumbprint.unwrap(),
        writ_callers::thumbprint(&client.cert_der)
    );

    // Without a certificate the handshake completes too: the caller must then bring a
    // token or a key.
    let peer = exchange(Arc::clone(&server), client_config(&ca, None)).unwrap();
    assert_eq!(peer, None);

    // A certificate from another CA is refused in the handshake.
    let other = TestCa::new("another CA");
    let stranger = other.client("spiffe://example.org/ns/pay/sa/payments");
    let err = exchange(server, client_config(&ca, Some(&stranger))).unwrap_err();
    assert!(
        err.contains("certificate") || err.contains("UnknownIssuer"),
        "{err}"
    );
}

#[test]
fn without_a_client_ca_no_certificate_is_asked_for() {
    let ca = TestCa::new("writ test CA");
    let f = files(&ca);
    let server = Arc::new(Callers::tls_config(&f.cert, &f.key, None).unwrap());
    let client = ca.client("spiffe://example.org/a");
    let peer = exchange(server, client_config(&ca, Some(&client))).unwrap();
    assert_eq!(peer, None);
}

#[test]
fn unusable_files_are_named() {
    let ca = TestCa::new("writ test CA");
    let f = files(&ca);
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let (_, other_key) = ca.server().write(dir.path(), "other");

    let err = tls_config(&missing, &f.key, None).unwrap_err();
    assert_eq!(err.file, missing.display().to_string());
    assert!(
        err.message
            .contains("cannot read the server's certificate chain"),
        "{err}"
    );

    let err = tls_config(&empty, &f.key, None).unwrap_err();
    assert!(
        err.message.contains("holds no `CERTIFICATE` PEM block"),
        "{err}"
    );

    let err = tls_config(&f.cert, &empty, None).unwrap_err();
    assert_eq!(err.file, empty.display().to_string());
    assert!(err.message.contains("cannot read a private key"), "{err}");

    let err = tls_config(&f.cert, &other_key, None).unwrap_err();
    assert_eq!(err.file, other_key.display().to_string());
    assert!(
        err.message.contains("the key cannot serve the certificate"),
        "{err}"
    );

    let err = tls_config(&f.cert, &f.key, Some(&empty)).unwrap_err();
    assert_eq!(err.file, empty.display().to_string());
    assert!(
        err.message.contains("the client CA certificates expected"),
        "{err}"
    );
}
