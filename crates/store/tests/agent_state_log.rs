//! The agent-state log on both databases: the changes an agent-state machine emits are written
//! in batches and read back as time per agent, state and pause reason over a range.

#[allow(dead_code, unreachable_pub)]
#[path = "store/common.rs"]
mod common;

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use hookflash_agents::{
    AgentChange, AgentId, AgentSpec, AgentState, Agents, AgentsConfig, Offer, OfferOutcome,
    ReasonCode, Request,
};
use hookflash_provider::{CallId, TenantId};
use hookflash_store::{StateTime, Store};

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_338_000, 0).unwrap() + TimeDelta::seconds(secs)
}

/// One agent's morning through the real machine: logged out 0-10, ready 10-20, reserved
/// 20-25, on call 25-85, wrap-up 85-115, ready 115-130, paused (lunch) 130-190, then logged
/// out at 190.
fn morning(tenant: TenantId, agent: AgentId) -> Vec<AgentChange> {
    let mut m = Agents::new(AgentsConfig::default());
    m.set_pause_reasons(tenant, [ReasonCode::new("lunch").unwrap()])
        .unwrap();
    m.register(AgentSpec::new(agent, tenant, "PJSIP/agent1001"), t(0))
        .unwrap();
    let call = CallId::new_random();
    let mut out = Vec::new();
    out.extend(m.request(agent, Request::LogIn, t(10)).unwrap());
    out.extend(m.reserve(agent, Offer::new(call), t(20)).unwrap());
    out.extend(
        m.offer_outcome(agent, call, OfferOutcome::Accepted, t(25))
            .unwrap(),
    );
    // The call ends (as the tracker would say) at 85: the default wrap-up is 30 s.
    out.extend(ended(&mut m, tenant, agent, call, t(85)));
    out.extend(m.poll(t(115)));
    let lunch = ReasonCode::new("lunch").unwrap();
    out.extend(m.request(agent, Request::Pause(lunch), t(130)).unwrap());
    out.extend(m.request(agent, Request::LogOut, t(190)).unwrap());
    out.iter().filter_map(|u| u.change().cloned()).collect()
}

/// The tracker's word that the agent's leg of `call` ended.
fn ended(
    m: &mut Agents,
    tenant: TenantId,
    _agent: AgentId,
    call: CallId,
    at: DateTime<Utc>,
) -> Vec<hookflash_agents::AgentUpdate> {
    use hookflash_calls::{Tracker, TrackerConfig};
    use hookflash_provider::{HangupCause, HangupSide, LegEvent, LegEventKind, LegId};
    let mut tracker = Tracker::new(TrackerConfig::default());
    tracker.register_originate(call, tenant, "PJSIP/agent1001", "5551204005", at);
    let leg = LegId::new("1795338000.1").unwrap();
    let mut out = Vec::new();
    for kind in [
        LegEventKind::Answered,
        LegEventKind::HungUp {
            cause: HangupCause::from_code(16),
            side: HangupSide::Remote,
        },
    ] {
        let ev = LegEvent::new(leg.clone(), at, kind)
            .with_call_id(call)
            .with_channel("PJSIP/agent1001-00000001");
        for u in tracker.apply(&ev, at) {
            out.extend(m.apply(&u, at));
        }
    }
    out
}

fn time(report: &[StateTime], state: AgentState, reason: Option<&str>) -> Duration {
    report
        .iter()
        .filter(|r| r.state == state && r.pause_reason.as_deref() == reason)
        .map(|r| r.time)
        .sum()
}

