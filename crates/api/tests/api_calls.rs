//! Call flow through the router: originate (validated, recorded as created, then sent to the
//! provider), list/filter/paginate, detail, every in-call control, transfers, disposition,
//! agents and their state, servers, stats, health, OpenAPI.
//!
//! Most tests use a recording `CallProvider` (it logs the commands it gets); one drives the
//! real `hookflash-asterisk` AmiProvider against the `hookflash-ami` mock server replaying
//! `ami/originate-answered.jsonl`.

#[macro_use]
mod api_common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use api_common::{Db, TestApp, error_code, postgres_url};
use axum::http::{Method, StatusCode};
use hookflash_api::bus::{BusMessage, EventBus};
use hookflash_api::{AppState, Config, Protocol, ProviderRegistry, Settings, VariablePolicy};
use hookflash_asterisk::AmiPing;
use hookflash_provider::{CallId, ProviderError};
use serde_json::{Value, json};

async fn originate_is_recorded_then_sent(db: Db) {
    let app = TestApp::with_settings(db, |s| {
        s.variables = VariablePolicy::new().with_allow(["CRM_ID"]);
    })
    .await;
    let (s, body) = app
        .send(
            Method::POST,
            "/api/v1/calls",
            Some(&app.a.agent1),
            Some(json!({
                "number": "(202) 555-0143",
                "caller_id": "+1 202 555 0100",
                "variables": {"CRM_ID": "42"},
                "record": true,
            })),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    let call_id: CallId = body["call_id"].as_str().unwrap().parse().unwrap();
    assert_eq!(body["state"], "created");
    let sent = app.provider.originates.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].call_id, call_id);
    assert_eq!(sent[0].tenant, app.a.tenant);
    assert_eq!(sent[0].agent_endpoint, app.a.agent1_rec.endpoint);
    assert_eq!(sent[0].customer_number, "+12025550143");
    assert_eq!(sent[0].caller_id.as_deref(), Some("+12025550100"));
    assert_eq!(sent[0].variables.get("CRM_ID"), Some("42"));
    assert!(sent[0].record);

    let row = app
        .store
        .calls()
        .get(app.a.tenant, call_id)
        .await
        .unwrap()
        .expect("registered before originate");
    assert_eq!(row.state, "created");
    assert_eq!(row.server.as_deref(), Some("pbx1"));
    assert_eq!(row.agent_id, Some(app.a.agent1_rec.id.to_string()));
    assert_eq!(row.to_number.as_deref(), Some("+12025550143"));

    let (s, detail) = app
        .send(
            Method::GET,
            &format!("/api/v1/users/me/calls/{call_id}"),
            Some(&app.a.agent1),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{detail}");
    assert_eq!(detail["call"]["id"], call_id.to_string());
    assert!(detail["legs"].is_array() && detail["events"].is_array());

    // A supervisor names the agent, by id or by endpoint.
    for agent in [
        app.a.agent2_rec.id.to_string(),
        app.a.agent2_rec.endpoint.clone(),
    ] {
        let (s, body) = app
            .send(
                Method::POST,
                "/api/v1/calls",
                Some(&app.a.supervisor),
                Some(json!({"agent": agent, "number": "+442079460958"})),
            )
            .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    }
    let (s, body) = app
        .send(
            Method::POST,
            "/api/v1/calls",
            Some(&app.a.supervisor),
            Some(json!({"number": "+442079460958"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "agent");
    let (s, body) = app
        .send(
            Method::POST,
            "/api/v1/calls",
            Some(&app.a.agent1),
            Some(json!({"number": "+442079460958", "server": "nope"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "server");
}

/// The API writes no call state after `created` (issue 11 point 12): an originate whose
/// outcome is unknown (a timeout) is answered 202 `pending` and left to the tracker; a refusal
/// is an error for the caller, and the record is ended by the tracker from the provider's
/// `originate_result` event, not by the handler.
async fn originate_errors_leave_call_state_to_the_tracker(db: Db) {
    let app = TestApp::new(db).await;
    let states = |body: &Value| -> Vec<(String, Value)> {
        body["items"]
            .as_array()
            .unwrap_or_else(|| panic!("a page: {body}"))
            .iter()
            .map(|c| {
                (
                    c["state"].as_str().unwrap_or_default().to_owned(),
                    c["disposition"].clone(),
                )
            })
            .collect()
    };
    *app.provider.originate_error.lock().unwrap() = Some(ProviderError::Timeout {
        what: "Originate".to_owned(),
    });
    let (s, body) = app
        .send(
            Method::POST,
            "/api/v1/calls",
            Some(&app.a.agent1),
            Some(json!({"number": "+12025550143"})),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["state"], "pending", "{body}");
    let pending = body["call_id"].as_str().unwrap().to_owned();
    let (s, body) = app
        .send(
            Method::GET,
            &format!("/api/v1/calls/{pending}"),
            Some(&app.a.admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        body["call"]["state"], "created",
        "the tracker decides: {body}"
    );
    assert_eq!(body["call"]["disposition"], Value::Null, "{body}");

    *app.provider.originate_error.lock().unwrap() = Some(ProviderError::Rejected {
        reason: "Originate refused".to_owned(),
    });
    let (s, body) = app
        .send(
            Method::POST,
            "/api/v1/calls",
            Some(&app.a.agent1),
            Some(json!({"number": "+12025550144"})),
        )
        .await;
    assert!(s.is_client_error() || s.is_server_error(), "{s} {body}");
    let (s, body) = app
        .send(Method::GET, "/api/v1/calls", Some(&app.a.admin), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let states = states(&body);
    assert_eq!(states.len(), 2, "{body}");
    assert!(
        states.iter().all(|(s, d)| s == "created" && d.is_null()),
        "no call state written by the handler: {states:?}"
    );
}

/// A client that goes away while its call is being placed (hyper drops the handler) must not
/// leave a `created` row that no originate ever follows: the originate still goes out.
async fn a_client_that_goes_away_does_not_strand_its_call(db: Db) {
    let app = TestApp::new(db).await;
    let gate = api_common::OriginateGate::default();
    *app.provider.originate_gate.lock().unwrap() = Some(gate.clone());
    let mut request = Box::pin(app.send(
        Method::POST,
        "/api/v1/calls",
        Some(&app.a.agent1),
        Some(json!({"number": "+12025550145"})),
    ));
    tokio::select! {
        (s, body) = &mut request => panic!("the originate is held, yet answered {s} {body}"),
        () = gate.entered.notified() => {}
    }
    // The client goes away with the row written and the originate in flight.
    drop(request);
    gate.release.notify_one();
    tokio::time::timeout(std::time::Duration::from_secs(30), gate.done.notified())
        .await
        .expect("the originate ran to its end");
    let sent = app.provider.originates.lock().unwrap().clone();
    assert_eq!(sent.len(), 1, "the originate went out: {sent:?}");
    let (s, body) = app
        .send(
            Method::GET,
            &format!("/api/v1/calls/{}", sent[0].call_id),
            Some(&app.a.admin),
            None,
        )
        .await;
    assert_eq!(
        s,
        StatusCode::OK,
        "the row the originate belongs to: {body}"
    );
}

async fn provider_not_connected_is_503_naming_it(db: Db) {
    let app = TestApp::new(db).await;
    app.provider.disconnected.store(true, Ordering::SeqCst);
    let (s, body) = app
        .send(
            Method::POST,
            "/api/v1/calls",
            Some(&app.a.agent1),
            Some(json!({"number": "+12025550143"})),
        )
        .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(error_code(&body), "provider_unavailable");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("pbx1"),
        "{body}"
    );
    let call = app.live_call(&app.a, &app.a.agent1_rec).await;
    let (s, body) = app
        .send(
            Method::PUT,
            &format!("/api/v1/calls/{call}/hold/start"),
            Some(&app.a.agent1),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body["error"]["message"].as_str().unwrap().contains("pbx1"));
    let (s, body) = app
        .send(Method::GET, "/api/v1/servers", Some(&app.a.admin), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body[0]["status"], "disconnected", "{body}");
    let (s, body) = app.send(Method::GET, "/readyz", None, None).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["ready"], false);
    // Unauthenticated: the PBX is reported down, counted, never named.
    assert!(!body.to_string().contains("pbx1"), "{body}");
    let servers = body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "servers")
        .unwrap_or_else(|| panic!("a servers check: {body}"));
    assert_eq!(servers["ok"], false, "{body}");
    assert_eq!(servers["detail"], "0 of 1 servers answer", "{body}");
}

async fn list_filters_and_paginates(db: Db) {
    let app = TestApp::new(db).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(app.live_call(&app.a, &app.a.agent1_rec).await.to_string());
    }
    ids.push(app.live_call(&app.a, &app.a.agent2_rec).await.to_string());
    let mut seen = Vec::new();
    let mut uri = "/api/v1/calls?limit=2".to_owned();
    loop {
        let (s, page) = app.send(Method::GET, &uri, Some(&app.a.admin), None).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|c| c["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => uri = format!("/api/v1/calls?limit=2&cursor={c}"),
            None => break,
        }
    }
    let mut expected = ids.clone();
    expected.sort();
    let mut got = seen.clone();
    got.sort();
    assert_eq!(got, expected, "every call once");
    let agent2 = app.a.agent2_rec.id;
    let (_, page) = app
        .send(
            Method::GET,
            &format!("/api/v1/calls?agent={agent2}&state=connected&direction=outbound"),
            Some(&app.a.admin),
            None,
        )
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
    let (_, page) = app
        .send(
            Method::GET,
            "/api/v1/calls?number=2025550143",
            Some(&app.a.admin),
            None,
        )
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 6, "{page}");
    let (_, page) = app
        .send(
            Method::GET,
            "/api/v1/calls?from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z",
            Some(&app.a.admin),
            None,
        )
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 0);
    let (s, body) = app
        .send(
            Method::GET,
            "/api/v1/calls?cursor=zzz",
            Some(&app.a.admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "cursor");
}

async fn in_call_controls_reach_the_provider(db: Db) {
    let app = TestApp::new(db).await;
    let call = app.live_call(&app.a, &app.a.agent1_rec).await;
    let agent_leg = format!("agent-leg-{call}");
    let cust_leg = format!("cust-leg-{call}");
    let base = format!("/api/v1/users/me/calls/{call}");
    let steps = [
        (Method::PUT, "/hold/start", None, format!("hold {cust_leg}")),
        (
            Method::PUT,
            "/hold/stop",
            None,
            format!("unhold {cust_leg}"),
        ),
        (
            Method::PUT,
            "/hold/start",
            Some(json!({"party": "agent"})),
            format!("hold {agent_leg}"),
        ),
        (
            Method::PUT,
            "/mute/start",
            None,
            format!("mute {agent_leg} Both"),
        ),
        (
            Method::PUT,
            "/mute/stop",
            Some(json!({"direction": "in"})),
            format!("unmute {agent_leg} In"),
        ),
        (
            Method::PUT,
            "/record/start",
            None,
            format!("record_start {agent_leg}"),
        ),
        (
            Method::PUT,
            "/record/pause",
            None,
            format!("record_pause {agent_leg} rec-{call}"),
        ),
        (
            Method::PUT,
            "/record/resume",
            None,
            format!("record_resume {agent_leg} rec-{call}"),
        ),
        (
            Method::PUT,
            "/record/stop",
            None,
            format!("record_stop {agent_leg} rec-{call}"),
        ),
        (
            Method::POST,
            "/dtmf",
            Some(json!({"digits": "12*#"})),
            format!("dtmf {cust_leg} 12*#"),
        ),
        (
            Method::POST,
            "/park",
            Some(json!({"lot": "default", "timeout_secs": 60})),
            format!("park {cust_leg}"),
        ),
        (Method::DELETE, "", None, format!("hangup {agent_leg}")),
    ];
    for (method, suffix, body, expect) in steps {
        let before = app.provider.log_lines().len();
        let (s, resp) = app
            .send(
                method.clone(),
                &format!("{base}{suffix}"),
                Some(&app.a.agent1),
                body,
            )
            .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{method} {suffix}: {resp}");
        assert_eq!(resp["call_id"], call.to_string());
        let log = app.provider.log_lines();
        assert_eq!(log.get(before), Some(&expect), "{method} {suffix}: {log:?}");
    }
    // Bad inputs are refused before the provider.
    let before = app.provider.log_lines().len();
    for (method, suffix, body, field) in [
        (Method::POST, "/dtmf", json!({"digits": "12x"}), "digits"),
        (
            Method::PUT,
            "/mute/start",
            json!({"direction": "sideways"}),
            "direction",
        ),
        (
            Method::POST,
            "/park",
            json!({"timeout_secs": 0}),
            "timeout_secs",
        ),
    ] {
        let (s, resp) = app
            .send(
                method,
                &format!("{base}{suffix}"),
                Some(&app.a.agent1),
                Some(body),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{suffix}: {resp}");
        assert_eq!(resp["error"]["field"], field);
    }
    assert_eq!(app.provider.log_lines().len(), before);
    // No recording running: stop is a conflict.
    let (s, _) = app
        .send(
            Method::PUT,
            &format!("{base}/record/stop"),
            Some(&app.a.agent1),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);

    // Disposition (also after the end) and an ended call refuses controls.
    let mut row = app
        .store
        .calls()
        .get(app.a.tenant, call)
        .await
        .unwrap()
        .unwrap();
    row.state = "ended".into();
    row.version += 1;
    app.store
        .write_call(&hookflash_store::CallWrite::call(row))
        .await
        .unwrap();
    let (s, resp) = app
        .send(
            Method::PUT,
            &format!("{base}/hold/start"),
            Some(&app.a.agent1),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{resp}");
    assert_eq!(error_code(&resp), "conflict");
    let (s, resp) = app
        .send(
            Method::PUT,
            &format!("{base}/disposition"),
            Some(&app.a.agent1),
            Some(json!({"code": "sale", "notes": "wants the blue one"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{resp}");
    assert_eq!(resp["wrapup_code"], "sale");
    assert_eq!(resp["wrapup_notes"], "wants the blue one");
}

async fn transfers_blind_and_attended(db: Db) {
    let app = TestApp::new(db).await;
    let call = app.live_call(&app.a, &app.a.agent1_rec).await;
    let (s, resp) = app
        .send(
            Method::POST,
            "/api/v1/transfers",
            Some(&app.a.agent1),
            Some(json!({"call_id": call.to_string(), "kind": "blind", "destination": "1002"})),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{resp}");
    assert!(resp["transfer_id"].is_null());
    assert_eq!(
        app.provider.log_lines().last().unwrap(),
        &format!("blind_transfer cust-leg-{call} 1002")
    );
    for finish in ["complete", "cancel"] {
        let (s, resp) = app
            .send(
                Method::POST,
                "/api/v1/transfers",
                Some(&app.a.agent1),
                Some(json!({"call_id": call.to_string(), "kind": "attended", "destination": "+12025550177"})),
            )
            .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{resp}");
        let id = resp["transfer_id"].as_str().unwrap().to_owned();
        // Another agent of the same tenant cannot finish it.
        let (s, _) = app
            .send(
                Method::PUT,
                &format!("/api/v1/transfers/{id}/complete"),
                Some(&app.a.agent2),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (method, uri) = if finish == "complete" {
            (Method::PUT, format!("/api/v1/transfers/{id}/complete"))
        } else {
            (Method::DELETE, format!("/api/v1/transfers/{id}"))
        };
        let (s, resp) = app
            .send(method.clone(), &uri, Some(&app.a.agent1), None)
            .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{resp}");
        assert_eq!(
            app.provider.log_lines().last().unwrap(),
            &format!("{finish}_transfer xfer-agent-leg-{call}")
        );
        // Finished: gone.
        let (s, _) = app.send(method, &uri, Some(&app.a.agent1), None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
}

async fn agents_crud_and_state(db: Db) {
    let app = TestApp::new(db).await;
    let mut rx = app.state.bus().subscribe();
    let (s, created) = app
        .send(
            Method::POST,
            "/api/v1/agents",
            Some(&app.a.supervisor),
            Some(json!({"display_name": "Carol", "endpoint": "PJSIP/carol", "skills": ["es"]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    assert_eq!(created["state"], "offline");
    let id = created["id"].as_str().unwrap().to_owned();
    // Agents may not create agents.
    let (s, _) = app
        .send(
            Method::POST,
            "/api/v1/agents",
            Some(&app.a.agent1),
            Some(json!({"display_name": "X", "endpoint": "PJSIP/x"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Duplicate endpoint.
    let (s, resp) = app
        .send(
            Method::POST,
            "/api/v1/agents",
            Some(&app.a.supervisor),
            Some(json!({"display_name": "Dup", "endpoint": "PJSIP/carol"})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{resp}");
    let (s, updated) = app
        .send(
            Method::PUT,
            &format!("/api/v1/agents/{id}"),
            Some(&app.a.admin),
            Some(json!({"display_name": "Carol B", "endpoint": "PJSIP/carol2"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{updated}");
    assert_eq!(updated["endpoint"], "PJSIP/carol2");

    for (state, reason, expect) in [
        ("logged_in", None, "paused"),
        ("ready", None, "available"),
        ("paused", Some("lunch"), "paused"),
        ("logged_out", None, "offline"),
    ] {
        let mut body = json!({"state": state});
        if let Some(r) = reason {
            body["reason"] = json!(r);
        }
        let (s, resp) = app
            .send(
                Method::PUT,
                &format!("/api/v1/agents/{id}/state"),
                Some(&app.a.supervisor),
                Some(body),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{resp}");
        assert_eq!(resp["state"], expect);
        match &*rx.recv().await.unwrap() {
            BusMessage::AgentState {
                tenant,
                agent_id,
                state,
                ..
            } => {
                assert_eq!(*tenant, app.a.tenant);
                assert_eq!(agent_id.to_string(), id);
                assert_eq!(state, expect);
            }
            other => panic!("{other:?}"),
        }
    }
    let (s, resp) = app
        .send(
            Method::PUT,
            &format!("/api/v1/agents/{id}/state"),
            Some(&app.a.supervisor),
            Some(json!({"state": "paused"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(resp["error"]["field"], "reason");
    // An agent sets their own state; the list shows it live.
    let me = app.a.agent1_rec.id;
    let (s, _) = app
        .send(
            Method::PUT,
            &format!("/api/v1/agents/{me}/state"),
            Some(&app.a.agent1),
            Some(json!({"state": "ready"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, list) = app
        .send(Method::GET, "/api/v1/agents", Some(&app.a.supervisor), None)
        .await;
    let mine = list
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == me.to_string())
        .unwrap();
    assert_eq!(mine["state"], "available");
    let (_, own) = app
        .send(Method::GET, "/api/v1/agents", Some(&app.a.agent1), None)
        .await;
    assert_eq!(
        own.as_array().unwrap().len(),
        1,
        "an agent sees only themself"
    );
    let (s, _) = app
        .send(
            Method::DELETE,
            &format!("/api/v1/agents/{id}"),
            Some(&app.a.admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app
        .send(
            Method::GET,
            &format!("/api/v1/agents/{id}"),
            Some(&app.a.admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn stats_servers_health_openapi(db: Db) {
    let app = TestApp::new(db).await;
    app.live_call(&app.a, &app.a.agent1_rec).await;
    let (s, stats) = app
        .send(Method::GET, "/api/v1/stats", Some(&app.a.supervisor), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{stats}");
    assert_eq!(stats["live"]["calls_by_state"]["connected"], 1, "{stats}");
    assert_eq!(stats["live"]["agents_by_state"]["offline"], 2, "{stats}");
    assert_eq!(stats["range"]["total"], 1);
    let (s, _) = app
        .send(Method::GET, "/api/v1/stats", Some(&app.a.agent1), None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, resp) = app
        .send(
            Method::GET,
            "/api/v1/stats?from=2030-01-01T00:00:00Z&to=2020-01-01T00:00:00Z",
            Some(&app.a.admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{resp}");

    let (s, servers) = app
        .send(Method::GET, "/api/v1/servers", Some(&app.a.admin), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(servers[0]["name"], "pbx1");
    assert_eq!(servers[0]["protocol"], "ami");
    assert_eq!(servers[0]["status"], "up");
    let (s, test) = app
        .send(
            Method::POST,
            "/api/v1/servers/pbx1/test",
            Some(&app.a.admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(test["detail"], "pong");
    let (s, _) = app
        .send(
            Method::POST,
            "/api/v1/servers/nope/test",
            Some(&app.a.admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (s, body) = app.send(Method::GET, "/healthz", None, None).await;
    assert_eq!((s, body.as_str()), (StatusCode::OK, Some("ok")));
    let (s, ready) = app.send(Method::GET, "/readyz", None, None).await;
    assert_eq!(s, StatusCode::OK, "{ready}");
    let (s, metrics) = app.send(Method::GET, "/metrics", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let text = metrics.as_str().unwrap();
    assert!(text.contains("hookflash_api_http_requests_total"), "{text}");
    assert!(text.contains("route=\"/api/v1/servers\""), "{text}");
    let (s, doc) = app
        .send(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for p in [
        "/api/v1/calls",
        "/api/v1/calls/{id}/record/pause",
        "/api/v1/users/me/calls/{id}/dtmf",
        "/api/v1/transfers/{id}/complete",
        "/api/v1/agents/{id}/state",
        "/api/v1/ws",
    ] {
        assert!(doc["paths"][p].is_object(), "{p} in the document");
    }
    assert!(doc["components"]["schemas"]["CreateCall"].is_object());
    let (s, body) = app.send(Method::GET, "/api/v1/nope", None, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&body), "not_found");
    let (s, body) = app
        .send(Method::PATCH, "/api/v1/calls", Some(&app.a.admin), None)
        .await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(error_code(&body), "method_not_allowed");
}

async fn bootstrap_creates_admin_once(db: Db) {
    let store = api_common::store_for(db).await;
    let fresh = store.tenants().list().await.unwrap().is_empty();
    let first = hookflash_api::ensure_default_tenant_and_admin(&store, None)
        .await
        .unwrap();
    if fresh {
        let password = first.expect("a generated one-time password");
        assert!(password.len() >= 20);
        let tenant = store
            .tenants()
            .get_by_slug("default")
            .await
            .unwrap()
            .unwrap();
        let admin = store
            .users()
            .verify_password(tenant.tenant_id(), "admin", &password)
            .await
            .unwrap()
            .expect("the printed password works");
        assert_eq!(admin.role, hookflash_store::UserRole::Admin);
    }
    // Never again on a database that has tenants.
    assert!(
        hookflash_api::ensure_default_tenant_and_admin(&store, None)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn bootstrap_uses_the_given_password() {
    let store = api_common::store_for(Db::Sqlite).await;
    let printed = hookflash_api::ensure_default_tenant_and_admin(
        &store,
        Some("mauve kettle orbit 71".into()),
    )
    .await
    .unwrap();
    assert!(
        printed.is_none(),
        "nothing to print when the password was given"
    );
    let tenant = store
        .tenants()
        .get_by_slug("default")
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .users()
            .verify_password(tenant.tenant_id(), "admin", "mauve kettle orbit 71")
            .await
            .unwrap()
            .is_some()
    );
}

/// The real AmiProvider against the mock AMI server replaying originate-answered: the API's
/// originate reaches the wire as an AMI Originate carrying the API's call id, and the server
/// test is a real Ping round trip.
#[tokio::test]
async fn ami_provider_originate_and_ping_through_the_api() {
    use hookflash_ami::mock::{MockServer, Transcript};
    use hookflash_ami::{AmiConfig, ReconnectPolicy};
    use hookflash_asterisk::{AmiProvider, AmiProviderConfig};

    let dir = hookflash_testkit::fixtures_dir();
    let transcript = Transcript::from_file(dir.join("ami/originate-answered.jsonl")).unwrap();
    let mock = MockServer::start(vec![transcript]).await.unwrap();
    let mut ami = AmiConfig::new("127.0.0.1", mock.addr().port(), "ami", "amipass");
    ami.keepalive = None;
    ami.reconnect = ReconnectPolicy {
        enabled: false,
        initial: Duration::from_millis(20),
        max: Duration::from_millis(100),
    };
    let provider = AmiProvider::connect(AmiProviderConfig::new(ami))
        .await
        .unwrap();
    let probe = AmiPing::new("pbx1", provider.client().clone());
    let mut registry = ProviderRegistry::new();
    registry.insert("pbx1", Protocol::Ami, Arc::new(provider), Arc::new(probe));

    let store = api_common::store_for(Db::Sqlite).await;
    let config = Config {
        jwt_secret: Some("k".into()),
        ..Config::default()
    };
    let state = AppState::new(
        store.clone(),
        registry,
        EventBus::new(16),
        Settings::from_config(&config),
    );
    let password = hookflash_api::ensure_default_tenant_and_admin(&store, None)
        .await
        .unwrap()
        .unwrap();
    let router = hookflash_api::router(state);
    let send = |method: Method, uri: &str, token: Option<&str>, body: Option<serde_json::Value>| {
        let router = router.clone();
        let mut req = axum::http::Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = req
            .header("content-type", "application/json")
            .body(axum::body::Body::from(
                body.map(|b| b.to_string()).unwrap_or_default(),
            ))
            .unwrap();
        async move {
            use http_body_util::BodyExt;
            let resp = tower::ServiceExt::oneshot(router, req).await.unwrap();
            let status = resp.status();
            let bytes = resp.into_body().collect().await.unwrap().to_bytes();
            (
                status,
                serde_json::from_slice::<serde_json::Value>(&bytes).unwrap_or_default(),
            )
        }
    };
    let (s, tokens) = send(
        Method::POST,
        "/api/v1/auth/password",
        None,
        Some(json!({"username": "admin", "current_password": password,
                    "new_password": "the operator's own passphrase"})),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::OK,
        "the one-time password is changed first: {tokens}"
    );
    let token = tokens["access_token"].as_str().unwrap().to_owned();
    let (s, agent) = send(
        Method::POST,
        "/api/v1/agents",
        Some(&token),
        Some(json!({"display_name": "Agent 1001", "endpoint": "PJSIP/agent1001"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{agent}");
    let (s, accepted) = send(
        Method::POST,
        "/api/v1/calls",
        Some(&token),
        Some(json!({"agent": agent["id"], "number": "+12025550143", "caller_id": "+18005550100"})),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{accepted}");
    let call_id = accepted["call_id"].as_str().unwrap().to_owned();

    // AmiProvider sends the Originate from its own task: wait (bounded) until it arrives.
    let mut originate = None;
    for _ in 0..500 {
        originate = mock
            .received(0)
            .into_iter()
            .find(|m| m.get_str("Action") == Some("Originate"));
        if originate.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let originate = originate.expect("an Originate reached the AMI server");
    assert_eq!(originate.get_str("Channel"), Some("PJSIP/agent1001"));
    let vars: Vec<String> = originate
        .get_all("Variable")
        .map(|v| v.to_str_lossy().into_owned())
        .collect();
    assert!(
        vars.iter()
            .any(|v| v == &format!("HOOKFLASH_CALL_ID={call_id}")),
        "{vars:?}"
    );
    assert!(
        originate
            .fields()
            .any(|(_, v)| String::from_utf8_lossy(v).contains("2025550143")),
        "the customer number is in the action: {originate:?}"
    );
    let (s, test) = send(
        Method::POST,
        "/api/v1/servers/pbx1/test",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{test}");
    assert_eq!(test["status"], "up", "{test}");
    assert!(
        mock.received(0)
            .iter()
            .any(|m| m.get_str("Action") == Some("Ping")),
        "the test was a real Ping"
    );
}

on_both!(
    originate_is_recorded_then_sent,
    provider_not_connected_is_503_naming_it,
    originate_errors_leave_call_state_to_the_tracker,
    a_client_that_goes_away_does_not_strand_its_call,
    list_filters_and_paginates,
    in_call_controls_reach_the_provider,
    transfers_blind_and_attended,
    agents_crud_and_state,
    stats_servers_health_openapi,
    bootstrap_creates_admin_once,
);

/// The Twilio server test is an account fetch with the account's credentials (against a local
/// stand-in for the REST API): 200 is `up` with the account status, 401 is `down`.
#[tokio::test]
async fn twilio_account_fetch_probe() {
    use axum::http::HeaderMap;
    use hookflash_api::ServerProbe;
    use hookflash_twilio::TwilioAccountFetch;

    async fn account(
        axum::extract::Path(sid): axum::extract::Path<String>,
        headers: HeaderMap,
    ) -> (StatusCode, axum::Json<serde_json::Value>) {
        use base64::Engine;
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("ACtest:token-1")
        );
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if sid != "ACtest.json" || auth != expected {
            return (StatusCode::UNAUTHORIZED, axum::Json(json!({"code": 20003})));
        }
        (
            StatusCode::OK,
            axum::Json(json!({"sid": "ACtest", "status": "active"})),
        )
    }
    let router =
        axum::Router::new().route("/2010-04-01/Accounts/{sid}", axum::routing::get(account));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let base = format!("http://{addr}");

    let good = TwilioAccountFetch::new(&base, "ACtest", "token-1").unwrap();
    assert_eq!(good.connected(), None);
    let report = good.test().await.unwrap();
    assert_eq!(report.detail.as_deref(), Some("account active"));
    let bad = TwilioAccountFetch::new(&base, "ACtest", "wrong").unwrap();
    let err = bad.test().await.unwrap_err();
    assert_eq!(err.code(), "auth", "{err}");
}

/// `phone_validation` and `dial_format`: by default the unassigned `555` area code is refused;
/// with `possible` it is accepted, stored as E.164 and handed to the server in the configured
/// form; garbage and too-short numbers are a 422 naming `number` in both modes.
#[tokio::test]
async fn phone_validation_modes_and_dial_format() {
    use hookflash_api::{DialFormat, PhoneValidation};
    async fn post(app: &TestApp, number: &str) -> (StatusCode, serde_json::Value) {
        app.send(
            Method::POST,
            "/api/v1/calls",
            Some(&app.a.agent1),
            Some(json!({ "number": number })),
        )
        .await
    }
    let strict = TestApp::new(Db::Sqlite).await;
    let (s, resp) = post(&strict, "5551204005").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{resp}");
    assert_eq!(resp["error"]["field"], "number");
    // Without a dial_format entry (a Twilio account, or this mock) the number stays E.164.
    let (s, resp) = post(&strict, "(202) 555-0143").await;
    assert_eq!(s, StatusCode::ACCEPTED, "{resp}");
    assert_eq!(
        strict.provider.originates.lock().unwrap()[0].customer_number,
        "+12025550143"
    );

    let possible = TestApp::with_settings(Db::Sqlite, |s| {
        s.phone_validation = PhoneValidation::Possible;
        s.dial_formats.insert("pbx1".into(), DialFormat::National);
    })
    .await;
    let (s, resp) = post(&possible, "5551204005").await;
    assert_eq!(s, StatusCode::ACCEPTED, "{resp}");
    let call_id: CallId = resp["call_id"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        possible.provider.originates.lock().unwrap()[0].customer_number,
        "5551204005"
    );
    let row = possible
        .store
        .calls()
        .get(possible.a.tenant, call_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.to_number.as_deref(), Some("+15551204005"));

    // GET /servers shows the format each server is dialled with.
    for (app, format) in [(&strict, "e164"), (&possible, "national")] {
        let (s, servers) = app
            .send(Method::GET, "/api/v1/servers", Some(&app.a.admin), None)
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(servers[0]["name"], "pbx1");
        assert_eq!(servers[0]["dial_format"], format, "{servers}");
    }

    for app in [&strict, &possible] {
        for bad in ["garbage", "123", "555120", "+1 555"] {
            let (s, resp) = post(app, bad).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {resp}");
            assert_eq!(resp["error"]["field"], "number", "{bad}");
        }
    }
}
