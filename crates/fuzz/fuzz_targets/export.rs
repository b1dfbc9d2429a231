//! An export file as an auditor receives it: read, then verified offline
//! exactly as `styr verify --file` does. Never a panic, only a `Break`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use styr_audit::{read_export, ExportEntry, ExportHeader, Options, Verifier};

/// Pushes every entry until the first break, then finishes; `claimed`
/// decides whether the file's hashes are checked (the offline verifier does;
/// without them mutated bytes reach the chain classification too).
fn verify(header: &ExportHeader, entries: &[ExportEntry], options: Options, claimed: bool) {
    let mut v = Verifier::new(header.kommun.clone(), options);
    for e in entries {
        let hash = claimed.then_some(e.hash.as_str());
        if v.push(e.sequence, &e.bytes(), hash).is_err() {
            return;
        }
    }
    let _ = v.finish(Some(header.last_sequence));
}

fuzz_target!(|data: &[u8]| {
    let Ok((header, entries)) = read_export(data) else {
        return;
    };
    verify(&header, &entries, Options::default(), true);
    // As the live verifier does (no claimed hashes), with the header's head
    // pinned as an auditor would pin last year's checkpoint.
    let options = Options {
        trusted_key: None,
        pins: vec![(header.last_sequence, header.head_hash.clone())],
    };
    verify(&header, &entries, options, false);
});
