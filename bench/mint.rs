//! Minting cost per token (with a session token), against botocore's in-process cost for
//! the same work measured in the same run. Run with `cargo bench --bench mint`.
//!
//! The Python baseline needs AWS's generator: `scripts/test-deps` installs it into
//! `target/test-env/venv` (or point `BEDPROV_TEST_PYTHON` at a Python that has it).

use aws_credential_types::Credentials;
use bedprov::region::Region;
use bedprov::token::mint;
use bedprov::ttl::Ttl;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

const ITERATIONS: u32 = 20_000;
const ROUNDS: usize = 7;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn bedprov_ns_per_token() -> f64 {
    let creds = Credentials::new(
        "ASIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        Some("EXAMPLE+session/token=".repeat(40)),
        None,
        "bench",
    );
    let region = Region::parse("us-east-1").unwrap();
    let ttl = Ttl::default();
    let now = SystemTime::now();
    for _ in 0..1000 {
        std::hint::black_box(mint(&creds, &region, ttl, now).unwrap());
    }
    let rounds = (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            for i in 0..ITERATIONS {
                let at = now + Duration::from_secs(u64::from(i));
                std::hint::black_box(mint(&creds, &region, ttl, std::hint::black_box(at)).unwrap());
            }
            start.elapsed().as_secs_f64() * 1e9 / f64::from(ITERATIONS)
        })
        .collect();
    median(rounds)
}

fn python() -> Option<PathBuf> {
    let path = std::env::var_os("BEDPROV_TEST_PYTHON").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-env/venv/bin/python"),
        PathBuf::from,
    );
    path.exists().then_some(path)
}

fn botocore_ns_per_token() -> Option<f64> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench/python_mint.py");
    let output = std::process::Command::new(python()?).arg(script).arg("2000").output().ok()?;
    String::from_utf8(output.stdout).ok()?.trim().parse().ok()
}

fn main() {
    // `cargo test --benches` runs bench targets with --bench absent: keep that instant.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let ours = bedprov_ns_per_token();
    println!("| work (one token, with session token) | time per token | ratio |");
    println!("|---|---|---|");
    println!("| bedprov mint (Rust, in-process) | {:.2} µs | 1.00 |", ours / 1000.0);
    match botocore_ns_per_token() {
        Some(theirs) => println!(
            "| botocore via aws-bedrock-token-generator (Python, in-process) | {:.2} µs | {:.1}× slower |",
            theirs / 1000.0,
            theirs / ours
        ),
        None => println!("| botocore baseline | not measured: run scripts/test-deps first | – |"),
    }
}
