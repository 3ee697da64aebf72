//! Server-rendered French pages (handlebars), usable without JavaScript. Handlers are thin:
//! authorise, call the models in `db::run`, render. A rejected form is rendered again with
//! what was typed and the message beside each field (status 422).

pub mod accounts;
pub mod admin;
pub mod applications;
pub mod associations;
pub mod audit;
pub mod auth;
pub mod budget;
pub mod calendar;
pub mod calls;
pub mod cohorts;
pub mod dashboard;
pub mod evaluations;
pub mod import;
pub mod journal;
pub mod mirror;
pub mod outbox;
pub mod portal;
pub mod privacy;
pub mod profile;
pub mod report;
pub mod sessions;
pub mod space;
pub mod tasks;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError, web};
use serde::Serialize;
use serde_json::{Value, json};

use crate::error::AppError;
use crate::models::account::Role;
use crate::web::AppState;

/// Every page's route, as a tree of scopes (`web::routes`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    let mut r = crate::web::routes::Routes::new();
    r.route("/", web::get().to(auth::home))
        .route("/static/{file}", web::get().to(static_file))
        .route("/healthz", web::get().to(healthz));
    cohorts::routes(&mut r);
    calls::routes(&mut r);
    associations::routes(&mut r);
    applications::routes(&mut r);
    import::routes(&mut r);
    sessions::routes(&mut r);
    tasks::routes(&mut r);
    outbox::routes(&mut r);
    dashboard::routes(&mut r);
    calendar::routes(&mut r);
    evaluations::routes(&mut r);
    space::routes(&mut r);
    portal::routes(&mut r);
    budget::routes(&mut r);
    journal::routes(&mut r);
    profile::routes(&mut r);
    mirror::routes(&mut r);
    admin::routes(&mut r);
    audit::routes(&mut r);
    privacy::routes(&mut r);
    auth::routes(&mut r);
    accounts::routes(&mut r);
    report::routes(&mut r);
    r.register(cfg, None);
}

/// An error shown as a French HTML page.
#[derive(Debug)]
pub struct PageError(pub AppError);

impl From<AppError> for PageError {
    fn from(e: AppError) -> Self {
        PageError(e)
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.0.status()
    }

    fn error_response(&self) -> HttpResponse {
        self.0.log();
        let title = match self.0.status().as_u16() {
            404 => "Page introuvable",
            409 => "Action impossible",
            400 | 405 | 413 | 422 => "Demande invalide",
            401 | 403 => "Accès refusé",
            503 => "Cohorte est très occupé",
            _ => "Erreur",
        };
        let body = format!(
            "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{title} · Cohorte</title><link rel=\"icon\" href=\"/static/favicon.svg\" type=\"image/svg+xml\">\
             <link rel=\"stylesheet\" href=\"/static/app.css\"></head>\
             <body><header class=\"site\"><div class=\"wrap\"><a class=\"brand\" href=\"/\">Cohorte</a></div></header>\
             <main id=\"contenu\" class=\"wrap\"><h1>{title}</h1><p class=\"alert alert-error\" role=\"alert\">{}</p>\
             <p><a href=\"/\">Retour à l'accueil</a></p></main></body></html>",
            escape(&self.0.public_message())
        );
        let mut response = HttpResponse::build(self.0.status())
            .content_type("text/html; charset=utf-8")
            .body(body);
        self.0.add_headers(&mut response);
        response
    }
}

pub type PageResult = Result<HttpResponse, PageError>;

pub fn escape(s: &str) -> String {
    handlebars::html_escape(s)
}

/// Pages that hold a secret in their address or personal data: never cached, and their
/// address never sent as a referrer, not even to this site (`strict-origin` sends the
/// origin alone). Not `no-referrer`: under it, browsers send `Origin: null` with the page's
/// own forms, which the CSRF check rightly refuses — the « Me connecter » button did
/// nothing but a 403 in Chromium.
pub fn private(mut res: HttpResponse) -> HttpResponse {
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("private, no-store"),
    );
    res.headers_mut().insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("strict-origin"),
    );
    res
}

