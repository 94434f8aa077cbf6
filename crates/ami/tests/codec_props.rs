//! Property tests of the codec: round trip, chunking invariance, no panic on any input.

use bytes::BytesMut;
use hookflash_ami::{AmiCodec, AmiError, Frame, Message};
use proptest::prelude::*;

fn key() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9_()-]{0,15}"
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    // Any bytes but CR and LF (including ':', spaces and non-UTF-8).
    proptest::collection::vec(
        any::<u8>().prop_filter("no CR/LF", |b| *b != b'\r' && *b != b'\n'),
        0..40,
    )
}

fn message() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    proptest::collection::vec((key(), value()), 1..12)
        .prop_filter("not a legacy Follows response", |m| {
            !(m[0].0.eq_ignore_ascii_case("Response") && m[0].1.eq_ignore_ascii_case(b"Follows"))
        })
}

fn encode(msgs: &[Vec<(String, Vec<u8>)>]) -> Vec<u8> {
    let mut buf = BytesMut::new();
    buf.extend_from_slice(b"Asterisk Call Manager/11.0.0\r\n");
    for m in msgs {
        Message::from_pairs(m.iter().map(|(k, v)| (k.as_bytes(), v.as_slice()))).to_wire(&mut buf);
    }
    buf.to_vec()
}

fn decode(chunks: &[&[u8]]) -> Vec<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut c = AmiCodec::default();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        while let Some(f) = c.decode_frame(&mut buf).expect("valid stream") {
            if let Frame::Message(m) = f {
                out.push(m.fields().map(|(k, v)| (k.to_vec(), v.to_vec())).collect());
            }
        }
    }
    out
}

/// Decodes everything `buf` holds, checking the progress contract: every frame and every
/// error consumes input, so a caller that calls again after an error cannot spin. Returns how
/// many frames and errors there were, or what broke the contract.
fn drain(
    mut decode: impl FnMut(&mut BytesMut) -> Result<Option<Frame>, AmiError>,
    buf: &mut BytesMut,
) -> Result<usize, String> {
    let mut items = 0;
    // Each item consumes at least one byte: more calls than bytes is a spin.
    for _ in 0..=buf.len() {
        let before = buf.len();
        match decode(buf) {
            Ok(None) => return Ok(items),
            Ok(Some(_)) | Err(_) if buf.len() < before => items += 1,
            Ok(Some(_)) => return Err(format!("a frame consumed nothing ({before} bytes)")),
            Err(e) => return Err(format!("`{e}` consumed nothing ({before} bytes)")),
        }
    }
    Err(format!("no Ok(None) after {} items", items))
}

#[test]
fn the_progress_check_refuses_a_decoder_that_errs_forever_without_consuming() {
    let mut buf = BytesMut::from(&b"Event: X\r\n\r\ngarbage\r\n\r\n"[..]);
    let stuck = |_: &mut BytesMut| -> Result<Option<Frame>, AmiError> {
        Err(AmiError::MalformedLine {
            line: "garbage".to_owned(),
        })
    };
    assert!(drain(stuck, &mut buf).is_err());
    let mut c = AmiCodec::new(256, 8);
    assert_eq!(drain(|b| c.decode_frame(b), &mut buf), Ok(2));
}

proptest! {
    #[test]
    fn encode_decode_round_trip(msgs in proptest::collection::vec(message(), 0..8)) {
        let wire = encode(&msgs);
        let got = decode(&[&wire]);
        let want: Vec<Vec<(Vec<u8>, Vec<u8>)>> = msgs
            .iter()
            .map(|m| m.iter().map(|(k, v)| (k.as_bytes().to_vec(), v.clone())).collect())
            .collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn any_split_gives_the_same_messages(
        msgs in proptest::collection::vec(message(), 1..6),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..10),
    ) {
        let wire = encode(&msgs);
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
        points.sort_unstable();
        let mut chunks = Vec::new();
        let mut prev = 0;
        for p in points.into_iter().chain(std::iter::once(wire.len())) {
            chunks.push(&wire[prev..p]);
            prev = p;
        }
        prop_assert_eq!(decode(&chunks), decode(&[&wire]));
    }

    #[test]
    fn arbitrary_bytes_never_panic_nor_grow(
        data in proptest::collection::vec(any::<u8>(), 0..4096),
        chunk in 1usize..300,
    ) {
        let mut c = AmiCodec::new(512, 16);
        let mut buf = BytesMut::new();
        for part in data.chunks(chunk) {
            buf.extend_from_slice(part);
            let drained = drain(|b| c.decode_frame(b), &mut buf);
            prop_assert!(drained.is_ok(), "{:?}", drained);
            prop_assert!(buf.len() <= 512 + chunk, "buffered {}", buf.len());
        }
    }

    #[test]
    fn structured_garbage_never_panics(
        parts in proptest::collection::vec(
            prop_oneof![
                Just(&b"\r\n"[..]), Just(&b"\n"[..]), Just(&b": "[..]), Just(&b"Response: Follows\r\n"[..]),
                Just(&b"--END COMMAND--\r\n"[..]), Just(&b"Event: X\r\n"[..]), Just(&b"\r"[..]), Just(&b"abc"[..]),
            ],
            0..200,
        ),
    ) {
        let data: Vec<u8> = parts.concat();
        let mut c = AmiCodec::new(256, 8);
        let mut buf = BytesMut::from(&data[..]);
        let drained = drain(|b| c.decode_frame(b), &mut buf);
        prop_assert!(drained.is_ok(), "{:?}", drained);
        // What is left is at most an unfinished frame.
        prop_assert!(buf.len() <= 256, "left {}", buf.len());
    }
}
