//! The OpenAPI description, generated from the handlers' annotations (no build step).

use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::routes::scope::ME_PREFIX;
use crate::routes::{
    agents, auth, calls, health, parked, recordings, servers, stats, transfers, users,
};
use crate::routes::{api_keys, tenants};
use crate::ws;

#[derive(OpenApi)]
#[openapi(
    info(title = "hookflash API", description = "Call control, agents, statistics and events for hookflash."),
    paths(
        auth::login, auth::refresh, auth::change_password,
        calls::create_call, calls::list_calls, calls::get_call, calls::hangup_call,
        calls::hold_start, calls::hold_stop, calls::mute_start, calls::mute_stop,
        recordings::record_start, recordings::record_stop, recordings::record_pause,
        recordings::record_resume, recordings::list_recordings,
        calls::send_dtmf, calls::park_call, calls::set_disposition,
        transfers::create_transfer, transfers::complete_transfer, transfers::cancel_transfer,
        agents::list_agents, agents::create_agent, agents::get_agent, agents::update_agent,
        agents::delete_agent, agents::set_agent_state,
        users::create_user, users::list_users, users::get_user, users::update_user,
        users::delete_user,
        tenants::list_tenants, tenants::create_tenant, tenants::get_tenant,
        tenants::update_tenant, tenants::deactivate_tenant,
        api_keys::create_api_key, api_keys::list_api_keys, api_keys::get_api_key,
        api_keys::revoke_api_key,
        parked::list_parked, parked::pickup_parked,
        servers::list_servers, servers::test_server,
        stats::stats,
        ws::ws_handler,
        health::healthz, health::readyz, health::metrics,
    ),
    components(schemas(crate::ws_messages::WsMessage)),
    modifiers(&Security, &CommonResponses),
    tags(
        (name = "auth"), (name = "calls"), (name = "transfers"), (name = "agents"), (name = "users"), (name = "tenants"), (name = "api_keys"),
        (name = "parked"), (name = "servers"), (name = "stats"), (name = "events"), (name = "health"),
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

/// The error answers every operation of a kind can give, documented once here instead of in
/// each handler's annotation (where they were missing: no operation listed 400).
struct CommonResponses;

impl utoipa::Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let public = matches!(
                path.as_str(),
                "/healthz" | "/metrics" | "/api/v1/openapi.json"
            );
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
                for (status, why) in common_errors(op, public) {
                    op.responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| error_response(why).into());
                }
            }
        }
    }
}

/// The statuses `op` can answer besides its own: `public` operations touch no database.
fn common_errors(
    op: &utoipa::openapi::path::Operation,
    public: bool,
) -> Vec<(&'static str, &'static str)> {
    use utoipa::openapi::path::ParameterIn;
    let params = op.parameters.as_deref().unwrap_or_default();
    let has = |place: ParameterIn| params.iter().any(|p| p.parameter_in == place);
    let mut out = vec![(
        "400",
        "bad_request: the request could not be read (a body that is not JSON, a missing \
         Content-Type: application/json)",
    )];
    if op.security.is_some() {
        out.push(("401", "unauthorized: no valid token or API key"));
    }
    if has(ParameterIn::Path) {
        out.push(("404", "not_found: no such resource for the caller's tenant"));
    }
    if op.request_body.is_some() {
        out.push(("408", "request_timeout: the body stalled"));
        out.push(("413", "payload_too_large: the body is over the limit"));
    }
    if op.request_body.is_some() || has(ParameterIn::Query) {
        out.push((
            "422",
            "validation_failed: a field has the wrong type or value (`field` names it)",
        ));
    }
    if !public {
        out.push((
            "503",
            "database_unavailable or provider_unavailable: try again (see Retry-After)",
        ));
    }
    out
}

fn error_response(description: &str) -> utoipa::openapi::Response {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_documents_400_and_body_operations_422() {
        let doc = openapi();
        let mut seen = 0;
        for (path, item) in &doc.paths.paths {
            for op in [&item.get, &item.put, &item.post, &item.delete, &item.patch]
                .into_iter()
                .flatten()
            {
                seen += 1;
                let has = |s: &str| op.responses.responses.contains_key(s);
                assert!(has("400"), "{path}: 400 undocumented");
                if op.request_body.is_some() {
                    assert!(has("422") && has("413"), "{path}: 422/413 undocumented");
                }
                if op.security.is_some() {
                    assert!(has("401") && has("503"), "{path}: 401/503 undocumented");
                }
            }
        }
        assert!(seen > 40, "only {seen} operations");
    }
}
