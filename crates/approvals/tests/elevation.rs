//! Elevation (`approve for D`): a grant redeemed again and again within its time box for
//! requests with the approved bound values, each use audited with its number; refused
//! after the box (its own code), for other bound values, and once revoked — by the
//! requester, an approver of its groups or the operator, and by nobody else; across two
//! replicas over one real redis-server a revocation through one is seen at once by the
//! other. Single-use grants are consumed once, as before, and can be revoked unredeemed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod fixture;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use fixture::{clock, World};
use serde_json::{json, Value as Json};
use writ_approvals::{
    proof_text, revoke_message, Approvals, ChallengeState, Collect, Config, GrantKey, RedisStore,
    RefusalCode, RevokeStatus, RevokedBefore, Revoker,
};
use writ_testkit::Redis;

/// The support elevation, approved by `finance` (the fixture world's approvers).
fn support() -> String {
    writ_testkit::sets::support_elevation("finance")
}

/// A world whose policy set also grants 30-minute support elevations.
fn world() -> World {
    let w = World::new();
    std::fs::write(w.policy_dir().join("support.writ"), support()).unwrap();
    let event = w.policies.reload();
    assert!(
        serde_json::to_string(&event).unwrap().contains("loaded"),
        "{event:?}"
    );
    w
}

fn session(action: &str, ticket: &str) -> Json {
    json!({
        "principal": {"id": "ann", "kind": "human"},
        "action": action,
        "resource": {"id": "tenant-7"},
        "session": {"id": "s-1"},
        "request": {"params": {"ticket": ticket}}
    })
}

/// Opens a support elevation for ann and has dana approve it: the challenge id and the
/// grant.
fn elevated(w: &World, request: &Json) -> (String, String) {
    let (id, digest) = w.open(request);
    let view = w.approvals.challenge(&id).unwrap().unwrap();
    assert_eq!(view.elevation_s, Some(1800));
    // The approver reads that this is a time box over every approved action, not one
    // transaction.
    assert!(
        view.summary.contains(
            "ELEVATION for 30m: every action the policy approves with these bound values"
        ),
        "{}",
        view.summary
    );
    let answered = w.sign("dana", &id, &digest, true);
    assert_eq!(answered.status, "accepted", "{:?}", answered.refusal);
    (id.clone(), w.collect(&id))
}

fn redeem(approvals: &Approvals, request: &Json, grant: &str) -> writ_approvals::Redeemed {
    approvals.redeem(&request.to_string(), grant, None).unwrap()
}

fn refused(r: &writ_approvals::Redeemed) -> RefusalCode {
    r.refusal.as_ref().map(|x| x.code).unwrap_or_else(|| {
        panic!(
            "expected a refusal, got {}",
            serde_json::to_string(r).unwrap()
        )
    })
}

fn audit_lines(w: &World, event: &str) -> Vec<Json> {
    w.audit_text()
        .lines()
        .map(|l| serde_json::from_str::<Json>(l).unwrap())
        .filter(|r| r["event"] == event)
        .collect()
}

