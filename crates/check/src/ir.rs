//! The typed intermediate representation: what the checker hands to the compiler.
//!
//! Every name is resolved (a `let` reference is replaced by its value), every literal is
//! typed and validated, `not in` is `not (in)`, parentheses are gone, and request paths
//! are interned as [`PathId`]s. Nodes keep their spans so a decision can explain itself.

use std::net::IpAddr;
use std::sync::Arc;

use writ_syntax::{SourceMap, Span};

use crate::cel_expr::CelExpr;
use crate::glob::Glob;
use crate::hours::Hours;
use crate::net::CidrSet;
use crate::types::Type;

/// A checked policy set, ready for compilation.
#[derive(Debug)]
pub struct PolicySet {
    /// The source files (for explanations and diagnostics).
    pub sources: SourceMap,
    /// Every request path the set mentions, indexed by [`PathId`].
    pub paths: Vec<PathInfo>,
    /// Every path a request may carry (well-known and declared), sorted, with its type.
    pub known: Vec<(String, Type)>,
    /// The `let` declarations, in source order.
    pub lets: Vec<LetDef>,
    /// The risk signals, in source order.
    pub signals: Vec<Signal>,
    /// The rules, in source order (files sorted by path).
    pub rules: Vec<Rule>,
}

impl PolicySet {
    /// The path with this id.
    pub fn path(&self, id: PathId) -> &PathInfo {
        &self.paths[id.0 as usize]
    }

    /// The id of a path by its text, when the set mentions it.
    pub fn path_id(&self, text: &str) -> Option<PathId> {
        self.paths
            .iter()
            .position(|p| p.text == text)
            .map(|i| PathId(u32::try_from(i).unwrap_or(u32::MAX)))
    }
}

/// Index of a request path in [`PolicySet::paths`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PathId(pub u32);

/// A request path and its type.
#[derive(Clone, Debug, PartialEq)]
pub struct PathInfo {
    /// The path as written (`device.managed`).
    pub text: String,
    /// Its segments.
    pub segments: Vec<String>,
    /// Its type.
    pub ty: Type,
}

/// A `let` declaration, kept for tools (completion, lint); expressions hold its value.
#[derive(Clone, Debug)]
pub struct LetDef {
    /// The name.
    pub name: String,
    /// The value.
    pub value: LetValue,
    /// The declaration.
    pub span: Span,
    /// Whether a rule or a risk signal refers to it.
    pub used: bool,
}

/// The value of a `let`.
#[derive(Clone, Debug)]
pub enum LetValue {
    /// A list of literals of one type.
    List(Arc<[Value]>, Type),
    /// A CIDR set.
    Cidr(Arc<CidrSet>),
    /// An `hours` window.
    Hours(Arc<Hours>),
    /// A single literal.
    Scalar(Value),
    /// A named condition (`let internal = network.ip in corp`).
    Cond(Arc<Cond>),
}

/// A risk signal.
#[derive(Clone, Debug)]
pub struct Signal {
    /// Its name, unique in the set.
    pub name: String,
    /// Points added when it counts (at least 1).
    pub points: u32,
    /// When it counts (true or unknown).
    pub cond: Cond,
    /// The signal.
    pub span: Span,
}

/// A rule.
#[derive(Clone, Debug)]
pub struct Rule {
    /// Its name, unique in the set.
    pub name: String,
    /// Its condition (`Const(true)` when the rule has no `when`).
    pub cond: Cond,
    /// What it decides.
    pub effect: Effect,
    /// Obligations attached to its effect, without duplicates.
    pub obligations: Vec<Obligation>,
    /// The rule.
    pub span: Span,
}

/// A three-valued condition.
#[derive(Clone, Debug)]
pub enum Cond {
    /// A constant.
    Const(bool),
    /// A leaf test.
    Atom(Atom),
    /// Negation (Kleene).
    Not(Box<Cond>),
    /// Conjunction (Kleene), two or more parts.
    And(Vec<Cond>),
    /// Disjunction (Kleene), two or more parts.
    Or(Vec<Cond>),
    /// A named condition (`let NAME = CONDITION`) where a rule uses it: the same truth
    /// as its condition, kept by name so that explanations show it.
    Named {
        /// The `let` name.
        name: Arc<str>,
        /// Its condition (shared by every use).
        cond: Arc<Cond>,
    },
}

