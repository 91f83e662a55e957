//! Writing answers: the headers every token response carries, the success
//! body (key order, value formats, and the profile's bends of both), and the
//! HTML pages that a Rails app behind nginx answers outside the token logic.

use std::fmt::Write as _;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::profile::Behaviour;

/// Headers on every token response, success or error (Doorkeeper's
/// `TokenResponse#headers` / `ErrorResponse#headers`).
pub(crate) fn token_headers(b: &Behaviour, headers: &mut HeaderMap) {
    if let Some(cc) = b.cache_control {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cc));
    }
    if b.pragma {
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(b.content_type),
    );
}

/// What a successful grant produced, before it is written out.
pub(crate) struct Issued<'a> {
    pub access_token: &'a str,
    pub refresh_token: &'a str,
    /// Remaining lifetime of the access token, in whole seconds.
    pub expires_in: u64,
    pub scope: &'a str,
    pub created_at_millis: u64,
    /// `user_uuid` already in the layout the profile wants.
    pub user_uuid: &'a str,
    pub ttl_secs: u64,
}

enum Val<'a> {
    Str(&'a str),
    Num(u64),
    Owned(String),
}

pub(crate) fn success(b: &Behaviour, issued: &Issued<'_>) -> Response {
    let shape = &b.body;
    let created_secs = issued.created_at_millis / 1000;
    let expires_in = if shape.expires_in_zero {
        0
    } else {
        issued.expires_in
    };
    let mut fields: Vec<(&'static str, Val<'_>)> = Vec::with_capacity(8);
    fields.push(("access_token", Val::Str(issued.access_token)));
    fields.push((
        "token_type",
        Val::Str(if shape.token_type_lowercase {
            "bearer"
        } else {
            "Bearer"
        }),
    ));
    fields.push((
        if shape.expire_in_key {
            "expire_in"
        } else {
            "expires_in"
        },
        if shape.expires_in_string {
            Val::Owned(expires_in.to_string())
        } else {
            Val::Num(expires_in)
        },
    ));
    fields.push(("refresh_token", Val::Str(issued.refresh_token)));
    // Doorkeeper drops blank values from the body (`reject { blank? }`).
    if !shape.scope_missing && !issued.scope.is_empty() {
        fields.push(("scope", Val::Str(issued.scope)));
    }
    fields.push((
        "created_at",
        Val::Num(if shape.created_at_millis {
            issued.created_at_millis
        } else {
            created_secs
        }),
    ));
    fields.push(("user_uuid", Val::Str(issued.user_uuid)));
    if shape.extra_id_token {
        fields.push((
            "id_token",
            Val::Owned(jwt_like(issued.user_uuid, created_secs, issued.ttl_secs)),
        ));
    }
    if shape.keys_sorted {
        fields.sort_by_key(|(k, _)| *k);
    }

    let mut body = String::with_capacity(320);
    if shape.form_encoded {
        for (i, (k, v)) in fields.iter().enumerate() {
            if i > 0 {
                body.push('&');
            }
            body.push_str(k);
            body.push('=');
            match v {
                Val::Str(s) => body.extend(url::form_urlencoded::byte_serialize(s.as_bytes())),
                Val::Owned(s) => body.extend(url::form_urlencoded::byte_serialize(s.as_bytes())),
                Val::Num(n) => {
                    let _ = write!(body, "{n}");
                }
            }
        }
    } else {
        body.push('{');
        for (i, (k, v)) in fields.iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push('"');
            body.push_str(k);
            body.push_str("\":");
            match v {
                Val::Str(s) => push_json_str(&mut body, s),
                Val::Owned(s) => push_json_str(&mut body, s),
                Val::Num(n) => {
                    let _ = write!(body, "{n}");
                }
            }
        }
        body.push('}');
    }

    let mut resp = (StatusCode::OK, body).into_response();
    token_headers(b, resp.headers_mut());
    if shape.form_encoded {
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
    }
    resp
}

fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Something that looks like an `OpenID` Connect ID token to anyone who does
/// not verify it, which is all the `extra-field` mutation needs.
fn jwt_like(sub: &str, iat: u64, ttl: u64) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT","kid":"double"}"#);
    let payload = URL_SAFE_NO_PAD.encode(format!(
        r#"{{"iss":"https://accounts.payu.in","sub":"{sub}","iat":{iat},"exp":{}}}"#,
        iat + ttl
    ));
    let sig = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    format!("{header}.{payload}.{sig}")
}

fn html(status: StatusCode, page: &'static str) -> Response {
    let mut resp = Response::new(Body::from(page));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}

/// Rails answers an unrouted path or method with its static 404 page.
pub(crate) fn not_found() -> Response {
    html(
        StatusCode::NOT_FOUND,
        "<!DOCTYPE html>\n<html>\n<head>\n  <title>The page you were looking for doesn't exist (404)</title>\n</head>\n<body>\n  <h1>The page you were looking for doesn't exist.</h1>\n</body>\n</html>\n",
    )
}

/// The body limit is the proxy's job in front of Rails, so the answer is nginx's page.
pub(crate) fn payload_too_large() -> Response {
    html(
        StatusCode::PAYLOAD_TOO_LARGE,
        "<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
    )
}

/// What a partner sees when the app behind the proxy is down.
pub(crate) fn bad_gateway() -> Response {
    html(
        StatusCode::BAD_GATEWAY,
        "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
    )
}

/// Rails' own answer to a body it cannot decode (a bad `%` escape, broken
/// JSON), before Doorkeeper runs: 400 with an empty HTML body.
pub(crate) fn bare_bad_request() -> Response {
    let mut resp = (StatusCode::BAD_REQUEST, "").into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=UTF-8"),
    );
    resp
}

/// The protected resource (`GET /api/me`), as a Rails API controller with
/// `before_action :doorkeeper_authorize!` answers it.
pub(crate) fn resource(check: Result<&str, &'static str>) -> Response {
    match check {
        Ok(user_uuid) => {
            let mut resp =
                (StatusCode::OK, format!(r#"{{"user_uuid":"{user_uuid}"}}"#)).into_response();
            let h = resp.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            );
            // Rails' default for a fresh dynamic response.
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("max-age=0, private, must-revalidate"),
            );
            resp
        }
        // Doorkeeper's InvalidTokenResponse rendered with `head :unauthorized`.
        Err(description) => {
            let mut resp = (StatusCode::UNAUTHORIZED, "").into_response();
            let h = resp.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
            if let Ok(v) = HeaderValue::from_str(&format!(
                r#"Bearer realm="Doorkeeper", error="invalid_token", error_description="{description}""#
            )) {
                h.insert(header::WWW_AUTHENTICATE, v);
            }
            resp
        }
    }
}
