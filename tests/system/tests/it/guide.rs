//! The operator's guide (`deploy/README.md`) followed step by step on one
//! node by `tests/guide/single-node.sh`: `cargo install`, the shipped
//! configuration with TLS, nats-server and `styr serve` started with the
//! systemd units' command lines, the first kommun, export, restore on a
//! second server, verify, the same kontrollsumma.

#[test]
fn the_operators_guide_works_as_written() {
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/guide/single-node.sh");
    // At most 25 minutes: the install may build styr from scratch.
    let out = std::process::Command::new("timeout")
        .args(["1500", "bash"])
        .arg(&script)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");
    assert!(said.contains("styr serve stopped with exit 0"), "{said}");
    assert!(said.contains("as before"), "{said}");
}
