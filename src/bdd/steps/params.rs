//! The typed words of the step vocabulary. Each type is a cucumber
//! [`Parameter`] whose regex lists exactly the phrases it knows, so a phrase
//! nobody defined matches no step: cucumber reports it as undefined and the
//! run ends with exit 2 naming the file and line, before anything is judged.
//! [`Placeholder`] is the vocabulary of table cells (`<client id>`, ...).
//!
//! Each type has one table of phrases; its `regex` attribute must list the
//! same phrases (a unit test below holds the two together).

use cucumber::Parameter;
use std::fmt;
use std::str::FromStr;

/// A documented refresh variant, phrased as the page phrases its scenarios
/// ("the partner requests a refresh without grant type").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Parameter)]
#[param(
    name = "refresh",
    regex = "with all documented parameters|with the new refresh token|without client secret|without grant type|without refresh token|with invalid grant type|invalid refresh token|with an invalid refresh token|with invalid client|with the refresh token it has just used"
)]
pub enum Refresh {
    /// Client id and secret, grant type, the live refresh token.
    Documented,
    /// Client id only (the secret is optional for the partner's client).
    WithoutClientSecret,
    WithoutGrantType,
    WithoutRefreshToken,
    InvalidGrantType,
    /// A random refresh token the server never issued.
    InvalidRefreshToken,
    /// A client the server does not know, with a VALID refresh token: with a
    /// bad token the server would answer `invalid_grant` first.
    InvalidClient,
    /// The refresh token the scenario sent last (a replay).
    UsedRefreshToken,
}

const REFRESH: &[(&str, Refresh)] = &[
    ("with all documented parameters", Refresh::Documented),
    ("with the new refresh token", Refresh::Documented),
    ("without client secret", Refresh::WithoutClientSecret),
    ("without grant type", Refresh::WithoutGrantType),
    ("without refresh token", Refresh::WithoutRefreshToken),
    ("with invalid grant type", Refresh::InvalidGrantType),
    ("invalid refresh token", Refresh::InvalidRefreshToken),
    (
        "with an invalid refresh token",
        Refresh::InvalidRefreshToken,
    ),
    ("with invalid client", Refresh::InvalidClient),
    (
        "with the refresh token it has just used",
        Refresh::UsedRefreshToken,
    ),
];

impl FromStr for Refresh {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        lookup(REFRESH, s, "refresh variant")
    }
}

/// How a table request authenticates the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Parameter)]
#[param(name = "auth", regex = "in the form|by HTTP Basic|as configured")]
pub enum Auth {
    /// `client_id` and `client_secret` stay form fields.
    Form,
    /// The `client_id` and `client_secret` rows become the
    /// `Authorization: Basic` header instead of form fields.
    Basic,
    /// Whatever the run was configured with (`--client-auth`).
    AsConfigured,
}

const AUTH: &[(&str, Auth)] = &[
    ("in the form", Auth::Form),
    ("by HTTP Basic", Auth::Basic),
    ("as configured", Auth::AsConfigured),
];

impl FromStr for Auth {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        lookup(AUTH, s, "client authentication")
    }
}

/// A value the run supplies in a request table. Secret ones are resolved
/// at send time and never leave the run unredacted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placeholder {
    /// The partner's client id.
    ClientId,
    /// The partner's client secret.
    ClientSecret,
    /// The live refresh token of the chain (a request carrying it may spend it).
    LiveRefreshToken,
    /// The refresh token this scenario sent last (or the chain's last used).
    UsedRefreshToken,
    /// A client id no server knows, fresh each time.
    UnknownClientId,
    /// 64 random hex characters: a token (or secret) nobody issued.
    RandomToken,
    /// The second, confidential client's id, secret and refresh token
    /// (the embedded double has one; without it the scenario is skipped).
    ConfidentialClientId,
    ConfidentialClientSecret,
    ConfidentialRefreshToken,
}

pub const PLACEHOLDERS: &[(&str, Placeholder)] = &[
    ("<client id>", Placeholder::ClientId),
    ("<client secret>", Placeholder::ClientSecret),
    ("<live refresh token>", Placeholder::LiveRefreshToken),
    ("<used refresh token>", Placeholder::UsedRefreshToken),
    ("<unknown client id>", Placeholder::UnknownClientId),
    ("<random token>", Placeholder::RandomToken),
    (
        "<confidential client id>",
        Placeholder::ConfidentialClientId,
    ),
    (
        "<confidential client secret>",
        Placeholder::ConfidentialClientSecret,
    ),
    (
        "<confidential refresh token>",
        Placeholder::ConfidentialRefreshToken,
    ),
];

impl FromStr for Placeholder {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        lookup(PLACEHOLDERS, s, "placeholder")
    }
}

impl fmt::Display for Placeholder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = PLACEHOLDERS
            .iter()
            .find(|(_, p)| p == self)
            .map_or("<?>", |(n, _)| n);
        f.write_str(name)
    }
}

/// One cell of a request table: a literal, or a value the run supplies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cell {
    Literal(String),
    Placeholder(Placeholder),
}

impl FromStr for Cell {
    type Err = String;
    /// `<...>` is a placeholder and must be a known one; anything else is
    /// sent as written.
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.starts_with('<') && s.ends_with('>') {
            s.parse().map(Cell::Placeholder)
        } else {
            Ok(Cell::Literal(s.to_owned()))
        }
    }
}

fn lookup<T: Copy>(table: &[(&str, T)], s: &str, what: &str) -> Result<T, String> {
    table
        .iter()
        .find(|(phrase, _)| *phrase == s.trim())
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let known: Vec<&str> = table.iter().map(|(p, _)| *p).collect();
            format!("unknown {what} \"{s}\": known are {}", known.join(", "))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `regex` attribute and the table list the same phrases.
    fn same_phrases(regex: &str, table: &[&str]) {
        let mut from_regex: Vec<&str> = regex.split('|').collect();
        let mut from_table = table.to_vec();
        from_regex.sort_unstable();
        from_table.sort_unstable();
        assert_eq!(from_regex, from_table);
    }

    #[test]
    fn each_parameter_regex_lists_exactly_its_table() {
        use cucumber::codegen::Parameter;
        same_phrases(
            <Refresh as Parameter>::REGEX,
            &REFRESH.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
        );
        same_phrases(
            <Auth as Parameter>::REGEX,
            &AUTH.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
        );
    }

    #[test]
    fn cells_and_placeholders() {
        assert_eq!(
            "<client id>".parse::<Cell>().unwrap(),
            Cell::Placeholder(Placeholder::ClientId)
        );
        assert_eq!(
            " refresh_token ".parse::<Cell>().unwrap(),
            Cell::Literal("refresh_token".into())
        );
        let err = "<clent id>".parse::<Cell>().unwrap_err();
        assert!(err.contains("unknown placeholder \"<clent id>\""), "{err}");
        for (name, p) in PLACEHOLDERS {
            assert_eq!(p.to_string(), *name);
        }
    }
}
