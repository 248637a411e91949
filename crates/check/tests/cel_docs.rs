//! docs/language.md lists every CEL function writ supports, and lists nothing else.

const DOCS: &str = include_str!("../../../docs/language.md");

#[test]
fn the_reference_lists_the_cel_functions() {
    let rows: Vec<&str> = DOCS
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with("| `") && l.matches('|').count() >= 4)
        .collect();
    for f in writ_check::CEL_FUNCTIONS {
        let row = format!("| `{}` |", f.name);
        assert!(
            rows.iter().any(|r| r.starts_with(&row)),
            "docs/language.md has no row for the CEL function `{}`",
            f.name
        );
    }
    // Every row of the CEL table names a supported function.
    let start = DOCS.find("| function | signature | example (true) |");
    let table = DOCS[start.unwrap_or(0)..]
        .lines()
        .skip(2)
        .map(str::trim_start)
        .take_while(|l| l.starts_with('|'));
    let mut count = 0;
    for line in table {
        let name = line.split('`').nth(1).unwrap_or_default();
        assert!(
            writ_check::CEL_FUNCTIONS.iter().any(|f| f.name == name),
            "docs/language.md lists `{name}`, which writ's CEL does not have"
        );
        count += 1;
    }
    assert!(start.is_some());
    assert_eq!(count, writ_check::CEL_FUNCTIONS.len());
}
