//! Typed, validated settings. The binary gathers raw values (flags, then
//! environment, then `.env`, then defaults: clap and dotenvy do the layering)
//! into [`Settings`]; [`Settings::resolve`] turns them into a [`Config`] or a
//! one-line [`ConfigError`] that names the setting and the fix.

use crate::client::{ClientAuth, ClientOptions};
use crate::secret::Secret;
use std::path::PathBuf;
use std::time::Duration;
use url::Url;

pub const UAT_TOKEN_URL: &str = "https://uat-accounts.payu.in/oauth/token";
pub const PRODUCTION_HOST: &str = "accounts.payu.in";
pub const DEFAULT_TOKEN_STORE: &str = ".payu-contract/token-store.json";
pub const DEFAULT_SCOPE: &str = "hub_session";

/// Raw settings as given; every field optional. Secret ones already wrapped.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub target: Option<String>,
    pub token_url: Option<String>,
    pub profile: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret<String>>,
    pub refresh_token: Option<Secret<String>>,
    pub username: Option<String>,
    pub password: Option<Secret<String>>,
    pub scope: Option<String>,
    pub client_auth: Option<String>,
    pub token_store: Option<PathBuf>,
    pub store_key: Option<Secret<String>>,
    pub ca_cert: Option<PathBuf>,
    pub allow_production: bool,
    pub allow_destructive: bool,
    pub timeout_secs: Option<u64>,
    pub connect_timeout_secs: Option<u64>,
    /// `PAYU_LOCK_TIMEOUT`: seconds to wait for another run holding the
    /// token store (default `chain::DEFAULT_LOCK_TIMEOUT_SECS`).
    pub lock_timeout_secs: Option<u64>,
}

/// Where the suite runs.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// The embedded double, started in-process on 127.0.0.1 at a free port,
    /// answering as the named profile.
    Local { profile: String },
    /// A real endpoint: `name` is `uat` or the URL's host, used for the
    /// per-target snapshot baseline and the token store chain.
    Live { name: String, url: Url },
}

impl Target {
    pub fn name(&self) -> String {
        match self {
            Target::Local { profile } if profile == "documented" => "local".into(),
            Target::Local { profile } => format!("local-{profile}"),
            Target::Live { name, .. } => name.clone(),
        }
    }

    pub fn is_live(&self) -> bool {
        matches!(self, Target::Live { .. })
    }
}

/// The partner's credentials. For the local target they come from the
/// double's own fixtures, filled in when it starts.
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: Option<Secret<String>>,
    pub refresh_token: Option<Secret<String>>,
    pub username: Option<String>,
    pub password: Option<Secret<String>>,
    pub scope: String,
}

impl Credentials {
    /// The credentials of one of the embedded double's sandbox clients, with
    /// its seeded refresh token and the sandbox user for Get Token.
    pub fn sandbox(
        fixtures: &payu_double::Fixtures,
        client: &payu_double::ClientFixture,
    ) -> Credentials {
        Credentials {
            client_id: client.client_id.clone(),
            client_secret: Some(Secret::new(client.client_secret.clone())),
            refresh_token: Some(Secret::new(client.refresh_token.clone())),
            username: Some(fixtures.user.username.clone()),
            password: Some(Secret::new(fixtures.user.password.clone())),
            scope: fixtures.user.scope.clone(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    pub target: Target,
    /// For live targets; the local one fills its credentials at start.
    pub credentials: Credentials,
    pub client_auth: ClientAuth,
    pub token_store: PathBuf,
    pub store_key: Option<Secret<String>>,
    pub client: ClientOptions,
    pub allow_destructive: bool,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error(
        "unknown target \"{0}\" (--target / PAYU_TARGET): use local, uat, or the https:// URL of a token endpoint"
    )]
    UnknownTarget(String),
    #[error(
        "malformed URL \"{value}\" in {setting}: {reason}; give a full URL such as https://uat-accounts.payu.in/oauth/token"
    )]
    MalformedUrl {
        setting: &'static str,
        value: String,
        reason: String,
    },
    #[error(
        "the target is PayU production ({0}): the suite rotates refresh tokens there; pass --allow-production if that is really meant"
    )]
    Production(String),
    #[error(
        "refusing to send credentials over plain HTTP to {0}: use an https:// URL (plain HTTP is allowed for 127.0.0.1/localhost only)"
    )]
    PlainHttp(String),
    #[error("both --target {target} and --token-url were given: use one of them")]
    ConflictingTarget { target: String },
    #[error(
        "PAYU_CLIENT_ID is not set: a live target needs the partner's client id (--client-id, PAYU_CLIENT_ID, or .env)"
    )]
    MissingClientId,
    #[error(
        "PAYU_CLIENT_AUTH is \"{0}\": use body (the documented form fields) or basic (HTTP Basic)"
    )]
    BadClientAuth(String),
    #[error(
        "PAYU_CA_CERT {path} cannot be read ({reason}): point it at a PEM file with the CA certificate"
    )]
    CaCert { path: String, reason: String },
    #[error("--profile {0} only applies to the local double: drop it, or use --target local")]
    ProfileNeedsLocal(String),
    #[error(
        "PAYU_USERNAME is set without PAYU_PASSWORD (or the other way round): set both for the Get Token call, or neither"
    )]
    HalfPasswordGrant,
    #[error("{setting} must be a whole number of seconds between 1 and 600, got {value}")]
    BadTimeout { setting: &'static str, value: u64 },
}

