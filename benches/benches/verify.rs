//! Extraction + verification throughput on the Math-Verify suite mix, on long
//! completions, and on hostile inputs.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use verifiers::{verify, Config, Gold};

fn suite_pairs() -> Vec<(String, String)> {
    include_str!("../../fixtures/mathverify/suite.jsonl")
        .lines()
        .filter_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            Some((
                v["gold"].as_str()?.to_string(),
                v["pred"].as_str()?.to_string(),
            ))
        })
        .collect()
}

/// A 16k-character chain of thought with the boxed answer at the end.
fn long_completion(chars: usize) -> String {
    let step = "We expand $(x+1)^2 = x^2 + 2x + 1$ and substitute $x = 3$, which gives 16; then we check the case $x = -5$ as well. ";
    let mut s = String::from("<think>");
    while s.len() < chars {
        s.push_str(step);
    }
    s.push_str("</think>\nTherefore the answer is $\\boxed{\\frac{7}{2}}$.");
    s
}

fn bench(c: &mut Criterion) {
    let pairs = suite_pairs();
    let lenient = Config::lenient();
    let mut group = c.benchmark_group("verify");
    group.throughput(Throughput::Elements(pairs.len() as u64));
    group.bench_function("mathverify_suite_mix", |b| {
        b.iter(|| {
            for (g, p) in &pairs {
                black_box(verify(g, p, &lenient));
            }
        })
    });
    group.throughput(Throughput::Elements(1));
    let long = long_completion(16_000);
    let strict = Config::default();
    group.bench_function("boxed_16k_chars_strict", |b| {
        b.iter(|| black_box(verify("3.5", &long, &strict)))
    });
    group.bench_function("boxed_16k_chars_lenient", |b| {
        b.iter(|| black_box(verify("3.5", &long, &lenient)))
    });
    let gold = Gold::parse("\\frac{7}{2}", &strict);
    group.bench_function("boxed_16k_chars_gold_parsed_once", |b| {
        b.iter(|| black_box(gold.check(&long, &strict)))
    });
    group.bench_function("short_boxed_fraction", |b| {
        b.iter(|| black_box(verify("\\frac12", "so \\boxed{0.5}", &strict)))
    });
    let hostile = [
        ("power_tower", "9^{9^{9^{8}}}".to_string()),
        (
            "nested_parens_200",
            format!("{}1{}", "(".repeat(200), ")".repeat(200)),
        ),
        (
            "list_2000",
            (0..2000)
                .map(|k| k.to_string())
                .collect::<Vec<_>>()
                .join(","),
        ),
        (
            "issue65_tower",
            "\\boxed{\\dfrac{5^{(5^{(5^{(5^5)})} - 4)} - 5}{16}}".to_string(),
        ),
        ("factorial_huge", "\\boxed{100000!}".to_string()),
    ];
    for (name, input) in &hostile {
        group.bench_function(format!("hostile_{name}"), |b| {
            b.iter(|| black_box(verify("9^{9^{9^9}}", input, &lenient)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
