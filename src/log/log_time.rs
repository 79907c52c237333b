//! RFC 3339 UTC timestamps with milliseconds for the access log, computed from
//! `SystemTime` so no calendar crate is needed.

use std::time::{SystemTime, UNIX_EPOCH};

/// A formatted timestamp, on the stack: the access-log writer makes one per
/// line, so it costs no allocation and no formatting machinery.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rfc3339([u8; 24]);

impl Rfc3339 {
    /// The text, `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII digits and separators are ever written.
        std::str::from_utf8(&self.0).unwrap_or("1970-01-01T00:00:00.000Z")
    }
}

impl std::ops::Deref for Rfc3339 {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

/// Formats a time as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC); years past 9999 are
/// written as 9999.
pub(crate) fn rfc3339_millis(time: SystemTime) -> Rfc3339 {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX / 2);
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    let mut out = *b"0000-00-00T00:00:00.000Z";
    digits(&mut out[0..4], year.clamp(0, 9999) as u64);
    digits(&mut out[5..7], u64::from(month));
    digits(&mut out[8..10], u64::from(day));
    digits(&mut out[11..13], rem / 3600);
    digits(&mut out[14..16], (rem % 3600) / 60);
    digits(&mut out[17..19], rem % 60);
    digits(&mut out[20..23], u64::from(since.subsec_millis()));
    Rfc3339(out)
}

/// Writes `value` as decimal digits filling `slot` (zero-padded, high digits
/// beyond the slot dropped).
fn digits(slot: &mut [u8], mut value: u64) {
    for byte in slot.iter_mut().rev() {
        *byte = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64, millis: u64) -> String {
        rfc3339_millis(UNIX_EPOCH + Duration::from_millis(secs * 1000 + millis))
            .as_str()
            .to_owned()
    }

    #[test]
    fn epoch() {
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn known_instants() {
        // 2026-11-28T19:30:00.123Z
        assert_eq!(at(1_795_894_200, 123), "2026-11-28T19:30:00.123Z");
        // Leap day 2024-02-29T23:59:59.999Z
        assert_eq!(at(1_709_251_199, 999), "2024-02-29T23:59:59.999Z");
        // 2000-03-01T00:00:00.000Z (century leap year boundary)
        assert_eq!(at(951_868_800, 0), "2000-03-01T00:00:00.000Z");
    }
}