impl Settings {
    pub fn resolve(self) -> Result<Config, ConfigError> {
        let target = self.target()?;
        let client_auth = match self.client_auth.as_deref().map(str::trim) {
            None | Some("") | Some("body") => ClientAuth::Body,
            Some("basic") => ClientAuth::Basic,
            Some(other) => return Err(ConfigError::BadClientAuth(other.into())),
        };
        let mut client = ClientOptions::default();
        if let Some(t) = self.timeout_secs {
            client.timeout = seconds("PAYU_TIMEOUT", t)?;
        }
        if let Some(t) = self.connect_timeout_secs {
            client.connect_timeout = seconds("PAYU_CONNECT_TIMEOUT", t)?;
        }
        if let Some(path) = &self.ca_cert {
            let pem = std::fs::read(path).map_err(|e| ConfigError::CaCert {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
            if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
                return Err(ConfigError::CaCert {
                    path: path.display().to_string(),
                    reason: "no PEM certificate in it".into(),
                });
            }
            client.ca_cert_pem = Some(pem);
        }
        let credentials = Credentials {
            client_id: self.client_id.clone().unwrap_or_default().trim().to_owned(),
            client_secret: self.client_secret.clone().filter(|s| !s.is_empty()),
            refresh_token: self.refresh_token.clone().filter(|s| !s.is_empty()),
            username: self.username.clone().filter(|s| !s.is_empty()),
            password: self.password.clone().filter(|s| !s.is_empty()),
            scope: self.scope.clone().unwrap_or_else(|| DEFAULT_SCOPE.into()),
        };
        if target.is_live() {
            if credentials.client_id.is_empty() {
                return Err(ConfigError::MissingClientId);
            }
            if credentials.username.is_some() != credentials.password.is_some() {
                return Err(ConfigError::HalfPasswordGrant);
            }
        }
        Ok(Config {
            target,
            credentials,
            client_auth,
            token_store: self
                .token_store
                .clone()
                .unwrap_or_else(|| PathBuf::from(DEFAULT_TOKEN_STORE)),
            store_key: self.store_key.clone().filter(|s| !s.is_empty()),
            client,
            allow_destructive: self.allow_destructive,
        })
    }

    fn target(&self) -> Result<Target, ConfigError> {
        let named = self
            .target
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let url = self
            .token_url
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let target = match (named, url) {
            (Some(t), Some(_)) if t != "local" && t != "url" => {
                return Err(ConfigError::ConflictingTarget { target: t.into() });
            }
            (_, Some(u)) => live(u, "PAYU_TOKEN_URL", self.allow_production)?,
            (None, None) | (Some("local"), None) => Target::Local {
                profile: self.profile.clone().unwrap_or_else(|| "documented".into()),
            },
            (Some("uat"), None) => Target::Live {
                name: "uat".into(),
                url: Url::parse(UAT_TOKEN_URL).expect("constant URL"),
            },
            (Some("production" | "prod"), None) => live(
                &format!("https://{PRODUCTION_HOST}/oauth/token"),
                "PAYU_TARGET",
                self.allow_production,
            )?,
            (Some(t), None) if t.contains("://") => live(t, "PAYU_TARGET", self.allow_production)?,
            (Some(t), None) => return Err(ConfigError::UnknownTarget(t.into())),
        };
        if let (Target::Live { .. }, Some(p)) = (&target, &self.profile) {
            return Err(ConfigError::ProfileNeedsLocal(p.clone()));
        }
        Ok(target)
    }
}

fn seconds(setting: &'static str, value: u64) -> Result<Duration, ConfigError> {
    if (1..=600).contains(&value) {
        Ok(Duration::from_secs(value))
    } else {
        Err(ConfigError::BadTimeout { setting, value })
    }
}

fn live(raw: &str, setting: &'static str, allow_production: bool) -> Result<Target, ConfigError> {
    let url = Url::parse(raw).map_err(|e| ConfigError::MalformedUrl {
        setting,
        value: raw.into(),
        reason: e.to_string(),
    })?;
    let bad = |reason: &str| ConfigError::MalformedUrl {
        setting,
        value: raw.into(),
        reason: reason.into(),
    };
    let host = url
        .host_str()
        .ok_or_else(|| bad("it has no host"))?
        .to_owned();
    match url.scheme() {
        "https" => {}
        "http" if crate::client::is_loopback(&url) => {}
        "http" => return Err(ConfigError::PlainHttp(host)),
        _ => return Err(bad("the scheme must be https")),
    }
    if host.eq_ignore_ascii_case(PRODUCTION_HOST) && !allow_production {
        return Err(ConfigError::Production(host));
    }
    let name = if host.eq_ignore_ascii_case("uat-accounts.payu.in") {
        "uat".to_owned()
    } else {
        match url.port() {
            Some(p) => format!("{host}-{p}"),
            None => host.clone(),
        }
    };
    Ok(Target::Live { name, url })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s() -> Settings {
        Settings::default()
    }

    #[test]
    fn default_is_the_local_double() {
        let c = s().resolve().unwrap();
        assert_eq!(
            c.target,
            Target::Local {
                profile: "documented".into()
            }
        );
    }

    #[test]
    fn targets() {
        let uat = Settings {
            target: Some("uat".into()),
            client_id: Some("id".into()),
            ..s()
        };
        assert_eq!(uat.resolve().unwrap().target.name(), "uat");
        let bad = Settings {
            target: Some("staging".into()),
            ..s()
        };
        assert_eq!(
            bad.resolve().unwrap_err(),
            ConfigError::UnknownTarget("staging".into())
        );
        let prod = Settings {
            target: Some("production".into()),
            client_id: Some("id".into()),
            ..s()
        };
        assert!(matches!(
            prod.resolve().unwrap_err(),
            ConfigError::Production(_)
        ));
        let plain = Settings {
            target: Some("http://example.com/oauth/token".into()),
            client_id: Some("id".into()),
            ..s()
        };
        assert!(matches!(
            plain.resolve().unwrap_err(),
            ConfigError::PlainHttp(_)
        ));
        let local = Settings {
            token_url: Some("http://127.0.0.1:9/oauth/token".into()),
            client_id: Some("id".into()),
            ..s()
        };
        assert_eq!(local.resolve().unwrap().target.name(), "127.0.0.1-9");
        let malformed = Settings {
            token_url: Some("https//x".into()),
            client_id: Some("id".into()),
            ..s()
        };
        assert!(matches!(
            malformed.resolve().unwrap_err(),
            ConfigError::MalformedUrl { .. }
        ));
    }

    #[test]
    fn live_needs_a_client_id_and_messages_are_one_line() {
        let e = Settings {
            target: Some("uat".into()),
            ..s()
        }
        .resolve()
        .unwrap_err();
        assert_eq!(e, ConfigError::MissingClientId);
        assert!(!e.to_string().contains('\n'));
        assert!(e.to_string().contains("PAYU_CLIENT_ID"));
    }

    #[test]
    fn client_auth_and_ca_cert() {
        let e = Settings {
            client_auth: Some("digest".into()),
            ..s()
        }
        .resolve()
        .unwrap_err();
        assert!(matches!(e, ConfigError::BadClientAuth(_)));
        let e = Settings {
            ca_cert: Some("/nonexistent/ca.pem".into()),
            ..s()
        }
        .resolve()
        .unwrap_err();
        assert!(e.to_string().contains("PAYU_CA_CERT"));
    }
}
