//! The wasmtime side: one shared engine and pre-linked snapshot; a fresh store and instance per
//! test, with epoch deadlines, memory caps and in-memory stdio.

use crate::capture::CappedPipe;
use crate::error::SandboxError;
use crate::problem::Limits;
use crate::report::CaseStatus;
use crate::runtime;
use crate::sleep::{self, Deadline, HasDeadline};
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime::{
    Caller, Config, Engine, InstanceAllocationStrategy, InstancePre, Linker, Memory, Module,
    PoolingAllocationConfig, ResourceLimiter, Store, Trap,
};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
use wasmtime_wasi::{Deterministic, I32Exit, WasiCtxBuilder};

/// Epoch tick; deadlines are rounded up to it.
const TICK: Duration = Duration::from_millis(2);
/// Native stack wasm may use (deep C recursion in the guest); worker threads get more than this.
pub const WASM_STACK_BYTES: usize = 512 << 20;
/// Native stack of the threads that run guests.
pub const WORKER_STACK_BYTES: usize = WASM_STACK_BYTES + (64 << 20);
/// Extra room in the stdout pipe beyond the output cap.
const OUTPUT_SLACK_BYTES: usize = 1 << 20;
/// Largest request or response crossing the host boundary.
const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// How the engine is built; codegen differs, so each combination has its own compiled module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineOptions {
    /// Meter fuel so `limits.fuel` gives load-independent time-limit verdicts (~10–20% slower).
    pub fuel: bool,
    /// Instance slots in the pooling allocator (each test uses one or two).
    pub max_instances: u32,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            fuel: false,
            max_instances: 64,
        }
    }
}

/// Memory cap that records whether the guest hit it, for a proper memory-limit verdict.
struct MemoryCap {
    limit: usize,
    peak: usize,
    exceeded: bool,
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit {
            self.exceeded = true;
            wasmtime::bail!("memory limit of {} bytes exceeded", self.limit);
        }
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1 << 20)
    }
}

/// Per-store state.
pub(crate) struct Guest {
    wasi: WasiP1Ctx,
    memory: MemoryCap,
    /// The solution instance a trusted check instance talks to.
    peer: Option<Box<Run>>,
    peer_response: Vec<u8>,
    /// First failure of the peer (non-ok response or trap); it decides the test.
    pub(crate) peer_failure: Option<Failure>,
    deadline: Deadline,
}

impl HasDeadline for Guest {
    fn deadline(&self) -> Deadline {
        self.deadline
    }
}

/// Why a guest request did not produce a usable response.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub status: CaseStatus,
    pub detail: String,
}

impl Failure {
    pub(crate) fn new(status: CaseStatus, detail: impl Into<String>) -> Failure {
        Failure {
            status,
            detail: detail.into(),
        }
    }
}

/// A live instance with its store and captured output.
pub(crate) struct Run {
    store: Store<Guest>,
    instance: wasmtime::Instance,
    memory: Memory,
    stdout: MemoryOutputPipe,
    stdout_cap: usize,
    stderr: CappedPipe,
    fuel_budget: Option<u64>,
    /// Set once the instance trapped; it cannot be called again.
    dead: bool,
}

/// Result of one request: the guest's JSON response, or an exit (`os._exit`) with its code.
pub(crate) enum Reply {
    Response(Value),
    Exited(i32),
}

impl Run {
    pub(crate) fn stdout(&self) -> Vec<u8> {
        self.stdout.contents().to_vec()
    }

    /// stdout over the cap overrides whatever else happened (the guest may have seen EIO).
    pub(crate) fn output_verdict(&self, result: Result<(), Failure>) -> Result<(), Failure> {
        let over_cap = self.stdout.contents().len() > self.stdout_cap;
        let refused_write = matches!(&result, Err(f) if f.status == CaseStatus::RuntimeError
            && f.detail.contains("[Errno 29]"));
        if over_cap || refused_write {
            return Err(self.output_limit());
        }
        result
    }

    fn output_limit(&self) -> Failure {
        Failure::new(
            CaseStatus::OutputLimit,
            format!(
                "stdout exceeded {} KiB (limits.output_kb)",
                self.stdout_cap >> 10
            ),
        )
    }

