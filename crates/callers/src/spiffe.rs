//! SPIFFE IDs (the SPIFFE ID specification, §2) and the one an X.509-SVID carries (the
//! X509-SVID specification, §2 and §4): exactly one URI SAN, a leaf that is not a CA, and
//! a key usage, when present, that signs and does not sign certificates.

use std::fmt;

use crate::error::{AuthCode, AuthError};

/// The longest SPIFFE ID accepted, in bytes (the specification's limit for URIs in SANs).
pub const MAX_SPIFFE_ID: usize = 2048;
/// The longest trust domain accepted, in bytes.
pub const MAX_TRUST_DOMAIN: usize = 255;

/// A valid SPIFFE ID: `spiffe://trust-domain` followed by an optional path of non-empty
/// segments of letters, digits, `.`, `-` and `_`, none of them `.` or `..`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpiffeId {
    id: String,
    /// Where the path starts in `id` (its length when there is no path).
    path_at: usize,
}

const SCHEME: &str = "spiffe://";

impl SpiffeId {
    /// Parses a SPIFFE ID; the error says what is wrong without repeating the input.
    pub fn parse(text: &str) -> Result<SpiffeId, String> {
        if text.len() > MAX_SPIFFE_ID {
            return Err(format!(
                "is {} bytes long, at most {MAX_SPIFFE_ID} expected",
                text.len()
            ));
        }
        let Some(rest) = text.strip_prefix(SCHEME) else {
            return Err(if text.to_ascii_lowercase().starts_with(SCHEME) {
                "has its scheme in capitals; `spiffe://` expected".to_owned()
            } else {
                "does not start with `spiffe://`".to_owned()
            });
        };
        let domain_end = rest.find('/').unwrap_or(rest.len());
        let (domain, path) = rest.split_at(domain_end);
        check_trust_domain(domain, " in its trust domain")?;
        check_path(path)?;
        Ok(SpiffeId {
            id: text.to_owned(),
            path_at: SCHEME.len() + domain_end,
        })
    }

    /// The whole ID.
    pub fn as_str(&self) -> &str {
        &self.id
    }

    /// The trust domain (`example.org` of `spiffe://example.org/a/b`).
    pub fn trust_domain(&self) -> &str {
        &self.id[SCHEME.len()..self.path_at]
    }

    /// The path, empty or starting with `/`.
    pub fn path(&self) -> &str {
        &self.id[self.path_at..]
    }
}

impl fmt::Display for SpiffeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id)
    }
}

/// The character at fault, for a message: printable ASCII as itself, anything else as its
/// escape, so a message never carries control characters.
fn shown(c: char) -> String {
    if c.is_ascii_graphic() {
        format!("`{c}`")
    } else {
        format!("`{}`", c.escape_unicode())
    }
}

/// Checks a trust domain: lowercase letters, digits, `.`, `-`, `_`; not empty. `inside`
/// follows a character named in a message (` in its trust domain` for a SPIFFE ID).
pub(crate) fn check_trust_domain(domain: &str, inside: &str) -> Result<(), String> {
    if domain.is_empty() {
        return Err("has an empty trust domain".to_owned());
    }
    if domain.len() > MAX_TRUST_DOMAIN {
        return Err(format!(
            "has a trust domain of {} bytes, at most {MAX_TRUST_DOMAIN} expected",
            domain.len()
        ));
    }
    for c in domain.chars() {
        match c {
            'a'..='z' | '0'..='9' | '.' | '-' | '_' => {}
            ':' => return Err("has a port; a trust domain has none".to_owned()),
            '@' => return Err("has user information; a trust domain has none".to_owned()),
            '?' => return Err("has a query; a SPIFFE ID has none".to_owned()),
            '#' => return Err("has a fragment; a SPIFFE ID has none".to_owned()),
            '%' => return Err(format!("has a percent-encoded character{inside}")),
            'A'..='Z' => {
                return Err(format!(
                    "has {}{inside}; lowercase letters expected",
                    shown(c)
                ))
            }
            _ => {
                return Err(format!(
                    "has {}{inside}; letters, digits, `.`, `-` and `_` expected",
                    shown(c)
                ))
            }
        }
    }
    Ok(())
}

