//! How a replica's log file is opened for each run.
//!
//! The supervisor only needs a file to hand to the new process as its stdout and stderr.
//! What happens to the previous run's output (rotated away, kept, indexed) is the embedding
//! program's policy, so it is a hook: the CLI's daemon rotates the old log first.

use std::fmt;
use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::Arc;

use orchestra_core::ReplicaId;

/// The hook's signature: the replica, and the path of its log file.
pub type OpenLog = dyn Fn(&ReplicaId, &Path) -> io::Result<File> + Send + Sync;

/// Opens a replica's log file for a new run of it. The default appends to the file
/// (created 0600), keeping what earlier runs wrote.
#[derive(Clone)]
pub struct LogOpener(Arc<OpenLog>);

impl LogOpener {
    /// A hook that opens the log its own way. It must return a file opened for appending:
    /// the replica writes to it directly, with no pipe in between.
    pub fn new(open: Arc<OpenLog>) -> Self {
        Self(open)
    }

    /// Opens (creating the folder if needed) the log of `id` at `path`.
    ///
    /// The folder is made only when the open finds it missing (a first start, or a state
    /// folder removed under the fleet): checking it before every open cost three system
    /// calls per replica at each start.
    pub fn open(&self, id: &ReplicaId, path: &Path) -> io::Result<File> {
        match (self.0)(id, path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let Some(dir) = path.parent() else {
                    return Err(e);
                };
                orchestra_core::paths::create_private_dir(dir)?;
                (self.0)(id, path)
            }
            opened => opened,
        }
    }
}

impl Default for LogOpener {
    fn default() -> Self {
        Self(Arc::new(|_, path| orchestra_core::paths::open_append(path)))
    }
}

impl fmt::Debug for LogOpener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LogOpener")
    }
}
