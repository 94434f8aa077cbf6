//! Property tests of the codec: round trip, chunking invariance, no panic on any input.

use bytes::BytesMut;
use hookflash_ami::{AmiCodec, Frame, Message};
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
            while !matches!(c.decode_frame(&mut buf), Ok(None)) {}
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
        for _ in 0..10_000 {
            match c.decode_frame(&mut buf) {
                Ok(Some(_)) | Err(_) => {}
                Ok(None) => break,
            }
        }
    }
}
