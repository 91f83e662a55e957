//! The one way secrets travel through the harness.
//!
//! Client secrets, passwords, access tokens and refresh tokens are wrapped in
//! [`Secret`] as soon as they enter the program (config, HTTP response) and
//! only unwrapped at the point where they are put on the wire or into the
//! token store. `Debug` and `Display` print `[redacted]`, so a `{:?}` in a log
//! line, a panic message or the cucumber World's debug dump cannot leak them.

use std::fmt;

/// The text every secret prints as.
pub const REDACTED: &str = "[redacted]";

/// A value that must never be printed. Deliberately not `Serialize`: writing a
/// secret to a file is an explicit act (`expose()`), never a side effect of
/// serializing a larger struct.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Secret<T = String>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    /// The raw value, for the wire or the token store only.
    pub fn expose(&self) -> &T {
        &self.0
    }

    pub fn into_inner(self) -> T {
        self.0
    }
}

impl Secret<String> {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret<String> {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret<String> {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let s = Secret::from("s3cr3t-value");
        assert_eq!(format!("{s:?}"), REDACTED);
        assert_eq!(format!("{s}"), REDACTED);
        assert_eq!(
            format!("{:#?}", Some(&s)),
            format!("Some(\n    {REDACTED},\n)")
        );
        assert_eq!(s.expose(), "s3cr3t-value");
    }
}
