//! A provider, its webhook router on loopback and a fake Twilio, wired like production.

use std::time::Duration;

use futures::StreamExt as _;
use hookflash_provider::{
    CallId, CallProvider, LegEvent, LegEventKind, LegEventStream, OriginateRequest, ProviderEvent,
    TenantId,
};
use hookflash_twilio::fake::FakeTwilio;
use hookflash_twilio::{BridgeMode, RetryPolicy, TwilioConfig, TwilioProvider, webhook_router};
use tokio::task::JoinHandle;

pub(crate) const ACCOUNT: &str = "ACfeedface0000000000000000000000ff";
pub(crate) const TOKEN: &str = "test-auth-token-0123456789";
pub(crate) const AGENT: &str = "client:alice";
pub(crate) const CUSTOMER: &str = "+15559870001";
pub(crate) const CALLER_ID: &str = "+15550001111";

/// How long a test waits for an event before it gives up (a hang guard, not a timing check).
const PATIENCE: Duration = Duration::from_secs(20);

pub(crate) struct Rig {
    pub(crate) fake: FakeTwilio,
    pub(crate) provider: TwilioProvider,
    pub(crate) events: LegEventStream,
    pub(crate) public_url: String,
    pub(crate) seen: Vec<LegEvent>,
    server: JoinHandle<()>,
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub(crate) fn config(public_url: &str, api_base: &str) -> TwilioConfig {
    TwilioConfig::new(ACCOUNT, TOKEN, public_url)
        .unwrap()
        .with_api_base(api_base)
        .with_agent_caller_id(CALLER_ID)
        .with_calls_per_second(200.0)
        .with_retry(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_secs(2),
        })
}

impl Rig {
    pub(crate) async fn start(bridge: BridgeMode) -> Self {
        Self::with_config(|c| c.with_bridge(bridge)).await
    }

    pub(crate) async fn with_config(adjust: impl FnOnce(TwilioConfig) -> TwilioConfig) -> Self {
        let fake = FakeTwilio::start(ACCOUNT, TOKEN).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let public_url = format!("http://{}", listener.local_addr().unwrap());
        let provider = TwilioProvider::new(adjust(config(&public_url, &fake.base_url()))).unwrap();
        let app = webhook_router(provider.webhook_state());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        let events = provider.events();
        Self {
            fake,
            provider,
            events,
            public_url,
            seen: Vec::new(),
            server,
        }
    }

    pub(crate) fn request(&self, call_id: CallId) -> OriginateRequest {
        let mut req = OriginateRequest::new(call_id, TenantId::new_random(), AGENT, CUSTOMER);
        req.caller_id = Some(CALLER_ID.to_owned());
        req
    }

    /// Places a call and returns its id.
    pub(crate) async fn originate(&mut self) -> CallId {
        let call_id = CallId::new_random();
        self.provider
            .originate(self.request(call_id))
            .await
            .unwrap();
        call_id
    }

    /// Waits for the first event matching `pred` (keeping every event seen on the way).
    pub(crate) async fn wait_for(
        &mut self,
        what: &str,
        pred: impl Fn(&LegEvent) -> bool,
    ) -> LegEvent {
        if let Some(found) = self.seen.iter().find(|e| pred(e)) {
            return found.clone();
        }
        loop {
            let next = tokio::time::timeout(PATIENCE, self.events.next())
                .await
                .unwrap_or_else(|_| panic!("no {what} event; saw {:#?}", self.summary()));
            match next {
                Some(ProviderEvent::Leg(event)) => {
                    self.seen.push(event.clone());
                    if pred(&event) {
                        return event;
                    }
                }
                Some(other) => panic!("unexpected provider event {other:?}"),
                None => panic!("event stream ended"),
            }
        }
    }

    /// Waits until the fake has nothing left to do, then takes every event published so far.
    pub(crate) async fn settle(&mut self) -> &[LegEvent] {
        // Webhook handlers may start REST requests of their own (a conference participant), so
        // the fake must stay idle for a moment before it counts as settled.
        for _ in 0..3 {
            self.fake.settle().await;
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        self.fake.settle().await;
        while let Some(Some(event)) = futures::FutureExt::now_or_never(self.events.next()) {
            match event {
                ProviderEvent::Leg(e) => self.seen.push(e),
                other => panic!("unexpected provider event {other:?}"),
            }
        }
        &self.seen
    }

    /// The call's record after every event seen went through the call tracker (and the
    /// tracker's reorder window has passed), as the api-server would keep it.
    pub(crate) fn record(&self, call_id: CallId) -> hookflash_calls::CallRecord {
        use hookflash_calls::{Tracker, TrackerConfig};
        let mut tracker = Tracker::new(TrackerConfig::default());
        let first = self.seen.first().map_or_else(chrono::Utc::now, |e| e.at);
        tracker.register_originate(
            call_id,
            TenantId::new_random(),
            AGENT,
            CUSTOMER,
            first - chrono::TimeDelta::seconds(1),
        );
        let mut last = first;
        for event in &self.seen {
            last = last.max(event.at);
            tracker.apply(event, event.at);
        }
        tracker.expire(last + chrono::TimeDelta::seconds(30));
        tracker
            .call(&call_id)
            .cloned()
            .unwrap_or_else(|| panic!("no record for {call_id}; saw {:#?}", self.summary()))
    }

    pub(crate) fn summary(&self) -> Vec<String> {
        self.seen
            .iter()
            .map(|e| format!("{} {:?}", e.leg, e.kind))
            .collect()
    }

    /// The legs of the fake's calls: (agent, customer) for a plain call.
    pub(crate) fn leg_sids(&self) -> Vec<String> {
        self.fake.calls().into_iter().map(|c| c.sid).collect()
    }

    /// Waits for the customer leg to be answered and returns (agent sid, customer sid).
    pub(crate) async fn connected(&mut self) -> (String, String) {
        let answered = self
            .wait_for("customer answered", |e| {
                matches!(
                    &e.kind,
                    LegEventKind::DialResult {
                        status: hookflash_provider::DialOutcome::Answer,
                        ..
                    }
                )
            })
            .await;
        let agent = answered.keys.linkedid.clone().unwrap();
        (agent, answered.leg.to_string())
    }

    pub(crate) fn kinds_of(&self, sid: &str) -> Vec<&'static str> {
        self.seen
            .iter()
            .filter(|e| e.leg.as_str() == sid)
            .map(|e| e.kind.name())
            .collect()
    }

    pub(crate) fn hung_up(&self, sid: &str) -> Option<(u16, hookflash_provider::HangupSide)> {
        self.seen.iter().find_map(|e| match &e.kind {
            LegEventKind::HungUp { cause, side } if e.leg.as_str() == sid => {
                Some((cause.code, *side))
            }
            _ => None,
        })
    }
}
