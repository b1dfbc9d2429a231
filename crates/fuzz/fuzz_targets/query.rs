//! A query request as it arrives on `styrkedja.api.<kommun>.query`: JSON
//! bytes. Parsing must never panic, and what parses serialises back to the
//! same request.
#![no_main]

use libfuzzer_sys::fuzz_target;
use styr_service::api::QueryRequest;

fuzz_target!(|data: &[u8]| {
    if let Ok(q) = serde_json::from_slice::<QueryRequest>(data) {
        let text = serde_json::to_vec(&q).expect("a parsed request serialises");
        let again: QueryRequest =
            serde_json::from_slice(&text).expect("a serialised request parses");
        assert_eq!(again, q);
    }
});
