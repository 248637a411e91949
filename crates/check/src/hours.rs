//! `hours "Mon-Fri 08:00-18:00, Sat 10:00-14:00" in "Europe/Berlin"` windows.
//!
//! Comma-separated windows; days `Mon`..`Sun`, single or a range (`Fri-Mon` wraps); times
//! `HH:MM`, start inclusive, end exclusive, `24:00` allowed as an end; an end before the
//! start runs into the next day. Instants are converted to local time in the IANA zone,
//! daylight saving included (jiff with its bundled tz database).

use jiff::tz::TimeZone;
use jiff::Timestamp;

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// Minutes in a week: the length of a minute-of-week bitmap.
pub const MINUTES_PER_WEEK: usize = 7 * 24 * 60;

/// The whole second an instant falls in, rounding down (floor): `1969-12-31T23:59:59.5Z`
/// is in second −1, not 0. The one conversion from an instant to seconds wherever an
/// instant becomes a minute, hour or weekday (the compiled engine, `explain`, the
/// linter), so that they never disagree; `Timestamp::as_second` rounds toward zero and
/// must not be used for that.
pub fn floor_second(at: Timestamp) -> i64 {
    at.as_second() - i64::from(at.subsec_nanosecond() < 0)
}

/// Weekday (Monday = 0) and minute of the day of a local time given as whole seconds
/// since 1970-01-01T00:00 local (from [`floor_second`] plus the zone's offset).
pub fn week_minute(local: i64) -> (u8, u16) {
    let days = local.div_euclid(86_400);
    // 1970-01-01 was a Thursday: weekday 3 when Monday is 0.
    let weekday = u8::try_from((days + 3).rem_euclid(7)).unwrap_or(0);
    let minute = u16::try_from(local.rem_euclid(86_400) / 60).unwrap_or(0);
    (weekday, minute)
}

/// A validated window set in one time zone.
#[derive(Clone, Debug)]
pub struct Hours {
    /// The window text as written.
    pub spec: String,
    /// The zone name as written.
    pub zone_name: String,
    /// The zone.
    pub zone: TimeZone,
    /// The windows.
    pub windows: Vec<Window>,
}

/// One window: days and a time range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Bit `d` set when the window starts on weekday `d` (Monday = 0).
    pub days: u8,
    /// Start minute of the day, inclusive.
    pub start: u16,
    /// End minute of the day, exclusive (1..=1440); at or before `start` means next day.
    pub end: u16,
}

/// Why a window text or zone was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HoursError {
    /// Byte offset in the text.
    pub offset: usize,
    /// Length of the offending part.
    pub len: usize,
    /// What is wrong.
    pub message: String,
    /// What to do, when known.
    pub help: Option<String>,
}

impl Hours {
    /// Whether local minute `minute` (0..1440) of weekday `weekday` (Monday = 0) falls in a
    /// window.
    pub fn contains_local(&self, weekday: u8, minute: u16) -> bool {
        self.windows.iter().any(|w| {
            let today = w.days & (1 << weekday) != 0;
            if w.start < w.end {
                today && w.start <= minute && minute < w.end
            } else {
                let yesterday = w.days & (1 << ((weekday + 6) % 7)) != 0;
                (today && minute >= w.start) || (yesterday && minute < w.end)
            }
        })
    }

    /// Weekday (Monday = 0) and minute of the day of an instant in this zone.
    pub fn local(&self, at: Timestamp) -> (u8, u16) {
        let offset = i64::from(self.zone.to_offset(at).seconds());
        week_minute(floor_second(at) + offset)
    }

    /// Whether an instant falls in a window.
    pub fn contains(&self, at: Timestamp) -> bool {
        let (d, m) = self.local(at);
        self.contains_local(d, m)
    }

    /// The windows as a minute-of-week bitmap (bit `d * 1440 + m`), for the compiler.
    pub fn week_bitmap(&self) -> Vec<u64> {
        let mut bits = vec![0u64; MINUTES_PER_WEEK.div_ceil(64)];
        for d in 0..7u8 {
            for m in 0..1440u16 {
                if self.contains_local(d, m) {
                    let i = usize::from(d) * 1440 + usize::from(m);
                    bits[i / 64] |= 1 << (i % 64);
                }
            }
        }
        bits
    }
}

