//! Fuzzes the AGI decoder: any bytes, any chunking, small limits.
//!
//! Checks: no panic; every call either makes progress or asks for more bytes; the buffer
//! never holds much more than one line; every decoded reply re-encodes to bytes that decode
//! to the same reply (when its text round-trips; see `Reply::encode`).
#![no_main]

use bytes::BytesMut;
use hookflash_agi::{AgiCodec, Frame, Reply};
use libfuzzer_sys::fuzz_target;

const MAX_LINE: usize = 256;

fuzz_target!(|data: &[u8]| {
    let Some((&split, data)) = data.split_first() else { return };
    let chunk = usize::from(split).max(1);
    // The high bit of the chunk byte starts past the environment block.
    let mut codec = if split & 0x80 != 0 {
        AgiCodec::replies_only()
    } else {
        AgiCodec::new(MAX_LINE, 16, 8)
    };
    let limit = codec.max_line_bytes();
    let mut buf = BytesMut::new();
    for part in data.chunks(chunk) {
        buf.extend_from_slice(part);
        loop {
            let before = buf.len();
            match codec.decode_frame(&mut buf) {
                Ok(Some(Frame::Reply(r))) => check(r),
                Ok(Some(f)) => {
                    let _ = format!("{f:?}");
                }
                Err(e) => assert!(e.is_protocol_error(), "{e}"),
                Ok(None) => break,
            }
            assert!(buf.len() < before, "no progress at {before} bytes");
        }
        assert!(buf.len() <= limit + 1, "buffered {} bytes", buf.len());
    }
});

fn check(r: Reply) {
    // A `\r` at a line's end is dropped as part of the line end, so a value ending in one
    // cannot be written back as it is.
    if format!("{r:?}").contains("\\r") {
        return;
    }
    if let Reply::Success(s) = &r {
        let _ = (s.result_int(), s.is_failure());
        // `(data)` followed by `) ` inside, or an empty result with no data but extras, are
        // ambiguous on the wire; only the plain shapes must round-trip.
        if s.data.as_deref().is_some_and(|d| d.contains(')') || d.starts_with(' '))
            || s.result.is_empty()
        {
            return;
        }
    }
    if let Reply::Usage(u) = &r {
        // A usage line that itself ends with the end marker (old versions glued the marker
        // to the text) cannot be written back unambiguously.
        if u.lines().count() != u.split('\n').count()
            || u.split('\n').any(|l| l.ends_with('\r') || l.ends_with("520 End of proper usage."))
        {
            return;
        }
    }
    let mut wire = BytesMut::new();
    r.encode(&mut wire);
    // Lossy decoding grows each bad byte to three: a long line may not fit the limit again.
    if wire.len() > hookflash_agi::DEFAULT_MAX_LINE_BYTES {
        return;
    }
    let mut again = AgiCodec::replies_only();
    match again.decode_frame(&mut wire) {
        Ok(Some(Frame::Reply(r2))) => {
            if let (Reply::Success(a), Reply::Success(b)) = (&r, &r2) {
                assert_eq!((&a.result, &a.data, a.endpos), (&b.result, &b.data, b.endpos));
            } else if !matches!(r, Reply::Other { .. }) {
                assert_eq!(r, r2);
            }
        }
        other => panic!("re-encoded reply did not decode: {r:?} -> {other:?}"),
    }
}
