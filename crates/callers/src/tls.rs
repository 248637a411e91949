//! The server's rustls configuration: its certificate chain and key from PEM files, and,
//! with a client CA, a verifier for client certificates.
//!
//! Client certificates are *optional* at the TLS layer: a client that presents one must
//! present one that chains to the CA (rustls refuses the handshake otherwise), and a client
//! that presents none still connects, so callers with a bearer token or an API key work on
//! the same listener. Whether a request may go on without a certificate is then
//! [`Callers::authenticate`](crate::Callers::authenticate)'s decision, which requires
//! exactly one credential.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

use crate::error::CallersError;

fn certificates(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, CallersError> {
    let name = path.display().to_string();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| CallersError::file(&name, format!("cannot read {what}: {e}")))?
        .collect::<Result<_, _>>()
        .map_err(|e| CallersError::file(&name, format!("cannot read {what}: {e}")))?;
    if certs.is_empty() {
        return Err(CallersError::file(
            &name,
            format!("holds no `CERTIFICATE` PEM block; {what} expected"),
        ));
    }
    Ok(certs)
}

/// A rustls server configuration (ring provider, TLS 1.2 and 1.3) with the certificate
/// chain in `cert` (PEM, leaf first) and its private key in `key` (PEM: PKCS#8, PKCS#1 or
/// SEC1). With `client_ca` (PEM, one or more CA certificates), client certificates are
/// verified against it and optional (see the module doc). ALPN is left for the server to
/// set.
pub fn tls_config(
    cert: &Path,
    key: &Path,
    client_ca: Option<&Path>,
) -> Result<ServerConfig, CallersError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = certificates(cert, "the server's certificate chain")?;
    let key_name = key.display().to_string();
    let private = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        CallersError::file(
            &key_name,
            format!("cannot read a private key (PEM: PKCS#8, PKCS#1 or SEC1) from it: {e}"),
        )
    })?;
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| CallersError::file(&key_name, format!("no TLS version usable: {e}")))?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let ca_name = ca.display().to_string();
            let mut roots = RootCertStore::empty();
            for c in certificates(ca, "the client CA certificates")? {
                roots.add(c).map_err(|e| {
                    CallersError::file(&ca_name, format!("a CA certificate cannot be used: {e}"))
                })?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()
                .map_err(|e| {
                    CallersError::file(&ca_name, format!("the client CA cannot be used: {e}"))
                })?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    builder.with_single_cert(chain, private).map_err(|e| {
        CallersError::file(
            &key_name,
            format!(
                "the key cannot serve the certificate in `{}`: {e}",
                cert.display()
            ),
        )
    })
}
