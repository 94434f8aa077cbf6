//! The axum router.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method, Uri, header};
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::{get, post, put};

use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::error::ApiError;
use crate::routes::{
    agents, auth, calls, health, parked, recordings, servers, stats, transfers, users,
};
use crate::routes::{api_keys, tenants};
use crate::state::AppState;
use crate::{metrics, openapi, ws};

/// The whole API: mount it in a server, or drive it in-process with `tower::ServiceExt::oneshot`.
///
/// Serve it with `into_make_service_with_connect_info::<SocketAddr>()` so the login limiter
/// sees client addresses.
pub fn router(state: AppState) -> Router {
    let body_limit = state.settings().body_limit;
    let mut r = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/api/v1/openapi.json", get(openapi_json))
        .route("/api/v1/auth/login", post(auth::login))
        .route("/api/v1/auth/refresh", post(auth::refresh))
        .route("/api/v1/auth/password", post(auth::change_password))
        .route("/api/v1/ws", get(ws::ws_handler))
        .route(
            "/api/v1/calls",
            get(calls::list_calls).post(calls::create_call),
        )
        .route("/api/v1/users/me/calls", get(calls::list_calls))
        .route("/api/v1/transfers", post(transfers::create_transfer))
        .route(
            "/api/v1/transfers/{id}/complete",
            put(transfers::complete_transfer),
        )
        .route(
            "/api/v1/transfers/{id}",
            axum::routing::delete(transfers::cancel_transfer),
        )
        .route(
            "/api/v1/agents",
            get(agents::list_agents).post(agents::create_agent),
        )
        .route(
            "/api/v1/agents/{id}",
            get(agents::get_agent)
                .put(agents::update_agent)
                .delete(agents::delete_agent),
        )
        .route("/api/v1/agents/{id}/state", put(agents::set_agent_state))
        .route(
            "/api/v1/users",
            get(users::list_users).post(users::create_user),
        )
        .route(
            "/api/v1/users/{id}",
            get(users::get_user)
                .patch(users::update_user)
                .delete(users::delete_user),
        )
        .route(
            "/api/v1/tenants",
            get(tenants::list_tenants).post(tenants::create_tenant),
        )
        .route(
            "/api/v1/tenants/{id}",
            get(tenants::get_tenant)
                .patch(tenants::update_tenant)
                .delete(tenants::deactivate_tenant),
        )
        .route(
            "/api/v1/api-keys",
            get(api_keys::list_api_keys).post(api_keys::create_api_key),
        )
        .route(
            "/api/v1/api-keys/{id}",
            get(api_keys::get_api_key).delete(api_keys::revoke_api_key),
        )
        .route("/api/v1/parked", get(parked::list_parked))
        .route("/api/v1/parked/{slot}/pickup", post(parked::pickup_parked))
        .route("/api/v1/servers", get(servers::list_servers))
        .route("/api/v1/servers/{name}/test", post(servers::test_server))
        .route("/api/v1/stats", get(stats::stats));
    for prefix in ["/api/v1/calls", "/api/v1/users/me/calls"] {
        r = r
            .route(
                &format!("{prefix}/{{id}}"),
                get(calls::get_call).delete(calls::hangup_call),
            )
            .route(
                &format!("{prefix}/{{id}}/hold/start"),
                put(calls::hold_start),
            )
            .route(&format!("{prefix}/{{id}}/hold/stop"), put(calls::hold_stop))
            .route(
                &format!("{prefix}/{{id}}/mute/start"),
                put(calls::mute_start),
            )
            .route(&format!("{prefix}/{{id}}/mute/stop"), put(calls::mute_stop))
            .route(
                &format!("{prefix}/{{id}}/record/start"),
                put(recordings::record_start),
            )
            .route(
                &format!("{prefix}/{{id}}/record/stop"),
                put(recordings::record_stop),
            )
            .route(
                &format!("{prefix}/{{id}}/record/pause"),
                put(recordings::record_pause),
            )
            .route(
                &format!("{prefix}/{{id}}/record/resume"),
                put(recordings::record_resume),
            )
            .route(
                &format!("{prefix}/{{id}}/recordings"),
                get(recordings::list_recordings),
            )
            .route(&format!("{prefix}/{{id}}/dtmf"), post(calls::send_dtmf))
            .route(&format!("{prefix}/{{id}}/park"), post(calls::park_call))
            .route(
                &format!("{prefix}/{{id}}/disposition"),
                put(calls::set_disposition),
            );
    }
    let cors = cors_layer(&state.settings().cors_allowed_origins);
    let r = r
        .method_not_allowed_fallback(method_not_allowed)
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state);
    match cors {
        Some(cors) => r.layer(cors),
        None => r,
    }
}

/// CORS for a dialer page served from another origin: only the configured origins, the
/// methods and request headers the API uses (`Authorization`, `X-API-Key`, `Content-Type`),
/// `Retry-After` readable by the page. Credentials are headers, never cookies, so
/// `Access-Control-Allow-Credentials` is not sent. Without configured origins there is no
/// layer at all: no CORS header on any answer, and a browser refuses cross-origin calls.
/// Preflights (`OPTIONS` with `Access-Control-Request-Method`) are answered by the layer,
/// before authentication.
fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| match HeaderValue::from_str(o.trim_end_matches('/')) {
            Ok(v) => Some(v),
            Err(_) => {
                tracing::warn!(origin = %o, "ignoring a CORS origin that is not a header value");
                None
            }
        })
        .collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("x-api-key"),
            ])
            .expose_headers([header::RETRY_AFTER])
            .max_age(Duration::from_secs(600)),
    )
}

async fn openapi_json() -> impl IntoResponse {
    axum::Json(openapi::openapi())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

async fn not_found(uri: Uri) -> ApiError {
    tracing::debug!(path = %uri.path(), "no route");
    ApiError::NotFound("route")
}