#[test]
fn an_elevation_is_redeemed_again_and_again_within_its_box_and_each_use_is_audited() {
    let w = world();
    let (_, grant) = elevated(&w, &session("support.logs.read", "SUP-1"));
    let issued = w.now.load(Ordering::SeqCst);
    // Three uses, minutes apart, for two actions: the bound values are the approved ones.
    for (n, action) in [
        (1, "support.logs.read"),
        (2, "support.session.open"),
        (3, "support.logs.read"),
    ] {
        w.advance(300);
        let r = redeem(&w.approvals, &session(action, "SUP-1"), &grant);
        assert_eq!(r.decision.decision.as_str(), "allow", "{:?}", r.refusal);
        let used = r.grant.unwrap().elevation.unwrap();
        assert_eq!((used.number, used.elevation_s), (n, 1800));
        assert_eq!(
            used.ends_at,
            jiff::Timestamp::from_second(issued + 1800)
                .unwrap()
                .to_string()
        );
        assert_eq!(r.decision.obligations.len(), 1);
    }
    // Another ticket is another elevation: the digest differs.
    let other = redeem(&w.approvals, &session("support.logs.read", "SUP-2"), &grant);
    assert_eq!(refused(&other), RefusalCode::DigestMismatch);
    // At the end of the box, and after it, refused with its own code.
    w.now.store(issued + 1800, Ordering::SeqCst);
    let late = redeem(&w.approvals, &session("support.logs.read", "SUP-1"), &grant);
    assert_eq!(refused(&late), RefusalCode::ElevationExpired);
    assert!(
        late.refusal.unwrap().message.contains("elevation ended"),
        "says so"
    );

    let uses = audit_lines(&w, "grant.redeemed");
    assert_eq!(uses.len(), 3);
    for (i, record) in uses.iter().enumerate() {
        assert_eq!(record["use"], json!(i + 1));
        assert_eq!(record["elevation_s"], 1800);
        assert!(record["elevation_ends_at"].as_str().is_some(), "{record}");
    }
    let codes: Vec<Json> = audit_lines(&w, "redeem.refused")
        .into_iter()
        .map(|r| r["code"].clone())
        .collect();
    assert_eq!(
        codes,
        [json!("digest_mismatch"), json!("elevation_expired")]
    );
    // The log still verifies.
    writ_approvals::audit::verify(&w.state_dir().join("audit.jsonl"))
        .unwrap()
        .unwrap();
}

#[test]
fn revoking_ends_an_elevation_at_once_and_revoking_again_says_so() {
    let w = world();
    let request = session("support.logs.read", "SUP-1");
    let (id, grant) = elevated(&w, &request);
    assert_eq!(
        redeem(&w.approvals, &request, &grant)
            .decision
            .decision
            .as_str(),
        "allow"
    );
    let revoked = w
        .approvals
        .revoke(&id, &Revoker::Requester(w.requester_proof(&id)))
        .unwrap();
    assert_eq!(
        revoked.status,
        RevokeStatus::Revoked,
        "{:?}",
        revoked.refusal
    );
    assert_eq!(
        (revoked.was, revoked.uses, revoked.elevation_s),
        (Some(RevokedBefore::Active), Some(1), Some(1800))
    );
    assert!(!serde_json::to_string(&revoked).unwrap().contains(&grant));
    w.advance(1);
    let after = redeem(&w.approvals, &request, &grant);
    assert_eq!(refused(&after), RefusalCode::GrantRevoked);
    // Shown as revoked, and its grant handed out no more.
    let view = w.approvals.challenge(&id).unwrap().unwrap();
    assert_eq!(view.state, ChallengeState::Revoked);
    let collected = w.approvals.collect(&id, &w.requester_proof(&id)).unwrap();
    assert_eq!(
        collected.refusal.map(|r| r.code),
        Some(RefusalCode::GrantRevoked)
    );
    assert!(collected.grant.is_none());
    // Idempotent: answered, not an error, and saying it was revoked before.
    let again = w
        .approvals
        .revoke(
            &id,
            &Revoker::Operator {
                by: "oncall".into(),
            },
        )
        .unwrap();
    assert_eq!(again.status, RevokeStatus::Revoked);
    assert_eq!(again.was, Some(RevokedBefore::Revoked));
    let records = audit_lines(&w, "grant.revoked");
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["by"], "requester");
    assert_eq!(records[0]["was"], "active");
    assert_eq!(records[1]["by"], "operator:oncall");
    assert_eq!(records[1]["was"], "revoked");
    assert!(
        !w.audit_text().contains(&grant),
        "the grant is never logged"
    );
    writ_approvals::audit::verify(&w.state_dir().join("audit.jsonl"))
        .unwrap()
        .unwrap();
}

