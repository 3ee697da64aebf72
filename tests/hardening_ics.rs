//! iCalendar injection (issue #16, point 1), end to end: line breaks are refused in names
//! and stored as LF in texts, through the API and the forms; and the calendar files the app
//! produces (a convocation's invite, the participant's feed) stay well-formed, read back by
//! a real iCalendar parser (icalendar's), even from rows stored before those checks.

mod common;

use diesel::prelude::*;
use serde_json::{Value, json};

use cohorte::db::schema::{cohorts, participants, sessions};
use cohorte::models::input::LINE_BREAK_REFUSED;
use cohorte::models::outbox;
use common::{TestApp, around_field, spawn};

/// A property read back: name, value (unescaped), parameters as `KEY=value`.
type Prop = (String, String, Vec<String>);

/// The properties of the calendar, and those of each VEVENT; every component is a VEVENT
/// without sub-components. Also checks the lines: CRLF ends, no bare CR or LF, 75 octets.
fn parse(ics: &str) -> (Vec<String>, Vec<Vec<Prop>>) {
    assert!(ics.ends_with("END:VCALENDAR\r\n"), "{ics:?}");
    let bare = ics.replace("\r\n", "");
    assert!(!bare.contains('\r') && !bare.contains('\n'), "{ics:?}");
    for line in ics.split("\r\n") {
        assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
    }
    let unfolded = icalendar::parser::unfold(ics);
    let calendar = icalendar::parser::read_calendar(&unfolded).expect("valid iCalendar");
    let props = calendar
        .properties
        .iter()
        .map(|p| p.name.to_string())
        .collect();
    let events = calendar
        .components
        .iter()
        .map(|c| {
            assert_eq!(c.name, "VEVENT");
            assert!(c.components.is_empty());
            c.properties
                .iter()
                .map(|p| {
                    let params = p
                        .params
                        .iter()
                        .map(|x| {
                            let v = x.val.as_ref().map(|v| v.to_string()).unwrap_or_default();
                            format!("{}={v}", x.key)
                        })
                        .collect();
                    (p.name.to_string(), p.val.to_string(), params)
                })
                .collect()
        })
        .collect();
    (props, events)
}

/// Each event has the properties of a session's invite, and no other.
fn assert_only_event_properties(events: &[Vec<Prop>]) {
    assert_only_properties(events, true)
}

/// The same for the calendar feed's events, which invite nobody: no ATTENDEE.
fn assert_only_feed_properties(events: &[Vec<Prop>]) {
    assert_only_properties(events, false)
}

fn assert_only_properties(events: &[Vec<Prop>], attendee: bool) {
    const REQUIRED: [&str; 11] = [
        "UID",
        "SEQUENCE",
        "DTSTAMP",
        "SUMMARY",
        "DESCRIPTION",
        "STATUS",
        "DTSTART",
        "DTEND",
        "TRANSP",
        "ORGANIZER",
        "ATTENDEE",
    ];
    for event in events {
        let mut names: Vec<&str> = event.iter().map(|p| p.0.as_str()).collect();
        names.sort();
        let mut expected: Vec<&str> = REQUIRED.to_vec();
        if !attendee {
            expected.retain(|p| *p != "ATTENDEE");
        }
        if names.contains(&"LOCATION") {
            expected.push("LOCATION");
        }
        expected.sort();
        assert_eq!(names, expected, "exactly a session's properties");
    }
}

fn value<'a>(event: &'a [Prop], name: &str) -> &'a str {
    &event.iter().find(|p| p.0 == name).expect(name).1
}

fn param<'a>(event: &'a [Prop], name: &str, key: &str) -> &'a str {
    event
        .iter()
        .find(|p| p.0 == name)
        .expect(name)
        .2
        .iter()
        .find_map(|p| p.strip_prefix(key)?.strip_prefix('='))
        .expect(key)
}

fn uid_of(event: &[Prop]) -> &str {
    value(event, "UID").strip_suffix("@cohorte").unwrap()
}

