//! Attacks on what the approval flow keeps between calls — the audit log, the state store,
//! the files of a state directory, the registry — each named after what it attacks.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod fixture;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use fixture::{World, TOTP_SECRET};
use serde_json::{json, Value as Json};
use writ_approvals::audit::{verify_text, AuditLog, Entry};
use writ_approvals::{
    Answer, Config, Evidence, KeyPair, OtpLimits, RedbStore, RedisStore, RefusalCode, Registry,
    StateStore,
};

use fixture::unlimited;

fn refund(account: &str) -> Json {
    json!({"principal": {"id": "ann", "kind": "human"}, "action": "payments.refund",
           "resource": {"id": account}, "session": {"id": "s-1"}, "request": {"params": {}}})
}

fn wrong_code(w: &World) -> String {
    // Not the code of this step nor of either neighbour.
    let now = w.now.load(Ordering::SeqCst) as u64;
    let reg = Registry::parse(
        "t",
        &format!("[[approver]]\nid = \"otto\"\ntotp = \"{TOTP_SECRET}\"\n"),
    )
    .unwrap();
    let secret = reg.get("otto").unwrap().totp.as_ref().unwrap();
    (0..1_000_000u32)
        .map(|n| format!("{n:06}"))
        .find(|c| secret.matching_step(c, now).is_none())
        .unwrap()
}

/// One guess at otto's code on a fresh challenge (a requester opens one per guess).
fn guess(w: &World, n: &mut usize) -> RefusalCode {
    *n += 1;
    let (id, _) = w.open(&refund(&format!("acct-{n}")));
    w.otp(&id, wrong_code(w)).refusal.unwrap().code
}

#[test]
fn guessing_one_time_codes_over_many_challenges_is_capped_per_approver() {
    let w = World::with_config(unlimited());
    let mut n = 0;
    // Ten wrong codes, each on its own challenge (no challenge is ever locked)...
    for _ in 0..10 {
        assert_eq!(guess(&w, &mut n), RefusalCode::BadOtp);
    }
    // ...and otto's codes are refused for 15 minutes, the right one too, on any challenge.
    assert_eq!(guess(&w, &mut n), RefusalCode::OtpLocked);
    let (id, _) = w.open(&refund("fresh"));
    let r = w.otp(&id, w.totp_now()).refusal.unwrap();
    assert_eq!(r.code, RefusalCode::OtpLocked, "{}", r.message);
    // Otto still answers with a signature? He has none; another approver is unaffected.
    w.advance(OtpLimits::default().lockout_s);
    // After the lockout, guessing resumes, up to 100 failures without a success...
    let mut failures = 10;
    while failures < 100 {
        match guess(&w, &mut n) {
            RefusalCode::BadOtp => failures += 1,
            RefusalCode::OtpLocked => w.advance(OtpLimits::default().lockout_s),
            other => panic!("{other:?}"),
        }
    }
    // ...after which no waiting helps: only an administrator's reset.
    w.advance(30 * 24 * 3600);
    assert_eq!(guess(&w, &mut n), RefusalCode::OtpBlocked);
    let (id, _) = w.open(&refund("after-a-month"));
    assert_eq!(
        w.otp(&id, w.totp_now()).refusal.unwrap().code,
        RefusalCode::OtpBlocked
    );
    assert_eq!(w.approvals.otp_record("otto").unwrap().failures, 100);
    let before = w.approvals.reset_otp("otto").unwrap();
    assert!(before.blocked);
    assert!(w.audit_text().contains("\"approver.reset\""));
    let ok = w.otp(&id, w.totp_now());
    assert_eq!(ok.status, "accepted", "{:?}", ok.refusal);
    // An unknown name cannot be reset (nor mistyped into a silent no-op).
    assert!(w.approvals.reset_otp("nobody").is_err());
}

