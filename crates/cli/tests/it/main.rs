//! `styr` as a user runs it: commands, exit codes, output; and the projector killed mid-write.
//!
//! One test binary for the crate (its modules below), as in the
//! codebases we model ours on: one link step, one place to look.

mod cli;
mod crash;
