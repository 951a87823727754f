//! Parties (the codes of the registry, `registry.rs`) and dyads (unordered pairs of parties).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use super::registry::PartyKind;
use super::registry::{REGISTRY, SUCCESSIONS, succession_date};

/// A party to a negotiation: a code of the registry (`detente::domain::registry`'s table): a
/// state by its ISO 3166-1 alpha-3 code, a former state by its ISO 3166-3 code, `XKX` for
/// Kosovo, or an international organization by its acronym.
///
/// Parsing accepts only a registered code, in upper case.
///
/// # Example
///
/// ```
/// use detente::domain::Party;
///
/// let russia: Party = "RUS".parse()?;
/// assert_eq!(russia.as_str(), "RUS");
/// assert_eq!("EU".parse::<Party>()?.as_str(), "EU");
/// assert!("rus".parse::<Party>().is_err());
/// assert!("XXX".parse::<Party>().is_err());
/// # Ok::<(), detente::domain::PartyError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Party(u16); // its index in the registry, which is sorted by code

/// Why a text is not a [`Party`] or a [`Dyad`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PartyError {
    /// Not 2 to 8 upper-case ASCII letters.
    #[error(
        "party `{0}` is not a party code: expected 2 to 8 upper-case letters, like `RUS` or `EU`"
    )]
    Malformed(String),
    /// Well formed, but not in the registry of parties.
    #[error(
        "party `{0}` is not in the registry: give a state's ISO 3166-1 alpha-3 code, a former state's ISO 3166-3 code, `XKX` or an organization's acronym (docs/events.md, parties)"
    )]
    Unassigned(String),
    /// A dyad that is not two codes joined by `-`.
    #[error("dyad `{0}` is malformed: expected two party codes joined by `-`, like `RUS-USA`")]
    MalformedDyad(String),
    /// A dyad whose two parties are the same.
    #[error("dyad `{0}` names the same party twice: a dyad is two distinct parties")]
    SameParty(String),
}

impl Party {
    /// The code.
    ///
    /// ```
    /// # use detente::domain::Party;
    /// assert_eq!("USA".parse::<Party>().unwrap().as_str(), "USA");
    /// ```
    pub fn as_str(&self) -> &'static str {
        self.entry().code
    }

    /// What kind of party the code names.
    ///
    /// ```
    /// # use detente::domain::{Party, PartyKind};
    /// assert_eq!("NATO".parse::<Party>().unwrap().kind(), PartyKind::Organization);
    /// ```
    pub fn kind(&self) -> PartyKind {
        self.entry().kind
    }

    /// The party's name where its code alone does not say it (former states, `XKX`,
    /// organizations); `None` for a state of ISO 3166-1, whose name is the standard's.
    ///
    /// ```
    /// # use detente::domain::Party;
    /// assert_eq!("SUN".parse::<Party>().unwrap().name(), Some("USSR"));
    /// assert_eq!("RUS".parse::<Party>().unwrap().name(), None);
    /// ```
    pub fn name(&self) -> Option<&'static str> {
        self.entry().name
    }

    /// The state that continues this one's international personality, and from when, where
    /// the registry names such a succession (`SUN` is continued by `RUS` from 1991-12-26).
    ///
    /// ```
    /// # use detente::domain::Party;
    /// let (successor, from) = "SUN".parse::<Party>().unwrap().successor().unwrap();
    /// assert_eq!(successor.as_str(), "RUS");
    /// assert_eq!(from.to_string(), "1991-12-26");
    /// assert!("RUS".parse::<Party>().unwrap().successor().is_none());
    /// ```
    pub fn successor(&self) -> Option<(Party, chrono::NaiveDate)> {
        let code = self.as_str();
        let (_, successor, on) = SUCCESSIONS.iter().find(|(from, _, _)| *from == code)?;
        Some((successor.parse().ok()?, succession_date(*on)))
    }

    /// The parties this one continues (its predecessors, chained), each with the date from
    /// which it continues it: `RUS` continues `SUN` from 1991-12-26. Empty for most parties.
    ///
    /// ```
    /// # use detente::domain::Party;
    /// let rus: detente::domain::Party = "RUS".parse().unwrap();
    /// let before: Vec<String> = rus.predecessors().iter().map(|(p, on)| format!("{p} {on}")).collect();
    /// assert_eq!(before, ["SUN 1991-12-26"]);
    /// assert!("SUN".parse::<Party>().unwrap().predecessors().is_empty());
    /// ```
    pub fn predecessors(&self) -> Vec<(Party, chrono::NaiveDate)> {
        let mut out: Vec<(Party, chrono::NaiveDate)> = Vec::new();
        let mut frontier = vec![(*self, chrono::NaiveDate::MIN)];
        while let Some((party, since)) = frontier.pop() {
            for (from, to, on) in SUCCESSIONS {
                if to != party.as_str() {
                    continue;
                }
                let Ok(predecessor) = from.parse::<Party>() else {
                    continue;
                };
                // Through a chain, the latest link is when the successor took over.
                let on = succession_date(on).max(since);
                if predecessor != *self && out.iter().all(|(seen, _)| *seen != predecessor) {
                    out.push((predecessor, on));
                    frontier.push((predecessor, on));
                }
            }
        }
        out.sort();
        out
    }

    /// The party that continues this one in `dyad`: itself when it is one of the dyad's
    /// parties, else the first of its successors (chained) that is, else itself. This is how a
    /// record of a dyad that `dyad` continues is read in `dyad`'s timeline.
    ///
    /// ```
    /// # use detente::domain::{Dyad, Party};
    /// let dyad: Dyad = "RUS-USA".parse().unwrap();
    /// let sun: Party = "SUN".parse().unwrap();
    /// assert_eq!(sun.read_in(dyad).as_str(), "RUS");
    /// assert_eq!("TUR".parse::<Party>().unwrap().read_in(dyad).as_str(), "TUR");
    /// ```
    pub fn read_in(&self, dyad: Dyad) -> Party {
        let mut party = *self;
        // Successions are few and acyclic; the bound keeps the walk finite whatever the table.
        for _ in 0..=SUCCESSIONS.len() {
            if dyad.contains(party) {
                return party;
            }
            match party.successor() {
                Some((next, _)) => party = next,
                None => break,
            }
        }
        *self
    }

    /// Every party of the registry, in the order of their codes.
    ///
    /// ```
    /// # use detente::domain::Party;
    /// let codes: Vec<&str> = Party::all().map(|party| party.as_str()).collect();
    /// assert!(codes.contains(&"XKX") && codes.contains(&"EU") && codes.contains(&"SUN"));
    /// assert!(codes.windows(2).all(|pair| pair[0] < pair[1]));
    /// ```
    pub fn all() -> impl Iterator<Item = Party> {
        (0..REGISTRY.len()).map(|index| Party(index as u16))
    }

    fn entry(&self) -> &'static super::registry::Entry {
        // A `Party` is only made from an index of the registry.
        &REGISTRY[usize::from(self.0)]
    }
}

