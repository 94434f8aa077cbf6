//! Operations over HTTP (issue 11 point 8, issue 12 point 4): tenants managed by platform
//! admins (another tenant's admin gets 404 for ids not theirs; a deactivated tenant's users and
//! keys stop working), api keys created by a tenant admin (secret shown once, stored hashed as
//! verification expects, listed without it, revoked with the open WebSocket closing), CORS for
//! a dialer page on another origin (preflight answered; nothing without configured origins),
//! and a refused user PATCH that changes nothing.
//! Runs on SQLite always and on PostgreSQL when HOOKFLASH_TEST_POSTGRES_URL is set.

#[macro_use]
mod api_common;

use std::net::SocketAddr;
use std::time::Duration;

use api_common::{Db, TestApp, error_code, postgres_url};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use futures::StreamExt;
use hookflash_api::{CLOSE_SESSION_REVOKED, Role};
use hookflash_provider::TenantId;
use hookflash_store::{NewUser, UserRole};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tower::ServiceExt;
use uuid::Uuid;

/// An app whose platform tenant is a fresh one (the shared PostgreSQL database may hold other
/// tests' `default`), with its admin's token.
async fn platform_app(db: Db) -> (TestApp, TenantId, String) {
    let slug = format!("platform-{}", Uuid::new_v4().simple());
    let s2 = slug.clone();
    let app = TestApp::with_settings(db, move |s| {
        s.platform_tenant = s2;
        s.login_attempts_per_minute = 1000;
    })
    .await;
    let t = app.store.tenants().create("Platform", &slug).await.unwrap();
    let u = app
        .store
        .users()
        .create(
            t.tenant_id(),
            NewUser {
                username: "root".into(),
                email: None,
                display_name: None,
                password: "root-password-long".into(),
                role: UserRole::Admin,
            },
        )
        .await
        .unwrap();
    let token = app
        .state
        .jwt()
        .issue(u.id, t.tenant_id(), Role::Admin)
        .unwrap()
        .access_token;
    (app, t.tenant_id(), token)
}

async fn login(app: &TestApp, tenant: &str, username: &str, password: &str) -> (StatusCode, Value) {
    app.send(
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"tenant": tenant, "username": username, "password": password})),
    )
    .await
}

