//! [`TwilioProvider::originate_with`]: an agent-first call with a bridge mode of its own.

use chrono::Utc;
use hookflash_provider::{LegEvent, LegEventKind, LegId, LegRole, OriginateRequest, ProviderError};

use crate::api::Form;
use crate::config::BridgeMode;
use crate::registry::CallInfo;
use crate::urls::DialPlan;

use super::{CALL_EVENTS, TwilioProvider, check_text, invalid, timeout_secs};

impl TwilioProvider {
    /// [`CallProvider::originate`](hookflash_provider::CallProvider::originate) with the bridge mode of this one call instead of
    /// [`TwilioConfig::bridge`](crate::TwilioConfig::bridge) (a conference allows hold, mute and transfers on Twilio).
    ///
    /// # Errors
    /// As [`CallProvider::originate`](hookflash_provider::CallProvider::originate).
    pub async fn originate_with(
        &self,
        request: OriginateRequest,
        bridge: BridgeMode,
    ) -> Result<(), ProviderError> {
        check_text("agent_endpoint", &request.agent_endpoint)?;
        check_text("customer_number", &request.customer_number)?;
        if let Some(caller_id) = &request.caller_id {
            check_text("caller_id", caller_id)?;
        }
        let agent_from = self
            .inner
            .config
            .agent_caller_id
            .clone()
            .or_else(|| request.caller_id.clone())
            .ok_or_else(|| {
                invalid(
                    "caller_id",
                    "Twilio needs a From for the agent leg: set TwilioConfig::agent_caller_id or the request's caller_id",
                )
            })?;
        let plan = DialPlan {
            customer: request.customer_number.trim().to_owned(),
            caller_id: request
                .caller_id
                .clone()
                .or_else(|| self.inner.config.agent_caller_id.clone()),
            timeout_secs: timeout_secs(request.customer_ring_timeout),
            record: request.record,
            bridge,
            amd: self.inner.config.customer_machine_detection,
        };
        let call_id = request.call_id;
        self.inner.registry().register_call(
            call_id,
            CallInfo {
                bridge,
                caller_id: plan.caller_id.clone(),
                ..CallInfo::default()
            },
        );
        let urls = &self.inner.urls;
        let mut form: Form = vec![
            ("To", request.agent_endpoint.trim().to_owned()),
            ("From", agent_from),
            ("Url", urls.voice(call_id, &plan)),
            ("Method", "POST".to_owned()),
            ("StatusCallback", urls.status(call_id, LegRole::Agent)),
            ("StatusCallbackMethod", "POST".to_owned()),
        ];
        for event in CALL_EVENTS {
            form.push(("StatusCallbackEvent", event.to_owned()));
        }
        form.push((
            "Timeout",
            timeout_secs(request.agent_ring_timeout).to_string(),
        ));
        let call = match self.inner.api.create_call(&form).await {
            Ok(call) => call,
            Err(e) => {
                let e = ProviderError::from(e);
                // Twilio refused the call: a fact for the tracker, which ends the call from
                // it (no callback will ever come). An unknown outcome is left to callbacks.
                if !e.is_outcome_unknown()
                    && let Ok(leg) = LegId::new(format!("originate-{call_id}"))
                {
                    let kind = LegEventKind::OriginateResult {
                        outcome: hookflash_provider::OriginateOutcome::Failed {
                            failure: hookflash_provider::OriginateFailure::Refused,
                            message: Some(e.to_string()),
                        },
                    };
                    self.inner
                        .publish([LegEvent::new(leg, Utc::now(), kind).with_call_id(call_id)]);
                }
                return Err(e);
            }
        };
        tracing::info!(%call_id, agent_leg = %call.sid, "Twilio accepted the agent leg");
        self.inner.registry().set_agent_leg(call_id, &call.sid);
        Ok(())
    }
}
