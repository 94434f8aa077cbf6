//! Recorded ARI sessions (`ari/*.jsonl`): their entries, loading, and id rewriting.

use serde_json::Value;

use crate::Error;

/// One entry of a recorded transcript.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Entry {
    /// A REST exchange.
    Http {
        /// `GET`, `POST`, ...
        method: String,
        /// The path as recorded, e.g. `/ari/channels/1795315699.623/answer`.
        path: String,
        /// The decoded query parameters, in recorded order.
        query: Vec<(String, String)>,
        /// The recorded status.
        status: u16,
        /// The recorded JSON body (`None` for an empty body).
        body: Option<Value>,
    },
    /// A message Asterisk pushed on WebSocket `conn` (`ws1`, `ws2`, ...).
    Ws {
        /// The recorded connection.
        conn: String,
        /// The JSON message.
        message: Value,
    },
    /// A WebSocket upgrade, close, or anything else the replay does not act on.
    Other(Value),
}

/// A recorded ARI session.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Transcript {
    pub(super) entries: Vec<Entry>,
}

impl Transcript {
    /// Parses the JSON-lines format of `ari/*.jsonl`.
    ///
    /// # Errors
    ///
    /// [`Error::Transcript`] naming the first line that is not a valid entry.
    pub fn from_jsonl(text: &str) -> Result<Self, Error> {
        let mut entries = Vec::new();
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let bad = |reason: &'static str| Error::Transcript {
                line: n + 1,
                reason,
            };
            let v: Value = serde_json::from_str(line).map_err(|_| bad("not JSON"))?;
            let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
            let entry = match v.get("kind").and_then(Value::as_str) {
                Some("http") => {
                    let full = s("path").ok_or(bad("http entry without path"))?;
                    let (path, query) = split_query(&full);
                    Entry::Http {
                        method: s("method").ok_or(bad("http entry without method"))?,
                        path,
                        query,
                        status: v
                            .get("status")
                            .and_then(Value::as_u64)
                            .and_then(|s| u16::try_from(s).ok())
                            .ok_or(bad("http entry without status"))?,
                        body: v.get("response_body").filter(|b| !b.is_null()).cloned(),
                    }
                }
                Some("ws") => Entry::Ws {
                    conn: s("conn").ok_or(bad("ws entry without conn"))?,
                    message: v
                        .get("message")
                        .cloned()
                        .ok_or(bad("ws entry without message"))?,
                },
                Some(_) => Entry::Other(v),
                None => return Err(bad("entry without kind")),
            };
            entries.push(entry);
        }
        Ok(Self { entries })
    }

    /// Reads and parses a transcript file.
    ///
    /// # Errors
    ///
    /// [`Error::TranscriptIo`] or [`Error::Transcript`].
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(Error::TranscriptIo)?;
        Self::from_jsonl(&text)
    }

    /// The entries, in recorded order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The recorded WebSocket messages of connection `conn`, in order.
    pub fn ws_messages(&self, conn: &str) -> Vec<&Value> {
        self.entries
            .iter()
            .filter_map(|e| match e {
                Entry::Ws { conn: c, message } if c == conn => Some(message),
                _ => None,
            })
            .collect()
    }

    /// Replaces the id `from` with `to` everywhere (paths, queries, bodies, messages), e.g. a
    /// recorded channel id with the one a client chose itself.
    pub fn rewrite_id(&mut self, from: &str, to: &str) -> &mut Self {
        for e in &mut self.entries {
            match e {
                Entry::Http {
                    path, query, body, ..
                } => {
                    *path = path.replace(from, to);
                    for (_, v) in query.iter_mut() {
                        *v = v.replace(from, to);
                    }
                    if let Some(b) = body {
                        rewrite_value(b, from, to);
                    }
                }
                Entry::Ws { message, .. } => rewrite_value(message, from, to),
                Entry::Other(_) => {}
            }
        }
        self
    }
}

fn rewrite_value(v: &mut Value, from: &str, to: &str) {
    match v {
        Value::String(s) if s.contains(from) => *s = s.replace(from, to),
        Value::Array(a) => a.iter_mut().for_each(|x| rewrite_value(x, from, to)),
        Value::Object(m) => m.values_mut().for_each(|x| rewrite_value(x, from, to)),
        _ => {}
    }
}

pub(super) fn split_query(full: &str) -> (String, Vec<(String, String)>) {
    match full.split_once('?') {
        None => (full.to_owned(), Vec::new()),
        Some((path, q)) => {
            let query = reqwest::Url::parse(&format!("http://x/?{q}"))
                .map(|u| {
                    u.query_pairs()
                        .map(|(k, v)| (k.into_owned(), v.into_owned()))
                        .collect()
                })
                .unwrap_or_default();
            (path.to_owned(), query)
        }
    }
}
