//! The event log on a real nats-server: appends, idempotency, the hash chain, reads.
//!
//! One test binary for the crate (its modules below), as in the
//! codebases we model ours on: one link step, one place to look.

mod common;
mod event_log;
