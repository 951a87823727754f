//! The single integration-test binary: one module per subject.

mod wire_schema;
mod engine;
mod engine_props;
