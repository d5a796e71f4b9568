//! Quota periods on the calendar (UTC): days, weeks starting on Mondays, and months.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::config::QuotaPeriod;

/// Seconds since the epoch.
pub(in crate::gateway) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub(super) const DAY: u64 = 86_400;

/// The number of the period holding `now` (seconds since the epoch, UTC) and when the
/// next one starts.
pub(in crate::gateway) fn period_of(now: u64, period: QuotaPeriod) -> (u64, u64) {
    let day = now / DAY;
    match period {
        QuotaPeriod::Day => (day, (day + 1) * DAY),
        QuotaPeriod::Week => {
            // 1970-01-01 was a Thursday: shifting by 3 days starts weeks on Mondays.
            let week = (day + 3) / 7;
            (week, ((week + 1) * 7 - 3) * DAY)
        }
        QuotaPeriod::Month => {
            let (year, month) = year_month(day);
            let next = if month == 12 {
                days_from_civil(year + 1, 1)
            } else {
                days_from_civil(year, month + 1)
            };
            (year as u64 * 12 + u64::from(month), next * DAY)
        }
    }
}

/// Year and month (1–12) of a day number (days since 1970-01-01), as in Howard Hinnant's
/// `civil_from_days`.
pub(super) fn year_month(day: u64) -> (i64, u32) {
    let z = day as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month)
}

/// Day number of the first day of `month` in `year` (Hinnant's `days_from_civil`).
pub(super) fn days_from_civil(year: i64, month: u32) -> u64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe - 719_468) as u64
}
