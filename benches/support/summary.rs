//! The closing table of `cargo bench --bench decide`: every figure of the engine's targets
//! (issue 14), read back from the estimates criterion wrote during this run, side by side
//! and as ratios. Figures whose benchmark did not run (a filter) say so.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// What the run measured outside criterion.
#[derive(Default)]
pub struct Notes {
    /// Heap bytes of the compiled set, by permits.
    pub heap_bytes: Vec<(usize, usize)>,
    /// An `approve` decision with its digest, each timed alone: the median.
    pub approve_p50: Option<Duration>,
    /// The same: the 99th percentile.
    pub approve_p99: Option<Duration>,
    /// The full-style set, per request as `writ bench` times it: permits, median, mean
    /// and p99, ns.
    pub full_style: Vec<(usize, f64, f64, f64)>,
}

/// Requests in one `decide_batch` call of the bench (its whole request list).
const REQUESTS_IN_BATCH: f64 = 10_000.0;

fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    target.join("criterion")
}

/// Every benchmark written since `since`: full id (`decide/1000/writ`) → median, ns.
fn medians(since: SystemTime) -> HashMap<String, f64> {
    let mut out = HashMap::new();
    let mut stack = vec![criterion_dir()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n == "new") {
                    if let Some((id, ns)) = read_new(&path, since) {
                        out.insert(id, ns);
                    }
                } else {
                    stack.push(path);
                }
            }
        }
    }
    out
}

fn read_new(new: &Path, since: SystemTime) -> Option<(String, f64)> {
    let estimates = new.join("estimates.json");
    let written = std::fs::metadata(&estimates).ok()?.modified().ok()?;
    if written < since {
        return None;
    }
    let bench: serde_json::Value =
        serde_json::from_slice(&std::fs::read(new.join("benchmark.json")).ok()?).ok()?;
    let est: serde_json::Value = serde_json::from_slice(&std::fs::read(estimates).ok()?).ok()?;
    Some((
        bench["full_id"].as_str()?.to_string(),
        est["median"]["point_estimate"].as_f64()?,
    ))
}

