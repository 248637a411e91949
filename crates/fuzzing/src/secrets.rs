//! The approval flow's inputs: the approver registry (`approvers.toml`), grant tokens with
//! their proofs of possession, and audit logs.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use pasetors::keys::AsymmetricSecretKey;
use pasetors::version4::{PublicToken, V4};
use writ_approvals::audit::{self, Entry, Verify};
use writ_approvals::{Approvals, AuditLog, Config, GrantKey, KeyPair, RedbStore, Registry};
use writ_reload::{PolicyStore, StoreConfig};

use crate::fixture;

/// `approvers.toml` text through the registry parser, then every lookup the flow makes.
pub fn registry(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(registry) = Registry::parse("approvers.toml", text) else {
        return;
    };
    let _ = registry.relying_party();
    for approver in registry.iter() {
        let _ = registry.groups_of(&approver.id);
        let _ = registry.get(&approver.id);
    }
}

/// The policy of the grant fixture: one rule that asks for an approval bound to the
/// amount and payee.
const GRANT_POLICY: &str = r#"
schema {
  request.params.amount: number
  request.params.payee:  string
}
rule "transfers need finance" {
  when action == "payments.transfer"
  approve {
    approvers 1 of group "finance"
    bind principal.id, action, resource.id, request.params.amount, request.params.payee
    ttl 5m
  }
}
rule "reads" { when action == "payments.read" allow }
"#;

/// The request every grant is redeemed for; `principal.key` is [`fixture::public_jwk`]`(3)`.
pub fn grant_request() -> String {
    serde_json::json!({
        "action": "payments.transfer",
        "principal": {"id": "ann", "key": fixture::public_jwk(3)},
        "resource": {"id": "acct-1"},
        "request": {"params": {"amount": 1200, "payee": "ACME"}},
    })
    .to_string()
}

/// The grant key of the fixture ([`fixture::seed`]`(1)`).
pub fn grant_key() -> Option<GrantKey> {
    KeyPair::from_jwk(&fixture::private_jwk(1))
        .ok()
        .map(GrantKey::new)
}

/// Signs `payload` as a grant of the fixture's key: a v4.public token with its footer
/// and implicit assertion, whatever the payload holds.
pub fn sign_claims(payload: &[u8]) -> Option<String> {
    let key = grant_key()?;
    let signing = ed25519_dalek::SigningKey::from_bytes(&fixture::seed(1));
    let secret = AsymmetricSecretKey::<V4>::from(&signing.to_keypair_bytes()[..]).ok()?;
    let footer = serde_json::json!({ "kid": key.kid() }).to_string();
    PublicToken::sign(
        &secret,
        payload,
        Some(footer.as_bytes()),
        Some(b"writ-grant-v1"),
    )
    .ok()
}

struct GrantWorld {
    key: GrantKey,
    approvals: Approvals,
    request: String,
}

#[allow(
    clippy::expect_used,
    reason = "a fixture that cannot be built is a harness bug; failing loudly is the point"
)]
fn grant_world() -> &'static Mutex<GrantWorld> {
    static W: OnceLock<Mutex<GrantWorld>> = OnceLock::new();
    W.get_or_init(|| {
        let dir = fixture::scratch("grant");
        let policies = dir.join("policies");
        std::fs::create_dir_all(&policies).expect("policy dir");
        std::fs::write(policies.join("payments.writ"), GRANT_POLICY).expect("policy file");
        let approver = fixture::public_jwk(2);
        let x = approver.get("x").and_then(|x| x.as_str()).unwrap_or("");
        std::fs::write(
            policies.join("approvers.toml"),
            format!("[[approver]]\nid = \"fiona\"\ngroups = [\"finance\"]\ned25519 = [\"{x}\"]\n"),
        )
        .expect("registry file");
        let store = Arc::new(
            PolicyStore::open_with_clock(&policies, StoreConfig::default(), Some(fixture::clock()))
                .expect("the grant fixture policy loads"),
        );
        let state = Arc::new(RedbStore::open(&dir.join("state")).expect("state store"));
        let approvals = Approvals::new(
            store,
            state,
            grant_key().expect("grant key"),
            None,
            Config::default(),
        )
        .expect("the approval service starts")
        .with_clock(fixture::clock());
        Mutex::new(GrantWorld {
            key: grant_key().expect("grant key"),
            approvals,
            request: grant_request(),
        })
    })
}

