//! Reads back the TwiML this crate writes: enough of XML for `<Response>` documents of
//! elements with double-quoted attributes and text.

use crate::twiml::unescape;

/// A parsed TwiML element.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Node {
    /// The element name.
    pub name: String,
    /// Its attributes, unescaped.
    pub attrs: Vec<(String, String)>,
    /// Its text, unescaped and trimmed.
    pub text: String,
    /// Its child elements.
    pub children: Vec<Node>,
}

impl Node {
    /// An attribute's value.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses a TwiML document; returns the `<Response>` element's children, or `None` when the
/// text is not well-formed enough.
pub fn parse(doc: &str) -> Option<Vec<Node>> {
    let mut rest = doc.trim();
    if let Some(after) = rest.strip_prefix("<?xml") {
        rest = after.split_once("?>")?.1.trim_start();
    }
    let (root, tail) = element(rest)?;
    if root.name != "Response" || !tail.trim().is_empty() {
        return None;
    }
    Some(root.children)
}

fn element(input: &str) -> Option<(Node, &str)> {
    let input = input.trim_start().strip_prefix('<')?;
    let name_end = input.find(|c: char| c.is_whitespace() || c == '>' || c == '/')?;
    let mut node = Node {
        name: input[..name_end].to_owned(),
        ..Node::default()
    };
    let mut rest = &input[name_end..];
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix("/>") {
            return Some((node, after));
        }
        if let Some(after) = rest.strip_prefix('>') {
            rest = after;
            break;
        }
        let eq = rest.find('=')?;
        let key = rest[..eq].trim().to_owned();
        let after_eq = rest[eq + 1..].trim_start().strip_prefix('"')?;
        let close = after_eq.find('"')?;
        node.attrs.push((key, unescape(&after_eq[..close])));
        rest = &after_eq[close + 1..];
    }
    let end_tag = format!("</{}>", node.name);
    let mut text = String::new();
    loop {
        if let Some(after) = rest.strip_prefix(end_tag.as_str()) {
            node.text = unescape(text.trim());
            return Some((node, after));
        }
        if rest.starts_with('<') {
            let (child, after) = element(rest)?;
            node.children.push(child);
            rest = after;
        } else {
            let next = rest.find('<')?;
            text.push_str(&rest[..next]);
            rest = &rest[next..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twiml::{Element, response};

    #[test]
    fn reads_what_the_writer_writes() {
        let doc = response([
            Element::new("Play").attr("digits", "12#"),
            Element::new("Dial")
                .attr("action", "https://h/a?x=1&y=2")
                .child(
                    Element::new("Number")
                        .attr("statusCallbackEvent", "initiated ringing")
                        .text("+1555"),
                ),
            Element::new("Hangup"),
        ]);
        let nodes = parse(&doc).unwrap();
        assert_eq!(nodes.len(), 3);
        assert_eq!(nodes[0].attr("digits"), Some("12#"));
        assert_eq!(nodes[1].attr("action"), Some("https://h/a?x=1&y=2"));
        assert_eq!(nodes[1].children[0].text, "+1555");
        assert_eq!(nodes[2].name, "Hangup");
        assert!(parse("<Nope/>").is_none());
    }
}

#[cfg(test)]
mod props {
    use proptest::prelude::*;

    use super::*;
    use crate::twiml::{Element, response};

    proptest! {
        #[test]
        fn escaped_text_and_attributes_round_trip(text in "\\PC{0,40}", attr in "\\PC{0,40}") {
            let doc = response([Element::new("Dial")
                .attr("action", attr.clone())
                .child(Element::new("Number").text(text.clone()))]);
            let nodes = parse(&doc).unwrap();
            prop_assert_eq!(nodes[0].attr("action"), Some(attr.as_str()));
            prop_assert_eq!(&nodes[0].children[0].text, text.trim());
        }
    }
}