    /// The last lines of stderr, with a marker when it was cut at the cap.
    pub(crate) fn stderr_tail(&self) -> String {
        let (bytes, dropped) = self.stderr.contents();
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(8)..].join("\n");
        if dropped == 0 {
            return tail;
        }
        format!(
            "{tail}\n[stderr cut at {} KiB (limits.output_kb): {dropped} more bytes dropped]",
            self.stdout_cap >> 10
        )
    }

    pub(crate) fn peak_memory(&self) -> u64 {
        self.store.data().memory.peak as u64
    }

    pub(crate) fn fuel_used(&self) -> Option<u64> {
        let budget = self.fuel_budget?;
        let left = self.store.get_fuel().ok()?;
        Some(budget.saturating_sub(left))
    }

    pub(crate) fn attach_peer(&mut self, peer: Run) {
        self.store.data_mut().peer = Some(Box::new(peer));
    }

    pub(crate) fn take_peer_failure(&mut self) -> Option<Failure> {
        self.store.data_mut().peer_failure.take()
    }

    /// Send one JSON request to the harness and read its JSON response.
    pub(crate) fn request(&mut self, request: &Value) -> Result<Reply, Failure> {
        let bytes = serde_json::to_vec(request)
            .map_err(|e| Failure::new(CaseStatus::JudgeError, format!("request encoding: {e}")))?;
        match self.request_bytes(&bytes) {
            Ok(Some(response)) => serde_json::from_slice(&response)
                .map(Reply::Response)
                .map_err(|e| {
                    Failure::new(
                        CaseStatus::JudgeError,
                        format!("unreadable guest response: {e}"),
                    )
                }),
            Ok(None) => Err(Failure::new(
                CaseStatus::JudgeError,
                format!("the guest harness failed:\n{}", self.stderr_tail()),
            )),
            Err(failure) => match failure {
                Trapped::Exit(code) => Ok(Reply::Exited(code)),
                Trapped::Failed(failure) => Err(failure),
            },
        }
    }

    fn request_bytes(&mut self, request: &[u8]) -> Result<Option<Vec<u8>>, Trapped> {
        if self.dead {
            return Err(Trapped::Failed(Failure::new(
                CaseStatus::RuntimeError,
                "the solution's instance already stopped",
            )));
        }
        let result = self.call_guest(request);
        result.map_err(|err| {
            self.dead = true;
            self.classify(err)
        })
    }

    fn call_guest(&mut self, request: &[u8]) -> wasmtime::Result<Option<Vec<u8>>> {
        let len =
            i32::try_from(request.len()).map_err(|_| wasmtime::format_err!("request too large"))?;
        let alloc = self
            .instance
            .get_typed_func::<i32, i32>(&mut self.store, "r1_alloc")?;
        let ptr = alloc.call(&mut self.store, len)?;
        self.memory
            .write(&mut self.store, ptr as u32 as usize, request)?;
        let run = self
            .instance
            .get_typed_func::<(i32, i32), i32>(&mut self.store, "r1_run")?;
        if run.call(&mut self.store, (ptr, len))? != 0 {
            return Ok(None);
        }
        let resp_ptr = self
            .instance
            .get_typed_func::<(), i32>(&mut self.store, "r1_response_ptr")?
            .call(&mut self.store, ())?;
        let resp_len = self
            .instance
            .get_typed_func::<(), i32>(&mut self.store, "r1_response_len")?
            .call(&mut self.store, ())?;
        let resp_len = usize::try_from(resp_len).unwrap_or(0);
        if resp_len > MAX_MESSAGE_BYTES {
            wasmtime::bail!("response of {resp_len} bytes exceeds the message cap");
        }
        let mut response = vec![0u8; resp_len];
        self.memory
            .read(&self.store, resp_ptr as u32 as usize, &mut response)?;
        Ok(Some(response))
    }

    /// Map an error out of the guest to a verdict; the order matters (a memory-limit trap is
    /// reported as such even though it surfaces as a trap).
    fn classify(&self, err: wasmtime::Error) -> Trapped {
        let data = self.store.data();
        if data.memory.exceeded {
            return Trapped::Failed(Failure::new(
                CaseStatus::MemoryLimit,
                format!("memory limit of {} MiB exceeded", data.memory.limit >> 20),
            ));
        }
        if let Some(trap) = err.downcast_ref::<Trap>() {
            match trap {
                Trap::Interrupt | Trap::OutOfFuel => {
                    return Trapped::Failed(Failure::new(
                        CaseStatus::TimeLimit,
                        "time limit exceeded",
                    ))
                }
                Trap::StackOverflow => {
                    return Trapped::Failed(Failure::new(
                        CaseStatus::RuntimeError,
                        "stack overflow: recursion too deep for the sandbox",
                    ))
                }
                _ => {}
            }
        }
        let message = format!("{err:#}");
        if message.contains("beyond capacity") || self.stdout.contents().len() >= self.stdout_cap {
            return Trapped::Failed(self.output_limit());
        }
        if let Some(exit) = err.downcast_ref::<I32Exit>() {
            return Trapped::Exit(exit.0);
        }
        if let Some(trap) = err.downcast_ref::<Trap>() {
            return Trapped::Failed(Failure::new(
                CaseStatus::RuntimeError,
                format!("the interpreter crashed: {trap} (C stack overflow or a fault)"),
            ));
        }
        Trapped::Failed(Failure::new(CaseStatus::RuntimeError, message))
    }
}