/// Parses a window text; offsets in errors are into `spec`.
pub fn parse_windows(spec: &str) -> Result<Vec<Window>, HoursError> {
    let mut windows = Vec::new();
    let mut offset = 0;
    for piece in spec.split(',') {
        let lead = piece.len() - piece.trim_start().len();
        let text = piece.trim();
        windows.push(parse_window(text, offset + lead)?);
        offset += piece.len() + 1;
    }
    Ok(windows)
}

fn err(offset: usize, len: usize, message: String, help: Option<&str>) -> HoursError {
    HoursError {
        offset,
        len: len.max(1),
        message,
        help: help.map(str::to_string),
    }
}

fn parse_window(text: &str, offset: usize) -> Result<Window, HoursError> {
    if text.is_empty() {
        return Err(err(
            offset,
            1,
            "empty time window".into(),
            Some("write a window as `Mon-Fri 08:00-18:00`"),
        ));
    }
    let Some((days, times)) = text.split_once(' ') else {
        let help = if text.contains(':') {
            "name the days first: `Mon-Sun 08:00-18:00` for every day"
        } else {
            "write a window as `Mon-Fri 08:00-18:00`"
        };
        return Err(err(
            offset,
            text.len(),
            format!("`{text}` is not a time window"),
            Some(help),
        ));
    };
    let times_offset = offset + days.len() + 1 + (times.len() - times.trim_start().len());
    let times = times.trim();
    let day_mask = parse_days(days, offset)?;
    let Some((start, end)) = times.split_once('-') else {
        return Err(err(
            times_offset,
            times.len(),
            format!("`{times}` is not a time range"),
            Some("write times as `08:00-18:00`"),
        ));
    };
    let start_m = parse_time(start, times_offset, false)?;
    let end_m = parse_time(end, times_offset + start.len() + 1, true)?;
    if start_m == end_m {
        return Err(err(
            times_offset,
            times.len(),
            format!("the window `{times}` starts and ends at the same time"),
            Some("write `00:00-24:00` for a whole day"),
        ));
    }
    Ok(Window {
        days: day_mask,
        start: start_m,
        end: end_m,
    })
}

fn day_index(name: &str) -> Option<u8> {
    DAYS.iter()
        .position(|d| *d == name)
        .and_then(|i| u8::try_from(i).ok())
}

fn parse_days(text: &str, offset: usize) -> Result<u8, HoursError> {
    let bad_day = |name: &str, at: usize| {
        let lower = name.to_ascii_lowercase();
        let suggestion = DAYS
            .iter()
            .find(|d| lower.starts_with(&d.to_ascii_lowercase()))
            .map(|d| format!("did you mean `{d}`?"));
        HoursError {
            offset: at,
            len: name.len().max(1),
            message: format!("`{name}` is not a day"),
            help: Some(suggestion.unwrap_or_else(|| {
                "days are `Mon`, `Tue`, `Wed`, `Thu`, `Fri`, `Sat`, `Sun`".into()
            })),
        }
    };
    match text.split_once('-') {
        None => day_index(text)
            .map(|d| 1 << d)
            .ok_or_else(|| bad_day(text, offset)),
        Some((from, to)) => {
            let a = day_index(from).ok_or_else(|| bad_day(from, offset))?;
            let b = day_index(to).ok_or_else(|| bad_day(to, offset + from.len() + 1))?;
            let mut mask = 0u8;
            let mut d = a;
            loop {
                mask |= 1 << d;
                if d == b {
                    break;
                }
                d = (d + 1) % 7;
            }
            Ok(mask)
        }
    }
}

