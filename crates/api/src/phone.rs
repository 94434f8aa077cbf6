//! Phone numbers: validated and normalised to E.164 with the `phonenumber` crate, and the
//! CR/LF check for every text that can reach an AMI header.

use phonenumber::Mode;
use phonenumber::country::Id as Region;
use phonenumber::metadata::DATABASE;

use crate::config::{DialFormat, PhoneValidation};
use crate::error::{ApiError, Result};

/// Parses an ISO 3166 region code (`US`, `GB`, ...).
pub(crate) fn parse_region(code: &str) -> Option<Region> {
    code.trim().to_ascii_uppercase().parse().ok()
}

/// Validates `input` as a phone number (read in `region` unless it starts with `+`) and returns
/// it in E.164 form; the error names `field`.
///
/// # Errors
/// [`ApiError::Validation`] for text that is not a valid number.
pub fn normalize_e164(field: &str, input: &str, region: &str) -> Result<String> {
    normalize_e164_with(field, input, region, PhoneValidation::Valid)
}

/// Like [`normalize_e164`] with the configured check: [`PhoneValidation::Valid`] asks for an
/// assigned number, [`PhoneValidation::Possible`] only for a number of a possible length for
/// its country (test PBXs and internal numbers, such as the unassigned `555` area code).
///
/// # Errors
/// [`ApiError::Validation`] for text that is not a number (or not a valid one) naming `field`.
pub fn normalize_e164_with(
    field: &str,
    input: &str,
    region: &str,
    validation: PhoneValidation,
) -> Result<String> {
    reject_crlf(field, input)?;
    let input = input.trim();
    if input.is_empty() {
        return Err(ApiError::validation(field, "a phone number is required"));
    }
    if input.len() > 40 {
        return Err(ApiError::validation(field, "too long for a phone number"));
    }
    let number = phonenumber::parse(parse_region(region), input)
        .map_err(|e| ApiError::validation(field, format!("not a phone number: {e}")))?;
    let accepted = match validation {
        PhoneValidation::Valid => phonenumber::is_valid(&number),
        PhoneValidation::Possible => has_possible_length(&number),
    };
    if !accepted {
        return Err(ApiError::validation(field, "not a valid phone number"));
    }
    Ok(number.format().mode(Mode::E164).to_string())
}

/// True when the national significant number has a length the numbering plan of its calling
/// code allows for a full (not local-only) number of some type.
fn has_possible_length(number: &phonenumber::PhoneNumber) -> bool {
    let digits = number.national().to_string().len();
    let Ok(len) = u16::try_from(digits) else {
        return false;
    };
    // A calling code can span regions (+1: US, CA, the Caribbean): any will do. The general
    // descriptor often leaves its lengths empty, so the per-type descriptors count too.
    DATABASE
        .by_code(&number.code().value())
        .is_some_and(|metas| {
            metas.iter().any(|meta| {
                let d = meta.descriptors();
                [
                    Some(d.general()),
                    d.fixed_line(),
                    d.mobile(),
                    d.toll_free(),
                    d.premium_rate(),
                    d.shared_cost(),
                    d.personal_number(),
                    d.voip(),
                    d.uan(),
                ]
                .into_iter()
                .flatten()
                .any(|desc| desc.possible_length().contains(&len))
            })
        })
}

/// The customer number in the form a server dials: `e164` `+15551204005`, `digits`
/// `15551204005`, `national` `5551204005` (the national significant number).
///
/// # Errors
/// [`ApiError::Validation`] naming `field` when `e164` is not an E.164 number.
pub fn dial_string(field: &str, e164: &str, format: DialFormat) -> Result<String> {
    let number = phonenumber::parse(None, e164)
        .map_err(|e| ApiError::validation(field, format!("not a phone number: {e}")))?;
    let full = number.format().mode(Mode::E164).to_string();
    Ok(match format {
        DialFormat::E164 => full,
        DialFormat::Digits => full.trim_start_matches('+').to_owned(),
        DialFormat::National => number.national().to_string(),
    })
}

/// Refuses text holding CR, LF or NUL: such text would split an AMI header (injection).
///
/// # Errors
/// [`ApiError::Validation`] naming `field`.
pub fn reject_crlf(field: &str, value: &str) -> Result<()> {
    if value.contains(['\r', '\n', '\0']) {
        return Err(ApiError::validation(
            field,
            "must not contain CR, LF or NUL characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_national_and_international_forms() {
        assert_eq!(
            normalize_e164("number", "(202) 555-0143", "US").unwrap(),
            "+12025550143"
        );
        assert_eq!(
            normalize_e164("number", "+44 20 7946 0958", "US").unwrap(),
            "+442079460958"
        );
        assert_eq!(
            normalize_e164("number", "020 7946 0958", "GB").unwrap(),
            "+442079460958"
        );
    }

    #[test]
    fn refuses_garbage_naming_the_field() {
        for bad in ["", "abc", "123", "+1 555", "+12025550143\r\nAction: Logoff"] {
            match normalize_e164("caller_id", bad, "US") {
                Err(ApiError::Validation { field, .. }) => assert_eq!(field, "caller_id"),
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn possible_accepts_unassigned_but_well_formed_numbers() {
        assert!(normalize_e164("number", "5551204005", "US").is_err());
        assert_eq!(
            normalize_e164_with("number", "5551204005", "US", PhoneValidation::Possible).unwrap(),
            "+15551204005"
        );
        assert_eq!(
            normalize_e164_with("number", "(202) 555-0143", "US", PhoneValidation::Possible)
                .unwrap(),
            "+12025550143"
        );
    }

    #[test]
    fn both_modes_refuse_garbage_naming_the_field() {
        for mode in [PhoneValidation::Valid, PhoneValidation::Possible] {
            for bad in [
                "",
                "abc",
                "123",
                "555120",
                "+1 555",
                "55512040051234",
                "5551\r\n204005",
            ] {
                match normalize_e164_with("number", bad, "US", mode) {
                    Err(ApiError::Validation { field, .. }) => assert_eq!(field, "number"),
                    other => panic!("{mode:?} {bad:?} gave {other:?}"),
                }
            }
        }
    }

    #[test]
    fn dial_strings_by_format() {
        let n = "+15551204005";
        assert_eq!(dial_string("number", n, DialFormat::E164).unwrap(), n);
        assert_eq!(
            dial_string("number", n, DialFormat::Digits).unwrap(),
            "15551204005"
        );
        assert_eq!(
            dial_string("number", n, DialFormat::National).unwrap(),
            "5551204005"
        );
        let gb = "+442079460958";
        assert_eq!(
            dial_string("number", gb, DialFormat::Digits).unwrap(),
            "442079460958"
        );
        assert_eq!(
            dial_string("number", gb, DialFormat::National).unwrap(),
            "2079460958"
        );
        assert!(dial_string("number", "nope", DialFormat::Digits).is_err());
    }

    #[test]
    fn crlf_is_refused() {
        assert!(reject_crlf("x", "a\rb").is_err());
        assert!(reject_crlf("x", "a\nb").is_err());
        assert!(reject_crlf("x", "plain").is_ok());
    }
}
