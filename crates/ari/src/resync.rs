//! What an application owns right now, for resynchronising after a reconnect.

use crate::{Bridge, Channel, Client, Error};

/// The channels and bridges a Stasis application is subscribed to, fetched after a
/// [`crate::StreamEvent::Reconnected`] (Asterisk replays nothing and sends no new
/// `StasisStart` for channels already in the app).
#[derive(Debug, Clone, PartialEq)]
pub struct AppSnapshot {
    /// The application's name.
    pub app: String,
    /// Its channels that still exist.
    pub channels: Vec<Channel>,
    /// Its bridges that still exist.
    pub bridges: Vec<Bridge>,
}

impl Client {
    /// Lists the channels and bridges of `app` (`GET /applications/{app}`, then each
    /// resource); one that disappears in between is left out.
    ///
    /// # Errors
    ///
    /// The first error other than a 404 for one resource.
    pub async fn app_snapshot(&self, app: &str) -> Result<AppSnapshot, Error> {
        let application = self.applications().get(app).await?;
        let mut channels = Vec::with_capacity(application.channel_ids.len());
        for id in &application.channel_ids {
            match self.channels().get(id).await {
                Ok(c) => channels.push(c),
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        let mut bridges = Vec::with_capacity(application.bridge_ids.len());
        for id in &application.bridge_ids {
            match self.bridges().get(id).await {
                Ok(b) => bridges.push(b),
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(AppSnapshot {
            app: application.name,
            channels,
            bridges,
        })
    }
}
