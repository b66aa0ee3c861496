//! Side by side, in one run: this crate's judge (fresh instance from the Wizer snapshot per
//! test) against a native `python3` subprocess per test and against a fresh un-snapshotted
//! wasm instance per test (same interpreter build, start-up and stdlib imports paid each time).
//!
//! ```text
//! cargo run --release -p benches --bin sandbox-side-by-side [-- --tests 100]
//! ```

use anyhow::{bail, Context, Result};
use flate2::read::GzDecoder;
use sandbox::{EngineOptions, Problem, Sandbox};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;
use wasmtime::{Config, Engine, Linker, Module, Store};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

const TRIVIAL: &str = "print(int(input()) * 2)";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let tests: usize = args
        .iter()
        .position(|a| a == "--tests")
        .and_then(|i| args.get(i + 1))
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(100);

    let ours = Sandbox::new(EngineOptions::default(), 1)?;
    let cold = ColdStart::new()?;
    let humaneval = humaneval()?;

    println!("# WASM judge side by side ({tests} trivial tests, 164 HumanEval problems)\n");
    println!("| workload | judge (snapshot) | un-snapshotted wasm | native python3 subprocess |");
    println!("|---|---|---|---|");

    // Per-test overhead: a trivial stdin/stdout test, one at a time, interleaved per round.
    let (mut t_ours, mut t_cold, mut t_native) = (Vec::new(), Vec::new(), Vec::new());
    let problem: Problem = serde_json::from_value(json!({"code": TRIVIAL,
        "tests": {"kind": "stdio", "cases": [{"stdin": "21", "stdout": "42"}]}}))?;
    for _ in 0..tests {
        let start = Instant::now();
        if !ours.judge(&problem)?.passed {
            bail!("judge failed the trivial test");
        }
        t_ours.push(start.elapsed().as_secs_f64() * 1e3);
        let start = Instant::now();
        check_output(&cold.run(TRIVIAL, "21")?)?;
        t_cold.push(start.elapsed().as_secs_f64() * 1e3);
        let start = Instant::now();
        check_output(&native(TRIVIAL, "21")?)?;
        t_native.push(start.elapsed().as_secs_f64() * 1e3);
    }
    let (m_ours, m_cold, m_native) = (
        median(&mut t_ours),
        median(&mut t_cold),
        median(&mut t_native),
    );
    println!(
        "| trivial test, median per test (1 thread) | {m_ours:.2} ms | {m_cold:.1} ms ({:.0}×) | {m_native:.1} ms ({:.0}×) |",
        m_cold / m_ours,
        m_native / m_ours
    );

    // HumanEval: 164 canonical solutions, one problem at a time.
    let start = Instant::now();
    for p in &humaneval {
        if !ours.judge(p)?.passed {
            bail!("{:?} failed in the judge", p.id);
        }
    }
    let h_ours = start.elapsed().as_secs_f64();
    let programs: Vec<String> = humaneval.iter().map(whole_program).collect();
    let start = Instant::now();
    for program in &programs {
        cold.run(program, "")?;
    }
    let h_cold = start.elapsed().as_secs_f64();
    let start = Instant::now();
    for program in &programs {
        native(program, "")?;
    }
    let h_native = start.elapsed().as_secs_f64();
    println!(
        "| HumanEval 164, total, 1 thread | {h_ours:.2} s | {h_cold:.1} s ({:.0}×) | {h_native:.1} s ({:.0}×) |",
        h_cold / h_ours,
        h_native / h_ours
    );

    let all_cores = Sandbox::new(EngineOptions::default(), 0)?;
    all_cores.judge_all(&humaneval);
    let start = Instant::now();
    let passed = all_cores
        .judge_all(&humaneval)
        .iter()
        .filter(|v| v.as_ref().is_ok_and(|v| v.passed))
        .count();
    let h_all = start.elapsed().as_secs_f64();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("| HumanEval 164, total, all {cores} cores | {h_all:.2} s ({passed}/164 pass) | | |");
    Ok(())
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn check_output(stdout: &str) -> Result<()> {
    if stdout.trim() != "42" {
        bail!("unexpected output {stdout:?}");
    }
    Ok(())
}

fn humaneval() -> Result<Vec<Problem>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/humaneval/HumanEval.jsonl.gz"
    );
    let mut text = String::new();
    GzDecoder::new(std::fs::File::open(path).context(path)?).read_to_string(&mut text)?;
    text.lines()
        .map(|line| {
            let task: Value = serde_json::from_str(line)?;
            Ok(serde_json::from_value(json!({
                "id": task["task_id"],
                "code": format!("{}{}", task["prompt"].as_str().unwrap_or(""),
                                task["canonical_solution"].as_str().unwrap_or("")),
                "tests": {"kind": "assert", "entry": task["entry_point"], "script": task["test"]},
                "limits": {"time_ms": 10000}
            }))?)
        })
        .collect()
}