enum Trapped {
    Exit(i32),
    Failed(Failure),
}

/// Keeps the engine's epoch in step with the wall clock (one per tick) until dropped.
struct Ticker {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Ticker {
    fn start(engine: Engine) -> Ticker {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("r1-epoch".into())
            .spawn(move || {
                // Ticks follow the wall clock, not the count of wake-ups: on a saturated
                // machine this thread wakes late, and counting wake-ups let deadlines stretch
                // by a third. Catching up keeps every deadline within a tick or two of its
                // budget in wall time.
                let started = Instant::now();
                let mut ticked: u128 = 0;
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    let due = started.elapsed().as_nanos() / TICK.as_nanos();
                    while ticked < due {
                        engine.increment_epoch();
                        ticked += 1;
                    }
                }
            })
            .ok();
        Ticker { stop, thread }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The compiled judge: shared by all threads; `instantiate` is the per-test cost.
pub struct GuestEngine {
    engine: Engine,
    pre: InstancePre<Guest>,
    options: EngineOptions,
    _ticker: Ticker,
}

impl GuestEngine {
    /// Build (or load from the cache) everything a test needs; never compiles at request time.
    pub fn new(options: EngineOptions) -> Result<GuestEngine, SandboxError> {
        let interp = runtime::interpreter()?;
        let (snapshot, snapshot_key) = runtime::snapshot(&interp)?;
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.consume_fuel(options.fuel);
        config.max_wasm_stack(WASM_STACK_BYTES);
        // Checked against max_wasm_stack even though no store here is async.
        config.async_stack_size(WASM_STACK_BYTES + (1 << 20));
        let mut pool = PoolingAllocationConfig::default();
        pool.total_core_instances(options.max_instances)
            .total_memories(options.max_instances)
            .total_tables(options.max_instances)
            .max_memory_size(4 << 30)
            .table_elements(1 << 20)
            .max_core_instance_size(16 << 20)
            .linear_memory_keep_resident(1 << 20);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config).map_err(SandboxError::engine)?;
        let flavour = if options.fuel { "epoch+fuel" } else { "epoch" };
        let module = runtime::compiled_module(&engine, &snapshot, &snapshot_key, flavour)?;
        let pre = Self::link(&engine, &module)?;
        Ok(GuestEngine {
            _ticker: Ticker::start(engine.clone()),
            engine,
            pre,
            options,
        })
    }

    fn link(engine: &Engine, module: &Module) -> Result<InstancePre<Guest>, SandboxError> {
        let mut linker: Linker<Guest> = Linker::new(engine);
        wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |guest: &mut Guest| &mut guest.wasi)
            .map_err(SandboxError::engine)?;
        // Sleeps and polls end by the deadline (see `sleep`), replacing wasmtime-wasi's own.
        linker.allow_shadowing(true);
        linker
            .func_wrap(
                "wasi_snapshot_preview1",
                "poll_oneoff",
                sleep::poll_oneoff::<Guest>,
            )
            .map_err(SandboxError::engine)?;
        linker.allow_shadowing(false);
        linker
            .func_wrap("r1", "peer_call", peer_call)
            .map_err(SandboxError::engine)?;
        linker
            .func_wrap("r1", "peer_result", peer_result)
            .map_err(SandboxError::engine)?;
        linker.instantiate_pre(module).map_err(SandboxError::engine)
    }

    pub fn fuel_enabled(&self) -> bool {
        self.options.fuel
    }

