//! The lexical rules of literals, both ways: how the text of a string, integer, number,
//! duration or risk points literal reads as a value (the tree builders use these), how a
//! value is written back as text (the formatter and every message that quotes a value),
//! and how a scanner steps over a comment or a string without a parser.

/// The value of an integer literal; `None` when it does not fit an `i64`.
pub fn parse_int(text: &str) -> Option<i64> {
    text.parse::<i64>().ok()
}

/// The value of risk points as written in a signal (`+20`, `-5`, `7`); `None` when out of
/// range. [`points_text`] is the inverse.
pub fn parse_points(text: &str) -> Option<i64> {
    parse_int(text.trim_start_matches('+'))
}

/// The value of a number literal (`0.5`, `-2.25`); `None` when it does not read as an
/// `f64`. The literal keeps its text, which the formatter prints back.
pub fn parse_number(text: &str) -> Option<f64> {
    text.parse::<f64>().ok()
}

/// Seconds in a duration literal such as `1h30m`; `None` on overflow or bad text.
pub fn parse_duration(text: &str) -> Option<u64> {
    let mut total: u64 = 0;
    let mut number: u64 = 0;
    let mut digits = 0;
    for c in text.chars() {
        if let Some(d) = c.to_digit(10) {
            number = number.checked_mul(10)?.checked_add(u64::from(d))?;
            digits += 1;
        } else {
            let unit = match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86400,
                _ => return None,
            };
            if digits == 0 {
                return None;
            }
            total = total.checked_add(number.checked_mul(unit)?)?;
            number = 0;
            digits = 0;
        }
    }
    (digits == 0 && !text.is_empty()).then_some(total)
}

/// The value of a string literal's body (between its quotes): escapes `\"`, `\\`, `\n`,
/// `\t`, `\r` and `\u{HEX}` resolved; the message for the first bad escape. [`quote`] is
/// the inverse.
pub fn unescape(body: &str) -> Result<String, String> {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('u') => {
                if chars.next() != Some('{') {
                    return Err("write a unicode escape as `\\u{HEX}`".to_string());
                }
                let hex: String = chars.by_ref().take_while(|c| *c != '}').collect();
                let ch = u32::from_str_radix(&hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| format!("`\\u{{{hex}}}` is not a valid character"))?;
                out.push(ch);
            }
            other => {
                return Err(format!(
                    "unknown escape `\\{}`",
                    other.map(String::from).unwrap_or_default()
                ))
            }
        }
    }
    Ok(out)
}

/// Quotes a string value as a writ string literal ([`unescape`] reads it back).
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Seconds as a duration literal, largest unit first and compound where needed
/// (`90s` is `1m30s`, `5400` is `1h30m`, `3601` is `1h1s`, `0` is `0s`); what
/// [`crate::parse_duration`] reads back as the same number of seconds.
pub fn duration_text(seconds: u64) -> String {
    if seconds == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let mut rest = seconds;
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}

/// Risk points as written in a signal: a sign always (`+20`, `-5`); what
/// [`parse_points`] reads back.
pub fn points_text(points: i64) -> String {
    if points >= 0 {
        format!("+{points}")
    } else {
        points.to_string()
    }
}

/// Past the comment or string literal that starts at `i` (text a scanner for brackets
/// and words must not look into); `None` when neither starts there.
pub(crate) fn skip_opaque(bytes: &[u8], i: usize) -> Option<usize> {
    match bytes.get(i).copied()? {
        b'#' => Some(skip_comment(bytes, i)),
        b'"' => Some(skip_string(bytes, i)),
        _ => None,
    }
}

/// Past the `#` comment that starts at `i`: the index of the newline that ends it, or the
/// end of `bytes`.
pub(crate) fn skip_comment(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(|&c| c != b'\n') {
        i += 1;
    }
    i
}

/// Past the string literal whose opening quote is at `i`: the index after its closing
/// quote, or of the newline or end where an unterminated one stops (strings cannot span
/// lines; the parser reports an unterminated one).
pub(crate) fn skip_string(bytes: &[u8], mut i: usize) -> usize {
    i += 1;
    while let Some(&c) = bytes.get(i) {
        match c {
            b'\\' => i += 2,
            b'"' => return i + 1,
            b'\n' => return i,
            _ => i += 1,
        }
    }
    i
}
