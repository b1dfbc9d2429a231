//! The styrmodell of a Swedish kommun as pure functions: commands, events,
//! the state they build, and the rules P1–P7 (ARCHITECTURE.md lists them).
//!
//! [`KommunState::decide`] turns a command and its provenance into events or a
//! [`Rejection`] naming the rule and the field; [`KommunState::evolve`] folds
//! a recorded event into the state. This crate does no IO, knows no NATS and
//! no storage, and never reads a clock: time comes in with the provenance.

mod access;
mod budget;
mod command;
mod decide;
mod event;
mod follow_up;
mod input;
mod model;
mod rejection;
mod state;

pub use command::*;
pub use event::*;
pub use input::{check_plain_text, MAX_AMOUNT, YEARS};
pub use model::*;
pub use rejection::{Rejection, Rule};
pub use state::KommunState;
pub use styr_provenance::{DecidedBy, Provenance};
