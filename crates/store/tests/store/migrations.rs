//! Connection settings and migrations: down, redo, up, dirty and unknown ones.

use hookflash_store::*;

use crate::cases::new_user;
use crate::fixtures::tenant;

pub(crate) async fn connection_settings(store: Store) {
    match store.db() {
        Db::Sqlite(pool) => {
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(pool)
                .await
                .unwrap();
            assert_eq!(mode, "wal");
            let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
                .fetch_one(pool)
                .await
                .unwrap();
            assert_eq!(fk, 1);
            let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
                .fetch_one(pool)
                .await
                .unwrap();
            assert_eq!(busy, 5000);
            assert_eq!(store.dialect(), Dialect::Sqlite);
        }
        Db::Postgres(pool) => {
            let one: i32 = sqlx::query_scalar("SELECT 1")
                .fetch_one(pool)
                .await
                .unwrap();
            assert_eq!(one, 1);
            assert_eq!(store.dialect(), Dialect::Postgres);
        }
    }
    store.ping().await.unwrap();
    // Foreign keys are enforced on both: a user of a tenant that does not exist is refused.
    let err = store
        .users()
        .create(TenantId::new_random(), new_user("ghost", UserRole::Agent))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Database(_)), "{err:?}");
}

pub(crate) async fn migrations_down_redo_up(store: Store) {
    let status = store.migration_status().await.unwrap();
    let versions: Vec<i64> = status.iter().map(|s| s.version).collect();
    assert_eq!(versions, vec![1, 2, 3, 4, 5, 6, 7, 8]);
    assert!(
        status
            .iter()
            .all(|s| s.status == MigrationStatusKind::Applied)
    );
    assert!(
        store.migrate().await.unwrap().is_empty(),
        "nothing left to apply"
    );

    // Made before going down: the tenants of migration 1 lack the later `active` column.
    let t = tenant(&store, "m").await;
    let mut steps = Vec::new();
    let reverted = store.migrate_down(6, &mut |p| steps.push(p)).await.unwrap();
    assert_eq!(reverted, vec![8, 7, 6, 5, 4, 3]);
    assert!(matches!(
        steps[0],
        MigrationProgress::Reverting { version: 8, .. }
    ));
    assert!(matches!(
        steps[1],
        MigrationProgress::Reverted { version: 8, .. }
    ));
    let status = store.migration_status().await.unwrap();
    assert_eq!(status[2].status, MigrationStatusKind::Pending);
    assert_eq!(status[1].status, MigrationStatusKind::Applied);
    // The calls table is gone.
    assert!(store.calls().get(t, CallId::new_random()).await.is_err());

    let applied = store.migrate_up(&mut |_| {}).await.unwrap();
    assert_eq!(applied, vec![3, 4, 5, 6, 7, 8]);
    assert!(
        store
            .calls()
            .get(t, CallId::new_random())
            .await
            .unwrap()
            .is_none()
    );

    let mut steps = Vec::new();
    let redone = store.migrate_redo(&mut |p| steps.push(p)).await.unwrap();
    assert_eq!(redone, Some(8));
    assert_eq!(steps.len(), 4, "{steps:?}");
    assert!(matches!(
        steps[3],
        MigrationProgress::Applied { version: 8, .. }
    ));

    let reverted = store.migrate_down(10, &mut |_| {}).await.unwrap();
    assert_eq!(reverted, vec![8, 7, 6, 5, 4, 3, 2, 1]);
    let status = store.migration_status().await.unwrap();
    assert!(
        status
            .iter()
            .all(|s| s.status == MigrationStatusKind::Pending)
    );
    assert_eq!(store.migrate_redo(&mut |_| {}).await.unwrap(), None);
    assert_eq!(store.migrate().await.unwrap(), vec![1, 2, 3, 4, 5, 6, 7, 8]);
    tenant(&store, "again").await;
}

async fn exec_with_bytes(store: &Store, sql: &str) {
    let bytes = vec![0u8; 4];
    match store.db() {
        Db::Sqlite(p) => sqlx::query(sql).bind(bytes).execute(p).await.map(|_| ()),
        Db::Postgres(p) => sqlx::query(sql).bind(bytes).execute(p).await.map(|_| ()),
    }
    .unwrap()
}

pub(crate) async fn dirty_and_unknown_migrations(store: Store) {
    let exec = |sql: &'static str| {
        let store = store.clone();
        async move {
            match store.db() {
                Db::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
                Db::Postgres(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
            }
            .unwrap()
        }
    };
    exec("UPDATE _sqlx_migrations SET success = FALSE WHERE version = 3").await;
    let err = store.migrate().await.unwrap_err();
    assert!(matches!(err, StoreError::DirtyMigration(3)), "{err:?}");
    assert!(err.to_string().contains("dirty"));
    let err = store.migrate_down(1, &mut |_| {}).await.unwrap_err();
    assert!(matches!(err, StoreError::DirtyMigration(3)), "{err:?}");
    let status = store.migration_status().await.unwrap();
    assert_eq!(status[2].status, MigrationStatusKind::Dirty);
    exec("UPDATE _sqlx_migrations SET success = TRUE WHERE version = 3").await;

    exec_with_bytes(
        &store,
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from the future', TRUE, $1, 0)",
    )
    .await;
    let err = store.migrate().await.unwrap_err();
    assert!(matches!(err, StoreError::UnknownMigration(9999)), "{err:?}");
    assert!(err.to_string().contains("unknown"));
    let status = store.migration_status().await.unwrap();
    let last = status.last().unwrap();
    assert_eq!(
        (last.version, last.status),
        (9999, MigrationStatusKind::Unknown)
    );
    exec("DELETE FROM _sqlx_migrations WHERE version = 9999").await;

    exec_with_bytes(
        &store,
        "UPDATE _sqlx_migrations SET checksum = $1 WHERE version = 2",
    )
    .await;
    let err = store.migrate().await.unwrap_err();
    assert!(matches!(err, StoreError::ChangedMigration(2)), "{err:?}");
}
