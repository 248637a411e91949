//! The wording of syntax errors: pest's "expected …" sets turned into the messages, labels
//! and hints people read (`expected an expression, found `&&``).

use pest::error::{ErrorVariant, InputLocation};

use crate::diagnostic::Diagnostic;
use crate::parser::{keyword_text, Rule};
use crate::source::{FileId, Span};

/// What a grammar rule is called in an error message.
fn describe(rule: Rule) -> String {
    if matches!(
        rule,
        Rule::kw_in
            | Rule::kw_has
            | Rule::kw_any
            | Rule::kw_all
            | Rule::kw_within
            | Rule::kw_matches
    ) {
        return "an operator".to_string();
    }
    if let Some(k) = keyword_text(rule) {
        return format!("`{k}`");
    }
    match rule {
        Rule::EOI => "end of file",
        Rule::path
        | Rule::paren
        | Rule::cel_call
        | Rule::present_call
        | Rule::lower_call
        | Rule::cidr_set
        | Rule::hours_window
        | Rule::not_op
        | Rule::sum_expr
        | Rule::expr => "an expression",
        Rule::ident => "a name",
        Rule::string | Rule::string_union => "a string",
        Rule::int => "an integer",
        Rule::number => "a number",
        Rule::duration => "a duration such as `5m`",
        Rule::boolean => "`true` or `false`",
        Rule::list => "a list `[...]`",
        Rule::cmp_op
        | Rule::op_in
        | Rule::op_not_in
        | Rule::op_matches
        | Rule::op_has
        | Rule::op_has_any
        | Rule::op_has_all
        | Rule::op_within
        | Rule::arith_op => "an operator",
        Rule::points => "risk points such as `+20`",
        Rule::type_name => "a type",
        Rule::schema_entry => "a schema entry `path: type`",
        Rule::signal => "a risk signal `+N \"name\" when ...`",
        Rule::approvers_item => "`approvers`",
        Rule::method_item => "`method`",
        Rule::bind_item => "`bind`",
        Rule::ttl_item => "`ttl`",
        Rule::when_clause => "`when`",
        Rule::allow_effect => "`allow`",
        Rule::deny_effect => "`deny`",
        Rule::approve_effect => "`approve`",
        Rule::obligations => "`obligations`",
        Rule::obligation => "an obligation",
        Rule::obligation_sig => "an obligation such as `review(duration)`",
        Rule::obligations_decl => "`obligations`",
        Rule::schema_block => "`schema`",
        Rule::let_decl => "`let`",
        Rule::risk_block => "`risk`",
        Rule::rule_decl => "`rule`",
        _ => "something else",
    }
    .to_string()
}

fn join_alternatives(mut names: Vec<String>) -> String {
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(n.clone()));
    match names.len() {
        0 => "something else".to_string(),
        1 => names.remove(0),
        _ => {
            let last = names.pop().unwrap_or_default();
            format!("{} or {}", names.join(", "), last)
        }
    }
}

/// The token found where the error is, for the label.
fn found_at(text: &str, pos: usize) -> String {
    let rest = text.get(pos..).unwrap_or("");
    let Some(c) = rest.chars().next() else {
        return "end of file".to_string();
    };
    if c.is_ascii_alphanumeric() || c == '_' {
        let word: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
            .collect();
        format!("`{word}`")
    } else if c == '\n' || c == '\r' {
        "end of line".to_string()
    } else {
        format!("`{c}`")
    }
}

/// The diagnostic for pest's error `e` on `text`.
pub(crate) fn syntax_error(file: FileId, text: &str, e: pest::error::Error<Rule>) -> Diagnostic {
    let (start, end) = match e.location {
        InputLocation::Pos(p) => (p, p),
        InputLocation::Span((s, t)) => (s, t),
    };
    let found = found_at(text, start);
    let width = match found.as_str() {
        "end of file" | "end of line" => 0,
        f => f.trim_matches('`').len(),
    };
    let span = Span::new(file, start, (start + width).max(end).min(text.len()));
    let (message, help) = match e.variant {
        ErrorVariant::ParsingError {
            positives,
            negatives,
        } => {
            let mut wanted: Vec<String> = positives.into_iter().map(describe).collect();
            if wanted.iter().any(|w| w == "an expression") {
                // Literals and `cidr`/`hours`/`cel` are all expressions: say it once.
                wanted.retain(|w| {
                    !matches!(
                        w.as_str(),
                        "a list `[...]`"
                            | "a duration such as `5m`"
                            | "a number"
                            | "an integer"
                            | "`true` or `false`"
                            | "a string"
                            | "`cidr`"
                            | "`hours`"
                            | "`cel`"
                            | "`present`"
                            | "`lower`"
                    )
                });
            }
            if wanted.iter().any(|w| w == "an operator") {
                // `not` here can only start `not in`, which "an operator" already covers.
                wanted.retain(|w| w != "`not`");
            }
            let missing_effect = found == "`}`" && wanted.iter().any(|w| w == "`allow`");
            let message = if wanted.is_empty() {
                let unwanted: Vec<String> = negatives.into_iter().map(describe).collect();
                format!("unexpected {}", join_alternatives(unwanted))
            } else {
                format!("expected {}, found {found}", join_alternatives(wanted))
            };
            let help = help_for(text, start).or_else(|| {
                missing_effect.then(|| {
                    "a rule needs an effect: `allow`, `deny` or `approve { ... }`".to_string()
                })
            });
            (message, help)
        }
        ErrorVariant::CustomError { message } => (message, None),
    };
    let mut d = Diagnostic::new("writ::syntax", message, span, format!("unexpected {found}"));
    d.help = help;
    d
}

/// A hint for common slips, judged from the text at the error.
fn help_for(text: &str, pos: usize) -> Option<String> {
    let rest = text.get(pos..).unwrap_or("");
    if rest.starts_with("&&")
        || rest.starts_with("||")
        || rest.starts_with('!') && !rest.starts_with("!=")
    {
        return Some("writ spells logic as `and`, `or` and `not`".to_string());
    }
    if rest.starts_with('=') && !rest.starts_with("==") {
        return Some("compare with `==`".to_string());
    }
    if rest.starts_with('\'') {
        return Some("strings are written in double quotes".to_string());
    }
    None
}
