//! What the WebSocket sends: every message shape ([`WsMessage`], in the OpenAPI document), and
//! the per-client memory that turns the bus's full call snapshots into compact updates
//! ([`CallDeltas`]).
//!
//! A client first gets `call_created` with the whole [`CallView`] and the timeline so far;
//! after that, `call_updated` / `call_ended` carry only the fields of the view that changed
//! (`changes`, the same names and values as in the view) and the timeline entries the client
//! has not had (`events`). A snapshot that changed nothing the client sees sends nothing. A
//! client that reconnects starts again from `call_created` for each call it hears of.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use hookflash_calls::CallRecord;
use hookflash_provider::{CallId, TenantId};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::state::AppState;
use crate::views::{CallView, EventView, NumberReading};

/// Calls one client remembers; a call beyond this is sent whole (`call_created`) again.
pub(crate) const MAX_REMEMBERED_CALLS: usize = 1024;

/// The contact found for an inbound caller's number.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct OfferContact {
    /// Contact id.
    pub id: String,
    /// Name.
    pub name: Option<String>,
    /// E.164 number.
    pub phone_number: String,
    /// Free-form attributes.
    #[schema(value_type = Object)]
    pub attributes: Value,
}

/// One WebSocket text frame (JSON, tagged by `type`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum WsMessage {
    /// The first frame: who the connection is.
    Hello {
        /// The caller's tenant.
        tenant: String,
        /// The caller's agent, when the caller is one.
        agent_id: Option<String>,
    },
    /// Sent every heartbeat interval (with a WebSocket ping).
    Heartbeat {
        /// The server's time.
        at: DateTime<Utc>,
    },
    /// An inbound call rings this agent's endpoint.
    Offer {
        /// The call.
        call_id: String,
        /// The caller.
        caller_number: Option<String>,
        /// The number called (the DID), E.164.
        called_number: Option<String>,
        /// The contact found for the caller.
        contact: Option<OfferContact>,
    },
    /// This agent answered an offered call.
    Answered {
        /// The call.
        call_id: String,
    },
    /// The offer is gone (answered elsewhere, or the caller hung up).
    Withdrawn {
        /// The call.
        call_id: String,
    },
    /// A call this client has not seen yet: the whole view and the timeline so far.
    CallCreated {
        /// The call (boxed: it is the largest message by far).
        call: Box<CallView>,
        /// Its timeline so far, in order.
        events: Vec<EventView>,
    },
    /// A call changed: only what changed since the client's last message about it.
    CallUpdated {
        /// The call.
        call_id: String,
        /// The call's version after the change.
        version: i64,
        /// The fields of [`CallView`] that changed, with their new values.
        #[schema(value_type = Object)]
        changes: Map<String, Value>,
        /// Timeline entries the client has not had, in order.
        events: Vec<EventView>,
    },
    /// A call ended: its last changes (the view is final).
    CallEnded {
        /// The call.
        call_id: String,
        /// The call's final version.
        version: i64,
        /// The fields of [`CallView`] that changed, with their new values.
        #[schema(value_type = Object)]
        changes: Map<String, Value>,
        /// Timeline entries the client has not had, in order.
        events: Vec<EventView>,
    },
    /// An agent's state changed.
    AgentState {
        /// The agent.
        agent_id: String,
        /// `offline`, `available`, `paused`, ...
        state: String,
        /// Why the agent paused.
        pause_reason: Option<String>,
        /// When.
        at: DateTime<Utc>,
    },
}

impl WsMessage {
    /// The `type` tag of every message, for the OpenAPI test.
    #[cfg(test)]
    pub(crate) const TYPES: [&'static str; 9] = [
        "hello",
        "heartbeat",
        "offer",
        "answered",
        "withdrawn",
        "call_created",
        "call_updated",
        "call_ended",
        "agent_state",
    ];
}

/// What one client was last sent about one call.
#[derive(Debug)]
struct Sent {
    view: CallView,
    fields: Map<String, Value>,
    last_seq: i64,
}

/// Per-client memory of the calls it was sent, bounded by [`MAX_REMEMBERED_CALLS`].
#[derive(Debug, Default)]
pub(crate) struct CallDeltas {
    calls: HashMap<CallId, Sent>,
}

