//! The store's repository suite, written once and run against SQLite (a temp file per test)
//! and PostgreSQL (a fresh database per test, created from `HOOKFLASH_TEST_POSTGRES_URL`).

mod accounts;
mod batch_poison;
mod calls;
mod campaigns;
mod cases;
mod common;
mod fixtures;
mod isolation;
mod migrations;
mod tenants_admin;
mod tracker_writes;
mod users_sessions;
mod writer;

/// Generates, for each case, one test per database.
macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::common::with_sqlite(crate::cases::$name).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::common::with_postgres(stringify!($name), crate::cases::$name).await;
                }
            )*
        }
    };
}

suite!(
    connection_settings,
    migrations_down_redo_up,
    dirty_and_unknown_migrations,
    tenants_and_users,
    api_keys,
    agents_and_sessions,
    campaigns_and_contacts,
    dnc_and_dids,
    sounds_recordings_cdr,
    calls_write_and_read,
    calls_list_filters_and_pagination,
    calls_stats_and_live_counts,
    tenant_isolation,
    batch_writer_batches_and_shutdown,
    batch_writer_flush_and_drop,
    batch_writer_backpressure,
    batch_writer_dead_letters_a_poison_update,
    crash_rolled_back_transaction_then_reapply,
    crash_aborted_writer_then_reapply,
    notify_and_listen,
    tracker_records_round_trip,
    tracker_writes_keep_api_fields,
    write_calls_in_chunks,
    users_update_details,
    users_last_admin_is_kept,
    users_logins_ignore_case,
    users_one_password_check_per_login,
    refresh_tokens_rotate_and_reuse_revokes,
    tenants_update_and_deactivate,
    users_delete_keeps_last_admin,
    users_update_fields_all_or_nothing,
);

#[tokio::test]
async fn connect_errors_are_clear() {
    use hookflash_store::{ConnectOptions, Store, StoreError};
    use std::time::Duration;

    let err = Store::connect("mysql://localhost/x").await.unwrap_err();
    assert!(matches!(err, StoreError::UnsupportedUrl(_)), "{err:?}");

    let missing_dir = std::env::temp_dir().join("hookflash-no-such-dir/sub/x.db");
    let err = Store::connect(&format!("sqlite:{}", missing_dir.display()))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Connect { .. }), "{err:?}");

    let opts = ConnectOptions {
        acquire_timeout: Duration::from_secs(3),
        ..ConnectOptions::default()
    };
    let err = Store::connect_with("postgres://u:secret@127.0.0.1:1/none", &opts)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, StoreError::Connect { .. }), "{err:?}");
    assert!(text.contains("127.0.0.1:1"), "{text}");
    assert!(!text.contains("secret"), "password leaked: {text}");
}
