//! Cases for operations: tenants renamed and deactivated, a user delete that keeps the last
//! active admin, and a user update that changes all its fields or none.

use hookflash_store::*;

fn user(username: &str, role: UserRole) -> NewUser {
    NewUser {
        username: username.into(),
        email: None,
        display_name: None,
        password: format!("pw-{username}-long-enough"),
        role,
    }
}

/// A tenant starts active; `update` changes only what it is given; an unknown id is None.
pub(crate) async fn tenants_update_and_deactivate(store: Store) {
    let t = store.tenants().create("Acme", "acme").await.unwrap();
    assert!(t.active);
    let id = t.tenant_id();
    assert!(store.tenants().is_active(id).await.unwrap());
    let renamed = store
        .tenants()
        .update(id, Some("Acme Ltd"), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(renamed.name, "Acme Ltd");
    assert!(renamed.active);
    let off = store
        .tenants()
        .update(id, None, Some(false))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(off.name, "Acme Ltd");
    assert!(!off.active);
    assert!(!store.tenants().is_active(id).await.unwrap());
    assert_eq!(
        store.tenants().get_by_slug("acme").await.unwrap(),
        Some(off)
    );
    // Delete (only to undo a creation) takes the tenant's users with it.
    let gone = store.tenants().create("Gone", "gone").await.unwrap();
    store
        .users()
        .create(gone.tenant_id(), user("g", UserRole::Admin))
        .await
        .unwrap();
    assert!(store.tenants().delete(gone.tenant_id()).await.unwrap());
    assert!(!store.tenants().delete(gone.tenant_id()).await.unwrap());
    assert!(store.tenants().get_by_slug("gone").await.unwrap().is_none());
    let unknown = hookflash_provider::TenantId::new_random();
    assert!(
        store
            .tenants()
            .update(unknown, Some("x"), None)
            .await
            .unwrap()
            .is_none()
    );
    assert!(!store.tenants().is_active(unknown).await.unwrap());
}

/// Deleting the last active admin is refused like deactivating them; with another active
/// admin it works; an unknown user is false.
pub(crate) async fn users_delete_keeps_last_admin(store: Store) {
    let a = store.tenants().create("A", "a").await.unwrap().tenant_id();
    let users = store.users();
    let ann = users.create(a, user("ann", UserRole::Admin)).await.unwrap();
    let agent = users.create(a, user("al", UserRole::Agent)).await.unwrap();
    let err = users.delete(a, ann.id).await.unwrap_err();
    assert!(matches!(err, StoreError::LastAdmin), "{err:?}");
    assert!(users.get(a, ann.id).await.unwrap().is_some());
    assert!(users.delete(a, agent.id).await.unwrap());
    assert!(!users.delete(a, agent.id).await.unwrap());
    let bob = users.create(a, user("bob", UserRole::Admin)).await.unwrap();
    assert!(users.delete(a, ann.id).await.unwrap());
    // An inactive admin may go too; bob is the last active one.
    let cy = users.create(a, user("cy", UserRole::Admin)).await.unwrap();
    users.set_active(a, cy.id, false).await.unwrap();
    assert!(users.delete(a, cy.id).await.unwrap());
    let err = users.delete(a, bob.id).await.unwrap_err();
    assert!(matches!(err, StoreError::LastAdmin), "{err:?}");
}

/// A refused update changes nothing: a new display name given together with the last admin's
/// deactivation is not kept.
pub(crate) async fn users_update_fields_all_or_nothing(store: Store) {
    let a = store.tenants().create("A", "a").await.unwrap().tenant_id();
    let users = store.users();
    let ann = users.create(a, user("ann", UserRole::Admin)).await.unwrap();
    let err = users
        .update_fields(a, ann.id, None, Some("Ann Renamed"), Some(false))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::LastAdmin), "{err:?}");
    let now = users.get(a, ann.id).await.unwrap().unwrap();
    assert_eq!(now.display_name, None);
    assert!(now.active);
    let err = users
        .update_fields(a, ann.id, Some(UserRole::Agent), Some("Ann Renamed"), None)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::LastAdmin), "{err:?}");
    assert_eq!(
        users.get(a, ann.id).await.unwrap().unwrap().display_name,
        None
    );
    let changed = users
        .update_fields(a, ann.id, None, Some("Ann"), None)
        .await
        .unwrap();
    assert_eq!(changed.display_name.as_deref(), Some("Ann"));
    assert_eq!(changed.role, UserRole::Admin);
    let err = users
        .update_fields(a, uuid::Uuid::new_v4(), None, Some("x"), None)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}
