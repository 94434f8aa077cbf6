//! What the provider knows about its calls and bridges (the call-control side), around the
//! sans-IO [`AriTranslator`] that knows the channels; and the call-control steps events
//! trigger.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use hookflash_ari::Event;
use hookflash_provider::{CallId, LegEvent, LegEventKind, LegRole};

use super::translate::AriTranslator;
pub(super) use super::translate::{ARG_AGENT, ARG_CUSTOMER, ARG_TARGET, endpoint_of, parse_time};

/// The customer half of a call, kept until the agent answers.
#[derive(Debug, Clone)]
pub(super) struct CustomerPlan {
    pub(super) number: String,
    pub(super) ring_timeout: Duration,
    pub(super) caller_id: Option<String>,
    pub(super) variables: serde_json::Map<String, serde_json::Value>,
    /// The trunk of this call when not the configured one.
    pub(super) trunk: Option<String>,
    pub(super) record: bool,
}

#[derive(Debug, Default)]
pub(super) struct CallCtl {
    /// The leg acting as the agent (a completed attended transfer hands it to the target).
    pub(super) agent: Option<String>,
    pub(super) customer: Option<String>,
    pub(super) bridge: Option<String>,
    pub(super) customer_plan: Option<CustomerPlan>,
    pub(super) customer_in_bridge: bool,
    pub(super) customer_dialled: bool,
    /// The customer left our control on purpose (blind transfer, park): its end ends nothing.
    pub(super) released: bool,
    pub(super) consult: Option<Consult>,
}

/// An attended transfer in progress.
#[derive(Debug, Clone)]
pub(super) struct Consult {
    pub(super) id: String,
    pub(super) bridge: String,
    pub(super) target: String,
    pub(super) destination: String,
}

/// A call-control step an event calls for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    /// The agent answered: make the call's bridge, put the agent in, place the customer.
    AgentAnswered { call_id: CallId, agent: String },
    /// Dial a customer leg made with `channels/create`.
    Dial { channel: String, timeout_secs: i64 },
    /// Put a channel into a bridge.
    AddToBridge { bridge: String, channel: String },
    /// Hang a channel up (normal clearing).
    Hangup { channel: String },
    /// Destroy a bridge.
    DestroyBridge { bridge: String },
    /// Start the call's recording (the originate asked for it).
    Record { call_id: CallId, leg: String },
    /// Subscribe the application to a channel it did not create (one our leg dialled after
    /// leaving Stasis), so that its end is seen.
    Subscribe { channel: String },
}

/// The provider's memory: the translator (channels), our calls and their bridges, and
/// Asterisk's clock.
#[derive(Debug)]
pub(super) struct Book {
    pub(super) translator: AriTranslator,
    pub(super) calls: HashMap<CallId, CallCtl>,
    pub(super) bridges: HashMap<String, CallId>,
    /// Asterisk's clock: the latest event time seen, and when it was seen here.
    clock: Option<(DateTime<Utc>, Instant)>,
}

impl Default for Book {
    fn default() -> Self {
        Self::new(AriTranslator::new())
    }
}

impl Book {
    pub(super) fn new(translator: AriTranslator) -> Self {
        Self {
            translator,
            calls: HashMap::new(),
            bridges: HashMap::new(),
            clock: None,
        }
    }

    /// Registers a leg the provider is about to create with a chosen id (stage-then-execute),
    /// so its very first event is attributed to the call.
    pub(super) fn stage(&mut self, channel: &str, call_id: CallId, role: LegRole) {
        let called = match role {
            LegRole::Customer => self
                .calls
                .get(&call_id)
                .and_then(|c| c.customer_plan.as_ref())
                .map(|p| p.number.clone()),
            _ => None,
        };
        self.translator.stage(channel, call_id, role, called);
    }

    /// Now on Asterisk's clock: the latest event time plus the time since it arrived, so
    /// events the provider reports itself sort correctly among Asterisk's own even when the
    /// clocks differ (or a recorded session is replayed). This is the provider shell's one
    /// clock read; the translator is handed the result.
    pub(super) fn now(&self) -> DateTime<Utc> {
        match self.clock {
            Some((at, seen)) => {
                at + chrono::TimeDelta::from_std(seen.elapsed()).unwrap_or_default()
            }
            None => Utc::now(),
        }
    }

    fn tick(&mut self, event: &Event) {
        let Some(at) = AriTranslator::event_time(event) else {
            return;
        };
        if self.clock.is_none_or(|(t, _)| at >= t) {
            self.clock = Some((at, Instant::now()));
        }
    }

