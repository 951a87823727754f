//! Parties (states, by ISO 3166-1 alpha-3 code) and dyads (unordered pairs of parties).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The ISO 3166-1 alpha-3 codes of the officially assigned country codes, sorted.
const ISO_3166_ALPHA3: [&str; 249] = [
    "ABW", "AFG", "AGO", "AIA", "ALA", "ALB", "AND", "ARE", "ARG", "ARM", "ASM", "ATA", "ATF",
    "ATG", "AUS", "AUT", "AZE", "BDI", "BEL", "BEN", "BES", "BFA", "BGD", "BGR", "BHR", "BHS",
    "BIH", "BLM", "BLR", "BLZ", "BMU", "BOL", "BRA", "BRB", "BRN", "BTN", "BVT", "BWA", "CAF",
    "CAN", "CCK", "CHE", "CHL", "CHN", "CIV", "CMR", "COD", "COG", "COK", "COL", "COM", "CPV",
    "CRI", "CUB", "CUW", "CXR", "CYM", "CYP", "CZE", "DEU", "DJI", "DMA", "DNK", "DOM", "DZA",
    "ECU", "EGY", "ERI", "ESH", "ESP", "EST", "ETH", "FIN", "FJI", "FLK", "FRA", "FRO", "FSM",
    "GAB", "GBR", "GEO", "GGY", "GHA", "GIB", "GIN", "GLP", "GMB", "GNB", "GNQ", "GRC", "GRD",
    "GRL", "GTM", "GUF", "GUM", "GUY", "HKG", "HMD", "HND", "HRV", "HTI", "HUN", "IDN", "IMN",
    "IND", "IOT", "IRL", "IRN", "IRQ", "ISL", "ISR", "ITA", "JAM", "JEY", "JOR", "JPN", "KAZ",
    "KEN", "KGZ", "KHM", "KIR", "KNA", "KOR", "KWT", "LAO", "LBN", "LBR", "LBY", "LCA", "LIE",
    "LKA", "LSO", "LTU", "LUX", "LVA", "MAC", "MAF", "MAR", "MCO", "MDA", "MDG", "MDV", "MEX",
    "MHL", "MKD", "MLI", "MLT", "MMR", "MNE", "MNG", "MNP", "MOZ", "MRT", "MSR", "MTQ", "MUS",
    "MWI", "MYS", "MYT", "NAM", "NCL", "NER", "NFK", "NGA", "NIC", "NIU", "NLD", "NOR", "NPL",
    "NRU", "NZL", "OMN", "PAK", "PAN", "PCN", "PER", "PHL", "PLW", "PNG", "POL", "PRI", "PRK",
    "PRT", "PRY", "PSE", "PYF", "QAT", "REU", "ROU", "RUS", "RWA", "SAU", "SDN", "SEN", "SGP",
    "SGS", "SHN", "SJM", "SLB", "SLE", "SLV", "SMR", "SOM", "SPM", "SRB", "SSD", "STP", "SUR",
    "SVK", "SVN", "SWE", "SWZ", "SXM", "SYC", "SYR", "TCA", "TCD", "TGO", "THA", "TJK", "TKL",
    "TKM", "TLS", "TON", "TTO", "TUN", "TUR", "TUV", "TWN", "TZA", "UGA", "UKR", "UMI", "URY",
    "USA", "UZB", "VAT", "VCT", "VEN", "VGB", "VIR", "VNM", "VUT", "WLF", "WSM", "YEM", "ZAF",
    "ZMB", "ZWE",
];

/// A party to a negotiation: a state, named by its ISO 3166-1 alpha-3 code.
///
/// Parsing accepts only an assigned code in upper case.
///
/// # Example
///
/// ```
/// use detente::domain::Party;
///
/// let russia: Party = "RUS".parse()?;
/// assert_eq!(russia.as_str(), "RUS");
/// assert!("rus".parse::<Party>().is_err());
/// assert!("XXX".parse::<Party>().is_err());
/// # Ok::<(), detente::domain::PartyError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Party([u8; 3]);

/// Why a text is not a [`Party`] or a [`Dyad`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PartyError {
    /// Not three upper-case ASCII letters.
    #[error(
        "party `{0}` is not an ISO 3166-1 alpha-3 code: expected three upper-case letters, like `RUS`"
    )]
    Malformed(String),
    /// Three upper-case letters, but not an assigned ISO 3166-1 alpha-3 code.
    #[error("party `{0}` is not an assigned ISO 3166-1 alpha-3 code")]
    Unassigned(String),
    /// A dyad that is not two codes joined by `-`.
    #[error("dyad `{0}` is malformed: expected two party codes joined by `-`, like `RUS-USA`")]
    MalformedDyad(String),
    /// A dyad whose two parties are the same.
    #[error("dyad `{0}` names the same party twice: a dyad is two distinct parties")]
    SameParty(String),
}

impl Party {
    /// The three-letter code.
    ///
    /// ```
    /// # use detente::domain::Party;
    /// assert_eq!("USA".parse::<Party>().unwrap().as_str(), "USA");
    /// ```
    pub fn as_str(&self) -> &str {
        // The bytes are checked ASCII upper-case letters at construction.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl FromStr for Party {
    type Err = PartyError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bytes = text.as_bytes();
        if bytes.len() != 3 || !bytes.iter().all(u8::is_ascii_uppercase) {
            return Err(PartyError::Malformed(crate::domain::limits::excerpt(text)));
        }
        if ISO_3166_ALPHA3.binary_search(&text).is_err() {
            return Err(PartyError::Unassigned(text.to_owned()));
        }
        Ok(Party([bytes[0], bytes[1], bytes[2]]))
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

impl FromStr for Dyad {
    type Err = PartyError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let Some((a, b)) = text.split_once('-') else {
            return Err(PartyError::MalformedDyad(crate::domain::limits::excerpt(
                text,
            )));
        };
        if a.len() != 3 || b.len() != 3 {
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
        let (a, b) = (self.first.0, self.second.0);
        let text = [a[0], a[1], a[2], b'-', b[0], b[1], b[2]];
        // Both parties are ASCII capitals (checked when made).
        match std::str::from_utf8(&text) {
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

    #[test]
    fn iso_table_is_sorted_and_unique() {
        assert!(ISO_3166_ALPHA3.windows(2).all(|w| w[0] < w[1]));
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
        check_party("RU", Err(PartyError::Malformed("RU".into())));
        check_party("RUSS", Err(PartyError::Malformed("RUSS".into())));
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
