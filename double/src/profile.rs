//! Profiles: which server the double pretends to be.
//!
//! `documented` is the PayU endpoint as it really behaves (Doorkeeper
//! 4.4.1–5.0.x plus `user_uuid`). Every other profile is a deliberate change to
//! it, so that a contract suite can prove it notices (or, for the two harmless
//! ones, does not complain about) each kind of drift. The double itself never
//! knows what the harness expects: a profile only switches behaviour.
//!
//! A [`Profile`] is turned once, at start, into a flat [`Behaviour`] of plain
//! switches, so the request path reads a few booleans instead of matching on
//! profile names per request.

use std::time::Duration;

/// The delay the named `slow` profile adds to every successful response.
pub const SLOW_DELAY: Duration = Duration::from_secs(3);

/// Which server the double behaves like.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Profile {
    /// The PayU page as the real server answers it (Doorkeeper 4.4.1–5.0.x).
    #[default]
    Documented,
    /// Doorkeeper 5.2 and later: 400 for most errors, new texts, other cache headers.
    Doorkeeper52,
    /// A server that follows RFC 6749 §5.2 strictly.
    Rfc6749,
    /// The documented server with exactly one thing changed.
    Mutation(Mutation),
}

/// One single, realistic change to the documented server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mutation {
    ExpireInRenamed,
    CreatedAtMillis,
    TokenTypeLowercase,
    ScopeMissing,
    ExtraField,
    TokensNotHex,
    UuidRfc4122,
    DescriptionReworded,
    InvalidGrantAsInvalidRequest,
    NoRotation,
    OldTokenStillAccepted,
    PublicClientNeedsSecret,
    NoCacheControl,
    NoPragma,
    ContentTypeNoCharset,
    ContentTypeHtml,
    Html502,
    KeysReordered,
    /// Successful responses are delayed. A field, so tests can use a short
    /// delay; the named profile `slow` uses [`SLOW_DELAY`].
    Slow {
        delay: Duration,
    },
    InvalidRequest400,
    NoWwwAuthenticate,
    ExpiresInString,
    MissingGrantTypeUnsupported,
    ErrorDescriptionMissing,
    BodyFormEncoded,
    ExpiresInZero,
    BasicAuthIgnored,
    ConfidentialSecretOptional,
    ScopeNotChecked,
}

impl Mutation {
    /// Every mutation, in a stable order.
    pub fn all() -> Vec<Mutation> {
        use Mutation::*;
        vec![
            ExpireInRenamed,
            CreatedAtMillis,
            TokenTypeLowercase,
            ScopeMissing,
            ExtraField,
            TokensNotHex,
            UuidRfc4122,
            DescriptionReworded,
            InvalidGrantAsInvalidRequest,
            NoRotation,
            OldTokenStillAccepted,
            PublicClientNeedsSecret,
            NoCacheControl,
            NoPragma,
            ContentTypeNoCharset,
            ContentTypeHtml,
            Html502,
            KeysReordered,
            Slow { delay: SLOW_DELAY },
            InvalidRequest400,
            NoWwwAuthenticate,
            ExpiresInString,
            MissingGrantTypeUnsupported,
            ErrorDescriptionMissing,
            BodyFormEncoded,
            ExpiresInZero,
            BasicAuthIgnored,
            ConfidentialSecretOptional,
            ScopeNotChecked,
        ]
    }

