//! What the providers need from the dialplan, and how they check that it is there.
//!
//! Asterisk runs a channel sent to an extension that does not exist into `i` or hangs it up
//! ("sent to invalid extension"); AMI's `BlindTransfer` and `Redirect` and ARI's `continue`
//! answer success all the same. So the providers ask first, with the
//! `DIALPLAN_EXISTS(context,exten,1)` function: AMI through `Getvar` (which evaluates a name
//! ending in `)` without a channel), ARI through `GET /channels/{id}/variable` on the leg
//! (ARI's global-variable read does not evaluate functions). The AmiProvider asks at connect for
//! the hold contexts (a missing one makes hold a declared gap instead of a dropped call); both
//! ask before every transfer for its destination (a missing one is refused before the customer
//! moves).
//!
//! The requests and the reading of their answers are plain functions, tested without a socket;
//! the providers send them.

use hookflash_ami::{Action, Response};
use hookflash_provider::ProviderError;

/// `DIALPLAN_EXISTS(context,exten,1)`.
///
/// # Errors
///
/// [`ProviderError::InvalidRequest`] naming `field` when `exten` (or the configured `context`)
/// is not a plain dialplan token: a comma, parenthesis or `$` would change the function call.
pub(crate) fn exists_function(
    field: &str,
    context: &str,
    exten: &str,
) -> Result<String, ProviderError> {
    check_token("context", context)?;
    check_token(field, exten)?;
    Ok(format!("DIALPLAN_EXISTS({context},{exten},1)"))
}

/// `Getvar` of [`exists_function`] (AMI).
pub(crate) fn exists_action(
    field: &str,
    context: &str,
    exten: &str,
) -> Result<Action, ProviderError> {
    Ok(Action::new("Getvar").header("Variable", exists_function(field, context, exten)?))
}

/// Reads the function's value: `Some(true)` for `1`, `Some(false)` for `0`, `None` for anything
/// else (an old Asterisk without the function): "could not check", never "exists".
pub(crate) fn exists_value(value: &str) -> Option<bool> {
    match value.trim() {
        "1" => Some(true),
        "0" => Some(false),
        _ => None,
    }
}

/// Reads the answer to [`exists_action`]; an error answer is "could not check" (`None`).
pub(crate) fn exists_answer(response: &Response) -> Option<bool> {
    if !response.is_success() {
        return None;
    }
    exists_value(&response.get("Value")?.to_str_lossy())
}

/// A dialplan context or extension as written in `extensions.conf`: letters, digits and
/// `+*#._-` (pattern characters such as `_X.` are for the dialplan, not for callers).
fn check_token(field: &str, value: &str) -> Result<(), ProviderError> {
    let ok = !value.is_empty()
        && value.len() <= 80
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+*#._-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(ProviderError::InvalidRequest {
            field: field.to_owned(),
            reason: format!(
                "{value:?} is not a dialplan extension (letters, digits and +*#._- only)"
            ),
        })
    }
}

/// An endpoint destination (`PJSIP/agent1002`) checked to name one endpoint and nothing else:
/// no `@` (that would pick any trunk and number) and no other technology (`Local/x@context`
/// would pick any dialplan context).
///
/// # Errors
///
/// [`ProviderError::InvalidRequest`] naming `destination` otherwise.
pub(crate) fn endpoint_destination(destination: &str) -> Result<&str, ProviderError> {
    match destination.strip_prefix("PJSIP/") {
        Some(name) => {
            check_token("destination", name)?;
            Ok(destination)
        }
        None => Err(ProviderError::InvalidRequest {
            field: "destination".to_owned(),
            reason: format!(
                "{destination:?}: an endpoint destination is PJSIP/<endpoint> (no @trunk, no \
                 other technology); anything else is an extension of the transfer context"
            ),
        }),
    }
}

