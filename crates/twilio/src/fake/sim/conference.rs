//! Conferences: joining, leaving, and their status callbacks.

use std::sync::Arc;

use crate::fake::{Bridge, Conference, Shared};

use super::{call, dial_ended, end, post};

pub(super) struct ConferenceJoin {
    pub(super) status_callback: Option<String>,
    pub(super) events: Vec<String>,
}

pub(super) async fn join_conference(
    shared: &Arc<Shared>,
    sid: &str,
    name_or_sid: &str,
    cfg: Option<ConferenceJoin>,
    end_on_exit: bool,
    action: Option<String>,
) {
    let (conf_sid, started) = {
        let mut state = shared.state();
        let existing = state
            .conferences
            .values()
            .find(|c| {
                (c.sid == name_or_sid || c.friendly_name == name_or_sid) && c.status != "completed"
            })
            .map(|c| c.sid.clone());
        let conf_sid = existing.unwrap_or_else(|| {
            let sid = shared.new_sid("CF");
            state.conferences.insert(
                sid.clone(),
                Conference {
                    sid: sid.clone(),
                    friendly_name: name_or_sid.to_owned(),
                    status: "init".to_owned(),
                    status_callback: None,
                    events: Vec::new(),
                    participants: Vec::new(),
                    seq: 0,
                },
            );
            sid
        });
        let Some(conf) = state.conferences.get_mut(&conf_sid) else {
            return;
        };
        if let Some(cfg) = cfg
            && conf.status_callback.is_none()
        {
            conf.status_callback = cfg.status_callback;
            conf.events = cfg.events;
        }
        conf.participants.push(sid.to_owned());
        let started = conf.status != "in-progress";
        conf.status = "in-progress".to_owned();
        if let Some(c) = state.calls.get_mut(sid) {
            c.bridge = Bridge::Conference {
                sid: conf_sid.clone(),
                end_on_exit,
                action,
            };
            if let Some(p) = &mut c.participant {
                p.conference = conf_sid.clone();
            }
        }
        (conf_sid, started)
    };
    if started {
        conference_event(shared, &conf_sid, "conference-start", None).await;
    }
    conference_event(shared, &conf_sid, "participant-join", Some(sid)).await;
}

pub(super) async fn leave_conference(
    shared: &Arc<Shared>,
    sid: &str,
    conf_sid: &str,
    end_on_exit: bool,
) {
    let remaining = {
        let mut state = shared.state();
        let Some(conf) = state.conferences.get_mut(conf_sid) else {
            return;
        };
        conf.participants.retain(|p| p != sid);
        conf.participants.clone()
    };
    conference_event(shared, conf_sid, "participant-leave", Some(sid)).await;
    if !(end_on_exit || remaining.is_empty()) {
        return;
    }
    if let Some(conf) = shared.state().conferences.get_mut(conf_sid) {
        conf.status = "completed".to_owned();
        conf.participants.clear();
    }
    for p in &remaining {
        conference_event(shared, conf_sid, "participant-leave", Some(p)).await;
    }
    conference_event(shared, conf_sid, "conference-end", None).await;
    for p in remaining {
        let via_twiml = matches!(
            call(shared, &p).map(|c| c.bridge),
            Some(Bridge::Conference {
                action: Some(_),
                ..
            })
        );
        if via_twiml {
            dial_ended(shared, &p, "completed", None).await;
        } else {
            if let Some(c) = shared.state().calls.get_mut(&p) {
                c.bridge = Bridge::None;
            }
            end(shared, &p, "completed").await;
        }
    }
}

/// Sends a conference status callback when its event was asked for.
pub(in crate::fake) async fn conference_event(
    shared: &Arc<Shared>,
    conf_sid: &str,
    event: &str,
    call_sid: Option<&str>,
) {
    let (url, params) = {
        let mut state = shared.state();
        let participant = call_sid
            .and_then(|s| state.calls.get(s))
            .and_then(|c| c.participant.clone());
        let Some(conf) = state.conferences.get_mut(conf_sid) else {
            return;
        };
        let short = event
            .strip_prefix("participant-")
            .or_else(|| event.strip_prefix("conference-"))
            .unwrap_or(event);
        let short = match short {
            "unhold" => "hold",
            "unmute" => "mute",
            other => other,
        };
        let Some(url) = conf
            .status_callback
            .clone()
            .filter(|_| conf.events.iter().any(|e| e == short))
        else {
            return;
        };
        conf.seq += 1;
        let mut params = vec![
            ("AccountSid".to_owned(), shared.account_sid.clone()),
            ("ConferenceSid".to_owned(), conf.sid.clone()),
            ("FriendlyName".to_owned(), conf.friendly_name.clone()),
            ("StatusCallbackEvent".to_owned(), event.to_owned()),
            ("SequenceNumber".to_owned(), conf.seq.to_string()),
            ("Timestamp".to_owned(), crate::fake::rest::now_rfc2822()),
        ];
        if let Some(sid) = call_sid {
            params.push(("CallSid".to_owned(), sid.to_owned()));
            let (hold, muted) = participant.map_or((false, false), |p| (p.hold, p.muted));
            params.push(("Hold".to_owned(), hold.to_string()));
            params.push(("Muted".to_owned(), muted.to_string()));
        }
        (url, params)
    };
    post(shared, &url, params).await;
}
