//! The engine's part of one `/v1/decide`: a request's JSON text bound to a bundled set
//! and decided, as the server does it, in a loop — for callgrind or perf, without the
//! HTTP stack around it.
//!
//! Run: `cargo run --release --example request_path [SET_DIR] [REQUEST_FILE] [N]`
//! (default: `policies/prod-database`, its `requests/prod-write.json`, 100,000 times).
//! Prints the time per request for binding alone, deciding alone (bound once), and
//! binding, deciding and writing the decision's JSON. `callgrind`:
//! `--toggle-collect='*request_path::bind_loop*'` (or `decide_only_loop`, `decide_loop`).

use std::hint::black_box;
use std::time::Instant;

/// Binds `text` `n` times.
#[inline(never)]
fn bind_loop(engine: &writ::Engine, text: &str, n: usize) -> usize {
    let mut bound = 0;
    for _ in 0..n {
        if engine.bind_str(black_box(text)).is_ok() {
            bound += 1;
        }
    }
    bound
}

/// Decides the bound `req` `n` times (the borrowed decision, as the server reads it).
#[inline(never)]
fn decide_only_loop(engine: &writ::Engine, req: &writ::Request, n: usize) -> usize {
    let mut approvals = 0;
    for _ in 0..n {
        if engine.decide_ref(black_box(req)).approval().is_some() {
            approvals += 1;
        }
    }
    approvals
}

/// Binds and decides `text` `n` times, writing each decision's JSON as the server does.
#[inline(never)]
fn decide_loop(engine: &writ::Engine, text: &str, n: usize) -> usize {
    let mut bytes = 0;
    for _ in 0..n {
        if let Ok(req) = engine.bind_str(black_box(text)) {
            bytes += engine.decide_ref(&req).to_json().len();
        }
    }
    bytes
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .unwrap_or_else(|| "policies/prod-database".to_string());
    let file = args
        .next()
        .unwrap_or_else(|| format!("{dir}/requests/prod-write.json"));
    let n: usize = args.next().map_or(Ok(100_000), |s| s.parse())?;
    let engine = writ::load(&dir)?;
    let text = std::fs::read_to_string(&file)?;
    // `BIND_VALUE=1`: the request decided alone is bound from a parsed value, as the
    // decide bench binds its generated requests, rather than from the text.
    let req = if std::env::var_os("BIND_VALUE").is_some() {
        engine.bind(serde_json::from_str(&text)?)?
    } else {
        engine.bind_str(&text)?
    };
    println!(
        "{file}: {} bytes, {}",
        text.len(),
        engine.decide_ref(&req).verdict().as_str()
    );
    let t = Instant::now();
    black_box(bind_loop(&engine, &text, n));
    let bind = t.elapsed().as_nanos() as f64 / n as f64;
    let t = Instant::now();
    black_box(decide_only_loop(&engine, &req, n));
    let decide = t.elapsed().as_nanos() as f64 / n as f64;
    let t = Instant::now();
    black_box(decide_loop(&engine, &text, n));
    let both = t.elapsed().as_nanos() as f64 / n as f64;
    println!(
        "bind {bind:.0} ns, decide {decide:.0} ns, bind + decide + JSON {both:.0} ns, per request"
    );
    Ok(())
}
