//! What every operation of the OpenAPI document shares, added in one place rather than on
//! each handler: the bearer-token security scheme and the error responses that any
//! operation of its kind can give.
//!
//! - every operation: `401` (no token, or an unknown or revoked one) and `403` (the
//!   token's account may not reach the resource);
//! - an operation whose path has a parameter: `404` (unknown id, or one that is not
//!   well-formed);
//! - an operation with a request body: `400` (unreadable JSON, wrong content type, body too
//!   large) and `422` (a field is invalid);
//! - an operation with query parameters: `400` (a parameter that cannot be read);
//! - an operation with a request body: `413` (over 256 Kio);
//! - every `PUT`: `409` (the version sent is stale) and a description of the contract
//!   (`version` required, absent fields kept, unknown fields refused).
//!
//! A list that pages (a `limit` query parameter) says so once here: `limit` items from
//! `offset` in the list's order, at most 500 (the parameter gives the default), the total
//! in the `X-Total-Count` header of the 200 answer.
//!
//! An operation that documents one of these codes itself keeps its own description. `500`
//! is not documented: it only answers bugs.

use utoipa::Modify;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::ObjectBuilder;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder,
};

/// Name of the security scheme in `components.securitySchemes`.
pub const SECURITY_SCHEME: &str = "api_token";

/// The shared error responses, by status code: the name of the response in
/// `components.responses` and its description.
const ERROR_RESPONSES: [(&str, &str, &str); 8] = [
    (
        "400",
        "BadRequest",
        "Unreadable request: invalid JSON (`invalid_json`), a body that is not JSON \
         (`unsupported_media_type`), a body too large (`payload_too_large`) or a query \
         parameter that cannot be read (`invalid_query`).",
    ),
    (
        "401",
        "Unauthorized",
        "No API token, or an unknown or revoked one (`unauthorized`).",
    ),
    (
        "403",
        "Forbidden",
        "The token's account may not use this operation on this resource (`forbidden`).",
    ),
    (
        "404",
        "NotFound",
        "No such resource, or an identifier that is not well-formed (`not_found`).",
    ),
    (
        "409",
        "StaleVersion",
        "The resource changed since the version sent was read (`stale_version`), or a rule \
         refuses the change (e.g. `cohort_full`).",
    ),
    (
        "413",
        "PayloadTooLarge",
        "The request body is over 256 Kio (`payload_too_large`).",
    ),
    (
        "422",
        "ValidationFailed",
        "A field is invalid, unknown to the resource, of the wrong type, or missing \
         (`version` on a `PUT`) (`validation_failed`); `fields` names each one.",
    ),
    (
        "503",
        "Busy",
        "The database stayed busy with other changes for longer than the wait budget \
         (`busy`, « Cohorte est très occupé en ce moment ») : nothing was changed; send the \
         same request again after the `Retry-After` header's seconds.",
    ),
];

/// What every `PUT` of the API does with its body.
const PUT_CONTRACT: &str = "Send the `version` you read (required: 422 when missing, 409 \
     when stale). Fields you leave out keep their stored value (objects merge key by key; \
     lists and values are replaced; `null` or `\"\"` empties a text). Read-only fields of \
     the resource as GET returns it (`id`, `created_at`…) may be sent back and are ignored; \
     any other unknown field, and a value of the wrong type, is refused with 422 and the \
     field named.";

/// What every paged list of the API does (an operation with a `limit` query parameter).
const PAGED_LIST: &str = "Paged: `limit` items (at most 500; the default is given with the \
     parameter) from `offset`, in the list's order. The total number of items is in the \
     `X-Total-Count` header; ask for the next page with `offset` + `limit` until it is \
     reached.";

/// Registered on `ApiDoc` with `modifiers(&CommonResponses)`.
pub struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi
            .components
            .get_or_insert_with(|| ComponentsBuilder::new().build());
        components.add_security_scheme(
            SECURITY_SCHEME,
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("cht_…")
                    .description(Some(
                        "A staff API token, created on « Mon compte » or with \
                         `cohorte token create --email EMAIL`.",
                    ))
                    .build(),
            ),
        );
        for (status, name, description) in ERROR_RESPONSES {
            components.responses.insert(
                name.to_string(),
                RefOr::T(error_response(status, description)),
            );
        }
        openapi.security = Some(vec![SecurityRequirement::new(
            SECURITY_SCHEME,
            Vec::<String>::new(),
        )]);

        for (path, item) in openapi.paths.paths.iter_mut() {
            let has_path_parameter = path.contains('{');
            // Marking a homework returned sets a state, whole (`status` required): no
            // version, nothing kept.
            let is_state = path.ends_with("/associations/{association_id}");
            if let Some(put) = &mut item.put
                && !is_state
            {
                put.description = Some(match put.description.take() {
                    Some(own) => format!("{own}\n\n{PUT_CONTRACT}"),
                    None => PUT_CONTRACT.to_string(),
                });
                put.responses
                    .responses
                    .entry("409".to_string())
                    .or_insert_with(|| RefOr::Ref(Ref::from_response_name("StaleVersion")));
            }
            for operation in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
                &mut item.head,
                &mut item.options,
                &mut item.trace,
            ]
            .into_iter()
            .flatten()
            {
                add_error_responses(operation, has_path_parameter);
                describe_paging(operation);
            }
        }
    }
}

