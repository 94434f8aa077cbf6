use chrono::{DateTime, SubsecRound, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The current time at the precision both databases keep (microseconds), so a value written
/// and read back compares equal.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Lower-case hex of `bytes`.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// `n` random bytes from the operating system's generator (through `rand`'s thread RNG).
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    rand::rng().fill_bytes(&mut buf);
    buf
}

/// SHA-256 of `text`, as hex.
pub(crate) fn sha256_hex(text: &str) -> String {
    to_hex(&Sha256::digest(text.as_bytes()))
}

/// Compares two byte strings in time independent of where they differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks an E.164 number: `+`, then 2 to 15 digits, the first not 0.
pub(crate) fn check_e164(number: &str) -> Result<(), crate::error::StoreError> {
    let ok = number.strip_prefix('+').is_some_and(|digits| {
        (2..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0')
    });
    if ok {
        Ok(())
    } else {
        Err(crate::error::StoreError::InvalidInput {
            field: "phone_number",
            reason: "not an E.164 number (+ and 2 to 15 digits)",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_hash() {
        assert_eq!(to_hex(&[0x00, 0xab, 0xff]), "00abff");
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(check_e164("+14155550100").is_ok());
        assert!(check_e164("14155550100").is_err());
        assert!(check_e164("+0123").is_err());
        assert!(check_e164("+1415555010012345").is_err());
        assert!(check_e164("+1-415").is_err());
        assert_ne!(random_bytes::<16>(), random_bytes::<16>());
    }
}