/// A confirmation page before a destructive action (`pages/confirm`): what will happen, a
/// button that posts to `action`, and a way back. Works without JavaScript.
#[derive(Serialize, Default)]
pub struct Confirm {
    pub title: String,
    pub message: String,
    pub action: String,
    pub confirm_label: String,
    pub cancel: String,
    /// The cancel link's text when « Annuler » would be ambiguous.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_label: Option<String>,
    /// Where the action returns to, posted with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub back: Option<String>,
}

/// Renders a `Confirm` under the navigation entry `nav` (e.g. `nav_cohorts`).
pub fn confirm(state: &AppState, nav: &str, page: Confirm) -> PageResult {
    let mut ctx = serde_json::to_value(page)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("confirmation page: {e}")))?;
    ctx[nav] = json!(true);
    render(state, "pages/confirm", ctx)
}

/// The room a page's HTML is rendered into at first (the cohort page is about 40 KB), and
/// what the layout adds around it.
const PAGE_BUFFER: usize = 64 * 1024;
const LAYOUT_BUFFER: usize = 8 * 1024;

/// Renders `template` with `ctx` (a JSON object), adding the layout's common values.
pub fn render(state: &AppState, template: &str, mut ctx: Value) -> PageResult {
    render_status(state, StatusCode::OK, template, &mut ctx)
}

pub fn render_status(
    state: &AppState,
    status: StatusCode,
    template: &str,
    ctx: &mut Value,
) -> PageResult {
    if let Some(obj) = ctx.as_object_mut() {
        obj.entry("errors").or_insert_with(|| json!({}));
        // Who is signed in (layout, and what each page offers them) under a key of its own
        // that no page uses for its data — pages have a `session` (a séance) — and the CSRF
        // token every POST form carries.
        if let Some(identity) = crate::web::actor::current() {
            obj.insert("viewer".into(), identity.actor.view());
            if let Some(token) = identity.csrf_token() {
                obj.insert("csrf_token".into(), json!(token));
            }
            // The banner of late or failing emails, read by the guard for staff pages.
            if let Some(trouble) = &identity.mail_trouble {
                let manages = identity
                    .actor
                    .staff()
                    .is_some_and(|s| matches!(s.role, Role::Admin | Role::Officer));
                obj.insert(
                    "mail_trouble".into(),
                    crate::web::view::mail_trouble(trouble, manages),
                );
            }
        }
    }
    // Rendered from the context itself, not a copy: `Handlebars::render` serialises its data
    // into a new value first, which for a cohort page was a deep copy of everything shown.
    // The page first, then the layout around it (`crate::templates::PAGE_BODY`): a page
    // wrapped in `{{#> layout}}` ran inside a partial, which handlebars renders from a copy
    // of the context, and every `{{#each}}` in it copied its list again.
    // Each into a buffer sized for a large page once, rather than a string doubled a dozen
    // times as it fills.
    let mut ctx = handlebars::Context::from(std::mem::take(ctx));
    let failed = |e: &dyn std::fmt::Display| {
        AppError::Internal(anyhow::anyhow!("rendering {template}: {e}"))
    };
    let mut body = Vec::with_capacity(PAGE_BUFFER);
    state
        .templates
        .render_with_context_to_write(template, &ctx, &mut body)
        .map_err(|e| failed(&e))?;
    let body = String::from_utf8(body).map_err(|e| failed(&e))?;
    let mut html = Vec::with_capacity(body.len() + LAYOUT_BUFFER);
    if let Some(obj) = ctx.data_mut().as_object_mut() {
        obj.insert(crate::templates::PAGE_BODY.into(), Value::String(body));
    }
    state
        .templates
        .render_with_context_to_write(crate::templates::LAYOUT, &ctx, &mut html)
        .map_err(|e| failed(&e))?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(html))
}

/// Why a submitted form is shown again instead of an error page: the messages beside the
/// fields, the general message on top, and the status. Every form's re-display takes its
/// refusal from [`Refusal::of`], so that a refusal kind added here (the database too busy)
/// keeps what was typed on every form at once.
pub struct Refusal {
    pub fields: crate::error::FieldErrors,
    pub message: String,
    pub status: StatusCode,
    err: AppError,
}

