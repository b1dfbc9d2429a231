//! The styrmodell's rules, given/when/then: planning and follow-up.
//!
//! One test binary for the crate (its modules below), as in the
//! codebases we model ours on: one link step, one place to look.

mod common;
mod follow_up;
mod planning;
