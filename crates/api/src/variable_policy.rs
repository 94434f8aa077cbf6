//! Which channel variables a tenant may set on `POST /api/v1/calls`.
//!
//! A channel variable is an instruction to the PBX's dialplan, so callers get a vocabulary the
//! operator wrote down, not a free-for-all: none unless configured.
//!
//! ```toml
//! [variables]
//! allow = ["CRM_ID"]                    # every tenant may set these
//! [variables.tenants]
//! acme = ["CRM_ID", "PRIORITY"]         # tenant `acme` (slug or id): these instead
//! ```
//!
//! Every listed name must itself be a valid, unreserved name
//! ([`hookflash_provider::VariableName`]), so configuration cannot open `HOOKFLASH_*`,
//! function syntax or inheritance forms either.

use std::collections::BTreeMap;

use hookflash_provider::{ChannelVariables, TenantId, VariableName};
use serde::Deserialize;

use crate::error::{ApiError, Result};

/// The allow-list of channel variables, for every tenant and per tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct VariablePolicy {
    /// Names every tenant may set (unless the tenant has its own list).
    #[serde(default)]
    pub allow: Vec<String>,
    /// Per tenant, by slug or id: the names that tenant may set, instead of `allow`.
    #[serde(default)]
    pub tenants: BTreeMap<String, Vec<String>>,
}

impl VariablePolicy {
    /// No variable allowed for anyone (the default).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the names every tenant may set.
    #[must_use]
    pub fn with_allow<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.allow = names.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the names one tenant (by slug or id) may set instead of [`Self::allow`].
    #[must_use]
    pub fn with_tenant<S: Into<String>>(
        mut self,
        tenant: impl Into<String>,
        names: impl IntoIterator<Item = S>,
    ) -> Self {
        self.tenants
            .insert(tenant.into(), names.into_iter().map(Into::into).collect());
        self
    }

    /// Checks that every listed name is a name a caller could be allowed.
    ///
    /// # Errors
    /// [`ApiError::Config`] naming the list and the name.
    pub fn validate(&self) -> Result<()> {
        let lists = std::iter::once(("variables.allow".to_owned(), &self.allow)).chain(
            self.tenants
                .iter()
                .map(|(t, names)| (format!("variables.tenants.{t}"), names)),
        );
        for (list, names) in lists {
            for name in names {
                VariableName::new(name).map_err(|e| ApiError::Config(format!("{list}: {e}")))?;
            }
        }
        Ok(())
    }

    /// The names the tenant with this id and slug may set.
    pub fn allowed(&self, tenant: TenantId, slug: Option<&str>) -> &[String] {
        let by_id = self.tenants.get(&tenant.to_string());
        let by_slug = slug.and_then(|s| self.tenants.get(s));
        by_id.or(by_slug).unwrap_or(&self.allow)
    }

    /// Whether this policy lets some tenant set a variable (if not, the store lookup of the
    /// tenant's slug is skipped).
    pub fn is_empty(&self) -> bool {
        self.allow.is_empty() && self.tenants.values().all(Vec::is_empty)
    }

    /// Checks a request's variables: each well-formed ([`ChannelVariables`]) and allowed for
    /// the tenant.
    ///
    /// # Errors
    /// A 422 naming `variables.<NAME>` (or `variables` for a malformed name or too many).
    pub fn check(
        &self,
        tenant: TenantId,
        slug: Option<&str>,
        vars: BTreeMap<String, String>,
    ) -> Result<ChannelVariables> {
        let checked = ChannelVariables::try_from(vars)
            .map_err(|e| ApiError::validation(e.field(), e.reason()))?;
        let allowed = self.allowed(tenant, slug);
        for (name, _) in checked.iter() {
            if !allowed.iter().any(|a| a == name.as_str()) {
                return Err(ApiError::validation(
                    format!("variables.{name}"),
                    "not a variable this tenant may set (see the server's [variables] \
                     configuration)",
                ));
            }
        }
        Ok(checked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(e: ApiError) -> String {
        match e {
            ApiError::Validation { field, .. } => field,
            other => panic!("not a validation error: {other:?}"),
        }
    }

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn nothing_is_allowed_by_default() {
        let t = TenantId::new_random();
        let e = VariablePolicy::new()
            .check(t, None, vars(&[("CRM_ID", "1")]))
            .unwrap_err();
        assert_eq!(field(e), "variables.CRM_ID");
        assert!(VariablePolicy::new().check(t, None, vars(&[])).is_ok());
    }

    #[test]
    fn a_tenant_list_replaces_the_default() {
        let t = TenantId::new_random();
        let p = VariablePolicy::new()
            .with_allow(["CRM_ID"])
            .with_tenant("acme", ["PRIORITY"]);
        assert!(p.check(t, Some("other"), vars(&[("CRM_ID", "1")])).is_ok());
        assert!(p.check(t, Some("acme"), vars(&[("PRIORITY", "1")])).is_ok());
        let e = p
            .check(t, Some("acme"), vars(&[("CRM_ID", "1")]))
            .unwrap_err();
        assert_eq!(field(e), "variables.CRM_ID");
        let by_id = VariablePolicy::new().with_tenant(t.to_string(), ["X"]);
        assert_eq!(by_id.allowed(t, Some("acme")), ["X".to_owned()]);
    }

    #[test]
    fn allowed_names_still_get_value_checks() {
        let t = TenantId::new_random();
        let p = VariablePolicy::new().with_allow(["X"]);
        let e = p
            .check(
                t,
                None,
                vars(&[("X", "1,CDR(userfield)=x,CALLERID(num)=666")]),
            )
            .unwrap_err();
        assert_eq!(field(e), "variables.X");
        let e = p
            .check(t, None, vars(&[("__HOOKFLASH_CALL_ID", "x")]))
            .unwrap_err();
        assert_eq!(field(e), "variables");
    }

    #[test]
    fn configuration_cannot_allow_reserved_or_malformed_names() {
        for bad in [
            "HOOKFLASH_TRUNK",
            "hookflash_call_id",
            "__X",
            "CDR(userfield)",
        ] {
            assert!(VariablePolicy::new().with_allow([bad]).validate().is_err());
            assert!(
                VariablePolicy::new()
                    .with_tenant("acme", [bad])
                    .validate()
                    .is_err()
            );
        }
        assert!(
            VariablePolicy::new()
                .with_allow(["CRM_ID"])
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn the_config_file_section_is_read_and_checked() {
        let ok = crate::config::Config::from_toml(
            "[variables]\nallow = [\"CRM_ID\"]\n[variables.tenants]\nacme = [\"PRIORITY\"]\n",
        )
        .unwrap();
        ok.validate().unwrap();
        let acme = ok.variables.allowed(TenantId::new_random(), Some("acme"));
        assert_eq!(acme, ["PRIORITY".to_owned()]);
        let bad = crate::config::Config::from_toml("[variables]\nallow = [\"HOOKFLASH_TRUNK\"]\n")
            .unwrap();
        assert!(bad.validate().is_err());
        assert!(crate::config::Config::from_toml("[variables]\nallowed = []\n").is_err());
    }
}
