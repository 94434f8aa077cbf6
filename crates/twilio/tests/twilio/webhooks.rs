//! The webhook router: 403 before anything else for a missing, forged, tampered or replayed
//! request; TwiML for the agent's leg; several accounts in one router, each callback routed by
//! its `AccountSid`; callbacks about calls the account did not place are ignored.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use futures::StreamExt as _;
use hookflash_provider::{CallId, CallProvider, LegEventKind, OriginateRequest, ProviderEvent};
use hookflash_twilio::{
    RetryPolicy, SIGNATURE_HEADER, TwilioConfig, TwilioProvider, body_sha256_hex,
    compute_signature, webhook_router, webhook_router_for,
};
use tower::ServiceExt as _;

const PUBLIC: &str = "https://hooks.example.com";
const TOKEN: &str = "webhook-token";
const LEG: &str = "CA0000000000000000000000000000aaaa";

fn provider() -> TwilioProvider {
    provider_for(crate::support::ACCOUNT, TOKEN)
}

fn provider_for(account: &str, token: &str) -> TwilioProvider {
    let config = TwilioConfig::new(account, token, PUBLIC)
        .unwrap()
        .with_api_base("http://127.0.0.1:9")
        .with_agent_caller_id("+15550001111")
        .with_retry(RetryPolicy {
            max_attempts: 1,
            base_delay: std::time::Duration::from_millis(1),
            max_delay: std::time::Duration::from_millis(1),
        });
    TwilioProvider::new(config).unwrap()
}

/// A call the provider placed: it remembers the call from the originate on (the REST request
/// itself goes to a closed port here and fails; Twilio's callbacks are what the tests send).
async fn placed(provider: &TwilioProvider) -> CallId {
    let call_id = CallId::new_random();
    let request = OriginateRequest::new(
        call_id,
        hookflash_provider::TenantId::new_random(),
        "client:alice",
        "+15559870001",
    );
    assert!(provider.originate(request).await.is_err(), "no Twilio here");
    call_id
}

fn form(pairs: &[(&str, &str)]) -> (Vec<(String, String)>, String) {
    let params: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let body = form_body(&params);
    (params, body)
}

