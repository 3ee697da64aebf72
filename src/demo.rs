//! The demo: a realistic French cohort of 8 associations, mid-way through its programme on
//! the day it is loaded (dates relative to `today`), so every screen has past and future.

use chrono::{Days, NaiveDate};

use crate::db::Tx;
use crate::domain::calendar;
use crate::domain::programme::ProgrammeTemplate;
use crate::error::AppError;
use crate::models::association::{self, AssociationInput};
use crate::models::cohort::{self, CohortInput};
use crate::models::consultant::{self, ConsultantInput};
use crate::models::dla::{self, DlaInput};
use crate::models::outbox::{self, MailContext};
use crate::models::participant::{self, ParticipantInput};
use crate::models::task::{self, ReturnInput};
use crate::models::{planner, programme, session};

pub(crate) struct Asso {
    pub(crate) name: &'static str,
    rna: &'static str,
    year: i32,
    staff: i32,
    sector: &'static str,
    town: &'static str,
    director: (&'static str, &'static str),
    board: Option<(&'static str, &'static str, &'static str)>,
}

pub(crate) const ASSOCIATIONS: [Asso; 8] = [
    Asso {
        name: "Les Jardins de Garonne",
        rna: "W332004518",
        year: 2009,
        staff: 12,
        sector: "Insertion par l'activité économique",
        town: "Bordeaux",
        director: ("Nadia Benali", "nadia.benali@jardins-garonne.fr"),
        board: Some((
            "Pierre Lacoste",
            "pierre.lacoste@jardins-garonne.fr",
            "Président",
        )),
    },
    Asso {
        name: "Cinéma Le Festival",
        rna: "W332011873",
        year: 1998,
        staff: 6,
        sector: "Culture",
        town: "Bègles",
        director: ("Julien Moreau", "j.moreau@cinema-festival.org"),
        board: Some((
            "Hélène Duprat",
            "h.duprat@cinema-festival.org",
            "Trésorière",
        )),
    },
    Asso {
        name: "Maison des Familles du Médoc",
        rna: "W332007741",
        year: 2012,
        staff: 9,
        sector: "Action sociale",
        town: "Lesparre-Médoc",
        director: ("Sophie Garnier", "direction@mdf-medoc.fr"),
        board: Some(("Jean-Marc Roux", "jm.roux@mdf-medoc.fr", "Président")),
    },
    Asso {
        name: "Ressourcerie L'Étincelle",
        rna: "W332019034",
        year: 2015,
        staff: 8,
        sector: "Économie circulaire",
        town: "Libourne",
        director: ("Karim Haddad", "karim@etincelle-libourne.fr"),
        board: Some((
            "Anne Vidal",
            "anne.vidal@etincelle-libourne.fr",
            "Co-présidente",
        )),
    },
    Asso {
        name: "Sport Pour Toutes",
        rna: "W332016652",
        year: 2011,
        staff: 4,
        sector: "Sport",
        town: "Mérignac",
        director: ("Laura Petit", "laura.petit@sportpourtoutes.fr"),
        board: None,
    },
    Asso {
        name: "Lire et Faire Lire Gironde",
        rna: "W332003390",
        year: 2001,
        staff: 2,
        sector: "Éducation populaire",
        town: "Bordeaux",
        director: ("Marc Lefèvre", "m.lefevre@lfl33.org"),
        board: Some(("Odile Marchand", "o.marchand@lfl33.org", "Secrétaire")),
    },
    Asso {
        name: "Les Petites Cantines Bastide",
        rna: "W332024417",
        year: 2024,
        staff: 3,
        sector: "Alimentation durable",
        town: "Bordeaux",
        director: ("Inès Carvalho", "ines@petitescantines-bastide.fr"),
        board: Some((
            "Thomas Girard",
            "thomas.girard@petitescantines-bastide.fr",
            "Président",
        )),
    },
    Asso {
        name: "Compagnie Théâtre des Chimères",
        rna: "W332010205",
        year: 2004,
        staff: 5,
        sector: "Spectacle vivant",
        town: "Pessac",
        director: ("Claire Fontaine", "administration@chimeres-theatre.fr"),
        board: Some((
            "Yves Bertrand",
            "yves.bertrand@chimeres-theatre.fr",
            "Trésorier",
        )),
    },
];

/// An association to enrol with its people: the director and, when it has one, a member
/// of its board. The demo's come from `ASSOCIATIONS`; `bench_data` makes thousands.
pub(crate) struct AssociationSeed {
    pub(crate) name: String,
    pub(crate) rna: String,
    pub(crate) year: i32,
    pub(crate) staff: i32,
    pub(crate) sector: String,
    pub(crate) town: String,
    /// Name, email.
    pub(crate) director: (String, String),
    /// Name, email, function.
    pub(crate) board: Option<(String, String, String)>,
}

impl From<&Asso> for AssociationSeed {
    fn from(a: &Asso) -> Self {
        AssociationSeed {
            name: a.name.into(),
            rna: a.rna.into(),
            year: a.year,
            staff: a.staff,
            sector: a.sector.into(),
            town: a.town.into(),
            director: (a.director.0.into(), a.director.1.into()),
            board: a.board.map(|(n, e, f)| (n.into(), e.into(), f.into())),
        }
    }
}

/// What `build_cohort` takes as given: the cohort as typed on its form (its DLA, partner,
/// consultant and start date already chosen), its associations, and a few words that make
/// its history read true.
pub(crate) struct CohortSeed {
    pub(crate) cohort: CohortInput,
    pub(crate) associations: Vec<AssociationSeed>,
    /// Where the collective sessions take place.
    pub(crate) venue: String,
    /// The third party of the effet miroir at the later collective sessions.
    pub(crate) mirror_guest: String,
    /// The consultant's trip to the sessions, as logged in their time entries.
    pub(crate) travel: String,
    /// The socio-economic model (of `demo_profiles`) the first association gets; the next
    /// ones get the following ones in turn.
    pub(crate) first_profile: usize,
}

/// Loads the demo and returns the cohort's id. The cohort starts about nine weeks before
/// `today`: the introductive session and the état des lieux are past, the évolution and
/// the bilans are ahead.
pub fn load(
    tx: &mut Tx,
    template: &ProgrammeTemplate,
    alsace_moselle: bool,
    today: NaiveDate,
    mail: &MailContext,
) -> Result<String, AppError> {
    let dla = dla::create(
        tx,
        &DlaInput {
            name: "DLA de la Gironde".into(),
            area: "Gironde (33)".into(),
            ..Default::default()
        },
    )?;
    let partner = dla::create(
        tx,
        &DlaInput {
            name: "DLA régional Nouvelle-Aquitaine".into(),
            area: "Nouvelle-Aquitaine".into(),
            ..Default::default()
        },
    )?;
    let consultant = consultant::create(
        tx,
        &ConsultantInput {
            name: "Claire Martin".into(),
            firm: "Cabinet Trajectoires".into(),
            email: "claire.martin@cabinet-trajectoires.fr".into(),
            // The record belongs to the DLAs of the cohort she runs.
            dla_ids: Some(vec![dla.id.clone(), partner.id.clone()]),
            ..Default::default()
        },
    )?;
    let start = calendar::next_working_day(
        today.checked_sub_days(Days::new(63)).expect("date"),
        alsace_moselle,
    );
    let seed = CohortSeed {
        cohort: CohortInput {
            name: "Modèles socio-économiques — Gironde".into(),
            dla_id: dla.id.clone(),
            partner_dla_ids: vec![partner.id.clone()],
            territory: "Bordeaux Métropole et Médoc".into(),
            approach: "territoriale".into(),
            thematic: "Hybridation des ressources".into(),
            start_date: start.format("%Y-%m-%d").to_string(),
            status: "en_cours".into(),
            association_cap: "8".into(),
            consultant_id: consultant.consultant.id.clone(),
            officer_name: "Julien Lefèvre".into(),
            officer_email: "julien.lefevre@dla-gironde.fr".into(),
            version: String::new(),
        },
        associations: ASSOCIATIONS.iter().map(AssociationSeed::from).collect(),
        venue: "Maison de la vie associative, 3 rue de Lerme, 33000 Bordeaux".into(),
        mirror_guest: "Julien Lefèvre (DLA de la Gironde)".into(),
        travel: "Aller-retour Libourne".into(),
        first_profile: 0,
    };
    build_cohort(tx, &seed, template, alsace_moselle, today, mail)
}

/// Builds one cohort as its team would have over time, through the models, in the
/// caller's transaction: created, associations and their people enrolled, programme
/// generated and its places filled in, homework returned, consultant time and session logs
/// up to `today`, the associations' socio-economic models, and its outbox as the planner
/// wrote it since publication, three weeks before the start (`mail_history`). Returns the
/// cohort's id.
pub(crate) fn build_cohort(
    tx: &mut Tx,
    seed: &CohortSeed,
    template: &ProgrammeTemplate,
    alsace_moselle: bool,
    today: NaiveDate,
    mail: &MailContext,
) -> Result<String, AppError> {
    let c = cohort::create(tx, &seed.cohort)?;
    let mut ids = Vec::new();
    for a in &seed.associations {
        let created = association::enrol(
            tx,
            &c.id,
            &AssociationInput {
                name: a.name.clone(),
                rna: a.rna.clone(),
                siret: String::new(),
                creation_year: a.year.to_string(),
                creation_date: String::new(),
                salaried_staff: a.staff.to_string(),
                sector: a.sector.clone(),
                town: a.town.clone(),
                general_interest: "on".into(),
                version: String::new(),
            },
            template,
            alsace_moselle,
        )?;
        participant::create(
            tx,
            &created.id,
            &ParticipantInput {
                name: a.director.0.clone(),
                email: a.director.1.clone(),
                role: "direction".into(),
                function: "Directeur·rice".into(),
                reminders: String::new(),
                ..Default::default()
            },
        )?;
        if let Some((name, email, function)) = &a.board {
            participant::create(
                tx,
                &created.id,
                &ParticipantInput {
                    name: name.clone(),
                    email: email.clone(),
                    role: "gouvernance".into(),
                    function: function.clone(),
                    reminders: String::new(),
                    ..Default::default()
                },
            )?;
        }
        ids.push(created.id);
    }
    let generated = programme::generate(tx, &c.id, template, alsace_moselle, false)?;
    // Places and links, as a chargé·e de mission would fill them in.
    for s in &generated.sessions {
        let input = session::SessionInput {
            location: if s.kind == "bilan_individuel" {
                "Dans les locaux de l'association".into()
            } else {
                seed.venue.clone()
            },
            planned_days: crate::domain::fr::half_days_figure(s.planned_half_days as i64),
            agenda: s.agenda.clone(),
            ..Default::default()
        };
        session::update_details(tx, &s.id, &input)?;
    }
    // Homework already due has mostly been returned; the next one partly.
    let most = ids.len().saturating_sub(1);
    for t in &generated.tasks {
        let returned: usize = if t.due_date < today {
            most
        } else if t.due_date < today + Days::new(30) {
            ids.len().min(3)
        } else {
            0
        };
        for (i, aid) in ids.iter().enumerate().take(returned) {
            let on = t
                .due_date
                .checked_sub_days(Days::new((i % 3) as u64))
                .unwrap_or(t.due_date)
                .min(today);
            task::set_return(
                tx,
                &t.id,
                aid,
                &ReturnInput {
                    status: "rendu".into(),
                    returned_on: on.format("%Y-%m-%d").to_string(),
                },
                today,
            )?;
        }
    }
    consultant_days(tx, &c, seed, today)?;
    crate::demo_profiles::load_in_turn(tx, &ids, seed.first_profile)?;
    mail_history(tx, mail, &c.id, c.start_date)?;
    Ok(c.id)
}

/// Mid-way through: the consultant's contract (12 days at 650 €, shared 70/30 between the
/// two DLAs), the time logged for the sessions already held, their logs (attendance, the
/// third party of the effet miroir, notes) and the first pistes d'actions.
fn consultant_days(
    tx: &mut Tx,
    c: &cohort::Cohort,
    seed: &CohortSeed,
    today: NaiveDate,
) -> Result<(), AppError> {
    use crate::models::budget::{self, BudgetInput, ContractInput, FunderInput, FundersInput};
    use crate::models::session_log::{self, AttendanceInput, LogInput};
    use crate::models::time_entry::{self, TimeEntryInput, UNIT_HALF_DAYS, UNIT_HOURS};
    use crate::models::{action_lead, action_lead::ActionLeadInput};
    let cohort_id = c.id.as_str();

    budget::save(
        tx,
        cohort_id,
        &BudgetInput {
            contract: Some(ContractInput {
                contracted_days: "12".into(),
                day_rate: "650".into(),
                day_length: "7".into(),
                version: "0".into(),
            }),
            // Shared 70/30 with the partner DLA, when there is one.
            funders: Some(FundersInput {
                funders: match seed.cohort.partner_dla_ids.first() {
                    Some(partner_id) => vec![
                        FunderInput {
                            name: String::new(),
                            share: "70".into(),
                            dla_id: c.dla_id.clone(),
                        },
                        FunderInput {
                            name: String::new(),
                            share: "30".into(),
                            dla_id: partner_id.clone(),
                        },
                    ],
                    None => vec![FunderInput {
                        name: String::new(),
                        share: "100".into(),
                        dla_id: c.dla_id.clone(),
                    }],
                },
                version: String::new(),
            }),
        },
    )?;
    let associations = association::list_for_cohort(tx, cohort_id)?;
    let ids: Vec<String> = associations.iter().map(|a| a.id.clone()).collect();
    let people = participant::list_for_associations(tx, &ids)?;
    let held: Vec<_> = session::list_for_cohort(tx, cohort_id)?
        .into_iter()
        .filter(|s| s.kind().is_collective() && s.local_start().date() < today)
        .collect();
    let entry =
        |date: NaiveDate, kind: &str, duration: &str, unit: &str, sid: &str, comment: &str| {
            TimeEntryInput {
                date: date.format("%Y-%m-%d").to_string(),
                kind: kind.into(),
                duration: duration.into(),
                unit: unit.into(),
                session_id: sid.into(),
                association_id: String::new(),
                comment: comment.into(),
                version: String::new(),
            }
        };
    for (n, s) in held.iter().enumerate() {
        let day = s.local_start().date();
        let before = day - Days::new(3);
        time_entry::create(
            tx,
            cohort_id,
            &entry(
                day,
                "animation_collective",
                &s.planned_half_days.max(1).to_string(),
                UNIT_HALF_DAYS,
                &s.id,
                "",
            ),
        )?;
        time_entry::create(
            tx,
            cohort_id,
            &entry(
                before,
                "preparation",
                "1",
                UNIT_HALF_DAYS,
                &s.id,
                "Relecture des travaux préparatoires reçus, déroulé détaillé",
            ),
        )?;
        time_entry::create(
            tx,
            cohort_id,
            &entry(
                day,
                "deplacement",
                "1 h 30",
                UNIT_HOURS,
                &s.id,
                &seed.travel,
            ),
        )?;
        // Attendance: everyone, but for an excused board member and one absence.
        let half_days = session_log::half_days_for((s.ends_at - s.starts_at).num_minutes());
        let mut attendance = Vec::new();
        for (i, p) in people.iter().enumerate() {
            for h in 1..=half_days {
                let status = match (n, i, h) {
                    (0, 3, _) => "excuse",
                    (1, 5, 2) => "absent",
                    _ => "present",
                };
                attendance.push(AttendanceInput {
                    participant_id: p.id.clone(),
                    half_day: h.to_string(),
                    status: status.into(),
                });
            }
        }
        let (kind, name, notes) = if n == 0 {
            (
                "",
                "",
                "Tour de table riche : chaque structure a présenté ses missions. Les trois \
                 piliers du modèle socio-économique ont été illustrés par des exemples du \
                 territoire. Travaux préparatoires de l'état des lieux présentés et distribués.",
            )
        } else {
            (
                "charge_de_mission",
                seed.mirror_guest.as_str(),
                "Forte dépendance aux subventions publiques pour quatre structures sur huit. \
                 Bénévolat très présent mais peu valorisé. Les alliances restent surtout \
                 associatives : pistes vers les entreprises du territoire et les collectivités.",
            )
        };
        session_log::save(
            tx,
            &s.id,
            &LogInput {
                third_party_kind: kind.into(),
                third_party_name: name.into(),
                notes: notes.into(),
                version: "0".into(),
                attendance,
            },
        )?;
    }
    if let Some(last) = held.last() {
        time_entry::create(
            tx,
            cohort_id,
            &entry(
                last.local_start().date() + Days::new(2),
                "coordination",
                "2 h",
                UNIT_HOURS,
                "",
                "Point d'étape avec le DLA ; relances des travaux non rendus",
            ),
        )?;
        let leads = [
            (
                0,
                "Valoriser le bénévolat dans les comptes (contributions volontaires en nature)",
                "La trésorière",
                60,
            ),
            (
                0,
                "Rencontrer deux entreprises du quartier pour un mécénat de compétences",
                "La directrice",
                90,
            ),
            (
                2,
                "Diversifier les financeurs publics : déposer un dossier auprès de la Région",
                "Le directeur",
                45,
            ),
            (
                4,
                "Construire une offre de formation payante pour les clubs voisins",
                "La directrice et le bureau",
                120,
            ),
        ];
        for (i, text, owner, days) in leads {
            if let Some(a) = associations.get(i) {
                action_lead::create(
                    tx,
                    &a.id,
                    &ActionLeadInput {
                        text: text.into(),
                        owner: owner.into(),
                        due_date: (today + Days::new(days)).format("%Y-%m-%d").to_string(),
                        session_id: last.id.clone(),
                        version: String::new(),
                    },
                )?;
            }
        }
    }
    Ok(())
}

/// The demo's outbox, as if the programme had been published three weeks before the first
/// session: what was due is recorded as sent (nothing really leaves), with one address that
/// bounced, one reminder missed, one draft held for review and one email cancelled; what is
/// still to come waits, scheduled.
fn mail_history(
    tx: &mut Tx,
    mail: &MailContext,
    cohort_id: &str,
    start: NaiveDate,
) -> Result<(), AppError> {
    use crate::db::schema::{cohorts, outbox_emails};
    use crate::domain::outbox::Status;
    use diesel::prelude::*;

    let now = tx.now();
    let published = crate::domain::schedule::local(
        start - Days::new(21),
        chrono::NaiveTime::from_hms_opt(10, 0, 0).expect("time"),
    );
    cohort::publish(tx, cohort_id)?;
    diesel::update(cohorts::table.find(cohort_id))
        .set(cohorts::published_at.eq(Some(published.naive_utc())))
        .execute(tx.conn())?;
    // The emails as planned at publication, then the history of those already due.
    planner::sync_cohort(tx, mail, cohort_id, published)?;
    let rows = outbox::list_for_cohort(tx, cohort_id)?;
    let mut due: Vec<_> = rows
        .iter()
        .filter(|r| r.send_after.and_utc() <= now)
        .collect();
    due.sort_by_key(|r| r.send_after);
    for r in &due {
        diesel::update(outbox_emails::table.find(&r.id))
            .set((
                outbox_emails::status.eq(Status::Sent.as_str()),
                outbox_emails::attempts.eq(1),
                outbox_emails::sent_at.eq(Some(r.send_after)),
                outbox_emails::message_id.eq(Some(format!("<demo-{}@cohorte.demo>", r.id))),
            ))
            .execute(tx.conn())?;
        outbox::settle(tx, std::slice::from_ref(&r.id), r.send_after)?;
    }
    // A director's address that the receiving server refused: the convocation of a session
    // still to come (one whose session has begun would be cancelled by the planner's next
    // sync, « la séance a commencé avant son envoi »; the ids, random, decide the order).
    if let Some(r) = due
        .iter()
        .find(|r| r.kind == planner::CONVOCATION && r.not_after.is_none_or(|t| t.and_utc() > now))
    {
        diesel::update(outbox_emails::table.find(&r.id))
            .set((
                outbox_emails::status.eq(Status::Failed.as_str()),
                outbox_emails::sent_at.eq(None::<chrono::NaiveDateTime>),
                outbox_emails::last_error.eq(Some(
                    "Adresse refusée par le serveur du destinataire (550).",
                )),
                outbox_emails::last_error_detail.eq(Some(format!(
                    "RCPT TO : permanent error (550): 5.1.1 <{}>: Recipient address rejected: \
                     User unknown in virtual mailbox table",
                    r.recipient_email
                ))),
            ))
            .execute(tx.conn())?;
    }
    // A J-1 reminder the dispatcher could not send before its session began.
    if let Some(r) = due.iter().rev().find(|r| r.kind == "reminder_j1") {
        diesel::update(outbox_emails::table.find(&r.id))
            .set((
                outbox_emails::status.eq(Status::Missed.as_str()),
                outbox_emails::sent_at.eq(None::<chrono::NaiveDateTime>),
                outbox_emails::attempts.eq(3),
                outbox_emails::last_error.eq(Some("Le serveur d'envoi ne répond pas.")),
                outbox_emails::last_error_detail.eq(Some(
                    "connexion : Connection error: Connection refused (os error 111)",
                )),
            ))
            .execute(tx.conn())?;
    }
    // Now: the rest of the plan is brought up to date, one email is held for review and
    // one is cancelled by the chargé·e de mission.
    planner::sync_cohort(tx, mail, cohort_id, now)?;
    diesel::update(cohorts::table.find(cohort_id))
        .set(cohorts::mail_dirty.eq(false))
        .execute(tx.conn())?;
    let upcoming: Vec<_> = outbox::list_for_cohort(tx, cohort_id)?
        .into_iter()
        .filter(|r| r.status() == Status::Scheduled && r.send_after.and_utc() > now)
        .collect();
    if let Some(r) = upcoming.iter().find(|r| r.kind == "reminder_j7") {
        outbox::hold(tx, &r.id)?;
    }
    if let Some(r) = upcoming.iter().rev().find(|r| r.kind == "homework_overdue") {
        outbox::cancel(tx, &r.id)?;
        diesel::update(outbox_emails::table.find(&r.id))
            .set(outbox_emails::note.eq(Some(
                "Annulé par l'équipe : l'association a prévenu de son retard.".to_string(),
            )))
            .execute(tx.conn())?;
    }
    Ok(())
}

/// Role label, name, email, role code, DLA, consultant record.
type StaffSeed = (
    &'static str,
    String,
    String,
    &'static str,
    Option<String>,
    Option<String>,
);

/// A demo account and how to sign in with it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DemoAccount {
    pub role: &'static str,
    pub name: String,
    pub email: String,
    /// The password (staff) or the sign-in link (participant); shown once.
    pub password: Option<String>,
    pub link: Option<String>,
}

