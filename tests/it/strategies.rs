//! The generators of the project's own property tests are the public kit's
//! (`detente::testing::strategies`), so every run of the suite exercises them.

pub use detente::testing::strategies::*;
