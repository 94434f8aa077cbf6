//! Security: no endpoint answers without auth, another tenant's ids are 404 on every
//! endpoint, an agent cannot act on another agent's call, CR/LF is refused before it reaches
//! the PBX, bad numbers are 422 naming the field, oversized bodies 413, logins rate-limited.
//! Runs on SQLite always and on PostgreSQL when HOOKFLASH_TEST_POSTGRES_URL is set.

#[macro_use]
mod api_common;

use api_common::{Db, TestApp, error_code, postgres_url};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};

/// Paths that answer without credentials by design.
const PUBLIC: &[&str] = &[
    "/healthz",
    "/readyz",
    "/metrics",
    "/api/v1/auth/login",
    "/api/v1/auth/refresh",
    "/api/v1/auth/password",
];

fn operations() -> Vec<(Method, String)> {
    let doc = hookflash_api::openapi();
    let mut ops = Vec::new();
    for (path, item) in &doc.paths.paths {
        for (m, op) in [
            (Method::GET, &item.get),
            (Method::POST, &item.post),
            (Method::PUT, &item.put),
            (Method::DELETE, &item.delete),
            (Method::PATCH, &item.patch),
        ] {
            if op.is_some() {
                ops.push((m, path.clone()));
            }
        }
    }
    ops
}

/// A valid body for each operation, so that validation never answers before scoping does.
fn body_for(method: &Method, path: &str, call_id: &str) -> Option<Value> {
    if *method == Method::GET || *method == Method::DELETE {
        return None;
    }
    Some(if path.ends_with("/dtmf") {
        json!({"digits": "12#"})
    } else if path.ends_with("/disposition") {
        json!({"code": "sale", "notes": "ok"})
    } else if path.ends_with("/agents/{id}/state") {
        json!({"state": "ready"})
    } else if path.ends_with("/agents/{id}") || path == "/api/v1/agents" {
        json!({"display_name": "X", "endpoint": "PJSIP/9999"})
    } else if path == "/api/v1/users" {
        json!({"username": "newagent", "role": "agent"})
    } else if path == "/api/v1/users/{id}" {
        json!({"display_name": "Renamed", "role": "agent"})
    } else if path == "/api/v1/transfers" {
        json!({"call_id": call_id, "kind": "blind", "destination": "1002"})
    } else if path == "/api/v1/calls" {
        json!({"number": "+12025550143"})
    } else if path == "/api/v1/auth/login" {
        json!({"username": "x", "password": "y"})
    } else if path == "/api/v1/auth/refresh" {
        json!({"refresh_token": "x"})
    } else if path == "/api/v1/auth/password" {
        json!({"username": "x", "current_password": "y", "new_password": "z"})
    } else {
        json!({})
    })
}

async fn no_endpoint_answers_without_auth(db: Db) {
    let app = TestApp::new(db).await;
    let call = app.live_call(&app.a, &app.a.agent1_rec).await.to_string();
    let ops = operations();
    assert!(
        ops.len() > 40,
        "the document lists every route: {}",
        ops.len()
    );
    for (m, p) in [
        (Method::POST, "/api/v1/users"),
        (Method::GET, "/api/v1/users"),
        (Method::GET, "/api/v1/users/{id}"),
        (Method::PATCH, "/api/v1/users/{id}"),
        (Method::DELETE, "/api/v1/users/{id}"),
    ] {
        assert!(
            ops.iter().any(|(om, op)| *om == m && op == p),
            "{m} {p} is in the document"
        );
    }
    let mut checked = 0;
    for (method, path) in ops {
        if PUBLIC.contains(&path.as_str()) || path == "/api/v1/openapi.json" {
            continue;
        }
        let uri = path.replace("{id}", &call).replace("{name}", "pbx1");
        for token in [None, Some("not-a-token"), Some("hfk_abc_def")] {
            let (status, body) = app
                .send(method.clone(), &uri, token, body_for(&method, &path, &call))
                .await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {uri} with {token:?} answered {status}: {body}"
            );
            assert_eq!(error_code(&body), "unauthorized", "{method} {uri}");
        }
        checked += 1;
    }
    assert!(checked > 40);
    assert!(
        app.provider.log_lines().is_empty(),
        "nothing reached the PBX"
    );
}

