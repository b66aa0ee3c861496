//! `r1-reward` measured over HTTP on loopback, in one run:
//!
//! 1. throughput: math rewards per second at batch 256 (OpenRLHF's `/get_reward`), for the
//!    math reward alone and for R1's sum (math + format + language), and — with `--python` —
//!    the same load against an OpenRLHF-style Python server using Math-Verify;
//! 2. load: 1,000 concurrent clients sending small batches back to back (errors must be 0);
//! 3. bad input: a million-item batch, a 10 MB body, malformed JSON and wrong types.
//!
//! ```text
//! bash benches/compare/reward_side_by_side.sh          # sets up the Math-Verify virtualenv
//! cargo run -p benches --bin reward-side-by-side -- --seconds 10 [--python venv/bin/python]
//! ```
//!
//! Every completion is unique and the server's cache is off, as in RL where no completion repeats.

use anyhow::{bail, Context, Result};
use judges::http::{app, AppState, ServerLimits};
use judges::{Bus, BusConfig};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const MATH_ONLY: &str = r#"
cache_entries = 0
[[reward]]
name = "accuracy"
kind = "math"
tasks = ["math"]
"#;

const R1_SUM: &str = r#"
cache_entries = 0
[[reward]]
name = "accuracy"
kind = "math"
tasks = ["math"]
[[reward]]
name = "format"
kind = "format"
style = "r1_zero_strict"
[[reward]]
name = "language"
kind = "language"
"#;

struct Args {
    seconds: f64,
    batch: usize,
    clients: usize,
    load_clients: usize,
    python: Option<String>,
}

fn args() -> Result<Args> {
    let mut args = Args {
        seconds: 10.0,
        batch: 256,
        clients: 2,
        load_clients: 1000,
        python: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--seconds" => args.seconds = value()?.parse()?,
            "--batch" => args.batch = value()?.parse()?,
            "--clients" => args.clients = value()?.parse()?,
            "--load-clients" => args.load_clients = value()?.parse()?,
            "--python" => args.python = Some(value()?),
            other => {
                bail!("unknown flag {other} (--seconds --batch --clients --load-clients --python)")
            }
        }
    }
    Ok(args)
}

/// Golds from the MMATH fixture (AIME, CNMO, MATH-500 answers in LaTeX).
fn golds() -> Result<Vec<String>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/mmath/answers.jsonl"
    );
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    text.lines()
        .map(|line| {
            let row: Value = serde_json::from_str(line)?;
            Ok(row["answer"].as_str().unwrap_or_default().to_owned())
        })
        .collect()
}

/// `count` distinct OpenRLHF request bodies of `batch` unique rollouts; half are correct.
fn bodies(golds: &[String], batch: usize, count: usize) -> Vec<String> {
    let reasoning =
        "First I restate the problem and name the unknowns. Then I set up the equations \
        from the conditions, simplify them step by step, and check the result against every \
        condition before writing the final answer.";
    let mut serial = 0usize;
    (0..count)
        .map(|_| {
            let (mut query, mut prompts, mut labels) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..batch {
                serial += 1;
                let gold = &golds[serial % golds.len()];
                let pred = if serial.is_multiple_of(2) {
                    gold
                } else {
                    &golds[(serial * 7 + 3) % golds.len()]
                };
                let prompt = format!(
                    "<|im_start|>user\nProblem {serial}: solve it.<|im_end|>\n<|im_start|>assistant\n"
                );
                query.push(format!(
                    "{prompt}<think>\nAttempt {serial}. {reasoning}\n</think>\n<answer>The answer is \\boxed{{{pred}}}.</answer><|im_end|>"
                ));
                prompts.push(prompt);
                labels.push(gold.clone());
            }
            json!({"query": query, "prompts": prompts, "labels": labels}).to_string()
        })
        .collect()
}

/// Start the real router on a loopback port, on its own runtime (its own threads).
fn start_server(config: &str, max_concurrent: usize) -> Result<(String, tokio::runtime::Runtime)> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let bus = Bus::new(&BusConfig::from_toml(config)?, None)?;
    let state = AppState::new(ServerLimits {
        max_concurrent,
        ..Default::default()
    });
    state.set_ready(Arc::new(bus), None);
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let url = format!("http://{}", listener.local_addr()?);
    runtime.spawn(async move { axum::serve(listener, app(state)).await });
    Ok((url, runtime))
}