impl CallDeltas {
    /// The view last sent for a call, if any.
    pub(crate) fn last(&self, id: &CallId) -> Option<&CallView> {
        self.calls.get(id).map(|s| &s.view)
    }

    /// The message that brings the client from what it has to `view` and `events`; `None`
    /// when nothing it sees changed. `ended` forgets the call after this message.
    pub(crate) fn message(
        &mut self,
        id: CallId,
        view: CallView,
        events: Vec<EventView>,
        ended: bool,
    ) -> Option<WsMessage> {
        let fields = match serde_json::to_value(&view) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        };
        let last_seq = events.last().map_or(0, |e| e.seq);
        let Some(prev) = self.calls.get_mut(&id) else {
            if ended {
                // Seen for the first time at its end: the whole view, as the final change.
                return Some(WsMessage::CallEnded {
                    call_id: view.id,
                    version: view.version,
                    changes: fields,
                    events,
                });
            }
            {
                if self.calls.len() >= MAX_REMEMBERED_CALLS {
                    // Forget the oldest-looking entry: it is sent whole again if it returns.
                    if let Some(old) = self.calls.keys().next().copied() {
                        self.calls.remove(&old);
                    }
                }
                self.calls.insert(
                    id,
                    Sent {
                        view: view.clone(),
                        fields,
                        last_seq,
                    },
                );
            }
            return Some(WsMessage::CallCreated {
                call: Box::new(view),
                events,
            });
        };
        let changes: Map<String, Value> = fields
            .iter()
            .filter(|(k, v)| prev.fields.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let new_events: Vec<EventView> = events
            .into_iter()
            .filter(|e| e.seq > prev.last_seq)
            .collect();
        let version = view.version;
        let call_id = view.id.clone();
        if ended {
            self.calls.remove(&id);
            return Some(WsMessage::CallEnded {
                call_id,
                version,
                changes,
                events: new_events,
            });
        }
        // `version` alone moving is no news to the client.
        let news = changes.keys().any(|k| k != "version") || !new_events.is_empty();
        prev.last_seq = prev.last_seq.max(last_seq);
        prev.view = view;
        prev.fields = fields;
        news.then_some(WsMessage::CallUpdated {
            call_id,
            version,
            changes,
            events: new_events,
        })
    }
}

