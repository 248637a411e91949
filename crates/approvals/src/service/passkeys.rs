//! Passkeys for the approver's pages: one-time enrolment invitations (`writ webauthn
//! invite`), and signing in with a registered WebAuthn credential. An invitation is
//! `base64url(approver) "." base64url(nonce ‖ expiry ‖ signature)`, the signature by the
//! grant key over `"writ-webauthn-invite-v1" 0x00 approver 0x00 nonce expiry`; it is
//! consumed in the state store by the registration it carries, so it enrols once.

use super::token;
use super::Approvals;
use crate::audit::Entry;
use crate::encode::{b64, unb64};
use crate::error::{Error, Refusal, RefusalCode};
use crate::registry::Kind;

/// How long an invitation is good for, in seconds (15 minutes).
pub const INVITE_TTL_S: i64 = 900;

/// The domain of an invitation's signature.
const DOMAIN: &[u8] = b"writ-webauthn-invite-v1\0";

/// A one-time enrolment invitation for `approver` (the token of `/enroll/{token}`), good
/// for [`INVITE_TTL_S`] seconds and one registration, signed with the grant key in
/// `state_dir` (`grant.key`, which must exist) — the same key `writ serve --state
/// state_dir` checks it with. Only the key file is read: the state store is not opened,
/// so a running server may hold it. Refused (inner `Err`) for an approver who is not in
/// `policy_dir/approvers.toml` or not a person, and when the registry has no relying
/// party. Nothing is stored until it is used.
pub fn webauthn_invite(
    policy_dir: &std::path::Path,
    state_dir: &std::path::Path,
    approver: &str,
) -> Result<Result<String, String>, Error> {
    let file = crate::registry::RegistryFile::in_dir(policy_dir)?;
    let registry = file.current()?;
    let path = state_dir.join(super::GRANT_KEY_FILE);
    if !path.exists() {
        return Err(Error::Key(format!(
            "`{}` does not exist: the invitation is signed with the key of the server's state directory; start `writ serve --state {}` first",
            path.display(),
            state_dir.display()
        )));
    }
    let key = crate::grant::GrantKey::new(crate::keys::KeyPair::read(&path)?);
    invite_with(
        key.pair(),
        &registry,
        &file.path().display().to_string(),
        approver,
        jiff::Timestamp::now().as_second(),
    )
}

fn invite_with(
    key: &crate::keys::KeyPair,
    registry: &crate::registry::Registry,
    file: &str,
    approver: &str,
    now: i64,
) -> Result<Result<String, String>, Error> {
    if let Err(refused) = registry.passkey_party(approver, file) {
        return Ok(Err(refused));
    }
    let body = token::issue(key, DOMAIN, approver, now.saturating_add(INVITE_TTL_S))?;
    Ok(Ok(format!("{}.{}", b64(approver.as_bytes()), b64(&body))))
}

/// A checked invitation: who it enrols, its store key, and its expiry.
struct Invite {
    approver: String,
    key: String,
    expires: i64,
}

impl Approvals {
    /// A one-time enrolment invitation for `approver` ([`webauthn_invite`] with this
    /// service's registry, grant key and clock).
    ///
    /// Blocks briefly: reads the registry file when it changed; signs.
    pub fn webauthn_invite(&self, approver: &str) -> Result<Result<String, String>, Error> {
        let registry = self.registry.current()?;
        let name = self.registry.path().display().to_string();
        invite_with(
            self.grant_key.pair(),
            &registry,
            &name,
            approver,
            self.now(),
        )
    }

    fn invite(&self, token: &str) -> Result<Invite, String> {
        const BAD: &str =
            "this invitation link is not one this server issued: ask your administrator for a new one";
        let (who, body) = token.split_once('.').ok_or(BAD)?;
        let approver = unb64(who, "invitation")
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or(BAD)?;
        let body = unb64(body, "invitation").map_err(|_| BAD)?;
        match token::check(self.grant_key.pair(), DOMAIN, &approver, &body, self.now()) {
            Ok(good) => Ok(Invite {
                approver,
                key: format!("wainv:{}", good.nonce),
                expires: good.expires,
            }),
            Err(token::Flaw::Length | token::Flaw::Signature) => Err(BAD.into()),
            Err(token::Flaw::Expired(at)) => Err(format!(
                "this invitation expired at {}: ask your administrator for a new one",
                super::rfc3339(at)
            )),
        }
    }

    /// The approver an invitation enrols, when it is one this engine issued and it has not
    /// expired (inner `Err`: why not, for the invitee). Whether it was used already shows
    /// when the registration is made ([`Approvals::register_webauthn_by_invite`]).
    pub fn webauthn_invitee(&self, token: &str) -> Result<String, String> {
        self.invite(token).map(|i| i.approver)
    }