    pub fn name(&self) -> &'static str {
        use Mutation::*;
        match self {
            ExpireInRenamed => "expire-in-renamed",
            CreatedAtMillis => "created-at-millis",
            TokenTypeLowercase => "token-type-lowercase",
            ScopeMissing => "scope-missing",
            ExtraField => "extra-field",
            TokensNotHex => "tokens-not-hex",
            UuidRfc4122 => "uuid-rfc4122",
            DescriptionReworded => "description-reworded",
            InvalidGrantAsInvalidRequest => "invalid-grant-as-invalid-request",
            NoRotation => "no-rotation",
            OldTokenStillAccepted => "old-token-still-accepted",
            PublicClientNeedsSecret => "public-client-needs-secret",
            NoCacheControl => "no-cache-control",
            NoPragma => "no-pragma",
            ContentTypeNoCharset => "content-type-no-charset",
            ContentTypeHtml => "content-type-html",
            Html502 => "html-502",
            KeysReordered => "keys-reordered",
            Slow { .. } => "slow",
            InvalidRequest400 => "invalid-request-400",
            NoWwwAuthenticate => "no-www-authenticate",
            ExpiresInString => "expires-in-string",
            MissingGrantTypeUnsupported => "missing-grant-type-unsupported",
            ErrorDescriptionMissing => "error-description-missing",
            BodyFormEncoded => "body-form-encoded",
            ExpiresInZero => "expires-in-zero",
            BasicAuthIgnored => "basic-auth-ignored",
            ConfidentialSecretOptional => "confidential-secret-optional",
            ScopeNotChecked => "scope-not-checked",
        }
    }

    pub fn description(&self) -> &'static str {
        use Mutation::*;
        match self {
            ExpireInRenamed => {
                "success body names the lifetime key `expire_in` (as the page's table does) instead of `expires_in`"
            }
            CreatedAtMillis => {
                "`created_at` in milliseconds (as the page's table claims) instead of seconds"
            }
            TokenTypeLowercase => "`token_type` is \"bearer\" instead of \"Bearer\"",
            ScopeMissing => "success body has no `scope` key",
            ExtraField => {
                "success body carries an extra `id_token` (a JWT-like string) after `user_uuid`"
            }
            TokensNotHex => {
                "access and refresh tokens are 43-character base64url instead of 64 lowercase hex"
            }
            UuidRfc4122 => {
                "`user_uuid` in the RFC 4122 8-4-4-4-12 layout instead of PayU's 4-4-8-4-12"
            }
            DescriptionReworded => "invalid_client answers a reworded error_description",
            InvalidGrantAsInvalidRequest => {
                "an unknown or revoked refresh token is answered invalid_request (with its text) instead of invalid_grant"
            }
            NoRotation => "a refresh returns the same refresh token, which stays live",
            OldTokenStillAccepted => {
                "a refresh issues a new refresh token but the old one stays live"
            }
            PublicClientNeedsSecret => {
                "public clients must send their secret too (invalid_client without it)"
            }
            NoCacheControl => "token responses carry no Cache-Control header",
            NoPragma => "token responses carry no Pragma header",
            ContentTypeNoCharset => "Content-Type is `application/json` without `; charset=utf-8`",
            ContentTypeHtml => "Content-Type is `text/html; charset=utf-8` with the same JSON body",
            Html502 => "every request is answered by a proxy-style HTML 502 Bad Gateway page",
            KeysReordered => {
                "success body keys in alphabetical order (not a drift: JSON objects are unordered)"
            }
            Slow { .. } => "every successful response is delayed by 3 s (not a drift)",
            InvalidRequest400 => {
                "invalid_request is answered with HTTP 400 (every other error stays 401)"
            }
            NoWwwAuthenticate => "error responses carry no WWW-Authenticate header",
            ExpiresInString => "`expires_in` is a JSON string (\"7199\") instead of a number",
            MissingGrantTypeUnsupported => {
                "a missing grant_type is answered unsupported_grant_type instead of invalid_request"
            }
            ErrorDescriptionMissing => {
                "error bodies (and WWW-Authenticate) have no error_description"
            }
            BodyFormEncoded => {
                "success body is application/x-www-form-urlencoded key=value pairs instead of JSON"
            }
            ExpiresInZero => "`expires_in` is 0",
            BasicAuthIgnored => {
                "HTTP Basic client credentials are ignored (only the form fields count)"
            }
            ConfidentialSecretOptional => {
                "a confidential client is authenticated without its secret"
            }
            ScopeNotChecked => "a refresh may ask for a scope wider than the one granted",
        }
    }
}

impl Profile {
    /// Every profile: `documented` first, then the whole-server profiles, then
    /// each single mutation.
    pub fn all() -> Vec<Profile> {
        let mut all = vec![Profile::Documented, Profile::Doorkeeper52, Profile::Rfc6749];
        all.extend(Mutation::all().into_iter().map(Profile::Mutation));
        all
    }