/// The association's first participant, as the API gives it.
async fn first_participant(app: &TestApp, association: &str) -> Value {
    app.get(&format!("/api/v1/associations/{association}/participants"))
        .await
        .expect(200)
        .json()[0]
        .clone()
}

/// The PUT body for a participant: everything the GET gave (with its `version` when the
/// API has one), `name` changed.
fn participant_with_name(p: &Value, name: &str) -> Value {
    let mut body = p.clone();
    body["name"] = json!(name);
    body
}

/// The PUT body for a session: every editable field as the GET gave it, with its version.
fn session_with_agenda(s: &Value, agenda: &str) -> Value {
    let half_days = s["planned_half_days"].as_i64().unwrap();
    let planned_days = if half_days % 2 == 0 {
        (half_days / 2).to_string()
    } else {
        format!("{},5", half_days / 2)
    };
    json!({
        "kind": s["kind"],
        "association_id": s["association_id"],
        "location": s["location"],
        "video_link": s["video_link"],
        "agenda": agenda,
        "planned_days": planned_days,
        "version": s["version"],
    })
}

#[actix_web::test]
async fn a_participant_name_with_a_line_break_is_refused_by_the_api_beside_the_name() {
    let app = spawn().await;
    let (_, associations) = app.cohort_with(1).await;
    let p = first_participant(&app, &associations[0]).await;
    let id = p["id"].as_str().unwrap();
    for name in [
        "Evil\r\nX-Injected: 1",
        "Evil\rX-Injected: 1",
        "Evil\nX-Injected: 1",
    ] {
        let res = app
            .put_json(
                &format!("/api/v1/participants/{id}"),
                participant_with_name(&p, name),
            )
            .await
            .expect(422);
        let error = res.api_error("validation_failed");
        assert_eq!(error["fields"]["name"], LINE_BREAK_REFUSED, "{name:?}");
        assert!(LINE_BREAK_REFUSED.contains("une seule ligne"));
    }
    let res = app
        .put_json(
            &format!("/api/v1/participants/{id}"),
            participant_with_name(&p, "Evil\u{1b}[2J"),
        )
        .await
        .expect(422);
    assert!(
        res.api_error("validation_failed")["fields"]["name"]
            .as_str()
            .unwrap()
            .contains("caractère de contrôle")
    );
    assert_eq!(
        first_participant(&app, &associations[0]).await["name"],
        "Nadia Benali",
        "nothing stored"
    );
}

#[actix_web::test]
async fn a_session_agenda_sent_with_crlf_and_a_lone_cr_is_stored_with_lf_only() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(1).await;
    app.generate(&cohort).await;
    let s = app
        .get(&format!("/api/v1/cohorts/{cohort}/sessions"))
        .await
        .expect(200)
        .json()[0]
        .clone();
    let id = s["id"].as_str().unwrap();
    let updated = app
        .put_json(
            &format!("/api/v1/sessions/{id}"),
            session_with_agenda(
                &s,
                "Tour de table\r\nConstats partagés\rAnalyse croisée\r\n",
            ),
        )
        .await
        .expect(200)
        .json();
    let expected = "Tour de table\nConstats partagés\nAnalyse croisée";
    assert_eq!(updated["agenda"], expected);
    assert_eq!(
        app.get(&format!("/api/v1/sessions/{id}"))
            .await
            .expect(200)
            .json()["agenda"],
        expected
    );
    assert_eq!(updated["planned_half_days"], s["planned_half_days"]);
}

