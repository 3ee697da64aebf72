//! The modules' routes, registered as a small tree of scopes rather than one flat list.
//!
//! actix-web tries a flat list's patterns one after the other, every dynamic one through its
//! regex — `regex-lite` here (actix-web is built without its `unicode` feature, issue #19's
//! memory), about 15,000 instructions a try — and it matches a request three times: the
//! routing itself, the request span's `match_pattern` and the access guard's. With 200
//! routes, a late one (`/cohortes/{id}/modifications`) spent 5 M instructions matching, two
//! fifths of its page.
//!
//! [`Routes`] collects the modules' routes in their order and [`Routes::register`] groups
//! them by first segment (`/cohortes`), and within a group by its dynamic second segment
//! (`/{id}`) when the group has one and only one, a plain `{name}`: a request then tries a
//! few static prefixes, one regex and its scope's patterns, mostly static. The patterns
//! `match_pattern` gives (the access table's keys) are the full ones, as before. In a group,
//! its own and its static second segments' routes come first, then the `{name}` scope, so
//! that `/cohortes/nouvelle` stays the form, never a cohort named « nouvelle ».

use actix_web::{Route, web};

/// The routes of the pages or of the API, in the order the modules declare them.
#[derive(Default)]
pub struct Routes {
    routes: Vec<(&'static str, Route)>,
}

/// Builds a scope's default service (the API's JSON 404 in its nested scopes).
pub type DefaultService = fn() -> Route;

impl Routes {
    pub fn new() -> Self {
        Self::default()
    }

    /// As `ServiceConfig::route`.
    pub fn route(&mut self, path: &'static str, route: Route) -> &mut Self {
        self.routes.push((path, route));
        self
    }

    /// Registers the routes on `cfg` as a tree of scopes (see the module); `default`, when
    /// given, answers in each scope the paths none of its routes matches (without it, the
    /// application's default does).
    pub fn register(self, cfg: &mut web::ServiceConfig, default: Option<DefaultService>) {
        let paths: Vec<&str> = self.routes.iter().map(|(p, _)| *p).collect();
        if !plan_is_safe(&paths) {
            for (path, route) in self.routes {
                cfg.route(path, route);
            }
            return;
        }
        let mut groups: Vec<(&'static str, Vec<(&'static str, Route)>)> = Vec::new();
        for (path, route) in self.routes {
            let (first, rest) = split_first(path);
            if first == "/" {
                cfg.route(path, route);
                continue;
            }
            match groups.iter_mut().find(|(f, _)| *f == first) {
                Some((_, entries)) => entries.push((rest, route)),
                None => groups.push((first, vec![(rest, route)])),
            }
        }
        for (first, entries) in groups {
            let rests: Vec<&str> = entries.iter().map(|(r, _)| *r).collect();
            let nested = nested_segment(&rests);
            // The group's own routes and those under its static second segments, in order,
            // then the routes under its `/{name}`, each with what follows that segment.
            let (mut direct, mut under) = (Vec::new(), Vec::new());
            for (rest, route) in entries {
                let (second, after) = split_first(rest);
                match nested {
                    Some(segment) if second == segment => under.push((after, route)),
                    _ => direct.push((rest, route)),
                }
            }
            let mut scope = scoped(first, direct, default);
            if let Some(segment) = nested {
                scope = scope.service(scoped(segment, under, default));
            }
            cfg.service(scope);
        }
    }
}

