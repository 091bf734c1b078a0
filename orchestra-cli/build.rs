//! Links the `orchestra` binary with packed relative relocations (`DT_RELR`) on Linux.
//!
//! The binary is position-independent, and its ~30,000 relative relocations took 700 KB
//! as classic `RELA` entries, which the dynamic loader reads whole at every start: pages
//! that then stay resident in the long-lived daemon (counted in its RSS) and that every
//! command reads before its first instruction. Packed, the same relocations take a few
//! kilobytes.
//!
//! glibc applies them since 2.36, and a binary linked so does not start on an older one.
//! So they are asked for only when building for the machine that builds (no cross
//! compilation) and its glibc is 2.36 or later; elsewhere the binary links as before.

use std::process::Command;

/// The first glibc that applies `DT_RELR` relocations.
const RELR_GLIBC: (u32, u32) = (2, 36);

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let native = var("HOST") == var("TARGET");
    if native
        && var("CARGO_CFG_TARGET_OS") == "linux"
        && var("CARGO_CFG_TARGET_ENV") == "gnu"
        && glibc_version().is_some_and(|v| v >= RELR_GLIBC)
    {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// The building machine's glibc (`getconf GNU_LIBC_VERSION` prints `glibc 2.36`).
fn glibc_version() -> Option<(u32, u32)> {
    let out = Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let (major, minor) = text.trim().strip_prefix("glibc ")?.split_once('.')?;
    let minor = minor.split('.').next()?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}
