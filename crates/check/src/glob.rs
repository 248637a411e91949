//! `matches` patterns: `*` is any run of characters (the empty run included) and the
//! whole string must match.

/// A validated pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Glob {
    /// The pattern as written.
    pub pattern: String,
    /// The literal pieces between the stars.
    pub parts: Vec<String>,
}

/// Why a pattern was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlobError {
    /// Byte offset in the pattern.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub help: String,
}

impl Glob {
    /// Validates and splits a pattern.
    pub fn parse(pattern: &str) -> Result<Glob, GlobError> {
        if pattern.is_empty() {
            return Err(GlobError {
                offset: 0,
                message: "an empty pattern matches only the empty string".into(),
                help: "compare with `== \"\"` if that is what you mean".into(),
            });
        }
        if let Some(offset) = pattern.find("**") {
            return Err(GlobError {
                offset,
                message: "`**` in a pattern".into(),
                help: "a single `*` already matches any run of characters, dots included".into(),
            });
        }
        if let Some(offset) = pattern.find(['?', '[', ']', '{', '}']) {
            return Err(GlobError {
                offset,
                message: format!("`{}` has no special meaning in a writ pattern", &pattern[offset..offset + 1]),
                help: "writ patterns only know `*` (any run of characters); match other characters literally with `==` or `in`".into(),
            });
        }
        Ok(Glob {
            pattern: pattern.to_string(),
            parts: pattern.split('*').map(str::to_string).collect(),
        })
    }

    /// True when the pattern has no star.
    pub fn is_exact(&self) -> bool {
        self.parts.len() == 1
    }

    /// Whether `text` matches the whole pattern.
    pub fn matches(&self, text: &str) -> bool {
        let (first, rest) = match self.parts.split_first() {
            Some(x) => x,
            None => return text.is_empty(),
        };
        let Some(mut remaining) = text.strip_prefix(first.as_str()) else {
            return false;
        };
        let Some((last, middle)) = rest.split_last() else {
            return remaining.is_empty();
        };
        for part in middle {
            match remaining.find(part.as_str()) {
                Some(i) => remaining = &remaining[i + part.len()..],
                None => return false,
            }
        }
        remaining.len() >= last.len() && remaining.ends_with(last.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        Glob::parse(p).unwrap().matches(t)
    }

    #[test]
    fn contract_examples() {
        assert!(m("db.*.write", "db.orders.write"));
        assert!(!m("db.*.write", "db.write"));
        assert!(m("db.*.write", "db..write"));
        assert!(m("db.*", "db."));
        assert!(!m("db.*", "db"));
        assert!(m("*", ""));
        assert!(m("a*b*c", "abc"));
        assert!(m("a*b*c", "axxbyyc"));
        assert!(!m("a*b*c", "axxbyy"));
        assert!(!m("ab*ba", "aba"));
        assert!(m("exact", "exact"));
        assert!(!m("exact", "exactly"));
    }

    #[test]
    fn refuses_other_syntaxes() {
        assert!(Glob::parse("").is_err());
        assert!(Glob::parse("a**").is_err());
        assert!(Glob::parse("db.?").is_err());
        assert!(Glob::parse("db.[ab]").is_err());
    }
}
