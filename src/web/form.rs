//! `Form<T>`: an urlencoded body decoded with repeated keys allowed (`partner_dla_ids=a&
//! partner_dla_ids=b` → `Vec`), which actix's own `web::Form` does not support.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use serde::de::DeserializeOwned;

use crate::error::AppError;
use crate::web::pages::PageError;

pub struct Form<T>(pub T);

const LIMIT: usize = 256 * 1024;

/// A form anybody may send without an account (the application form of a call): the same
/// decoding, with a body limit sized for what a person types (32 Kio; 413 beyond).
pub struct PublicForm<T>(pub T);

pub const PUBLIC_LIMIT: usize = 32 * 1024;

impl<T: DeserializeOwned + 'static> FromRequest for Form<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let read = decode::<T>(req, payload, LIMIT);
        Box::pin(async move { read.await.map(Form) })
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for PublicForm<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let read = decode::<T>(req, payload, PUBLIC_LIMIT);
        Box::pin(async move { read.await.map(PublicForm) })
    }
}

type Decoded<T> = Pin<Box<dyn Future<Output = Result<T, actix_web::Error>>>>;

fn decode<T: DeserializeOwned + 'static>(
    req: &HttpRequest,
    payload: &mut Payload,
    limit: usize,
) -> Decoded<T> {
    {
        let declared = req
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let body = web::Payload::from_request(req, payload).into_inner();
        Box::pin(async move {
            let too_large = || {
                PageError::from(AppError::TooLarge(
                    "Le formulaire envoyé est trop volumineux.".into(),
                ))
            };
            if declared.is_some_and(|n| n > limit) {
                return Err(too_large().into());
            }
            let body = body
                .map_err(|_| unreadable())?
                .to_bytes_limited(limit)
                .await
                .map_err(|_| too_large())?
                .map_err(|_| unreadable())?;
            serde_html_form::from_bytes::<T>(&body).map_err(|e| {
                PageError::from(AppError::BadRequest {
                    code: "invalid_form",
                    message: format!("Le formulaire envoyé est illisible : {e}"),
                })
                .into()
            })
        })
    }
}

fn unreadable() -> PageError {
    PageError::from(AppError::BadRequest {
        code: "invalid_form",
        message: "Le formulaire envoyé est illisible.".into(),
    })
}
