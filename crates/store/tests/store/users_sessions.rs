//! Cases for accounts and sessions: the last active admin, case-insensitive logins, one
//! password check per login, refresh-token rotation with reuse detection, and what a password
//! change revokes.

use chrono::{Duration, Utc};
use hookflash_store::*;
use uuid::Uuid;

fn user(username: &str, role: UserRole) -> NewUser {
    NewUser {
        username: username.into(),
        email: Some(format!("{username}@Example.com")),
        display_name: None,
        password: format!("pw-{username}-long-enough"),
        role,
    }
}

/// Neither deactivating nor demoting may leave a tenant without an active admin, whoever asks;
/// other tenants' admins do not count.
pub(crate) async fn users_last_admin_is_kept(store: Store) {
    let a = store.tenants().create("A", "a").await.unwrap().tenant_id();
    let b = store.tenants().create("B", "b").await.unwrap().tenant_id();
    let users = store.users();
    let ann = users.create(a, user("ann", UserRole::Admin)).await.unwrap();
    let bob = users.create(a, user("bob", UserRole::Admin)).await.unwrap();
    users.create(b, user("zed", UserRole::Admin)).await.unwrap();
    users.set_active(a, ann.id, false).await.unwrap();
    let err = users.set_active(a, bob.id, false).await.unwrap_err();
    assert!(matches!(err, StoreError::LastAdmin), "{err:?}");
    let err = users
        .update_details(a, bob.id, UserRole::Agent, None)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::LastAdmin), "{err:?}");
    let bob_now = users.get(a, bob.id).await.unwrap().unwrap();
    assert!(bob_now.active);
    assert_eq!(bob_now.role, UserRole::Admin);
    // Renaming the last admin is fine, and so is changing an inactive admin.
    users
        .update_details(a, bob.id, UserRole::Admin, Some("Bob"))
        .await
        .unwrap();
    users
        .update_details(a, ann.id, UserRole::Supervisor, None)
        .await
        .unwrap();
    // With a second active admin, one may go.
    users
        .update_details(a, ann.id, UserRole::Admin, None)
        .await
        .unwrap();
    users.set_active(a, ann.id, true).await.unwrap();
    users.set_active(a, bob.id, false).await.unwrap();
    // Another tenant's id is still not found.
    let err = users.set_active(b, ann.id, false).await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

/// `admin` and `Admin` are one user: creation conflicts and login matches any case.
pub(crate) async fn users_logins_ignore_case(store: Store) {
    let a = store.tenants().create("A", "a").await.unwrap().tenant_id();
    let b = store.tenants().create("B", "b").await.unwrap().tenant_id();
    let users = store.users();
    let ann = users.create(a, user("Ann", UserRole::Agent)).await.unwrap();
    let err = users
        .create(a, user("aNN", UserRole::Agent))
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err:?}");
    let mut other = user("someone", UserRole::Agent);
    other.email = Some("ANN@example.COM".into());
    let err = users.create(a, other).await.unwrap_err();
    assert!(err.is_conflict(), "{err:?}");
    // Another tenant may have its own ann.
    users.create(b, user("ann", UserRole::Agent)).await.unwrap();
    for login in ["ann", "ANN", "Ann", "ann@example.com", "ANN@EXAMPLE.COM"] {
        let found = users
            .verify_password(a, login, "pw-Ann-long-enough")
            .await
            .unwrap();
        assert_eq!(found.map(|u| u.id), Some(ann.id), "{login}");
    }
    assert_eq!(
        users.find_by_login(a, "aNn").await.unwrap().map(|u| u.id),
        Some(ann.id)
    );
}

/// A login runs exactly one argon2 verification whether the user exists or not.
pub(crate) async fn users_one_password_check_per_login(store: Store) {
    let a = store.tenants().create("A", "a").await.unwrap().tenant_id();
    let users = store.users();
    users.create(a, user("ann", UserRole::Agent)).await.unwrap();
    let before = store.password_checks();
    assert!(
        users
            .verify_password(a, "ann", "wrong")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.password_checks(), before + 1);
    assert!(
        users
            .verify_password(a, "nobody", "wrong")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.password_checks(), before + 2);
    users.burn_password_check("wrong").await;
    assert_eq!(store.password_checks(), before + 3);
}