#[test]
fn a_right_code_clears_the_count_of_wrong_ones() {
    let w = World::with_config(unlimited());
    let mut n = 0;
    for _ in 0..9 {
        assert_eq!(guess(&w, &mut n), RefusalCode::BadOtp);
    }
    let (id, _) = w.open(&refund("ok"));
    assert_eq!(w.otp(&id, w.totp_now()).status, "accepted");
    assert_eq!(w.approvals.otp_record("otto").unwrap().failures, 0);
    for _ in 0..9 {
        assert_eq!(guess(&w, &mut n), RefusalCode::BadOtp);
    }
}

#[test]
fn garbage_signatures_under_a_real_name_cannot_lock_a_challenge_or_flood_the_audit() {
    let w = World::new();
    let (id, digest) = w.open(&w.transfer());
    let forger = KeyPair::generate().unwrap();
    for _ in 0..200 {
        let a = w.answer(
            "dana",
            &id,
            true,
            Evidence::Signature {
                signature: forger.sign_b64(b"x"),
            },
        );
        assert_eq!(a.refusal.unwrap().code, RefusalCode::BadSignature);
    }
    let a = w.sign("dana", &id, &digest, true);
    assert_eq!(a.challenge.unwrap().state, "granted", "{:?}", a.refusal);
    let events: Vec<String> = w
        .audit_text()
        .lines()
        .map(|l| {
            serde_json::from_str::<Json>(l).unwrap()["event"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let refused = events.iter().filter(|e| *e == "answer.refused").count();
    let suppressed = events
        .iter()
        .filter(|e| *e == "answer.refused.suppressed")
        .count();
    // 16 in full, then one at 17 and at 32, 64, 128: the count, not the flood.
    assert_eq!((refused, suppressed), (16, 4), "{events:?}");
}

#[test]
fn a_valid_answer_with_another_binding_code_closes_the_challenge_as_a_relay() {
    let w = World::new();
    let d = w.approvals.decide(&w.transfer().to_string()).unwrap();
    let c = d.challenge.unwrap();
    let wrong = fixture::other_code(&c.code);
    let answer = |who: &str, code: &str| Answer {
        challenge: c.id.clone(),
        approver: who.into(),
        approve: true,
        code: Some(code.into()),
        evidence: Evidence::Signature {
            signature: w
                .key(who)
                .sign_b64(&writ_approvals::answer_message(&c.id, &c.digest, true)),
        },
    };
    // Without a valid proof a wrong code changes nothing...
    let forged = Answer {
        evidence: Evidence::Signature {
            signature: KeyPair::generate().unwrap().sign_b64(b"x"),
        },
        ..answer("dana", wrong)
    };
    let r = w.approvals.answer(&forged).unwrap();
    assert_eq!(r.refusal.unwrap().code, RefusalCode::BadSignature);
    assert_eq!(r.challenge.unwrap().state, "open");
    // ...with one, the approver is looking at another transaction: closed, audited.
    let r = w.approvals.answer(&answer("dana", wrong)).unwrap();
    assert_eq!(r.refusal.unwrap().code, RefusalCode::RelaySuspected);
    assert_eq!(r.challenge.unwrap().state, "relay_suspected");
    let r = w.approvals.answer(&answer("erin", &c.code)).unwrap();
    assert_eq!(r.refusal.unwrap().code, RefusalCode::ChallengeClosed);
    assert!(w.audit_text().contains("\"code\":\"relay_suspected\""));
}

#[test]
fn closed_challenges_keep_their_open_slot_until_they_expire() {
    let w = World::new();
    let transfer = |amount: u32| {
        let mut r = w.transfer();
        r["request"]["params"]["amount"] = json!(amount);
        r
    };
    // Three challenges for one action (the default limit), each closed at once: one
    // denied, two closed as suspected relays (a requester could close them on purpose).
    let (first, digest) = w.open(&transfer(1));
    assert_eq!(
        w.sign("dana", &first, &digest, false)
            .challenge
            .unwrap()
            .state,
        "denied"
    );
    for amount in [2, 3] {
        let d = w.approvals.decide(&transfer(amount).to_string()).unwrap();
        let c = d.challenge.unwrap();
        let wrong = fixture::other_code(&c.code);
        let r = w
            .approvals
            .answer(&Answer {
                challenge: c.id.clone(),
                approver: "dana".into(),
                approve: true,
                code: Some(wrong.into()),
                evidence: Evidence::Signature {
                    signature: w
                        .key("dana")
                        .sign_b64(&writ_approvals::answer_message(&c.id, &c.digest, true)),
                },
            })
            .unwrap();
        assert_eq!(r.challenge.unwrap().state, "relay_suspected");
    }
    let d = w.approvals.decide(&transfer(4).to_string()).unwrap();
    assert_eq!(d.refusal.unwrap().code, RefusalCode::TooManyOpen);
    // Once they expire, the slots are free again.
    w.advance(5 * 60);
    let d = w.approvals.decide(&transfer(4).to_string()).unwrap();
    assert!(d.challenge.is_some(), "{:?}", d.refusal);
}

/// The same limits through any store: 10 failures lock for the lockout, 100 block until
/// reset, a success does not lift a block.
fn otp_counters_hold(store: &dyn StateStore) {
    let limits = OtpLimits::default();
    let now = 1_900_000_000;
    for i in 1..=9 {
        let r = store.otp_failed("otto", &limits, now).unwrap();
        assert_eq!(r.failures, i);
        assert!(r.refusal(now).is_none());
    }
    let r = store.otp_failed("otto", &limits, now).unwrap();
    assert_eq!(r.refusal(now).unwrap().code, RefusalCode::OtpLocked);
    assert!(r.refusal(now + limits.lockout_s).is_none());
    assert_eq!(store.otp_record("otto").unwrap(), r);
    for _ in 11..=100 {
        store.otp_failed("otto", &limits, now).unwrap();
    }
    store.otp_succeeded("otto").unwrap();
    let r = store.otp_record("otto").unwrap();
    assert_eq!(r.refusal(i64::MAX).unwrap().code, RefusalCode::OtpBlocked);
    // Another approver is not affected.
    assert_eq!(store.otp_record("dana").unwrap().failures, 0);
    assert!(store.otp_reset("otto").unwrap());
    assert!(store.otp_record("otto").unwrap().refusal(now).is_none());
    assert!(!store.otp_reset("otto").unwrap());
    event_counts_hold(store);
}

/// The per-window event count behind the refused-input bound: one count per window, and
/// a new window reports the one before it.
fn event_counts_hold(store: &dyn StateStore) {
    assert_eq!(store.count_event("input.refused", 7).unwrap(), (1, None));
    assert_eq!(store.count_event("input.refused", 7).unwrap(), (2, None));
    assert_eq!(store.count_event("other", 7).unwrap(), (1, None));
    assert_eq!(
        store.count_event("input.refused", 9).unwrap(),
        (1, Some((7, 2)))
    );
    assert_eq!(store.count_event("input.refused", 9).unwrap(), (2, None));
}

#[test]
fn one_time_code_failures_are_counted_in_redb() {
    let dir = tempfile::tempdir().unwrap();
    otp_counters_hold(&RedbStore::open(dir.path()).unwrap());
}

#[test]
fn one_time_code_failures_are_counted_in_redis() {
    let redis = writ_testkit::Redis::start();
    let store = RedisStore::open(&redis.url(), "writ:", Duration::from_secs(2)).unwrap();
    otp_counters_hold(&store);
}

#[test]
fn consumed_ids_do_not_grow_the_store_forever() {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path()).unwrap();
    let t0 = 1_900_000_000;
    for i in 0..100 {
        assert!(store.consume(&format!("g_{i}"), t0 + 60, t0).unwrap());
    }
    // One that lives long, and one consumed within the sweep interval: nothing removed yet.
    assert!(store.consume("g_long", t0 + 10 * 24 * 3600, t0).unwrap());
    assert!(store.consume("g_soon", t0 + 60, t0 + 600).unwrap());
    assert_eq!(store.consumed_len().unwrap(), 102);
    // Past their expiry and the sweep interval: the table shrinks to what is still live.
    let later = t0 + RedbStore::SWEEP_EVERY_S + 1000;
    assert!(store.consume("g_new", later + 60, later).unwrap());
    assert_eq!(store.consumed_len().unwrap(), 2);
    // A removed id had expired: its grant's own `exp` refuses it. A live one stays used.
    assert!(!store.consume("g_long", t0 + 10 * 24 * 3600, later).unwrap());
}

#[test]
fn a_padded_base32_totp_secret_is_accepted() {
    // 16 bytes in base32 need six `=` of padding, as authenticator apps and pyotp write it.
    let padded = "AEBAGBAFAYDQQCIKBMGA2DQPCA======";
    for text in [
        padded,
        "AEBAGBAFAYDQQCIKBMGA2DQPCA",
        "aeba gbaf aydq qcik bmga 2dqp ca",
    ] {
        let reg = Registry::parse(
            "t",
            &format!("[[approver]]\nid = \"otto\"\ntotp = \"{text}\"\n"),
        )
        .unwrap_or_else(|e| panic!("{text}: {e}"));
        let a = reg
            .get("otto")
            .unwrap()
            .totp
            .as_ref()
            .unwrap()
            .generate(59)
            .unwrap();
        assert_eq!(a.len(), 6);
    }
    // Padding in the middle is not base32.
    assert!(Registry::parse(
        "t",
        "[[approver]]\nid = \"otto\"\ntotp = \"AEBA=GBAFAYDQQCIKBMGA2DQPCA\"\n"
    )
    .is_err());
}

#[test]
fn a_registry_id_with_surrounding_spaces_is_refused_not_trimmed() {
    for id in [" dana", "dana ", "\tdana"] {
        let text = format!("[[approver]]\nid = \"{id}\"\ngroups = [\"finance\"]\n");
        let e = Registry::parse("approvers.toml", &text).unwrap_err();
        assert!(e.contains("spaces around it"), "{e}");
    }
}

fn one_record_log() -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::open(&path, false).unwrap();
    log.append(Entry::new("decision"), "2026-11-27T00:00:00Z")
        .unwrap();
    std::fs::read_to_string(&path).unwrap()
}

#[test]
fn an_audit_record_with_seq_zero_is_reported_not_a_panic() {
    let p = verify_text("{\"seq\":0}\n").unwrap_err();
    assert!(
        p.iter()
            .any(|x| x.seq == Some(0) && x.message.contains("seq 0")),
        "{p:?}"
    );
    assert!(!p.iter().any(|x| x.message.contains("reordered")), "{p:?}");
    // After a real record too.
    let text = one_record_log() + "{\"seq\":0}\n";
    let p = verify_text(&text).unwrap_err();
    assert!(
        p.iter().any(|x| x.line == 2 && x.message.contains("seq 0")),
        "{p:?}"
    );
}

#[test]
fn a_huge_seq_gap_is_described_in_constant_memory() {
    let started = Instant::now();
    let p = verify_text("{\"seq\":100000000000}\n").unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let removed = p.iter().find(|x| x.message.starts_with("removed")).unwrap();
    assert!(
        removed
            .message
            .contains("99999999999 records (seq 1 to 99999999999) are missing"),
        "{removed:?}"
    );
    // The largest seq there is: still a report, not an overflow.
    let p = verify_text(&format!("{{\"seq\":{}}}\n", u64::MAX)).unwrap_err();
    assert!(p.iter().any(|x| x.message.starts_with("removed")), "{p:?}");
}

#[test]
fn many_scattered_gaps_are_counted_and_named_in_a_bounded_message() {
    // Eleven holes before seq 1000: the message names eight ranges and counts the rest.
    let mut lines: Vec<String> = Vec::new();
    for s in (100..120u64).step_by(2) {
        lines.push(format!("{{\"seq\":{s}}}\n"));
    }
    lines.insert(0, "{\"seq\":1000}\n".into());
    let text: String = lines.concat();
    let p = verify_text(&text).unwrap_err();
    let first = p.iter().find(|x| x.message.starts_with("removed")).unwrap();
    assert_eq!(first.seq, Some(1000));
    assert!(
        first
            .message
            .contains("989 records (seq 1 to 99, 101, 103,"),
        "{first:?}"
    );
    assert!(first.message.contains("and 3 more ranges"), "{first:?}");
}

#[test]
fn appending_after_a_tail_at_the_largest_seq_is_refused_not_wrapped_to_zero() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    std::fs::write(
        &path,
        format!(
            "{{\"seq\":{},\"hash\":\"sha256:{}\"}}\n",
            u64::MAX,
            "0".repeat(64)
        ),
    )
    .unwrap();
    let log = AuditLog::open(&path, false).unwrap();
    let e = log
        .append(Entry::new("decision"), "2026-11-27T00:00:00Z")
        .unwrap_err()
        .to_string();
    assert!(e.contains("no record can follow"), "{e}");
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 1, "nothing was appended: {text}");
    assert!(!text.contains("\"seq\":0"));
}

