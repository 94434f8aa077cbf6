//! ARI blind transfer: where a destination goes is resolved from configuration, the target is
//! placed into the application while the customer stays with the agent, and the outcome is
//! reported from the target's own events.
//!
//! A destination is one of:
//! - an extension of the configured transfer context (`1002`), checked to exist and dialled as
//!   `Local/<exten>@<transfer context>/n` (`/n`: the Local pair is never optimised away, so the
//!   target keeps the id the provider chose);
//! - an endpoint, `PJSIP/<endpoint>` (`PJSIP/agent1002`), checked to exist (`GET /endpoints`);
//! - a number through the configured trunk, `PJSIP/<number>@<trunk>` (seed 003's redirect
//!   style), where the trunk must be the one the configuration names.
//!
//! No part of a destination ever becomes a dialplan context, and no other technology or trunk is
//! accepted.
//!
//! Unlike a `continue` into the dialplan (after which a busy or absent target would leave the
//! customer to the dialplan's `Hangup()`), the customer stays in the call's bridge with the agent
//! while the target rings. When the target answers (it enters Stasis) it joins the bridge, takes
//! the agent's place and the agent is hung up: `Transferred { outcome: Success }`. When it ends
//! before answering (busy, no answer within [`TRANSFER_RING_TIMEOUT`], unreachable), nothing
//! moved: `Transferred { outcome: Failed }` and the target leg's end carries the cause.

use std::time::Duration;

use hookflash_ari::{BridgesAddChannelOptions, Event};
use hookflash_provider::{
    CallId, LegEventKind, LegId, ProviderError, TransferKind, TransferOutcome,
};

use super::provider::Inner;
use crate::dialplan;

/// How long a blind transfer's target rings before the transfer is given up (the transfer
/// context's own `Dial` uses the same 20 s).
pub(super) const TRANSFER_RING_TIMEOUT: Duration = Duration::from_secs(20);

/// Where a blind transfer goes, as the request named it and the configuration allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Destination {
    /// An extension of the configured transfer context.
    Extension(String),
    /// A PJSIP endpoint by name.
    Endpoint(String),
    /// A number dialled through the configured trunk.
    Number(String),
}

impl Destination {
    /// Reads a destination: `1002`, `PJSIP/agent1002` or `PJSIP/<number>@<trunk>` with `trunk`
    /// the configured one.
    ///
    /// # Errors
    ///
    /// [`ProviderError::InvalidRequest`] naming `destination` for anything else: another
    /// technology, another trunk, a name or number with characters that would change the dial
    /// string.
    pub(super) fn parse(destination: &str, trunk: &str) -> Result<Self, ProviderError> {
        let invalid = |reason: String| ProviderError::InvalidRequest {
            field: "destination".to_owned(),
            reason,
        };
        let Some(rest) = destination.strip_prefix("PJSIP/") else {
            if destination.contains('/') {
                return Err(invalid(format!(
                    "{destination:?}: a destination is an extension of the transfer context, \
                     PJSIP/<endpoint> or PJSIP/<number>@{trunk}"
                )));
            }
            // The same token rule as the dialplan check.
            dialplan::exists_function("destination", "x", destination)?;
            return Ok(Self::Extension(destination.to_owned()));
        };
        match rest.split_once('@') {
            Some((number, via)) => {
                if via != trunk {
                    return Err(invalid(format!(
                        "{destination:?}: numbers are dialled through the configured trunk \
                         ({trunk}) only"
                    )));
                }
                let digits = number.strip_prefix('+').unwrap_or(number);
                if !(3..=20).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit())
                {
                    return Err(invalid(format!(
                        "{destination:?}: the number is 3 to 20 digits, optionally after +"
                    )));
                }
                Ok(Self::Number(number.to_owned()))
            }
            None => {
                let ok = !rest.is_empty()
                    && rest.len() <= 80
                    && rest
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
                if !ok {
                    return Err(invalid(format!(
                        "{destination:?}: an endpoint name is letters, digits and ._- only"
                    )));
                }
                Ok(Self::Endpoint(rest.to_owned()))
            }
        }
    }

    /// What the provider originates to reach the destination.
    pub(super) fn dial_string(&self, transfer_context: &str, trunk: &str) -> String {
        match self {
            Self::Extension(e) => format!("Local/{e}@{transfer_context}/n"),
            Self::Endpoint(e) => format!("PJSIP/{e}"),
            Self::Number(n) => format!("PJSIP/{n}@{trunk}"),
        }
    }
}

/// A blind transfer whose target is ringing.
#[derive(Debug, Clone)]
pub(super) struct PendingBlind {
    pub(super) call_id: CallId,
    /// The leg being transferred (the customer's).
    pub(super) customer: String,
    /// The leg that hands the call over and is hung up once the target answered.
    pub(super) agent: Option<String>,
    /// The destination as requested (reported in `Transferred::to`).
    pub(super) destination: String,
}

