//! Partner onboarding (`payu-contract check-credentials`): what the token
//! endpoint's answers say about a partner's client id, client secret,
//! refresh token and Get Token user, in plain words.
//!
//! This module is pure: it turns the outcomes of the probes
//! ([`Observations`]) into one [`Diagnosis`]. The requests are built in
//! [`crate::oauth`] (`Request::liveness_probe`, `client_probe`,
//! `user_probe`, `refresh`, `get_token`); sending them, the token chain and
//! the terminal live in the binary (`src/commands/check.rs`).
//!
//! # What can be learned without consuming anything
//!
//! The real server (Doorkeeper 4.4–5.0, `../shared/contract/NOTES.md` §3)
//! checks a refresh in this order, first failure wins: grant type, token
//! present, token known and not revoked, client authenticates, token
//! belongs to the client, scope. A refresh is only spent once all pass. So:
//!
//! 1. **token probe**: a refresh with the partner's token and a deliberately
//!    wrong secret: `invalid_client` ⇒ the token is alive; `invalid_grant`
//!    ⇒ it is unknown, revoked or already used. Never consumes (the client
//!    check fails first). It says nothing about the client.
//! 2. **client probe**: the Get Token call (`grant_type=password`) with the
//!    partner's client id and secret, a made-up user and a made-up scope.
//!    The password grant checks the client FIRST, then the user, then the
//!    scope: `invalid_grant` (or `invalid_scope`, `unauthorized_client`)
//!    ⇒ the client authenticated; `invalid_client` ⇒ it did not. Nothing
//!    is issued (the made-up user fails).
//! 3. If the client failed with a secret, the client probe **without** the
//!    secret: a public client authenticates without one, so success there
//!    means the id is right and the secret wrong. Otherwise the server
//!    answers an unknown id, a confidential client's wrong secret, and a
//!    confidential client without its secret all the same way
//!    (`invalid_client`): the diagnosis says so instead of guessing.
//! 4. **user probe** (when a username and password are given): the Get
//!    Token call with the real user and a made-up scope: `invalid_scope`
//!    ⇒ user and password are right (the scope is checked last, so nothing
//!    is issued); `invalid_grant` ⇒ they are wrong.
//!
//! Not observable without spending the token: that the token was issued to
//! THIS client (checked after client authentication), and the shape of a
//! successful answer. `--refresh` does the real refresh for those.

use crate::client::{HttpResponse, TransportFault};
use crate::contract::drift::{Drift, DriftClass};
use crate::report::exit;
use serde::Serialize;

/// What one answer of the endpoint was, as far as a diagnosis cares.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Answer {
    /// 2xx that is not an HTML page.
    Success { status: u16 },
    /// An OAuth error body (`{"error": ...}`) below 500.
    #[serde(rename = "oauth_error")]
    OAuthError { status: u16, error: String },
    /// Could not judge: nothing or no application answered.
    Fault { fault: Fault },
    /// A 4xx (or other) answer in no documented shape.
    Unexpected { status: u16, what: String },
}

/// Why an answer could not be judged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "detail")]
pub enum Fault {
    /// Connection refused or failed: nothing was sent.
    Unreachable(String),
    Dns(String),
    Tls(String),
    /// Sent, no answer in time.
    Timeout(String),
    /// Connection lost after sending, or the body was cut short.
    Interrupted(String),
    BodyTooLarge(usize),
    /// 5xx, or an HTML page (a proxy's or load balancer's error page).
    ErrorPage {
        status: u16,
        html: bool,
    },
}

impl Fault {
    /// True when the request certainly did not reach the server.
    pub fn certainly_unsent(&self) -> bool {
        matches!(self, Fault::Unreachable(_) | Fault::Dns(_) | Fault::Tls(_))
    }
}

/// Classifies one outcome.
pub fn classify(outcome: &Result<HttpResponse, TransportFault>) -> Answer {
    let resp = match outcome {
        Err(f) => {
            let fault = match f {
                TransportFault::Connect(m) => Fault::Unreachable(m.clone()),
                TransportFault::Dns(m) => Fault::Dns(m.clone()),
                TransportFault::Tls(m) => Fault::Tls(m.clone()),
                TransportFault::Timeout(m) => Fault::Timeout(m.clone()),
                TransportFault::Interrupted(m) => Fault::Interrupted(m.clone()),
                TransportFault::BodyTooLarge(n) => Fault::BodyTooLarge(*n),
                // An earlier request of this check found the endpoint down.
                TransportFault::NotSent(m) => Fault::Unreachable(m.clone()),
            };
            return Answer::Fault { fault };
        }
        Ok(r) => r,
    };
    let html = resp
        .header("content-type")
        .is_some_and(|c| c.to_ascii_lowercase().contains("html"))
        || resp.raw_body().trim_start().starts_with('<');
    if resp.status >= 500 || html {
        return Answer::Fault {
            fault: Fault::ErrorPage {
                status: resp.status,
                html,
            },
        };
    }
    if let Some(error) = resp.str_field("error") {
        return Answer::OAuthError {
            status: resp.status,
            error: error.to_owned(),
        };
    }
    if (200..300).contains(&resp.status) {
        return Answer::Success {
            status: resp.status,
        };
    }
    Answer::Unexpected {
        status: resp.status,
        what: if resp.json().is_some() {
            "a JSON body without an \"error\" field".into()
        } else {
            "a body that is not JSON".into()
        },
    }
}

