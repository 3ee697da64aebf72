//! The paging of the API's long lists (`GET /cohorts`, `GET /cohorts/{id}/outbox`), in one
//! place: the `limit` and `offset` query parameters (100 items by default, 500 at most),
//! checked like any other input (a bad value is a 422 naming the parameter, never silently
//! replaced), and the answer with the list's total in `X-Total-Count`. The model pages in
//! SQL with the [`Page`] it is given; `api::openapi::describe_paging` documents every
//! operation with a `limit` parameter once.

use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload, web};
use serde::{Deserialize, Serialize};
use std::future::{Ready, ready};

use crate::error::AppError;
use crate::models::input::Check;

/// Items per answer when `limit` is not given.
pub const DEFAULT_LIMIT: i64 = 100;
/// Items per answer at most.
pub const MAX_LIMIT: i64 = 500;

/// The 422 of a paged list, as the OpenAPI document describes it.
pub const BAD_PAGE: &str = "`limit` is not a whole number from 1 to 500, or `offset` not one \
     from 0 (`validation_failed`, the parameter named in `fields`).";

/// The paging parameters as the query gives them. Read as text so that a value that is
/// not a whole number is said beside its parameter (422), like a number out of range,
/// rather than as an unreadable query (400).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// How many items (100 by default, 500 at most).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    limit: Option<String>,
    /// How many items to skip, in the list's order (0 by default).
    #[param(value_type = Option<i64>, minimum = 0)]
    offset: Option<String>,
}

/// A checked page: `limit` items from `offset`. Taken by a handler as an extractor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}

impl Default for Page {
    fn default() -> Self {
        Page {
            limit: DEFAULT_LIMIT,
            offset: 0,
        }
    }
}

/// A parameter's value, blank as absent.
fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl PageQuery {
    /// The page asked for; a blank parameter is the default. 422 with the parameters in
    /// `fields` when `limit` is not a whole number from 1 to [`MAX_LIMIT`] or `offset` not
    /// a whole number from 0.
    pub fn check(&self) -> Result<Page, AppError> {
        let mut check = Check::new();
        let mut page = Page::default();
        if let Some(v) = given(&self.limit) {
            match v.parse::<i64>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => page.limit = n,
                Ok(_) => check.add(
                    "limit",
                    format!("Indiquez un nombre entre 1 et {MAX_LIMIT}."),
                ),
                Err(_) => check.add("limit", "Indiquez un nombre entier, par exemple 100."),
            }
        }
        if let Some(v) = given(&self.offset) {
            match v.parse::<i64>() {
                Ok(n) if n >= 0 => page.offset = n,
                Ok(_) => check.add("offset", "Indiquez un nombre positif ou nul."),
                Err(_) => check.add("offset", "Indiquez un nombre entier, par exemple 100."),
            }
        }
        check.finish()?;
        Ok(page)
    }
}

impl Page {
    /// The page's items, with the number of items of the whole list in `X-Total-Count`.
    pub fn answer<T: Serialize>(total: i64, items: &T) -> HttpResponse {
        HttpResponse::Ok()
            .insert_header(("X-Total-Count", total.to_string()))
            .json(items)
    }
}

impl FromRequest for Page {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(
            web::Query::<PageQuery>::from_query(req.query_string())
                .map_err(|err| AppError::BadRequest {
                    code: "invalid_query",
                    message: format!("Paramètres invalides : {err}"),
                })
                .and_then(|q| q.check()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(limit: Option<&str>, offset: Option<&str>) -> Result<Page, AppError> {
        PageQuery {
            limit: limit.map(str::to_string),
            offset: offset.map(str::to_string),
        }
        .check()
    }

    fn fields(e: AppError) -> Vec<String> {
        e.fields().unwrap().keys().cloned().collect()
    }

    #[test]
    fn a_page_defaults_to_the_first_hundred_items() {
        assert_eq!(page(None, None).unwrap(), Page::default());
        assert_eq!(page(Some(" "), Some("")).unwrap(), Page::default());
        assert_eq!(
            page(Some("500"), Some("1000")).unwrap(),
            Page {
                limit: 500,
                offset: 1000
            }
        );
    }

    #[test]
    fn a_limit_or_offset_out_of_range_or_not_a_number_is_refused_by_name() {
        for (limit, offset, bad) in [
            (Some("0"), None, vec!["limit"]),
            (Some("501"), None, vec!["limit"]),
            (Some("dix"), None, vec!["limit"]),
            (Some("2.5"), None, vec!["limit"]),
            (None, Some("-1"), vec!["offset"]),
            (None, Some("un"), vec!["offset"]),
            (Some("-3"), Some("-1"), vec!["limit", "offset"]),
        ] {
            let e = page(limit, offset).unwrap_err();
            assert_eq!(e.code(), "validation_failed");
            assert_eq!(fields(e), bad, "{limit:?} {offset:?}");
        }
    }
}
