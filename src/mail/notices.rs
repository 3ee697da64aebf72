//! The emails that are not invites: homework (assigned, reminder before the due date,
//! overdue) to participants, and the weekly summary to the consultant and the chargé·e de
//! mission. Session reminders are in `mail::session` (they speak of the session).
//!
//! Pure: rendered from their templates with the data given; nothing is read or sent.

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;

use crate::domain::fr;
use crate::mail::render::{BuildError, Email, Renderer};

/// Which homework email.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HomeworkKind {
    Assigned,
    Reminder,
    Overdue,
}

impl HomeworkKind {
    /// The outbox kind and the template folder.
    pub fn message(self) -> &'static str {
        match self {
            HomeworkKind::Assigned => "homework_assigned",
            HomeworkKind::Reminder => "homework_reminder",
            HomeworkKind::Overdue => "homework_overdue",
        }
    }
}

/// One piece of homework, to one participant of an association that has not returned it.
#[derive(Clone, Debug)]
pub struct HomeworkEmail {
    pub recipient_name: String,
    pub recipient_email: String,
    pub association_name: String,
    pub cohort_name: String,
    pub title: String,
    pub instructions: String,
    pub due: NaiveDate,
    /// The session this work prepares, and when: « État des lieux », « lundi 15 mars… ».
    pub session: Option<(String, String)>,
    pub organizer_name: String,
    pub dla_name: String,
    pub participant_url: String,
}

impl HomeworkEmail {
    pub fn context(&self) -> serde_json::Value {
        json!({
            "recipient_name": self.recipient_name,
            "association_name": self.association_name,
            "cohort_name": self.cohort_name,
            "title": self.title,
            "instructions": self
                .instructions
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>(),
            "due": fr::date_long(self.due),
            "session_title": self.session.as_ref().map(|s| &s.0),
            "session_when": self.session.as_ref().map(|s| &s.1),
            "participant_url": self.participant_url,
            "organizer_name": self.organizer_name,
            "dla_name": self.dla_name,
        })
    }

    pub fn build(&self, renderer: &Renderer, kind: HomeworkKind) -> Result<Email, BuildError> {
        Ok(Email {
            to_name: self.recipient_name.clone(),
            to_address: self.recipient_email.clone(),
            rendered: renderer.render(kind.message(), &self.context())?,
            calendar: None,
        })
    }
}

/// The évaluation of the accompaniment, to one participant of an association: the reminder
/// after its bilan (`evaluation_reminder`) or the follow-up months later
/// (`evaluation_followup`).
#[derive(Clone, Debug)]
pub struct EvaluationEmail {
    pub recipient_name: String,
    pub recipient_email: String,
    pub association_name: String,
    pub cohort_name: String,
    pub organizer_name: String,
    pub dla_name: String,
    pub participant_url: String,
}

impl EvaluationEmail {
    /// `message`: the outbox kind, which is also the template folder.
    pub fn build(&self, renderer: &Renderer, message: &str) -> Result<Email, BuildError> {
        let context = json!({
            "recipient_name": self.recipient_name,
            "association_name": self.association_name,
            "cohort_name": self.cohort_name,
            "participant_url": self.participant_url,
            "organizer_name": self.organizer_name,
            "dla_name": self.dla_name,
        });
        Ok(Email {
            to_name: self.recipient_name.clone(),
            to_address: self.recipient_email.clone(),
            rendered: renderer.render(message, &context)?,
            calendar: None,
        })
    }
}

/// The request to confirm one's commitment to the four sessions (`commitment_request`),
/// to one participant: the sessions with their dates, and the personal link to the
/// portal's confirmation page.
#[derive(Clone, Debug)]
pub struct CommitmentEmail {
    pub recipient_name: String,
    pub recipient_email: String,
    pub association_name: String,
    pub cohort_name: String,
    /// (« Session introductive », « lundi 11 janvier 2027, 9 h 30 – 12 h 30 »), in order.
    pub sessions: Vec<(String, String)>,
    pub confirm_url: String,
    pub organizer_name: String,
    pub dla_name: String,
}

impl CommitmentEmail {
    pub const KIND: &'static str = "commitment_request";

    pub fn build(&self, renderer: &Renderer) -> Result<Email, BuildError> {
        let sessions: Vec<_> = self
            .sessions
            .iter()
            .map(|(title, when)| json!({"title": title, "when": when}))
            .collect();
        let context = json!({
            "recipient_name": self.recipient_name,
            "association_name": self.association_name,
            "cohort_name": self.cohort_name,
            "sessions": sessions,
            "count": self.sessions.len(),
            "confirm_url": self.confirm_url,
            "organizer_name": self.organizer_name,
            "dla_name": self.dla_name,
        });
        Ok(Email {
            to_name: self.recipient_name.clone(),
            to_address: self.recipient_email.clone(),
            rendered: renderer.render(Self::KIND, &context)?,
            calendar: None,
        })
    }
}

/// A line of the weekly summary about a coming session.
#[derive(Clone, Debug, Serialize)]
pub struct SummarySession {
    pub title: String,
    pub when: String,
}

