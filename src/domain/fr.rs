//! French formatting of dates, times, numbers, durations and amounts, used by
//! every page and email. Follows French typography: no-break space (U+00A0)
//! inside times and before units, narrow no-break space (U+202F) as the
//! thousands separator, comma as the decimal separator.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Timelike, Utc, Weekday};

use crate::domain::calendar::utc_to_paris;

/// No-break space (U+00A0): inside times ("9 h 30") and before units ("€", "jours").
pub const NBSP: char = '\u{a0}';
/// Narrow no-break space (U+202F): thousands separator ("1 250").
pub const NNBSP: char = '\u{202f}';

/// A lower-case French letter with its accent folded (« é » → « e », « œ » → « oe »), for
/// comparing and slugging typed names; `None` for any other character.
pub fn fold_accent(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'â' | 'ä' | 'á' | 'ã' => "a",
        'é' | 'è' | 'ê' | 'ë' => "e",
        'î' | 'ï' | 'í' | 'ì' => "i",
        'ô' | 'ö' | 'ó' | 'ò' | 'õ' => "o",
        'ù' | 'û' | 'ü' | 'ú' => "u",
        'ç' => "c",
        'ÿ' => "y",
        'ñ' => "n",
        'œ' => "oe",
        'æ' => "ae",
        _ => return None,
    })
}

/// The key under which a typed name (or address) is unique: Unicode lower case, without
/// the spaces around it — « École des Arts » and « école des arts » are one name. Stored
/// beside the name (`associations.name_key`) under a UNIQUE index, so that the database,
/// not a read before the write, keeps two from being saved at once.
pub fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// Lower-case French weekday name: "lundi" … "dimanche".
pub fn weekday_name(weekday: Weekday) -> &'static str {
    match weekday {
        Weekday::Mon => "lundi",
        Weekday::Tue => "mardi",
        Weekday::Wed => "mercredi",
        Weekday::Thu => "jeudi",
        Weekday::Fri => "vendredi",
        Weekday::Sat => "samedi",
        Weekday::Sun => "dimanche",
    }
}

/// Lower-case French month name, 1 → "janvier". Out-of-range input gives "".
pub fn month_name(month: u32) -> &'static str {
    match month {
        1 => "janvier",
        2 => "février",
        3 => "mars",
        4 => "avril",
        5 => "mai",
        6 => "juin",
        7 => "juillet",
        8 => "août",
        9 => "septembre",
        10 => "octobre",
        11 => "novembre",
        12 => "décembre",
        _ => "",
    }
}

/// "lundi 11 janvier 2027"; the first of the month is written "1er".
pub fn date_long(date: NaiveDate) -> String {
    let day = if date.day() == 1 {
        "1er".to_owned()
    } else {
        date.day().to_string()
    };
    format!(
        "{} {} {} {}",
        weekday_name(date.weekday()),
        day,
        month_name(date.month()),
        date.year()
    )
}

/// "11/01/2027".
pub fn date_short(date: NaiveDate) -> String {
    format!("{:02}/{:02}/{:04}", date.day(), date.month(), date.year())
}

/// "9 h 30", "14 h 00" (no-break spaces around "h").
pub fn time(t: NaiveTime) -> String {
    format!("{}{NBSP}h{NBSP}{:02}", t.hour(), t.minute())
}

/// An instant shown in Europe/Paris: "lundi 11 janvier 2027, 9 h 30".
pub fn datetime_long(instant: DateTime<Utc>) -> String {
    let local = utc_to_paris(instant);
    format!("{}, {}", date_long(local.date()), time(local.time()))
}

/// "lundi 11 janvier 2027, 9 h 30 – 12 h 30" when both ends fall on the same
/// Paris day, otherwise both ends in full joined by " → ".
pub fn time_range(start: DateTime<Utc>, end: DateTime<Utc>) -> String {
    let (s, e) = (utc_to_paris(start), utc_to_paris(end));
    if s.date() == e.date() {
        format!(
            "{}, {} – {}",
            date_long(s.date()),
            time(s.time()),
            time(e.time())
        )
    } else {
        format!("{} → {}", datetime_long(start), datetime_long(end))
    }
}

/// The decimal digits of `n`, most significant first, into `digits` (39 are enough for a
/// `u128`); returns how many. In `u64` when it fits: `u128` division is a library call.
fn decimal_digits(n: u128, digits: &mut [u8; 39]) -> usize {
    let mut len = 0;
    if let Ok(mut small) = u64::try_from(n) {
        loop {
            digits[len] = b'0' + (small % 10) as u8;
            len += 1;
            small /= 10;
            if small == 0 {
                break;
            }
        }
    } else {
        let mut large = n;
        while large > 0 {
            digits[len] = b'0' + (large % 10) as u8;
            len += 1;
            large /= 10;
        }
    }
    digits[..len].reverse();
    len
}

