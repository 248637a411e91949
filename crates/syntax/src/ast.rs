//! The spanned abstract syntax tree of one `.writ` file.
//!
//! The tree mirrors what the author wrote (parentheses and item order included) so that
//! the formatter can print it back; meaning is given to it by the checker.

use crate::source::Span;

/// One parsed file: its items in order and its comments.
#[derive(Clone, Debug, PartialEq)]
pub struct File {
    /// Top-level items in source order.
    pub items: Vec<Item>,
    /// Every `#` comment with its span, in source order.
    pub comments: Vec<Comment>,
}

/// A `#` comment (the text includes the `#`).
#[derive(Clone, Debug, PartialEq)]
pub struct Comment {
    /// The comment text, from `#` to the end of the line, trailing spaces removed.
    pub text: String,
    /// Where it is.
    pub span: Span,
}

/// A top-level item.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// `schema { ... }`
    Schema(SchemaBlock),
    /// `let name = ...`
    Let(LetDecl),
    /// `risk { ... }`
    Risk(RiskBlock),
    /// `rule "name" { ... }`
    Rule(RuleDecl),
    /// `obligations { name  name(type, ...) }`: the obligations the set may name.
    Obligations(ObligationsBlock),
}

impl Item {
    /// The span of the whole item.
    pub fn span(&self) -> Span {
        match self {
            Item::Schema(s) => s.span,
            Item::Let(l) => l.span,
            Item::Risk(r) => r.span,
            Item::Rule(r) => r.span,
            Item::Obligations(o) => o.span,
        }
    }
}

/// A name written by the author (`let` name, obligation name, method name, type name).
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    /// The name.
    pub name: String,
    /// Where it is.
    pub span: Span,
}

/// A string literal, unescaped.
#[derive(Clone, Debug, PartialEq)]
pub struct Str {
    /// The value after unescaping.
    pub value: String,
    /// Where it is, quotes included.
    pub span: Span,
}

/// A dotted attribute path such as `device.managed` (or a single name such as `action`
/// or a `let` name: the checker tells which).
#[derive(Clone, Debug, PartialEq)]
pub struct Path {
    /// The dot-separated segments.
    pub segments: Vec<String>,
    /// Where it is.
    pub span: Span,
}

impl Path {
    /// The path as written, segments joined by dots.
    pub fn text(&self) -> String {
        self.segments.join(".")
    }
}

/// `schema { path: type ... }`
#[derive(Clone, Debug, PartialEq)]
pub struct SchemaBlock {
    /// Declarations in order.
    pub entries: Vec<SchemaEntry>,
    /// The whole block.
    pub span: Span,
}

/// `path: type` inside a schema block.
#[derive(Clone, Debug, PartialEq)]
pub struct SchemaEntry {
    /// The declared path.
    pub path: Path,
    /// Its type.
    pub ty: TypeExpr,
    /// The whole entry.
    pub span: Span,
}

/// A type in a schema entry.
#[derive(Clone, Debug, PartialEq)]
pub enum TypeExpr {
    /// A named type: `string`, `int`, `number`, `bool`, `duration`, `ip`, `set`.
    Named(Ident),
    /// A union of string literals: `"prod" | "staging"`.
    Union(Vec<Str>, Span),
}

/// `let name = value`
#[derive(Clone, Debug, PartialEq)]
pub struct LetDecl {
    /// The name being bound.
    pub name: Ident,
    /// The bound value.
    pub value: LetValue,
    /// The whole declaration.
    pub span: Span,
}

/// The value of a `let`.
#[derive(Clone, Debug, PartialEq)]
pub enum LetValue {
    /// `[a, b, c]`
    List(List),
    /// `cidr [...]`
    Cidr(CidrLit),
    /// `hours "..." in "Zone"`
    Hours(HoursLit),
    /// A single literal.
    Literal(Literal),
    /// A named condition: any other expression (`let internal = network.ip in corp`).
    Cond(Expr),
}