/// The compact message for one call snapshot from the bus, for one client: the record as
/// the store would keep it ([`CallView::from_record`]), with the store-only fields read from
/// the stored row when the client first hears of the call and when it ends, and carried
/// from the client's last view in between. `ended`: the bus said `CallEnded` (the final row
/// is written).
pub(crate) async fn call_message(
    state: &AppState,
    deltas: &mut CallDeltas,
    tenant: TenantId,
    record: &CallRecord,
    ended: bool,
) -> Option<WsMessage> {
    let settings = state.settings();
    let numbers = NumberReading::new(settings.default_region.clone(), settings.phone_validation);
    let (mut view, events) = CallView::from_record(record, tenant, &numbers);
    match deltas.last(&record.call_id) {
        Some(earlier) if !ended => view.carry_store_fields(earlier),
        earlier => {
            if let Some(earlier) = earlier {
                view.carry_store_fields(earlier);
            }
            match state.store().calls().get(tenant, record.call_id).await {
                Ok(Some(row)) => view.fill_from_store(&row),
                Ok(None) => {}
                Err(e) => {
                    tracing::debug!(error = %e, call_id = %record.call_id, "stored call not read");
                }
            }
        }
    }
    deltas.message(record.call_id, view, events, ended)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(id: &str, version: i64, state: &str) -> CallView {
        let mut row = hookflash_store::CallRow::new(
            CallId::from_uuid(id.parse().unwrap_or_default()),
            TenantId::from_uuid(uuid::Uuid::nil()),
            "outbound",
            "ami",
            state,
            DateTime::<Utc>::UNIX_EPOCH,
        );
        row.version = version;
        CallView::from(row)
    }

    fn event(seq: i64) -> EventView {
        EventView {
            seq,
            at: DateTime::<Utc>::UNIX_EPOCH,
            kind: "created".to_owned(),
            leg_id: None,
            payload: Value::Null,
        }
    }

    /// One of each message, matched exhaustively so a new kind cannot be forgotten here.
    fn one_of_each() -> Vec<WsMessage> {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let all = vec![
            WsMessage::Hello {
                tenant: "t".into(),
                agent_id: None,
            },
            WsMessage::Heartbeat { at },
            WsMessage::Offer {
                call_id: "c".into(),
                caller_number: None,
                called_number: None,
                contact: None,
            },
            WsMessage::Answered {
                call_id: "c".into(),
            },
            WsMessage::Withdrawn {
                call_id: "c".into(),
            },
            WsMessage::CallCreated {
                call: Box::new(view("", 1, "created")),
                events: Vec::new(),
            },
            WsMessage::CallUpdated {
                call_id: "c".into(),
                version: 2,
                changes: Map::new(),
                events: Vec::new(),
            },
            WsMessage::CallEnded {
                call_id: "c".into(),
                version: 3,
                changes: Map::new(),
                events: Vec::new(),
            },
            WsMessage::AgentState {
                agent_id: "a".into(),
                state: "available".into(),
                pause_reason: None,
                at,
            },
        ];
        for m in &all {
            match m {
                WsMessage::Hello { .. }
                | WsMessage::Heartbeat { .. }
                | WsMessage::Offer { .. }
                | WsMessage::Answered { .. }
                | WsMessage::Withdrawn { .. }
                | WsMessage::CallCreated { .. }
                | WsMessage::CallUpdated { .. }
                | WsMessage::CallEnded { .. }
                | WsMessage::AgentState { .. } => {}
            }
        }
        all
    }

    #[test]
    fn every_websocket_message_type_has_a_schema_in_the_openapi() {
        let doc = serde_json::to_value(crate::openapi()).unwrap_or_default();
        let schema = &doc["components"]["schemas"]["WsMessage"];
        let documented: Vec<String> = schema["oneOf"]
            .as_array()
            .map(|variants| {
                variants
                    .iter()
                    .filter_map(|v| v["properties"]["type"]["enum"][0].as_str())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let sent: Vec<String> = one_of_each()
            .iter()
            .map(|m| serde_json::to_value(m).unwrap_or_default()["type"].to_string())
            .map(|t| t.trim_matches('"').to_owned())
            .collect();
        assert_eq!(sent, WsMessage::TYPES.map(str::to_owned).to_vec());
        assert_eq!(documented, sent, "WsMessage schema: {schema}");
        // The call view a `call_created` carries is itself described.
        assert!(doc["components"]["schemas"]["CallView"]["properties"]["hold_seconds"].is_object());
    }

    #[test]
    fn updates_carry_only_what_changed_and_new_timeline_entries() {
        let id = CallId::new_random();
        let uuid = id.to_string();
        let mut deltas = CallDeltas::default();
        let first = deltas.message(id, view(&uuid, 1, "agent_ringing"), vec![event(1)], false);
        assert!(
            matches!(first, Some(WsMessage::CallCreated { .. })),
            "{first:?}"
        );
        // Only the version moved: nothing to send.
        assert_eq!(
            deltas.message(id, view(&uuid, 2, "agent_ringing"), vec![event(1)], false),
            None
        );
        let next = deltas.message(
            id,
            view(&uuid, 3, "connected"),
            vec![event(1), event(2), event(3)],
            false,
        );
        let Some(WsMessage::CallUpdated {
            changes, events, ..
        }) = next
        else {
            panic!("expected call_updated, got {next:?}");
        };
        assert_eq!(
            changes.keys().collect::<Vec<_>>(),
            vec!["state", "version"],
            "{changes:?}"
        );
        assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![2, 3]);
        let end = deltas.message(id, view(&uuid, 4, "ended"), vec![event(3), event(4)], true);
        let Some(WsMessage::CallEnded {
            changes, events, ..
        }) = end
        else {
            panic!("expected call_ended, got {end:?}");
        };
        assert_eq!(changes["state"], "ended");
        assert_eq!(events.len(), 1);
        assert!(deltas.last(&id).is_none(), "an ended call is forgotten");
    }

    #[test]
    fn remembered_calls_are_bounded() {
        let mut deltas = CallDeltas::default();
        for _ in 0..MAX_REMEMBERED_CALLS + 10 {
            let id = CallId::new_random();
            let _ = deltas.message(id, view(&id.to_string(), 1, "created"), Vec::new(), false);
        }
        assert_eq!(deltas.calls.len(), MAX_REMEMBERED_CALLS);
    }
}
