//! `X-Twilio-Signature` against the worked examples of Twilio's documentation and helper
//! libraries.
//!
//! Twilio's security page ("Validating requests are coming from Twilio") walks through a POST to
//! `https://mycompany.com/myapp.php?foo=1&bar=2` with auth token `12345` and the parameters
//! below, giving `RSOYDt4T1cUTdK1PDd93/VVr8B8=`. The same vector, plus the `bodySHA256`, repeated
//! parameter and default-port vectors, is in the test suites of Twilio's official helper
//! libraries (twilio-php `RequestValidatorTest`, twilio-python, twilio-csharp). Each vector was
//! also recomputed independently with Python's `hmac`/`hashlib` before being copied here.

use hookflash_twilio::{
    TwilioError, body_sha256_hex, compute_signature, validate_form, validate_json,
};

const TOKEN: &str = "12345";
const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
const SIGNATURE: &str = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";

fn params() -> Vec<(String, String)> {
    [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+14158675309"),
        ("Digits", "1234"),
        ("From", "+14158675309"),
        ("To", "+18005551212"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

#[test]
fn documented_example_signature() {
    assert_eq!(compute_signature(TOKEN, URL, &params()), SIGNATURE);
    validate_form(TOKEN, URL, &params(), SIGNATURE).unwrap();
    // Parameter order in the body does not matter.
    let mut reversed = params();
    reversed.reverse();
    validate_form(TOKEN, URL, &reversed, SIGNATURE).unwrap();
}

#[test]
fn forged_missing_and_tampered_signatures_are_refused() {
    assert!(matches!(
        validate_form(TOKEN, URL, &params(), ""),
        Err(TwilioError::SignatureMissing)
    ));
    assert!(matches!(
        validate_form(TOKEN, URL, &params(), "FAIL"),
        Err(TwilioError::SignatureMismatch)
    ));
    assert!(matches!(
        validate_form("54321", URL, &params(), SIGNATURE),
        Err(TwilioError::SignatureMismatch)
    ));
    let mut tampered = params();
    tampered[2].1 = "9999".to_owned();
    assert!(validate_form(TOKEN, URL, &tampered, SIGNATURE).is_err());
    let mut added = params();
    added.push(("CallStatus".to_owned(), "completed".to_owned()));
    assert!(validate_form(TOKEN, URL, &added, SIGNATURE).is_err());
    assert!(validate_form(TOKEN, &format!("{URL}&extra=1"), &params(), SIGNATURE).is_err());
    assert!(
        validate_form(
            TOKEN,
            "https://evil.example/myapp.php?foo=1&bar=2",
            &params(),
            SIGNATURE
        )
        .is_err()
    );
}

#[test]
fn default_port_variants_like_the_helper_libraries() {
    // twilio-php: testValidateRemovesPortHttps / AddsPortHttps / AddsPortHttp / RemovesPortHttp.
    validate_form(
        TOKEN,
        "https://mycompany.com:443/myapp.php?foo=1&bar=2",
        &params(),
        SIGNATURE,
    )
    .unwrap();
    validate_form(TOKEN, URL, &params(), "kvajT1Ptam85bY51eRf/AJRuM3w=").unwrap();
    validate_form(
        TOKEN,
        "http://mycompany.com/myapp.php?foo=1&bar=2",
        &params(),
        "0ZXoZLH/DfblKGATFgpif+LLRf4=",
    )
    .unwrap();
}

#[test]
fn repeated_parameters_are_sorted_and_deduplicated() {
    // twilio-php testValidateWithArrayAndDuplicates: Digits = [5678, 1234, 1234].
    let params: Vec<(String, String)> = [
        ("Sid", "CA123"),
        ("SidAccount", "AC123"),
        ("Digits", "5678"),
        ("Digits", "1234"),
        ("Digits", "1234"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    validate_form(TOKEN, URL, &params, "IK+Dwps556ElfBT0I3Rgjkr1wJU=").unwrap();
}

#[test]
fn json_body_with_body_sha256() {
    // twilio-php testValidateBody / testValidateWithBody.
    let body = br#"{"property": "value", "boolean": true}"#;
    let hash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
    assert_eq!(body_sha256_hex(body), hash);
    let url = format!("{URL}&bodySHA256={hash}");
    validate_json(TOKEN, &url, body, "a9nBmqA0ju/hNViExpshrM61xv4=").unwrap();
    // A tampered body no longer matches its hash, even with a valid URL signature.
    let tampered = br#"{"property": "value", "boolean": false}"#;
    assert!(matches!(
        validate_json(TOKEN, &url, tampered, "a9nBmqA0ju/hNViExpshrM61xv4="),
        Err(TwilioError::BodyHashMismatch)
    ));
    // testValidateBodyWithoutSignature: the form signature does not validate a JSON request.
    assert!(validate_json(TOKEN, URL, body, SIGNATURE).is_err());
}
