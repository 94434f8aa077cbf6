//! The scripted provider the pipeline tests drive: the test writes its event stream and sets
//! the live legs its snapshot lists; every call-control command is refused.

use std::sync::Mutex;

use async_trait::async_trait;
use hookflash_provider::{
    AttendedTransferRequest, BlindTransferRequest, CallProvider, Capabilities, HangupCause,
    LegEventStream, LegId, LegSnapshot, MediaDirection, OriginateRequest, ParkRequest,
    ProviderError, ProviderEvent, RecordingRequest, TransferId,
};
use tokio::sync::mpsc;

/// A provider whose event stream the test writes and whose live legs it sets.
pub(crate) struct Scripted {
    rx: Mutex<Option<mpsc::UnboundedReceiver<ProviderEvent>>>,
    live: Vec<LegSnapshot>,
}

fn no() -> ProviderError {
    ProviderError::NotFound {
        what: "scripted provider".into(),
    }
}

#[async_trait]
impl CallProvider for Scripted {
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }
    async fn originate(&self, _: OriginateRequest) -> Result<(), ProviderError> {
        Err(no())
    }
    async fn hangup(&self, _: &LegId, _: Option<HangupCause>) -> Result<(), ProviderError> {
        Err(no())
    }
    async fn answer(&self, _: &LegId) -> Result<(), ProviderError> {
        Err(no())
    }
    async fn blind_transfer(&self, _: BlindTransferRequest) -> Result<(), ProviderError> {
        Err(no())
    }
    async fn start_attended_transfer(
        &self,
        _: AttendedTransferRequest,
    ) -> Result<TransferId, ProviderError> {
        Err(no())
    }
    async fn complete_attended_transfer(&self, _: &TransferId) -> Result<(), ProviderError> {
        Err(no())
    }
    async fn cancel_attended_transfer(&self, _: &TransferId) -> Result<(), ProviderError> {
        Err(no())
    }
    async fn park(&self, _: ParkRequest) -> Result<(), ProviderError> {
        Err(no())
    }
    async fn hold(&self, _: &LegId) -> Result<(), ProviderError> {
        Err(no())
    }
    async fn unhold(&self, _: &LegId) -> Result<(), ProviderError> {
        Err(no())
    }
    async fn mute(&self, _: &LegId, _: MediaDirection) -> Result<(), ProviderError> {
        Err(no())
    }
    async fn unmute(&self, _: &LegId, _: MediaDirection) -> Result<(), ProviderError> {
        Err(no())
    }
    async fn send_dtmf(&self, _: &LegId, _: &str) -> Result<(), ProviderError> {
        Err(no())
    }
    async fn start_recording(&self, _: RecordingRequest) -> Result<String, ProviderError> {
        Err(no())
    }
    async fn stop_recording(&self, _: &LegId, _: &str) -> Result<(), ProviderError> {
        Err(no())
    }
    async fn pause_recording(&self, _: &LegId, _: &str) -> Result<(), ProviderError> {
        Err(no())
    }
    async fn resume_recording(&self, _: &LegId, _: &str) -> Result<(), ProviderError> {
        Err(no())
    }
    fn events(&self) -> LegEventStream {
        let rx = self.rx.lock().unwrap().take().expect("one subscription");
        Box::pin(futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|e| (e, rx))
        }))
    }
    async fn snapshot(&self) -> Result<Vec<LegSnapshot>, ProviderError> {
        Ok(self.live.clone())
    }
}

impl Scripted {
    /// A provider whose events come from `rx` and whose snapshot lists `live`.
    pub(crate) fn new(rx: mpsc::UnboundedReceiver<ProviderEvent>, live: Vec<LegSnapshot>) -> Self {
        Self {
            rx: Mutex::new(Some(rx)),
            live,
        }
    }
}
