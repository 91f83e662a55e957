//! Settings: one parse, one validation. The binary hands over the flags it
//! parsed (clap never reads the environment), the process environment and
//! the env file (`./.env` or `--env-file FILE`); [`Settings::gather`] layers
//! them (flags > environment > env file > defaults; an empty value is unset)
//! and remembers where each value came from; [`Settings::resolve`] validates
//! every value into a [`Config`] or one [`ConfigError`] line that names the
//! variable, where it came from, and the fix. A secret's value is never part
//! of an error. [`SETTINGS`] is the one table of the settings: `--help` and
//! the README render from it.

use crate::client::{ClientAuth, ClientOptions};
use crate::secret::Secret;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use url::Url;

pub const UAT_TOKEN_URL: &str = "https://uat-accounts.payu.in/oauth/token";
pub const PRODUCTION_HOST: &str = "accounts.payu.in";
pub const UAT_HOST: &str = "uat-accounts.payu.in";
pub const DEFAULT_TOKEN_STORE: &str = ".payu-contract/token-store.json";
pub const DEFAULT_SCOPE: &str = "hub_session";
/// How long a command waits for another one holding the token store.
pub const DEFAULT_LOCK_TIMEOUT_SECS: u64 = 120;
/// Where live targets' observed baselines live (`--baselines`,
/// `PAYU_BASELINES`): beside the token store, in the working folder.
pub const DEFAULT_BASELINES: &str = ".payu-contract/baselines";

/// One setting: its variable, its flag (secrets have none), its default
/// and what it means.
#[derive(Debug)]
pub struct SettingDef {
    pub var: &'static str,
    pub flag: Option<&'static str>,
    pub default: &'static str,
    pub meaning: &'static str,
    /// Never printed, in no error and no help text.
    pub secret: bool,
}

const fn def(
    var: &'static str,
    flag: Option<&'static str>,
    default: &'static str,
    meaning: &'static str,
    secret: bool,
) -> SettingDef {
    SettingDef {
        var,
        flag,
        default,
        meaning,
        secret,
    }
}

/// Every setting the environment or an env file may give.
pub const SETTINGS: &[SettingDef] = &[
    def(
        "PAYU_TARGET",
        Some("--target"),
        "local",
        "local (the embedded double), uat, or the https:// URL of a token endpoint",
        false,
    ),
    def(
        "PAYU_TOKEN_URL",
        Some("--token-url"),
        "",
        "the token endpoint URL, instead of PAYU_TARGET",
        false,
    ),
    def(
        "PAYU_CLIENT_ID",
        Some("--client-id"),
        "",
        "the partner's client id (live targets)",
        false,
    ),
    def(
        "PAYU_CLIENT_SECRET",
        None,
        "",
        "the client secret; optional for the documented client",
        true,
    ),
    def(
        "PAYU_REFRESH_TOKEN",
        None,
        "",
        "the seed of the token chain; may stay set (the token store carries the chain)",
        true,
    ),
    def(
        "PAYU_USERNAME",
        Some("--username"),
        "",
        "Get Token (password grant) user, used when there is no token",
        false,
    ),
    def("PAYU_PASSWORD", None, "", "Get Token password", true),
    def(
        "PAYU_SCOPE",
        Some("--scope"),
        DEFAULT_SCOPE,
        "scope requested by Get Token",
        false,
    ),
    def(
        "PAYU_CLIENT_AUTH",
        Some("--client-auth"),
        "body",
        "body (the documented form fields) or basic (HTTP Basic)",
        false,
    ),
    def(
        "PAYU_TOKEN_STORE",
        Some("--token-store"),
        DEFAULT_TOKEN_STORE,
        "where rotated refresh tokens are kept",
        false,
    ),
    def(
        "PAYU_BASELINES",
        Some("--baselines"),
        DEFAULT_BASELINES,
        "live targets' observed baselines (run, baseline), relative to the working folder",
        false,
    ),
    def(
        "PAYU_STORE_KEY",
        None,
        "",
        "encrypts the store at rest; `payu-contract store-keygen` makes one",
        true,
    ),
    def(
        "PAYU_LOCK_TIMEOUT",
        Some("--lock-timeout"),
        "120",
        "seconds to wait for another run holding the token store (0-3600)",
        false,
    ),
    def(
        "PAYU_CA_CERT",
        Some("--ca-cert"),
        "",
        "PEM file of an extra CA to trust, on top of the system roots",
        false,
    ),
    def(
        "PAYU_TIMEOUT",
        Some("--timeout"),
        "15",
        "seconds for a whole request (1-600)",
        false,
    ),
    def(
        "PAYU_CONNECT_TIMEOUT",
        Some("--connect-timeout"),
        "5",
        "seconds to connect (1-600)",
        false,
    ),
    def(
        "PAYU_RESOURCE_URL",
        Some("--resource-url"),
        "",
        "a protected resource (GET with Authorization: Bearer) on the live target: lets the rotation scenario tell a used refresh token revoked on first use of the new access token from one never revoked (the local double's own is used automatically)",
        false,
    ),
    def(
        "PAYU_PROFILE",
        Some("--profile"),
        "documented",
        "`run` only: the local double's profile (ignored for a live target unless given as a flag)",
        false,
    ),
];

