//! Properties of [`ChannelVariables`]: whatever it accepts reaches Asterisk as exactly the one
//! variable it names, and a reserved name never passes in any case or inheritance form.

use hookflash_provider::ChannelVariables;
use hookflash_provider::variables::{RESERVED_PREFIXES, is_reserved};
use proptest::prelude::*;

/// What Asterisk's manager does with one `Variable:` header value (`astman_get_variables_order`):
/// `AST_STANDARD_APP_ARGS` splits it on commas outside parentheses and quotes, removing quotes
/// and backslash escapes, then each part is split at its first `=`.
fn asterisk_split(header: &str) -> Vec<(String, String)> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let (mut paren, mut quote) = (0u32, false);
    let mut chars = header.chars();
    while let Some(c) = chars.next() {
        match c {
            '(' => {
                paren += 1;
                cur.push(c);
            }
            ')' => {
                paren = paren.saturating_sub(1);
                cur.push(c);
            }
            '"' => quote = !quote,
            '\\' => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            ',' if paren == 0 && !quote => parts.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    parts.push(cur);
    parts
        .into_iter()
        .filter_map(|p| p.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect()
}

#[test]
fn the_model_splits_the_reported_attack() {
    let got = asterisk_split("X=1,CDR(userfield)=x,CALLERID(num)=666");
    assert_eq!(got.len(), 3);
    assert_eq!(got[1].0, "CDR(userfield)");
}

proptest! {
    #[test]
    fn an_accepted_variable_is_exactly_one_assignment(
        name in "[A-Za-z_(),=][A-Za-z0-9_(),= ]{0,20}",
        value in "[ -~\\r\\n\\t\\x00é]{0,40}",
    ) {
        let mut vars = ChannelVariables::new();
        if vars.insert(&name, &value).is_ok() {
            let header = format!("{name}={value}");
            prop_assert_eq!(asterisk_split(&header), vec![(name.clone(), value.clone())]);
            prop_assert!(!header.contains(['\r', '\n', '\0']));
            prop_assert!(!is_reserved(&name));
        }
    }

    #[test]
    fn reserved_names_never_pass(
        prefix in prop::sample::select(RESERVED_PREFIXES.to_vec()),
        underscores in 0usize..3,
        rest in "[A-Za-z0-9_]{0,10}",
        flips in prop::collection::vec(any::<bool>(), 20),
    ) {
        let cased: String = prefix
            .chars()
            .zip(flips.iter().cycle())
            .map(|(c, up)| if *up { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() })
            .collect();
        let name = format!("{}{cased}{rest}", "_".repeat(underscores));
        prop_assert!(ChannelVariables::new().insert(&name, "1").is_err(), "{} passed", name);
    }
}
