//! Handles: an id plus the client, for the resources an application drives.
//!
//! Stage-then-execute: a handle can exist before its resource does. Pick the id first
//! ([`Client::new_channel`]), subscribe to its events ([`crate::EventStream::subscribe_channel`]),
//! then create it ([`ChannelHandle::originate`]); the first event of the channel cannot arrive
//! before the subscriber is in place.

use crate::{
    Bridge, BridgesAddChannelOptions, BridgesCreateWithIdOptions, BridgesPlayWithIdOptions,
    BridgesRecordOptions, Channel, ChannelsCreateOptions, ChannelsHangupOptions,
    ChannelsMuteOptions, ChannelsOriginateWithIdOptions, ChannelsPlayWithIdOptions,
    ChannelsRecordOptions, ChannelsUnmuteOptions, Client, Error, LiveRecording, Playback,
    StoredRecording,
};

/// A channel by id.
#[derive(Debug, Clone)]
pub struct ChannelHandle {
    id: String,
    client: Client,
}

/// A bridge by id.
#[derive(Debug, Clone)]
pub struct BridgeHandle {
    id: String,
    client: Client,
}

/// A playback by id.
#[derive(Debug, Clone)]
pub struct PlaybackHandle {
    id: String,
    client: Client,
}

/// A live recording by name.
#[derive(Debug, Clone)]
pub struct LiveRecordingHandle {
    name: String,
    client: Client,
}

impl Client {
    /// A handle for the existing (or staged) channel `id`.
    pub fn channel_handle(&self, id: impl Into<String>) -> ChannelHandle {
        ChannelHandle {
            id: id.into(),
            client: self.clone(),
        }
    }

    /// A handle with a fresh id from the id generator, for a channel not created yet.
    pub fn new_channel(&self) -> ChannelHandle {
        self.channel_handle(self.new_id())
    }

    /// A handle for the existing (or staged) bridge `id`.
    pub fn bridge_handle(&self, id: impl Into<String>) -> BridgeHandle {
        BridgeHandle {
            id: id.into(),
            client: self.clone(),
        }
    }

    /// A handle with a fresh id, for a bridge not created yet.
    pub fn new_bridge(&self) -> BridgeHandle {
        self.bridge_handle(self.new_id())
    }

    /// A handle for playback `id`.
    pub fn playback_handle(&self, id: impl Into<String>) -> PlaybackHandle {
        PlaybackHandle {
            id: id.into(),
            client: self.clone(),
        }
    }

    /// A handle for the live recording `name`.
    pub fn recording_handle(&self, name: impl Into<String>) -> LiveRecordingHandle {
        LiveRecordingHandle {
            name: name.into(),
            client: self.clone(),
        }
    }
}

impl ChannelHandle {
    /// The channel id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Originates this channel with its chosen id (`POST /channels/{channelId}`).
    pub async fn originate(
        &self,
        endpoint: &str,
        options: ChannelsOriginateWithIdOptions,
    ) -> Result<Channel, Error> {
        self.client
            .channels()
            .originate_with_id(&self.id, endpoint, options)
            .await
    }

    /// Creates this channel in `app` without dialling it (`POST /channels/create`, with
    /// `channelId`); dial it with [`ChannelHandle::dial`].
    pub async fn create(
        &self,
        endpoint: &str,
        app: &str,
        mut options: ChannelsCreateOptions,
    ) -> Result<Channel, Error> {
        options.channel_id = Some(self.id.clone());
        self.client.channels().create(endpoint, app, options).await
    }

    /// The channel's current snapshot.
    pub async fn get(&self) -> Result<Channel, Error> {
        self.client.channels().get(&self.id).await
    }

    /// Answers.
    pub async fn answer(&self) -> Result<(), Error> {
        self.client.channels().answer(&self.id).await
    }

    /// Dials a channel made with [`ChannelHandle::create`].
    pub async fn dial(&self, caller: Option<&str>, timeout_secs: Option<i64>) -> Result<(), Error> {
        let mut options = crate::ChannelsDialOptions::new();
        options.caller = caller.map(str::to_owned);
        options.timeout = timeout_secs;
        self.client.channels().dial(&self.id, options).await
    }

    /// Hangs up (normal clearing).
    pub async fn hangup(&self) -> Result<(), Error> {
        self.client
            .channels()
            .hangup(&self.id, ChannelsHangupOptions::new())
            .await
    }

    /// Puts the channel on hold (ARI sends no ChannelHold event for this).
    pub async fn hold(&self) -> Result<(), Error> {
        self.client.channels().hold(&self.id).await
    }

    /// Takes the channel off hold.
    pub async fn unhold(&self) -> Result<(), Error> {
        self.client.channels().unhold(&self.id).await
    }

    /// Mutes audio in `direction` (`both`, `in`, `out`).
    pub async fn mute(&self, direction: &str) -> Result<(), Error> {
        self.client
            .channels()
            .mute(&self.id, ChannelsMuteOptions::new().direction(direction))
            .await
    }

    /// Unmutes audio in `direction`.
    pub async fn unmute(&self, direction: &str) -> Result<(), Error> {
        self.client
            .channels()
            .unmute(&self.id, ChannelsUnmuteOptions::new().direction(direction))
            .await
    }

