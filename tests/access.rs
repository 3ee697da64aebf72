//! Access control, sign-in, sessions and CSRF.
//!
//! The matrix test enumerates every route registered in `src/web/pages` and `src/web/api`
//! (read from the source, so a new route shows up by itself) and tries it as eight actors:
//! administrator, chargé·e de mission of the cohort's DLA, of another DLA, the assigned
//! consultant·e, another consultant·e, a participant of association X, one of association
//! Y in the same cohort, and nobody. The expected access of every route is written below;
//! a route missing from that table fails the test.

mod common;

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::test::TestRequest;
use serde_json::json;

use cohorte::models::account::{self, NewUser, Principal};
use cohorte::web::actor::csrf_for;
use common::{Response, TestApp};

// --- The routes, read from the source -----------------------------------------------------

fn registered_routes() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (dir, prefix) in [("src/web/pages", ""), ("src/web/api", "/api/v1")] {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .expect("source folder")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "rs"))
            .collect();
        files.sort();
        for file in files {
            let src = std::fs::read_to_string(&file).expect("source");
            let compact: String = src.split_whitespace().collect::<Vec<_>>().join("");
            let mut rest = compact.as_str();
            while let Some(i) = rest.find(".route(\"") {
                rest = &rest[i + 8..];
                let end = rest.find('"').expect("end of path");
                let path = &rest[..end];
                let after = &rest[end..];
                let method = after
                    .strip_prefix("\",web::")
                    .and_then(|m| m.split('(').next())
                    .expect("web::METHOD()");
                out.push((method.to_uppercase(), format!("{prefix}{path}")));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Who may use each route: P public, S any staff, O administrators and chargé·es de
/// mission, A administrators, V the cohort's people (its DLA, its consultant·e,
/// administrators), M the cohort's DLA and administrators (for a consultant record: the
/// DLA it belongs to, here the cohort's), T a signed-in participant.
fn expected() -> BTreeMap<&'static str, char> {
    let table = "
        P GET /
        P GET /static/{file}
        P GET /healthz
        P GET /connexion
        P POST /connexion
        P POST /deconnexion
        P GET /mot-de-passe-oublie
        P POST /mot-de-passe-oublie
        P GET /mot-de-passe/{token}
        P POST /mot-de-passe/{token}
        P GET /premier-administrateur/{token}
        P POST /premier-administrateur/{token}
        P GET /connexion/lien/{token}
        P POST /connexion/lien/{token}
        P GET /connexion/participant
        P POST /connexion/participant
        P GET /desabonnement/{participant}/{token}
        P POST /desabonnement/{participant}/{token}
        P GET /agenda/{participant}/{token}
        P GET /espace/{participant}/{token}
        P GET /espace/{participant}/{token}/modele/{stage}
        P POST /espace/{participant}/{token}/modele/{stage}
        P GET /candidature/{token}
        P POST /candidature/{token}
        P GET /candidature/modifier/{secret}
        P POST /candidature/modifier/{secret}
        P POST /candidature/modifier/{secret}/retirer
        T GET /portail
        T POST /portail/taches/{id}
        T GET /portail/preferences
        T POST /portail/preferences
        T GET /portail/engagement
        T POST /portail/engagement
        T GET /portail/modele/{stage}
        T POST /portail/modele/{stage}
        T GET /portail/evaluation
        T POST /portail/evaluation
        T GET /portail/suivi
        T POST /portail/suivi
        S GET /compte
        S POST /compte/mot-de-passe
        S POST /compte/jetons
        S GET /compte/jetons/{id}/revoquer
        S POST /compte/jetons/{id}/revoquer
        S GET /api/v1/me
        A GET /utilisateurs
        A POST /utilisateurs
        A GET /utilisateurs/nouveau
        A GET /utilisateurs/{id}/modifier
        A POST /utilisateurs/{id}/modifier
        A POST /utilisateurs/{id}/lien
        A POST /demo
        A POST /dla
        A POST /api/v1/dlas
        O GET /dla
        O GET /api/v1/dlas
        M GET /dla/{id}
        M GET /api/v1/dlas/{id}
        M GET /dla/{id}/modifier
        M POST /dla/{id}/modifier
        M PUT /api/v1/dlas/{id}
        M GET /dla/{id}/modifications
        M GET /dla/{id}/calendrier
        M GET /dla/{id}/lieux
        M POST /dla/{id}/lieux
        M GET /dla/{id}/lieux/{place}/modifier
        M POST /dla/{id}/lieux/{place}/modifier
        M POST /dla/{id}/lieux/{place}/archiver
        P GET /agenda-equipe/{user}/{token}
        S POST /compte/agenda/renouveler
        M GET /dla/{id}/rapport
        M GET /dla/{id}/rapport.csv
        M GET /api/v1/dlas/{id}/report
        A GET /rapport
        A GET /rapport.csv
        A GET /api/v1/report
        S GET /associations
        S GET /api/v1/associations
        O GET /consultants
        O POST /consultants
        O GET /api/v1/consultants
        O POST /api/v1/consultants
        M GET /consultants/{id}/modifier
        M POST /consultants/{id}/modifier
        M PUT /api/v1/consultants/{id}
        S GET /cohortes
        S GET /api/v1/cohorts
        S GET /api/v1/openapi.json
        A GET /api/v1/outbox/status
        O GET /cohortes/nouvelle
        O POST /cohortes
        O POST /api/v1/cohorts
        V GET /cohortes/{id}
        V GET /cohortes/{id}/tableau-de-bord
        V GET /cohortes/{id}/budget
        V GET /cohortes/{id}/temps.csv
        V GET /cohortes/{id}/presences.csv
        V GET /cohortes/{id}/miroir
        V GET /cohortes/{id}/modeles.csv
        V GET /cohortes/{id}/evaluations
        V GET /cohortes/{id}/evaluations.csv
        V GET /api/v1/cohorts/{id}/evaluations
        V GET /api/v1/cohorts/{id}
        V GET /api/v1/cohorts/{id}/warnings
        V GET /api/v1/cohorts/{id}/programme-template
        V GET /api/v1/cohorts/{id}/associations
        V GET /api/v1/cohorts/{id}/budget
        V GET /api/v1/cohorts/{id}/time-entries
        V GET /api/v1/cohorts/{id}/sessions
        V GET /api/v1/cohorts/{id}/tasks
        V POST /cohortes/{id}/temps
        V POST /api/v1/cohorts/{id}/time-entries
        M GET /cohortes/{id}/modifier
        M POST /cohortes/{id}/modifier
        M POST /cohortes/{id}/programme
        M GET /cohortes/{id}/modele
        M POST /cohortes/{id}/modele
        M GET /cohortes/{id}/associations/nouvelle
        M POST /cohortes/{id}/associations
        M GET /cohortes/{id}/import
        M POST /cohortes/{id}/import
        M GET /cohortes/{id}/import/modele.csv
        M POST /cohortes/{id}/import/apercu
        M POST /api/v1/cohorts/{id}/import
        M POST /cohortes/{id}/budget/contrat
        M POST /cohortes/{id}/budget/financeurs
        M GET /cohortes/{id}/miroir/consentements
        M GET /cohortes/{id}/envois
        M GET /cohortes/{id}/publier
        M POST /cohortes/{id}/publier
        M GET /cohortes/{id}/envois/reglages
        M POST /cohortes/{id}/envois/reglages
        M POST /cohortes/{id}/envois/valider
        M GET /cohortes/{id}/seances/nouvelle
        M POST /cohortes/{id}/seances
        M GET /cohortes/{id}/taches/nouvelle
        M POST /cohortes/{id}/taches
        M GET /cohortes/{id}/modifications
        M GET /cohortes/{id}/appel
        M POST /cohortes/{id}/appel
        M POST /cohortes/{id}/appel/lien
        M GET /api/v1/cohorts/{id}/call
        M PUT /api/v1/cohorts/{id}/call
        M DELETE /api/v1/cohorts/{id}/call
        M POST /api/v1/cohorts/{id}/call/link
        M PUT /api/v1/cohorts/{id}
        M POST /api/v1/cohorts/{id}/programme
        M PUT /api/v1/cohorts/{id}/programme-template
        M DELETE /api/v1/cohorts/{id}/programme-template
        M POST /api/v1/cohorts/{id}/associations
        M PUT /api/v1/cohorts/{id}/budget
        M POST /api/v1/cohorts/{id}/publish
        M GET /api/v1/cohorts/{id}/mail-settings
        M PUT /api/v1/cohorts/{id}/mail-settings
        M GET /api/v1/cohorts/{id}/outbox
        M GET /api/v1/cohorts/{id}/outbox/{email_id}
        M POST /api/v1/cohorts/{id}/sessions
        M POST /api/v1/cohorts/{id}/tasks
        M GET /api/v1/cohorts/{id}/audit
        M GET /cohortes/{id}/candidatures
        M POST /cohortes/{id}/candidatures/inscrire
        M GET /cohortes/{id}/candidatures/courriers
        M POST /cohortes/{id}/candidatures/courriers/{status}
        M GET /api/v1/cohorts/{id}/applications
        M GET /candidatures/{id}
        M POST /candidatures/{id}/decision
        M POST /candidatures/{id}/inscrire
        M GET /api/v1/applications/{id}
        M POST /api/v1/applications/{id}/decision
        M POST /api/v1/applications/{id}/enrol
        V GET /associations/{id}
        V GET /associations/{id}/compte-rendu
        V GET /associations/{id}/bilan-modele
        V GET /associations/{id}/modele
        V GET /associations/{id}/modele.csv
        V GET /associations/{id}/modele/imprimer
        V GET /api/v1/associations/{id}
        V GET /api/v1/associations/{id}/participants
        V GET /api/v1/associations/{id}/action-leads
        V GET /api/v1/associations/{id}/profile/{stage}
        V POST /associations/{id}/compte-rendu/envoyer
        V GET /associations/{id}/modele/{stage}
        V POST /associations/{id}/modele/{stage}
        V POST /api/v1/associations/{id}/action-leads
        V PUT /api/v1/associations/{id}/profile/{stage}
        M GET /associations/{id}/modifier
        M POST /associations/{id}/modifier
        M GET /associations/{id}/retirer
        M POST /associations/{id}/retirer
        M GET /associations/{id}/participants/nouveau
        M POST /associations/{id}/participants
        M POST /associations/{id}/miroir
        M GET /associations/{id}/anonymiser
        M POST /associations/{id}/anonymiser
        M PUT /api/v1/associations/{id}
        M DELETE /api/v1/associations/{id}
        M POST /api/v1/associations/{id}/participants
        M POST /api/v1/associations/{id}/anonymise
        M GET /participants/{id}/modifier
        M POST /participants/{id}/modifier
        M GET /participants/{id}/retirer
        M POST /participants/{id}/retirer
        M GET /participants/{id}/renouveler-liens
        M POST /participants/{id}/renouveler-liens
        M GET /participants/{id}/export.json
        M GET /participants/{id}/anonymiser
        M POST /participants/{id}/anonymiser
        M PUT /api/v1/participants/{id}
        M DELETE /api/v1/participants/{id}
        M GET /api/v1/participants/{id}/export
        M POST /api/v1/participants/{id}/anonymise
        V GET /seances/{id}
        V GET /seances/{id}/journal
        V GET /seances/{id}/emargement
        V GET /api/v1/sessions/{id}
        V GET /api/v1/sessions/{id}/log
        V GET /api/v1/sessions/{id}/guests
        V POST /seances/{id}/journal
        V POST /seances/{id}/pistes
        V PUT /api/v1/sessions/{id}/log
        M GET /seances/{id}/modifier
        M POST /seances/{id}/modifier
        M GET /seances/{id}/deplacer
        M POST /seances/{id}/deplacer
        M GET /seances/{id}/supprimer
        M POST /seances/{id}/supprimer
        M PUT /api/v1/sessions/{id}
        M DELETE /api/v1/sessions/{id}
        M POST /api/v1/sessions/{id}/move
        M POST /seances/{id}/invites
        M GET /seances/{id}/invites/{guest}/retirer
        M POST /seances/{id}/invites/{guest}/retirer
        M POST /api/v1/sessions/{id}/guests
        M DELETE /api/v1/sessions/{id}/guests/{guest}
        V GET /pistes/{id}/modifier
        V POST /pistes/{id}/modifier
        V GET /pistes/{id}/supprimer
        V POST /pistes/{id}/supprimer
        V PUT /api/v1/action-leads/{id}
        V DELETE /api/v1/action-leads/{id}
        V POST /taches/{id}/associations/{aid}
        V PUT /api/v1/tasks/{id}/associations/{association_id}
        M GET /taches/{id}/modifier
        M POST /taches/{id}/modifier
        M GET /taches/{id}/supprimer
        M POST /taches/{id}/supprimer
        M PUT /api/v1/tasks/{id}
        M DELETE /api/v1/tasks/{id}
        V GET /temps/{id}/modifier
        V POST /temps/{id}/modifier
        V GET /temps/{id}/supprimer
        V POST /temps/{id}/supprimer
        V PUT /api/v1/time-entries/{id}
        V DELETE /api/v1/time-entries/{id}
        M GET /envois/{id}
        M POST /envois/{id}/valider
        M POST /envois/{id}/retenir
        M GET /envois/{id}/annuler
        M POST /envois/{id}/annuler
        M POST /envois/{id}/renvoyer
    ";
    let mut map = BTreeMap::new();
    for line in table.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let class = line.chars().next().expect("class");
        let key = &line[2..];
        assert!(map.insert(key, class).is_none(), "listed twice: {key}");
    }
    map
}