    /// A leg event about `channel` now (for effects ARI reports no event for).
    pub(super) fn event(&self, channel: &str, kind: LegEventKind) -> Option<LegEvent> {
        self.translator.leg_event(channel, kind, self.now())
    }

    /// The leg events an ARI event means.
    pub(super) fn translate(&mut self, event: &Event) -> Vec<LegEvent> {
        self.tick(event);
        let now = self.now();
        self.translator.on_event(event, now)
    }

    /// The call-control steps an event calls for, with the book updated as if they were done.
    pub(super) fn steps(&mut self, event: &Event) -> Vec<Step> {
        let mut steps = Vec::new();
        match event {
            Event::StasisStart(e) => {
                let id = &e.channel.id;
                let Some(info) = self.translator.channels.get(id) else {
                    return steps;
                };
                let (Some(call_id), Some(role)) = (info.call_id, info.role) else {
                    return steps;
                };
                let Some(call) = self.calls.get_mut(&call_id) else {
                    return steps;
                };
                match role {
                    LegRole::Agent
                        if call.agent.as_deref() == Some(id) && call.bridge.is_none() =>
                    {
                        steps.push(Step::AgentAnswered {
                            call_id,
                            agent: id.clone(),
                        });
                    }
                    LegRole::Customer if call.customer.as_deref() == Some(id) => {
                        if e.channel.state == "Up" {
                            Self::customer_up(call, id, call_id, &mut steps);
                        } else if !call.customer_dialled {
                            call.customer_dialled = true;
                            let timeout = call.customer_plan.as_ref().map_or(30, |p| {
                                i64::try_from(p.ring_timeout.as_secs()).unwrap_or(30)
                            });
                            steps.push(Step::Dial {
                                channel: id.clone(),
                                timeout_secs: timeout,
                            });
                        }
                    }
                    LegRole::SecondAgent => {
                        if let Some(consult) = &call.consult
                            && consult.target == *id
                        {
                            steps.push(Step::AddToBridge {
                                bridge: consult.bridge.clone(),
                                channel: id.clone(),
                            });
                        }
                    }
                    _ => {}
                }
            }
            Event::Dial(e) => {
                let ours = e
                    .caller
                    .as_ref()
                    .and_then(|c| self.translator.channels.get(&c.id))
                    .is_some_and(|i| i.call_id.is_some());
                if let Some(peer) = self.translator.channels.get_mut(&e.peer.id)
                    && ours
                    && !peer.staged
                    && !peer.subscribed
                {
                    peer.subscribed = true;
                    steps.push(Step::Subscribe {
                        channel: e.peer.id.clone(),
                    });
                }
            }
            Event::ChannelStateChange(e) if e.channel.state == "Up" => {
                let id = &e.channel.id;
                let Some(call_id) = self.translator.channels.get(id).and_then(|i| i.call_id) else {
                    return steps;
                };
                if let Some(call) = self.calls.get_mut(&call_id)
                    && call.customer.as_deref() == Some(id)
                    && call.customer_dialled
                {
                    Self::customer_up(call, id, call_id, &mut steps);
                }
            }
            Event::ChannelDestroyed(e) => {
                let id = &e.channel.id;
                let Some(call_id) = self.translator.channels.get(id).and_then(|i| i.call_id) else {
                    // Not part of any call of ours: nothing more will be asked about it.
                    self.translator.channels.remove(id);
                    return steps;
                };
                let Some(call) = self.calls.get(&call_id) else {
                    self.forget_if_over(call_id);
                    return steps;
                };
                let is_agent = call.agent.as_deref() == Some(id);
                let is_customer = call.customer.as_deref() == Some(id);
                let alive = |c: &Option<String>| {
                    c.as_ref()
                        .filter(|c| {
                            self.translator
                                .channels
                                .get(*c)
                                .is_none_or(|i| !i.destroyed)
                        })
                        .cloned()
                };
                if (is_customer && !call.released) || is_agent {
                    // One party gone: the call is over for the other one too.
                    let other = if is_agent {
                        alive(&call.customer).filter(|_| !call.released)
                    } else {
                        alive(&call.agent)
                    };
                    if let Some(other) = other {
                        steps.push(Step::Hangup { channel: other });
                    }
                    if let Some(consult) = &call.consult
                        && let Some(t) = alive(&Some(consult.target.clone()))
                    {
                        steps.push(Step::Hangup { channel: t });
                    }
                }
                let all_gone = alive(&call.agent).is_none()
                    && (call.released || alive(&call.customer).is_none());
                if all_gone {
                    let mut bridges: Vec<String> = call.bridge.iter().cloned().collect();
                    bridges.extend(call.consult.as_ref().map(|c| c.bridge.clone()));
                    if let Some(call) = self.calls.get_mut(&call_id) {
                        call.bridge = None;
                        call.consult = None;
                    }
                    for bridge in bridges {
                        self.bridges.remove(&bridge);
                        steps.push(Step::DestroyBridge { bridge });
                    }
                }
                self.forget_if_over(call_id);
            }
            _ => {}
        }
        steps
    }

