use hookflash_provider::CallId;
use uuid::Builder;

/// The call id of a call that carried none (an inbound call): a stable UUID (version 8)
/// derived from the source's namespace (its server name) and the provider's conversation id,
/// so every tracker that sees the same call of the same server names it the same, and the
/// same conversation id on two servers names two calls. An empty namespace adds nothing (the
/// ids of calls derived before namespaces existed stay the same).
pub(crate) fn derived_call_id(namespace: &str, key: &str) -> CallId {
    // FNV-1a, 128 bits: stable across builds and platforms, unlike std's hasher.
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    // A NUL never occurs in a server name or a conversation id: `a` + `b:c` and `a:b` + `c`
    // stay apart.
    let scope: &[u8] = if namespace.is_empty() { b"" } else { b"\0" };
    let mut hash = OFFSET;
    for byte in b"hookflash-derived-call:"
        .iter()
        .chain(namespace.as_bytes())
        .chain(scope)
        .chain(key.as_bytes())
    {
        hash ^= u128::from(*byte);
        hash = hash.wrapping_mul(PRIME);
    }
    CallId::from_uuid(Builder::from_custom_bytes(hash.to_be_bytes()).into_uuid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_and_distinct() {
        let a = derived_call_id("", "1795315621.40");
        assert_eq!(a, derived_call_id("", "1795315621.40"));
        assert_ne!(a, derived_call_id("", "1795315621.41"));
        assert_eq!(a.as_uuid().get_version_num(), 8);
        // The id derived before namespaces existed.
        assert_eq!(a.to_string(), "8150a0cd-fa8d-8cfe-9274-08f72bda0543");
    }

    #[test]
    fn the_same_conversation_on_two_servers_is_two_calls() {
        let a = derived_call_id("pbx-a", "1795315621.40");
        let b = derived_call_id("pbx-b", "1795315621.40");
        assert_ne!(a, b);
        assert_eq!(a, derived_call_id("pbx-a", "1795315621.40"));
        assert_ne!(a, derived_call_id("", "1795315621.40"));
        assert_ne!(derived_call_id("a", "b:c"), derived_call_id("a:b", "c"));
    }

    /// Two trackers of two servers see an inbound leg with the same linkedid: two calls.
    #[test]
    fn trackers_of_two_servers_derive_two_ids() {
        use crate::{Tracker, TrackerConfig};
        use hookflash_provider::{LegEvent, LegEventKind, LegId};
        let at = chrono::DateTime::from_timestamp(1_795_315_621, 0).unwrap_or_default();
        let created = LegEvent::new(
            LegId::new("1795315621.40").unwrap(),
            at,
            LegEventKind::Created {
                role: None,
                endpoint: Some("PJSIP/trunk".to_owned()),
                caller_number: Some("+15559870001".to_owned()),
                called_number: Some("18005550100".to_owned()),
            },
        )
        .with_linkedid("1795315621.40");
        let id = |server: &str| {
            let mut t = Tracker::new(TrackerConfig::default().with_namespace(server));
            t.apply(&created, at);
            t.calls().next().map(|r| (r.call_id, r.derived_id))
        };
        let (a, b) = (id("pbx-a"), id("pbx-b"));
        assert_eq!(a, Some((derived_call_id("pbx-a", "1795315621.40"), true)));
        assert_eq!(b, Some((derived_call_id("pbx-b", "1795315621.40"), true)));
        assert_ne!(a, b);
    }
}