impl Answer {
    fn error(&self) -> Option<&str> {
        match self {
            Answer::OAuthError { error, .. } => Some(error),
            _ => None,
        }
    }

    fn fault(&self) -> Option<&Fault> {
        match self {
            Answer::Fault { fault } => Some(fault),
            _ => None,
        }
    }

    /// Short words for the output: `401 invalid_client`, `200`.
    pub fn short(&self) -> String {
        match self {
            Answer::Success { status } => format!("{status} success"),
            Answer::OAuthError { status, error } => format!("{status} {error}"),
            Answer::Fault { fault } => fault_words(fault),
            Answer::Unexpected { status, what } => format!("{status} with {what}"),
        }
    }

    /// The client passed authentication in a password-grant probe.
    fn client_passed(&self) -> Option<bool> {
        match self.error()? {
            "invalid_client" => Some(false),
            "invalid_grant" | "invalid_scope" | "unauthorized_client" => Some(true),
            _ => None,
        }
    }
}

fn fault_words(f: &Fault) -> String {
    match f {
        Fault::Unreachable(m) => format!("connection failed: {m}"),
        Fault::Dns(m) => format!("DNS lookup failed: {m}"),
        Fault::Tls(m) => format!("TLS handshake failed: {m}"),
        Fault::Timeout(m) => format!("timed out: {m}"),
        Fault::Interrupted(m) => format!("connection lost: {m}"),
        Fault::BodyTooLarge(n) => format!("answer larger than {n} bytes"),
        Fault::ErrorPage { status, html: true } => format!("{status} HTML page"),
        Fault::ErrorPage {
            status,
            html: false,
        } => format!("{status} server error"),
    }
}

// ---- client id shape --------------------------------------------------------

/// Why a client id does not look like a `PayU` client id (64 lowercase hex
/// characters), or `None` when it does.
pub fn client_id_shape_problem(id: &str) -> Option<String> {
    let len = id.chars().count();
    if id.chars().any(char::is_whitespace) {
        return Some(format!(
            "it contains a space ({len} characters): PayU client ids are 64 hex characters with no spaces (the documentation's own example has a stray one)"
        ));
    }
    if len != 64 {
        return Some(format!(
            "it has {len} characters: PayU client ids have 64 (hex), check it was copied whole"
        ));
    }
    if !id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Some("it has characters other than 0-9 and a-f: PayU client ids are hex".into());
    }
    None
}

// ---- the diagnosis ------------------------------------------------------------

/// Every outcome `check-credentials` can report. Stable `snake_case` names:
/// they appear in `--json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Everything checked held.
    CredentialsWork,
    /// The server refused the client and the id is not even shaped like one.
    UnknownClientId,
    /// The id is right (it authenticates without a secret), the secret wrong.
    WrongClientSecret,
    /// No secret sent, client refused: unknown id, or a confidential client
    /// that needs its secret (the server answers both alike).
    UnknownClientIdOrSecretMissing,
    /// Secret sent, refused with and without: unknown id, or a confidential
    /// client's wrong secret (the server answers both alike).
    UnknownClientIdOrWrongSecret,
    /// `invalid_grant` for the token: unknown, revoked or already used.
    RefreshTokenDead,
    /// Token alive, client fine, refresh still `invalid_grant`: the token
    /// belongs to another client id.
    RefreshTokenOtherClient,
    WrongUsernameOrPassword,
    ScopeRejected,
    /// `unsupported_grant_type` for `grant_type=refresh_token`.
    GrantTypeNotSupported,
    /// The server accepted a deliberately wrong secret (and rotated).
    WrongSecretAccepted,
    /// An answer's shape differs from the documentation.
    ResponseDrift,
    EndpointUnreachable,
    DnsFailure,
    TlsFailure,
    Timeout,
    ProxyErrorPage,
    /// A refresh was sent and no answer came: the token may be spent.
    RefreshOutcomeUnknown,
}