fn time(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

/// Prints the closing tables.
pub fn print(notes: &Notes, since: SystemTime) {
    let m = medians(since);
    let get = |id: &str| m.get(id).copied();
    println!("\n== every engine, median per decision (this run) ==");
    println!(
        "{:>6} | {:>10} | {:>10} | {:>12} | {:>10} | {:>10} | {:>11}",
        "N", "writ", "rust", "cedar_sliced", "cedar", "regorus", "regorus_rvm"
    );
    for n in [10, 100, 1000, 10_000] {
        let cell = |e: &str| get(&format!("decide/{n}/{e}")).map_or("-".to_string(), time);
        println!(
            "{n:>6} | {:>10} | {:>10} | {:>12} | {:>10} | {:>10} | {:>11}",
            cell("writ"),
            cell("rust"),
            cell("cedar_sliced"),
            cell("cedar"),
            cell("regorus"),
            cell("regorus_rvm")
        );
    }
    println!(
        "\n== the owned decision (`Engine::decide`) beside the borrowed one (`decide_ref`) =="
    );
    for n in [10, 100, 1000, 10_000] {
        let owned = get(&format!("decide/{n}/writ_owned"));
        let borrowed = get(&format!("decide/{n}/writ"));
        if let (Some(o), Some(b)) = (owned, borrowed) {
            println!(
                "{n:>6} | owned {} | borrowed {} | owned / borrowed {:.2}",
                time(o),
                time(b),
                o / b
            );
        }
    }
    println!("\n== ratios to writ (other / writ; below 1 = faster than writ) ==");
    for n in [10, 100, 1000, 10_000] {
        let Some(w) = get(&format!("decide/{n}/writ")) else {
            continue;
        };
        let r = |e: &str| {
            get(&format!("decide/{n}/{e}")).map_or("-".to_string(), |x| format!("{:.2}", x / w))
        };
        println!(
            "{n:>6} | rust {} | cedar_sliced {} | cedar {} | regorus {} | regorus_rvm {}",
            r("rust"),
            r("cedar_sliced"),
            r("cedar"),
            r("regorus"),
            r("regorus_rvm")
        );
    }

    println!("\n== issue 14 targets ==");
    let row = |figure: &str, value: Option<String>, target: &str, met: Option<bool>| {
        let status = match met {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "not run",
        };
        println!(
            "{figure:<52} {:>22}  target {target:<14} {status}",
            value.unwrap_or_else(|| "-".to_string())
        );
    };
    for n in [1000, 10_000] {
        let ratio = get(&format!("decide/{n}/writ"))
            .zip(get(&format!("decide/{n}/rust")))
            .map(|(w, r)| w / r);
        row(
            &format!("writ / hand-written, {n} rules"),
            ratio.map(|x| format!("{x:.2}×")),
            "≤ 1.5×",
            ratio.map(|x| x <= 1.5),
        );
    }
    row(
        "instructions per decision, writ / hand-written",
        Some("benches/instructions.sh".to_string()),
        "≤ 2×",
        None,
    );
    let growth = get("decide/10000/writ")
        .zip(get("decide/10/writ"))
        .map(|(a, b)| a / b);
    row(
        "growth 10 → 10,000 rules",
        growth.map(|x| format!("{x:.2}×")),
        "≤ 1.3×",
        growth.map(|x| x <= 1.3),
    );
    for n in [1000, 10_000] {
        let ratio = get(&format!("decide/{n}/cedar_sliced"))
            .zip(get(&format!("decide/{n}/writ")))
            .map(|(c, w)| c / w);
        row(
            &format!("Cedar sliced by action / writ, {n} rules"),
            ratio.map(|x| format!("{x:.1}×")),
            "≥ 100×",
            ratio.map(|x| x >= 100.0),
        );
    }
    let per_request = |n: usize| notes.full_style.iter().find(|f| f.0 == n).copied();
    let full = per_request(1000);
    row(
        "full style, 1k rules, median over requests",
        full.map(|f| time(f.1)),
        "≤ 250 ns",
        full.map(|f| f.1 <= 250.0),
    );
    row(
        "full style, 1k rules, mean / median (issue 18)",
        full.map(|f| format!("{:.2}×", f.2 / f.1)),
        "≤ 1.5×",
        full.map(|f| f.2 / f.1 <= 1.5),
    );
    let full_growth = per_request(10_000).zip(full).map(|(a, b)| a.1 / b.1);
    row(
        "full style, median 10k / 1k (issue 18)",
        full_growth.map(|x| format!("{x:.2}×")),
        "≤ 1.3×",
        full_growth.map(|x| x <= 1.3),
    );
    let cold = get("full_style/1000/writ");
    row(
        "full style, 1k, criterion (each iteration a new request)",
        cold.map(time),
        "-",
        None,
    );
    for n in [1000, 10_000] {
        let ratio = get(&format!("many/{n}/writ"))
            .zip(get(&format!("many/{n}/rust")))
            .map(|(w, r)| w / r);
        row(
            &format!("many rules per action, {n}: writ / hand-written"),
            ratio.map(|x| format!("{x:.2}×")),
            "(issue 18)",
            None,
        );
    }
    let many_growth = get("many/10000/writ")
        .zip(get("many/1000/writ"))
        .map(|(a, b)| a / b);
    row(
        "many rules per action, writ 10k / 1k (issue 18)",
        many_growth.map(|x| format!("{x:.2}×")),
        "≤ 1.3×",
        many_growth.map(|x| x <= 1.3),
    );
    let approve = get("full_style/1000/approve_with_digest");
    row(
        "approve incl. digest, median (criterion)",
        approve.map(time),
        "≤ 1 µs",
        approve.map(|x| x <= 1000.0),
    );
    let p50 = notes.approve_p50.map(|d| d.as_nanos() as f64);
    row(
        "approve incl. digest, median (each timed alone)",
        p50.map(time),
        "≤ 1 µs",
        p50.map(|x| x <= 1000.0),
    );
    let p99 = notes.approve_p99.map(|d| d.as_nanos() as f64);
    row(
        "approve incl. digest, p99 (each timed alone)",
        p99.map(time),
        "≤ 2 µs",
        p99.map(|x| x <= 2000.0),
    );
    let json = get("writ_from_json/1000/bind_str+decide");
    row(
        "JSON text → bound request → decision, median",
        json.map(time),
        "≤ 1.2 µs",
        json.map(|x| x <= 1200.0),
    );
    let built = get("writ_from_json/1000/builder+decide");
    row(
        "typed builder → decision (no JSON), median",
        built.map(time),
        "-",
        None,
    );
    let batch = get("decide_batch/1000/writ").map(|ns| ns / REQUESTS_IN_BATCH);
    row("decide_batch, per request", batch.map(time), "-", None);
    let compile = get("compile/10000/writ::from_sources");
    row(
        "compile 10,000 rules",
        compile.map(time),
        "≤ 300 ms",
        compile.map(|x| x <= 300e6),
    );
    let heap = notes
        .heap_bytes
        .iter()
        .find(|(n, _)| *n == 10_000)
        .map(|(_, b)| *b as f64 / (1024.0 * 1024.0));
    row(
        "a compiled 10,000-rule set",
        heap.map(|x| format!("{x:.2} MiB")),
        "≤ 4 MiB",
        heap.map(|x| x <= 4.0),
    );
}
