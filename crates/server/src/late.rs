//! A PBX that could not be reached at start: the binaries start anyway and connect it in the
//! background, with backoff.
//!
//! [`spawn`] returns a provider and a probe that stand in for the real ones from the start:
//! until the server is connected, every command fails with
//! [`ProviderError::NotConnected`] (the API answers 503 naming the server), the probe says
//! "not connected" (so `/readyz` and `GET /servers` report it down), and the event stream
//! starts with [`ProviderEvent::Disconnected`]. Once a connect attempt succeeds, commands go
//! to the real provider, and the stream continues with [`ProviderEvent::Resynced`] (the legs
//! live on the server then) followed by the real provider's events. From then on the real
//! provider's own reconnect logic takes over.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use hookflash_provider::{
    AttendedTransferRequest, BlindTransferRequest, CallProvider, Capabilities, HangupCause,
    HangupRequester, LegEventStream, LegId, LegSnapshot, MediaDirection, OriginateRequest,
    ParkRequest, ParkedCall, PickupRequest, ProbeReport, ProviderError, ProviderEvent,
    RecordingRequest, ServerProbe, TransferId,
};
use tokio::sync::watch;

/// A connected server: what [`spawn`]'s connect function yields.
#[derive(Clone)]
pub(crate) struct Link {
    /// Call control and events.
    pub(crate) provider: Arc<dyn CallProvider>,
    /// The round-trip check for `/readyz` and `GET /servers`.
    pub(crate) probe: Arc<dyn ServerProbe>,
}

/// Exponential backoff between connect attempts: `initial`, doubling up to `max`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Backoff {
    /// The first wait.
    pub(crate) initial: Duration,
    /// The longest wait.
    pub(crate) max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(30),
        }
    }
}

/// Starts connecting `name` in the background with `connect`, retried after each failure
/// with `backoff`, and returns the stand-ins. The task ends once connected, or when every
/// stand-in is gone.
pub(crate) fn spawn<F, Fut>(
    name: String,
    backoff: Backoff,
    connect: F,
) -> (Arc<LateProvider>, Arc<LateProbe>)
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = crate::error::Result<Link>> + Send,
{
    let (tx, rx) = watch::channel(None);
    let task_name = name.clone();
    tokio::spawn(async move {
        let mut wait = backoff.initial;
        let mut attempt = 1u32;
        loop {
            tokio::select! {
                () = tx.closed() => return,
                () = tokio::time::sleep(wait) => {}
            }
            attempt = attempt.saturating_add(1);
            match connect().await {
                Ok(link) => {
                    tracing::info!(server = %task_name, attempt, "connected");
                    let _ = tx.send(Some(link));
                    return;
                }
                Err(e) => {
                    tracing::warn!(server = %task_name, attempt, error = %crate::connect::chain(&e),
                        retry_in = ?wait, "still not connected");
                }
            }
            wait = wait.saturating_mul(2).min(backoff.max);
        }
    });
    let provider = Arc::new(LateProvider {
        name: name.clone(),
        slot: rx.clone(),
    });
    let probe = Arc::new(LateProbe { name, slot: rx });
    (provider, probe)
}

/// The provider of a server that may not be connected yet (see the module docs).
#[derive(Debug)]
pub(crate) struct LateProvider {
    name: String,
    slot: watch::Receiver<Option<Link>>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link").finish_non_exhaustive()
    }
}

impl LateProvider {
    fn current(&self) -> Result<Arc<dyn CallProvider>, ProviderError> {
        self.slot
            .borrow()
            .as_ref()
            .map(|l| Arc::clone(&l.provider))
            .ok_or_else(|| ProviderError::NotConnected {
                provider: self.name.clone(),
            })
    }

    /// The real provider's stream once it is there, announced as described in the module docs.
    fn stream(&self, open: fn(&dyn CallProvider) -> LegEventStream) -> LegEventStream {
        if let Ok(p) = self.current() {
            return open(&*p);
        }
        let mut slot = self.slot.clone();
        let name = self.name.clone();
        let down = ProviderEvent::Disconnected {
            reason: format!("{name} is not connected yet"),
        };
        let rest = futures::stream::once(async move {
            let link = loop {
                if let Some(l) = slot.borrow_and_update().clone() {
                    break Some(l);
                }
                if slot.changed().await.is_err() {
                    break None;
                }
            };
            let Some(link) = link else {
                return futures::stream::empty().boxed();
            };
            let events = open(&*link.provider);
            match link.provider.snapshot().await {
                Ok(legs) => futures::stream::iter([ProviderEvent::Resynced { legs }])
                    .chain(events)
                    .boxed(),
                Err(e) => {
                    // No list to merge: the next reconnect of the real provider resyncs.
                    tracing::warn!(server = %name, error = %e, "no live legs after connecting");
                    events
                }
            }
        })
        .flatten();
        Box::pin(futures::stream::iter([down]).chain(rest))
    }
}