async fn tenants_are_for_platform_admins(db: Db) {
    let (app, platform, root) = platform_app(db).await;
    let (a, b) = (app.a.tenant.to_string(), app.b.tenant.to_string());

    // List: the platform admin sees every tenant; a tenant admin may not list.
    let (s, list) = app
        .send(Method::GET, "/api/v1/tenants", Some(&root), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&a.as_str()) && ids.contains(&b.as_str()),
        "{list}"
    );
    for token in [&app.a.admin, &app.a.agent1] {
        let (s, body) = app
            .send(Method::GET, "/api/v1/tenants", Some(token), None)
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    }
    let (s, _) = app.send(Method::GET, "/api/v1/tenants", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // Get: any for the platform admin; a tenant admin their own; others' ids are 404.
    let (s, body) = app
        .send(
            Method::GET,
            &format!("/api/v1/tenants/{b}"),
            Some(&root),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["slug"], app.b.slug.as_str());
    assert_eq!(body["active"], true);
    let (s, body) = app
        .send(
            Method::GET,
            &format!("/api/v1/tenants/{a}"),
            Some(&app.a.admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    for (method, body) in [
        (Method::GET, None),
        (Method::PATCH, Some(json!({"name": "mine now"}))),
        (Method::DELETE, None),
    ] {
        for id in [
            b.clone(),
            platform.to_string(),
            Uuid::new_v4().to_string(),
            "x".into(),
        ] {
            let (s, resp) = app
                .send(
                    method.clone(),
                    &format!("/api/v1/tenants/{id}"),
                    Some(&app.a.admin),
                    body.clone(),
                )
                .await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{method} {id}: {resp}");
        }
    }
    // Below admin, or changing one's own tenant: 403.
    let (s, _) = app
        .send(
            Method::GET,
            &format!("/api/v1/tenants/{a}"),
            Some(&app.a.agent1),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .send(
            Method::PATCH,
            &format!("/api/v1/tenants/{a}"),
            Some(&app.a.admin),
            Some(json!({"name": "renamed by itself"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .send(
            Method::DELETE,
            &format!("/api/v1/tenants/{a}"),
            Some(&app.a.admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .send(
            Method::POST,
            "/api/v1/tenants",
            Some(&app.a.admin),
            Some(json!({"name": "Evil", "slug": "evil"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Create: slug validated, taken slug 409, the first admin's one-time password once.
    for bad in ["Acme", "-acme", "a", "ac me", "acme_1"] {
        let (s, body) = app
            .send(
                Method::POST,
                "/api/v1/tenants",
                Some(&root),
                Some(json!({"name": "Acme", "slug": bad})),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert_eq!(body["error"]["field"], "slug");
    }
    let (s, body) = app
        .send(
            Method::POST,
            "/api/v1/tenants",
            Some(&root),
            Some(json!({"name": "Dup", "slug": app.b.slug})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    let slug = format!("acme-{}", &Uuid::new_v4().simple().to_string()[..8]);
    let (s, created) = app
        .send(
            Method::POST,
            "/api/v1/tenants",
            Some(&root),
            Some(json!({"name": "Acme", "slug": slug, "admin_username": "boss"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    assert_eq!(created["tenant"]["slug"], slug.as_str());
    assert_eq!(created["admin"]["username"], "boss");
    assert_eq!(created["admin"]["role"], "admin");
    assert_eq!(created["admin"]["must_change_password"], true);
    let otp = created["admin_one_time_password"]
        .as_str()
        .unwrap()
        .to_owned();
    let acme = created["tenant"]["id"].as_str().unwrap().to_owned();
    // The new admin logs in (after the first-login password change).
    let (s, body) = login(&app, &slug, "boss", &otp).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(error_code(&body), "password_change_required");
    let (s, tokens) = app
        .send(
            Method::POST,
            "/api/v1/auth/password",
            None,
            Some(
                json!({"tenant": slug, "username": "boss", "current_password": otp,
                        "new_password": "acme's own admin passphrase"}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{tokens}");
    let boss = tokens["access_token"].as_str().unwrap().to_owned();
    let boss_refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let (s, _) = app
        .send(Method::GET, "/api/v1/users", Some(&boss), None)
        .await;
    assert_eq!(s, StatusCode::OK);

    // Rename; deactivate: the tenant's tokens and logins stop; reactivate: they work again.
    let (s, body) = app
        .send(
            Method::PATCH,
            &format!("/api/v1/tenants/{acme}"),
            Some(&root),
            Some(json!({"name": "Acme Ltd"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["name"], "Acme Ltd");
    let (s, _) = app
        .send(
            Method::DELETE,
            &format!("/api/v1/tenants/{acme}"),
            Some(&root),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app
        .send(Method::GET, "/api/v1/users", Some(&boss), None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = login(&app, &slug, "boss", "acme's own admin passphrase").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, body) = app
        .send(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": boss_refresh})),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
    let (s, body) = app
        .send(
            Method::GET,
            &format!("/api/v1/tenants/{acme}"),
            Some(&root),
            None,
        )
        .await;
    assert_eq!(body["active"], false, "{s} {body}");
    let (s, body) = app
        .send(
            Method::PATCH,
            &format!("/api/v1/tenants/{acme}"),
            Some(&root),
            Some(json!({"active": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, _) = app
        .send(Method::GET, "/api/v1/users", Some(&boss), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = login(&app, &slug, "boss", "acme's own admin passphrase").await;
    assert_eq!(s, StatusCode::OK);

    // The platform tenant cannot be deactivated; bad fields are 422.
    let (s, body) = app
        .send(
            Method::DELETE,
            &format!("/api/v1/tenants/{platform}"),
            Some(&root),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    let (s, body) = app
        .send(
            Method::PATCH,
            &format!("/api/v1/tenants/{platform}"),
            Some(&root),
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    let (s, body) = app
        .send(
            Method::PATCH,
            &format!("/api/v1/tenants/{acme}"),
            Some(&root),
            Some(json!({"name": "a\r\nb"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (s, _) = app
        .send(
            Method::PATCH,
            &format!("/api/v1/tenants/{}", Uuid::new_v4()),
            Some(&root),
            Some(json!({"name": "ghost"})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn create_key(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
    app.send(Method::POST, "/api/v1/api-keys", Some(token), Some(body))
        .await
}

async fn api_keys_are_created_once_listed_and_revoked(db: Db) {
    let app = TestApp::new(db).await;
    let (s, created) = create_key(
        &app,
        &app.a.admin,
        json!({"name": "crm", "role": "supervisor"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("hfk_"), "{secret}");
    assert_eq!(created["key"]["role"], "supervisor");
    let id = created["key"]["id"].as_str().unwrap().to_owned();
    // The key works as a supervisor (not as an admin).
    let (s, body) = app
        .send(Method::GET, "/api/v1/users", Some(&secret), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, _) = create_key(&app, &secret, json!({"name": "more", "role": "admin"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Never shown again: not in the listing nor in the key.
    let (s, list) = app
        .send(Method::GET, "/api/v1/api-keys", Some(&app.a.admin), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert!(!list.to_string().contains(&secret[12..]), "{list}");
    assert!(list[0]["last_used_at"].is_string(), "{list}");
    let (s, one) = app
        .send(
            Method::GET,
            &format!("/api/v1/api-keys/{id}"),
            Some(&app.a.admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(!one.to_string().contains(&secret[12..]));
    assert!(one.get("secret").is_none());

    // A user's key acts as that user.
    let (s, created) = create_key(
        &app,
        &app.a.admin,
        json!({"name": "agent1's", "user_id": app.a.agent1_user.to_string()}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    assert!(created["key"]["role"].is_null());
    let agent_key = created["secret"].as_str().unwrap().to_owned();
    let (s, _) = app
        .send(Method::GET, "/api/v1/users", Some(&agent_key), None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Refusals: roles, other tenants, fields.
    for token in [&app.a.supervisor, &app.a.agent1] {
        let (s, _) = create_key(&app, token, json!({"name": "x", "role": "agent"})).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = app
            .send(Method::GET, "/api/v1/api-keys", Some(token), None)
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
    for method in [Method::GET, Method::DELETE] {
        let (s, _) = app
            .send(
                method,
                &format!("/api/v1/api-keys/{id}"),
                Some(&app.b.admin),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
    let (s, list) = app
        .send(Method::GET, "/api/v1/api-keys", Some(&app.b.admin), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list, json!([]));
    let past = (chrono::Utc::now() - chrono::TimeDelta::hours(1)).to_rfc3339();
    for (body, field) in [
        (json!({"name": "x"}), "role"),
        (
            json!({"name": "x", "role": "admin", "user_id": app.a.agent1_user.to_string()}),
            "role",
        ),
        (
            json!({"name": "x", "user_id": Uuid::new_v4().to_string()}),
            "user_id",
        ),
        (json!({"name": "", "role": "agent"}), "name"),
        (
            json!({"name": "x", "role": "agent", "expires_at": past}),
            "expires_at",
        ),
    ] {
        let (s, resp) = create_key(&app, &app.a.admin, body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {resp}");
        assert_eq!(resp["error"]["field"], field, "{body}: {resp}");
    }
    // b's user cannot be named by a's admin.
    let b_admin = app
        .store
        .users()
        .find_by_login(app.b.tenant, "admin")
        .await
        .unwrap()
        .unwrap();
    let (s, _) = create_key(
        &app,
        &app.a.admin,
        json!({"name": "x", "user_id": b_admin.id.to_string()}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = create_key(&app, &app.a.admin, json!({"name": "x", "role": "root"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // Revoked: refused at once; revoking again is a no-op.
    let (s, _) = app
        .send(
            Method::DELETE,
            &format!("/api/v1/api-keys/{id}"),
            Some(&app.a.admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app
        .send(Method::GET, "/api/v1/users", Some(&secret), None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = app
        .send(
            Method::DELETE,
            &format!("/api/v1/api-keys/{id}"),
            Some(&app.a.admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, one) = app
        .send(
            Method::GET,
            &format!("/api/v1/api-keys/{id}"),
            Some(&app.a.admin),
            None,
        )
        .await;
    assert!(one["revoked_at"].is_string(), "{one}");
}

/// Revoking a key through the API closes the WebSocket opened with it at once (well before
/// the 20 s heartbeat would).
async fn revoking_a_key_closes_its_websocket(db: Db) {
    let app = TestApp::new(db).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = app.router.clone();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    let (_, created) =
        create_key(&app, &app.a.admin, json!({"name": "page", "role": "agent"})).await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    let id = created["key"]["id"].as_str().unwrap().to_owned();
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{addr}/api/v1/ws?token={secret}"))
            .await
            .unwrap();
    let hello = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(hello.to_text().unwrap().contains("hello"), "{hello:?}");
    let (s, _) = app
        .send(
            Method::DELETE,
            &format!("/api/v1/api-keys/{id}"),
            Some(&app.a.admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            Ok(Some(Ok(Message::Close(Some(frame))))) => {
                assert_eq!(u16::from(frame.code), CLOSE_SESSION_REVOKED);
                break;
            }
            Ok(Some(Ok(_))) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

/// Deactivating a tenant closes its open WebSockets at once; another tenant's stay open.
async fn deactivating_a_tenant_closes_its_websockets(db: Db) {
    let (app, _, root) = platform_app(db).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = app.router.clone();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    let open = |token: String| async move {
        let (mut ws, _) =
            tokio_tungstenite::connect_async(format!("ws://{addr}/api/v1/ws?token={token}"))
                .await
                .unwrap();
        let hello = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert!(hello.to_text().unwrap().contains("hello"), "{hello:?}");
        ws
    };
    let mut b_ws = open(app.b.agent1.clone()).await;
    let mut a_ws = open(app.a.agent1.clone()).await;
    let (s, _) = app
        .send(
            Method::DELETE,
            &format!("/api/v1/tenants/{}", app.b.tenant),
            Some(&root),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    loop {
        match tokio::time::timeout(Duration::from_secs(5), b_ws.next()).await {
            Ok(Some(Ok(Message::Close(Some(frame))))) => {
                assert_eq!(u16::from(frame.code), CLOSE_SESSION_REVOKED);
                break;
            }
            Ok(Some(Ok(_))) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
    assert!(
        tokio::time::timeout(Duration::from_millis(200), a_ws.next())
            .await
            .is_err(),
        "tenant a's stream stays open and quiet"
    );
}

/// A user PATCH that is refused changes nothing: the name given with the last admin's
/// deactivation is not kept (asked by an admin api key, which the "not yourself" guard does
/// not stop).
async fn a_refused_patch_applies_nothing(db: Db) {
    let app = TestApp::new(db).await;
    let (_, created) =
        create_key(&app, &app.a.admin, json!({"name": "ops", "role": "admin"})).await;
    let key = created["secret"].as_str().unwrap().to_owned();
    let admin = app
        .store
        .users()
        .find_by_login(app.a.tenant, "admin")
        .await
        .unwrap()
        .unwrap();
    let (s, body) = app
        .send(
            Method::PATCH,
            &format!("/api/v1/users/{}", admin.id),
            Some(&key),
            Some(json!({"display_name": "Half Applied", "active": false})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert_eq!(error_code(&body), "last_admin");
    let now = app
        .store
        .users()
        .get(app.a.tenant, admin.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now.display_name, admin.display_name);
    assert!(now.active);
    // The same change without the refused part goes through.
    let (s, body) = app
        .send(
            Method::PATCH,
            &format!("/api/v1/users/{}", admin.id),
            Some(&key),
            Some(json!({"display_name": "Chief"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["display_name"], "Chief");
}

fn preflight(origin: &str) -> Request<Body> {
    Request::builder()
        .method(Method::OPTIONS)
        .uri("/api/v1/calls")
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .body(Body::empty())
        .unwrap()
}

async fn cors_only_for_configured_origins(db: Db) {
    const PAGE: &str = "https://dialer.example.com";
    // Default: no origins, no CORS headers at all.
    let plain = TestApp::new(Db::Sqlite).await;
    let resp = plain.router.clone().oneshot(preflight(PAGE)).await.unwrap();
    assert!(
        resp.headers().get("access-control-allow-origin").is_none(),
        "{:?}",
        resp.headers()
    );
    let req = Request::get("/healthz")
        .header("origin", PAGE)
        .body(Body::empty())
        .unwrap();
    let resp = plain.router.clone().oneshot(req).await.unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());

    let app = TestApp::with_settings(db, |s| {
        s.cors_allowed_origins = vec![PAGE.to_owned()];
    })
    .await;
    let resp = app.router.clone().oneshot(preflight(PAGE)).await.unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    let h = resp.headers();
    assert_eq!(h["access-control-allow-origin"], PAGE);
    let methods = h["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_owned();
    for m in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
        assert!(methods.contains(m), "{methods}");
    }
    let headers = h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    for want in ["authorization", "content-type", "x-api-key"] {
        assert!(headers.contains(want), "{headers}");
    }
    assert!(h.get("access-control-allow-credentials").is_none());
    // Another origin gets no allow-origin.
    let resp = app
        .router
        .clone()
        .oneshot(preflight("https://evil.example"))
        .await
        .unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());
    // An actual request from the page carries the header (errors too) and exposes Retry-After.
    let req = Request::get("/api/v1/calls")
        .header("origin", PAGE)
        .header("authorization", format!("Bearer {}", app.a.supervisor))
        .body(Body::empty())
        .unwrap();
    let resp = app.router.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["access-control-allow-origin"], PAGE);
    assert!(
        resp.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .to_ascii_lowercase()
            .contains("retry-after")
    );
    let req = Request::get("/api/v1/calls")
        .header("origin", PAGE)
        .body(Body::empty())
        .unwrap();
    let resp = app.router.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(resp.headers()["access-control-allow-origin"], PAGE);
}

on_both!(
    tenants_are_for_platform_admins,
    api_keys_are_created_once_listed_and_revoked,
    revoking_a_key_closes_its_websocket,
    deactivating_a_tenant_closes_its_websockets,
    a_refused_patch_applies_nothing,
    cors_only_for_configured_origins,
);