fn def_of(var: &str) -> Option<&'static SettingDef> {
    SETTINGS.iter().find(|d| d.var == var)
}

/// The settings section of `--help`: every variable, secrets included.
pub fn help_text() -> String {
    let mut out = String::from(
        "Settings (flag > environment > .env or --env-file > default; an empty value is unset):\n",
    );
    for d in SETTINGS {
        let flag = match d.flag {
            Some(f) => format!(", {f}"),
            None => " (secret: environment or env file only, no flag)".into(),
        };
        let default = if d.default.is_empty() {
            String::new()
        } else {
            format!("  [default: {}]", d.default)
        };
        out.push_str(&format!(
            "  {}{flag}{default}\n      {}\n",
            d.var, d.meaning
        ));
    }
    out.push_str(
        "Secrets have no flags on purpose (a flag shows in `ps` and shell history).\n\
         Exit codes: 0 every check held; 1 the contract drifted; 2 usage or configuration error; 3 no verdict; 70 a bug in payu-contract.",
    );
    out
}

/// Where a value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A command-line flag, e.g. `--timeout`.
    Flag(&'static str),
    /// The process environment.
    Environment,
    /// An env file, by the name the user knows it (`.env`, or the
    /// `--env-file` path as given).
    File(String),
    /// Typed in at a prompt.
    Prompt,
}

/// One value as given, with where it came from.
#[derive(Clone, Debug)]
pub struct Raw {
    /// Held as a secret for every setting: Debug never shows it.
    value: Secret<String>,
    pub origin: Origin,
    pub def: &'static SettingDef,
}

impl Raw {
    pub fn new(def: &'static SettingDef, value: String, origin: Origin) -> Raw {
        Raw {
            value: Secret::new(value),
            origin,
            def,
        }
    }

    fn text(&self) -> &str {
        self.value.expose().trim()
    }

    /// The value as it may be shown in an error: never a secret, never the
    /// user name or password of a URL, always on one line.
    fn shown(&self) -> Option<String> {
        if self.def.secret {
            return None;
        }
        let v = self.value.expose();
        let v = match v.find("://") {
            Some(i) => {
                let rest = &v[i + 3..];
                let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
                match rest[..end].rfind('@') {
                    Some(at) => format!("{}[hidden]{}", &v[..i + 3], &rest[at..]),
                    None => v.to_owned(),
                }
            }
            None if v.contains('@') => "[hidden]".to_owned(),
            None => v.to_owned(),
        };
        let plain = !v.is_empty()
            && v.chars()
                .all(|c| c.is_ascii_graphic() && c != '"' && c != '\'' && c != '\\');
        Some(if plain {
            v
        } else {
            format!("\"{}\"", v.escape_debug())
        })
    }

    /// The value and where it came from: `PAYU_TIMEOUT=30s in .env`,
    /// `--timeout 30s`, `PAYU_STORE_KEY in the environment`.
    pub fn at(&self) -> String {
        let shown = self.shown();
        match (&self.origin, shown) {
            (Origin::Flag(f), Some(v)) => format!("{f} {v}"),
            (Origin::Flag(f), None) => (*f).to_owned(),
            (origin, Some(v)) => format!("{}={v} {}", self.def.var, where_(origin)),
            (origin, None) => format!("{} {}", self.def.var, where_(origin)),
        }
    }

    /// How the fix is spelled where the value came from.
    fn example(&self, value: &str) -> String {
        match &self.origin {
            Origin::Flag(f) => format!("{f} {value}"),
            _ => format!("{}={value}", self.def.var),
        }
    }

    fn invalid(&self, problem: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            at: self.at(),
            problem: problem.into(),
        }
    }
}

fn where_(origin: &Origin) -> String {
    match origin {
        Origin::Flag(f) => format!("in {f}"),
        Origin::Environment => "in the environment".into(),
        Origin::File(name) => format!("in {name}"),
        Origin::Prompt => "as typed".into(),
    }
}

/// The PAYU_* lines of an env file. Other lines are other tools' business
/// and are left alone; an unknown PAYU_* name is refused (a typo would
/// otherwise be silently dropped).
#[derive(Clone, Debug)]
pub struct EnvFile {
    pub label: String,
    values: BTreeMap<String, Secret<String>>,
}

impl EnvFile {
    /// `--env-file FILE` when given (it must exist), else `./.env` when it
    /// exists (the current folder only: a `.env` further up is not read).
    pub fn discover(explicit: Option<&Path>) -> Result<Option<EnvFile>, ConfigError> {
        if let Some(p) = explicit {
            EnvFile::read(p, format!("--env-file {}", p.display())).map(Some)
        } else {
            let p = Path::new(".env");
            if p.exists() {
                EnvFile::read(p, ".env".into()).map(Some)
            } else {
                Ok(None)
            }
        }
    }

