//! A small TwiML writer: only the verbs and nouns this crate sends, with XML escaping.

use std::fmt::Write as _;

/// One TwiML element: a name, attributes and either text or children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    name: &'static str,
    attrs: Vec<(&'static str, String)>,
    text: Option<String>,
    children: Vec<Element>,
}

impl Element {
    /// An empty element.
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            attrs: Vec::new(),
            text: None,
            children: Vec::new(),
        }
    }

    /// Adds an attribute.
    #[must_use]
    pub fn attr(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.attrs.push((name, value.into()));
        self
    }

    /// Adds an attribute when `value` is `Some`.
    #[must_use]
    pub fn attr_opt(self, name: &'static str, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(v) => self.attr(name, v),
            None => self,
        }
    }

    /// Sets the text content.
    #[must_use]
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }

    /// Adds a child element.
    #[must_use]
    pub fn child(mut self, child: Element) -> Self {
        self.children.push(child);
        self
    }

    fn write(&self, out: &mut String) {
        out.push('<');
        out.push_str(self.name);
        for (name, value) in &self.attrs {
            let _ = write!(out, " {name}=\"{}\"", escape(value));
        }
        if self.text.is_none() && self.children.is_empty() {
            out.push_str("/>");
            return;
        }
        out.push('>');
        if let Some(text) = &self.text {
            out.push_str(&escape(text));
        }
        for child in &self.children {
            child.write(out);
        }
        let _ = write!(out, "</{}>", self.name);
    }
}

/// A `<Response>` document.
pub fn response(verbs: impl IntoIterator<Item = Element>) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    let mut root = Element::new("Response");
    root.children.extend(verbs);
    // An empty <Response/> is valid TwiML: Twilio hangs up.
    root.write(&mut out);
    out
}

/// Escapes text for XML content and double-quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Reverses [`escape`] (for the fake Twilio, which reads our TwiML back).
#[cfg(feature = "fake")]
pub(crate) fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// The noun a `<Dial>` dials, chosen from how the endpoint is spelt.
pub(crate) fn dial_noun(endpoint: &str) -> Element {
    let endpoint = endpoint.trim();
    if let Some(identity) = endpoint.strip_prefix("client:") {
        Element::new("Client").text(identity)
    } else if endpoint.starts_with("sip:") || endpoint.starts_with("sips:") {
        Element::new("Sip").text(endpoint)
    } else {
        Element::new("Number").text(endpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_escaped_nested_twiml() {
        let doc = response([Element::new("Dial")
            .attr("callerId", "+15550001111")
            .attr("action", "https://h/x?a=1&b=2")
            .child(Element::new("Number").text("+1555<2>"))]);
        assert_eq!(
            doc,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Dial callerId=\"+15550001111\" \
             action=\"https://h/x?a=1&amp;b=2\"><Number>+1555&lt;2&gt;</Number></Dial></Response>"
        );
        assert_eq!(unescape("a&amp;b&lt;&quot;"), "a&b<\"");
    }

    #[test]
    fn nouns_follow_the_endpoint_spelling() {
        assert_eq!(
            dial_noun("client:alice"),
            Element::new("Client").text("alice")
        );
        assert_eq!(
            dial_noun("sip:a@b.com"),
            Element::new("Sip").text("sip:a@b.com")
        );
        assert_eq!(dial_noun("+1555"), Element::new("Number").text("+1555"));
        assert_eq!(
            response([]),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>"
        );
    }
}
