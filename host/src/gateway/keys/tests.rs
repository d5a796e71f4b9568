//! Unit tests of API keys: calendar periods, quotas, and usage kept across restarts.

use super::periods::{DAY, days_from_civil, year_month};
use super::*;

/// Seconds since the epoch of a UTC date.
fn at(year: i64, month: u32, day: u64) -> u64 {
    (days_from_civil(year, month) + day - 1) * DAY
}

#[test]
fn periods_start_and_end_on_calendar_boundaries() {
    let noon = at(2026, 11, 25) + 12 * 3600;
    assert_eq!(period_of(noon, QuotaPeriod::Day).1, at(2026, 11, 26));
    // 2026-11-25 is a Wednesday: the week ends on Monday the 30th.
    assert_eq!(period_of(noon, QuotaPeriod::Week).1, at(2026, 11, 30));
    assert_eq!(period_of(noon, QuotaPeriod::Month).1, at(2026, 12, 1));
    assert_eq!(
        period_of(at(2026, 12, 31), QuotaPeriod::Month).1,
        at(2027, 1, 1)
    );
    assert_eq!(
        period_of(at(2028, 2, 29), QuotaPeriod::Month).1,
        at(2028, 3, 1)
    );
    assert_ne!(
        period_of(at(2026, 11, 29), QuotaPeriod::Week).0,
        period_of(at(2026, 11, 30), QuotaPeriod::Week).0
    );
    assert_eq!(at(1970, 1, 1), 0);
    assert_eq!(year_month(days_from_civil(2000, 2)), (2000, 2));
}

#[test]
fn a_quota_refuses_past_its_limit_until_the_next_period() {
    let usage = QuotaUsage::default();
    let quota = QuotaConfig {
        limit: 2,
        period: QuotaPeriod::Day,
    };
    assert!(usage.take("k", quota).is_ok());
    assert!(usage.take("k", quota).is_ok());
    assert!(matches!(
        usage.take("k", quota),
        Err(Rejection::QuotaExceeded { limit: 2, .. })
    ));
    assert!(usage.take("other", quota).is_ok());
}

#[test]
fn usage_is_saved_when_it_changed_and_resumes_when_restored() {
    let quota = QuotaConfig {
        limit: 2,
        period: QuotaPeriod::Day,
    };
    let usage = QuotaUsage::default();
    assert_eq!(usage.changes(), None);
    assert!(usage.take("k", quota).is_ok());
    let saved = usage.changes().expect("a request was counted");
    assert_eq!(saved["k"].used, 1);
    assert_eq!(usage.changes(), None, "nothing new since");

    let mut saved = saved;
    // A period that is over is dropped from the next save, and counts from zero.
    saved.insert(
        "old".into(),
        QuotaUsed {
            period: QuotaPeriod::Day,
            number: 3,
            used: 2,
        },
    );
    let restored = QuotaUsage::restored(saved);
    assert!(restored.take("k", quota).is_ok());
    assert!(
        restored.take("k", quota).is_err(),
        "1 saved + 1 = the limit"
    );
    assert!(restored.take("old", quota).is_ok());
    restored.unsaved();
    let saved = restored.changes().expect("changed");
    assert_eq!(saved["old"].used, 1);

    // A plan whose period changes starts its key over.
    let weekly = QuotaConfig {
        limit: 2,
        period: QuotaPeriod::Week,
    };
    assert!(restored.take("k", weekly).is_ok());
}
