//! The two ways this crate reads CBOR, both through ciborium: one whole document, or one
//! item off the front of a longer byte string (a COSE key inside authenticator data).

use ciborium::Value;

/// Parses `bytes` as exactly one CBOR item: trailing bytes are an error.
pub(crate) fn parse(bytes: &[u8]) -> Result<Value, String> {
    let mut rest = bytes;
    let value = read(&mut rest)?;
    if !rest.is_empty() {
        return Err(format!("{} bytes follow the CBOR item", rest.len()));
    }
    Ok(value)
}

/// Splits the first CBOR item off `rest` and returns its exact bytes.
pub(crate) fn split_item<'a>(rest: &mut &'a [u8]) -> Result<&'a [u8], String> {
    let start = *rest;
    let mut cursor = start;
    read(&mut cursor)?;
    let (item, tail) = start.split_at(start.len() - cursor.len());
    *rest = tail;
    Ok(item)
}

/// Reads one item, advancing `cursor` past exactly its bytes (ciborium reads no further
/// than the item it decodes).
fn read(cursor: &mut &[u8]) -> Result<Value, String> {
    ciborium::de::from_reader::<Value, _>(&mut *cursor).map_err(|e| match e {
        ciborium::de::Error::Io(_) => "truncated CBOR".to_string(),
        ciborium::de::Error::Syntax(at) => format!("invalid CBOR at byte {at}"),
        ciborium::de::Error::Semantic(_, msg) => format!("invalid CBOR: {msg}"),
        ciborium::de::Error::RecursionLimitExceeded => "CBOR nested too deeply".to_string(),
    })
}

/// The entries of a CBOR map of at most `max` entries, refusing a key given twice. (The
/// maps read here are small by definition; the bound keeps the duplicate check cheap.)
pub(crate) fn map_entries(
    value: Value,
    what: &str,
    max: usize,
) -> Result<Vec<(Value, Value)>, String> {
    let Value::Map(entries) = value else {
        return Err(format!("{what} is not a CBOR map"));
    };
    if entries.len() > max {
        return Err(format!(
            "{what} has {} entries, at most {max} expected",
            entries.len()
        ));
    }
    for (i, (k, _)) in entries.iter().enumerate() {
        if entries[..i].iter().any(|(other, _)| other == k) {
            return Err(format!("{what} has a key given twice"));
        }
    }
    Ok(entries)
}