impl FromStr for Party {
    type Err = PartyError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bytes = text.as_bytes();
        if !(2..=8).contains(&bytes.len()) || !bytes.iter().all(u8::is_ascii_uppercase) {
            return Err(PartyError::Malformed(crate::domain::limits::excerpt(text)));
        }
        match REGISTRY.binary_search_by(|entry| entry.code.cmp(text)) {
            Ok(index) => Ok(Party(index as u16)),
            Err(_) => Err(PartyError::Unassigned(text.to_owned())),
        }
    }
}

impl TryFrom<String> for Party {
    type Error = PartyError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<Party> for String {
    fn from(party: Party) -> String {
        party.as_str().to_owned()
    }
}

impl fmt::Display for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Party({})", self.as_str())
    }
}

/// An unordered pair of distinct parties: the stream events belong to.
///
/// Its canonical text is the two codes sorted and joined by `-`; either order parses.
///
/// # Example
///
/// ```
/// use detente::domain::Dyad;
///
/// let dyad: Dyad = "USA-RUS".parse()?;
/// assert_eq!(dyad.to_string(), "RUS-USA");
/// assert_eq!(dyad, "RUS-USA".parse()?);
/// assert!("RUS-RUS".parse::<Dyad>().is_err());
/// # Ok::<(), detente::domain::PartyError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Dyad {
    first: Party,
    second: Party,
}

/// Written as its text form (`RUS-USA`), without allocating a `String` for it.
impl Dyad {
    /// The dyad of two distinct parties, in either order.
    ///
    /// ```
    /// # use detente::domain::{Dyad, Party};
    /// let rus: Party = "RUS".parse().unwrap();
    /// let usa: Party = "USA".parse().unwrap();
    /// assert_eq!(Dyad::new(usa, rus).unwrap().to_string(), "RUS-USA");
    /// assert!(Dyad::new(rus, rus).is_err());
    /// ```
    pub fn new(a: Party, b: Party) -> Result<Self, PartyError> {
        match a.cmp(&b) {
            std::cmp::Ordering::Less => Ok(Dyad {
                first: a,
                second: b,
            }),
            std::cmp::Ordering::Greater => Ok(Dyad {
                first: b,
                second: a,
            }),
            std::cmp::Ordering::Equal => Err(PartyError::SameParty(format!("{a}-{b}"))),
        }
    }

    /// The two parties, in canonical (sorted) order.
    ///
    /// ```
    /// # use detente::domain::Dyad;
    /// let dyad: Dyad = "USA-RUS".parse().unwrap();
    /// let (a, b) = dyad.parties();
    /// assert_eq!((a.as_str(), b.as_str()), ("RUS", "USA"));
    /// ```
    pub fn parties(&self) -> (Party, Party) {
        (self.first, self.second)
    }

