//! The example kommun as test data for the crates below the service (the
//! store, the projections): the same file the service ships
//! (`examples/vimmerby/kommun.json`), read as the styrmodell's own types, so
//! a test can write a history without the service.

use serde::Deserialize;
use styr_domain::{Command, Provenance};

/// The example kommun's decisions, in order.
pub const VIMMERBY_JSON: &str = include_str!("../../../examples/vimmerby/kommun.json");

/// One decision of the example: who recorded it, where it comes from, what
/// was decided, and its idempotency key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExampleDecision {
    pub idempotency_key: String,
    pub recorded_by: String,
    pub provenance: Provenance,
    pub command: Command,
}

/// The example kommun's decisions.
pub fn vimmerby() -> Vec<ExampleDecision> {
    serde_json::from_str(VIMMERBY_JSON).expect("the example kommun parses")
}

/// The Götene-shaped example (one förvaltning serving several nämnder).
pub const GOTENE_JSON: &str = include_str!("../../../examples/gotene/kommun.json");

/// The Götene-shaped example's decisions.
pub fn gotene() -> Vec<ExampleDecision> {
    serde_json::from_str(GOTENE_JSON).expect("the Götene example parses")
}
