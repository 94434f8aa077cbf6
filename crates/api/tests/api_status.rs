//! Status codes: JSON of the wrong shape is 422 naming the field (never 400), text that is
//! not JSON is 400, and a database that cannot be used is 503 with a reason and Retry-After
//! (never 500).

#[macro_use]
mod api_common;

use api_common::{Db, TestApp, error_code};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::json;
use tower::ServiceExt;

#[tokio::test]
async fn json_of_the_wrong_shape_is_422_naming_the_field() {
    let app = TestApp::new(Db::Sqlite).await;
    let token = app.a.admin.clone();
    for (body, field) in [
        (
            json!({"display_name": 5, "endpoint": "PJSIP/x"}),
            "display_name",
        ),
        (json!([]), "body"),
        (json!("agent"), "body"),
        (json!({"display_name": "x"}), "endpoint"),
        // serde reads a struct from an array of its fields: not a body this API takes.
        (json!(["x", "PJSIP/x"]), "body"),
    ] {
        let (s, v) = app
            .send(
                Method::POST,
                "/api/v1/agents",
                Some(&token),
                Some(body.clone()),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert_eq!(v["error"]["field"], field, "{body}: {v}");
    }
    // An optional body (a bodiless PUT is fine) of the wrong shape, and a number out of range.
    let call = app.live_call(&app.a, &app.a.agent1_rec).await;
    for raw in [
        r#"[1, 2]"#,
        r#"{"direction": 5}"#,
        r#"{"direction": 1e999}"#,
    ] {
        let req = Request::put(format!("/api/v1/calls/{call}/mute/start"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(raw))
            .unwrap();
        let (s, v) = app.raw(req).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{raw}: {v}");
        assert_eq!(error_code(&v), "validation_failed", "{raw}: {v}");
    }
    // Not JSON at all stays 400.
    let req = Request::post("/api/v1/agents")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{\"display_name\": "))
        .unwrap();
    let (s, v) = app.raw(req).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
}

#[tokio::test]
async fn a_database_that_cannot_be_used_is_503_with_retry_after() {
    let app = TestApp::new(Db::Sqlite).await;
    app.store.close().await;
    for path in ["/api/v1/calls", "/api/v1/agents"] {
        let req = Request::get(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", app.a.admin))
            .body(Body::empty())
            .unwrap();
        let resp = app.router.clone().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert!(resp.headers().contains_key(header::RETRY_AFTER), "{path}");
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 16)
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(error_code(&v), "database_unavailable", "{path}: {v}");
    }
}
