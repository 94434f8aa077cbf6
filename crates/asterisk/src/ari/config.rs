use std::time::Duration;

/// How the customer's leg of an agent-first call is placed once the agent answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum CustomerLeg {
    /// `POST /channels/create` into the application, then `POST /channels/{id}/dial` with the
    /// customer ring timeout: the leg is in Stasis before it rings, so every dial result
    /// (a busy customer, a timeout) reaches the application.
    #[default]
    CreateAndDial,
    /// `POST /channels` (originate) into the application: the leg enters Stasis only once
    /// answered; a failed dial is seen as `Dial` events and the leg's `ChannelDestroyed`.
    Originate,
}

/// Settings of an [`AriProvider`](crate::AriProvider).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AriProviderConfig {
    /// The provider's name, used in errors (`asterisk-ari`).
    pub name: String,
    /// The Stasis application the provider owns (`hookflash`).
    pub app: String,
    /// The PJSIP endpoint customers are dialled through: `PJSIP/<number>@<trunk>`.
    pub trunk: String,
    /// The caller ID presented when a request has none (`"Hookflash Outbound" <18005550100>`).
    pub default_caller_id: Option<String>,
    /// How the customer's leg is placed.
    pub customer_leg: CustomerLeg,
    /// The format of recordings (`wav`).
    pub recording_format: String,
    /// Recordings stop by themselves after this long (`None`: until stopped or hung up).
    pub recording_max_duration: Option<Duration>,
    /// The dialplan context transfer destinations are looked up in (`hookflash-transfer`);
    /// requests never choose it.
    pub transfer_context: String,
    /// The dialplan context holding the parking lot's extensions (`parkedcalls`): its slots
    /// (`701`) pick a parked call up.
    pub parking_context: String,
    /// The parking lot's park extension (`700`).
    pub parking_extension: String,
    /// The lot's parking spaces (`701..=720`, `parkpos` of `res_parking.conf`): the provider
    /// parks in the first free one (ARI does not say which space Asterisk would choose).
    pub parking_slots: std::ops::RangeInclusive<u32>,
    /// The context a parked leg continues in (`hookflash-park`, shipped in
    /// `examples/asterisk/extensions_hookflash.conf`): `Park()` in the chosen space with the
    /// requested timeout, and on timeout back into the application, which calls the parking
    /// agent back as the call's agent leg. Continuing into the lot's park extension
    /// instead would make the parked leg its own parker: Asterisk would call the customer's own
    /// trunk back on timeout and ignore the requested timeout.
    pub park_context: String,
    /// How long a parked call waits when the request names no timeout (45 s, the lot's default).
    pub park_timeout: Duration,
    /// The `type` of the bridges the provider creates (`mixing,dtmf_events`). Without
    /// `dtmf_events` Asterisk may bridge two RTP legs natively (packet to packet), and the
    /// RFC 4733 digits a phone sends then never reach Asterisk's core: no
    /// `ChannelDtmfReceived`, no received DTMF in the records.
    pub bridge_type: String,
    /// The dialplan contexts where calls from outside land (`hookflash-inbound`, the trunk
    /// endpoint's context in `examples/asterisk/pjsip.conf`): a channel first seen in one of
    /// them is the customer of an inbound call, reported with the legs it dials (a queue's
    /// agents) although none of them enters Stasis. Empty: no inbound calls are reported.
    pub inbound_contexts: Vec<String>,
}

impl Default for AriProviderConfig {
    fn default() -> Self {
        Self {
            name: "asterisk-ari".to_owned(),
            app: "hookflash".to_owned(),
            trunk: "trunk".to_owned(),
            default_caller_id: None,
            customer_leg: CustomerLeg::default(),
            recording_format: "wav".to_owned(),
            recording_max_duration: None,
            transfer_context: "hookflash-transfer".to_owned(),
            parking_context: "parkedcalls".to_owned(),
            parking_extension: "700".to_owned(),
            parking_slots: 701..=720,
            park_context: "hookflash-park".to_owned(),
            park_timeout: Duration::from_secs(45),
            bridge_type: "mixing,dtmf_events".to_owned(),
            inbound_contexts: vec!["hookflash-inbound".to_owned()],
        }
    }
}

impl AriProviderConfig {
    /// The defaults, for application `app`.
    pub fn new(app: impl Into<String>) -> Self {
        Self {
            app: app.into(),
            ..Self::default()
        }
    }

    /// Sets how the customer's leg is placed.
    #[must_use]
    pub fn customer_leg(mut self, how: CustomerLeg) -> Self {
        self.customer_leg = how;
        self
    }

    /// Sets the trunk endpoint customers are dialled through.
    #[must_use]
    pub fn trunk(mut self, trunk: impl Into<String>) -> Self {
        self.trunk = trunk.into();
        self
    }

    /// Sets the dialplan context transfer destinations are looked up in (see
    /// [`Self::transfer_context`]).
    #[must_use]
    pub fn transfer_context(mut self, context: impl Into<String>) -> Self {
        self.transfer_context = context.into();
        self
    }

    /// Sets the maximum length of recordings.
    #[must_use]
    pub fn recording_max_duration(mut self, max: Duration) -> Self {
        self.recording_max_duration = Some(max);
        self
    }

    /// Sets the `type` of the bridges the provider creates (see [`Self::bridge_type`]).
    #[must_use]
    pub fn bridge_type(mut self, bridge_type: impl Into<String>) -> Self {
        self.bridge_type = bridge_type.into();
        self
    }

    /// Sets the dialplan contexts inbound calls land in (see [`Self::inbound_contexts`]).
    #[must_use]
    pub fn inbound_contexts<I, S>(mut self, contexts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.inbound_contexts = contexts.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the caller ID used when a request has none.
    #[must_use]
    pub fn default_caller_id(mut self, caller_id: impl Into<String>) -> Self {
        self.default_caller_id = Some(caller_id.into());
        self
    }
}
