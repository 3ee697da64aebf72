//! « Importer une liste » (`models::import`): the page to paste rows or upload a file, the
//! model file, the preview whose cells are editable (« Vérifier à nouveau »,
//! « Importer »), and the notice on the cohort page once saved.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::domain::import::{self as rows, COLUMNS, ImportRow, Table};
use crate::error::AppError;
use crate::models::import::{self, Outcome, Preview};
use crate::web::AppState;
use crate::web::form::Form;
use crate::web::pages::{PageResult, Refusal, redirect, render, render_status};

pub fn routes(cfg: &mut crate::web::routes::Routes) {
    cfg.route("/cohortes/{id}/import", web::get().to(page))
        .route("/cohortes/{id}/import", web::post().to(upload))
        .route("/cohortes/{id}/import/modele.csv", web::get().to(model))
        .route("/cohortes/{id}/import/apercu", web::post().to(check_again));
}

/// The largest file or paste read (as the guard's limit for any form).
const LIMIT: usize = 512 * 1024;

/// The notice of the cohort page after an import: `import_8_16` → « 8 associations et 16
/// participant·es importés. »
pub fn notice_text(code: &str) -> Option<String> {
    let (a, p) = code.strip_prefix("import_")?.split_once('_')?;
    Some(
        import::Imported {
            associations: a.parse().ok()?,
            participants: p.parse().ok()?,
        }
        .sentence(),
    )
}

async fn page(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let cohort = crate::web::pages::associations::cohort_ctx(&state, &path.into_inner()).await?;
    render(
        &state,
        "pages/import/form",
        json!({"title": "Importer une liste", "nav_cohorts": true, "cohort": cohort}),
    )
}

/// The model file: the headers and one example association with its two people, written
/// by the CSV exports' writer (UTF-8 with BOM, `;`), as French Excel opens it.
async fn model() -> HttpResponse {
    let example = [
        [
            "Association exemple (à remplacer)",
            "W332004518",
            "",
            "Bègles",
            "15/09/2012",
            "4",
            "Culture",
            "oui",
            "Anne Martin",
            "anne.martin@exemple.fr",
            "Direction salariée",
            "Directrice",
        ],
        [
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "Paul Durand",
            "paul.durand@exemple.fr",
            "Membre du CA",
            "Président",
        ],
    ];
    let body = crate::export::csv::csv(
        &rows::model_header(),
        &example
            .iter()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect::<Vec<_>>(),
    );
    HttpResponse::Ok()
        .content_type(crate::export::csv::CONTENT_TYPE)
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"modele-import-cohorte.csv\"",
        ))
        .body(body)
}

/// What was sent: the text and where it came from.
struct Sent {
    text: String,
    source: String,
}

/// A file (`file`) or pasted rows (`text`), from a multipart form as the page sends it or
/// an urlencoded one.
async fn read_sent(req: &HttpRequest, payload: web::Payload) -> Result<Sent, AppError> {
    let too_large = || AppError::TooLarge("Le fichier envoyé dépasse 500 Ko.".into());
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    let unreadable = || AppError::BadRequest {
        code: "invalid_form",
        message: "Le formulaire envoyé est illisible.".into(),
    };
    if !multipart {
        let body = payload
            .to_bytes_limited(LIMIT)
            .await
            .map_err(|_| too_large())?
            .map_err(|_| unreadable())?;
        let pairs: Vec<(String, String)> =
            serde_html_form::from_bytes(&body).map_err(|_| unreadable())?;
        let text = pairs
            .into_iter()
            .find(|(k, _)| k == "text")
            .map(|(_, v)| v)
            .unwrap_or_default();
        return Ok(Sent {
            text,
            source: "collage".into(),
        });
    }
    let mut form = actix_multipart::Multipart::new(req.headers(), payload);
    let (mut text, mut file, mut file_name) = (Vec::new(), Vec::new(), String::new());
    let mut total = 0usize;
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|_| unreadable())?;
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            file_name = field
                .content_disposition()
                .and_then(|d| d.get_filename())
                .unwrap_or("")
                .to_string();
        }
        let mut value = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|_| unreadable())?;
            total += chunk.len();
            if total > LIMIT {
                return Err(too_large());
            }
            value.extend_from_slice(&chunk);
        }
        match name.as_str() {
            "text" => text = value,
            "file" => file = value,
            _ => {}
        }
    }
    Ok(if file.iter().any(|b| !b.is_ascii_whitespace()) {
        Sent {
            text: rows::decode(&file),
            source: if file_name.is_empty() {
                "fichier".into()
            } else {
                format!("fichier « {file_name} »")
            },
        }
    } else {
        Sent {
            text: String::from_utf8_lossy(&text).into_owned(),
            source: "collage".into(),
        }
    })
}

