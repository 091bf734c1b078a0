//! Terminal output settings: colour, verbosity.

use std::io::IsTerminal;

/// How to print: decided once from the flags, NO_COLOR and whether stdout is a terminal.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// Colours on stdout.
    pub color: bool,
    /// Colours on stderr.
    pub color_err: bool,
    /// Print only errors.
    pub quiet: bool,
    /// Extra detail requested (`-v`, `-vv`).
    pub verbose: u8,
}

impl Output {
    /// Colours only on a terminal, never with `--no-color` or a non-empty NO_COLOR.
    pub fn new(no_color: bool, quiet: bool, verbose: u8) -> Self {
        let allowed = !no_color && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Self {
            color: allowed && std::io::stdout().is_terminal(),
            color_err: allowed && std::io::stderr().is_terminal(),
            quiet,
            verbose,
        }
    }

    /// Whether stdout is a terminal (for spinners and tables).
    pub fn stdout_is_tty() -> bool {
        std::io::stdout().is_terminal()
    }

    /// Wraps `text` in a bold ANSI style when colours are on.
    pub fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }

    /// Wraps `text` in green when colours are on.
    pub fn green(self, text: &str) -> String {
        self.paint("32", text)
    }

    /// Wraps `text` in red when colours are on.
    pub fn red(self, text: &str) -> String {
        self.paint("31", text)
    }

    /// Wraps `text` in yellow when colours are on.
    pub fn yellow(self, text: &str) -> String {
        self.paint("33", text)
    }

    /// Wraps `text` in a dim style when colours are on.
    pub fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}
