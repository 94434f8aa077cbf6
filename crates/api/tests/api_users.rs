//! User administration over HTTP: an admin onboards an agent (given or generated password,
//! both one-time: changed at first login), the agent logs in; duplicates are 409
//! `user_exists`, bad roles 422 naming `role`; roles are enforced; an admin cannot deactivate
//! themself; a deactivated user loses access.
//! Runs on SQLite always and on PostgreSQL when HOOKFLASH_TEST_POSTGRES_URL is set.

#[macro_use]
mod api_common;

use api_common::{Db, TestApp, error_code, postgres_url};
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

async fn login(app: &TestApp, tenant: &str, username: &str, password: &str) -> (StatusCode, Value) {
    app.send(
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"tenant": tenant, "username": username, "password": password})),
    )
    .await
}

/// A first login with a one-time password: refused with 403 `password_change_required`, then
/// the password is changed and the answer carries the tokens.
async fn first_login(app: &TestApp, tenant: &str, username: &str, otp: &str, new: &str) -> Value {
    let (s, body) = login(app, tenant, username, otp).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(error_code(&body), "password_change_required");
    let (s, tokens) = app
        .send(
            Method::POST,
            "/api/v1/auth/password",
            None,
            Some(
                json!({"tenant": tenant, "username": username, "current_password": otp,
                        "new_password": new}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{tokens}");
    tokens
}

async fn admin_onboards_an_agent(db: Db) {
    // This test logs the same user in more often than the default limit allows.
    let app = TestApp::with_settings(db, |s| s.login_attempts_per_minute = 1000).await;
    let slug = app.a.slug.clone();

    // Generated one-time password, returned once.
    let (s, created) = app
        .send(
            Method::POST,
            "/api/v1/users",
            Some(&app.a.admin),
            Some(
                json!({"username": "jdoe", "display_name": "Jane Doe", "role": "agent",
                        "email": "jdoe@example.com"}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let otp = created["one_time_password"].as_str().unwrap().to_owned();
    assert!(otp.len() >= 12);
    assert_eq!(created["user"]["role"], "agent");
    assert_eq!(created["user"]["active"], true);
    let id = created["user"]["id"].as_str().unwrap().to_owned();
    assert!(!created.to_string().contains("argon2"), "{created}");

    assert_eq!(created["user"]["must_change_password"], true);
    let tokens = first_login(&app, &slug, "jdoe", &otp, "jane's own kettle 4 tea").await;
    assert_eq!(tokens["role"], "agent");
    let jdoe = tokens["access_token"].as_str().unwrap().to_owned();

    // Given password; no password in the answer.
    let (s, created) = app
        .send(
            Method::POST,
            "/api/v1/users",
            Some(&app.a.admin),
            Some(json!({"username": "sup2", "role": "supervisor",
                        "password": "a long enough one, orbit 7"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    assert!(created.get("one_time_password").is_none(), "{created}");
    first_login(
        &app,
        &slug,
        "sup2",
        "a long enough one, orbit 7",
        "sup2 own passphrase 31",
    )
    .await;

    // Duplicates, bad roles, short passwords.
    let (s, body) = app
        .send(
            Method::POST,
            "/api/v1/users",
            Some(&app.a.admin),
            Some(json!({"username": "jdoe", "role": "agent"})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert_eq!(error_code(&body), "user_exists");
    // The same username in another tenant is fine.
    let (s, body) = app
        .send(
            Method::POST,
            "/api/v1/users",
            Some(&app.b.admin),
            Some(json!({"username": "jdoe", "role": "agent"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    for (bad, field) in [
        (json!({"username": "x1", "role": "root"}), "role"),
        (
            json!({"username": "x2", "role": "agent", "password": "short"}),
            "password",
        ),
        (json!({"username": "bad name", "role": "agent"}), "username"),
        (
            json!({"username": "x3", "role": "agent", "email": "nope"}),
            "email",
        ),
        (
            json!({"username": "x4", "role": "agent", "display_name": "a\r\nb"}),
            "display_name",
        ),
    ] {
        let (s, body) = app
            .send(Method::POST, "/api/v1/users", Some(&app.a.admin), Some(bad))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["field"], field, "{body}");
    }

    // Only an admin creates; supervisors list; agents neither.
    for token in [&app.a.supervisor, &app.a.agent1] {
        let (s, _) = app
            .send(
                Method::POST,
                "/api/v1/users",
                Some(token),
                Some(json!({"username": "nope", "role": "admin"})),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
    let (s, list) = app
        .send(Method::GET, "/api/v1/users", Some(&app.a.supervisor), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 6, "{list}");
    assert!(!list.to_string().contains("password_hash"), "{list}");
    assert!(!list.to_string().contains("argon2"), "{list}");
    let (s, _) = app
        .send(Method::GET, "/api/v1/users", Some(&app.a.agent1), None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // An agent sees themself only.
    let (s, me) = app
        .send(
            Method::GET,
            &format!("/api/v1/users/{id}"),
            Some(&jdoe),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{me}");
    let (s, _) = app
        .send(
            Method::GET,
            &format!("/api/v1/users/{id}"),
            Some(&app.a.agent1),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // PATCH: role and name.
    let (s, body) = app
        .send(
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            Some(&app.a.admin),
            Some(json!({"role": "supervisor", "display_name": "Jane D."})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["role"], "supervisor");
    assert_eq!(body["display_name"], "Jane D.");
    // The new role applies at once, even to a token issued before the change.
    let (s, _) = app
        .send(Method::GET, "/api/v1/users", Some(&jdoe), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    // A password reset answers nothing secret, ends the tokens issued before, and is a
    // one-time password again.
    let (s, body) = app
        .send(
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            Some(&app.a.admin),
            Some(json!({"password": "brand new password 5x"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(!body.to_string().contains("brand new"), "{body}");
    assert_eq!(body["must_change_password"], true);
    let (s, _) = app
        .send(Method::GET, "/api/v1/users", Some(&jdoe), None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = login(&app, &slug, "jdoe", &otp).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let tokens = first_login(
        &app,
        &slug,
        "jdoe",
        "brand new password 5x",
        "brand new password",
    )
    .await;
    assert_eq!(tokens["role"], "supervisor");
    let (s, body) = app
        .send(
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            Some(&app.a.admin),
            Some(json!({"role": "boss"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "role");
    let (s, _) = app
        .send(
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            Some(&app.a.supervisor),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // An admin cannot deactivate themself.
    let admin_id = list
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "admin")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, body) = app
        .send(
            Method::DELETE,
            &format!("/api/v1/users/{admin_id}"),
            Some(&app.a.admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    let (s, _) = app
        .send(
            Method::PATCH,
            &format!("/api/v1/users/{admin_id}"),
            Some(&app.a.admin),
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);

    // Deactivation: no login, and the issued token stops working.
    let (s, tokens) = login(&app, &slug, "jdoe", "brand new password").await;
    assert_eq!(s, StatusCode::OK);
    let token = tokens["access_token"].as_str().unwrap().to_owned();
    let (s, _) = app
        .send(
            Method::DELETE,
            &format!("/api/v1/users/{id}"),
            Some(&app.a.admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = login(&app, &slug, "jdoe", "brand new password").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = app
        .send(Method::GET, "/api/v1/users", Some(&token), None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, body) = app
        .send(
            Method::GET,
            &format!("/api/v1/users/{id}"),
            Some(&app.a.admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["active"], false);
    // Reactivation.
    let (s, body) = app
        .send(
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            Some(&app.a.admin),
            Some(json!({"active": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, _) = login(&app, &slug, "jdoe", "brand new password").await;
    assert_eq!(s, StatusCode::OK);
}

on_both!(admin_onboards_an_agent);