#[actix_web::test]
async fn invites_and_the_calendar_feed_parse_into_the_expected_events_whatever_is_stored() {
    let app = spawn().await;
    let (cohort, associations) = app.cohort_with(1).await;
    app.generate(&cohort).await;
    let p = first_participant(&app, &associations[0]).await;
    let pid = p["id"].as_str().unwrap().to_string();
    // A double quote is fine in a name; it cannot end the CN parameter.
    app.put_json(
        &format!("/api/v1/participants/{pid}"),
        participant_with_name(&p, "Nadia \"Nad\" Benali; trésorière"),
    )
    .await
    .expect(200);
    let list = app
        .get(&format!("/api/v1/cohorts/{cohort}/sessions"))
        .await
        .expect(200)
        .json();
    let (edited, legacy) = (&list[0], &list[1]);
    let edited_id = edited["id"].as_str().unwrap().to_string();
    let legacy_id = legacy["id"].as_str().unwrap().to_string();
    // Through the API, the lone CR becomes LF.
    app.put_json(
        &format!("/api/v1/sessions/{edited_id}"),
        session_with_agenda(edited, "Tour de table\rConstats partagés"),
    )
    .await
    .expect(200);
    // Rows stored before the checks: a lone CR in a text, CR LF in a place and in the
    // officer's name (the invites' organizer).
    {
        let mut conn = app.pool.get().unwrap();
        diesel::update(sessions::table.find(&legacy_id))
            .set((
                sessions::agenda.eq("Un\rX-Injected: 1\r\nDeux"),
                sessions::location.eq("Salle 1\r\nX-Injected: 2"),
            ))
            .execute(&mut conn)
            .unwrap();
        diesel::update(cohorts::table.find(&cohort))
            .set((
                cohorts::officer_name.eq("Claire\r\nX-Injected: 3"),
                cohorts::officer_email.eq("claire@dla33.fr"),
            ))
            .execute(&mut conn)
            .unwrap();
    }
    app.post_json(&format!("/api/v1/cohorts/{cohort}/publish"), json!({}))
        .await
        .expect(200);

    // The convocations' invites, as the outbox will send them.
    let rows = outbox::list_for_cohort(&mut app.pool.get().unwrap(), &cohort).unwrap();
    let mine: Vec<_> = rows
        .iter()
        .filter(|r| r.kind == "convocation" && r.participant_id.as_deref() == Some(&pid))
        .collect();
    assert!(mine.len() >= 2, "convoked to both sessions");
    for row in &mine {
        let ics = row.ics.as_deref().expect("an invite");
        let (props, events) = parse(ics);
        assert_eq!(props, ["PRODID", "VERSION", "CALSCALE", "METHOD"]);
        assert_eq!(events.len(), 1, "one event per invite");
        assert_only_event_properties(&events);
        let event = &events[0];
        assert_eq!(
            param(event, "ATTENDEE", "CN"),
            "Nadia 'Nad' Benali; trésorière"
        );
        assert_eq!(param(event, "ORGANIZER", "CN"), "Claire X-Injected: 3");
        // « Accepter » reaches the chargé·e de mission, not the sending address.
        assert_eq!(value(event, "ORGANIZER"), "mailto:claire@dla33.fr");
        let description = value(event, "DESCRIPTION");
        if uid_of(event) == edited_id {
            assert!(
                description.contains("- Tour de table\n- Constats partagés\n"),
                "{description:?}"
            );
        }
        if uid_of(event) == legacy_id {
            assert!(
                description.contains("- Un\n- X-Injected: 1\n- Deux\n"),
                "{description:?}"
            );
            assert_eq!(value(event, "LOCATION"), "Salle 1\nX-Injected: 2");
        }
    }
    assert!(
        mine.iter()
            .any(|r| r.ics.as_deref().unwrap().contains(&legacy_id)),
        "the legacy session's invite was read"
    );

    // The participant's feed, after their name too was stored with CR LF.
    diesel::update(participants::table.find(&pid))
        .set(participants::name.eq("Evil\r\nX-Injected: 4\rEND:VEVENT"))
        .execute(&mut app.pool.get().unwrap())
        .unwrap();
    let url = {
        let mut conn = app.pool.get().unwrap();
        let secret = cohorte::models::feed::secret(&mut conn).unwrap();
        let p = cohorte::models::participant::get(&mut conn, &pid).unwrap();
        cohorte::models::feed::calendar_url(&app.config.server.public_url, &secret, &p)
    };
    let path = url.split_once("8080").unwrap().1.to_string();
    let feed = app
        .send_raw(actix_web::test::TestRequest::get().uri(&path))
        .await
        .expect(200);
    assert!(feed.content_type().starts_with("text/calendar"));
    let (props, events) = parse(&feed.text());
    assert!(props.iter().all(|p| !p.contains("INJECTED")), "{props:?}");
    assert_eq!(
        events.len(),
        list.as_array().unwrap().len(),
        "one per session"
    );
    assert_only_feed_properties(&events);
    assert!(
        !feed.text().contains("Evil"),
        "the feed names no attendee, whatever their stored name"
    );
    for event in &events {
        // Named as in the invites: the cohort's chargé·e de mission.
        assert_eq!(param(event, "ORGANIZER", "CN"), "Claire X-Injected: 3");
        assert_eq!(value(event, "ORGANIZER"), "mailto:claire@dla33.fr");
        if uid_of(event) == edited_id {
            assert_eq!(
                value(event, "DESCRIPTION"),
                "Tour de table\nConstats partagés"
            );
        }
        if uid_of(event) == legacy_id {
            assert_eq!(
                value(event, "DESCRIPTION"),
                "Un\nX-Injected: 1\nDeux",
                "the lone CR is a line break, escaped"
            );
            assert_eq!(value(event, "LOCATION"), "Salle 1\nX-Injected: 2");
        }
    }
    assert!(
        events.iter().any(|e| uid_of(e) == legacy_id)
            && events.iter().any(|e| uid_of(e) == edited_id)
    );
}