impl Refusal {
    /// The refusal a form shows again: bad input (422), a rule or a stale version (409),
    /// the database busy (503, with `Retry-After`: nothing was saved, sending the same
    /// form again in a moment will do). Any other error is given back, for an error page.
    pub fn of(err: AppError) -> Result<Refusal, AppError> {
        let (fields, message) = match &err {
            AppError::Validation { fields, message } => (fields.clone(), message.clone()),
            AppError::Conflict { message, .. } => (Default::default(), message.clone()),
            AppError::Busy => (Default::default(), err.public_message()),
            _ => return Err(err),
        };
        Ok(Refusal {
            fields,
            message,
            status: err.status(),
            err,
        })
    }

    /// The field messages as the list under the general message (`error_summary`).
    pub fn summary(&self) -> Value {
        json!(self.fields.values().collect::<Vec<_>>())
    }

    /// Renders `template` with `ctx` and the general message on top (`error_message`), with
    /// the refusal's status and headers. The field messages are placed by the caller
    /// (`errors`, or beside a row; `error_summary`).
    pub fn render(&self, state: &AppState, template: &str, ctx: &mut Value) -> PageResult {
        if let Some(obj) = ctx.as_object_mut() {
            obj.insert("error_message".into(), json!(self.message));
        }
        let mut response = render_status(state, self.status, template, ctx)?;
        self.err.add_headers(&mut response);
        Ok(response)
    }

    /// The whole form shown again: what was typed (`form`), the messages beside the fields
    /// (`errors`), listed on top under the general message.
    pub fn rerender<I: Serialize>(
        &self,
        state: &AppState,
        template: &str,
        mut ctx: Value,
        input: &I,
    ) -> PageResult {
        if let Some(obj) = ctx.as_object_mut() {
            obj.insert("form".into(), json!(input));
            obj.insert("errors".into(), json!(self.fields));
            obj.insert("error_summary".into(), self.summary());
        }
        self.render(state, template, &mut ctx)
    }

    /// The error itself, for a page that cannot show the form again after all.
    pub fn into_error(self) -> AppError {
        self.err
    }
}

/// Shows a form again after a refusal ([`Refusal`]): what was typed, the messages beside
/// the fields and the general message on top. Any other error becomes an error page.
pub fn rerender<I: Serialize>(
    state: &AppState,
    template: &str,
    ctx: Value,
    input: &I,
    err: AppError,
) -> PageResult {
    Refusal::of(err)?.rerender(state, template, ctx, input)
}

/// A path of this app given by the client (`suite`, `back`): `None` unless it is a plain
/// absolute path — no scheme or `//host`, no backslash, no control character (browsers drop
/// tabs and newlines, which would turn `/\t/evil` into `//evil`).
pub fn local_path(target: &str) -> Option<&str> {
    let plain = target.starts_with('/')
        && !target.starts_with("//")
        && !target.bytes().any(|b| b < 0x20 || b == 0x7f || b == b'\\');
    plain.then_some(target)
}

