//! End to end on PostgreSQL: the real `api-server` (with `--separate-listener`) beside a real
//! `event-listener` process, call updates crossing over LISTEN/NOTIFY, against the mock AMI
//! server replaying fixture scenarios. Each test gets a fresh database.

mod e2e_common;

use e2e_common::*;

async fn on_postgres(test: &str, scenario: &str) -> Option<Outcome> {
    let base = postgres_url(test)?;
    let url = fresh_postgres_db(&base).await;
    Some(run_scenario(scenario, Some(url)).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn originate_answered_over_listen_notify() {
    if let Some(out) = on_postgres(
        "originate_answered_over_listen_notify",
        "originate-answered",
    )
    .await
    {
        assert!(
            out.states.contains(&"connected".to_owned()),
            "{:?}",
            out.states
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn originate_customer_busy_over_listen_notify() {
    if let Some(out) = on_postgres(
        "originate_customer_busy_over_listen_notify",
        "originate-customer-busy",
    )
    .await
    {
        assert!(
            !out.states.contains(&"connected".to_owned()),
            "{:?}",
            out.states
        );
    }
}
