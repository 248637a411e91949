//! Parsing a large file in pieces, on several threads (`crate::parser::parse_file`): where
//! to cut it, and the pieces parsed and joined in order.

use std::collections::HashMap;

use crate::ast::Item;
use crate::diagnostic::Diagnostic;
use crate::source::FileId;

/// Below this many bytes a file is parsed in one piece.
const PIECE_BYTES: usize = 64 * 1024;

/// Where to cut `text` for parsing in pieces: `0`, the starts of the pieces after the
/// first, and `text.len()`. Cuts fall before a line that starts with `rule "` outside
/// any bracket, string or comment, about every [`PIECE_BYTES`] (at most one piece per
/// core).
pub(crate) fn cuts(text: &str, threads: usize) -> Vec<usize> {
    let mut cuts = vec![0];
    if threads < 2 || text.len() < 2 * PIECE_BYTES {
        cuts.push(text.len());
        return cuts;
    }
    let per_piece = (text.len() / threads).max(PIECE_BYTES);
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut line_start = true;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if line_start
            && depth == 0
            && i >= cuts.last().copied().unwrap_or(0) + per_piece
            && bytes.get(i..i + 5) == Some(b"rule ")
            && bytes[i + 5..]
                .iter()
                .find(|c| !matches!(c, b' ' | b'\t'))
                .is_some_and(|c| *c == b'"')
        {
            cuts.push(i);
        }
        line_start = b == b'\n';
        if let Some(past) = crate::lexical::skip_opaque(bytes, i) {
            i = past;
            continue;
        }
        match b {
            b'{' | b'(' | b'[' => depth += 1,
            b'}' | b')' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    cuts.push(text.len());
    cuts
}

/// Parses the pieces between `cuts` on threads of their own; `None` when one fails (the
/// caller parses the whole file for the error).
pub(crate) fn parse(
    file: FileId,
    text: &str,
    cuts: &[usize],
    comment_ends: &HashMap<usize, usize>,
) -> Option<(Vec<Item>, Vec<Diagnostic>)> {
    let results: Vec<Option<(Vec<Item>, Vec<Diagnostic>)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = cuts
            .windows(2)
            .map(|w| {
                let (a, b) = (w[0], w[1]);
                scope.spawn(move || {
                    let piece = text.get(a..b)?;
                    crate::parser::piece_items(file, piece, a, comment_ends)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().ok().flatten())
            .collect()
    });
    let mut items = Vec::new();
    let mut errors = Vec::new();
    for r in results {
        let (i, e) = r?;
        items.extend(i);
        errors.extend(e);
    }
    Some((items, errors))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A large file with what could fool the cutter: `rule "` in strings and comments,
    /// brackets in strings, indented rules, lets and schemas between rules.
    pub(crate) fn big(rules: usize) -> String {
        let mut text = String::from("schema { resource.env: \"prod\" | \"dev\" }\n");
        for i in 0..rules {
            match i % 5 {
                0 => text.push_str(&format!(
                    "# rule \"not a rule {i}\" {{\nrule \"r{i}\" {{\n  when action == \"a{i}\" and device.managed\n  deny \"no {{ rule \\\"x\\\" [\"\n}}\n"
                )),
                1 => text.push_str(&format!(
                    "let l{i} = [\"rule \\\"\", \"{{\"]\nrule \"r{i}\" {{ when action in l{i} allow }}\n"
                )),
                2 => text.push_str(&format!(
                    "  rule \"r{i}\" {{ when (action == \"x\" or\nresource.env == \"prod\") allow for 5m }}  # trailing\n"
                )),
                3 => text.push_str(&format!(
                    "rule \"r{i}\" {{\n  when risk > 3\n  approve {{ approvers 1 of group \"g\" bind action }}\n}}\n"
                )),
                _ => text.push_str(&format!(
                    "rule    \"r{i}\" {{ when action == \"b\" deny }}\nrisk {{ +{i} \"s{i}\" when not device.managed }}\n"
                )),
            }
        }
        text
    }

    #[test]
    fn pieces_parse_to_the_whole_files_items() {
        let text = big(3000);
        assert!(text.len() > 4 * PIECE_BYTES);
        for threads in [2, 3, 8] {
            let cuts = cuts(&text, threads);
            assert!(cuts.len() > 2, "{cuts:?}");
            for c in &cuts[1..cuts.len() - 1] {
                assert!(text[*c..].starts_with("rule "), "{}", &text[*c..*c + 20]);
            }
            let comments = crate::comments::scan(FileId(0), &text);
            let ends: HashMap<usize, usize> = comments
                .iter()
                .map(|c| (c.span.end as usize, c.span.start as usize))
                .collect();
            let joined = parse(FileId(0), &text, &cuts, &ends).unwrap();
            let one = crate::parser::piece_items(FileId(0), &text, 0, &ends).unwrap();
            assert_eq!(joined.0, one.0);
            assert_eq!(joined.1, one.1);
        }
        assert_eq!(cuts(&text, 1), vec![0, text.len()]);
        assert_eq!(cuts("rule \"x\" { allow }", 8).len(), 2);
    }
}
