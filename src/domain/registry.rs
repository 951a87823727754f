//! The registry of parties: every code that names a side of a negotiation, in one table.
//!
//! A party is one of:
//!
//! - a state, by its ISO 3166-1 alpha-3 code as officially assigned (`RUS`, `USA`, `TUR`);
//! - a former state, by the alpha-3 code that ISO 3166-3 lists for it (`SUN`, `YUG`, `CSK`,
//!   `DDR`, `SCG`), so that historical talks can be recorded;
//! - Kosovo, by `XKX`, the user-assigned code the European Union and the IMF use;
//! - an international organization that negotiates as one side, by its common acronym (`EU`,
//!   `NATO`, `UN`, `AU`, `ASEAN`, `OSCE`, `IAEA`, …). An acronym that is also a state's code
//!   takes a documented variant: the Andean Community, `CAN`, is `ANDEAN`, since `CAN` is
//!   Canada.
//!
//! A code is 2 to 8 upper-case ASCII letters, and no code names two parties. The JSON Schema
//! of the wire format lists the same codes (a test holds them equal), and `docs/events.md`
//! lists the non-state entries.
//!
//! The registry also names the successions in which one state continues another's
//! international personality, the widely accepted ones only: the Russian Federation continues
//! the Soviet Union from 1991-12-26, and Serbia continues Serbia and Montenegro from
//! 2006-06-05.

use chrono::NaiveDate;

/// What kind of party a registered code names.
///
/// ```
/// use detente::domain::{Party, PartyKind};
/// assert_eq!("RUS".parse::<Party>()?.kind(), PartyKind::State);
/// assert_eq!("SUN".parse::<Party>()?.kind(), PartyKind::FormerState);
/// assert_eq!("XKX".parse::<Party>()?.kind(), PartyKind::UserAssigned);
/// assert_eq!("EU".parse::<Party>()?.kind(), PartyKind::Organization);
/// # Ok::<(), detente::domain::PartyError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PartyKind {
    /// A state, by its assigned ISO 3166-1 alpha-3 code.
    State,
    /// A former state or territory, by the alpha-3 code ISO 3166-3 lists for it.
    FormerState,
    /// A code outside ISO 3166 that the registry assigns by common usage: `XKX` (Kosovo).
    UserAssigned,
    /// An international organization that negotiates as one side, by its acronym.
    Organization,
}

/// One entry of the registry: a code, what it names, and a name where the code alone does
/// not say it (none for ISO 3166-1 states, whose names are the standard's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) code: &'static str,
    pub(crate) kind: PartyKind,
    pub(crate) name: Option<&'static str>,
}

const fn entry(code: &'static str, kind: PartyKind, name: Option<&'static str>) -> Entry {
    Entry { code, kind, name }
}

