//! Input refused cleanly when the files are read: NUL bytes, a service.yml that is not a
//! file, ports beyond 65535, and lists nested a million deep.

use super::{bad_fleet, config_error};
use crate::foundation::assert_clean_failure;

#[test]
fn a_nul_byte_is_refused_when_the_files_are_read() {
    let fleet = bad_fleet(
        "",
        &[(
            "api",
            "run: [\"sleep\", \"10\\0\"]\nenv: { TOKEN: \"a\\x00b\" }\n",
        )],
    );
    let out = fleet.cmd(["start"]).run();
    assert_clean_failure(&out, 2);
    for needle in [
        "[api/service.yml:1:16]",
        "[api/service.yml:2:15]",
        "NUL byte",
    ] {
        assert!(out.stderr.contains(needle), "no `{needle}` in:\n{out}");
    }
    assert!(!fleet.path(".orchestra/logs/api.0.log").exists());
}

#[test]
fn a_service_file_that_is_not_a_file_is_named() {
    let fleet = bad_fleet("", &[("api", "run: ./api\n")]);
    let file = fleet.path("web/service.yml");
    let make: [(&str, &dyn Fn()); 4] = [
        ("is a folder", &|| {
            std::fs::create_dir(&file).expect("mkdir");
        }),
        ("is a FIFO", &|| {
            nix::unistd::mkfifo(&file, nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
        }),
        ("Too many levels of symbolic links", &|| {
            std::os::unix::fs::symlink(&file, &file).expect("symlink");
        }),
        ("is a device", &|| {
            std::os::unix::fs::symlink("/dev/zero", &file).expect("symlink");
        }),
    ];
    std::fs::create_dir(fleet.path("web")).expect("mkdir");
    for (what, make) in make {
        make();
        // A FIFO without a writer must not hang the load: the command's timeout would fail.
        let out = fleet.cmd(["start"]).run();
        assert_clean_failure(&out, 2);
        assert!(
            out.stderr.contains("web/service.yml") && out.stderr.contains(what),
            "service.yml that {what}:\n{out}"
        );
        if file.is_dir() {
            std::fs::remove_dir(&file).expect("rmdir");
        } else {
            std::fs::remove_file(&file).expect("rm");
        }
    }
}

#[test]
fn ports_beyond_65535_are_reported_with_every_other_problem() {
    let fleet = bad_fleet(
        "",
        &[
            ("a", "run: ./a\nport: 65535\nscale: 3\n"),
            ("b", "run: ./b\nrestart: sometimes\n"),
        ],
    );
    let err = config_error(&fleet, &["a/service.yml:2:7", "b/service.yml:2:10"]);
    assert!(err.contains("2 problems"), "{err}");
    assert!(err.contains("65535–65537, beyond 65535"), "{err}");
}

#[test]
fn a_million_nested_brackets_are_refused_naming_the_place() {
    let brackets = "[".repeat(1_000_000);
    let fleet = bad_fleet("", &[("api", &format!("run: ./api\nenv: {brackets}\n"))]);
    let out = fleet.cmd(["start"]).run();
    assert_clean_failure(&out, 2);
    assert!(
        out.stderr.contains("[api/service.yml:2:70]")
            && out
                .stderr
                .contains("nests lists or maps more than 64 levels deep"),
        "{}",
        &out.stderr[..out.stderr.len().min(2000)]
    );
}
