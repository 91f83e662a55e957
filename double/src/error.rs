//! OAuth error answers, byte for byte as Doorkeeper 4.4.1–5.0.x writes them
//! (`lib/doorkeeper/oauth/error_response.rb`, `config/locales/en.yml`), bent by
//! the active profile (status codes, texts, headers).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::profile::{Behaviour, Profile, StatusPolicy, WwwAuthenticate};
use super::response::token_headers;

/// The errors the token endpoint can answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    /// `missing` names the absent parameter: Doorkeeper 5.2+ says which one,
    /// 4.x/5.0 give the one generic text for every malformed request.
    #[error("invalid_request")]
    InvalidRequest { missing: Option<&'static str> },
    #[error("invalid_client")]
    InvalidClient,
    #[error("invalid_grant")]
    InvalidGrant,
    #[error("invalid_scope")]
    InvalidScope,
    #[error("unsupported_grant_type")]
    UnsupportedGrantType,
}

pub(crate) const INVALID_REQUEST_TEXT: &str = "The request is missing a required parameter, includes an unsupported parameter value, or is otherwise malformed.";
const INVALID_CLIENT_TEXT: &str = "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.";
// A plausible rewording a gem upgrade or a translation file could bring.
const INVALID_CLIENT_REWORDED: &str = "Client authentication failed: unknown client, missing client authentication, or unsupported authentication method.";
const INVALID_GRANT_TEXT: &str = "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.";
const INVALID_SCOPE_TEXT: &str = "The requested scope is invalid, unknown, or malformed.";
const UNSUPPORTED_GRANT_TYPE_TEXT: &str =
    "The authorization grant type is not supported by the authorization server.";

impl OAuthError {
    /// A malformed request that is not about one missing parameter.
    pub const MALFORMED: OAuthError = OAuthError::InvalidRequest { missing: None };

    pub fn missing(param: &'static str) -> OAuthError {
        OAuthError::InvalidRequest {
            missing: Some(param),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest { .. } => "invalid_request",
            OAuthError::InvalidClient => "invalid_client",
            OAuthError::InvalidGrant => "invalid_grant",
            OAuthError::InvalidScope => "invalid_scope",
            OAuthError::UnsupportedGrantType => "unsupported_grant_type",
        }
    }

    pub(crate) fn description(&self, b: &Behaviour) -> std::borrow::Cow<'static, str> {
        match self {
            OAuthError::InvalidRequest {
                missing: Some(param),
            } if b.missing_param_texts => format!("Missing required parameter: {param}.").into(),
            OAuthError::InvalidRequest { .. } => INVALID_REQUEST_TEXT.into(),
            OAuthError::InvalidClient if b.reworded_invalid_client => {
                INVALID_CLIENT_REWORDED.into()
            }
            OAuthError::InvalidClient => INVALID_CLIENT_TEXT.into(),
            OAuthError::InvalidGrant => INVALID_GRANT_TEXT.into(),
            OAuthError::InvalidScope => INVALID_SCOPE_TEXT.into(),
            OAuthError::UnsupportedGrantType => UNSUPPORTED_GRANT_TYPE_TEXT.into(),
        }
    }

    pub(crate) fn status(&self, b: &Behaviour) -> StatusCode {
        match (b.status, self) {
            (StatusPolicy::All401, _) => StatusCode::UNAUTHORIZED,
            (StatusPolicy::Rfc, OAuthError::InvalidClient) => StatusCode::UNAUTHORIZED,
            (StatusPolicy::Rfc, _) => StatusCode::BAD_REQUEST,
            (StatusPolicy::InvalidRequest400, OAuthError::InvalidRequest { .. }) => {
                StatusCode::BAD_REQUEST
            }
            (StatusPolicy::InvalidRequest400, _) => StatusCode::UNAUTHORIZED,
        }
    }

    /// The full answer under the given behaviour.
    pub(crate) fn render(&self, b: &Behaviour) -> Response {
        let status = self.status(b);
        let code = self.code();
        let description = self.description(b);
        // Texts are fixed ASCII without quotes or backslashes, so no escaping
        // is needed; Rails writes compact JSON, so no spaces either.
        let body = if b.error_description {
            format!(r#"{{"error":"{code}","error_description":"{description}"}}"#)
        } else {
            format!(r#"{{"error":"{code}"}}"#)
        };
        let mut resp = (status, body).into_response();
        let headers = resp.headers_mut();
        token_headers(b, headers);
        let send_www = match b.www_authenticate {
            WwwAuthenticate::Always => true,
            WwwAuthenticate::OnlyOn401 => status == StatusCode::UNAUTHORIZED,
            WwwAuthenticate::Never => false,
        };
        if send_www {
            let value = if b.error_description {
                format!(
                    r#"Bearer realm="Doorkeeper", error="{code}", error_description="{description}""#
                )
            } else {
                format!(r#"Bearer realm="Doorkeeper", error="{code}""#)
            };
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(header::WWW_AUTHENTICATE, v);
            }
        }
        resp
    }
}

/// Renders as the documented server would; the handler uses
/// [`OAuthError::render`] with the active profile instead.
impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        self.render(&Behaviour::of(&Profile::Documented))
    }
}