/// `[literal, ...]`
#[derive(Clone, Debug, PartialEq)]
pub struct List {
    /// The elements.
    pub items: Vec<Literal>,
    /// Brackets included.
    pub span: Span,
}

/// `cidr ["10.0.0.0/8", ...]`
#[derive(Clone, Debug, PartialEq)]
pub struct CidrLit {
    /// The list of network strings.
    pub list: List,
    /// The keyword and list.
    pub span: Span,
}

/// `hours "Mon-Fri 08:00-18:00" in "Europe/Berlin"`
#[derive(Clone, Debug, PartialEq)]
pub struct HoursLit {
    /// The window specification.
    pub windows: Str,
    /// The IANA time zone name.
    pub zone: Str,
    /// The whole literal.
    pub span: Span,
}

/// `obligations { record_session  review(duration) }`
#[derive(Clone, Debug, PartialEq)]
pub struct ObligationsBlock {
    /// The declared obligations, in order.
    pub entries: Vec<ObligationSig>,
    /// The whole block.
    pub span: Span,
}

/// One declared obligation: its name and the types of its arguments.
#[derive(Clone, Debug, PartialEq)]
pub struct ObligationSig {
    /// The obligation's name.
    pub name: Ident,
    /// The argument types (`string`, `int`, `number`, `bool`, `duration`).
    pub params: Vec<Ident>,
    /// True when written with parentheses, even empty ones.
    pub parens: bool,
    /// The whole entry.
    pub span: Span,
}

/// `risk { +N "name" when expr ... }`
#[derive(Clone, Debug, PartialEq)]
pub struct RiskBlock {
    /// The signals in order.
    pub signals: Vec<Signal>,
    /// The whole block.
    pub span: Span,
}

/// One risk signal.
#[derive(Clone, Debug, PartialEq)]
pub struct Signal {
    /// Points as written (sign included).
    pub points: i64,
    /// Span of the points.
    pub points_span: Span,
    /// The signal's name.
    pub name: Str,
    /// When it counts.
    pub when: Expr,
    /// The whole signal.
    pub span: Span,
}

/// `rule "name" { when expr effect obligations }`
#[derive(Clone, Debug, PartialEq)]
pub struct RuleDecl {
    /// The rule's name.
    pub name: Str,
    /// The condition; a rule without `when` always applies.
    pub when: Option<Expr>,
    /// What the rule decides.
    pub effect: Effect,
    /// Obligations, as written (empty when there is no `obligations` line).
    pub obligations: Vec<Obligation>,
    /// The whole rule.
    pub span: Span,
}

/// The effect of a rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Effect {
    /// Which effect.
    pub kind: EffectKind,
    /// Where it is.
    pub span: Span,
}

/// The kinds of effect.
#[derive(Clone, Debug, PartialEq)]
pub enum EffectKind {
    /// `allow` or `allow for D`.
    Allow(Option<Duration>),
    /// `deny` or `deny "message"`.
    Deny(Option<Str>),
    /// `approve { ... }`, or `approve for D { ... }` (elevation good for `D`).
    Approve {
        /// `for D`: the grant may be redeemed repeatedly for this long.
        elevation: Option<Duration>,
        /// The lines of the block.
        items: Vec<ApproveItem>,
    },
}

/// One line of an `approve` block.
#[derive(Clone, Debug, PartialEq)]
pub enum ApproveItem {
    /// `approvers N of group "g"` or `approvers N of group PATH`
    Approvers {
        /// How many distinct approvers.
        count: i64,
        /// Span of the count.
        count_span: Span,
        /// The group they come from.
        group: GroupRef,
        /// The whole line.
        span: Span,
    },
    /// `method name`
    Method(Ident),
    /// `bind path, path, ...`
    Bind(Vec<Path>, Span),
    /// `ttl D`
    Ttl(Duration, Span),
}

