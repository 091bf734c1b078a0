//! Whether a project's `.orchestra` folder may be trusted before anything in it is read or
//! connected to.
//!
//! Everything Orchestra acts on comes from that folder: the daemon's socket (a `start` sends
//! it the resolved project, secrets included), the replica records (`stop` signals the
//! processes they name), the logs. Another local user who can write the project folder could
//! plant a folder of their own there; so the folder must be a real directory (not a
//! symbolic link), owned by the user running Orchestra, and writable by nobody else.

use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::paths::StateDir;

/// Why a state folder is not trusted.
#[derive(Debug, thiserror::Error)]
pub enum UntrustedStateDir {
    /// It is a symbolic link: it could point anywhere, another user's folder included.
    #[error("{path} is a symbolic link, not a folder")]
    Symlink {
        /// The state folder.
        path: PathBuf,
    },
    /// It is a file, a socket or something else that is not a folder.
    #[error("{path} is not a folder")]
    NotAFolder {
        /// The state folder.
        path: PathBuf,
    },
    /// Another user owns it: their daemon, their records.
    #[error("permission denied: {path} belongs to uid {owner} (mode {mode:04o}), not to uid {me}")]
    Foreign {
        /// The state folder.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// Its permission bits.
        mode: u32,
        /// The user running Orchestra.
        me: u32,
    },
    /// Its group or other users may write in it, so they could plant a socket or records.
    #[error("{path} is writable by other users (mode {mode:04o}, owner uid {owner})")]
    Writable {
        /// The state folder.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// Its permission bits.
        mode: u32,
    },
    /// It could not be inspected.
    #[error("cannot inspect {path}")]
    Unreadable {
        /// The state folder.
        path: PathBuf,
        /// The cause (often permission denied on a parent folder).
        #[source]
        source: io::Error,
    },
}

impl UntrustedStateDir {
    /// How to fix it, in a sentence the user can act on.
    pub fn help(&self) -> String {
        match self {
            Self::Symlink { path } | Self::NotAFolder { path } => format!(
                "Orchestra keeps its own folder there; remove it (`rm {}`) and run the command again",
                path.display()
            ),
            Self::Foreign { path, owner, .. } => format!(
                "only uid {owner} can control this fleet; if that folder is not yours to trust, \
                 look at what it holds and remove it (`rm -rf {}`)",
                path.display()
            ),
            Self::Writable { path, .. } => format!(
                "check that nobody else put files there, then make it private: `chmod 700 {}`",
                path.display()
            ),
            Self::Unreadable { path, .. } => format!(
                "check the permissions of {} and its parent folders",
                path.display()
            ),
        }
    }
}

impl StateDir {
    /// Checks that the folder, if it exists, is a real directory owned by this user with no
    /// group or other write permission. A missing folder is fine: Orchestra creates it
    /// privately.
    pub fn check_trusted(&self) -> Result<(), UntrustedStateDir> {
        check_owned_private(self.root(), nix::unistd::geteuid().as_raw())
    }
}

/// The check of [`StateDir::check_trusted`], for the user `me`.
fn check_owned_private(path: &Path, me: u32) -> Result<(), UntrustedStateDir> {
    let path_buf = || path.to_path_buf();
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(UntrustedStateDir::Unreadable {
                path: path_buf(),
                source,
            });
        }
    };
    let kind = meta.file_type();
    if kind.is_symlink() {
        return Err(UntrustedStateDir::Symlink { path: path_buf() });
    }
    if !kind.is_dir() {
        return Err(UntrustedStateDir::NotAFolder { path: path_buf() });
    }
    let mode = meta.permissions().mode() & 0o7777;
    let owner = meta.uid();
    if owner != me {
        return Err(UntrustedStateDir::Foreign {
            path: path_buf(),
            owner,
            mode,
            me,
        });
    }
    if mode & 0o022 != 0 {
        return Err(UntrustedStateDir::Writable {
            path: path_buf(),
            owner,
            mode,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me() -> u32 {
        nix::unistd::geteuid().as_raw()
    }

    #[test]
    fn a_missing_or_private_folder_is_trusted() {
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::for_project(tmp.path());
        state.check_trusted().unwrap();
        state.create().unwrap();
        state.check_trusted().unwrap();
        // Readable by others is not a risk for what Orchestra acts on; `create` tightens it.
        fs::set_permissions(state.root(), fs::Permissions::from_mode(0o755)).unwrap();
        state.check_trusted().unwrap();
    }

    #[test]
    fn a_folder_others_can_write_is_refused_with_its_mode() {
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::for_project(tmp.path());
        state.create().unwrap();
        for mode in [0o777, 0o770, 0o702] {
            fs::set_permissions(state.root(), fs::Permissions::from_mode(mode)).unwrap();
            let err = state.check_trusted().unwrap_err();
            assert!(matches!(err, UntrustedStateDir::Writable { .. }), "{err}");
            assert!(err.to_string().contains(&format!("{mode:04o}")), "{err}");
            assert!(err.help().contains("chmod 700"), "{}", err.help());
        }
    }

    #[test]
    fn another_users_folder_is_refused_naming_its_owner() {
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::for_project(tmp.path());
        state.create().unwrap();
        let err = check_owned_private(state.root(), me() + 1).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("permission denied: "), "{text}");
        assert!(text.contains(&format!("belongs to uid {}", me())), "{text}");
        assert!(text.contains("0700"), "{text}");
    }

    #[test]
    fn a_symlink_or_a_file_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let state = StateDir::for_project(tmp.path());
        std::os::unix::fs::symlink(elsewhere.path(), state.root()).unwrap();
        assert!(matches!(
            state.check_trusted(),
            Err(UntrustedStateDir::Symlink { .. })
        ));
        fs::remove_file(state.root()).unwrap();
        fs::write(state.root(), "").unwrap();
        assert!(matches!(
            state.check_trusted(),
            Err(UntrustedStateDir::NotAFolder { .. })
        ));
    }
}