impl Cond {
    /// How deeply the condition nests (a leaf is 1); named conditions count their own.
    // INVARIANT: the checker refuses a named condition deeper than
    // `crate::check::MAX_COND_DEPTH`, so this recursion is bounded.
    pub fn depth(&self) -> usize {
        match self {
            Cond::Const(_) | Cond::Atom(_) => 1,
            Cond::Not(c) => 1 + c.depth(),
            Cond::Named { cond, .. } => 1 + cond.depth(),
            Cond::And(p) | Cond::Or(p) => 1 + p.iter().map(Cond::depth).max().unwrap_or(0),
        }
    }
}

/// A leaf test with the span of the text it came from.
#[derive(Clone, Debug)]
pub struct Atom {
    /// The test.
    pub kind: AtomKind,
    /// The source text it came from.
    pub span: Span,
}

/// The leaf tests.
#[derive(Clone, Debug)]
pub enum AtomKind {
    /// A bool path used as a condition.
    Truthy(PathId),
    /// `lhs op rhs` for `== != < <= > >=`, operand types already checked compatible.
    Compare {
        /// Left side.
        lhs: Operand,
        /// The comparison.
        op: CmpOp,
        /// Right side.
        rhs: Operand,
    },
    /// `value in [..]`.
    InList {
        /// The tested value.
        value: Operand,
        /// The list (a literal or a `let`).
        list: Arc<[Value]>,
    },
    /// `"x" in principal.groups`: membership in a set-typed path.
    InSet {
        /// The tested value.
        value: Operand,
        /// The set path.
        set: PathId,
    },
    /// `network.ip in corp_network`.
    InCidr {
        /// The tested address.
        value: Operand,
        /// The networks.
        nets: Arc<CidrSet>,
    },
    /// `time in business_hours`.
    InHours {
        /// The tested instant.
        value: Operand,
        /// The window.
        hours: Arc<Hours>,
    },
    /// `action matches "db.*.write"`.
    Matches {
        /// The tested string.
        value: Operand,
        /// The pattern.
        glob: Arc<Glob>,
    },
    /// `set has item`.
    Has {
        /// The set path.
        set: PathId,
        /// The item.
        item: Operand,
    },
    /// `set has any [..]`.
    HasAny {
        /// The set path.
        set: PathId,
        /// The candidates.
        items: SetOperand,
    },
    /// `set has all [..]`.
    HasAll {
        /// The set path.
        set: PathId,
        /// The required items.
        items: SetOperand,
    },
    /// `set within [..]`: every element of the set is in the list.
    Within {
        /// The set path.
        set: PathId,
        /// The allowed items.
        items: SetOperand,
    },
    /// `cel("...")`.
    Cel(Arc<CelExpr>),
    /// `present(path)`: the request holds a value at the path (never unknown).
    Present(PathId),
}

/// Comparison operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CmpOp {
    /// The operator seen from the other side: `a < b` is `b > a` (equality is symmetric).
    pub fn flip(self) -> CmpOp {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            other => other,
        }
    }

    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// One side of a test: a request path, a constant, or a value computed from them.
#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    /// A request path (unknown when absent).
    Path(PathId),
    /// A constant.
    Const(Value),
    /// `lower(path)`: a string path in lower case (unknown when absent).
    Lower(PathId),
    /// `a + b` or `a - b` over instants and durations (unknown when an operand is).
    Arith(Box<Arith>),
}

impl Operand {
    /// The request paths the operand reads, in order.
    pub fn paths(&self, out: &mut Vec<PathId>) {
        match self {
            Operand::Path(p) | Operand::Lower(p) => out.push(*p),
            Operand::Const(_) => {}
            Operand::Arith(a) => {
                a.lhs.paths(out);
                a.rhs.paths(out);
            }
        }
    }
}

/// An arithmetic operand: instant − instant is a duration, instant ± duration an
/// instant, duration ± duration a duration.
#[derive(Clone, Debug, PartialEq)]
pub struct Arith {
    /// Left side.
    pub lhs: Operand,
    /// `+` or `-`.
    pub op: writ_syntax::ast::ArithOp,
    /// Right side.
    pub rhs: Operand,
}

/// The right side of a set operator: a constant list or another set path.
#[derive(Clone, Debug, PartialEq)]
pub enum SetOperand {
    /// Constant strings.
    Const(Arc<[String]>),
    /// A set-typed path.
    Path(PathId),
}

/// A typed constant.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A string.
    String(Arc<str>),
    /// An int.
    Int(i64),
    /// A number.
    Number(f64),
    /// A bool.
    Bool(bool),
    /// A duration in seconds.
    Duration(u64),
    /// An address.
    Ip(IpAddr),
    /// An instant.
    Time(jiff::Timestamp),
}