/// The pasted rows or the uploaded file → the preview (nothing saved).
async fn upload(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> PageResult {
    let id = path.into_inner();
    let sent = read_sent(&req, payload).await?;
    let table = match rows::parse(&sent.text) {
        Ok(table) => table,
        Err(message) => {
            let cohort = crate::web::pages::associations::cohort_ctx(&state, &id).await?;
            let mut ctx = json!({
                "title": "Importer une liste", "nav_cohorts": true, "cohort": cohort,
                "form": {"text": if sent.source == "collage" { sent.text.as_str() } else { "" }},
                "errors": {"text": message},
                "error_summary": [message],
            });
            return Refusal::of(AppError::field("text", message.clone()))?.render(
                &state,
                "pages/import/form",
                &mut ctx,
            );
        }
    };
    show_preview(&state, &id, table, sent.source).await
}

async fn show_preview(state: &AppState, id: &str, table: Table, source: String) -> PageResult {
    let cid = id.to_string();
    let preview = crate::db::run(&state.pool, move |c| import::preview(c, &cid, &table)).await?;
    preview_page(state, id, &preview, &source, None).await
}

async fn preview_page(
    state: &AppState,
    id: &str,
    preview: &Preview,
    source: &str,
    failed_import: Option<Refusal>,
) -> PageResult {
    let cohort = crate::web::pages::associations::cohort_ctx(state, id).await?;
    let refused = preview.refused();
    // The columns the list uses (or that hold a message): an empty column would only
    // widen a table that already scrolls; the rows sent back read it as empty.
    let shown: Vec<(&str, &str)> = COLUMNS
        .iter()
        .filter(|(key, _, _)| {
            ["association", "name", "email"].contains(key)
                || preview
                    .rows
                    .iter()
                    .any(|r| !r.cells.get(key).trim().is_empty() || r.errors.contains_key(*key))
        })
        .map(|(key, header, _)| (*key, *header))
        .collect();
    let rows: Vec<Value> = preview
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let cells: Vec<Value> = shown
                .iter()
                .map(|(key, header)| {
                    json!({
                        "key": key,
                        "id": format!("r{i}-{key}"),
                        "label": format!("{header}, ligne {}", r.line),
                        "value": r.cells.get(key),
                        "error": r.errors.get(*key),
                    })
                })
                .collect();
            json!({"line": r.line, "cells": cells, "refused": !r.errors.is_empty()})
        })
        .collect();
    let refused_rows = preview.rows.iter().filter(|r| !r.errors.is_empty()).count();
    let mut summary: Vec<String> = preview.general.clone();
    for r in preview.rows.iter().filter(|r| !r.errors.is_empty()) {
        for (field, message) in &r.errors {
            summary.push(format!(
                "Ligne {}, {} : {message}",
                r.line,
                rows::header_of(field)
            ));
        }
    }
    let mut ctx = json!({
        "title": "Importer une liste : vérification",
        "nav_cohorts": true,
        "cohort": cohort,
        "columns": shown.iter().map(|(key, header)| json!({"key": key, "header": header})).collect::<Vec<_>>(),
        "rows": rows,
        "source": source,
        "unknown_columns": preview.unknown_columns,
        "associations": preview.associations,
        "participants": preview.participants,
        "counts": import::Imported { associations: preview.associations, participants: preview.participants }.counts(),
        "refused": refused,
    });
    if let Some(refusal) = failed_import {
        // A rule met while saving (the cohort filled meanwhile, the database busy): the
        // list stays as edited, with the message on top and the refusal's status.
        ctx["error_summary"] = json!(summary);
        return refusal.render(state, "pages/import/preview", &mut ctx);
    }
    if refused {
        let message = match refused_rows {
            0 => "La liste ne peut pas être importée :".to_string(),
            _ => format!(
                "{refused_rows} ligne{} à corriger : rien n'est enregistré tant qu'une ligne est refusée.",
                if refused_rows > 1 { "s" } else { "" }
            ),
        };
        ctx["error_message"] = json!(message);
        ctx["error_summary"] = json!(summary);
        render_status(
            state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "pages/import/preview",
            &mut ctx,
        )
    } else {
        render(state, "pages/import/preview", ctx)
    }
}