/// Homework not returned by some associations.
#[derive(Clone, Debug, Serialize)]
pub struct SummaryTask {
    pub title: String,
    pub due: String,
    pub overdue: bool,
    pub associations: Vec<String>,
}

/// An email that failed and waits for someone to act.
#[derive(Clone, Debug, Serialize)]
pub struct SummaryFailure {
    pub recipient: String,
    pub subject: String,
    pub error: String,
}

/// The weekly summary of a cohort to one member of its team.
#[derive(Clone, Debug)]
pub struct SummaryEmail {
    pub recipient_name: String,
    pub recipient_email: String,
    pub cohort_name: String,
    /// « semaine du lundi 29 mars 2027 ».
    pub week: String,
    pub sessions: Vec<SummarySession>,
    pub tasks: Vec<SummaryTask>,
    pub failures: Vec<SummaryFailure>,
    pub cohort_url: String,
    pub outbox_url: String,
    pub dla_name: String,
}

impl SummaryEmail {
    pub fn context(&self) -> serde_json::Value {
        json!({
            "recipient_name": self.recipient_name,
            "cohort_name": self.cohort_name,
            "week": self.week,
            "sessions": self.sessions,
            "tasks": self.tasks,
            "failures": self.failures,
            "failure_count": self.failures.len(),
            "cohort_url": self.cohort_url,
            "outbox_url": self.outbox_url,
            "dla_name": self.dla_name,
        })
    }

    pub fn build(&self, renderer: &Renderer) -> Result<Email, BuildError> {
        Ok(Email {
            to_name: self.recipient_name.clone(),
            to_address: self.recipient_email.clone(),
            rendered: renderer.render("weekly_summary", &self.context())?,
            calendar: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn renderer() -> Renderer {
        Renderer::new(&crate::templates::build("").expect("templates"))
    }

    fn homework() -> HomeworkEmail {
        HomeworkEmail {
            recipient_name: "Nadia Benali".into(),
            recipient_email: "nadia@lire-ecrire.fr".into(),
            association_name: "Lire & Écrire".into(),
            cohort_name: "Modèles socio-économiques 2027".into(),
            title: "Remplir l'état des lieux <des trois piliers>".into(),
            instructions: "Ressources humaines\n\nRessources financières".into(),
            due: NaiveDate::from_ymd_opt(2027, 3, 26).unwrap(),
            session: Some(("État des lieux".into(), "lundi 29 mars 2027".into())),
            organizer_name: "Cohorte".into(),
            dla_name: "DLA de la Gironde".into(),
            participant_url: "http://127.0.0.1:8080/espace/p/t".into(),
        }
    }

    #[test]
    fn each_homework_email_names_the_work_and_its_due_date_in_french() {
        let r = renderer();
        for kind in [
            HomeworkKind::Assigned,
            HomeworkKind::Reminder,
            HomeworkKind::Overdue,
        ] {
            let email = homework().build(&r, kind).unwrap();
            let text = &email.rendered.text;
            assert!(text.contains("vendredi 26 mars 2027"), "{kind:?}: {text}");
            assert!(text.contains("Remplir l'état des lieux <des trois piliers>"));
            assert!(text.contains("http://127.0.0.1:8080/espace/p/t"));
            // HTML escaped, text not.
            assert!(
                email
                    .rendered
                    .html
                    .contains("Remplir l&#x27;état des lieux &lt;des trois piliers&gt;")
                    || email
                        .rendered
                        .html
                        .contains("Remplir l'état des lieux &lt;des trois piliers&gt;"),
                "{}",
                email.rendered.html
            );
            assert!(!email.rendered.subject.contains('\n'));
        }
    }

    #[test]
    fn the_summary_lists_sessions_missing_homework_and_failures() {
        let summary = SummaryEmail {
            recipient_name: "Claire Martin".into(),
            recipient_email: "claire@example.org".into(),
            cohort_name: "Cohorte 2027".into(),
            week: "semaine du lundi 29 mars 2027".into(),
            sessions: vec![SummarySession {
                title: "État des lieux".into(),
                when: "lundi 29 mars 2027, 9 h 30 – 16 h 30".into(),
            }],
            tasks: vec![SummaryTask {
                title: "Grille des trois piliers".into(),
                due: "vendredi 26 mars 2027".into(),
                overdue: true,
                associations: vec!["Lire & Écrire".into(), "Sport pour toutes".into()],
            }],
            failures: vec![SummaryFailure {
                recipient: "x@invalid".into(),
                subject: "Convocation".into(),
                error: "550 adresse inconnue".into(),
            }],
            cohort_url: "http://127.0.0.1:8080/cohortes/c".into(),
            outbox_url: "http://127.0.0.1:8080/cohortes/c/envois".into(),
            dla_name: "DLA de la Gironde".into(),
        };
        let email = summary.build(&renderer()).unwrap();
        let text = email.rendered.text;
        for needle in [
            "État des lieux",
            "Grille des trois piliers",
            "Lire & Écrire, Sport pour toutes",
            "x@invalid",
            "550 adresse inconnue",
            "/cohortes/c/envois",
        ] {
            assert!(text.contains(needle), "{needle} missing in:\n{text}");
        }
    }
}
