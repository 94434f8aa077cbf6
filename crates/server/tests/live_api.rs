//! Live: `/api/v1/servers` and `/api/v1/servers/{name}/test` against the real Asterisk peer —
//! an AMI Ping over the real AmiProvider connection and `GET /asterisk/info` over ARI, plus a
//! server with a wrong password that must report `down`.

#[path = "../../api/tests/api_common/mod.rs"]
mod api_common;

use std::sync::Arc;

use api_common::{Db, RecordingProvider, TestApp};
use axum::http::{Method, StatusCode};
use hookflash_ami::AmiConfig;
use hookflash_api::bus::EventBus;
use hookflash_api::{AppState, Config, Protocol, ProviderRegistry, Settings};
use hookflash_asterisk::{AmiPing, AmiProvider, AmiProviderConfig, AriInfo};
use hookflash_testkit::live_peer;

#[tokio::test]
async fn live_server_status_and_round_trips() {
    let Some((host, _peer)) = live_peer("live_server_status_and_round_trips") else {
        return;
    };
    let ami = AmiProvider::connect(AmiProviderConfig::new(AmiConfig::new(
        host.clone(),
        5038,
        "ami",
        "amipass",
    )))
    .await
    .unwrap();
    let ami_probe = AmiPing::new("pbx-ami", ami.client().clone());
    let ari = hookflash_ari::Client::builder(format!("http://{host}:8088/ari"), "ari", "aripass")
        .build()
        .unwrap();
    let bad_ari = hookflash_ari::Client::builder(format!("http://{host}:8088/ari"), "ari", "wrong")
        .build()
        .unwrap();
    let mut registry = ProviderRegistry::new();
    registry.insert("pbx-ami", Protocol::Ami, Arc::new(ami), Arc::new(ami_probe));
    let placeholder = Arc::new(RecordingProvider::default());
    registry.insert(
        "pbx-ari",
        Protocol::Ari,
        placeholder.clone(),
        Arc::new(AriInfo::new(ari)),
    );
    registry.insert(
        "pbx-ari-bad",
        Protocol::Ari,
        placeholder,
        Arc::new(AriInfo::new(bad_ari)),
    );
    // The harness's users and tokens, on a state with the live registry.
    let base = TestApp::new(Db::Sqlite).await;
    let config = Config {
        jwt_secret: Some("test-secret".into()),
        ..Config::default()
    };
    let state = AppState::new(
        base.store.clone(),
        registry,
        EventBus::new(16),
        Settings::from_config(&config),
    );
    let app = TestApp {
        router: hookflash_api::router(state.clone()),
        state,
        ..base
    };
    let (s, servers) = app
        .send(Method::GET, "/api/v1/servers", Some(&app.a.admin), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let by_name = |n: &str| {
        servers
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == n)
            .cloned()
            .unwrap()
    };
    assert_eq!(by_name("pbx-ami")["status"], "up", "{servers}");
    assert_eq!(by_name("pbx-ami")["connected"], true);
    assert_eq!(by_name("pbx-ari")["status"], "up", "{servers}");
    assert!(
        by_name("pbx-ari")["detail"]
            .as_str()
            .unwrap()
            .starts_with("Asterisk 22"),
        "{servers}"
    );
    assert_eq!(by_name("pbx-ari-bad")["status"], "down", "{servers}");

    let (s, test) = app
        .send(
            Method::POST,
            "/api/v1/servers/pbx-ami/test",
            Some(&app.a.admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(test["status"], "up");
    assert_eq!(test["detail"], "Ping: Pong", "{test}");
    let (s, ready) = app.send(Method::GET, "/readyz", None, None).await;
    assert_eq!(
        s,
        StatusCode::SERVICE_UNAVAILABLE,
        "the bad server fails readiness: {ready}"
    );
}
