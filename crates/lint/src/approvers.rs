//! What the `approver-group` lint knows of the approver registry: who can approve in each
//! group. The registry itself (`approvers.toml`) is read by the parser the approvals
//! service uses, [`writ_registry`], so a file the service refuses (an unknown key, a
//! misspelt table, an unknown `kind`, an approver listed twice, a malformed key) is refused
//! here too, with the same message and position.

use std::collections::BTreeMap;
use std::path::Path;

use writ_registry::{Kind, Registry};

/// The people in each approver group, as the approvals service will count them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApproverGroups {
    /// Group name → the ids of its human members, sorted (ids are unique in a registry).
    groups: BTreeMap<String, Vec<String>>,
}

impl ApproverGroups {
    /// The groups of a parsed registry. Workloads and agents never approve (the service
    /// refuses them), so they are nobody's members here.
    pub fn of(registry: &Registry) -> ApproverGroups {
        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for approver in registry.iter().filter(|a| a.kind == Kind::Human) {
            for g in &approver.groups {
                groups
                    .entry(g.clone())
                    .or_default()
                    .push(approver.id.clone());
            }
        }
        for members in groups.values_mut() {
            members.sort();
        }
        ApproverGroups { groups }
    }

    /// Reads `approvers.toml` from a policy directory, as the approvals service does:
    /// `Ok(None)` when there is none; the service's error when it cannot be read or parsed.
    pub fn load(dir: &Path) -> Result<Option<ApproverGroups>, writ_registry::Error> {
        Ok(writ_registry::load(dir)?.map(|registry| ApproverGroups::of(&registry)))
    }

    /// The members of a group (empty when nobody is in it).
    pub fn members(&self, group: &str) -> &[String] {
        self.groups.get(group).map_or(&[], Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(text: &str) -> Result<ApproverGroups, String> {
        Registry::parse("approvers.toml", text).map(|r| ApproverGroups::of(&r))
    }

    #[test]
    fn people_are_members_of_their_groups() {
        let g = groups(
            r#"
[[approver]]
id = "bob@example.com"
groups = ["db-owners"]

[[approver]]
id = "alice@example.com"
groups = ["db-owners", "payments-approvers"]
kind = "human"
ed25519 = ["h3FLsPUNvgh-3OVyHZ0dNor_vxQFrYU7tfbPOe7IoaQ"]
"#,
        )
        .unwrap();
        assert_eq!(
            g.members("db-owners"),
            ["alice@example.com", "bob@example.com"]
        );
        assert_eq!(g.members("payments-approvers"), ["alice@example.com"]);
        assert!(g.members("dba").is_empty());
    }

    #[test]
    fn workloads_and_agents_are_no_group_members() {
        let g = groups(
            "[[approver]]\nid = \"bot\"\nkind = \"workload\"\ngroups = [\"ops\"]\n\n[[approver]]\nid = \"model\"\nkind = \"agent\"\ngroups = [\"ops\"]\n\n[[approver]]\nid = \"ann\"\ngroups = [\"ops\"]\n",
        )
        .unwrap();
        assert_eq!(g.members("ops"), ["ann"]);
    }
}