/// Why hold is unavailable, from the check of each hold context (`None`: could not check).
/// `None` when every context exists.
pub(crate) fn hold_gap(checks: &[(&str, Option<bool>)]) -> Option<String> {
    let missing: Vec<&str> = checks
        .iter()
        .filter(|(_, found)| *found == Some(false))
        .map(|(c, _)| *c)
        .collect();
    let unknown: Vec<&str> = checks
        .iter()
        .filter(|(_, found)| found.is_none())
        .map(|(c, _)| *c)
        .collect();
    if !missing.is_empty() {
        Some(format!(
            "the dialplan has no extension s,1 in {}: AMI hold needs the contexts of \
             examples/asterisk/extensions_hookflash.conf (#include it from extensions.conf and \
             reload the dialplan; the provider checks again on reconnect)",
            missing.join(" and ")
        ))
    } else if !unknown.is_empty() {
        Some(format!(
            "could not check that the dialplan has {} (Getvar of DIALPLAN_EXISTS failed: the \
             AMI user needs read/write `call` or `reporting`)",
            unknown.join(" and ")
        ))
    } else {
        None
    }
}

/// The error of a transfer whose destination is not in the transfer context: nothing was sent,
/// the customer stays where they are.
pub(crate) fn missing_destination(context: &str, exten: &str) -> ProviderError {
    ProviderError::InvalidRequest {
        field: "destination".to_owned(),
        reason: format!(
            "no extension {exten} in the transfer context {context}: nothing was transferred"
        ),
    }
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use hookflash_ami::Message;

    use super::*;

    fn response(text: &str) -> Response {
        let pairs: Vec<(&str, &str)> = text.lines().filter_map(|l| l.split_once(": ")).collect();
        Response::from_message(Message::from_pairs(pairs)).unwrap()
    }

    #[test]
    fn the_action_asks_dialplan_exists_at_priority_one() {
        let action = exists_action("destination", "hookflash-transfer", "1002").unwrap();
        let mut buf = BytesMut::new();
        action.with_action_id("x").encode(&mut buf).unwrap();
        assert_eq!(
            String::from_utf8(buf.to_vec()).unwrap(),
            "Action: Getvar\r\nActionID: x\r\nVariable: DIALPLAN_EXISTS(hookflash-transfer,1002,1)\r\n\r\n"
        );
    }

    #[test]
    fn a_destination_cannot_change_the_function_call() {
        for bad in ["1002,1)", "x(y", "${EXTEN}", "PJSIP/agent1002", "", "a b"] {
            match exists_action("destination", "hookflash-transfer", bad) {
                Err(ProviderError::InvalidRequest { field, .. }) => {
                    assert_eq!(field, "destination")
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn an_endpoint_destination_names_one_endpoint_and_no_context() {
        assert_eq!(
            endpoint_destination("PJSIP/agent1002").unwrap(),
            "PJSIP/agent1002"
        );
        for bad in [
            "PJSIP/5551203005@trunk",
            "Local/1002@default",
            "PJSIP/",
            "SIP/agent1002",
            "PJSIP/a,b",
        ] {
            assert!(endpoint_destination(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn answers_are_read_as_the_peer_gives_them() {
        // As Asterisk 22 answers (captured from the test peer).
        let yes = response(
            "Response: Success\nActionID: 1\nVariable: DIALPLAN_EXISTS(hookflash-transfer,1002,1)\nValue: 1",
        );
        let no = response(
            "Response: Success\nActionID: 2\nVariable: DIALPLAN_EXISTS(hookflash-transfer,9999,1)\nValue: 0",
        );
        let err = response("Response: Error\nActionID: 3\nMessage: Permission denied");
        let empty = response("Response: Success\nActionID: 4\nVariable: X\nValue: ");
        assert_eq!(exists_answer(&yes), Some(true));
        assert_eq!(exists_answer(&no), Some(false));
        assert_eq!(exists_answer(&err), None);
        assert_eq!(exists_answer(&empty), None);
    }

    #[test]
    fn hold_is_a_gap_unless_every_context_is_known_to_exist() {
        assert_eq!(
            hold_gap(&[
                ("hookflash-hold", Some(true)),
                ("hookflash-hold-wait", Some(true))
            ]),
            None
        );
        let missing = hold_gap(&[
            ("hookflash-hold", Some(false)),
            ("hookflash-hold-wait", Some(true)),
        ])
        .unwrap();
        assert!(missing.contains("hookflash-hold"), "{missing}");
        assert!(!missing.contains("hookflash-hold-wait"), "{missing}");
        assert!(missing.contains("extensions_hookflash.conf"), "{missing}");
        let unknown = hold_gap(&[
            ("hookflash-hold", None),
            ("hookflash-hold-wait", Some(true)),
        ])
        .unwrap();
        assert!(unknown.contains("could not check"), "{unknown}");
    }
}
