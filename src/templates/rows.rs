//! Helpers that write a page's repeated rows: the journal's changes (`{{audit_changes}}`),
//! the cohort page's programme (`{{timeline_items}}`), associations (`{{association_rows}}`)
//! and homework returns (`{{task_returns}}`).
//!
//! Each replaces an `{{#each}}` that was most of its page's rendering (issue #19): handlebars
//! builds a block context and looks each value up by path, per row. The markup stays what the
//! block wrote (each helper has a test rendering the old block and the helper on the same
//! rows); the data stays what the view builds, so a page overridden from `templates.dir` may
//! still iterate it itself. Every value is escaped as handlebars escapes (`{{x}}`).
//!
//! Each function here writes one row; [`Rows`] makes it a helper over the array it is given
//! (`templates::build` registers them).

use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, JsonRender, JsonTruthy, Output,
    RenderContext,
};
use serde_json::Value;

use super::{push_csrf_input, push_escaped};

/// A helper writing each row of the array it is given as its first parameter (nothing
/// without one) with `write`: the row, the page's data (`@root`), the row's index.
pub struct Rows(pub fn(&mut String, &Value, &Context, usize));

impl HelperDef for Rows {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        ctx: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let rows = h
            .param(0)
            .and_then(|p| p.value().as_array())
            .map_or(&[][..], |v| v.as_slice());
        let mut html = String::with_capacity(rows.len() * 512);
        for (i, row) in rows.iter().enumerate() {
            (self.0)(&mut html, row, ctx, i);
        }
        out.write(&html)?;
        Ok(())
    }
}

/// `{{key}}` of `row`, escaped, as handlebars writes it (nothing for null or missing).
fn put(html: &mut String, row: &Value, key: &str) {
    match row.get(key) {
        Some(Value::String(s)) => push_escaped(html, s),
        None | Some(Value::Null) => {}
        Some(other) => push_escaped(html, &other.render()),
    }
}

/// `{{#if key}}` on `row`: handlebars' truthiness (an empty string, 0, null, an empty list
/// are false).
fn truthy(row: &Value, key: &str) -> bool {
    row.get(key).is_some_and(|v| v.is_truthy(false))
}

/// `@root.viewer.is_officer`.
fn officer(ctx: &Context) -> bool {
    ctx.data()
        .get("viewer")
        .is_some_and(|viewer| truthy(viewer, "is_officer"))
}

/// `{{audit_changes changes}}`: the rows of a journal entry's table of changes, one
/// `<tr>` per `{label, before, after}`, on lines indented as the helper's own line is. The
/// journal shows some 200 rows a page.
pub fn audit_changes(html: &mut String, row: &Value, _: &Context, i: usize) {
    if i > 0 {
        html.push_str("\n        ");
    }
    html.push_str("<tr><th scope=\"row\">");
    put(html, row, "label");
    html.push_str("</th><td>");
    put(html, row, "before");
    html.push_str("</td><td>");
    put(html, row, "after");
    html.push_str("</td></tr>");
}