    pub fn read(path: &Path, label: String) -> Result<EnvFile, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::EnvFile {
            label: label.clone(),
            problem: format!("cannot be read ({e}): name an existing file of KEY=value lines"),
        })?;
        EnvFile::parse(&text, label)
    }

    /// Parses KEY=value lines as dotenv does (quotes, `export`, comments,
    /// no variable expansion). A line that cannot be parsed is named by its
    /// number, never echoed (it may hold a secret).
    pub fn parse(text: &str, label: String) -> Result<EnvFile, ConfigError> {
        let mut values = BTreeMap::new();
        let no_expansion = text.replace('$', "\u{0}");
        for item in dotenvy::from_read_iter(no_expansion.as_bytes()) {
            let (key, value) = item.map_err(|e| {
                let line = match &e {
                    dotenvy::Error::LineParse(content, _) => text
                        .lines()
                        .position(|l| {
                            let l = l.replace('$', "\u{0}");
                            !content.is_empty() && content.starts_with(l.trim_end())
                                || l.trim_end() == content.trim_end()
                        })
                        .map(|n| format!("line {}", n + 1)),
                    _ => None,
                };
                ConfigError::EnvFile {
                    label: label.clone(),
                    problem: format!(
                        "{} is not a KEY=value line: fix its quoting (values with spaces go in quotes)",
                        line.unwrap_or_else(|| "a line".into())
                    ),
                }
            })?;
            let value = value.replace('\u{0}', "$");
            if key.starts_with("PAYU_") && def_of(&key).is_none() {
                let hint = SETTINGS
                    .iter()
                    .min_by_key(|d| distance(d.var, &key))
                    .filter(|d| distance(d.var, &key) <= 3)
                    .map(|d| format!(" (did you mean {}?)", d.var))
                    .unwrap_or_default();
                return Err(ConfigError::Invalid {
                    at: format!("{key} in {label}"),
                    problem: format!("not a setting{hint}; `payu-contract run --help` lists them"),
                });
            }
            values.insert(key, Secret::new(value));
        }
        Ok(EnvFile { label, values })
    }

    fn get(&self, var: &str) -> Option<&str> {
        self.values.get(var).map(|v| v.expose().as_str())
    }
}

/// Edit distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The raw settings: each value with where it came from. Built by
/// [`Settings::gather`]; nothing here is validated yet.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    values: BTreeMap<&'static str, Raw>,
    pub allow_production: bool,
    pub allow_destructive: bool,
}

