//! The emails about one session: convocation, session moved or changed, session
//! cancelled, invitation withdrawn. Each is rendered from its templates and carries a
//! calendar invite for the session's event.
//!
//! Pure: the data and the instant (DTSTAMP) come in as arguments; nothing is read or sent.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;

use crate::domain::fr;
use crate::domain::invite::EventState;
use crate::domain::programme::SessionKind;
use crate::mail::ics::{CalendarPerson, Invite, Method, session_uid};
use crate::mail::render::{BuildError, CalendarPart, Email, Renderer};

/// Stands, in a stored email, for the recipient's personal sign-in link
/// (`{public_url}/connexion/lien/{token}`). The dispatcher replaces it with a link created
/// at the moment of sending (`models::outbox::personalise`), so that no usable link ever
/// rests in the database; the outbox preview shows the marker as it is.
pub const SIGN_IN_LINK: &str = "[lien de connexion personnel]";

/// What the emails say about the session (`models::session::Session::facts` builds it).
#[derive(Clone, Debug)]
pub struct SessionFacts {
    pub id: String,
    pub kind: SessionKind,
    /// The association of a bilan individuel.
    pub association_name: Option<String>,
    pub cohort_name: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub location: String,
    pub video_link: String,
    /// One point per line.
    pub agenda: String,
    /// The invite's SEQUENCE. Raise it on every change, cancellation included
    /// (RFC 5546 §2.1.4): the `sessions.sequence` column, or above what the recipient
    /// last received (`domain::invite::next_sequence`).
    pub sequence: u32,
}

impl SessionFacts {
    /// « 1re session collective — État des lieux », « Session de bilan individuel — Les
    /// Jardins partagés ».
    pub fn title(&self) -> String {
        match &self.association_name {
            Some(name) => format!("{} — {name}", self.kind.long_label()),
            None => self.kind.long_label().to_string(),
        }
    }

    /// The invite's SUMMARY: « État des lieux (Modèles socio-économiques 2027) ».
    pub fn summary(&self) -> String {
        format!("{} ({})", self.title(), self.cohort_name)
    }

    /// What a calendar holding this session's invite shows.
    pub fn state(&self) -> EventState {
        EventState::new(
            self.starts_at,
            self.ends_at,
            &self.location,
            &self.video_link,
            &self.summary(),
            &self.agenda_points(),
        )
    }

