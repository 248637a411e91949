//! Hot reload through real files and real threads: continuous decisions while the set is
//! rewritten hundreds of times, broken saves, editor atomic saves, the Kubernetes
//! ConfigMap `..data` symlink swap, a directory that is itself a swapped symlink, and
//! deleting every file. Events are awaited on a channel, never by sleeping.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::time::{Duration, Instant};

use writ_reload::{watch, PolicyStore, ReloadEvent, StoreConfig, WatchConfig, WatchHandle};

const ALLOW: &str = "rule \"x\" {\n  when action == \"x\"\n  allow\n}\n";
const DENY: &str = "rule \"x\" {\n  when action == \"x\"\n  deny \"version b\"\n}\n";
const BROKEN: &str = "rule \"x\" {\n  when action == \n}\n";

/// Writes like an editor's atomic save: a hidden temporary file renamed over the target.
fn save(path: &Path, text: &str) {
    let tmp = path.with_file_name(format!(
        ".{}.tmp",
        path.file_name().unwrap().to_string_lossy()
    ));
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn version_of_dir(dir: &Path) -> String {
    writ_engine::version_of_sources(&writ_check::load_path(dir).unwrap())
}

fn start(dir: &Path) -> (Arc<PolicyStore>, Receiver<ReloadEvent>, WatchHandle) {
    let store = Arc::new(PolicyStore::open(dir, StoreConfig::default()).unwrap());
    let (tx, rx) = mpsc::channel();
    let handle = watch(store.clone(), WatchConfig::default(), move |e| {
        let _ = tx.send(e);
    })
    .unwrap();
    (store, rx, handle)
}

/// Waits for an event matching `want`, skipping others; fails after 20 s.
fn wait_for(
    rx: &Receiver<ReloadEvent>,
    what: &str,
    want: impl Fn(&ReloadEvent) -> bool,
) -> ReloadEvent {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(e) if want(&e) => return e,
            Ok(_) => continue,
            Err(_) => panic!("no {what} event within 20 s"),
        }
    }
}

fn loaded(version: &str) -> impl Fn(&ReloadEvent) -> bool + '_ {
    move |e| matches!(e, ReloadEvent::Loaded { version: v, .. } if v == version)
}

