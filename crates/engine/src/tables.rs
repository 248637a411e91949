//! The tables predicates read beside the code: CIDR sets as sorted, merged ranges, time
//! zones as offset tables (one per zone, shared by its windows), and `hours` windows as
//! minute-of-week bitmaps or, when a window is one span of the day on some weekdays,
//! packed into 32 bits that the code tests inline.

use std::net::IpAddr;

use jiff::tz::TimeZone;
use writ_check::net::CidrSet;

/// CIDR networks as sorted, merged, inclusive ranges.
#[derive(Clone, Debug, Default)]
pub(crate) struct Ranges {
    pub v4: Vec<(u32, u32)>,
    pub v6: Vec<(u128, u128)>,
}

pub(crate) fn merge<T: Ord + Copy>(
    mut r: Vec<(T, T)>,
    next: impl Fn(T) -> Option<T>,
) -> Vec<(T, T)> {
    r.sort_unstable();
    let mut out: Vec<(T, T)> = Vec::with_capacity(r.len());
    for (s, e) in r {
        match out.last_mut() {
            Some(last) if next(last.1).is_none_or(|n| s <= n) => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

fn in_ranges<T: Ord + Copy>(r: &[(T, T)], x: T) -> bool {
    let i = r.partition_point(|(s, _)| *s <= x);
    i > 0 && r[i - 1].1 >= x
}

impl Ranges {
    pub fn new(set: &CidrSet) -> Ranges {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for n in &set.nets {
            match n {
                ipnet::IpNet::V4(n) => v4.push((u32::from(n.network()), u32::from(n.broadcast()))),
                ipnet::IpNet::V6(n) => {
                    v6.push((u128::from(n.network()), u128::from(n.broadcast())))
                }
            }
        }
        Ranges {
            v4: merge(v4, |x| x.checked_add(1)),
            v6: merge(v6, |x| x.checked_add(1)),
        }
    }

    pub fn contains(&self, ip: &IpAddr) -> bool {
        // An IPv4-mapped IPv6 address is the IPv4 address it carries.
        match writ_check::net::unmapped(*ip) {
            IpAddr::V4(a) => in_ranges(&self.v4, u32::from(a)),
            IpAddr::V6(a) => in_ranges(&self.v6, u128::from(a)),
        }
    }
}

/// A time zone's UTC offsets precomputed as a sorted transition table (1970–2200), so
/// that finding the local time is a binary search rather than a re-derivation of the
/// zone's rules on every request; one per zone, shared by every window in it.
#[derive(Clone, Debug)]
pub(crate) struct ZoneTable {
    pub zone: TimeZone,
    /// `(transition instant in seconds, offset in seconds from then on)`, sorted; the first
    /// entry covers everything before the table.
    pub offsets: Vec<(i64, i32)>,
    /// Instants at or after this are looked up in the zone itself.
    pub table_end: i64,
}

const TABLE_START: i64 = 0; // 1970-01-01
const TABLE_END: i64 = 7_258_118_400; // 2200-01-01

fn offset_table(zone: &TimeZone) -> Vec<(i64, i32)> {
    let start = jiff::Timestamp::from_second(TABLE_START).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let mut table = vec![(i64::MIN, zone.to_offset(start).seconds())];
    for t in zone.following(start) {
        let at = t.timestamp().as_second();
        if at >= TABLE_END {
            break;
        }
        table.push((at, t.offset().seconds()));
    }
    table
}

impl ZoneTable {
    pub fn new(zone: TimeZone) -> ZoneTable {
        ZoneTable {
            offsets: offset_table(&zone),
            zone,
            table_end: TABLE_END,
        }
    }

    /// The zone's offset at `s`, whole seconds since 1970 rounded down
    /// (`writ_check::hours::floor_second` of an instant).
    fn offset(&self, s: i64) -> i64 {
        if s < TABLE_START || s >= self.table_end {
            // The floor of a valid instant is a valid instant (jiff's bounds are whole
            // seconds), so the zone is always asked; the 0 is unreachable.
            return jiff::Timestamp::from_second(s)
                .map_or(0, |at| i64::from(self.zone.to_offset(at).seconds()));
        }
        let i = self.offsets.partition_point(|(t, _)| *t <= s);
        i64::from(self.offsets[i.saturating_sub(1)].1)
    }

    /// The minute of the week (Monday 00:00 = 0) in this zone of the instant whose whole
    /// seconds since 1970, rounded down, are `s` — the same conversion as `Hours::local`
    /// (explain, lint): floor, never truncate.
    #[inline]
    pub fn week_minute(&self, s: i64) -> usize {
        let (weekday, minute) = writ_check::hours::week_minute(s + self.offset(s));
        usize::from(weekday) * 1440 + usize::from(minute)
    }
}

/// A window that is one span of the day on some weekdays (`Mon-Fri 07:00-19:00`), packed
/// in 32 bits — bits 0–6 the weekdays, 7–17 the first minute, 18–28 the minute after the
/// last — so that the code tests it inline, without reading a bitmap.
pub(crate) fn daily(bits: &[u64]) -> Option<u32> {
    let on = |i: usize| bits.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0);
    let mut days = 0u32;
    let mut span: Option<(usize, usize)> = None;
    for d in 0..7 {
        let minutes: Vec<usize> = (0..1440).filter(|m| on(d * 1440 + m)).collect();
        let (Some(&first), Some(&last)) = (minutes.first(), minutes.last()) else {
            continue;
        };
        if last + 1 - first != minutes.len() || span.is_some_and(|s| s != (first, last + 1)) {
            return None;
        }
        span = Some((first, last + 1));
        days |= 1 << d;
    }
    let (start, end) = span?;
    Some(days | (u32::try_from(start).ok()? << 7) | (u32::try_from(end).ok()? << 18))
}

/// Whether minute of the week `i` falls in a [`daily`] window.
#[inline(always)]
pub(crate) fn in_daily(packed: u32, i: usize) -> bool {
    let (day, minute) = (i / 1440, (i % 1440) as u32);
    packed & (1 << day) != 0 && minute >= (packed >> 7) & 0x7ff && minute < (packed >> 18) & 0x7ff
}

/// Whether an address falls in the IPv4 range `lo..=hi` (an IPv4-mapped IPv6 address is
/// the IPv4 address it carries; any other IPv6 address is in no IPv4 range).
#[inline(always)]
pub(crate) fn in_net(ip: &IpAddr, lo: u32, hi: u32) -> bool {
    match writ_check::net::unmapped(*ip) {
        IpAddr::V4(a) => (lo..=hi).contains(&u32::from(a)),
        IpAddr::V6(_) => false,
    }
}

/// An `hours` window as a minute-of-week bitmap in its zone (an index into the zone
/// tables), and its packed form when it is one span of the day ([`daily`]).
#[derive(Clone, Debug)]
pub(crate) struct HoursBits {
    pub zone: u32,
    pub bits: Vec<u64>,
    pub daily: Option<u32>,
}

impl HoursBits {
    /// Whether the instant whose floor seconds since 1970 are `s` is in the window.
    pub fn contains(&self, zones: &[ZoneTable], s: i64) -> bool {
        let Some(zone) = zones.get(self.zone as usize) else {
            return false;
        };
        let i = zone.week_minute(s);
        self.bits
            .get(i / 64)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test")]

    use super::*;

    fn bitmap(windows: &[(u8, u16, u16)]) -> Vec<u64> {
        let h = writ_check::hours::Hours {
            spec: String::new(),
            zone_name: "UTC".into(),
            zone: TimeZone::UTC,
            windows: windows
                .iter()
                .map(|&(days, start, end)| writ_check::hours::Window { days, start, end })
                .collect(),
        };
        h.week_bitmap()
    }

    #[test]
    fn a_daily_window_is_packed_and_tests_as_its_bitmap() {
        let on = |bits: &[u64], i: usize| bits[i / 64] & (1 << (i % 64)) != 0;
        for w in [
            vec![(0b0011111, 7 * 60, 19 * 60)],
            vec![(0b1111111, 0, 1440)],
            vec![(0b1000000, 0, 1)],
            vec![(0b0100000, 1439, 1440)],
            vec![(0b0000101, 600, 601), (0b0000010, 600, 601)],
        ] {
            let bits = bitmap(&w);
            let packed = daily(&bits).unwrap_or_else(|| panic!("{w:?} is daily"));
            for i in 0..7 * 1440 {
                assert_eq!(in_daily(packed, i), on(&bits, i), "{w:?} at minute {i}");
            }
        }
        // Over midnight, two spans a day, spans that differ by day, none: a bitmap.
        for w in [
            vec![(0b0011111, 22 * 60, 6 * 60)],
            vec![(0b0011111, 60, 120), (0b0011111, 180, 240)],
            vec![(0b0000001, 60, 120), (0b0000010, 60, 121)],
            vec![],
        ] {
            assert_eq!(daily(&bitmap(&w)), None, "{w:?}");
        }
    }
}
