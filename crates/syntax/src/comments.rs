//! Finds the `#` comments of a file (outside string literals) so the formatter can keep them.

use crate::ast::Comment;
use crate::source::{FileId, Span};

/// Every comment in `text`, in order. Strings are skipped, so `"#1"` is not a comment.
pub fn scan(file: FileId, text: &str) -> Vec<Comment> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut in_string = false;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' | b'\n' => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'#' => {
                let end = text[i..].find('\n').map_or(text.len(), |n| i + n);
                let body = text[i..end].trim_end();
                out.push(Comment {
                    text: body.to_string(),
                    span: Span::new(file, i, i + body.len()),
                });
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}
