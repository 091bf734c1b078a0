//! Reading what the engine says of a container: its times and its published ports.

use bollard::models::ContainerInspectResponse;

/// Seconds since the epoch and hundredths of a second of an RFC 3339 UTC time as the engine
/// writes it (`2024-03-01T12:34:56.123456789Z`).
pub(crate) fn unix_time(rfc3339: &str) -> Option<(u64, u64)> {
    let b = rfc3339.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[10] != b'T' || !rfc3339.ends_with('Z') {
        return None;
    }
    let num = |range: std::ops::Range<usize>| rfc3339.get(range)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = u64::try_from(days * 86_400 + hh * 3600 + mm * 60 + ss).ok()?;
    let centis = rfc3339
        .get(19..)
        .and_then(|rest| rest.strip_prefix('.'))
        .map_or(0, |frac| {
            let digits: String = frac.chars().take_while(char::is_ascii_digit).collect();
            format!("{digits:0<2}")[..2].parse().unwrap_or(0)
        });
    Some((secs, centis))
}

/// The host ports the engine bound for the container.
pub(crate) fn published_ports(info: &ContainerInspectResponse) -> Vec<u16> {
    let mut ports: Vec<u16> = info
        .network_settings
        .as_ref()
        .and_then(|n| n.ports.as_ref())
        .into_iter()
        .flat_map(|ports| ports.values())
        .flatten()
        .flatten()
        .filter_map(|b| b.host_port.as_deref()?.parse().ok())
        .collect();
    ports.sort_unstable();
    ports.dedup();
    ports
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_times_parse() {
        assert_eq!(unix_time("1970-01-01T00:00:00Z"), Some((0, 0)));
        assert_eq!(
            unix_time("2024-03-01T12:34:56.123456789Z"),
            Some((1_709_296_496, 12))
        );
        assert_eq!(
            unix_time("2024-03-01T12:34:56.5Z"),
            Some((1_709_296_496, 50))
        );
        assert_eq!(unix_time("0001-01-01T00:00:00Z"), None);
        assert_eq!(unix_time("garbage"), None);
    }
}
