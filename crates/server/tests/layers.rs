//! The dependency direction of the design (`DESIGN.md`, "The layers"), checked on the
//! manifests: the HTTP crate never sees a protocol or platform crate, the pipeline knows
//! providers only through the neutral crates, and no binary depends on another.

use std::collections::BTreeSet;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// Our crates among `path`'s normal `[dependencies]`.
fn our_deps(path: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(root().join(path).join("Cargo.toml"))
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    let manifest: toml::Table = toml::from_str(&text).unwrap();
    manifest
        .get("dependencies")
        .and_then(|d| d.as_table())
        .map(|d| {
            d.keys()
                .filter(|k| k.starts_with("hookflash") || k.as_str() == "api-server")
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn the_api_never_sees_a_protocol_or_platform_crate() {
    let deps = our_deps("crates/api");
    for banned in [
        "hookflash-ami",
        "hookflash-ari",
        "hookflash-asterisk",
        "hookflash-twilio",
        "hookflash-server",
    ] {
        assert!(!deps.contains(banned), "hookflash-api depends on {banned}");
    }
}

#[test]
fn the_pipeline_uses_only_provider_calls_and_store() {
    let deps = our_deps("crates/pipeline");
    assert!(
        deps.is_subset(&set(&[
            "hookflash-provider",
            "hookflash-calls",
            "hookflash-store"
        ])),
        "{deps:?}"
    );
}

#[test]
fn the_service_binaries_compose_the_server_library_only() {
    for bin in ["bins/api-server", "bins/event-listener"] {
        assert_eq!(our_deps(bin), set(&["hookflash-server"]), "{bin}");
    }
    // No binary depends on another binary's package.
    let bins = set(&[
        "api-server",
        "hookflash-event-listener",
        "hookflash-migrator",
    ]);
    for bin in ["bins/api-server", "bins/event-listener", "bins/migrator"] {
        let deps = our_deps(bin);
        assert!(deps.is_disjoint(&bins), "{bin}: {deps:?}");
    }
}
