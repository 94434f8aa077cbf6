//! AMI scenarios: the mock AMI server replays each transcript while the actions it shows the
//! client sending are issued through AmiProvider's own methods; the provider's leg events go
//! through the tracker and the records are compared with expected.json. Every action the
//! provider sent must equal the transcript's bytes (ActionIDs aside).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use hookflash_ami::mock::{MockServer, Transcript};
use hookflash_ami::{Action, AmiConfig, Message, ReconnectPolicy};
use hookflash_asterisk::{AmiProvider, AmiProviderConfig};
use hookflash_provider::{
    BlindTransferRequest, CallId, CallProvider, Capability, LegId, MediaDirection,
    OriginateRequest, ParkRequest, ProviderError, RecordingRequest, Support, TenantId,
};
use libtest_mimic::Trial;
use serde_json::Value;

use crate::common::{self, Fixtures, Shared};

/// One trial per `ami/*` scenario of expected.json, and one for the declared capability gaps.
pub(crate) fn trials(fixtures: &Fixtures) -> Vec<Trial> {
    let mut trials: Vec<Trial> = fixtures
        .scenarios("ami")
        .into_iter()
        .map(|(name, scenario)| {
            let dir = fixtures.dir.clone();
            Trial::test(format!("ami::{name}"), move || {
                run(&dir, &name, &scenario).map_err(Into::into)
            })
        })
        .collect();
    let dir = fixtures.dir.clone();
    trials.push(Trial::test("ami::capability-gaps", move || {
        capability_gaps(&dir).map_err(Into::into)
    }));
    trials
}

/// What AMI cannot do is declared, and the command says so: answering a leg (no Answer
/// action) is unsupported; hold is emulated.
fn capability_gaps(dir: &Path) -> Result<(), String> {
    let rt = common::runtime()?;
    rt.block_on(async {
        let mock = MockServer::start(vec![transcript(dir, "login-plain")?])
            .await
            .map_err(|e| format!("mock: {e}"))?;
        let provider = AmiProvider::connect(config(mock.addr().port()))
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let caps = provider.capabilities();
        if caps.supports(Capability::Answer) {
            return Err("answer is declared supported".to_owned());
        }
        let leg = LegId::new("1795315411.4").map_err(|e| e.to_string())?;
        match provider.answer(&leg).await {
            Err(ProviderError::Unsupported {
                capability: Capability::Answer,
                ..
            }) => {}
            other => return Err(format!("answer: expected Unsupported, got {other:?}")),
        }
        if !matches!(caps.support(Capability::Hold), Support::Emulated { .. }) {
            return Err(format!("hold: {:?}", caps.support(Capability::Hold)));
        }
        let missing: Vec<&str> = Capability::ALL
            .iter()
            .filter(|c| **c != Capability::Answer && !caps.supports(**c))
            .map(|c| c.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(format!("undeclared: {missing:?}"));
        }
        Ok(())
    })
}

fn transcript(dir: &Path, name: &str) -> Result<Transcript, String> {
    Transcript::from_file(dir.join("ami").join(format!("{name}.jsonl")))
        .map_err(|e| format!("ami/{name}.jsonl: {e}"))
}

/// Replays one scenario (or, with `replay_after`, two transcripts as one session across a
/// reconnect) and checks records and wire bytes.
pub(crate) fn run(dir: &Path, name: &str, scenario: &Value) -> Result<(), String> {
    let mut transcripts = Vec::new();
    let first = scenario.get("replay_after").and_then(Value::as_str);
    if let Some(first) = first {
        transcripts.push(transcript(dir, first)?);
    }
    transcripts.push(transcript(dir, name)?);
    let rt = common::runtime()?;
    rt.block_on(replay(transcripts, scenario))
}

fn config(port: u16) -> AmiProviderConfig {
    let mut ami = AmiConfig::new("127.0.0.1", port, "ami", "amipass");
    ami.keepalive = None;
    ami.event_buffer = 1 << 16;
    // Generous: replaying the 13 MB load transcript on a busy 2-core CI machine is slow, and
    // sync() waits for the mock to reach its Ping.
    ami.action_timeout = Duration::from_secs(120);
    ami.reconnect = ReconnectPolicy {
        enabled: true,
        initial: Duration::from_millis(20),
        max: Duration::from_millis(100),
    };
    let mut config = AmiProviderConfig::new(ami);
    config.event_buffer = 1 << 16;
    config
}