    fn agenda_points(&self) -> Vec<String> {
        // A lone CR (from a row stored before the input checks) ends a point too.
        crate::domain::text::unify_line_breaks(&self.agenda)
            .lines()
            .map(|l| l.trim().trim_start_matches(['-', '*', '•']).trim())
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// Homework still due from the recipient's association.
#[derive(Clone, Debug)]
pub struct TaskDue {
    pub title: String,
    pub due: NaiveDate,
}

/// A session email to one participant.
#[derive(Clone, Debug)]
pub struct SessionEmail {
    pub session: SessionFacts,
    pub recipient: CalendarPerson,
    pub association_name: String,
    /// The DLA's chargé·e de mission: signs the email, organizes the event.
    pub organizer: CalendarPerson,
    pub dla_name: String,
    /// Homework the association has not returned yet (convocation only).
    pub tasks: Vec<TaskDue>,
    /// The participant's own page; empty for a guest of the session (a bilan's third
    /// party), who has no portal: the emails then speak to a guest.
    pub participant_url: String,
    /// The participant's calendar feed (subscription).
    pub calendar_url: Option<String>,
}

impl SessionEmail {
    /// The convocation: date and time, place, agenda, homework left, invite (REQUEST).
    pub fn convocation(
        &self,
        renderer: &Renderer,
        stamp: DateTime<Utc>,
    ) -> Result<Email, BuildError> {
        self.email(renderer, "convocation", None, Method::Request, stamp)
    }

    /// The session moved from `previous`, nothing else changed: an updated invite
    /// (REQUEST, same UID; the session's SEQUENCE must already be raised).
    pub fn moved(
        &self,
        renderer: &Renderer,
        previous: (DateTime<Utc>, DateTime<Utc>),
        stamp: DateTime<Utc>,
    ) -> Result<Email, BuildError> {
        let mut earlier = self.session.state();
        (earlier.starts_at, earlier.ends_at) = previous;
        self.changed(renderer, &earlier, stamp)
    }

    /// The session changed from `earlier` (what the recipient's calendar holds): an
    /// updated invite (REQUEST, same UID, higher SEQUENCE) with a notice saying what
    /// changed — « Session déplacée » when the time did, « Session modifiée » otherwise.
    pub fn changed(
        &self,
        renderer: &Renderer,
        earlier: &EventState,
        stamp: DateTime<Utc>,
    ) -> Result<Email, BuildError> {
        let changes = earlier.changes(&self.session.state());
        let message = if changes.time {
            "session_moved"
        } else {
            "session_updated"
        };
        let mut context = self.context(Some((earlier.starts_at, earlier.ends_at)));
        context["place_changed"] = json!(changes.place);
        context["previous_location"] = json!(earlier.location);
        context["link_changed"] = json!(changes.link);
        context["previous_video_link"] = json!(earlier.video_link);
        context["title_changed"] = json!(changes.title);
        context["agenda_changed"] = json!(changes.agenda);
        context["changed"] = json!(change_words(changes));
        self.with_invite(renderer, message, &context, Method::Request, stamp)
    }

    /// The recipient is no longer expected at the session (removed, their association
    /// withdrawn, their address changed): METHOD:CANCEL on the same UID, so that the event
    /// leaves their calendar.
    pub fn withdrawn(
        &self,
        renderer: &Renderer,
        stamp: DateTime<Utc>,
    ) -> Result<Email, BuildError> {
        self.email(renderer, "invite_withdrawn", None, Method::Cancel, stamp)
    }

    /// The session is cancelled: METHOD:CANCEL on the same UID.
    pub fn cancelled(
        &self,
        renderer: &Renderer,
        stamp: DateTime<Utc>,
    ) -> Result<Email, BuildError> {
        self.email(renderer, "session_cancelled", None, Method::Cancel, stamp)
    }

    /// A reminder: what the convocation said, without an invite (the event is already in
    /// the calendar). `lead` names the session's day as seen from the day the reminder
    /// leaves (« dans 7 jours », « mardi », « demain »: `domain::schedule::reminder_lead`).
    pub fn reminder(&self, renderer: &Renderer, lead: &str) -> Result<Email, BuildError> {
        let mut context = self.context(None);
        context["lead"] = serde_json::Value::String(lead.to_string());
        // The subject names the date right after the lead: a lead that is the date's own
        // weekday (« mardi ») is not said twice (« Rappel : Évolution, mardi 30 mars 2027 »).
        let date = context["date"].as_str().unwrap_or_default();
        let repeats = date
            .split_once(' ')
            .is_some_and(|(weekday, _)| weekday == lead);
        context["subject_lead"] = serde_json::Value::String(if repeats {
            String::new()
        } else {
            lead.to_string()
        });
        Ok(Email {
            to_name: self.recipient.name.clone(),
            to_address: self.recipient.email.clone(),
            rendered: renderer.render("reminder", &context)?,
            calendar: None,
        })
    }

    /// The template data (also what a preview page would show).
    pub fn context(&self, previous: Option<(DateTime<Utc>, DateTime<Utc>)>) -> serde_json::Value {
        let s = &self.session;
        let guest = self.participant_url.is_empty();
        json!({
            "guest": guest,
            // The bilan's convocation announces the association's évaluation.
            "evaluation": !guest && s.kind == SessionKind::BilanIndividuel,
            "recipient_name": self.recipient.name,
            "association_name": self.association_name,
            "session_title": s.title(),
            "cohort_name": s.cohort_name,
            "date": fr::date_long(crate::domain::calendar::utc_to_paris(s.starts_at).date()),
            "when": fr::time_range(s.starts_at, s.ends_at),
            "previous_when": previous.map(|(a, b)| fr::time_range(a, b)),
            "location": s.location.trim(),
            "video_link": s.video_link.trim(),
            // Only web links become links; anything else is shown as text.
            "video_href": Some(s.video_link.trim())
                .filter(|l| l.starts_with("https://") || l.starts_with("http://")),
            "agenda": s.agenda_points(),
            "tasks": self.tasks.iter().map(|t| json!({
                "title": t.title,
                "due": fr::date_long(t.due),
            })).collect::<Vec<_>>(),
            "participant_url": self.participant_url,
            "calendar_url": self.calendar_url,
            "organizer_name": self.organizer.name,
            "organizer_email": self.organizer.email,
            "dla_name": self.dla_name,
        })
    }

    /// The invite for this session, as sent with the email.
    pub fn invite(&self, method: Method, stamp: DateTime<Utc>) -> Invite {
        let s = &self.session;
        let mut description = format!("{}\n", s.cohort_name);
        let agenda = s.agenda_points();
        if !agenda.is_empty() {
            description.push_str("\nOrdre du jour :\n");
            for point in agenda {
                description.push_str(&format!("- {point}\n"));
            }
        }
        if !s.video_link.trim().is_empty() {
            description.push_str(&format!("\nVisioconférence : {}\n", s.video_link.trim()));
        }
        // A single-use sign-in link has no place in a calendar that keeps it for months:
        // the invite names the portal, where the participant signs in.
        let space = if self.participant_url == SIGN_IN_LINK {
            self.calendar_url
                .as_deref()
                .and_then(|u| u.split_once("/agenda/"))
                .map(|(base, _)| format!("{base}/portail"))
        } else {
            Some(self.participant_url.clone())
        };
        if let Some(space) = space.filter(|s| !s.is_empty()) {
            description.push_str(&format!("\nVotre espace : {space}"));
        }
        Invite {
            uid: session_uid(&s.id),
            sequence: s.sequence,
            method,
            summary: s.summary(),
            description,
            location: if s.location.trim().is_empty() {
                s.video_link.trim().to_string()
            } else {
                s.location.trim().to_string()
            },
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            organizer: self.organizer.clone(),
            attendee: Some(self.recipient.clone()),
            stamp,
        }
    }

    fn email(
        &self,
        renderer: &Renderer,
        message: &str,
        previous: Option<(DateTime<Utc>, DateTime<Utc>)>,
        method: Method,
        stamp: DateTime<Utc>,
    ) -> Result<Email, BuildError> {
        self.with_invite(renderer, message, &self.context(previous), method, stamp)
    }

    fn with_invite(
        &self,
        renderer: &Renderer,
        message: &str,
        context: &serde_json::Value,
        method: Method,
        stamp: DateTime<Utc>,
    ) -> Result<Email, BuildError> {
        let rendered = renderer.render(message, context)?;
        Ok(Email {
            to_name: self.recipient.name.clone(),
            to_address: self.recipient.email.clone(),
            rendered,
            calendar: Some(CalendarPart {
                method,
                ics: self.invite(method, stamp).to_ics(),
            }),
        })
    }
}

/// « le lieu et l'ordre du jour », for the notice's first sentence.
fn change_words(c: crate::domain::invite::Changes) -> String {
    let words: Vec<&str> = [
        (c.time, "l'horaire"),
        (c.place, "le lieu"),
        (c.link, "le lien de visioconférence"),
        (c.title, "l'intitulé"),
        (c.agenda, "l'ordre du jour"),
    ]
    .into_iter()
    .filter_map(|(changed, word)| changed.then_some(word))
    .collect();
    match words.as_slice() {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} et {last}", init.join(", ")),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::TimeZone;
    use mail_parser::{MessageParser, MimeHeaders, PartType};

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    /// The état des lieux of a Bordeaux cohort, to Nadia of « Lire & Écrire ».
    pub(crate) fn sample() -> SessionEmail {
        SessionEmail {
            session: SessionFacts {
                id: "3f2a9c1e-0000-4000-8000-000000000001".into(),
                kind: SessionKind::EtatDesLieux,
                association_name: None,
                cohort_name: "Modèles socio-économiques 2027".into(),
                // 9 h 30 – 16 h 00, Paris winter time.
                starts_at: at(2027, 2, 15, 8, 30),
                ends_at: at(2027, 2, 15, 15, 0),
                location: "Maison des associations, 12 rue des Vignes, 33000 Bordeaux".into(),
                video_link: String::new(),
                agenda: "Tour de table : l'état des lieux de chaque structure\n\
                         Constats et problématiques partagés\n\nDéjeuner\n\
                         Analyse croisée des trois piliers"
                    .into(),
                sequence: 0,
            },
            recipient: CalendarPerson {
                name: "Nadia Benali".into(),
                email: "nadia.benali@lire-ecrire.fr".into(),
            },
            association_name: "Lire & Écrire <Gironde>".into(),
            organizer: CalendarPerson {
                name: "Claire Martin".into(),
                email: "claire.martin@dla33.fr".into(),
            },
            dla_name: "DLA de la Gironde".into(),
            tasks: vec![TaskDue {
                title: "État des lieux des missions et du modèle socio-économique".into(),
                due: NaiveDate::from_ymd_opt(2027, 2, 8).unwrap(),
            }],
            participant_url: "https://cohorte.example.org/p/8f3c2a".into(),
            calendar_url: None,
        }
    }

    fn renderer() -> Renderer {
        Renderer::build("").unwrap()
    }

    pub(crate) fn stamp() -> DateTime<Utc> {
        at(2027, 1, 4, 9, 0)
    }

    #[test]
    fn convocation_text_snapshot() {
        let email = sample().convocation(&renderer(), stamp()).unwrap();
        insta::assert_snapshot!(format!(
            "Subject: {}\n\n{}",
            email.rendered.subject, email.rendered.text
        ));
    }

    #[test]
    fn convocation_html_snapshot() {
        let email = sample().convocation(&renderer(), stamp()).unwrap();
        insta::assert_snapshot!(email.rendered.html);
    }

    #[test]
    fn convocation_says_when_where_what_and_what_is_left_to_prepare() {
        let text = sample()
            .convocation(&renderer(), stamp())
            .unwrap()
            .rendered
            .text;
        for expected in [
            "Bonjour Nadia Benali,",
            "«\u{a0}1re session collective — État des lieux\u{a0}»",
            "lundi 15 février 2027, 9\u{a0}h\u{a0}30 – 16\u{a0}h\u{a0}00",
            "Où : Maison des associations, 12 rue des Vignes, 33000 Bordeaux",
            "- Constats et problématiques partagés\n- Déjeuner\n",
            "Ce qui reste à préparer pour votre association\n- État des lieux des missions \
             et du modèle socio-économique : à rendre au plus tard le lundi 8 février 2027",
            "https://cohorte.example.org/p/8f3c2a",
            "Claire Martin\nDLA de la Gironde",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
        }
        assert!(
            !text.contains("Visioconférence"),
            "no link, no line:\n{text}"
        );
    }

    #[test]
    fn with_nothing_left_to_prepare_the_convocation_says_so() {
        let mut email = sample();
        email.tasks.clear();
        let rendered = email.convocation(&renderer(), stamp()).unwrap().rendered;
        assert!(
            rendered
                .text
                .contains("Aucun travail préparatoire en attente pour cette session.")
        );
        assert!(
            rendered
                .html
                .contains("Aucun travail préparatoire en attente pour cette session.")
        );
    }

    #[test]
    fn text_parts_are_not_escaped_and_html_parts_are() {
        let rendered = sample().convocation(&renderer(), stamp()).unwrap().rendered;
        assert!(
            rendered.text.contains("pour Lire & Écrire <Gironde>,"),
            "{}",
            rendered.text
        );
        assert!(
            rendered.text.contains("l'état des lieux"),
            "{}",
            rendered.text
        );
        assert!(!rendered.text.contains("&amp;") && !rendered.text.contains("&#x27;"));
        assert!(rendered.html.contains("Lire &amp; Écrire &lt;Gironde&gt;"));
        assert!(!rendered.html.contains("<Gironde>"));
    }

    #[test]
    fn a_video_link_is_a_link_only_when_it_is_a_web_address() {
        let mut email = sample();
        email.session.video_link = "https://visio.example.org/dla33-edl".into();
        let rendered = email.convocation(&renderer(), stamp()).unwrap().rendered;
        assert!(
            rendered
                .text
                .contains("Visioconférence : https://visio.example.org/dla33-edl")
        );
        assert!(
            rendered
                .html
                .contains("<a href=\"https://visio.example.org/dla33-edl\">")
        );
        email.session.video_link = "javascript:alert(1)".into();
        let rendered = email.convocation(&renderer(), stamp()).unwrap().rendered;
        assert!(
            !rendered.html.contains("href=\"javascript"),
            "{}",
            rendered.html
        );
    }

    #[test]
    fn a_bilan_names_its_association_in_the_title() {
        let mut email = sample();
        email.session.kind = SessionKind::BilanIndividuel;
        email.session.association_name = Some("Les Jardins partagés".into());
        let rendered = email.convocation(&renderer(), stamp()).unwrap().rendered;
        assert_eq!(
            rendered.subject,
            "Convocation : Session de bilan individuel — Les Jardins partagés, lundi 15 février 2027"
        );
    }

    /// The formatted message, parsed back with a real MIME parser.
    fn formatted(email: &Email) -> Vec<u8> {
        let from = crate::mail::sender(&crate::config::Config::defaults().mail).unwrap();
        email
            .to_message(&from, "<id-1@localhost>")
            .unwrap()
            .formatted()
    }

    #[test]
    fn the_french_subject_is_encoded_and_decodes_back() {
        let email = sample().convocation(&renderer(), stamp()).unwrap();
        let raw = formatted(&email);
        let head =
            String::from_utf8_lossy(&raw[..raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap()])
                .into_owned();
        assert!(head.is_ascii(), "headers are 7-bit (RFC 2047):\n{head}");
        assert!(
            head.contains("Subject: Convocation : 1re session collective =?utf-8?"),
            "{head}"
        );
        let parsed = MessageParser::default().parse(&raw).unwrap();
        assert_eq!(
            parsed.subject(),
            Some("Convocation : 1re session collective — État des lieux, lundi 15 février 2027")
        );
        let to = parsed.to().unwrap().first().unwrap();
        assert_eq!(to.name(), Some("Nadia Benali"));
        assert_eq!(to.address(), Some("nadia.benali@lire-ecrire.fr"));
        assert_eq!(parsed.message_id(), Some("id-1@localhost"));
    }

    #[test]
    fn an_invite_is_an_alternative_inside_mixed_plus_an_ics_attachment() {
        let email = sample().convocation(&renderer(), stamp()).unwrap();
        let raw = formatted(&email);
        let parsed = MessageParser::default().parse(&raw).unwrap();
        let ct = |i: usize| {
            let part = &parsed.parts[i];
            let c = part.content_type().unwrap();
            format!("{}/{}", c.ctype(), c.subtype().unwrap_or(""))
        };
        assert_eq!(ct(0), "multipart/mixed");
        let PartType::Multipart(children) = &parsed.parts[0].body else {
            panic!("mixed has parts")
        };
        assert_eq!(children.len(), 2);
        let alternative = children[0] as usize;
        assert_eq!(ct(alternative), "multipart/alternative");
        let PartType::Multipart(alts) = &parsed.parts[alternative].body else {
            panic!("alternative has parts")
        };
        let kinds: Vec<String> = alts.iter().map(|&i| ct(i as usize)).collect();
        assert_eq!(kinds, ["text/plain", "text/html", "text/calendar"]);
        let calendar = &parsed.parts[alts[2] as usize];
        let c = calendar.content_type().unwrap();
        assert_eq!(c.attribute("method"), Some("REQUEST"));
        assert_eq!(
            c.attribute("charset")
                .map(str::to_ascii_lowercase)
                .as_deref(),
            Some("utf-8")
        );
        let ics = calendar.text_contents().unwrap();
        assert!(ics.contains("METHOD:REQUEST\r\n"), "{ics}");
        assert!(ics.contains("UID:3f2a9c1e-0000-4000-8000-000000000001@cohorte\r\n"));

        let attachment = &parsed.parts[children[1] as usize];
        assert_eq!(ct(children[1] as usize), "application/ics");
        assert_eq!(attachment.attachment_name(), Some("invitation.ics"));
        assert_eq!(String::from_utf8_lossy(attachment.contents()), ics);
    }

    #[test]
    fn without_an_invite_the_message_is_multipart_alternative() {
        let mut email = sample().convocation(&renderer(), stamp()).unwrap();
        email.calendar = None;
        let raw = formatted(&email);
        let parsed = MessageParser::default().parse(&raw).unwrap();
        let c = parsed.parts[0].content_type().unwrap();
        assert_eq!((c.ctype(), c.subtype()), ("multipart", Some("alternative")));
        assert_eq!(
            parsed.body_text(0).unwrap().replace("\r\n", "\n"),
            email.rendered.text
        );
    }

    #[test]
    fn the_moved_notice_gives_both_times_and_updates_the_same_event() {
        let mut email = sample();
        let previous = (email.session.starts_at, email.session.ends_at);
        email.session.starts_at = at(2027, 3, 29, 7, 30); // after the change: UTC+2
        email.session.ends_at = at(2027, 3, 29, 14, 0);
        email.session.sequence = 1;
        let moved = email.moved(&renderer(), previous, stamp()).unwrap();
        assert_eq!(
            moved.rendered.subject,
            "Session déplacée : 1re session collective — État des lieux, désormais lundi 29 mars 2027"
        );
        insta::assert_snapshot!(moved.rendered.text);
        assert!(moved.rendered.text.contains(
            "Nouvel horaire : lundi 29 mars 2027, 9\u{a0}h\u{a0}30 – 16\u{a0}h\u{a0}00\n\
             Ancien horaire : lundi 15 février 2027, 9\u{a0}h\u{a0}30 – 16\u{a0}h\u{a0}00"
        ));
        let calendar = moved.calendar.unwrap();
        assert_eq!(calendar.method, Method::Request);
        assert!(calendar.ics.contains("SEQUENCE:1\r\n"));
        assert!(
            calendar
                .ics
                .contains("UID:3f2a9c1e-0000-4000-8000-000000000001@cohorte\r\n")
        );
        assert!(calendar.ics.contains("DTSTART:20270329T073000Z\r\n"));
    }

    #[test]
    fn the_cancellation_carries_a_cancel_invite() {
        let mut email = sample();
        email.session.sequence = 2;
        let cancelled = email.cancelled(&renderer(), stamp()).unwrap();
        assert_eq!(
            cancelled.rendered.subject,
            "Session annulée : 1re session collective — État des lieux du lundi 15 février 2027"
        );
        insta::assert_snapshot!(cancelled.rendered.text);
        let calendar = cancelled.calendar.unwrap();
        assert_eq!(calendar.method, Method::Cancel);
        assert!(calendar.ics.contains("METHOD:CANCEL\r\n"));
        assert!(calendar.ics.contains("STATUS:CANCELLED\r\n"));
        let raw = formatted(&Email {
            calendar: Some(calendar),
            ..cancelled
        });
        let text = String::from_utf8_lossy(&raw);
        assert!(text.contains("method=CANCEL"), "{text}");
    }

    #[test]
    fn a_new_place_is_a_modified_session_notice_naming_both_places() {
        let mut email = sample();
        let earlier = email.session.state();
        email.session.location = "Salle des fêtes, 3 place du Marché, 33130 Bègles".into();
        email.session.sequence = 1;
        let notice = email.changed(&renderer(), &earlier, stamp()).unwrap();
        assert_eq!(
            notice.rendered.subject,
            "Session modifiée : 1re session collective — État des lieux du lundi 15 février 2027"
        );
        insta::assert_snapshot!(notice.rendered.text);
        assert!(notice.rendered.text.contains(
            "change : le lieu. La date et l'horaire restent les mêmes.\n\n\
             Quand : lundi 15 février 2027, 9\u{a0}h\u{a0}30 – 16\u{a0}h\u{a0}00\n\
             Nouveau lieu : Salle des fêtes, 3 place du Marché, 33130 Bègles\n\
             Ancien lieu : Maison des associations, 12 rue des Vignes, 33000 Bordeaux\n"
        ));
        assert!(!notice.rendered.text.contains("Ordre du jour"));
        assert!(notice.rendered.html.contains("<s>Maison des associations"));
        let calendar = notice.calendar.unwrap();
        assert_eq!(calendar.method, Method::Request);
        assert!(calendar.ics.contains("SEQUENCE:1\r\n"));
        assert!(calendar.ics.contains("LOCATION:Salle des fêtes\\, 3 place"));
    }

    #[test]
    fn a_move_with_a_new_link_and_agenda_says_all_three() {
        let mut email = sample();
        let earlier = email.session.state();
        email.session.starts_at = at(2027, 2, 16, 8, 30);
        email.session.ends_at = at(2027, 2, 16, 15, 0);
        email.session.video_link = "https://visio.example.org/edl".into();
        email.session.agenda = "Accueil\nTour de table".into();
        let text = email
            .changed(&renderer(), &earlier, stamp())
            .unwrap()
            .rendered
            .text;
        assert!(
            text.contains(
                "Ancien horaire : lundi 15 février 2027, 9\u{a0}h\u{a0}30 – 16\u{a0}h\u{a0}00\n\
                 Où : Maison des associations"
            ),
            "{text}"
        );
        assert!(
            text.contains("Visioconférence : https://visio.example.org/edl (nouveau lien)\n"),
            "{text}"
        );
        assert!(
            text.contains("Ordre du jour (mis à jour)\n- Accueil\n- Tour de table\n"),
            "{text}"
        );
    }

    #[test]
    fn the_withdrawal_is_a_cancel_telling_the_person_they_are_no_longer_expected() {
        let mut email = sample();
        email.session.sequence = 3;
        email.participant_url.clear();
        let withdrawn = email.withdrawn(&renderer(), stamp()).unwrap();
        assert_eq!(
            withdrawn.rendered.subject,
            "Session retirée de votre agenda : 1re session collective — État des lieux du lundi 15 février 2027"
        );
        assert!(
            withdrawn.rendered.text.contains(
                "Vous n'êtes plus attendu·e à la session «\u{a0}1re session collective — État \
                 des lieux\u{a0}»"
            ),
            "{}",
            withdrawn.rendered.text
        );
        assert!(
            withdrawn
                .rendered
                .text
                .contains("écrivez à Claire Martin (claire.martin@dla33.fr)")
        );
        let calendar = withdrawn.calendar.unwrap();
        assert_eq!(calendar.method, Method::Cancel);
        assert!(calendar.ics.contains("STATUS:CANCELLED\r\n"));
        assert!(calendar.ics.contains("SEQUENCE:3\r\n"));
    }

    #[test]
    fn changes_are_listed_in_words() {
        use crate::domain::invite::Changes;
        let c = |time, place, link, title, agenda| Changes {
            time,
            place,
            link,
            title,
            agenda,
        };
        assert_eq!(change_words(c(false, true, false, false, false)), "le lieu");
        assert_eq!(
            change_words(c(false, true, true, false, true)),
            "le lieu, le lien de visioconférence et l'ordre du jour"
        );
        assert_eq!(
            change_words(c(false, false, false, true, true)),
            "l'intitulé et l'ordre du jour"
        );
    }

    #[test]
    fn every_session_message_renders_its_html_in_the_layout() {
        let email = sample();
        let r = renderer();
        let previous = (email.session.starts_at, email.session.ends_at);
        let mut elsewhere = email.session.state();
        elsewhere.location = "Ailleurs".into();
        for rendered in [
            email.convocation(&r, stamp()).unwrap().rendered,
            email.moved(&r, previous, stamp()).unwrap().rendered,
            email.changed(&r, &elsewhere, stamp()).unwrap().rendered,
            email.cancelled(&r, stamp()).unwrap().rendered,
            email.withdrawn(&r, stamp()).unwrap().rendered,
        ] {
            assert!(
                rendered.html.starts_with("<!DOCTYPE html>"),
                "{}",
                rendered.html
            );
            assert!(
                rendered
                    .html
                    .contains("Message envoyé par Cohorte pour DLA de la Gironde.")
            );
            assert!(!rendered.subject.contains('\n'));
        }
    }
}