/// `{{timeline_items timeline}}`: the cohort page's programme (`web::view::timeline`), a
/// `<li>` per session (when, label, place, the consultant's time; « Déplacer » and
/// « Modifier » for a chargé·e de mission), per preparatory task (due date, what it
/// prepares, late or not, its follow-up) and for today's marker.
pub fn timeline_items(html: &mut String, row: &Value, ctx: &Context, _: usize) {
    let officer = officer(ctx);
    if truthy(row, "type_session") {
        html.push_str("\n      <li class=\"");
        put(html, row, "class");
        html.push_str("\">\n        <p class=\"when\">");
        put(html, row, "when");
        html.push_str("</p>\n        <h3><a href=\"/seances/");
        put(html, row, "id");
        html.push_str("\">");
        put(html, row, "label");
        html.push_str("</a></h3>\n        <p class=\"meta\">");
        if truthy(row, "place") {
            put(html, row, "place");
        } else {
            html.push_str("<span class=\"muted\">Lieu à préciser</span>");
        }
        html.push_str(" · temps consultant prévu : ");
        put(html, row, "planned");
        html.push_str("</p>\n        ");
        if officer {
            html.push_str("<p class=\"item-actions\">");
            for (i, (path, action)) in [("deplacer", "Déplacer"), ("modifier", "Modifier")]
                .into_iter()
                .enumerate()
            {
                if i > 0 {
                    html.push_str(" · ");
                }
                html.push_str("<a href=\"/seances/");
                put(html, row, "id");
                html.push('/');
                html.push_str(path);
                html.push_str("\">");
                html.push_str(action);
                html.push_str("<span class=\"sr-only\"> « ");
                put(html, row, "label");
                html.push_str(" »</span></a>");
            }
            html.push_str("</p>");
        }
        html.push_str("\n      </li>");
    } else if truthy(row, "type_task") {
        html.push_str("\n      <li class=\"");
        put(html, row, "class");
        html.push_str("\">\n        <p class=\"when\">À rendre le ");
        put(html, row, "due_long");
        html.push_str("</p>\n        <h3>Travail préparatoire : ");
        put(html, row, "title");
        html.push_str("</h3>\n        <p class=\"meta\">");
        put(html, row, "meta");
        if truthy(row, "overdue") {
            html.push_str(" · <strong>en retard</strong>");
        }
        html.push_str("</p>\n        <p class=\"item-actions\"><a href=\"#tache-");
        put(html, row, "id");
        html.push_str("\">Suivi<span class=\"sr-only\"> de « ");
        put(html, row, "title");
        html.push_str(" »</span></a>");
        if officer {
            html.push_str(" · <a href=\"/taches/");
            put(html, row, "id");
            html.push_str("/modifier\">Modifier<span class=\"sr-only\"> « ");
            put(html, row, "title");
            html.push_str(" »</span></a>");
        }
        html.push_str("</p>\n      </li>");
    } else {
        html.push_str("\n      <li class=\"today\" aria-label=\"");
        put(html, row, "label");
        html.push_str("\"><span>");
        put(html, row, "label");
        html.push_str("</span></li>");
    }
}

/// `{{association_rows associations}}`: the cohort page's table of associations
/// (`web::view::cohort_association`), a `<tr>` each — name and sector, town, staff, and
/// its people with their role and, once the programme exists (`@root.has_programme`), their
/// commitment; with nobody yet, the link to add someone for a chargé·e de mission.
pub fn association_rows(html: &mut String, row: &Value, ctx: &Context, _: usize) {
    let officer = officer(ctx);
    let commitments = truthy(ctx.data(), "has_programme");
    html.push_str("\n      <tr>\n        <th scope=\"row\"><a href=\"/associations/");
    put(html, row, "id");
    html.push_str("\">");
    put(html, row, "name");
    html.push_str("</a>");
    if truthy(row, "sector") {
        html.push_str("<br><span class=\"muted\">");
        put(html, row, "sector");
        html.push_str("</span>");
    }
    html.push_str("</th>\n        <td>");
    put(html, row, "town");
    html.push_str("</td>\n        <td class=\"num\">");
    put(html, row, "staff_text");
    html.push_str("</td>\n        <td>");
    let people = row
        .get("participants")
        .and_then(|p| p.as_array())
        .map_or(&[][..], |v| v.as_slice());
    for (i, p) in people.iter().enumerate() {
        put(html, p, "name");
        html.push_str(" <span class=\"muted\">(");
        put(html, p, "role");
        html.push_str(")</span>");
        if commitments {
            html.push_str("<br><span class=\"");
            put(html, p, "commitment_class");
            html.push_str("\">");
            put(html, p, "commitment");
            html.push_str("</span>");
        }
        if i + 1 < people.len() {
            html.push_str("<br>");
        }
    }
    if people.is_empty() {
        if officer {
            html.push_str("<a href=\"/associations/");
            put(html, row, "id");
            html.push_str("/participants/nouveau\">Ajouter une personne</a>");
        } else {
            html.push_str("<span class=\"muted\">personne</span>");
        }
    }
    html.push_str("</td>\n      </tr>");
}

