//! Liveness, readiness and metrics.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::state::AppState;

/// One readiness check.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Check {
    /// `database` or a server name.
    pub name: String,
    /// Passed.
    pub ok: bool,
    /// Why not.
    pub detail: Option<String>,
}

/// `GET /readyz`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Readiness {
    /// All checks passed.
    pub ready: bool,
    /// Each check.
    pub checks: Vec<Check>,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = String)))]
pub(crate) async fn healthz() -> &'static str {
    "ok"
}

/// The database answers and every PBX connection answers its round trip.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
pub(crate) async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let mut checks = Vec::new();
    let db = tokio::time::timeout(Duration::from_secs(3), state.store().ping()).await;
    checks.push(match db {
        Ok(Ok(_)) => Check {
            name: "database".to_owned(),
            ok: true,
            detail: None,
        },
        Ok(Err(_)) => Check {
            name: "database".to_owned(),
            ok: false,
            detail: Some("query failed".to_owned()),
        },
        Err(_) => Check {
            name: "database".to_owned(),
            ok: false,
            detail: Some("no answer in time".to_owned()),
        },
    });
    let probes = state.providers().iter().map(|e| async move {
        if e.probe.connected() == Some(false) {
            return Check {
                name: e.name.clone(),
                ok: false,
                detail: Some("not connected".to_owned()),
            };
        }
        match tokio::time::timeout(Duration::from_secs(3), e.probe.test()).await {
            Ok(Ok(_)) => Check {
                name: e.name.clone(),
                ok: true,
                detail: None,
            },
            Ok(Err(err)) => Check {
                name: e.name.clone(),
                ok: false,
                detail: Some(err.to_string()),
            },
            Err(_) => Check {
                name: e.name.clone(),
                ok: false,
                detail: Some("no answer in time".to_owned()),
            },
        }
    });
    checks.extend(futures::future::join_all(probes).await);
    let ready = checks.iter().all(|c| c.ok);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(Readiness { ready, checks }))
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "health", responses((status = 200, body = String)))]
pub(crate) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics().render(),
    )
}
