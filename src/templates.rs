//! Handlebars templates: embedded in the binary from `templates/`, each overridable by a
//! file of the same relative path in the folder set by `templates.dir`.
//!
//! Names are paths without `.hbs`: `pages/cohorts/show`, `partials/warnings`. Every template
//! is also a partial. A page is rendered alone, then [`LAYOUT`] around it: the layout writes
//! the page's HTML where it says `{{page_body}}` (see `web::pages::render_status`).
//! Output is HTML-escaped; no template uses triple-stash (`{{{ }}}`), which a test checks.

use std::path::Path;

use handlebars::Handlebars;
use rust_embed::RustEmbed;

mod rows;

#[derive(RustEmbed)]
#[folder = "templates/"]
pub struct Embedded;

#[derive(RustEmbed)]
#[folder = "static/"]
pub struct Static;

pub fn build(override_dir: &str) -> anyhow::Result<Handlebars<'static>> {
    let mut hb = Handlebars::new();
    hb.set_dev_mode(false);
    // Handlebars indents every line a partial outputs, values included: a textarea's second
    // line came back with the partial's indentation, and each save of the form added more.
    hb.set_prevent_indent(true);
    hb.register_escape_fn(escape_html);
    for file in Embedded::iter().filter(|f| f.ends_with(".hbs")) {
        let name = file.trim_end_matches(".hbs").to_string();
        let overridden = (!override_dir.is_empty())
            .then(|| Path::new(override_dir).join(file.as_ref()))
            .filter(|p| p.is_file());
        let source = match overridden {
            Some(path) => {
                tracing::info!(template = %name, path = %path.display(), "template overridden");
                std::fs::read_to_string(&path)?
            }
            None => {
                let data = Embedded::get(&file).expect("listed file exists");
                String::from_utf8(data.data.into_owned())?
            }
        };
        hb.register_template_string(&name, source)
            .map_err(|e| anyhow::anyhow!("template {name}: {e}"))?;
    }
    hb.register_helper("csrf_field", Box::new(csrf_field));
    hb.register_helper("page_body", Box::new(page_body));
    hb.register_helper("audit_changes", Box::new(rows::Rows(rows::audit_changes)));
    hb.register_helper(
        "association_rows",
        Box::new(rows::Rows(rows::association_rows)),
    );
    hb.register_helper("task_returns", Box::new(rows::Rows(rows::task_returns)));
    hb.register_helper("timeline_items", Box::new(rows::Rows(rows::timeline_items)));
    Ok(hb)
}

/// Handlebars' HTML escaping, the same characters replaced by the same entities, but the
/// text copied by runs rather than character by character: escaping was a fifth of
/// rendering the cohort page (issue #19), and most values have nothing to escape.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    push_escaped(&mut out, s);
    out
}

/// [`escape_html`] appended to `out`, for the helpers that write rows: the text copied by
/// runs between the characters replaced.
fn push_escaped(out: &mut String, s: &str) {
    let mut from = 0;
    for (i, b) in s.bytes().enumerate() {
        let entity = match b {
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'&' => "&amp;",
            b'\'' => "&#x27;",
            b'`' => "&#x60;",
            b'=' => "&#x3D;",
            _ => continue,
        };
        out.push_str(&s[from..i]);
        out.push_str(entity);
        from = i + 1;
    }
    out.push_str(&s[from..]);
}

/// The template every page is shown in.
pub const LAYOUT: &str = "layout";
/// The context key that holds a page's rendered HTML while the layout is rendered.
pub const PAGE_BODY: &str = "__page_body";

/// `{{page_body}}`, in the layout only: the page's HTML, already rendered and escaped by the
/// page's own template.
fn page_body(
    _: &handlebars::Helper<'_>,
    _: &Handlebars<'_>,
    ctx: &handlebars::Context,
    _: &mut handlebars::RenderContext<'_, '_>,
    out: &mut dyn handlebars::Output,
) -> handlebars::HelperResult {
    if let Some(html) = ctx.data().get(PAGE_BODY).and_then(|b| b.as_str()) {
        out.write(html)?;
    }
    Ok(())
}