/// The registry, sorted by code (a party is its index here).
pub(crate) static REGISTRY: [Entry; 304] = [
    entry("ABW", PartyKind::State, None),
    entry("AFG", PartyKind::State, None),
    entry(
        "AFI",
        PartyKind::FormerState,
        Some("French Afars and Issas"),
    ),
    entry("AGO", PartyKind::State, None),
    entry("AIA", PartyKind::State, None),
    entry("ALA", PartyKind::State, None),
    entry("ALB", PartyKind::State, None),
    entry("AND", PartyKind::State, None),
    entry(
        "ANDEAN",
        PartyKind::Organization,
        Some("Andean Community (its acronym CAN is Canada's code)"),
    ),
    entry("ANT", PartyKind::FormerState, Some("Netherlands Antilles")),
    entry("ARE", PartyKind::State, None),
    entry("ARG", PartyKind::State, None),
    entry("ARM", PartyKind::State, None),
    entry(
        "ASEAN",
        PartyKind::Organization,
        Some("Association of Southeast Asian Nations"),
    ),
    entry("ASM", PartyKind::State, None),
    entry("ATA", PartyKind::State, None),
    entry(
        "ATB",
        PartyKind::FormerState,
        Some("British Antarctic Territory"),
    ),
    entry("ATF", PartyKind::State, None),
    entry("ATG", PartyKind::State, None),
    entry("ATN", PartyKind::FormerState, Some("Dronning Maud Land")),
    entry("AU", PartyKind::Organization, Some("African Union")),
    entry("AUS", PartyKind::State, None),
    entry("AUT", PartyKind::State, None),
    entry("AZE", PartyKind::State, None),
    entry("BDI", PartyKind::State, None),
    entry("BEL", PartyKind::State, None),
    entry("BEN", PartyKind::State, None),
    entry("BES", PartyKind::State, None),
    entry("BFA", PartyKind::State, None),
    entry("BGD", PartyKind::State, None),
    entry("BGR", PartyKind::State, None),
    entry("BHR", PartyKind::State, None),
    entry("BHS", PartyKind::State, None),
    entry("BIH", PartyKind::State, None),
    entry("BLM", PartyKind::State, None),
    entry("BLR", PartyKind::State, None),
    entry("BLZ", PartyKind::State, None),
    entry("BMU", PartyKind::State, None),
    entry("BOL", PartyKind::State, None),
    entry("BRA", PartyKind::State, None),
    entry("BRB", PartyKind::State, None),
    entry("BRN", PartyKind::State, None),
    entry("BTN", PartyKind::State, None),
    entry("BUR", PartyKind::FormerState, Some("Burma")),
    entry("BVT", PartyKind::State, None),
    entry("BWA", PartyKind::State, None),
    entry("BYS", PartyKind::FormerState, Some("Byelorussian SSR")),
    entry("CAF", PartyKind::State, None),
    entry("CAN", PartyKind::State, None),
    entry(
        "CARICOM",
        PartyKind::Organization,
        Some("Caribbean Community"),
    ),
    entry("CCK", PartyKind::State, None),
    entry("CHE", PartyKind::State, None),
    entry("CHL", PartyKind::State, None),
    entry("CHN", PartyKind::State, None),
    entry(
        "CIS",
        PartyKind::Organization,
        Some("Commonwealth of Independent States"),
    ),
    entry("CIV", PartyKind::State, None),
    entry("CMR", PartyKind::State, None),
    entry("COD", PartyKind::State, None),
    entry("COG", PartyKind::State, None),
    entry("COK", PartyKind::State, None),
    entry("COL", PartyKind::State, None),
    entry("COM", PartyKind::State, None),
    entry("CPV", PartyKind::State, None),
    entry("CRI", PartyKind::State, None),
    entry("CSK", PartyKind::FormerState, Some("Czechoslovakia")),
    entry(
        "CSTO",
        PartyKind::Organization,
        Some("Collective Security Treaty Organization"),
    ),
    entry(
        "CTE",
        PartyKind::FormerState,
        Some("Canton and Enderbury Islands"),
    ),
    entry("CUB", PartyKind::State, None),
    entry("CUW", PartyKind::State, None),
    entry("CXR", PartyKind::State, None),
    entry("CYM", PartyKind::State, None),
    entry("CYP", PartyKind::State, None),
    entry("CZE", PartyKind::State, None),
    entry(
        "DDR",
        PartyKind::FormerState,
        Some("German Democratic Republic"),
    ),
    entry("DEU", PartyKind::State, None),
    entry("DHY", PartyKind::FormerState, Some("Dahomey")),
    entry("DJI", PartyKind::State, None),
    entry("DMA", PartyKind::State, None),
    entry("DNK", PartyKind::State, None),
    entry("DOM", PartyKind::State, None),
    entry("DZA", PartyKind::State, None),
    entry(
        "EAC",
        PartyKind::Organization,
        Some("East African Community"),
    ),
    entry(
        "EAEU",
        PartyKind::Organization,
        Some("Eurasian Economic Union"),
    ),
    entry(
        "ECOWAS",
        PartyKind::Organization,
        Some("Economic Community of West African States"),
    ),
    entry("ECU", PartyKind::State, None),
    entry("EGY", PartyKind::State, None),
    entry("ERI", PartyKind::State, None),
    entry("ESH", PartyKind::State, None),
    entry("ESP", PartyKind::State, None),
    entry("EST", PartyKind::State, None),
    entry("ETH", PartyKind::State, None),
    entry("EU", PartyKind::Organization, Some("European Union")),
    entry("FIN", PartyKind::State, None),
    entry("FJI", PartyKind::State, None),
    entry("FLK", PartyKind::State, None),
    entry("FRA", PartyKind::State, None),
    entry("FRO", PartyKind::State, None),
    entry("FSM", PartyKind::State, None),
    entry("FXX", PartyKind::FormerState, Some("France, Metropolitan")),
    entry("GAB", PartyKind::State, None),
    entry("GBR", PartyKind::State, None),
    entry(
        "GCC",
        PartyKind::Organization,
        Some("Gulf Cooperation Council"),
    ),
    entry(
        "GEL",
        PartyKind::FormerState,
        Some("Gilbert and Ellice Islands"),
    ),
    entry("GEO", PartyKind::State, None),
    entry("GGY", PartyKind::State, None),
    entry("GHA", PartyKind::State, None),
    entry("GIB", PartyKind::State, None),
    entry("GIN", PartyKind::State, None),
    entry("GLP", PartyKind::State, None),
    entry("GMB", PartyKind::State, None),
    entry("GNB", PartyKind::State, None),
    entry("GNQ", PartyKind::State, None),
    entry("GRC", PartyKind::State, None),
    entry("GRD", PartyKind::State, None),
    entry("GRL", PartyKind::State, None),
    entry("GTM", PartyKind::State, None),
    entry("GUF", PartyKind::State, None),
    entry("GUM", PartyKind::State, None),
    entry("GUY", PartyKind::State, None),
    entry("HKG", PartyKind::State, None),
    entry("HMD", PartyKind::State, None),
    entry("HND", PartyKind::State, None),
    entry("HRV", PartyKind::State, None),
    entry("HTI", PartyKind::State, None),
    entry("HUN", PartyKind::State, None),
    entry("HVO", PartyKind::FormerState, Some("Upper Volta")),
    entry(
        "IAEA",
        PartyKind::Organization,
        Some("International Atomic Energy Agency"),
    ),
    entry("IDN", PartyKind::State, None),
    entry(
        "IGAD",
        PartyKind::Organization,
        Some("Intergovernmental Authority on Development"),
    ),
    entry("IMN", PartyKind::State, None),
    entry("IND", PartyKind::State, None),
    entry("IOT", PartyKind::State, None),
    entry("IRL", PartyKind::State, None),
    entry("IRN", PartyKind::State, None),
    entry("IRQ", PartyKind::State, None),
    entry("ISL", PartyKind::State, None),
    entry("ISR", PartyKind::State, None),
    entry("ITA", PartyKind::State, None),
    entry("JAM", PartyKind::State, None),
    entry("JEY", PartyKind::State, None),
    entry("JOR", PartyKind::State, None),
    entry("JPN", PartyKind::State, None),
    entry("JTN", PartyKind::FormerState, Some("Johnston Island")),
    entry("KAZ", PartyKind::State, None),
    entry("KEN", PartyKind::State, None),
    entry("KGZ", PartyKind::State, None),
    entry("KHM", PartyKind::State, None),
    entry("KIR", PartyKind::State, None),
    entry("KNA", PartyKind::State, None),
    entry("KOR", PartyKind::State, None),
    entry("KWT", PartyKind::State, None),
    entry("LAO", PartyKind::State, None),
    entry(
        "LAS",
        PartyKind::Organization,
        Some("League of Arab States"),
    ),
    entry("LBN", PartyKind::State, None),
    entry("LBR", PartyKind::State, None),
    entry("LBY", PartyKind::State, None),
    entry("LCA", PartyKind::State, None),
    entry("LIE", PartyKind::State, None),
    entry("LKA", PartyKind::State, None),
    entry("LSO", PartyKind::State, None),
    entry("LTU", PartyKind::State, None),
    entry("LUX", PartyKind::State, None),
    entry("LVA", PartyKind::State, None),
    entry("MAC", PartyKind::State, None),
    entry("MAF", PartyKind::State, None),
    entry("MAR", PartyKind::State, None),
    entry("MCO", PartyKind::State, None),
    entry("MDA", PartyKind::State, None),
    entry("MDG", PartyKind::State, None),
    entry("MDV", PartyKind::State, None),
    entry(
        "MERCOSUR",
        PartyKind::Organization,
        Some("Southern Common Market"),
    ),
    entry("MEX", PartyKind::State, None),
    entry("MHL", PartyKind::State, None),
    entry("MID", PartyKind::FormerState, Some("Midway Islands")),
    entry("MKD", PartyKind::State, None),
    entry("MLI", PartyKind::State, None),
    entry("MLT", PartyKind::State, None),
    entry("MMR", PartyKind::State, None),
    entry("MNE", PartyKind::State, None),
    entry("MNG", PartyKind::State, None),
    entry("MNP", PartyKind::State, None),
    entry("MOZ", PartyKind::State, None),
    entry("MRT", PartyKind::State, None),
    entry("MSR", PartyKind::State, None),
    entry("MTQ", PartyKind::State, None),
    entry("MUS", PartyKind::State, None),
    entry("MWI", PartyKind::State, None),
    entry("MYS", PartyKind::State, None),
    entry("MYT", PartyKind::State, None),
    entry("NAM", PartyKind::State, None),
    entry(
        "NATO",
        PartyKind::Organization,
        Some("North Atlantic Treaty Organization"),
    ),
    entry("NCL", PartyKind::State, None),
    entry("NER", PartyKind::State, None),
    entry("NFK", PartyKind::State, None),
    entry("NGA", PartyKind::State, None),
    entry("NHB", PartyKind::FormerState, Some("New Hebrides")),
    entry("NIC", PartyKind::State, None),
    entry("NIU", PartyKind::State, None),
    entry("NLD", PartyKind::State, None),
    entry("NOR", PartyKind::State, None),
    entry("NPL", PartyKind::State, None),
    entry("NRU", PartyKind::State, None),
    entry("NTZ", PartyKind::FormerState, Some("Neutral Zone")),
    entry("NZL", PartyKind::State, None),
    entry(
        "OAS",
        PartyKind::Organization,
        Some("Organization of American States"),
    ),
    entry(
        "OIC",
        PartyKind::Organization,
        Some("Organisation of Islamic Cooperation"),
    ),
    entry("OMN", PartyKind::State, None),
    entry(
        "OPEC",
        PartyKind::Organization,
        Some("Organization of the Petroleum Exporting Countries"),
    ),
    entry(
        "OSCE",
        PartyKind::Organization,
        Some("Organization for Security and Co-operation in Europe"),
    ),
    entry("PAK", PartyKind::State, None),
    entry("PAN", PartyKind::State, None),
    entry(
        "PCI",
        PartyKind::FormerState,
        Some("Pacific Islands (Trust Territory)"),
    ),
    entry("PCN", PartyKind::State, None),
    entry("PCZ", PartyKind::FormerState, Some("Panama Canal Zone")),
    entry("PER", PartyKind::State, None),
    entry("PHL", PartyKind::State, None),
    entry("PLW", PartyKind::State, None),
    entry("PNG", PartyKind::State, None),
    entry("POL", PartyKind::State, None),
    entry("PRI", PartyKind::State, None),
    entry("PRK", PartyKind::State, None),
    entry("PRT", PartyKind::State, None),
    entry("PRY", PartyKind::State, None),
    entry("PSE", PartyKind::State, None),
    entry(
        "PUS",
        PartyKind::FormerState,
        Some("US Miscellaneous Pacific Islands"),
    ),
    entry("PYF", PartyKind::State, None),
    entry("QAT", PartyKind::State, None),
    entry("REU", PartyKind::State, None),
    entry("RHO", PartyKind::FormerState, Some("Southern Rhodesia")),
    entry("ROU", PartyKind::State, None),
    entry("RUS", PartyKind::State, None),
    entry("RWA", PartyKind::State, None),
    entry(
        "SADC",
        PartyKind::Organization,
        Some("Southern African Development Community"),
    ),
    entry("SAU", PartyKind::State, None),
    entry("SCG", PartyKind::FormerState, Some("Serbia and Montenegro")),
    entry(
        "SCO",
        PartyKind::Organization,
        Some("Shanghai Cooperation Organisation"),
    ),
    entry("SDN", PartyKind::State, None),
    entry("SEN", PartyKind::State, None),
    entry("SGP", PartyKind::State, None),
    entry("SGS", PartyKind::State, None),
    entry("SHN", PartyKind::State, None),
    entry("SJM", PartyKind::State, None),
    entry("SKM", PartyKind::FormerState, Some("Sikkim")),
    entry("SLB", PartyKind::State, None),
    entry("SLE", PartyKind::State, None),
    entry("SLV", PartyKind::State, None),
    entry("SMR", PartyKind::State, None),
    entry("SOM", PartyKind::State, None),
    entry("SPM", PartyKind::State, None),
    entry("SRB", PartyKind::State, None),
    entry("SSD", PartyKind::State, None),
    entry("STP", PartyKind::State, None),
    entry("SUN", PartyKind::FormerState, Some("USSR")),
    entry("SUR", PartyKind::State, None),
    entry("SVK", PartyKind::State, None),
    entry("SVN", PartyKind::State, None),
    entry("SWE", PartyKind::State, None),
    entry("SWZ", PartyKind::State, None),
    entry("SXM", PartyKind::State, None),
    entry("SYC", PartyKind::State, None),
    entry("SYR", PartyKind::State, None),
    entry("TCA", PartyKind::State, None),
    entry("TCD", PartyKind::State, None),
    entry("TGO", PartyKind::State, None),
    entry("THA", PartyKind::State, None),
    entry("TJK", PartyKind::State, None),
    entry("TKL", PartyKind::State, None),
    entry("TKM", PartyKind::State, None),
    entry("TLS", PartyKind::State, None),
    entry("TMP", PartyKind::FormerState, Some("East Timor")),
    entry("TON", PartyKind::State, None),
    entry("TTO", PartyKind::State, None),
    entry("TUN", PartyKind::State, None),
    entry("TUR", PartyKind::State, None),
    entry("TUV", PartyKind::State, None),
    entry("TWN", PartyKind::State, None),
    entry("TZA", PartyKind::State, None),
    entry("UGA", PartyKind::State, None),
    entry("UKR", PartyKind::State, None),
    entry("UMI", PartyKind::State, None),
    entry("UN", PartyKind::Organization, Some("United Nations")),
    entry("URY", PartyKind::State, None),
    entry("USA", PartyKind::State, None),
    entry("UZB", PartyKind::State, None),
    entry("VAT", PartyKind::State, None),
    entry("VCT", PartyKind::State, None),
    entry(
        "VDR",
        PartyKind::FormerState,
        Some("Viet-Nam, Democratic Republic of"),
    ),
    entry("VEN", PartyKind::State, None),
    entry("VGB", PartyKind::State, None),
    entry("VIR", PartyKind::State, None),
    entry("VNM", PartyKind::State, None),
    entry("VUT", PartyKind::State, None),
    entry("WAK", PartyKind::FormerState, Some("Wake Island")),
    entry("WLF", PartyKind::State, None),
    entry("WSM", PartyKind::State, None),
    entry(
        "WTO",
        PartyKind::Organization,
        Some("World Trade Organization"),
    ),
    entry("XKX", PartyKind::UserAssigned, Some("Kosovo")),
    entry("YEM", PartyKind::State, None),
    entry("YMD", PartyKind::FormerState, Some("Yemen, Democratic")),
    entry("YUG", PartyKind::FormerState, Some("Yugoslavia")),
    entry("ZAF", PartyKind::State, None),
    entry("ZAR", PartyKind::FormerState, Some("Zaire")),
    entry("ZMB", PartyKind::State, None),
    entry("ZWE", PartyKind::State, None),
];

