//! Provisioning of the guest: build CPython for WASI once, snapshot it after start-up, and keep
//! the machine code compiled, all in an on-disk cache keyed by content hashes.
//!
//! ```text
//! build-python.sh ──► python-r1.wasm + stdlib/     cache/python-wasi/<sources hash>/
//! Wizer(r1_init)  ──► judge-<hash>.wasm             cache/snapshots/   (interpreter started,
//!                                                                      harness + stdlib loaded)
//! precompile      ──► judge-<hash>.cwasm            cache/compiled/    (key adds wasmtime's
//!                                                                      compatibility hash + config)
//! ```

use crate::error::SandboxError;
use fs4::fs_std::FileExt;
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::process::Command;
use std::task::{Context, Poll, Waker};
use wasmtime::{Config, Engine, Linker, Module, OptLevel, Store};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

/// Size of the guest's C (shadow) stack, fixed at link time. Memoized recursion through C
/// (`functools.lru_cache`) needs about 1 KiB per level; 16 MiB passes depth 10,000 with room.
pub const GUEST_STACK_BYTES: u64 = 16 << 20;

const BUILD_SCRIPT: &str = include_str!("../guest/build-python.sh");
const SHIM: &str = include_str!("../guest/r1_shim.c");
const STUBS: &str = include_str!("../guest/wasi_stubs.c");
/// The Python harness baked into the snapshot.
pub const HARNESS: &str = include_str!("../guest/r1_harness.py");

/// The interpreter module and the stdlib it snapshots.
#[derive(Debug, Clone)]
pub struct Interpreter {
    pub wasm: PathBuf,
    pub stdlib: PathBuf,
    /// Identifies the build (hash of its sources, or of the files given by the environment).
    pub key: String,
}

/// `R1_CACHE_DIR`, else `$XDG_CACHE_HOME/r1-engine`, else `~/.cache/r1-engine`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("R1_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("r1-engine");
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".cache").join("r1-engine"),
        None => std::env::temp_dir().join("r1-engine"),
    }
}

fn hex_digest(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    let digest = hasher.finalize();
    digest[..12].iter().map(|b| format!("{b:02x}")).collect()
}

fn create_dir(path: &Path) -> Result<(), SandboxError> {
    fs::create_dir_all(path).map_err(|e| SandboxError::io(path, e))
}

/// Holds an exclusive lock on `path` for the lifetime of the value (other processes wait).
struct CacheLock(File);

impl CacheLock {
    fn acquire(path: &Path) -> Result<CacheLock, SandboxError> {
        let file = File::create(path).map_err(|e| SandboxError::io(path, e))?;
        file.lock_exclusive()
            .map_err(|e| SandboxError::io(path, e))?;
        Ok(CacheLock(file))
    }
}

impl Drop for CacheLock {
    fn drop(&mut self) {
        let _ = FileExt::unlock(&self.0);
    }
}

/// Write `bytes` to `path` atomically (temp file in the same folder, then rename).
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SandboxError> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    fs::write(&tmp, bytes).map_err(|e| SandboxError::io(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| SandboxError::io(path, e))
}

/// The interpreter build: from `R1_PYTHON_WASM` + `R1_PYTHON_STDLIB` when set, else the cache,
/// else built now by `guest/build-python.sh` (several minutes, once per machine).
pub fn interpreter() -> Result<Interpreter, SandboxError> {
    if let (Some(wasm), Some(stdlib)) = (
        std::env::var_os("R1_PYTHON_WASM"),
        std::env::var_os("R1_PYTHON_STDLIB"),
    ) {
        let wasm = PathBuf::from(wasm);
        let bytes = fs::read(&wasm).map_err(|e| SandboxError::io(&wasm, e))?;
        return Ok(Interpreter {
            key: hex_digest(&[&bytes]),
            wasm,
            stdlib: PathBuf::from(stdlib),
        });
    }
    let stack = GUEST_STACK_BYTES.to_string();
    let key = hex_digest(&[
        BUILD_SCRIPT.as_bytes(),
        SHIM.as_bytes(),
        STUBS.as_bytes(),
        stack.as_bytes(),
    ]);
    let root = cache_dir().join("python-wasi");
    let out = root.join(&key);
    let found = || {
        let interp = Interpreter {
            wasm: out.join("python-r1.wasm"),
            stdlib: out.join("stdlib"),
            key: key.clone(),
        };
        (interp.wasm.is_file() && interp.stdlib.is_dir()).then_some(interp)
    };
    if let Some(interp) = found() {
        return Ok(interp);
    }
    create_dir(&root)?;
    let _lock = CacheLock::acquire(&root.join(format!("{key}.lock")))?;
    if let Some(interp) = found() {
        return Ok(interp);
    }
    let sources = root.join(format!("{key}-sources"));
    create_dir(&sources)?;
    for (name, text) in [
        ("build-python.sh", BUILD_SCRIPT),
        ("r1_shim.c", SHIM),
        ("wasi_stubs.c", STUBS),
    ] {
        let path = sources.join(name);
        fs::write(&path, text).map_err(|e| SandboxError::io(&path, e))?;
    }
    eprintln!("[r1-sandbox] building the Python guest (once per machine; several minutes)");
    let status = Command::new("bash")
        .arg(sources.join("build-python.sh"))
        .arg(&out)
        .arg(root.join("work"))
        .arg(&stack)
        .status()
        .map_err(|source| SandboxError::Spawn {
            what: "bash",
            source,
        })?;
    if !status.success() {
        return Err(SandboxError::Provision(format!(
            "guest/build-python.sh failed ({status}); see the messages above"
        )));
    }
    found().ok_or_else(|| {
        SandboxError::Provision("the build finished without producing python-r1.wasm".into())
    })
}

