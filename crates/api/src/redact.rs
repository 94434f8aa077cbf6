//! `Debug` for the request and response bodies that carry a secret (passwords, tokens, api
//! keys): every other field as usual, the secret as `<redacted>`, so a `{:?}` in a log line or
//! a panic message never prints it.

/// Implements `Debug` for a struct: `Type { shown, fields; secret, fields }`.
macro_rules! debug_redacted {
    ($ty:ident { $($shown:ident),* ; $($hidden:ident),+ $(,)? }) => {
        impl ::std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($shown), &self.$shown))*
                    $(.field(stringify!($hidden), &"<redacted>"))+
                    .finish()
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use crate::auth::{Role, TokenPair};
    use crate::routes::api_keys::{ApiKeyView, CreatedApiKeyView};
    use crate::routes::auth::{ChangePasswordBody, LoginBody, RefreshBody};
    use crate::routes::tenants::{CreatedTenant, TenantView};
    use crate::routes::users::{CreateUserBody, CreatedUser, UpdateUserBody, UserView};

    const SECRET: &str = "s3cr3t-never-printed";

    fn assert_hidden(text: String) {
        assert!(!text.contains(SECRET), "{text}");
        assert!(text.contains("<redacted>"), "{text}");
    }

    fn user() -> UserView {
        UserView {
            id: "u1".into(),
            username: "ann".into(),
            email: None,
            display_name: None,
            role: "admin".into(),
            active: true,
            must_change_password: true,
            password_expires_at: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            last_login_at: None,
        }
    }

    #[test]
    fn tokens_and_keys_are_not_printed() {
        assert_hidden(format!(
            "{:?}",
            TokenPair {
                access_token: SECRET.into(),
                refresh_token: SECRET.into(),
                token_type: "Bearer".into(),
                expires_in: 900,
                role: Role::Agent,
            }
        ));
        assert_hidden(format!(
            "{:?}",
            RefreshBody {
                refresh_token: SECRET.into()
            }
        ));
        let key = CreatedApiKeyView {
            key: ApiKeyView {
                id: "k".into(),
                name: "crm".into(),
                prefix: "abc".into(),
                user_id: None,
                role: Some(Role::Agent),
                created_at: Utc::now(),
                last_used_at: None,
                expires_at: None,
                revoked_at: None,
            },
            secret: SECRET.into(),
        };
        let text = format!("{key:?}");
        assert!(text.contains("crm"), "{text}");
        assert_hidden(text);
    }

    #[test]
    fn passwords_are_not_printed() {
        let login = LoginBody {
            username: "ann".into(),
            password: SECRET.into(),
            tenant: None,
        };
        let text = format!("{login:?}");
        assert!(text.contains("ann"), "{text}");
        assert_hidden(text);
        assert_hidden(format!(
            "{:?}",
            ChangePasswordBody {
                username: "ann".into(),
                current_password: SECRET.into(),
                new_password: SECRET.into(),
                tenant: None,
            }
        ));
        assert_hidden(format!(
            "{:?}",
            CreateUserBody {
                username: "ann".into(),
                email: None,
                display_name: None,
                role: "agent".into(),
                password: Some(SECRET.into()),
            }
        ));
        assert_hidden(format!(
            "{:?}",
            UpdateUserBody {
                password: Some(SECRET.into()),
                ..UpdateUserBody::default()
            }
        ));
        assert_hidden(format!(
            "{:?}",
            CreatedUser {
                user: user(),
                one_time_password: Some(SECRET.into()),
            }
        ));
        assert_hidden(format!(
            "{:?}",
            CreatedTenant {
                tenant: TenantView {
                    id: "t".into(),
                    name: "Acme".into(),
                    slug: "acme".into(),
                    active: true,
                    created_at: Utc::now(),
                },
                admin: user(),
                admin_one_time_password: SECRET.into(),
            }
        ));
    }
}
