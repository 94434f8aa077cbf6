//! AriProvider: call control over the Asterisk REST Interface (being written).
