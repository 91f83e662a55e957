//! Profiles: which server the double pretends to be.
//!
//! `documented` is the `PayU` endpoint as it really behaves (Doorkeeper
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
    /// The `PayU` page as the real server answers it (Doorkeeper 4.4.1–5.0.x).
    #[default]
    Documented,
    /// Real Doorkeeper 5.5.0 on Rails 6.1, configured like `PayU`'s server;
    /// verified by the differential test (`tests/differential.rs`).
    Doorkeeper55,
    /// Doorkeeper 5.2: 5.5 without the one change between them that this
    /// endpoint shows (see [`Behaviour::of`]).
    Doorkeeper52,
    /// Doorkeeper 5.6.6: 5.5 with the one change between them that this
    /// endpoint shows (see [`Behaviour::of`]).
    Doorkeeper566,
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
    FormUnparsedWithoutContentType,
    BasicAuthIgnored,
    ConfidentialSecretOptional,
    ScopeNotChecked,
}

impl Mutation {
    /// Every mutation, in a stable order.
    pub fn all() -> Vec<Mutation> {
        use Mutation::{
            BasicAuthIgnored, BodyFormEncoded, ConfidentialSecretOptional, ContentTypeHtml,
            ContentTypeNoCharset, CreatedAtMillis, DescriptionReworded, ErrorDescriptionMissing,
            ExpireInRenamed, ExpiresInString, ExpiresInZero, ExtraField,
            FormUnparsedWithoutContentType, Html502, InvalidGrantAsInvalidRequest,
            InvalidRequest400, KeysReordered, MissingGrantTypeUnsupported, NoCacheControl,
            NoPragma, NoRotation, NoWwwAuthenticate, OldTokenStillAccepted,
            PublicClientNeedsSecret, ScopeMissing, ScopeNotChecked, Slow, TokenTypeLowercase,
            TokensNotHex, UuidRfc4122,
        };
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
            FormUnparsedWithoutContentType,
            BasicAuthIgnored,
            ConfidentialSecretOptional,
            ScopeNotChecked,
        ]
    }

    pub fn name(&self) -> &'static str {
        use Mutation::{
            BasicAuthIgnored, BodyFormEncoded, ConfidentialSecretOptional, ContentTypeHtml,
            ContentTypeNoCharset, CreatedAtMillis, DescriptionReworded, ErrorDescriptionMissing,
            ExpireInRenamed, ExpiresInString, ExpiresInZero, ExtraField,
            FormUnparsedWithoutContentType, Html502, InvalidGrantAsInvalidRequest,
            InvalidRequest400, KeysReordered, MissingGrantTypeUnsupported, NoCacheControl,
            NoPragma, NoRotation, NoWwwAuthenticate, OldTokenStillAccepted,
            PublicClientNeedsSecret, ScopeMissing, ScopeNotChecked, Slow, TokenTypeLowercase,
            TokensNotHex, UuidRfc4122,
        };
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
            FormUnparsedWithoutContentType => "form-unparsed-without-content-type",
            BasicAuthIgnored => "basic-auth-ignored",
            ConfidentialSecretOptional => "confidential-secret-optional",
            ScopeNotChecked => "scope-not-checked",
        }
    }

    pub fn description(&self) -> &'static str {
        use Mutation::{
            BasicAuthIgnored, BodyFormEncoded, ConfidentialSecretOptional, ContentTypeHtml,
            ContentTypeNoCharset, CreatedAtMillis, DescriptionReworded, ErrorDescriptionMissing,
            ExpireInRenamed, ExpiresInString, ExpiresInZero, ExtraField,
            FormUnparsedWithoutContentType, Html502, InvalidGrantAsInvalidRequest,
            InvalidRequest400, KeysReordered, MissingGrantTypeUnsupported, NoCacheControl,
            NoPragma, NoRotation, NoWwwAuthenticate, OldTokenStillAccepted,
            PublicClientNeedsSecret, ScopeMissing, ScopeNotChecked, Slow, TokenTypeLowercase,
            TokensNotHex, UuidRfc4122,
        };
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
                "a refresh issues a new refresh token but the old one is never revoked, not even once the new access token is used"
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
            FormUnparsedWithoutContentType => {
                "a POST without Content-Type is not parsed, as Rails does (not a drift: the documented request sends its Content-Type)"
            }
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
        let mut all = vec![
            Profile::Documented,
            Profile::Doorkeeper55,
            Profile::Doorkeeper52,
            Profile::Doorkeeper566,
            Profile::Rfc6749,
        ];
        all.extend(Mutation::all().into_iter().map(Profile::Mutation));
        all
    }

    pub fn name(&self) -> &'static str {
        match self {
            Profile::Documented => "documented",
            Profile::Doorkeeper55 => "doorkeeper-5.5",
            Profile::Doorkeeper52 => "doorkeeper-5.2",
            Profile::Doorkeeper566 => "doorkeeper-5.6.6",
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
            Profile::Doorkeeper55 => {
                "real Doorkeeper 5.5 (verified against it): 400 for every error but invalid_client, \"Missing required parameter: X.\" texts, user_uuid as on PayU"
            }
            Profile::Doorkeeper52 => {
                "Doorkeeper 5.2: as 5.5, but the password grant checks the client only when client_id is sent"
            }
            Profile::Doorkeeper566 => {
                "Doorkeeper 5.6.6: as 5.5, but Cache-Control \"no-store, no-cache\" and no Pragma"
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
    /// 400 for everything except `invalid_client` (Doorkeeper 5.1+, RFC 6749).
    Rfc,
    /// Only `invalid_request` moves to 400.
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
    /// Rails: a POST without Content-Type is not parsed (no parameters).
    pub unparsed_without_content_type: bool,
    /// Rails answers an undecodable body (bad `%` escape, broken JSON) itself
    /// before Doorkeeper runs: a bare 400, empty `text/html` body.
    pub bare_400_when_undecodable: bool,
    /// What the loser of a refresh race answers after the winner revoked
    /// the token: `invalid_request` in 4.x (`InvalidTokenReuse`),
    /// `invalid_grant` in 5.5 (`InvalidGrantReuse`).
    pub race_loser_invalid_grant: bool,
    /// A refresh with no client credentials at all: Doorkeeper passes the
    /// client check and fails the client match (`invalid_grant`). The
    /// documented profile answers `invalid_client` instead (module docs).
    pub credentialless_refresh_invalid_grant: bool,
    /// The password grant checks the client only when `client_id` is sent
    /// (Doorkeeper before 5.5.0.rc1, #1420).
    pub password_client_optional: bool,
    /// `;` separates pairs in a form body as well as `&` (Rack 2.2 splits a
    /// POST body on `&` only, a query string on both).
    pub semicolon_separates_body: bool,
    /// A non-empty JSON array or object value is a present parameter that
    /// matches nothing (Rails 6.1); otherwise it counts as absent.
    pub json_nested_present: bool,
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
            unparsed_without_content_type: false,
            bare_400_when_undecodable: false,
            race_loser_invalid_grant: false,
            credentialless_refresh_invalid_grant: false,
            password_client_optional: false,
            semicolon_separates_body: true,
            json_nested_present: false,
        };
        // Real Doorkeeper 5.5, as the differential test measured it. Each
        // line is a difference from the documented server (4.4.1-5.0.x).
        let doorkeeper_55 = |b: &mut Behaviour| {
            // CHANGELOG 5.1.0.rc2, #1202 "Use correct HTTP status codes for
            // error responses": 400, or 401 for invalid_client.
            b.status = StatusPolicy::Rfc;
            // CHANGELOG 5.2.0.rc3, #1277 "... add description for invalid
            // request" (and 5.2.1, #1306 "Fix interpolation of
            // `missing_param` I18n"): "Missing required parameter: X.".
            b.missing_param_texts = true;
            // Not a CHANGELOG entry: 5.x raises InvalidGrantReuse
            // (invalid_grant) where 4.x raised InvalidTokenReuse.
            b.race_loser_invalid_grant = true;
            // Doorkeeper itself (every version): no credentials pass
            // `validate_client`, then fail `validate_client_match`.
            b.credentialless_refresh_invalid_grant = true;
            // Rails 6.1 (ActionDispatch), not Doorkeeper: measured.
            b.unparsed_without_content_type = true;
            b.bare_400_when_undecodable = true;
            b.semicolon_separates_body = false;
            b.json_nested_present = true;
        };
        match profile {
            Profile::Documented => {}
            Profile::Doorkeeper55 => doorkeeper_55(&mut b),
            Profile::Doorkeeper52 => {
                doorkeeper_55(&mut b);
                // Undone: CHANGELOG 5.5.0.rc1, #1420 "Require client
                // authentication for Resource Owner Password Grant as stated
                // in OAuth RFC". Before it, `validate_client` was
                // `!parameters[:client_id] || client.present?`.
                b.password_client_optional = true;
            }
            Profile::Doorkeeper566 => {
                doorkeeper_55(&mut b);
                // CHANGELOG 5.6.6: token and error responses send
                // `Cache-Control: no-store, no-cache` and no `Pragma`
                // (NOTES.md §4; the behaviour through 5.7.x).
                b.cache_control = Some("no-store, no-cache");
                b.pragma = false;
            }
            Profile::Rfc6749 => {
                b.status = StatusPolicy::Rfc;
                b.www_authenticate = WwwAuthenticate::OnlyOn401;
            }
            Profile::Mutation(m) => {
                use Mutation::{
                    BasicAuthIgnored, BodyFormEncoded, ConfidentialSecretOptional, ContentTypeHtml,
                    ContentTypeNoCharset, CreatedAtMillis, DescriptionReworded,
                    ErrorDescriptionMissing, ExpireInRenamed, ExpiresInString, ExpiresInZero,
                    ExtraField, FormUnparsedWithoutContentType, Html502,
                    InvalidGrantAsInvalidRequest, InvalidRequest400, KeysReordered,
                    MissingGrantTypeUnsupported, NoCacheControl, NoPragma, NoRotation,
                    NoWwwAuthenticate, OldTokenStillAccepted, PublicClientNeedsSecret,
                    ScopeMissing, ScopeNotChecked, Slow, TokenTypeLowercase, TokensNotHex,
                    UuidRfc4122,
                };
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
                    FormUnparsedWithoutContentType => b.unparsed_without_content_type = true,
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
        let mut names: Vec<&str> = all.iter().map(Profile::name).collect();
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
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
        assert_eq!(Profile::parse("nope"), None);
        assert!(
            "nope"
                .parse::<Profile>()
                .unwrap_err()
                .contains("doorkeeper-5.5")
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