// --- The actors ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Admin,
    OfficerA,
    OfficerB,
    ConsultantA,
    ConsultantB,
    ParticipantX,
    ParticipantY,
    Anonymous,
}

const EVERYONE: [Who; 8] = [
    Who::Admin,
    Who::OfficerA,
    Who::OfficerB,
    Who::ConsultantA,
    Who::ConsultantB,
    Who::ParticipantX,
    Who::ParticipantY,
    Who::Anonymous,
];

fn allowed(class: char, who: Who) -> bool {
    use Who::*;
    match class {
        'P' => true,
        'S' => matches!(who, Admin | OfficerA | OfficerB | ConsultantA | ConsultantB),
        'O' => matches!(who, Admin | OfficerA | OfficerB),
        'A' => who == Admin,
        'V' => matches!(who, Admin | OfficerA | ConsultantA),
        'M' => matches!(who, Admin | OfficerA),
        'T' => matches!(who, ParticipantX | ParticipantY),
        other => panic!("unknown class {other}"),
    }
}

/// A session cookie and an API token per staff actor, a cookie per participant.
#[derive(Default)]
struct Credentials {
    cookie: BTreeMap<&'static str, String>,
    bearer: BTreeMap<&'static str, String>,
}

struct World {
    app: TestApp,
    ids: BTreeMap<&'static str, String>,
    creds: Credentials,
}

