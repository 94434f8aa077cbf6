use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::str::FromStr;

use futures::FutureExt;
use hookflash_store::Store;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use uuid::Uuid;

/// Runs `case` against a migrated SQLite database in a fresh temp file, removed afterwards.
pub(crate) async fn with_sqlite<F, Fut>(case: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let path = std::env::temp_dir().join(format!("hookflash-store-{}.db", Uuid::new_v4()));
    let url = format!("sqlite:{}", path.display());
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let result = AssertUnwindSafe(case(store.clone())).catch_unwind().await;
    store.close().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

/// The PostgreSQL URL to test against, or None (then the test is skipped, except in CI,
/// where a missing URL fails the test).
pub(crate) fn postgres_url(test: &str) -> Option<String> {
    match std::env::var("HOOKFLASH_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!(
                    "{test}: HOOKFLASH_TEST_POSTGRES_URL must be set in CI (scripts/test.sh sets it)"
                );
            }
            println!("skipped: {test}: set HOOKFLASH_TEST_POSTGRES_URL (scripts/test.sh does)");
            None
        }
    }
}

/// `url` with its database name replaced.
pub(crate) fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let root = match base[after_scheme..].find('/') {
        Some(i) => &base[..after_scheme + i],
        None => base,
    };
    format!("{root}/{name}{query}")
}

/// A fresh PostgreSQL database, created from the test URL's server and dropped by `drop`.
pub(crate) struct PgTestDb {
    admin_url: String,
    pub(crate) name: String,
    pub(crate) url: String,
}

impl PgTestDb {
    pub(crate) async fn create(admin_url: &str) -> Self {
        let name = format!("hf_store_{}", Uuid::new_v4().simple());
        let opts = PgConnectOptions::from_str(admin_url).unwrap();
        let mut admin = PgConnection::connect_with(&opts).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.unwrap();
        Self {
            admin_url: admin_url.to_owned(),
            url: with_database(admin_url, &name),
            name,
        }
    }

    pub(crate) async fn drop(self) {
        let opts = PgConnectOptions::from_str(&self.admin_url).unwrap();
        let mut admin = PgConnection::connect_with(&opts).await.unwrap();
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut admin)
        .await
        .unwrap();
        admin.close().await.unwrap();
    }
}

/// Runs `case` against a migrated, freshly created PostgreSQL database, dropped afterwards.
pub(crate) async fn with_postgres<F, Fut>(test: &str, case: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(admin_url) = postgres_url(test) else {
        return;
    };
    let db = PgTestDb::create(&admin_url).await;
    let store = Store::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    let result = AssertUnwindSafe(case(store.clone())).catch_unwind().await;
    store.close().await;
    db.drop().await;
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn replaces_database_name() {
    assert_eq!(
        with_database("postgres://u:p@h:5432/hookflash_test", "x"),
        "postgres://u:p@h:5432/x"
    );
    assert_eq!(
        with_database("postgres://h/db?sslmode=disable", "y"),
        "postgres://h/y?sslmode=disable"
    );
    assert_eq!(with_database("postgres://h", "z"), "postgres://h/z");
}
