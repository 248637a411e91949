//! The parser's entry points: a file or a lone expression, from text to the spanned AST
//! or diagnostics, through pest (the grammar, `grammar/writ.pest`), the tree builder
//! ([`crate::lower`]) and the wording of syntax errors ([`crate::wording`]).
//!
//! pest types never leave the crate: callers get an [`ast::File`] or diagnostics.

use pest::Parser as _;
use std::collections::HashMap;

use crate::ast::*;
use crate::comments;
use crate::diagnostic::Diagnostic;
use crate::lower::Converter;
use crate::source::{FileId, Span};
use crate::wording::syntax_error;

/// The pest parser generated from the grammar; its `Rule` enum names the grammar's rules.
#[derive(pest_derive::Parser)]
#[grammar = "../../grammar/writ.pest"]
pub(crate) struct WritParser;

/// Parses one file. Syntax errors stop at the first (pest reports one), but the literal
/// checks done while building the tree (integer range, escapes, durations) are all
/// collected.
///
/// A large file is parsed in pieces, on several threads: it is cut before lines that
/// start a rule (`rule "…"` outside any bracket, string or comment, which nothing but a
/// rule can begin), each piece is parsed and converted on its own, and the items are
/// joined in order. Should any piece fail, the whole file is parsed again in one piece,
/// so a syntax error is reported exactly as a whole-file parse reports it.
pub fn parse_file(file: FileId, text: &str) -> Result<File, Vec<Diagnostic>> {
    parse_file_with(file, text, true)
}

/// [`parse_file`] through the pest path alone, without the hand-written fast path: the
/// same tree or the same diagnostics, slower. For the differential tests that hold the
/// fast path to the pest path.
#[doc(hidden)]
pub fn parse_file_with_pest(file: FileId, text: &str) -> Result<File, Vec<Diagnostic>> {
    parse_file_with(file, text, false)
}

/// The fast path alone: the tree [`parse_file`] gives, or `None` where the fast path
/// leaves the file to the pest path (after the nesting check, which it relies on).
#[doc(hidden)]
pub fn parse_file_fast(file: FileId, text: &str) -> Option<File> {
    crate::depth::check_nesting(file, text).ok()?;
    let items = crate::fast::items(file, text)?;
    Some(File {
        items,
        comments: comments::scan(file, text),
    })
}

fn parse_file_with(file: FileId, text: &str, fast: bool) -> Result<File, Vec<Diagnostic>> {
    // INVARIANT: past this line the text nests at most `MAX_NESTING` deep, so pest's
    // recursion, the converter's and every later stage's are bounded (crate::depth).
    crate::depth::check_nesting(file, text).map_err(|d| vec![d])?;
    let comments = comments::scan(file, text);
    // The common case, by hand and about ten times faster; anything it is unsure of, the
    // pest path below parses again, diagnostics and all (crate::fast).
    if let Some(items) = fast.then(|| crate::fast::items(file, text)).flatten() {
        return Ok(File { items, comments });
    }
    let comment_ends: HashMap<usize, usize> = comments
        .iter()
        .map(|c| (c.span.end as usize, c.span.start as usize))
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let cuts = crate::pieces::cuts(text, threads);
    let parsed = if cuts.len() > 2 {
        crate::pieces::parse(file, text, &cuts, &comment_ends)
    } else {
        None
    };
    let (items, errors) = match parsed {
        Some(done) => done,
        None => {
            items_of(file, text, 0, &comment_ends).map_err(|e| vec![syntax_error(file, text, e)])?
        }
    };
    if errors.is_empty() {
        Ok(File { items, comments })
    } else {
        Err(errors)
    }
}

/// [`items_of`] without pest's error: `None` when the piece does not parse.
pub(crate) fn piece_items(
    file: FileId,
    text: &str,
    base: usize,
    comment_ends: &HashMap<usize, usize>,
) -> Option<(Vec<Item>, Vec<Diagnostic>)> {
    items_of(file, text, base, comment_ends).ok()
}