/// The successions the registry names: `(predecessor, successor, from)`, where the successor
/// continues the predecessor's international personality from that date. A successor may
/// itself have been continued (successions chain).
pub(crate) const SUCCESSIONS: [(&str, &str, (i32, u32, u32)); 2] =
    [("SUN", "RUS", (1991, 12, 26)), ("SCG", "SRB", (2006, 6, 5))];

/// The date of a succession of [`SUCCESSIONS`].
pub(crate) fn succession_date((year, month, day): (i32, u32, u32)) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).unwrap_or(NaiveDate::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_is_sorted_unique_and_well_formed() {
        assert!(REGISTRY.windows(2).all(|pair| pair[0].code < pair[1].code));
        for entry in &REGISTRY {
            let code = entry.code;
            assert!((2..=8).contains(&code.len()), "{code}");
            assert!(code.bytes().all(|byte| byte.is_ascii_uppercase()), "{code}");
            assert_eq!(
                entry.kind == PartyKind::State,
                entry.name.is_none(),
                "{code}"
            );
        }
        let states = REGISTRY
            .iter()
            .filter(|e| e.kind == PartyKind::State)
            .count();
        assert_eq!(
            states, 249,
            "the officially assigned ISO 3166-1 alpha-3 codes"
        );
    }

    #[test]
    fn every_succession_names_registered_parties_and_a_real_date() {
        for (predecessor, successor, on) in SUCCESSIONS {
            let find = |code: &str| REGISTRY.iter().find(|e| e.code == code).map(|e| e.kind);
            assert_eq!(
                find(predecessor),
                Some(PartyKind::FormerState),
                "{predecessor}"
            );
            assert_eq!(find(successor), Some(PartyKind::State), "{successor}");
            assert_ne!(succession_date(on), NaiveDate::MIN);
        }
    }
}
