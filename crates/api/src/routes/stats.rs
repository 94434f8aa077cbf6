//! Statistics: live (active calls by state, agents by state) and for a time range (calls by
//! disposition, answer rate, average ring and talk time, abandon rate), from the store.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Duration, Utc};
use hookflash_store::StatsQuery;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody, Result};
use crate::extract::ApiQuery;
use crate::state::AppState;

/// Range of `GET /api/v1/stats` (default: the last 24 hours).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsParams {
    /// Start (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// End (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// Only this campaign.
    pub campaign: Option<String>,
    /// Only this agent.
    pub agent: Option<String>,
}

/// Live counts.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LiveStats {
    /// Calls not ended, by state.
    pub calls_by_state: BTreeMap<String, i64>,
    /// Agents by state.
    pub agents_by_state: BTreeMap<String, i64>,
}

/// Range figures.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RangeStats {
    /// Start.
    pub from: DateTime<Utc>,
    /// End.
    pub to: DateTime<Utc>,
    /// Calls created in the range.
    pub total: i64,
    /// Of them answered.
    pub answered: i64,
    /// Of them abandoned.
    pub abandoned: i64,
    /// answered / total.
    pub answer_rate: f64,
    /// abandoned / (answered + abandoned).
    pub abandon_rate: f64,
    /// Average ring time (s).
    pub avg_ring_seconds: Option<f64>,
    /// Average talk time of answered calls (s).
    pub avg_talk_seconds: Option<f64>,
    /// Calls by disposition (`none` for calls without one yet).
    pub by_disposition: BTreeMap<String, i64>,
}

/// `GET /api/v1/stats`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StatsView {
    /// Now.
    pub live: LiveStats,
    /// Over the range.
    pub range: RangeStats,
}

/// Live and range statistics of the caller's tenant (supervisor).
#[utoipa::path(get, path = "/api/v1/stats", tag = "stats", params(StatsParams),
    responses((status = 200, body = StatsView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn stats(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<StatsParams>,
) -> Result<Json<StatsView>> {
    caller.require_supervisor()?;
    let to = p.to.unwrap_or_else(Utc::now);
    let from = p.from.unwrap_or(to - Duration::hours(24));
    if from >= to {
        return Err(ApiError::validation("from", "must be before to"));
    }
    let calls_by_state = state
        .store()
        .calls()
        .live_counts(caller.tenant)
        .await?
        .into_iter()
        .collect();
    let agents_by_state = state
        .store()
        .agents()
        .state_counts(caller.tenant)
        .await?
        .into_iter()
        .map(|(s, n)| (s.as_str().to_owned(), n))
        .collect();
    let s = state
        .store()
        .calls()
        .stats(
            caller.tenant,
            &StatsQuery {
                since: from,
                until: to,
                campaign_id: p.campaign,
                agent_id: p.agent,
            },
        )
        .await?;
    Ok(Json(StatsView {
        live: LiveStats {
            calls_by_state,
            agents_by_state,
        },
        range: RangeStats {
            from,
            to,
            total: s.total,
            answered: s.answered,
            abandoned: s.abandoned,
            answer_rate: s.answer_rate,
            abandon_rate: s.abandon_rate,
            avg_ring_seconds: s.avg_ring_seconds,
            avg_talk_seconds: s.avg_talk_seconds,
            by_disposition: s
                .by_disposition
                .into_iter()
                .map(|(d, n)| (d.unwrap_or_else(|| "none".to_owned()), n))
                .collect(),
        },
    }))
}
