//! Loads the bundled production-database policies, decides one request and prints the
//! decision JSON and its explanation; then builds the same request without JSON (the
//! typed builder a service uses), decides it borrowing from the engine, and decides a
//! batch of them.
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

    // A service that has the values already skips JSON: each value is typed as binding
    // types it (a wrong type is the same error), straight into the engine's slots.
    let built = engine
        .request()
        .str("principal.id", "alice@example.com")
        .str("principal.kind", "human")
        .strs("principal.groups", ["engineering", "payments-squad"])
        .str("action", "db.orders.write")
        .str("resource.id", "pg-prod-eu1/orders")
        .str("resource.kind", "postgres.table")
        .str("resource.env", "prod")
        .int("resource.sensitivity", 3)
        .str("session.id", "sess-7f3a2c91")
        .str("session.auth_method", "webauthn")
        .str("session.auth_age", "2h")
        .bool("device.managed", true)
        .bool("device.disk_encrypted", true)
        .str("device.patch_age", "6d")
        .str("network.ip", "10.12.4.31")
        .str("time", "2026-11-27T10:15:00Z")
        .strs("scope.requested", ["db.write"])
        .strs("scope.granted", ["db.read", "db.write"])
        .json(
            "request.params",
            writ::serde_json::json!({
                "query": "UPDATE orders SET status = 'refunded' WHERE id = 884213",
                "rows": 1
            }),
        )
        .bool("request.break_glass", false)
        .build()?;
    let same = engine.decide(&built);
    assert_eq!(same, decision, "the builder binds what the JSON binds");

    // On a hot path, the decision borrowed from the engine: nothing copied out of it
    // (an allow or a deny allocates nothing), the same JSON when serialised.
    let borrowed = engine.decide_ref(&built);
    println!(
        "borrowed: {} by {}",
        borrowed.verdict().as_str(),
        borrowed.rules().collect::<Vec<_>>().join(", ")
    );
    assert_eq!(borrowed.to_json(), decision.to_json());

    // Many requests at once: decided in order, spread over the cores when there are many.
    let batch = vec![request, built];
    for d in engine.decide_batch(&batch) {
        println!("batch: {} ({})", d.decision.as_str(), d.rules.join(", "));
    }
    Ok(())
}
