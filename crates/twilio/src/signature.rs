//! `X-Twilio-Signature`: base64(HMAC-SHA1(auth token, URL + sorted parameters)).
//!
//! The parameters are sorted by name and, like Twilio's own helper libraries do, the values of a
//! repeated name are sorted and de-duplicated before each `name + value` is appended. A JSON body
//! is not part of the signed string; Twilio adds its hex SHA-256 as the `bodySHA256` query
//! parameter of the (signed) URL instead.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::TwilioError;

/// The header Twilio signs its requests with.
pub const SIGNATURE_HEADER: &str = "x-twilio-signature";

/// The signature Twilio computes for a POST of `params` to `url`.
pub fn compute_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut mac = new_mac(auth_token);
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    STANDARD.encode(mac.finalize().into_bytes())
}

fn new_mac(auth_token: &str) -> Hmac<Sha1> {
    // HMAC takes keys of any length, so this never fails; fall back to an empty key rather than
    // panic if that ever changed (an empty key simply validates nothing real).
    match Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => <Hmac<Sha1> as hmac::digest::KeyInit>::new(&Default::default()),
    }
}

/// The lowercase hex SHA-256 of a body, as Twilio puts it in `bodySHA256`.
pub fn body_sha256_hex(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let mut out = String::with_capacity(64);
    for byte in digest {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Checks the signature of a form-encoded POST.
///
/// `url` is the full public URL Twilio requested, query string included. Like Twilio's helper
/// libraries, the URL is also tried with the scheme's default port added or removed, since some
/// Twilio edges sign one form and proxies forward the other.
///
/// # Errors
/// [`TwilioError::SignatureMissing`] for an empty signature, [`TwilioError::SignatureMismatch`]
/// when no variant matches.
pub fn validate_form(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    signature: &str,
) -> Result<(), TwilioError> {
    if signature.is_empty() {
        return Err(TwilioError::SignatureMissing);
    }
    let given = signature.as_bytes();
    let mut ok = subtle::Choice::from(0u8);
    for candidate in url_variants(url) {
        let expected = compute_signature(auth_token, &candidate, params);
        ok |= expected.as_bytes().ct_eq(given);
    }
    if bool::from(ok) {
        Ok(())
    } else {
        Err(TwilioError::SignatureMismatch)
    }
}

/// Checks the signature of a JSON POST: the URL's `bodySHA256` must be the body's hash, and the
/// URL (with that parameter) must be signed.
///
/// # Errors
/// [`TwilioError::BodyHashMismatch`] when `bodySHA256` is missing or wrong, else as
/// [`validate_form`].
pub fn validate_json(
    auth_token: &str,
    url: &str,
    body: &[u8],
    signature: &str,
) -> Result<(), TwilioError> {
    if signature.is_empty() {
        return Err(TwilioError::SignatureMissing);
    }
    validate_form(auth_token, url, &[], signature)?;
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    let claimed = form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "bodySHA256")
        .map(|(_, v)| v.into_owned())
        .ok_or(TwilioError::BodyHashMismatch)?;
    let actual = body_sha256_hex(body);
    if bool::from(
        actual
            .as_bytes()
            .ct_eq(claimed.to_ascii_lowercase().as_bytes()),
    ) {
        Ok(())
    } else {
        Err(TwilioError::BodyHashMismatch)
    }
}

/// The URL as given, and with the scheme's default port toggled.
fn url_variants(url: &str) -> Vec<String> {
    let mut out = vec![url.to_owned()];
    let Some((scheme, rest)) = url.split_once("://") else {
        return out;
    };
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "https" => "443",
        "http" => "80",
        _ => return out,
    };
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(split);
    let (userinfo, host_port) = match authority.rsplit_once('@') {
        Some((u, h)) => (format!("{u}@"), h),
        None => (String::new(), authority),
    };
    let toggled = match host_port.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host.to_owned(),
        _ => format!("{host_port}:{default_port}"),
    };
    out.push(format!("{scheme}://{userinfo}{toggled}{tail}"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn hex_sha256() {
        assert_eq!(
            body_sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn port_variants() {
        assert_eq!(
            url_variants("https://a.com/x?y=1"),
            vec!["https://a.com/x?y=1", "https://a.com:443/x?y=1"]
        );
        assert_eq!(
            url_variants("http://u:p@a.com:1234/x"),
            vec!["http://u:p@a.com:1234/x", "http://u:p@a.com/x"]
        );
    }

    #[test]
    fn order_of_parameters_does_not_matter() {
        let a = params(&[("B", "2"), ("A", "1")]);
        let b = params(&[("A", "1"), ("B", "2")]);
        assert_eq!(
            compute_signature("t", "https://x/", &a),
            compute_signature("t", "https://x/", &b)
        );
    }
}

#[cfg(test)]
mod props {
    use proptest::prelude::*;

    use super::*;

    fn params() -> impl Strategy<Value = Vec<(String, String)>> {
        proptest::collection::vec(("[A-Za-z]{1,12}", "\\PC{0,16}"), 0..8)
    }

    proptest! {
        #[test]
        fn any_order_of_the_same_parameters_validates(mut ps in params(), seed in any::<u64>()) {
            let url = "https://hooks.example.com/twilio/status/x?leg=agent";
            let sig = compute_signature("token", url, &ps);
            // A deterministic shuffle driven by the seed.
            let len = ps.len();
            if len > 1 {
                for i in 0..len {
                    let j = usize::try_from(seed.rotate_left(u32::try_from(i).unwrap_or(0)) % len as u64).unwrap_or(0);
                    ps.swap(i, j);
                }
            }
            prop_assert!(validate_form("token", url, &ps, &sig).is_ok());
        }

        #[test]
        fn changing_any_value_breaks_the_signature(ps in params(), idx in any::<usize>(), extra in "[a-z]{1,4}") {
            prop_assume!(!ps.is_empty());
            let url = "https://hooks.example.com/twilio/status/x";
            let sig = compute_signature("token", url, &ps);
            let mut tampered = ps.clone();
            let i = idx % tampered.len();
            tampered[i].1.push_str(&extra);
            // Only a no-op when the tampered pair duplicates another one exactly.
            let duplicate = ps.iter().any(|p| *p == tampered[i]);
            prop_assume!(!duplicate);
            prop_assert!(validate_form("token", url, &tampered, &sig).is_err());
        }
    }
}
