//! Fuzzes ARI event JSON parsing: any input either fails to parse or yields an `Event` that
//! serializes back and re-parses to the same event. Seeds: `corpus/ari_event/` (one recorded
//! message per event type, from `testdata/asterisk-22/ari/*.jsonl`; `seed_ari_event.py` remakes it).
#![no_main]

use hookflash_ari::Event;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(event) = Event::from_value(value.clone()) else {
        return;
    };
    if let Event::Unknown(raw) = &event {
        assert_eq!(raw, &value, "an unknown event must be kept whole");
    }
    let _ = (event.type_name(), event.application(), event.channel_ids(), event.bridge_ids());
    let back = event.to_value().expect("a parsed event serializes");
    let again = Event::from_value(back).expect("a serialized event parses");
    assert_eq!(again, event, "round trip changed the event");
});
