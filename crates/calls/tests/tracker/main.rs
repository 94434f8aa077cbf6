//! The tracker's integration tests: scenario sequences checked against expected.json,
//! robustness, resync and property tests.

mod arithmetic;
mod props;
mod records;
mod robustness;
mod scenarios;
mod script;
mod synth;
