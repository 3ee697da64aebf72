//! Turns models into what templates show: French dates, labels, select options. Pure
//! functions over loaded rows; no database access here.

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::{Value, json};

use crate::domain::fr;
use crate::domain::programme::SessionKind;
use crate::models::association::Association;
use crate::models::participant::{self, Participant};
use crate::models::programme::{Overview, return_of};
use crate::models::session::Session;
use crate::models::task::{IntersessionTask, TaskReturn};

/// `<option>`s with the current value selected. The option's text is `text`, not
/// `label`: inside the select partial, `label` is the partial's own parameter.
pub fn options(pairs: &[(&str, &str)], selected: &str) -> Value {
    json!(
        pairs
            .iter()
            .map(|(v, l)| json!({"value": v, "text": l, "selected": *v == selected}))
            .collect::<Vec<_>>()
    )
}

pub fn owned_options(pairs: &[(String, String)], selected: &str) -> Value {
    json!(
        pairs
            .iter()
            .map(|(v, l)| json!({"value": v, "text": l, "selected": v == selected}))
            .collect::<Vec<_>>()
    )
}

pub fn kind_options(selected: &str) -> Value {
    let pairs: Vec<(String, String)> = SessionKind::ALL
        .iter()
        .map(|k| (k.as_str().to_string(), k.long_label().to_string()))
        .collect();
    owned_options(&pairs, selected)
}

pub fn utc_long(t: NaiveDateTime) -> String {
    fr::datetime_long(t.and_utc())
}

pub fn session(s: &Session, associations: &[Association], now: NaiveDateTime) -> Value {
    let kind = s.kind();
    json!({
        "id": s.id,
        "kind": s.kind,
        "kind_label": kind.label(),
        "long_label": kind.long_label(),
        "label": s.label(associations),
        "is_bilan": kind == SessionKind::BilanIndividuel,
        "when": fr::time_range(s.starts_at.and_utc(), s.ends_at.and_utc()),
        "date_long": fr::date_long(s.local_start().date()),
        "date_iso": s.local_start().date().format("%Y-%m-%d").to_string(),
        "location": s.location,
        "video_link": s.video_link,
        "agenda": s.agenda,
        "planned": fr::half_days(s.planned_half_days as i64),
        "is_past": s.ends_at < now,
        "version": s.version,
    })
}

/// A homework item as the timeline shows it: what, for when, what it prepares, and how many
/// associations returned it.
pub fn task_summary(
    t: &IntersessionTask,
    sessions: &[Session],
    associations: &[Association],
    returns: &[TaskReturn],
    today: NaiveDate,
) -> Value {
    let prepared = t
        .session_id
        .as_ref()
        .and_then(|sid| sessions.iter().find(|s| &s.id == sid));
    let returned = associations
        .iter()
        .filter(|a| return_of(returns, &t.id, &a.id).is_some())
        .count();
    json!({
        "id": t.id,
        "title": t.title,
        "instructions": t.instructions,
        "due_long": fr::date_long(t.due_date),
        "due_short": fr::date_short(t.due_date),
        // A task before the bilans prepares all of them, not the first one only.
        "prepares": prepared.map(|s| if s.kind() == SessionKind::BilanIndividuel { "Bilans individuels".to_string() } else { s.label(associations) }),
        "preparation": fr::half_days(t.preparation_half_days as i64),
        "returned_count": returned,
        "total": associations.len(),
        "overdue": t.due_date < today && returned < associations.len(),
        "is_past": t.due_date < today,
    })
}

/// [`task_summary`] with each association's return, late or not, and its answer.
pub fn task(
    t: &IntersessionTask,
    sessions: &[Session],
    associations: &[Association],
    returns: &[TaskReturn],
    today: NaiveDate,
) -> Value {
    let per_association: Vec<Value> = associations
        .iter()
        .map(|a| {
            let r = return_of(returns, &t.id, &a.id);
            json!({
                "association_id": a.id,
                "name": a.name,
                "returned": r.is_some(),
                "returned_on": r.and_then(|r| r.returned_on).map(fr::date_short),
                "answer": r.map(|r| r.answer.as_str()).filter(|a| !a.is_empty()),
                "answer_is_link": r.is_some_and(|r| {
                    let a = r.answer.trim();
                    (a.starts_with("https://") || a.starts_with("http://")) && !a.contains(char::is_whitespace)
                }),
                "late": r.is_none() && t.due_date < today,
            })
        })
        .collect();
    let mut v = task_summary(t, sessions, associations, returns, today);
    v["per_association"] = Value::Array(per_association);
    v
}

