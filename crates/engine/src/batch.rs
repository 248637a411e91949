//! A batch body, `{"requests": [...]}`, read as the texts of its items, for a service that
//! binds each with [`crate::Engine::bind_str`] rather than parsing the whole body to a tree.

use serde::Deserialize;
use serde_json::value::RawValue;

/// The envelope: `requests` and no other key (a second `requests` is refused too).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope<'a> {
    #[serde(borrow)]
    requests: Vec<&'a RawValue>,
}

/// The texts of a batch's items, in order, borrowed from `text`: `None` unless `text` is
/// one JSON object whose only key is `requests` and whose value is an array.
///
/// Only the envelope is read here: each item is whatever JSON value stands in its place
/// (a key twice inside an item, or a number the request form cannot hold, is left for the
/// binder, which applies every strict rule to each item's text). A service that takes
/// this path must fall back to reading the whole body strictly when any item fails to
/// bind, so that the refusal is worded for the body as a whole.
pub fn batch_items(text: &str) -> Option<Vec<&str>> {
    let envelope: Envelope<'_> = serde_json::from_str(text).ok()?;
    Some(envelope.requests.iter().map(|item| item.get()).collect())
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
        for not in [
            "{\"requests\": [], \"requests\": []}",
            "{\"requests\": [], \"action\": \"a\"}",
            "{\"requests\": {}}",
            "{\"requests\": [1,]}",
            "{\"requests\": []} x",
            "\u{feff}{\"requests\": []}",
            "[]",
            "",
        ] {
            assert_eq!(batch_items(not), None, "{not}");
        }
    }
}
