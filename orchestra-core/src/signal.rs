//! Signals by name, as written in `stop_signal:`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The signals a service may ask to be stopped with, or that Orchestra sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signal(nix::sys::signal::Signal);

/// The name is not a signal Orchestra knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a signal name")]
pub struct SignalParseError(pub String);

impl Signal {
    /// SIGTERM, the default stop signal.
    pub const TERM: Self = Self(nix::sys::signal::Signal::SIGTERM);
    /// SIGKILL, the last step of every stop.
    pub const KILL: Self = Self(nix::sys::signal::Signal::SIGKILL);
    /// SIGINT, what Ctrl-C sends.
    pub const INT: Self = Self(nix::sys::signal::Signal::SIGINT);
    /// SIGHUP.
    pub const HUP: Self = Self(nix::sys::signal::Signal::SIGHUP);
    /// SIGQUIT.
    pub const QUIT: Self = Self(nix::sys::signal::Signal::SIGQUIT);

    /// Every signal name accepted in configuration, for suggestions.
    pub fn names() -> impl Iterator<Item = &'static str> {
        nix::sys::signal::Signal::iterator().map(nix::sys::signal::Signal::as_str)
    }

    /// The nix signal, for sending.
    pub const fn as_nix(self) -> nix::sys::signal::Signal {
        self.0
    }

    /// The signal's number, as a shell reports it (`128 + n`).
    pub const fn number(self) -> i32 {
        self.0 as i32
    }

    /// The full upper-case name, e.g. `SIGTERM`.
    pub fn name(self) -> &'static str {
        self.0.as_str()
    }

    /// The signal numbered `n`, if there is one.
    pub fn from_number(n: i32) -> Option<Self> {
        nix::sys::signal::Signal::try_from(n).ok().map(Self)
    }
}

impl Default for Signal {
    fn default() -> Self {
        Self::TERM
    }
}

impl From<nix::sys::signal::Signal> for Signal {
    fn from(s: nix::sys::signal::Signal) -> Self {
        Self(s)
    }
}

/// Accepts `SIGTERM`, `TERM`, `term` and `sigterm`.
impl FromStr for Signal {
    type Err = SignalParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let upper = s.trim().to_ascii_uppercase();
        let full = if upper.starts_with("SIG") {
            upper
        } else {
            format!("SIG{upper}")
        };
        nix::sys::signal::Signal::from_str(&full)
            .map(Self)
            .map_err(|_| SignalParseError(s.to_owned()))
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Signal {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Signal {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_or_without_prefix() {
        assert_eq!("SIGTERM".parse::<Signal>(), Ok(Signal::TERM));
        assert_eq!("int".parse::<Signal>(), Ok(Signal::INT));
        assert_eq!("sigquit".parse::<Signal>(), Ok(Signal::QUIT));
        assert!("SIGNOPE".parse::<Signal>().is_err());
        assert_eq!(Signal::TERM.number(), 15);
        assert!(Signal::names().any(|n| n == "SIGUSR1"));
    }
}
