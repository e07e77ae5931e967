//! What a refused path costs: `cargo bench -p rendition-sign --bench reject`.
//!
//! Every hostile path is refused by `KeyRing::verify` before any storage read (the service's
//! tests prove that with a store that counts calls), so its cost is the cost of parsing and,
//! for a well-formed path, one HMAC-SHA256. Medians of 15 rounds, in µs per path; the figures
//! are written down in bench/REJECT.md. Under `cargo test` (no `--bench` argument) this only
//! checks that every case is refused, once.

use std::hint::black_box;
use std::time::Instant;

use rendition_sign::ops::{Format, Ops};
use rendition_sign::request::KeyRing;

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let keys = KeyRing::from_spec("k1:0123456789abcdef0123456789abcdef").unwrap();
    let ops = Ops {
        width: Some(640),
        ..Ops::default()
    };
    let valid = keys
        .sign_new("photos/2024/holiday/beach.jpg", ops, Format::Webp)
        .unwrap();
    let sig_at = valid.find("/k1.").unwrap() + 4;
    let mut tampered_sig = valid.clone().into_bytes();
    tampered_sig[sig_at + 5] ^= 1;
    let cases: Vec<(&str, String)> = vec![
        ("valid (accepted)", valid.clone()),
        (
            "tampered signature",
            String::from_utf8(tampered_sig).unwrap(),
        ),
        ("tampered source", valid.replacen("beach", "beadh", 1)),
        ("unknown key id", valid.replacen("/k1.", "/k9.", 1)),
        ("non-canonical ops", valid.replacen("/w640", "/w0640", 1)),
        ("dot segment", valid.replacen("/holiday/", "/./", 1)),
        (
            "over-long path (10 kB)",
            format!("{valid}{}", "a".repeat(10_000)),
        ),
        ("not a rendition path", "/index.html".to_string()),
    ];
    if !bench {
        for (name, path) in &cases {
            assert_eq!(
                keys.verify(path).is_ok(),
                name.starts_with("valid"),
                "{name}"
            );
        }
        return;
    }
    const PER_ROUND: u32 = 20_000;
    println!("| path | µs per verify (median of 15 rounds of {PER_ROUND}) |");
    println!("| --- | --- |");
    for (name, path) in &cases {
        let mut rounds: Vec<f64> = (0..15)
            .map(|_| {
                let t = Instant::now();
                for _ in 0..PER_ROUND {
                    let _ = black_box(keys.verify(black_box(path)));
                }
                t.elapsed().as_secs_f64() * 1e6 / f64::from(PER_ROUND)
            })
            .collect();
        rounds.sort_by(f64::total_cmp);
        println!("| {name} | {:.2} |", rounds[7]);
    }
}