/// `{{task_returns per_association}}`: a preparatory task's line per association on the
/// cohort page (`web::view::cohort_task`) — who, where they are, their answer, and the
/// form that marks it returned or not. Eight associations times each task, a form each,
/// were two fifths of the page's rendering as an `{{#each}}`.
pub fn task_returns(html: &mut String, row: &Value, ctx: &Context, _: usize) {
    html.push_str("\n        <li class=\"");
    put(html, row, "class");
    html.push_str("\">\n          <span class=\"who\">");
    put(html, row, "name");
    html.push_str("</span>\n          <span class=\"state\">");
    put(html, row, "state");
    html.push_str("</span>\n          ");
    if truthy(row, "answer") {
        html.push_str("<span class=\"answer\">Réponse : ");
        if truthy(row, "answer_is_link") {
            html.push_str("<a href=\"");
            put(html, row, "answer");
            html.push_str("\" rel=\"noopener noreferrer\">");
            put(html, row, "answer");
            html.push_str("</a>");
        } else {
            put(html, row, "answer");
        }
        html.push_str("</span>");
    }
    html.push_str("\n          <form method=\"post\" action=\"");
    put(html, row, "action");
    html.push_str("\">");
    push_csrf_input(html, ctx);
    html.push_str("\n            <input type=\"hidden\" name=\"back\" value=\"");
    put(html, row, "back");
    html.push_str("\">\n            ");
    if truthy(row, "returned") {
        html.push_str("<input type=\"hidden\" name=\"status\" value=\"a_faire\"><button type=\"submit\" class=\"link\">Annuler le rendu<span class=\"sr-only\"> de ");
    } else {
        html.push_str("<input type=\"hidden\" name=\"status\" value=\"rendu\"><button type=\"submit\" class=\"small\">Marquer rendu<span class=\"sr-only\"> pour ");
    }
    put(html, row, "name");
    html.push_str("</span></button>\n          </form>\n        </li>");
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Renders `each` (the `{{#each}}` a helper replaced, as it was on its page) and `helper`
    /// on `data`, asserts they write the same HTML but for whitespace, and returns it.
    fn same_as_the_block(each: &str, helper: &str, data: &Value) -> String {
        let mut hb = super::super::build("").unwrap();
        hb.register_template_string("each", each).unwrap();
        hb.register_template_string("helper", helper).unwrap();
        let squash = |html: String| html.split_whitespace().collect::<Vec<_>>().join(" ");
        let written = squash(hb.render("helper", data).unwrap());
        assert_eq!(written, squash(hb.render("each", data).unwrap()));
        written
    }

    #[test]
    fn audit_changes_writes_what_its_each_block_wrote() {
        const EACH: &str = r#"{{#each changes}}<tr><th scope="row">{{label}}</th><td>{{before}}</td><td>{{after}}</td></tr>
        {{/each}}"#;
        let data = json!({"changes": [
            {"label": "Nom", "before": "<b>Les « Jardins »</b>", "after": "L'Atelier & co"},
            {"label": "Capacité", "before": 8, "after": null},
            {"label": "Vide"},
        ]});
        let html = same_as_the_block(EACH, "{{audit_changes changes}}", &data);
        assert!(html.contains("<td>8</td><td></td>"), "{html}");
        assert!(html.contains("&lt;b&gt;Les « Jardins »"), "{html}");
    }

    #[test]
    fn timeline_items_writes_what_its_each_block_wrote() {
        // The cohort page's `{{#each timeline}}`, as it was.
        const EACH: &str = r##"{{#each timeline}}
      {{#if type_session}}
      <li class="{{class}}">
        <p class="when">{{when}}</p>
        <h3><a href="/seances/{{id}}">{{label}}</a></h3>
        <p class="meta">{{#if place}}{{place}}{{else}}<span class="muted">Lieu à préciser</span>{{/if}} · temps consultant prévu : {{planned}}</p>
        {{#if @root.viewer.is_officer}}<p class="item-actions"><a href="/seances/{{id}}/deplacer">Déplacer<span class="sr-only"> « {{label}} »</span></a> · <a href="/seances/{{id}}/modifier">Modifier<span class="sr-only"> « {{label}} »</span></a></p>{{/if}}
      </li>
      {{else if type_task}}
      <li class="{{class}}">
        <p class="when">À rendre le {{due_long}}</p>
        <h3>Travail préparatoire : {{title}}</h3>
        <p class="meta">{{meta}}{{#if overdue}} · <strong>en retard</strong>{{/if}}</p>
        <p class="item-actions"><a href="#tache-{{id}}">Suivi<span class="sr-only"> de « {{title}} »</span></a>{{#if @root.viewer.is_officer}} · <a href="/taches/{{id}}/modifier">Modifier<span class="sr-only"> « {{title}} »</span></a>{{/if}}</p>
      </li>
      {{else}}<li class="today" aria-label="{{label}}"><span>{{label}}</span></li>{{/if}}
    {{/each}}"##;
        let items = json!([
            {"type_session": true, "id": "s\"1", "class": "item session kind-intro past",
             "label": "Session <introductive> & « accueil »", "when": "lundi 11 janvier 2027, 9 h 30 – 12 h 30",
             "place": "Maison des 'associations'", "planned": "1 demi-journée"},
            {"type_session": true, "id": "s2", "class": "item session kind-bilan",
             "label": "Bilan", "when": "mardi 12 janvier 2027", "place": "", "planned": "2 demi-journées"},
            {"type_session": false, "type_task": false, "label": "Aujourd'hui, mercredi 13 janvier 2027"},
            {"type_session": false, "type_task": true, "id": "t<1>", "class": "item task overdue",
             "title": "Le « diagnostic » = fait", "due_long": "vendredi 15 janvier 2027",
             "meta": "Prépare « État des lieux » · rendu par 2 / 8", "overdue": true},
            {"type_session": false, "type_task": true, "id": "t2", "class": "item task",
             "title": "Budget", "due_long": "lundi 1 février 2027", "meta": "rendu par 0 / 8", "overdue": false},
        ]);
        for officer in [true, false] {
            let data = json!({"viewer": {"is_officer": officer}, "timeline": items});
            let html = same_as_the_block(EACH, "{{timeline_items timeline}}", &data);
            assert_eq!(html.contains("/deplacer"), officer, "{html}");
            assert!(
                html.contains("Session &lt;introductive&gt; &amp; « accueil »"),
                "{html}"
            );
            assert!(html.contains("Lieu à préciser"), "{html}");
            assert!(html.contains("<strong>en retard</strong>"), "{html}");
        }
        for data in [json!({"timeline": []}), json!({})] {
            assert_eq!(
                same_as_the_block(EACH, "{{timeline_items timeline}}", &data),
                ""
            );
        }
    }

    #[test]
    fn association_rows_writes_what_its_each_block_wrote() {
        // The cohort page's `{{#each associations}}`, as it was.
        const EACH: &str = r#"{{#each associations}}
      <tr>
        <th scope="row"><a href="/associations/{{id}}">{{name}}</a>{{#if sector}}<br><span class="muted">{{sector}}</span>{{/if}}</th>
        <td>{{town}}</td>
        <td class="num">{{staff_text}}</td>
        <td>{{#each participants}}{{name}} <span class="muted">({{role}})</span>{{#if @root.has_programme}}<br><span class="{{commitment_class}}">{{commitment}}</span>{{/if}}{{#unless @last}}<br>{{/unless}}{{else}}{{#if @root.viewer.is_officer}}<a href="/associations/{{id}}/participants/nouveau">Ajouter une personne</a>{{else}}<span class="muted">personne</span>{{/if}}{{/each}}</td>
      </tr>
    {{/each}}"#;
        let person = |name: &str, ok: bool| {
            json!({"name": name, "role": "Direction salariée, coordinatrice",
                   "commitment": if ok { "Engagement confirmé le 3 janvier 2027" } else { "Engagement non confirmé" },
                   "commitment_class": if ok { "commitment-ok" } else { "muted" }})
        };
        let associations = json!([
            {"id": "a\"1", "name": "Les <Jardins> & « Cie »", "sector": "Culture", "town": "Saint-Étienne",
             "staff_text": "12", "participants": [person("Anne O'Neil", true), person("Bruno `B` = 2", false)]},
            {"id": "a2", "name": "Ressourcerie", "sector": null, "town": "", "staff_text": "non renseigné",
             "participants": []},
            {"id": "a3", "name": "Vélo école", "sector": "", "town": "Lyon", "staff_text": "0",
             "participants": [person("Chloé", false)]},
        ]);
        for officer in [true, false] {
            for programme in [true, false] {
                let data = json!({"viewer": {"is_officer": officer}, "has_programme": programme,
                                  "associations": associations});
                let html = same_as_the_block(EACH, "{{association_rows associations}}", &data);
                assert_eq!(html.contains("/participants/nouveau"), officer, "{html}");
                assert_eq!(html.contains("commitment-ok"), programme, "{html}");
                assert!(html.contains("Les &lt;Jardins&gt; &amp; « Cie »"), "{html}");
            }
        }
        assert_eq!(
            same_as_the_block(EACH, "{{association_rows associations}}", &json!({})),
            ""
        );
    }

    #[test]
    fn task_returns_writes_what_its_each_block_wrote() {
        // The cohort page's `{{#each per_association}}`, as it was.
        const EACH: &str = r#"{{#each rows}}
        <li class="{{class}}">
          <span class="who">{{name}}</span>
          <span class="state">{{state}}</span>
          {{#if answer}}<span class="answer">Réponse : {{#if answer_is_link}}<a href="{{answer}}" rel="noopener noreferrer">{{answer}}</a>{{else}}{{answer}}{{/if}}</span>{{/if}}
          <form method="post" action="{{action}}">{{csrf_field}}
            <input type="hidden" name="back" value="{{back}}">
            {{#if returned}}
            <input type="hidden" name="status" value="a_faire"><button type="submit" class="link">Annuler le rendu<span class="sr-only"> de {{name}}</span></button>
            {{else}}
            <input type="hidden" name="status" value="rendu"><button type="submit" class="small">Marquer rendu<span class="sr-only"> pour {{name}}</span></button>
            {{/if}}
          </form>
        </li>
        {{/each}}"#;
        let row = |name: &str, class: &str, returned: bool, answer: Option<&str>, link: bool| {
            json!({
                "name": name, "class": class, "state": "Rendu le 3 févr.",
                "returned": returned, "answer": answer, "answer_is_link": link,
                "action": "/taches/t1/associations/a\"1", "back": "/cohortes/c1#tache-t1",
            })
        };
        let data = json!({
            "csrf_token": "j'ai<jeton>",
            "rows": [
                row("Les <Jardins> & « Cie »", "done", true, Some("https://exemple.fr/?a=1&b=\"2\""), true),
                row("Ressourcerie", "late", false, None, false),
                row("L'Atelier", "", false, Some("Fait, voir le dossier <partagé>"), false),
                row("Vélo `école` = 1", "done", true, Some(""), false),
            ],
        });
        let html = same_as_the_block(EACH, "{{task_returns rows}}", &data);
        assert!(html.contains("Les &lt;Jardins&gt; &amp; « Cie »"), "{html}");
        assert_eq!(html.matches("name=\"csrf_token\"").count(), 4);
        // No rows, or no list: nothing.
        for data in [json!({"rows": []}), json!({})] {
            assert_eq!(same_as_the_block(EACH, "{{task_returns rows}}", &data), "");
        }
    }
}