    /// Drops a call and its channels once every channel of it is gone and nothing of it is
    /// left to tear down, so a long-running provider does not grow.
    fn forget_if_over(&mut self, call_id: CallId) {
        let busy = self.calls.get(&call_id).is_some_and(|c| {
            c.consult.is_some() || c.bridge.is_some() || (c.agent.is_none() && c.customer.is_none())
        });
        let live = self
            .translator
            .channels
            .values()
            .any(|i| i.call_id == Some(call_id) && !i.destroyed);
        if busy || live {
            return;
        }
        self.calls.remove(&call_id);
        self.translator.forget_call(call_id);
        self.bridges.retain(|_, c| *c != call_id);
    }

    fn customer_up(call: &mut CallCtl, id: &str, call_id: CallId, steps: &mut Vec<Step>) {
        if call.customer_in_bridge {
            return;
        }
        let Some(bridge) = call.bridge.clone() else {
            return;
        };
        call.customer_in_bridge = true;
        steps.push(Step::AddToBridge {
            bridge,
            channel: id.to_owned(),
        });
        if call.customer_plan.as_ref().is_some_and(|p| p.record) {
            steps.push(Step::Record {
                call_id,
                leg: id.to_owned(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture_events(name: &str) -> Vec<Event> {
        let path = format!(
            "{}/../../testdata/asterisk-22/ari/{name}.jsonl",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|v| v["kind"] == "ws")
            .map(|v| Event::from_value(v["message"].clone()).unwrap())
            .collect()
    }

    /// The bridge the provider made for the call.
    fn own_bridge(book: &mut Book, call: CallId) {
        let bridge = "e29d81f1-5064-443d-bddd-fb6a7496ccee".to_owned();
        book.bridges.insert(bridge.clone(), call);
        book.calls.insert(
            call,
            CallCtl {
                agent: Some("1795315704.624".to_owned()),
                bridge: Some(bridge),
                ..CallCtl::default()
            },
        );
    }

    #[test]
    fn a_finished_call_is_forgotten() {
        let mut book = Book::default();
        let call: CallId = "5af92377-4fc6-49f3-8582-8f3d5f62c1f0".parse().unwrap();
        book.stage("1795315704.624", call, LegRole::Agent);
        book.stage("1795315705.625", call, LegRole::Customer);
        own_bridge(&mut book, call);
        if let Some(c) = book.calls.get_mut(&call) {
            c.customer = Some("1795315705.625".to_owned());
        }
        let mut steps = Vec::new();
        for e in fixture_events("ari-agent-first-bridge") {
            book.translate(&e);
            steps.extend(book.steps(&e));
        }
        // The customer's end hangs the agent up; the agent's end destroys the bridge.
        assert!(steps.contains(&Step::Hangup {
            channel: "1795315704.624".to_owned()
        }));
        assert_eq!(
            steps.last(),
            Some(&Step::DestroyBridge {
                bridge: "e29d81f1-5064-443d-bddd-fb6a7496ccee".to_owned()
            })
        );
        assert!(
            book.calls.is_empty()
                && book.translator.live_channels() == 0
                && book.bridges.is_empty()
        );
    }

    #[test]
    fn a_staged_customer_reports_the_number_it_is_placed_to() {
        let mut book = Book::default();
        let call: CallId = "ac76f9c6-1a13-49f8-a3d9-8519246b0832".parse().unwrap();
        book.calls.insert(
            call,
            CallCtl {
                customer_plan: Some(CustomerPlan {
                    number: "5552000008".to_owned(),
                    ring_timeout: Duration::from_secs(30),
                    caller_id: None,
                    variables: serde_json::Map::new(),
                    trunk: None,
                    record: false,
                }),
                ..CallCtl::default()
            },
        );
        book.stage("1795315734.632", call, LegRole::Customer);
        let created = fixture_events("ari-dial-busy")
            .iter()
            .flat_map(|e| book.translate(e))
            .find_map(|e| match e.kind {
                LegEventKind::Created { called_number, .. } => Some(called_number),
                _ => None,
            });
        assert_eq!(created, Some(Some("5552000008".to_owned())));
    }
}
