/// The `agi_*` environment block Asterisk sends first on a FastAGI connection.
///
/// Asterisk writes `agi_network: yes`, `agi_network_script: <path>` (the part of the
/// `agi://host:port/<path>` URL after the host), then one `agi_<name>: <value>` line per
/// variable (`agi_request`, `agi_channel`, `agi_uniqueid`, `agi_callerid`, ..., `agi_arg_N`)
/// and an empty line. Names are kept without the `agi_` prefix, in order; values as sent
/// (lossily decoded as UTF-8).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgiEnv {
    vars: Vec<(String, String)>,
}

impl AgiEnv {
    /// An environment from `(name, value)` pairs, names without the `agi_` prefix.
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        AgiEnv {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// Writes the block as Asterisk does, `agi_<name>: <value>` lines and an empty line (for
    /// fake Asterisk peers in tests and examples).
    pub fn encode(&self, buf: &mut bytes::BytesMut) {
        use bytes::BufMut;
        for (k, v) in &self.vars {
            buf.put_slice(format!("agi_{k}: {v}\n").as_bytes());
        }
        buf.put_u8(b'\n');
    }

    pub(crate) fn push(&mut self, name: String, value: String) {
        self.vars.push((name, value));
    }

    pub(crate) fn len(&self) -> usize {
        self.vars.len()
    }

    /// The value of `agi_<name>` (the first, if repeated).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every variable in the order received, names without the `agi_` prefix.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The script path from the AGI URL (`agi_network_script`), without a leading `/`
    /// and without the `?query` part; empty when the URL had none. Servers route on it.
    pub fn script_path(&self) -> &str {
        let raw = self.get("network_script").unwrap_or("");
        let raw = raw.trim_start_matches('/');
        raw.split('?').next().unwrap_or("")
    }

    /// The `?query` part of the script URL, if any (arguments passed in the URL).
    pub fn script_query(&self) -> Option<&str> {
        self.get("network_script")
            .and_then(|s| s.split_once('?'))
            .map(|(_, q)| q)
    }

    /// The channel's unique id (`agi_uniqueid`): joins the AGI session to the AMI/ARI legs.
    pub fn uniqueid(&self) -> Option<&str> {
        self.get("uniqueid")
    }

    /// The channel name (`agi_channel`), e.g. `PJSIP/carrier-00000001`.
    pub fn channel(&self) -> Option<&str> {
        self.get("channel")
    }

    /// The caller's number (`agi_callerid`); `None` when Asterisk sent `unknown` or nothing.
    pub fn caller_number(&self) -> Option<&str> {
        self.get("callerid")
            .filter(|v| !v.is_empty() && !v.eq_ignore_ascii_case("unknown"))
    }

    /// The dialled number (`agi_extension`).
    pub fn extension(&self) -> Option<&str> {
        self.get("extension")
    }

    /// The dialplan context (`agi_context`).
    pub fn context(&self) -> Option<&str> {
        self.get("context")
    }

    /// The AGI() application arguments `agi_arg_1`, `agi_arg_2`, ... in order.
    pub fn args(&self) -> Vec<&str> {
        let mut out = Vec::new();
        for n in 1usize.. {
            match self.get(&format!("arg_{n}")) {
                Some(v) => out.push(v),
                None => break,
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_path_drops_slash_and_query() {
        let env = AgiEnv::from_pairs([("network_script", "/callback?queue=sales")]);
        assert_eq!(env.script_path(), "callback");
        assert_eq!(env.script_query(), Some("queue=sales"));
        assert_eq!(AgiEnv::default().script_path(), "");
    }

    #[test]
    fn unknown_caller_is_none_and_args_are_in_order() {
        let env = AgiEnv::from_pairs([
            ("callerid", "unknown"),
            ("arg_1", "a"),
            ("arg_2", "b c"),
            ("arg_4", "skipped"),
        ]);
        assert_eq!(env.caller_number(), None);
        assert_eq!(env.args(), vec!["a", "b c"]);
    }
}
