//! "Did you mean ...?": the closest candidate to a misspelt name.

/// The candidate closest to `name`, when one is close enough to be a likely typo.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let limit = (name.chars().count() / 3).clamp(1, 3);
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)))
        .map(|(_, c)| c.to_string())
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn finds_typos_only() {
        let names = ["device.managed", "device.disk_encrypted", "network.ip"];
        assert_eq!(
            closest("device.manged", names).as_deref(),
            Some("device.managed")
        );
        assert_eq!(closest("network.io", names).as_deref(), Some("network.ip"));
        assert_eq!(closest("resource.env", names), None);
    }
}
