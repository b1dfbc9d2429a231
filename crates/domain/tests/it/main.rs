//! The styrmodell's rules, given/when/then: planning, follow-up, and goals that cross the organisation.
//!
//! One test binary for the crate (its modules below), as in the
//! codebases we model ours on: one link step, one place to look.

mod common;
mod crosscut;
mod follow_up;
mod planning;
