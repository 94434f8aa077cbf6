//! Call rows: writes and reads, listing filters and pagination, stats and live counts,
//! change notifications.

use std::time::Duration as StdDuration;

use chrono::Duration;
use futures::StreamExt;
use hookflash_store::*;

use crate::fixtures::{call_script, event, simple_call, t0, tenant};

pub(crate) async fn calls_write_and_read(store: Store) {
    let t = tenant(&store, "calls").await;
    let writes = call_script(t, t0(), 3);
    let stats = store.write_calls(&writes).await.unwrap();
    assert_eq!(
        stats,
        WriteStats {
            calls: 1,
            legs: 2,
            events: 9
        }
    );
    let id = writes[0].call.call_id();
    let detail = store.calls().get_detail(t, id).await.unwrap().unwrap();
    assert_eq!(detail.call, writes[2].call);
    assert_eq!(detail.legs.len(), 2);
    let customer = detail.legs.iter().find(|l| l.leg_id == "customer").unwrap();
    assert_eq!(customer.state, "down");
    assert_eq!(customer.hangup_cause_code, Some(16));
    assert_eq!(
        detail.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=9).collect::<Vec<_>>()
    );
    assert_eq!(detail.events[0].payload["kind"], "ringing");

    // Re-applying everything, one write at a time, changes nothing.
    for w in &writes {
        store.write_call(w).await.unwrap();
    }
    assert_eq!(
        store.calls().get_detail(t, id).await.unwrap().unwrap(),
        detail
    );

    // An older snapshot never overwrites a newer one.
    store.write_call(&writes[0]).await.unwrap();
    assert_eq!(
        store.calls().get(t, id).await.unwrap().unwrap().state,
        "ended"
    );

    // Wrap-up survives the tracker's next write.
    let wrapped = store
        .calls()
        .update_wrapup(t, id, Some("sale"), Some("wants gold"))
        .await
        .unwrap();
    assert_eq!(wrapped.wrapup_code.as_deref(), Some("sale"));
    let mut later = writes[2].clone();
    later.call.version = 4;
    later.call.recording_path = Some("/rec/x.wav".into());
    later.events = vec![event(&later.call, 10, "recording", t0())];
    store.write_call(&later).await.unwrap();
    let call = store.calls().get(t, id).await.unwrap().unwrap();
    assert_eq!(
        (call.wrapup_code.as_deref(), call.wrapup_notes.as_deref()),
        (Some("sale"), Some("wants gold"))
    );
    assert_eq!(call.recording_path.as_deref(), Some("/rec/x.wav"));
    assert_eq!(store.calls().events(t, id).await.unwrap().len(), 10);
    assert!(
        store
            .calls()
            .update_wrapup(t, CallId::new_random(), Some("x"), None)
            .await
            .unwrap_err()
            .is_not_found()
    );

    let linked = store
        .calls()
        .by_linkedid(t, writes[0].call.linkedid.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(linked.len(), 1);
}

