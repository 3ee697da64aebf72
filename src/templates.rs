//! Handlebars templates: embedded in the binary from `templates/`, each overridable by a
//! file of the same relative path in the folder set by `templates.dir`.
//!
//! Names are paths without `.hbs`: `pages/cohorts/show`, `partials/layout`. Every template
//! is also a partial, so pages wrap themselves in `{{#> layout}}`.
//! Output is HTML-escaped; no template uses triple-stash (`{{{ }}}`), which a test checks.

use std::path::Path;

use handlebars::Handlebars;
use rust_embed::RustEmbed;

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
    Ok(hb)
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
    if let Some(token) = ctx.data().get("csrf_token").and_then(|t| t.as_str()) {
        out.write("<input type=\"hidden\" name=\"csrf_token\" value=\"")?;
        out.write(&handlebars::html_escape(token))?;
        out.write("\">")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