#[test]
fn only_the_requester_an_approver_of_its_groups_or_the_operator_revokes() {
    let w = world();
    let request = session("support.logs.read", "SUP-1");
    let (id, grant) = elevated(&w, &request);
    let now = w.now.load(Ordering::SeqCst);
    let signed = |who: &str, iat: i64| Revoker::Approver {
        id: who.into(),
        proof: proof_text(iat, &w.key(who).sign_b64(&revoke_message(&id, iat))),
    };
    let cases = [
        // In none of the challenge's groups.
        (signed("sam", now), RefusalCode::NotAllowed),
        // Not a person.
        (signed("bot", now), RefusalCode::NotAllowed),
        // Not in the registry.
        (
            Revoker::Approver {
                id: "mallory".into(),
                proof: proof_text(now, "AAAA"),
            },
            RefusalCode::NotAllowed,
        ),
        // In the group, but signed with someone else's key.
        (
            Revoker::Approver {
                id: "erin".into(),
                proof: proof_text(now, &w.key("hal").sign_b64(&revoke_message(&id, now))),
            },
            RefusalCode::BadSignature,
        ),
        // In the group, but a proof made long ago.
        (signed("erin", now - 600), RefusalCode::TimeOutOfSkew),
        // A requester's secret that is not this challenge's.
        (
            Revoker::Requester(Collect::Secret("cs_nope".into())),
            RefusalCode::ProofInvalid,
        ),
    ];
    for (by, code) in cases {
        let r = w.approvals.revoke(&id, &by).unwrap();
        assert_eq!(r.status, RevokeStatus::Refused);
        assert_eq!(r.refusal.unwrap().code, code, "{by:?}");
    }
    // None of that revoked anything.
    assert_eq!(
        redeem(&w.approvals, &request, &grant)
            .decision
            .decision
            .as_str(),
        "allow"
    );
    assert_eq!(audit_lines(&w, "revoke.refused").len(), 6);
    // No challenge, or a challenge not granted: nothing to revoke.
    let operator = Revoker::Operator { by: "ops".into() };
    let none = w.approvals.revoke("ch_nope", &operator).unwrap();
    assert_eq!(none.refusal.unwrap().code, RefusalCode::ChallengeNotFound);
    let (open, _) = w.open(&session("support.logs.read", "SUP-9"));
    let pending = w.approvals.revoke(&open, &operator).unwrap();
    assert_eq!(pending.refusal.unwrap().code, RefusalCode::NotGranted);
    // erin, in the group, with her own key: revoked.
    let r = w.approvals.revoke(&id, &signed("erin", now)).unwrap();
    assert_eq!(r.status, RevokeStatus::Revoked, "{:?}", r.refusal);
    assert_eq!(r.by.as_deref(), Some("approver:erin"));
    w.advance(1);
    assert_eq!(
        refused(&redeem(&w.approvals, &request, &grant)),
        RefusalCode::GrantRevoked
    );
}

#[test]
fn a_single_use_grant_is_consumed_once_and_can_be_revoked_before_it_is_used() {
    let w = world();
    let req = w.transfer();
    // Used once, then replayed, as always; revoking it afterwards says it was redeemed.
    let grant = w.granted(&req);
    let proof = w.proof(&grant);
    let first = w
        .approvals
        .redeem(&req.to_string(), &grant, Some(&proof))
        .unwrap();
    assert!(first.refusal.is_none(), "{:?}", first.refusal);
    assert!(first.grant.unwrap().elevation.is_none());
    let again = w
        .approvals
        .redeem(&req.to_string(), &grant, Some(&proof))
        .unwrap();
    assert_eq!(refused(&again), RefusalCode::Replayed);
    let id = grant_challenge(&w);
    let operator = Revoker::Operator { by: "ops".into() };
    let r = w.approvals.revoke(&id, &operator).unwrap();
    assert_eq!(
        (r.was, r.uses, r.elevation_s),
        (Some(RevokedBefore::Redeemed), Some(1), None)
    );
    // Revoked before its use: never redeemable.
    w.advance(60);
    let mut other = w.transfer();
    other["request"]["params"]["amount"] = json!(1300);
    let grant = w.granted(&other);
    let id = grant_challenge(&w);
    let r = w.approvals.revoke(&id, &operator).unwrap();
    assert_eq!(r.was, Some(RevokedBefore::Active));
    let proof = w.proof(&grant);
    let used = w
        .approvals
        .redeem(&other.to_string(), &grant, Some(&proof))
        .unwrap();
    assert_eq!(refused(&used), RefusalCode::GrantRevoked);
}