#[test]
fn redis_over_tls_with_an_acl_user_works_and_plain_or_wrong_credentials_do_not() {
    let redis = writ_testkit::Redis::start_tls();
    // TLS, the CA from the URL, the ACL user's password: the store works end to end.
    let store = RedisStore::open(&redis.tls_url(), "writ:", Duration::from_secs(2))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(store
        .consume("g_tls", 1_900_000_060, 1_900_000_000)
        .unwrap());
    assert!(!store
        .consume("g_tls", 1_900_000_060, 1_900_000_000)
        .unwrap());
    otp_counters_hold(&store);
    // Clear text to the TLS port: no answer, an error.
    let plain = format!("redis://127.0.0.1:{}/0", redis.port());
    assert!(RedisStore::open(&plain, "writ:", Duration::from_secs(2)).is_err());
    // A wrong password: refused, and the error never shows the URL's secret.
    let wrong = redis.tls_url().replace(writ_testkit::TLS_PASSWORD, "guess");
    let e = RedisStore::open(&wrong, "writ:", Duration::from_secs(2))
        .unwrap_err()
        .to_string();
    assert!(
        !e.contains("guess") && !e.contains(writ_testkit::TLS_PASSWORD),
        "{e}"
    );
    // Without the CA the server's certificate is not trusted (not in the system roots).
    let no_ca = redis.tls_url().split('?').next().unwrap().to_string();
    assert!(RedisStore::open(&no_ca, "writ:", Duration::from_secs(2)).is_err());
    // A CA for a plain connection is a mistake, said as such.
    let e = RedisStore::lazy(
        &format!(
            "redis://127.0.0.1:1/0?ca_file={}",
            redis.ca_file().display()
        ),
        "writ:",
        Duration::from_secs(2),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("not `rediss://`"), "{e}");
}

