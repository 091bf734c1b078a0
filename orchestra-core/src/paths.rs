//! The `.orchestra` state folder: where everything Orchestra writes lives, and how it is
//! written (folders 0700, files 0600, replaced atomically).

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::name::{ReplicaId, ServiceName, VendorName};

/// The name of the state folder inside a project.
pub const STATE_DIR_NAME: &str = ".orchestra";

/// Paths inside a project's `.orchestra` folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// The state folder of the project rooted at `project_root`.
    pub fn for_project(project_root: &Path) -> Self {
        Self {
            root: project_root.join(STATE_DIR_NAME),
        }
    }

    /// A state folder at exactly `root`.
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The folder itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The daemon's control socket.
    pub fn socket(&self) -> PathBuf {
        self.root.join("daemon.sock")
    }

    /// The lock file the live daemon holds.
    pub fn lock(&self) -> PathBuf {
        self.root.join("daemon.lock")
    }

    /// The daemon's own log.
    pub fn daemon_log(&self) -> PathBuf {
        self.root.join("daemon.log")
    }

    /// The fleet state.
    pub fn state_file(&self) -> PathBuf {
        self.root.join("state.json")
    }

    /// Folder of built binaries.
    pub fn bin_dir(&self) -> PathBuf {
        self.root.join("bin")
    }

    /// The built binary of a service.
    pub fn binary(&self, service: &ServiceName) -> PathBuf {
        self.bin_dir().join(service.as_str())
    }

    /// Folder of replica records.
    pub fn run_dir(&self) -> PathBuf {
        self.root.join("run")
    }

    /// The journal of replica records: a JSON line each time a replica is recorded as
    /// running or forgotten.
    pub fn run_journal(&self) -> PathBuf {
        self.run_dir().join("replicas.jsonl")
    }

    /// Folder of log files.
    pub fn logs_dir(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// The log of a replica.
    pub fn replica_log(&self, replica: &ReplicaId) -> PathBuf {
        self.logs_dir().join(format!("{}.log", replica.file_stem()))
    }

    /// The build output of a service.
    pub fn build_log(&self, service: &ServiceName) -> PathBuf {
        self.logs_dir().join(format!("{service}.build.log"))
    }

    /// The log of a vendor container.
    pub fn vendor_log(&self, vendor: &VendorName) -> PathBuf {
        self.logs_dir().join(format!("vendor.{vendor}.log"))
    }

    /// Creates the folder and its subfolders, each 0700. Existing folders get their mode
    /// tightened to 0700 too, so a folder made by hand does not leak logs.
    pub fn create(&self) -> io::Result<()> {
        for dir in [
            self.root.clone(),
            self.bin_dir(),
            self.run_dir(),
            self.logs_dir(),
        ] {
            create_private_dir(&dir)?;
        }
        Ok(())
    }
}

/// Creates `dir` (and missing parents) with mode 0700, or tightens an existing one to 0700.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    match fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
    {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let meta = fs::metadata(dir)?;
    if meta.permissions().mode() & 0o777 != 0o700 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Replaces `path` with `contents` atomically: a reader sees the old file or the new one,
/// never a mix, even if the machine loses power. The file is written 0600 to a temporary
/// name in the same folder, fsynced, renamed over `path`, and the folder is fsynced.
pub fn atomic_write(path: &Path, contents: &[u8]) -> io::Result<()> {
    replace(path, contents, true)
}

/// Replaces `path` with `contents` atomically for every process — a reader, or a writer
/// killed halfway, never leaves a mix — without waiting for the disk: for state that a
/// machine crash makes meaningless anyway. A replica's record is such state: its process
/// dies with the machine, and the boot id in the record says so. A fleet start writes one
/// record per replica, and two fsyncs each would hold up every spawn behind the disk.
pub fn atomic_replace(path: &Path, contents: &[u8]) -> io::Result<()> {
    replace(path, contents, false)
}

fn replace(path: &Path, contents: &[u8], durable: bool) -> io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp.{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let result = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(contents)?;
        if durable {
            file.sync_all()?;
        }
        fs::rename(&tmp, path)?;
        if durable {
            fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Opens `path` for appending, creating it 0600: how every log file is opened, so that
/// several writers' lines never overwrite each other.
pub fn open_append(path: &Path) -> io::Result<fs::File> {
    fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
}

/// An I/O error as a person would say it at a glance: "disk full" rather than "No space
/// left on device (os error 28)"; other errors as the system words them.
pub fn describe_io_error(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::StorageFull => "disk full".into(),
        io::ErrorKind::QuotaExceeded => "disk quota exceeded".into(),
        io::ErrorKind::ReadOnlyFilesystem => "read-only file system".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_called_so() {
        let full = io::Error::from_raw_os_error(nix::libc::ENOSPC);
        assert_eq!(describe_io_error(&full), "disk full");
        let missing = io::Error::from(io::ErrorKind::NotFound);
        assert_eq!(describe_io_error(&missing), missing.to_string());
    }

    #[test]
    fn layout_matches_the_design() {
        let s = StateDir::for_project(Path::new("/p"));
        let id = ReplicaId::new(ServiceName::new("users").unwrap(), 1);
        assert_eq!(s.socket(), Path::new("/p/.orchestra/daemon.sock"));
        assert_eq!(
            s.run_journal(),
            Path::new("/p/.orchestra/run/replicas.jsonl")
        );
        assert_eq!(
            s.replica_log(&id),
            Path::new("/p/.orchestra/logs/users.1.log")
        );
        assert_eq!(
            s.vendor_log(&VendorName::new("postgres").unwrap()),
            Path::new("/p/.orchestra/logs/vendor.postgres.log")
        );
    }

    #[test]
    fn create_makes_private_folders() {
        let tmp = tempfile::tempdir().unwrap();
        let s = StateDir::for_project(tmp.path());
        fs::create_dir(s.root()).unwrap();
        fs::set_permissions(s.root(), fs::Permissions::from_mode(0o755)).unwrap();
        s.create().unwrap();
        for d in [
            s.root().to_path_buf(),
            s.logs_dir(),
            s.run_dir(),
            s.bin_dir(),
        ] {
            assert_eq!(
                fs::metadata(&d).unwrap().permissions().mode() & 0o777,
                0o700
            );
        }
    }

    #[test]
    fn atomic_write_replaces_with_a_private_file() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("state.json");
        atomic_write(&p, b"one").unwrap();
        atomic_write(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        atomic_replace(&p, b"three").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"three");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1);
    }

    #[test]
    fn open_append_creates_0600() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("a.log");
        let mut f = open_append(&p).unwrap();
        f.write_all(b"x\n").unwrap();
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