impl Verdict {
    pub fn exit_code(self) -> i32 {
        use Verdict::{
            CredentialsWork, DnsFailure, EndpointUnreachable, ProxyErrorPage,
            RefreshOutcomeUnknown, Timeout, TlsFailure,
        };
        match self {
            CredentialsWork => exit::PASSED,
            EndpointUnreachable
            | DnsFailure
            | TlsFailure
            | Timeout
            | ProxyErrorPage
            | RefreshOutcomeUnknown => exit::NO_VERDICT,
            _ => exit::DRIFTED,
        }
    }

    pub fn as_str(self) -> &'static str {
        use Verdict::{
            CredentialsWork, DnsFailure, EndpointUnreachable, GrantTypeNotSupported,
            ProxyErrorPage, RefreshOutcomeUnknown, RefreshTokenDead, RefreshTokenOtherClient,
            ResponseDrift, ScopeRejected, Timeout, TlsFailure, UnknownClientId,
            UnknownClientIdOrSecretMissing, UnknownClientIdOrWrongSecret, WrongClientSecret,
            WrongSecretAccepted, WrongUsernameOrPassword,
        };
        match self {
            CredentialsWork => "credentials_work",
            UnknownClientId => "unknown_client_id",
            WrongClientSecret => "wrong_client_secret",
            UnknownClientIdOrSecretMissing => "unknown_client_id_or_secret_missing",
            UnknownClientIdOrWrongSecret => "unknown_client_id_or_wrong_secret",
            RefreshTokenDead => "refresh_token_dead",
            RefreshTokenOtherClient => "refresh_token_other_client",
            WrongUsernameOrPassword => "wrong_username_or_password",
            ScopeRejected => "scope_rejected",
            GrantTypeNotSupported => "grant_type_not_supported",
            WrongSecretAccepted => "wrong_secret_accepted",
            ResponseDrift => "response_drift",
            EndpointUnreachable => "endpoint_unreachable",
            DnsFailure => "dns_failure",
            TlsFailure => "tls_failure",
            Timeout => "timeout",
            ProxyErrorPage => "proxy_error_page",
            RefreshOutcomeUnknown => "refresh_outcome_unknown",
        }
    }
}

/// Where the refresh token that was checked came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum TokenSource {
    /// `PAYU_REFRESH_TOKEN` (or typed at the prompt).
    Given,
    /// The token store's chain (rotated `rotations` times).
    Store { path: String, rotations: u64 },
    /// The local double's seeded token.
    Sandbox,
}

/// What the partner gave (no secret values: only whether they were given).
#[derive(Clone, Debug, Serialize)]
pub struct Inputs {
    pub client_id: String,
    pub secret_given: bool,
    pub token: Option<TokenSource>,
    pub user_given: bool,
}

/// The consuming step of `--refresh`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsumeKind {
    Refresh,
    GetToken,
}

#[derive(Clone, Debug, Serialize)]
pub struct Consumed {
    pub kind: ConsumeKind,
    pub answer: Answer,
    /// Differences of a success body from the documented token schema.
    pub drifts: Vec<Drift>,
    /// Where the new refresh token was written (none for the local double).
    pub stored_in: Option<String>,
    /// A new refresh token came back.
    pub new_token: bool,
    /// Writing the new token failed (the message, no token).
    pub store_error: Option<String>,
}

/// Everything the probes (and `--refresh`) saw.
#[derive(Clone, Debug, Serialize)]
pub struct Observations {
    pub inputs: Inputs,
    pub token_probe: Option<Answer>,
    pub client_probe: Option<Answer>,
    pub client_probe_without_secret: Option<Answer>,
    pub user_probe: Option<Answer>,
    pub consumed: Option<Consumed>,
    /// Set when the token probe itself was accepted (a server that ignores
    /// the secret): where its new token went.
    pub probe_rotation_stored_in: Option<String>,
}

/// The answer to "do my credentials work?".
#[derive(Clone, Debug, Serialize)]
pub struct Diagnosis {
    pub verdict: Verdict,
    pub exit_code: i32,
    /// The setting at fault (`PAYU_CLIENT_SECRET`, ...), if one is.
    pub field: Option<String>,
    /// What is wrong, in plain words.
    pub message: String,
    /// What to do about it.
    pub next_step: String,
    /// What the answers proved.
    pub verified: Vec<String>,
    /// What they could not prove (and how to).
    pub not_verified: Vec<String>,
}

struct Finding {
    verdict: Verdict,
    field: Option<&'static str>,
    message: String,
    next_step: String,
}

fn finding(
    verdict: Verdict,
    field: Option<&'static str>,
    message: impl Into<String>,
    next_step: impl Into<String>,
) -> Finding {
    Finding {
        verdict,
        field,
        message: message.into(),
        next_step: next_step.into(),
    }
}

