//! End-to-end tests of `writ lint`: the real binary, real files, exit codes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use common::*;

use std::path::Path;
use std::process::Command;

#[test]
fn every_bundled_policy_set_is_lint_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
    for set in writ_testkit::sets::BUNDLED {
        let out = writ(&["lint", "--deny-warnings", root.join(set).to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{set}: {}", stderr(&out));
        assert!(stdout(&out).starts_with("ok: "), "{}", stdout(&out));
        assert!(stdout(&out).ends_with("no findings\n"), "{}", stdout(&out));
        assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    }
}

const DEAD: &str = r#"rule "queue reads" {
  when resource.kind == "db" and resource.kind == "queue"
  allow
}
"#;

#[test]
fn an_error_finding_shows_file_line_column_and_the_rule_and_exits_1() {
    let dir = set_dir_with("dead", &[("p.writ", DEAD)]);
    let out = writ(&["lint", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("p.writ:1:1]"), "{err}");
    assert!(
        err.contains("the condition of allow rule \"queue reads\" can never be true"),
        "{err}"
    );
    assert!(
        err.contains("1 │ rule \"queue reads\" {\n   · ─────────┬────────\n"),
        "{err}"
    );
    assert!(err.contains("this rule never fires"), "{err}");
    assert!(
        stdout(&out).ends_with(": 1 error, 0 warnings\n"),
        "{}",
        stdout(&out)
    );
}

const LONG_BOX: &str = r#"rule "support sessions" {
  when principal.groups has "support" and principal.kind == "human"
  allow for 2h
}
"#;