pub(crate) async fn calls_list_filters_and_pagination(store: Store) {
    let t = tenant(&store, "list").await;
    let mut rows = Vec::new();
    for i in 0..25i64 {
        // Pairs share a creation time, so the id breaks ties in the keyset; times mix whole and
        // fractional seconds, which SQLite compares as RFC 3339 text.
        let mut c = simple_call(
            t,
            t0() + Duration::milliseconds((i / 2) * 1250) + Duration::nanoseconds(789),
            if i % 5 == 0 { "ringing" } else { "ended" },
            None,
        );
        c.direction = if i % 2 == 0 {
            "outbound".into()
        } else {
            "inbound".into()
        };
        c.agent_id = Some(format!("agent-{}", i % 3));
        c.campaign_id = (i % 4 == 0).then(|| "camp-1".to_owned());
        c.from_number = Some(format!("+1415555{:04}", i));
        c.to_number = Some("+14155559999".into());
        rows.push(c);
    }
    let writes: Vec<CallWrite> = rows.iter().cloned().map(CallWrite::call).collect();
    store.write_calls(&writes).await.unwrap();

    let mut expected = rows.clone();
    expected.sort_by_key(|c| std::cmp::Reverse((c.created_at, c.id)));
    let calls = store.calls();
    let mut seen = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = calls
            .list(t, &CallFilter::default(), cursor, 10)
            .await
            .unwrap();
        pages += 1;
        seen.extend(page.items.iter().map(|c| c.id));
        match page.next {
            Some(next) => cursor = Some(CallCursor::decode(&next.encode()).unwrap()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, expected.iter().map(|c| c.id).collect::<Vec<_>>());

    let count = |filter: CallFilter| {
        let calls = store.calls();
        async move { calls.list(t, &filter, None, 100).await.unwrap().items }
    };
    let ringing = count(CallFilter {
        state: Some("ringing".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(ringing.len(), 5);
    assert!(ringing.iter().all(|c| c.state == "ringing"));
    assert_eq!(
        count(CallFilter {
            direction: Some("inbound".into()),
            ..Default::default()
        })
        .await
        .len(),
        12
    );
    assert_eq!(
        count(CallFilter {
            agent_id: Some("agent-0".into()),
            ..Default::default()
        })
        .await
        .len(),
        9
    );
    assert_eq!(
        count(CallFilter {
            campaign_id: Some("camp-1".into()),
            ..Default::default()
        })
        .await
        .len(),
        7
    );
    let by_number = count(CallFilter {
        number: Some("+14155550007".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(by_number.len(), 1);
    assert_eq!(by_number[0].id, rows[7].id);
    assert_eq!(
        count(CallFilter {
            number: Some("+14155559999".into()),
            ..Default::default()
        })
        .await
        .len(),
        25
    );
    let window = CallFilter {
        since: Some(t0() + Duration::seconds(2)),
        until: Some(t0() + Duration::seconds(4)),
        ..Default::default()
    };
    assert_eq!(count(window).await.len(), 4);
    let combined = CallFilter {
        state: Some("ended".into()),
        direction: Some("outbound".into()),
        agent_id: Some("agent-1".into()),
        ..Default::default()
    };
    let got = count(combined).await;
    let want = rows
        .iter()
        .filter(|c| {
            c.state == "ended"
                && c.direction == "outbound"
                && c.agent_id.as_deref() == Some("agent-1")
        })
        .count();
    assert_eq!(got.len(), want);

    // A filtered listing paginates too.
    let filter = CallFilter {
        direction: Some("outbound".into()),
        ..Default::default()
    };
    let first = calls.list(t, &filter, None, 5).await.unwrap();
    let second = calls.list(t, &filter, first.next, 5).await.unwrap();
    let third = calls.list(t, &filter, second.next, 5).await.unwrap();
    assert_eq!(
        first.items.len() + second.items.len() + third.items.len(),
        13
    );
    assert!(third.next.is_none());
}

pub(crate) async fn calls_stats_and_live_counts(store: Store) {
    let t = tenant(&store, "stats").await;
    let mut rows = Vec::new();
    let answered = |i: i64, ring: i64, talk: i64| {
        let mut c = simple_call(t, t0() + Duration::minutes(i), "ended", Some("answered"));
        c.answered_at = Some(c.created_at + Duration::seconds(ring));
        c.ended_at = Some(c.created_at + Duration::seconds(ring + talk));
        c.ring_seconds = Some(ring);
        c.talk_seconds = Some(talk);
        c.campaign_id = Some("camp".into());
        c
    };
    rows.push(answered(0, 4, 60));
    rows.push(answered(1, 6, 120));
    let mut no_answer = simple_call(t, t0() + Duration::minutes(2), "ended", Some("no_answer"));
    no_answer.ring_seconds = Some(30);
    no_answer.ended_at = Some(no_answer.created_at + Duration::seconds(30));
    rows.push(no_answer);
    let mut abandoned = simple_call(t, t0() + Duration::minutes(3), "ended", Some("abandoned"));
    abandoned.ring_seconds = Some(8);
    abandoned.ended_at = Some(abandoned.created_at + Duration::seconds(10));
    abandoned.campaign_id = Some("camp".into());
    rows.push(abandoned);
    rows.push(simple_call(t, t0() + Duration::minutes(4), "ringing", None));
    rows.push(simple_call(
        t,
        t0() + Duration::minutes(5),
        "answered",
        None,
    ));
    rows.push(simple_call(t, t0() + Duration::minutes(6), "ringing", None));
    // Outside the range.
    rows.push(answered(120, 1, 1));
    store
        .write_calls(&rows.into_iter().map(CallWrite::call).collect::<Vec<_>>())
        .await
        .unwrap();

    let q = StatsQuery {
        since: t0(),
        until: t0() + Duration::hours(1),
        campaign_id: None,
        agent_id: None,
    };
    let s = store.calls().stats(t, &q).await.unwrap();
    assert_eq!((s.total, s.answered, s.abandoned), (7, 2, 1));
    assert!((s.answer_rate - 2.0 / 7.0).abs() < 1e-9, "{s:?}");
    assert!((s.abandon_rate - 1.0 / 3.0).abs() < 1e-9, "{s:?}");
    assert!((s.avg_ring_seconds.unwrap() - 12.0).abs() < 1e-9, "{s:?}");
    assert!((s.avg_talk_seconds.unwrap() - 90.0).abs() < 1e-9, "{s:?}");
    let want: Vec<(Option<String>, i64)> = vec![
        (None, 3),
        (Some("abandoned".into()), 1),
        (Some("answered".into()), 2),
        (Some("no_answer".into()), 1),
    ];
    assert_eq!(s.by_disposition, want);

    let camp = StatsQuery {
        campaign_id: Some("camp".into()),
        ..q.clone()
    };
    let s = store.calls().stats(t, &camp).await.unwrap();
    assert_eq!((s.total, s.answered, s.abandoned), (3, 2, 1));

    let empty = StatsQuery {
        since: t0() - Duration::days(2),
        until: t0() - Duration::days(1),
        ..q
    };
    let s = store.calls().stats(t, &empty).await.unwrap();
    assert_eq!((s.total, s.answer_rate, s.avg_ring_seconds), (0, 0.0, None));
    assert!(s.by_disposition.is_empty());

    let live = store.calls().live_counts(t).await.unwrap();
    assert_eq!(
        live,
        vec![("answered".to_owned(), 1), ("ringing".to_owned(), 2)]
    );
}

pub(crate) async fn notify_and_listen(store: Store) {
    match store.dialect() {
        Dialect::Sqlite => {
            assert!(matches!(
                store.notify("calls", "x").await,
                Err(StoreError::PostgresOnly(_))
            ));
            assert!(matches!(
                store.listen(&["calls"]).await,
                Err(StoreError::PostgresOnly(_))
            ));
        }
        Dialect::Postgres => {
            let mut stream = store.listen(&["hf_calls", "hf_agents"]).await.unwrap();
            store.notify("hf_calls", "{\"call\":1}").await.unwrap();
            store.notify("hf_other", "ignored").await.unwrap();
            store.notify("hf_agents", "a").await.unwrap();
            let first = tokio::time::timeout(StdDuration::from_secs(10), stream.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            assert_eq!(
                first,
                Notification {
                    channel: "hf_calls".into(),
                    payload: "{\"call\":1}".into()
                }
            );
            let second = tokio::time::timeout(StdDuration::from_secs(10), stream.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            assert_eq!(
                second,
                Notification {
                    channel: "hf_agents".into(),
                    payload: "a".into()
                }
            );
        }
    }
}