    pub fn name(&self) -> &'static str {
        match self {
            Profile::Documented => "documented",
            Profile::Doorkeeper52 => "doorkeeper-5.2",
            Profile::Rfc6749 => "rfc6749",
            Profile::Mutation(m) => m.name(),
        }
    }

    pub fn parse(name: &str) -> Option<Profile> {
        Profile::all().into_iter().find(|p| p.name() == name)
    }

    /// One line: what changed compared with the documented server.
    pub fn description(&self) -> &'static str {
        match self {
            Profile::Documented => {
                "the documented server: Doorkeeper 4.4.1-5.0.x with PayU's user_uuid, every error 401"
            }
            Profile::Doorkeeper52 => {
                "Doorkeeper 5.2+: 400 for every error but invalid_client, \"Missing required parameter: X.\" texts, Cache-Control \"no-store, no-cache\" and no Pragma"
            }
            Profile::Rfc6749 => {
                "strict RFC 6749: 400 for invalid_request, invalid_grant, unsupported_grant_type and invalid_scope, 401 for invalid_client, WWW-Authenticate only on 401"
            }
            Profile::Mutation(m) => m.description(),
        }
    }
}

/// For command lines: the kebab-case name; the error lists the known ones.
impl std::str::FromStr for Profile {
    type Err = String;

    fn from_str(name: &str) -> Result<Profile, String> {
        Profile::parse(name).ok_or_else(|| {
            let known: Vec<&str> = Profile::all().iter().map(Profile::name).collect();
            format!("unknown profile {name:?}; known: {}", known.join(", "))
        })
    }
}

impl std::fmt::Display for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Which HTTP status an error gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StatusPolicy {
    /// Doorkeeper 4.4.1–5.0.x: 401 for everything.
    All401,
    /// 400 for everything except invalid_client (Doorkeeper 5.1+, RFC 6749).
    Rfc,
    /// Only invalid_request moves to 400.
    InvalidRequest400,
}

/// When the WWW-Authenticate header is sent on an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WwwAuthenticate {
    Always,
    OnlyOn401,
    Never,
}

/// The profile flattened into the switches the request path reads.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Behaviour {
    pub status: StatusPolicy,
    pub www_authenticate: WwwAuthenticate,
    pub cache_control: Option<&'static str>,
    pub pragma: bool,
    pub content_type: &'static str,
    pub missing_param_texts: bool,
    pub error_description: bool,
    pub reworded_invalid_client: bool,
    pub missing_grant_type_unsupported: bool,
    pub invalid_grant_as_invalid_request: bool,
    pub public_client_needs_secret: bool,
    pub basic_auth_ignored: bool,
    pub confidential_secret_optional: bool,
    pub scope_not_checked: bool,
    pub rotation: Rotation,
    pub html_502: bool,
    pub slow: Option<Duration>,
    pub body: BodyShape,
}

/// What happens to the presented refresh token on success.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rotation {
    /// New token issued, old one revoked atomically (the documented server).
    Rotate,
    /// The same token is handed back and stays live.
    None,
    /// A new token is issued, the old one also stays live.
    KeepOld,
}

/// How a success body is written.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct BodyShape {
    pub expire_in_key: bool,
    pub created_at_millis: bool,
    pub token_type_lowercase: bool,
    pub scope_missing: bool,
    pub extra_id_token: bool,
    pub tokens_base64url: bool,
    pub uuid_rfc4122: bool,
    pub keys_sorted: bool,
    pub expires_in_string: bool,
    pub form_encoded: bool,
    pub expires_in_zero: bool,
}

pub(crate) const JSON_UTF8: &str = "application/json; charset=utf-8";