const GET_TOKEN_HINT: &str = "get a new refresh token with the Get Token call (grant_type=password): set PAYU_USERNAME and PAYU_PASSWORD and run `payu-contract check-credentials --refresh`, or ask PayU for a new token, then set PAYU_REFRESH_TOKEN to it";

fn fault_finding(fault: &Fault, during: &str, consuming: bool) -> Finding {
    let after = if consuming {
        " The refresh token was NOT necessarily spent: run `payu-contract check-credentials` (without --refresh) to find out without spending it."
    } else {
        " Nothing was consumed."
    };
    match fault {
        Fault::Unreachable(m) => finding(
            Verdict::EndpointUnreachable,
            Some("PAYU_TOKEN_URL"),
            format!(
                "The token endpoint could not be reached ({during}): {m}. Your credentials were not checked."
            ),
            "check PAYU_TOKEN_URL / --target, your network and any proxy (HTTPS_PROXY), then run again",
        ),
        Fault::Dns(m) => finding(
            Verdict::DnsFailure,
            Some("PAYU_TOKEN_URL"),
            format!(
                "The host name of the token endpoint could not be resolved ({during}): {m}. Your credentials were not checked."
            ),
            "check the host in PAYU_TOKEN_URL / --target for typos, and that this machine's DNS works, then run again",
        ),
        Fault::Tls(m) => finding(
            Verdict::TlsFailure,
            Some("PAYU_CA_CERT"),
            format!(
                "The TLS handshake with the token endpoint failed ({during}): {m}. Your credentials were not checked."
            ),
            "if a company proxy or a private CA signs the certificate, point PAYU_CA_CERT at its PEM file; otherwise check the URL's host, then run again",
        ),
        Fault::Timeout(m) if consuming => finding(
            Verdict::RefreshOutcomeUnknown,
            Some("PAYU_REFRESH_TOKEN"),
            format!(
                "The refresh was sent and no answer came in time ({m}): the server may or may not have spent your refresh token. It was NOT sent again (a blind retry could burn the token chain); the token store marks it possibly consumed."
            ),
            format!(
                "run `payu-contract check-credentials` (without --refresh): it asks the server whether the token is still alive without spending it. If it is dead, {GET_TOKEN_HINT}"
            ),
        ),
        Fault::Interrupted(m) if consuming => finding(
            Verdict::RefreshOutcomeUnknown,
            Some("PAYU_REFRESH_TOKEN"),
            format!(
                "The connection was lost after the refresh was sent ({m}): the server may or may not have spent your refresh token. It was NOT sent again; the token store marks it possibly consumed."
            ),
            format!(
                "run `payu-contract check-credentials` (without --refresh) to find out without spending it. If it is dead, {GET_TOKEN_HINT}"
            ),
        ),
        Fault::Timeout(m) | Fault::Interrupted(m) => finding(
            Verdict::Timeout,
            Some("PAYU_TOKEN_URL"),
            format!("The token endpoint did not answer in time ({during}): {m}.{after}"),
            "check that PAYU_TOKEN_URL is the token endpoint and reachable from here; raise --timeout if the network is slow; run again",
        ),
        Fault::BodyTooLarge(n) => finding(
            Verdict::ProxyErrorPage,
            Some("PAYU_TOKEN_URL"),
            format!(
                "The endpoint answered with more than {n} bytes ({during}): that is not a token endpoint's answer.{after}"
            ),
            "check that PAYU_TOKEN_URL points at .../oauth/token",
        ),
        Fault::ErrorPage { status, html } => finding(
            Verdict::ProxyErrorPage,
            Some("PAYU_TOKEN_URL"),
            format!(
                "The endpoint answered {status}{} ({during}): {} Your credentials could not be judged.{}",
                if *html { " with an HTML page" } else { "" },
                if *html {
                    "an error page from a proxy, load balancer or web server, not from the OAuth server."
                } else {
                    "a server error, not an OAuth answer."
                },
                if consuming {
                    " The refresh token was NOT necessarily spent: run `payu-contract check-credentials` (without --refresh) to find out without spending it."
                } else {
                    " Nothing was consumed."
                }
            ),
            "try again later; if it persists, check PAYU_TOKEN_URL and any proxy between you and PayU, and tell PayU the time of the failure",
        ),
    }
}

/// The status the page documents for every error row.
pub const DOCUMENTED_ERROR_STATUS: u16 = 401;

