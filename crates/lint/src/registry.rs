//! The approver registry, `approvers.toml` in the policy directory: who may approve, and
//! in which groups. The lint reads only `id`, `groups` and `kind` of each `[[approver]]`
//! (a workload or agent entry is nobody's member: it can never approve); any other key
//! (`ed25519`, `totp`, `webauthn`, `[relying_party]`, ...) belongs to the approvals service
//! and is ignored here.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use writ_syntax::{Diagnostic, SourceMap, Span};

/// The file name looked for in a policy directory.
pub const FILE_NAME: &str = "approvers.toml";

#[derive(Deserialize)]
struct File {
    #[serde(default)]
    approver: Vec<Approver>,
}

#[derive(Deserialize)]
struct Approver {
    id: String,
    #[serde(default)]
    groups: Vec<String>,
    /// Workloads and agents never approve (the approvals service refuses them), so they
    /// are no group's members here.
    #[serde(default)]
    kind: Option<String>,
}

/// Who is in each approver group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Registry {
    /// Group name → the distinct approver ids in it, sorted.
    pub groups: BTreeMap<String, Vec<String>>,
}

/// A registry that could not be read: the file (to render) and what is wrong with it.
#[derive(Debug)]
pub struct RegistryError {
    /// The file, for rendering the diagnostic.
    pub sources: SourceMap,
    /// The problem, at its position in the file.
    pub diagnostic: Diagnostic,
}

impl Registry {
    /// Parses registry text (`name` is used in errors).
    pub fn parse(name: &str, text: &str) -> Result<Registry, RegistryError> {
        let mut sources = SourceMap::default();
        let file = sources.add(name, text);
        let parsed: File = match toml::from_str(text) {
            Ok(f) => f,
            Err(e) => {
                let range = e.span().unwrap_or(0..0);
                let span = Span::new(file, range.start, range.end.max(range.start));
                let message = e.message().trim_end().to_string();
                let diagnostic = Diagnostic::new(
                    "writ::approvers",
                    format!("invalid approver registry: {message}"),
                    span,
                    "here",
                )
                .with_help("each `[[approver]]` needs `id = \"...\"` and `groups = [\"...\"]`");
                return Err(RegistryError {
                    sources,
                    diagnostic,
                });
            }
        };
        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for a in parsed.approver {
            if a.kind.as_deref().is_some_and(|k| k != "human") {
                continue;
            }
            for g in a.groups {
                let members = groups.entry(g).or_default();
                if !members.contains(&a.id) {
                    members.push(a.id.clone());
                    members.sort();
                }
            }
        }
        Ok(Registry { groups })
    }

    /// Reads `approvers.toml` from a policy directory: `Ok(None)` when there is none.
    pub fn load(dir: &Path) -> Result<Option<Registry>, RegistryError> {
        let path = dir.join(FILE_NAME);
        let name = path.display().to_string();
        match std::fs::read_to_string(&path) {
            Ok(text) => Registry::parse(&name, &text).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => {
                let mut sources = SourceMap::default();
                let file = sources.add(name.clone(), "");
                Err(RegistryError {
                    sources,
                    diagnostic: Diagnostic::new(
                        "writ::approvers",
                        format!("cannot read `{name}`: {e}"),
                        Span::new(file, 0, 0),
                        "",
                    ),
                })
            }
        }
    }

    /// The members of a group (empty when nobody is in it).
    pub fn members(&self, group: &str) -> &[String] {
        self.groups.get(group).map_or(&[], Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ids_and_groups_and_ignores_other_keys() {
        let r = Registry::parse(
            "approvers.toml",
            r#"
[[approver]]
id = "alice@example.com"
groups = ["db-owners", "payments-approvers"]
kind = "human"
ed25519 = "MCowBQYDK2VwAyEA"

[[approver]]
id = "bob@example.com"
groups = ["db-owners"]
[approver.webauthn]
credential = "abc"
"#,
        )
        .unwrap();
        assert_eq!(
            r.members("db-owners"),
            ["alice@example.com", "bob@example.com"]
        );
        assert_eq!(r.members("payments-approvers"), ["alice@example.com"]);
        assert!(r.members("dba").is_empty());
    }

    #[test]
    fn workloads_and_agents_are_no_group_members() {
        let r = Registry::parse(
            "approvers.toml",
            "[[approver]]\nid = \"bot\"\nkind = \"workload\"\ngroups = [\"ops\"]\n\n[[approver]]\nid = \"ann\"\ngroups = [\"ops\"]\n",
        )
        .unwrap();
        assert_eq!(r.members("ops"), ["ann"]);
    }

    #[test]
    fn a_malformed_file_names_the_position() {
        let e = Registry::parse(
            "dir/approvers.toml",
            "[[approver]]\nid = \"a\"\ngroups = [\"x\",\n",
        )
        .unwrap_err();
        let line = e.diagnostic.one_line(&e.sources);
        assert!(line.starts_with("dir/approvers.toml:"), "{line}");
        assert!(line.contains("invalid approver registry"), "{line}");
        let e = Registry::parse("approvers.toml", "[[approver]]\ngroups = [\"x\"]\n").unwrap_err();
        assert!(
            e.diagnostic.message.contains("`id`"),
            "{}",
            e.diagnostic.message
        );
        assert_eq!(
            e.diagnostic.one_line(&e.sources).split(':').nth(1),
            Some("1")
        );
    }
}
