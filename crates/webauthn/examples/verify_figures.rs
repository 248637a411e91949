//! Prints the median time of one `verify_assertion`, ES256 and EdDSA, over N runs each:
//! `cargo run --release -p writ-webauthn --features soft --example verify_figures [N]`.
//!
//! Each run verifies a fresh assertion (its own counter) against the credential whose
//! stored count is the previous run's, as in production: parsing the stored COSE key,
//! the client data and the authenticator data, the signature, the count.

use std::time::{Duration, Instant};

use writ_webauthn::soft::SoftAuthenticator;
use writ_webauthn::{register, verify_assertion, RelyingParty, WebauthnError};

const RP_ID: &str = "approve.example.com";
const ORIGIN: &str = "https://approve.example.com";

fn median_verify(
    rp: &RelyingParty,
    mut auth: SoftAuthenticator,
    runs: usize,
) -> Result<Duration, WebauthnError> {
    let mut credential = register(
        rp,
        b"registration",
        &auth.register(RP_ID, ORIGIN, b"registration"),
    )?
    .credential;
    let digest = [0x5a; 32];
    // Assertions are made before timing: only verification is measured.
    let assertions: Vec<_> = (0..runs)
        .map(|_| auth.assert(RP_ID, ORIGIN, &digest, true))
        .collect();
    let mut times = Vec::with_capacity(runs);
    for assertion in &assertions {
        let start = Instant::now();
        let verified = verify_assertion(rp, &credential, &digest, assertion)?;
        times.push(start.elapsed());
        credential.sign_count = verified.sign_count;
    }
    times.sort_unstable();
    Ok(times.get(times.len() / 2).copied().unwrap_or_default())
}

fn main() -> Result<(), WebauthnError> {
    let runs = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(2000usize)
        .max(1);
    let rp = RelyingParty::new(RP_ID, [ORIGIN]);
    let es256 = median_verify(&rp, SoftAuthenticator::es256(b"figures"), runs)?;
    let eddsa = median_verify(&rp, SoftAuthenticator::ed25519(b"figures"), runs)?;
    let rs256 = median_verify(&rp, SoftAuthenticator::rs256(b"figures"), runs)?;
    println!("verify_assertion, median of {runs} runs each:");
    println!("  ES256 (P-256)   {:>8.1} µs", es256.as_secs_f64() * 1e6);
    println!("  EdDSA (Ed25519) {:>8.1} µs", eddsa.as_secs_f64() * 1e6);
    println!("  RS256 (2048)    {:>8.1} µs", rs256.as_secs_f64() * 1e6);
    Ok(())
}