pub fn participant(p: &Participant) -> Value {
    json!({
        "id": p.id,
        "name": p.name,
        "email": p.email,
        "role": p.role,
        "role_label": participant::role_label(&p.role),
        "function": p.function,
        "commitment": commitment_text(p),
        "commitment_confirmed": p.commitment_confirmed_at.is_some(),
    })
}

/// « Engagement confirmé le lundi 11 janvier 2027 » or « Engagement non confirmé ».
pub fn commitment_text(p: &Participant) -> String {
    match p.commitment_confirmed_at {
        Some(t) => format!(
            "Engagement confirmé le {}",
            fr::date_long(crate::domain::calendar::utc_to_paris(t.and_utc()).date())
        ),
        None => "Engagement non confirmé".to_string(),
    }
}

pub fn association(a: &Association, participants: &[Participant]) -> Value {
    let mine: Vec<Value> = participants
        .iter()
        .filter(|p| p.association_id == a.id)
        .map(participant)
        .collect();
    let mut v = json!({
        "id": a.id,
        "name": a.name,
        "rna": a.rna,
        "siret": a.siret,
        "creation_year": a.creation_year,
        "creation_date": a.creation_date.map(fr::date_long),
        "salaried_staff": a.salaried_staff,
        "sector": a.sector,
        "town": a.town,
        "general_interest": a.general_interest,
        "staff_text": match a.salaried_staff { Some(n) => n.to_string(), None => "non renseigné".to_string() },
        "participant_count": mine.len(),
    });
    // Moved in: `json!` would serialise a copy of the list.
    v["participants"] = Value::Array(mine);
    v
}

/// The cohort page's programme: sessions and tasks in one date-ordered list, with a marker
/// for today. Each item carries only what the page shows, its sentences and classes made
/// here (`class`, `place`, `meta`): every value a template looks up costs more than
/// building the string once (issue #19).
pub fn timeline(o: &Overview, now: NaiveDateTime, today: NaiveDate) -> Vec<Value> {
    let mut items: Vec<(NaiveDateTime, u8, Value)> = Vec::new();
    for s in &o.sessions {
        let place = match (s.location.is_empty(), s.video_link.is_empty()) {
            (false, false) => format!("{} · en visio", s.location),
            (false, true) => s.location.clone(),
            (true, false) => "en visio".to_string(),
            (true, true) => String::new(),
        };
        let past = if s.ends_at < now { " past" } else { "" };
        let v = json!({
            "type_session": true,
            "id": s.id,
            "class": format!("item session kind-{}{past}", s.kind),
            "label": s.label(&o.associations),
            "when": fr::time_range(s.starts_at.and_utc(), s.ends_at.and_utc()),
            "place": place,
            "planned": fr::half_days(s.planned_half_days as i64),
        });
        items.push((s.local_start(), 1, v));
    }
    for t in &o.tasks {
        let returned = returned_count(t, &o.associations, &o.returns);
        let total = o.associations.len();
        let overdue = t.due_date < today && returned < total;
        let mut class = String::from("item task");
        if t.due_date < today {
            class.push_str(" past");
        }
        if overdue {
            class.push_str(" overdue");
        }
        let meta = match prepares(t, &o.sessions, &o.associations) {
            Some(p) => format!("Prépare « {p} » · rendu par {returned} / {total}"),
            None => format!("rendu par {returned} / {total}"),
        };
        let v = json!({
            "type_session": false,
            "type_task": true,
            "id": t.id,
            "class": class,
            "title": t.title,
            "due_long": fr::date_long(t.due_date),
            "meta": meta,
            "overdue": overdue,
        });
        items.push((t.due_date.and_hms_opt(0, 0, 0).expect("midnight"), 0, v));
    }
    items.sort_by_key(|(at, rank, _)| (*at, *rank));
    let local_now = crate::domain::calendar::utc_to_paris(now.and_utc());
    let mut out = Vec::with_capacity(items.len() + 1);
    let mut marked = false;
    for (at, _, v) in items {
        if !marked && at >= local_now {
            out.push(json!({
                "type_session": false,
                "type_task": false,
                "label": format!("Aujourd'hui, {}", fr::date_long(today)),
            }));
            marked = true;
        }
        out.push(v);
    }
    out
}

