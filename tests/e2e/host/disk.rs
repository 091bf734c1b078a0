//! A full disk: a replica that cannot be recorded is stopped and the start says why,
//! naming the file; the daemon's own log failing costs lines, never a replica.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use orchestra_tests::{Fleet, PATIENCE, kill_all_under, pids_with_cwd_under, wait_until};

/// A 2 MiB tmpfs mounted inside the fleet's folder; unmounted (after killing what runs in
/// it) when dropped.
struct SmallDisk {
    mount: PathBuf,
}

impl SmallDisk {
    /// Mounts it, or `None` (with the reason printed) where this user may not mount.
    fn mount(fleet: &Fleet) -> Option<Self> {
        let mount = fleet.path("disk");
        fs::create_dir_all(&mount).expect("the mount point can be made");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
            .arg(&mount)
            .output();
        match mounted {
            Ok(out) if out.status.success() => Some(Self { mount }),
            Ok(out) => {
                eprintln!(
                    "skipped: cannot mount a small tmpfs ({})",
                    String::from_utf8_lossy(&out.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("skipped: cannot run mount: {e}");
                None
            }
        }
    }

    /// Writes zeros to `fill` until the disk is full.
    fn fill(&self) {
        let mut file = fs::File::create(self.mount.join("fill")).expect("fill file");
        let block = vec![0_u8; 64 * 1024];
        while file.write_all(&block).is_ok() {}
    }

    fn free(&self) {
        fs::remove_file(self.mount.join("fill")).expect("the fill file is removed");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        kill_all_under(&self.mount, Duration::from_secs(10));
        let _ = Command::new("umount").arg("-l").arg(&self.mount).status();
    }
}

fn sleepers(dir: &Path) -> Vec<u32> {
    pids_with_cwd_under(dir)
}

#[test]
fn a_replica_that_cannot_be_recorded_on_a_full_disk_is_stopped_and_named() {
    let fleet = Fleet::new();
    let Some(disk) = SmallDisk::mount(&fleet) else {
        return;
    };
    fleet.write("disk/orchestra.yml", "");
    fleet.write("disk/z/service.yml", "run: sleep 100000\n");
    disk.fill();

    let out = fleet.cmd(["-C", "disk", "start", "z"]).assert_exit(1);
    let record = fleet.path("disk/.orchestra/run/replicas.jsonl");
    let said = format!("{}{}", out.stdout, out.stderr);
    assert!(
        said.contains(&format!("cannot write {}: disk full", record.display())),
        "the start names the record and the cause: {out}"
    );
    wait_until(PATIENCE, "the unrecorded replica to be stopped", || {
        sleepers(&fleet.path("disk/z")).is_empty()
    });

    let ps = fleet.cmd(["-C", "disk", "ps"]).assert_success();
    assert!(
        ps.stderr.contains("daemon log unwritable: disk full"),
        "`ps` says the daemon's log is lost: {ps}"
    );

    disk.free();
    fleet.cmd(["-C", "disk", "start", "z"]).assert_success();
    assert!(!sleepers(&fleet.path("disk/z")).is_empty(), "z.0 runs");
    let ps = fleet.cmd(["-C", "disk", "ps"]).assert_success();
    assert!(!ps.stderr.contains("unwritable"), "{ps}");
    fleet.cmd(["-C", "disk", "stop"]).assert_success();
    wait_until(PATIENCE, "z.0 to be stopped", || {
        sleepers(&fleet.path("disk/z")).is_empty()
    });
}
