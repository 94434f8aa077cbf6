//! PBX servers: each configured connection with its protocol and live status, and a real
//! round-trip test.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::config::DialFormat;
use crate::error::{ApiError, ErrorBody, Result};
use crate::state::{AppState, ServerEntry};

/// How long `GET /servers` waits for each server's answer.
const STATUS_TIMEOUT: Duration = Duration::from_secs(3);

/// A configured connection and what it answered just now.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ServerView {
    /// The configured name.
    pub name: String,
    /// `ami`, `ari` or `twilio`.
    pub protocol: String,
    /// How customer numbers are handed to this server: `e164` (`+15551204005`), `digits`
    /// (`15551204005`) or `national` (`5551204005`). Twilio always uses `e164`.
    pub dial_format: String,
    /// `up` (it answered), `down` (it did not) or `disconnected` (no connection to ask over).
    pub status: String,
    /// The client's own view of its connection, when it keeps one.
    pub connected: Option<bool>,
    /// Round-trip time of the check.
    pub latency_ms: Option<u64>,
    /// What the server said, or why the check failed.
    pub detail: Option<String>,
}

fn dial_format_name(format: DialFormat) -> &'static str {
    match format {
        DialFormat::E164 => "e164",
        DialFormat::Digits => "digits",
        DialFormat::National => "national",
    }
}

async fn check(state: &AppState, entry: &ServerEntry, timeout: Duration) -> ServerView {
    let connected = entry.probe.connected();
    let mut view = ServerView {
        name: entry.name.clone(),
        protocol: entry.protocol.as_str().to_owned(),
        dial_format: dial_format_name(state.settings().dial_format(&entry.name)).to_owned(),
        status: "down".to_owned(),
        connected,
        latency_ms: None,
        detail: None,
    };
    if connected == Some(false) {
        view.status = "disconnected".to_owned();
        return view;
    }
    match tokio::time::timeout(timeout, entry.probe.test()).await {
        Ok(Ok(report)) => {
            view.status = "up".to_owned();
            view.latency_ms = Some(report.latency_ms);
            view.detail = report.detail;
        }
        Ok(Err(e)) => view.detail = Some(e.to_string()),
        Err(_) => view.detail = Some("no answer in time".to_owned()),
    }
    view
}

/// Every configured connection, each asked for its status now (supervisor).
#[utoipa::path(get, path = "/api/v1/servers", tag = "servers",
    responses((status = 200, body = [ServerView]), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn list_servers(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<ServerView>>> {
    caller.require_supervisor()?;
    let checks = state
        .providers()
        .iter()
        .map(|e| check(&state, e, STATUS_TIMEOUT));
    Ok(Json(futures::future::join_all(checks).await))
}

/// A real round trip to one server: AMI `Ping`, ARI `GET /asterisk/info`, Twilio account
/// fetch (admin).
#[utoipa::path(post, path = "/api/v1/servers/{name}/test", tag = "servers",
    params(("name" = String, Path, description = "Configured server name")),
    responses((status = 200, body = ServerView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn test_server(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<ServerView>> {
    caller.require_admin()?;
    let entry = state
        .providers()
        .get(&name)
        .ok_or(ApiError::NotFound("server"))?;
    Ok(Json(check(&state, entry, Duration::from_secs(10)).await))
}