/// How many of `associations` returned the task `t`.
fn returned_count(
    t: &IntersessionTask,
    associations: &[Association],
    returns: &[TaskReturn],
) -> usize {
    associations
        .iter()
        .filter(|a| return_of(returns, &t.id, &a.id).is_some())
        .count()
}

/// The session a task prepares, as said: a task before the bilans prepares all of them,
/// not the first one only.
fn prepares(
    t: &IntersessionTask,
    sessions: &[Session],
    associations: &[Association],
) -> Option<String> {
    let s = t
        .session_id
        .as_ref()
        .and_then(|sid| sessions.iter().find(|s| &s.id == sid))?;
    Some(if s.kind() == SessionKind::BilanIndividuel {
        "Bilans individuels".to_string()
    } else {
        s.label(associations)
    })
}

/// A task's card on the cohort page: its sentence (`meta`) and each association's return,
/// with the line's class and state said here and the form's addresses made once.
pub fn cohort_task(o: &Overview, t: &IntersessionTask, today: NaiveDate) -> Value {
    let late = t.due_date < today;
    let back = format!("/cohortes/{}#tache-{}", o.cohort.id, t.id);
    let mut returned = 0;
    let per_association: Vec<Value> = o
        .associations
        .iter()
        .map(|a| {
            let r = return_of(&o.returns, &t.id, &a.id);
            let (class, state) = match r {
                Some(r) => {
                    returned += 1;
                    let on = r.returned_on.map(fr::date_short).unwrap_or_default();
                    ("done", format!("Rendu le {on}"))
                }
                None if late => ("late", "En retard".to_string()),
                None => ("", "À faire".to_string()),
            };
            let answer = r.map(|r| r.answer.as_str()).filter(|a| !a.is_empty());
            json!({
                "name": a.name,
                "class": class,
                "state": state,
                "returned": r.is_some(),
                "answer": answer,
                "answer_is_link": answer.is_some_and(|a| {
                    let a = a.trim();
                    (a.starts_with("https://") || a.starts_with("http://")) && !a.contains(char::is_whitespace)
                }),
                "action": format!("/taches/{}/associations/{}", t.id, a.id),
                "back": back,
            })
        })
        .collect();
    let mut meta = format!("À rendre le {}", fr::date_long(t.due_date));
    if let Some(p) = prepares(t, &o.sessions, &o.associations) {
        meta.push_str(&format!(" · prépare « {p} »"));
    }
    meta.push_str(&format!(
        " · préparation estimée : {} · rendu par {returned} / {}",
        fr::half_days(t.preparation_half_days as i64),
        o.associations.len()
    ));
    // The list moved in, not given to `json!`, which would serialise a copy of it.
    let mut v = json!({
        "id": t.id,
        "title": t.title,
        "meta": meta,
    });
    v["per_association"] = Value::Array(per_association);
    v
}

/// An association's row on the cohort page: its people, each with role and commitment said
/// in one sentence (`role`, `commitment`, `commitment_class`).
pub fn cohort_association(a: &Association, participants: &[Participant]) -> Value {
    let people: Vec<Value> = participants
        .iter()
        .filter(|p| p.association_id == a.id)
        .map(|p| {
            let role = participant::role_label(&p.role);
            json!({
                "name": p.name,
                "role": if p.function.is_empty() { role.to_string() } else { format!("{role}, {}", p.function) },
                "commitment": commitment_text(p),
                "commitment_class": if p.commitment_confirmed_at.is_some() { "commitment-ok" } else { "muted" },
            })
        })
        .collect();
    let mut v = json!({
        "id": a.id,
        "name": a.name,
        "sector": a.sector,
        "town": a.town,
        "staff_text": match a.salaried_staff { Some(n) => n.to_string(), None => "non renseigné".to_string() },
    });
    v["participants"] = Value::Array(people);
    v
}

