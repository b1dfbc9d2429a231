//! Styrkedja on a three-node JetStream cluster (loopback, own ports and data
//! folders), under faults: every acknowledged decision is present exactly
//! once afterwards, the chain verifies, and projections on two nodes agree;
//! a partition between nodes in network namespaces; and the deployment's own
//! configuration files with TLS and the permission model.

mod cluster;
mod compose;
mod guide;
mod partition;
