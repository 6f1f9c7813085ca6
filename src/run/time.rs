//! Converting [`Micros`](super::Micros) to the text forms reports print.

use chrono::{DateTime, SecondsFormat, Utc};

use super::{Micros, NO_TIME};

/// The time as a chrono value, `None` for [`NO_TIME`] or out of chrono's range.
pub fn to_datetime(micros: Micros) -> Option<DateTime<Utc>> {
    if micros == NO_TIME {
        return None;
    }
    DateTime::<Utc>::from_timestamp_micros(micros)
}

/// RFC 3339 in UTC with microseconds, e.g. `2018-06-05T03:34:03.723486Z`; `-` when unknown.
pub fn rfc3339(micros: Micros) -> String {
    to_datetime(micros)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Micros, true))
        .unwrap_or_else(|| "-".to_string())
}

/// Go's `time.RFC3339Nano` in UTC: trailing zeros of the fraction dropped, no fraction when
/// it is zero (as the API server prints times in its audit `EventString`).
pub fn rfc3339_nano(micros: Micros) -> String {
    let Some(t) = to_datetime(micros) else {
        return "0001-01-01T00:00:00Z".to_string();
    };
    let base = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let frac = micros.rem_euclid(1_000_000);
    if frac == 0 {
        format!("{base}Z")
    } else {
        let digits = format!("{frac:06}");
        format!("{base}.{}Z", digits.trim_end_matches('0'))
    }
}

/// The 2018 pipeline's window start form: `YYYY-MM-DDTHH:MM:SS.ffffff`, no zone.
pub fn python_isoformat(micros: Micros) -> String {
    to_datetime(micros)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let t = 1_528_169_643_723_486; // 2018-06-05T03:34:03.723486Z
        assert_eq!(rfc3339(t), "2018-06-05T03:34:03.723486Z");
        assert_eq!(python_isoformat(t), "2018-06-05T03:34:03.723486");
        assert_eq!(rfc3339_nano(t), "2018-06-05T03:34:03.723486Z");
        assert_eq!(rfc3339_nano(1_528_169_643_000_000), "2018-06-05T03:34:03Z");
        assert_eq!(
            rfc3339_nano(1_528_169_643_500_000),
            "2018-06-05T03:34:03.5Z"
        );
        assert_eq!(rfc3339(NO_TIME), "-");
    }
}
