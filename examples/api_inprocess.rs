//! Mounts the hookflash API in-process and drives it like a client would.
//!
//! Run with `cargo run -p hookflash-examples --example api_inprocess [config.toml]`.
//!
//! It opens a SQLite store in a temporary directory (or `HOOKFLASH_DATABASE_URL`), applies
//! the migrations, creates the default tenant and admin (the one-time password is printed),
//! registers every `protocol = "ami"` server of the config file (with
//! `HOOKFLASH_LIVE_ASTERISK=127.0.0.1` and no file: the local peer's AMI, `ami`/`amipass`),
//! then logs in, creates an agent, asks each server for its status and prints the OpenAPI
//! paths.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use axum::body::Body;
use axum::http::{Method, Request};
use hookflash_ami::AmiConfig;
use hookflash_api::bus::EventBus;
use hookflash_api::{AppState, ExposeSecret, Protocol, ProviderRegistry};
use hookflash_asterisk::{AmiPing, AmiProvider, AmiProviderConfig};
use hookflash_server::ServerConfig;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

async fn call(
    app: &axum::Router,
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> anyhow::Result<(u16, Value)> {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let req = req
        .header("content-type", "application/json")
        .body(Body::from(body.map(|b| b.to_string()).unwrap_or_default()))?;
    let resp = app.clone().oneshot(req).await?;
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await?.to_bytes();
    Ok((
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    ))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    let path = std::env::args().nth(1).map(PathBuf::from);
    let mut config = ServerConfig::load(path.as_deref())?;
    if config.api.jwt_secret.is_none() {
        config.api.jwt_secret = Some("example-only-secret".into());
    }
    if std::env::var("HOOKFLASH_DATABASE_URL").is_err() {
        let dir = std::env::temp_dir().join(format!("hookflash-example-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        config.api.database_url = format!("sqlite://{}/api.db?mode=rwc", dir.display());
    }
    if config.asterisk.is_empty()
        && let Ok(host) = std::env::var("HOOKFLASH_LIVE_ASTERISK")
    {
        let database_url = config.api.database_url.clone();
        config = ServerConfig::from_toml(&format!(
            "[[asterisk]]\nname = \"local\"\nprotocol = \"ami\"\nhost = \"{host}\"\nusername = \"ami\"\nsecret = \"amipass\"\n"
        ))?;
        config.api.jwt_secret = Some("example-only-secret".into());
        config.api.database_url = database_url;
    }

    let store = hookflash_store::Store::connect(&config.api.database_url).await?;
    store.migrate().await?;
    let password = match hookflash_api::ensure_default_tenant_and_admin(
        &store,
        config.api.admin_password.clone(),
    )
    .await?
    {
        Some(p) => {
            println!("admin password (shown once): {p}");
            p
        }
        None => config
            .api
            .admin_password
            .as_ref()
            .map(|p| p.expose_secret().to_owned())
            .context("the database already has an admin: set HOOKFLASH_ADMIN_PASSWORD")?,
    };

    let mut registry = ProviderRegistry::new();
    for server in config
        .asterisk
        .iter()
        .filter(|s| s.protocol == Protocol::Ami)
    {
        let ami = AmiConfig::new(
            server.host.clone(),
            server.port(),
            server.username.clone(),
            server
                .secret
                .as_ref()
                .map(|s| s.expose_secret().to_owned())
                .unwrap_or_default(),
        );
        match AmiProvider::connect(AmiProviderConfig::new(ami)).await {
            Ok(provider) => {
                let probe = AmiPing::new(server.name.clone(), provider.client().clone());
                registry.insert(
                    server.name.clone(),
                    Protocol::Ami,
                    Arc::new(provider),
                    Arc::new(probe),
                );
            }
            Err(e) => println!("{}: not connected: {e}", server.name),
        }
    }

    let state = AppState::new(store, registry, EventBus::default(), config.settings());
    let app = hookflash_api::router(state);

    let (_, tokens) = call(
        &app,
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"username": "admin", "password": password})),
    )
    .await?;
    let token = tokens["access_token"]
        .as_str()
        .context("login failed")?
        .to_owned();
    println!("logged in as admin (role {})", tokens["role"]);

    let (status, agent) = call(
        &app,
        Method::POST,
        "/api/v1/agents",
        Some(&token),
        Some(json!({"display_name": "Agent 1001", "endpoint": "PJSIP/agent1001"})),
    )
    .await?;
    println!("POST /api/v1/agents -> {status}: {agent}");

    let (status, servers) = call(&app, Method::GET, "/api/v1/servers", Some(&token), None).await?;
    println!("GET /api/v1/servers -> {status}: {servers}");

    let (status, bad) = call(
        &app,
        Method::POST,
        "/api/v1/calls",
        Some(&token),
        Some(json!({"agent": agent["id"], "number": "not a number"})),
    )
    .await?;
    println!("POST /api/v1/calls with a bad number -> {status}: {bad}");

    let (_, doc) = call(&app, Method::GET, "/api/v1/openapi.json", None, None).await?;
    let paths = doc["paths"].as_object().map(|p| p.len()).unwrap_or(0);
    println!("OpenAPI document: {paths} paths");
    Ok(())
}