/// The staff banner about emails late or failing (`models::outbox_status::Trouble`): the
/// sentence, and where to see them — the cohort's « Envois » page (its « programmé »
/// emails) when they all belong to one cohort and the person manages its emails
/// (`manages`: administrators and chargé·es de mission), else the cohorts list narrowed
/// to the cohorts concerned (`?envois=en_retard`); no link for emails of no cohort (sign-in
/// links, password resets: administrators only).
pub fn mail_trouble(t: &crate::models::outbox_status::Trouble, manages: bool) -> Value {
    let one = t.emails == 1 && !t.more;
    let count = if one {
        "1 e-mail en retard depuis".to_string()
    } else if t.more {
        // The banner read only the first of them (`outbox_status::BANNER_CAP`).
        format!(
            "Plus de {} e-mails en retard, certains depuis",
            crate::domain::fr::decimal(t.emails as f64, 0)
        )
    } else {
        format!(
            "{} e-mails en retard depuis",
            crate::domain::fr::decimal(t.emails as f64, 0)
        )
    };
    let pronoun = if one { "le" } else { "les" };
    let cause = if t.retrying > 0 {
        format!(
            "le serveur d'envoi {pronoun} refuse pour l'instant ou ne répond pas ; Cohorte \
             réessaie automatiquement."
        )
    } else {
        "aucun envoi n'a été tenté : le programme d'envoi semble arrêté.".to_string()
    };
    let (href, link) = match (&t.cohort_id, t.in_cohorts) {
        (Some(id), _) if manages => (
            Some(format!("/cohortes/{id}/envois?statut=scheduled")),
            "Voir les envois",
        ),
        (_, true) => (
            Some("/cohortes?envois=en_retard".to_string()),
            "Voir les cohortes concernées",
        ),
        _ => (None, ""),
    };
    json!({
        "text": format!("{count} {} : {cause}", utc_long(t.since)),
        "href": href,
        "link": link,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::outbox_status::Trouble;

    fn trouble(emails: i64, retrying: i64, cohort: Option<&str>, in_cohorts: bool) -> Trouble {
        Trouble {
            emails,
            retrying,
            // 8 h 30 UTC in January: 9 h 30 in Paris.
            since: chrono::NaiveDate::from_ymd_opt(2027, 1, 11)
                .unwrap()
                .and_hms_opt(8, 30, 0)
                .unwrap(),
            cohort_id: cohort.map(str::to_string),
            in_cohorts,
            more: false,
        }
    }

    #[test]
    fn the_banner_says_how_many_since_when_and_why() {
        let v = mail_trouble(&trouble(12, 3, None, true), true);
        assert_eq!(
            v["text"],
            "12 e-mails en retard depuis lundi 11 janvier 2027, 9\u{a0}h\u{a0}30 : le serveur \
             d'envoi les refuse pour l'instant ou ne répond pas ; Cohorte réessaie \
             automatiquement."
        );
        let v = mail_trouble(&trouble(1, 0, None, true), true);
        assert_eq!(
            v["text"],
            "1 e-mail en retard depuis lundi 11 janvier 2027, 9\u{a0}h\u{a0}30 : aucun envoi \
             n'a été tenté : le programme d'envoi semble arrêté."
        );
    }

    #[test]
    fn past_a_thousand_the_banner_says_more() {
        let more = Trouble {
            emails: 1_000,
            more: true,
            ..trouble(1_000, 4, None, true)
        };
        assert_eq!(
            mail_trouble(&more, true)["text"],
            "Plus de 1\u{202f}000 e-mails en retard, certains depuis lundi 11 janvier 2027, \
             9\u{a0}h\u{a0}30 : le serveur d'envoi les refuse pour l'instant ou ne répond \
             pas ; Cohorte réessaie automatiquement."
        );
        assert_eq!(
            mail_trouble(&more, true)["href"],
            "/cohortes?envois=en_retard"
        );
    }

    #[test]
    fn the_banner_links_to_the_cohorts_envois_page_or_to_the_cohorts_concerned() {
        let one = mail_trouble(&trouble(2, 2, Some("c1"), true), true);
        assert_eq!(one["href"], "/cohortes/c1/envois?statut=scheduled");
        assert_eq!(one["link"], "Voir les envois");
        // A consultant·e does not manage the emails: the cohorts list, which they see.
        let consultant = mail_trouble(&trouble(2, 2, Some("c1"), true), false);
        assert_eq!(consultant["href"], "/cohortes?envois=en_retard");
        let several = mail_trouble(&trouble(5, 0, None, true), true);
        assert_eq!(several["href"], "/cohortes?envois=en_retard");
        assert_eq!(several["link"], "Voir les cohortes concernées");
        // Only account emails (no cohort): nothing to link to.
        let accounts = mail_trouble(&trouble(1, 1, None, false), true);
        assert!(accounts["href"].is_null());
    }
}