#[async_trait]
impl CallProvider for LateProvider {
    fn capabilities(&self) -> Capabilities {
        // Unknown until connected; every command says NotConnected meanwhile anyway.
        self.current().map(|p| p.capabilities()).unwrap_or_default()
    }

    async fn originate(&self, request: OriginateRequest) -> Result<(), ProviderError> {
        self.current()?.originate(request).await
    }

    async fn hangup(&self, leg: &LegId, cause: Option<HangupCause>) -> Result<(), ProviderError> {
        self.current()?.hangup(leg, cause).await
    }

    async fn hangup_for(
        &self,
        leg: &LegId,
        cause: Option<HangupCause>,
        by: HangupRequester,
    ) -> Result<(), ProviderError> {
        self.current()?.hangup_for(leg, cause, by).await
    }

    async fn answer(&self, leg: &LegId) -> Result<(), ProviderError> {
        self.current()?.answer(leg).await
    }

    async fn blind_transfer(&self, request: BlindTransferRequest) -> Result<(), ProviderError> {
        self.current()?.blind_transfer(request).await
    }

    async fn start_attended_transfer(
        &self,
        request: AttendedTransferRequest,
    ) -> Result<TransferId, ProviderError> {
        self.current()?.start_attended_transfer(request).await
    }

    async fn complete_attended_transfer(&self, transfer: &TransferId) -> Result<(), ProviderError> {
        self.current()?.complete_attended_transfer(transfer).await
    }

    async fn cancel_attended_transfer(&self, transfer: &TransferId) -> Result<(), ProviderError> {
        self.current()?.cancel_attended_transfer(transfer).await
    }

    async fn park(&self, request: ParkRequest) -> Result<(), ProviderError> {
        self.current()?.park(request).await
    }

    async fn parked_calls(&self) -> Result<Vec<ParkedCall>, ProviderError> {
        self.current()?.parked_calls().await
    }

    async fn pickup_parked(&self, request: PickupRequest) -> Result<(), ProviderError> {
        self.current()?.pickup_parked(request).await
    }

    async fn hold(&self, leg: &LegId) -> Result<(), ProviderError> {
        self.current()?.hold(leg).await
    }

    async fn unhold(&self, leg: &LegId) -> Result<(), ProviderError> {
        self.current()?.unhold(leg).await
    }

    async fn mute(&self, leg: &LegId, direction: MediaDirection) -> Result<(), ProviderError> {
        self.current()?.mute(leg, direction).await
    }

    async fn unmute(&self, leg: &LegId, direction: MediaDirection) -> Result<(), ProviderError> {
        self.current()?.unmute(leg, direction).await
    }

    async fn send_dtmf(&self, leg: &LegId, digits: &str) -> Result<(), ProviderError> {
        self.current()?.send_dtmf(leg, digits).await
    }

    async fn start_recording(&self, request: RecordingRequest) -> Result<String, ProviderError> {
        self.current()?.start_recording(request).await
    }

    async fn stop_recording(&self, leg: &LegId, recording: &str) -> Result<(), ProviderError> {
        self.current()?.stop_recording(leg, recording).await
    }

    async fn pause_recording(&self, leg: &LegId, recording: &str) -> Result<(), ProviderError> {
        self.current()?.pause_recording(leg, recording).await
    }

    async fn resume_recording(&self, leg: &LegId, recording: &str) -> Result<(), ProviderError> {
        self.current()?.resume_recording(leg, recording).await
    }

    fn events(&self) -> LegEventStream {
        self.stream(|p| p.events())
    }

    fn pipeline_events(&self) -> LegEventStream {
        self.stream(|p| p.pipeline_events())
    }

    async fn snapshot(&self) -> Result<Vec<LegSnapshot>, ProviderError> {
        self.current()?.snapshot().await
    }
}

/// The probe of a server that may not be connected yet: "not connected" until it is.
#[derive(Debug)]
pub(crate) struct LateProbe {
    name: String,
    slot: watch::Receiver<Option<Link>>,
}

impl LateProbe {
    fn current(&self) -> Option<Arc<dyn ServerProbe>> {
        self.slot.borrow().as_ref().map(|l| Arc::clone(&l.probe))
    }
}

#[async_trait]
impl ServerProbe for LateProbe {
    fn connected(&self) -> Option<bool> {
        match self.current() {
            Some(p) => p.connected(),
            None => Some(false),
        }
    }

    async fn test(&self) -> Result<ProbeReport, ProviderError> {
        match self.current() {
            Some(p) => p.test().await,
            None => Err(ProviderError::NotConnected {
                provider: self.name.clone(),
            }),
        }
    }
}