struct Throughput {
    rewards_per_second: f64,
    median_ms: f64,
    requests: usize,
}

/// `clients` loops posting the bodies in turn for `seconds`; rewards per second.
async fn throughput(
    url: &str,
    bodies: &Arc<Vec<String>>,
    clients: usize,
    seconds: f64,
) -> Result<Throughput> {
    let http = reqwest::Client::new();
    let next = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let (http, url, bodies, next) =
            (http.clone(), url.to_owned(), bodies.clone(), next.clone());
        tasks.spawn(async move {
            let (mut rewards, mut latencies) = (0usize, Vec::new());
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize % bodies.len();
                let t = Instant::now();
                let reply: Value = http
                    .post(format!("{url}/get_reward"))
                    .header("content-type", "application/json")
                    .body(bodies[i].clone())
                    .send()
                    .await?
                    .error_for_status()?
                    .json()
                    .await?;
                latencies.push(t.elapsed().as_secs_f64() * 1e3);
                rewards += reply["rewards"].as_array().map_or(0, Vec::len);
            }
            anyhow::Ok((rewards, latencies))
        });
    }
    let (mut rewards, mut latencies) = (0, Vec::new());
    while let Some(joined) = tasks.join_next().await {
        let (n, l) = joined??;
        rewards += n;
        latencies.extend(l);
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    Ok(Throughput {
        rewards_per_second: rewards as f64 / elapsed,
        median_ms: latencies
            .get(latencies.len() / 2)
            .copied()
            .unwrap_or(f64::NAN),
        requests: latencies.len(),
    })
}

/// Checks that the correct half of a batch is rewarded 1 and the other half 0.
async fn check_rewards(url: &str, body: &str, batch: usize) -> Result<()> {
    let reply: Value = reqwest::Client::new()
        .post(format!("{url}/get_reward"))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await?
        .json()
        .await?;
    let correct = reply["scores"]
        .as_array()
        .context("no scores")?
        .iter()
        .filter(|v| v.as_f64() == Some(1.0))
        .count();
    println!("  sanity: {correct} of {batch} scored correct (about half expected)");
    Ok(())
}

async fn load(url: &str, clients: usize, seconds: f64) -> Result<()> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()?;
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for id in 0..clients {
        let (http, url) = (http.clone(), url.to_owned());
        tasks.spawn(async move {
            let (mut latencies, mut errors) = (Vec::new(), 0usize);
            let mut round = 0;
            while Instant::now() < deadline {
                round += 1;
                let body = json!({
                    "query": (0..4).map(|k| format!("<think>client {id} round {round} item {k}</think><answer>\\boxed{{{k}}}</answer>")).collect::<Vec<_>>(),
                    "labels": ["0", "1", "2", "3"]});
                let t = Instant::now();
                let answered = match http.post(format!("{url}/get_reward")).json(&body).send().await {
                    Ok(r) if r.status() == 200 => r.json::<Value>().await.is_ok(),
                    _ => false,
                };
                if answered {
                    latencies.push(t.elapsed().as_secs_f64() * 1e3);
                } else {
                    errors += 1;
                }
            }
            (latencies, errors)
        });
    }
    let (mut latencies, mut errors) = (Vec::new(), 0);
    while let Some(joined) = tasks.join_next().await {
        let (l, e) = joined?;
        latencies.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "load: {clients} concurrent clients, {elapsed:.1} s: {} requests ({:.0}/s, {:.0} rewards/s), {errors} errors; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        latencies.len(),
        latencies.len() as f64 / elapsed,
        4.0 * latencies.len() as f64 / elapsed,
        pct(0.5),
        pct(0.99),
        latencies[latencies.len() - 1]
    );
    Ok(())
}

