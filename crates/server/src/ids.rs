//! Identifiers the server makes: request ids (when the caller sent no `X-Request-ID`) and
//! decision ids. A random per-process prefix and a counter: unique across replicas
//! without a system call per decision.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::OnceLock;

fn prefix() -> &'static str {
    static PREFIX: OnceLock<String> = OnceLock::new();
    PREFIX.get_or_init(|| {
        let mut b = [0u8; 6];
        if getrandom::fill(&mut b).is_err() {
            // No random source: the process id and start time still separate replicas.
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let mixed = u64::from(std::process::id()) ^ (t as u64);
            b.copy_from_slice(&mixed.to_le_bytes()[..6]);
        }
        b.iter().map(|x| format!("{x:02x}")).collect()
    })
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A new id with `kind` as its first letters (`d_`, `r_`).
pub fn new_id(kind: &str) -> String {
    let n = COUNTER.fetch_add(1, Relaxed);
    format!("{kind}{}{n:x}", prefix())
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_differ() {
        let a = super::new_id("d_");
        let b = super::new_id("d_");
        assert_ne!(a, b);
        assert!(a.starts_with("d_"));
    }
}
