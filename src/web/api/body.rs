//! JSON request bodies of the API, read strictly so that a client's mistake is never
//! silently turned into a change:
//!
//! - [`Json<T>`] (creations, commands): the body must be a JSON object; a field the
//!   resource does not have, or a value of the wrong type (an array where an object or a
//!   text is expected…), is refused with 422 and the field named in `fields`
//!   (`"introductive.start_time"`, `"funders[2].share"`). Unreadable JSON is a 400, a body
//!   over the limit a 413.
//! - [`Patch<T>`] (`PUT` of an existing resource): the same checks, plus the `version` the
//!   client read, required (422 when missing, 409 from the model when stale). A field the
//!   body leaves out keeps its stored value: the body is merged into the resource's current
//!   input (objects key by key, like JSON Merge Patch, RFC 7396; arrays and values
//!   replaced; `null` empties a text) inside the write transaction, then read as above.
//!
//! Why not `web::Json`: serde's default ignores unknown fields and the input types accept
//! missing fields as empty (forms need that), so `PUT {}` used to blank a record.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{AppError, FieldErrors};

/// The largest JSON body the API reads.
pub const LIMIT: usize = 256 * 1024;

const VERSION_MISSING: &str = "Indiquez la version lue (le champ « version » de la réponse \
                               à GET) : elle évite d'écraser une modification faite entre-temps.";

/// A strictly read JSON object (see the module's documentation).
pub struct Json<T>(pub T);

impl<T> std::ops::Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let object = read_object(req, payload, false);
        Box::pin(async move { Ok(Json(decode(Value::Object(object.await?))?)) })
    }
}

/// As [`Json`], for commands whose body is optional: no body at all reads as `{}`.
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for OptionalJson<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let object = read_object(req, payload, true);
        Box::pin(async move { Ok(OptionalJson(decode(Value::Object(object.await?))?)) })
    }
}

/// The body of a `PUT`: the fields the client sent, applied onto the stored resource by
/// [`Patch::apply`].
pub struct Patch<T> {
    fields: Map<String, Value>,
    _input: PhantomData<fn() -> T>,
}

impl<T: Serialize + DeserializeOwned> Patch<T> {
    /// The current input of the resource (what its edit form would show) with the sent
    /// fields merged in, checked as [`Json`] does. `version` must have been sent.
    ///
    /// `shown` is the resource as `GET` returns it: its top-level fields that are no input
    /// (`id`, `created_at`…) are read-only and ignored, so that a client may send back
    /// what it read with its changes.
    pub fn apply(&self, current: &T, shown: &impl Serialize) -> Result<T, AppError> {
        self.apply_requiring(current, shown, &["version"])
    }

    /// As [`Patch::apply`], requiring the version fields named (dotted paths, e.g.
    /// `contract.version`) instead of the top-level `version`.
    pub fn apply_requiring(
        &self,
        current: &T,
        shown: &impl Serialize,
        versions: &[&str],
    ) -> Result<T, AppError> {
        let mut missing = FieldErrors::new();
        for path in versions {
            if !self.has(path) {
                missing.insert(path.to_string(), VERSION_MISSING.to_string());
            }
        }
        let mut base = to_json(current)?;
        let shown = to_json(shown)?;
        let mut fields = self.fields.clone();
        if let (Some(input), Some(shown)) = (base.as_object(), shown.as_object()) {
            fields.retain(|key, _| input.contains_key(key) || !shown.contains_key(key));
        }
        merge(&mut base, Value::Object(fields));
        // Every problem at once: the missing versions and what the body itself gets wrong.
        match decode(base) {
            Ok(_) if !missing.is_empty() => Err(AppError::validation(missing)),
            Ok(input) => Ok(input),
            Err(AppError::Validation { mut fields, .. }) => {
                fields.extend(missing);
                Err(AppError::validation(fields))
            }
            Err(e) => Err(e),
        }
    }

    /// For a resource whose input has no `version` field (the programme template): the
    /// version sent, required, and the other fields.
    pub fn split_version(mut self) -> Result<(String, Patch<T>), AppError> {
        if !self.has("version") {
            return Err(AppError::field("version", VERSION_MISSING));
        }
        let version = match self.fields.remove("version") {
            Some(Value::String(s)) => s,
            Some(other) => other.to_string(),
            None => String::new(),
        };
        Ok((version, self))
    }

    /// Whether the body holds a non-empty value at a dotted path.
    pub fn has(&self, path: &str) -> bool {
        let mut value = None::<&Value>;
        let mut object = Some(&self.fields);
        for key in path.split('.') {
            value = object.and_then(|o| o.get(key));
            object = value.and_then(Value::as_object);
        }
        match value {
            None | Some(Value::Null) => false,
            Some(Value::String(s)) => !s.trim().is_empty(),
            Some(_) => true,
        }
    }
}

impl<T: 'static> FromRequest for Patch<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let object = read_object(req, payload, false);
        Box::pin(async move {
            Ok(Patch {
                fields: object.await?,
                _input: PhantomData,
            })
        })
    }
}