/// The group of an `approvers` line.
#[derive(Clone, Debug, PartialEq)]
pub enum GroupRef {
    /// A group named in the policy: `group "treasury"`.
    Name(Str),
    /// A group named by the request: `group resource.admin_group`.
    Path(Path),
}

impl GroupRef {
    /// Where it is.
    pub fn span(&self) -> Span {
        match self {
            GroupRef::Name(s) => s.span,
            GroupRef::Path(p) => p.span,
        }
    }
}

/// `name` or `name(arg, ...)` in an `obligations` line.
#[derive(Clone, Debug, PartialEq)]
pub struct Obligation {
    /// The obligation's name.
    pub name: Ident,
    /// Its arguments (literals).
    pub args: Vec<Literal>,
    /// True when written with parentheses, even empty ones.
    pub parens: bool,
    /// The whole obligation.
    pub span: Span,
}

/// A duration literal such as `90s`, `5m`, `1h30m`.
#[derive(Clone, Debug, PartialEq)]
pub struct Duration {
    /// Total seconds.
    pub seconds: u64,
    /// The text as written.
    pub text: String,
    /// Where it is.
    pub span: Span,
}

/// A literal value.
#[derive(Clone, Debug, PartialEq)]
pub struct Literal {
    /// Which literal.
    pub kind: LiteralKind,
    /// Where it is.
    pub span: Span,
}

/// The kinds of literal.
#[derive(Clone, Debug, PartialEq)]
pub enum LiteralKind {
    /// `"text"`
    String(String),
    /// `42`, `-7`
    Int(i64),
    /// `1.5`; the text is kept so that formatting never changes it.
    Number(f64, String),
    /// `true`, `false`
    Bool(bool),
    /// `5m`
    Duration(Duration),
}

/// An expression node.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// Which expression.
    pub kind: ExprKind,
    /// Where it is.
    pub span: Span,
}

/// The kinds of expression.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// `a or b or c` (two or more operands).
    Or(Vec<Expr>),
    /// `a and b and c` (two or more operands).
    And(Vec<Expr>),
    /// `not e`
    Not(Box<Expr>),
    /// `lhs op rhs`
    Binary {
        /// The operator.
        op: BinOp,
        /// Span of the operator.
        op_span: Span,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
    },
    /// `( e )`, kept so formatting preserves it.
    Paren(Box<Expr>),
    /// An attribute path or a `let` name.
    Path(Path),
    /// A literal.
    Literal(Literal),
    /// `[ ... ]`
    List(List),
    /// `cidr [ ... ]`
    Cidr(CidrLit),
    /// `hours "..." in "..."`
    Hours(HoursLit),
    /// `cel("...")`
    Cel(Str),
    /// `present(path)`: true when the request holds a value there, never unknown.
    Present(Path),
    /// `lower(path)`: the string at `path` in lower case.
    Lower(Path),
    /// `lhs + rhs` or `lhs - rhs` over instants and durations.
    Arith {
        /// The operator.
        op: ArithOp,
        /// Span of the operator.
        op_span: Span,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
    },
}

/// Arithmetic operators (instants and durations).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArithOp {
    /// `+`
    Add,
    /// `-`
    Sub,
}

impl ArithOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            ArithOp::Add => "+",
            ArithOp::Sub => "-",
        }
    }
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
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
    /// `in`
    In,
    /// `not in`
    NotIn,
    /// `matches`
    Matches,
    /// `has`
    Has,
    /// `has any`
    HasAny,
    /// `has all`
    HasAll,
    /// `within`
    Within,
}

impl BinOp {
    /// The operator as written in the language.
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::In => "in",
            BinOp::NotIn => "not in",
            BinOp::Matches => "matches",
            BinOp::Has => "has",
            BinOp::HasAny => "has any",
            BinOp::HasAll => "has all",
            BinOp::Within => "within",
        }
    }
}
