//! Several replicas over one real Redis (a `redis-server` started on a free loopback port
//! for these tests): a challenge opened on one replica is approved on another, a grant
//! redeemed on one is dead on all, racing approvals count each approver once, 2 × 1,000
//! concurrent redemptions of 100 grants give exactly 100 successes, and an unreachable
//! Redis refuses redemption with a clear reason.
//!
//! `redis-server` must be installed (`.ci/run` installs it on Debian); without it these
//! tests fail and say so — they never skip.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod fixture;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use fixture::{clock, World};
use serde_json::json;
use writ_approvals::{
    answer_message, Answer, Approvals, Config, Evidence, GrantKey, KeyPair, RedisStore, RefusalCode,
};
use writ_testkit::Redis;

use fixture::unlimited;

/// A replica: its own policy store over the shared policy directory, the shared grant key,
/// the shared Redis.
fn replica(w: &World, redis: &Redis, config: Config) -> Approvals {
    let store = Arc::new(RedisStore::open(&redis.url(), "writ:", Duration::from_secs(2)).unwrap());
    let key = GrantKey::load_or_create(&w.state_dir().join("grant.key")).unwrap();
    Approvals::new(w.policies.clone(), store, key, None, config)
        .unwrap()
        .with_clock(clock(&w.now))
}

fn sign(w: &World, who: &str, id: &str, digest: &str) -> Answer {
    Answer {
        challenge: id.into(),
        approver: who.into(),
        approve: true,
        code: None,
        evidence: Evidence::Signature {
            signature: w.key(who).sign_b64(&answer_message(id, digest, true)),
        },
    }
}

#[test]
fn a_challenge_opened_on_one_replica_is_approved_on_another_and_a_grant_dies_everywhere() {
    let redis = Redis::start();
    let w = World::new();
    let (a, b) = (
        replica(&w, &redis, Config::default()),
        replica(&w, &redis, Config::default()),
    );
    let req = w.transfer();
    let c = a.decide(&req.to_string()).unwrap().challenge.unwrap();
    // The same request on the other replica joins the same challenge.
    let again = b.decide(&req.to_string()).unwrap().challenge.unwrap();
    assert_eq!((again.id.as_str(), again.merged), (c.id.as_str(), true));
    let answered = b.answer(&sign(&w, "dana", &c.id, &c.digest)).unwrap();
    assert_eq!(answered.status, "accepted", "{:?}", answered.refusal);
    let grant = w.collect_from(&a, &c.id);
    let proof = w.proof(&grant);
    let first = b.redeem(&req.to_string(), &grant, Some(&proof)).unwrap();
    assert!(first.refusal.is_none(), "{:?}", first.refusal);
    let second = a.redeem(&req.to_string(), &grant, Some(&proof)).unwrap();
    assert_eq!(second.refusal.unwrap().code, RefusalCode::Replayed);
}