/// A scope at `prefix` with `routes` (paths relative to it) and `default`, when given, for
/// the paths none of them matches.
fn scoped(
    prefix: &str,
    routes: Vec<(&'static str, Route)>,
    default: Option<DefaultService>,
) -> actix_web::Scope {
    let scope = routes
        .into_iter()
        .fold(web::scope(prefix), |scope, (path, route)| {
            scope.route(path, route)
        });
    match default {
        Some(d) => scope.default_service(d()),
        None => scope,
    }
}

/// `/cohortes/{id}/x` → (`/cohortes`, `/{id}/x`); `/cohortes` → (`/cohortes`, ``); `/` →
/// (`/`, ``).
fn split_first(path: &str) -> (&str, &str) {
    let end = path
        .get(1..)
        .and_then(|body| body.find('/'))
        .map(|i| i + 1)
        .unwrap_or(path.len());
    (&path[..end], &path[end..])
}

fn is_static(segment: &str) -> bool {
    !segment.contains(['{', '}', '*', ':'])
}

/// `/{name}`, a name of letters, digits and `_` (no regex, no tail).
fn is_plain_param(segment: &str) -> bool {
    segment
        .strip_prefix("/{")
        .and_then(|s| s.strip_suffix('}'))
        .is_some_and(|name| {
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

/// Grouping by first segment keeps the flat list's meaning when every path starts with `/`
/// and a static first segment (or is `/` itself): two groups never match the same path.
fn plan_is_safe(paths: &[&str]) -> bool {
    paths.iter().all(|p| {
        let (first, _) = split_first(p);
        p.starts_with('/') && (first == "/" || (first.len() > 1 && is_static(first)))
    })
}

/// The dynamic second segment a group's routes nest under: the one `/{name}` among the
/// `rests`' second segments, when there is exactly one dynamic second segment and it is
/// plain.
fn nested_segment<'a>(rests: &[&'a str]) -> Option<&'a str> {
    let mut dynamic = rests
        .iter()
        .map(|r| split_first(r).0)
        .filter(|s| !s.is_empty() && !is_static(s));
    let first = dynamic.next()?;
    (is_plain_param(first) && dynamic.all(|s| s == first)).then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test as at;
    use actix_web::{App, HttpRequest, HttpResponse};

    async fn pattern(req: HttpRequest) -> HttpResponse {
        let params: Vec<String> = req
            .match_info()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        HttpResponse::Ok().body(format!(
            "{} {} {}",
            req.method(),
            req.match_pattern().unwrap_or_default(),
            params.join("&")
        ))
    }

    const PATHS: [&str; 11] = [
        "/",
        "/cohortes",
        "/cohortes/nouvelle",
        "/cohortes/import",
        "/cohortes/{id}",
        "/cohortes/{id}/modifications",
        "/cohortes/{id}/seances/{session}",
        "/dla/{id}",
        "/dla/{id}/modifications",
        "/static/{file}",
        "/agenda/{participant}/{token}.ics",
    ];

    fn flat(cfg: &mut web::ServiceConfig) {
        for p in PATHS {
            cfg.route(p, web::get().to(pattern));
        }
        cfg.route("/cohortes", web::post().to(pattern));
    }

    fn tree(cfg: &mut web::ServiceConfig) {
        let mut r = Routes::new();
        for p in PATHS {
            r.route(p, web::get().to(pattern));
        }
        r.route("/cohortes", web::post().to(pattern));
        r.register(cfg, None);
    }

    #[actix_web::test]
    async fn the_tree_routes_every_path_as_the_flat_list_with_the_same_patterns() {
        let flat = at::init_service(
            App::new()
                .configure(flat)
                .default_service(web::to(HttpResponse::NotFound)),
        )
        .await;
        let tree = at::init_service(
            App::new()
                .configure(tree)
                .default_service(web::to(HttpResponse::NotFound)),
        )
        .await;
        let requests = [
            ("GET", "/"),
            ("GET", "/cohortes"),
            ("POST", "/cohortes"),
            ("GET", "/cohortes/nouvelle"),
            ("GET", "/cohortes/import"),
            ("GET", "/cohortes/c1"),
            ("GET", "/cohortes/c1/modifications"),
            ("GET", "/cohortes/c1/seances/s1"),
            ("GET", "/cohortes/c1/inconnu"),
            ("GET", "/cohortes/c1/seances"),
            ("GET", "/dla/d1/modifications"),
            ("GET", "/static/app.css"),
            ("GET", "/agenda/p1/abc.ics"),
            ("GET", "/inconnu"),
            ("GET", "/inconnu/x"),
            ("DELETE", "/cohortes/c1"),
        ];
        for (method, path) in requests {
            let call = |m: &str| {
                at::TestRequest::default()
                    .method(m.parse().unwrap())
                    .uri(path)
                    .to_request()
            };
            let a = at::call_service(&flat, call(method)).await;
            let b = at::call_service(&tree, call(method)).await;
            assert_eq!(a.status(), b.status(), "{method} {path}");
            let (a, b) = (at::read_body(a).await, at::read_body(b).await);
            assert_eq!(a, b, "{method} {path}");
        }
        let show = at::call_service(
            &tree,
            at::TestRequest::get()
                .uri("/cohortes/c1/seances/s1")
                .to_request(),
        )
        .await;
        assert_eq!(
            at::read_body(show).await,
            "GET /cohortes/{id}/seances/{session} id=c1&session=s1"
        );
    }

    #[test]
    fn a_group_nests_under_its_one_plain_dynamic_second_segment_only() {
        assert_eq!(split_first("/cohortes/{id}/x"), ("/cohortes", "/{id}/x"));
        assert_eq!(split_first("/cohortes"), ("/cohortes", ""));
        assert_eq!(split_first("/"), ("/", ""));
        assert_eq!(
            nested_segment(&["", "/nouvelle", "/{id}", "/{id}/x"]),
            Some("/{id}")
        );
        assert_eq!(nested_segment(&["/{id}", "/{other}/x"]), None);
        assert_eq!(nested_segment(&["/{tail}*"]), None);
        assert_eq!(nested_segment(&["/{id:\\d+}"]), None);
        assert_eq!(nested_segment(&["", "/nouvelle"]), None);
        assert!(plan_is_safe(&["/", "/a/{b}", "/c"]));
        assert!(!plan_is_safe(&["/{lang}/a"]));
    }
}
