use chrono::{DateTime, Utc};
use hookflash_provider::TenantId;
use sqlx::types::Json;
use uuid::Uuid;

use crate::db::{Store, on_db};
use crate::error::StoreError;

/// A raw CDR row as Asterisk reports it (AMI `Cdr` event or cdr_adaptive_odbc), kept by
/// uniqueid so the same CDR delivered twice is one row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Cdr {
    /// Its tenant.
    pub tenant_id: Uuid,
    /// The channel's uniqueid.
    pub uniqueid: String,
    /// The call's linkedid.
    pub linkedid: Option<String>,
    /// Our call, when known.
    pub call_id: Option<Uuid>,
    /// Source (caller) number.
    pub src: Option<String>,
    /// Destination.
    pub dst: Option<String>,
    /// Destination context.
    pub dcontext: Option<String>,
    /// Channel.
    pub channel: Option<String>,
    /// Destination channel.
    pub dstchannel: Option<String>,
    /// Last application.
    pub lastapp: Option<String>,
    /// Its arguments.
    pub lastdata: Option<String>,
    /// Start.
    pub start_at: Option<DateTime<Utc>>,
    /// Answer.
    pub answer_at: Option<DateTime<Utc>>,
    /// End.
    pub end_at: Option<DateTime<Utc>>,
    /// Seconds from start to end.
    pub duration: Option<i64>,
    /// Seconds from answer to end.
    pub billsec: Option<i64>,
    /// `ANSWERED`, `NO ANSWER`, `BUSY`, `FAILED`.
    pub disposition: Option<String>,
    /// Account code.
    pub accountcode: Option<String>,
    /// User field.
    pub userfield: Option<String>,
    /// Every field as received.
    #[sqlx(json)]
    pub raw: serde_json::Value,
}

/// Raw CDRs.
#[derive(Debug, Clone, Copy)]
pub struct Cdrs<'a> {
    pub(crate) store: &'a Store,
}

const COLS: &str = "tenant_id, uniqueid, linkedid, call_id, src, dst, dcontext, channel, \
                    dstchannel, lastapp, lastdata, start_at, answer_at, end_at, duration, \
                    billsec, disposition, accountcode, userfield, raw";

impl Cdrs<'_> {
    /// Stores a CDR; a second delivery of the same uniqueid replaces the first.
    ///
    /// # Errors
    /// The database's error.
    pub async fn upsert(&self, cdr: &Cdr) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO cdr ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
             $13, $14, $15, $16, $17, $18, $19, $20) \
             ON CONFLICT (tenant_id, uniqueid) DO UPDATE SET linkedid = excluded.linkedid, \
             call_id = excluded.call_id, src = excluded.src, dst = excluded.dst, \
             dcontext = excluded.dcontext, channel = excluded.channel, \
             dstchannel = excluded.dstchannel, lastapp = excluded.lastapp, \
             lastdata = excluded.lastdata, start_at = excluded.start_at, \
             answer_at = excluded.answer_at, end_at = excluded.end_at, \
             duration = excluded.duration, billsec = excluded.billsec, \
             disposition = excluded.disposition, accountcode = excluded.accountcode, \
             userfield = excluded.userfield, raw = excluded.raw"
        );
        on_db!(&self.store.db, pool => sqlx::query(&sql)
            .bind(cdr.tenant_id)
            .bind(&cdr.uniqueid)
            .bind(&cdr.linkedid)
            .bind(cdr.call_id)
            .bind(&cdr.src)
            .bind(&cdr.dst)
            .bind(&cdr.dcontext)
            .bind(&cdr.channel)
            .bind(&cdr.dstchannel)
            .bind(&cdr.lastapp)
            .bind(&cdr.lastdata)
            .bind(cdr.start_at)
            .bind(cdr.answer_at)
            .bind(cdr.end_at)
            .bind(cdr.duration)
            .bind(cdr.billsec)
            .bind(&cdr.disposition)
            .bind(&cdr.accountcode)
            .bind(&cdr.userfield)
            .bind(Json(&cdr.raw))
            .execute(pool)
            .await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// The CDR with this uniqueid in the tenant.
    ///
    /// # Errors
    /// The database's error.
    pub async fn get(&self, tenant: TenantId, uniqueid: &str) -> Result<Option<Cdr>, StoreError> {
        let sql = format!("SELECT {COLS} FROM cdr WHERE tenant_id = $1 AND uniqueid = $2");
        Ok(
            on_db!(&self.store.db, pool => sqlx::query_as::<_, Cdr>(&sql)
            .bind(*tenant.as_uuid())
            .bind(uniqueid)
            .fetch_optional(pool)
            .await)?,
        )
    }

    /// The CDRs of one linkedid in the tenant, by start time.
    ///
    /// # Errors
    /// The database's error.
    pub async fn by_linkedid(
        &self,
        tenant: TenantId,
        linkedid: &str,
    ) -> Result<Vec<Cdr>, StoreError> {
        let sql = format!(
            "SELECT {COLS} FROM cdr WHERE tenant_id = $1 AND linkedid = $2 \
             ORDER BY start_at, uniqueid"
        );
        Ok(
            on_db!(&self.store.db, pool => sqlx::query_as::<_, Cdr>(&sql)
            .bind(*tenant.as_uuid())
            .bind(linkedid)
            .fetch_all(pool)
            .await)?,
        )
    }
}