/// A state directory someone else can write to (a `0777` volume) let a local user swap
/// `grant.key` for their own and sign grants nobody approved: it is refused, not trusted;
/// so is a key file others can read.
#[test]
fn a_state_directory_others_can_write_is_refused_not_trusted() {
    use std::os::unix::fs::PermissionsExt as _;
    let w = World::new();
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("shared-volume");
    std::fs::create_dir(&state).unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o777)).unwrap();
    let store = std::sync::Arc::new(
        writ_reload::PolicyStore::open(w.policy_dir(), writ_reload::StoreConfig::default())
            .unwrap(),
    );
    let refused =
        writ_approvals::Approvals::with_state_dir(store.clone(), &state, Config::default())
            .unwrap_err()
            .to_string();
    assert!(refused.contains("writable by other users"), "{refused}");
    assert!(RedbStore::open(&state).is_err());
    assert!(
        !state.join("grant.key").exists(),
        "nothing was written there"
    );

    // Owner-only, it is used; a grant key left readable by others is refused.
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o700)).unwrap();
    writ_approvals::Approvals::with_state_dir(store.clone(), &state, Config::default()).unwrap();
    std::fs::set_permissions(
        state.join("grant.key"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let refused = writ_approvals::Approvals::with_state_dir(store, &state, Config::default())
        .unwrap_err()
        .to_string();
    assert!(refused.contains("open to other users"), "{refused}");
}