/// One account per role on the demo cohort: an administrator (when the instance has none),
/// the cohort's chargé·e de mission and consultant·e with generated passwords, and a
/// sign-in link for one participant.
pub fn accounts(
    tx: &mut Tx,
    cohort_id: &str,
    public_url: &str,
    link_days: u64,
) -> Result<Vec<DemoAccount>, AppError> {
    use crate::models::account::{self, LinkPurpose, LinkTarget, NewUser};
    let c = cohort::get(tx, cohort_id)?;
    let password =
        || -> Result<String, AppError> { Ok(format!("demo-{}", &account::new_secret()?[..16])) };
    let mut out = Vec::new();
    let has_admin = account::list(tx)?
        .iter()
        .any(|u| u.role() == account::Role::Admin);
    let mut staff: Vec<StaffSeed> = Vec::new();
    if !has_admin {
        staff.push((
            "Administrateur·rice",
            "Camille Admin".into(),
            "admin@cohorte.demo".into(),
            "admin",
            None,
            None,
        ));
    }
    staff.push((
        "Chargé·e de mission",
        c.officer_name.clone(),
        c.officer_email.clone(),
        "officer",
        Some(c.dla_id.clone()),
        None,
    ));
    if let Some(cid) = &c.consultant_id {
        let k = consultant::get(tx, cid)?;
        staff.push((
            "Consultant·e",
            k.name.clone(),
            k.email.clone(),
            "consultant",
            None,
            Some(cid.clone()),
        ));
    }
    for (role, name, email, code, dla_id, consultant_id) in staff {
        if account::find_by_email(tx, &email)?.is_some() {
            continue;
        }
        let pw = password()?;
        account::create(
            tx,
            NewUser {
                email: &email,
                name: &name,
                role: code,
                dla_id: dla_id.as_deref(),
                consultant_id: consultant_id.as_deref(),
                password: Some(&pw),
            },
        )?;
        out.push(DemoAccount {
            role,
            name,
            email,
            password: Some(pw),
            link: None,
        });
    }
    let associations: Vec<String> = association::list_for_cohort(tx, cohort_id)?
        .into_iter()
        .map(|a| a.id)
        .take(1)
        .collect();
    let people = crate::models::participant::list_for_associations(tx, &associations)?;
    if let Some(p) = people.first() {
        let token = account::create_link(
            tx,
            LinkPurpose::ParticipantSignIn,
            &LinkTarget {
                user_id: None,
                participant_id: Some(p.id.clone()),
            },
            chrono::Duration::days(link_days.max(1) as i64),
            tx.now_naive(),
        )?;
        out.push(DemoAccount {
            role: "Participant·e",
            name: p.name.clone(),
            email: p.email.clone(),
            password: None,
            link: Some(format!(
                "{}/connexion/lien/{token}",
                public_url.trim_end_matches('/')
            )),
        });
    }
    Ok(out)
}
