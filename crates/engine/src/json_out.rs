//! The decision's JSON written by hand: byte for byte what `serde_json` writes for a
//! [`Decision`] (docs/language.md §14), without its generic machinery — strings are
//! copied in runs of plain bytes and escaped as `serde_json` escapes them (the same
//! rules as RFC 8785's, [`crate::digest`]'s writer). The server writes every decision
//! this way; `decision_json_is_serde_s` in the tests and every property case
//! (`common::borrowed_agrees`) hold it to `serde_json::to_string`.

use crate::decision::{ApprovalOut, Decision};
use crate::digest::{write_string, write_u64};

/// Writes `d` as compact JSON at the end of `out`.
pub(crate) fn write_decision(d: &Decision, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"decision\":\"");
    out.extend_from_slice(d.decision.as_str().as_bytes());
    out.extend_from_slice(b"\",\"risk\":");
    write_u64(u64::from(d.risk), out);
    out.extend_from_slice(b",\"signals\":[");
    for (i, s) in d.signals.iter().enumerate() {
        comma(i, out);
        out.extend_from_slice(b"{\"name\":");
        write_string(&s.name, out);
        out.extend_from_slice(b",\"points\":");
        write_u64(u64::from(s.points), out);
        out.push(b'}');
    }
    out.extend_from_slice(b"],\"rules\":");
    write_strings(d.rules.iter(), out);
    out.extend_from_slice(b",\"message\":");
    write_opt_string(d.message.as_deref(), out);
    out.extend_from_slice(b",\"obligations\":[");
    for (i, o) in d.obligations.iter().enumerate() {
        comma(i, out);
        out.extend_from_slice(b"{\"name\":");
        write_string(&o.name, out);
        out.extend_from_slice(b",\"args\":");
        write_strings(o.args.iter(), out);
        out.push(b'}');
    }
    out.extend_from_slice(b"],\"approval\":");
    match &d.approval {
        Some(a) => write_approval(a, out),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"ttl_s\":");
    write_opt_u64(d.ttl_s, out);
    out.extend_from_slice(b",\"unknown\":");
    write_strings(d.unknown.iter(), out);
    out.extend_from_slice(b",\"policy_version\":");
    write_string(&d.policy_version, out);
    out.push(b'}');
}

fn write_approval(a: &ApprovalOut, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"approvers\":[");
    for (i, c) in a.approvers.iter().enumerate() {
        comma(i, out);
        out.extend_from_slice(b"{\"count\":");
        write_u64(u64::from(c.count), out);
        out.extend_from_slice(b",\"group\":");
        write_string(&c.group, out);
        if let Some(from) = &c.from {
            out.extend_from_slice(b",\"from\":");
            write_string(from, out);
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"],\"method\":");
    write_string(a.method.as_str(), out);
    out.extend_from_slice(b",\"ttl_s\":");
    write_u64(a.ttl_s, out);
    out.extend_from_slice(b",\"bind\":");
    write_strings(a.bind.iter(), out);
    out.extend_from_slice(b",\"digest\":");
    write_string(&a.digest, out);
    out.extend_from_slice(b",\"missing\":");
    write_strings(a.missing.iter(), out);
    out.extend_from_slice(b",\"elevation_s\":");
    write_opt_u64(a.elevation_s, out);
    out.push(b'}');
}

fn comma(i: usize, out: &mut Vec<u8>) {
    if i > 0 {
        out.push(b',');
    }
}

fn write_strings<'a, S: AsRef<str> + ?Sized + 'a>(
    items: impl Iterator<Item = &'a S>,
    out: &mut Vec<u8>,
) {
    out.push(b'[');
    for (i, s) in items.enumerate() {
        comma(i, out);
        write_string(s.as_ref(), out);
    }
    out.push(b']');
}

fn write_opt_string(s: Option<&str>, out: &mut Vec<u8>) {
    match s {
        Some(s) => write_string(s, out),
        None => out.extend_from_slice(b"null"),
    }
}

fn write_opt_u64(n: Option<u64>, out: &mut Vec<u8>) {
    match n {
        Some(n) => write_u64(n, out),
        None => out.extend_from_slice(b"null"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::decision::{ApproverOut, ObligationOut, SignalHit, Verdict};

    #[test]
    fn decision_json_is_serde_s() {
        let mut d = Decision::empty(Arc::from("v\"1"));
        let same = |d: &Decision| {
            let mut out = Vec::new();
            write_decision(d, &mut out);
            assert_eq!(
                String::from_utf8(out).unwrap_or_default(),
                serde_json::to_string(d).unwrap_or_default()
            );
        };
        same(&d);
        d.decision = Verdict::Approve;
        d.risk = 100;
        d.signals.push(SignalHit {
            name: Arc::from("new\tdevice \u{1}\u{7f}é"),
            points: 4_294_967_295,
        });
        d.signals.push(SignalHit {
            name: Arc::from("b"),
            points: 0,
        });
        d.rules.push(Arc::from("r \"one\" \\ /"));
        d.message = Some(Arc::from("line\nbreak\r\u{8}\u{c}"));
        d.obligations.push(ObligationOut {
            name: Arc::from("notify"),
            args: Arc::from(vec!["#sec".to_string(), "\u{1f}".to_string()]),
        });
        d.approval = Some(ApprovalOut {
            approvers: vec![
                ApproverOut {
                    count: 2,
                    group: Arc::from("dba"),
                    from: None,
                },
                ApproverOut {
                    count: 1,
                    group: Arc::from("owners"),
                    from: Some(Arc::from("resource.owner")),
                },
            ],
            method: writ_check::ir::Method::PhishingResistant,
            ttl_s: 900,
            bind: Arc::from(vec![Arc::from("principal.id"), Arc::from("action")]),
            digest: "sha256:00".into(),
            missing: vec![Arc::from("action")],
            elevation_s: Some(u64::MAX),
        });
        d.ttl_s = Some(0);
        d.unknown.push(Arc::from("device.managed"));
        same(&d);
        for method in [
            writ_check::ir::Method::Otp,
            writ_check::ir::Method::Signature,
            writ_check::ir::Method::Webauthn,
        ] {
            if let Some(a) = d.approval.as_mut() {
                a.method = method;
                a.elevation_s = None;
            }
            same(&d);
        }
    }
}
