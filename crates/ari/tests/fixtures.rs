//! The recorded ARI transcripts of a real Asterisk 22 (`testdata/asterisk-22/ari/*.jsonl`):
//! every recorded event parses into its typed variant, every recorded error maps to the right
//! typed error, and every recorded success body parses into its documented model.

use hookflash_ari::{
    Application, AsteriskInfo, Bridge, Channel, Error, Event, LiveRecording, Playback,
    StoredRecording, Variable,
};
use serde_json::Value;

fn transcripts() -> Vec<(String, Vec<Value>)> {
    let dir = format!("{}/ari", hookflash_testkit::fixtures_dir().display());
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{dir}: {e}")) {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("jsonl") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        out.push((
            path.file_name().unwrap().to_string_lossy().into_owned(),
            lines,
        ));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(out.len(), 5, "expected the five ARI transcripts in {dir}");
    out
}

#[test]
fn every_recorded_event_parses_into_its_typed_variant() {
    let mut count = 0;
    let mut seen = std::collections::BTreeSet::new();
    for (file, lines) in transcripts() {
        for line in lines.iter().filter(|l| l["kind"] == "ws") {
            let message = line["message"].clone();
            let event = Event::from_value(message.clone()).unwrap_or_else(|e| {
                panic!("{file}: {} does not parse: {e}\n{message}", message["type"])
            });
            assert!(
                !matches!(event, Event::Unknown(_)),
                "{file}: {} fell back to raw",
                message["type"]
            );
            assert_eq!(event.type_name(), message["type"].as_str().unwrap());
            assert_eq!(
                event.to_value().unwrap(),
                message,
                "{file}: {} changed in a round trip",
                message["type"]
            );
            seen.insert(event.type_name().to_owned());
            count += 1;
        }
    }
    assert_eq!(count, 141, "recorded WebSocket events");
    for t in [
        "StasisStart",
        "StasisEnd",
        "Dial",
        "ChannelEnteredBridge",
        "RecordingFinished",
        "ApplicationReplaced",
    ] {
        assert!(seen.contains(t), "{t} not seen");
    }
}

#[test]
fn every_recorded_error_maps_to_its_typed_error() {
    let mut count = 0;
    for (file, lines) in transcripts() {
        for line in lines.iter().filter(|l| l["kind"] == "http") {
            let status = line["status"].as_u64().unwrap() as u16;
            if status < 400 {
                continue;
            }
            let body = serde_json::to_vec(&line["response_body"]).unwrap();
            let err = Error::from_response(status, &body);
            let expected = line["response_body"]["message"].as_str().unwrap();
            assert_eq!(err.message(), Some(expected), "{file}: {line}");
            assert_eq!(err.status(), Some(status));
            let ok = match status {
                400 => matches!(err, Error::BadRequest { .. }),
                401 => matches!(err, Error::Unauthorized { .. }),
                404 => err.is_not_found(),
                405 => matches!(err, Error::MethodNotAllowed { .. }),
                409 => err.is_conflict(),
                412 => matches!(err, Error::PreconditionFailed { .. }),
                422 => matches!(err, Error::Unprocessable { .. }),
                500..=599 => matches!(err, Error::Server { .. }),
                _ => false,
            };
            assert!(ok, "{file}: status {status} gave {err:?}");
            count += 1;
        }
    }
    assert_eq!(count, 25, "recorded error responses");
}

#[test]
fn every_recorded_success_body_parses_into_its_model() {
    let mut count = 0;
    for (file, lines) in transcripts() {
        for line in lines
            .iter()
            .filter(|l| l["kind"] == "http" && l["status"].as_u64() < Some(300))
        {
            let body = line["response_body"].clone();
            if body.is_null() {
                continue;
            }
            let method = line["method"].as_str().unwrap();
            let path = line["path"]
                .as_str()
                .unwrap()
                .split('?')
                .next()
                .unwrap()
                .to_owned();
            let parts: Vec<&str> = path.trim_start_matches("/ari/").split('/').collect();
            let result = match (method, parts.as_slice()) {
                ("GET", ["asterisk", "info"]) => check::<AsteriskInfo>(&body),
                ("GET", ["applications"]) => check::<Vec<Application>>(&body),
                ("GET", ["applications", _]) => check::<Application>(&body),
                ("POST", ["channels"] | ["channels", "create"]) | ("GET", ["channels", _]) => {
                    check::<Channel>(&body)
                }
                ("POST", ["channels", _, "play"]) => check::<Playback>(&body),
                ("GET", ["channels", _, "variable"]) => check::<Variable>(&body),
                ("POST", ["bridges"]) => check::<Bridge>(&body),
                ("POST", ["bridges", _, "record"]) => check::<LiveRecording>(&body),
                ("GET", ["recordings", "stored", _]) => check::<StoredRecording>(&body),
                other => panic!("{file}: no model for {other:?}"),
            };
            result.unwrap_or_else(|e| panic!("{file}: {method} {path}: {e}\n{body}"));
            count += 1;
        }
    }
    assert_eq!(count, 18, "recorded success bodies");
}

fn check<T: serde::de::DeserializeOwned + serde::Serialize>(body: &Value) -> Result<(), String> {
    let typed: T = serde_json::from_value(body.clone()).map_err(|e| e.to_string())?;
    let back = serde_json::to_value(&typed).map_err(|e| e.to_string())?;
    if &back != body {
        return Err(format!("round trip changed the body: {back}"));
    }
    Ok(())
}
