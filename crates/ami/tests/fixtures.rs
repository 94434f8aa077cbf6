//! Every AMI fixture transcript decodes to the messages its server bytes hold, whatever the
//! chunking; the load corpus is fully typed (or deliberately raw) with zero errors.

mod common;

use bytes::BytesMut;
use hookflash_ami::{AmiCodec, Event, Frame, Message, MessageKind, Response, decode_all};

/// An independent, naive reading of a server byte stream: split on blank lines.
fn reference(data: &[u8]) -> Vec<Vec<(Vec<u8>, Vec<u8>)>> {
    let text = data;
    let mut out = Vec::new();
    let mut first = true;
    for block in split_blank(text) {
        let mut fields = Vec::new();
        for line in block.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                continue;
            }
            if first && !line.contains(&b':') {
                first = false;
                continue;
            }
            first = false;
            let c = line.iter().position(|&b| b == b':').expect("colon");
            let v = &line[c + 1..];
            let v = v.strip_prefix(b" ").unwrap_or(v);
            fields.push((line[..c].to_vec(), v.to_vec()));
        }
        if !fields.is_empty() {
            out.push(fields);
        }
    }
    out
}

fn split_blank(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + 4 <= data.len() {
        if &data[i..i + 4] == b"\r\n\r\n" {
            out.push(&data[start..i + 2]);
            i += 4;
            start = i;
        } else {
            i += 1;
        }
    }
    out.push(&data[start..]);
    out
}

fn as_pairs(m: &Message) -> Vec<(Vec<u8>, Vec<u8>)> {
    m.fields().map(|(k, v)| (k.to_vec(), v.to_vec())).collect()
}

fn decode_chunks<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Vec<Message> {
    let mut codec = AmiCodec::default();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for c in chunks {
        buf.extend_from_slice(c);
        while let Some(f) = codec
            .decode_frame(&mut buf)
            .expect("no frame error in fixtures")
        {
            if let Frame::Message(m) = f {
                out.push(m);
            }
        }
    }
    assert!(
        buf.is_empty(),
        "left over: {:?}",
        String::from_utf8_lossy(&buf)
    );
    out
}

#[test]
fn every_transcript_decodes_whatever_the_chunking() {
    let names = common::transcript_names();
    assert!(names.len() >= 20, "{names:?}");
    for name in names {
        let entries = common::transcript(&name);
        let recv: Vec<&[u8]> = entries
            .iter()
            .filter(|(d, _)| d == "recv")
            .map(|(_, s)| s.as_bytes())
            .collect();
        let all: Vec<u8> = recv.concat();
        let on_disk =
            std::fs::read(common::ami_fixture(&format!("{name}.recv"))).expect("recv file");
        assert_eq!(all, on_disk, "{name}: jsonl recv != .recv");

        let expected = reference(&all);
        let real = decode_chunks(recv.iter().copied());
        assert_eq!(
            real.iter().map(as_pairs).collect::<Vec<_>>(),
            expected,
            "{name}: real chunks"
        );
        if name == "load" {
            continue; // the chunk sweeps below are done on the small transcripts
        }
        for size in [1usize, 2, 3, 7, 64, 1000, 65536] {
            let got = decode_chunks(all.chunks(size));
            assert_eq!(got, real, "{name}: chunk size {size}");
        }
    }
}

#[test]
fn park_response_with_bare_lf_decodes() {
    let data = std::fs::read(common::ami_fixture("park.recv")).expect("park");
    let (msgs, errs) = decode_all(&data);
    assert!(errs.is_empty());
    let park = msgs
        .iter()
        .find(|m| m.get_str("ActionID") == Some("park-2") && m.kind() == MessageKind::Response)
        .expect("park response");
    assert_eq!(park.get_str("Message"), Some("Park successful"));
}

#[test]
fn load_corpus_every_event_typed_or_deliberately_raw() {
    let data = std::fs::read(common::ami_fixture("load.recv")).expect("load.recv");
    let (msgs, errs) = decode_all(&data);
    assert!(errs.is_empty(), "{errs:?}");
    let (mut typed, mut raw, mut responses) = (0, 0, 0);
    let mut untyped = std::collections::BTreeSet::new();
    for m in msgs.iter().cloned() {
        match m.kind() {
            MessageKind::Event => {
                let e = Event::from_message(m).expect("event");
                if e.is_typed() {
                    typed += 1;
                } else if e.is_deliberately_raw() {
                    raw += 1;
                } else {
                    untyped.insert(e.name().to_string());
                }
            }
            MessageKind::Response => {
                Response::from_message(m).expect("response");
                responses += 1;
            }
            k => panic!("unexpected {k:?}"),
        }
    }
    assert!(
        untyped.is_empty(),
        "events neither typed nor deliberately raw: {untyped:?}"
    );
    println!(
        "load.recv: {} messages: {typed} typed events, {raw} deliberately raw, {responses} responses",
        msgs.len()
    );
    assert_eq!(msgs.len(), 26_991);
    assert_eq!(responses, 302);
}

#[test]
fn typed_fields_of_an_originated_agent_leg() {
    // The agent leg's DialBegin/DialEnd of an Originate have no Channel, only Dest*.
    let data = std::fs::read(common::ami_fixture("originate-answered.recv")).expect("fixture");
    let (msgs, _) = decode_all(&data);
    let events: Vec<Event> = msgs
        .into_iter()
        .filter_map(|m| Event::from_message(m).ok())
        .collect();
    let dial_end = events
        .iter()
        .find_map(|e| match e {
            Event::DialEnd(d) if d.channel.is_none() => Some(d),
            _ => None,
        })
        .expect("agent DialEnd");
    let dest = dial_end.dest.as_ref().expect("dest");
    assert_eq!(dest.channel(), Some("PJSIP/agent1001-00000004"));
    assert_eq!(dest.uniqueid(), Some("1795315411.4"));
    assert_eq!(
        dial_end
            .dial_status
            .as_ref()
            .map(|t| t.to_string())
            .as_deref(),
        Some("ANSWER")
    );
    let or = events
        .iter()
        .find_map(|e| match e {
            Event::OriginateResponse(o) => Some(o),
            _ => None,
        })
        .expect("OriginateResponse");
    assert_eq!(or.reason, Some(4));
    assert_eq!(
        or.action_id.as_ref().unwrap(),
        "orig-ea9d2b98-36ec-45fd-a8df-d93e92948875"
    );
    let hangups: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Hangup(h) => Some((
                h.channel
                    .as_ref()
                    .and_then(|c| c.uniqueid())
                    .unwrap_or("")
                    .to_string(),
                h.cause,
            )),
            _ => None,
        })
        .collect();
    assert_eq!(hangups.len(), 2);
    assert!(hangups.iter().all(|(_, c)| *c == Some(16)));
}

#[test]
fn command_output_in_the_output_format() {
    let data = std::fs::read(common::ami_fixture("status-and-lists.recv")).expect("fixture");
    let (msgs, _) = decode_all(&data);
    let r = msgs
        .into_iter()
        .filter_map(|m| Response::from_message(m).ok())
        .find(|r| r.action_id() == Some("command-19"))
        .expect("command-19");
    let out = r.output();
    assert!(
        out.contains("PJSIP/agent1001-00000000!hookflash-outbound"),
        "{out}"
    );
}