/// `target` as the value of a query parameter: everything but unreserved characters and `/`
/// percent-encoded, so that a return path's `#fragment` or `&` stays inside the value.
pub fn query_value(target: &str) -> String {
    target
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// POST → redirect → GET, with a notice code shown once by the target page.
pub fn redirect(to: &str, notice: Option<&str>) -> HttpResponse {
    // The notice goes in the query, before any #fragment.
    let (path, fragment) = match to.split_once('#') {
        Some((p, f)) => (p, format!("#{f}")),
        None => (to, String::new()),
    };
    let location = match notice {
        Some(n) => format!(
            "{path}{}notice={n}{fragment}",
            if path.contains('?') { '&' } else { '?' }
        ),
        None => to.to_string(),
    };
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// Rows per page of the paged lists (docs/ARCHITECTURE.md, « the paging rule »).
pub const PER_PAGE: i64 = 50;

/// `?page=N` of a paged list.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    pub page: Option<String>,
}

/// The page asked for (1 when absent or unreadable), within 1..=last.
pub fn page_number(query: &PageQuery, total: i64) -> i64 {
    let last = last_page(total);
    query
        .page
        .as_deref()
        .and_then(|p| p.trim().parse::<i64>().ok())
        .unwrap_or(1)
        .clamp(1, last)
}

fn last_page(total: i64) -> i64 {
    ((total + PER_PAGE - 1) / PER_PAGE).max(1)
}

/// Previous/next links and « page 2 sur 5 »; `noun` is what is counted (singular, plural).
pub fn pager(base: &str, page: i64, total: i64, noun: (&str, &str)) -> Value {
    let last = last_page(total);
    // `base` may carry a filter already (`…/envois?statut=draft`).
    let sep = if base.contains('?') { '&' } else { '?' };
    json!({
        "page": page,
        "last": last,
        "several": last > 1,
        "count_text": format!("{total} {}", if total > 1 { noun.1 } else { noun.0 }),
        "previous": (page > 1).then(|| format!("{base}{sep}page={}", page - 1)),
        "next": (page < last).then(|| format!("{base}{sep}page={}", page + 1)),
    })
}

#[derive(serde::Deserialize, Default)]
pub struct NoticeQuery {
    #[serde(default)]
    pub notice: String,
}

/// The French sentence for a notice code (unknown codes show nothing).
pub fn notice_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "deconnecte" => "Vous êtes déconnecté·e.",
        "compte_cree" => "Votre compte est créé et vous êtes connecté·e.",
        "mot_de_passe_change" => {
            "Votre mot de passe a été changé ; vos autres sessions ont été fermées."
        }
        "jeton_revoque" => "Le jeton a été révoqué : il ne donne plus accès à l'API.",
        "compte_modifie" => "Le compte a été enregistré.",
        "cohorte_creee" => {
            "La cohorte a été créée. Inscrivez les associations puis générez le programme."
        }
        "cohorte_modifiee" => "La cohorte a été enregistrée.",
        "programme_genere" => {
            "Le programme a été généré : séances et travaux préparatoires sont dans la chronologie."
        }
        "modele_enregistre" => "Le modèle de programme de la cohorte a été enregistré.",
        "modele_reinitialise" => {
            "Le modèle de programme de la cohorte reprend les valeurs par défaut."
        }
        "appel_enregistre" => "L'appel à candidatures a été enregistré.",
        "lien_revoque" => {
            "Le lien public est retiré : il affiche désormais « Cet appel n'est plus ouvert »."
        }
        "lien_nouveau" => "Un nouveau lien public a été créé ; l'ancien ne fonctionne plus.",
        "candidature_modifiee" => "Vos modifications sont enregistrées.",
        "association_inscrite" => "L'association a été inscrite.",
        "candidature_decidee" => "La décision est enregistrée.",
        "candidature_decidee_courriel" => {
            "La décision est enregistrée ; le courriel de décision part aux deux adresses de la candidature (page « Envois »)."
        }
        "candidature_decidee_a_valider" => {
            "La décision est enregistrée ; le courriel de décision attend votre validation dans la page « Envois »."
        }
        "candidature_inscrite" => {
            "La candidature est inscrite : l'association, ses deux participant·es et les effectifs de son état des lieux sont créés."
        }
        "candidatures_inscrites" => {
            "Les candidatures retenues sont inscrites dans la cohorte, avec leurs participant·es."
        }
        "courriel_decision_enregistre" => "Le courriel de décision est enregistré.",
        "place_liberee" => {
            "L'association a été retirée de la cohorte et sa place est libre : la première candidature de la liste d'attente vous est proposée ci-dessous."
        }
        "association_modifiee" => "L'association a été enregistrée.",
        "association_retiree" => "L'association a été retirée de la cohorte.",
        "participant_ajoute" => "La personne a été ajoutée.",
        "participant_modifie" => "La personne a été enregistrée.",
        "participant_retire" => "La personne a été retirée.",
        "seance_creee" => "La séance a été ajoutée au programme.",
        "seance_modifiee" => "La séance a été enregistrée.",
        "seance_modifiee_avis" => {
            "La séance a été enregistrée. Les personnes qui ont déjà reçu la convocation \
             reçoivent l'invitation mise à jour (page « Envois » de la cohorte)."
        }
        "seance_supprimee" => "La séance a été supprimée.",
        "invite_ajoute" => {
            "L'invité·e a été ajouté·e : sa convocation suit celle de l'association."
        }
        "invite_retire" => "L'invité·e a été retiré·e du bilan.",
        "tache_creee" => "Le travail préparatoire a été ajouté.",
        "tache_modifiee" => "Le travail préparatoire a été enregistré.",
        "tache_supprimee" => "Le travail préparatoire a été supprimé.",
        "retour_enregistre" => "Le suivi du travail préparatoire a été mis à jour.",
        "dla_cree" => "Le DLA a été créé.",
        "dla_modifie" => "Le DLA a été enregistré.",
        "consultant_cree" => "La ou le consultant·e a été ajouté·e.",
        "consultant_modifie" => "La ou le consultant·e a été enregistré·e.",
        "envoi_valide" => "L'e-mail a été validé : il partira à l'heure prévue.",
        "envois_valides" => "Les e-mails à valider sont validés : chacun partira à l'heure prévue.",
        "envoi_retenu" => "L'e-mail a été retenu : il attend votre validation.",
        "envoi_annule" => "L'envoi a été annulé.",
        "envoi_relance" => "L'e-mail sera renvoyé dans les prochaines minutes.",
        "programme_publie" => {
            "Le programme est publié : les convocations partent, et les rappels suivront à leur heure."
        }
        "reglages_envois_enregistres" => {
            "Les réglages des envois ont été enregistrés : les e-mails pas encore partis les suivent."
        }
        "liens_renouveles" => {
            "Les liens personnels ont été renouvelés : les anciens ne fonctionnent plus."
        }
        "demo_chargee" => "La cohorte de démonstration a été chargée : explorez-la librement.",
        other => {
            return budget::notice_text(other)
                .or_else(|| journal::notice_text(other))
                .or_else(|| profile::notice_text(other))
                .or_else(|| mirror::notice_text(other))
                .or_else(|| privacy::notice_text(other))
                .or_else(|| calendar::notice_text(other));
        }
    })
}

