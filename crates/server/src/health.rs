//! The event-listener's own small HTTP surface: `/healthz` and `/metrics`.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use hookflash_pipeline::listener::{Listener, ListenerMetrics, SourceStatus};
use hookflash_store::Store;

/// What the listener's `/healthz` and `/metrics` read.
#[derive(Debug, Clone)]
pub struct HealthState {
    /// The store (pinged by `/healthz`).
    pub store: Store,
    /// The sources' status.
    pub statuses: Vec<Arc<SourceStatus>>,
    /// The pipeline's counters.
    pub metrics: ListenerMetrics,
}

impl HealthState {
    /// The state of a running listener.
    pub fn of(store: Store, listener: &Listener) -> Self {
        Self {
            store,
            statuses: listener.statuses().to_vec(),
            metrics: listener.metrics().clone(),
        }
    }
}

/// `GET /healthz` (200 when the database answers and every PBX link is up, else 503, with
/// per-server detail) and `GET /metrics` (Prometheus text).
pub fn health_router(state: HealthState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn healthz(State(state): State<HealthState>) -> impl IntoResponse {
    let db = state.store.ping().await.is_ok();
    let servers: Vec<_> = state
        .statuses
        .iter()
        .map(|s| {
            serde_json::json!({
                "name": s.name,
                "protocol": s.protocol,
                "connected": s.connected(),
                "live_calls": s.live_calls(),
            })
        })
        .collect();
    let ok = db && state.statuses.iter().all(|s| s.connected());
    let code = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        code,
        axum::Json(serde_json::json!({
            "status": if ok { "ok" } else { "degraded" },
            "database": db,
            "servers": servers,
        })),
    )
}

async fn metrics(State(state): State<HealthState>) -> impl IntoResponse {
    // The pipeline's registry carries the per-server link state and the writer's figures.
    let text = state.metrics.render();
    ([("content-type", "text/plain; version=0.0.4")], text)
}