/// Grant token text and proof (`TOKEN` or `TOKEN\nPROOF`) through the grant key's
/// verification and `redeem`. A first line that starts with `{` is a claims payload: it
/// is signed with the fixture's grant key first, so the claims parser and every check
/// after the signature are reached.
pub fn grant(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (first, proof) = match text.split_once('\n') {
        Some((t, p)) => (t, Some(p)),
        None => (text, None),
    };
    let token = if first.starts_with('{') {
        match sign_claims(first.as_bytes()) {
            Some(t) => t,
            None => return,
        }
    } else {
        first.to_string()
    };
    let world = grant_world()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Ok(claims) = world.key.verify(&token) {
        let _ = claims.exp.parse::<jiff::Timestamp>();
        let _ = serde_json::to_string(&claims);
    }
    let _ = world.approvals.redeem(&world.request, &token, proof);
}

/// An enrolment invitation's token (the `TOKEN` of `/enroll/TOKEN`, sent by whoever
/// opens a link) through the service's check, as the enrolment page runs it: split,
/// base64, the approver's name as UTF-8, length, the grant key's signature, expiry.
pub fn invitation(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let world = grant_world()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let _ = world.approvals.webauthn_invitee(text);
}

/// A scratch file the audit target appends to.
fn audit_file() -> &'static Mutex<PathBuf> {
    static F: OnceLock<Mutex<PathBuf>> = OnceLock::new();
    F.get_or_init(|| Mutex::new(fixture::scratch("audit").join("audit.jsonl")))
}

/// Audit log text through `verify` (plain, with a signing key and a head), then one
/// append after it, as the service appends after whatever the file holds.
pub fn audit(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let key = KeyPair::from_jwk(&fixture::private_jwk(4)).ok();
    let public = key.as_ref().map(KeyPair::public);
    let appended = append_after(text, key);
    let verified = audit::verify_text(text).is_ok();
    let _ = audit::verify_text_with(
        text,
        Verify {
            head: Some("sha256:0000000000000000000000000000000000000000000000000000000000000000"),
            key: public.as_ref(),
        },
    );
    if let (true, Some(after)) = (verified, appended) {
        assert!(
            audit::verify_text(&after).is_ok(),
            "a record appended to a valid log does not verify"
        );
    }
}

/// Writes `text` as the log, appends one record as the service would, and returns the
/// log after it (`None` when the append is refused).
fn append_after(text: &str, key: Option<KeyPair>) -> Option<String> {
    let path = audit_file()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    std::fs::write(&*path, text).ok()?;
    let log = AuditLog::open(&path, false).ok()?;
    let log = match key {
        Some(k) => log.signed(k),
        None => log,
    };
    log.append(Entry::new("fuzz").with("n", 1), fixture::NOW)
        .ok()?;
    std::fs::read_to_string(&*path).ok()
}

#[cfg(test)]
mod tests {
    //! The grant target reaches past the signature: claims it signs verify with the key of
    //! the service it redeems at.

    use super::*;

    /// The seed `corpus/grant/claims-matching-digest.txt` carries the digest of the
    /// fixture's request, so the fuzzer starts past the digest check (quorum, `cnf`,
    /// proof of possession, the store's identity).
    #[test]
    fn the_matching_seed_carries_the_request_digest() {
        let world = grant_world().lock().expect("lock");
        let seed = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fuzz/corpus/grant/claims-matching-digest.txt"
        ))
        .expect("the seed is committed");
        let claims: serde_json::Value =
            serde_json::from_str(seed.lines().next().unwrap_or("")).expect("claims JSON");
        let token = sign_claims(seed.lines().next().unwrap_or("").as_bytes()).expect("signs");
        let redeemed = world
            .approvals
            .redeem(&world.request, &token, seed.lines().nth(1))
            .expect("redeem answers");
        let refusal = redeemed.refusal.expect("refused");
        assert!(
            !refusal
                .message
                .contains("differs from the approved transaction"),
            "the seed's digest {} is not the request's: {}",
            claims["digest"],
            refusal.message
        );
        assert!(
            !refusal.message.contains("malformed") && !refusal.message.contains("signature"),
            "the seed does not reach the digest check: {}",
            refusal.message
        );
    }

    #[test]
    fn signed_claims_verify_with_the_service_key() {
        let claims = r#"{"iss":"writ","sub":"ann","act":"payments.transfer","res":"acct-1","digest":"sha256:0","bind":[],"jti":"g","iat":"2026-11-27T09:59:00Z","exp":"2026-11-27T10:04:00Z","chl":"c","pv":"v","approvers":[],"sid":"s"}"#;
        let token = sign_claims(claims.as_bytes()).expect("signs");
        let world = grant_world().lock().expect("lock");
        let verified = world.key.verify(&token).expect("verifies");
        assert_eq!(verified.sub.as_deref(), Some("ann"));
        let redeemed = world
            .approvals
            .redeem(&world.request, &token, None)
            .expect("redeem answers");
        // Past the signature: refused for what the claims say, not for the token.
        let refusal = redeemed.refusal.expect("refused");
        assert!(
            !refusal.message.contains("signature"),
            "{}",
            refusal.message
        );
    }
}
