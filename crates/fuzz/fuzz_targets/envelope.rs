//! One stored message of a kommun's stream, as JetStream hands it back: bytes
//! that may be anything (a foreign writer, a damaged disk). Decoding and
//! classifying must never panic, and must agree with each other.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use styr_store::{ChainHash, ChainState, EnvelopeHead, KommunId, Record, StoredEvent};

fuzz_target!(|data: &[u8]| {
    let raw = Bytes::copy_from_slice(data);
    let hash = ChainHash::of_event(data);

    let decoded = StoredEvent::decode(1, raw.clone());
    if let Ok(e) = &decoded {
        assert_eq!(e.hash, hash, "decode hashes the bytes it was given");
    }

    // The store's own form is read without serde_json where it can be: that
    // reading never takes what the general one refuses, and reads the same.
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(canonical) = EnvelopeHead::decode_canonical(text) {
            let general = EnvelopeHead::decode_general(text)
                .expect("the canonical reading takes nothing the general one refuses");
            assert_eq!(format!("{canonical:?}"), format!("{general:?}"));
            if let Ok(kommun) = KommunId::new(canonical.kommun) {
                assert!(EnvelopeHead::decode(data, &kommun).is_some());
                let decoded = decoded
                    .as_ref()
                    .expect("a head is read only where the envelope decodes");
                assert_eq!(canonical.differs_from(&decoded.envelope), None);
            }
        }
    }

    let kommun = KommunId::new("vimmerby").unwrap();
    let mut chain = ChainState::genesis(&kommun);
    let record = chain
        .classify(1, raw)
        .expect("sequence 1 is the next one at genesis");
    assert_eq!(chain.next, 2);
    match &record {
        Record::Event(e) => {
            assert!(decoded.is_ok(), "a chained event decodes");
            assert_eq!(e.hash, hash);
            assert_eq!(chain.head, hash);
            assert_eq!(chain.chained, 1);
        }
        Record::Foreign(f) => {
            assert_eq!(f.hash, hash);
            assert_eq!(
                f.event_id.is_some(),
                decoded.is_ok(),
                "a foreign message has an event id exactly when it decodes as an envelope"
            );
            assert_eq!(
                chain.head,
                ChainHash::genesis(&kommun),
                "foreign messages do not move the head"
            );
            assert_eq!(chain.chained, 0);
        }
    }
    // Out of order is an error, never a panic.
    assert!(chain.classify(1, Bytes::copy_from_slice(data)).is_err());
});