async fn replay(transcripts: Vec<Transcript>, scenario: &Value) -> Result<(), String> {
    let sessions = transcripts.len();
    let driven = transcripts[0].clone();
    let mock = MockServer::start(transcripts.clone())
        .await
        .map_err(|e| format!("mock: {e}"))?;
    let provider = AmiProvider::connect(config(mock.addr().port()))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let fed = common::shared();
    let consumer = tokio::spawn(common::consume(provider.events(), fed.clone()));

    drive(&provider, &driven, &fed).await?;
    if sessions > 1 {
        // The provider resyncs by itself after the reconnect (CoreShowChannels).
        wait_until("the resync after the reconnect", || {
            fed.lock().map(|f| f.resyncs > 0).unwrap_or(false)
        })
        .await?;
    }
    provider.sync().await.map_err(|e| format!("sync: {e}"))?;
    // Dropping the provider logs off: the mock sends the rest of the transcript and closes,
    // and the event stream ends once everything was read.
    drop(provider);
    tokio::time::timeout(Duration::from_secs(120), consumer)
        .await
        .map_err(|_| "the event stream did not end".to_owned())?
        .map_err(|e| format!("consumer: {e}"))?;

    {
        let f = fed.lock().map_err(|_| "poisoned".to_owned())?;
        if f.lagged > 0 {
            return Err(format!("the consumer lagged by {} events", f.lagged));
        }
        if sessions > 1 && (f.disconnects != 1 || f.resyncs != 1) {
            return Err(format!(
                "expected one disconnect and one resync, got {} and {}",
                f.disconnects, f.resyncs
            ));
        }
    }
    for (i, t) in transcripts.iter().enumerate() {
        wire_check(&t.sends(), &mock.received(i)).map_err(|e| format!("session {i}: {e}"))?;
    }
    let (records, open) = common::records(&fed);
    common::compare(scenario, &records, open)?;
    Ok(())
}

/// Polls `cond` until it holds (the mock streams the events a command depends on before it
/// waits for that command).
async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) -> Result<(), String> {
    for _ in 0..4000 {
        if cond() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Err(format!("timed out waiting for {what}"))
}

async fn leg_of(provider: &AmiProvider, channel: &str) -> Result<LegId, String> {
    let mut found = None;
    wait_until(&format!("channel {channel}"), || {
        found = provider.leg_for_channel(channel);
        found.is_some()
    })
    .await?;
    found.ok_or_else(|| format!("no leg for {channel}"))
}

fn header<'a>(m: &'a Message, key: &str) -> Result<&'a str, String> {
    m.get_str(key)
        .ok_or_else(|| format!("transcript action without {key}"))
}

fn variables(m: &Message) -> BTreeMap<String, String> {
    m.get_all("Variable")
        .filter_map(|v| {
            let v = v.to_str_lossy().into_owned();
            v.split_once('=').map(|(a, b)| (a.to_owned(), b.to_owned()))
        })
        .collect()
}

fn millis(m: &Message, key: &str) -> Option<Duration> {
    m.get_str(key)
        .and_then(|t| t.trim().parse::<u64>().ok())
        .map(Duration::from_millis)
}

/// `"Hookflash Outbound" <18005550100>` → name and number.
fn caller_id(value: &str) -> (Option<String>, Option<String>) {
    let number = value
        .rsplit_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(n, _)| n.to_owned());
    let name = value
        .split('"')
        .nth(1)
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    (name, number)
}

/// The transcript's action, as is (minus its ActionID), for actions no provider method stands
/// for (status queries, deliberately malformed requests).
fn raw(m: &Message) -> Action {
    let mut name = String::new();
    let mut headers = Vec::new();
    for (k, v) in m.fields() {
        let k = String::from_utf8_lossy(k).into_owned();
        let v = String::from_utf8_lossy(v).into_owned();
        if k.eq_ignore_ascii_case("Action") {
            name = v;
        } else if !k.eq_ignore_ascii_case("ActionID") {
            headers.push((k, v));
        }
    }
    let mut action = Action::new(name);
    for (k, v) in headers {
        action.push(k, v);
    }
    action
}