fn parse_time(text: &str, offset: usize, is_end: bool) -> Result<u16, HoursError> {
    let bad = || {
        err(
            offset,
            text.len(),
            format!("`{text}` is not a time of day"),
            Some("write times as `HH:MM`, from `00:00` to `24:00`"),
        )
    };
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let h: u16 = h.parse().map_err(|_| bad())?;
    let m: u16 = m.parse().map_err(|_| bad())?;
    if h == 24 && m == 0 {
        return if is_end {
            Ok(1440)
        } else {
            Err(err(
                offset,
                text.len(),
                "a window cannot start at `24:00`".into(),
                Some("start at `00:00`"),
            ))
        };
    }
    if h > 23 || m > 59 {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// Finds an IANA time zone in the bundled database.
pub fn zone(name: &str) -> Result<TimeZone, Option<String>> {
    match TimeZone::get(name) {
        Ok(tz) => Ok(tz),
        Err(_) => Err(closest_zone(name)),
    }
}

fn closest_zone(name: &str) -> Option<String> {
    let names: Vec<String> = jiff::tz::db().available().map(|n| n.to_string()).collect();
    crate::suggest::closest(name, names.iter().map(String::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours(spec: &str, zone_name: &str) -> Hours {
        Hours {
            spec: spec.into(),
            zone_name: zone_name.into(),
            zone: zone(zone_name).unwrap(),
            windows: parse_windows(spec).unwrap(),
        }
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn business_hours_in_berlin_follow_daylight_saving() {
        let h = hours("Mon-Fri 08:00-18:00", "Europe/Berlin");
        // Winter: UTC+1. 07:30Z is 08:30 local.
        assert!(h.contains(at("2026-11-27T07:30:00Z")));
        assert!(!h.contains(at("2026-11-27T06:59:00Z")));
        assert!(!h.contains(at("2026-11-27T17:00:00Z")));
        // Summer: UTC+2. 06:30Z is 08:30 local.
        assert!(h.contains(at("2026-07-01T06:30:00Z")));
        assert!(!h.contains(at("2026-07-01T16:00:00Z")));
        // Saturday.
        assert!(!h.contains(at("2026-11-28T10:00:00Z")));
    }

    #[test]
    fn overnight_and_wrapping_days() {
        let h = hours("Fri-Mon 22:00-06:00", "UTC");
        assert!(h.contains(at("2026-11-27T23:00:00Z"))); // Fri 23:00
        assert!(h.contains(at("2026-11-28T05:59:00Z"))); // Sat 05:59 (Fri night)
        assert!(h.contains(at("2026-12-01T05:00:00Z"))); // Tue 05:00 (Mon night)
        assert!(!h.contains(at("2026-12-01T22:00:00Z"))); // Tue 22:00
        assert!(!h.contains(at("2026-11-27T12:00:00Z"))); // Fri noon
    }

    #[test]
    fn end_is_exclusive_and_24_is_an_end() {
        let h = hours("Sat 10:00-14:00, Sun 00:00-24:00", "UTC");
        assert!(h.contains(at("2026-11-28T10:00:00Z")));
        assert!(!h.contains(at("2026-11-28T14:00:00Z")));
        assert!(h.contains(at("2026-11-29T23:59:00Z")));
        assert!(!h.contains(at("2026-11-30T00:00:00Z")));
    }

    #[test]
    fn refuses_bad_windows() {
        for bad in [
            "",
            "Mon",
            "Mon 8:00-18:00",
            "Mon 08:00-25:00",
            "Mo-Fri 08:00-18:00",
            "Mon 24:00-01:00",
            "Mon 08:00-08:00",
            "08:00-18:00",
            "Mon 08:00",
        ] {
            assert!(parse_windows(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(zone("Europe/Berln").is_err());
    }
}

#[cfg(test)]
mod floor_tests {
    use super::*;

    #[test]
    fn an_instant_before_1970_floors_to_its_second() {
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        assert_eq!(floor_second(t("1969-12-31T23:59:59.5Z")), -1);
        assert_eq!(floor_second(t("1969-12-31T23:59:59Z")), -1);
        assert_eq!(floor_second(t("1970-01-01T00:00:00.5Z")), 0);
        assert_eq!(floor_second(t("1969-12-31T23:59:58.000000001Z")), -2);
        // Wednesday 23:59, not Thursday 00:00.
        assert_eq!(
            week_minute(floor_second(t("1969-12-31T23:59:59.5Z"))),
            (2, 1439)
        );
    }
}