fn key(who: Who) -> &'static str {
    match who {
        Who::Admin => "admin",
        Who::OfficerA => "officer_a",
        Who::OfficerB => "officer_b",
        Who::ConsultantA => "consultant_a",
        Who::ConsultantB => "consultant_b",
        Who::ParticipantX => "participant_x",
        Who::ParticipantY => "participant_y",
        Who::Anonymous => "anonymous",
    }
}

async fn world() -> World {
    let app = common::spawn().await;
    let dla_a = app.create_dla().await;
    let dla_b = app
        .post_json(
            "/api/v1/dlas",
            json!({"name": "DLA des Landes", "area": "Landes (40)"}),
        )
        .await
        .expect(201)
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut consultants = Vec::new();
    // The cohort's consultant·e belongs to DLA A; the other record to DLA B.
    for (name, email, dla) in [
        ("Claire Martin", "claire@trajectoires.fr", &dla_a),
        ("Paul Durand", "paul@autre-cabinet.fr", &dla_b),
    ] {
        let res = app
            .post_json(
                "/api/v1/consultants",
                json!({"name": name, "firm": "Cabinet", "email": email, "dla_ids": [dla]}),
            )
            .await
            .expect(201);
        consultants.push(res.json()["id"].as_str().unwrap().to_string());
    }
    let cohort = app.create_cohort(&dla_a, "Cohorte A").await;
    let c = app
        .get(&format!("/api/v1/cohorts/{cohort}"))
        .await
        .expect(200)
        .json();
    let mut body = c.clone();
    body["consultant_id"] = json!(consultants[0]);
    body["version"] = json!(c["version"].as_i64().unwrap().to_string());
    body["association_cap"] = json!(c["association_cap"].as_i64().unwrap().to_string());
    app.put_json(&format!("/api/v1/cohorts/{cohort}"), body)
        .await
        .expect(200);
    let x = app.enrol(&cohort, "Association X").await;
    let y = app.enrol(&cohort, "Association Y").await;
    app.generate(&cohort).await;
    let sessions = app
        .get(&format!("/api/v1/cohorts/{cohort}/sessions"))
        .await
        .expect(200)
        .json();
    let session = sessions[0]["id"].as_str().unwrap().to_string();
    // A guest of that session, for the guest routes (written directly: the model only
    // invites guests to a bilan, and the matrix's session is the first one).
    let guest = "guest-of-the-matrix".to_string();
    {
        use diesel::prelude::*;
        let mut conn = app.pool.get().unwrap();
        diesel::insert_into(cohorte::db::schema::session_guests::table)
            .values((
                cohorte::db::schema::session_guests::id.eq(&guest),
                cohorte::db::schema::session_guests::session_id.eq(&session),
                cohorte::db::schema::session_guests::name.eq("Claire Martin"),
                cohorte::db::schema::session_guests::email.eq("claire.martin@dla33.fr"),
                cohorte::db::schema::session_guests::organisation.eq(""),
                cohorte::db::schema::session_guests::created_at.eq(chrono::Utc::now().naive_utc()),
            ))
            .execute(&mut conn)
            .unwrap();
    }
    let tasks = app
        .get(&format!("/api/v1/cohorts/{cohort}/tasks"))
        .await
        .expect(200)
        .json();
    let task = tasks["tasks"][0]["id"].as_str().unwrap().to_string();
    let people_x = app
        .get(&format!("/api/v1/associations/{x}/participants"))
        .await
        .expect(200)
        .json();
    let people_y = app
        .get(&format!("/api/v1/associations/{y}/participants"))
        .await
        .expect(200)
        .json();
    let participant_x = people_x[0]["id"].as_str().unwrap().to_string();
    let participant_y = people_y[0]["id"].as_str().unwrap().to_string();
    let entry = app
        .post_json(
            &format!("/api/v1/cohorts/{cohort}/time-entries"),
            json!({"date": "2027-01-11", "kind": "animation_collective", "duration": 1, "unit": "demi_journees"}),
        )
        .await;
    let entry = if entry.status.as_u16() == 201 {
        entry.json()["id"].as_str().unwrap().to_string()
    } else {
        panic!("time entry fixture: {}", entry.text())
    };
    let lead = app
        .post_json(
            &format!("/api/v1/associations/{x}/action-leads"),
            json!({"text": "Diversifier les financements", "session_id": session}),
        )
        .await;
    assert_eq!(lead.status.as_u16(), 201, "lead fixture: {}", lead.text());
    let lead = lead.json()["id"].as_str().unwrap().to_string();
    app.post_json(&format!("/api/v1/cohorts/{cohort}/publish"), json!({}))
        .await;
    // The cohort's call for applications (its API reads it).
    let closes = (chrono::Utc::now() + chrono::Duration::days(30)).format("%Y-%m-%d");
    let call = app
        .put_json(
            &format!("/api/v1/cohorts/{cohort}/call"),
            json!({"closes_on": closes.to_string()}),
        )
        .await
        .expect(201)
        .json();
    let outbox = app
        .get(&format!("/api/v1/cohorts/{cohort}/outbox"))
        .await
        .expect(200)
        .json();
    let email = outbox
        .as_array()
        .and_then(|a| a.first())
        .and_then(|e| e["id"].as_str())
        .expect("an email in the outbox after publication")
        .to_string();

    // An application to the cohort's call (through its public form), for the selection
    // routes.
    let application = {
        let url = call["url"].as_str().expect("the call's public link");
        let public = &url[url.find("/candidature/").expect("a public form's address")..];
        app.post_public(public, &common::application_form(&[]))
            .await
            .expect(200);
        let mut conn = app.pool.get().unwrap();
        cohorte::models::call::application_ids(&mut conn, &cohort)
            .unwrap()
            .remove(0)
    };

    let mut creds = Credentials::default();
    let (user_id, token_id);
    {
        let mut conn = app.pool.get().unwrap();
        let lifetimes = account::Lifetimes {
            idle: chrono::Duration::hours(2),
            absolute: chrono::Duration::hours(12),
        };
        let now = chrono::Utc::now().naive_utc();
        let staff = [
            (Who::OfficerA, "officer", Some(dla_a.clone()), None),
            (Who::OfficerB, "officer", Some(dla_b.clone()), None),
            (
                Who::ConsultantA,
                "consultant",
                None,
                Some(consultants[0].clone()),
            ),
            (
                Who::ConsultantB,
                "consultant",
                None,
                Some(consultants[1].clone()),
            ),
        ];
        for (who, role, dla, consultant) in staff {
            let email = format!("{}@cohorte.test", key(who));
            let user = common::write(&mut conn, |tx| {
                account::create(
                    tx,
                    NewUser {
                        email: &email,
                        name: key(who),
                        role,
                        dla_id: dla.as_deref(),
                        consultant_id: consultant.as_deref(),
                        password: None,
                    },
                )
            })
            .unwrap();
            let (_, secret) = common::write(&mut conn, |tx| {
                account::create_api_token(tx, &user.id, "matrix")
            })
            .unwrap();
            creds.bearer.insert(key(who), secret);
            let cookie = common::write(&mut conn, |tx| {
                account::start_session(tx, &Principal::User(user.id), lifetimes, now)
            })
            .unwrap();
            creds.cookie.insert(key(who), cookie);
        }
        creds
            .bearer
            .insert(key(Who::Admin), app.admin_token.clone());
        let cookie = common::write(&mut conn, |tx| {
            account::start_session(tx, &Principal::User(app.admin_id.clone()), lifetimes, now)
        })
        .unwrap();
        creds.cookie.insert(key(Who::Admin), cookie);
        for (who, pid) in [
            (Who::ParticipantX, &participant_x),
            (Who::ParticipantY, &participant_y),
        ] {
            let cookie = common::write(&mut conn, |tx| {
                account::start_session(tx, &Principal::Participant(pid.clone()), lifetimes, now)
            })
            .unwrap();
            creds.cookie.insert(key(who), cookie);
        }
        // An API token of the admin, for the revoke route.
        let (t, _) = common::write(&mut conn, |tx| {
            account::create_api_token(tx, &app.admin_id, "à révoquer")
        })
        .unwrap();
        token_id = t.id;
        user_id = app.admin_id.clone();
    }
    // A place of DLA A, for the places' routes.
    let place = app
        .write(|tx| {
            cohorte::models::place::create(
                tx,
                &dla_a,
                &cohorte::models::place::PlaceInput {
                    name: "Maison des associations".into(),
                    address: "12 rue Sainte-Catherine, Bordeaux".into(),
                    version: String::new(),
                },
            )
        })
        .id;
    let mut ids = BTreeMap::new();
    ids.insert("place", place);
    ids.insert("cohort", cohort);
    ids.insert("dla", dla_a);
    ids.insert("consultant", consultants[0].clone());
    ids.insert("association", x);
    ids.insert("participant", participant_x);
    ids.insert("session", session);
    ids.insert("guest", guest);
    ids.insert("task", task);
    ids.insert("entry", entry);
    ids.insert("lead", lead);
    ids.insert("email", email);
    ids.insert("application", application);
    ids.insert("user", user_id);
    ids.insert("token", token_id);
    World { app, ids, creds }
}

