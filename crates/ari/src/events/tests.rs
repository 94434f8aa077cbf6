use super::*;

#[test]
fn events_stay_small_and_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Event>();
    send_sync::<crate::Client>();
    fn send<T: Send>() {}
    send::<EventStream>();
    send::<Subscription>();
    assert!(
        std::mem::size_of::<Event>() <= 40,
        "{}",
        std::mem::size_of::<Event>()
    );
    assert!(
        std::mem::size_of::<StreamEvent>() <= 128,
        "{}",
        std::mem::size_of::<StreamEvent>()
    );
}

#[test]
fn base64_matches_rfc4648() {
    assert_eq!(base64(b""), "");
    assert_eq!(base64(b"f"), "Zg==");
    assert_eq!(base64(b"fo"), "Zm8=");
    assert_eq!(base64(b"foo"), "Zm9v");
    assert_eq!(base64(b"ari:aripass"), "YXJpOmFyaXBhc3M=");
}

#[test]
fn backoff_grows_with_jitter_and_caps() {
    let b = Backoff {
        initial: Duration::from_millis(100),
        max: Duration::from_secs(1),
    };
    let mut rng = rand::rng();
    for attempt in 1..20 {
        let d = b.delay(attempt, &mut rng);
        let full = (Duration::from_millis(100) * (1u32 << (attempt - 1).min(16))).min(b.max);
        assert!(
            d >= full / 2 && d <= full,
            "attempt {attempt}: {d:?} vs {full:?}"
        );
    }
}

#[test]
fn unknown_type_is_kept_raw_and_bad_body_is_malformed() {
    match decode(r#"{"type":"FutureThing","x":1}"#.to_owned()) {
        StreamEvent::Event(e) => {
            assert!(matches!(e, Event::Unknown(_)));
            assert_eq!(e.type_name(), "FutureThing");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        decode(r#"{"type":"StasisStart","application":"a"}"#.to_owned()),
        StreamEvent::Malformed { .. }
    ));
    assert!(matches!(
        decode("not json".to_owned()),
        StreamEvent::Malformed { .. }
    ));
}

#[test]
fn websocket_url_carries_apps_and_api_key() {
    let c = Client::builder("https://pbx.example:8089/", "u", "p")
        .api_key()
        .build()
        .unwrap();
    let t = Target::new(&c, &["a".to_owned(), "b".to_owned()], true).unwrap();
    assert_eq!(
        t.url,
        "wss://pbx.example:8089/ari/events?app=a%2Cb&subscribeAll=true&api_key=u%3Ap"
    );
    assert!(!format!("{t:?}").contains("u%3Ap"));
}
