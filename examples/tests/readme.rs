//! README's crate table names real packages: each row's path holds a `Cargo.toml` whose
//! package name is the one the row gives (a renamed package must not leave the README behind).

use std::path::Path;

fn package_name(manifest: &str) -> Option<String> {
    let package = manifest.split("[package]").nth(1)?;
    package.lines().find_map(|l| {
        let (key, value) = l.split_once('=')?;
        (key.trim() == "name").then(|| value.trim().trim_matches('"').to_owned())
    })
}

#[test]
fn the_crate_table_names_the_packages_that_exist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let section = readme
        .split("## Crates and binaries")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("README has a crate table");
    let mut checked = 0;
    for row in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let (path, krate) = (cells[1], cells[2]);
        if krate.is_empty() {
            continue; // crates not built yet
        }
        let path = path.trim_matches('`');
        let krate = krate.trim_matches('`');
        let manifest = std::fs::read_to_string(root.join(path).join("Cargo.toml"))
            .unwrap_or_else(|e| panic!("README names {path}: {e}"));
        assert_eq!(
            package_name(&manifest).as_deref(),
            Some(krate),
            "README's row for {path}"
        );
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} rows read");
}