    /// A fresh instance from the snapshot with its own stdio, deadline and memory cap.
    pub(crate) fn start(&self, stdin: &[u8], limits: &Limits, seed: u64) -> Result<Run, Failure> {
        let output_cap =
            usize::try_from(limits.output_kb.saturating_mul(1024)).unwrap_or(usize::MAX);
        // Slack beyond the cap so an overflow is measured on the host, not guessed from the
        // guest's I/O error; a single write larger than the slack still fails (EIO) and is
        // recognised in `output_verdict`.
        let stdout = MemoryOutputPipe::new(output_cap.saturating_add(OUTPUT_SLACK_BYTES));
        // stderr keeps `limits.output_kb` like stdout, but past it bytes are dropped, not refused.
        let stderr = CappedPipe::new(output_cap);
        let random: Vec<u8> = (0..64u64)
            .flat_map(|i| {
                seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)
                    .wrapping_add(i)
                    .to_le_bytes()
            })
            .collect();
        let ticks = limits.time_ms.div_ceil(TICK.as_millis() as u64) + 1;
        let deadline =
            Deadline::after(TICK.saturating_mul(u32::try_from(ticks).unwrap_or(u32::MAX)));
        let wasi = WasiCtxBuilder::new()
            .monotonic_clock(deadline.clock())
            .stdin(MemoryInputPipe::new(stdin.to_vec()))
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .args(&["python"])
            .secure_random(Deterministic::new(random.clone()))
            .insecure_random(Deterministic::new(random))
            .insecure_random_seed(u128::from(seed))
            .build_p1();
        let limit = usize::try_from(limits.memory_mb.saturating_mul(1 << 20)).unwrap_or(usize::MAX);
        let mut store = Store::new(
            &self.engine,
            Guest {
                wasi,
                memory: MemoryCap {
                    limit,
                    peak: 0,
                    exceeded: false,
                },
                peer: None,
                peer_response: Vec::new(),
                peer_failure: None,
                deadline,
            },
        );
        store.limiter(|guest| &mut guest.memory);
        store.set_epoch_deadline(ticks);
        store.epoch_deadline_trap();
        let fuel_budget = if self.options.fuel {
            let budget = limits.fuel.unwrap_or(u64::MAX);
            store
                .set_fuel(budget)
                .map_err(|e| Failure::new(CaseStatus::JudgeError, format!("{e:#}")))?;
            Some(budget)
        } else {
            None
        };
        let instance = match self.pre.instantiate(&mut store) {
            Ok(instance) => instance,
            Err(err) => {
                return Err(if store.data().memory.exceeded {
                    Failure::new(
                        CaseStatus::MemoryLimit,
                        format!(
                            "memory limit of {} MiB is below the interpreter's baseline",
                            limits.memory_mb
                        ),
                    )
                } else {
                    Failure::new(
                        CaseStatus::JudgeError,
                        format!("instantiation failed: {err:#}"),
                    )
                })
            }
        };
        let memory = instance
            .get_memory(&mut store, "memory")
            .ok_or_else(|| Failure::new(CaseStatus::JudgeError, "the guest exports no memory"))?;
        Ok(Run {
            store,
            instance,
            memory,
            stdout,
            stdout_cap: output_cap,
            stderr,
            fuel_budget,
            dead: false,
        })
    }
}

/// `r1.peer_call(ptr, len) -> len | -1`: the check instance asks the solution instance.
fn peer_call(mut caller: Caller<'_, Guest>, ptr: i32, len: i32) -> i32 {
    let Some(memory) = caller.get_export("memory").and_then(|e| e.into_memory()) else {
        return -1;
    };
    let Ok(len) = usize::try_from(len) else {
        return -1;
    };
    if len > MAX_MESSAGE_BYTES {
        return -1;
    }
    let mut request = vec![0u8; len];
    if memory
        .read(&caller, ptr as u32 as usize, &mut request)
        .is_err()
    {
        return -1;
    }
    let Some(mut peer) = caller.data_mut().peer.take() else {
        return -1;
    };
    let outcome = peer.request_bytes(&request);
    let data = caller.data_mut();
    data.peer = Some(peer);
    let failure = match outcome {
        Ok(Some(response)) => {
            let status = serde_json::from_slice::<Value>(&response)
                .ok()
                .and_then(|v| v.get("status").and_then(Value::as_str).map(str::to_owned));
            if status.as_deref() == Some("ok") {
                let n = response.len() as i32;
                data.peer_response = response;
                return n;
            }
            let parsed: Option<Value> = serde_json::from_slice(&response).ok();
            let detail = parsed
                .as_ref()
                .and_then(|v| v.get("error").and_then(Value::as_str))
                .unwrap_or("the solution raised")
                .to_owned();
            // The check sees the error too (as SolutionRaised), but the host decides.
            data.peer_response = response;
            if data.peer_failure.is_none() {
                data.peer_failure = Some(Failure::new(CaseStatus::RuntimeError, detail));
            }
            return data.peer_response.len() as i32;
        }
        Ok(None) => Failure::new(CaseStatus::JudgeError, "the solution's harness failed"),
        Err(Trapped::Exit(code)) => Failure::new(
            CaseStatus::RuntimeError,
            format!("the solution exited (status {code}) instead of returning"),
        ),
        Err(Trapped::Failed(failure)) => failure,
    };
    if data.peer_failure.is_none() {
        data.peer_failure = Some(failure);
    }
    -1
}

/// `r1.peer_result(ptr)`: copy the last peer response into the check instance's buffer.
fn peer_result(mut caller: Caller<'_, Guest>, ptr: i32) {
    let Some(memory) = caller.get_export("memory").and_then(|e| e.into_memory()) else {
        return;
    };
    let response = std::mem::take(&mut caller.data_mut().peer_response);
    let _ = memory.write(&mut caller, ptr as u32 as usize, &response);
}
