//! The OpenAPI description, generated from the handlers' annotations (no build step).

use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::routes::scope::ME_PREFIX;
use crate::routes::{agents, auth, calls, health, servers, stats, transfers, users};
use crate::ws;

#[derive(OpenApi)]
#[openapi(
    info(title = "hookflash API", description = "Call control, agents, statistics and events for hookflash."),
    paths(
        auth::login, auth::refresh,
        calls::create_call, calls::list_calls, calls::get_call, calls::hangup_call,
        calls::hold_start, calls::hold_stop, calls::mute_start, calls::mute_stop,
        calls::record_start, calls::record_stop, calls::record_pause, calls::record_resume,
        calls::send_dtmf, calls::park_call, calls::set_disposition,
        transfers::create_transfer, transfers::complete_transfer, transfers::cancel_transfer,
        agents::list_agents, agents::create_agent, agents::get_agent, agents::update_agent,
        agents::delete_agent, agents::set_agent_state,
        users::create_user, users::list_users, users::get_user, users::update_user,
        users::delete_user,
        servers::list_servers, servers::test_server,
        stats::stats,
        ws::ws_handler,
        health::healthz, health::readyz, health::metrics,
    ),
    modifiers(&Security),
    tags(
        (name = "auth"), (name = "calls"), (name = "transfers"), (name = "agents"), (name = "users"),
        (name = "servers"), (name = "stats"), (name = "events"), (name = "health"),
    )
)]
struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT or hfk_ api key")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        );
    }
}

/// The OpenAPI document of every route, including the `/api/v1/users/me/calls...` copies of
/// the call routes (same handlers, scoped to the caller's own calls).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    let copies: Vec<(String, utoipa::openapi::PathItem)> = doc
        .paths
        .paths
        .iter()
        .filter(|(p, _)| p.starts_with("/api/v1/calls/"))
        .map(|(p, item)| {
            let rest = p.trim_start_matches("/api/v1/");
            (
                format!("{ME_PREFIX}{rest}"),
                strip_operation_ids(item.clone()),
            )
        })
        .collect();
    let list = doc.paths.paths.get("/api/v1/calls").map(|item| {
        let mut item = strip_operation_ids(item.clone());
        item.post = None;
        item
    });
    for (p, item) in copies {
        doc.paths.paths.insert(p, item);
    }
    if let Some(item) = list {
        doc.paths.paths.insert(format!("{ME_PREFIX}calls"), item);
    }
    doc
}

/// Operation ids must be unique in a document: the copies get their own.
fn strip_operation_ids(mut item: utoipa::openapi::PathItem) -> utoipa::openapi::PathItem {
    for op in [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .flatten()
    {
        op.operation_id = op.operation_id.take().map(|id| format!("my_{id}"));
    }
    item
}
