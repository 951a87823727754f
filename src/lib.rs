//! `detente`: an event-sourced state engine for bilateral negotiations.
//!
//! It records what happens between two states (talks held, steps agreed, property claims
//! raised, flights proposed, and the rest of those items' lives) as append-only, attributed
//! events, and folds them into projections of the bilateral state, on any date as known on any
//! other date.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod domain;
pub mod engine;
pub mod scenario;
pub mod store;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
