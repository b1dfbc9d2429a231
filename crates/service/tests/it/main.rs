//! The service over NATS: the API, the command path and the published schemas.
//!
//! One test binary for the crate (its modules below), as in the
//! codebases we model ours on: one link step, one place to look.

mod api;
mod commands;
mod schemas;
