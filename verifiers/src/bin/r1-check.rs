//! `r1-check`: the standalone answer checker.
//!
//! Exit codes: 0 correct, 1 incorrect (or no answer), 2 usage or input error.

use anyhow::{bail, Context, Result};
use clap::Parser;
use serde::Deserialize;
use serde_json::json;
use std::io::{BufRead, BufWriter, Write};
use std::time::Instant;
use verifiers::{Config, Gold, Mode, Verdict};

/// Check whether a model's final answer matches the gold answer.
#[derive(Parser, Debug)]
#[command(
    name = "r1-check",
    version,
    after_help = "Examples:\n  r1-check --gold '\\frac12' --pred 'so \\boxed{0.5}'\n  r1-check --jsonl pairs.jsonl > verdicts.jsonl"
)]
struct Args {
    /// Gold (reference) answer.
    #[arg(long, requires = "pred", conflicts_with = "jsonl")]
    gold: Option<String>,
    /// Model completion (or just its answer).
    #[arg(long, requires = "gold")]
    pred: Option<String>,
    /// Read `{"gold": ..., "pred": ...}` lines from FILE (`-` for stdin).
    #[arg(long, value_name = "FILE")]
    jsonl: Option<String>,
    /// Only accept `\boxed{}` / `<answer>` answers (the reward setting).
    #[arg(long)]
    strict: bool,
    /// Print the single-pair verdict as JSON.
    #[arg(long)]
    json: bool,
    /// Read `1,5` as one and a half.
    #[arg(long)]
    decimal_comma: bool,
    /// Worker threads for `--jsonl` (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Add per-line checking time in microseconds (`micros`) to `--jsonl` output.
    #[arg(long)]
    timings: bool,
}

#[derive(Deserialize)]
struct Pair {
    gold: String,
    pred: String,
}

fn main() {
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    match run(&args) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("r1-check: {e:#}");
            std::process::exit(2);
        }
    }
}

fn run(args: &Args) -> Result<i32> {
    let mut config = Config::default();
    config.extract.mode = if args.strict {
        Mode::Strict
    } else {
        Mode::Lenient
    };
    config.extract.decimal_comma = args.decimal_comma;
    if let Some(path) = &args.jsonl {
        return run_jsonl(path, &config, args);
    }
    let (Some(gold), Some(pred)) = (&args.gold, &args.pred) else {
        bail!("give --gold and --pred, or --jsonl FILE (see --help)");
    };
    let verdict = verifiers::verify(gold, pred, &config);
    if args.json {
        println!("{}", serde_json::to_string(&verdict)?);
    } else {
        print_human(&verdict);
    }
    Ok(if verdict.is_correct() { 0 } else { 1 })
}

fn print_human(v: &Verdict) {
    println!("{}: {}", v.status.as_str(), v.reason);
    if let Some(e) = &v.extracted {
        println!("  extracted: {e}");
    }
    if let Some(r) = v.rule {
        println!(
            "  rule:      {}",
            serde_json::to_value(r)
                .ok()
                .and_then(|x| x.as_str().map(str::to_string))
                .unwrap_or_default()
        );
    }
    if let Some(g) = &v.gold_canonical {
        println!("  gold:      {g}");
    }
    if let Some(p) = &v.pred_canonical {
        println!("  answer:    {p}");
    }
}

/// One output line for one input line (a malformed line gets an error line).
fn check_line(line: &str, config: &Config, timings: bool) -> (String, Option<bool>) {
    let start = Instant::now();
    let (mut value, outcome) = match serde_json::from_str::<Pair>(line) {
        Ok(pair) => {
            let v = Gold::parse(&pair.gold, config).check(&pair.pred, config);
            let correct = v.is_correct();
            (
                serde_json::to_value(&v).unwrap_or_else(|e| json!({"error": e.to_string()})),
                Some(correct),
            )
        }
        Err(e) => (
            json!({"correct": false, "error": format!("malformed line: {e}"), "reason": "malformed input line", "extracted": null}),
            None,
        ),
    };
    if timings {
        value["micros"] = json!(start.elapsed().as_secs_f64() * 1e6);
    }
    (value.to_string(), outcome)
}

fn run_jsonl(path: &str, config: &Config, args: &Args) -> Result<i32> {
    let reader: Box<dyn BufRead> = if path == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::io::BufReader::new(
            std::fs::File::open(path).with_context(|| format!("cannot open {path}"))?,
        ))
    };
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let mut out = BufWriter::new(std::io::stdout().lock());
    let (mut correct, mut incorrect, mut malformed) = (0usize, 0usize, 0usize);
    let started = Instant::now();
    let mut batch: Vec<String> = Vec::with_capacity(4096);
    let mut lines = reader.lines();
    loop {
        batch.clear();
        for line in lines.by_ref() {
            let line = line.with_context(|| format!("reading {path}"))?;
            if line.trim().is_empty() {
                continue;
            }
            batch.push(line);
            if batch.len() == 4096 {
                break;
            }
        }
        if batch.is_empty() {
            break;
        }
        // Order is kept: each thread takes a contiguous slice.
        let chunk = batch.len().div_ceil(threads);
        let results: Vec<(String, Option<bool>)> = std::thread::scope(|s| {
            let handles: Vec<_> = batch
                .chunks(chunk)
                .map(|lines| {
                    s.spawn(move || {
                        lines
                            .iter()
                            .map(|l| check_line(l, config, args.timings))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        });
        for (text, outcome) in results {
            writeln!(out, "{text}")?;
            match outcome {
                Some(true) => correct += 1,
                Some(false) => incorrect += 1,
                None => malformed += 1,
            }
        }
    }
    out.flush()?;
    let total = correct + incorrect + malformed;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "r1-check: {total} lines, {correct} correct, {incorrect} not correct, {malformed} malformed; {:.3} s ({:.0} lines/s on {threads} threads)",
        secs,
        total as f64 / secs.max(1e-9)
    );
    Ok(0)
}