    /// Registers the invitee's authenticator ([`Approvals::register_webauthn`] for the
    /// approver the invitation names), consuming the invitation with the registration
    /// challenge: an invitation enrols one passkey. Returns the approver and the registry
    /// entry written, or (inner `Err`) why it is refused.
    ///
    /// Blocks: as [`Approvals::register_webauthn`].
    pub fn register_webauthn_by_invite(
        &self,
        token: &str,
        challenge: &[u8],
        attestation: &writ_webauthn::Attestation,
    ) -> Result<Result<(String, String), String>, Error> {
        let invite = match self.invite(token) {
            Ok(i) => i,
            Err(refused) => return Ok(Err(refused)),
        };
        let entry = self.register_webauthn_consuming(
            &invite.approver,
            challenge,
            attestation,
            Some((invite.key, invite.expires)),
        )?;
        Ok(entry.map(|e| (invite.approver, e)))
    }

    /// Signs an approver in: `assertion` must answer `challenge` (the bytes the server
    /// issued for this sign-in, once) with a WebAuthn credential registered to a person in
    /// the registry, user verified, origin and rp id as the registry's relying party says.
    /// The assertion is good once and advances the credential's sign count as an answer
    /// does. Returns the approver, or (inner `Err`) why the sign-in is refused; audited as
    /// `webauthn.signin`, a refusal as `webauthn.signin_refused` (its code, the reason and
    /// the credential id the assertion claims: nothing secret). A passkey registered to
    /// nobody and a signature that does not verify are refused with the same words
    /// ([`SIGN_IN_REFUSED`]), so the refusal does not tell which credential ids exist.
    ///
    /// Blocks: state-store writes (the assertion consumed, the sign count) and the audit
    /// log.
    pub fn webauthn_sign_in(
        &self,
        challenge: &[u8],
        assertion: &writ_webauthn::Assertion,
    ) -> Result<Result<String, Refusal>, Error> {
        let registry = self.registry.current()?;
        let Some(rp) = registry.relying_party() else {
            return Ok(Err(Refusal::new(
                RefusalCode::NoCredential,
                "WebAuthn is not configured: the registry has no `[relying_party]`",
            )));
        };
        let refused = match self.sign_in_checked(&registry, rp, challenge, assertion)? {
            Ok(approver) => return Ok(Ok(approver)),
            Err(r) => r,
        };
        let code = serde_json::to_value(refused.code)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        self.audit(
            Entry::new("webauthn.signin_refused")
                .with("code", code)
                .with("reason", refused.message.as_str())
                .with("credential", b64(&assertion.credential_id)),
        )?;
        Ok(Err(match refused.code {
            RefusalCode::NoCredential | RefusalCode::BadWebauthn => {
                Refusal::new(refused.code, SIGN_IN_REFUSED)
            }
            _ => refused,
        }))
    }

    /// [`Approvals::webauthn_sign_in`] with the relying party in hand; the refusal says
    /// exactly why (for the audit log).
    fn sign_in_checked(
        &self,
        registry: &crate::registry::Registry,
        rp: &writ_webauthn::RelyingParty,
        challenge: &[u8],
        assertion: &writ_webauthn::Assertion,
    ) -> Result<Result<String, Refusal>, Error> {
        let now = self.now();
        let refuse = |code, message: String| Ok(Err(Refusal::new(code, message)));
        let Some((approver, credential)) = registry.iter().find_map(|a| {
            a.webauthn
                .iter()
                .find(|c| c.id == assertion.credential_id)
                .map(|c| (a, c))
        }) else {
            return refuse(
                RefusalCode::NoCredential,
                "this passkey is not registered to any approver".into(),
            );
        };
        let mut current = credential.clone();
        current.sign_count = self
            .store
            .sign_count(&credential.id)?
            .unwrap_or(0)
            .max(credential.sign_count);
        let verified = match writ_webauthn::verify_assertion(rp, &current, challenge, assertion) {
            Ok(v) => v,
            Err(e) if e.is_possible_clone() => {
                return refuse(
                    RefusalCode::PossibleClone,
                    format!("{e}; report it and re-register this passkey"),
                )
            }
            Err(e) => return refuse(RefusalCode::BadWebauthn, e.to_string()),
        };
        // Only once the passkey's holder has signed: whose it is stays unsaid before.
        if approver.kind != Kind::Human {
            return refuse(
                RefusalCode::NotAHuman,
                format!("`{}` is not a person: only people approve", approver.id),
            );
        }
        let fingerprint = crate::evidence::webauthn_assertion_id(assertion);
        if !self.store.consume(
            &format!("wa:{fingerprint}"),
            now.saturating_add(super::ASSERTION_MEMORY_S),
            now,
        )? {
            return refuse(
                RefusalCode::PossibleClone,
                "this WebAuthn assertion was used before: a replay; report it".into(),
            );
        }
        if let Err(recorded) = self.store.advance_sign_count(
            &credential.id,
            credential.sign_count,
            verified.sign_count,
        )? {
            return refuse(
                RefusalCode::PossibleClone,
                format!(
                    "the authenticator's sign count {} is not above the recorded {recorded}: a replayed assertion or a cloned authenticator; report it",
                    verified.sign_count
                ),
            );
        }
        self.audit(
            Entry::new("webauthn.signin")
                .with("approver", approver.id.as_str())
                .with("credential", b64(&credential.id)),
        )?;
        Ok(Ok(approver.id.clone()))
    }
}

