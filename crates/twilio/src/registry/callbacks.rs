//! The other callbacks: `<Dial>` actions, answering-machine detection, recordings and
//! conferences.

use chrono::{DateTime, Utc};
use hookflash_provider::{CallId, DialOutcome, LegEvent, LegEventKind, MediaDirection};

use super::{Params, TwilioTranslator, leg_id, timestamp};

impl TwilioTranslator {
    /// A `<Dial>` action callback: the dialling leg's `<Dial>` is over (`DialCallStatus`).
    /// Returns [`LegEventKind::DialFailed`] on the dialling leg when the dial created no leg
    /// (nothing else will report on it).
    pub fn dial_action(
        &mut self,
        call_id: CallId,
        params: &Params,
        now: DateTime<Utc>,
    ) -> Vec<LegEvent> {
        let Some(sid) = params.get("CallSid") else {
            return Vec::new();
        };
        if let Some(leg) = self.legs.get_mut(sid) {
            leg.dial_action_seen = true;
        }
        let mut out = Vec::new();
        let status = match params.get("DialCallStatus").unwrap_or_default() {
            "busy" => Some(DialOutcome::Busy),
            "no-answer" => Some(DialOutcome::NoAnswer),
            "failed" => Some(DialOutcome::ChanUnavail),
            _ => None,
        };
        if let Some(status) = status
            && params.get("DialCallSid").is_none()
        {
            // Twilio never created the dialled leg: report on the dialler.
            out.extend(self.event(
                sid,
                call_id,
                timestamp(params, now),
                LegEventKind::DialFailed { status },
            ));
        }
        out
    }

    /// An answering-machine-detection callback (`AnsweredBy`, passed on as a variable).
    pub fn amd_callback(
        &mut self,
        call_id: CallId,
        params: &Params,
        now: DateTime<Utc>,
    ) -> Vec<LegEvent> {
        let (Some(sid), Some(answered_by)) = (params.get("CallSid"), params.get("AnsweredBy"))
        else {
            return Vec::new();
        };
        self.event(
            sid,
            call_id,
            timestamp(params, now),
            LegEventKind::VariableSet {
                name: "AnsweredBy".to_owned(),
                value: answered_by.to_owned(),
            },
        )
        .into_iter()
        .collect()
    }

    /// A recording status callback: started, paused, stopped.
    pub fn recording_callback(
        &mut self,
        call_id: CallId,
        params: &Params,
        now: DateTime<Utc>,
    ) -> Vec<LegEvent> {
        let Some(sid) = params.get("CallSid") else {
            return Vec::new();
        };
        let file = params.get("RecordingSid").map(str::to_owned);
        let at = timestamp(params, now);
        let kind = match params.get("RecordingStatus").unwrap_or_default() {
            "in-progress" => LegEventKind::RecordingStarted { file },
            "completed" | "absent" | "failed" | "stopped" => {
                LegEventKind::RecordingStopped { file }
            }
            "paused" => LegEventKind::RecordingPaused,
            _ => return Vec::new(),
        };
        self.event(sid, call_id, at, kind).into_iter().collect()
    }

    /// A conference status callback (`StatusCallbackEvent` participant-join, -leave, -hold,
    /// -unhold, -mute, -unmute; conference-start/end only record the conference SID).
    pub fn conference_callback(
        &mut self,
        call_id: CallId,
        params: &Params,
        now: DateTime<Utc>,
    ) -> Vec<LegEvent> {
        let Some(conference) = params.get("ConferenceSid").map(str::to_owned) else {
            return Vec::new();
        };
        self.set_conference(call_id, &conference);
        let Some(sid) = params.get("CallSid").map(str::to_owned) else {
            return Vec::new();
        };
        let at = timestamp(params, now);
        let kind = match params.get("StatusCallbackEvent").unwrap_or_default() {
            "participant-join" => LegEventKind::Bridged {
                bridge: conference,
                with: self.peer_of(&sid).and_then(|p| leg_id(&p)),
            },
            "participant-leave" => LegEventKind::Unbridged { bridge: conference },
            "participant-hold" => LegEventKind::Held,
            "participant-unhold" => LegEventKind::Unheld,
            "participant-mute" => LegEventKind::Muted {
                direction: MediaDirection::In,
            },
            "participant-unmute" => LegEventKind::Unmuted {
                direction: MediaDirection::In,
            },
            _ => return Vec::new(),
        };
        self.event(&sid, call_id, at, kind).into_iter().collect()
    }
}