/// Issues every action of the transcript, through the provider's methods where one stands for
/// it.
async fn drive(provider: &AmiProvider, t: &Transcript, fed: &Shared) -> Result<(), String> {
    let mut current: Option<CallId> = None;
    for m in t.sends() {
        let action = m.get_str("Action").unwrap_or_default().to_ascii_lowercase();
        let result = match action.as_str() {
            "login" | "logoff" | "challenge" => continue,
            "originate" if m.get_str("Channel").is_some() => {
                let vars = variables(&m);
                let call_id: CallId = vars
                    .get("HOOKFLASH_CALL_ID")
                    .ok_or("originate without HOOKFLASH_CALL_ID")?
                    .parse()
                    .map_err(|e| format!("call id: {e}"))?;
                let endpoint = header(&m, "Channel")?;
                let exten = header(&m, "Exten")?;
                let ring = millis(&m, "Timeout").unwrap_or(Duration::from_secs(30));
                if m.get_str("Context") == Some("parkedcalls") {
                    provider.pickup_parked(call_id, endpoint, exten, ring).await
                } else {
                    current = Some(call_id);
                    let mut request =
                        OriginateRequest::new(call_id, TenantId::new_random(), endpoint, exten);
                    let (name, number) = caller_id(m.get_str("CallerID").unwrap_or_default());
                    request.caller_name = name;
                    request.caller_id = number;
                    request.agent_ring_timeout = ring;
                    if let Some(secs) = vars.get("DIAL_TIMEOUT") {
                        let secs: u64 = secs.parse().map_err(|e| format!("DIAL_TIMEOUT: {e}"))?;
                        request.customer_ring_timeout = Duration::from_secs(secs);
                    }
                    request.trunk = vars.get("HOOKFLASH_TRUNK").cloned();
                    for (k, v) in vars {
                        if !["HOOKFLASH_CALL_ID", "DIAL_TIMEOUT", "HOOKFLASH_TRUNK"]
                            .contains(&k.as_str())
                        {
                            request
                                .variables
                                .insert(&k, &v)
                                .map_err(|e| format!("recorded variable: {e}"))?;
                        }
                    }
                    provider.originate(request).await
                }
            }
            "blindtransfer" => {
                let transferer = leg_of(provider, header(&m, "Channel")?).await?;
                let leg = provider
                    .bridge_peers(&transferer)
                    .into_iter()
                    .next()
                    .unwrap_or_else(|| transferer.clone());
                provider
                    .blind_transfer(BlindTransferRequest {
                        call_id: current.ok_or("transfer before any call")?,
                        leg,
                        transferer: Some(transferer),
                        destination: header(&m, "Exten")?.to_owned(),
                    })
                    .await
            }
            "redirect" => {
                let leg = leg_of(provider, header(&m, "Channel")?).await?;
                provider
                    .blind_transfer(BlindTransferRequest {
                        call_id: current.ok_or("redirect before any call")?,
                        leg,
                        transferer: None,
                        destination: header(&m, "Exten")?.to_owned(),
                    })
                    .await
            }
            "park" => {
                let leg = leg_of(provider, header(&m, "Channel")?).await?;
                let parker = match m.get_str("TimeoutChannel") {
                    Some(c) => Some(leg_of(provider, c).await?),
                    None => None,
                };
                provider
                    .park(ParkRequest {
                        call_id: current.ok_or("park before any call")?,
                        leg,
                        parker,
                        lot: m.get_str("Parkinglot").map(str::to_owned),
                        timeout: millis(&m, "Timeout"),
                    })
                    .await
            }
            "mixmonitor" => {
                let leg = leg_of(provider, header(&m, "Channel")?).await?;
                let call_id = current.ok_or("recording before any call")?;
                // The file is named by the provider from our ids; Asterisk reports where it
                // went (`MIXMONITOR_FILENAME`), which is what the record keeps.
                provider
                    .start_recording(RecordingRequest::new(call_id, leg))
                    .await
                    .map(|_| ())
            }
            "stopmixmonitor" => {
                let leg = leg_of(provider, header(&m, "Channel")?).await?;
                provider.stop_recording(&leg, "").await
            }
            "muteaudio" => {
                let direction = match m.get_str("Direction") {
                    Some("in") => Some(MediaDirection::In),
                    Some("out") => Some(MediaDirection::Out),
                    Some("all") => Some(MediaDirection::Both),
                    _ => None,
                };
                match direction {
                    Some(direction) => {
                        let leg = leg_of(provider, header(&m, "Channel")?).await?;
                        if m.get_str("State") == Some("on") {
                            provider.mute(&leg, direction).await
                        } else {
                            provider.unmute(&leg, direction).await
                        }
                    }
                    // A direction the provider's types cannot express (the transcript's
                    // error case): sent as recorded.
                    None => provider
                        .client()
                        .send(raw(&m))
                        .await
                        .map(|_| ())
                        .map_err(|e| hookflash_provider::ProviderError::Rejected {
                            reason: e.to_string(),
                        }),
                }
            }
            "playdtmf" => {
                let leg = leg_of(provider, header(&m, "Channel")?).await?;
                let digit = header(&m, "Digit")?;
                if m.get_str("Receive") == Some("true") {
                    provider.inject_dtmf(&leg, digit).await
                } else {
                    provider.send_dtmf(&leg, digit).await
                }
            }
            "coreshowchannels" => provider.snapshot().await.map(|_| ()),
            "status" | "bridgelist" | "queuestatus" => {
                let _ = provider.client().send_list(raw(&m)).await;
                Ok(())
            }
            _ => {
                let _ = provider.client().send(raw(&m)).await;
                Ok(())
            }
        };
        // Errors the transcript shows Asterisk answering (e.g. a bad MuteAudio direction) are
        // part of the scenario; anything else fails it.
        if let Err(e) = result
            && !expected_error(&m)
        {
            return Err(format!("{action}: {e}"));
        }
    }
    let _ = fed;
    Ok(())
}