fn form_body(params: &[(String, String)]) -> String {
    let mut s = String::new();
    for (i, (k, v)) in params.iter().enumerate() {
        if i > 0 {
            s.push('&');
        }
        s.push_str(&urlencode(k));
        s.push('=');
        s.push_str(&urlencode(v));
    }
    s
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn post(path_and_query: &str, body: String, signature: Option<String>) -> Request<Body> {
    let mut req =
        Request::post(path_and_query).header("content-type", "application/x-www-form-urlencoded");
    if let Some(sig) = signature {
        req = req.header(SIGNATURE_HEADER, sig);
    }
    req.body(Body::from(body)).unwrap()
}

fn status_params(status: &str, seq: &str) -> Vec<(&'static str, String)> {
    vec![
        ("CallSid", LEG.to_owned()),
        ("CallStatus", status.to_owned()),
        ("To", "client:alice".to_owned()),
        ("From", "+15550001111".to_owned()),
        ("SequenceNumber", seq.to_owned()),
    ]
}

fn signed(path: &str, pairs: &[(&'static str, String)]) -> (String, Option<String>) {
    let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (params, body) = form(&borrowed);
    let sig = compute_signature(TOKEN, &format!("{PUBLIC}{path}"), &params);
    (body, Some(sig))
}

async fn send(provider: &TwilioProvider, req: Request<Body>) -> (StatusCode, String) {
    let resp = webhook_router(provider.webhook_state())
        .oneshot(req)
        .await
        .unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

fn drain(events: &mut hookflash_provider::LegEventStream) -> Vec<LegEventKind> {
    let mut out = Vec::new();
    while let Some(Some(ProviderEvent::Leg(e))) = futures::FutureExt::now_or_never(events.next()) {
        out.push(e.kind);
    }
    out
}

#[tokio::test]
async fn forged_missing_tampered_and_replayed_callbacks_get_403() {
    let provider = provider();
    let mut events = provider.events();
    let call_id = placed(&provider).await;
    let path = format!("/twilio/status/{call_id}?leg=agent");

    let (body, _) = signed(&path, &status_params("initiated", "0"));
    let (status, _) = send(&provider, post(&path, body.clone(), None)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "missing signature");

    let (status, _) = send(
        &provider,
        post(&path, body.clone(), Some("bm90IGEgc2lnbmF0dXJl".to_owned())),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "forged signature");

    // Signed for one body, sent with another (CallStatus changed).
    let (_, sig) = signed(&path, &status_params("initiated", "0"));
    let (tampered, _) = signed(&path, &status_params("completed", "0"));
    let (status, _) = send(&provider, post(&path, tampered, sig.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "tampered body");

    // Signed for another call's URL.
    let other = format!("/twilio/status/{}?leg=agent", CallId::new_random());
    let (status, _) = send(&provider, post(&other, body.clone(), sig.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "tampered URL");

    // Signed with another auth token.
    let borrowed: Vec<(&str, String)> = status_params("initiated", "0");
    let params: Vec<(String, String)> = borrowed
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    let wrong_key = compute_signature("other-token", &format!("{PUBLIC}{path}"), &params);
    let (status, _) = send(&provider, post(&path, body.clone(), Some(wrong_key))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "wrong key");

    assert!(
        drain(&mut events).is_empty(),
        "nothing refused was translated"
    );

    let (status, _) = send(&provider, post(&path, body.clone(), sig.clone())).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "genuine");
    let (status, _) = send(&provider, post(&path, body.clone(), sig.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "replayed");

    let (body, sig) = signed(&path, &status_params("ringing", "1"));
    let (status, _) = send(&provider, post(&path, body, sig)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "the next genuine callback");

    let kinds = drain(&mut events);
    assert_eq!(
        kinds.iter().map(LegEventKind::name).collect::<Vec<_>>(),
        ["created", "ringing"]
    );
}

#[tokio::test]
async fn json_bodies_are_checked_against_body_sha256() {
    let provider = provider();
    let call_id = placed(&provider).await;
    let body = format!(r#"{{"CallSid": "{LEG}", "AnsweredBy": "human"}}"#);
    let hash = body_sha256_hex(body.as_bytes());
    let path = format!("/twilio/amd/{call_id}?bodySHA256={hash}");
    let sig = compute_signature(TOKEN, &format!("{PUBLIC}{path}"), &[]);
    let json = |b: String, s: &str| {
        Request::post(path.as_str())
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, s)
            .body(Body::from(b))
            .unwrap()
    };
    let tampered = body.replace("human", "machine_start");
    let (status, _) = send(&provider, json(tampered, &sig)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = send(&provider, json(body.clone(), &sig)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn voice_webhook_dials_the_customer_with_callbacks() {
    let provider = provider();
    let call_id = placed(&provider).await;
    let path = format!(
        "/twilio/voice/{call_id}?to=%2B15559870001&from=%2B15550001111&timeout=25&record=0&bridge=dial"
    );
    let (body, sig) = signed(&path, &status_params("in-progress", "2"));
    let (status, twiml) = send(&provider, post(&path, body, sig)).await;
    assert_eq!(status, StatusCode::OK);
    let nodes = hookflash_twilio::fake::parse_twiml(&twiml).unwrap();
    let dial = &nodes[0];
    assert_eq!(dial.name, "Dial");
    assert_eq!(dial.attr("callerId"), Some("+15550001111"));
    assert_eq!(dial.attr("timeout"), Some("25"));
    assert_eq!(
        dial.attr("action"),
        Some(format!("{PUBLIC}/twilio/dial-action/{call_id}?leg=agent").as_str())
    );
    let number = &dial.children[0];
    assert_eq!(number.name, "Number");
    assert_eq!(number.text, "+15559870001");
    assert_eq!(
        number.attr("statusCallbackEvent"),
        Some("initiated ringing answered completed")
    );
    assert_eq!(
        number.attr("statusCallback"),
        Some(format!("{PUBLIC}/twilio/status/{call_id}?leg=customer").as_str())
    );

    // The plan rides in the signed URL: changing it breaks the signature.
    let forged = path.replace("%2B15559870001", "%2B19005550000");
    let (body, sig) = signed(&path, &status_params("in-progress", "3"));
    let (status, _) = send(&provider, post(&forged, body, sig)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let provider = provider();
    let path = format!("/twilio/status/{}?leg=agent", CallId::new_random());
    let body = "x=".to_owned() + &"a".repeat(100 * 1024);
    let (status, _) = send(&provider, post(&path, body, Some("sig".to_owned()))).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_signed_callback_for_a_call_not_placed_starts_nothing() {
    let provider = provider();
    let mut events = provider.events();
    let call_id = CallId::new_random();
    let path = format!("/twilio/status/{call_id}?leg=agent");
    let (body, sig) = signed(&path, &status_params("ringing", "0"));
    let (status, _) = send(&provider, post(&path, body, sig)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "acknowledged");
    let path = format!("/twilio/voice/{call_id}?to=%2B15559870001&timeout=25&record=0&bridge=dial");
    let (body, sig) = signed(&path, &status_params("in-progress", "1"));
    let (status, twiml) = send(&provider, post(&path, body, sig)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(twiml.contains("<Hangup"), "{twiml}");
    assert!(drain(&mut events).is_empty(), "no leg of an unknown call");
}

#[tokio::test]
async fn two_accounts_share_one_router_and_callbacks_route_by_account_sid() {
    const SECOND: &str = "AC0000000000000000000000000000beef";
    const SECOND_TOKEN: &str = "second-token";
    let first = provider();
    let second = provider_for(SECOND, SECOND_TOKEN);
    let (mut first_events, mut second_events) = (first.events(), second.events());
    // Merging two single-account routers panics (the same routes twice); one router serves both.
    let app = webhook_router_for([first.webhook_state(), second.webhook_state()]);
    let call = placed(&second).await;
    let path = format!("/twilio/status/{call}?leg=agent");
    let mut params = status_params("ringing", "0");
    params.push(("AccountSid", SECOND.to_owned()));
    let pairs: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    let body = form_body(&pairs);
    let url = format!("{PUBLIC}{path}");

    // Signed with the first account's token but claiming the second: refused.
    let wrong = compute_signature(TOKEN, &url, &pairs);
    let resp = app
        .clone()
        .oneshot(post(&path, body.clone(), Some(wrong)))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    let right = compute_signature(SECOND_TOKEN, &url, &pairs);
    let resp = app
        .clone()
        .oneshot(post(&path, body, Some(right)))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        drain(&mut second_events)
            .iter()
            .map(LegEventKind::name)
            .collect::<Vec<_>>(),
        ["created", "ringing"],
        "the second account translated its own callback"
    );
    assert!(drain(&mut first_events).is_empty(), "the first saw nothing");

    // An AccountSid no account has, and none at all with two accounts: refused.
    for account in [Some("AC000000000000000000000000000000ff"), None] {
        let mut params = status_params("ringing", "1");
        if let Some(a) = account {
            params.push(("AccountSid", a.to_owned()));
        }
        let pairs: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        let sig = compute_signature(SECOND_TOKEN, &url, &pairs);
        let resp = app
            .clone()
            .oneshot(post(&path, form_body(&pairs), Some(sig)))
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{account:?}");
    }
}
