//! An open WebSocket ends with its session (issue 12, point 6): closed with 4001 when the
//! token expires, 4003 when the user is deactivated, their password changes or the api key is
//! revoked, 4004 when the user's role changes; at once for changes made through the API, at
//! the next heartbeat for changes made behind its back (the store). Over a real socket, on
//! SQLite and on PostgreSQL when HOOKFLASH_TEST_POSTGRES_URL is set.

#[macro_use]
mod api_common;

use std::net::SocketAddr;
use std::time::Duration;

use api_common::{Db, TestApp, postgres_url};
use axum::http::Method;
use futures::StreamExt;
use hookflash_api::{
    CLOSE_ROLE_CHANGED, CLOSE_SESSION_EXPIRED, CLOSE_SESSION_REVOKED, Claims, Role,
};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn serve(app: &TestApp) -> SocketAddr {
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
    addr
}

/// Connects and reads the hello.
async fn open(addr: SocketAddr, token: &str) -> Ws {
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{addr}/api/v1/ws?token={token}"))
            .await
            .unwrap();
    let first = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .expect("hello in time")
        .unwrap()
        .unwrap();
    let hello: Value = serde_json::from_str(first.to_text().unwrap()).unwrap();
    assert_eq!(hello["type"], "hello");
    ws
}

/// The close frame's code, skipping other frames (bounded wait: the close follows a change
/// at once, or the next heartbeat).
async fn close_code(ws: &mut Ws) -> (u16, String) {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(Message::Close(Some(frame))))) => {
                return (u16::from(frame.code), frame.reason.to_string());
            }
            Ok(Some(Ok(_))) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

async fn user_id(app: &TestApp, username: &str) -> String {
    app.store
        .users()
        .find_by_login(app.a.tenant, username)
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string()
}

/// Deactivating a user closes their open stream at once with 4003.
async fn deactivation_closes_the_stream(db: Db) {
    let app = TestApp::new(db).await;
    let addr = serve(&app).await;
    let mut ws = open(addr, &app.a.agent1).await;
    let mut other = open(addr, &app.a.agent2).await;
    let id = user_id(&app, "agent1").await;
    let (s, body) = app
        .send(
            Method::DELETE,
            &format!("/api/v1/users/{id}"),
            Some(&app.a.admin),
            None,
        )
        .await;
    assert_eq!(s, 204, "{body}");
    let (code, reason) = close_code(&mut ws).await;
    assert_eq!(code, CLOSE_SESSION_REVOKED, "{reason}");
    // Another user's stream goes on.
    assert!(
        tokio::time::timeout(Duration::from_millis(200), other.next())
            .await
            .is_err(),
        "agent2's stream stays open and quiet"
    );
}

/// A demoted supervisor's stream (which sees every agent's calls) closes with 4004.
async fn demotion_closes_the_stream(db: Db) {
    let app = TestApp::new(db).await;
    let addr = serve(&app).await;
    let mut ws = open(addr, &app.a.supervisor).await;
    let id = user_id(&app, "super").await;
    let (s, body) = app
        .send(
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            Some(&app.a.admin),
            Some(json!({"role": "agent"})),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let (code, reason) = close_code(&mut ws).await;
    assert_eq!(code, CLOSE_ROLE_CHANGED, "{reason}");
}

/// A password change (by the user) closes the streams opened with earlier tokens.
async fn a_password_change_closes_the_stream(db: Db) {
    let app = TestApp::new(db).await;
    let addr = serve(&app).await;
    let mut ws = open(addr, &app.a.agent1).await;
    let (s, body) = app
        .send(
            Method::POST,
            "/api/v1/auth/password",
            None,
            Some(json!({"tenant": app.a.slug, "username": "agent1",
                        "current_password": "agent1-password",
                        "new_password": "a fine new passphrase"})),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let (code, _) = close_code(&mut ws).await;
    assert_eq!(code, CLOSE_SESSION_REVOKED);
}

/// A token's stream ends when the token does: one that expired two seconds ago (still inside
/// the verifier's leeway at the upgrade) is closed at once with 4001. Time is set in the token,
/// not waited for.
async fn an_expired_token_closes_the_stream(db: Db) {
    let app = TestApp::new(db).await;
    let addr = serve(&app).await;
    let now = chrono::Utc::now().timestamp();
    let token = app
        .state
        .jwt()
        .sign(&Claims {
            sub: app.a.agent1_user.to_string(),
            tid: app.a.tenant.to_string(),
            role: "agent".into(),
            typ: "access".into(),
            exp: now - 2,
            iat: now - 900,
            ver: 0,
            jti: None,
        })
        .unwrap();
    let mut ws = open(addr, &token).await;
    let (code, reason) = close_code(&mut ws).await;
    assert_eq!(code, CLOSE_SESSION_EXPIRED, "{reason}");
    // A token that lives on keeps its stream.
    let live = app
        .state
        .jwt()
        .issue(app.a.agent1_user, app.a.tenant, Role::Agent)
        .unwrap();
    let mut ws = open(addr, &live.access_token).await;
    assert!(
        tokio::time::timeout(Duration::from_millis(200), ws.next())
            .await
            .is_err()
    );
}

/// A revoked api key's stream closes at once when the revocation is published.
async fn a_revoked_api_key_closes_the_stream(db: Db) {
    let app = TestApp::new(db).await;
    let addr = serve(&app).await;
    let key = api_key(&app, "published").await;
    let mut ws = open(addr, &key.secret).await;
    assert!(
        app.store
            .api_keys()
            .revoke(app.a.tenant, key.key.id)
            .await
            .unwrap()
    );
    app.state.sessions().tenant_changed(app.a.tenant);
    assert_eq!(close_code(&mut ws).await.0, CLOSE_SESSION_REVOKED);
}

/// Changes made behind the API's back (another api-server, the store directly) close the
/// stream at the next heartbeat.
async fn changes_behind_the_apis_back_close_at_the_next_heartbeat(db: Db) {
    let app = TestApp::with_settings(db, |s| s.ws_heartbeat = Duration::from_millis(100)).await;
    let addr = serve(&app).await;
    let key = api_key(&app, "silent").await;
    let mut by_key = open(addr, &key.secret).await;
    let mut by_user = open(addr, &app.a.agent2).await;
    app.store
        .api_keys()
        .revoke(app.a.tenant, key.key.id)
        .await
        .unwrap();
    let agent2 = user_id(&app, "agent2").await.parse().unwrap();
    app.store
        .users()
        .set_active(app.a.tenant, agent2, false)
        .await
        .unwrap();
    assert_eq!(close_code(&mut by_key).await.0, CLOSE_SESSION_REVOKED);
    assert_eq!(close_code(&mut by_user).await.0, CLOSE_SESSION_REVOKED);
}

async fn api_key(app: &TestApp, name: &str) -> hookflash_store::CreatedApiKey {
    app.store
        .api_keys()
        .create(
            app.a.tenant,
            hookflash_store::NewApiKey {
                name: name.into(),
                user_id: None,
                scopes: vec!["supervisor".into()],
                expires_at: None,
            },
        )
        .await
        .unwrap()
}

on_both!(
    deactivation_closes_the_stream,
    demotion_closes_the_stream,
    a_password_change_closes_the_stream,
    an_expired_token_closes_the_stream,
    a_revoked_api_key_closes_the_stream,
    changes_behind_the_apis_back_close_at_the_next_heartbeat,
);
