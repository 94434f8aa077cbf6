//! What a caller may hand the PBX on a call: channel variables (an allow-listed, validated
//! vocabulary per tenant) and recordings (resources with our id, files named from our ids; a
//! caller's label is metadata, formats a closed set). On SQLite and, when configured,
//! PostgreSQL.

#[macro_use]
mod api_common;

use api_common::{Db, TestApp, postgres_url};
use axum::http::{Method, StatusCode};
use hookflash_api::VariablePolicy;
use hookflash_provider::RecordingFormat;
use serde_json::{Value, json};

async fn post_call(app: &TestApp, who: &str, variables: Value) -> (StatusCode, Value) {
    app.send(
        Method::POST,
        "/api/v1/calls",
        Some(who),
        Some(json!({"number": "+12025550143", "variables": variables})),
    )
    .await
}

async fn variables_are_allow_listed_and_checked(db: Db) {
    let app = TestApp::with_settings(db, |s| {
        s.variables = VariablePolicy::new().with_allow(["CRM_ID"]);
    })
    .await;
    let cases = [
        // The reported attack: one allowed name whose value sets functions after a comma.
        (
            json!({"CRM_ID": "1,CDR(userfield)=x,CALLERID(num)=666"}),
            "variables.CRM_ID",
        ),
        (json!({"CRM_ID": "a\"b"}), "variables.CRM_ID"),
        (json!({"CRM_ID": "a\\b"}), "variables.CRM_ID"),
        (json!({"CRM_ID": "x\u{0}"}), "variables.CRM_ID"),
        // Reserved names in any case or inheritance form, function syntax.
        (json!({"__HOOKFLASH_CALL_ID": "x"}), "variables"),
        (json!({"HOOKFLASH_TRUNK": "trunk-offline"}), "variables"),
        (json!({"hookflash_trunk": "x"}), "variables"),
        (json!({"DIAL_TIMEOUT": "1"}), "variables"),
        (json!({"CDR(userfield)": "x"}), "variables"),
        // Well-formed but not on the list.
        (json!({"PRIORITY": "1"}), "variables.PRIORITY"),
        (
            json!({"CRM_ID": "1", "PRIORITY": "1"}),
            "variables.PRIORITY",
        ),
    ];
    for (vars, field) in cases {
        let (s, body) = post_call(&app, &app.a.agent1, vars.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{vars}: {body}");
        assert_eq!(body["error"]["field"], field, "{vars}: {body}");
    }
    assert!(app.provider.originates.lock().unwrap().is_empty());
    let (s, body) = post_call(&app, &app.a.agent1, json!({"CRM_ID": "42 a=b;c"})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    let sent = app.provider.originates.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].variables.get("CRM_ID"), Some("42 a=b;c"));
    assert_eq!(sent[0].variables.len(), 1);
}

async fn no_variable_without_configuration(db: Db) {
    let app = TestApp::new(db).await;
    let (s, body) = post_call(&app, &app.a.agent1, json!({"CRM_ID": "1"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "variables.CRM_ID");
    let (s, body) = post_call(&app, &app.a.agent1, json!({})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
}

async fn recordings_are_resources_named_from_our_ids(db: Db) {
    let app = TestApp::new(db).await;
    let call = app.live_call(&app.a, &app.a.agent1_rec).await;
    let base = format!("/api/v1/calls/{call}");
    let put = |suffix: &'static str, body: Option<Value>| {
        let url = format!("{base}{suffix}");
        let app = &app;
        async move { app.send(Method::PUT, &url, Some(&app.a.agent1), body).await }
    };

    // Paths and odd formats never reach the provider.
    for (body, field) in [
        (json!({"format": "/../../x"}), "format"),
        (json!({"format": "wav/../../../etc/asterisk/x"}), "format"),
        (json!({"label": "x\r\ny"}), "label"),
    ] {
        let (s, resp) = put("/record/start", Some(body.clone())).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {resp}");
        assert_eq!(resp["error"]["field"], field);
    }
    assert!(app.provider.recordings.lock().unwrap().is_empty());

    // A label that looks like a path is metadata: the provider is asked for our id only.
    let label = "../../etc/asterisk/manager";
    let (s, resp) = put(
        "/record/start",
        Some(json!({"label": label, "format": "gsm"})),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{resp}");
    let id = resp["recording"]
        .as_str()
        .expect("record/start returns our id");
    let asked = app.provider.recordings.lock().unwrap().clone();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].id.to_string(), id);
    assert_eq!(asked[0].format, Some(RecordingFormat::Gsm));
    assert_eq!(asked[0].file_stem(), format!("hookflash-{call}-{id}"));

    // `name` is the old spelling of the label.
    let (s, second) = put("/record/start", Some(json!({"name": "second"}))).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{second}");
    let second = second["recording"].as_str().unwrap().to_owned();
    assert_ne!(second, id, "every start is a new recording");

    let (s, list) = app
        .send(
            Method::GET,
            &format!("{base}/recordings"),
            Some(&app.a.agent1),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(list.as_array().map(Vec::len), Some(2), "{list}");
    assert_eq!(list[0]["id"], id);
    assert_eq!(list[0]["label"], label);
    assert_eq!(list[0]["format"], "gsm");
    assert_eq!(list[0]["name"], format!("rec-{call}"));
    assert_eq!(list[1]["label"], "second");

    // Stop picks the latest running one, or the one named; a stopped one is a conflict.
    let (s, resp) = put("/record/stop", None).await;
    assert_eq!(
        (s, resp["recording"].as_str()),
        (StatusCode::ACCEPTED, Some(second.as_str()))
    );
    let (s, resp) = put("/record/stop", Some(json!({"recording": second}))).await;
    assert_eq!(s, StatusCode::CONFLICT, "{resp}");
    let (s, resp) = put("/record/pause", Some(json!({"recording": id}))).await;
    assert_eq!(
        (s, resp["recording"].as_str()),
        (StatusCode::ACCEPTED, Some(id))
    );
    let (s, _) = put("/record/stop", None).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (s, _) = put("/record/stop", None).await;
    assert_eq!(s, StatusCode::CONFLICT);

    // Another tenant sees neither the call nor its recordings; a recording of another call
    // is not this call's.
    let (s, _) = app
        .send(
            Method::GET,
            &format!("{base}/recordings"),
            Some(&app.b.admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let other = app.live_call(&app.a, &app.a.agent1_rec).await;
    let (s, _) = app
        .send(
            Method::PUT,
            &format!("/api/v1/calls/{other}/record/pause"),
            Some(&app.a.agent1),
            Some(json!({"recording": id})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

on_both!(
    variables_are_allow_listed_and_checked,
    no_variable_without_configuration,
    recordings_are_resources_named_from_our_ids,
);
