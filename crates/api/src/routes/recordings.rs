//! Recordings of a call: start, stop, pause, resume, list.
//!
//! A recording is a resource with our id from the moment it starts: `record/start` answers with
//! that id and `GET .../recordings` lists them. The file (or platform) name is built by the
//! provider from the call's and the recording's ids
//! ([`RecordingRequest::file_stem`]), so nothing a caller sends becomes a path: the caller's
//! `label` is stored as metadata only, and the format is one of [`RecordingFormat`]'s.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use chrono::{DateTime, Utc};
use hookflash_provider::{RecordingFormat, RecordingRequest};
use hookflash_store::{CallRow, Recording, StartedRecording};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody, Result};
use crate::extract::OptionalJson;
use crate::routes::calls::{ActionAccepted, PartySel, leg_of, live_call, provider_err};
use crate::routes::scope::{load_call, own_only};
use crate::state::{AppState, ServerEntry};

/// Longest accepted label.
const MAX_LABEL: usize = 200;

/// Body of `PUT .../record/start` (optional).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordBody {
    /// Your name for the recording (at most 200 characters, no control characters). Stored
    /// and shown as metadata; the file is always named by hookflash from its ids. `name` is
    /// accepted as an older spelling.
    #[serde(default, alias = "name")]
    pub label: Option<String>,
    /// The format: `wav` (default), `wav16`, `gsm`, `ulaw`, `alaw` or `g722`.
    #[serde(default)]
    pub format: Option<String>,
}

/// Body of `PUT .../record/stop`, `pause` and `resume` (optional).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordingSel {
    /// Our id of the recording (as `record/start` returned it); default: the call's latest.
    #[serde(default)]
    pub recording: Option<String>,
}

/// A recording as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RecordingView {
    /// Our id of the recording.
    pub id: String,
    /// The call recorded.
    pub call_id: Option<String>,
    /// The caller's label (metadata only).
    pub label: Option<String>,
    /// The format.
    pub format: String,
    /// The platform's name of it: the file Asterisk writes (AMI), the ARI recording's name,
    /// or Twilio's recording SID.
    pub name: String,
    /// When it started.
    pub created_at: DateTime<Utc>,
    /// When it was stopped through the API.
    pub stopped_at: Option<DateTime<Utc>>,
}

impl From<Recording> for RecordingView {
    fn from(r: Recording) -> Self {
        Self {
            id: r.id.to_string(),
            call_id: r.call_id.map(|c| c.to_string()),
            label: r.label,
            format: r.format,
            name: r.path,
            created_at: r.created_at,
            stopped_at: r.stopped_at,
        }
    }
}

fn check_label(label: Option<&str>) -> Result<()> {
    let Some(label) = label else { return Ok(()) };
    if label.trim().is_empty() || label.chars().count() > MAX_LABEL {
        return Err(ApiError::validation("label", "1 to 200 characters"));
    }
    if label.chars().any(char::is_control) {
        return Err(ApiError::validation(
            "label",
            "must not contain control characters",
        ));
    }
    Ok(())
}

fn parse_format(format: Option<&str>) -> Result<Option<RecordingFormat>> {
    format
        .map(|f| {
            f.parse::<RecordingFormat>().map_err(|_| {
                ApiError::validation("format", "one of wav, wav16, gsm, ulaw, alaw, g722")
            })
        })
        .transpose()
}

fn accepted(
    row: &CallRow,
    action: &str,
    recording: Option<String>,
) -> (StatusCode, Json<ActionAccepted>) {
    (
        StatusCode::ACCEPTED,
        Json(ActionAccepted {
            call_id: row.id.to_string(),
            action: action.to_owned(),
            recording,
        }),
    )
}