/// Checks a path: empty, or `/segment` repeated, each segment non-empty, of letters,
/// digits, `.`, `-` and `_`, and neither `.` nor `..`.
fn check_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Ok(());
    }
    // The path starts with `/` (the trust domain ends at the first one).
    for segment in path.split('/').skip(1) {
        if segment.is_empty() {
            return Err(if path.ends_with('/') {
                "ends with `/`; a path has no trailing slash".to_owned()
            } else {
                "has an empty path segment (`//`)".to_owned()
            });
        }
        if segment == "." || segment == ".." {
            return Err(format!("has a `{segment}` path segment"));
        }
        for c in segment.chars() {
            match c {
                'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' | '_' => {}
                '?' => return Err("has a query; a SPIFFE ID has none".to_owned()),
                '#' => return Err("has a fragment; a SPIFFE ID has none".to_owned()),
                '%' => return Err("has a percent-encoded character in its path".to_owned()),
                _ => {
                    return Err(format!(
                        "has {} in its path; letters, digits, `.`, `-` and `_` expected",
                        shown(c)
                    ))
                }
            }
        }
    }
    Ok(())
}

fn bad_cert(message: impl Into<String>) -> AuthError {
    AuthError::new(AuthCode::InvalidCertificate, message)
}

/// What the server needs from a verified client leaf certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerCertificate {
    /// The SPIFFE ID of its one URI SAN.
    pub spiffe_id: SpiffeId,
    /// `notBefore`, Unix seconds.
    pub not_before: i64,
    /// `notAfter`, Unix seconds.
    pub not_after: i64,
}

/// Reads the SPIFFE ID of a client leaf certificate (DER), the X509-SVID way: one
/// certificate and nothing after it, exactly one URI SAN and it a valid SPIFFE ID, not a
/// CA, and a key usage (when present) with `digitalSignature` and without `keyCertSign`
/// or `cRLSign`. The chain is not checked here: rustls verified it in the handshake.
pub fn peer_certificate(der: &[u8]) -> Result<PeerCertificate, AuthError> {
    let (rest, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|_| bad_cert("the client certificate is not a DER X.509 certificate"))?;
    if !rest.is_empty() {
        return Err(bad_cert(
            "the client certificate has bytes after its end; one certificate expected",
        ));
    }
    match cert.basic_constraints() {
        Ok(Some(bc)) if bc.value.ca => {
            return Err(bad_cert(
                "the client certificate is a CA certificate; a leaf (X509-SVID) expected",
            ))
        }
        Ok(_) => {}
        Err(_) => {
            return Err(bad_cert(
                "the client certificate's basic constraints cannot be read (or appear twice)",
            ))
        }
    }
    match cert.key_usage() {
        Ok(Some(ku)) => {
            if ku.value.key_cert_sign() || ku.value.crl_sign() {
                return Err(bad_cert(
                    "the client certificate may sign certificates or CRLs; a leaf (X509-SVID) may not",
                ));
            }
            if !ku.value.digital_signature() {
                return Err(bad_cert(
                    "the client certificate's key usage lacks `digitalSignature`",
                ));
            }
        }
        Ok(None) => {}
        Err(_) => {
            return Err(bad_cert(
                "the client certificate's key usage cannot be read (or appears twice)",
            ))
        }
    }
    let san = match cert.subject_alternative_name() {
        Ok(Some(san)) => san.value,
        Ok(None) => return Err(bad_cert(
            "the client certificate has no subject alternative name; one `spiffe://` URI expected",
        )),
        Err(_) => return Err(bad_cert(
            "the client certificate's subject alternative names cannot be read (or appear twice)",
        )),
    };
    let uris: Vec<&str> = san
        .general_names
        .iter()
        .filter_map(|name| match name {
            x509_parser::extensions::GeneralName::URI(uri) => Some(*uri),
            _ => None,
        })
        .collect();
    let uri = match uris.as_slice() {
        [one] => *one,
        [] => {
            return Err(bad_cert(
                "the client certificate has no URI subject alternative name; one `spiffe://` URI expected",
            ))
        }
        more => {
            return Err(bad_cert(format!(
                "the client certificate has {} URI subject alternative names; exactly one (its SPIFFE ID) expected",
                more.len()
            )))
        }
    };
    let spiffe_id = SpiffeId::parse(uri)
        .map_err(|why| bad_cert(format!("the client certificate's URI SAN {why}")))?;
    let validity = cert.validity();
    Ok(PeerCertificate {
        spiffe_id,
        not_before: validity.not_before.timestamp(),
        not_after: validity.not_after.timestamp(),
    })
}
