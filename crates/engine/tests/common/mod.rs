//! What the engine's test files share: one policy file checked into a set, its diagnostics
//! rendered when it does not check. Included by each test file with `mod common;`.

#![allow(
    dead_code,
    reason = "each test file uses part of this module; the others see the rest unused"
)]
#![allow(clippy::panic, reason = "tests fail loudly")]

use writ_check::PolicySet;
use writ_engine::Engine;

/// The file `name` holding `text`, checked; `Err` is the rendered diagnostics, then the text.
pub fn checked(name: &str, text: &str) -> Result<PolicySet, String> {
    let mut sources = writ_syntax::SourceMap::default();
    sources.add(name, text.to_string());
    writ_check::check(sources).map_err(|r| {
        format!(
            "{}\n{text}",
            writ_syntax::render(&r.diagnostics, &r.sources, writ_syntax::Style::Plain)
        )
    })
}

/// The engine of the file `name` holding `text`; a text that does not check fails the test
/// with its diagnostics.
pub fn engine_of(name: &str, text: &str) -> Engine {
    Engine::new(checked(name, text).unwrap_or_else(|e| panic!("{e}")))
}