/// Starts recording the call (its bridge, or the agent's leg); answers with our id of the
/// recording.
#[utoipa::path(put, path = "/api/v1/calls/{id}/record/start", tag = "calls",
    params(("id" = String, Path, description = "Call id")),
    request_body(content = Option<RecordBody>),
    responses((status = 202, body = ActionAccepted,
            description = "Started; `recording` is our id of the new recording"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn record_start(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<RecordBody>,
) -> Result<(StatusCode, Json<ActionAccepted>)> {
    check_label(body.label.as_deref())?;
    let format = parse_format(body.format.as_deref())?;
    let (row, entry) = live_call(&state, &caller, &uri, &id).await?;
    let leg = leg_of(&row, PartySel::Agent).or_else(|_| leg_of(&row, PartySel::Customer))?;
    let mut request = RecordingRequest::new(row.call_id(), leg.clone());
    request.format = format;
    let recording = request.id;
    let name = entry
        .provider
        .start_recording(request)
        .await
        .map_err(|e| provider_err(&entry, e))?;
    let started = StartedRecording {
        id: recording,
        call_id: row.call_id(),
        path: name.clone(),
        format: format.unwrap_or_default().to_string(),
        label: body.label,
    };
    if let Err(e) = state
        .store()
        .recordings()
        .start(caller.tenant, &started)
        .await
    {
        // A recording nobody can address must not run on.
        if let Err(stop) = entry.provider.stop_recording(&leg, &name).await {
            tracing::warn!(error = %stop, %recording, "could not stop an unstored recording");
        }
        return Err(e.into());
    }
    tracing::info!(call_id = %row.id, %recording, name, "recording started");
    Ok(accepted(&row, "record_start", Some(recording.to_string())))
}

/// The recording an action addresses: the one named (of this call: another call's or
/// tenant's is a 404), else the call's latest one still running; for a call recorded from its
/// start (no row of ours), the name the tracker saw.
async fn pick(
    state: &AppState,
    caller: &Caller,
    row: &CallRow,
    sel: &RecordingSel,
) -> Result<(Option<Uuid>, String)> {
    let not_recording = || ApiError::Conflict("the call is not being recorded".to_owned());
    if let Some(id) = &sel.recording {
        let id = Uuid::parse_str(id.trim()).map_err(|_| ApiError::NotFound("recording"))?;
        let found = state
            .store()
            .recordings()
            .get(caller.tenant, id)
            .await?
            .filter(|r| r.call_id == Some(row.id))
            .ok_or(ApiError::NotFound("recording"))?;
        if found.stopped_at.is_some() {
            return Err(ApiError::Conflict("the recording has stopped".to_owned()));
        }
        return Ok((Some(found.id), found.path));
    }
    let ours = state
        .store()
        .recordings()
        .for_call(caller.tenant, row.call_id())
        .await?;
    if ours.is_empty() {
        return row
            .recording_path
            .clone()
            .map(|p| (None, p))
            .ok_or_else(not_recording);
    }
    ours.into_iter()
        .rev()
        .find(|r| r.stopped_at.is_none())
        .map(|r| (Some(r.id), r.path))
        .ok_or_else(not_recording)
}

/// What stop, pause and resume do to a recording.
#[derive(Debug, Clone, Copy)]
enum Control {
    Stop,
    Pause,
    Resume,
}

async fn control(
    state: AppState,
    caller: Caller,
    uri: Uri,
    id: String,
    sel: RecordingSel,
    what: Control,
) -> Result<(StatusCode, Json<ActionAccepted>)> {
    let (row, entry): (CallRow, ServerEntry) = live_call(&state, &caller, &uri, &id).await?;
    let leg = leg_of(&row, PartySel::Agent).or_else(|_| leg_of(&row, PartySel::Customer))?;
    let (recording, name) = pick(&state, &caller, &row, &sel).await?;
    let p = &entry.provider;
    let (r, action) = match what {
        Control::Stop => (p.stop_recording(&leg, &name).await, "record_stop"),
        Control::Pause => (p.pause_recording(&leg, &name).await, "record_pause"),
        Control::Resume => (p.resume_recording(&leg, &name).await, "record_resume"),
    };
    r.map_err(|e| provider_err(&entry, e))?;
    if let (Control::Stop, Some(id)) = (what, recording) {
        state.store().recordings().stop(caller.tenant, id).await?;
    }
    Ok(accepted(&row, action, recording.map(|r| r.to_string())))
}

macro_rules! recording_control {
    ($name:ident, $path:literal, $what:expr, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(put, path = $path, tag = "calls",
            params(("id" = String, Path, description = "Call id")),
            request_body(content = Option<RecordingSel>),
            responses((status = 202, body = ActionAccepted), (status = 401, body = ErrorBody),
                (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
                (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)),
            security(("bearer" = [])))]
        pub(crate) async fn $name(
            State(state): State<AppState>,
            caller: Caller,
            uri: Uri,
            Path(id): Path<String>,
            OptionalJson(sel): OptionalJson<RecordingSel>,
        ) -> Result<(StatusCode, Json<ActionAccepted>)> {
            control(state, caller, uri, id, sel, $what).await
        }
    };
}

recording_control!(
    record_stop,
    "/api/v1/calls/{id}/record/stop",
    Control::Stop,
    "Stops a recording (default: the call's latest)."
);
recording_control!(
    record_pause,
    "/api/v1/calls/{id}/record/pause",
    Control::Pause,
    "Pauses a recording (default: the call's latest)."
);
recording_control!(
    record_resume,
    "/api/v1/calls/{id}/record/resume",
    Control::Resume,
    "Resumes a paused recording (default: the call's latest)."
);

/// The call's recordings started through the API, oldest first.
#[utoipa::path(get, path = "/api/v1/calls/{id}/recordings", tag = "calls",
    params(("id" = String, Path, description = "Call id")),
    responses((status = 200, body = [RecordingView]), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn list_recordings(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<Json<Vec<RecordingView>>> {
    let row = load_call(&state, &caller, &id, own_only(&caller, &uri)).await?;
    let found = state
        .store()
        .recordings()
        .for_call(caller.tenant, row.call_id())
        .await?;
    Ok(Json(found.into_iter().map(RecordingView::from).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_a_closed_set() {
        assert_eq!(
            parse_format(Some("gsm")).unwrap(),
            Some(RecordingFormat::Gsm)
        );
        assert_eq!(parse_format(None).unwrap(), None);
        for bad in ["/../../x", "wav/../../etc", "WAV", ""] {
            assert!(parse_format(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn labels_are_metadata_but_still_bounded() {
        assert!(check_label(Some("../../etc/asterisk/manager")).is_ok());
        assert!(check_label(Some("a\r\nb")).is_err());
        assert!(check_label(Some(&"x".repeat(201))).is_err());
        assert!(check_label(Some(" ")).is_err());
    }
}
