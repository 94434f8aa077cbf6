//! How a provider hands its events out.
//!
//! Two kinds of subscriber, both bounded:
//! - lossy ([`Fanout::subscribe`]): a tokio broadcast; one that falls behind loses the oldest
//!   events and receives [`ProviderEvent::Lagged`], so it resyncs. Nobody waits for it.
//! - lossless ([`Fanout::subscribe_lossless`], the pipeline's): a bounded mpsc per subscriber;
//!   when one is full, [`Fanout::publish`] waits. The publisher is the task reading the
//!   platform, so the wait reaches the source (AMI: the socket is not read, and the PBX's TCP
//!   buffer is the queue). A dropped lossless subscriber is forgotten at the next publish.

use std::sync::{Mutex, PoisonError};

use futures::StreamExt;
use hookflash_provider::{LegEvent, LegEventStream, ProviderEvent};
use tokio::sync::{broadcast, mpsc};

/// The event fan-out of one provider.
#[derive(Debug)]
pub(crate) struct Fanout {
    lossy: broadcast::Sender<ProviderEvent>,
    lossless: Mutex<Vec<mpsc::Sender<ProviderEvent>>>,
    buffer: usize,
}

impl Fanout {
    /// A fan-out holding at most `buffer` undelivered events per subscriber.
    pub(crate) fn new(buffer: usize) -> Self {
        let buffer = buffer.max(1);
        let (lossy, _) = broadcast::channel(buffer);
        Self {
            lossy,
            lossless: Mutex::new(Vec::new()),
            buffer,
        }
    }

    /// A lossy subscription: events from now on; [`ProviderEvent::Lagged`] when it fell behind.
    pub(crate) fn subscribe(&self) -> LegEventStream {
        let rx = self.lossy.subscribe();
        Box::pin(futures::stream::unfold(rx, |mut rx| async move {
            match rx.recv().await {
                Ok(e) => Some((e, rx)),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    Some((ProviderEvent::Lagged { missed: n }, rx))
                }
                Err(broadcast::error::RecvError::Closed) => None,
            }
        }))
    }

    /// A lossless subscription: events from now on, none ever dropped; while it is full,
    /// publishing waits.
    pub(crate) fn subscribe_lossless(&self) -> LegEventStream {
        let (tx, rx) = mpsc::channel(self.buffer);
        self.lossless
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(tx);
        tokio_stream_of(rx)
    }

    /// Hands one event to every subscriber, waiting for room in each lossless one.
    ///
    /// # Cancel safety
    /// Not cancel safe: a cancelled publish may have reached only some lossless subscribers.
    pub(crate) async fn publish(&self, event: ProviderEvent) {
        // No lossy subscriber is not an error: events are not kept for later subscribers.
        let _ = self.lossy.send(event.clone());
        let senders = self
            .lossless
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut gone = false;
        for tx in &senders {
            gone |= tx.send(event.clone()).await.is_err();
        }
        if gone {
            self.lossless
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .retain(|tx| !tx.is_closed());
        }
    }

    /// Publishes leg events in order.
    pub(crate) async fn publish_legs(&self, events: Vec<LegEvent>) {
        for e in events {
            self.publish(ProviderEvent::Leg(e)).await;
        }
    }
}

fn tokio_stream_of(rx: mpsc::Receiver<ProviderEvent>) -> LegEventStream {
    futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|e| (e, rx)) }).boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use hookflash_provider::{LegEventKind, LegId};

    fn leg_event(i: usize) -> LegEvent {
        LegEvent::new(
            LegId::new(format!("leg-{i}")).unwrap(),
            Utc::now(),
            LegEventKind::Ringing,
        )
    }

    #[tokio::test]
    async fn a_full_lossless_subscriber_makes_the_publisher_wait_and_loses_nothing() {
        let fanout = std::sync::Arc::new(Fanout::new(2));
        let mut lossless = fanout.subscribe_lossless();
        let mut lossy = fanout.subscribe();
        let publisher = {
            let fanout = std::sync::Arc::clone(&fanout);
            tokio::spawn(async move {
                fanout.publish_legs((0..10).map(leg_event).collect()).await;
            })
        };
        for _ in 0..1000 {
            tokio::task::yield_now().await;
        }
        assert!(
            !publisher.is_finished(),
            "publishing waits for the full subscriber"
        );
        let mut got = Vec::new();
        while got.len() < 10 {
            match lossless.next().await {
                Some(ProviderEvent::Leg(e)) => got.push(e.leg.to_string()),
                other => panic!("unexpected {other:?}"),
            }
        }
        publisher.await.unwrap();
        let want: Vec<String> = (0..10).map(|i| format!("leg-{i}")).collect();
        assert_eq!(got, want);
        // The lossy subscriber did not hold anyone back: it lagged.
        assert!(matches!(
            lossy.next().await,
            Some(ProviderEvent::Lagged { missed }) if missed > 0
        ));
    }

    #[tokio::test]
    async fn a_dropped_lossless_subscriber_is_forgotten() {
        let fanout = Fanout::new(1);
        drop(fanout.subscribe_lossless());
        fanout.publish_legs((0..5).map(leg_event).collect()).await;
        assert!(fanout.lossless.lock().unwrap().is_empty());
    }
}
