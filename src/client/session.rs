//! The session secret (`user:password` or `user:token`).

use std::fmt;

use zeroize::Zeroizing;

/// OpenNebula credentials, sent as the first parameter of every call.
///
/// The secret is zeroized when dropped and never printed: `Debug` shows only the user name.
/// Each call's request body (which carries the session) is zeroized too once the HTTP stack
/// has sent it; copies the TLS library makes internally are outside this crate's reach.
///
/// ```
/// use opennebula::Session;
/// let session = Session::new("oneadmin:onepass");
/// assert_eq!(session.user(), "oneadmin");
/// assert!(!format!("{session:?}").contains("onepass"));
/// ```
#[derive(Clone)]
pub struct Session(Zeroizing<String>);

impl Session {
    /// Credentials in OpenNebula's `user:password` (or `user:token`) form.
    pub fn new(session: impl Into<String>) -> Self {
        Session(Zeroizing::new(session.into()))
    }

    /// Credentials from a user name and a password or login token.
    pub fn from_parts(user: &str, secret: &str) -> Self {
        let mut s = String::with_capacity(user.len() + secret.len() + 1);
        s.push_str(user);
        s.push(':');
        s.push_str(secret);
        Session(Zeroizing::new(s))
    }

    /// The user name (the part before the first `:`).
    pub fn user(&self) -> &str {
        self.0.split(':').next().unwrap_or_default()
    }

    /// The whole session string, as sent on the wire. Handle with care.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("user", &self.user())
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl From<&str> for Session {
    fn from(s: &str) -> Self {
        Session::new(s)
    }
}

impl From<&String> for Session {
    fn from(s: &String) -> Self {
        Session::new(s.as_str())
    }
}

impl From<String> for Session {
    fn from(s: String) -> Self {
        Session::new(s)
    }
}
