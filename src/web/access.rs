//! Authorization, in one place: every route of the app is classified here by method and
//! path pattern, and `decide` says whether an actor may use it. The guard middleware
//! (`web::actor::guard`) applies it before any handler runs; a route missing from this
//! table is refused to everybody (and `tests/access.rs` fails).
//!
//! Handlers only narrow what they list (a chargé·e de mission sees their DLA's cohorts) and
//! check ids that arrive in a body (the DLA of a new cohort).

use crate::models::account::Role;
use crate::models::scope::{CohortReach, Via};
use crate::web::actor::Actor;

/// What a cohort-bound route needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Read: the cohort's DLA (and partner DLAs), its consultant, administrators.
    View,
    /// Log the work of the accompaniment (time, session logs, pistes, profiles, returns):
    /// the same people as `View`.
    Work,
    /// Change the cohort itself (enrolments, programme, emails, contract): its DLA's
    /// chargé·es de mission and administrators.
    Manage,
}

/// Who may use a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Anybody, signed in or not (sign-in pages, signed links, static files).
    Public,
    /// Any staff member (what they see is narrowed by the handler).
    Staff,
    /// Administrators and chargé·es de mission.
    Officer,
    Admin,
    /// A signed-in participant; the handler serves their own items only.
    Participant,
    /// The cohort that the path's `{id}` (a resource of this kind) belongs to.
    Cohort(Via, Need),
    /// The DLA named by the path's `{id}`: its chargé·es de mission and administrators.
    Dla,
    /// The consultant record named by the path's `{id}`: administrators, and chargé·es de
    /// mission of a DLA the record belongs to (`consultant_dlas`). A record that belongs to
    /// no DLA is for administrators only.
    ConsultantRecord,
}

/// The rule of a route, by method and path pattern as registered.
/// The methods a route pattern takes (for a 405's `Allow`); empty for an unknown pattern.
pub fn methods(pattern: &str) -> Vec<&'static str> {
    ["GET", "POST", "PUT", "DELETE"]
        .into_iter()
        .filter(|m| rule(m, pattern).is_some())
        .collect()
}

