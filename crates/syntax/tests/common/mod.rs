//! What the syntax crate's property tests share: a file made of generated items.

use proptest::prelude::*;

/// Up to five items joined by whitespace, with comments (whose text matches the regex
/// `comment`) sprinkled before them.
pub fn file_of(
    item: impl Strategy<Value = String>,
    comment: &'static str,
) -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            item,
            prop::option::of(comment),
            prop::sample::select(vec![" ", "\n", "\n\n", "  \n\t"]),
        ),
        0..6,
    )
    .prop_map(|items| {
        let mut out = String::new();
        for (item, comment, sep) in items {
            if let Some(c) = comment {
                out.push_str(&format!("# {c}\n"));
            }
            out.push_str(&item);
            out.push_str(sep);
        }
        out
    })
}
