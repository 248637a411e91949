//! The registry file's parser: `approvers.toml` text into a [`Registry`] of approvers,
//! or the first problem at `file:line:col`.
//!
//! ```toml
//! [[approver]]
//! id = "dana@example.com"
//! groups = ["db-owners"]
//! kind = "human"                     # the default; workloads and agents never approve
//! ed25519 = ["<base64url public key>"]
//! totp = "<base32 secret>"           # optional: the OTP fallback
//! webauthn = [{ id = "<base64url>", public_key = "<base64url COSE key>", sign_count = 0 }]
//!
//!
//! [[webauthn]]                       # or appended later, by `writ webauthn register`
//! approver = "dana@example.com"
//! id = "<base64url>"
//! public_key = "<base64url COSE key>"
//! sign_count = 0
//! attestation = "none"               # optional, informative: none | self | unverified
//!
//! [relying_party]                    # required once any approver has a WebAuthn credential
//! rp_id = "approvals.example.com"
//! origins = ["https://approvals.example.com"]
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use ed25519_dalek::VerifyingKey;
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::encode::{b64, public_from_b64, same_secret};

/// The registry's file name inside a policy directory.
pub const FILE_NAME: &str = "approvers.toml";

/// The values of a `[[webauthn]]` entry's `attestation` ([`writ_webauthn::AttestationTrust`]).
const ATTESTATIONS: [&str; 3] = ["none", "self", "unverified"];

/// What kind of actor an approver is. Only people approve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A person.
    Human,
    /// A service.
    Workload,
    /// An AI agent.
    Agent,
}

/// A TOTP secret: never printed, wiped on drop.
pub struct TotpSecret(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

impl TotpSecret {
    /// Checks an RFC 6238 code (SHA-1, 6 digits, 30 s steps, one step of skew either way)
    /// at `unix` seconds.
    pub fn check(&self, code: &str, unix: u64) -> bool {
        let Ok(totp) = totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, self.0.to_vec())
        else {
            return false;
        };
        totp.check(code.trim(), unix)
    }

    /// The time step (`unix / 30`) whose code `code` is, within one step of `unix`; `None`
    /// when it is none of them.
    pub fn matching_step(&self, code: &str, unix: u64) -> Option<u64> {
        let step = unix / 30;
        let code = code.trim().as_bytes();
        // Every candidate is compared, each in constant time: how long this takes says
        // nothing about how close a guess was.
        let mut found = None;
        for s in [step.saturating_sub(1), step, step + 1] {
            let matches = self
                .generate(s.saturating_mul(30))
                .is_some_and(|g| same_secret(g.as_bytes(), code));
            if matches && found.is_none() {
                found = Some(s);
            }
        }
        found
    }

    /// The code for `unix` seconds (for tests and enrolment checks).
    pub fn generate(&self, unix: u64) -> Option<String> {
        totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, self.0.to_vec())
            .ok()
            .map(|t| t.generate(unix))
    }
}

/// One approver.
#[derive(Debug)]
pub struct Approver {
    /// The approver's identity (as principals are named).
    pub id: String,
    /// Groups the approver belongs to.
    pub groups: BTreeSet<String>,
    /// Human, workload or agent.
    pub kind: Kind,
    /// Registered Ed25519 public keys (`signature` evidence).
    pub ed25519: Vec<VerifyingKey>,
    /// The TOTP secret (`otp` evidence), when enrolled.
    pub totp: Option<TotpSecret>,
    /// Registered WebAuthn credentials (`webauthn` evidence), with the sign count seen at
    /// registration (the state store keeps the latest).
    pub webauthn: Vec<writ_webauthn::Credential>,
}

