//! The styrmodell of a Swedish kommun as pure functions: commands, events,
//! the state they build, and the rules P1–P7 (ARCHITECTURE.md lists them).
//!
//! [`KommunState::decide`] turns a command and its provenance into events or a
//! [`Rejection`] naming the rule and the field; [`KommunState::evolve`] folds
//! a recorded event into the state. This crate does no IO, knows no NATS and
//! no storage, and never reads a clock: time comes in with the provenance.

// The vocabulary: commands and events as they are written and published.
mod command;
mod event;
// The state, the shared rules and the dispatch of decide and evolve.
mod decide;
mod state;
// One module per area of the styrmodell: its commands' decide and its
// events' evolve side by side.
mod access;
mod agenda2030;
mod budget;
mod correction;
mod deviations;
mod direction;
mod internal_control;
mod organisation;
mod outcomes;
mod plans;
mod processes;
mod reports;
mod reviews;
mod uppdrag;

mod input;
mod model;
mod rejection;

pub use agenda2030::{global_goal_of, GlobalGoal, AGENDA2030_VERSION, GLOBAL_GOALS};
pub use command::*;
pub use correction::{Corrections, Original};
pub use event::*;
pub use input::{check_plain_text, MAX_AMOUNT, YEARS};
pub use model::*;
pub use rejection::{Rejection, Rule};
pub use state::{KommunState, Shared};
pub use styr_provenance::{DecidedBy, Provenance};
