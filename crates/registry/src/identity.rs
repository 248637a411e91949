//! Identities as people and machines compare them, and text as an approver must see it.
//!
//! Separation of duties compares identities (`principal.id`, `principal.on_behalf_of`,
//! approver ids) after [`fold`]: Unicode NFKC, default-ignorable characters removed, and
//! full case folding — so `Frank@example.com`, `frank@example.com` and
//! `ｆｒａｎｋ@example.com` are one person. Displays of request values go through
//! [`visible`], which escapes every character that could hide or reorder text (controls,
//! bidirectional overrides and isolates, zero-width characters), and [`mixed_scripts`]
//! flags identifiers that mix scripts (a Cyrillic `а` in a Latin name).

use unicode_normalization::UnicodeNormalization as _;
use unicode_script::{Script, UnicodeScript as _};

/// An identity as separation of duties compares it: NFKC, without default-ignorable
/// characters (zero-width, bidirectional controls, variation selectors, tags), then case
/// folded, then NFKC again (the shape of Unicode's `NFKC_Casefold`).
///
/// Case folding is `to_uppercase` then `to_lowercase`: Rust's standard library has no
/// full case folding, and this round trip maps every case variant the Unicode folding
/// maps together (`ß` and `SS` → `ss`, final `ς` and `σ` → one form) and a few more (the
/// dotless `ı` joins `i`). Folding more than Unicode does only ever makes two ids count as
/// the same person, which for separation of duties errs on the safe side.
pub fn fold(id: &str) -> String {
    let compatible: String = id.nfkc().filter(|c| !is_ignorable(*c)).collect();
    compatible.to_uppercase().to_lowercase().nfkc().collect()
}

/// Whether two identities are the same person under [`fold`].
pub fn same(a: &str, b: &str) -> bool {
    a == b || fold(a) == fold(b)
}

/// Default-ignorable code points that render as nothing (and so can make two ids look
/// alike): soft hyphen, combining grapheme joiner, Mongolian and other variation
/// selectors, zero-width characters, bidirectional controls, word joiner and invisible
/// operators, the byte order mark, and tags.
fn is_ignorable(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// Whether a character must be shown escaped to an approver: C0 and C1 controls (tab and
/// newline included: they can push text out of sight), bidirectional overrides and
/// isolates (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C), zero-width
/// characters (U+200B–U+200D, U+2060, U+FEFF), and every other default-ignorable or
/// line/paragraph separator.
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || is_ignorable(c)
        || matches!(c, '\u{2028}' | '\u{2029}')
        // Blanks that look like a plain space or like nothing (no-break, ideographic, ...).
        || (c.is_whitespace() && c != ' ')
        || is_blank_glyph(c)
}

/// Characters that are neither white space nor default-ignorable but draw as nothing (or
/// hide the text they wrap): the Braille pattern blank (U+2800), the musical null notehead
/// (U+1D159) and the interlinear annotation marks (U+FFF9–U+FFFB, format characters most
/// fonts draw as nothing). `lee\u{2800}` must not pass for another person than `lee` while
/// looking like `lee`.
fn is_blank_glyph(c: char) -> bool {
    matches!(c, '\u{2800}' | '\u{1D159}' | '\u{FFF9}'..='\u{FFFB}')
}

/// Every [`is_hidden`] character as inclusive ranges of code points, in order: the one
/// list the approval page marks characters by (it is sent with the page's data, so the
/// page and the server never disagree on what is hidden).
pub fn hidden_ranges() -> &'static [(u32, u32)] {
    static RANGES: std::sync::LazyLock<Vec<(u32, u32)>> = std::sync::LazyLock::new(|| {
        let mut out: Vec<(u32, u32)> = Vec::new();
        for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
            if !is_hidden(c) {
                continue;
            }
            let cp = u32::from(c);
            match out.last_mut() {
                Some(last) if last.1 + 1 == cp => last.1 = cp,
                _ => out.push((cp, cp)),
            }
        }
        out
    });
    &RANGES
}

/// `text` with every [`is_hidden`] character written as a visible `\u{…}` escape. (A
/// backslash stays as it is: text that merely looks like an escape hides nothing.)
pub fn visible(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_hidden(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether `text` holds any [`is_hidden`] character.
pub fn has_hidden(text: &str) -> bool {
    text.chars().any(is_hidden)
}

/// The scripts an identifier mixes, when it mixes any (`Latin` and `Cyrillic` in
/// `pаypal` with a Cyrillic `а`): letters of several scripts in one name are how one name
/// imitates another. Common characters (digits, `@`, `.`, `-`) and combining marks belong
/// to every script; Han with Hiragana or Katakana (Japanese) and Han with Hangul (Korean)
/// are one writing system, as Unicode's mixed-script detection (UTS #39) treats them.
pub fn mixed_scripts(text: &str) -> Option<Vec<&'static str>> {
    use unicode_security::MixedScript as _;
    if text.is_single_script() {
        return None;
    }
    let mut names: Vec<&'static str> = Vec::new();
    for c in text.chars() {
        let script = c.script();
        if matches!(script, Script::Common | Script::Inherited | Script::Unknown) {
            continue;
        }
        let name = script.full_name();
        if !names.contains(&name) {
            names.push(name);
        }
    }
    Some(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_compatibility_forms_are_one_identity() {
        assert!(same("Frank@example.com", "frank@example.com"));
        assert!(same("ＦＲＡＮＫ@example.com", "frank@example.com"));
        assert!(same("fran\u{200b}k@example.com", "frank@example.com"));
        assert!(same("STRASSE", "straße"));
        assert!(same("ΟΔΟΣ", "οδοσ"));
        assert!(!same("frank", "frankie"));
        // A Cyrillic `а` is another letter, not a case of the Latin one: not folded together
        // (the registry and displays flag it as mixed scripts instead).
        assert!(!same("\u{0430}nn", "ann"));
    }

    #[test]
    fn hidden_characters_are_shown() {
        assert_eq!(
            visible("a\u{202e}b\u{200b}c\n"),
            "a\\u{202e}b\\u{200b}c\\u{a}"
        );
        assert!(has_hidden("x\u{feff}"));
        // Draws as nothing, yet is neither white space nor default-ignorable.
        assert!(has_hidden("lee\u{2800}"));
        assert_eq!(visible("lee\u{2800}"), "lee\\u{2800}");
        assert!(!has_hidden("plain text; DROP TABLE"));
        // The combining grapheme joiner and the interlinear annotation marks.
        assert!(has_hidden("ann\u{034f}"));
        assert!(has_hidden("ann\u{fff9}x\u{fffa}y\u{fffb}"));
    }

    #[test]
    fn the_ranges_are_exactly_the_hidden_characters() {
        let ranges = hidden_ranges();
        let within = |cp: u32| ranges.iter().any(|&(a, b)| (a..=b).contains(&cp));
        for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
            assert_eq!(within(u32::from(c)), is_hidden(c), "{:x}", u32::from(c));
        }
        assert!(within(0x34f) && within(0xfff9) && within(0xfffb) && within(0xa));
        assert!(ranges.windows(2).all(|w| w[0].1 + 1 < w[1].0));
    }

    #[test]
    fn mixed_scripts_are_named() {
        assert_eq!(mixed_scripts("ann@example.com"), None);
        assert_eq!(
            mixed_scripts("\u{0430}nn@example.com"),
            Some(vec!["Cyrillic", "Latin"])
        );
        assert_eq!(mixed_scripts("payments.transfer"), None);
        assert_eq!(mixed_scripts("日本語カタカナ"), None);
    }
}
