//! The cases: each takes a migrated, empty store.

use hookflash_store::*;
use uuid::Uuid;

pub(crate) use crate::accounts::{agents_and_sessions, api_keys, tenants_and_users};
pub(crate) use crate::batch_poison::batch_writer_dead_letters_a_poison_update;
pub(crate) use crate::calls::{
    calls_list_filters_and_pagination, calls_stats_and_live_counts, calls_write_and_read,
    notify_and_listen,
};
pub(crate) use crate::campaigns::{campaigns_and_contacts, dnc_and_dids, sounds_recordings_cdr};
pub(crate) use crate::isolation::tenant_isolation;
pub(crate) use crate::migrations::{
    connection_settings, dirty_and_unknown_migrations, migrations_down_redo_up,
};
pub(crate) use crate::tenants_admin::{
    tenants_update_and_deactivate, users_delete_keeps_last_admin,
    users_update_fields_all_or_nothing,
};
pub(crate) use crate::tracker_writes::{
    tracker_records_round_trip, tracker_writes_keep_api_fields,
};
pub(crate) use crate::users_sessions::{
    refresh_tokens_rotate_and_reuse_revokes, users_last_admin_is_kept, users_logins_ignore_case,
    users_one_password_check_per_login,
};
pub(crate) use crate::writer::{
    batch_writer_backpressure, batch_writer_batches_and_shutdown, batch_writer_flush_and_drop,
    crash_aborted_writer_then_reapply, crash_rolled_back_transaction_then_reapply,
    write_calls_in_chunks,
};

pub(crate) fn new_user(username: &str, role: UserRole) -> NewUser {
    NewUser {
        username: username.into(),
        email: Some(format!("{username}@example.com")),
        display_name: Some(username.to_uppercase()),
        password: format!("pw-{username}"),
        role,
    }
}

pub(crate) fn new_agent(endpoint: &str) -> NewAgent {
    NewAgent {
        user_id: None,
        display_name: format!("Agent {endpoint}"),
        endpoint: endpoint.into(),
        extension: Some("1001".into()),
        skills: vec!["sales".into(), "fr".into()],
    }
}

pub(crate) fn contact(campaign: Option<Uuid>, number: &str) -> NewContact {
    NewContact {
        campaign_id: campaign,
        phone_number: number.into(),
        name: Some("Ada".into()),
        attributes: serde_json::json!({ "plan": "gold" }),
        time_zone: Some("Europe/Paris".into()),
    }
}

pub(crate) async fn users_update_details(store: Store) {
    let a = store.tenants().create("A", "a").await.unwrap().tenant_id();
    let b = store.tenants().create("B", "b").await.unwrap().tenant_id();
    let users = store.users();
    let carol = users
        .create(a, new_user("carol", UserRole::Agent))
        .await
        .unwrap();
    let updated = users
        .update_details(a, carol.id, UserRole::Supervisor, Some("Carol S."))
        .await
        .unwrap();
    assert_eq!(updated.role, UserRole::Supervisor);
    assert_eq!(updated.display_name.as_deref(), Some("Carol S."));
    assert_eq!(updated.username, "carol");
    assert!(updated.updated_at >= carol.updated_at);
    assert_eq!(users.get(a, carol.id).await.unwrap(), Some(updated));
    let cleared = users
        .update_details(a, carol.id, UserRole::Agent, None)
        .await
        .unwrap();
    assert_eq!(cleared.display_name, None);
    // Another tenant's id is not found and changes nothing.
    let err = users
        .update_details(b, carol.id, UserRole::Admin, None)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(
        users.get(a, carol.id).await.unwrap().unwrap().role,
        UserRole::Agent
    );
    // The password still verifies after the change.
    assert!(
        users
            .verify_password(a, "carol", "pw-carol")
            .await
            .unwrap()
            .is_some()
    );
    let otp = one_time_password();
    users.set_password(a, carol.id, &otp).await.unwrap();
    assert!(
        users
            .verify_password(a, "carol", &otp)
            .await
            .unwrap()
            .is_some()
    );
}
