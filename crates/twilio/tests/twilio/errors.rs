//! Twilio's error JSON, retries of 429/5xx, and outbound pacing.

use std::time::Duration;

use hookflash_provider::{CallProvider, LegId, ProviderError};
use hookflash_twilio::fake::InjectedFailure;
use hookflash_twilio::{BridgeMode, RetryPolicy, TwilioError};

use crate::support::Rig;

#[tokio::test]
async fn unknown_call_is_not_found_with_twilios_code() {
    let rig = Rig::start(BridgeMode::Dial).await;
    let err = rig
        .provider
        .hangup(
            &LegId::new("CA0000000000000000000000000000beef").unwrap(),
            None,
        )
        .await
        .unwrap_err();
    match err {
        ProviderError::NotFound { what } => {
            assert!(what.contains("20404"), "{what}");
            assert!(what.contains("was not found"), "{what}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn rejected_request_keeps_code_message_and_link() {
    let rig = Rig::start(BridgeMode::Dial).await;
    // A CreateCall without `To`, straight through the REST client.
    let form: hookflash_twilio::Form = vec![
        ("From", "+15550001111".to_owned()),
        ("Url", "https://example.com/voice".to_owned()),
    ];
    let err = rig.provider.api().create_call(&form).await.unwrap_err();
    assert_eq!(err.api_code(), Some(21201));
    assert_eq!(err.http_status(), Some(400));
    match ProviderError::from(err) {
        ProviderError::Rejected { reason } => {
            assert!(reason.contains("21201"), "{reason}");
            assert!(reason.contains("No 'To' number is specified"), "{reason}");
            assert!(
                reason.contains("https://www.twilio.com/docs/errors/21201"),
                "{reason}"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn wrong_credentials_are_an_auth_error() {
    let fake = hookflash_twilio::fake::FakeTwilio::start(crate::support::ACCOUNT, "other-token")
        .await
        .unwrap();
    let config = crate::support::config("https://hooks.example.com", &fake.base_url());
    let provider = hookflash_twilio::TwilioProvider::new(config).unwrap();
    let mut rig_req = hookflash_provider::OriginateRequest::new(
        hookflash_provider::CallId::new_random(),
        hookflash_provider::TenantId::new_random(),
        "client:alice",
        "+15559870001",
    );
    rig_req.caller_id = Some("+15550001111".to_owned());
    let err = provider.originate(rig_req).await.unwrap_err();
    assert!(
        matches!(err, ProviderError::Auth { ref message } if message.contains("20003")),
        "{err:?}"
    );
}

#[tokio::test]
async fn throttled_create_call_is_retried_after_retry_after() {
    let mut rig = Rig::start(BridgeMode::Dial).await;
    rig.fake.inject_failures([InjectedFailure {
        status: 429,
        code: 20429,
        retry_after: Some(1),
    }]);
    rig.originate().await;
    rig.connected().await;
    let creates: Vec<u16> = rig
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/Calls.json"))
        .map(|r| r.status)
        .collect();
    assert_eq!(creates, [429, 201]);
    let gap = {
        let reqs = rig.fake.requests();
        reqs[1].at.duration_since(reqs[0].at)
    };
    // Retry-After: 1 was honoured (a lower bound: the client may only be slower).
    assert!(gap >= Duration::from_millis(950), "{gap:?}");
}

#[tokio::test]
async fn server_errors_are_retried_a_bounded_number_of_times() {
    let rig = Rig::start(BridgeMode::Dial).await;
    rig.fake.inject_failures((0..3).map(|_| InjectedFailure {
        status: 503,
        code: 20503,
        retry_after: None,
    }));
    let err = rig
        .provider
        .hangup(
            &LegId::new("CA0000000000000000000000000000beef").unwrap(),
            None,
        )
        .await
        .unwrap_err();
    // Three attempts (the policy's maximum), all 503: the last error is reported.
    assert!(
        matches!(&err, ProviderError::Rejected { reason } if reason.contains("503")),
        "{err:?}"
    );
    assert_eq!(rig.fake.requests().len(), 3);
    // The next request goes through again.
    let err = rig
        .provider
        .hangup(
            &LegId::new("CA0000000000000000000000000000beef").unwrap(),
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::NotFound { .. }));
}

#[tokio::test]
async fn create_calls_are_paced_not_fired_and_failed() {
    let cps = 5.0;
    let rig = Rig::with_config(|c| {
        c.with_calls_per_second(cps).with_retry(RetryPolicy {
            max_attempts: 1,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(10),
        })
    })
    .await;
    // The slots themselves are checked on tokio's paused clock (`pacing.rs`): comparing the
    // provider's clock with the fake's arrival times raced on a loaded machine. Here: with
    // retries off, four concurrent originates all go through the pacer and succeed, and the
    // last cannot start before three intervals have passed (a lower bound sleeps guarantee,
    // whatever the load).
    let started = std::time::Instant::now();
    let calls = (0..4).map(|_| {
        let provider = rig.provider.clone();
        let req = rig.request(hookflash_provider::CallId::new_random());
        async move { provider.originate(req).await }
    });
    for result in futures::future::join_all(calls).await {
        result.unwrap();
    }
    assert!(started.elapsed() >= Duration::from_secs_f64(3.0 / cps));
    let creates: Vec<_> = rig
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/Calls.json"))
        .collect();
    assert_eq!(creates.len(), 4);
    assert!(creates.iter().all(|r| r.status == 201));
    rig.fake.settle().await;
}

#[test]
fn error_display_is_useful() {
    let err = TwilioError::Api {
        status: 400,
        body: hookflash_twilio::ApiErrorBody {
            code: Some(21201),
            message: "No 'To' number is specified".to_owned(),
            more_info: None,
            status: Some(400),
        },
    };
    assert_eq!(
        err.to_string(),
        "Twilio answered HTTP 400 (code 21201): No 'To' number is specified"
    );
}

#[tokio::test]
async fn a_slow_subscriber_is_told_it_lagged() {
    use futures::StreamExt as _;
    let rig = Rig::with_config(|mut c| {
        c.event_capacity = 4;
        c
    })
    .await;
    let mut slow = rig.provider.events();
    let call_id = hookflash_provider::CallId::new_random();
    rig.provider.originate(rig.request(call_id)).await.unwrap();
    // Every callback is handled (and its events published) before the fake's step ends.
    rig.fake.settle().await;
    match slow.next().await {
        Some(hookflash_provider::ProviderEvent::Lagged { missed }) => assert!(missed > 0),
        other => panic!("expected Lagged, got {other:?}"),
    }
    // After the report, the subscriber continues with the events still buffered.
    assert!(matches!(
        slow.next().await,
        Some(hookflash_provider::ProviderEvent::Leg(_))
    ));
}

#[tokio::test]
async fn no_answer_from_twilio_is_a_timeout() {
    // A peer that accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let mut config = crate::support::config("https://hooks.example.com", &base);
    config.request_timeout = Duration::from_millis(200);
    let provider = hookflash_twilio::TwilioProvider::new(config).unwrap();
    let err = provider
        .hangup(
            &LegId::new("CA0000000000000000000000000000beef").unwrap(),
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Timeout { .. }), "{err:?}");
    assert!(err.is_transient());
    hold.abort();
}