fn decision(store: &PolicyStore) -> (String, String) {
    let e = store.engine();
    let d = e.decide(&e.bind_str(r#"{"action": "x"}"#).unwrap());
    (
        d.policy_version.to_string(),
        d.decision.as_str().to_string(),
    )
}

#[test]
fn reload_is_a_plain_function() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.writ");
    std::fs::write(&file, ALLOW).unwrap();
    let store = PolicyStore::open(dir.path(), StoreConfig::default()).unwrap();
    let v1 = store.version();
    assert!(matches!(store.reload(), ReloadEvent::Unchanged { version, .. } if version == v1));
    std::fs::write(&file, DENY).unwrap();
    let v2 = match store.reload() {
        ReloadEvent::Loaded {
            version,
            rules: 1,
            files: 1,
            ..
        } => version,
        other => panic!("{other:?}"),
    };
    assert_ne!(v1, v2);
    assert_eq!(decision(&store).1, "deny");
    std::fs::write(&file, BROKEN).unwrap();
    match store.reload() {
        ReloadEvent::Rejected { kept, errors, .. } => {
            assert_eq!(kept, v2);
            assert!(errors[0].contains("p.writ:3:1"), "{errors:?}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(decision(&store), (v2.clone(), "deny".into()));
    let stats = store.stats();
    assert_eq!((stats.loaded, stats.rejected, stats.unchanged), (2, 1, 1));
    assert!(stats.last_error.is_some());
    // Deleting every file is rejected: the running set stays, not a deny-all surprise.
    std::fs::remove_file(&file).unwrap();
    assert!(matches!(store.reload(), ReloadEvent::Rejected { kept, .. } if kept == v2));
    assert_eq!(decision(&store).0, v2);
}

/// The guard of `current()` decides on the version that was running when it was taken,
/// through a reload; a guard taken afterwards sees the new one.
#[test]
fn a_guard_keeps_its_version_through_a_reload() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.writ");
    std::fs::write(&file, ALLOW).unwrap();
    let store = PolicyStore::open(dir.path(), StoreConfig::default()).unwrap();
    let v1 = store.version();
    let held = store.current();
    let req = held.bind(serde_json::json!({"action": "x"})).unwrap();
    std::fs::write(&file, DENY).unwrap();
    assert!(matches!(store.reload(), ReloadEvent::Loaded { .. }));
    assert_eq!(held.version(), v1);
    assert_eq!(held.decide(&req).decision, writ_engine::Verdict::Allow);
    assert_eq!(held.to_arc().version(), v1);
    let now = store.current();
    assert_ne!(now.version(), v1);
    assert_eq!(now.decide(&req).decision, writ_engine::Verdict::Deny);
}

#[test]
fn an_empty_set_is_accepted_only_when_configured() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.writ");
    std::fs::write(&file, ALLOW).unwrap();
    let store = PolicyStore::open(dir.path(), StoreConfig { allow_empty: true }).unwrap();
    std::fs::remove_file(&file).unwrap();
    assert!(matches!(
        store.reload(),
        ReloadEvent::Loaded {
            rules: 0,
            files: 0,
            ..
        }
    ));
    assert_eq!(decision(&store).1, "deny");
}

#[test]
fn open_refuses_an_invalid_set() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.writ"), BROKEN).unwrap();
    let err = PolicyStore::open(dir.path(), StoreConfig::default()).unwrap_err();
    assert!(err.to_string().contains("p.writ:3:1"), "{err}");
}

#[test]
fn decisions_never_fail_while_the_set_is_rewritten_hundreds_of_times() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.writ");
    std::fs::write(&file, DENY).unwrap();
    let v_deny = version_of_dir(dir.path());
    std::fs::write(&file, ALLOW).unwrap();
    let v_allow = version_of_dir(dir.path());
    let (store, rx, _handle) = start(dir.path());
    assert_eq!(store.version(), v_allow);

    let stop = Arc::new(AtomicBool::new(false));
    let decisions = Arc::new(AtomicU64::new(0));
    let inconsistent = Arc::new(AtomicU64::new(0));
    let deciders: Vec<_> = (0..2)
        .map(|_| {
            let (store, stop, decisions, inconsistent) = (
                store.clone(),
                stop.clone(),
                decisions.clone(),
                inconsistent.clone(),
            );
            let (va, vd) = (v_allow.clone(), v_deny.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let (version, verdict) = decision(&store);
                    let consistent = (version == va && verdict == "allow")
                        || (version == vd && verdict == "deny");
                    if !consistent {
                        inconsistent.fetch_add(1, Ordering::Relaxed);
                    }
                    decisions.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();

    let rounds = 200;
    for i in 0..rounds {
        let (text, version) = if i % 2 == 0 {
            (DENY, &v_deny)
        } else {
            (ALLOW, &v_allow)
        };
        if i % 3 == 0 {
            std::fs::write(&file, text).unwrap(); // in place
        } else {
            save(&file, text); // atomic rename
        }
        wait_for(&rx, "loaded", loaded(version));
        if i % 50 == 25 {
            // A broken save in the middle: rejected, the running version answers on.
            std::fs::write(&file, BROKEN).unwrap();
            wait_for(
                &rx,
                "rejected",
                |e| matches!(e, ReloadEvent::Rejected { kept, .. } if kept == version),
            );
            assert_eq!(&store.version(), version);
            std::fs::write(&file, text).unwrap();
            // The same content as before the broken save: nothing to swap.
            wait_for(&rx, "unchanged", |e| {
                matches!(e, ReloadEvent::Unchanged { .. })
            });
        }
    }
    stop.store(true, Ordering::Relaxed);
    for d in deciders {
        d.join().unwrap();
    }
    let last = if rounds % 2 == 0 { &v_allow } else { &v_deny };
    assert_eq!(&store.version(), last);
    assert_eq!(inconsistent.load(Ordering::Relaxed), 0);
    assert!(decisions.load(Ordering::Relaxed) > 0);
    let stats = store.stats();
    assert!(stats.loaded > rounds as u64, "{stats:?}");
    assert!(!stats.change_to_live_ms.is_empty());
}

#[cfg(unix)]
#[test]
fn configmap_data_symlink_swaps_are_followed() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("..2026_11_27_a")).unwrap();
    std::fs::write(d.join("..2026_11_27_a/p.writ"), ALLOW).unwrap();
    symlink("..2026_11_27_a", d.join("..data")).unwrap();
    symlink("..data/p.writ", d.join("p.writ")).unwrap();
    let (store, rx, _handle) = start(d);
    assert_eq!(decision(&store).1, "allow");

    // The kubelet's swap: a new timestamped directory, a new `..data` renamed over the
    // old one, the old directory removed.
    std::fs::create_dir(d.join("..2026_11_27_b")).unwrap();
    std::fs::write(d.join("..2026_11_27_b/p.writ"), DENY).unwrap();
    symlink("..2026_11_27_b", d.join("..data_tmp")).unwrap();
    std::fs::rename(d.join("..data_tmp"), d.join("..data")).unwrap();
    std::fs::remove_dir_all(d.join("..2026_11_27_a")).unwrap();
    wait_for(&rx, "loaded", |e| matches!(e, ReloadEvent::Loaded { .. }));
    assert_eq!(decision(&store).1, "deny");
}

#[cfg(unix)]
#[test]
fn a_directory_that_is_a_swapped_symlink_is_followed() {
    use std::os::unix::fs::symlink;
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    std::fs::create_dir(r.join("v1")).unwrap();
    std::fs::write(r.join("v1/p.writ"), ALLOW).unwrap();
    symlink("v1", r.join("live")).unwrap();
    let (store, rx, _handle) = start(&r.join("live"));
    assert_eq!(decision(&store).1, "allow");

    std::fs::create_dir(r.join("v2")).unwrap();
    std::fs::write(r.join("v2/p.writ"), DENY).unwrap();
    symlink("v2", r.join("live.tmp")).unwrap();
    std::fs::rename(r.join("live.tmp"), r.join("live")).unwrap();
    wait_for(&rx, "loaded after the swap", |e| {
        matches!(e, ReloadEvent::Loaded { .. })
    });
    assert_eq!(decision(&store).1, "deny");

    // Edits inside the new target are seen too.
    save(&r.join("v2/p.writ"), ALLOW);
    wait_for(&rx, "loaded after an edit in the new target", |e| {
        matches!(e, ReloadEvent::Loaded { .. })
    });
    assert_eq!(decision(&store).1, "allow");
}

#[test]
fn files_created_and_deleted_are_seen() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.writ"), ALLOW).unwrap();
    let (store, rx, _handle) = start(dir.path());
    std::fs::create_dir(dir.path().join("more")).unwrap();
    std::fs::write(
        dir.path().join("more/b.writ"),
        "rule \"y\" {\n  when action == \"x\"\n  deny\n}\n",
    )
    .unwrap();
    wait_for(&rx, "loaded", |e| {
        matches!(e, ReloadEvent::Loaded { files: 2, .. })
    });
    assert_eq!(decision(&store).1, "deny");
    std::fs::remove_file(dir.path().join("more/b.writ")).unwrap();
    wait_for(&rx, "loaded", |e| {
        matches!(e, ReloadEvent::Loaded { files: 1, .. })
    });
    assert_eq!(decision(&store).1, "allow");
    // Deleting the last file: rejected, the set stays.
    std::fs::remove_file(dir.path().join("a.writ")).unwrap();
    wait_for(&rx, "rejected", |e| {
        matches!(e, ReloadEvent::Rejected { .. })
    });
    assert_eq!(decision(&store).1, "allow");
}