async fn cross_tenant_ids_are_404_everywhere(db: Db) {
    let app = TestApp::new(db).await;
    // Tenant B's resources.
    let b_call = app.live_call(&app.b, &app.b.agent1_rec).await.to_string();
    let b_agent = app.b.agent1_rec.id.to_string();
    let b_user = app.b.agent1_user.to_string();
    let (s, started) = app
        .send(
            Method::POST,
            "/api/v1/transfers",
            Some(&app.b.admin),
            Some(json!({"call_id": b_call, "kind": "attended", "destination": "1002"})),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{started}");
    let b_transfer = started["transfer_id"].as_str().unwrap().to_owned();
    let before = app.provider.log_lines().len();

    let mut checked = 0;
    for (method, path) in operations() {
        if !path.contains("{id}") {
            continue;
        }
        let id = if path.contains("/agents/") {
            &b_agent
        } else if path == "/api/v1/users/{id}" {
            &b_user
        } else if path.contains("/transfers/") {
            &b_transfer
        } else {
            &b_call
        };
        let uri = path.replace("{id}", id);
        for token in [&app.a.admin, &app.a.supervisor, &app.a.agent1] {
            let (status, body) = app
                .send(
                    method.clone(),
                    &uri,
                    Some(token),
                    body_for(&method, &path, &b_call),
                )
                .await;
            assert_eq!(
                status,
                StatusCode::NOT_FOUND,
                "{method} {uri} answered {status}: {body}"
            );
            assert_eq!(error_code(&body), "not_found", "{method} {uri}: {body}");
        }
        checked += 1;
    }
    assert!(checked > 30, "{checked}");

    // Ids inside bodies too.
    let (s, body) = app
        .send(
            Method::POST,
            "/api/v1/transfers",
            Some(&app.a.admin),
            Some(json!({"call_id": b_call, "kind": "blind", "destination": "1002"})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
    let (s, body) = app
        .send(
            Method::POST,
            "/api/v1/calls",
            Some(&app.a.admin),
            Some(json!({"agent": b_agent, "number": "+12025550143"})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
    let (s, body) = app
        .send(
            Method::POST,
            "/api/v1/calls",
            Some(&app.a.admin),
            Some(json!({"agent": app.b.agent1_rec.endpoint, "number": "+12025550143"})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");

    // Lists never show the other tenant's rows.
    let (_, list) = app
        .send(Method::GET, "/api/v1/calls", Some(&app.a.admin), None)
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "{list}");
    let (_, agents) = app
        .send(Method::GET, "/api/v1/agents", Some(&app.a.admin), None)
        .await;
    assert!(
        agents
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["id"] != b_agent.as_str()),
        "{agents}"
    );
    let (_, users) = app
        .send(Method::GET, "/api/v1/users", Some(&app.a.admin), None)
        .await;
    let users = users.as_array().unwrap();
    assert_eq!(users.len(), 4, "{users:?}");
    assert!(users.iter().all(|u| u["id"] != b_user.as_str()));
    assert_eq!(
        app.provider.log_lines().len(),
        before,
        "nothing reached the PBX for tenant A's attempts: {:?}",
        app.provider.log_lines()
    );
}

async fn agent_cannot_act_on_another_agents_call(db: Db) {
    let app = TestApp::new(db).await;
    let theirs = app.live_call(&app.a, &app.a.agent2_rec).await.to_string();
    for (method, path) in operations() {
        if !path.contains("/calls/{id}") {
            continue;
        }
        let uri = path.replace("{id}", &theirs);
        let (status, body) = app
            .send(
                method.clone(),
                &uri,
                Some(&app.a.agent1),
                body_for(&method, &path, &theirs),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {uri}: {body}");
    }
    let (s, _) = app
        .send(
            Method::POST,
            "/api/v1/transfers",
            Some(&app.a.agent1),
            Some(json!({"call_id": theirs, "kind": "blind", "destination": "1002"})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Another agent's record and state are not theirs either.
    let other = app.a.agent2_rec.id;
    let (s, _) = app
        .send(
            Method::PUT,
            &format!("/api/v1/agents/{other}/state"),
            Some(&app.a.agent1),
            Some(json!({"state": "ready"})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Their list holds only their own calls.
    let mine = app.live_call(&app.a, &app.a.agent1_rec).await.to_string();
    for list in ["/api/v1/calls", "/api/v1/users/me/calls"] {
        let (_, page) = app.send(Method::GET, list, Some(&app.a.agent1), None).await;
        let ids: Vec<&str> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, vec![mine.as_str()], "{list}");
    }
    assert!(app.provider.log_lines().is_empty());
    // A supervisor may act on it; an agent on their own call through /users/me.
    let (s, _) = app
        .send(
            Method::PUT,
            &format!("/api/v1/calls/{theirs}/hold/start"),
            Some(&app.a.supervisor),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (s, _) = app
        .send(
            Method::PUT,
            &format!("/api/v1/users/me/calls/{mine}/hold/start"),
            Some(&app.a.agent1),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    // A supervisor has no calls of their own under /users/me.
    let (s, _) = app
        .send(
            Method::GET,
            &format!("/api/v1/users/me/calls/{theirs}"),
            Some(&app.a.supervisor),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn crlf_and_bad_numbers_are_422(db: Db) {
    let app = TestApp::new(db).await;
    let agent = app.a.agent1_rec.id.to_string();
    let base = json!({"agent": agent, "number": "+12025550143"});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let cases = [
        (
            with("number", json!("+12025550143\r\nAction: Logoff")),
            "number",
        ),
        (with("caller_id", json!("+12025550100\nX: y")), "caller_id"),
        (
            with("agent", json!("PJSIP/1001\r\nAction: Originate")),
            "agent",
        ),
        (with("server", json!("pbx1\r\n")), "server"),
        (with("campaign_id", json!("x\ny")), "campaign_id"),
        (with("did", json!("+12025550100\r")), "did"),
        (
            with("variables", json!({"A": "1\r\nAction: Command"})),
            "variables.A",
        ),
        (with("variables", json!({"A\r\nB": "1"})), "variables"),
        (with("number", json!("not a number")), "number"),
        (with("number", json!("123")), "number"),
        (with("caller_id", json!("+1 555")), "caller_id"),
        (with("did", json!("bogus")), "did"),
    ];
    for (body, field) in cases {
        let (s, resp) = app
            .send(
                Method::POST,
                "/api/v1/calls",
                Some(&app.a.admin),
                Some(body.clone()),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {resp}");
        assert_eq!(error_code(&resp), "validation_failed");
        assert_eq!(resp["error"]["field"], field, "{body}: {resp}");
    }
    let call = app.live_call(&app.a, &app.a.agent1_rec).await.to_string();
    let more = [
        (
            Method::POST,
            format!("/api/v1/calls/{call}/dtmf"),
            json!({"digits": "1\r\n"}),
            "digits",
        ),
        (
            Method::POST,
            "/api/v1/transfers".to_owned(),
            json!({"call_id": call, "kind": "blind", "destination": "1002\r\nAction: Logoff"}),
            "destination",
        ),
        (
            Method::POST,
            "/api/v1/transfers".to_owned(),
            json!({"call_id": call, "kind": "blind", "destination": "1002", "context": "a\nb"}),
            "context",
        ),
        (
            Method::POST,
            format!("/api/v1/calls/{call}/park"),
            json!({"lot": "default\r\n"}),
            "lot",
        ),
        (
            Method::PUT,
            format!("/api/v1/calls/{call}/record/start"),
            json!({"name": "x\r\ny"}),
            "label",
        ),
        (
            Method::POST,
            "/api/v1/agents".to_owned(),
            json!({"display_name": "X", "endpoint": "PJSIP/1\r\n"}),
            "endpoint",
        ),
        (
            Method::PUT,
            format!("/api/v1/agents/{}/state", app.a.agent1_rec.id),
            json!({"state": "paused", "reason": "lunch\r\nAction: Logoff"}),
            "reason",
        ),
        (
            Method::PUT,
            format!("/api/v1/calls/{call}/disposition"),
            json!({"code": "sale\r\n"}),
            "code",
        ),
    ];
    for (method, uri, body, field) in more {
        let (s, resp) = app
            .send(method.clone(), &uri, Some(&app.a.admin), Some(body.clone()))
            .await;
        assert_eq!(
            s,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{method} {uri} {body}: {resp}"
        );
        assert_eq!(resp["error"]["field"], field, "{uri}: {resp}");
    }
    assert!(
        app.provider.log_lines().is_empty(),
        "nothing reached the PBX: {:?}",
        app.provider.log_lines()
    );
    // List filters are validated too.
    let (s, resp) = app
        .send(
            Method::GET,
            "/api/v1/calls?number=abc",
            Some(&app.a.admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(resp["error"]["field"], "number");
}

async fn oversized_bodies_are_413(db: Db) {
    let app = TestApp::new(db).await;
    let big = "x".repeat(70 * 1024);
    let (s, resp) = app
        .send(
            Method::POST,
            "/api/v1/calls",
            Some(&app.a.admin),
            Some(json!({"number": "+12025550143", "variables": {"A": big}})),
        )
        .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{resp}");
    assert_eq!(error_code(&resp), "payload_too_large");
    let call = app.live_call(&app.a, &app.a.agent1_rec).await;
    let (s, _) = app
        .send(
            Method::PUT,
            &format!("/api/v1/calls/{call}/hold/start"),
            Some(&app.a.admin),
            Some(json!({"pad": big})),
        )
        .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
}

async fn login_refresh_and_rate_limit(db: Db) {
    let app = TestApp::with_settings(db, |s| s.login_attempts_per_minute = 3).await;
    let login = |password: &str| {
        Request::builder()
            .method(Method::POST)
            .uri("/api/v1/auth/login")
            .header("content-type", "application/json")
            .body(Body::from(
                json!({"username": "agent1", "password": password, "tenant": app.a.slug})
                    .to_string(),
            ))
            .unwrap()
    };
    let (s, tokens) = app.raw(login("agent1-password")).await;
    assert_eq!(s, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["role"], "agent");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let (s, _) = app
        .send(Method::GET, "/api/v1/users/me/calls", Some(&access), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    // The refresh token is not an access token, and refreshes to a new pair.
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let (s, _) = app
        .send(Method::GET, "/api/v1/users/me/calls", Some(&refresh), None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, again) = app
        .send(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": refresh})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{again}");
    let (s, _) = app
        .send(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": access})),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    let (s, body) = app.raw(login("wrong")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
    let (s, _) = app.raw(login("wrong")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // The fourth attempt in the minute: refused even with the right password.
    let resp = tower::ServiceExt::oneshot(app.router.clone(), login("agent1-password"))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // Another username is not affected.
    let other = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/auth/login")
        .header("content-type", "application/json")
        .body(Body::from(
            json!({"username": "agent2", "password": "agent2-password", "tenant": app.a.slug})
                .to_string(),
        ))
        .unwrap();
    let (s, _) = app.raw(other).await;
    assert_eq!(s, StatusCode::OK);
}

async fn api_keys_authenticate(db: Db) {
    let app = TestApp::new(db).await;
    let key = app
        .store
        .api_keys()
        .create(
            app.a.tenant,
            hookflash_store::NewApiKey {
                name: "crm".into(),
                user_id: None,
                scopes: vec!["supervisor".into()],
                expires_at: None,
            },
        )
        .await
        .unwrap();
    let (s, _) = app
        .send(Method::GET, "/api/v1/agents", Some(&key.secret), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let req = Request::builder()
        .uri("/api/v1/stats")
        .header("x-api-key", &key.secret)
        .body(Body::empty())
        .unwrap();
    let (s, body) = app.raw(req).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // Scoped to its tenant.
    let b_agent = app.b.agent1_rec.id;
    let (s, _) = app
        .send(
            Method::GET,
            &format!("/api/v1/agents/{b_agent}"),
            Some(&key.secret),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A supervisor key cannot run server tests (admin only).
    let (s, _) = app
        .send(
            Method::POST,
            "/api/v1/servers/pbx1/test",
            Some(&key.secret),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    app.store
        .api_keys()
        .revoke(app.a.tenant, key.key.id)
        .await
        .unwrap();
    let (s, _) = app
        .send(Method::GET, "/api/v1/agents", Some(&key.secret), None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

on_both!(
    no_endpoint_answers_without_auth,
    cross_tenant_ids_are_404_everywhere,
    agent_cannot_act_on_another_agents_call,
    crlf_and_bad_numbers_are_422,
    oversized_bodies_are_413,
    login_refresh_and_rate_limit,
    api_keys_authenticate,
);
