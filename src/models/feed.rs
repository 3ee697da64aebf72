//! Personal links of a participant, signed rather than stored: the calendar feed
//! (`/agenda/{participant}/{token}.ics`, read-only), the old page
//! (`/espace/{participant}/{token}`, which now only explains the portal and offers a
//! sign-in link: it shows no personal data) and the one-click unsubscribe address of the
//! emails' `List-Unsubscribe` header (`/desabonnement/{participant}/{token}`, RFC 8058).
//!
//! A token is the first 128 bits of HMAC-SHA-256(instance secret, purpose, participant,
//! generation), in hex. Nothing secret is stored per participant; raising the participant's
//! `feed_generation` revokes every link given so far. Staff members (chargé·es de mission,
//! consultant·es, administrators) have one such link too, their private calendar feed
//! (`/agenda-equipe/{user}/{token}.ics`, issue #17): the same tag over the user's id and
//! the generation kept in `staff_feeds`. The instance secret is 32 random
//! bytes created on first use in `instance_secrets`, so that every instance sharing the
//! database signs alike.

use diesel::prelude::*;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::db::schema::{instance_secrets, participants, staff_feeds};
use crate::db::{Conn, Tx};
use crate::error::AppError;
use crate::models::participant::{self, Participant};

type HmacSha256 = Hmac<Sha256>;

/// What a link opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// The calendar feed.
    Calendar,
    /// The participant's old page (now an explanation of the portal).
    Space,
    /// Turning reminders off from an email's `List-Unsubscribe` header.
    Unsubscribe,
    /// A staff member's calendar feed (signed over the user's id).
    StaffCalendar,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Calendar => "calendar",
            Purpose::Space => "space",
            Purpose::Unsubscribe => "unsubscribe",
            Purpose::StaffCalendar => "staff-calendar",
        }
    }
}

/// Bytes of the token kept (128 bits).
const TOKEN_BYTES: usize = 16;

/// The instance's signing secret, created on first use (by a write of its own, under
/// `db::side_write`: the read paths that sign links need it too).
pub fn secret(conn: &mut Conn) -> Result<Vec<u8>, AppError> {
    const NAME: &str = "links";
    let read = |conn: &mut Conn| -> Result<Option<String>, AppError> {
        Ok(instance_secrets::table
            .find(NAME)
            .select(instance_secrets::value)
            .first::<String>(conn)
            .optional()?)
    };
    let value = match read(conn)? {
        Some(v) => v,
        None => {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes)
                .map_err(|e| AppError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
            // Two instances starting together: the first insert wins, both read it back.
            // Its date is only informative: the wall clock.
            crate::db::side_write(conn, chrono::Utc::now(), |tx| {
                let at_ = tx.now_naive();
                crate::on_backend!(tx.conn(), |c| diesel::insert_into(instance_secrets::table)
                    .values((
                        instance_secrets::name.eq(NAME),
                        instance_secrets::value.eq(hex::encode(bytes)),
                        instance_secrets::created_at.eq(at_),
                    ))
                    .on_conflict(instance_secrets::name)
                    .do_nothing()
                    .execute(c))?;
                Ok(())
            })?;
            read(conn)?.ok_or_else(|| AppError::Internal(anyhow::anyhow!("secret not stored")))?
        }
    };
    hex::decode(value.trim())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("instance secret is not hex: {e}")))
}

fn mac(secret: &[u8], purpose: Purpose, participant_id: &str, generation: i32) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(purpose.as_str().as_bytes());
    mac.update(b"\0");
    mac.update(participant_id.as_bytes());
    mac.update(b"\0");
    mac.update(generation.to_string().as_bytes());
    mac
}

/// The token of a participant's link.
pub fn token(secret: &[u8], purpose: Purpose, p: &Participant) -> String {
    let tag = mac(secret, purpose, &p.id, p.feed_generation)
        .finalize()
        .into_bytes();
    hex::encode(&tag[..TOKEN_BYTES])
}

/// The participant whose link this is, or « not found » (the same answer whether the
/// participant does not exist or the token is wrong, old or altered).
pub fn verify(
    conn: &mut Conn,
    purpose: Purpose,
    participant_id: &str,
    token: &str,
) -> Result<Participant, AppError> {
    let not_found = || AppError::NotFound("Ce lien n'est pas (ou plus) valable.".into());
    let bytes = hex::decode(token.trim()).map_err(|_| not_found())?;
    if bytes.len() != TOKEN_BYTES {
        return Err(not_found());
    }
    let p = participant::get(conn, participant_id).map_err(|_| not_found())?;
    let secret = secret(conn)?;
    // Constant-time comparison of the truncated tag.
    mac(&secret, purpose, &p.id, p.feed_generation)
        .verify_truncated_left(&bytes)
        .map_err(|_| not_found())?;
    Ok(p)
}

/// `{public_url}/agenda/{id}/{token}.ics`.
pub fn calendar_url(public_url: &str, secret: &[u8], p: &Participant) -> String {
    format!(
        "{public_url}/agenda/{}/{}.ics",
        p.id,
        token(secret, Purpose::Calendar, p)
    )
}

/// `{public_url}/espace/{id}/{token}`.
pub fn space_url(public_url: &str, secret: &[u8], p: &Participant) -> String {
    format!(
        "{public_url}/espace/{}/{}",
        p.id,
        token(secret, Purpose::Space, p)
    )
}