/// Drive a future whose awaits never suspend (Wizer's snapshot only reads instance state).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
        std::thread::yield_now();
    }
}

/// The pre-initialized judge module (Wizer snapshot after `r1_init`), cached on disk.
pub fn snapshot(interp: &Interpreter) -> Result<(PathBuf, String), SandboxError> {
    let key = hex_digest(&[interp.key.as_bytes(), HARNESS.as_bytes()]);
    let dir = cache_dir().join("snapshots");
    let path = dir.join(format!("judge-{key}.wasm"));
    if path.is_file() {
        return Ok((path, key));
    }
    create_dir(&dir)?;
    let _lock = CacheLock::acquire(&dir.join(format!("{key}.lock")))?;
    if path.is_file() {
        return Ok((path, key));
    }
    let wasm = fs::read(&interp.wasm).map_err(|e| SandboxError::io(&interp.wasm, e))?;
    let harness_dir = dir.join(format!("harness-{key}"));
    create_dir(&harness_dir)?;
    let harness_file = harness_dir.join("r1_harness.py");
    fs::write(&harness_file, HARNESS).map_err(|e| SandboxError::io(&harness_file, e))?;

    // Interpreter start-up and stdlib compilation run once here; a big native stack because
    // compiling the stdlib recurses.
    let stdlib = interp.stdlib.clone();
    let snapshot = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || wizen(&wasm, &stdlib, &harness_dir))
        .map_err(|source| SandboxError::Spawn {
            what: "the snapshot thread",
            source,
        })?
        .join()
        .map_err(|_| SandboxError::Provision("the snapshot thread panicked".into()))??;
    write_atomic(&path, &snapshot)?;
    Ok((path, key))
}

fn wizen(wasm: &[u8], stdlib: &Path, harness_dir: &Path) -> Result<Vec<u8>, SandboxError> {
    let mut config = Config::new();
    // Run once: compile fast rather than well.
    config.cranelift_opt_level(OptLevel::None);
    config.max_wasm_stack(128 << 20);
    config.async_stack_size(129 << 20);
    let engine = Engine::new(&config).map_err(SandboxError::engine)?;
    let mut wizer = wasmtime_wizer::Wizer::new();
    wizer.init_func("r1_init");
    let (cx, instrumented) = wizer.instrument(wasm).map_err(SandboxError::engine)?;
    let module = Module::new(&engine, &instrumented).map_err(SandboxError::engine)?;
    let mut linker: Linker<WasiP1Ctx> = Linker::new(&engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |ctx| ctx).map_err(SandboxError::engine)?;
    linker
        .func_wrap("r1", "peer_call", |_: i32, _: i32| -> i32 { -1 })
        .and_then(|l| l.func_wrap("r1", "peer_result", |_: i32| {}))
        .map_err(SandboxError::engine)?;
    let wasi = WasiCtxBuilder::new()
        .inherit_stderr()
        .preopened_dir(stdlib, "/stdlib", FsPerms::ReadOnly)
        .and_then(|b| b.preopened_dir(harness_dir, "/harness", FsPerms::ReadOnly))
        .map_err(SandboxError::engine)?
        .build_p1();
    let mut store = Store::new(&engine, wasi);
    let instance = linker
        .instantiate(&mut store, &module)
        .map_err(SandboxError::engine)?;
    if let Some(init) = instance.get_func(&mut store, "_initialize") {
        init.typed::<(), ()>(&store)
            .and_then(|f| f.call(&mut store, ()))
            .map_err(SandboxError::engine)?;
    }
    instance
        .get_typed_func::<(), ()>(&mut store, "r1_init")
        .and_then(|f| f.call(&mut store, ()))
        .map_err(|e| SandboxError::GuestInit(e.into()))?;
    let mut state = wasmtime_wizer::WasmtimeWizer {
        store: &mut store,
        instance,
    };
    block_on(wizer.snapshot(&cx, &mut state)).map_err(SandboxError::engine)
}

/// Load the snapshot's machine code for `engine`, compiling and caching it on first use.
pub fn compiled_module(
    engine: &Engine,
    snapshot: &Path,
    snapshot_key: &str,
    flavour: &str,
) -> Result<Module, SandboxError> {
    use std::hash::{Hash, Hasher};
    let mut compat = std::hash::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut compat);
    let key = hex_digest(&[
        snapshot_key.as_bytes(),
        &compat.finish().to_le_bytes(),
        flavour.as_bytes(),
    ]);
    let dir = cache_dir().join("compiled");
    let path = dir.join(format!("judge-{key}.cwasm"));
    if !path.is_file() {
        create_dir(&dir)?;
        let _lock = CacheLock::acquire(&dir.join(format!("{key}.lock")))?;
        if !path.is_file() {
            let wasm = fs::read(snapshot).map_err(|e| SandboxError::io(snapshot, e))?;
            let code = engine
                .precompile_module(&wasm)
                .map_err(SandboxError::engine)?;
            write_atomic(&path, &code)?;
        }
    }
    // SAFETY: the file was produced by `precompile_module` of an engine with the same
    // compatibility hash (it is part of the file name) and is only replaced atomically.
    unsafe { Module::deserialize_file(engine, &path) }.map_err(SandboxError::engine)
}
