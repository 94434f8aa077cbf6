//! The provider state's operations shared by commands and webhooks: publishing events,
//! conferences, and the TwiML that dials each leg.

use std::sync::MutexGuard;

use chrono::{DateTime, Utc};
use hookflash_provider::{CallId, LegEvent, LegEventKind, LegRole, ProviderError, ProviderEvent};

use crate::api::Form;
use crate::config::BridgeMode;
use crate::error::TwilioError;
use crate::registry::TwilioTranslator;
use crate::twiml::{self, Element};
use crate::urls::DialPlan;

use super::{CALL_EVENTS, DialTarget, Inner, lock};

impl Inner {
    pub(crate) fn registry(&self) -> MutexGuard<'_, TwilioTranslator> {
        lock(&self.registry)
    }

    pub(crate) fn publish(&self, events: impl IntoIterator<Item = LegEvent>) {
        for event in events {
            tracing::debug!(leg = %event.leg, kind = event.kind.name(), "twilio leg event");
            // No subscriber is not an error: events are only for whoever listens now.
            let _ = self.events.send(ProviderEvent::Leg(event));
        }
    }

    pub(super) fn publish_kind_at(
        &self,
        sid: &str,
        call_id: CallId,
        at: DateTime<Utc>,
        kind: LegEventKind,
    ) {
        let event = self.registry().event(sid, call_id, at, kind);
        self.publish(event);
    }

    /// The conference SID of a call: from its callbacks, else looked up by friendly name.
    pub(super) async fn conference_sid(&self, call_id: CallId) -> Result<String, ProviderError> {
        if let Some(sid) = self
            .registry()
            .call(call_id)
            .and_then(|c| c.conference.clone())
        {
            return Ok(sid);
        }
        let found = self
            .api
            .list_conferences(&call_id.to_string(), "in-progress")
            .await?;
        let sid =
            found
                .into_iter()
                .next()
                .map(|c| c.sid)
                .ok_or_else(|| ProviderError::NotFound {
                    what: format!("in-progress conference {call_id}"),
                })?;
        self.registry().set_conference(call_id, &sid);
        Ok(sid)
    }

    /// Adds the customer to the call's conference (conference mode, once the agent answered).
    pub(crate) async fn add_customer(
        &self,
        call_id: CallId,
        agent_sid: Option<&str>,
        plan: &DialPlan,
    ) -> Result<String, TwilioError> {
        let from = plan
            .caller_id
            .clone()
            .or_else(|| self.config.agent_caller_id.clone())
            .unwrap_or_default();
        let mut form: Form = vec![
            ("From", from),
            ("To", plan.customer.clone()),
            ("Label", "customer".to_owned()),
            (
                "StatusCallback",
                match agent_sid {
                    Some(agent) => self
                        .urls
                        .participant_status(call_id, LegRole::Customer, agent),
                    None => self.urls.status(call_id, LegRole::Customer),
                },
            ),
            ("StatusCallbackMethod", "POST".to_owned()),
            ("StatusCallbackEvent", CALL_EVENTS.join(" ")),
            ("Timeout", plan.timeout_secs.to_string()),
            ("StartConferenceOnEnter", "true".to_owned()),
            ("EndConferenceOnExit", "true".to_owned()),
            ("Beep", "false".to_owned()),
        ];
        if let Some(amd) = plan.amd {
            form.push(("MachineDetection", amd.as_str().to_owned()));
            form.push(("AmdStatusCallback", self.urls.amd(call_id)));
            form.push(("AmdStatusCallbackMethod", "POST".to_owned()));
        }
        let participant = self
            .api
            .create_participant(&call_id.to_string(), &form)
            .await;
        match participant {
            Ok(p) => {
                let mut reg = self.registry();
                reg.set_leg(call_id, &p.call_sid, LegRole::Customer);
                reg.set_conference(call_id, &p.conference_sid);
                Ok(p.call_sid)
            }
            Err(err) => {
                tracing::warn!(%call_id, error = %err, "could not add the customer; ending the agent leg");
                if let Some(agent) = agent_sid {
                    let form: Form = vec![("Status", "completed".to_owned())];
                    let _ = self.api.update_call(agent, &form).await;
                }
                Err(err)
            }
        }
    }

    /// Ends the agent's leg of a conference call whose customer was not reached: nobody else
    /// will join the agent in the conference.
    pub(crate) async fn end_lonely_agent(&self, agent: &str) {
        let requested = self.registry().note_hangup_request(agent, Utc::now());
        self.publish(requested);
        let form: Form = vec![("Status", "completed".to_owned())];
        if let Err(err) = self.api.update_call(agent, &form).await {
            tracing::warn!(%agent, error = %err, "could not end the agent leg of an unanswered call");
        }
    }

    /// The `<Dial><Conference>` that puts a leg (back) into its call's conference.
    pub(crate) fn conference_dial(
        &self,
        call_id: CallId,
        role: LegRole,
        record: bool,
        end_on_exit: bool,
    ) -> Element {
        let conference = Element::new("Conference")
            .attr("statusCallback", self.urls.conference(call_id))
            .attr("statusCallbackMethod", "POST")
            .attr("statusCallbackEvent", "start end join leave mute hold")
            .attr("startConferenceOnEnter", "true")
            .attr(
                "endConferenceOnExit",
                if end_on_exit { "true" } else { "false" },
            )
            .attr("beep", "false");
        let conference = if record {
            conference
                .attr("record", "record-from-start")
                .attr("recordingStatusCallback", self.urls.recording(call_id))
                .attr("recordingStatusCallbackMethod", "POST")
                .attr(
                    "recordingStatusCallbackEvent",
                    "in-progress completed absent",
                )
        } else {
            conference
        };
        Element::new("Dial")
            .attr("action", self.urls.dial_action(call_id, role))
            .attr("method", "POST")
            .child(conference.text(call_id.to_string()))
    }

    /// The `<Dial>` of a destination, with status callbacks on the dialled leg.
    pub(crate) fn dial_destination(
        &self,
        call_id: CallId,
        dialler_role: LegRole,
        target: &DialTarget<'_>,
    ) -> Element {
        let mut noun = twiml::dial_noun(target.destination)
            .attr("statusCallback", self.urls.status(call_id, target.role))
            .attr("statusCallbackMethod", "POST")
            .attr("statusCallbackEvent", CALL_EVENTS.join(" "));
        if let Some(amd) = target.amd {
            noun = noun
                .attr("machineDetection", amd.as_str())
                .attr("amdStatusCallback", self.urls.amd(call_id))
                .attr("amdStatusCallbackMethod", "POST");
        }
        let mut dial = Element::new("Dial")
            .attr_opt("callerId", target.caller_id)
            .attr_opt("timeout", target.timeout_secs.map(|t| t.to_string()))
            .attr("action", self.urls.dial_action(call_id, dialler_role))
            .attr("method", "POST");
        if target.record {
            dial = dial
                .attr("record", "record-from-answer-dual")
                .attr("recordingStatusCallback", self.urls.recording(call_id))
                .attr("recordingStatusCallbackMethod", "POST")
                .attr(
                    "recordingStatusCallbackEvent",
                    "in-progress completed absent",
                );
        }
        dial.child(noun)
    }

    /// The TwiML the agent's leg runs once answered.
    pub(crate) fn agent_twiml(&self, call_id: CallId, plan: &DialPlan) -> String {
        match plan.bridge {
            BridgeMode::Dial => twiml::response([self.dial_destination(
                call_id,
                LegRole::Agent,
                &DialTarget {
                    role: LegRole::Customer,
                    destination: &plan.customer,
                    caller_id: plan.caller_id.as_deref(),
                    timeout_secs: Some(plan.timeout_secs),
                    record: plan.record,
                    amd: plan.amd,
                },
            )]),
            BridgeMode::Conference => {
                twiml::response([self.conference_dial(call_id, LegRole::Agent, plan.record, true)])
            }
        }
    }
}
