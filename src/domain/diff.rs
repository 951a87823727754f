//! What changed between two states of a dyad.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{
    BilateralState, ItemId, ItemKind, LifeCycle, NextRound, Party, Round, SharedMap, word,
};

/// An agenda item that appeared between two states, with its stage or status at the end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemAdded {
    /// Step, claim, proposal, irritant or round.
    pub kind: ItemKind,
    /// Its id.
    pub id: ItemId,
    /// Its stage or status in the later state, as its wire word (`agreed`, `open`…).
    pub status: String,
    /// When it was raised or agreed.
    pub on: NaiveDate,
}

/// An agenda item whose stage or status changed between two states.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemChanged {
    /// Step, claim, proposal, irritant or round.
    pub kind: ItemKind,
    /// Its id.
    pub id: ItemId,
    /// The stage or status before.
    pub from: String,
    /// The stage or status after.
    pub to: String,
    /// When it last changed.
    pub on: NaiveDate,
}

/// A change of one party's line in the reciprocity ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerChange {
    /// The acting party.
    pub party: Party,
    /// Diplomats it expelled in between.
    pub diplomats_expelled: u64,
    /// Facilities it closed in between.
    pub missions_closed: Vec<String>,
    /// Prisoners it released in between.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub prisoners_released: u64,
    /// Facilities it reopened in between.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missions_reopened: Vec<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// An agreement's status for one party that changed (ratified by one side, then the other).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartyStatusChanged {
    /// The agreement.
    pub id: ItemId,
    /// The party.
    pub party: Party,
    /// Its status for that party before, if it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Its status for that party after.
    pub to: String,
    /// When it took it.
    pub on: NaiveDate,
}

/// What changed in a dyad's state between two dates: the answer of `detente diff`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateDiff {
    /// Items present after and not before.
    pub items_added: Vec<ItemAdded>,
    /// Items present in both whose stage or status differs.
    pub items_changed: Vec<ItemChanged>,
    /// Items present before and not after (possible after a retraction).
    pub items_removed: Vec<ItemAdded>,
    /// Agreements whose status for one party changed (an `AgreementProgressed` with `by`),
    /// by agreement and party.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub party_statuses: Vec<PartyStatusChanged>,
    /// Rounds of talks held in between.
    pub rounds_added: Vec<Round>,
    /// Ledger lines that grew.
    pub ledger: Vec<LedgerChange>,
    /// The next round after, where it differs from before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_round: Option<NextRound>,
}