impl Settings {
    /// Layers the sources: a flag wins over the environment, the
    /// environment over the env file. An empty (or blank) value is unset,
    /// so the next source applies. `flags` names each setting by its
    /// variable (`PAYU_TIMEOUT`) with the flag's value, if given.
    pub fn gather(
        flags: &[(&str, Option<String>)],
        env: impl Fn(&str) -> Option<String>,
        file: Option<&EnvFile>,
    ) -> Settings {
        let mut values = BTreeMap::new();
        for d in SETTINGS {
            let flag = flags
                .iter()
                .find(|(var, _)| *var == d.var)
                .and_then(|(_, v)| v.clone())
                .filter(|v| !v.trim().is_empty());
            let raw = match (flag, d.flag) {
                (Some(v), Some(f)) => Some(Raw::new(d, v, Origin::Flag(f))),
                _ => None,
            }
            .or_else(|| {
                env(d.var)
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| Raw::new(d, v, Origin::Environment))
            })
            .or_else(|| {
                let f = file?;
                f.get(d.var)
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| Raw::new(d, v.to_owned(), Origin::File(f.label.clone())))
            });
            if let Some(raw) = raw {
                values.insert(d.var, raw);
            }
        }
        Settings {
            values,
            allow_production: false,
            allow_destructive: false,
        }
    }

    /// The value of a setting, trimmed, if set.
    pub fn get(&self, var: &str) -> Option<&str> {
        self.values.get(var).map(Raw::text)
    }

    pub fn raw(&self, var: &str) -> Option<&Raw> {
        self.values.get(var)
    }

    pub fn is_set(&self, var: &str) -> bool {
        self.values.contains_key(var)
    }

    /// Sets a value typed at a prompt (an empty answer leaves it unset).
    pub fn set_typed(&mut self, var: &str, value: String) {
        let Some(d) = def_of(var) else { return };
        if value.trim().is_empty() {
            self.values.remove(d.var);
        } else {
            self.values
                .insert(d.var, Raw::new(d, value, Origin::Prompt));
        }
    }

    /// Whether the settings name the local double (no URL, no live target).
    pub fn is_local(&self) -> bool {
        self.get("PAYU_TOKEN_URL").is_none()
            && matches!(self.get("PAYU_TARGET"), None | Some("local"))
    }

    fn secret(&self, var: &str) -> Option<Secret<String>> {
        self.values
            .get(var)
            .map(|r| Secret::new(r.value.expose().trim().to_owned()))
    }

    /// Validates every value; the first problem is the error.
    pub fn resolve(&self) -> Result<Config, ConfigError> {
        let mut notes = Vec::new();
        let target = self.target(&mut notes)?;
        let client_auth = match self.raw("PAYU_CLIENT_AUTH") {
            None => ClientAuth::Body,
            Some(r) => match r.text() {
                "body" => ClientAuth::Body,
                "basic" => ClientAuth::Basic,
                _ => {
                    return Err(r.invalid(format!(
                        "expected body (the documented form fields) or basic (HTTP Basic), e.g. {}",
                        r.example("body")
                    )));
                }
            },
        };
        let mut client = ClientOptions::default();
        if let Some(r) = self.raw("PAYU_TIMEOUT") {
            client.timeout = Duration::from_secs(seconds(r, 1, 600, "30")?);
        }
        if let Some(r) = self.raw("PAYU_CONNECT_TIMEOUT") {
            client.connect_timeout = Duration::from_secs(seconds(r, 1, 600, "5")?);
        }
        let lock_timeout = match self.raw("PAYU_LOCK_TIMEOUT") {
            Some(r) => Duration::from_secs(seconds(r, 0, 3600, "120")?),
            None => Duration::from_secs(DEFAULT_LOCK_TIMEOUT_SECS),
        };
        if let Some(r) = self.raw("PAYU_CA_CERT") {
            let pem = std::fs::read(r.text()).map_err(|e| {
                r.invalid(format!(
                    "cannot be read ({e}): point it at a PEM file with the CA certificate"
                ))
            })?;
            if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
                return Err(r.invalid(
                    "no PEM certificate in that file: point it at a PEM file with the CA certificate (-----BEGIN CERTIFICATE-----)",
                ));
            }
            client.ca_cert_pem = Some(pem);
        }
        let resource_url = match self.raw("PAYU_RESOURCE_URL") {
            None => None,
            Some(r) => match Url::parse(r.text()) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Some(u),
                _ => {
                    return Err(r.invalid(format!(
                        "not an http(s) URL: name the protected resource the new access token can be used on, e.g. {}",
                        r.example("https://api.example.com/api/me")
                    )));
                }
            },
        };
        if resource_url.is_some() && !target.is_live() {
            notes.push("PAYU_RESOURCE_URL is ignored for the local target: the embedded double's own protected resource is used".into());
        }
        let store_key = self.secret("PAYU_STORE_KEY");
        if let (Some(r), Some(k)) = (self.raw("PAYU_STORE_KEY"), &store_key)
            && crate::chain::store::StoreKey::parse(k.expose()).is_err()
        {
            return Err(r.invalid(
                "not a store key: it must be 32 bytes as 64 hex characters or base64; `payu-contract store-keygen` prints one",
            ));
        }
        let credentials = Credentials {
            client_id: self.get("PAYU_CLIENT_ID").unwrap_or_default().to_owned(),
            client_secret: self.secret("PAYU_CLIENT_SECRET"),
            refresh_token: self.secret("PAYU_REFRESH_TOKEN"),
            username: self.get("PAYU_USERNAME").map(str::to_owned),
            password: self.secret("PAYU_PASSWORD"),
            scope: self.get("PAYU_SCOPE").unwrap_or(DEFAULT_SCOPE).to_owned(),
        };
        if target.is_live() {
            if credentials.client_id.is_empty() {
                return Err(ConfigError::MissingClientId);
            }
            match (self.raw("PAYU_USERNAME"), self.raw("PAYU_PASSWORD")) {
                (Some(r), None) | (None, Some(r)) => {
                    return Err(ConfigError::HalfPasswordGrant { at: r.at() });
                }
                _ => {}
            }
        }
        Ok(Config {
            target,
            credentials,
            client_auth,
            token_store: self
                .get("PAYU_TOKEN_STORE")
                .map_or_else(|| PathBuf::from(DEFAULT_TOKEN_STORE), PathBuf::from),
            store_key,
            client,
            allow_destructive: self.allow_destructive,
            lock_timeout,
            notes,
            baselines: self.baselines(),
            resource_url,
        })
    }

    /// The observed baselines' folder (default [`DEFAULT_BASELINES`]).
    pub fn baselines(&self) -> PathBuf {
        self.get("PAYU_BASELINES")
            .map_or_else(|| PathBuf::from(DEFAULT_BASELINES), PathBuf::from)
    }

    /// The target alone, as [`Settings::resolve`] sees it (no credentials
    /// needed): for `payu-contract baseline`.
    pub fn target_only(&self) -> Result<Target, ConfigError> {
        self.target(&mut Vec::new())
    }

    /// The secret values given, to scrub from output.
    pub fn secret_values(&self) -> Vec<Secret<String>> {
        SETTINGS
            .iter()
            .filter(|d| d.secret)
            .filter_map(|d| self.secret(d.var))
            .collect()
    }

    fn target(&self, notes: &mut Vec<String>) -> Result<Target, ConfigError> {
        let named = self.raw("PAYU_TARGET");
        let url = self.raw("PAYU_TOKEN_URL");
        let target = match (named, url) {
            (Some(t), Some(u)) if !matches!(t.text(), "local" | "url") => {
                return Err(ConfigError::ConflictingTarget {
                    target: t.at(),
                    url: u.at(),
                });
            }
            (_, Some(u)) => live(u, self.allow_production)?,
            (None, None) => Target::Local {
                profile: self.profile()?,
            },
            (Some(t), None) => match t.text() {
                "local" => Target::Local {
                    profile: self.profile()?,
                },
                "uat" => Target::Live {
                    name: "uat".into(),
                    url: Url::parse(UAT_TOKEN_URL).expect("constant URL"),
                },
                "production" | "prod" => {
                    if !self.allow_production {
                        return Err(ConfigError::Production { at: t.at() });
                    }
                    Target::Live {
                        name: PRODUCTION_HOST.into(),
                        url: Url::parse(&format!("https://{PRODUCTION_HOST}/oauth/token"))
                            .expect("constant URL"),
                    }
                }
                s if s.contains("://") => live(t, self.allow_production)?,
                _ => {
                    return Err(t.invalid(format!(
                        "unknown target: use local, uat, or the https:// URL of a token endpoint, e.g. {}",
                        t.example("uat")
                    )));
                }
            },
        };
        if target.is_live()
            && let Some(p) = self.raw("PAYU_PROFILE")
        {
            // A profile names a behaviour of the local double. Given on
            // the command line with a live target it is a mistake; from the
            // environment or an env file (a shared .env) it does not apply.
            if let Origin::Flag(_) = p.origin {
                return Err(p.invalid(
                    "a profile only applies to the local double: drop it, or use --target local",
                ));
            }
            if p.text() != "documented" {
                notes.push(format!(
                    "{} applies to the local double only; it is ignored for the live target {}",
                    p.at(),
                    target.name()
                ));
            }
        }
        Ok(target)
    }

    fn profile(&self) -> Result<String, ConfigError> {
        match self.raw("PAYU_PROFILE") {
            None => Ok("documented".into()),
            Some(r) => match payu_double::Profile::parse(r.text()) {
                Some(_) => Ok(r.text().to_owned()),
                None => Err(r.invalid(format!(
                    "unknown profile: `payu-contract profiles` lists them, e.g. {}",
                    r.example("documented")
                ))),
            },
        }
    }
}