impl Behaviour {
    pub fn of(profile: &Profile) -> Behaviour {
        let mut b = Behaviour {
            status: StatusPolicy::All401,
            www_authenticate: WwwAuthenticate::Always,
            cache_control: Some("no-store"),
            pragma: true,
            content_type: JSON_UTF8,
            missing_param_texts: false,
            error_description: true,
            reworded_invalid_client: false,
            missing_grant_type_unsupported: false,
            invalid_grant_as_invalid_request: false,
            public_client_needs_secret: false,
            basic_auth_ignored: false,
            confidential_secret_optional: false,
            scope_not_checked: false,
            rotation: Rotation::Rotate,
            html_502: false,
            slow: None,
            body: BodyShape::default(),
        };
        match profile {
            Profile::Documented => {}
            Profile::Doorkeeper52 => {
                b.status = StatusPolicy::Rfc;
                b.missing_param_texts = true;
                b.cache_control = Some("no-store, no-cache");
                b.pragma = false;
            }
            Profile::Rfc6749 => {
                b.status = StatusPolicy::Rfc;
                b.www_authenticate = WwwAuthenticate::OnlyOn401;
            }
            Profile::Mutation(m) => {
                use Mutation::*;
                match m {
                    ExpireInRenamed => b.body.expire_in_key = true,
                    CreatedAtMillis => b.body.created_at_millis = true,
                    TokenTypeLowercase => b.body.token_type_lowercase = true,
                    ScopeMissing => b.body.scope_missing = true,
                    ExtraField => b.body.extra_id_token = true,
                    TokensNotHex => b.body.tokens_base64url = true,
                    UuidRfc4122 => b.body.uuid_rfc4122 = true,
                    DescriptionReworded => b.reworded_invalid_client = true,
                    InvalidGrantAsInvalidRequest => b.invalid_grant_as_invalid_request = true,
                    NoRotation => b.rotation = Rotation::None,
                    OldTokenStillAccepted => b.rotation = Rotation::KeepOld,
                    PublicClientNeedsSecret => b.public_client_needs_secret = true,
                    NoCacheControl => b.cache_control = None,
                    NoPragma => b.pragma = false,
                    ContentTypeNoCharset => b.content_type = "application/json",
                    ContentTypeHtml => b.content_type = "text/html; charset=utf-8",
                    Html502 => b.html_502 = true,
                    KeysReordered => b.body.keys_sorted = true,
                    Slow { delay } => b.slow = Some(*delay),
                    InvalidRequest400 => b.status = StatusPolicy::InvalidRequest400,
                    NoWwwAuthenticate => b.www_authenticate = WwwAuthenticate::Never,
                    ExpiresInString => b.body.expires_in_string = true,
                    MissingGrantTypeUnsupported => b.missing_grant_type_unsupported = true,
                    ErrorDescriptionMissing => b.error_description = false,
                    BodyFormEncoded => b.body.form_encoded = true,
                    ExpiresInZero => b.body.expires_in_zero = true,
                    BasicAuthIgnored => b.basic_auth_ignored = true,
                    ConfidentialSecretOptional => b.confidential_secret_optional = true,
                    ScopeNotChecked => b.scope_not_checked = true,
                }
            }
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_kebab_case_and_parse_back() {
        let all = Profile::all();
        assert_eq!(all[0], Profile::Documented);
        assert!(all.len() >= 25, "{} profiles", all.len());
        let mut names: Vec<&str> = all.iter().map(|p| p.name()).collect();
        for p in &all {
            assert_eq!(Profile::parse(p.name()).as_ref(), Some(p));
            assert!(!p.description().is_empty());
            assert!(
                p.name()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.'),
                "{}",
                p.name()
            );
        }
        names.sort();
        names.dedup();
        assert_eq!(names.len(), all.len());
        assert_eq!(Profile::parse("nope"), None);
        assert!(
            "nope"
                .parse::<Profile>()
                .unwrap_err()
                .contains("doorkeeper-5.2")
        );
        assert_eq!("rfc6749".parse::<Profile>(), Ok(Profile::Rfc6749));
        assert_eq!(Profile::Doorkeeper52.to_string(), "doorkeeper-5.2");
        assert_eq!(Profile::default(), Profile::Documented);
        assert_eq!(
            Profile::parse("slow"),
            Some(Profile::Mutation(Mutation::Slow { delay: SLOW_DELAY }))
        );
    }
}
