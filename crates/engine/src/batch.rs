//! A batch body, `{"requests": [...]}`, read as the texts of its items, for a service that
//! binds each with [`crate::Engine::bind_str`] rather than parsing the whole body to a tree.
//!
//! The envelope is read by hand, one pass over the bytes that only finds where each item
//! starts and ends (strings skipped eight bytes at a time): a third of what a JSON parser
//! spends checking every item's syntax, which the binder checks again anyway.

use crate::stream::plain_run;

/// The texts of a batch's items, in order, borrowed from `text`: `None` unless `text` is
/// one JSON object whose only key is `requests` (written as that literal, unescaped)
/// and whose value is an array.
///
/// Only the envelope is read here: each item is whatever text stands in its place, found
/// by its brackets and strings, not checked (an item that is not JSON, a key twice
/// inside an item, a number the request form cannot hold, are left for the binder, which
/// applies every strict rule to each item's text). A service that takes this path must
/// fall back to reading the whole body strictly when any item fails to bind, so that the
/// refusal is worded for the body as a whole. Whenever every item is strict JSON, so is
/// the whole body (the `batch` fuzz target holds this).
pub fn batch_items(text: &str) -> Option<Vec<&str>> {
    let b = text.as_bytes();
    let mut at = ws(b, 0);
    for token in [&b"{"[..], b"\"requests\"", b":", b"["] {
        at = ws(
            b,
            b.get(at..)?.strip_prefix(token).map(|_| at + token.len())?,
        );
    }
    let mut items = Vec::new();
    if b.get(at) == Some(&b']') {
        at += 1;
    } else {
        loop {
            let end = value_end(b, at)?;
            items.push(text.get(at..end)?);
            at = ws(b, end);
            match b.get(at)? {
                b',' => at = ws(b, at + 1),
                b']' => {
                    at += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    at = ws(b, at);
    (b.get(at) == Some(&b'}') && ws(b, at + 1) == b.len()).then_some(items)
}

/// Past JSON whitespace from `at`.
fn ws(b: &[u8], mut at: usize) -> usize {
    while matches!(b.get(at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        at += 1;
    }
    at
}

/// Where the string whose opening quote is at `at` ends (past its closing quote).
fn string_end(b: &[u8], mut at: usize) -> Option<usize> {
    at += 1;
    loop {
        at = plain_run(b, at);
        match b.get(at)? {
            b'"' => return Some(at + 1),
            // An escape: the next byte is never the end (a `\"` is no closing quote).
            b'\\' => at += 2,
            // A control character: not JSON, left for the binder to refuse.
            _ => at += 1,
        }
    }
}

/// Where the value starting at `at` ends: an object or an array at its matching bracket,
/// a string at its closing quote, anything else at the next delimiter.
fn value_end(b: &[u8], at: usize) -> Option<usize> {
    match *b.get(at)? {
        b'{' | b'[' => {
            let (mut depth, mut i) = (0usize, at);
            loop {
                match *b.get(i)? {
                    b'"' => {
                        i = string_end(b, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        b'"' => string_end(b, at),
        b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r' => None,
        _ => {
            let mut i = at;
            while !matches!(
                b.get(i),
                None | Some(b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r')
            ) {
                i += 1;
            }
            Some(i)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::batch_items;

    #[test]
    fn only_the_envelope_alone_is_a_batch() {
        assert_eq!(
            batch_items(" {\"requests\": [ {\"action\": \"a\"}, 7 ,[]]}\n"),
            Some(vec!["{\"action\": \"a\"}", "7", "[]"])
        );
        assert_eq!(batch_items("{\"requests\": []}"), Some(vec![]));
        assert_eq!(
            batch_items("{\"requests\":[{\"a\":\"]}\\\"[\"},\"x\",{\"b\":[{}]}]}"),
            Some(vec!["{\"a\":\"]}\\\"[\"}", "\"x\"", "{\"b\":[{}]}"])
        );
        for not in [
            "{\"requests\": [], \"requests\": []}",
            "{\"requests\": [], \"action\": \"a\"}",
            "{\"requests\": {}}",
            "{\"requests\": [1,]}",
            "{\"requests\": [,1]}",
            "{\"requests\": [{\"a\": \"]\"}",
            "{\"requests\": [{\"a\": \"\\\"]}\"}]}\"}",
            "{\"re\\u0071uests\": []}",
            "{\"requests\": [{}] ",
            "{\"requests\": [{}]}}",
            "{\"requests\": [{}]}\u{c}",
            "{\"requests\": []} x",
            "\u{feff}{\"requests\": []}",
            "[]",
            "",
        ] {
            assert_eq!(batch_items(not), None, "{not}");
        }
    }
}