pub fn rule(method: &str, pattern: &str) -> Option<Rule> {
    use Need::*;
    use Rule::{Admin, Dla, Officer, Public, Staff};
    use Via::{Association, Email, Lead, Session, Task, TimeEntry};
    let c = |via, need| Some(Rule::Cohort(via, need));
    match (method, pattern) {
        // --- Public: signing in, signed links, static files --------------------------
        ("GET", "/") | ("GET", "/static/{file}") => Some(Public),
        // For a proxy: the process serves and the database answers; no detail.
        ("GET", "/healthz") => Some(Public),
        ("GET" | "POST", "/connexion") => Some(Public),
        ("POST", "/deconnexion") => Some(Public),
        ("GET" | "POST", "/mot-de-passe-oublie") => Some(Public),
        ("GET" | "POST", "/mot-de-passe/{token}") => Some(Public),
        ("GET" | "POST", "/premier-administrateur/{token}") => Some(Public),
        ("GET" | "POST", "/connexion/lien/{token}") => Some(Public),
        ("GET" | "POST", "/connexion/participant") => Some(Public),
        ("GET" | "POST", "/desabonnement/{participant}/{token}") => Some(Public),
        ("GET", "/agenda/{participant}/{token}") => Some(Public),
        // A staff member's private calendar feed (signed, revocable: `models::feed`).
        ("GET", "/agenda-equipe/{user}/{token}") => Some(Public),
        ("GET", "/espace/{participant}/{token}") => Some(Public),
        // A call's application form and an applicant's private link (no account).
        ("GET" | "POST", "/candidature/{token}") => Some(Public),
        ("GET" | "POST", "/candidature/modifier/{secret}") => Some(Public),
        ("POST", "/candidature/modifier/{secret}/retirer") => Some(Public),
        ("GET" | "POST", "/espace/{participant}/{token}/modele/{stage}") => Some(Public),

        // --- Participant portal ----------------------------------------------------------
        ("GET", "/portail") => Some(Rule::Participant),
        ("POST", "/portail/taches/{id}") => Some(Rule::Participant),
        ("GET" | "POST", "/portail/preferences") => Some(Rule::Participant),
        ("GET" | "POST", "/portail/engagement") => Some(Rule::Participant),
        ("GET" | "POST", "/portail/modele/{stage}") => Some(Rule::Participant),
        // The member's own association's évaluation and follow-up (`scope::Member`).
        ("GET" | "POST", "/portail/evaluation") => Some(Rule::Participant),
        ("GET" | "POST", "/portail/suivi") => Some(Rule::Participant),

        // --- Own account -----------------------------------------------------------------
        ("GET", "/compte") => Some(Staff),
        ("POST", "/compte/mot-de-passe") => Some(Staff),
        ("POST", "/compte/jetons") => Some(Staff),
        ("GET" | "POST", "/compte/jetons/{id}/revoquer") => Some(Staff),
        ("POST", "/compte/agenda/renouveler") => Some(Staff),
        ("GET", "/api/v1/me") => Some(Staff),

        // --- Instance administration -----------------------------------------------------
        ("GET" | "POST", "/utilisateurs") => Some(Admin),
        ("GET", "/utilisateurs/nouveau") => Some(Admin),
        ("GET" | "POST", "/utilisateurs/{id}/modifier") => Some(Admin),
        ("POST", "/utilisateurs/{id}/lien") => Some(Admin),
        ("POST", "/demo") => Some(Admin),
        ("POST", "/dla") | ("POST", "/api/v1/dlas") => Some(Admin),

        // --- DLA level -------------------------------------------------------------------
        ("GET", "/dla") | ("GET", "/api/v1/dlas") => Some(Officer),
        ("GET", "/dla/{id}") | ("GET", "/api/v1/dlas/{id}") => Some(Dla),
        ("GET" | "POST", "/dla/{id}/modifier") | ("PUT", "/api/v1/dlas/{id}") => Some(Dla),
        ("GET", "/dla/{id}/modifications") => Some(Dla),
        // The DLA's calendar and places (issue #17); a place is reached through its DLA's
        // path, and the handler refuses one of another DLA.
        ("GET", "/dla/{id}/calendrier") => Some(Dla),
        ("GET" | "POST", "/dla/{id}/lieux") => Some(Dla),
        ("GET" | "POST", "/dla/{id}/lieux/{place}/modifier") => Some(Dla),
        ("POST", "/dla/{id}/lieux/{place}/archiver") => Some(Dla),
        // The activity report (issue #17): a DLA's, and the instance's for administrators.
        ("GET", "/dla/{id}/rapport")
        | ("GET", "/dla/{id}/rapport.csv")
        | ("GET", "/api/v1/dlas/{id}/report") => Some(Dla),
        ("GET", "/rapport") | ("GET", "/rapport.csv") | ("GET", "/api/v1/report") => Some(Admin),
        // Association search: narrowed to the cohorts the person sees (`cohort_scope`).
        ("GET", "/associations") | ("GET", "/api/v1/associations") => Some(Staff),
        ("GET" | "POST", "/consultants") | ("GET" | "POST", "/api/v1/consultants") => Some(Officer),
        ("GET" | "POST", "/consultants/{id}/modifier") | ("PUT", "/api/v1/consultants/{id}") => {
            Some(Rule::ConsultantRecord)
        }
        ("GET", "/cohortes") | ("GET", "/api/v1/cohorts") => Some(Staff),
        ("GET", "/api/v1/openapi.json") => Some(Staff),
        ("GET", "/api/v1/outbox/status") => Some(Admin),
        ("GET", "/cohortes/nouvelle") | ("POST", "/cohortes") | ("POST", "/api/v1/cohorts") => {
            Some(Officer)
        }

        // --- A cohort --------------------------------------------------------------------
        ("GET", "/cohortes/{id}")
        | ("GET", "/cohortes/{id}/tableau-de-bord")
        | ("GET", "/cohortes/{id}/budget")
        | ("GET", "/cohortes/{id}/temps.csv")
        | ("GET", "/cohortes/{id}/presences.csv")
        | ("GET", "/cohortes/{id}/miroir")
        | ("GET", "/cohortes/{id}/modeles.csv")
        | ("GET", "/cohortes/{id}/evaluations")
        | ("GET", "/cohortes/{id}/evaluations.csv")
        | ("GET", "/api/v1/cohorts/{id}/evaluations")
        | ("GET", "/api/v1/cohorts/{id}")
        | ("GET", "/api/v1/cohorts/{id}/warnings")
        | ("GET", "/api/v1/cohorts/{id}/programme-template")
        | ("GET", "/api/v1/cohorts/{id}/associations")
        | ("GET", "/api/v1/cohorts/{id}/budget")
        | ("GET", "/api/v1/cohorts/{id}/time-entries")
        | ("GET", "/api/v1/cohorts/{id}/sessions")
        | ("GET", "/api/v1/cohorts/{id}/tasks") => c(Via::Cohort, View),
        ("POST", "/cohortes/{id}/temps") | ("POST", "/api/v1/cohorts/{id}/time-entries") => {
            c(Via::Cohort, Work)
        }
        ("GET" | "POST", "/cohortes/{id}/modifier")
        | ("POST", "/cohortes/{id}/programme")
        | ("GET" | "POST", "/cohortes/{id}/modele")
        | ("GET", "/cohortes/{id}/associations/nouvelle")
        | ("POST", "/cohortes/{id}/associations")
        | ("GET" | "POST", "/cohortes/{id}/import")
        | ("GET", "/cohortes/{id}/import/modele.csv")
        | ("POST", "/cohortes/{id}/import/apercu")
        | ("POST", "/api/v1/cohorts/{id}/import")
        | ("POST", "/cohortes/{id}/budget/contrat")
        | ("POST", "/cohortes/{id}/budget/financeurs")
        | ("GET", "/cohortes/{id}/miroir/consentements")
        | ("GET", "/cohortes/{id}/envois")
        | ("GET" | "POST", "/cohortes/{id}/publier")
        | ("GET" | "POST", "/cohortes/{id}/envois/reglages")
        | ("POST", "/cohortes/{id}/envois/valider")
        | ("GET", "/cohortes/{id}/seances/nouvelle")
        | ("POST", "/cohortes/{id}/seances")
        | ("GET", "/cohortes/{id}/taches/nouvelle")
        | ("POST", "/cohortes/{id}/taches")
        | ("GET", "/cohortes/{id}/modifications")
        | ("GET" | "POST", "/cohortes/{id}/appel")
        | ("POST", "/cohortes/{id}/appel/lien")
        | ("GET" | "PUT" | "DELETE", "/api/v1/cohorts/{id}/call")
        | ("POST", "/api/v1/cohorts/{id}/call/link")
        | ("PUT", "/api/v1/cohorts/{id}")
        | ("POST", "/api/v1/cohorts/{id}/programme")
        | ("PUT" | "DELETE", "/api/v1/cohorts/{id}/programme-template")
        | ("POST", "/api/v1/cohorts/{id}/associations")
        | ("PUT", "/api/v1/cohorts/{id}/budget")
        | ("POST", "/api/v1/cohorts/{id}/publish")
        | ("GET" | "PUT", "/api/v1/cohorts/{id}/mail-settings")
        | ("GET", "/api/v1/cohorts/{id}/outbox")
        | ("GET", "/api/v1/cohorts/{id}/outbox/{email_id}")
        | ("POST", "/api/v1/cohorts/{id}/sessions")
        | ("POST", "/api/v1/cohorts/{id}/tasks")
        | ("GET", "/api/v1/cohorts/{id}/audit")
        // The call's applications and their selection (issue #14).
        | ("GET", "/cohortes/{id}/candidatures")
        | ("POST", "/cohortes/{id}/candidatures/inscrire")
        | ("GET", "/cohortes/{id}/candidatures/courriers")
        | ("POST", "/cohortes/{id}/candidatures/courriers/{status}")
        | ("GET", "/api/v1/cohorts/{id}/applications") => c(Via::Cohort, Manage),
        ("GET", "/candidatures/{id}")
        | ("POST", "/candidatures/{id}/decision")
        | ("POST", "/candidatures/{id}/inscrire")
        | ("GET", "/api/v1/applications/{id}")
        | ("POST", "/api/v1/applications/{id}/decision")
        | ("POST", "/api/v1/applications/{id}/enrol") => c(Via::Application, Manage),

        // --- An association and its people -----------------------------------------------
        ("GET", "/associations/{id}")
        | ("GET", "/associations/{id}/compte-rendu")
        | ("GET", "/associations/{id}/bilan-modele")
        | ("GET", "/associations/{id}/modele")
        | ("GET", "/associations/{id}/modele.csv")
        | ("GET", "/associations/{id}/modele/imprimer")
        | ("GET", "/api/v1/associations/{id}")
        | ("GET", "/api/v1/associations/{id}/participants")
        | ("GET", "/api/v1/associations/{id}/action-leads")
        | ("GET", "/api/v1/associations/{id}/profile/{stage}") => c(Association, View),
        ("POST", "/associations/{id}/compte-rendu/envoyer")
        | ("GET" | "POST", "/associations/{id}/modele/{stage}")
        | ("POST", "/api/v1/associations/{id}/action-leads")
        | ("PUT", "/api/v1/associations/{id}/profile/{stage}") => c(Association, Work),
        ("GET" | "POST", "/associations/{id}/modifier")
        | ("GET" | "POST", "/associations/{id}/retirer")
        | ("GET", "/associations/{id}/participants/nouveau")
        | ("POST", "/associations/{id}/participants")
        | ("POST", "/associations/{id}/miroir")
        | ("GET" | "POST", "/associations/{id}/anonymiser")
        | ("PUT" | "DELETE", "/api/v1/associations/{id}")
        | ("POST", "/api/v1/associations/{id}/participants")
        | ("POST", "/api/v1/associations/{id}/anonymise") => c(Association, Manage),
        ("GET" | "POST", "/participants/{id}/modifier")
        | ("GET" | "POST", "/participants/{id}/retirer")
        | ("GET" | "POST", "/participants/{id}/renouveler-liens")
        | ("GET", "/participants/{id}/export.json")
        | ("GET" | "POST", "/participants/{id}/anonymiser")
        | ("PUT" | "DELETE", "/api/v1/participants/{id}")
        | ("GET", "/api/v1/participants/{id}/export")
        | ("POST", "/api/v1/participants/{id}/anonymise") => c(Via::Participant, Manage),

        // --- Sessions, their logs and pistes d'actions -----------------------------------
        ("GET", "/seances/{id}")
        | ("GET", "/seances/{id}/journal")
        | ("GET", "/seances/{id}/emargement")
        | ("GET", "/api/v1/sessions/{id}")
        | ("GET", "/api/v1/sessions/{id}/log")
        | ("GET", "/api/v1/sessions/{id}/guests") => c(Session, View),
        ("POST", "/seances/{id}/journal")
        | ("POST", "/seances/{id}/pistes")
        | ("PUT", "/api/v1/sessions/{id}/log") => c(Session, Work),
        ("GET" | "POST", "/seances/{id}/modifier")
        | ("GET" | "POST", "/seances/{id}/deplacer")
        | ("GET" | "POST", "/seances/{id}/supprimer")
        | ("PUT" | "DELETE", "/api/v1/sessions/{id}")
        | ("POST", "/api/v1/sessions/{id}/move")
        // A bilan's guests are convoked by email: the cohort's DLA decides.
        | ("POST", "/seances/{id}/invites")
        | ("GET" | "POST", "/seances/{id}/invites/{guest}/retirer")
        | ("POST", "/api/v1/sessions/{id}/guests")
        | ("DELETE", "/api/v1/sessions/{id}/guests/{guest}") => c(Session, Manage),
        ("GET" | "POST", "/pistes/{id}/modifier")
        | ("GET" | "POST", "/pistes/{id}/supprimer")
        | ("PUT" | "DELETE", "/api/v1/action-leads/{id}") => c(Lead, Work),

        // --- Tasks, time entries, emails -------------------------------------------------
        ("POST", "/taches/{id}/associations/{aid}")
        | ("PUT", "/api/v1/tasks/{id}/associations/{association_id}") => c(Task, Work),
        ("GET" | "POST", "/taches/{id}/modifier")
        | ("GET" | "POST", "/taches/{id}/supprimer")
        | ("PUT" | "DELETE", "/api/v1/tasks/{id}") => c(Task, Manage),
        ("GET" | "POST", "/temps/{id}/modifier")
        | ("GET" | "POST", "/temps/{id}/supprimer")
        | ("PUT" | "DELETE", "/api/v1/time-entries/{id}") => c(TimeEntry, Work),
        ("GET", "/envois/{id}")
        | ("POST", "/envois/{id}/valider")
        | ("POST", "/envois/{id}/retenir")
        | ("GET" | "POST", "/envois/{id}/annuler")
        | ("POST", "/envois/{id}/renvoyer") => c(Email, Manage),

        _ => None,
    }
}

