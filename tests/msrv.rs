//! `rust-version` in Cargo.toml says what the code really needs: the newest of the language
//! features the code uses (let chains, stable since 1.88) and every dependency's own
//! `rust-version`. Standard library APIs newer than it are caught by clippy's
//! `incompatible_msrv` lint, which reads the same field. Cheap: one `cargo metadata` call.

/// The newest language feature the code uses: `if let … && …` chains (Rust 1.88).
const LANGUAGE_FLOOR: (u64, u64) = (1, 88);

fn version(s: &str) -> (u64, u64) {
    let mut parts = s.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

#[test]
fn rust_version_is_what_the_code_and_its_dependencies_need() {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let packages = meta["packages"].as_array().unwrap();
    let ours = packages
        .iter()
        .find(|p| p["name"] == "auditscope")
        .and_then(|p| p["rust_version"].as_str())
        .expect("Cargo.toml sets rust-version");
    let (needed, by) = packages
        .iter()
        .filter(|p| p["name"] != "auditscope")
        .filter_map(|p| {
            let v = p["rust_version"].as_str()?;
            Some((version(v), format!("{} {}", p["name"], p["version"])))
        })
        .chain(std::iter::once((LANGUAGE_FLOOR, "let chains".to_string())))
        .max()
        .unwrap();
    assert_eq!(
        version(ours),
        needed,
        "Cargo.toml says rust-version = {ours}, but {by} needs {}.{}",
        needed.0,
        needed.1
    );
}