/// Parses `text` (the piece of a file that starts at byte `base`) as a sequence of
/// items, and converts them: the items and the conversion's errors.
fn items_of(
    file: FileId,
    text: &str,
    base: usize,
    comment_ends: &HashMap<usize, usize>,
) -> Result<(Vec<Item>, Vec<Diagnostic>), pest::error::Error<Rule>> {
    let mut pairs = WritParser::parse(Rule::file, text)?;
    let mut conv = Converter::new(file, text, base, comment_ends);
    let mut items = Vec::new();
    if let Some(root) = pairs.next() {
        for pair in root.into_inner() {
            match pair.as_rule() {
                Rule::schema_block => items.push(Item::Schema(conv.schema(pair))),
                Rule::let_decl => items.push(Item::Let(conv.let_decl(pair))),
                Rule::risk_block => items.push(Item::Risk(conv.risk(pair))),
                Rule::rule_decl => items.push(Item::Rule(conv.rule(pair))),
                Rule::obligations_decl => {
                    items.push(Item::Obligations(conv.obligations_decl(pair)))
                }
                _ => {}
            }
        }
    }
    Ok((items, conv.errors))
}

/// Parses a lone expression (as typed in the REPL).
pub fn parse_expr(file: FileId, text: &str) -> Result<Expr, Vec<Diagnostic>> {
    // INVARIANT: as in `parse_file`, nesting is bounded before pest runs.
    crate::depth::check_nesting(file, text).map_err(|d| vec![d])?;
    let mut pairs =
        WritParser::parse(Rule::expr_only, text).map_err(|e| vec![syntax_error(file, text, e)])?;
    let comment_ends: HashMap<usize, usize> = comments::scan(file, text)
        .iter()
        .map(|c| (c.span.end as usize, c.span.start as usize))
        .collect();
    let mut conv = Converter::new(file, text, 0, &comment_ends);
    let expr = pairs
        .next()
        .and_then(|root| root.into_inner().find(|p| p.as_rule() == Rule::expr))
        .map(|p| conv.expr(p));
    match expr {
        Some(e) if conv.errors.is_empty() => Ok(e),
        Some(_) => Err(conv.errors),
        None => Err(vec![Diagnostic::new(
            "writ::syntax",
            "expected an expression",
            Span::new(file, 0, text.len()),
            "here",
        )]),
    }
}

/// Whether a grammar rule is a keyword token (`kw_…`).
pub(crate) fn is_keyword(rule: Rule) -> bool {
    keyword_text(rule).is_some()
}

/// The text of a keyword rule; `None` for any other rule.
pub(crate) fn keyword_text(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::kw_schema => "schema",
        Rule::kw_let => "let",
        Rule::kw_cidr => "cidr",
        Rule::kw_hours => "hours",
        Rule::kw_risk => "risk",
        Rule::kw_when => "when",
        Rule::kw_rule => "rule",
        Rule::kw_allow => "allow",
        Rule::kw_for => "for",
        Rule::kw_deny => "deny",
        Rule::kw_approve => "approve",
        Rule::kw_approvers => "approvers",
        Rule::kw_of => "of",
        Rule::kw_group => "group",
        Rule::kw_method => "method",
        Rule::kw_bind => "bind",
        Rule::kw_ttl => "ttl",
        Rule::kw_obligations => "obligations",
        Rule::kw_cel => "cel",
        Rule::kw_present => "present",
        Rule::kw_lower => "lower",
        Rule::kw_and => "and",
        Rule::kw_or => "or",
        Rule::kw_not => "not",
        Rule::kw_in => "in",
        Rule::kw_has => "has",
        Rule::kw_any => "any",
        Rule::kw_all => "all",
        Rule::kw_within => "within",
        Rule::kw_matches => "matches",
        _ => return None,
    })
}

#[cfg(test)]
mod piece_tests {
    use super::*;

    #[test]
    fn a_fault_in_a_piece_is_reported_as_the_whole_file_reports_it() {
        let mut text = crate::pieces::tests::big(3000);
        let at = text.len() / 2;
        let at = at + text[at..].find("when").unwrap();
        text.insert_str(at, "when && ");
        let err = parse_file(FileId(0), &text).unwrap_err();
        let ends = HashMap::new();
        let whole = items_of(FileId(0), &text, 0, &ends)
            .map_err(|e| syntax_error(FileId(0), &text, e))
            .unwrap_err();
        assert_eq!(err, vec![whole]);
    }
}