impl World {
    /// The path with its parameters filled with the fixtures' ids.
    fn path(&self, pattern: &str) -> String {
        let id_kind = if pattern.contains("/cohortes/{id}") || pattern.contains("/cohorts/{id}") {
            "cohort"
        } else if pattern.contains("/dla/{id}") || pattern.contains("/dlas/{id}") {
            "dla"
        } else if pattern.contains("/consultants/{id}") {
            "consultant"
        } else if pattern.contains("/associations/{id}") {
            "association"
        } else if pattern.contains("/participants/{id}") {
            "participant"
        } else if pattern.contains("/seances/{id}") || pattern.contains("/sessions/{id}") {
            "session"
        } else if pattern.contains("/taches/{id}") || pattern.contains("/tasks/{id}") {
            "task"
        } else if pattern.contains("/temps/{id}") || pattern.contains("/time-entries/{id}") {
            "entry"
        } else if pattern.contains("/pistes/{id}") || pattern.contains("/action-leads/{id}") {
            "lead"
        } else if pattern.contains("/candidatures/{id}") || pattern.contains("/applications/{id}") {
            "application"
        } else if pattern.contains("/envois/{id}") {
            "email"
        } else if pattern.contains("/utilisateurs/{id}") {
            "user"
        } else if pattern.contains("/jetons/{id}") {
            "token"
        } else {
            "none"
        };
        pattern
            .replace(
                "{id}",
                self.ids.get(id_kind).map(String::as_str).unwrap_or("x"),
            )
            .replace("{aid}", &self.ids["association"])
            .replace("{association_id}", &self.ids["association"])
            .replace("{participant}", &self.ids["participant"])
            .replace("{guest}", &self.ids["guest"])
            .replace("{place}", &self.ids["place"])
            .replace("{user}", &self.ids["user"])
            .replace("{email_id}", &self.ids["email"])
            .replace("{stage}", "etat_des_lieux")
            .replace("{status}", "retenue")
            .replace("{token}", "0000")
            .replace("{file}", "app.css")
    }

    async fn call(&self, method: &str, pattern: &str, who: Who) -> Response {
        let path = self.path(pattern);
        let api = path.starts_with("/api/");
        let mut req = match method {
            "GET" => TestRequest::get(),
            "POST" => TestRequest::post(),
            "PUT" => TestRequest::put(),
            "DELETE" => TestRequest::delete(),
            other => panic!("method {other}"),
        }
        .uri(&path);
        let k = key(who);
        if api {
            if let Some(token) = self.creds.bearer.get(k) {
                req = req.insert_header((header::AUTHORIZATION, format!("Bearer {token}")));
            }
            if matches!(method, "POST" | "PUT") {
                req = req.set_json(json!({}));
            }
        } else {
            let cookie = self.creds.cookie.get(k);
            if let Some(c) = cookie {
                req = req.insert_header((header::COOKIE, format!("cohorte_session={c}")));
            }
            if method == "POST" {
                let csrf = cookie.map(|c| csrf_for(c)).unwrap_or_default();
                req = req.set_form([("csrf_token", csrf.as_str())]);
            }
        }
        self.app.send_raw(req).await
    }
}

fn refused(res: &Response) -> bool {
    let status = res.status.as_u16();
    status == 401
        || status == 403
        || (status == 303
            && res
                .header("location")
                .is_some_and(|l| l.starts_with("/connexion")))
}