/// A refresh token is good once; its reuse revokes the family (the successor too); expired,
/// unknown and other tenants' tokens are refused; a password change revokes every family,
/// moves the token version on and ends a one-time password's change requirement.
pub(crate) async fn refresh_tokens_rotate_and_reuse_revokes(store: Store) {
    let a = store.tenants().create("A", "a").await.unwrap().tenant_id();
    let b = store.tenants().create("B", "b").await.unwrap().tenant_id();
    let users = store.users();
    let ann = users.create(a, user("ann", UserRole::Agent)).await.unwrap();
    let now = Utc::now().trunc_micros();
    let later = now + Duration::days(7);
    let first = users
        .issue_refresh_token(a, ann.id, None, later)
        .await
        .unwrap();
    assert_eq!(first.family_id, first.id);
    assert_eq!(
        users.use_refresh_token(b, first.id, now).await.unwrap(),
        RefreshUse::Refused
    );
    assert_eq!(
        users.use_refresh_token(a, first.id, now).await.unwrap(),
        RefreshUse::Fresh {
            user_id: ann.id,
            family_id: first.id
        }
    );
    let second = users
        .issue_refresh_token(a, ann.id, Some(first.family_id), later)
        .await
        .unwrap();
    assert_eq!(second.family_id, first.id);
    // The stolen first token comes back: the family goes, the owner's successor with it.
    assert_eq!(
        users.use_refresh_token(a, first.id, now).await.unwrap(),
        RefreshUse::Reused {
            family_id: first.id
        }
    );
    assert_eq!(
        users.use_refresh_token(a, second.id, now).await.unwrap(),
        RefreshUse::Refused
    );
    assert_eq!(
        users
            .use_refresh_token(a, Uuid::new_v4(), now)
            .await
            .unwrap(),
        RefreshUse::Refused
    );
    // Expiry is judged at the time passed in.
    let short = users
        .issue_refresh_token(a, ann.id, None, now + Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(
        users
            .use_refresh_token(a, short.id, now + Duration::minutes(2))
            .await
            .unwrap(),
        RefreshUse::Refused
    );
    // A one-time password, then the user's own: version moves on, families are revoked.
    let live = users
        .issue_refresh_token(a, ann.id, None, later)
        .await
        .unwrap();
    users
        .set_one_time_password(a, ann.id, "one-time-pass-123", Some(later))
        .await
        .unwrap();
    let otp = users.get(a, ann.id).await.unwrap().unwrap();
    assert!(otp.must_change_password);
    assert_eq!(otp.password_expires_at, Some(later));
    assert_eq!(otp.token_version, ann.token_version + 1);
    assert_eq!(
        users.use_refresh_token(a, live.id, now).await.unwrap(),
        RefreshUse::Refused
    );
    users
        .set_password(a, ann.id, "my-own-new-password")
        .await
        .unwrap();
    let own = users.get(a, ann.id).await.unwrap().unwrap();
    assert!(!own.must_change_password);
    assert_eq!(own.password_expires_at, None);
    assert_eq!(own.token_version, ann.token_version + 2);
    users
        .require_password_change(a, ann.id, None)
        .await
        .unwrap();
    assert!(
        users
            .get(a, ann.id)
            .await
            .unwrap()
            .unwrap()
            .must_change_password
    );
    let err = users
        .require_password_change(b, ann.id, None)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

trait TruncMicros {
    fn trunc_micros(self) -> Self;
}

impl TruncMicros for chrono::DateTime<Utc> {
    fn trunc_micros(self) -> Self {
        use chrono::SubsecRound;
        self.trunc_subsecs(6)
    }
}
