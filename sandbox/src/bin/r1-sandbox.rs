//! `r1-sandbox`: judge Python solutions from JSONL in wasmtime.
//!
//! ```text
//! r1-sandbox judge --jsonl problems.jsonl > verdicts.jsonl
//! r1-sandbox setup                      # provision the runtime ahead of time
//! ```

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use sandbox::{EngineOptions, Problem, Sandbox, TestReport};
use serde_json::json;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::time::Instant;

#[derive(Parser)]
#[command(
    name = "r1-sandbox",
    version,
    about = "Judge untrusted Python in wasmtime"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Judge problems (one JSON object per line) and print one verdict line per problem.
    Judge {
        /// Input file, or `-` for stdin.
        #[arg(long, value_name = "FILE|-")]
        jsonl: String,
        /// Worker threads (0 = all cores).
        #[arg(long, default_value_t = 0)]
        threads: usize,
        /// Meter fuel so `limits.fuel` budgets give load-independent time limits.
        #[arg(long)]
        fuel: bool,
        /// Leave out per-case details.
        #[arg(long)]
        brief: bool,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Build and cache the Python runtime now (it is otherwise built on first use).
    Setup {
        #[arg(long)]
        fuel: bool,
    },
}

fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("r1-sandbox: {err:#}");
            std::process::ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<std::process::ExitCode> {
    match cli.command {
        Command::Setup { fuel } => {
            let started = Instant::now();
            Sandbox::new(
                EngineOptions {
                    fuel,
                    ..Default::default()
                },
                1,
            )?;
            eprintln!(
                "runtime ready in {:.1} s (cache: {})",
                started.elapsed().as_secs_f64(),
                sandbox::runtime::cache_dir().display()
            );
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::Judge {
            jsonl,
            threads,
            fuel,
            brief,
            quiet,
        } => judge(&jsonl, threads, fuel, brief, quiet),
    }
}

fn judge(
    path: &str,
    threads: usize,
    fuel: bool,
    brief: bool,
    quiet: bool,
) -> Result<std::process::ExitCode> {
    let reader: Box<dyn Read> = if path == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path).with_context(|| format!("cannot open {path}"))?)
    };
    // Parse everything first so a malformed line is reported in place and loses nothing.
    let mut inputs: Vec<Result<Problem, String>> = Vec::new();
    for (number, line) in BufReader::new(reader).lines().enumerate() {
        let line = line.with_context(|| format!("reading line {}", number + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        inputs.push(
            sandbox::exact_json::parse(&line)
                .map_err(|e| e.to_string())
                .and_then(Problem::from_value)
                .map_err(|e| format!("line {}: invalid problem: {e}", number + 1)),
        );
    }
    let sandbox = Sandbox::new(
        EngineOptions {
            fuel,
            ..Default::default()
        },
        threads,
    )?;
    let problems: Vec<(usize, &Problem)> = inputs
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.as_ref().ok().map(|p| (i, p)))
        .collect();

    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(problems.len() as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} problems  {per_sec}  eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    // Judge in chunks so the bar moves; each chunk runs on all workers.
    let mut verdicts: Vec<Option<Result<TestReport, String>>> = vec![None; inputs.len()];
    for chunk in problems.chunks(64) {
        let owned: Vec<Problem> = chunk.iter().map(|(_, p)| (*p).clone()).collect();
        for ((index, _), verdict) in chunk.iter().zip(sandbox.judge_all(&owned)) {
            verdicts[*index] = Some(verdict.map_err(|e| e.to_string()));
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();

    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let (mut passed, mut failed, mut errors) = (0usize, 0usize, 0usize);
    for (input, verdict) in inputs.iter().zip(verdicts) {
        let line = match (input, verdict) {
            (Err(message), _) => {
                errors += 1;
                json!({"error": message})
            }
            (Ok(problem), Some(Err(message))) => {
                errors += 1;
                json!({"id": problem.id, "error": message})
            }
            (Ok(_), Some(Ok(mut verdict))) => {
                if verdict.passed {
                    passed += 1;
                } else {
                    failed += 1;
                }
                if brief {
                    verdict.cases.clear();
                }
                serde_json::to_value(&verdict)?
            }
            (Ok(problem), None) => {
                errors += 1;
                json!({"id": problem.id, "error": "not judged"})
            }
        };
        serde_json::to_writer(&mut out, &line)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "{} problems: {passed} passed, {failed} failed, {errors} errors in {seconds:.2} s ({:.1} problems/s)",
        inputs.len(),
        inputs.len() as f64 / seconds.max(1e-9)
    );
    Ok(if errors > 0 {
        std::process::ExitCode::from(2)
    } else if failed > 0 {
        std::process::ExitCode::from(1)
    } else {
        std::process::ExitCode::SUCCESS
    })
}