/// `{public_url}/desabonnement/{id}/{token}`: the one-click unsubscribe address (POST
/// turns the participant's reminders off; GET asks for confirmation).
pub fn unsubscribe_url(public_url: &str, secret: &[u8], p: &Participant) -> String {
    format!(
        "{public_url}/desabonnement/{}/{}",
        p.id,
        token(secret, Purpose::Unsubscribe, p)
    )
}

/// Revokes the participant's links (calendar feed and page); new ones replace them.
pub fn renew(tx: &mut Tx, participant_id: &str) -> Result<Participant, AppError> {
    let p = participant::get(tx, participant_id)?;
    diesel::update(participants::table.find(participant_id))
        .set((
            participants::feed_generation.eq(p.feed_generation + 1),
            participants::updated_at.eq(tx.now_naive()),
        ))
        .execute(tx.conn())?;
    crate::models::account::revoke_participant_access(tx, participant_id)?;
    let p = participant::get(tx, participant_id)?;
    if let Ok(a) = crate::models::association::get(tx, &p.association_id) {
        // Pending emails carry the links: rebuild them with the new ones.
        crate::models::planner::touch(tx, &a.cohort_id)?;
    }
    Ok(p)
}

/// A staff member's feed generation (0 until the first renewal).
pub fn staff_generation(conn: &mut Conn, user_id: &str) -> Result<i32, AppError> {
    Ok(staff_feeds::table
        .find(user_id)
        .select(staff_feeds::generation)
        .first::<i32>(conn)
        .optional()?
        .unwrap_or(0))
}

fn staff_token(secret: &[u8], user_id: &str, generation: i32) -> String {
    let tag = mac(secret, Purpose::StaffCalendar, user_id, generation)
        .finalize()
        .into_bytes();
    hex::encode(&tag[..TOKEN_BYTES])
}

/// `{public_url}/agenda-equipe/{user}/{token}.ics`: the staff member's private feed.
pub fn staff_calendar_url(
    conn: &mut Conn,
    public_url: &str,
    user_id: &str,
) -> Result<String, AppError> {
    let secret = secret(conn)?;
    let generation = staff_generation(conn, user_id)?;
    Ok(format!(
        "{public_url}/agenda-equipe/{user_id}/{}.ics",
        staff_token(&secret, user_id, generation)
    ))
}

/// The staff member whose feed this is, or « not found » (unknown, disabled, or a token
/// wrong, altered or revoked: the same answer).
pub fn verify_staff(
    conn: &mut Conn,
    user_id: &str,
    token: &str,
) -> Result<crate::models::account::User, AppError> {
    let not_found = || AppError::NotFound("Ce lien n'est pas (ou plus) valable.".into());
    let bytes = hex::decode(token.trim()).map_err(|_| not_found())?;
    if bytes.len() != TOKEN_BYTES {
        return Err(not_found());
    }
    let user = crate::models::account::find(conn, user_id).map_err(|_| not_found())?;
    if user.disabled {
        return Err(not_found());
    }
    let secret = secret(conn)?;
    let generation = staff_generation(conn, user_id)?;
    mac(&secret, Purpose::StaffCalendar, user_id, generation)
        .verify_truncated_left(&bytes)
        .map_err(|_| not_found())?;
    Ok(user)
}

/// Revokes the staff member's feed address; a new one replaces it.
pub fn renew_staff(tx: &mut Tx, user_id: &str) -> Result<(), AppError> {
    let generation = staff_generation(tx, user_id)? + 1;
    let now = tx.now_naive();
    crate::on_backend!(tx.conn(), |c| diesel::insert_into(staff_feeds::table)
        .values((
            staff_feeds::user_id.eq(user_id),
            staff_feeds::generation.eq(generation),
            staff_feeds::updated_at.eq(now),
        ))
        .on_conflict(staff_feeds::user_id)
        .do_update()
        .set((
            staff_feeds::generation.eq(generation),
            staff_feeds::updated_at.eq(now),
        ))
        .execute(c))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn someone(generation: i32) -> Participant {
        let t = chrono::NaiveDateTime::default();
        Participant {
            id: "p-1".into(),
            association_id: "a-1".into(),
            name: "Nadia".into(),
            email: "nadia@example.org".into(),
            role: "direction".into(),
            function: String::new(),
            created_at: t,
            updated_at: t,
            reminders: true,
            feed_generation: generation,
            version: 1,
            commitment_confirmed_at: None,
        }
    }

    #[test]
    fn tokens_are_128_bits_and_depend_on_secret_purpose_and_generation() {
        let secret = [7u8; 32];
        let t = token(&secret, Purpose::Calendar, &someone(0));
        assert_eq!(t.len(), 32);
        assert_eq!(t, token(&secret, Purpose::Calendar, &someone(0)));
        assert_ne!(t, token(&secret, Purpose::Space, &someone(0)));
        assert_ne!(t, token(&secret, Purpose::Unsubscribe, &someone(0)));
        assert_ne!(t, token(&secret, Purpose::Calendar, &someone(1)));
        assert_ne!(t, token(&[8u8; 32], Purpose::Calendar, &someone(0)));
        // A staff feed is signed for its own purpose: a participant's token with the same
        // id is not one.
        assert_ne!(t, staff_token(&secret, "p-1", 0));
        assert_ne!(
            staff_token(&secret, "p-1", 0),
            staff_token(&secret, "p-1", 1)
        );
    }
}
