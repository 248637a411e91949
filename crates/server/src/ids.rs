//! Identifiers the server makes: request ids (when the caller sent no `X-Request-ID`) and
//! decision ids. A random per-process prefix and a counter: unique across replicas
//! without a system call per decision ([`writ_approvals::unique_id`]).

/// A new id with `kind` as its first letters (`d_`, `r_`).
pub fn new_id(kind: &'static str) -> String {
    writ_approvals::unique_id(kind)
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
