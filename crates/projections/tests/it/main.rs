//! Read models against the example kommun on a real nats-server and a real sled.
//!
//! One test binary for the crate (its modules below), as in the
//! codebases we model ours on: one link step, one place to look.

mod balanskrav;
mod calendar;
mod correction;
mod crosscut;
mod past;
mod support;
mod views;
