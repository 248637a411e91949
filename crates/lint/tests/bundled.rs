//! The bundled policy sets are lint-clean (with and without a registry built from their
//! own approver groups).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::path::Path;

#[test]
fn bundled_policy_sets_have_no_findings() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
    // The AuthZEN certification set too: lint-clean, though not a set the CLI's
    // walk-throughs use.
    for set in writ_testkit::sets::BUNDLED
        .into_iter()
        .chain(["authzen-certification"])
    {
        let dir = root.join(set);
        let set_ir = writ_check::check(writ_check::load_path(&dir).unwrap()).unwrap();
        let config = writ_lint::Config {
            registry: writ_lint::ApproverGroups::load(&dir).unwrap(),
            ..writ_lint::Config::default()
        };
        let findings = writ_lint::lint(&set_ir, &config);
        let text = writ_syntax::render(&findings, &set_ir.sources, writ_syntax::Style::Plain);
        assert!(findings.is_empty(), "{set}:\n{text}");
    }
}
