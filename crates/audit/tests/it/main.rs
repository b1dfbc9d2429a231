//! Verification against tampering, forgery and foreign writes; exports and reports.
//!
//! One test binary for the crate (its modules below), as in the
//! codebases we model ours on: one link step, one place to look.

mod crosscut;
mod long;
mod tamper;