/// The one refusal of a sign-in whose passkey is registered to nobody or whose signature
/// does not verify: the same words for both, so nobody learns which credential ids exist.
pub const SIGN_IN_REFUSED: &str =
    "this passkey did not sign you in: it is not enrolled here, or its signature does not verify for this page; use a passkey you enrolled (or ask for an invitation)";

impl Approvals {
    /// Removes one of `approver`'s passkeys (the `[[webauthn]]` entry with credential id
    /// `credential`, base64url, as enrolment appends it) from the registry file, audited
    /// `webauthn.removed` before the file is rewritten. Refused (inner `Err`): a credential
    /// that is not this approver's, one written inside the `[[approver]]` table (an
    /// administrator edits that by hand), or the approver's last passkey (they would be
    /// locked out: ask for an invitation first).
    ///
    /// Blocks: reads and rewrites the registry file (fsynced) under its write lock (an
    /// enrolment at the same time waits), audits.
    pub fn remove_webauthn(
        &self,
        approver: &str,
        credential: &str,
    ) -> Result<Result<(), String>, Error> {
        let path = self.registry.path().to_path_buf();
        let name = path.display().to_string();
        // Under the write lock: an enrolment at the same time cannot bring it back.
        let _lock = self.registry.write_lock()?;
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::Registry(format!("cannot read `{name}`: {e}")))?;
        let registry = crate::registry::Registry::parse(&name, &text).map_err(Error::Registry)?;
        let Some(a) = registry.get(approver) else {
            return Ok(Err(format!("`{approver}` is not an approver")));
        };
        if !a.webauthn.iter().any(|c| b64(&c.id) == credential) {
            return Ok(Err(format!("`{approver}` has no passkey `{credential}`")));
        }
        if a.webauthn.len() < 2 {
            return Ok(Err(
                "this is your only passkey: enrol another one first (ask for an invitation), then remove this one"
                    .into(),
            ));
        }
        let Some(updated) = without_entry(&text, approver, credential) else {
            return Ok(Err(format!(
                "this passkey is written inside `{approver}`'s `[[approver]]` table: ask your administrator to remove it from `{name}`"
            )));
        };
        crate::registry::Registry::parse(&name, &updated).map_err(Error::Registry)?;
        self.audit(
            Entry::new("webauthn.removed")
                .with("approver", approver)
                .with("credential", credential),
        )?;
        crate::files::rewrite(&path, updated.as_bytes())
            .map_err(|e| Error::Registry(format!("cannot write `{name}`: {e}")))?;
        Ok(Ok(()))
    }
}

/// `text` without the `[[webauthn]]` table of `approver` whose `id` is `credential` (and
/// the blank lines before it), or `None` when there is no such table.
fn without_entry(text: &str, approver: &str, credential: &str) -> Option<String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let owner = format!("approver = {}", serde_json::Value::from(approver));
    let id = format!("id = \"{credential}\"");
    let mut start = 0;
    while start < lines.len() {
        if lines[start].trim() != "[[webauthn]]" {
            start += 1;
            continue;
        }
        let end = (start + 1..lines.len())
            .find(|&i| lines[i].trim_start().starts_with('['))
            .unwrap_or(lines.len());
        let body = &lines[start + 1..end];
        let is = |want: &str| {
            body.iter()
                .any(|l| l.split('#').next().is_some_and(|l| l.trim() == want))
        };
        if is(&owner) && is(&id) {
            let mut from = start;
            while from > 0 && lines[from - 1].trim().is_empty() {
                from -= 1;
            }
            let mut out: String = lines[..from].concat();
            let rest: String = lines[end..].concat();
            if !out.is_empty() && !rest.is_empty() {
                out.push('\n');
            }
            out.push_str(&rest);
            return Some(out);
        }
        start = end;
    }
    None
}
