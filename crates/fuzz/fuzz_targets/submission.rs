//! A submission as it arrives over NATS or from `styr submit`: JSON bytes,
//! parsed and decided against the example kommun (Vimmerby, folded once).
//! Deciding must never panic; a `Rejection` is a fine answer. An accepted
//! decision's events are also folded into a copy of the state, as the
//! service does for a group commit.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use styr_domain::{EventMeta, KommunState};
use styr_service::{example, Submission};
use uuid::Uuid;

/// The identity the example is loaded under; it becomes the administrator.
const LOADER: &str = "exempel-laddning";

fn vimmerby() -> &'static KommunState {
    static STATE: OnceLock<KommunState> = OnceLock::new();
    STATE.get_or_init(|| {
        let mut state = KommunState::default();
        let mut n = 0u128;
        for s in example::vimmerby().expect("the bundled example parses") {
            let events = state
                .decide_as(LOADER, &s.provenance, &s.command)
                .unwrap_or_else(|r| panic!("the example's {} is rejected: {r}", s.idempotency_key));
            for event in &events {
                n += 1;
                state.evolve(
                    &EventMeta {
                        event_id: Uuid::from_u128(n),
                        decided_by: s.provenance.decided_by.clone(),
                    },
                    event,
                );
            }
        }
        state
    })
}

fuzz_target!(|data: &[u8]| {
    let state = vimmerby();
    let Ok(s) = serde_json::from_slice::<Submission>(data) else {
        return;
    };
    // The submission's own recorder when it names one (P1 is then checked
    // against the example's grants), else the example's administrator.
    let identity = if s.recorded_by.is_empty() {
        LOADER
    } else {
        s.recorded_by.as_str()
    };
    // A kommun not yet registered takes only register_kommun.
    let _ = KommunState::default().decide_as(identity, &s.provenance, &s.command);
    if let Ok(events) = state.decide_as(identity, &s.provenance, &s.command) {
        let mut next = state.clone();
        for (i, event) in events.iter().enumerate() {
            next.evolve(
                &EventMeta {
                    event_id: Uuid::from_u128(u128::MAX - i as u128),
                    decided_by: s.provenance.decided_by.clone(),
                },
                event,
            );
        }
    }
});