/// The answer for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Nobody is signed in: sign in first.
    SignIn,
    Deny,
}

/// Whether `actor` may use a route with `rule`. For cohort rules, `reach` is who may reach
/// the cohort the resource belongs to; for `Rule::Dla`, `dla_id` is the path's DLA; for
/// `Rule::ConsultantRecord`, `record_dlas` are the DLAs the consultant record belongs to.
pub fn decide(
    actor: &Actor,
    rule: Rule,
    reach: Option<&CohortReach>,
    dla_id: Option<&str>,
    record_dlas: &[String],
) -> Decision {
    use Decision::*;
    if rule == Rule::Public {
        return Allow;
    }
    let staff = match actor {
        Actor::Anonymous => return SignIn,
        Actor::Participant(_) => {
            return if rule == Rule::Participant {
                Allow
            } else {
                Deny
            };
        }
        Actor::Staff(s) => s,
    };
    let allowed = match (staff.role, rule) {
        (_, Rule::Participant) => false,
        (Role::Admin, _) => true,
        (_, Rule::Staff) => true,
        (Role::Officer, Rule::Officer) => true,
        (_, Rule::Officer | Rule::Admin) => false,
        (Role::Officer, Rule::Dla) => dla_id.is_some() && staff.dla_id.as_deref() == dla_id,
        (_, Rule::Dla) => false,
        (Role::Officer, Rule::ConsultantRecord) => staff
            .dla_id
            .as_deref()
            .is_some_and(|dla| record_dlas.iter().any(|d| d == dla)),
        (_, Rule::ConsultantRecord) => false,
        (Role::Officer, Rule::Cohort(_, _)) => match (reach, staff.dla_id.as_deref()) {
            (Some(r), Some(dla)) => r.has_dla(dla),
            _ => false,
        },
        (Role::Consultant, Rule::Cohort(_, need)) => {
            need != Need::Manage
                && matches!((reach, staff.consultant_id.as_deref()),
                    (Some(r), Some(c)) if r.consultant_id.as_deref() == Some(c))
        }
        (_, Rule::Public) => true,
    };
    if allowed { Allow } else { Deny }
}
