//! Phone numbers: validated and normalised to E.164 with the `phonenumber` crate, and the
//! CR/LF check for every text that can reach an AMI header.

use phonenumber::Mode;
use phonenumber::country::Id as Region;

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
    if !phonenumber::is_valid(&number) {
        return Err(ApiError::validation(field, "not a valid phone number"));
    }
    Ok(number.format().mode(Mode::E164).to_string())
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
    fn crlf_is_refused() {
        assert!(reject_crlf("x", "a\rb").is_err());
        assert!(reject_crlf("x", "a\nb").is_err());
        assert!(reject_crlf("x", "plain").is_ok());
    }
}