async fn bad_input(url: &str) -> Result<()> {
    let http = reqwest::Client::new();
    let cases = [
        ("malformed JSON", "/get_reward", "{\"query\": [".to_owned()),
        (
            "wrong types",
            "/get_reward",
            r#"{"query": [1, 2, 3]}"#.to_owned(),
        ),
        (
            "labels of the wrong length",
            "/get_reward",
            r#"{"query": ["a"], "labels": ["1", "2"]}"#.to_owned(),
        ),
        (
            "unknown field",
            "/v1/reward",
            r#"{"items": [{"completion": "x", "gold": 1}]}"#.to_owned(),
        ),
        (
            "a million-item batch",
            "/get_reward",
            format!(r#"{{"query": [{}""]}}"#, r#""","#.repeat(999_999)),
        ),
        (
            "a million-item native batch",
            "/v1/reward",
            format!(
                r#"{{"items": [{}{{"completion": ""}}]}}"#,
                r#"{"completion": ""},"#.repeat(999_999)
            ),
        ),
        (
            "a 10 MB body of garbage",
            "/get_reward",
            "x".repeat(10 << 20),
        ),
        (
            "a 70 MB body (over the limit)",
            "/get_reward",
            format!(r#"{{"query": ["{}"]}}"#, "x".repeat(70 << 20)),
        ),
    ];
    for (what, path, body) in cases {
        let size = body.len();
        let t = Instant::now();
        let outcome = match http
            .post(format!("{url}{path}"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
        {
            Ok(r) => {
                let status = r.status().as_u16();
                let text = r.text().await.unwrap_or_default();
                format!("{status} {}", text.chars().take(90).collect::<String>())
            }
            Err(e) if e.is_request() => {
                "connection closed early by the server (413 sent before the body was read)".into()
            }
            Err(e) => format!("client error: {e}"),
        };
        println!(
            "  {what} ({:.1} MB): {outcome} in {:.0} ms",
            size as f64 / 1e6,
            t.elapsed().as_secs_f64() * 1e3
        );
    }
    let health = http.get(format!("{url}/health")).send().await?.status();
    println!("  afterwards /health: {health}");
    if health != 200 {
        bail!("the server did not stay up");
    }
    Ok(())
}

fn start_python(python: &str) -> Result<(String, std::process::Child)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/compare/mathverify_reward_server.py"
    );
    let child = std::process::Command::new(python)
        .args([script, "--port", &port.to_string()])
        .spawn()
        .with_context(|| format!("starting {python}"))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            bail!("the Python server did not start");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok((format!("http://127.0.0.1:{port}"), child))
}

fn main() -> Result<()> {
    let args = args()?;
    let golds = golds()?;
    let bodies = Arc::new(bodies(&golds, args.batch, 64));
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    println!(
        "throughput: batch {}, {} clients, {} s per server, {} distinct rollouts cycled, cache off",
        args.batch,
        args.clients,
        args.seconds,
        args.batch * bodies.len()
    );
    let mut results = Vec::new();
    for (name, config) in [
        ("r1-reward, math only", MATH_ONLY),
        ("r1-reward, math + format + language", R1_SUM),
    ] {
        let (url, server) = start_server(config, 256)?;
        client.block_on(check_rewards(&url, &bodies[0], args.batch))?;
        client.block_on(throughput(&url, &bodies, args.clients, 1.0))?; // warm-up
        let measured = client.block_on(throughput(&url, &bodies, args.clients, args.seconds))?;
        println!(
            "  {name}: {:.0} rewards/s ({} requests, median {:.1} ms per batch)",
            measured.rewards_per_second, measured.requests, measured.median_ms
        );
        results.push(measured.rewards_per_second);
        server.shutdown_background();
    }
    if let Some(python) = &args.python {
        let (url, mut child) = start_python(python)?;
        let run = || -> Result<Throughput> {
            client.block_on(check_rewards(&url, &bodies[0], args.batch))?;
            client.block_on(throughput(&url, &bodies, args.clients, args.seconds))
        };
        let measured = run();
        let _ = child.kill();
        let measured = measured?;
        println!(
            "  Python + Math-Verify (OpenRLHF-style): {:.0} rewards/s ({} requests, median {:.1} ms per batch)",
            measured.rewards_per_second, measured.requests, measured.median_ms
        );
        println!(
            "  ratio, math only: {:.1}x",
            results[0] / measured.rewards_per_second
        );
    }
    let (url, server) = start_server(R1_SUM, 4096)?;
    client.block_on(load(&url, args.load_clients, args.seconds))?;
    println!("bad input:");
    client.block_on(bad_input(&url))?;
    server.shutdown_background();
    Ok(())
}
