//! Personal data (GDPR): download everything about a participant·e as JSON, anonymise a
//! participant·e or an association after a confirmation page that says what is kept and
//! what is erased (`models::privacy`).

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::export::csv;
use crate::models::{association, participant, privacy};
use crate::web::AppState;
use crate::web::pages::{PageResult, redirect, render};

pub fn routes(cfg: &mut crate::web::routes::Routes) {
    cfg.route("/participants/{id}/export.json", web::get().to(export))
        .route(
            "/participants/{id}/anonymiser",
            web::get().to(confirm_participant),
        )
        .route(
            "/participants/{id}/anonymiser",
            web::post().to(anonymise_participant),
        )
        .route(
            "/associations/{id}/anonymiser",
            web::get().to(confirm_association),
        )
        .route(
            "/associations/{id}/anonymiser",
            web::post().to(anonymise_association),
        );
}

/// The French sentences of this module's notices (`pages::notice_text`).
pub fn notice_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "participant_anonymise" => {
            "La personne a été anonymisée : son nom, son adresse et le contenu des e-mails \
             qui lui étaient destinés sont effacés ; ses présences restent comptées."
        }
        "association_anonymisee" => {
            "L'association et ses participant·es ont été anonymisés ; présences, temps \
             passés et chiffres du modèle socio-économique restent comptés."
        }
        _ => return None,
    })
}

/// Everything stored about the person, as a JSON file to download.
async fn export(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let now = state.clock.now();
    let data = crate::db::run(&state.pool, move |c| {
        privacy::export_participant(c, &id, now)
    })
    .await?;
    let name = data["participant"]["name"].as_str().unwrap_or_default();
    let filename = format!(
        "donnees-{}-{}.json",
        csv::filename_slug(name, "participant"),
        crate::models::programme::today(state.clock.now()).format("%Y-%m-%d")
    );
    let body = serde_json::to_string_pretty(&data)
        .map_err(|e| crate::error::AppError::Internal(e.into()))?;
    Ok(HttpResponse::Ok()
        .content_type("application/json; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, csv::attachment(&filename)))
        .body(body))
}

async fn confirm_participant(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let pid = id.clone();
    let (p, a, co) = crate::db::run(&state.pool, move |c| {
        let p = participant::get(c, &pid)?;
        let a = association::get(c, &p.association_id)?;
        let co = crate::models::cohort::get(c, &a.cohort_id)?;
        Ok((p, a, co))
    })
    .await?;
    render(
        &state,
        "pages/privacy/anonymise",
        json!({
            "title": format!("Anonymiser {} ?", p.name),
            "nav_cohorts": true,
            "cohort": {"id": co.id, "name": co.name},
            "association": {"id": a.id, "name": a.name},
            "subject": p.name,
            "erased": [
                "le nom (remplacé par « Participant·e anonymisé·e »), l'adresse e-mail et la fonction ;",
                "le contenu, l'adresse et le nom des e-mails qui lui étaient destinés ; ceux qui ne sont pas encore partis sont annulés ;",
                "ses connexions et liens de connexion, ses liens personnels (espace et agenda) ;",
                "son nom et son adresse là où ils avaient été recopiés : notes de séance, commentaires, historique des modifications.",
            ],
            "kept": [
                "sa place dans l'association et son rôle (direction, gouvernance…) ;",
                "ses présences aux séances, comptées dans les bilans et la mobilisation ;",
                "l'historique des envois (dates et statuts), sans leur contenu.",
            ],
            "export_url": format!("/participants/{id}/export.json"),
            "action": format!("/participants/{id}/anonymiser"),
            "confirm_label": "Anonymiser la personne",
            "cancel": format!("/associations/{}", a.id),
        }),
    )
}

async fn anonymise_participant(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let p = state
        .erase(move |c| privacy::anonymise_participant(c, &id))
        .await?;
    Ok(redirect(
        &format!("/associations/{}", p.association_id),
        Some("participant_anonymise"),
    ))
}

async fn confirm_association(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let aid = id.clone();
    let (a, n, co) = crate::db::run(&state.pool, move |c| {
        let a = association::get(c, &aid)?;
        let co = crate::models::cohort::get(c, &a.cohort_id)?;
        Ok((a, participant::list_for_association(c, &aid)?.len(), co))
    })
    .await?;
    render(
        &state,
        "pages/privacy/anonymise",
        json!({
            "title": format!("Anonymiser {} ?", a.name),
            "nav_cohorts": true,
            "cohort": {"id": co.id, "name": co.name},
            "association": {"id": a.id, "name": a.name},
            "subject": a.name,
            "erased": [
                "le nom de l'association (remplacé par « Association anonymisée »), son RNA, son SIRET et sa commune ;",
                format!("l'identité de ses {n} participant·es, comme pour l'anonymisation d'une personne ;"),
                "les textes de son modèle socio-économique (lecture, leviers, noms des financeurs et partenaires), de ses pistes d'actions et de ses réponses aux travaux préparatoires ;",
                "son nom et ses identifiants là où ils avaient été recopiés : e-mails, notes, commentaires, historique.",
            ],
            "kept": [
                "son inscription dans la cohorte, son secteur, son année de création et ses effectifs ;",
                "les présences, les temps passés et le suivi des travaux préparatoires ;",
                "les chiffres de son modèle socio-économique (ressources, effectifs, alliances par nature).",
            ],
            "action": format!("/associations/{id}/anonymiser"),
            "confirm_label": "Anonymiser l'association",
            "cancel": format!("/associations/{id}"),
        }),
    )
}

async fn anonymise_association(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let a = state
        .erase(move |c| privacy::anonymise_association(c, &id))
        .await?;
    Ok(redirect(
        &format!("/associations/{}", a.id),
        Some("association_anonymisee"),
    ))
}