    /// Plays `media` (e.g. `sound:hello-world`) with a playback id chosen first, so the playback
    /// can be followed before it starts.
    pub async fn play(&self, media: &[&str]) -> Result<(PlaybackHandle, Playback), Error> {
        let handle = self.client.playback_handle(self.client.new_id());
        let playback = self
            .client
            .channels()
            .play_with_id(
                &self.id,
                &handle.id,
                media,
                ChannelsPlayWithIdOptions::new(),
            )
            .await?;
        Ok((handle, playback))
    }

    /// Records the channel to `name` in `format` (e.g. `wav`).
    pub async fn record(
        &self,
        name: &str,
        format: &str,
        options: ChannelsRecordOptions,
    ) -> Result<(LiveRecordingHandle, LiveRecording), Error> {
        let rec = self
            .client
            .channels()
            .record(&self.id, name, format, options)
            .await?;
        Ok((self.client.recording_handle(name), rec))
    }

    /// Sets a channel variable.
    pub async fn set_var(&self, name: &str, value: &str) -> Result<(), Error> {
        self.client
            .channels()
            .set_channel_var(
                &self.id,
                name,
                crate::ChannelsSetChannelVarOptions::new().value(value),
            )
            .await
    }

    /// Reads a channel variable.
    pub async fn get_var(&self, name: &str) -> Result<String, Error> {
        self.client
            .channels()
            .get_channel_var(&self.id, name)
            .await
            .map(|v| v.value)
    }
}

impl BridgeHandle {
    /// The bridge id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Creates this bridge with its chosen id; `kind` is e.g. `mixing` or `mixing,dtmf_events`.
    pub async fn create(&self, kind: &str, name: Option<&str>) -> Result<Bridge, Error> {
        let mut options = BridgesCreateWithIdOptions::new().r#type(kind);
        options.name = name.map(str::to_owned);
        self.client
            .bridges()
            .create_with_id(&self.id, options)
            .await
    }

    /// The bridge's current snapshot.
    pub async fn get(&self) -> Result<Bridge, Error> {
        self.client.bridges().get(&self.id).await
    }

    /// Adds channels to the bridge.
    pub async fn add_channels(&self, channel_ids: &[&str]) -> Result<(), Error> {
        self.client
            .bridges()
            .add_channel(&self.id, channel_ids, BridgesAddChannelOptions::new())
            .await
    }

    /// Removes channels from the bridge.
    pub async fn remove_channels(&self, channel_ids: &[&str]) -> Result<(), Error> {
        self.client
            .bridges()
            .remove_channel(&self.id, channel_ids)
            .await
    }

    /// Destroys the bridge (its channels stay up).
    pub async fn destroy(&self) -> Result<(), Error> {
        self.client.bridges().destroy(&self.id).await
    }

    /// Plays `media` to the bridge with a playback id chosen first.
    pub async fn play(&self, media: &[&str]) -> Result<(PlaybackHandle, Playback), Error> {
        let handle = self.client.playback_handle(self.client.new_id());
        let playback = self
            .client
            .bridges()
            .play_with_id(&self.id, &handle.id, media, BridgesPlayWithIdOptions::new())
            .await?;
        Ok((handle, playback))
    }

    /// Records the bridge's mix to `name` in `format`.
    pub async fn record(
        &self,
        name: &str,
        format: &str,
        options: BridgesRecordOptions,
    ) -> Result<(LiveRecordingHandle, LiveRecording), Error> {
        let rec = self
            .client
            .bridges()
            .record(&self.id, name, format, options)
            .await?;
        Ok((self.client.recording_handle(name), rec))
    }
}

impl PlaybackHandle {
    /// The playback id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The playback's current state.
    pub async fn get(&self) -> Result<Playback, Error> {
        self.client.playbacks().get(&self.id).await
    }

    /// Stops the playback.
    pub async fn stop(&self) -> Result<(), Error> {
        self.client.playbacks().stop(&self.id).await
    }

    /// Controls the playback: `restart`, `pause`, `unpause`, `reverse`, `forward`.
    pub async fn control(&self, operation: &str) -> Result<(), Error> {
        self.client.playbacks().control(&self.id, operation).await
    }
}

impl LiveRecordingHandle {
    /// The recording name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The live recording's state.
    pub async fn get(&self) -> Result<LiveRecording, Error> {
        self.client.recordings().get_live(&self.name).await
    }

    /// Stops and keeps the recording.
    pub async fn stop(&self) -> Result<(), Error> {
        self.client.recordings().stop(&self.name).await
    }

    /// Stops and discards the recording.
    pub async fn cancel(&self) -> Result<(), Error> {
        self.client.recordings().cancel(&self.name).await
    }

    /// Pauses the recording.
    pub async fn pause(&self) -> Result<(), Error> {
        self.client.recordings().pause(&self.name).await
    }

    /// Resumes the recording.
    pub async fn unpause(&self) -> Result<(), Error> {
        self.client.recordings().unpause(&self.name).await
    }

    /// The stored recording once finished.
    pub async fn stored(&self) -> Result<StoredRecording, Error> {
        self.client.recordings().get_stored(&self.name).await
    }
}
