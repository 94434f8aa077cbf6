use hookflash_provider::CallId;
use uuid::Builder;

/// The call id of a call that carried none (an inbound call): a stable UUID (version 8)
/// derived from the provider's conversation id, so every tracker that sees the same call
/// names it the same.
pub(crate) fn derived_call_id(key: &str) -> CallId {
    // FNV-1a, 128 bits: stable across builds and platforms, unlike std's hasher.
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    let mut hash = OFFSET;
    for byte in b"hookflash-derived-call:".iter().chain(key.as_bytes()) {
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
        let a = derived_call_id("1795315621.40");
        assert_eq!(a, derived_call_id("1795315621.40"));
        assert_ne!(a, derived_call_id("1795315621.41"));
        assert_eq!(a.as_uuid().get_version_num(), 8);
    }
}
