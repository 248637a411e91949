//! WebAuthn for writ approvals: registration, and assertions over the transaction digest.
#![doc = include_str!("../README.md")]

mod auth_data;
mod cbor;
mod ceremony;
mod client_data;
mod cose;
mod error;
mod json;
#[cfg(feature = "soft")]
pub mod soft;
mod statement;
mod types;

pub use ceremony::{register, verify_assertion};
pub use error::{Part, WebauthnError};
pub use types::{
    public_key_fingerprint, Assertion, Attestation, AttestationTrust, Credential, Registration,
    RelyingParty, Verified,
};
