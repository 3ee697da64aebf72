//! Reading `Timestamp` columns without chrono's format parser.
//!
//! Diesel's SQLite backend reads a timestamp by trying chrono's `parse_from_str` with one
//! format after another: about 2,700 instructions a value, which was a quarter of the DLA
//! overview's time (its page reads some 6,000 of them). Cohorte writes timestamps one way,
//! `YYYY-MM-DD HH:MM:SS[.fraction]` (diesel's own `ToSql`), so [`Stamp`] decodes that shape
//! by hand and hands anything else to diesel's reader, whose result it keeps.
//!
//! On PostgreSQL a timestamp arrives as a binary integer, already cheap: [`Stamp`] takes
//! diesel's reader there.
//!
//! A model field opts in with `#[diesel(deserialize_as = crate::db::Stamp)]` (or
//! [`MaybeStamp`] for a nullable column); the field keeps its `NaiveDateTime` type.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use diesel::deserialize::{self, FromSql};
use diesel::sql_types::{Nullable, Timestamp};
use diesel::sqlite::{Sqlite, SqliteValue};

/// A `Timestamp` read fast; converts into `NaiveDateTime`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, diesel::deserialize::FromSqlRow)]
pub struct Stamp(pub NaiveDateTime);

/// A nullable `Timestamp` read fast; converts into `Option<NaiveDateTime>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, diesel::deserialize::FromSqlRow)]
pub struct MaybeStamp(pub Option<NaiveDateTime>);

impl From<Stamp> for NaiveDateTime {
    fn from(s: Stamp) -> Self {
        s.0
    }
}

impl From<MaybeStamp> for Option<NaiveDateTime> {
    fn from(s: MaybeStamp) -> Self {
        s.0
    }
}

impl FromSql<Timestamp, Sqlite> for Stamp {
    fn from_sql(mut value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        if let Some(at) = parse(value.read_text()) {
            return Ok(Stamp(at));
        }
        <NaiveDateTime as FromSql<Timestamp, Sqlite>>::from_sql(value).map(Stamp)
    }
}

impl FromSql<Nullable<Timestamp>, Sqlite> for MaybeStamp {
    fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        <Stamp as FromSql<Timestamp, Sqlite>>::from_sql(value).map(|s| MaybeStamp(Some(s.0)))
    }

    fn from_nullable_sql(value: Option<SqliteValue<'_, '_, '_>>) -> deserialize::Result<Self> {
        match value {
            Some(v) => <Self as FromSql<Nullable<Timestamp>, Sqlite>>::from_sql(v),
            None => Ok(MaybeStamp(None)),
        }
    }
}

impl FromSql<Timestamp, diesel::pg::Pg> for Stamp {
    fn from_sql(value: diesel::pg::PgValue<'_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, diesel::pg::Pg>>::from_sql(value).map(Stamp)
    }
}

impl FromSql<Timestamp, super::Backend> for Stamp {
    fn from_sql(value: super::MultiRawValue<'_>) -> deserialize::Result<Self> {
        value.from_sql::<Stamp, Timestamp>()
    }
}

impl FromSql<Nullable<Timestamp>, super::Backend> for MaybeStamp {
    fn from_sql(value: super::MultiRawValue<'_>) -> deserialize::Result<Self> {
        value
            .from_sql::<Stamp, Timestamp>()
            .map(|s| MaybeStamp(Some(s.0)))
    }

    fn from_nullable_sql(value: Option<super::MultiRawValue<'_>>) -> deserialize::Result<Self> {
        match value {
            Some(v) => <Self as FromSql<Nullable<Timestamp>, super::Backend>>::from_sql(v),
            None => Ok(MaybeStamp(None)),
        }
    }
}

/// `YYYY-MM-DD HH:MM:SS` with an optional `.` and 1 to 9 digits of fraction, nothing else;
/// `None` for any other shape (or an impossible date), left to diesel's reader.
fn parse(s: &str) -> Option<NaiveDateTime> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b' ' || b[13] != b':' {
        return None;
    }
    if b[16] != b':' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let nanos = match &b[19..] {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            let n = num(20, b.len())?;
            n * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(num(0, 4)? as i32, num(5, 7)?, num(8, 10)?)?;
    let time = NaiveTime::from_hms_nano_opt(num(11, 13)?, num(14, 16)?, num(17, 19)?, nanos)?;
    Some(date.and_time(time))
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::prelude::*;

    fn diesel_reads(conn: &mut SqliteConnection, text: &str) -> NaiveDateTime {
        diesel::select(diesel::dsl::sql::<Timestamp>(&format!("'{text}'")))
            .get_result::<NaiveDateTime>(conn)
            .unwrap()
    }

    #[test]
    fn reads_what_diesel_reads_for_the_shapes_cohorte_writes() {
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        for text in [
            "2026-12-05 01:30:57",
            "2026-12-05 01:30:57.2",
            "2026-12-05 01:30:57.221735",
            "2026-12-05 01:30:57.221735615",
            "2024-02-29 23:59:59.999999999",
            "0001-01-01 00:00:00",
        ] {
            assert_eq!(parse(text), Some(diesel_reads(&mut conn, text)), "{text}");
        }
    }

    #[test]
    fn leaves_other_shapes_to_diesel() {
        for text in [
            "2026-12-05T01:30:57",
            "2026-12-05 01:30",
            "2026-12-05 01:30:57Z",
            "2026-12-05 01:30:57+01:00",
            "2026-12-05 01:30:57.",
            "2026-12-05 01:30:57.1234567890",
            "2026-02-30 01:30:57",
            "2026-12-05 24:00:00",
            "2026-12-05 01:3a:57",
            "2460000.5",
            "",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }

    #[test]
    fn a_field_reads_through_stamp_and_falls_back_to_diesel() {
        #[derive(Queryable)]
        struct Row {
            #[diesel(deserialize_as = Stamp)]
            at: NaiveDateTime,
            #[diesel(deserialize_as = MaybeStamp)]
            maybe: Option<NaiveDateTime>,
            #[diesel(deserialize_as = MaybeStamp)]
            none: Option<NaiveDateTime>,
        }
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        let row: Row = diesel::select((
            diesel::dsl::sql::<Timestamp>("'2026-12-05 01:30:57.5'"),
            diesel::dsl::sql::<Nullable<Timestamp>>("'2026-12-05T08:00:00'"),
            diesel::dsl::sql::<Nullable<Timestamp>>("NULL"),
        ))
        .get_result(&mut conn)
        .unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
        assert_eq!(row.at, day.and_hms_milli_opt(1, 30, 57, 500).unwrap());
        assert_eq!(row.maybe, Some(day.and_hms_opt(8, 0, 0).unwrap()));
        assert_eq!(row.none, None);
    }
}
