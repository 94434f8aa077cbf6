//! The parking lot through the API: `GET /api/v1/parked` lists the tenant's parked calls only,
//! and `POST /api/v1/parked/{slot}/pickup` rings the caller's own agent for a slot of the
//! tenant's (404 for an empty, foreign, anonymous or malformed slot). On SQLite and, when
//! configured, PostgreSQL.

#[macro_use]
mod api_common;

use std::time::Duration;

use api_common::{Db, TestApp, postgres_url};
use axum::http::{Method, StatusCode};
use chrono::Utc;
use hookflash_provider::{CallId, LegId, ParkedCall};

fn parked(slot: &str, call_id: Option<CallId>) -> ParkedCall {
    let mut p = ParkedCall::new(slot, LegId::new(format!("leg-{slot}")).unwrap());
    p.call_id = call_id;
    p.parked_at = Some(Utc::now());
    p.timeout = Some(Duration::from_secs(45));
    p.parker = Some("PJSIP/agent1001".to_owned());
    p
}

async fn the_lot_is_tenant_scoped_and_pickup_rings_the_callers_agent(db: Db) {
    let app = TestApp::new(db).await;
    let ours = app.live_call(&app.a, &app.a.agent1_rec).await;
    let theirs = app.live_call(&app.b, &app.b.agent1_rec).await;
    *app.provider.parked.lock().unwrap() = vec![
        parked("701", Some(ours)),
        parked("702", Some(theirs)),
        // Parked by a phone on its own: nobody's call.
        parked("703", None),
    ];

    let (s, v) = app
        .send(Method::GET, "/api/v1/parked", Some(&app.a.agent1), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let list = v["parked"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{v}");
    assert_eq!(list[0]["slot"], "701");
    assert_eq!(list[0]["call_id"], ours.to_string());
    assert_eq!(list[0]["server"], "pbx1");
    assert_eq!(list[0]["timeout_secs"], 45);
    assert_eq!(list[0]["parker"], "PJSIP/agent1001");
    assert!(list[0]["parked_since"].is_string(), "{v}");

    let (s, v) = app
        .send(Method::GET, "/api/v1/parked", Some(&app.b.admin), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let slots: Vec<&str> = v["parked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["slot"].as_str().unwrap())
        .collect();
    assert_eq!(slots, ["702"]);

    let (s, _) = app.send(Method::GET, "/api/v1/parked", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // Another tenant's slot, nobody's slot, an empty one and no slot at all: not found, and
    // nothing rings.
    for slot in ["702", "703", "799", "7a1", "123456789"] {
        let (s, v) = app
            .send(
                Method::POST,
                &format!("/api/v1/parked/{slot}/pickup"),
                Some(&app.a.agent1),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{slot}: {v}");
    }
    assert!(app.provider.pickups.lock().unwrap().is_empty());

    // A caller with no agent has nobody to ring.
    let (s, v) = app
        .send(
            Method::POST,
            "/api/v1/parked/701/pickup",
            Some(&app.a.admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "agent", "{v}");

    let (s, v) = app
        .send(
            Method::POST,
            "/api/v1/parked/701/pickup",
            Some(&app.a.agent1),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    assert_eq!(v["slot"], "701");
    assert_eq!(v["call_id"], ours.to_string());
    assert_eq!(v["agent_endpoint"], app.a.agent1_rec.endpoint.as_str());
    let pickups = app.provider.pickups.lock().unwrap().clone();
    assert_eq!(pickups.len(), 1);
    assert_eq!(pickups[0].slot, "701");
    assert_eq!(pickups[0].call_id, ours);
    assert_eq!(pickups[0].endpoint, app.a.agent1_rec.endpoint);
}

on_both!(the_lot_is_tenant_scoped_and_pickup_rings_the_callers_agent);
