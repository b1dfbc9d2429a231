//! System tests of Styrkedja across crates and processes (in `tests/it`):
//! a three-node nats-server cluster on loopback with R3 kommun streams,
//! under the faults an operator meets. No code of its own.