/// The status drifts among the OAuth error answers seen (the probes, and a
/// refused refresh): each error the page documents answers 401, so any
/// other status is a drift, reported even when the credentials work.
pub fn answer_drifts(obs: &Observations) -> Vec<Drift> {
    let consumed = obs.consumed.as_ref().map(|c| &c.answer);
    [
        ("the token probe", obs.token_probe.as_ref()),
        ("the client probe", obs.client_probe.as_ref()),
        (
            "the client probe without the secret",
            obs.client_probe_without_secret.as_ref(),
        ),
        ("the user probe", obs.user_probe.as_ref()),
        ("the refresh", consumed),
    ]
    .into_iter()
    .filter_map(|(during, answer)| match answer? {
        Answer::OAuthError { status, error } if *status != DOCUMENTED_ERROR_STATUS => {
            Some(Drift::new(
                DriftClass::StatusCodeChanged,
                crate::contract::DriftPath::Status,
                DOCUMENTED_ERROR_STATUS.to_string(),
                format!("{status} ({during}: {error})"),
            ))
        }
        _ => None,
    })
    .collect()
}

fn unexpected(answer: &Answer, during: &str) -> Finding {
    finding(
        Verdict::ResponseDrift,
        None,
        format!(
            "The answer to {during} differs from the documentation: {} (documented: {DOCUMENTED_ERROR_STATUS} with an OAuth error body).",
            answer.short()
        ),
        "report this answer to PayU with the time it happened; rerun with --json for the details",
    )
}

/// Plain words for the drifts of a success body: a missing key next to an
/// added one of a similar name is a rename.
pub fn describe_drifts(drifts: &[Drift]) -> Vec<String> {
    let key = |d: &Drift| d.path.last_key().unwrap_or_default().to_owned();
    let norm = |s: &str| s.to_ascii_lowercase().replace(['_', '-', 's'], "");
    let missing: Vec<String> = drifts
        .iter()
        .filter(|d| d.class == DriftClass::FieldMissing)
        .map(key)
        .collect();
    let added: Vec<String> = drifts
        .iter()
        .filter(|d| d.class == DriftClass::FieldAdded)
        .map(key)
        .collect();
    let mut out = Vec::new();
    let mut used_added = Vec::new();
    for m in &missing {
        match added
            .iter()
            .find(|a| norm(a) == norm(m) && !used_added.contains(a))
        {
            Some(a) => {
                out.push(format!(
                    "the documented field `{m}` is missing and `{a}` came instead (renamed)"
                ));
                used_added.push(a);
            }
            None => out.push(format!("the documented field `{m}` is missing")),
        }
    }
    for a in added.iter().filter(|a| !used_added.contains(a)) {
        out.push(format!("an undocumented field `{a}` is present"));
    }
    for d in drifts
        .iter()
        .filter(|d| !matches!(d.class, DriftClass::FieldMissing | DriftClass::FieldAdded))
    {
        let what = match &d.path {
            p if *p == crate::contract::DriftPath::field("/") => "the body".to_owned(),
            crate::contract::DriftPath::Field(_) => format!("`{}`", key(d)),
            other => other.to_string(),
        };
        out.push(format!(
            "{what}: expected {}, got {}",
            d.expected, d.observed
        ));
    }
    out
}

/// Turns what was seen into one diagnosis. Pure.
pub fn diagnose(obs: &Observations) -> Diagnosis {
    let mut verified = Vec::new();
    let mut not_verified = Vec::new();
    let found = diagnose_inner(obs, &mut verified, &mut not_verified);
    let f = found.unwrap_or_else(|| {
        let refreshed = obs
            .consumed
            .as_ref()
            .is_some_and(|c| matches!(c.answer, Answer::Success { .. }));
        finding(
            Verdict::CredentialsWork,
            None,
            if refreshed {
                let c = obs.consumed.as_ref().expect("refreshed");
                let what = match c.kind {
                    ConsumeKind::Refresh => "the refresh",
                    ConsumeKind::GetToken => "the Get Token call",
                };
                let old = match c.kind {
                    ConsumeKind::Refresh => " Your old refresh token is now DEAD;",
                    ConsumeKind::GetToken => " Nothing was spent;",
                };
                match &c.stored_in {
                    Some(p) => format!(
                        "Your credentials work: {what} succeeded and its answer has the documented shape.{old} the new refresh token is saved in {p} (mode 0600)."
                    ),
                    None => format!(
                        "Your credentials work: {what} succeeded and its answer has the documented shape.{old} the new refresh token belonged to the local sandbox and ended with this command."
                    ),
                }
            } else {
                "Your credentials work as far as can be checked without spending the refresh token."
                    .to_owned()
            },
            if refreshed {
                "nothing to fix; from now on use the new refresh token from the token store (`payu-contract run` and this command pick it up by themselves; --print-new-token hands it to a secret manager), never the old one"
            } else {
                "nothing to fix; run with --refresh to also check the parts listed as not verified (it spends the refresh token and stores the new one)"
            },
        )
    });
    Diagnosis {
        verdict: f.verdict,
        exit_code: f.verdict.exit_code(),
        field: f.field.map(str::to_owned),
        message: f.message,
        next_step: f.next_step,
        verified,
        not_verified,
    }
}

