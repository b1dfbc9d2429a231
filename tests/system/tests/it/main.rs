//! Styrkedja on a three-node JetStream cluster (loopback, own ports and data
//! folders), under faults: every acknowledged decision is present exactly
//! once afterwards, the chain verifies, and projections on two nodes agree.

mod cluster;
mod partition;
