//! The fake's Conferences and Participants resources.

use std::sync::Arc;

use crate::config::is_sid;
use crate::fake::{Bridge, Conference, FakeCall, ParticipantCfg, Shared, sim};

use super::{
    CALL_EVENTS, Reply, check_bool, check_method, check_url, conference_json, events, get,
    now_rfc2822, pace, page, participant_json,
};

pub(super) fn list_conferences(shared: &Shared, query: &[(String, String)]) -> Reply {
    let name = get(query, "FriendlyName");
    let status = get(query, "Status");
    let state = shared.state();
    let items = state
        .conferences
        .values()
        .filter(|c| name.is_none_or(|n| c.friendly_name == n))
        .filter(|c| status.is_none_or(|s| c.status == s))
        .map(|c| conference_json(shared, c))
        .collect();
    Reply::ok(200, page("conferences", items))
}

/// The conference a path segment names: a `CF` SID, or (CreateParticipant only) a friendly name.
pub(super) fn conference_sid(shared: &Shared, segment: &str, create: bool) -> Option<String> {
    let mut state = shared.state();
    if is_sid(segment, "CF") {
        return state
            .conferences
            .contains_key(segment)
            .then(|| segment.to_owned());
    }
    if let Some(conf) = state
        .conferences
        .values()
        .find(|c| c.friendly_name == segment && c.status != "completed")
    {
        return Some(conf.sid.clone());
    }
    if !create {
        return None;
    }
    let sid = shared.new_sid("CF");
    state.conferences.insert(
        sid.clone(),
        Conference {
            sid: sid.clone(),
            friendly_name: segment.to_owned(),
            status: "init".to_owned(),
            status_callback: None,
            events: Vec::new(),
            participants: Vec::new(),
            seq: 0,
        },
    );
    Some(sid)
}

pub(super) fn create_participant(
    shared: &Arc<Shared>,
    conference: &str,
    form: &[(String, String)],
) -> Reply {
    let Some(to) = get(form, "To") else {
        return Reply::error(400, 21201, "No 'To' number is specified");
    };
    let Some(from) = get(form, "From") else {
        return Reply::error(400, 21213, "No 'From' number is specified");
    };
    for check in [
        check_url(form, "StatusCallback"),
        check_method(form, "StatusCallbackMethod"),
    ] {
        if let Err(reply) = check {
            return reply;
        }
    }
    let events = match events(form, "StatusCallbackEvent", &CALL_EVENTS, true) {
        Ok(e) => e,
        Err(reply) => return reply,
    };
    let end_on_exit = match check_bool(form, "EndConferenceOnExit") {
        Ok(v) => v.unwrap_or(false),
        Err(reply) => return reply,
    };
    let muted = match check_bool(form, "Muted") {
        Ok(v) => v.unwrap_or(false),
        Err(reply) => return reply,
    };
    if let Err(reply) = pace(shared) {
        return reply;
    }
    let Some(conf_sid) = conference_sid(shared, conference, true) else {
        return Reply::not_found(conference);
    };
    let cfg = ParticipantCfg {
        conference: conf_sid,
        label: get(form, "Label").map(str::to_owned),
        end_on_exit,
        hold: false,
        muted,
    };
    let sid = shared.new_sid("CA");
    let call = FakeCall {
        sid: sid.clone(),
        parent: None,
        to: to.to_owned(),
        from: from.to_owned(),
        status: "queued".to_owned(),
        direction: "outbound-api".to_owned(),
        played_digits: Vec::new(),
        redirects: Vec::new(),
        status_callback: get(form, "StatusCallback").map(str::to_owned),
        events,
        url: None,
        twiml: None,
        timeout_answered_at: None,
        seq: 0,
        bridge: Bridge::None,
        amd: get(form, "MachineDetection").map(|m| {
            (
                m.to_owned(),
                get(form, "AmdStatusCallback").map(str::to_owned),
            )
        }),
        participant: Some(cfg.clone()),
        created: now_rfc2822(),
    };
    let body = participant_json(shared, &call, &cfg, "queued");
    shared.state().calls.insert(sid.clone(), call);
    sim::spawn(shared, move |shared| async move {
        sim::participant(&shared, &sid).await;
    });
    Reply::ok(201, body)
}

pub(super) fn update_participant(
    shared: &Arc<Shared>,
    conference: &str,
    call_sid: &str,
    form: &[(String, String)],
    path: &str,
) -> Reply {
    let Some(conf_sid) = conference_sid(shared, conference, false) else {
        return Reply::not_found(path);
    };
    let (hold, muted, end) = match (
        check_bool(form, "Hold"),
        check_bool(form, "Muted"),
        check_bool(form, "EndConferenceOnExit"),
    ) {
        (Ok(h), Ok(m), Ok(e)) => (h, m, e),
        (Err(r), _, _) | (_, Err(r), _) | (_, _, Err(r)) => return r,
    };
    let (call, cfg) = {
        let mut state = shared.state();
        let in_conf = state
            .conferences
            .get(&conf_sid)
            .is_some_and(|c| c.participants.iter().any(|p| p == call_sid));
        let Some(call) = state.calls.get_mut(call_sid).filter(|_| in_conf) else {
            return Reply::not_found(path);
        };
        let cfg = call.participant.get_or_insert_with(|| ParticipantCfg {
            conference: conf_sid.clone(),
            label: None,
            end_on_exit: false,
            hold: false,
            muted: false,
        });
        let mut changes = Vec::new();
        if let Some(h) = hold.filter(|h| *h != cfg.hold) {
            cfg.hold = h;
            changes.push(if h {
                "participant-hold"
            } else {
                "participant-unhold"
            });
        }
        if let Some(m) = muted.filter(|m| *m != cfg.muted) {
            cfg.muted = m;
            changes.push(if m {
                "participant-mute"
            } else {
                "participant-unmute"
            });
        }
        if let Some(e) = end {
            cfg.end_on_exit = e;
            if let Bridge::Conference { end_on_exit, .. } = &mut call.bridge {
                *end_on_exit = e;
            }
        }
        let cfg = cfg.clone();
        let call = call.clone();
        for change in changes {
            let conf = conf_sid.clone();
            let sid = call_sid.to_owned();
            sim::spawn(shared, move |shared| async move {
                sim::conference_event(&shared, &conf, change, Some(&sid)).await;
            });
        }
        (call, cfg)
    };
    Reply::ok(200, participant_json(shared, &call, &cfg, "connected"))
}

pub(super) fn delete_participant(
    shared: &Arc<Shared>,
    conference: &str,
    call_sid: &str,
    path: &str,
) -> Reply {
    let Some(conf_sid) = conference_sid(shared, conference, false) else {
        return Reply::not_found(path);
    };
    let present = shared
        .state()
        .conferences
        .get(&conf_sid)
        .is_some_and(|c| c.participants.iter().any(|p| p == call_sid));
    if !present {
        return Reply::not_found(path);
    }
    let sid = call_sid.to_owned();
    sim::spawn(shared, move |shared| async move {
        sim::kick(&shared, &sid).await;
    });
    Reply {
        status: 204,
        body: None,
        retry_after: None,
    }
}