/// The challenge of the latest grant issued.
fn grant_challenge(w: &World) -> String {
    let issued = audit_lines(w, "grant.issued");
    issued.last().unwrap()["challenge"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn each_use_of_a_key_bound_elevation_needs_a_proof_of_its_own() {
    let w = world();
    let mut request = session("support.logs.read", "SUP-1");
    request["principal"]["key"] = w.workload.public_jwk();
    let (_, grant) = elevated(&w, &request);
    let proof = w.proof(&grant);
    let text = request.to_string();
    let first = w.approvals.redeem(&text, &grant, Some(&proof)).unwrap();
    assert!(first.refusal.is_none(), "{:?}", first.refusal);
    let replayed = w.approvals.redeem(&text, &grant, Some(&proof)).unwrap();
    assert_eq!(refused(&replayed), RefusalCode::ProofInvalid);
    w.advance(1);
    let fresh = w.proof(&grant);
    let second = w.approvals.redeem(&text, &grant, Some(&fresh)).unwrap();
    assert!(second.refusal.is_none(), "{:?}", second.refusal);
    assert_eq!(second.grant.unwrap().elevation.unwrap().number, 2);
    // No proof at all: refused as for any key-bound grant.
    let none = w.approvals.redeem(&text, &grant, None).unwrap();
    assert_eq!(refused(&none), RefusalCode::ProofMissing);
}

#[test]
fn a_policy_that_now_grants_a_shorter_elevation_or_a_single_use_one_shortens_or_ends_it() {
    let w = world();
    let request = session("support.logs.read", "SUP-1");
    let (_, grant) = elevated(&w, &request);
    let issued = w.now.load(Ordering::SeqCst);
    std::fs::write(
        w.policy_dir().join("support.writ"),
        support().replace("approve for 30m", "approve for 5m"),
    )
    .unwrap();
    w.policies.reload();
    w.advance(240);
    let r = redeem(&w.approvals, &request, &grant);
    assert!(r.refusal.is_none(), "{:?}", r.refusal);
    assert_eq!(
        r.grant.unwrap().elevation.unwrap().ends_at,
        jiff::Timestamp::from_second(issued + 300)
            .unwrap()
            .to_string()
    );
    w.advance(120);
    assert_eq!(
        refused(&redeem(&w.approvals, &request, &grant)),
        RefusalCode::ElevationExpired
    );
    std::fs::write(
        w.policy_dir().join("support.writ"),
        support().replace("approve for 30m", "approve"),
    )
    .unwrap();
    w.policies.reload();
    assert_eq!(
        refused(&redeem(&w.approvals, &request, &grant)),
        RefusalCode::RequirementsNotMet
    );
}

/// A replica over the shared Redis with the world's grant key.
fn replica(w: &World, redis: &Redis) -> Approvals {
    let store = Arc::new(RedisStore::open(&redis.url(), "writ:", Duration::from_secs(2)).unwrap());
    let key = GrantKey::load_or_create(&w.state_dir().join("grant.key")).unwrap();
    Approvals::new(w.policies.clone(), store, key, None, Config::default())
        .unwrap()
        .with_clock(clock(&w.now))
}

#[test]
fn over_one_redis_uses_count_across_replicas_and_a_revocation_on_one_is_seen_by_the_other() {
    let redis = Redis::start();
    let w = world();
    let (a, b) = (replica(&w, &redis), replica(&w, &redis));
    let request = session("support.logs.read", "SUP-1");
    let d = a.decide(&request.to_string()).unwrap();
    let secret = d.collection_secret.clone().unwrap();
    let c = d.challenge.unwrap();
    assert_eq!(c.elevation_s, Some(1800));
    let signature = w
        .key("dana")
        .sign_b64(&writ_approvals::answer_message(&c.id, &c.digest, true));
    let answered = b
        .answer(&writ_approvals::Answer {
            challenge: c.id.clone(),
            approver: "dana".into(),
            approve: true,
            code: None,
            evidence: writ_approvals::Evidence::Signature { signature },
        })
        .unwrap();
    assert_eq!(answered.status, "accepted", "{:?}", answered.refusal);
    let collected = a.collect(&c.id, &Collect::Secret(secret.clone())).unwrap();
    let grant = collected.grant.unwrap();
    // Uses alternate between the replicas and are numbered in one sequence.
    for (n, replica) in [(1, &a), (2, &b), (3, &a), (4, &b)] {
        let r = redeem(replica, &request, &grant);
        assert!(r.refusal.is_none(), "{:?}", r.refusal);
        assert_eq!(r.grant.unwrap().elevation.unwrap().number, n);
    }
    // Revoked through A: B refuses the very next use.
    let revoked = a
        .revoke(&c.id, &Revoker::Requester(Collect::Secret(secret)))
        .unwrap();
    assert_eq!(
        revoked.status,
        RevokeStatus::Revoked,
        "{:?}",
        revoked.refusal
    );
    assert_eq!(revoked.uses, Some(4));
    for replica in [&b, &a] {
        assert_eq!(
            refused(&redeem(replica, &request, &grant)),
            RefusalCode::GrantRevoked
        );
    }
    let again = b
        .revoke(&c.id, &Revoker::Operator { by: "ops".into() })
        .unwrap();
    assert_eq!(again.was, Some(RevokedBefore::Revoked));
}

/// The bundled `policies/support-access` set as shipped: a vendor's support session into
/// a customer tenant is approved by that customer's admin group (named by the request)
/// with a security key, for 30 minutes, and used for several reads of that session and
/// ticket within Dublin support hours — and no longer.
#[test]
fn the_bundled_support_set_grants_a_30_minute_elevation_by_the_customer_s_admins() {
    use writ_testkit::sets::{ORIGIN, RP_ID as RP};
    use writ_webauthn::soft::SoftAuthenticator;
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let bundled = repo.join("policies/support-access");
    let tmp = tempfile::tempdir().unwrap();
    let policies = tmp.path().join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    std::fs::copy(bundled.join("support.writ"), policies.join("support.writ")).unwrap();
    // The customer's administrator, with a security key registered below.
    std::fs::write(
        policies.join("approvers.toml"),
        format!(
            "[relying_party]\nrp_id = \"{RP}\"\norigins = [\"{ORIGIN}\"]\n\n[[approver]]\nid = \"carl@nordlicht.example\"\ngroups = [\"customer-admins-nordlicht\"]\n"
        ),
    )
    .unwrap();
    // Tuesday 24 November 2026, 10:00 in Dublin (UTC in winter): support hours.
    let start = "2026-11-24T10:00:00Z"
        .parse::<jiff::Timestamp>()
        .unwrap()
        .as_second();
    let now = Arc::new(std::sync::atomic::AtomicI64::new(start));
    let store = Arc::new(
        writ_reload::PolicyStore::open_with_clock(
            &policies,
            writ_reload::StoreConfig::default(),
            Some(clock(&now)),
        )
        .unwrap(),
    );
    let approvals = Approvals::with_state_dir(store, &tmp.path().join("state"), Config::default())
        .unwrap()
        .with_clock(clock(&now));
    let carl = "carl@nordlicht.example";
    let mut key = SoftAuthenticator::es256(b"carl");
    let registration = approvals
        .webauthn_registration_challenge(carl)
        .unwrap()
        .unwrap();
    let attestation = key.register(RP, ORIGIN, &registration);
    approvals
        .register_webauthn(carl, &registration, &attestation)
        .unwrap()
        .unwrap();

    let example: Json = serde_json::from_str(
        &std::fs::read_to_string(bundled.join("requests/vendor-logs-read.json")).unwrap(),
    )
    .unwrap();
    let at = |action: &str, ticket: &str| {
        let mut r = example.clone();
        r.as_object_mut().unwrap().remove("time");
        r["action"] = json!(action);
        r["request"]["params"]["ticket"] = json!(ticket);
        r.to_string()
    };
    let decided = approvals
        .decide(&at("support.logs.read", "SUP-20931"))
        .unwrap();
    assert_eq!(decided.decision.decision.as_str(), "approve");
    let approval = decided.decision.approval.as_ref().unwrap();
    assert_eq!(approval.elevation_s, Some(1800));
    let c = decided.challenge.unwrap();
    assert_eq!(c.elevation_s, Some(1800));
    assert_eq!(c.approvers[0].group, "customer-admins-nordlicht");
    let assertion = key.assert(
        RP,
        ORIGIN,
        &writ_approvals::webauthn_challenge(&c.id, &c.digest),
        true,
    );
    let answered = approvals
        .answer(&writ_approvals::Answer {
            challenge: c.id.clone(),
            approver: carl.into(),
            approve: true,
            code: None,
            evidence: writ_approvals::Evidence::Webauthn { assertion },
        })
        .unwrap();
    assert_eq!(answered.status, "accepted", "{:?}", answered.refusal);
    let secret = decided.collection_secret.unwrap();
    let grant = approvals
        .collect(&c.id, &Collect::Secret(secret))
        .unwrap()
        .grant
        .unwrap();
    // Three reads of the session, minutes apart, under one approval.
    for (n, (minutes, action)) in [
        (1, "support.logs.read"),
        (10, "support.session.open"),
        (29, "support.config.read"),
    ]
    .into_iter()
    .enumerate()
    {
        now.store(start + minutes * 60, Ordering::SeqCst);
        let r = approvals
            .redeem(&at(action, "SUP-20931"), &grant, None)
            .unwrap();
        assert_eq!(r.decision.decision.as_str(), "allow", "{:?}", r.refusal);
        assert_eq!(
            r.grant.unwrap().elevation.unwrap().number,
            u64::try_from(n + 1).unwrap()
        );
        let obligations: Vec<&str> = r.decision.obligations.iter().map(|o| &*o.name).collect();
        assert_eq!(obligations, ["record_session", "notify", "review"]);
    }
    // Another ticket is not this elevation; a write is not a read; after 30 minutes it is
    // over.
    let other = approvals
        .redeem(&at("support.logs.read", "SUP-1"), &grant, None)
        .unwrap();
    assert_eq!(refused(&other), RefusalCode::DigestMismatch);
    let write = approvals
        .redeem(&at("support.config.write", "SUP-20931"), &grant, None)
        .unwrap();
    assert!(write.refusal.is_some());
    now.store(start + 30 * 60, Ordering::SeqCst);
    let late = approvals
        .redeem(&at("support.logs.read", "SUP-20931"), &grant, None)
        .unwrap();
    assert_eq!(refused(&late), RefusalCode::ElevationExpired);
}

/// The TTL Redis gives one of its keys.
fn ttl(redis: &Redis, key: &str) -> i64 {
    let mut con = redis::Client::open(redis.url())
        .unwrap()
        .get_connection()
        .unwrap();
    redis::cmd("TTL").arg(key).query(&mut con).unwrap()
}

#[test]
fn an_elevation_s_use_and_revocation_records_expire_by_a_duration_whatever_the_engine_s_clock() {
    // A replica's (test) clock in 2001: the records still live the box (30 min) plus the
    // skew and the margin on Redis's own clock, neither vanishing at once nor forever.
    let redis = Redis::start();
    let w = world();
    w.now.store(978_307_200, Ordering::SeqCst);
    let a = replica(&w, &redis);
    let request = session("support.logs.read", "SUP-1");
    let d = a.decide(&request.to_string()).unwrap();
    let secret = d.collection_secret.clone().unwrap();
    let c = d.challenge.unwrap();
    let signature = w
        .key("dana")
        .sign_b64(&writ_approvals::answer_message(&c.id, &c.digest, true));
    let answered = a
        .answer(&writ_approvals::Answer {
            challenge: c.id.clone(),
            approver: "dana".into(),
            approve: true,
            code: None,
            evidence: writ_approvals::Evidence::Signature { signature },
        })
        .unwrap();
    assert_eq!(answered.status, "accepted", "{:?}", answered.refusal);
    let grant = a
        .collect(&c.id, &Collect::Secret(secret.clone()))
        .unwrap()
        .grant
        .unwrap();
    w.advance(600);
    let r = redeem(&a, &request, &grant);
    let jti = r.grant.unwrap().jti;
    let revoked = a
        .revoke(&c.id, &Revoker::Requester(Collect::Secret(secret)))
        .unwrap();
    assert_eq!(revoked.status, RevokeStatus::Revoked);
    // Issued at t, used at t + 600: the box ends at t + 1800; kept 31 s past it (skew and
    // one second) plus Redis's 300 s clock margin.
    let most = 1800 - 600 + 31 + 300;
    for key in [format!("writ:use:{jti}"), format!("writ:rv:{jti}")] {
        let left = ttl(&redis, &key);
        assert!(left > most - 60 && left <= most, "{key} kept {left} s");
    }
}

#[test]
fn the_embedded_store_forgets_uses_and_revocations_once_their_grants_are_dead() {
    use writ_approvals::{GrantUse, RedbStore, StateStore};
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(&dir.path().join("state")).unwrap();
    let t0 = 1_900_000_000;
    assert_eq!(
        store.use_grant("g_e", true, t0 + 60, t0).unwrap(),
        GrantUse::Counted(1)
    );
    assert_eq!(
        store.use_grant("g_e", true, t0 + 60, t0).unwrap(),
        GrantUse::Counted(2)
    );
    let r = store.revoke_grant("g_e", t0 + 60, t0).unwrap();
    assert!(r.first);
    assert_eq!(r.uses, 2);
    assert!(!store.revoke_grant("g_e", t0 + 60, t0).unwrap().first);
    assert_eq!(
        store.use_grant("g_e", true, t0 + 60, t0).unwrap(),
        GrantUse::Revoked
    );
    // A single-use grant: once, then replayed; revoked unused, then refused.
    assert_eq!(
        store.use_grant("g_s", false, t0 + 60, t0).unwrap(),
        GrantUse::Counted(1)
    );
    assert_eq!(
        store.use_grant("g_s", false, t0 + 60, t0).unwrap(),
        GrantUse::Replayed
    );
    assert_eq!(store.revoke_grant("g_s", t0 + 60, t0).unwrap().uses, 1);
    store.revoke_grant("g_u", t0 + 60, t0).unwrap();
    assert_eq!(
        store.use_grant("g_u", false, t0 + 60, t0).unwrap(),
        GrantUse::Revoked
    );
    // Past every grant's end and the sweep's period, the records are gone: the grants'
    // own expiry refuses them now.
    let later = t0 + RedbStore::SWEEP_EVERY_S + 3600;
    assert_eq!(
        store.use_grant("g_new", true, later + 60, later).unwrap(),
        GrantUse::Counted(1)
    );
    assert_eq!(
        store.use_grant("g_e", true, later + 60, later).unwrap(),
        GrantUse::Counted(1),
        "the revocation and the count were swept"
    );
    assert!(store.revoke_grant("g_u", later + 60, later).unwrap().first);
}