/// What a rule decides.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// `allow`, time-boxed when `ttl_s` is set.
    Allow {
        /// `allow for D`, in seconds.
        ttl_s: Option<u64>,
    },
    /// `deny`, with an optional message.
    Deny {
        /// The message shown to the caller.
        message: Option<String>,
    },
    /// `approve { ... }`.
    Approve(Approval),
}

/// The requirements of an `approve` effect.
#[derive(Clone, Debug, PartialEq)]
pub struct Approval {
    /// Every clause must be met by distinct approvers.
    pub approvers: Vec<ApproverClause>,
    /// The weakest acceptable evidence.
    pub method: Method,
    /// The bound paths, as written, in order.
    pub bind: Vec<PathId>,
    /// How long the approval lives, in seconds.
    pub ttl_s: u64,
    /// `approve for D`: the grant may be redeemed repeatedly for `D` seconds after it was
    /// issued (elevation); `None` for a single-use approval.
    pub elevation_s: Option<u64>,
}

/// `approvers N of group "g"` or `approvers N of group PATH`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ApproverClause {
    /// How many distinct approvers.
    pub count: u32,
    /// From which group.
    pub group: ApproverGroup,
}

/// Where an approver clause's group comes from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ApproverGroup {
    /// Named in the policy.
    Name(String),
    /// Named by the request at this string path (bound with the approval).
    Path(PathId),
}

/// Approval methods, weakest first: what a policy requires (`method M`), and — `otp`,
/// `signature`, `webauthn` — what an approver's evidence is. Written as the language names
/// them, in decisions, challenges and grants alike.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// A TOTP code: a fallback for low-risk rules only.
    Otp,
    /// `signature` or stronger.
    PhishingResistant,
    /// An approver's registered key signs the binding (as strong as `phishing_resistant`;
    /// the more specific name wins a merge).
    Signature,
    /// A hardware authenticator asserts over the binding.
    Webauthn,
}

impl Method {
    /// The method's name in the language.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Otp => "otp",
            Method::PhishingResistant => "phishing_resistant",
            Method::Signature => "signature",
            Method::Webauthn => "webauthn",
        }
    }

    /// Parses a method name.
    pub fn from_name(name: &str) -> Option<Method> {
        Some(match name {
            "otp" => Method::Otp,
            "phishing_resistant" => Method::PhishingResistant,
            "signature" => Method::Signature,
            "webauthn" => Method::Webauthn,
            _ => return None,
        })
    }

    /// Evidence strength: otp 0, signature and phishing_resistant 1, webauthn 2.
    pub fn strength(self) -> u8 {
        match self {
            Method::Otp => 0,
            Method::PhishingResistant | Method::Signature => 1,
            Method::Webauthn => 2,
        }
    }

    /// Whether evidence of this method meets `required` (docs/language.md §9): at least
    /// as strong, and a one-time code only where the policy asks for no more than `otp`.
    /// The one rule answers and redemptions both apply.
    pub fn satisfies(self, required: Method) -> bool {
        self.strength() >= required.strength() && (self != Method::Otp || required == Method::Otp)
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An obligation the service must carry out.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Obligation {
    /// Its name.
    pub name: String,
    /// Its arguments as text (`"24h"`, `"secops"`).
    pub args: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::{CmpOp, Method};

    #[test]
    fn evidence_meets_a_requirement_at_least_as_strong_and_a_code_only_an_otp_one() {
        use Method::*;
        let meets = |e: Method, r: Method| e.satisfies(r);
        for r in [Otp, PhishingResistant, Signature, Webauthn] {
            assert!(meets(Webauthn, r));
            assert_eq!(meets(Otp, r), r == Otp);
            assert_eq!(meets(Signature, r), r != Webauthn);
        }
    }

    fn holds(a: i64, op: CmpOp, b: i64) -> bool {
        match op {
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
        }
    }

    #[test]
    fn a_flipped_comparison_holds_with_its_sides_swapped() {
        let ops = [
            CmpOp::Eq,
            CmpOp::Ne,
            CmpOp::Lt,
            CmpOp::Le,
            CmpOp::Gt,
            CmpOp::Ge,
        ];
        for op in ops {
            assert_eq!(op.flip().flip(), op);
            for (a, b) in [(1, 2), (2, 2), (3, 2)] {
                assert_eq!(holds(a, op, b), holds(b, op.flip(), a), "{a} {op:?} {b}");
            }
        }
    }
}
