//! What counts as a good enough secret: the password policy (every password a person sets,
//! the bootstrap admin's included) and the JWT secret's minimum strength.
//!
//! Length alone means little (`aaaaaaaaaaaa` and twelve spaces are twelve characters), so a
//! password must also be hard to guess: [`zxcvbn`] estimates the guesses an attacker needs,
//! knowing the common-password lists, English words, names, keyboard patterns, repeats,
//! sequences and dates, plus the user's own name and tenant passed as context.

use zxcvbn::{Score, zxcvbn};

use crate::error::{ApiError, Result};

/// Shortest password accepted, in characters.
pub const MIN_PASSWORD_LEN: usize = 12;
/// Longest password accepted, in bytes (argon2's work grows with it).
pub(crate) const MAX_PASSWORD_LEN: usize = 128;
/// The guessability a password needs: zxcvbn's score 3, more than 10^8 guesses (a
/// rate-limited online attack never gets there; an offline one on argon2id is slow).
const MIN_SCORE: Score = Score::Three;

/// Shortest JWT secret accepted, in bytes (HS256 wants a key as long as its hash, 256 bits).
pub(crate) const MIN_JWT_SECRET_LEN: usize = 32;
/// The estimated strength a JWT secret needs, in bits: anyone who guesses it can sign tokens
/// for every tenant.
const MIN_JWT_SECRET_BITS: f64 = 128.0;

/// Checks a password a person wants to set. `context` holds words an attacker would try
/// first (username, e-mail, display name, tenant): a password built from them is refused.
///
/// # Errors
/// [`ApiError::Validation`] on `field`, saying what is wrong.
pub(crate) fn check_password(field: &str, password: &str, context: &[&str]) -> Result<()> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_LEN || password.len() > MAX_PASSWORD_LEN {
        return Err(ApiError::validation(
            field,
            format!("{MIN_PASSWORD_LEN} to {MAX_PASSWORD_LEN} characters"),
        ));
    }
    if password.chars().any(char::is_control) {
        return Err(ApiError::validation(
            field,
            "no control characters (NUL, tab, CR, LF, ...)",
        ));
    }
    if password.trim().is_empty() {
        return Err(ApiError::validation(field, "not only spaces"));
    }
    let estimate = zxcvbn(password, context);
    if estimate.score() < MIN_SCORE {
        let hint = estimate
            .feedback()
            .and_then(|f| f.warning())
            .map(|w| format!(": {w}"))
            .unwrap_or_default();
        return Err(ApiError::validation(
            field,
            format!("too easy to guess{hint}; use a longer passphrase of unrelated words"),
        ));
    }
    Ok(())
}

/// Checks the configured JWT secret: at least [`MIN_JWT_SECRET_LEN`] bytes, and at least 128
/// bits by both a per-character estimate (what the characters used could hold) and zxcvbn's
/// (no repeated, sequential or dictionary text). `openssl rand -base64 48` and `openssl rand
/// -hex 32` pass.
///
/// # Errors
/// A sentence saying why it is too weak.
pub(crate) fn check_jwt_secret(secret: &str) -> std::result::Result<(), String> {
    if secret.len() < MIN_JWT_SECRET_LEN {
        return Err(format!(
            "jwt_secret is too short: {} bytes, at least {MIN_JWT_SECRET_LEN} are needed \
             (e.g. `openssl rand -base64 48`)",
            secret.len()
        ));
    }
    let bits = character_bits(secret).min(guess_bits(secret));
    if bits < MIN_JWT_SECRET_BITS {
        return Err(format!(
            "jwt_secret is too weak: about {bits:.0} bits, at least {MIN_JWT_SECRET_BITS:.0} \
             are needed (repeats, sequences and words count for little; e.g. `openssl rand \
             -base64 48`)"
        ));
    }
    Ok(())
}

/// The secret's length times the Shannon entropy of its own characters: `aaaa...` is 0 bits,
/// `abab...` one bit per character, random base64 about six.
fn character_bits(secret: &str) -> f64 {
    let mut counts = std::collections::HashMap::<char, f64>::new();
    let mut total = 0.0_f64;
    for c in secret.chars() {
        *counts.entry(c).or_default() += 1.0;
        total += 1.0;
    }
    let per_char: f64 = counts
        .values()
        .map(|n| {
            let p = n / total;
            -p * p.log2()
        })
        .sum();
    per_char * total
}

/// zxcvbn's estimate in bits, summed over the secret's distinct 16-character pieces: zxcvbn
/// counts guesses in a `u64`, so one call saturates near 64 bits however long the secret; a
/// piece is short enough to be scored honestly, and a repeated piece counts once.
fn guess_bits(secret: &str) -> f64 {
    let chars: Vec<char> = secret.chars().collect();
    let mut seen = std::collections::HashSet::new();
    chars
        .chunks(16)
        .map(|piece| piece.iter().collect::<String>())
        .filter(|piece| seen.insert(piece.clone()))
        .map(|piece| zxcvbn(&piece, &[]).guesses_log10() * std::f64::consts::LOG2_10)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(p: &str, context: &[&str]) -> String {
        match check_password("password", p, context) {
            Err(ApiError::Validation { field, reason }) => {
                assert_eq!(field, "password");
                reason
            }
            other => panic!("{p:?} was not refused: {other:?}"),
        }
    }

    #[test]
    fn weak_passwords_are_refused_with_a_reason() {
        assert!(refused("short", &[]).contains("12 to 128"));
        assert!(refused("aaaaaaaaaaaa", &[]).contains("too easy to guess"));
        assert!(refused("            ", &[]).contains("only spaces"));
        assert!(refused("correct\0horse battery", &[]).contains("control"));
        assert!(refused("password1234", &[]).contains("too easy"));
        assert!(refused("qwertyuiop123", &[]).contains("too easy"));
        assert!(refused("123456789012", &[]).contains("too easy"));
        assert!(refused(&"x".repeat(129), &[]).contains("12 to 128"));
        // Built from the user's own name: weak for them, fine for someone else.
        assert!(refused("agentsmith2024", &["agentsmith"]).contains("too easy"));
    }

    #[test]
    fn good_passwords_pass() {
        for p in [
            "correct horse battery staple",
            "Tr0ub4dor&3-plus-more",
            "mauve-kettle-orbit-71",
            "e2e-admin-password",
            "live-admin-password",
            "load-admin-password",
        ] {
            check_password("password", p, &["admin"]).unwrap_or_else(|e| panic!("{p}: {e}"));
        }
    }

    #[test]
    fn jwt_secrets_need_length_and_entropy() {
        assert!(check_jwt_secret("x").unwrap_err().contains("too short"));
        assert!(check_jwt_secret("test-secret").is_err());
        assert!(
            check_jwt_secret(&"a".repeat(64))
                .unwrap_err()
                .contains("too weak")
        );
        assert!(
            check_jwt_secret("e2e-secret-e2e-secret-e2e-secret")
                .unwrap_err()
                .contains("too weak")
        );
        assert!(check_jwt_secret("abcdefghijklmnopqrstuvwxyz0123456789ABCD").is_err());
        // `openssl rand -base64 48` and `openssl rand -hex 32`.
        check_jwt_secret("q8Jx3mZ0r5Vt9Lk2WbN7yPc4Hs6Df1Ga0Ue8Ri3To5Yw2Ql7Mv9Xn4Bj6Kp1Sz8Ch")
            .unwrap();
        check_jwt_secret("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
            .unwrap();
    }
}