/// A whole number of seconds in `min..=max`.
fn seconds(r: &Raw, min: u64, max: u64, example: &str) -> Result<u64, ConfigError> {
    match r.text().parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(r.invalid(format!(
            "expected whole seconds {min}-{max}, e.g. {}",
            r.example(example)
        ))),
    }
}

/// The host as the URL parser sees it, lowercased, without trailing dots:
/// `ACCOUNTS.PAYU.IN.` and `accounts.payu.in` are one host.
pub fn canonical_host(url: &Url) -> Option<String> {
    match url.host()? {
        url::Host::Domain(d) => Some(d.trim_end_matches('.').to_ascii_lowercase()),
        other => Some(other.to_string()),
    }
}

/// A live target from a URL setting. The host is made canonical (so the
/// production guard and the chain see one spelling); a user name or
/// password in the URL is refused without being echoed.
fn live(r: &Raw, allow_production: bool) -> Result<Target, ConfigError> {
    let fix = "give a full URL such as https://uat-accounts.payu.in/oauth/token";
    let mut url = Url::parse(r.text()).map_err(|e| r.invalid(format!("not a URL ({e}): {fix}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(r.invalid(
            "a token URL must not carry a user name or password (user:pass@host): drop them; the client id and secret come from PAYU_CLIENT_ID and PAYU_CLIENT_SECRET",
        ));
    }
    let host = canonical_host(&url).ok_or_else(|| r.invalid(format!("it has no host: {fix}")))?;
    if let Some(url::Host::Domain(d)) = url.host()
        && d != host
    {
        url.set_host(Some(&host))
            .map_err(|e| r.invalid(format!("bad host ({e}): {fix}")))?;
    }
    match url.scheme() {
        "https" => {}
        "http" if crate::client::is_loopback(&url) => {}
        "http" => {
            return Err(r.invalid(format!(
                "refusing to send credentials over plain HTTP to {host}: use an https:// URL (plain HTTP is allowed for 127.0.0.1/localhost only)"
            )));
        }
        _ => return Err(r.invalid(format!("the scheme must be https: {fix}"))),
    }
    if host == PRODUCTION_HOST && !allow_production {
        return Err(ConfigError::Production { at: r.at() });
    }
    let name = if host == UAT_HOST {
        "uat".to_owned()
    } else {
        match url.port() {
            Some(p) => format!("{host}-{p}"),
            None => host.clone(),
        }
    };
    Ok(Target::Live { name, url })
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
    /// Checked to be a valid key.
    pub store_key: Option<Secret<String>>,
    pub client: ClientOptions,
    pub allow_destructive: bool,
    /// How long to wait for another run holding the token store lock.
    pub lock_timeout: Duration,
    /// Settings that were given but do not apply (one line each, for stderr).
    pub notes: Vec<String>,
    /// The observed baselines' folder, relative to the working folder
    /// unless given absolute.
    pub baselines: PathBuf,
    /// A protected resource of the live target (`PAYU_RESOURCE_URL`): where
    /// the rotation scenario uses a new access token to learn whether the
    /// used refresh token dies on first use.
    pub resource_url: Option<Url>,
}

