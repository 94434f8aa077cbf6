//! The HTTP handlers, grouped by resource.

pub(crate) mod agents;
pub(crate) mod api_keys;
pub(crate) mod auth;
pub(crate) mod calls;
pub(crate) mod health;
pub(crate) mod parked;
pub(crate) mod recordings;
pub(crate) mod scope;
pub(crate) mod servers;
pub(crate) mod stats;
pub(crate) mod tenants;
pub(crate) mod transfers;
pub(crate) mod users;