impl Inner {
    /// Checks that `destination` exists before anything moves: an extension in the transfer
    /// context (read on `leg`), an endpoint known to Asterisk; a number through the configured
    /// trunk needs no check (the carrier answers for it).
    pub(super) async fn check_blind_destination(
        &self,
        leg: &str,
        destination: &Destination,
        requested: &str,
    ) -> Result<(), ProviderError> {
        match destination {
            Destination::Extension(e) => self.check_destination(leg, e).await,
            Destination::Endpoint(name) => match self.client.endpoints().get("PJSIP", name).await {
                Ok(_) => Ok(()),
                Err(e) if e.is_not_found() => Err(ProviderError::InvalidRequest {
                    field: "destination".to_owned(),
                    reason: format!("no endpoint {requested}: nothing was transferred"),
                }),
                Err(e) => Err(super::provider::map_error(
                    &format!("endpoint {requested}"),
                    e,
                )),
            },
            Destination::Number(_) => Ok(()),
        }
    }

    fn take_blind(&self, target: &str) -> Option<PendingBlind> {
        self.blind
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(target)
    }

    pub(super) fn put_blind(&self, target: String, pending: PendingBlind) {
        self.blind
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(target, pending);
    }

    /// Moves a pending blind transfer along on its target's events: entering Stasis (answered)
    /// completes it, ending before that fails it.
    pub(super) async fn on_blind_transfer_event(&self, event: &Event) {
        match event {
            Event::StasisStart(e) => {
                if let Some(pending) = self.take_blind(&e.channel.id) {
                    self.complete_blind(&e.channel.id, pending).await;
                }
            }
            Event::ChannelDestroyed(e) => {
                if let Some(pending) = self.take_blind(&e.channel.id) {
                    tracing::info!(
                        call_id = %pending.call_id,
                        cause = e.cause,
                        "blind transfer target ended before answering: the customer stays"
                    );
                    self.blind_result(&e.channel.id, &pending, TransferOutcome::Failed);
                }
            }
            _ => {}
        }
    }

    async fn complete_blind(&self, target: &str, pending: PendingBlind) {
        let bridge = self
            .book()
            .calls
            .get(&pending.call_id)
            .and_then(|c| c.bridge.clone());
        let joined = match &bridge {
            Some(bridge) => self
                .client
                .bridges()
                .add_channel(bridge, &[target], BridgesAddChannelOptions::new())
                .await
                .map_err(|e| e.to_string()),
            None => Err("the call has no bridge".to_owned()),
        };
        if let Err(error) = joined {
            tracing::warn!(call_id = %pending.call_id, %error, "blind transfer target not bridged");
            self.hangup_channel(target).await;
            self.blind_result(target, &pending, TransferOutcome::Failed);
            return;
        }
        // The target takes the agent's place: the old agent's end ends nothing, the target's
        // ends the call.
        if let Some(call) = self.book().calls.get_mut(&pending.call_id) {
            call.agent = Some(target.to_owned());
        }
        self.blind_result(target, &pending, TransferOutcome::Success);
        if let Some(agent) = &pending.agent {
            self.hangup_channel(agent).await;
        }
    }

    fn blind_result(&self, target: &str, pending: &PendingBlind, outcome: TransferOutcome) {
        self.report(
            &pending.customer,
            LegEventKind::Transferred {
                kind: TransferKind::Blind,
                to: Some(pending.destination.clone()),
                target: LegId::new(target).ok(),
                outcome,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_are_an_extension_an_endpoint_or_a_number_through_the_trunk() {
        let d = Destination::parse("1002", "trunk").unwrap();
        assert_eq!(d, Destination::Extension("1002".to_owned()));
        assert_eq!(
            d.dial_string("hookflash-transfer", "trunk"),
            "Local/1002@hookflash-transfer/n"
        );
        let d = Destination::parse("PJSIP/agent1002", "trunk").unwrap();
        assert_eq!(
            d.dial_string("hookflash-transfer", "trunk"),
            "PJSIP/agent1002"
        );
        let d = Destination::parse("PJSIP/+15551203005@trunk", "trunk").unwrap();
        assert_eq!(
            d.dial_string("hookflash-transfer", "trunk"),
            "PJSIP/+15551203005@trunk"
        );
    }

    #[test]
    fn no_destination_picks_a_context_a_technology_or_another_trunk() {
        for bad in [
            "Local/1002@default",
            "Local/1002@default/n",
            "SIP/agent1002",
            "PJSIP/5551203005@trunk-offline",
            "PJSIP/5551203005@trunk/n",
            "PJSIP/agent1002,1",
            "PJSIP/agent 1002",
            "PJSIP/",
            "PJSIP/12a4@trunk",
            "PJSIP/1@trunk",
            "1002,1)",
            "${EXTEN}",
            "",
        ] {
            match Destination::parse(bad, "trunk") {
                Err(ProviderError::InvalidRequest { field, .. }) => {
                    assert_eq!(field, "destination", "{bad}")
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }
}