/// What human-eval itself runs: solution, test and the check call as one program.
fn whole_program(problem: &Problem) -> String {
    match &problem.tests {
        sandbox::Tests::Assert { entry, script } => {
            format!("{}\n{script}\ncheck({entry})\n", problem.code)
        }
        _ => problem.code.clone(),
    }
}

fn native(code: &str, stdin: &str) -> Result<String> {
    let mut child = Command::new("python3")
        .args(["-I", "-c", code])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("python3")?;
    child
        .stdin
        .take()
        .context("stdin")?
        .write_all(stdin.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("python3 failed on {code:.60}");
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The same interpreter build, instantiated from the plain module each time: CPython start-up
/// and the harness's stdlib imports (read from a preopened /stdlib) are paid per test.
struct ColdStart {
    engine: Engine,
    module: Module,
    linker: Linker<WasiP1Ctx>,
    stdlib: std::path::PathBuf,
    harness_dir: tempdir::Dir,
}

mod tempdir {
    /// A folder removed on drop.
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl ColdStart {
    fn new() -> Result<ColdStart> {
        let interp = sandbox::runtime::interpreter()?;
        let mut config = Config::new();
        config.epoch_interruption(false);
        // Runs on the main thread: keep wasm's native stack well inside it.
        config.max_wasm_stack(1 << 20);
        let engine = Engine::new(&config).map_err(|e| anyhow::anyhow!("{e:#}"))?;
        eprintln!("compiling the un-snapshotted module once (not timed)…");
        let module =
            Module::from_file(&engine, &interp.wasm).map_err(|e| anyhow::anyhow!("{e:#}"))?;
        let mut linker: Linker<WasiP1Ctx> = Linker::new(&engine);
        wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |c| c)
            .map_err(|e| anyhow::anyhow!("{e:#}"))?;
        linker
            .func_wrap("r1", "peer_call", |_: i32, _: i32| -> i32 { -1 })
            .and_then(|l| l.func_wrap("r1", "peer_result", |_: i32| {}))
            .map_err(|e| anyhow::anyhow!("{e:#}"))?;
        let dir = std::env::temp_dir().join(format!("r1-cold-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let lazy = sandbox::runtime::HARNESS.replace("EAGER_STDLIB = True", "EAGER_STDLIB = False");
        std::fs::write(dir.join("r1_harness.py"), lazy)?;
        Ok(ColdStart {
            engine,
            module,
            linker,
            stdlib: interp.stdlib,
            harness_dir: tempdir::Dir(dir),
        })
    }

    fn run(&self, code: &str, stdin: &str) -> Result<String> {
        let stdout = MemoryOutputPipe::new(16 << 20);
        let wasi = WasiCtxBuilder::new()
            .stdin(MemoryInputPipe::new(stdin.as_bytes().to_vec()))
            .stdout(stdout.clone())
            .preopened_dir(&self.stdlib, "/stdlib", FsPerms::ReadOnly)
            .and_then(|b| {
                b.preopened_dir(
                    Path::new(&self.harness_dir.0),
                    "/harness",
                    FsPerms::ReadOnly,
                )
            })
            .map_err(|e| anyhow::anyhow!("{e:#}"))?
            .build_p1();
        let mut store = Store::new(&self.engine, wasi);
        let go = |store: &mut Store<WasiP1Ctx>| -> wasmtime::Result<()> {
            let instance = self.linker.instantiate(&mut *store, &self.module)?;
            if let Some(init) = instance.get_func(&mut *store, "_initialize") {
                init.typed::<(), ()>(&*store)?.call(&mut *store, ())?;
            }
            instance
                .get_typed_func::<(), ()>(&mut *store, "r1_init")?
                .call(&mut *store, ())?;
            let request = serde_json::to_vec(&json!({"op": "main", "code": code})).expect("json");
            let memory = instance
                .get_memory(&mut *store, "memory")
                .ok_or_else(|| wasmtime::format_err!("no memory"))?;
            let ptr = instance
                .get_typed_func::<i32, i32>(&mut *store, "r1_alloc")?
                .call(&mut *store, request.len() as i32)?;
            memory.write(&mut *store, ptr as usize, &request)?;
            instance
                .get_typed_func::<(i32, i32), i32>(&mut *store, "r1_run")?
                .call(&mut *store, (ptr, request.len() as i32))?;
            Ok(())
        };
        go(&mut store).map_err(|e| anyhow::anyhow!("{e:#}"))?;
        Ok(String::from_utf8_lossy(&stdout.contents()).into_owned())
    }
}
