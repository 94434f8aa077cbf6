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
    /// `database` or `servers` (every configured PBX connection, counted: the names and
    /// errors of each are on the authenticated `GET /api/v1/servers`, since `/readyz` answers
    /// anyone).
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

/// The database answers and every PBX connection answers its round trip. Unauthenticated
/// (load balancers ask it), so it names no server: it counts them.
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
            return false;
        }
        matches!(
            tokio::time::timeout(Duration::from_secs(3), e.probe.test()).await,
            Ok(Ok(_))
        )
    });
    let answered = futures::future::join_all(probes).await;
    if !answered.is_empty() {
        let up = answered.iter().filter(|ok| **ok).count();
        let all = answered.len();
        checks.push(Check {
            name: "servers".to_owned(),
            ok: up == all,
            detail: (up < all).then(|| format!("{up} of {all} servers answer")),
        });
    }
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
