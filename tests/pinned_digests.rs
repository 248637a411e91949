//! The transaction digest is pinned: every bundled request (`policies/*/requests/*.json`)
//! digested whole, and every `approve` decision of a bundled set on its own requests (at a
//! fixed clock), must keep the digest it has, byte for byte, whatever writes the canonical
//! JSON. The contract example's digest is pinned in `contract_example.rs`, recomputed from
//! the formula.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::path::Path;
use std::sync::Arc;

/// `(set/request, digest of the whole request, digest of the decision's approval)`.
const PINNED: &[(&str, &str, &str)] = &[
    (
        "ai-agents/delete-repo.json",
        "sha256:50bf99bde72a7f017e88317cbcc4e2df2997bd9c511c22e61058990492aa8770",
        "",
    ),
    (
        "ai-agents/merge-to-prod.json",
        "sha256:3b019581ff1cd9b0c8d4aba4144da5a96f74504297f0ccfee36908cdebedcc0e",
        "sha256:84bef09727840cbc95ae46e2a7dcca16755c26ed1d18133a3acc46c7028a81eb",
    ),
    (
        "ai-agents/read-repo.json",
        "sha256:24a56751ed8de878931ec0388f8bf5383ce500b2b8ba2b9c522dd6490c00df4f",
        "",
    ),
    (
        "authzen-certification/alice-read-record-1.json",
        "sha256:bfb0536c7535e7fb5dbd8a3d227ed6073e9da7e92cee79f9beba206c7c33c126",
        "",
    ),
    (
        "break-glass/night-read.json",
        "sha256:606acbc7107fad171f449bd0c3dd41f6661e28b4fe3b14de5afa86240b9b3133",
        "",
    ),
    (
        "passkey-recovery/helpdesk-reset.json",
        "sha256:432f516a36475315b4d735112ff7c6a93d8d0208e1ab7e64951cb57f7d5e50fb",
        "sha256:e6d7fd31b1d7b97cb47f6e1d2c78a7c701053f5764db25029b1a0d286cf92672",
    ),
    (
        "payments/agent-over-limit.json",
        "sha256:43fc6e031f2ce831851fe347515233ac427a52e29f53251464ba7a0624d8f691",
        "",
    ),
    (
        "payments/agent-small-invoice.json",
        "sha256:b665ebb72057c85f6f7714a48a1f1a3817d7fe64f17dbc1e742a7ab2310b472c",
        "",
    ),
    (
        "payments/new-payee-large-eur.json",
        "sha256:55af94da708e3e779d14ea4185908ebd90e3fe06548d098a384fe05470ffa219",
        "sha256:a49658c9cda3b27d159e4a7cb36b244991e0d43eda1de5dc11f427b4f2d3a533",
    ),
    (
        "prod-database/break-glass-write.json",
        "sha256:657751e9e249ace9aacd16a0740b484878d80064c7374b1529bcae11220be788",
        "",
    ),
    (
        "prod-database/prod-write.json",
        "sha256:41decfbcf229a6913d812499560a9d49aed9be767763099927d65734ef76d09f",
        "sha256:cd29cf2dcd6ae35e0a7c2fa5d9f3bb8038d9473482b6c1d3aa2b5c8d3e2ee95f",
    ),
    (
        "prod-database/read-from-home-laptop.json",
        "sha256:164b08d040b0b70ad9d10bc2a8265bfa0c5d129a05e374353f1df9460cb98cef",
        "",
    ),
    (
        "support-access/oncall-break-glass.json",
        "sha256:85bdee5864eb6090a417bf305f3b16ca08d9944dbbe5de6d441dd9496e343f74",
        "",
    ),
    (
        "support-access/vendor-after-hours.json",
        "sha256:997ed1e61afe4bd52cc827eed09d85127c96ed9e65b426cf688d497d88a4db61",
        "",
    ),
    (
        "support-access/vendor-logs-read.json",
        "sha256:7f220f37ef2da8f6815fe9c9fb3a3f16929d8d084839215790b5e0df74d1c01d",
        "sha256:d50b0ad4d60c52ee7ab98ddeb6b8effd3d49097d94e7dc280438df3a1cd38ca9",
    ),
];

#[test]
fn bundled_requests_keep_their_digests() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("requests").is_dir())
        .collect();
    dirs.sort();
    let clock = writ::Timestamp::from_second(1_796_342_400).unwrap();
    let mut got = Vec::new();
    for dir in dirs {
        let engine = writ::load(&dir)
            .unwrap()
            .with_clock(Arc::new(move || clock));
        let mut files: Vec<_> = std::fs::read_dir(dir.join("requests"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let whole = writ::digest::digest_of(&serde_json::from_str(&text).unwrap());
            let decision = engine.decide(&engine.bind_str(&text).unwrap());
            let approval = decision.approval.map(|a| a.digest).unwrap_or_default();
            let name = format!(
                "{}/{}",
                dir.file_name().unwrap().to_string_lossy(),
                file.file_name().unwrap().to_string_lossy()
            );
            got.push((name, whole, approval));
        }
    }
    let table: String = got
        .iter()
        .map(|(n, w, a)| format!("    (\"{n}\", \"{w}\", \"{a}\"),\n"))
        .collect();
    assert_eq!(got.len(), PINNED.len(), "the table now:\n{table}");
    for ((n, w, a), (pn, pw, pa)) in got.iter().zip(PINNED) {
        assert_eq!(
            (n.as_str(), w.as_str(), a.as_str()),
            (*pn, *pw, *pa),
            "the table now:\n{table}"
        );
    }
    assert!(
        got.iter().filter(|(_, _, a)| !a.is_empty()).count() >= 3,
        "{table}"
    );
}
