//! The pipeline under the recorded load (`ami/load`: 300 agent-first calls, 26 689 AMI
//! events) with every buffer at its smallest: the mock AMI replays the transcript through
//! `AmiProvider` into the `Listener` and a SQLite store. Zero lost (every originated call has
//! a row), zero stuck (every row ended), zero phantom (no other row), zero lag episodes.
//! Prints the figures. Ignored by default (tens of seconds on a busy machine):
//!
//! ```text
//! cargo nextest run -p hookflash-api --test pipeline_load --run-ignored all --no-capture
//! ```

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use hookflash_ami::mock::{MockServer, Transcript};
use hookflash_ami::{AmiConfig, ReconnectPolicy};
use hookflash_asterisk::{AmiProvider, AmiProviderConfig};
use hookflash_pipeline::bus::{EventBus, Publisher};
use hookflash_pipeline::listener::{Listener, ListenerConfig, Source};
use hookflash_provider::{CallId, CallProvider, OriginateRequest, TenantId};
use hookflash_store::{CallFilter, CallRow, Store};

fn transcript() -> Transcript {
    let dir = hookflash_testkit::fixtures_dir().join("ami");
    Transcript::from_file(dir.join("load.jsonl")).expect("the load transcript")
}

async fn rows(store: &Store, tenant: TenantId) -> Vec<CallRow> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .calls()
            .list(tenant, &CallFilter::default(), after, 500)
            .await
            .unwrap();
        out.extend(page.items);
        match page.next {
            Some(n) => after = Some(n),
            None => return out,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "load: run with --run-ignored all"]
async fn the_recorded_load_loses_nothing_and_leaves_nothing_open() {
    let t = transcript();
    let originates: Vec<OriginateRequest> = t
        .sends()
        .iter()
        .filter(|m| m.get_str("Action") == Some("Originate"))
        .map(|m| {
            let id: CallId = m
                .get_all("Variable")
                .filter_map(|v| {
                    let v = v.to_str_lossy().into_owned();
                    v.strip_prefix("HOOKFLASH_CALL_ID=").map(str::to_owned)
                })
                .next()
                .expect("a call id")
                .parse()
                .unwrap();
            OriginateRequest::new(
                id,
                TenantId::new_random(),
                m.get_str("Channel").unwrap(),
                m.get_str("Exten").unwrap(),
            )
        })
        .collect();
    assert_eq!(originates.len(), 300);
    let ids: BTreeSet<uuid::Uuid> = originates.iter().map(|r| *r.call_id.as_uuid()).collect();

    let dir = std::env::temp_dir().join(format!("hookflash-load-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::connect(&format!("sqlite://{}/l.db?mode=rwc", dir.display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store.tenants().create("Default", "default").await.unwrap();
    let tenant = store
        .tenants()
        .get_by_slug("default")
        .await
        .unwrap()
        .unwrap()
        .tenant_id();

    let mock = MockServer::start(vec![t]).await.unwrap();
    let mut ami = AmiConfig::new("127.0.0.1", mock.addr().port(), "ami", "amipass");
    ami.keepalive = None;
    ami.action_timeout = Duration::from_secs(300);
    ami.reconnect = ReconnectPolicy {
        enabled: false,
        ..ReconnectPolicy::default()
    };
    // Every queue as small as it goes: only backpressure keeps events from being lost.
    ami.event_buffer = 1;
    let mut config = AmiProviderConfig::new(ami);
    config.event_buffer = 1;
    let provider = AmiProvider::connect(config).await.unwrap();
    let source = Source::new("pbx1", "ami", std::sync::Arc::new(provider.clone()));
    let bus = EventBus::new(16);
    let started = Instant::now();
    let listener = Listener::start(
        store.clone(),
        vec![source],
        Publisher::Local(bus),
        ListenerConfig::default(),
    );
    for request in originates {
        provider.originate(request).await.unwrap();
    }
    provider.sync().await.unwrap();
    // Every event is in the pipeline once the provider synced; the calls end as the last
    // hangups are applied and the tracker's reorder window passes.
    let mut open = usize::MAX;
    for _ in 0..600 {
        listener.flush().await.unwrap();
        let all = rows(&store, tenant).await;
        open = all.iter().filter(|r| r.state != "ended").count();
        if all.len() >= ids.len() && open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let elapsed = started.elapsed();
    let metrics = listener.metrics().render();
    listener.shutdown().await.unwrap();
    let all = rows(&store, tenant).await;
    let found: BTreeSet<uuid::Uuid> = all.iter().map(|r| r.id).collect();
    let lost = ids.difference(&found).count();
    let phantom = found.difference(&ids).count();
    let stuck = all.iter().filter(|r| r.state != "ended").count();
    println!(
        "load: 300 calls, 26689 AMI events through 1-event buffers in {elapsed:.2?} \
         ({:.0} events/s): lost {lost}, stuck {stuck}, phantom {phantom}",
        26_689.0 / elapsed.as_secs_f64()
    );
    println!("{metrics}");
    assert_eq!(lost, 0);
    assert_eq!(stuck, 0, "{open} open");
    assert_eq!(phantom, 0);
    assert!(
        metrics.contains("hookflash_listener_lagged_events_total 0"),
        "{metrics}"
    );
}