#[actix_web::test]
async fn a_line_break_in_the_association_name_is_shown_again_beside_the_field() {
    let app = spawn().await;
    let (_, associations) = app.cohort_with(1).await;
    let id = &associations[0];
    let a = app
        .get(&format!("/api/v1/associations/{id}"))
        .await
        .expect(200)
        .json();
    let version = a["version"].to_string();
    // As a browser sends it: `name=Les+Amis%0D%0AX-Injected%3A+1&…`.
    let page = app
        .post_form(
            &format!("/associations/{id}/modifier"),
            &[
                ("name", "Les Amis\r\nX-Injected: 1"),
                ("rna", ""),
                ("siret", ""),
                ("creation_year", "2010"),
                ("salaried_staff", "5"),
                ("sector", "Culture"),
                ("town", "Bordeaux"),
                ("general_interest", "on"),
                ("version", &version),
            ],
        )
        .await
        .expect(422)
        .text();
    let field = around_field(&page, "name");
    assert!(
        field.contains("Ce champ tient sur une seule ligne : retirez les retours à la ligne."),
        "{field}"
    );
    assert!(
        field.contains("Les Amis\r\nX-Injected: 1"),
        "kept as typed: {field:?}"
    );
    assert!(around_field(&page, "town").contains("Bordeaux"));
    assert_eq!(
        app.get(&format!("/api/v1/associations/{id}"))
            .await
            .expect(200)
            .json()["name"],
        "Association n° 1"
    );
}

#[actix_web::test]
async fn a_multi_line_agenda_is_shown_in_its_textarea_exactly_as_stored() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(1).await;
    app.generate(&cohort).await;
    let s = app
        .get(&format!("/api/v1/cohorts/{cohort}/sessions"))
        .await
        .expect(200)
        .json()[0]
        .clone();
    let id = s["id"].as_str().unwrap();
    app.put_json(
        &format!("/api/v1/sessions/{id}"),
        session_with_agenda(&s, "Tour de table\nConstats partagés\nAnalyse croisée"),
    )
    .await
    .expect(200);
    let page = app
        .get(&format!("/seances/{id}/modifier"))
        .await
        .expect(200)
        .text();
    assert!(
        page.contains(">Tour de table\nConstats partagés\nAnalyse croisée</textarea>"),
        "{}",
        around_field(&page, "agenda")
    );
}
