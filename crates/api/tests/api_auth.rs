//! Accounts, passwords and sessions over HTTP (issue 12, points 4, 5, 7, 8): the last active
//! admin stays, whoever asks; weak passwords are 422 naming the field, the bootstrap admin's
//! included; usernames ignore case; refresh tokens rotate and a reused one revokes its family;
//! a password change ends every earlier token; one-time passwords must be changed and expire;
//! logins are limited per address and per (tenant, user) with one password check each.
//! Runs on SQLite always and on PostgreSQL when HOOKFLASH_TEST_POSTGRES_URL is set.

#[macro_use]
mod api_common;

use std::net::SocketAddr;

use api_common::{Db, TestApp, error_code, postgres_url};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};

async fn login(app: &TestApp, tenant: &str, username: &str, password: &str) -> (StatusCode, Value) {
    login_from(app, None, tenant, username, password).await
}

async fn login_from(
    app: &TestApp,
    ip: Option<[u8; 4]>,
    tenant: &str,
    username: &str,
    password: &str,
) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/auth/login")
        .header("content-type", "application/json")
        .body(Body::from(
            json!({"tenant": tenant, "username": username, "password": password}).to_string(),
        ))
        .unwrap();
    if let Some(ip) = ip {
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from((ip, 40000))));
    }
    app.raw(req).await
}

async fn change_password(
    app: &TestApp,
    tenant: &str,
    username: &str,
    current: &str,
    new: &str,
) -> (StatusCode, Value) {
    app.send(
        Method::POST,
        "/api/v1/auth/password",
        None,
        Some(
            json!({"tenant": tenant, "username": username, "current_password": current,
                    "new_password": new}),
        ),
    )
    .await
}

async fn refresh(app: &TestApp, token: &Value) -> (StatusCode, Value) {
    app.send(
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": token})),
    )
    .await
}

