//! How the pipeline reads a PBX's numbers into E.164: behind a trait, so the pipeline needs no
//! phone-number library and reads numbers exactly as the API validates them (the API's
//! `NumberReading` implements it).

use hookflash_store::CallRow;

/// Reads the numbers a PBX reports (as its dialplan saw them, `5551204000`) into E.164.
pub trait InboundNumbers: Send + Sync + std::fmt::Debug {
    /// `number` in E.164, when it reads as a phone number; `None` keeps it as the PBX wrote it
    /// (an internal extension).
    fn e164(&self, number: &str) -> Option<String>;
}

/// Keeps every number as the PBX wrote it (the default when nothing better is configured).
#[derive(Debug, Clone, Copy, Default)]
pub struct KeepNumbers;

impl InboundNumbers for KeepNumbers {
    fn e164(&self, _number: &str) -> Option<String> {
        None
    }
}

/// An inbound call's called number is the DID it came in on: written in E.164 as both
/// `to_number` and `did`. A number that does not read as one is kept, with no DID.
pub(super) fn read_inbound(numbers: &dyn InboundNumbers, row: &mut CallRow) {
    if row.direction != "inbound" {
        return;
    }
    if let Some(e164) = row.to_number.as_deref().and_then(|to| numbers.e164(to)) {
        row.to_number = Some(e164.clone());
        if row.did.is_none() {
            row.did = Some(e164);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct PlusOne;
    impl InboundNumbers for PlusOne {
        fn e164(&self, n: &str) -> Option<String> {
            (n.len() == 10 && n.bytes().all(|b| b.is_ascii_digit())).then(|| format!("+1{n}"))
        }
    }

    fn row(direction: &str, to: &str) -> CallRow {
        let mut r = CallRow::new(
            hookflash_provider::CallId::new_random(),
            hookflash_provider::TenantId::new_random(),
            direction,
            "ami",
            "created",
            chrono::Utc::now(),
        );
        r.to_number = Some(to.to_owned());
        r
    }

    #[test]
    fn inbound_numbers_become_did_outbound_are_left_alone() {
        let mut r = row("inbound", "5551204000");
        read_inbound(&PlusOne, &mut r);
        assert_eq!(r.to_number.as_deref(), Some("+15551204000"));
        assert_eq!(r.did.as_deref(), Some("+15551204000"));
        let mut ext = row("inbound", "1001");
        read_inbound(&PlusOne, &mut ext);
        assert_eq!(ext.to_number.as_deref(), Some("1001"));
        assert_eq!(ext.did, None);
        let mut out = row("outbound", "5551204000");
        read_inbound(&PlusOne, &mut out);
        assert_eq!(out.to_number.as_deref(), Some("5551204000"));
        let mut kept = row("inbound", "5551204000");
        read_inbound(&KeepNumbers, &mut kept);
        assert_eq!(kept.did, None);
    }
}