fn add_error_responses(operation: &mut Operation, has_path_parameter: bool) {
    let has_body = operation.request_body.is_some();
    let has_query = operation
        .parameters
        .iter()
        .flatten()
        .any(|p| matches!(p.parameter_in, ParameterIn::Query));
    for (status, name, _) in ERROR_RESPONSES {
        let applies = match status {
            "400" => has_body || has_query,
            "401" | "403" => true,
            "404" => has_path_parameter,
            "413" | "422" => has_body,
            // Any operation may wait for a connection or for the write lock.
            "503" => true,
            _ => false,
        };
        if applies {
            operation
                .responses
                .responses
                .entry(status.to_string())
                .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
        }
    }
}

/// A paged list's description and its `X-Total-Count` header ([`PAGED_LIST`]).
fn describe_paging(operation: &mut Operation) {
    let paged = operation
        .parameters
        .iter()
        .flatten()
        .any(|p| matches!(p.parameter_in, ParameterIn::Query) && p.name == "limit");
    if !paged {
        return;
    }
    operation.description = Some(match operation.description.take() {
        Some(own) => format!("{own}\n\n{PAGED_LIST}"),
        None => PAGED_LIST.to_string(),
    });
    if let Some(RefOr::T(ok)) = operation.responses.responses.get_mut("200") {
        ok.headers.insert(
            "X-Total-Count".to_string(),
            HeaderBuilder::new()
                .schema(
                    ObjectBuilder::new()
                        .schema_type(utoipa::openapi::schema::Type::Integer)
                        .build(),
                )
                .description(Some("How many items the list holds, over all its pages."))
                .build(),
        );
    }
}

fn error_response(status: &str, description: &str) -> Response {
    let mut response = ResponseBuilder::new().description(description);
    if status == "503" {
        response = response.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(ObjectBuilder::new().schema_type(utoipa::openapi::schema::Type::Integer))
                .description(Some("Seconds to wait before sending the request again."))
                .build(),
        );
    }
    response
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}

#[cfg(test)]
mod tests {
    use utoipa::OpenApi as _;

    use crate::web::api::ApiDoc;

    #[test]
    fn every_operation_documents_the_common_errors() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        assert_eq!(
            doc["components"]["securitySchemes"]["api_token"]["scheme"],
            "bearer"
        );
        assert!(doc["security"][0].get("api_token").is_some());
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let responses = op["responses"].as_object().unwrap();
                for status in ["401", "403", "503"] {
                    assert!(responses.contains_key(status), "{method} {path}: {status}");
                }
                if path.contains('{') {
                    assert!(responses.contains_key("404"), "{method} {path}: 404");
                }
                if op.get("requestBody").is_some() {
                    for status in ["400", "422"] {
                        assert!(responses.contains_key(status), "{method} {path}: {status}");
                    }
                }
            }
        }
        // A paged list says so, with its total's header.
        for path in [
            "/api/v1/cohorts",
            "/api/v1/consultants",
            "/api/v1/cohorts/{id}/audit",
            "/api/v1/cohorts/{id}/outbox",
        ] {
            let get = &doc["paths"][path]["get"];
            let names: Vec<&str> = get["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|p| p["name"].as_str())
                .collect();
            assert!(
                names.contains(&"limit") && names.contains(&"offset"),
                "{path}"
            );
            assert!(
                get["description"]
                    .as_str()
                    .unwrap()
                    .contains("X-Total-Count"),
                "{path}"
            );
            assert!(
                get["responses"]["200"]["headers"]
                    .get("X-Total-Count")
                    .is_some(),
                "{path}"
            );
        }
        // The lists that check their paging say how a bad `limit` or `offset` is refused.
        for path in ["/api/v1/cohorts", "/api/v1/cohorts/{id}/outbox"] {
            let bad = &doc["paths"][path]["get"]["responses"]["422"]["description"];
            assert_eq!(bad, crate::web::api::paging::BAD_PAGE, "{path}");
        }
        // A code an operation documents itself keeps its own description.
        let me = &doc["paths"]["/api/v1/me"]["get"]["responses"]["401"];
        assert!(me.get("$ref").is_none(), "{me}");
    }
}
