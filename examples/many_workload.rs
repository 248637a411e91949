//! Writes the many-rules-per-action set (`writ_gensets::many`: rules filed under 224
//! exact actions, domain and verb patterns, each testing a resource kind and most an
//! environment, a role, a group) and matching requests, for `writ bench` and
//! `writ explain --tree`.
//!
//! Run: `cargo run --release --example many_workload -- OUT_DIR [RULES]` (10,000 by default)
//! then `writ bench OUT_DIR --requests OUT_DIR/requests.jsonl`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = std::path::PathBuf::from(args.next().ok_or("usage: many_workload OUT_DIR [RULES]")?);
    let rules: usize = match args.next() {
        Some(n) => n
            .parse()
            .map_err(|_| format!("`{n}` is not a number of rules"))?,
        None => 10_000,
    };
    std::fs::create_dir_all(&out)?;
    let w = writ_gensets::many::ManyRules::generate(0x3a11, rules, 2000);
    std::fs::write(out.join("policy.writ"), w.writ_policy())?;
    let mut lines = String::new();
    for r in &w.requests {
        lines.push_str(&serde_json::to_string(&r.writ_json())?);
        lines.push('\n');
    }
    std::fs::write(out.join("requests.jsonl"), lines)?;
    Ok(())
}