/// Formats an integer amount of `10^-decimals` units ("scaled") in French: the integer
/// part's digits grouped by three with NNBSP, a comma, then exactly `decimals` digits.
/// Written into one string (it runs for every figure of the budget and overview pages).
fn format_scaled(scaled: i128, decimals: usize) -> String {
    let abs = scaled.unsigned_abs();
    let factor = 10u128.pow(decimals as u32);
    let mut digits = [0u8; 39];
    let len = decimal_digits(abs / factor, &mut digits);
    let mut out = String::with_capacity(1 + len + len / 3 * NNBSP.len_utf8() + 1 + decimals);
    if scaled < 0 {
        out.push('-');
    }
    for (i, &d) in digits[..len].iter().enumerate() {
        if i > 0 && (len - i).is_multiple_of(3) {
            out.push(NNBSP);
        }
        out.push(char::from(d));
    }
    if decimals > 0 {
        out.push(',');
        let frac = decimal_digits(abs % factor, &mut digits);
        out.extend(std::iter::repeat_n('0', decimals.saturating_sub(frac)));
        out.extend(digits[..frac].iter().map(|&d| char::from(d)));
    }
    out
}

/// French decimal number: `decimal(1250.0, 2)` → "1 250,00" (NNBSP),
/// `decimal(-3.5, 1)` → "-3,5". Rounds half away from zero; never "-0".
pub fn decimal(value: f64, decimals: usize) -> String {
    let decimals = decimals.min(9);
    if !value.is_finite() {
        return "–".to_owned();
    }
    let factor = 10f64.powi(decimals as i32);
    let scaled = value * factor;
    // Nudge values that sit a hair below .5 because of binary representation
    // (e.g. 2.675 * 100 = 267.4999…) so that they round away from zero.
    let nudged = scaled + scaled.signum() * scaled.abs().max(1.0) * 1e-12;
    let rounded = nudged.round() as i128;
    format_scaled(rounded, decimals)
}

/// A number of days: "1 jour", "0,5 jour", "1,5 jour", "10,5 jours", "12 jours".
/// French uses the singular below 2. At most two decimals, trailing zeros
/// dropped.
pub fn days(value: f64) -> String {
    let mut number = decimal(value, 2);
    if number.contains(',') {
        while number.ends_with('0') {
            number.pop();
        }
        if number.ends_with(',') {
            number.pop();
        }
    }
    let unit = if value.abs() < 2.0 { "jour" } else { "jours" };
    number.push(NBSP);
    number.push_str(unit);
    number
}

/// An amount in euro cents: 125000 → "1 250,00 €".
pub fn euros_cents(cents: i64) -> String {
    let mut out = format_scaled(i128::from(cents), 2);
    out.push(NBSP);
    out.push('€');
    out
}

/// A number of half-days expressed in days: 3 → "1,5 jour", 4 → "2 jours".
pub fn half_days(n: i64) -> String {
    days(n as f64 / 2.0)
}

