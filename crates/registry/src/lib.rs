//! The approver registry as a file says it: `approvers.toml` (who may approve, in which
//! groups, with which keys, codes and passkeys) parsed into a [`Registry`], or refused
//! with the first problem at `file:line:col`. One parser for everyone who reads the file:
//! the approvals service (`writ-approvals`, which follows the file on disk and appends to
//! it) and the linter (`writ-lint`, which asks who can approve in each group), so a file
//! the service refuses is refused by the lint too, with the same message.
//!
//! This crate does no approval work: no state, no grants, no audit. It holds what the file
//! needs besides the parser — how identities are compared ([`identity`], for separation
//! of duties: two ids that are one person are refused) and the encodings the file is
//! written in ([`b64`], [`public_from_b64`]).
//!
//! ```
//! let registry = writ_registry::Registry::parse(
//!     "approvers.toml",
//!     "[[approver]]\nid = \"dana@example.com\"\ngroups = [\"db-owners\"]\n",
//! )
//! .unwrap();
//! assert!(registry.get("dana@example.com").unwrap().groups.contains("db-owners"));
//! ```

mod encode;
pub mod identity;
mod parse;

use std::path::Path;

pub use encode::{b64, public_from_b64, same_secret, unb64};
pub use parse::{Approver, Kind, Registry, TotpSecret, FILE_NAME};

/// The registry of a directory could not be read or does not parse. Its message is the
/// approvals service's for the same file (`approver registry: PATH:line:col: …`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("approver registry: {0}")]
pub struct Error(pub String);

/// Reads `DIR/approvers.toml`: `Ok(None)` when there is none; the error when it cannot be
/// read or parsed.
pub fn load(dir: &Path) -> Result<Option<Registry>, Error> {
    let path = dir.join(FILE_NAME);
    match std::fs::metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        // Any other trouble is the reader's to report.
        _ => Registry::read(&path).map(Some).map_err(Error),
    }
}
