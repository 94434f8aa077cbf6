//! Fuzzes the AMI decoder: any bytes, any chunking, small limits.
//!
//! Checks: no panic; the buffer never holds much more than the frame limit; every decoded
//! message types without panicking; a message without a legacy body re-encodes to bytes that
//! decode to the same message.
#![no_main]

use bytes::BytesMut;
use hookflash_ami::{AmiCodec, Event, Frame, Response};
use libfuzzer_sys::fuzz_target;

const MAX_FRAME: usize = 2048;

fuzz_target!(|data: &[u8]| {
    let Some((&split, data)) = data.split_first() else { return };
    let chunk = usize::from(split).max(1);
    let mut codec = AmiCodec::new(MAX_FRAME, 64);
    let mut buf = BytesMut::new();
    for part in data.chunks(chunk) {
        buf.extend_from_slice(part);
        loop {
            match codec.decode_frame(&mut buf) {
                Ok(Some(Frame::Message(m))) => check(m),
                Ok(Some(Frame::Banner(_))) | Err(_) => {}
                Ok(None) => break,
            }
        }
        assert!(buf.len() <= MAX_FRAME + chunk, "buffered {} bytes", buf.len());
    }
});

fn check(m: hookflash_ami::Message) {
    if m.body().is_none() {
        let mut wire = BytesMut::new();
        m.to_wire(&mut wire);
        let mut again = AmiCodec::server();
        match again.decode_frame(&mut wire) {
            Ok(Some(Frame::Message(m2))) => assert_eq!(m, m2),
            other => panic!("re-encoded message did not decode: {other:?}"),
        }
    }
    let _ = format!("{m:?}");
    if let Ok(e) = Event::from_message(m.clone()) {
        let _ = (e.name().len(), e.action_id(), e.is_list_complete(), format!("{e:?}").len());
    } else if let Ok(r) = Response::from_message(m) {
        let _ = (r.output(), r.action_id(), r.is_success());
    }
}