/// Every approver, by id.
#[derive(Debug, Default)]
pub struct Registry {
    approvers: BTreeMap<String, Approver>,
    relying_party: Option<writ_webauthn::RelyingParty>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileShape {
    #[serde(default)]
    approver: Vec<EntryShape>,
    #[serde(default)]
    relying_party: Option<writ_webauthn::RelyingParty>,
    /// Credentials registered later (`writ webauthn register` appends these).
    #[serde(default)]
    webauthn: Vec<toml::Spanned<toml::Table>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryShape {
    id: toml::Spanned<String>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    kind: Option<Kind>,
    #[serde(default)]
    ed25519: Vec<toml::Spanned<String>>,
    #[serde(default)]
    totp: Option<toml::Spanned<Zeroizing<String>>>,
    #[serde(default)]
    webauthn: Vec<writ_webauthn::Credential>,
}

impl Registry {
    /// Parses registry text; `name` is used in errors (`name:line:col: message`).
    pub fn parse(name: &str, text: &str) -> Result<Registry, String> {
        // `name:line:col` of a place in the text.
        let at = |span: std::ops::Range<usize>| {
            let (line, col) = line_col(text, span.start);
            format!("{name}:{line}:{col}")
        };
        let mut shape: FileShape = toml::from_str(text).map_err(|e| match e.span() {
            Some(span) => format!("{}: {}", at(span), e.message()),
            None => format!("{name}: {}", e.message()),
        })?;
        let mut approvers = BTreeMap::new();
        let mut credential_ids = BTreeSet::new();
        let mut signing_keys: BTreeMap<[u8; 32], String> = BTreeMap::new();
        // Secrets compared by their SHA-256, so no extra copy of one is kept.
        let mut totp_owners: BTreeMap<Vec<u8>, String> = BTreeMap::new();
        let mut extra: BTreeMap<String, Vec<writ_webauthn::Credential>> = BTreeMap::new();
        let mut extra_at: BTreeMap<String, std::ops::Range<usize>> = BTreeMap::new();
        // Where each `[[webauthn]]` credential is written (by credential id), for errors.
        let mut credential_at: BTreeMap<Vec<u8>, std::ops::Range<usize>> = BTreeMap::new();
        // WebAuthn public keys, by fingerprint: one key, one person.
        let mut webauthn_keys: BTreeMap<[u8; 32], String> = BTreeMap::new();
        for spanned in std::mem::take(&mut shape.webauthn) {
            let span = spanned.span();
            let mut table = spanned.into_inner();
            let Some(toml::Value::String(owner)) = table.remove("approver") else {
                return Err(format!(
                    "{}: a `[[webauthn]]` entry has no `approver`",
                    at(span)
                ));
            };
            // How far the registration's attestation was checked (recorded by `writ
            // webauthn register`): informative, never trusted.
            match table.remove("attestation") {
                None => {}
                Some(toml::Value::String(a)) if ATTESTATIONS.contains(&a.as_str()) => {}
                Some(_) => {
                    return Err(format!(
                        "{}: the `[[webauthn]]` entry of `{owner}`: `attestation` is one of {}",
                        at(span),
                        ATTESTATIONS.map(|a| format!("`{a}`")).join(", ")
                    ))
                }
            }
            let credential: writ_webauthn::Credential =
                toml::Value::Table(table).try_into().map_err(|e| {
                    format!(
                        "{}: the `[[webauthn]]` entry of `{owner}`: {e}",
                        at(span.clone())
                    )
                })?;
            credential_at.insert(credential.id.clone(), span.clone());
            extra_at.entry(owner.clone()).or_insert(span);
            extra.entry(owner).or_default().push(credential);
        }
        for entry in &mut shape.approver {
            if let Some(more) = extra.remove(entry.id.get_ref().as_str()) {
                entry.webauthn.extend(more);
            }
        }
        if let Some((owner, span)) = extra_at.iter().find(|(o, _)| extra.contains_key(*o)) {
            return Err(format!(
                "{}: a `[[webauthn]]` entry names `{owner}`, who is not an approver",
                at(span.clone())
            ));
        }
        for entry in shape.approver {
            let id_at = at(entry.id.span());
            let id = entry.id.get_ref().clone();
            if id.trim().is_empty() {
                return Err(format!("{id_at}: an approver has an empty `id`"));
            }
            // Ids are compared exactly, as `principal.id` is (never trimmed): `" dana"`
            // would be another person than `dana` to separation of duties.
            if id.trim() != id {
                return Err(format!(
                    "{id_at}: approver id `{id}` has spaces around it: ids are compared exactly (a request's `principal.id` is never trimmed); remove them"
                ));
            }
            let mut ed25519 = Vec::new();
            for k in &entry.ed25519 {
                let key_at = at(k.span());
                let key = public_from_b64(k.get_ref())
                    .map_err(|e| format!("{key_at}: approver `{id}`: {e}"))?;
                // One key, one person: a key shared by two ids would let one signature
                // count as two approvers.
                if let Some(other) = signing_keys.insert(key.to_bytes(), id.clone()) {
                    if other != id {
                        return Err(format!(
                            "{key_at}: approvers `{other}` and `{id}` share a signing key: approvers must be distinct people with their own keys"
                        ));
                    }
                }
                ed25519.push(key);
            }
            let totp = match entry.totp {
                None => None,
                Some(b32) => {
                    let totp_at = at(b32.span());
                    // As authenticator apps and pyotp read it: any case, spaces between
                    // groups, `=` padding at the end.
                    let text: String = b32
                        .get_ref()
                        .chars()
                        .filter(|c| !c.is_whitespace())
                        .collect::<String>()
                        .trim_end_matches('=')
                        .to_uppercase();
                    let bytes = totp_rs::Secret::Encoded(text).to_bytes().map_err(|_| {
                        format!("{totp_at}: approver `{id}`: `totp` is not a base32 secret")
                    })?;
                    if bytes.len() < 16 {
                        return Err(format!(
                            "{totp_at}: approver `{id}`: the `totp` secret is shorter than 128 bits"
                        ));
                    }
                    let fingerprint = {
                        use sha2::Digest as _;
                        sha2::Sha256::digest(&bytes).to_vec()
                    };
                    if let Some(other) = totp_owners.insert(fingerprint, id.clone()) {
                        return Err(format!(
                            "{totp_at}: approvers `{other}` and `{id}` share a TOTP secret: each approver enrols their own"
                        ));
                    }
                    Some(TotpSecret(Zeroizing::new(bytes)))
                }
            };
            if !entry.webauthn.is_empty() && shape.relying_party.is_none() {
                return Err(format!(
                    "{id_at}: approver `{id}` has WebAuthn credentials but there is no `[relying_party]` (rp_id, origins)"
                ));
            }
            for c in &entry.webauthn {
                let c_at = credential_at
                    .get(&c.id)
                    .map_or_else(|| id_at.clone(), |span| at(span.clone()));
                let c_id = b64(&c.id);
                if !credential_ids.insert(c.id.clone()) {
                    return Err(format!(
                        "{c_at}: approver `{id}`: WebAuthn credential `{c_id}` is registered twice"
                    ));
                }
                let fingerprint = c.key_fingerprint().map_err(|e| {
                    format!("{c_at}: approver `{id}`: WebAuthn credential `{c_id}`: {e}")
                })?;
                // One key, one person: a key under two approvers would let one touch count
                // as two approvals.
                if let Some(other) = webauthn_keys.insert(fingerprint, id.clone()) {
                    return Err(if other == id {
                        format!("{c_at}: approver `{id}`: WebAuthn credential `{c_id}` holds a public key already registered under another credential id")
                    } else {
                        format!("{c_at}: approvers `{other}` and `{id}` share a WebAuthn public key: each approver registers their own authenticator")
                    });
                }
            }
            let approver = Approver {
                id: id.clone(),
                groups: entry.groups.into_iter().collect(),
                kind: entry.kind.unwrap_or(Kind::Human),
                ed25519,
                totp,
                webauthn: entry.webauthn,
            };
            if approvers.insert(id.clone(), approver).is_some() {
                return Err(format!("{id_at}: approver `{id}` is listed twice"));
            }
        }
        refuse_folded_collisions(name, approvers.keys())?;
        Ok(Registry {
            approvers,
            relying_party: shape.relying_party,
        })
    }

    /// Reads and parses the registry at `path`; errors name the path as it is written
    /// (`cannot read `PATH`: …`, `PATH:line:col: …`).
    pub fn read(path: &Path) -> Result<Registry, String> {
        let name = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("cannot read `{name}`: {e}"))?;
        Registry::parse(&name, &text)
    }

    /// The WebAuthn relying party (rp id, allowed origins), when configured.
    pub fn relying_party(&self) -> Option<&writ_webauthn::RelyingParty> {
        self.relying_party.as_ref()
    }

    /// The approver with this id.
    pub fn get(&self, id: &str) -> Option<&Approver> {
        self.approvers.get(id)
    }

    /// Every approver, by id.
    pub fn iter(&self) -> impl Iterator<Item = &Approver> {
        self.approvers.values()
    }

    /// How many approvers there are.
    pub fn len(&self) -> usize {
        self.approvers.len()
    }

    /// Whether nobody is in the registry (nobody can approve).
    pub fn is_empty(&self) -> bool {
        self.approvers.is_empty()
    }

    /// The relying party `approver` registers a passkey with, or why they cannot: not in
    /// the registry, not a person (only people approve), or no `[relying_party]`
    /// configured. `file` names the registry in the refusal.
    pub fn passkey_party(
        &self,
        approver: &str,
        file: &str,
    ) -> Result<&writ_webauthn::RelyingParty, String> {
        match self.get(approver) {
            None => Err(format!(
                "`{approver}` is not in `{file}`: add the approver first"
            )),
            Some(a) if a.kind != Kind::Human => {
                Err(format!("`{approver}` is not a person: only people approve"))
            }
            Some(_) => self.relying_party().ok_or_else(|| {
                format!("`{file}` has no `[relying_party]` (rp_id, origins): configure it first")
            }),
        }
    }

    /// The groups of an approver (empty when unknown).
    pub fn groups_of(&self, id: &str) -> BTreeSet<String> {
        self.get(id).map(|a| a.groups.clone()).unwrap_or_default()
    }
}

/// Refuses two approver ids that are one identity once case and Unicode compatibility
/// forms are set aside ([`crate::identity::fold`]): separation of duties compares them
/// that way, so they would be one person with two entries.
fn refuse_folded_collisions<'a>(
    name: &str,
    ids: impl Iterator<Item = &'a String>,
) -> Result<(), String> {
    let mut folded: BTreeMap<String, &str> = BTreeMap::new();
    for id in ids {
        if let Some(other) = folded.insert(crate::identity::fold(id), id) {
            return Err(format!(
                "{name}: approvers `{}` and `{}` are one identity once case and Unicode compatibility forms are set aside: separation of duties would take them for one person; keep one entry",
                crate::identity::visible(other),
                crate::identity::visible(id)
            ));
        }
    }
    Ok(())
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    #[test]
    fn parses_entries_and_defaults_to_human() {
        let r = Registry::parse(
            "a.toml",
            "[[approver]]\nid = \"dana\"\ngroups = [\"db-owners\"]\ntotp = \"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\"\n",
        )
        .unwrap();
        let dana = r.get("dana").unwrap();
        assert_eq!(dana.kind, Kind::Human);
        assert!(dana.groups.contains("db-owners"));
        assert!(!format!("{dana:?}").contains("JBSW"));
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let e = Registry::parse("a.toml", "[[approver]]\nid = \"x\"\ngroup = []\n").unwrap_err();
        assert!(e.starts_with("a.toml:3:1:"), "{e}");
        let e = Registry::parse(
            "a.toml",
            "[[approver]]\nid = \"x\"\n[[approver]]\nid = \"x\"\n",
        )
        .unwrap_err();
        assert!(
            e.starts_with("a.toml:4:6: approver `x` is listed twice"),
            "{e}"
        );
        let e =
            Registry::parse("a.toml", "[[approver]]\nid = \"x\"\ntotp = \"JBSW\"\n").unwrap_err();
        assert!(e.starts_with("a.toml:3:8:"), "{e}");
        assert!(e.contains("shorter than 128 bits"), "{e}");
        let key = b64(ed25519_dalek::SigningKey::from_bytes(&[7; 32])
            .verifying_key()
            .as_bytes());
        let shared = format!(
            "[[approver]]\nid = \"x\"\ned25519 = [\"{key}\"]\n\n[[approver]]\nid = \"y\"\ned25519 = [\"{key}\"]\n"
        );
        let e = Registry::parse("a.toml", &shared).unwrap_err();
        assert!(
            e.starts_with("a.toml:7:12: approvers `x` and `y` share a signing key"),
            "{e}"
        );
        let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
        let shared = format!(
            "[[approver]]\nid = \"x\"\ntotp = \"{secret}\"\n[[approver]]\nid = \"y\"\ntotp = \"{secret}\"\n"
        );
        let e = Registry::parse("a.toml", &shared).unwrap_err();
        assert!(
            e.starts_with("a.toml:6:8: approvers `x` and `y` share a TOTP secret"),
            "{e}"
        );
        assert!(!e.contains(secret), "{e}");
    }
}
