//! Attacks on what the approval flow keeps between calls — the audit log, the state store,
//! the files of a state directory, the registry — each named after what it attacks.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod fixture;

use std::time::{Duration, Instant};

use writ_approvals::audit::{verify_text, AuditLog, Entry};

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