/// A number of half-days as a bare figure of days, the way forms show it: 3 → "1,5",
/// 4 → "2" (no unit, no ",0").
pub fn half_days_figure(n: i64) -> String {
    decimal(n as f64 / 2.0, 1)
        .trim_end_matches(",0")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_name_key_ignores_case_accented_capitals_included_and_surrounding_spaces() {
        assert_eq!(name_key("  École des Arts "), "école des arts");
        assert_eq!(name_key("ÉLAN"), name_key("élan"));
        assert_eq!(name_key("Œuvre"), "œuvre");
        // Only the ends: a name with other inner spacing is another name.
        assert_ne!(name_key("Le  Relais"), name_key("Le Relais"));
    }

    #[test]
    fn half_day_figures_drop_the_unit_and_a_trailing_zero() {
        assert_eq!(half_days_figure(3), "1,5");
        assert_eq!(half_days_figure(4), "2");
        assert_eq!(half_days_figure(0), "0");
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn utc(y: i32, m: u32, day: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, day, h, min, 0).unwrap()
    }

    #[test]
    fn weekday_and_month_names_are_lower_case_french() {
        assert_eq!(weekday_name(Weekday::Mon), "lundi");
        assert_eq!(weekday_name(Weekday::Sun), "dimanche");
        assert_eq!(month_name(1), "janvier");
        assert_eq!(month_name(2), "février");
        assert_eq!(month_name(8), "août");
        assert_eq!(month_name(12), "décembre");
        assert_eq!(month_name(13), "");
    }

    #[test]
    fn date_long_writes_the_first_of_the_month_as_1er() {
        assert_eq!(date_long(d(2027, 1, 11)), "lundi 11 janvier 2027");
        assert_eq!(date_long(d(2027, 1, 1)), "vendredi 1er janvier 2027");
        assert_eq!(date_long(d(2027, 2, 2)), "mardi 2 février 2027");
    }

    #[test]
    fn date_short_is_zero_padded() {
        assert_eq!(date_short(d(2027, 1, 11)), "11/01/2027");
        assert_eq!(date_short(d(2027, 12, 5)), "05/12/2027");
    }

    #[test]
    fn time_uses_no_break_spaces_around_h() {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        assert_eq!(time(t(9, 30)), "9\u{a0}h\u{a0}30");
        assert_eq!(time(t(14, 0)), "14\u{a0}h\u{a0}00");
        assert_eq!(time(t(0, 5)), "0\u{a0}h\u{a0}05");
    }

    #[test]
    fn datetime_long_is_shown_in_paris_time() {
        // Winter: UTC+1.
        assert_eq!(
            datetime_long(utc(2027, 1, 11, 8, 30)),
            "lundi 11 janvier 2027, 9\u{a0}h\u{a0}30"
        );
        // Summer: UTC+2.
        assert_eq!(
            datetime_long(utc(2027, 6, 1, 7, 30)),
            "mardi 1er juin 2027, 9\u{a0}h\u{a0}30"
        );
    }

    #[test]
    fn time_range_on_one_day_shares_the_date() {
        assert_eq!(
            time_range(utc(2027, 1, 11, 8, 30), utc(2027, 1, 11, 11, 30)),
            "lundi 11 janvier 2027, 9\u{a0}h\u{a0}30 – 12\u{a0}h\u{a0}30"
        );
    }

    #[test]
    fn time_range_across_days_shows_both_ends_in_full() {
        assert_eq!(
            time_range(utc(2027, 1, 11, 8, 30), utc(2027, 1, 12, 11, 30)),
            "lundi 11 janvier 2027, 9\u{a0}h\u{a0}30 → mardi 12 janvier 2027, 12\u{a0}h\u{a0}30"
        );
    }

    #[test]
    fn decimal_groups_thousands_with_narrow_no_break_space() {
        assert_eq!(decimal(1250.0, 2), "1\u{202f}250,00");
        assert_eq!(decimal(-3.5, 1), "-3,5");
        assert_eq!(decimal(1234567.891, 2), "1\u{202f}234\u{202f}567,89");
        assert_eq!(decimal(999.0, 0), "999");
        assert_eq!(decimal(0.0, 1), "0,0");
    }

    #[test]
    fn decimal_rounds_half_away_from_zero_and_never_prints_minus_zero() {
        assert_eq!(decimal(2.5, 0), "3");
        assert_eq!(decimal(-2.5, 0), "-3");
        assert_eq!(decimal(2.675, 2), "2,68");
        assert_eq!(decimal(0.125, 2), "0,13");
        assert_eq!(decimal(-0.004, 2), "0,00");
    }

    #[test]
    fn days_uses_singular_below_two_and_drops_trailing_zero() {
        assert_eq!(days(10.5), "10,5\u{a0}jours");
        assert_eq!(days(1.0), "1\u{a0}jour");
        assert_eq!(days(0.5), "0,5\u{a0}jour");
        assert_eq!(days(1.5), "1,5\u{a0}jour");
        assert_eq!(days(12.0), "12\u{a0}jours");
        assert_eq!(days(2.0), "2\u{a0}jours");
        assert_eq!(days(0.0), "0\u{a0}jour");
        assert_eq!(days(1250.0), "1\u{202f}250\u{a0}jours");
    }

    #[test]
    fn scaled_amounts_keep_their_leading_zeros_and_every_digit_of_the_largest() {
        assert_eq!(format_scaled(7, 3), "0,007");
        assert_eq!(format_scaled(-1_000_070, 3), "-1\u{202f}000,070");
        assert_eq!(format_scaled(0, 0), "0");
        assert_eq!(format_scaled(999, 0), "999");
        assert_eq!(format_scaled(1000, 0), "1\u{202f}000");
        // Past u64: the u128 path.
        assert_eq!(
            format_scaled(i128::MAX, 0).replace('\u{202f}', ""),
            i128::MAX.to_string()
        );
        assert_eq!(
            format_scaled(i128::MIN, 2).replace('\u{202f}', ""),
            "-1701411834604692317316873037158841057,28"
        );
    }

    #[test]
    fn euros_cents_formats_amounts_with_euro_sign_after_nbsp() {
        assert_eq!(euros_cents(125_000), "1\u{202f}250,00\u{a0}€");
        assert_eq!(euros_cents(5), "0,05\u{a0}€");
        assert_eq!(euros_cents(-1250), "-12,50\u{a0}€");
        assert_eq!(
            euros_cents(100_000_000),
            "1\u{202f}000\u{202f}000,00\u{a0}€"
        );
    }

    #[test]
    fn half_days_are_shown_as_days() {
        assert_eq!(half_days(3), "1,5\u{a0}jour");
        assert_eq!(half_days(4), "2\u{a0}jours");
        assert_eq!(half_days(1), "0,5\u{a0}jour");
        assert_eq!(half_days(21), "10,5\u{a0}jours");
    }
}
