//! The Python integrations in `examples/` (TRL reward functions, verl `compute_score`, the
//! OpenRLHF protocol) against a real `r1-reward` server on loopback, standard library only.

use judges::http::{app, AppState, ServerLimits};
use judges::{Bus, BusConfig};
use std::process::Command;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trl_verl_and_openrlhf_shims_work() {
    let sandbox = Arc::new(sandbox::Sandbox::new(Default::default(), 2).expect("sandbox"));
    let state = AppState::new(ServerLimits::default());
    let bus = Bus::new(&BusConfig::embedded_default(), Some(sandbox.clone())).unwrap();
    state.set_ready(Arc::new(bus), Some(sandbox));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app(state)).await });

    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg("examples/test_shims.py")
            .arg(&url)
            .current_dir(root)
            .output()
    })
    .await
    .unwrap()
    .expect("python3 must be installed to test the Python shims");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "shims failed:\n{stdout}\n{stderr}");
    for name in ["trl: ok", "verl: ok", "openrlhf: ok"] {
        assert!(stdout.contains(name), "{stdout}");
    }
}
