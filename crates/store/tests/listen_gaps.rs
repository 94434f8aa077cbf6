//! `Store::listen_with_gaps` on PostgreSQL: when the LISTEN connection is killed (as a
//! database restart does), the stream says `Reconnected` before anything received after the
//! gap, so a relay can tell its clients to re-read the store (issue 12 point 12).

use std::str::FromStr;
use std::time::Duration;

use futures::StreamExt;
use hookflash_store::{ListenItem, Store};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};
use uuid::Uuid;

fn postgres_url() -> Option<String> {
    match std::env::var("HOOKFLASH_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            assert_ne!(
                std::env::var("CI").as_deref(),
                Ok("true"),
                "HOOKFLASH_TEST_POSTGRES_URL must be set under CI"
            );
            println!("skipped: set HOOKFLASH_TEST_POSTGRES_URL (scripts/test.sh does)");
            None
        }
    }
}

async fn admin(url: &str) -> PgConnection {
    PgConnectOptions::from_str(url)
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// Kills every other connection of `db` that is listening.
async fn kill_listeners(url: &str, db: &str) -> u64 {
    let mut conn = admin(url).await;
    let killed: Vec<(bool,)> = sqlx::query_as(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = $1 AND pid <> pg_backend_pid() AND query ILIKE 'LISTEN%'",
    )
    .bind(db)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    killed.len() as u64
}

type Items = futures::stream::BoxStream<'static, Result<ListenItem, hookflash_store::StoreError>>;

async fn next(s: &mut Items) -> Result<ListenItem, hookflash_store::StoreError> {
    // A guard against a hang, not a timing assertion.
    tokio::time::timeout(Duration::from_secs(30), s.next())
        .await
        .expect("an item")
        .expect("the stream goes on")
}

#[tokio::test]
async fn a_killed_listen_connection_is_reported_before_what_follows_the_gap() {
    let Some(url) = postgres_url() else { return };
    let name = format!("hf_listen_{}", Uuid::new_v4().simple());
    let mut conn = admin(&url).await;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let db_url = match url.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => panic!("a database URL: {url}"),
    };
    let store = Store::connect(&db_url).await.unwrap();
    let mut stream = store.listen_with_gaps(&["hf_gaps"]).await.unwrap();
    store.notify("hf_gaps", "before").await.unwrap();
    match next(&mut stream).await {
        Ok(ListenItem::Notification(n)) => assert_eq!(n.payload, "before"),
        other => panic!("{other:?}"),
    }

    assert!(
        kill_listeners(&url, &name).await >= 1,
        "the LISTEN connection was found"
    );
    // Sent while (or right after) the connection is gone: maybe lost, maybe not; the gap
    // must be reported before it, or before anything later.
    store.notify("hf_gaps", "after").await.unwrap();
    let mut saw_gap = false;
    let mut errors = 0;
    loop {
        match next(&mut stream).await {
            Ok(ListenItem::Reconnected) => saw_gap = true,
            Ok(ListenItem::Notification(n)) => {
                assert!(saw_gap, "{} arrived without the gap reported", n.payload);
                if n.payload == "after" {
                    break;
                }
            }
            Ok(other) => panic!("{other:?}"),
            Err(e) => {
                errors += 1;
                assert!(errors < 100, "{e}");
            }
        }
        if saw_gap {
            // Listening again: this one must arrive.
            store.notify("hf_gaps", "after").await.unwrap();
        }
    }
    drop(stream);
    store.close().await;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
}
