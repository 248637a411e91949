//! Loads the bundled production-database policies, decides one request and prints the
//! decision JSON and its explanation.
//!
//! Run: `cargo run --example decide`

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let engine = writ::load(root.join("policies/prod-database"))?;
    let json =
        std::fs::read_to_string(root.join("policies/prod-database/requests/prod-write.json"))?;
    let request = engine.bind_str(&json)?;

    let decision = engine.decide(&request);
    println!("{}", decision.to_json_pretty());

    let explanation = engine.explain(&request);
    println!("why: {}", explanation.reason);
    for rule in explanation.rules.iter().filter(|r| r.fired) {
        println!("fired: {} ({})", rule.name, rule.effect.as_str());
    }
    Ok(())
}