async fn user_id(app: &TestApp, token: &str, username: &str) -> String {
    let (s, list) = app
        .send(Method::GET, "/api/v1/users", Some(token), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    list.as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == username)
        .unwrap_or_else(|| panic!("{username} in {list}"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Point 4: an admin api key (no user, so no "not yourself" guard) can neither deactivate
/// nor demote the tenant's last active admin; with a second admin it can.
async fn the_last_active_admin_stays(db: Db) {
    let app = TestApp::new(db).await;
    let key = app
        .store
        .api_keys()
        .create(
            app.a.tenant,
            hookflash_store::NewApiKey {
                name: "ops".into(),
                user_id: None,
                scopes: vec!["admin".into()],
                expires_at: None,
            },
        )
        .await
        .unwrap()
        .secret;
    let admin = user_id(&app, &key, "admin").await;
    let uri = format!("/api/v1/users/{admin}");
    for (method, body) in [
        (Method::DELETE, None),
        (Method::PATCH, Some(json!({"active": false}))),
        (Method::PATCH, Some(json!({"role": "supervisor"}))),
    ] {
        let (s, body) = app.send(method.clone(), &uri, Some(&key), body).await;
        assert_eq!(s, StatusCode::CONFLICT, "{method}: {body}");
        assert_eq!(error_code(&body), "last_admin", "{body}");
    }
    let (s, me) = app.send(Method::GET, &uri, Some(&key), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (me["active"].clone(), me["role"].clone()),
        (json!(true), json!("admin"))
    );
    // Another tenant's admins do not count: tenant b's admin is alone too.
    let (s, created) = app
        .send(
            Method::POST,
            "/api/v1/users",
            Some(&key),
            Some(json!({"username": "admin2", "role": "admin"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let (s, body) = app.send(Method::DELETE, &uri, Some(&key), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
}

/// Point 5: weak passwords are 422 naming the field; `Admin` is `admin`.
async fn weak_passwords_and_usernames_in_any_case(db: Db) {
    let app = TestApp::new(db).await;
    for weak in [
        "aaaaaaaaaaaa",
        "            ",
        "correct\u{0}horse battery",
        "password1234",
        "qwertyuiop12",
        "newagent2024x",
    ] {
        let (s, body) = app
            .send(
                Method::POST,
                "/api/v1/users",
                Some(&app.a.admin),
                Some(json!({"username": "newagent", "role": "agent", "password": weak})),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{weak:?}: {body}");
        assert_eq!(body["error"]["field"], "password", "{body}");
    }
    for taken in ["Admin", "ADMIN", "Agent1"] {
        let (s, body) = app
            .send(
                Method::POST,
                "/api/v1/users",
                Some(&app.a.admin),
                Some(json!({"username": taken, "role": "agent"})),
            )
            .await;
        assert_eq!(s, StatusCode::CONFLICT, "{taken}: {body}");
        assert_eq!(error_code(&body), "user_exists");
    }
    let (s, tokens) = login(&app, &app.a.slug, "ADMIN", "admin-password").await;
    assert_eq!(s, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["role"], "admin");
}

/// Point 7: each refresh token is good once; presenting a used one revokes the family, the
/// thief's and the owner's successors alike.
async fn refresh_tokens_rotate_and_reuse_revokes_the_family(db: Db) {
    let app = TestApp::new(db).await;
    let (s, first) = login(&app, &app.a.slug, "agent1", "agent1-password").await;
    assert_eq!(s, StatusCode::OK, "{first}");
    let (s, second) = refresh(&app, &first["refresh_token"]).await;
    assert_eq!(s, StatusCode::OK, "{second}");
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    let (s, third) = refresh(&app, &second["refresh_token"]).await;
    assert_eq!(s, StatusCode::OK, "{third}");
    // The first token again (stolen): refused, and the live one of its family too.
    let (s, body) = refresh(&app, &first["refresh_token"]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
    let (s, _) = refresh(&app, &third["refresh_token"]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Another login is another family, untouched.
    let (s, other) = login(&app, &app.a.slug, "agent1", "agent1-password").await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = refresh(&app, &other["refresh_token"]).await;
    assert_eq!(s, StatusCode::OK);
    // A refresh token with no stored id (issued outside a login) is refused.
    let loose = app
        .state
        .jwt()
        .issue(app.a.agent1_user, app.a.tenant, hookflash_api::Role::Agent)
        .unwrap();
    let (s, _) = refresh(&app, &json!(loose.refresh_token)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

/// Point 7: an agent changes their own password; every token issued before stops working;
/// weak or unchanged new passwords are 422 on `new_password`; an admin cannot set their own
/// password through PATCH.
async fn a_password_change_revokes_every_earlier_token(db: Db) {
    // More attempts on one account than the default limit allows.
    let app = TestApp::with_settings(db, |s| s.login_attempts_per_minute = 100).await;
    let slug = app.a.slug.clone();
    let (s, old) = login(&app, &slug, "agent1", "agent1-password").await;
    assert_eq!(s, StatusCode::OK);
    for (new, why) in [
        ("short", "12 to 128"),
        ("agent1-password", "differ"),
        ("agent1agent1agent1", "guess"),
    ] {
        let (s, body) = change_password(&app, &slug, "agent1", "agent1-password", new).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{new}: {body}");
        assert_eq!(body["error"]["field"], "new_password");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(why),
            "{body}"
        );
    }
    let (s, body) = change_password(&app, &slug, "agent1", "wrong", "a fine new passphrase").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
    let (s, fresh) = change_password(
        &app,
        &slug,
        "agent1",
        "agent1-password",
        "a fine new passphrase",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{fresh}");
    for token in [&app.a.agent1, old["access_token"].as_str().unwrap()] {
        let (s, _) = app
            .send(Method::GET, "/api/v1/users/me/calls", Some(token), None)
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let (s, _) = refresh(&app, &old["refresh_token"]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = app
        .send(
            Method::GET,
            "/api/v1/users/me/calls",
            fresh["access_token"].as_str(),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = refresh(&app, &fresh["refresh_token"]).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = login(&app, &slug, "agent1", "agent1-password").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = login(&app, &slug, "agent1", "a fine new passphrase").await;
    assert_eq!(s, StatusCode::OK);
    // An admin's own password goes through the same proof, not through PATCH.
    let admin = user_id(&app, &app.a.admin, "admin").await;
    let (s, body) = app
        .send(
            Method::PATCH,
            &format!("/api/v1/users/{admin}"),
            Some(&app.a.admin),
            Some(json!({"password": "another fine passphrase"})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
}

/// Point 7: a one-time password gives no tokens until changed, and stops working once it
/// expires (time set in the store, no waiting).
async fn one_time_passwords_must_be_changed_and_expire(db: Db) {
    let app = TestApp::new(db).await;
    let slug = app.a.slug.clone();
    let (s, created) = app
        .send(
            Method::POST,
            "/api/v1/users",
            Some(&app.a.admin),
            Some(json!({"username": "newbie", "role": "agent"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let otp = created["one_time_password"].as_str().unwrap().to_owned();
    let expires: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(created["user"]["password_expires_at"].clone()).unwrap();
    assert!(
        expires > chrono::Utc::now() + chrono::Duration::hours(71),
        "{created}"
    );
    let (s, body) = login(&app, &slug, "newbie", &otp).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(error_code(&body), "password_change_required");
    // The same for a user whose one-time password has expired.
    let (s, other) = app
        .send(
            Method::POST,
            "/api/v1/users",
            Some(&app.a.admin),
            Some(json!({"username": "latecomer", "role": "agent"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let late_otp = other["one_time_password"].as_str().unwrap().to_owned();
    let late_id = other["user"]["id"].as_str().unwrap().parse().unwrap();
    app.store
        .users()
        .require_password_change(
            app.a.tenant,
            late_id,
            Some(chrono::Utc::now() - chrono::Duration::minutes(1)),
        )
        .await
        .unwrap();
    let (s, body) = login(&app, &slug, "latecomer", &late_otp).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(error_code(&body), "password_expired");
    let (s, body) =
        change_password(&app, &slug, "latecomer", &late_otp, "too late a passphrase").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(error_code(&body), "password_expired");
    // The first user changes theirs in time and is in.
    let (s, tokens) = change_password(&app, &slug, "newbie", &otp, "newbie's own passphrase").await;
    assert_eq!(s, StatusCode::OK, "{tokens}");
    let (s, _) = login(&app, &slug, "newbie", "newbie's own passphrase").await;
    assert_eq!(s, StatusCode::OK);
}

/// Point 8: one address spraying usernames is limited; an attack on one tenant's `admin` does
/// not lock out another tenant's `admin`.
async fn logins_are_limited_per_address_and_per_account(db: Db) {
    let app = TestApp::with_settings(db, |s| {
        s.login_attempts_per_minute = 3;
        s.login_attempts_per_ip_per_minute = 6;
    })
    .await;
    let attacker = Some([198, 51, 100, 7]);
    for i in 0..6 {
        let (s, _) = login_from(&app, attacker, &app.a.slug, &format!("user{i}"), "guess").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let (s, body) = login_from(&app, attacker, &app.a.slug, "someone", "guess").await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{body}");
    // The same account from another address goes on.
    let (s, _) = login_from(
        &app,
        Some([198, 51, 100, 8]),
        &app.a.slug,
        "agent2",
        "agent2-password",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    // Three failures on tenant a's admin, from three addresses: the account is locked...
    for n in 0..3 {
        let (s, _) = login_from(&app, Some([203, 0, 113, n]), &app.a.slug, "admin", "x").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let (s, _) = login_from(
        &app,
        Some([203, 0, 113, 9]),
        &app.a.slug,
        "ADMIN",
        "admin-password",
    )
    .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    // ...but tenant b's admin is not.
    let (s, body) = login_from(
        &app,
        Some([203, 0, 113, 10]),
        &app.b.slug,
        "admin",
        "admin-password",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
}

/// Point 8: a login costs one password check whether the tenant and user exist or not, so
/// tenant slugs and usernames cannot be told apart by timing (counted, not timed).
async fn logins_do_the_same_work_for_unknown_tenants_and_users(db: Db) {
    let app = TestApp::new(db).await;
    let checks = || app.store.password_checks();
    for (tenant, user) in [
        ("no-such-tenant", "admin"),
        (app.a.slug.as_str(), "no-such-user"),
        (app.a.slug.as_str(), "admin"),
    ] {
        let before = checks();
        let (s, _) = login(&app, tenant, user, "wrong password").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert_eq!(checks(), before + 1, "{tenant}/{user}");
    }
    let before = checks();
    let (s, _) = change_password(
        &app,
        "no-such-tenant",
        "admin",
        "x",
        "a fine new passphrase",
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(checks(), before + 1);
}

/// Point 5: the bootstrap admin password passes the policy (refused before anything is
/// created); a generated one must be changed at first login. SQLite only: it needs an empty
/// database.
#[tokio::test]
async fn bootstrap_admin_password_follows_the_policy() {
    use hookflash_api::{ADMIN_USERNAME, ensure_default_tenant_and_admin};
    let store = api_common::store_for(Db::Sqlite).await;
    let err = ensure_default_tenant_and_admin(&store, Some("aaaaaaaaaaaa".into()))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("HOOKFLASH_ADMIN_PASSWORD"),
        "{err}"
    );
    assert!(store.tenants().list().await.unwrap().is_empty());
    let generated = ensure_default_tenant_and_admin(&store, None)
        .await
        .unwrap()
        .expect("a generated password");
    let tenant = store
        .tenants()
        .get_by_slug("default")
        .await
        .unwrap()
        .unwrap();
    let admin = store
        .users()
        .find_by_login(tenant.tenant_id(), ADMIN_USERNAME)
        .await
        .unwrap()
        .unwrap();
    assert!(admin.must_change_password);
    assert_eq!(admin.password_expires_at, None);
    assert!(
        store
            .users()
            .verify_password(tenant.tenant_id(), "admin", &generated)
            .await
            .unwrap()
            .is_some()
    );
    // A given, strong password is the admin's own.
    let other = api_common::store_for(Db::Sqlite).await;
    assert_eq!(
        ensure_default_tenant_and_admin(&other, Some("mauve kettle orbit 71".into()))
            .await
            .unwrap(),
        None
    );
    let tenant = other
        .tenants()
        .get_by_slug("default")
        .await
        .unwrap()
        .unwrap();
    let admin = other
        .users()
        .find_by_login(tenant.tenant_id(), "Admin")
        .await
        .unwrap()
        .unwrap();
    assert!(!admin.must_change_password);
}

on_both!(
    the_last_active_admin_stays,
    weak_passwords_and_usernames_in_any_case,
    refresh_tokens_rotate_and_reuse_revokes_the_family,
    a_password_change_revokes_every_earlier_token,
    one_time_passwords_must_be_changed_and_expire,
    logins_are_limited_per_address_and_per_account,
    logins_do_the_same_work_for_unknown_tenants_and_users,
);
