//! The approver registry is read by the parser the approvals service uses (writ-registry):
//! every file the service refuses is refused by the lint too, with the service's message
//! and position, so a set can never be lint-clean while no approval is possible. (That the
//! service's error for a directory is writ-registry's is held by writ-approvals' own
//! test, `registry::tests::the_service_refuses_with_the_parsers_message`.)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::path::PathBuf;

use writ_lint::ApproverGroups;

fn dir_with(name: &str, registry: Option<&str>) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("writ-lint-registry-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    if let Some(text) = registry {
        std::fs::write(dir.join("approvers.toml"), text).unwrap();
    }
    dir
}

/// The lint's error for a registry, and the shared parser's for the same file.
fn both_refuse(name: &str, text: &str) -> String {
    let dir = dir_with(name, Some(text));
    let lint = ApproverGroups::load(&dir).unwrap_err().to_string();
    let service = writ_registry::load(&dir).unwrap_err().to_string();
    assert_eq!(lint, service);
    let _ = std::fs::remove_dir_all(&dir);
    lint
}

const ANN: &str = "[[approver]]\nid = \"ann@example.com\"\ngroups = [\"ops\"]\n";

#[test]
fn what_the_service_refuses_the_lint_refuses() {
    let e = both_refuse("robot", &format!("{ANN}kind = \"robot\"\n"));
    assert!(
        e.contains("approvers.toml:4:8: unknown variant `robot`"),
        "{e}"
    );
    let e = both_refuse("unknown-key", &format!("{ANN}foo = 1\n"));
    assert!(e.contains("approvers.toml:4:1: unknown field `foo`"), "{e}");
    let e = both_refuse(
        "misspelt-table",
        "[[approvr]]\nid = \"ann@example.com\"\ngroups = [\"ops\"]\n",
    );
    assert!(
        e.contains("approvers.toml:1:3: unknown field `approvr`"),
        "{e}"
    );
    let e = both_refuse("twice", &format!("{ANN}\n{ANN}"));
    assert!(
        e.contains("approver `ann@example.com` is listed twice"),
        "{e}"
    );
    let e = both_refuse("short-totp", &format!("{ANN}totp = \"JBSWY3DPEHPK3PXP\"\n"));
    assert!(e.contains("shorter than 128 bits"), "{e}");
}

#[test]
fn without_a_registry_the_lint_has_no_groups() {
    let dir = dir_with("none", None);
    assert_eq!(ApproverGroups::load(&dir).unwrap(), None);
    let dir = dir_with("some", Some(ANN));
    let groups = ApproverGroups::load(&dir).unwrap().unwrap();
    assert_eq!(groups.members("ops"), ["ann@example.com"]);
}