    /// Whether `party` is one of the two.
    ///
    /// ```
    /// # use detente::domain::{Dyad, Party};
    /// let dyad: Dyad = "RUS-USA".parse().unwrap();
    /// assert!(dyad.contains("USA".parse().unwrap()));
    /// assert!(!dyad.contains("TUR".parse().unwrap()));
    /// ```
    pub fn contains(&self, party: Party) -> bool {
        self.first == party || self.second == party
    }
}

impl Dyad {
    /// The dyads whose timelines this one continues (`docs/contract.md`, successions), each
    /// with the date from which it continues it: every pair of its parties or their
    /// predecessors but itself. `RUS-USA` continues `SUN-USA` from 1991-12-26; a dyad of two
    /// parties without predecessors continues none.
    ///
    /// ```
    /// # use detente::domain::Dyad;
    /// let dyad: Dyad = "RUS-USA".parse().unwrap();
    /// let continued: Vec<String> = dyad.continues().iter().map(|(d, on)| format!("{d} {on}")).collect();
    /// assert_eq!(continued, ["SUN-USA 1991-12-26"]);
    /// assert!("SUN-USA".parse::<Dyad>().unwrap().continues().is_empty());
    /// assert_eq!("RUS-SRB".parse::<Dyad>().unwrap().continues().len(), 3);
    /// ```
    pub fn continues(&self) -> Vec<(Dyad, chrono::NaiveDate)> {
        let lineage = |party: Party| {
            let mut all = vec![(party, chrono::NaiveDate::MIN)];
            all.extend(party.predecessors());
            all
        };
        let mut out = Vec::new();
        for (a, since_a) in lineage(self.first) {
            for (b, since_b) in lineage(self.second) {
                if let Ok(dyad) = Dyad::new(a, b)
                    && dyad != *self
                {
                    out.push((dyad, since_a.max(since_b)));
                }
            }
        }
        out.sort();
        out.dedup_by_key(|(dyad, _)| *dyad);
        out
    }

    /// The dyads that continue this one: those whose [`Dyad::continues`] names it.
    /// `SUN-USA` is continued by `RUS-USA`.
    ///
    /// ```
    /// # use detente::domain::Dyad;
    /// let dyad: Dyad = "SUN-USA".parse().unwrap();
    /// let by: Vec<String> = dyad.continued_by().iter().map(ToString::to_string).collect();
    /// assert_eq!(by, ["RUS-USA"]);
    /// assert!("RUS-USA".parse::<Dyad>().unwrap().continued_by().is_empty());
    /// ```
    pub fn continued_by(&self) -> Vec<Dyad> {
        let heirs = |party: Party| {
            let mut all = vec![party];
            let mut next = party;
            for _ in 0..SUCCESSIONS.len() {
                match next.successor() {
                    Some((successor, _)) if !all.contains(&successor) => {
                        all.push(successor);
                        next = successor;
                    }
                    _ => break,
                }
            }
            all
        };
        let mut out = Vec::new();
        for a in heirs(self.first) {
            for b in heirs(self.second) {
                if let Ok(dyad) = Dyad::new(a, b)
                    && dyad != *self
                    && dyad.continues().iter().any(|(d, _)| d == self)
                {
                    out.push(dyad);
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

impl FromStr for Dyad {
    type Err = PartyError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let Some((a, b)) = text.split_once('-') else {
            return Err(PartyError::MalformedDyad(crate::domain::limits::excerpt(
                text,
            )));
        };
        if a.is_empty() || b.is_empty() || b.contains('-') {
            return Err(PartyError::MalformedDyad(crate::domain::limits::excerpt(
                text,
            )));
        }
        let (a, b): (Party, Party) = (a.parse()?, b.parse()?);
        if a == b {
            return Err(PartyError::SameParty(text.to_owned()));
        }
        Dyad::new(a, b)
    }
}

impl TryFrom<String> for Dyad {
    type Error = PartyError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<Dyad> for String {
    fn from(dyad: Dyad) -> String {
        dyad.to_string()
    }
}

impl fmt::Display for Dyad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.first, self.second)
    }
}

impl fmt::Debug for Dyad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dyad({self})")
    }
}

/// Serde for parties and dyads as their text, read from a borrowed `&str` where the format
/// allows it: a record's parties are read in every replay, and going through a `String`
/// allocated for each of them.
struct FromText<T>(std::marker::PhantomData<T>);

impl<T> serde::de::Visitor<'_> for FromText<T>
where
    T: FromStr<Err = PartyError>,
{
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<T, E> {
        text.parse().map_err(E::custom)
    }
}