/// The preview form: every cell as edited, per column (repeated keys, one per row), the
/// line numbers, the source, and the button pressed.
fn table_from(pairs: &[(String, String)]) -> (Table, String, bool) {
    let values = |key: &str| -> Vec<&str> {
        pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let lines = values("line");
    let mut table = Table {
        rows: Vec::new(),
        unknown_columns: values("unknown").into_iter().map(str::to_string).collect(),
    };
    let count = COLUMNS
        .iter()
        .map(|(key, _, _)| values(key).len())
        .max()
        .unwrap_or(0);
    for i in 0..count {
        let mut row = ImportRow::default();
        for (key, _, _) in COLUMNS {
            row.set(key, values(key).get(i).copied().unwrap_or(""));
        }
        // A row whose cells were all emptied is removed from the list.
        if COLUMNS
            .iter()
            .all(|(key, _, _)| row.get(key).trim().is_empty())
        {
            continue;
        }
        let line = lines
            .get(i)
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or(i + 2);
        table.rows.push((line, row));
    }
    let source = values("source").first().copied().unwrap_or("").to_string();
    let save = values("action").first().is_some_and(|a| *a == "importer");
    (table, source, save)
}

/// « Vérifier à nouveau » (the preview again) or « Importer » (all or nothing).
async fn check_again(
    state: web::Data<AppState>,
    path: web::Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let id = path.into_inner();
    let (table, source, save) = table_from(&pairs);
    let source = if source.trim().is_empty() {
        "collage".to_string()
    } else {
        source
    };
    if !save {
        return show_preview(&state, &id, table, source).await;
    }
    let (cid, t, s) = (id.clone(), table.clone(), source.clone());
    let (template, am) = (
        state.config.programme.clone(),
        state.config.calendar.alsace_moselle,
    );
    match state
        .write(move |c| import::save(c, &cid, &t, &s, &template, am))
        .await
    {
        Ok(Outcome::Saved(done)) => Ok(redirect(
            &format!("/cohortes/{id}"),
            Some(&format!(
                "import_{}_{}",
                done.associations, done.participants
            )),
        )),
        Ok(Outcome::Refused(preview)) => preview_page(&state, &id, &preview, &source, None).await,
        Err(e) => {
            let refusal = Refusal::of(e)?;
            let cid = id.clone();
            let preview =
                crate::db::run(&state.pool, move |c| import::preview(c, &cid, &table)).await?;
            preview_page(&state, &id, &preview, &source, Some(refusal)).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_import_notice_says_what_was_imported() {
        assert_eq!(
            notice_text("import_8_16").as_deref(),
            Some("8 associations et 16 participant·es importés.")
        );
        assert_eq!(
            notice_text("import_1_0").as_deref(),
            Some("1 association et 0 participant·e importé.")
        );
        assert_eq!(notice_text("import_x_1"), None);
        assert_eq!(notice_text("association_inscrite"), None);
    }

    #[test]
    fn the_preview_form_gives_back_each_row_and_drops_emptied_ones() {
        let mut pairs = vec![
            ("csrf_token".to_string(), "t".to_string()),
            ("source".into(), "collage".into()),
            ("action".into(), "importer".into()),
        ];
        for (line, association, name) in [("2", "Élan", "Anne"), ("3", "", ""), ("4", "", "Bruno")]
        {
            pairs.push(("line".into(), line.into()));
            for (key, _, _) in COLUMNS {
                let value = match key {
                    "association" => association,
                    "name" => name,
                    _ => "",
                };
                pairs.push((key.into(), value.into()));
            }
        }
        let (table, source, save) = table_from(&pairs);
        assert!(save);
        assert_eq!(source, "collage");
        let got: Vec<(usize, &str, &str)> = table
            .rows
            .iter()
            .map(|(l, r)| (*l, r.association.as_str(), r.name.as_str()))
            .collect();
        assert_eq!(got, vec![(2, "Élan", "Anne"), (4, "", "Bruno")]);
    }
}