/// Adds the notice (if any) to a page context.
pub fn with_notice(mut ctx: Value, q: &NoticeQuery) -> Value {
    let text = notice_text(&q.notice)
        .map(str::to_string)
        .or_else(|| import::notice_text(&q.notice));
    if let (Some(obj), Some(text)) = (ctx.as_object_mut(), text) {
        obj.insert("notice".into(), json!(text));
    }
    ctx
}

/// For a proxy or a supervisor: 200 `ok` when the process serves and the database answers
/// a trivial query, 503 otherwise — nothing more in the body, no session read (the route is
/// public: the guard reads no credential without a cookie), nothing written or audited.
async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let (mut response, body) = match crate::db::run(&state.pool, crate::db::ping).await {
        Ok(()) => (HttpResponse::Ok(), "ok"),
        Err(e) => {
            tracing::warn!(error = %e, "health check: the database does not answer");
            (HttpResponse::ServiceUnavailable(), "indisponible")
        }
    };
    response
        .content_type("text/plain; charset=utf-8")
        .body(body)
}

async fn static_file(path: web::Path<String>) -> HttpResponse {
    match crate::templates::Static::get(&path) {
        Some(file) => {
            let mime = mime_guess::from_path(path.as_str()).first_or_octet_stream();
            HttpResponse::Ok()
                .content_type(mime.as_ref())
                .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
                .body(file.data.into_owned())
        }
        None => HttpResponse::NotFound().finish(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_clamped_and_linked() {
        let q = |p: &str| PageQuery {
            page: Some(p.to_string()),
        };
        assert_eq!(page_number(&PageQuery::default(), 0), 1);
        assert_eq!(page_number(&q("3"), 120), 3);
        assert_eq!(page_number(&q("9"), 120), 3);
        assert_eq!(page_number(&q("-2"), 120), 1);
        assert_eq!(page_number(&q("deux"), 120), 1);
        let p = pager("/x", 2, 120, ("fiche", "fiches"));
        assert_eq!(p["previous"], "/x?page=1");
        assert_eq!(p["next"], "/x?page=3");
        assert_eq!(p["count_text"], "120 fiches");
        assert_eq!(
            pager("/x", 1, 1, ("fiche", "fiches"))["count_text"],
            "1 fiche"
        );
        assert_eq!(pager("/x", 1, 10, ("fiche", "fiches"))["several"], false);
    }
}
