//! The terminal while the UI runs: raw mode on the alternate screen, and the way back to
//! the terminal as it was, on every way out — a quit, an error, a signal, a panic.
//!
//! While the UI draws, stderr goes to /dev/null: a stray diagnostic written over the
//! screen would stay there until the next full redraw. It is given back before anything
//! else on the way out, so a panic's message is seen.

use std::io::{self, Stdout};
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once};

use crossterm::cursor::{Hide, Show};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

/// Whether the terminal is in the UI's modes and must be restored.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// The real stderr while it points to /dev/null.
static SAVED_STDERR: Mutex<Option<OwnedFd>> = Mutex::new(None);

/// The terminal, taken over; dropping it gives the terminal back.
pub(super) struct Screen {
    terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl Screen {
    /// Enters raw mode and the alternate screen, hides the cursor, and makes sure a panic
    /// restores all of it.
    pub(super) fn enter() -> io::Result<Self> {
        install_panic_hook();
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        let entered = execute!(io::stdout(), EnterAlternateScreen, Hide)
            .and_then(|()| Terminal::new(CrosstermBackend::new(io::stdout())));
        match entered {
            Ok(terminal) => {
                silence_stderr();
                Ok(Self { terminal })
            }
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }

    /// The ratatui terminal to draw on.
    pub(super) fn terminal(&mut self) -> &mut Terminal<CrosstermBackend<Stdout>> {
        &mut self.terminal
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        restore();
    }
}

/// Gives the terminal back as it was: stderr, cooked mode, the main screen, the cursor.
/// Does nothing the second time.
pub(super) fn restore() {
    give_back_stderr();
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = execute!(io::stdout(), LeaveAlternateScreen, Show);
        let _ = disable_raw_mode();
    }
}

/// A panic anywhere (the drawing loop, a feed task, a reader thread) leaves the UI unable
/// to go on: the terminal is restored, the panic reported as usual, and the process ends.
/// The fleet is the daemon's and keeps running.
fn install_panic_hook() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let was_active = ACTIVE.load(Ordering::SeqCst);
            restore();
            previous(info);
            if was_active {
                std::process::exit(101);
            }
        }));
    });
}

fn silence_stderr() {
    let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") else {
        return;
    };
    let Ok(saved) = nix::unistd::dup(io::stderr()) else {
        return;
    };
    if nix::unistd::dup2_stderr(&null).is_ok() {
        *SAVED_STDERR
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(saved);
    }
}

fn give_back_stderr() {
    let saved = SAVED_STDERR
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    if let Some(saved) = saved {
        let _ = nix::unistd::dup2_stderr(&saved);
    }
}
