//! Asterisk facts both translators (AMI and ARI) turn into neutral leg-event terms, so the
//! tracker never sees them: Local channel pairs and the `DIALSTATUS` of a dial that reached
//! nobody.

use hookflash_provider::{DialOutcome, HangupRequester, LegEventKind};

/// The channel variable a provider sets on a leg right before it hangs it up for an API
/// request: who asked ([`HangupRequester::as_str`]). Both translators read it back as
/// [`LegEventKind::HangupOrdered`].
pub(crate) const HANGUP_BY_VARIABLE: &str = "HOOKFLASH_HANGUP_BY";

/// The neutral event for a `HOOKFLASH_HANGUP_BY` value, when it names a requester.
pub(crate) fn hangup_ordered(value: &str) -> Option<LegEventKind> {
    HangupRequester::from_name(value).map(|by| LegEventKind::HangupOrdered { by })
}

/// The name both halves of a Local channel share (`Local/1002@ctx-00000000` for
/// `Local/1002@ctx-00000000;1` and `;2`), used as the neutral
/// [`local_pair`](hookflash_provider::Correlation::local_pair) key; `None` for any other
/// channel.
pub(crate) fn local_pair_of(channel: &str) -> Option<&str> {
    if !channel.starts_with("Local/") {
        return None;
    }
    channel
        .strip_suffix(";1")
        .or_else(|| channel.strip_suffix(";2"))
}

/// The dial outcome a `DIALSTATUS` value set on the dialling leg reports, when it is a failure
/// (`ANSWER` tells nothing the answered leg does not; transitional values are no outcome).
pub(crate) fn failed_dial(dialstatus: &str) -> Option<DialOutcome> {
    DialOutcome::parse(dialstatus).filter(|s| *s != DialOutcome::Answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hangup_stamp_reads_back_as_who_asked() {
        for by in [
            HangupRequester::Agent,
            HangupRequester::Supervisor,
            HangupRequester::System,
        ] {
            assert_eq!(
                hangup_ordered(by.as_str()),
                Some(LegEventKind::HangupOrdered { by })
            );
        }
        assert_eq!(hangup_ordered(""), None);
        assert_eq!(hangup_ordered("customer"), None);
    }

    #[test]
    fn local_pairs_share_a_key() {
        let one = local_pair_of("Local/1002@hookflash-transfer-00000000;1");
        assert_eq!(one, Some("Local/1002@hookflash-transfer-00000000"));
        assert_eq!(
            local_pair_of("Local/1002@hookflash-transfer-00000000;2"),
            one
        );
        assert_eq!(local_pair_of("PJSIP/agent1001-00000001"), None);
    }

    #[test]
    fn only_failed_dial_statuses_are_reported() {
        assert_eq!(failed_dial("CHANUNAVAIL"), Some(DialOutcome::ChanUnavail));
        assert_eq!(failed_dial("BUSY"), Some(DialOutcome::Busy));
        assert_eq!(failed_dial("ANSWER"), None);
        assert_eq!(failed_dial("RINGING"), None);
    }
}
