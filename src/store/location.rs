//! Where a log lives, as a user names it: a folder (sled) or a URL (PostgreSQL).
//!
//! A location with `://` is a URL: `postgresql` and `postgres` are the schemes known, and any
//! other (a typo such as `postgress://`) is refused, never taken as a folder. Anything else is
//! a sled folder. A URL is named in errors without its password ([`redact`]).

use std::path::{Path, PathBuf};

use super::StoreError;

/// A store location, parsed.
///
/// # Example
///
/// ```
/// use detente::store::Location;
///
/// let folder = Location::parse("./store".as_ref())?;
/// assert_eq!(folder, Location::Folder("./store".into()));
/// let url = Location::parse("postgresql://me:secret@db.example/talks".as_ref())?;
/// assert_eq!(url, Location::Postgres("postgresql://me:secret@db.example/talks".into()));
/// assert!(Location::parse("postgress://db/talks".as_ref()).is_err());
/// # Ok::<(), detente::store::StoreError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location {
    /// A sled folder.
    Folder(PathBuf),
    /// A PostgreSQL database, by its URL (`postgresql://…` or `postgres://…`), password kept.
    Postgres(String),
}

/// The URL schemes of PostgreSQL.
const POSTGRES_SCHEMES: [&str; 2] = ["postgresql", "postgres"];

impl Location {
    /// Parses a store location: a URL where it holds `://`, else a folder.
    ///
    /// An unknown scheme is [`StoreError::UnknownScheme`], naming the scheme and the location
    /// without its password.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::store::{Location, StoreError};
    ///
    /// let err = Location::parse("postgress://me:secret@db/talks".as_ref()).unwrap_err();
    /// assert!(matches!(&err, StoreError::UnknownScheme { scheme, .. } if scheme == "postgress"));
    /// assert!(!err.to_string().contains("secret"));
    /// ```
    pub fn parse(location: &Path) -> Result<Location, StoreError> {
        let Some(text) = location.to_str() else {
            return Ok(Location::Folder(location.to_owned()));
        };
        let Some((scheme, _)) = text.split_once("://") else {
            return Ok(Location::Folder(location.to_owned()));
        };
        if POSTGRES_SCHEMES
            .iter()
            .any(|known| scheme.eq_ignore_ascii_case(known))
        {
            Ok(Location::Postgres(text.to_owned()))
        } else {
            Err(StoreError::UnknownScheme {
                scheme: scheme.to_owned(),
                location: redact(text),
            })
        }
    }
}

/// A URL without its password: `postgresql://me:secret@host/db` is named
/// `postgresql://me@host/db`, and a `password=` parameter is dropped.
///
/// # Example
///
/// ```
/// use detente::store::redact;
///
/// assert_eq!(redact("postgresql://me:secret@db:5432/talks"), "postgresql://me@db:5432/talks");
/// assert_eq!(redact("postgres://db/talks?sslmode=require&password=secret"), "postgres://db/talks?sslmode=require");
/// assert_eq!(redact("postgresql://db/talks"), "postgresql://db/talks");
/// ```
pub fn redact(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((rest, query)) => (rest, Some(query)),
        None => (rest, None),
    };
    // The user information ends at the last `@` before the path.
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user_info, host)) => {
            let user = user_info
                .split_once(':')
                .map_or(user_info, |(user, _)| user);
            if user.is_empty() {
                host.to_owned()
            } else {
                format!("{user}@{host}")
            }
        }
        None => authority.to_owned(),
    };
    let mut out = String::new();
    if let Some(scheme) = scheme {
        out.push_str(scheme);
        out.push_str("://");
    }
    out.push_str(&authority);
    out.push_str(path);
    if let Some(query) = query {
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| {
                !pair
                    .split_once('=')
                    .map_or(*pair, |(key, _)| key)
                    .eq_ignore_ascii_case("password")
            })
            .collect();
        if !kept.is_empty() {
            out.push('?');
            out.push_str(&kept.join("&"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_never_survives_redaction() {
        for url in [
            "postgresql://me:secret@host/db",
            "postgresql://me:secret@host:5432/db?sslmode=require",
            "postgres://:secret@host/db",
            "postgresql://me@host/db?password=secret",
            "postgresql://me:p%40ss@host/db?PASSWORD=secret&x=1",
            "postgresql://me:secret@/db?host=/run/postgresql",
        ] {
            let redacted = redact(url);
            assert!(!redacted.contains("secret"), "{url} -> {redacted}");
            assert!(redacted.contains("host") || redacted.contains("/db"));
        }
    }

    #[test]
    fn folders_and_urls_are_told_apart() {
        assert_eq!(
            Location::parse(Path::new("a/b")).unwrap(),
            Location::Folder("a/b".into())
        );
        assert!(matches!(
            Location::parse(Path::new("POSTGRES://h/d")).unwrap(),
            Location::Postgres(_)
        ));
        let err = Location::parse(Path::new("sqlite://x")).unwrap_err();
        assert!(err.to_string().contains("`sqlite://`"), "{err}");
    }
}
