//! From a styrmodell event to the record the event log stores. The log
//! knows nothing of the styrmodell; this is where the two meet, beside the
//! fold that reads the records back ([`crate::domain_event`]).

use styr_domain::{Event, EVENT_SCHEMA_VERSION};
use styr_store::{AggregateRef, NewEvent};

/// The record for one decided event: its type, the current schema version,
/// its payload and the aggregate that names its subject.
pub fn new_event(event: &Event) -> NewEvent {
    let (event_type, payload) = event.to_payload();
    let (kind, id) = event.aggregate();
    NewEvent {
        aggregate: AggregateRef::new(kind, id),
        event_type: event_type.to_owned(),
        schema_version: EVENT_SCHEMA_VERSION,
        payload,
    }
}