impl Serialize for Party {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Party {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(FromText(std::marker::PhantomData))
    }
}

impl Serialize for Dyad {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (first, second) = (self.first.as_str(), self.second.as_str());
        // At most 8 + 1 + 8 bytes: written on the stack, not in a `String`.
        let mut text = [0u8; 17];
        let length = first.len() + 1 + second.len();
        text[..first.len()].copy_from_slice(first.as_bytes());
        text[first.len()] = b'-';
        text[first.len() + 1..length].copy_from_slice(second.as_bytes());
        match std::str::from_utf8(&text[..length]) {
            Ok(text) => serializer.serialize_str(text),
            Err(_) => serializer.collect_str(self),
        }
    }
}

impl<'de> Deserialize<'de> for Dyad {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(FromText(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parties_and_dyads_travel_as_their_text() {
        let dyad: Dyad = serde_json::from_str(r#""USA-RUS""#).unwrap();
        assert_eq!(serde_json::to_string(&dyad).unwrap(), r#""RUS-USA""#);
        let party: Party = serde_json::from_value(serde_json::json!("RUS")).unwrap();
        assert_eq!(
            serde_json::to_value(party).unwrap(),
            serde_json::json!("RUS")
        );
        let map: std::collections::BTreeMap<Party, u8> =
            serde_json::from_str(r#"{"USA":1,"RUS":2}"#).unwrap();
        assert_eq!(serde_json::to_string(&map).unwrap(), r#"{"RUS":2,"USA":1}"#);
        let err = serde_json::from_str::<Party>("5").unwrap_err().to_string();
        assert!(err.contains("expected a string"), "{err}");
        let err = serde_json::from_str::<Dyad>(r#""RUS-XXX""#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("XXX"), "{err}");
    }

    #[track_caller]
    fn check_party(text: &str, expected: Result<&str, PartyError>) {
        assert_eq!(
            text.parse::<Party>().map(|p| p.to_string()),
            expected.map(str::to_owned)
        );
    }

    #[test]
    fn parties() {
        check_party("RUS", Ok("RUS"));
        check_party("TUR", Ok("TUR"));
        check_party("rus", Err(PartyError::Malformed("rus".into())));
        check_party("XKX", Ok("XKX"));
        check_party("SUN", Ok("SUN"));
        check_party("EU", Ok("EU"));
        check_party("MERCOSUR", Ok("MERCOSUR"));
        check_party("ANDEAN", Ok("ANDEAN"));
        check_party("R", Err(PartyError::Malformed("R".into())));
        check_party("MERCOSURX", Err(PartyError::Malformed("MERCOSURX".into())));
        check_party("Eu", Err(PartyError::Malformed("Eu".into())));
        check_party("RU", Err(PartyError::Unassigned("RU".into())));
        check_party("RUSS", Err(PartyError::Unassigned("RUSS".into())));
        check_party("", Err(PartyError::Malformed("".into())));
        check_party("XXX", Err(PartyError::Unassigned("XXX".into())));
        check_party("Ä", Err(PartyError::Malformed("Ä".into())));
    }

    #[track_caller]
    fn check_dyad(text: &str, expected: Result<&str, PartyError>) {
        assert_eq!(
            text.parse::<Dyad>().map(|d| d.to_string()),
            expected.map(str::to_owned)
        );
    }

    #[test]
    fn dyads() {
        check_dyad("RUS-USA", Ok("RUS-USA"));
        check_dyad("USA-RUS", Ok("RUS-USA"));
        check_dyad("GBR-EU", Ok("EU-GBR"));
        check_dyad("XKX-SRB", Ok("SRB-XKX"));
        check_dyad("SUN-USA", Ok("SUN-USA"));
        check_dyad("NATO-RUS", Ok("NATO-RUS"));
        check_dyad("RUS", Err(PartyError::MalformedDyad("RUS".into())));
        check_dyad("RUS-", Err(PartyError::MalformedDyad("RUS-".into())));
        check_dyad(
            "RUS-USA-TUR",
            Err(PartyError::MalformedDyad("RUS-USA-TUR".into())),
        );
        check_dyad("RUS-RUS", Err(PartyError::SameParty("RUS-RUS".into())));
        check_dyad("rus-usa", Err(PartyError::Malformed("rus".into())));
        check_dyad("RUS_USA", Err(PartyError::MalformedDyad("RUS_USA".into())));
    }

    #[test]
    fn serde_uses_the_canonical_text() {
        let dyad: Dyad = serde_json::from_str("\"USA-RUS\"").unwrap();
        assert_eq!(serde_json::to_string(&dyad).unwrap(), "\"RUS-USA\"");
        let err = serde_json::from_str::<Dyad>("\"USA-USA\"").unwrap_err();
        assert!(err.to_string().contains("USA-USA"), "{err}");
    }
}
