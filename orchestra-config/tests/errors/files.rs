//! Services that cannot run, and files that cannot be read: missing, not UTF-8, too large,
//! or something else than a file.

use crate::common::{self, Fixture};

// Services that cannot run, files that cannot be read.
bad!(
    command_service_without_run,
    [("tools/service.yml", "port: 9000\n")]
);
bad!(missing_env_file, [("orchestra.yml", "env_file: .env\n")]);
bad!(
    bad_env_file_line,
    [
        ("orchestra.yml", "env_file: .env\n"),
        (".env", "GOOD=1\nBAD LINE\n")
    ]
);

#[test]
fn non_utf8_bytes() {
    let f = Fixture::new(&[]);
    f.write(
        "users/service.yml",
        b"run: ./users\nenv:\n  NAME: caf\xe9\n",
    );
    insta::assert_snapshot!(f.error());
}

#[test]
fn a_five_megabyte_file_is_refused_quickly() {
    let f = Fixture::new(&[]);
    let line = "# padding padding padding padding padding padding padding padding\n";
    f.write(
        "orchestra.yml",
        line.repeat(5 * 1024 * 1024 / line.len() + 1),
    );
    let started = std::time::Instant::now();
    let out = f.error();
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    insta::assert_snapshot!(out);
}

#[test]
fn an_unreadable_file() {
    let f = Fixture::empty();
    // A folder where the file should be: opening works, reading fails, even for root.
    std::fs::create_dir(f.root.join("orchestra.yml")).expect("mkdir");
    let err = f.load().expect_err("unreadable");
    insta::assert_snapshot!(f.redact(&common::render(&err)));
}

/// A service.yml that is something else than a file is an error naming it, not a folder
/// without a service; a FIFO is refused without waiting for a writer.
fn service_file_that_is(make: impl FnOnce(&std::path::Path)) -> String {
    let f = Fixture::new(&[("orders/service.yml", "run: ./orders\n")]);
    std::fs::create_dir(f.root.join("users")).expect("mkdir");
    make(&f.root.join("users/service.yml"));
    let err = f.load().expect_err("refused");
    f.redact(&common::render(&err))
}

#[test]
fn service_file_is_a_folder() {
    insta::assert_snapshot!(service_file_that_is(
        |p| std::fs::create_dir(p).expect("mkdir")
    ));
}

#[test]
fn service_file_is_a_fifo() {
    insta::assert_snapshot!(service_file_that_is(|p| {
        nix::unistd::mkfifo(p, nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
    }));
}

#[test]
fn service_file_is_a_symlink_loop() {
    insta::assert_snapshot!(service_file_that_is(|p| {
        std::os::unix::fs::symlink(p, p).expect("symlink");
    }));
}

#[test]
fn service_file_is_a_device() {
    insta::assert_snapshot!(service_file_that_is(|p| {
        std::os::unix::fs::symlink("/dev/null", p).expect("symlink");
    }));
}