#[test]
fn a_directory_replaced_at_the_same_path_is_followed() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    std::fs::create_dir(r.join("live")).unwrap();
    std::fs::write(r.join("live/p.writ"), ALLOW).unwrap();
    let (store, rx, _handle) = start(&r.join("live"));

    // A deploy that replaces the whole directory: same path, new inode.
    std::fs::create_dir(r.join("next")).unwrap();
    std::fs::write(r.join("next/p.writ"), DENY).unwrap();
    std::fs::remove_dir_all(r.join("live")).unwrap();
    std::fs::rename(r.join("next"), r.join("live")).unwrap();
    wait_for(&rx, "loaded after the replacement", |e| {
        matches!(e, ReloadEvent::Loaded { .. })
    });
    assert_eq!(decision(&store).1, "deny");

    // Edits in the new directory are still seen.
    save(&r.join("live/p.writ"), ALLOW);
    wait_for(&rx, "loaded after an edit in the new directory", |e| {
        matches!(e, ReloadEvent::Loaded { .. })
    });
    assert_eq!(decision(&store).1, "allow");
}

#[test]
fn an_empty_file_is_a_write_in_progress_and_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("allow.writ"), ALLOW).unwrap();
    std::fs::write(
        dir.path().join("deny.writ"),
        "rule \"y\" {\n  when action == \"x\"\n  deny\n}\n",
    )
    .unwrap();
    let store = PolicyStore::open(dir.path(), StoreConfig::default()).unwrap();
    assert_eq!(decision(&store).1, "deny");
    // Truncated mid-copy: the deny rules would vanish for a moment.
    std::fs::write(dir.path().join("deny.writ"), "").unwrap();
    match store.reload() {
        ReloadEvent::Rejected { errors, .. } => assert!(
            errors[0].contains("deny.writ: the file is empty"),
            "{errors:?}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(decision(&store).1, "deny");
    // A file that is empty on purpose says so with a comment.
    std::fs::write(dir.path().join("deny.writ"), "# nothing here yet\n").unwrap();
    assert!(matches!(store.reload(), ReloadEvent::Loaded { .. }));
    assert_eq!(decision(&store).1, "allow");
}

/// A file nested 300 levels deep (638 bytes) used to overflow the watcher thread's
/// 2 MiB stack and kill the whole embedding process. Now it is a rejected reload: the
/// previous set keeps serving and the diagnostic is reported.
#[test]
fn a_deeply_nested_save_is_rejected_and_the_previous_set_keeps_serving() {
    let deep = format!(
        "rule \"x\" {{\n  when {}action == \"x\"{}\n  allow\n}}\n",
        "(".repeat(300),
        ")".repeat(300)
    );
    // Through the plain function.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.writ");
    std::fs::write(&file, DENY).unwrap();
    let store = PolicyStore::open(dir.path(), StoreConfig::default()).unwrap();
    let v1 = store.version();
    std::fs::write(&file, &deep).unwrap();
    match store.reload() {
        ReloadEvent::Rejected { kept, errors, .. } => {
            assert_eq!(kept, v1);
            assert!(errors[0].contains("p.writ:2:72"), "{errors:?}");
            assert!(
                errors[0].contains("nested deeper than 64 levels"),
                "{errors:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(decision(&store), (v1.clone(), "deny".into()));

    // Through the watcher thread (2 MiB stack), with the not-chain variant as well.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.writ");
    std::fs::write(&file, DENY).unwrap();
    let (store, rx, _handle) = start(dir.path());
    let v1 = store.version();
    let nots = format!(
        "rule \"x\" {{\n  when {}action == \"x\"\n  allow\n}}\n",
        "not ".repeat(6_000)
    );
    for text in [&deep, &nots] {
        save(&file, text);
        let e = wait_for(&rx, "rejected", |e| {
            matches!(e, ReloadEvent::Rejected { .. })
        });
        let ReloadEvent::Rejected { kept, errors, .. } = e else {
            unreachable!()
        };
        assert_eq!(kept, v1);
        assert!(
            errors[0].contains("nested deeper than 64 levels"),
            "{errors:?}"
        );
        assert_eq!(decision(&store), (v1.clone(), "deny".into()));
    }
    // And a good save after them still loads.
    save(&file, ALLOW);
    wait_for(&rx, "loaded", |e| matches!(e, ReloadEvent::Loaded { .. }));
    assert_eq!(decision(&store).1, "allow");
}