/// `{{csrf_field}}`: the hidden CSRF input every POST form carries, from `@root.csrf_token`.
///
/// A helper rather than a partial: handlebars gives a partial a copy of the context it is
/// called in (`merge_json`), so a `{{> partials/csrf}}` at the top of a page copied the whole
/// page's data once per form — the largest cost of rendering a page with many forms.
fn csrf_field(
    _: &handlebars::Helper<'_>,
    _: &Handlebars<'_>,
    ctx: &handlebars::Context,
    _: &mut handlebars::RenderContext<'_, '_>,
    out: &mut dyn handlebars::Output,
) -> handlebars::HelperResult {
    let mut html = String::new();
    push_csrf_input(&mut html, ctx);
    out.write(&html)?;
    Ok(())
}

/// The hidden CSRF input of a POST form, from `@root.csrf_token` (nothing without one):
/// what `{{csrf_field}}` writes, and each form `{{task_returns}}` writes.
fn push_csrf_input(html: &mut String, ctx: &handlebars::Context) {
    if let Some(token) = ctx.data().get("csrf_token").and_then(|t| t.as_str()) {
        html.push_str("<input type=\"hidden\" name=\"csrf_token\" value=\"");
        push_escaped(html, token);
        html.push_str("\">");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_is_handlebars_own() {
        for text in [
            "",
            "plain",
            "<a href=\"x\">l'été & `co` = 1</a>",
            "«\u{a0}é\u{1F600}»<>",
            "&&",
            "fin<",
            "Une phrase assez longue, sans rien à remplacer dedans, é à ç ô œ — fin.",
            "0123456789abcde<0123456789abcdef>0123456789abcdef&",
            "0123456789abcdef=0123456789abcde'",
            "« Les Jardins de l'été » & \"co\" : 16 octets pile ici ",
        ] {
            assert_eq!(escape_html(text), handlebars::html_escape(text), "{text}");
        }
        // Each escaped character at every place of a longer text, after multi-byte
        // characters too.
        for c in ['<', '>', '"', '&', '\'', '`', '='] {
            for at in 0..40 {
                for base in ["x".repeat(40), "é".repeat(20)] {
                    let mut text = base.clone();
                    let at = (0..=at).rev().find(|&i| text.is_char_boundary(i)).unwrap();
                    text.insert(at, c);
                    assert_eq!(escape_html(&text), handlebars::html_escape(&text), "{text}");
                }
            }
        }
    }

    #[test]
    fn every_embedded_template_compiles() {
        build("").unwrap();
    }

    #[test]
    fn no_template_uses_unescaped_output() {
        // Hostile text typed by users must always be escaped.
        for file in Embedded::iter() {
            let data = Embedded::get(&file).unwrap();
            let text = String::from_utf8_lossy(&data.data);
            assert!(!text.contains("{{{"), "{file} uses unescaped output");
            assert!(!text.contains("{{&"), "{file} uses unescaped output");
        }
    }

    #[test]
    fn shared_partials_take_their_values_as_parameters_only() {
        // Handlebars copies the current context into every partial it includes unless the
        // partial is given one: at a page's top level that is the whole page's data, copied
        // and dropped per inclusion (a fifth of the cohort page's time). The shared partials
        // take `null` as their context and everything they show as hash parameters.
        for file in Embedded::iter() {
            let data = Embedded::get(&file).unwrap();
            let text = String::from_utf8_lossy(&data.data);
            for (at, _) in text.match_indices("{{> partials/") {
                let rest = &text[at + "{{> partials/".len()..];
                let end = rest.find("}}").unwrap_or(rest.len());
                let mut words = rest[..end].split_whitespace();
                let name = words.next().unwrap_or_default();
                assert_eq!(
                    words.next(),
                    Some("null"),
                    "{file}: {{{{> partials/{name}}}}} without `null` copies the page's data"
                );
            }
        }
    }

    #[test]
    fn a_partial_given_null_sees_its_parameters() {
        let mut h = build("").unwrap();
        h.register_template_string(
            "probe",
            "{{> partials/warnings null warnings=list}}|{{> partials/checkbox null name=\"n\" label=\"L\"}}",
        )
        .unwrap();
        let out = h
            .render("probe", &serde_json::json!({"list": [{"code": "c", "message": "Attention"}], "label": "page"}))
            .unwrap();
        assert!(out.contains("data-code=\"c\">Attention</li>"), "{out}");
        assert!(out.contains("<label for=\"f-n\">L</label>"), "{out}");
    }
}