fn diagnose_inner(
    obs: &Observations,
    verified: &mut Vec<String>,
    not_verified: &mut Vec<String>,
) -> Option<Finding> {
    let inputs = &obs.inputs;
    let token_words = match &inputs.token {
        Some(TokenSource::Store { path, rotations }) => format!(
            "the refresh token in the token store {path} (rotated {rotations} time(s) since it was given)"
        ),
        Some(TokenSource::Sandbox) => "the sandbox's refresh token".to_owned(),
        _ => "the refresh token (PAYU_REFRESH_TOKEN)".to_owned(),
    };
    let token_field = match &inputs.token {
        Some(TokenSource::Store { .. }) => "PAYU_TOKEN_STORE",
        _ => "PAYU_REFRESH_TOKEN",
    };
    let mut reached = false;

    // 1. The token probe.
    if let Some(a) = &obs.token_probe {
        if let Some(fault) = a.fault() {
            return Some(fault_finding(fault, "checking the refresh token", false));
        }
        reached = true;
        verified.push("the token endpoint is reachable and answers as an OAuth server".into());
        match a {
            Answer::OAuthError { error, .. } if error == "invalid_client" => verified.push(format!(
                "{token_words} is alive: the server knows it, it is not revoked and not used (it refused the probe for its deliberately wrong client secret, which it checks only after the token)"
            )),
            Answer::OAuthError { error, .. } if error == "invalid_grant" => {
                return Some(finding(
                    Verdict::RefreshTokenDead,
                    Some(token_field),
                    format!(
                        "{} is not accepted: the server says it is unknown, revoked or already used (invalid_grant). A refresh token works once; every successful refresh replaces it with a new one.",
                        capitalize(&token_words)
                    ),
                    GET_TOKEN_HINT,
                ));
            }
            Answer::OAuthError { error, .. } if error == "unsupported_grant_type" => {
                return Some(finding(
                    Verdict::GrantTypeNotSupported,
                    Some("grant_type"),
                    "The endpoint does not accept grant_type=refresh_token (unsupported_grant_type): it is not PayU's token endpoint, or refresh tokens are not enabled for it.",
                    "check that PAYU_TOKEN_URL is https://uat-accounts.payu.in/oauth/token (or --target uat); in your own code the field must be grant_type=refresh_token exactly; if the URL is right, ask PayU to enable the refresh_token grant for your client",
                ));
            }
            Answer::Success { .. } => {
                return Some(finding(
                    Verdict::WrongSecretAccepted,
                    Some("PAYU_CLIENT_SECRET"),
                    format!(
                        "The server ACCEPTED a refresh with a deliberately wrong client secret: it does not check client secrets, unlike the documented server. It rotated the token: the old one is now dead.{}",
                        match &obs.probe_rotation_stored_in {
                            Some(p) => format!(" The new refresh token was saved in {p}."),
                            None => " No new refresh token could be saved.".into(),
                        }
                    ),
                    "tell PayU (a security finding); continue with the new token from the token store",
                ));
            }
            other => return Some(unexpected(other, "the refresh-token probe")),
        }
    }

    // 2./3. The client.
    let mut client_ok = false;
    if let Some(a) = &obs.client_probe {
        if let Some(fault) = a.fault() {
            return Some(fault_finding(fault, "checking the client id", false));
        }
        if !reached {
            verified.push("the token endpoint is reachable and answers as an OAuth server".into());
        }
        match a.client_passed() {
            Some(true) => {
                client_ok = true;
                verified.push(format!(
                    "the client id {} {} (checked with a Get Token call for a made-up user, which the server refuses only after accepting the client)",
                    inputs.client_id,
                    if inputs.secret_given {
                        "and its client secret are accepted"
                    } else {
                        "is accepted without a client secret"
                    }
                ));
            }
            Some(false) => return Some(client_refused(obs)),
            None => match a.error() {
                Some("unsupported_grant_type") => not_verified.push(
                    "the client id and secret: this endpoint does not offer the Get Token (password) call that checks them without spending the token (use --refresh)".into(),
                ),
                _ => not_verified.push(format!(
                    "the client id and secret: the Get Token probe got {}, which says nothing about them (use --refresh)",
                    a.short()
                )),
            },
        }
    }

    // 4. The user of the Get Token call.
    if let Some(a) = &obs.user_probe {
        if let Some(fault) = a.fault() {
            return Some(fault_finding(
                fault,
                "checking the username and password",
                false,
            ));
        }
        match a.error() {
            Some("invalid_scope") => verified.push(
                "PAYU_USERNAME and PAYU_PASSWORD are accepted (checked with a made-up scope, so no token was issued)".into(),
            ),
            Some("invalid_grant") => {
                return Some(finding(
                    Verdict::WrongUsernameOrPassword,
                    Some("PAYU_PASSWORD"),
                    "The Get Token call refuses PAYU_USERNAME / PAYU_PASSWORD (invalid_grant): the username is unknown or the password is wrong.",
                    "check PAYU_USERNAME and PAYU_PASSWORD with PayU (they are the credentials of the Get Token call, not of the PayU dashboard); several wrong tries may lock the user",
                ));
            }
            Some("invalid_client") => return Some(client_refused(obs)),
            _ if matches!(a, Answer::Success { .. }) => not_verified.push(
                "the username and password: the server issued a token although the scope was made up (an extra, unused token; nothing was spent)".into(),
            ),
            _ => not_verified.push(format!(
                "the username and password: the probe got {}, which says nothing about them",
                a.short()
            )),
        }
    }

    // The consuming step (--refresh).
    match &obs.consumed {
        None => {
            if inputs.token.is_some() {
                not_verified.push(format!(
                    "that {token_words} was issued to client id {} (the server checks that only when it would also spend the token)",
                    inputs.client_id
                ));
                not_verified.push(
                    "that a refresh succeeds and its answer has the documented shape (use --refresh: it spends the token and stores the new one)"
                        .into(),
                );
            } else if inputs.user_given {
                not_verified.push(
                    "that the Get Token call issues a refresh token with the documented shape (use --refresh: it gets one and stores it)".into(),
                );
            }
            None
        }
        Some(c) => consumed_finding(c, obs, client_ok, verified, &token_words, token_field),
    }
}

