//! Where Orchestra's own diagnostics go: stderr, through a writer that never fails.
//!
//! For the daemon, stderr is `.orchestra/daemon.log`. When the disk is full, a write there
//! fails; tracing's formatter would then report the failure with `eprint!`, which panics
//! on a failed write — in whichever task logged, a replica's own job included. So a failed
//! write is swallowed here and counted, and the daemon tells `ps` about it instead
//! ([`unwritable`]).

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};

use tracing_subscriber::fmt::MakeWriter;

/// Whether the latest write to stderr failed.
static FAILING: AtomicBool = AtomicBool::new(false);
/// The OS error of the latest failed write (0 when it had none).
static LAST_ERRNO: AtomicI32 = AtomicI32::new(0);
/// Messages lost so far.
static LOST: AtomicU64 = AtomicU64::new(0);

/// Makes [`Stderr`] writers for the tracing subscriber.
#[derive(Debug, Clone, Copy, Default)]
pub struct SafeStderr;

impl<'a> MakeWriter<'a> for SafeStderr {
    type Writer = Stderr;

    fn make_writer(&'a self) -> Self::Writer {
        Stderr
    }
}

/// Stderr whose writes always succeed: a failed one is dropped and counted.
#[derive(Debug, Clone, Copy)]
pub struct Stderr;

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // The formatter hands over one whole message per call.
        match io::stderr().write_all(buf) {
            Ok(()) => FAILING.store(false, Ordering::Relaxed),
            Err(e) => record_failure(&e),
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if let Err(e) = io::stderr().flush() {
            record_failure(&e);
        }
        Ok(())
    }
}

fn record_failure(e: &io::Error) {
    LOST.fetch_add(1, Ordering::Relaxed);
    LAST_ERRNO.store(e.raw_os_error().unwrap_or(0), Ordering::Relaxed);
    FAILING.store(true, Ordering::Relaxed);
}

/// Why this process's own log cannot be written right now, with how many messages were
/// lost; `None` while it can. For the daemon: "daemon log unwritable: disk full (…)".
///
/// While writes fail, each call tries once more, writing down what was lost: so the
/// warning goes away as soon as space is freed, and the log says where its gap is.
pub fn unwritable() -> Option<String> {
    if !FAILING.load(Ordering::Relaxed) {
        return None;
    }
    let errno = LAST_ERRNO.load(Ordering::Relaxed);
    let cause = orchestra_core::paths::describe_io_error(&io::Error::from_raw_os_error(errno));
    let lost = match LOST.load(Ordering::Relaxed) {
        1 => "1 message lost".to_owned(),
        n => format!("{n} messages lost"),
    };
    let note = format!("orchestra: {lost} from this log ({cause})\n");
    if io::stderr().write_all(note.as_bytes()).is_ok() {
        FAILING.store(false, Ordering::Relaxed);
        return None;
    }
    Some(format!("daemon log unwritable: {cause} ({lost})"))
}
