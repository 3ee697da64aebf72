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

impl<T: DeserializeOwned + 'static> FromRequest for Form<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let body = bytes.await.map_err(|_| {
                PageError::from(AppError::BadRequest {
                    code: "invalid_form",
                    message: "Le formulaire envoyé est illisible ou trop volumineux.".into(),
                })
            })?;
            if body.len() > LIMIT {
                return Err(PageError::from(AppError::BadRequest {
                    code: "form_too_large",
                    message: "Le formulaire envoyé est trop volumineux.".into(),
                })
                .into());
            }
            serde_html_form::from_bytes::<T>(&body)
                .map(Form)
                .map_err(|e| {
                    PageError::from(AppError::BadRequest {
                        code: "invalid_form",
                        message: format!("Le formulaire envoyé est illisible : {e}"),
                    })
                    .into()
                })
        })
    }
}