fn consumed_finding(
    c: &Consumed,
    obs: &Observations,
    client_ok: bool,
    verified: &mut Vec<String>,
    token_words: &str,
    token_field: &'static str,
) -> Option<Finding> {
    let what = match c.kind {
        ConsumeKind::Refresh => "the refresh",
        ConsumeKind::GetToken => "the Get Token call",
    };
    if let Some(fault) = c.answer.fault() {
        let consuming = matches!(c.kind, ConsumeKind::Refresh);
        return Some(fault_finding(fault, what, consuming));
    }
    match &c.answer {
        Answer::Success { .. } => {
            let where_ = match (&c.stored_in, &c.store_error, c.new_token) {
                (_, Some(e), _) => format!(
                    " BUT the new refresh token could NOT be saved ({e}): it is lost, and the old one is dead."
                ),
                (Some(p), None, true) => format!(" The new refresh token is saved in {p}."),
                (None, None, true) => {
                    " The new refresh token belongs to the local sandbox and ends with this command."
                        .into()
                }
                (_, None, false) => " No new refresh token came back.".into(),
            };
            let old = match c.kind {
                ConsumeKind::Refresh if c.new_token => {
                    " The old refresh token is now DEAD: do not use it again.".to_owned()
                }
                _ => String::new(),
            };
            verified.push(format!(
                "{} succeeded with client id {}{}.{old}{where_}",
                capitalize(what),
                obs.inputs.client_id,
                if c.kind_is_refresh() {
                    ", so the token was issued to this client"
                } else {
                    ""
                }
            ));
            if let Some(e) = &c.store_error {
                return Some(finding(
                    Verdict::RefreshOutcomeUnknown,
                    Some("PAYU_TOKEN_STORE"),
                    format!(
                        "{} succeeded, but the new refresh token could not be written to the token store: {e}.",
                        capitalize(what)
                    ),
                    GET_TOKEN_HINT,
                ));
            }
            if c.kind_is_refresh() && !c.new_token {
                // A success whose new token cannot be read: the old one may
                // be spent (the chain keeps it marked possibly consumed).
                return Some(finding(
                    Verdict::RefreshOutcomeUnknown,
                    None,
                    "The refresh was answered with success, but no new refresh token could be read from the answer: the old token may be spent, and the token store keeps it marked possibly consumed.",
                    format!(
                        "run `payu-contract check-credentials` (without --refresh): it asks the server whether the token is still alive without spending it. If it is dead, {GET_TOKEN_HINT}"
                    ),
                ));
            }
            if !c.drifts.is_empty() || !c.new_token {
                let mut words = describe_drifts(&c.drifts);
                if !c.new_token {
                    words.push("no `refresh_token` in the answer".into());
                }
                return Some(finding(
                    Verdict::ResponseDrift,
                    None,
                    format!(
                        "Your credentials work, but the answer's shape differs from the documentation: {}.{where_}",
                        words.join("; ")
                    ),
                    "code that reads the documented fields will break on this answer: report the difference to PayU, and adapt your parser only once PayU confirms it",
                ));
            }
            verified.push("the answer has the documented shape (every documented field, token formats, created_at in seconds)".into());
            None
        }
        Answer::OAuthError { error, .. } => Some(match error.as_str() {
            "invalid_grant" if c.kind_is_refresh() && client_ok => finding(
                Verdict::RefreshTokenOtherClient,
                Some(token_field),
                format!(
                    "The refresh was refused (invalid_grant) although the token was alive and the client authenticated: {token_words} was issued to a different client id than {}. It was not spent.",
                    obs.inputs.client_id
                ),
                "use the refresh token that was issued to this client id (PAYU_CLIENT_ID), or the client id it was issued to",
            ),
            "invalid_grant" if c.kind_is_refresh() => finding(
                Verdict::RefreshTokenDead,
                Some(token_field),
                format!(
                    "{} is not accepted (invalid_grant): unknown, revoked or already used.",
                    capitalize(token_words)
                ),
                GET_TOKEN_HINT,
            ),
            "invalid_grant" => finding(
                Verdict::WrongUsernameOrPassword,
                Some("PAYU_PASSWORD"),
                "The Get Token call refuses PAYU_USERNAME / PAYU_PASSWORD (invalid_grant): the username is unknown or the password is wrong.",
                "check PAYU_USERNAME and PAYU_PASSWORD with PayU",
            ),
            "invalid_client" => client_refused(obs),
            "invalid_scope" => finding(
                Verdict::ScopeRejected,
                Some("PAYU_SCOPE"),
                "The Get Token call refuses the requested scope (invalid_scope).",
                "set PAYU_SCOPE to the scope PayU gave you (hub_session for WhatsApp)",
            ),
            "unsupported_grant_type" => finding(
                Verdict::GrantTypeNotSupported,
                Some("grant_type"),
                format!(
                    "The endpoint does not accept the grant type of {what} (unsupported_grant_type)."
                ),
                "check PAYU_TOKEN_URL (or --target uat); if it is right, ask PayU to enable this grant for your client",
            ),
            _ => unexpected(&c.answer, what),
        }),
        other => Some(unexpected(other, what)),
    }
}

