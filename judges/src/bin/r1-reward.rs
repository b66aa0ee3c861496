//! `r1-reward`: the reward bus over HTTP.
//!
//! ```text
//! r1-reward                          # embedded default config, 127.0.0.1:5000
//! r1-reward --config bus.toml --host 0.0.0.0 --port 8000
//! ```

use anyhow::{Context, Result};
use clap::Parser;
use judges::http::{app, AppState, ServerLimits};
use judges::{Bus, BusConfig};
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "r1-reward",
    version,
    about = "Serve R1 rewards over HTTP (OpenRLHF, SandboxFusion, native)"
)]
struct Cli {
    /// Bus configuration (TOML); the embedded default when absent.
    #[arg(long)]
    config: Option<std::path::PathBuf>,
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    #[arg(long, default_value_t = 5000)]
    port: u16,
    /// Sandbox worker threads (0 = all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Requests handled at once; more get 429.
    #[arg(long, default_value_t = 256)]
    max_concurrent: usize,
    /// Log lines as text or JSON (one object per line); filter with RUST_LOG (default info).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    init_logs(cli.log_format);
    let config = match &cli.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            BusConfig::from_toml(&text)?
        }
        None => BusConfig::embedded_default(),
    };
    let state = AppState::new(ServerLimits {
        max_concurrent: cli.max_concurrent,
        ..Default::default()
    });
    let listener = tokio::net::TcpListener::bind((cli.host.as_str(), cli.port))
        .await
        .with_context(|| format!("binding {}:{}", cli.host, cli.port))?;
    tracing::info!(address = %listener.local_addr()?, rewards = ?config.reward.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), "listening (starting)");

    // Serve at once (/health says 503) while the sandbox loads or is provisioned.
    let needs_sandbox = config
        .reward
        .iter()
        .any(|r| matches!(r.kind, judges::RewardKind::Code { .. }));
    let starting = state.clone();
    let threads = cli.threads;
    let startup = tokio::task::spawn_blocking(move || -> Result<()> {
        let sandbox = sandbox::Sandbox::new(Default::default(), threads).map(Arc::new);
        let sandbox = match sandbox {
            Ok(sandbox) => Some(sandbox),
            Err(err) if !needs_sandbox => {
                tracing::warn!(error = %err, "no sandbox: /run_code is unavailable");
                starting.set_sandbox_failed(err);
                None
            }
            Err(err) => return Err(err).context("the code reward needs the sandbox"),
        };
        let bus = Bus::new(&config, sandbox.clone())?;
        starting.set_ready(Arc::new(bus), sandbox);
        tracing::info!("ready");
        Ok(())
    });
    tokio::spawn(async move {
        let failure = match startup.await {
            Ok(Ok(())) => return,
            Ok(Err(err)) => format!("{err:#}"),
            Err(err) => format!("start-up task: {err}"),
        };
        tracing::error!(error = %failure, "start-up failed");
        std::process::exit(2);
    });
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("server")
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
