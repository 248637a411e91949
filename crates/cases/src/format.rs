//! The `*.test.toml` format, as serde reads it (docs/language.md §20).

use std::collections::BTreeMap;

use serde::{de::DeserializeOwned, Deserialize, Deserializer};

/// A suite file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Suite {
    /// The base request of the cases that name none.
    pub base: Option<toml::Table>,
    /// The base request read from a JSON file, relative to the suite.
    pub base_file: Option<String>,
    /// Named base requests, chosen by a case's `base = "NAME"`: a table, or the name of a
    /// JSON file relative to the suite.
    #[serde(default)]
    pub bases: BTreeMap<String, toml::Value>,
    #[serde(default)]
    pub case: Vec<Case>,
}

/// One case: how to patch its base request, and what must come out.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Case {
    pub name: String,
    /// A named base (`[bases.NAME]`) instead of the suite's `[base]`.
    pub base: Option<String>,
    pub set: Option<toml::Table>,
    #[serde(default)]
    pub unset: Vec<String>,
    pub expect: String,
    pub risk: Option<u32>,
    pub rules: Option<Vec<String>>,
    pub signals: Option<Vec<String>>,
    pub obligations: Option<Vec<String>>,
    pub message: Option<Absent<String>>,
    pub ttl_s: Option<Absent<u64>>,
    pub unknown: Option<Vec<String>>,
    pub approval: Option<Absent<ApprovalExpect>>,
    /// The truth of named rules' conditions, as the explain trace gives it.
    pub conditions: Option<BTreeMap<String, String>>,
}

/// The approval terms a case expects.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApprovalExpect {
    pub approvers: Option<Vec<ApproverExpect>>,
    pub method: Option<String>,
    pub ttl_s: Option<u64>,
    pub bind: Option<Vec<String>>,
    /// `approve for D`: the elevation in seconds (`0` expects a single-use approval).
    pub elevation_s: Option<u64>,
}

/// One approver clause a case expects.
#[derive(Deserialize, PartialEq, Debug)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApproverExpect {
    pub count: u32,
    pub group: String,
    /// For `group PATH`: the path the group was read from.
    #[serde(default)]
    pub from: Option<String>,
}

/// An expectation that may also be `"none"`: the field must be absent.
pub(crate) enum Absent<T> {
    /// `"none"`.
    None,
    /// A value.
    Is(T),
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Absent<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = toml::Value::deserialize(deserializer)?;
        if value.as_str() == Some("none") {
            return Ok(Absent::None);
        }
        value
            .try_into()
            .map(Absent::Is)
            .map_err(|e| serde::de::Error::custom(format!("{e} (or \"none\" for absent)")))
    }
}
