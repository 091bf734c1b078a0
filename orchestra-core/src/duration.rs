//! Human durations as written in configuration: `10s`, `1m30s`, `250ms`, `2h`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Why a string is not a duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Nothing to parse.
    #[error("a duration cannot be empty")]
    Empty,
    /// A number without a unit, like `10`.
    #[error("`{0}` has no unit")]
    MissingUnit(String),
    /// A unit that is not one of `ms`, `s`, `m`, `h`.
    #[error("`{unit}` is not a unit of time")]
    UnknownUnit {
        /// The unit as written.
        unit: String,
    },
    /// A character that is neither a digit nor a unit letter.
    #[error("`{0}` is not a duration")]
    Invalid(String),
    /// The value does not fit.
    #[error("`{0}` is too long a duration")]
    Overflow(String),
}

/// A duration that prints the way it is written in configuration (`1m30s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    /// Wraps a duration.
    pub const fn new(d: Duration) -> Self {
        Self(d)
    }

    /// A duration of `secs` seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Self(Duration::from_secs(secs))
    }

    /// A duration of `ms` milliseconds.
    pub const fn from_millis(ms: u64) -> Self {
        Self(Duration::from_millis(ms))
    }

    /// The wrapped duration.
    pub const fn get(self) -> Duration {
        self.0
    }
}

impl From<HumanDuration> for Duration {
    fn from(d: HumanDuration) -> Duration {
        d.0
    }
}

/// Parses `10s`, `1m30s`, `1h 5m`, `250ms`, `0`. A bare `0` is the only number allowed
/// without a unit, because a bare `10` is ambiguous (seconds? milliseconds?).
pub fn parse_duration(input: &str) -> Result<Duration, DurationError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(DurationError::Empty);
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total: u128 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        rest = rest.trim_start();
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits == 0 {
            return Err(DurationError::Invalid(input.to_owned()));
        }
        let value: u128 = rest[..digits]
            .parse()
            .map_err(|_| DurationError::Overflow(input.to_owned()))?;
        rest = &rest[digits..];
        let unit_len = rest
            .chars()
            .take_while(char::is_ascii_alphabetic)
            .map(char::len_utf8)
            .sum::<usize>();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let millis_per_unit: u128 = match unit {
            "ms" => 1,
            "s" | "sec" | "secs" => 1_000,
            "m" | "min" | "mins" => 60_000,
            "h" | "hr" | "hrs" => 3_600_000,
            "" => {
                if rest.starts_with(|c: char| !c.is_ascii_whitespace()) {
                    return Err(DurationError::Invalid(input.to_owned()));
                }
                return Err(DurationError::MissingUnit(input.to_owned()));
            }
            other => {
                return Err(DurationError::UnknownUnit {
                    unit: other.to_owned(),
                });
            }
        };
        total = value
            .checked_mul(millis_per_unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| DurationError::Overflow(input.to_owned()))?;
    }
    let millis = u64::try_from(total).map_err(|_| DurationError::Overflow(input.to_owned()))?;
    Ok(Duration::from_millis(millis))
}

impl FromStr for HumanDuration {
    type Err = DurationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_duration(s).map(Self)
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ms = self.0.as_millis();
        if ms == 0 {
            return f.write_str("0s");
        }
        for (unit, size) in [("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)] {
            if ms >= size {
                write!(f, "{}{unit}", ms / size)?;
                ms %= size;
            }
        }
        Ok(())
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Serde support for `std::time::Duration` fields written the human way (`"1m30s"`), so
/// that `orchestra config` and the daemon protocol show durations as configured:
/// `#[serde(with = "orchestra_core::duration::human")]`.
pub mod human {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    use super::HumanDuration;

    /// Writes `d` as `1m30s`.
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&HumanDuration(*d))
    }

    /// Reads `1m30s`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        HumanDuration::deserialize(d).map(HumanDuration::get)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_round_trips_through_the_human_form() {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct T {
            #[serde(with = "human")]
            d: Duration,
        }
        let t = T {
            d: Duration::from_millis(90_250),
        };
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, r#"{"d":"1m30s250ms"}"#);
        assert_eq!(serde_json::from_str::<T>(&json).unwrap(), t);
    }

    #[test]
    fn parses_the_usual_forms() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h 5m"), Ok(Duration::from_secs(3900)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn refuses_what_is_ambiguous_or_wrong() {
        assert_eq!(
            parse_duration("10"),
            Err(DurationError::MissingUnit("10".into()))
        );
        assert_eq!(
            parse_duration("10x"),
            Err(DurationError::UnknownUnit { unit: "x".into() })
        );
        assert_eq!(parse_duration(""), Err(DurationError::Empty));
        assert_eq!(parse_duration("s"), Err(DurationError::Invalid("s".into())));
        assert!(matches!(
            parse_duration("99999999999999999999999h"),
            Err(DurationError::Overflow(_))
        ));
    }

    #[test]
    fn displays_as_written() {
        assert_eq!(HumanDuration::from_secs(90).to_string(), "1m30s");
        assert_eq!(HumanDuration::from_millis(1500).to_string(), "1s500ms");
        assert_eq!(HumanDuration::default().to_string(), "0s");
    }
}
