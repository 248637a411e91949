//! Writes a full-style policy set (`writ_gensets::full_style`: the benchmark workload's
//! 1,000 permits, plus a risk block of 7 signals, `hours` in a time zone, CIDR sets, and
//! approve rules that merge) and 2,000 matching requests, for `writ bench`.
//!
//! Run: `cargo run --release --example full_style_workload -- OUT_DIR [PERMITS]` (1,000 by
//! default)
//! then `writ bench OUT_DIR --requests OUT_DIR/requests.jsonl`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = std::path::PathBuf::from(
        args.next()
            .ok_or("usage: full_style_workload OUT_DIR [PERMITS]")?,
    );
    let permits: usize = match args.next() {
        Some(n) => n
            .parse()
            .map_err(|_| format!("`{n}` is not a number of permits"))?,
        None => 1000,
    };
    std::fs::create_dir_all(&out)?;
    let set = writ_gensets::full_style::full_style(11, permits, 2000);
    std::fs::write(out.join("policy.writ"), &set.policy)?;
    let mut lines = String::new();
    for j in &set.requests {
        lines.push_str(&serde_json::to_string(j)?);
        lines.push('\n');
    }
    std::fs::write(out.join("requests.jsonl"), lines)?;
    Ok(())
}