/// A Redis flushed (or replaced) between issue and redemption has forgotten which grants
/// were consumed; its grants are refused rather than redeemable again.
#[test]
fn grants_of_a_flushed_redis_are_refused_not_redeemable_again() {
    let redis = Redis::start();
    let w = World::new();
    let a = replica(&w, &redis, Config::default());
    let req = w.transfer();
    let c = a.decide(&req.to_string()).unwrap().challenge.unwrap();
    let answered = a.answer(&sign(&w, "dana", &c.id, &c.digest)).unwrap();
    assert_eq!(answered.status, "accepted", "{:?}", answered.refusal);
    let grant = w.collect_from(&a, &c.id);
    let proof = w.proof(&grant);
    let first = a.redeem(&req.to_string(), &grant, Some(&proof)).unwrap();
    assert!(first.refusal.is_none(), "{:?}", first.refusal);
    let mut con = redis::Client::open(redis.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let _: () = redis::cmd("FLUSHALL").query(&mut con).unwrap();
    // The same process, and a replica started after the flush, both refuse it.
    for replica in [&a, &replica(&w, &redis, Config::default())] {
        let again = replica
            .redeem(&req.to_string(), &grant, Some(&proof))
            .unwrap();
        assert_eq!(again.refusal.unwrap().code, RefusalCode::WrongStore);
    }
}

#[test]
fn racing_approvals_on_two_replicas_count_each_approver_once() {
    let redis = Redis::start();
    let w = World::new();
    let replicas = [
        replica(&w, &redis, unlimited()),
        replica(&w, &redis, unlimited()),
    ];
    let drop_req = |n: u32| {
        json!({"principal": {"id": format!("ann-{n}"), "kind": "human"}, "action": "db.drop",
               "resource": {"id": "orders"}, "session": {"id": "s-1"}})
    };
    for round in 0..20 {
        let c = replicas[0]
            .decide(&drop_req(round).to_string())
            .unwrap()
            .challenge
            .unwrap();
        // frank (dba, security) and sam (security) answer at once on two replicas: both
        // count, the matching puts frank on dba, the challenge is granted exactly once.
        let barrier = Barrier::new(2);
        let results: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = [("frank", &replicas[0]), ("sam", &replicas[1])]
                .into_iter()
                .map(|(who, r)| {
                    let answer = sign(&w, who, &c.id, &c.digest);
                    let barrier = &barrier;
                    s.spawn(move || {
                        barrier.wait();
                        r.answer(&answer).unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(
            results.iter().all(|r| r.status == "accepted"),
            "{results:?}"
        );
        let now = replicas[1].challenge(&c.id).unwrap().unwrap();
        assert_eq!(now.state, "granted");
        assert_eq!(now.approvals.len(), 2);

        // The same approver racing on both replicas counts once.
        let c = replicas[0]
            .decide(&drop_req(1000 + round).to_string())
            .unwrap()
            .challenge
            .unwrap();
        let barrier = Barrier::new(2);
        let results: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = replicas
                .iter()
                .map(|r| {
                    let answer = sign(&w, "frank", &c.id, &c.digest);
                    let barrier = &barrier;
                    s.spawn(move || {
                        barrier.wait();
                        r.answer(&answer).unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let accepted = results.iter().filter(|r| r.status == "accepted").count();
        assert_eq!(accepted, 1, "{results:?}");
        let refused = results.iter().find(|r| r.status == "refused").unwrap();
        assert_eq!(
            refused.refusal.as_ref().unwrap().code,
            RefusalCode::DuplicateApprover
        );
        assert_eq!(replicas[0].challenge(&c.id).unwrap().unwrap().state, "open");
    }
}

#[test]
fn two_thousand_concurrent_redemptions_of_a_hundred_grants_succeed_exactly_a_hundred_times() {
    let redis = Redis::start();
    let w = World::new();
    let replicas = [
        replica(&w, &redis, unlimited()),
        replica(&w, &redis, unlimited()),
    ];
    let mut grants = Vec::new();
    for n in 0..100 {
        let mut req = w.transfer();
        req["request"]["params"]["amount"] = json!(n);
        let c = replicas[n % 2]
            .decide(&req.to_string())
            .unwrap()
            .challenge
            .unwrap();
        let a = replicas[(n + 1) % 2]
            .answer(&sign(&w, "dana", &c.id, &c.digest))
            .unwrap();
        assert_eq!(a.status, "accepted", "{:?}", a.refusal);
        let grant = w.collect_from(&replicas[n % 2], &c.id);
        let proof = w.proof(&grant);
        grants.push((req.to_string(), grant, proof));
    }
    let successes = AtomicUsize::new(0);
    let refusals = AtomicUsize::new(0);
    let threads_per_replica = 4;
    let per_thread = 1000 / threads_per_replica;
    let started = Instant::now();
    std::thread::scope(|s| {
        for (r, replica) in replicas.iter().enumerate() {
            for t in 0..threads_per_replica {
                let (grants, successes, refusals) = (&grants, &successes, &refusals);
                s.spawn(move || {
                    for i in 0..per_thread {
                        let (req, grant, proof) = &grants[(i * 7 + t * 13 + r * 29) % 100];
                        let out = replica.redeem(req, grant, Some(proof)).unwrap();
                        match out.refusal {
                            None => successes.fetch_add(1, Ordering::SeqCst),
                            Some(x) => {
                                assert_eq!(x.code, RefusalCode::Replayed);
                                refusals.fetch_add(1, Ordering::SeqCst)
                            }
                        };
                    }
                });
            }
        }
    });
    let elapsed = started.elapsed();
    assert_eq!(successes.load(Ordering::SeqCst), 100);
    assert_eq!(refusals.load(Ordering::SeqCst), 1900);
    eprintln!(
        "2 x 1,000 redemptions of 100 grants: {:.0} redemptions/s ({elapsed:?})",
        2000.0 / elapsed.as_secs_f64()
    );
}

#[test]
fn an_unreachable_redis_refuses_redemption_with_a_clear_reason() {
    let redis = Redis::start();
    let w = World::new();
    let a = replica(&w, &redis, Config::default());
    let req = w.transfer();
    let c = a.decide(&req.to_string()).unwrap().challenge.unwrap();
    let answered = a.answer(&sign(&w, "dana", &c.id, &c.digest)).unwrap();
    assert_eq!(answered.status, "accepted", "{:?}", answered.refusal);
    let grant = w.collect_from(&a, &c.id);
    drop(redis);
    let out = a
        .redeem(&req.to_string(), &grant, Some(&w.proof(&grant)))
        .unwrap();
    let refusal = out.refusal.unwrap();
    assert_eq!(refusal.code, RefusalCode::StoreUnavailable);
    assert!(
        refusal.message.contains("replay store cannot be reached"),
        "{}",
        refusal.message
    );
    assert_eq!(out.decision.decision.as_str(), "deny");
    // Opening a challenge fails closed too: a deny that says why.
    let mut other = req.clone();
    other["request"]["params"]["amount"] = json!(3);
    let d = a.decide(&other.to_string()).unwrap();
    assert_eq!(d.decision.decision.as_str(), "deny");
    assert_eq!(d.refusal.unwrap().code, RefusalCode::StoreUnavailable);
    // A store that cannot be reached at start is an error at start.
    assert!(RedisStore::open("redis://127.0.0.1:1/", "writ:", Duration::from_millis(200)).is_err());
    let _ = KeyPair::generate();
}

/// The seconds Redis keeps challenge `id` for.
fn ttl_of(redis: &Redis, id: &str) -> i64 {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut con = client.get_connection().unwrap();
    redis::cmd("TTL")
        .arg(format!("writ:ch:{id}"))
        .query(&mut con)
        .unwrap()
}

#[test]
fn an_injected_clock_far_from_redis_s_never_makes_a_challenge_vanish_on_another_replica() {
    // 2001 and 2190: a replica's (test) clock years behind or ahead of Redis's. Every
    // expiry is a duration from the writer's clock, so the challenge lives its own
    // lifetime plus the retention on Redis's clock, whatever the engine's says.
    for at in [978_307_200_i64, 7_000_000_000] {
        let redis = Redis::start();
        let w = World::new();
        w.now.store(at, Ordering::SeqCst);
        let a = replica(&w, &redis, unlimited());
        let b = replica(&w, &redis, unlimited());
        let request = w.transfer();
        let decided = a.decide(&request.to_string()).unwrap();
        let c = decided.challenge.expect("a challenge");
        let ttl = ttl_of(&redis, &c.id);
        let most = 5 * 60 + 24 * 3600;
        assert!(
            ttl > most - 60 && ttl <= most,
            "challenge kept {ttl} s at {at}"
        );
        // The other replica sees it, answers it; the first hands the grant over; the
        // other redeems it, once.
        let seen = b
            .challenge(&c.id)
            .unwrap()
            .expect("seen on the other replica");
        assert_eq!(seen.state, writ_approvals::ChallengeState::Open);
        let answered = b.answer(&sign(&w, "dana", &c.id, &c.digest)).unwrap();
        assert_eq!(
            answered.status,
            writ_approvals::AnswerStatus::Accepted,
            "{:?}",
            answered.refusal
        );
        assert!(
            ttl_of(&redis, &c.id) > most - 60,
            "the answer kept the expiry"
        );
        let grant = w.collect_from(&a, &c.id);
        let proof = w.proof(&grant);
        let first = b
            .redeem(&request.to_string(), &grant, Some(&proof))
            .unwrap();
        assert_eq!(
            first.decision.decision.as_str(),
            "allow",
            "{:?}",
            first.refusal
        );
        let again = a
            .redeem(&request.to_string(), &grant, Some(&w.proof(&grant)))
            .unwrap();
        assert_eq!(again.refusal.map(|r| r.code), Some(RefusalCode::Replayed));
    }
}