/// One line each: what is wrong, where it came from, and the fix.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    /// A value that is not valid for its setting. `at` names the variable
    /// (or flag) and where it came from, with the value unless secret.
    #[error("{at}: {problem}")]
    Invalid { at: String, problem: String },
    /// The env file itself is wrong.
    #[error("{label} {problem}")]
    EnvFile { label: String, problem: String },
    #[error(
        "{at}: that is PayU production ({PRODUCTION_HOST}) and the suite rotates refresh tokens there; pass --allow-production if that is really meant"
    )]
    Production { at: String },
    #[error("both {target} and {url} were given: use one of them")]
    ConflictingTarget { target: String, url: String },
    #[error(
        "PAYU_CLIENT_ID is not set: a live target needs the partner's client id (--client-id, PAYU_CLIENT_ID, or .env)"
    )]
    MissingClientId,
    #[error(
        "{at} without the other half of the Get Token pair: set both PAYU_USERNAME and PAYU_PASSWORD, or neither"
    )]
    HalfPasswordGrant { at: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: &[(&str, &str)]) -> Settings {
        let file = EnvFile::parse(
            &pairs
                .iter()
                .map(|(k, v)| format!("{k}={v}\n"))
                .collect::<String>(),
            ".env".into(),
        )
        .unwrap();
        Settings::gather(&[], |_| None, Some(&file))
    }

    fn err(pairs: &[(&str, &str)]) -> String {
        with(pairs).resolve().unwrap_err().to_string()
    }

    #[test]
    fn default_is_the_local_double() {
        let c = Settings::default().resolve().unwrap();
        assert_eq!(
            c.target,
            Target::Local {
                profile: "documented".into()
            }
        );
        assert_eq!(
            c.lock_timeout,
            Duration::from_secs(DEFAULT_LOCK_TIMEOUT_SECS)
        );
    }

    #[test]
    fn flags_win_over_the_environment_which_wins_over_the_file_and_empty_is_unset() {
        let file = EnvFile::parse(
            "PAYU_TIMEOUT=7\nPAYU_CONNECT_TIMEOUT=3\nPAYU_SCOPE=\n",
            ".env".into(),
        )
        .unwrap();
        let env = |k: &str| match k {
            "PAYU_TIMEOUT" => Some("8".to_owned()),
            "PAYU_CONNECT_TIMEOUT" => Some(String::new()),
            _ => None,
        };
        let s = Settings::gather(&[("PAYU_TIMEOUT", Some("9".into()))], env, Some(&file));
        let c = s.resolve().unwrap();
        assert_eq!(c.client.timeout, Duration::from_secs(9));
        // An empty environment value is unset: the file's applies.
        assert_eq!(c.client.connect_timeout, Duration::from_secs(3));
        assert_eq!(c.credentials.scope, DEFAULT_SCOPE);
        let s = Settings::gather(&[("PAYU_TIMEOUT", Some(" ".into()))], env, Some(&file));
        assert_eq!(s.raw("PAYU_TIMEOUT").unwrap().origin, Origin::Environment);
    }

    #[test]
    fn the_resource_url_is_an_http_url_of_a_live_target() {
        let live = [
            ("PAYU_TOKEN_URL", "https://auth.example.com/oauth/token"),
            ("PAYU_CLIENT_ID", "partner"),
        ];
        let with_resource = |v: &'static str| {
            let mut pairs = live.to_vec();
            pairs.push(("PAYU_RESOURCE_URL", v));
            with(&pairs).resolve()
        };
        assert_eq!(
            with_resource("https://api.example.com/api/me")
                .unwrap()
                .resource_url
                .unwrap()
                .as_str(),
            "https://api.example.com/api/me"
        );
        assert_eq!(
            with_resource("api.example.com/me").unwrap_err().to_string(),
            "PAYU_RESOURCE_URL=api.example.com/me in .env: not an http(s) URL: name the protected resource the new access token can be used on, e.g. PAYU_RESOURCE_URL=https://api.example.com/api/me"
        );
        assert!(with_resource("ftp://api.example.com/me").is_err());
        assert!(with(&live).resolve().unwrap().resource_url.is_none());
        // The local target has its own: a given one is noted as ignored.
        let local = with(&[("PAYU_RESOURCE_URL", "https://api.example.com/api/me")])
            .resolve()
            .unwrap();
        assert!(
            local
                .notes
                .iter()
                .any(|n| n.contains("PAYU_RESOURCE_URL is ignored"))
        );
    }

    #[test]
    fn an_invalid_value_names_the_variable_and_the_file() {
        assert_eq!(
            err(&[("PAYU_TIMEOUT", "30s")]),
            "PAYU_TIMEOUT=30s in .env: expected whole seconds 1-600, e.g. PAYU_TIMEOUT=30"
        );
        let flag = Settings::gather(&[("PAYU_TIMEOUT", Some("0".into()))], |_| None, None);
        assert_eq!(
            flag.resolve().unwrap_err().to_string(),
            "--timeout 0: expected whole seconds 1-600, e.g. --timeout 30"
        );
        let env = Settings::gather(
            &[],
            |k| (k == "PAYU_LOCK_TIMEOUT").then(|| "soon".into()),
            None,
        );
        assert_eq!(
            env.resolve().unwrap_err().to_string(),
            "PAYU_LOCK_TIMEOUT=soon in the environment: expected whole seconds 0-3600, e.g. PAYU_LOCK_TIMEOUT=120"
        );
        assert!(
            err(&[("PAYU_TARGET", "staging")])
                .starts_with("PAYU_TARGET=staging in .env: unknown target")
        );
        assert!(
            err(&[("PAYU_CLIENT_AUTH", "digest")]).starts_with("PAYU_CLIENT_AUTH=digest in .env:")
        );
        assert!(
            err(&[("PAYU_PROFILE", "nope")])
                .starts_with("PAYU_PROFILE=nope in .env: unknown profile")
        );
        assert!(
            err(&[("PAYU_CA_CERT", "/nonexistent/ca.pem")])
                .starts_with("PAYU_CA_CERT=/nonexistent/ca.pem in .env: cannot be read")
        );
    }

    #[test]
    fn a_secret_value_is_never_in_an_error() {
        let e = err(&[("PAYU_STORE_KEY", "hunter2-not-a-key")]);
        assert!(
            e.starts_with("PAYU_STORE_KEY in .env: not a store key"),
            "{e}"
        );
        assert!(!e.contains("hunter2"));
        let e = err(&[
            (
                "PAYU_TOKEN_URL",
                "https://me:hunter2@uat-accounts.payu.in/oauth/token",
            ),
            ("PAYU_CLIENT_ID", "id"),
        ]);
        assert!(
            e.contains("user name or password") && !e.contains("hunter2") && !e.contains("me:"),
            "{e}"
        );
        let e = err(&[("PAYU_TARGET", "me:hunter2@example.com")]);
        assert!(!e.contains("hunter2"), "{e}");
        let e = EnvFile::parse("PAYU_CLIENT_SECRET=\"hunter2\n", ".env".into())
            .unwrap_err()
            .to_string();
        assert!(
            !e.contains("hunter2") && e.contains(".env") && e.contains("line 1"),
            "{e}"
        );
    }

    #[test]
    fn an_unknown_payu_name_in_the_file_is_refused_with_a_suggestion() {
        let e = EnvFile::parse("PAYU_TIMEOUTS=3\nOTHER_TOOL=1\n", ".env".into()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "PAYU_TIMEOUTS in .env: not a setting (did you mean PAYU_TIMEOUT?); `payu-contract run --help` lists them"
        );
        assert!(EnvFile::parse("OTHER_TOOL=1\n", ".env".into()).is_ok());
    }

    #[test]
    fn dollar_signs_are_kept_as_written() {
        let f = EnvFile::parse("PAYU_CLIENT_SECRET=a$HOME$b\n", ".env".into()).unwrap();
        assert_eq!(f.get("PAYU_CLIENT_SECRET"), Some("a$HOME$b"));
    }

    #[test]
    fn targets() {
        assert_eq!(
            with(&[("PAYU_TARGET", "uat"), ("PAYU_CLIENT_ID", "id")])
                .resolve()
                .unwrap()
                .target
                .name(),
            "uat"
        );
        assert!(
            err(&[
                ("PAYU_TARGET", "http://example.com/oauth/token"),
                ("PAYU_CLIENT_ID", "id")
            ])
            .contains("plain HTTP")
        );
        let local = with(&[
            ("PAYU_TOKEN_URL", "http://127.0.0.1:9/oauth/token"),
            ("PAYU_CLIENT_ID", "id"),
        ]);
        assert_eq!(local.resolve().unwrap().target.name(), "127.0.0.1-9");
        assert!(
            err(&[("PAYU_TOKEN_URL", "https//x"), ("PAYU_CLIENT_ID", "id")])
                .starts_with("PAYU_TOKEN_URL=https//x in .env: not a URL")
        );
        assert!(
            err(&[
                ("PAYU_TARGET", "uat"),
                ("PAYU_TOKEN_URL", "https://x/oauth/token")
            ])
            .starts_with("both PAYU_TARGET=uat in .env and")
        );
    }

    #[test]
    fn every_spelling_of_the_production_host_is_refused() {
        for url in [
            "https://accounts.payu.in/oauth/token",
            "https://accounts.payu.in./oauth/token",
            "https://ACCOUNTS.PAYU.IN/oauth/token",
            "https://Accounts.Payu.In.:443/oauth/token",
            "https://accounts.payu.in../oauth/token",
            "https://accounts%2Epayu.in/oauth/token",
            "https://accounts\u{3002}payu\u{3002}in/oauth/token",
            "https://ａｃｃｏｕｎｔｓ.payu.in/oauth/token",
        ] {
            if let Ok(u) = Url::parse(url) {
                // Only spellings the URL parser accepts can reach the network.
                let e = with(&[("PAYU_TOKEN_URL", url), ("PAYU_CLIENT_ID", "id")]).resolve();
                assert!(
                    matches!(e, Err(ConfigError::Production { .. })),
                    "{url} ({:?}) was not refused: {e:?}",
                    u.host_str()
                );
                let mut allowed = with(&[("PAYU_TOKEN_URL", url), ("PAYU_CLIENT_ID", "id")]);
                allowed.allow_production = true;
                let c = allowed.resolve().unwrap();
                let Target::Live { url, .. } = c.target else {
                    panic!()
                };
                assert_eq!(url.host_str(), Some(PRODUCTION_HOST));
            }
        }
        assert!(matches!(
            with(&[("PAYU_TARGET", "production"), ("PAYU_CLIENT_ID", "id")]).resolve(),
            Err(ConfigError::Production { .. })
        ));
        // A host that only contains the name is not production.
        assert!(
            with(&[
                (
                    "PAYU_TOKEN_URL",
                    "https://accounts.payu.in.example.com/oauth/token"
                ),
                ("PAYU_CLIENT_ID", "id")
            ])
            .resolve()
            .is_ok()
        );
    }

    #[test]
    fn uat_spellings_are_one_target() {
        for url in [
            "https://UAT-accounts.payu.in./oauth/token",
            "https://uat-accounts.payu.in/oauth/token",
        ] {
            let c = with(&[("PAYU_TOKEN_URL", url), ("PAYU_CLIENT_ID", "id")])
                .resolve()
                .unwrap();
            assert_eq!(c.target.name(), "uat");
            let Target::Live { url, .. } = c.target else {
                panic!()
            };
            assert_eq!(url.as_str(), UAT_TOKEN_URL);
        }
    }

    #[test]
    fn a_profile_from_a_file_does_not_break_a_live_run_but_a_flag_does() {
        let c = with(&[
            ("PAYU_TARGET", "uat"),
            ("PAYU_CLIENT_ID", "id"),
            ("PAYU_PROFILE", "documented"),
        ])
        .resolve()
        .unwrap();
        assert!(c.target.is_live() && c.notes.is_empty());
        let c = with(&[
            ("PAYU_TARGET", "uat"),
            ("PAYU_CLIENT_ID", "id"),
            ("PAYU_PROFILE", "rfc6749"),
        ])
        .resolve()
        .unwrap();
        assert_eq!(c.notes.len(), 1);
        let file = EnvFile::parse("PAYU_TARGET=uat\nPAYU_CLIENT_ID=id\n", ".env".into()).unwrap();
        let s = Settings::gather(
            &[("PAYU_PROFILE", Some("documented".into()))],
            |_| None,
            Some(&file),
        );
        assert!(
            s.resolve()
                .unwrap_err()
                .to_string()
                .starts_with("--profile documented: a profile only applies to the local double")
        );
    }

    #[test]
    fn live_needs_a_client_id_and_both_halves_of_get_token() {
        let e = with(&[("PAYU_TARGET", "uat")]).resolve().unwrap_err();
        assert_eq!(e, ConfigError::MissingClientId);
        let e = err(&[
            ("PAYU_TARGET", "uat"),
            ("PAYU_CLIENT_ID", "id"),
            ("PAYU_PASSWORD", "hunter2"),
        ]);
        assert!(
            e.starts_with("PAYU_PASSWORD in .env without") && !e.contains("hunter2"),
            "{e}"
        );
    }

    #[test]
    fn help_names_every_setting() {
        let h = help_text();
        for d in SETTINGS {
            assert!(h.contains(d.var), "{}", d.var);
        }
    }
}
