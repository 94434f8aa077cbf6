//! The callback URLs we give Twilio. Our call id rides in the path, so every callback names
//! its call; the voice URL also carries the dial plan (customer, caller id, ring timeout,
//! recording, bridge mode), so any node behind the public URL can answer it. Twilio signs the
//! whole URL, so none of it can be altered by a third party.

use hookflash_provider::{CallId, LegRole};

use crate::config::{BridgeMode, MachineDetection};

/// What the agent's voice webhook dials once the agent answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DialPlan {
    pub(crate) customer: String,
    pub(crate) caller_id: Option<String>,
    pub(crate) timeout_secs: u64,
    pub(crate) record: bool,
    pub(crate) bridge: BridgeMode,
    pub(crate) amd: Option<MachineDetection>,
}

impl DialPlan {
    pub(crate) fn to_query(&self) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("to", &self.customer);
        if let Some(from) = &self.caller_id {
            q.append_pair("from", from);
        }
        q.append_pair("timeout", &self.timeout_secs.to_string());
        q.append_pair("record", if self.record { "1" } else { "0" });
        q.append_pair("bridge", self.bridge.as_str());
        if let Some(amd) = self.amd {
            q.append_pair("amd", amd.as_str());
        }
        q.finish()
    }

    pub(crate) fn from_query(query: &str) -> Option<Self> {
        let mut plan = Self {
            customer: String::new(),
            caller_id: None,
            timeout_secs: 30,
            record: false,
            bridge: BridgeMode::Dial,
            amd: None,
        };
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "to" => plan.customer = v.into_owned(),
                "from" => plan.caller_id = Some(v.into_owned()),
                "timeout" => plan.timeout_secs = v.parse().ok()?,
                "record" => plan.record = v == "1",
                "bridge" => plan.bridge = BridgeMode::parse(&v)?,
                "amd" => {
                    plan.amd = match v.as_ref() {
                        "Enable" => Some(MachineDetection::Enable),
                        "DetectMessageEnd" => Some(MachineDetection::DetectMessageEnd),
                        _ => None,
                    }
                }
                _ => {}
            }
        }
        (!plan.customer.is_empty()).then_some(plan)
    }
}

pub(crate) fn role_param(role: LegRole) -> &'static str {
    match role {
        LegRole::Agent => "agent",
        LegRole::Customer => "customer",
        _ => "target",
    }
}

pub(crate) fn parse_role(text: &str) -> LegRole {
    match text {
        "agent" => LegRole::Agent,
        "customer" => LegRole::Customer,
        _ => LegRole::SecondAgent,
    }
}

/// Builds the callback URLs under one public base.
#[derive(Debug, Clone)]
pub(crate) struct Urls {
    base: String,
}

impl Urls {
    pub(crate) fn new(public_base_url: &str) -> Self {
        Self {
            base: public_base_url.trim_end_matches('/').to_owned(),
        }
    }

    pub(crate) fn voice(&self, call_id: CallId, plan: &DialPlan) -> String {
        format!("{}/twilio/voice/{call_id}?{}", self.base, plan.to_query())
    }

    pub(crate) fn status(&self, call_id: CallId, role: LegRole) -> String {
        format!(
            "{}/twilio/status/{call_id}?leg={}",
            self.base,
            role_param(role)
        )
    }

    /// The status URL of a conference participant that was dialled for `agent`: when it is not
    /// answered, the agent (alone in the conference) is hung up.
    pub(crate) fn participant_status(&self, call_id: CallId, role: LegRole, agent: &str) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("leg", role_param(role));
        q.append_pair("agent", agent);
        format!("{}/twilio/status/{call_id}?{}", self.base, q.finish())
    }

    pub(crate) fn dial_action(&self, call_id: CallId, role: LegRole) -> String {
        format!(
            "{}/twilio/dial-action/{call_id}?leg={}",
            self.base,
            role_param(role)
        )
    }

    pub(crate) fn amd(&self, call_id: CallId) -> String {
        format!("{}/twilio/amd/{call_id}", self.base)
    }

    pub(crate) fn recording(&self, call_id: CallId) -> String {
        format!("{}/twilio/recording/{call_id}", self.base)
    }

    pub(crate) fn conference(&self, call_id: CallId) -> String {
        format!("{}/twilio/conference/{call_id}", self.base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dial_plan_round_trips_through_the_query() {
        let plan = DialPlan {
            customer: "+15559870001".to_owned(),
            caller_id: Some("+15550001111".to_owned()),
            timeout_secs: 25,
            record: true,
            bridge: BridgeMode::Conference,
            amd: Some(MachineDetection::Enable),
        };
        let q = plan.to_query();
        assert!(q.contains("to=%2B15559870001"));
        assert_eq!(DialPlan::from_query(&q), Some(plan));
        assert_eq!(DialPlan::from_query("timeout=5"), None);
    }
}