#[test]
fn an_over_long_time_box_is_a_finding_and_the_cap_is_a_flag() {
    let dir = set_dir_with("long-box", &[("p.writ", LONG_BOX)]);
    let d = dir.to_str().unwrap();
    let out = writ(&["lint", d]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("p.writ:3:3]"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("allows for 2h, longer than the 1h cap"),
        "{}",
        stderr(&out)
    );
    assert!(
        stdout(&out).ends_with(": 1 error, 0 warnings\n"),
        "{}",
        stdout(&out)
    );
    let out = writ(&["lint", "--max-allow-for", "2h", d]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).ends_with("no findings\n"));
    // A compound cap is written back as the flag takes it.
    let out = writ(&["lint", "--max-allow-for", "1h30m", d]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("allows for 2h, longer than the 1h30m cap"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("shorten the box to at most 1h30m"),
        "{}",
        stderr(&out)
    );
    let out = writ(&["lint", "--max-allow-for", "soon", d]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("`soon` is not a duration"),
        "{}",
        stderr(&out)
    );
}

const UNUSED: &str = r#"let old_network = cidr ["192.168.0.0/16"]

rule "support sessions" {
  when principal.groups has "support" and principal.kind == "human"
  allow for 30m
}
"#;

#[test]
fn warnings_pass_unless_denied() {
    let dir = set_dir_with("warn", &[("p.writ", UNUSED)]);
    let d = dir.to_str().unwrap();
    let out = writ(&["lint", d]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("`old_network` is declared but no rule or signal refers to it"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("p.writ:1:1]"), "{}", stderr(&out));
    assert!(
        stdout(&out).ends_with(": 0 errors, 1 warning\n"),
        "{}",
        stdout(&out)
    );
    let out = writ(&["lint", "--deny-warnings", d]);
    assert_eq!(out.status.code(), Some(1));
}

const APPROVE: &str = r#"rule "prod writes" {
  when action matches "db.*.write"
  approve {
    approvers 1 of group "db-owners"
  }
}
"#;

#[test]
fn the_approver_registry_is_read_when_present() {
    // No registry: the lint does not run.
    let dir = set_dir_with("no-registry", &[("p.writ", APPROVE)]);
    let out = writ(&["lint", "--deny-warnings", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // Two members: one more than the clause needs, so a member's own request can be
    // approved by the other (separation of duties).
    let members = "[[approver]]\nid = \"alice@example.com\"\ngroups = [\"db-owners\"]\ned25519 = [\"h3FLsPUNvgh-3OVyHZ0dNor_vxQFrYU7tfbPOe7IoaQ\"]\n\n[[approver]]\nid = \"bob@example.com\"\ngroups = [\"db-owners\"]\ntotp = \"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\"\n";
    let dir = set_dir_with(
        "registry",
        &[("p.writ", APPROVE), ("approvers.toml", members)],
    );
    let out = writ(&["lint", "--deny-warnings", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let nobody = "[[approver]]\nid = \"alice@example.com\"\ngroups = [\"dba\"]\n";
    let dir = set_dir_with(
        "registry-miss",
        &[("p.writ", APPROVE), ("approvers.toml", nobody)],
    );
    let out = writ(&["lint", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("approver group `db-owners` of rule \"prod writes\" has no member"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("p.writ:4:26]"), "{}", stderr(&out));
}

#[test]
fn a_malformed_registry_is_an_error_naming_the_file_and_position() {
    let broken = "[[approver]]\nid = \"alice@example.com\"\ngroups = \"db-owners\"\n";
    let dir = set_dir_with(
        "registry-bad",
        &[("p.writ", APPROVE), ("approvers.toml", broken)],
    );
    let out = writ(&["lint", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.starts_with("error: approver registry: "), "{err}");
    assert!(err.contains("approvers.toml:3:10: invalid type"), "{err}");
    assert!(stdout(&out).is_empty());
}

/// What the approvals service refuses, the lint refuses: a set is never lint-clean while
/// its registry makes every approval impossible.
#[test]
fn a_registry_the_approvals_service_refuses_is_refused() {
    let ann = "[[approver]]\nid = \"alice@example.com\"\ngroups = [\"db-owners\"]\n";
    for (name, registry, want) in [
        (
            "robot",
            format!("{ann}kind = \"robot\"\n"),
            "approvers.toml:4:8: unknown variant `robot`",
        ),
        (
            "unknown-key",
            format!("{ann}foo = 1\n"),
            "approvers.toml:4:1: unknown field `foo`",
        ),
        (
            "misspelt-table",
            ann.replace("approver]]", "approvr]]"),
            "approvers.toml:1:3: unknown field `approvr`",
        ),
        (
            "twice",
            format!("{ann}\n{ann}"),
            "approver `alice@example.com` is listed twice",
        ),
    ] {
        let dir = set_dir_with(
            &format!("registry-{name}"),
            &[("p.writ", APPROVE), ("approvers.toml", &registry)],
        );
        let out = writ(&["lint", "--deny-warnings", dir.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.starts_with("error: approver registry: "),
            "{name}: {err}"
        );
        assert!(err.contains(want), "{name}: {err}");
        assert!(stdout(&out).is_empty(), "{name}");
    }
}

#[test]
fn an_invalid_set_is_reported_as_check_does() {
    let dir = set_dir_with(
        "invalid",
        &[("p.writ", "rule \"a\" { when device.manged allow }\n")],
    );
    let out = writ(&["lint", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("did you mean `device.managed`?"),
        "{}",
        stderr(&out)
    );
}

/// The README's lint example, run as written from the repository root: the output is
/// the one the README shows (finding, position, underlines, help and summary).
#[test]
fn the_readme_lint_example_prints_what_the_readme_shows() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let command = "$ writ lint docs/examples/night-desk";
    let start = readme
        .find(command)
        .unwrap_or_else(|| panic!("the README no longer shows `{command}`"));
    let shown: String = readme[start..]
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with("```"))
        .map(|l| format!("{l}\n"))
        .collect();
    // Markdown keeps no trailing spaces (the renderer leaves one after an empty line's
    // gutter): lines are compared without them.
    let trimmed = |text: &str| -> String {
        text.lines()
            .map(|l| format!("{}\n", l.trim_end()))
            .collect()
    };
    let out = Command::new(env!("CARGO_BIN_EXE_writ"))
        .current_dir(&root)
        .args(["lint", "docs/examples/night-desk"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).ends_with("docs/examples/night-desk: 1 error, 0 warnings\n"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        trimmed(&format!("{}{}", stderr(&out), stdout(&out))),
        trimmed(&shown)
    );
}
