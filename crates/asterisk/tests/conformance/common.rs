//! Shared by the AMI and ARI halves of the suite: fixtures, the tracker fed by a provider's
//! event stream, and the comparison with expected.json.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use hookflash_calls::expect;
use hookflash_calls::{CallRecord, CallState, Tracker, TrackerConfig};
use hookflash_provider::{LegEventStream, ProviderEvent};
use serde_json::Value;

/// The fixtures directory and its expected.json.
#[derive(Debug, Clone)]
pub(crate) struct Fixtures {
    /// `HOOKFLASH_FIXTURES_DIR`, else the project's `testdata/asterisk-22`.
    pub(crate) dir: PathBuf,
    /// The parsed expected.json.
    pub(crate) expected: Value,
}

impl Fixtures {
    pub(crate) fn load() -> Result<Self, String> {
        let dir = expect::fixtures_dir();
        let expected = expect::load_expected(&dir).map_err(|e| e.to_string())?;
        Ok(Self { dir, expected })
    }

    /// The scenarios of one protocol (`ami` or `ari`), in expected.json order.
    pub(crate) fn scenarios(&self, group: &str) -> Vec<(String, Value)> {
        self.expected
            .get(group)
            .and_then(Value::as_object)
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }
}

/// A multi-thread runtime for one trial.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

/// What a provider's event stream did to a tracker.
#[derive(Debug, Default)]
pub(crate) struct Fed {
    pub(crate) tracker: Option<Tracker>,
    pub(crate) last_at: Option<DateTime<Utc>>,
    pub(crate) resyncs: usize,
    pub(crate) disconnects: usize,
    pub(crate) lagged: u64,
    pub(crate) events: usize,
}

/// A tracker shared between the stream consumer and the test driver.
pub(crate) type Shared = Arc<Mutex<Fed>>;

pub(crate) fn shared() -> Shared {
    Arc::new(Mutex::new(Fed {
        tracker: Some(Tracker::new(TrackerConfig::default())),
        ..Fed::default()
    }))
}

/// Feeds every provider event to the tracker until the stream ends.
pub(crate) async fn consume(mut stream: LegEventStream, fed: Shared) {
    while let Some(item) = stream.next().await {
        let mut f = fed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match item {
            ProviderEvent::Leg(ev) => {
                f.events += 1;
                f.last_at = Some(f.last_at.map_or(ev.at, |t| t.max(ev.at)));
                if let Some(t) = f.tracker.as_mut() {
                    t.apply(&ev, ev.at);
                }
            }
            ProviderEvent::Resynced { legs } => {
                let now = f.last_at.unwrap_or_else(Utc::now);
                if let Some(t) = f.tracker.as_mut() {
                    t.merge_snapshot(&legs, now);
                }
                f.resyncs += 1;
            }
            ProviderEvent::Disconnected { .. } => f.disconnects += 1,
            ProviderEvent::Lagged { missed } => f.lagged += missed,
            _ => {}
        }
    }
}

/// The records held, and how many are not ended.
pub(crate) fn records(fed: &Shared) -> (Vec<CallRecord>, usize) {
    let f = fed
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let records: Vec<CallRecord> = f
        .tracker
        .as_ref()
        .map(|t| t.calls().cloned().collect())
        .unwrap_or_default();
    let open = records
        .iter()
        .filter(|r| r.state != CallState::Ended)
        .count();
    (records, open)
}

/// Compares the records with a scenario of expected.json: its calls field by field, and its
/// summary when it has one. `Err` lists every mismatch.
pub(crate) fn compare(scenario: &Value, records: &[CallRecord], open: usize) -> Result<(), String> {
    let mut mismatches = expect::check_calls(expect::scenario_calls(scenario), records);
    if let Some(summary) = scenario.get("summary") {
        mismatches.extend(expect::check_summary(summary, records, open));
    }
    if mismatches.is_empty() {
        return Ok(());
    }
    if let Ok(id) = std::env::var("HOOKFLASH_DEBUG_CALL") {
        for r in records.iter().filter(|r| r.call_id.to_string() == id) {
            for e in &r.timeline {
                eprintln!("{} {:?} {} {:?}", e.at, e.leg, e.event, e.detail);
            }
        }
    }
    let mut msg = format!("{} mismatch(es):\n", mismatches.len());
    for m in mismatches.iter().take(40) {
        msg.push_str(&format!("  {m}\n"));
    }
    Err(msg)
}
