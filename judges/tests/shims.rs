//! The Python integrations in `examples/` (TRL reward functions, verl `compute_score`, the
//! OpenRLHF protocol) against a real `r1-reward` server on loopback, standard library only.

mod common;

use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trl_verl_and_openrlhf_shims_work() {
    let url = common::serve_default().await;

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
