//! The two error types: [`CallersError`] for configuration (callers.toml, a JWKS file, TLS
//! files), with the file and, when known, the line and column; [`AuthError`] for a caller
//! that could not be authenticated, with a stable code for the server's 401 body.

use std::fmt;

/// A configuration file that cannot be used: `file:line:column: message` when the place is
/// known, `file: message` otherwise.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct CallersError {
    /// The file (as named by the caller of `load`/`parse`).
    pub file: String,
    /// 1-based line, when the problem is at a place in the text.
    pub line: Option<usize>,
    /// 1-based column (in characters), with `line`.
    pub column: Option<usize>,
    /// What is wrong and what was expected.
    pub message: String,
}

impl fmt::Display for CallersError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(col)) => write!(f, "{}:{line}:{col}: {}", self.file, self.message),
            (Some(line), None) => write!(f, "{}:{line}: {}", self.file, self.message),
            _ => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl CallersError {
    /// An error about the whole file.
    pub(crate) fn file(file: &str, message: impl Into<String>) -> Self {
        Self {
            file: file.to_owned(),
            line: None,
            column: None,
            message: message.into(),
        }
    }

    /// An error at byte `offset` of `text`.
    pub(crate) fn at(file: &str, text: &str, offset: usize, message: impl Into<String>) -> Self {
        let (line, column) = line_col(text, offset);
        Self {
            file: file.to_owned(),
            line: Some(line),
            column: Some(column),
            message: message.into(),
        }
    }

    /// An error at a 1-based line and column (as serde_json reports them).
    pub(crate) fn at_line(file: &str, line: usize, column: usize, message: String) -> Self {
        Self {
            file: file.to_owned(),
            line: (line > 0).then_some(line),
            column: (line > 0 && column > 0).then_some(column),
            message,
        }
    }
}

/// The 1-based line and column (in characters) of byte `offset` of `text`.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Why a caller was refused. Every variant maps to HTTP 401 in `writ serve`; the code goes
/// into the body, so it is stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthCode {
    /// No credential at all: no client certificate, no `Authorization`, no `X-API-Key`.
    NoCredentials,
    /// More than one credential (a certificate and a token, a token and a key, ...).
    AmbiguousCredentials,
    /// A credential of a kind callers.toml does not enable (a client certificate with no
    /// `trust_domains`, a bearer token with no `[jwt]`, a key with no `[[api_key]]`).
    MethodNotEnabled,
    /// A header, token or key that is not well formed (not `Bearer`, not three base64url
    /// parts, a header or claims that are not JSON, a key with spaces, ...).
    MalformedCredential,
    /// A client certificate that does not carry exactly one valid SPIFFE ID, or is a CA,
    /// or is outside its validity period.
    InvalidCertificate,
    /// A SPIFFE ID whose trust domain callers.toml does not list.
    UntrustedDomain,
    /// A token that does not verify: an algorithm refused (`none`, HMAC, others), an
    /// unknown `kid`, the signature, issuer, audience, a missing `exp` or `sub`.
    InvalidToken,
    /// A token past its `exp` (with the allowed skew).
    TokenExpired,
    /// A token before its `nbf`, or issued in the future (with the allowed skew).
    TokenNotYetValid,
    /// An API key that matches no stored hash.
    UnknownApiKey,
    /// An authenticated identity that callers.toml neither lists nor admits as an actor.
    UnknownCaller,
}

impl AuthCode {
    /// The code as it appears in the server's 401 body (`snake_case`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoCredentials => "no_credentials",
            Self::AmbiguousCredentials => "ambiguous_credentials",
            Self::MethodNotEnabled => "method_not_enabled",
            Self::MalformedCredential => "malformed_credential",
            Self::InvalidCertificate => "invalid_certificate",
            Self::UntrustedDomain => "untrusted_domain",
            Self::InvalidToken => "invalid_token",
            Self::TokenExpired => "token_expired",
            Self::TokenNotYetValid => "token_not_yet_valid",
            Self::UnknownApiKey => "unknown_api_key",
            Self::UnknownCaller => "unknown_caller",
        }
    }
}

impl fmt::Display for AuthCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A caller that was refused: a [`AuthCode`] and a message naming what was wrong. The
/// message never holds a token, a key or a claim the server has not verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct AuthError {
    /// Why, as a stable code.
    pub code: AuthCode,
    /// What was wrong, for a person.
    pub message: String,
}

impl AuthError {
    pub(crate) fn new(code: AuthCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// The code as the server's 401 body carries it.
    pub fn code(&self) -> &'static str {
        self.code.as_str()
    }
}
