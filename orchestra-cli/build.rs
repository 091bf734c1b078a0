//! Links the `orchestra` binary with packed relative relocations (`DT_RELR`) on Linux.
//!
//! The binary is position-independent, and its ~30,000 relative relocations took 700 KB
//! as classic `RELA` entries, which the dynamic loader reads whole at every start: pages
//! that then stay resident in the long-lived daemon (counted in its RSS) and that every
//! command reads before its first instruction. Packed, the same relocations take a few
//! kilobytes. glibc applies them since 2.36; the linker marks the binary as needing that.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