fn to_json<S: Serialize + ?Sized>(value: &S) -> Result<Value, AppError> {
    serde_json::to_value(value)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("resource as JSON: {e}")))
}

/// JSON Merge Patch (RFC 7396) without deletion: objects merge key by key, anything else
/// replaces what was there.
fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(base), Value::Object(patch)) => {
            for (key, value) in patch {
                match base.get_mut(&key) {
                    Some(slot) if slot.is_object() && value.is_object() => merge(slot, value),
                    _ => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, patch) => *base = patch,
    }
}

/// Reads the body as one JSON object: 400 when it is not JSON, 413 over [`LIMIT`], 422 when
/// it is JSON but not an object. `optional`: an empty body (of any type) reads as `{}`.
fn read_object(
    req: &HttpRequest,
    payload: &mut Payload,
    optional: bool,
) -> impl Future<Output = Result<Map<String, Value>, AppError>> + use<> {
    let json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime_guess::mime::Mime>().ok())
        .is_some_and(|m| m.subtype() == "json" || m.suffix().is_some_and(|s| s == "json"));
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let body = web::Payload::from_request(req, payload).into_inner();
    async move {
        if !json && !optional {
            return Err(AppError::BadRequest {
                code: "unsupported_media_type",
                message: "Envoyez le corps en JSON (Content-Type: application/json).".into(),
            });
        }
        if declared.is_some_and(|n| n > LIMIT) {
            return Err(too_large());
        }
        let bytes = body
            .map_err(|_| AppError::BadRequest {
                code: "invalid_json",
                message: "Le corps de la requête n'a pas pu être lu.".into(),
            })?
            .to_bytes_limited(LIMIT)
            .await
            .map_err(|_| too_large())?
            .map_err(|_| AppError::BadRequest {
                code: "invalid_json",
                message: "Le corps de la requête n'a pas pu être lu.".into(),
            })?;
        if optional && bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Map::new());
        }
        if !json {
            return Err(AppError::BadRequest {
                code: "unsupported_media_type",
                message: "Envoyez le corps en JSON (Content-Type: application/json).".into(),
            });
        }
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| AppError::BadRequest {
            code: "invalid_json",
            message: format!(
                "JSON illisible (ligne {}, colonne {}) : vérifiez la syntaxe du corps.",
                e.line(),
                e.column()
            ),
        })?;
        match value {
            Value::Object(map) => Ok(map),
            other => Err(AppError::field(
                "body",
                format!(
                    "Le corps doit être un objet JSON ({{…}}), pas {}.",
                    kind_of(&other)
                ),
            )),
        }
    }
}

fn too_large() -> AppError {
    AppError::TooLarge(format!(
        "Le corps de la requête est trop volumineux ({} Kio au plus).",
        LIMIT / 1024
    ))
}

/// Reads a JSON value into `T`: unknown fields and wrong types become field errors.
pub fn decode<T: DeserializeOwned>(value: Value) -> Result<T, AppError> {
    let mut unknown = Vec::new();
    let mut note = |path: serde_ignored::Path<'_>| unknown.push(path.to_string());
    let decoded: Result<T, _> = serde_path_to_error::deserialize(serde_ignored::Deserializer::new(
        Strict(value),
        &mut note,
    ));
    let mut fields = FieldErrors::new();
    for path in unknown {
        fields.insert(
            path,
            "Champ inconnu de cette ressource : retirez-le (voir le document OpenAPI).".to_string(),
        );
    }
    match decoded {
        Ok(v) if fields.is_empty() => Ok(v),
        Ok(_) => Err(AppError::validation(fields)),
        Err(e) => {
            let message = e.inner().to_string();
            let path = e.path().to_string();
            let (field, text) = if let Some(name) = missing_field(&message) {
                let field = if path == "." || path.is_empty() {
                    name.to_string()
                } else {
                    format!("{path}.{name}")
                };
                (field, "Ce champ est obligatoire.".to_string())
            } else {
                (
                    if path == "." || path.is_empty() {
                        "body".to_string()
                    } else {
                        path
                    },
                    wrong_type(&message),
                )
            };
            fields.insert(field, text);
            Err(AppError::validation(fields))
        }
    }
}

/// A JSON value read without serde's leniency for structs: serde lets a struct be read
/// from an array (its fields in order, or none at all for `[]`), which would turn
/// `{"inner": []}` into an empty object instead of a refusal.
struct Strict(Value);

impl<'de> serde::Deserializer<'de> for Strict {
    type Error = serde_json::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        use serde::de::value::{MapDeserializer, SeqDeserializer};
        match self.0 {
            Value::Array(items) => {
                let mut seq = SeqDeserializer::new(items.into_iter().map(Strict));
                let out = v.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(out)
            }
            Value::Object(map) => {
                let mut map = MapDeserializer::new(map.into_iter().map(|(k, x)| (k, Strict(x))));
                let out = v.visit_map(&mut map)?;
                map.end()?;
                Ok(out)
            }
            other => serde::Deserializer::deserialize_any(other, v),
        }
    }

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Object(_) => self.deserialize_any(v),
            Value::Array(_) => Err(serde::de::Error::invalid_type(
                serde::de::Unexpected::Seq,
                &v,
            )),
            other => other.deserialize_struct(name, fields, v),
        }
    }

    fn deserialize_option<V: serde::de::Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Null => v.visit_none(),
            other => v.visit_some(Strict(other)),
        }
    }

    fn deserialize_newtype_struct<V: serde::de::Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, Self::Error> {
        v.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: serde::de::Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_enum(name, variants, v)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map identifier ignored_any
    }
}

