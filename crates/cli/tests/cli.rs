//! End-to-end tests of the `writ` binary: real processes, real files, exit codes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use common::*;

use std::process::Command;

#[test]
fn check_accepts_every_bundled_set() {
    for set in writ_testkit::sets::BUNDLED {
        let dir = repo().join("policies").join(set);
        let out = writ(&["check", dir.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{set}: {}", stderr(&out));
        let line = stdout(&out);
        assert!(line.starts_with("ok: "), "{line}");
        assert!(line.contains(" rule"), "{line}");
        assert!(line.contains(" signal"), "{line}");
        assert_eq!(line.lines().count(), 1);
    }
}

#[test]
fn check_reports_every_error_with_position_and_exits_1() {
    let dir = temp_dir("check-errors");
    std::fs::write(
        dir.join("bad.writ"),
        "rule \"a\" {\n  when device.manged\n  allow\n}\n\nrule \"b\" {\n  when principal.kind == \"robot\"\n  deny\n}\n",
    )
    .unwrap();
    let out = writ(&["check", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("bad.writ:2:8"), "{err}");
    assert!(err.contains("did you mean `device.managed`?"), "{err}");
    assert!(err.contains("bad.writ:7:26"), "{err}");
    assert!(err.contains("2 errors"), "{err}");
    assert!(stdout(&out).is_empty());
}

#[test]
fn check_refuses_an_approver_registry_the_flow_would_refuse() {
    let dir = temp_dir("check-registry");
    std::fs::write(
        dir.join("p.writ"),
        "rule \"r\" {\n  when action == \"x\"\n  allow\n}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("approvers.toml"),
        "[[approver]]\nid = \"a\"\n\n[[approver]]\nid = \"a\"\n",
    )
    .unwrap();
    let out = writ(&["check", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("approvers.toml:5:6: approver `a` is listed twice"),
        "{}",
        stderr(&out)
    );
    std::fs::write(dir.join("approvers.toml"), "[[approver]]\nid = \"a\"\n").unwrap();
    assert_eq!(
        writ(&["check", dir.to_str().unwrap()]).status.code(),
        Some(0)
    );
}

#[test]
fn check_missing_directory_is_an_error_not_a_panic() {
    let out = writ(&["check", "/nonexistent/writ/policies"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("cannot read"), "{}", stderr(&out));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(writ(&["check"]).status.code(), Some(2));
    assert_eq!(writ(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(writ(&["fmt"]).status.code(), Some(2));
}

#[test]
fn fmt_rewrites_in_place_and_check_mode_reports() {
    let dir = temp_dir("fmt");
    let file = dir.join("p.writ");
    std::fs::write(&file, "rule \"r\"{when action==\"a\" allow}  # note\n").unwrap();

    let out = writ(&["fmt", "--check", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("would reformat"), "{}", stdout(&out));
    // --check changes nothing.
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "rule \"r\"{when action==\"a\" allow}  # note\n"
    );

    let out = writ(&["fmt", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "rule \"r\" {\n  when action == \"a\"  # note\n  allow\n}\n"
    );
    let out = writ(&["fmt", "--check", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn fmt_leaves_a_broken_file_untouched() {
    let dir = temp_dir("fmt-broken");
    let file = dir.join("p.writ");
    std::fs::write(&file, "rule \"r\" { when && allow }\n").unwrap();
    let out = writ(&["fmt", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("p.writ:1:17"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "rule \"r\" { when && allow }\n"
    );
}

#[test]
fn bundled_policies_are_formatted() {
    let out = writ(&["fmt", "--check", repo().join("policies").to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "run `writ fmt policies`: {}",
        stdout(&out)
    );
}

const SMALL: &str = r#"
rule "reads" { when action == "db.read" and device.managed allow }
rule "writes" {
  when action == "db.write"
  approve { approvers 1 of group "owners" bind action, request.params ttl 5m }
  obligations record_session
}
"#;

#[test]
fn decide_prints_the_contract_json_and_exits_0_whatever_the_decision() {
    let dir = set_dir("decide", SMALL);
    let d = dir.to_str().unwrap();
    let out = writ_stdin(
        &["decide", d, "-"],
        r#"{"action": "db.write", "request": {"params": {"amount": 5}}}"#,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["decision"], "approve");
    assert_eq!(v["approval"]["approvers"][0]["group"], "owners");
    assert_eq!(v["approval"]["ttl_s"], 300);
    assert!(v["approval"]["digest"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    assert_eq!(v["obligations"][0]["name"], "record_session");
    for key in ["risk", "signals", "rules", "message", "ttl_s", "unknown"] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    // A deny is a decision, not a failure.
    let out = writ_stdin(&["decide", d, "-"], r#"{"action": "db.read"}"#);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["decision"], "deny");
    // Nothing fired (the allow needs a true condition), so no path is listed.
    assert_eq!(v["rules"], serde_json::json!([]));
    assert_eq!(v["unknown"], serde_json::json!([]));
}

#[test]
fn decide_refuses_invalid_requests_with_the_path_and_exit_1() {
    let dir = set_dir("decide-bad", SMALL);
    let out = writ_stdin(
        &["decide", dir.to_str().unwrap(), "-"],
        r#"{"device": {"managed": "yes"}}"#,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("device.managed"), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    let out = writ_stdin(&["decide", dir.to_str().unwrap(), "-"], "{");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not valid JSON"), "{}", stderr(&out));
    // Broken JSON is reported as such, where it breaks, even when a value before the
    // break would not bind either; the file is named.
    let file = dir.join("trailing-comma.json");
    std::fs::write(
        &file,
        "{\"action\": \"db.read\",\n  \"principal\": {\"id\": 5,}\n}",
    )
    .unwrap();
    let out = writ(&["decide", dir.to_str().unwrap(), file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("trailing-comma.json`: it is not valid JSON")
            && stderr(&out).contains("line 2 column 25"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn decide_batch_keeps_order_and_marks_bad_lines() {
    let dir = set_dir("decide-batch", SMALL);
    let file = dir.join("r.jsonl");
    std::fs::write(&file, "{\"action\":\"db.read\",\"device\":{\"managed\":true}}\n{\"action\": 3}\n{\"action\":\"db.write\"}\n").unwrap();
    let out = writ(&[
        "decide",
        dir.to_str().unwrap(),
        "--requests",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["decision"], "allow");
    assert_eq!(lines[1]["line"], 2);
    assert!(lines[1]["error"].as_str().unwrap().contains("action"));
    assert_eq!(lines[2]["decision"], "approve");
}

#[test]
fn explain_shows_each_sub_condition() {
    let dir = set_dir("explain", SMALL);
    let out = writ_stdin(
        &["explain", dir.to_str().unwrap(), "-"],
        r#"{"action": "db.read"}"#,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("decision: deny"), "{text}");
    assert!(
        text.contains("rule \"reads\" (allow): did not fire"),
        "{text}"
    );
    assert!(text.contains("true     action == \"db.read\""), "{text}");
    assert!(text.contains("unknown  device.managed"), "{text}");
    assert!(text.contains("why: no rule fired"), "{text}");
}

#[test]
fn bench_prints_a_json_summary() {
    let dir = set_dir("bench", SMALL);
    let file = dir.join("r.jsonl");
    std::fs::write(
        &file,
        "{\"action\":\"db.read\",\"device\":{\"managed\":true}}\n{\"action\":\"db.write\"}\n",
    )
    .unwrap();
    let out = writ(&[
        "bench",
        dir.to_str().unwrap(),
        "--requests",
        file.to_str().unwrap(),
        "--millis",
        "50",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(v["decisions"].as_u64().unwrap() > 0);
    for key in [
        "median_ns",
        "p99_ns",
        "bind_median_ns",
        "mean_ns",
        "decisions_per_s",
    ] {
        assert!(v[key].as_f64().unwrap() > 0.0, "{key}: {v}");
    }
    // `db.read` reaches "reads", `db.write` reaches "writes": one rule each.
    assert_eq!(v["rules_tried_mean"], 1.0, "{v}");
}

#[test]
fn explain_tree_prints_the_split_under_an_action() {
    let mut text = String::new();
    for (i, kind) in [
        "table", "bucket", "queue", "table", "topic", "bucket", "job", "secret",
    ]
    .iter()
    .enumerate()
    {
        text.push_str(&format!(
            "rule \"r{i}\" {{ when action == \"db.read\" and resource.kind == \"{kind}\" allow }}\n"
        ));
    }
    let dir = set_dir("tree", &text);
    let out = writ(&["explain", dir.to_str().unwrap(), "--tree", "db.read"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let tree = stdout(&out);
    assert!(tree.starts_with("action \"db.read\": 8 rules"), "{tree}");
    assert!(tree.contains("split on resource.kind (string)"), "{tree}");
    assert!(
        tree.contains("resource.kind == \"table\": \"r0\", \"r3\""),
        "{tree}"
    );
    assert!(
        tree.contains("any value (the rules that do not test it): none"),
        "{tree}"
    );
    // Neither a request nor `--tree`: a usage error.
    let out = writ(&["explain", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn bundled_policy_suites_pass() {
    let out = writ(&["test", repo().join("policies").to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).contains(" 0 failed"), "{}", stdout(&out));
}

#[test]
fn a_failing_case_shows_expected_actual_and_the_trace() {
    let dir = set_dir("suite", SMALL);
    std::fs::write(
        dir.join("s.test.toml"),
        r#"
[base]
action = "db.read"

[[case]]
name = "managed laptops read"
set = { "device.managed" = true }
expect = "allow"

[[case]]
name = "a wrong expectation"
expect = "allow"
"#,
    )
    .unwrap();
    let out = writ(&["test", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("FAIL"), "{text}");
    assert!(text.contains("a wrong expectation"), "{text}");
    assert!(
        text.contains("decision: expected allow, got deny"),
        "{text}"
    );
    assert!(
        text.contains("rule \"reads\" (allow): did not fire"),
        "{text}"
    );
    assert!(text.contains("1 cases passed, 1 failed"), "{text}");
}

#[test]
fn an_invalid_suite_is_reported() {
    let dir = set_dir("suite-bad", SMALL);
    std::fs::write(
        dir.join("s.test.toml"),
        "[[case]]\nname = \"x\"\nexpect = \"allow\"\nexpct = 1\n",
    )
    .unwrap();
    let out = writ(&["test", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("expct"), "{}", stderr(&out));
}

#[test]
fn watch_prints_a_broken_registry_edit_and_its_fix() {
    use std::io::BufRead as _;
    let dir = set_dir("watch-registry", SMALL);
    let mut child = Command::new(env!("CARGO_BIN_EXE_writ"))
        .args(["watch", dir.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let next = || -> serde_json::Value {
        let line = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("a watch event");
        serde_json::from_str(&line).unwrap()
    };
    // The next registry line (the policy reloads the edit causes report `unchanged`).
    let next_registry = || loop {
        let e = next();
        if e["event"] != "unchanged" {
            return e;
        }
    };
    assert_eq!(next()["event"], "loaded");
    let save = |text: &str| {
        std::fs::write(dir.join(".approvers.toml.tmp"), text).unwrap();
        std::fs::rename(dir.join(".approvers.toml.tmp"), dir.join("approvers.toml")).unwrap();
    };
    save("[[approver]]\nid = \"fiona\"\ngroups = [\"finance\"\n");
    let rejected = next_registry();
    assert_eq!(rejected["event"], "registry_rejected", "{rejected}");
    assert!(
        rejected["error"]
            .as_str()
            .unwrap()
            .contains("approvers.toml"),
        "{rejected}"
    );
    save("[[approver]]\nid = \"fiona\"\ngroups = [\"finance\"]\n");
    let loaded = next_registry();
    assert_eq!(loaded["event"], "registry_loaded", "{loaded}");
    assert_eq!(loaded["approvers"], 1);
    child.kill().unwrap();
    let _ = child.wait();
}

#[test]
fn watch_prints_one_json_line_per_event() {
    use std::io::BufRead as _;
    let dir = set_dir("watch", SMALL);
    let mut child = Command::new(env!("CARGO_BIN_EXE_writ"))
        .args(["watch", dir.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let next = || -> serde_json::Value {
        let line = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("a watch event");
        serde_json::from_str(&line).unwrap()
    };
    let first = next();
    assert_eq!(first["event"], "loaded");
    assert_eq!(first["rules"], 2);
    assert_eq!(first["files"], 1);
    let v1 = first["version"].as_str().unwrap().to_string();

    // Saved as an editor does (write aside, rename over): a truncate-then-write could be
    // seen half done, which the store rightly rejects as an empty file.
    let save = |text: &str| {
        std::fs::write(dir.join(".p.writ.tmp"), text).unwrap();
        std::fs::rename(dir.join(".p.writ.tmp"), dir.join("p.writ")).unwrap();
    };
    save("rule \"only\" { when action == \"x\" allow }\n");
    let second = next();
    assert_eq!(second["event"], "loaded", "{second}");
    assert_eq!(second["rules"], 1);
    assert!(second["ms"].is_u64());
    let v2 = second["version"].as_str().unwrap().to_string();
    assert_ne!(v1, v2);

    save("rule \"only\" { when action == allow }\n");
    let third = next();
    assert_eq!(third["event"], "rejected", "{third}");
    assert_eq!(third["kept"], v2.as_str());
    assert!(
        third["errors"][0].as_str().unwrap().contains("p.writ:1:"),
        "{third}"
    );
    child.kill().unwrap();
    let _ = child.wait();
}

#[test]
fn check_refuses_deep_nesting_with_a_diagnostic_not_a_stack_overflow() {
    let dir = temp_dir("check-deep");
    for (name, text) in [
        (
            "parens.writ",
            format!(
                "rule \"r\" {{\n  when {}action == \"x\"{}\n  allow\n}}\n",
                "(".repeat(1_000),
                ")".repeat(1_000)
            ),
        ),
        (
            "nots.writ",
            format!(
                "rule \"r\" {{\n  when {}action == \"x\"\n  allow\n}}\n",
                "not ".repeat(6_000)
            ),
        ),
    ] {
        let sub = dir.join(name.trim_end_matches(".writ"));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join(name), text).unwrap();
        let out = writ(&["check", sub.to_str().unwrap()]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        assert!(err.contains("writ::nesting"), "{err}");
        assert!(
            err.contains("expression nested deeper than 64 levels"),
            "{err}"
        );
        // Line 2, at the 65th level.
        let at = if name == "parens.writ" { 72 } else { 264 };
        assert!(err.contains(&format!("{name}:2:{at}")), "{err}");
        assert!(err.contains("help:"), "{err}");
    }
}

#[test]
fn decide_refuses_a_request_the_digest_cannot_hold_exactly() {
    let dir = temp_dir("decide-strict");
    std::fs::write(
        dir.join("p.writ"),
        "rule \"p\" { when action == \"p\" approve { approvers 1 of group \"o\" bind request.params } }\n",
    )
    .unwrap();
    for (request, path, what) in [
        (
            r#"{"action":"p","request":{"params":{"id":1234567890123456789}}}"#,
            "request.params.id",
            "send it as a string",
        ),
        (
            r#"{"action":"p","request":{"params":{"args":{"new_owner":"mallory","new_owner":"bob"}}}}"#,
            "request.params.args.new_owner",
            "appears twice",
        ),
        (
            &format!(
                r#"{{"action":"p","request":{{"params":{}1{}}}}}"#,
                "[".repeat(500),
                "]".repeat(500)
            ),
            "request.params",
            "64 levels",
        ),
    ] {
        let file = dir.join("req.json");
        std::fs::write(&file, request).unwrap();
        let out = writ(&["decide", dir.to_str().unwrap(), file.to_str().unwrap()]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains(&format!("`{path}")), "{err}");
        assert!(err.contains(what), "{err}");
        assert!(stdout(&out).is_empty());
    }
}

/// The flow commands load a set once, through the store, and still report an invalid set
/// with every diagnostic rendered as the plain commands do.
#[test]
fn a_flow_command_reports_an_invalid_set_as_decide_does() {
    let dir = set_dir("broken-flow", "rule \"x\" {\n  when action == \n}\n");
    let state = temp_dir("broken-flow-state");
    let request = r#"{"action": "db.read"}"#;
    let plain = writ_stdin(&["decide", dir.to_str().unwrap(), "-"], request);
    let flow = writ_stdin(
        &[
            "decide",
            dir.to_str().unwrap(),
            "-",
            "--state",
            state.to_str().unwrap(),
        ],
        request,
    );
    assert_eq!(plain.status.code(), Some(1), "{}", stderr(&plain));
    assert_eq!(flow.status.code(), Some(1), "{}", stderr(&flow));
    assert!(stderr(&flow).contains("p.writ:3:1"), "{}", stderr(&flow));
    assert_eq!(stderr(&flow), stderr(&plain));
}
