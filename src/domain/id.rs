//! Identifiers: event ids, item ids and category names.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The longest id, in bytes (all id characters are ASCII).
pub const MAX_ID_LEN: usize = 128;

/// Why a text is not an [`EventId`], an [`ItemId`] or a [`Category`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// Empty.
    #[error("{kind} is empty: it needs 1 to 128 characters of `A-Z a-z 0-9 . _ : -`")]
    Empty {
        /// What kind of id it was meant to be.
        kind: &'static str,
    },
    /// Longer than [`MAX_ID_LEN`].
    #[error("{kind} `{text}…` is {len} characters long: at most 128 are allowed")]
    TooLong {
        /// What kind of id it was meant to be.
        kind: &'static str,
        /// The first 32 characters.
        text: String,
        /// Its length in characters.
        len: usize,
    },
    /// A character outside the allowed set.
    #[error("{kind} `{text}` has the character {bad:?}: only `{allowed}` are allowed")]
    BadCharacter {
        /// What kind of id it was meant to be.
        kind: &'static str,
        /// The whole text.
        text: String,
        /// The first bad character.
        bad: char,
        /// The allowed characters.
        allowed: &'static str,
    },
}

fn validate(
    kind: &'static str,
    text: &str,
    allowed: &'static str,
    is_allowed: impl Fn(char) -> bool,
) -> Result<(), IdError> {
    if text.is_empty() {
        return Err(IdError::Empty { kind });
    }
    let len = text.chars().count();
    if len > MAX_ID_LEN {
        return Err(IdError::TooLong {
            kind,
            text: text.chars().take(32).collect(),
            len,
        });
    }
    if let Some(bad) = text.chars().find(|&c| !is_allowed(c)) {
        return Err(IdError::BadCharacter {
            kind,
            text: text.to_owned(),
            bad,
            allowed,
        });
    }
    Ok(())
}

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-')
}

macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $allowed:literal, $is_allowed:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
        #[serde(try_from = "String")]
        pub struct $name(String);

        /// Written as its text, without the copy that `#[serde(into = "String")]` would make.
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl $name {
            /// The id as text.
            ///
            /// # Example
            ///
            /// ```
            #[doc = concat!("let id: detente::domain::", stringify!($name), " = \"visas\".parse().unwrap();")]
            /// assert_eq!(id.as_str(), "visas");
            /// ```
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(text: &str) -> Result<Self, IdError> {
                validate($kind, text, $allowed, $is_allowed)?;
                Ok($name(text.to_owned()))
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(text: String) -> Result<Self, IdError> {
                validate($kind, &text, $allowed, $is_allowed)?;
                Ok($name(text))
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

text_id!(
    /// The id of an event: 1 to 128 characters of `A-Z a-z 0-9 . _ : -`.
    ///
    /// It is the idempotency key of a recorded event. When an input omits it, one is derived
    /// from the content with [`NewEvent::derived_id`](crate::domain::NewEvent::derived_id).
    ///
    /// # Example
    ///
    /// ```
    /// use detente::domain::EventId;
    ///
    /// let id: EventId = "istanbul-1-talks".parse()?;
    /// assert_eq!(id.as_str(), "istanbul-1-talks");
    /// assert!("has space".parse::<EventId>().is_err());
    /// # Ok::<(), detente::domain::IdError>(())
    /// ```
    EventId,
    "event id",
    "A-Z a-z 0-9 . _ : -",
    is_id_char
);

text_id!(
    /// The id of an agenda item (a step, claim, proposal, irritant or round): the same
    /// characters as an [`EventId`].
    ///
    /// # Example
    ///
    /// ```
    /// use detente::domain::ItemId;
    ///
    /// let id: ItemId = "mission-financing".parse()?;
    /// assert_eq!(id.to_string(), "mission-financing");
    /// assert!("".parse::<ItemId>().is_err());
    /// # Ok::<(), detente::domain::IdError>(())
    /// ```
    ItemId,
    "item id",
    "A-Z a-z 0-9 . _ : -",
    is_id_char
);

text_id!(
    /// A category of an item: free `snake_case` text (`a-z`, `0-9`, `_`), such as
    /// `mission_financing`, `diplomat_conditions`, `staffing`, `visas`, `property`, `flights`
    /// or `consultations`.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::domain::Category;
    ///
    /// let category: Category = "mission_financing".parse()?;
    /// assert_eq!(category.as_str(), "mission_financing");
    /// assert!("Mission Financing".parse::<Category>().is_err());
    /// # Ok::<(), detente::domain::IdError>(())
    /// ```
    Category,
    "category",
    "a-z 0-9 _",
    |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'
);

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_event_id(text: &str, ok: bool) {
        assert_eq!(text.parse::<EventId>().is_ok(), ok, "{text:?}");
    }

    #[test]
    fn event_ids() {
        check_event_id("a", true);
        check_event_id("A.b_c:d-9", true);
        check_event_id(&"x".repeat(128), true);
        check_event_id(&"x".repeat(129), false);
        check_event_id("", false);
        check_event_id("a b", false);
        check_event_id("a/b", false);
        check_event_id("é", false);
    }

    #[test]
    fn errors_name_the_text() {
        let err = "bad id!".parse::<EventId>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "event id `bad id!` has the character ' ': only `A-Z a-z 0-9 . _ : -` are allowed"
        );
        let err = "Bad".parse::<Category>().unwrap_err();
        assert!(err.to_string().starts_with("category `Bad`"), "{err}");
    }
}
