//! Kleene three-valued logic: `false`, `true`, `unknown`.

use serde::Serialize;

/// A three-valued truth.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[repr(u8)]
pub enum Truth {
    /// Certainly false.
    False = 0,
    /// Certainly true.
    True = 1,
    /// Not known: some evidence is missing.
    Unknown = 2,
}

impl Truth {
    /// Kleene conjunction: false wins, then unknown.
    pub fn and(self, other: Truth) -> Truth {
        match (self, other) {
            (Truth::False, _) | (_, Truth::False) => Truth::False,
            (Truth::True, Truth::True) => Truth::True,
            _ => Truth::Unknown,
        }
    }

    /// Kleene disjunction: true wins, then unknown.
    pub fn or(self, other: Truth) -> Truth {
        match (self, other) {
            (Truth::True, _) | (_, Truth::True) => Truth::True,
            (Truth::False, Truth::False) => Truth::False,
            _ => Truth::Unknown,
        }
    }

    /// `Some(b)` for a known truth.
    pub fn known(self) -> Option<bool> {
        match self {
            Truth::False => Some(false),
            Truth::True => Some(true),
            Truth::Unknown => None,
        }
    }

    /// From a known bool.
    pub fn from_bool(b: bool) -> Truth {
        if b {
            Truth::True
        } else {
            Truth::False
        }
    }

    /// From an optional bool (`None` is unknown).
    pub fn from_option(b: Option<bool>) -> Truth {
        b.map_or(Truth::Unknown, Truth::from_bool)
    }

    /// The name used in explanations.
    pub fn as_str(self) -> &'static str {
        match self {
            Truth::False => "false",
            Truth::True => "true",
            Truth::Unknown => "unknown",
        }
    }
}

impl std::ops::Not for Truth {
    type Output = Truth;

    /// Kleene negation: `not unknown = unknown`.
    fn not(self) -> Truth {
        match self {
            Truth::False => Truth::True,
            Truth::True => Truth::False,
            Truth::Unknown => Truth::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Truth::{self, *};

    const ALL: [Truth; 3] = [False, True, Unknown];

    #[test]
    fn kleene_tables() {
        // Rows: left operand false, true, unknown; columns: right operand the same.
        let and = [
            [False, False, False],
            [False, True, Unknown],
            [False, Unknown, Unknown],
        ];
        let or = [
            [False, True, Unknown],
            [True, True, True],
            [Unknown, True, Unknown],
        ];
        for (i, a) in ALL.iter().enumerate() {
            for (j, b) in ALL.iter().enumerate() {
                assert_eq!(a.and(*b), and[i][j], "{a:?} and {b:?}");
                assert_eq!(a.or(*b), or[i][j], "{a:?} or {b:?}");
            }
        }
        assert_eq!(!False, True);
        assert_eq!(!True, False);
        assert_eq!(!Unknown, Unknown);
    }

    #[test]
    fn de_morgan_holds_in_three_values() {
        for a in ALL {
            for b in ALL {
                assert_eq!(!a.and(b), (!a).or(!b));
                assert_eq!(!a.or(b), (!a).and(!b));
            }
        }
    }
}