impl StateDiff {
    /// Whether nothing changed.
    ///
    /// ```
    /// # use detente::domain::{BilateralState, StateDiff};
    /// let state = BilateralState::default();
    /// assert!(StateDiff::between(&state, &state).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.items_added.is_empty()
            && self.items_changed.is_empty()
            && self.items_removed.is_empty()
            && self.party_statuses.is_empty()
            && self.rounds_added.is_empty()
            && self.ledger.is_empty()
            && self.next_round.is_none()
    }

    /// The changes from `before` to `after`.
    ///
    /// ```
    /// use detente::domain::{state_at, Query, StateDiff};
    /// use detente::scenario;
    ///
    /// let records: Vec<_> = scenario::istanbul_2025()
    ///     .into_iter()
    ///     .enumerate()
    ///     .map(|(i, e)| e.into_recorded(i as u64 + 1, i as u64 + 1, "2025-03-01".parse().unwrap(), Default::default()))
    ///     .collect();
    /// let before = state_at(&records, &Query { as_of: Some("2025-02-26".parse().unwrap()), ..Query::default() });
    /// let after = state_at(&records, &Query::default());
    /// let diff = StateDiff::between(&before, &after);
    /// assert_eq!(diff.rounds_added.len(), 1);
    /// assert!(!diff.items_added.is_empty());
    /// ```
    pub fn between(before: &BilateralState, after: &BilateralState) -> StateDiff {
        let mut diff = StateDiff::default();
        let mut items =
            |kind: ItemKind,
             before: Vec<(&ItemId, String, NaiveDate)>,
             after: Vec<(&ItemId, String, NaiveDate, NaiveDate)>| {
                let before_map: std::collections::BTreeMap<_, _> = before
                    .iter()
                    .map(|(id, status, on)| (*id, (status.clone(), *on)))
                    .collect();
                for (id, status, raised_on, changed_on) in &after {
                    match before_map.get(id) {
                        None => diff.items_added.push(ItemAdded {
                            kind,
                            id: (*id).clone(),
                            status: status.clone(),
                            on: *raised_on,
                        }),
                        Some((old, _)) if old != status => diff.items_changed.push(ItemChanged {
                            kind,
                            id: (*id).clone(),
                            from: old.clone(),
                            to: status.clone(),
                            on: *changed_on,
                        }),
                        Some(_) => {}
                    }
                }
                for (id, status, on) in before {
                    if !after.iter().any(|(other, ..)| *other == id) {
                        diff.items_removed.push(ItemAdded {
                            kind,
                            id: id.clone(),
                            status,
                            on,
                        });
                    }
                }
            };
        fn listed<I: LifeCycle>(
            map: &SharedMap<ItemId, I>,
        ) -> Vec<(&ItemId, String, NaiveDate, NaiveDate)> {
            map.iter()
                .map(|(id, item)| (id, word(&item.status()), item.first_on(), item.changed_on()))
                .collect()
        }
        fn before_of(
            listed: Vec<(&ItemId, String, NaiveDate, NaiveDate)>,
        ) -> Vec<(&ItemId, String, NaiveDate)> {
            listed
                .into_iter()
                .map(|(id, status, on, _)| (id, status, on))
                .collect()
        }
        items(
            ItemKind::Step,
            before_of(listed(&before.steps)),
            listed(&after.steps),
        );
        items(
            ItemKind::Claim,
            before_of(listed(&before.claims)),
            listed(&after.claims),
        );
        items(
            ItemKind::Proposal,
            before_of(listed(&before.proposals)),
            listed(&after.proposals),
        );
        items(
            ItemKind::Irritant,
            before_of(listed(&before.irritants)),
            listed(&after.irritants),
        );
        items(
            ItemKind::Round,
            before_of(listed(&before.scheduled_rounds)),
            listed(&after.scheduled_rounds),
        );
        items(
            ItemKind::Agreement,
            before_of(listed(&before.agreements)),
            listed(&after.agreements),
        );
        items(
            ItemKind::Measure,
            before_of(listed(&before.measures)),
            listed(&after.measures),
        );
        for (id, agreement) in after.agreements.iter() {
            for party in agreement.by_party.keys() {
                let Some((to, on)) = agreement.status_for(*party) else {
                    continue;
                };
                let from = before
                    .agreements
                    .get(id.as_str())
                    .and_then(|earlier| earlier.status_for(*party));
                if from.map(|(status, _)| status) != Some(to) {
                    diff.party_statuses.push(PartyStatusChanged {
                        id: id.clone(),
                        party: *party,
                        from: from.map(|(status, _)| word(&status)),
                        to: word(&to),
                        on,
                    });
                }
            }
        }
        diff.rounds_added = after
            .rounds
            .iter()
            .filter(|r| !before.rounds.contains(r))
            .cloned()
            .collect();
        let parties: std::collections::BTreeSet<Party> = after
            .reciprocity
            .diplomats_expelled
            .keys()
            .chain(after.reciprocity.missions_closed.keys())
            .chain(after.reciprocity.prisoners_released.keys())
            .chain(after.reciprocity.missions_reopened.keys())
            .copied()
            .collect();
        for party in parties {
            let count = |state: &BilateralState| {
                state
                    .reciprocity
                    .diplomats_expelled
                    .get(&party)
                    .copied()
                    .unwrap_or(0)
            };
            let closed = |state: &BilateralState| {
                state
                    .reciprocity
                    .missions_closed
                    .get(&party)
                    .cloned()
                    .unwrap_or_default()
            };
            let reopened = |state: &BilateralState| {
                state
                    .reciprocity
                    .missions_reopened
                    .get(&party)
                    .cloned()
                    .unwrap_or_default()
            };
            let (old_closed, new_closed) = (closed(before), closed(after));
            let (old_reopened, new_reopened) = (reopened(before), reopened(after));
            // A closing is the same closing once reopened: compared by facility and date.
            let closing = |m: &super::ClosedMission| (m.facility.clone(), m.closed_on);
            let change = LedgerChange {
                party,
                diplomats_expelled: count(after).saturating_sub(count(before)),
                missions_closed: new_closed
                    .iter()
                    .filter(|m| !old_closed.iter().any(|old| closing(old) == closing(m)))
                    .map(|m| m.facility.clone())
                    .collect(),
                prisoners_released: after
                    .reciprocity
                    .prisoners_released_by(party)
                    .saturating_sub(before.reciprocity.prisoners_released_by(party)),
                missions_reopened: new_reopened
                    .iter()
                    .filter(|m| !old_reopened.contains(m))
                    .map(|m| m.facility.clone())
                    .collect(),
            };
            if change.diplomats_expelled > 0
                || !change.missions_closed.is_empty()
                || change.prisoners_released > 0
                || !change.missions_reopened.is_empty()
            {
                diff.ledger.push(change);
            }
        }
        if before.next_round != after.next_round {
            diff.next_round = after.next_round.clone();
        }
        diff
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{NewEvent, Query, state_at};
    use crate::scenario::recorded;

    #[test]
    fn a_mission_reopened_is_a_reopening_and_not_a_new_closing() {
        let lines = [
            r#"{"dyad":"RUS-USA","occurred_on":"2017-08-31","event":{"type":"MissionClosed","closed_by":"USA","facility":"consulate"}}"#,
            r#"{"dyad":"RUS-USA","occurred_on":"2025-06-01","event":{"type":"MissionReopened","reopened_by":"USA","facility":"consulate"}}"#,
            r#"{"dyad":"RUS-USA","occurred_on":"2025-06-02","event":{"type":"PrisonersReleased","released_by":"RUS","count":2}}"#,
        ];
        let events = recorded(
            lines
                .iter()
                .map(|line| serde_json::from_str::<NewEvent>(line).unwrap()),
        );
        let on = |date: &str| {
            state_at(
                &events,
                &Query {
                    as_of: Some(date.parse().unwrap()),
                    ..Query::default()
                },
            )
        };
        let diff = StateDiff::between(&on("2020-01-01"), &on("2025-12-31"));
        let usa = diff
            .ledger
            .iter()
            .find(|c| c.party.as_str() == "USA")
            .unwrap();
        assert_eq!(usa.missions_closed, Vec::<String>::new());
        assert_eq!(usa.missions_reopened, ["consulate"]);
        let rus = diff
            .ledger
            .iter()
            .find(|c| c.party.as_str() == "RUS")
            .unwrap();
        assert_eq!(rus.prisoners_released, 2);
    }
}