#[actix_web::test]
async fn every_route_is_classified_and_each_actor_gets_exactly_its_part() {
    let routes = registered_routes();
    assert!(routes.len() > 100, "found only {} routes", routes.len());
    let table = expected();
    let unclassified: Vec<String> = routes
        .iter()
        .map(|(m, p)| format!("{m} {p}"))
        .filter(|k| !table.contains_key(k.as_str()))
        .collect();
    assert!(
        unclassified.is_empty(),
        "routes with no expected access in tests/access.rs (classify them there and in src/web/access.rs):\n{}",
        unclassified.join("\n")
    );

    let shared = world().await;
    let mut failures = Vec::new();
    for (method, pattern) in &routes {
        let class = table[format!("{method} {pattern}").as_str()];
        // Reads share one world; each change gets a fresh one, refused actors first.
        let fresh;
        let w = if method == "GET" {
            &shared
        } else {
            fresh = world().await;
            &fresh
        };
        let mut order: Vec<Who> = EVERYONE.to_vec();
        order.sort_by_key(|who| allowed(class, *who));
        let mut someone_succeeded = false;
        for who in order {
            let res = w.call(method, pattern, who).await;
            let should = allowed(class, who);
            let status = res.status.as_u16();
            // A public route may itself answer « sign in » (the home page, a wrong
            // password): only a 403 would be a refusal there.
            let got = if class == 'P' {
                status != 403
            } else {
                !refused(&res)
            };
            // Reads of existing fixtures must find them (a change with an empty body may
            // legitimately answer 404 for an id it expected in the body).
            if should
                && got
                && status == 404
                && !someone_succeeded
                && method == "GET"
                && class != 'P'
            {
                failures.push(format!(
                    "{method} {pattern} as {who:?}: 404 on an existing resource"
                ));
            }
            if should && got && status != 404 {
                someone_succeeded = true;
            }
            if should != got {
                failures.push(format!(
                    "{method} {pattern} as {who:?}: expected {}, got {status} {}",
                    if should { "access" } else { "refusal" },
                    res.header("location").unwrap_or("")
                ));
            }
            if !should && who == Who::Anonymous {
                let api = pattern.starts_with("/api/");
                let right = if api { status == 401 } else { status == 303 };
                if !right {
                    failures.push(format!(
                        "{method} {pattern} as nobody: expected {} got {status}",
                        if api { "401" } else { "303 to /connexion" }
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} access failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[actix_web::test]
async fn anonymous_api_calls_get_401_in_the_error_shape_with_the_security_headers() {
    let app = common::spawn().await;
    let res = app
        .send_raw(TestRequest::get().uri("/api/v1/cohorts"))
        .await;
    assert_eq!(res.status.as_u16(), 401);
    res.api_error("unauthorized");
    assert!(
        res.header("www-authenticate")
            .is_some_and(|v| v.starts_with("Bearer"))
    );
    for res in [
        res,
        app.send_raw(TestRequest::get().uri("/cohortes")).await,
        app.send_raw(
            TestRequest::get()
                .uri("/api/v1/cohorts")
                .insert_header((header::AUTHORIZATION, "Bearer cht_faux")),
        )
        .await,
    ] {
        let csp = res.header("content-security-policy").unwrap_or("");
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("object-src 'none'"));
        assert!(csp.contains("base-uri 'none'") && !csp.contains("unsafe-inline"));
        assert_eq!(res.header("x-content-type-options"), Some("nosniff"));
        assert!(res.header("referrer-policy").is_some());
        assert!(
            res.header("strict-transport-security").is_none(),
            "no HSTS over plain HTTP"
        );
    }
}

/// Signs in through the form; returns the response.
async fn sign_in(app: &TestApp, email: &str, password: &str, cookie: Option<&str>) -> Response {
    let mut req = TestRequest::post().uri("/connexion").set_form([
        ("email", email),
        ("password", password),
        ("suite", ""),
    ]);
    if let Some(c) = cookie {
        let csrf = csrf_for(c);
        req = TestRequest::post()
            .uri("/connexion")
            .insert_header((header::COOKIE, format!("cohorte_session={c}")))
            .set_form([
                ("email", email),
                ("password", password),
                ("suite", ""),
                ("csrf_token", csrf.as_str()),
            ]);
    }
    app.send_raw(req).await
}

fn session_of(res: &Response) -> String {
    let set = res
        .headers
        .get_all(header::SET_COOKIE)
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("cohorte_session="))
        .unwrap_or_else(|| panic!("no session cookie; status {}: {}", res.status, res.text()))
        .to_string();
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Lax"), "{set}");
    assert!(!set.contains("Secure"), "not Secure over plain HTTP: {set}");
    set["cohorte_session=".len()..]
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

async fn officer_with_password(app: &TestApp, password: &str) -> String {
    let dla = app.create_dla().await;
    let mut conn = app.pool.get().unwrap();
    common::write(&mut conn, |tx| {
        account::create(
            tx,
            NewUser {
                email: "julie@dla.fr",
                name: "Julie Officer",
                role: "officer",
                dla_id: Some(&dla),
                consultant_id: None,
                password: Some(password),
            },
        )
    })
    .unwrap();
    dla
}

fn get_with(cookie: &str, uri: &str) -> TestRequest {
    TestRequest::get()
        .uri(uri)
        .insert_header((header::COOKIE, format!("cohorte_session={cookie}")))
}

#[actix_web::test]
async fn sign_in_gives_a_new_session_and_sign_out_ends_it() {
    let app = common::spawn().await;
    let password = "une phrase de passe assez longue";
    officer_with_password(&app, password).await;

    let page = app
        .send_raw(TestRequest::get().uri("/connexion"))
        .await
        .expect(200);
    assert!(page.text().contains("name=\"password\""));
    let wrong = sign_in(&app, "julie@dla.fr", "mauvais mot de passe", None).await;
    assert_eq!(wrong.status.as_u16(), 401);
    assert!(
        wrong
            .text()
            .contains("Adresse e-mail ou mot de passe incorrect.")
    );
    assert!(
        wrong.text().contains("value=\"julie@dla.fr\""),
        "the email typed is kept"
    );
    assert!(
        !wrong.text().contains("mauvais mot de passe"),
        "never echo a password"
    );

    let first = sign_in(&app, "Julie@DLA.fr", password, None)
        .await
        .expect(303);
    let cookie = session_of(&first);
    assert_eq!(first.header("location"), Some("/cohortes"));
    app.send_raw(get_with(&cookie, "/cohortes"))
        .await
        .expect(200);

    // Signing in again from the same browser replaces the session.
    let second = sign_in(&app, "julie@dla.fr", password, Some(&cookie))
        .await
        .expect(303);
    let renewed = session_of(&second);
    assert_ne!(cookie, renewed, "a new session at sign-in");
    let old = app.send_raw(get_with(&cookie, "/cohortes")).await;
    assert_eq!(
        old.status.as_u16(),
        303,
        "the previous cookie no longer works"
    );

    // Sign out: the cookie is cleared and stops working.
    let csrf = csrf_for(&renewed);
    let out = app
        .send_raw(
            TestRequest::post()
                .uri("/deconnexion")
                .insert_header((header::COOKIE, format!("cohorte_session={renewed}")))
                .set_form([("csrf_token", csrf.as_str())]),
        )
        .await
        .expect(303);
    assert!(
        out.header("set-cookie")
            .is_some_and(|c| c.contains("Max-Age=0"))
    );
    let after = app.send_raw(get_with(&renewed, "/cohortes")).await;
    assert_eq!(after.status.as_u16(), 303);
    assert!(
        after
            .header("location")
            .unwrap()
            .starts_with("/connexion?suite=%2Fcohortes")
            || after
                .header("location")
                .unwrap()
                .starts_with("/connexion?suite=/cohortes")
    );

    // Neither the password nor the cookie is stored.
    let dump = database_text(&app);
    assert!(!dump.contains(password));
    assert!(!dump.contains(&cookie) && !dump.contains(&renewed));
    assert!(dump.contains("$argon2id$v=19$m=19456,t=2,p=1$"));
}

/// Every text value of every table, for "is this secret stored?" checks.
fn database_text(app: &TestApp) -> String {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Cell {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        v: Option<String>,
    }
    let mut conn = app.pool.get().unwrap();
    let mut out = String::new();
    for (table, columns) in common::db::tables(&mut conn) {
        for column in columns {
            let cells: Vec<Cell> = diesel::sql_query(format!(
                "SELECT CAST(\"{column}\" AS TEXT) AS v FROM \"{table}\""
            ))
            .load(&mut conn)
            .unwrap();
            for cell in cells.into_iter().flat_map(|c| c.v) {
                out.push_str(&cell);
                out.push('\n');
            }
        }
    }
    out
}

#[actix_web::test]
async fn failed_sign_ins_are_throttled_per_account() {
    let app = common::spawn().await;
    let password = "une phrase de passe assez longue";
    officer_with_password(&app, password).await;
    for _ in 0..5 {
        assert_eq!(
            sign_in(&app, "julie@dla.fr", "non", None)
                .await
                .status
                .as_u16(),
            401
        );
    }
    let blocked = sign_in(&app, "julie@dla.fr", password, None).await;
    assert_eq!(
        blocked.status.as_u16(),
        429,
        "even the right password waits"
    );
    assert!(blocked.text().contains("Trop de tentatives de connexion"));
}

#[actix_web::test]
async fn cookie_forms_need_the_csrf_token_and_a_same_origin() {
    let app = common::spawn().await;
    let password = "une phrase de passe assez longue";
    officer_with_password(&app, password).await;
    let cookie = session_of(&sign_in(&app, "julie@dla.fr", password, None).await);
    let form = |extra: &[(&str, &str)]| {
        let mut fields: Vec<(&str, &str)> = vec![
            ("name", "Julie Consultante"),
            ("firm", "X"),
            ("email", "jc@x.fr"),
        ];
        fields.extend_from_slice(extra);
        TestRequest::post()
            .uri("/consultants")
            .insert_header((header::COOKIE, format!("cohorte_session={cookie}")))
            .set_form(fields)
    };
    let missing = app.send_raw(form(&[])).await;
    assert_eq!(missing.status.as_u16(), 403);
    assert!(missing.text().contains("rechargez la page"));
    let wrong = app
        .send_raw(form(&[("csrf_token", "0123456789abcdef0123456789abcdef")]))
        .await;
    assert_eq!(wrong.status.as_u16(), 403);
    let token = csrf_for(&cookie);
    let foreign = app
        .send_raw(
            form(&[("csrf_token", &token)]).insert_header((header::ORIGIN, "https://evil.example")),
        )
        .await;
    assert_eq!(foreign.status.as_u16(), 403);
    assert!(foreign.text().contains("origine différente"));
    // The page carries the token, and with it the form goes through.
    let page = app
        .send_raw(get_with(&cookie, "/consultants"))
        .await
        .expect(200);
    assert!(
        page.text()
            .contains(&format!("name=\"csrf_token\" value=\"{token}\""))
    );
    app.send_raw(
        form(&[("csrf_token", &token)]).insert_header((header::ORIGIN, "http://localhost:8080")),
    )
    .await;
    let ok = app.send_raw(form(&[("csrf_token", &token)])).await;
    assert_eq!(ok.status.as_u16(), 303, "{}", ok.text());
}

#[actix_web::test]
async fn an_idle_session_expires() {
    use diesel::prelude::*;
    let app = common::spawn().await;
    let password = "une phrase de passe assez longue";
    officer_with_password(&app, password).await;
    let cookie = session_of(&sign_in(&app, "julie@dla.fr", password, None).await);
    app.send_raw(get_with(&cookie, "/cohortes"))
        .await
        .expect(200);
    let mut conn = app.pool.get().unwrap();
    diesel::update(cohorte::db::schema::auth_sessions::table)
        .set(
            cohorte::db::schema::auth_sessions::last_seen_at
                .eq(chrono::Utc::now().naive_utc() - chrono::Duration::hours(3)),
        )
        .execute(&mut conn)
        .unwrap();
    let res = app.send_raw(get_with(&cookie, "/cohortes")).await;
    assert_eq!(res.status.as_u16(), 303);
}

#[actix_web::test]
async fn the_first_administrator_link_works_once() {
    use diesel::prelude::*;
    let app = common::spawn().await;
    let mut conn = app.pool.get().unwrap();
    // A new instance: no account yet (the harness made one).
    diesel::sql_query("DELETE FROM users")
        .execute(&mut conn)
        .unwrap();
    // A second start printed another link before the first was used.
    let other = common::write(&mut conn, |tx| {
        account::create_link(
            tx,
            account::LinkPurpose::FirstAdmin,
            &account::LinkTarget {
                user_id: None,
                participant_id: None,
            },
            chrono::Duration::days(7),
            chrono::Utc::now().naive_utc(),
        )
    })
    .unwrap();
    let token = common::write(&mut conn, |tx| {
        account::create_link(
            tx,
            account::LinkPurpose::FirstAdmin,
            &account::LinkTarget {
                user_id: None,
                participant_id: None,
            },
            chrono::Duration::days(7),
            chrono::Utc::now().naive_utc(),
        )
    })
    .unwrap();
    drop(conn);
    let uri = format!("/premier-administrateur/{token}");
    app.send_raw(TestRequest::get().uri(&uri)).await.expect(200);
    app.send_raw(TestRequest::get().uri(&uri)).await.expect(200);
    let short = app
        .send_raw(TestRequest::post().uri(&uri).set_form([
            ("name", "Awa Diallo"),
            ("email", "awa@dla.fr"),
            ("password", "court"),
            ("password_confirm", "court"),
        ]))
        .await;
    assert_eq!(short.status.as_u16(), 422);
    assert!(common::around_field(&short.text(), "password").contains("au moins 12 caractères"));
    let ok = app
        .send_raw(TestRequest::post().uri(&uri).set_form([
            ("name", "Awa Diallo"),
            ("email", "awa@dla.fr"),
            ("password", "une phrase de passe assez longue"),
            ("password_confirm", "une phrase de passe assez longue"),
        ]))
        .await
        .expect(303);
    let cookie = session_of(&ok);
    app.send_raw(get_with(&cookie, "/utilisateurs")).await;
    let again = app
        .send_raw(TestRequest::post().uri(&uri).set_form([
            ("name", "Mallory"),
            ("email", "mallory@x.fr"),
            ("password", "une phrase de passe assez longue"),
            ("password_confirm", "une phrase de passe assez longue"),
        ]))
        .await;
    assert_eq!(again.status.as_u16(), 410);
    assert!(again.text().contains("déjà servi"));
    // The other printed link is void too: there is an administrator now.
    let second = app
        .send_raw(
            TestRequest::post()
                .uri(&format!("/premier-administrateur/{other}"))
                .set_form([
                    ("name", "Mallory"),
                    ("email", "mallory@x.fr"),
                    ("password", "une phrase de passe assez longue"),
                    ("password_confirm", "une phrase de passe assez longue"),
                ]),
        )
        .await;
    assert_eq!(second.status.as_u16(), 410);
    let altered = app
        .send_raw(TestRequest::get().uri(&format!(
            "/premier-administrateur/{}0",
            &token[..token.len() - 1]
        )))
        .await;
    assert_eq!(altered.status.as_u16(), 410);
}

#[test]
fn templates_never_print_unescaped_html_outside_the_allow_list() {
    // Triple braces (or `{{&`) print HTML as is. None is needed today; a future one must be
    // justified here.
    const ALLOWED: &[&str] = &[];
    let mut found = Vec::new();
    fn walk(dir: &std::path::Path, found: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, found);
            } else if p.extension().is_some_and(|e| e == "hbs") {
                let text = std::fs::read_to_string(&p).unwrap();
                // Plain-text emails are rendered without HTML escaping on purpose.
                if p.to_string_lossy().ends_with(".txt.hbs") {
                    continue;
                }
                if text.contains("{{{") || text.contains("{{&") {
                    found.push(p.to_string_lossy().into_owned());
                }
            }
        }
    }
    walk(std::path::Path::new("templates"), &mut found);
    found.retain(|f| !ALLOWED.iter().any(|a| f.ends_with(a)));
    assert!(found.is_empty(), "unescaped output in {found:?}");
    let src = std::fs::read_to_string("src/templates.rs").unwrap();
    assert!(!src.contains("no_escape"), "the page registry escapes HTML");
}

/// The pages a consultant·e reaches only offer links and forms they may use: no button
/// that ends on « accès refusé ».
#[actix_web::test]
async fn a_consultant_is_offered_only_what_they_may_do() {
    let w = world().await;
    let cookie = w.creds.cookie[key(Who::ConsultantA)].clone();
    let csrf = csrf_for(&cookie);
    let pages = [
        "/cohortes".to_string(),
        format!("/cohortes/{}", w.ids["cohort"]),
        format!("/cohortes/{}/budget", w.ids["cohort"]),
        format!("/cohortes/{}/miroir", w.ids["cohort"]),
        format!("/associations/{}", w.ids["association"]),
        format!("/seances/{}", w.ids["session"]),
        format!("/seances/{}/journal", w.ids["session"]),
    ];
    let mut refused = Vec::new();
    for page in &pages {
        let html = w
            .app
            .send_raw(get_with(&cookie, page))
            .await
            .expect(200)
            .text();
        let targets = |attr: &str| -> Vec<String> {
            html.split(&format!("{attr}=\""))
                .skip(1)
                .filter_map(|rest| rest.split('"').next())
                .filter(|t| {
                    t.starts_with('/') && !t.starts_with("/static/") && !t.starts_with("/api/")
                })
                .map(|t| t.replace("&amp;", "&").replace("&#x3D;", "="))
                .collect()
        };
        for href in targets("href") {
            let res = w.app.send_raw(get_with(&cookie, &href)).await;
            if res.status.as_u16() == 403 {
                refused.push(format!("{page}: link {href}"));
            }
        }
        // A search form (`method="get"`) is a link with parameters: followed as one.
        let searches: Vec<String> = html
            .split("<form")
            .skip(1)
            .filter_map(|rest| {
                let tag = rest.split('>').next()?;
                if !tag.contains("method=\"get\"") {
                    return None;
                }
                Some(
                    tag.split("action=\"")
                        .nth(1)?
                        .split('"')
                        .next()?
                        .to_string(),
                )
            })
            .collect();
        for action in targets("action") {
            if action == "/deconnexion" {
                continue;
            }
            if searches.contains(&action) {
                let res = w.app.send_raw(get_with(&cookie, &action)).await;
                if res.status.as_u16() == 403 {
                    refused.push(format!("{page}: search form {action}"));
                }
                continue;
            }
            let res = w
                .app
                .send_raw(
                    TestRequest::post()
                        .uri(&action)
                        .insert_header((header::COOKIE, format!("cohorte_session={cookie}")))
                        .set_form([("csrf_token", csrf.as_str())]),
                )
                .await;
            if res.status.as_u16() == 403 {
                refused.push(format!("{page}: form {action}"));
            }
        }
    }
    assert!(
        refused.is_empty(),
        "offered but refused:\n{}",
        refused.join("\n")
    );
}

/// A partner DLA's chargé·e de mission works on a shared cohort but cannot take it over:
/// the owner and the partners stay the owning DLA's decision.
#[actix_web::test]
async fn a_partner_dla_cannot_take_over_a_shared_cohort() {
    let w = world().await;
    let cohort = &w.ids["cohort"];
    let current = w
        .app
        .get(&format!("/api/v1/cohorts/{cohort}"))
        .await
        .expect(200)
        .json();
    let dla_b = {
        let list = w.app.get("/api/v1/dlas").await.expect(200).json();
        list.as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_str().unwrap().to_string())
            .find(|id| *id != w.ids["dla"])
            .unwrap()
    };
    let body = |dla: &str, partners: Vec<&str>, version: i64| {
        let mut b = current.clone();
        b["dla_id"] = json!(dla);
        b["partner_dla_ids"] = json!(partners);
        b["version"] = json!(version.to_string());
        b["association_cap"] = json!(current["association_cap"].as_i64().unwrap().to_string());
        b
    };
    let v = current["version"].as_i64().unwrap();
    // The owner shares the cohort with DLA B.
    let shared = w
        .app
        .send_raw(
            TestRequest::put()
                .uri(&format!("/api/v1/cohorts/{cohort}"))
                .insert_header((
                    header::AUTHORIZATION,
                    format!("Bearer {}", w.creds.bearer["officer_a"]),
                ))
                .set_json(body(&w.ids["dla"], vec![dla_b.as_str()], v)),
        )
        .await
        .expect(200)
        .json();
    let v = shared["version"].as_i64().unwrap();
    let as_b = |b: serde_json::Value| {
        TestRequest::put()
            .uri(&format!("/api/v1/cohorts/{cohort}"))
            .insert_header((
                header::AUTHORIZATION,
                format!("Bearer {}", w.creds.bearer["officer_b"]),
            ))
            .set_json(b)
    };
    // B now reaches it…
    w.app
        .send_raw(
            TestRequest::get()
                .uri(&format!("/api/v1/cohorts/{cohort}"))
                .insert_header((
                    header::AUTHORIZATION,
                    format!("Bearer {}", w.creds.bearer["officer_b"]),
                )),
        )
        .await
        .expect(200);
    // …but cannot make itself the owner, nor drop the partners.
    let takeover = w.app.send_raw(as_b(body(&dla_b, vec![], v))).await;
    assert_eq!(takeover.status.as_u16(), 422, "{}", takeover.text());
    let error = takeover.api_error("validation_failed");
    assert!(
        error["fields"]["dla_id"]
            .as_str()
            .unwrap()
            .contains("DLA porteur")
    );
    assert!(error["fields"]["partner_dla_ids"].is_string());
    // An edit that keeps both goes through.
    w.app
        .send_raw(as_b(body(&w.ids["dla"], vec![dla_b.as_str()], v)))
        .await
        .expect(200);
    let after = w
        .app
        .get(&format!("/api/v1/cohorts/{cohort}"))
        .await
        .expect(200)
        .json();
    assert_eq!(after["dla_id"], json!(w.ids["dla"]));
    assert_eq!(after["partner_dla_ids"], json!([dla_b]));
}

/// After sign-in, only a path of this app is followed: no other host, even disguised with
/// control characters that browsers drop.
#[actix_web::test]
async fn sign_in_only_returns_to_a_local_path() {
    let app = common::spawn().await;
    let password = "une phrase de passe assez longue";
    officer_with_password(&app, password).await;
    for suite in [
        "//evil.example",
        "/\\evil.example",
        "/\t/evil.example",
        "/\n/x",
        "https://evil.example/",
    ] {
        let res = app
            .send_raw(TestRequest::post().uri("/connexion").set_form([
                ("email", "julie@dla.fr"),
                ("password", password),
                ("suite", suite),
            ]))
            .await
            .expect(303);
        assert_eq!(res.header("location"), Some("/cohortes"), "suite {suite:?}");
    }
    let res = app
        .send_raw(TestRequest::post().uri("/connexion").set_form([
            ("email", "julie@dla.fr"),
            ("password", password),
            ("suite", "/dla"),
        ]))
        .await
        .expect(303);
    assert_eq!(res.header("location"), Some("/dla"));
}

#[actix_web::test]
async fn api_tokens_do_not_open_the_pages() {
    let app = common::spawn().await;
    let res = app
        .send_raw(
            TestRequest::post()
                .uri("/compte/jetons")
                .insert_header((header::AUTHORIZATION, format!("Bearer {}", app.admin_token)))
                .set_form([("name", "persistance")]),
        )
        .await;
    assert_eq!(res.status.as_u16(), 303, "a page asks to sign in");
    assert!(res.header("location").unwrap().starts_with("/connexion"));
}

/// The team marking a homework returned keeps the participant's answer; renewing a
/// participant's links ends their sessions.
#[actix_web::test]
async fn staff_changes_keep_answers_and_renewing_links_signs_the_participant_out() {
    use diesel::prelude::*;
    let w = world().await;
    let cookie = w.creds.cookie[key(Who::ParticipantX)].clone();
    let csrf = csrf_for(&cookie);
    let task = &w.ids["task"];
    w.app
        .send_raw(
            TestRequest::post()
                .uri(&format!("/portail/taches/{task}"))
                .insert_header((header::COOKIE, format!("cohorte_session={cookie}")))
                .set_form([
                    ("csrf_token", csrf.as_str()),
                    ("answer", "https://nuage.example/etat.pdf"),
                ]),
        )
        .await
        .expect(303);
    w.app
        .put_json(
            &format!("/api/v1/tasks/{task}/associations/{}", w.ids["association"]),
            json!({"status": "rendu"}),
        )
        .await
        .expect(200);
    let answer: String = {
        use cohorte::db::schema::task_returns::dsl::*;
        let mut conn = w.app.pool.get().unwrap();
        task_returns
            .filter(task_id.eq(task))
            .filter(association_id.eq(&w.ids["association"]))
            .select(answer)
            .first(&mut conn)
            .unwrap()
    };
    assert_eq!(answer, "https://nuage.example/etat.pdf");

    w.app
        .send_raw(get_with(&cookie, "/portail"))
        .await
        .expect(200);
    w.app
        .post_form(
            &format!("/participants/{}/renouveler-liens", w.ids["participant"]),
            &[],
        )
        .await
        .expect(303);
    let after = w.app.send_raw(get_with(&cookie, "/portail")).await;
    assert_eq!(
        after.status.as_u16(),
        303,
        "the session ended with the renewal"
    );
}

/// The consultants list offers « Modifier » only on records the person may edit.
#[actix_web::test]
async fn the_consultants_list_offers_edits_only_where_allowed() {
    let w = world().await;
    let link = format!("/consultants/{}/modifier", w.ids["consultant"]);
    let page = |who: Who| get_with(&w.creds.cookie[key(who)], "/consultants");
    let a = w.app.send_raw(page(Who::OfficerA)).await.expect(200).text();
    assert!(a.contains(&link), "the record's DLA edits it");
    let b = w.app.send_raw(page(Who::OfficerB)).await.expect(200).text();
    assert!(!b.contains(&link), "another DLA does not");
    assert!(!b.contains("Claire Martin"), "nor sees it in its directory");
}

/// Records on no cohort (the hole of #16: « every cohort is reachable » held for none) are
/// reached by the DLAs they belong to and administrators only, whatever the actor.
#[actix_web::test]
async fn consultant_records_on_no_cohort_are_their_dlas_and_the_administrators_only() {
    let mut w = world().await;
    let dla_a = w.ids["dla"].clone();
    for (dlas, may) in [
        (json!([dla_a]), vec![Who::Admin, Who::OfficerA]),
        (json!([]), vec![Who::Admin]),
    ] {
        let record = w
            .app
            .post_json(
                "/api/v1/consultants",
                json!({"name": "Sans cohorte", "email": "sans@cohorte.fr", "dla_ids": dlas}),
            )
            .await
            .expect(201)
            .json()["id"]
            .as_str()
            .unwrap()
            .to_string();
        w.ids.insert("consultant", record);
        for (method, pattern) in [
            ("GET", "/consultants/{id}/modifier"),
            ("POST", "/consultants/{id}/modifier"),
            ("PUT", "/api/v1/consultants/{id}"),
        ] {
            for who in EVERYONE {
                let res = w.call(method, pattern, who).await;
                assert_eq!(
                    !refused(&res),
                    may.contains(&who),
                    "{method} {pattern} as {who:?} on a record of {dlas}: {}",
                    res.status
                );
            }
        }
    }
}

/// `GET /api/v1/dlas` pages with the caller's scope in the query: a chargé·e de mission
/// lists their DLA only (and the total says so), an administrator every DLA.
#[actix_web::test]
async fn the_api_lists_the_dlas_a_person_may_see_paged() {
    let w = world().await;
    let list = |who: Who| {
        TestRequest::get()
            .uri("/api/v1/dlas?limit=1")
            .insert_header((
                header::AUTHORIZATION,
                format!("Bearer {}", w.creds.bearer[key(who)]),
            ))
    };
    let theirs = w.app.send_raw(list(Who::OfficerA)).await.expect(200);
    assert_eq!(theirs.header("x-total-count"), Some("1"));
    let rows = theirs.json();
    assert_eq!(rows.as_array().unwrap().len(), 1);
    assert_eq!(rows[0]["id"], json!(w.ids["dla"]));
    let all = w.app.send_raw(list(Who::Admin)).await.expect(200);
    let total: usize = all.header("x-total-count").unwrap().parse().unwrap();
    assert!(total >= 2, "the administrator sees every DLA ({total})");
    assert_eq!(
        all.json().as_array().unwrap().len(),
        1,
        "one a page with limit=1"
    );
}
