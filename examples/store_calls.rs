//! Stores calls with hookflash-store and reads them back: migrations, a tenant, a user login,
//! an agent's state change, tracker-style updates through the batch writer, a listing and the
//! day's statistics.
//!
//! Run with `cargo run -p hookflash-examples --example store_calls [DATABASE_URL]`
//! (default: a SQLite file in the temp directory; `postgres://...` works the same).

use chrono::{Duration, Utc};
use hookflash_store::{
    AgentState, BatchConfig, BatchWriter, CallFilter, CallId, CallRow, CallWrite, EventRow,
    NewAgent, NewUser, StatsQuery, Store, UserRole,
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = std::env::args().nth(1).unwrap_or_else(|| {
        let path = std::env::temp_dir().join("hookflash-example.db");
        format!("sqlite:{}", path.display())
    });
    let store = Store::connect(&url).await?;
    let applied = store.migrate().await?;
    println!("database {url}: {} migration(s) applied", applied.len());

    let slug = format!("demo-{}", Utc::now().timestamp_micros());
    let tenant = store.tenants().create("Demo", &slug).await?.tenant_id();
    store
        .users()
        .create(
            tenant,
            NewUser {
                username: "supervisor".into(),
                email: Some("sup@example.com".into()),
                display_name: None,
                password: "correct horse".into(),
                role: UserRole::Supervisor,
            },
        )
        .await?;
    let login = store
        .users()
        .verify_password(tenant, "sup@example.com", "correct horse")
        .await?;
    println!(
        "login as sup@example.com: {}",
        if login.is_some() { "ok" } else { "refused" }
    );

    let agent = store
        .agents()
        .create(
            tenant,
            NewAgent {
                user_id: None,
                display_name: "Agent 1001".into(),
                endpoint: "PJSIP/agent1001".into(),
                extension: Some("1001".into()),
                skills: vec!["sales".into()],
            },
        )
        .await?;
    store
        .agents()
        .set_state(tenant, agent.id, AgentState::Available, None, Utc::now())
        .await?;

    // What the tracker would emit for one call: a snapshot plus the new timeline entry.
    let writer = BatchWriter::spawn(store.clone(), BatchConfig::default());
    let start = Utc::now();
    let mut call = CallRow::new(
        CallId::new_random(),
        tenant,
        "outbound",
        "ami",
        "agent_ringing",
        start,
    );
    call.agent_id = Some(agent.id.to_string());
    call.to_number = Some("+14155550199".into());
    for (seq, (state, kind)) in [
        ("agent_ringing", "ringing"),
        ("connected", "answered"),
        ("ended", "hung_up"),
    ]
    .into_iter()
    .enumerate()
    {
        let seq = seq as i64 + 1;
        let at = start + Duration::seconds(seq * 10);
        call.version = seq;
        call.state = state.into();
        call.updated_at = at;
        if state == "connected" {
            call.answered_at = Some(at);
        }
        if state == "ended" {
            call.ended_at = Some(at);
            call.disposition = Some("answered".into());
            call.talk_seconds = Some(10);
        }
        let event = EventRow {
            call_id: call.id,
            seq,
            tenant_id: call.tenant_id,
            at,
            kind: kind.into(),
            leg_id: None,
            payload: serde_json::json!({ "state": state }),
        };
        writer
            .write(CallWrite {
                call: call.clone(),
                legs: Vec::new(),
                events: vec![event],
            })
            .await?;
    }
    let stats = writer.shutdown().await?;
    println!(
        "batch writer: {} row(s) in {} transaction(s)",
        stats.rows, stats.batches
    );

    let page = store
        .calls()
        .list(tenant, &CallFilter::default(), None, 20)
        .await?;
    for c in &page.items {
        let detail = store.calls().get_detail(tenant, c.call_id()).await?;
        let events = detail.map(|d| d.events.len()).unwrap_or_default();
        println!(
            "call {} {} -> {:?}, {} event(s)",
            c.id, c.state, c.disposition, events
        );
    }
    let day = StatsQuery {
        since: start - Duration::days(1),
        until: start + Duration::days(1),
        campaign_id: None,
        agent_id: None,
    };
    let s = store.calls().stats(tenant, &day).await?;
    println!(
        "stats: {} call(s), answer rate {:.0}%, average talk {:?} s",
        s.total,
        s.answer_rate * 100.0,
        s.avg_talk_seconds
    );
    store.close().await;
    Ok(())
}