impl Consumed {
    fn kind_is_refresh(&self) -> bool {
        matches!(self.kind, ConsumeKind::Refresh)
    }
}

/// The client was refused: say exactly as much as the answers allow.
fn client_refused(obs: &Observations) -> Finding {
    let id = &obs.inputs.client_id;
    if let Some(problem) = client_id_shape_problem(id) {
        return finding(
            Verdict::UnknownClientId,
            Some("PAYU_CLIENT_ID"),
            format!(
                "The server does not know the client id \"{id}\" (invalid_client), and it does not look like a PayU client id: {problem}."
            ),
            "copy PAYU_CLIENT_ID again from PayU's onboarding mail (64 hex characters, no spaces) and run again",
        );
    }
    if obs.inputs.secret_given {
        let public_ok = obs
            .client_probe_without_secret
            .as_ref()
            .and_then(Answer::client_passed);
        if public_ok == Some(true) {
            return finding(
                Verdict::WrongClientSecret,
                Some("PAYU_CLIENT_SECRET"),
                format!(
                    "The client secret is wrong: the client id {id} is right (the server accepts it without a secret), but refuses it with the secret you gave (invalid_client)."
                ),
                "copy PAYU_CLIENT_SECRET again from PayU (or leave it empty: your client may omit it), and run again",
            );
        }
        return finding(
            Verdict::UnknownClientIdOrWrongSecret,
            Some("PAYU_CLIENT_ID"),
            format!(
                "The server refuses client id {id} with the client secret you gave, and without it (invalid_client). Either PAYU_CLIENT_ID is not a client the server knows (e.g. a production id used on UAT), or PAYU_CLIENT_SECRET is wrong. The server answers both the same way, so this tool cannot tell which."
            ),
            "check PAYU_CLIENT_ID first (UAT and production ids differ), then PAYU_CLIENT_SECRET, against what PayU sent you; run again",
        );
    }
    finding(
        Verdict::UnknownClientIdOrSecretMissing,
        Some("PAYU_CLIENT_SECRET"),
        format!(
            "The server refuses client id {id} without a client secret (invalid_client). Either your client is confidential and needs its secret, which was not given (PAYU_CLIENT_SECRET is empty), or PAYU_CLIENT_ID is not a client the server knows. The server answers both the same way, so this tool cannot tell which."
        ),
        "if PayU gave you a client secret, set PAYU_CLIENT_SECRET to it and run again; if not, check PAYU_CLIENT_ID (UAT and production ids differ)",
    )
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests;