fn expected_error(m: &Message) -> bool {
    m.get_str("Direction") == Some("sideways")
}

/// A MixMonitor `File` as compared with the capture: the capture named a recording after its
/// call (`hookflash-<call id>.wav`); the provider now adds the recording's own id
/// (`hookflash-<call id>-<recording id>.wav`). Both compare as `hookflash-<call id>.<ext>`;
/// anything else (a directory, another name) is compared as it is, and differs.
fn recording_file_key(file: &str) -> String {
    let Some((stem, ext)) = file.rsplit_once('.') else {
        return file.to_owned();
    };
    let ours = stem.strip_prefix("hookflash-").filter(|rest| {
        !file.contains('/') && rest.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
    });
    match ours.and_then(|rest| rest.get(..36)) {
        Some(call) if stem.len() == 10 + 36 || stem.len() == 10 + 36 + 1 + 36 => {
            format!("hookflash-{call}.{ext}")
        }
        _ => file.to_owned(),
    }
}

/// Every action the client sent equals the transcript's, field for field and in order, with
/// ActionIDs aside.
fn wire_check(recorded: &[Message], received: &[Message]) -> Result<(), String> {
    let strip = |m: &Message| -> Vec<(String, String)> {
        m.fields()
            .filter(|(k, _)| !k.eq_ignore_ascii_case(b"ActionID"))
            .map(|(k, v)| {
                let (k, v) = (String::from_utf8_lossy(k), String::from_utf8_lossy(v));
                let v = if k == "File" {
                    recording_file_key(&v)
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect()
    };
    // The suite's own barrier (a Ping) and the Logoff (written as the client closes, maybe
    // after the mock stopped reading) are not the provider's commands; nor are its dialplan
    // checks (Getvar of DIALPLAN_EXISTS at connect and before a transfer), which came after
    // the transcripts were captured and change nothing on the PBX.
    let ours = |m: &&Message| {
        let a = m.get_str("Action").unwrap_or_default();
        !a.eq_ignore_ascii_case("Ping")
            && !a.eq_ignore_ascii_case("Logoff")
            && !a.eq_ignore_ascii_case("Getvar")
    };
    let recorded: Vec<&Message> = recorded.iter().filter(ours).collect();
    let received: Vec<&Message> = received.iter().filter(ours).collect();
    if recorded.len() != received.len() {
        return Err(format!(
            "the transcript has {} actions, the provider sent {}: {:?}",
            recorded.len(),
            received.len(),
            received.iter().map(|m| strip(m)).collect::<Vec<_>>()
        ));
    }
    for (i, (want, got)) in recorded.iter().zip(&received).enumerate() {
        let (want, got) = (strip(want), strip(got));
        if want != got {
            return Err(format!(
                "action {i} differs:\n  transcript {want:?}\n  sent       {got:?}"
            ));
        }
    }
    Ok(())
}