impl<'de> serde::de::IntoDeserializer<'de, serde_json::Error> for Strict {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

/// `missing field `name`` → `name`.
fn missing_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
}

/// serde's message, in French: what was received and, when serde says it, what was
/// expected.
fn wrong_type(message: &str) -> String {
    let received = [
        ("sequence", "une liste"),
        ("map", "un objet"),
        ("string", "un texte"),
        ("boolean", "un booléen"),
        ("integer", "un nombre"),
        ("floating point", "un nombre"),
        ("null", "null"),
    ]
    .iter()
    .find(|(en, _)| {
        message.starts_with(&format!("invalid type: {en}"))
            || message.starts_with(&format!("invalid value: {en}"))
    })
    .map(|(_, fr)| *fr);
    match received {
        Some(kind) => format!("Valeur de type incorrect pour ce champ : {kind} reçu."),
        None => "Valeur invalide pour ce champ : vérifiez son type et son format.".to_string(),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Array(_) => "une liste",
        Value::String(_) => "un texte",
        Value::Number(_) => "un nombre",
        Value::Bool(_) => "un booléen",
        Value::Null => "null",
        Value::Object(_) => "un objet",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Default, Deserialize, Serialize, PartialEq)]
    struct Inner {
        #[serde(default)]
        start: String,
    }

    #[derive(Debug, Default, Deserialize, Serialize, PartialEq)]
    struct Input {
        #[serde(default)]
        name: String,
        #[serde(default)]
        place: String,
        #[serde(default)]
        version: String,
        #[serde(default)]
        inner: Inner,
        #[serde(default)]
        items: Vec<Inner>,
    }

    fn patch(v: Value) -> Patch<Input> {
        Patch {
            fields: v.as_object().unwrap().clone(),
            _input: PhantomData,
        }
    }

    fn current() -> Input {
        Input {
            name: "Atelier".into(),
            place: "Bordeaux".into(),
            version: "3".into(),
            inner: Inner {
                start: "09:30".into(),
            },
            items: vec![Inner { start: "a".into() }],
        }
    }

    #[test]
    fn an_absent_field_keeps_its_value_and_objects_merge_key_by_key() {
        let got = patch(serde_json::json!({"version": "3", "name": "Nouveau", "inner": {}}))
            .apply(&current(), &current())
            .unwrap();
        assert_eq!(got.name, "Nouveau");
        assert_eq!(got.place, "Bordeaux");
        assert_eq!(got.inner.start, "09:30");
        assert_eq!(got.items.len(), 1);
    }

    #[test]
    fn arrays_are_replaced_and_null_empties_a_text() {
        let got = patch(serde_json::json!({"version": "3", "items": [], "place": ""}))
            .apply(&current(), &current())
            .unwrap();
        assert!(got.items.is_empty());
        assert_eq!(got.place, "");
    }

    #[test]
    fn a_patch_without_version_is_refused_on_the_version_field() {
        let err = patch(serde_json::json!({"name": "X"}))
            .apply(&current(), &current())
            .unwrap_err();
        assert!(err.fields().unwrap().contains_key("version"));
        let err = patch(serde_json::json!({}))
            .apply(&current(), &current())
            .unwrap_err();
        assert!(err.fields().unwrap().contains_key("version"));
    }

    #[test]
    fn unknown_fields_are_named_even_nested() {
        let err =
            decode::<Input>(serde_json::json!({"nme": "x", "inner": {"stat": 1}})).unwrap_err();
        let fields = err.fields().unwrap();
        assert!(fields.contains_key("nme"), "{fields:?}");
        assert!(fields.contains_key("inner.stat"), "{fields:?}");
    }

    #[test]
    fn a_wrong_type_names_its_field_in_french() {
        let err = decode::<Input>(serde_json::json!({"inner": []})).unwrap_err();
        assert_eq!(err.status().as_u16(), 422);
        let fields = err.fields().unwrap();
        assert!(fields["inner"].contains("une liste reçu"), "{fields:?}");
        let err = decode::<Input>(serde_json::json!({"items": [{"start": {}}]})).unwrap_err();
        assert!(err.fields().unwrap().contains_key("items[0].start"));
    }

    #[test]
    fn a_missing_required_field_is_named() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Strict {
            a: Inner,
        }
        let err = decode::<Strict>(serde_json::json!({"a": {}, "b": 1})).unwrap_err();
        let fields = err.fields().unwrap();
        assert!(fields.contains_key("b"), "{fields:?}");
        let err = decode::<Strict>(serde_json::json!({})).unwrap_err();
        assert_eq!(err.fields().unwrap()["a"], "Ce champ est obligatoire.");
    }
}
