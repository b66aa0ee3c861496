//! A real `r1-reward` app with the embedded default bus and a real sandbox, served on loopback.

use judges::http::{app, AppState, ServerLimits};
use judges::{Bus, BusConfig};
use std::sync::Arc;

/// Start the default server on 127.0.0.1:<free port>; its base URL.
pub async fn serve_default() -> String {
    let sandbox = Arc::new(sandbox::Sandbox::new(Default::default(), 2).expect("sandbox"));
    let state = AppState::new(ServerLimits::default());
    let bus = Bus::new(&BusConfig::embedded_default(), Some(sandbox.clone())).unwrap();
    state.set_ready(Arc::new(bus), Some(sandbox));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app(state)).await });
    url
}
