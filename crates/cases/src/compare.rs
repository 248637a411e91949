//! What a case expects against what the engine decided.

use writ_engine::{Decision, Explanation, ObligationOut};

use crate::format::{Absent, ApproverExpect, Case};

fn obligation_text(o: &ObligationOut) -> String {
    if o.args.is_empty() {
        o.name.to_string()
    } else {
        format!("{}({})", o.name, o.args.join(", "))
    }
}

fn check(diffs: &mut Vec<String>, what: &str, expected: String, actual: String) {
    if expected != actual {
        diffs.push(format!("{what}: expected {expected}, got {actual}"));
    }
}

fn list<S: ToString>(v: impl IntoIterator<Item = S>) -> String {
    format!(
        "{:?}",
        v.into_iter().map(|s| s.to_string()).collect::<Vec<_>>()
    )
}

/// Differences between what a case expects and the decision (with its explanation, for
/// `conditions` and for explain's agreement with decide).
pub(crate) fn compare(case: &Case, d: &Decision, explained: &Explanation) -> Vec<String> {
    let mut diffs: Vec<String> = Vec::new();
    check(
        &mut diffs,
        "decision",
        case.expect.clone(),
        d.decision.as_str().to_string(),
    );
    if let Some(r) = case.risk {
        check(&mut diffs, "risk", r.to_string(), d.risk.to_string());
    }
    if let Some(r) = &case.rules {
        check(&mut diffs, "rules", list(r), list(d.rules.iter()));
    }
    if let Some(s) = &case.signals {
        check(
            &mut diffs,
            "signals",
            list(s),
            list(d.signals.iter().map(|s| &s.name)),
        );
    }
    if let Some(o) = &case.obligations {
        // `notify("secops")` as in the policy and `notify(secops)` mean the same.
        check(
            &mut diffs,
            "obligations",
            list(o.iter().map(|x| x.replace('"', ""))),
            list(d.obligations.iter().map(obligation_text)),
        );
    }
    match &case.message {
        None => {}
        Some(Absent::Is(m)) => check(
            &mut diffs,
            "message",
            format!("{m:?}"),
            format!("{:?}", d.message.as_deref().unwrap_or("")),
        ),
        Some(Absent::None) => {
            if let Some(m) = &d.message {
                diffs.push(format!("message: expected none, got {m:?}"));
            }
        }
    }
    match case.ttl_s {
        None => {}
        Some(Absent::Is(t)) => check(
            &mut diffs,
            "ttl_s",
            t.to_string(),
            d.ttl_s.map_or("null".into(), |t| t.to_string()),
        ),
        Some(Absent::None) => {
            if let Some(t) = d.ttl_s {
                diffs.push(format!("ttl_s: expected none, got {t}"));
            }
        }
    }
    if let Some(u) = &case.unknown {
        check(&mut diffs, "unknown", list(u), list(d.unknown.iter()));
    }
    match (&case.approval, &d.approval) {
        (None, _) | (Some(Absent::None), None) => {}
        (Some(Absent::None), Some(got)) => diffs.push(format!(
            "approval: expected none, got approval terms (method {}, ttl_s {})",
            got.method, got.ttl_s
        )),
        (Some(Absent::Is(_)), None) => {
            diffs.push("approval: expected approval terms, got none".into());
        }
        (Some(Absent::Is(a)), Some(got)) => {
            if let Some(approvers) = &a.approvers {
                let got_list: Vec<ApproverExpect> = got
                    .approvers
                    .iter()
                    .map(|c| ApproverExpect {
                        count: c.count,
                        group: c.group.to_string(),
                        from: c.from.as_ref().map(|f| f.to_string()),
                    })
                    .collect();
                if *approvers != got_list {
                    diffs.push(format!(
                        "approval.approvers: expected {approvers:?}, got {got_list:?}"
                    ));
                }
            }
            if let Some(m) = &a.method {
                check(
                    &mut diffs,
                    "approval.method",
                    m.clone(),
                    got.method.to_string(),
                );
            }
            if let Some(t) = a.ttl_s {
                check(
                    &mut diffs,
                    "approval.ttl_s",
                    t.to_string(),
                    got.ttl_s.to_string(),
                );
            }
            if let Some(e) = a.elevation_s {
                check(
                    &mut diffs,
                    "approval.elevation_s",
                    e.to_string(),
                    got.elevation_s.unwrap_or(0).to_string(),
                );
            }
            if let Some(b) = &a.bind {
                check(&mut diffs, "approval.bind", list(b), list(got.bind.iter()));
            }
        }
    }
    if let Some(conditions) = &case.conditions {
        for (rule, expected) in conditions {
            let got = explained
                .rules
                .iter()
                .find(|r| &r.name == rule)
                .map_or("no such rule", |r| r.condition.value.as_str());
            check(
                &mut diffs,
                &format!("conditions.{rule:?}"),
                expected.clone(),
                got.to_string(),
            );
        }
    }
    if explained.decision != *d {
        diffs.push(format!(
            "explain disagrees with decide: decide gave {}, explain gave {}",
            d.to_json(),
            explained.decision.to_json()
        ));
    }
    diffs
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

    use super::*;

    #[test]
    fn explain_disagreeing_with_decide_is_a_failure_naming_both() {
        let mut sources = writ_syntax::SourceMap::default();
        sources.add("t.writ", r#"rule "a" { when action == "x" allow }"#);
        let engine = writ_engine::Engine::new(writ_check::check(sources).ok().unwrap());
        let req = engine.bind(serde_json::json!({"action": "x"})).unwrap();
        let decision = engine.decide(&req);
        let mut explained = engine.explain(&req);
        let case: Case = toml::from_str("name = \"c\"\nexpect = \"allow\"").unwrap();
        assert!(compare(&case, &decision, &explained).is_empty());
        explained.decision.risk = 7;
        let diffs = compare(&case, &decision, &explained);
        assert_eq!(diffs.len(), 1, "{diffs:?}");
        assert!(
            diffs[0].starts_with(
                "explain disagrees with decide: decide gave {\"decision\":\"allow\",\"risk\":0"
            ),
            "{}",
            diffs[0]
        );
        assert!(
            diffs[0].contains("explain gave {\"decision\":\"allow\",\"risk\":7"),
            "{}",
            diffs[0]
        );
    }
}