async fn log_and_report(store: Store) {
    let tenant = store.tenants().create("Acme", "acme").await.unwrap();
    let other = store.tenants().create("Other", "other").await.unwrap();
    let (tenant, other) = (tenant.tenant_id(), other.tenant_id());
    let agent = AgentId::new_random();
    let changes = morning(tenant, agent);
    assert_eq!(changes.len(), 7, "{changes:#?}");
    // Written in two batches.
    let log = store.agent_state_log();
    assert_eq!(log.write(&changes[..3]).await.unwrap(), 3);
    assert_eq!(log.write(&changes[3..]).await.unwrap(), 4);
    assert_eq!(log.write(&[]).await.unwrap(), 0);

    let all = log.time_in_states(tenant, t(0), t(1000)).await.unwrap();
    let s = Duration::from_secs;
    assert_eq!(time(&all, AgentState::LoggedOut, None), s(10));
    assert_eq!(time(&all, AgentState::Ready, None), s(25));
    assert_eq!(time(&all, AgentState::Reserved, None), s(5));
    assert_eq!(time(&all, AgentState::OnCall, None), s(60));
    assert_eq!(time(&all, AgentState::WrapUp, None), s(30));
    assert_eq!(time(&all, AgentState::Paused, Some("lunch")), s(60));
    assert!(all.iter().all(|r| r.agent == agent));
    // Logged stretches cover everything from registration to the last change.
    let total: Duration = all.iter().map(|r| r.time).sum();
    assert_eq!(total, s(190));

    // A range cuts stretches at both ends: 50..140 is 35 s on call, 30 wrap-up, 15 ready,
    // 10 paused.
    let part = log.time_in_states(tenant, t(50), t(140)).await.unwrap();
    assert_eq!(time(&part, AgentState::OnCall, None), s(35));
    assert_eq!(time(&part, AgentState::WrapUp, None), s(30));
    assert_eq!(time(&part, AgentState::Ready, None), s(15));
    assert_eq!(time(&part, AgentState::Paused, Some("lunch")), s(10));
    assert_eq!(time(&part, AgentState::LoggedOut, None), s(0));
    assert_eq!(part.iter().map(|r| r.time).sum::<Duration>(), s(90));

    // Another tenant sees nothing; an empty range is empty.
    assert!(
        log.time_in_states(other, t(0), t(1000))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        log.time_in_states(tenant, t(500), t(600))
            .await
            .unwrap()
            .is_empty()
    );
}

/// A batch larger than one statement's chunk is written whole.
async fn big_batches_are_chunked(store: Store) {
    let tenant = store
        .tenants()
        .create("Acme", "acme")
        .await
        .unwrap()
        .tenant_id();
    let mut m = Agents::new(AgentsConfig::default());
    m.set_pause_reasons(tenant, [ReasonCode::new("brb").unwrap()])
        .unwrap();
    let agent = AgentId::new_random();
    m.register(AgentSpec::new(agent, tenant, "PJSIP/a"), t(0))
        .unwrap();
    let mut changes = Vec::new();
    changes.extend(m.request(agent, Request::LogIn, t(0)).unwrap());
    for i in 0..600 {
        let brb = ReasonCode::new("brb").unwrap();
        changes.extend(m.request(agent, Request::Pause(brb), t(2 * i + 1)).unwrap());
        changes.extend(m.request(agent, Request::Ready, t(2 * i + 2)).unwrap());
    }
    let changes: Vec<AgentChange> = changes.iter().filter_map(|u| u.change().cloned()).collect();
    assert_eq!(changes.len(), 1201);
    let log = store.agent_state_log();
    assert_eq!(log.write(&changes).await.unwrap(), 1201);
    let report = log.time_in_states(tenant, t(0), t(5000)).await.unwrap();
    assert_eq!(
        time(&report, AgentState::Paused, Some("brb")),
        Duration::from_secs(600)
    );
    assert_eq!(
        time(&report, AgentState::Ready, None),
        Duration::from_secs(600)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_log_and_report() {
    common::with_sqlite(log_and_report).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_log_and_report() {
    common::with_postgres("postgres_log_and_report", log_and_report).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_big_batches_are_chunked() {
    common::with_sqlite(big_batches_are_chunked).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_big_batches_are_chunked() {
    common::with_postgres("postgres_big_batches_are_chunked", big_batches_are_chunked).await;
}
