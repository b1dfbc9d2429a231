//! The example kommun: a year of Vimmerby-shaped decisions, shipped with the
//! binary and loaded through the real command path.

use crate::Submission;

/// The example's submissions, in order (`examples/vimmerby/kommun.json`).
pub const VIMMERBY_JSON: &str = include_str!("../../../examples/vimmerby/kommun.json");

/// Parses the example kommun's submissions.
pub fn vimmerby() -> Result<Vec<Submission>, serde_json::Error> {
    serde_json::from_str(VIMMERBY_JSON)
}

/// The Götene-shaped example (`examples/gotene/kommun.json`): one
/// organisation, one förvaltning under KS, whose sektorer and enheter
/// answer to different nämnder.
pub const GOTENE_JSON: &str = include_str!("../../../examples/gotene/kommun.json");

/// Parses the Götene-shaped example's submissions.
pub fn gotene() -> Result<Vec<Submission>, serde_json::Error> {
    serde_json::from_str(GOTENE_JSON)
}
