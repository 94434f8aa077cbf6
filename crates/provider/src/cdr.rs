//! The platform's own billing record of a leg, in neutral terms.
//!
//! Asterisk writes a CDR when a channel ends (AMI `Cdr` events); the AMI provider reads it into
//! a [`CdrRecord`] and emits it as [`ProviderEvent::Cdr`](crate::ProviderEvent::Cdr), so the
//! pipeline stores it beside the call the tracker built without knowing AMI. Platforms that
//! keep no such record (ARI, Twilio) simply never emit one.

use chrono::{DateTime, Utc};

/// One billing record of one leg, as the platform wrote it.
///
/// Every field is what the platform said, already parsed (times in UTC, seconds as numbers);
/// `fields` keeps the whole record as it was sent, for audit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct CdrRecord {
    /// The leg the record is about (its [`LegId`](crate::LegId) text; empty when the platform
    /// named none).
    pub leg: String,
    /// The caller's number.
    pub source: Option<String>,
    /// The number or extension dialled.
    pub destination: Option<String>,
    /// Where the destination was looked up (the dialplan context).
    pub destination_context: Option<String>,
    /// The leg's channel name.
    pub channel: Option<String>,
    /// The other side's channel name.
    pub destination_channel: Option<String>,
    /// The last application the leg ran.
    pub last_application: Option<String>,
    /// Its arguments.
    pub last_data: Option<String>,
    /// When the leg started.
    pub start_at: Option<DateTime<Utc>>,
    /// When it was answered (never, for an unanswered leg).
    pub answer_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub end_at: Option<DateTime<Utc>>,
    /// Start to end, in seconds.
    pub duration_secs: Option<i64>,
    /// Answer to end, in seconds (what the platform bills).
    pub billable_secs: Option<i64>,
    /// The platform's disposition (`ANSWERED`, `NO ANSWER`, `BUSY`, `FAILED`).
    pub disposition: Option<String>,
    /// The account code set on the leg.
    pub account_code: Option<String>,
    /// The free-form user field set on the leg.
    pub user_field: Option<String>,
    /// The record as the platform sent it, name and value per field, in order.
    pub fields: Vec<(String, String)>,
}
