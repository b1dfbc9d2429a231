//! Histories of many runs: the verifier decodes runs on worker threads
//! while it links the runs before them. Whatever is wrong, and wherever,
//! the break it reports is the first one in stream order.

use std::sync::OnceLock;

use bytes::Bytes;
use ed25519_dalek::SigningKey;
use styr_audit::{Break, Options, Report, Verifier};
use styr_store::{key_id, ChainHash, KommunId};

use crate::tamper::signed_event;

/// More than what the verifier has under way at once (runs of 4 096
/// messages, two per worker, a worker per core up to four: eight runs)
/// beyond the run of the earliest break below, and not a whole number of
/// runs.
const EVENTS: usize = 12 * 4096 + 77;

fn kommun() -> KommunId {
    KommunId::new("langa").unwrap()
}

/// A genuine history: the kommun's key, then events signed by it.
fn history() -> &'static [(u64, Bytes)] {
    static HISTORY: OnceLock<Vec<(u64, Bytes)>> = OnceLock::new();
    HISTORY.get_or_init(|| {
        let k = kommun();
        let key = SigningKey::from_bytes(&[5u8; 32]);
        let public = key.verifying_key();
        let mut prev = ChainHash::genesis(&k);
        (0..EVENTS)
            .map(|i| {
                let (event_type, payload) = if i == 0 {
                    (
                        styr_store::KEY_EVENT_TYPE,
                        serde_json::json!({"key_id": key_id(&public), "public_key": hex::encode(public.as_bytes())}),
                    )
                } else {
                    ("Happened", serde_json::json!({"n": i, "text": "åäö"}))
                };
                let id = format!("t-{}", i % 7);
                let raw = signed_event(&k, i, &id, (event_type, payload), prev, &key);
                prev = ChainHash::of_event(&raw);
                (i as u64 + 1, Bytes::from(raw))
            })
            .collect()
    })
}

/// Verifies `messages` (claiming `claims[i]` for message `i`, if any); the
/// outcome, and how many messages had been pushed when a push reported a
/// break (`None`: only `finish` did, or none was found).
fn verify(
    messages: &[(u64, Bytes)],
    claims: &[(usize, String)],
) -> (Result<Report, Break>, Option<usize>) {
    let mut v = Verifier::new(kommun(), Options::default());
    for (i, (sequence, raw)) in messages.iter().enumerate() {
        let claimed = claims
            .iter()
            .find(|(at, _)| *at == i)
            .map(|(_, c)| c.clone());
        if let Err(b) = v.push_bytes(*sequence, raw.clone(), claimed) {
            return (Err(b), Some(i + 1));
        }
    }
    (v.finish(Some(EVENTS as u64)), None)
}

#[test]
fn a_long_history_verifies_to_its_last_hash() {
    let h = history();
    let (report, _) = verify(h, &[]);
    let report = report.unwrap();
    assert_eq!(report.events, EVENTS as u64);
    assert_eq!(
        report.head_hash,
        ChainHash::of_event(&h[EVENTS - 1].1).to_hex()
    );
}

/// A message altered in a late run: it and everything chained after it are
/// foreign, and the break is the altered message.
#[test]
fn an_altered_message_late_in_a_long_history_is_the_break() {
    let mut h = history().to_vec();
    let at = 7 * 4096 + 11;
    let text = String::from_utf8(h[at].1.to_vec()).unwrap();
    let altered = text.replacen("\"text\":\"åäö\"", "\"text\":\"åäo\"", 1);
    assert_ne!(altered, text);
    h[at].1 = Bytes::from(altered);
    let (outcome, pushed) = verify(&h, &[]);
    let b = outcome.unwrap_err();
    assert_eq!(pushed, None, "foreign messages are reported at the end");
    assert_eq!(b.sequence, at as u64 + 1, "{b}");
    assert!(b.problem.contains("främmande"), "{b}");
    assert_eq!(b.foreign.len(), EVENTS - at, "everything from it on");
    assert!(
        b.foreign[0].reason.contains("signaturen"),
        "{:?}",
        b.foreign[0]
    );
}

/// A message missing early: reported while later runs are still being
/// pushed (the verifier stops there), at the first sequence not found.
#[test]
fn a_gap_early_in_a_long_history_is_reported_before_the_end() {
    let mut h = history().to_vec();
    let dropped = h.remove(4096 + 3).0;
    let (outcome, pushed) = verify(&h, &[]);
    let b = outcome.unwrap_err();
    assert_eq!(b.sequence, dropped + 1, "{b}");
    assert!(b.problem.contains("saknas"), "{b}");
    assert!(pushed.is_some_and(|p| p < h.len()), "{pushed:?}");
}

/// Two things wrong: the earlier one in stream order is the break, though
/// the later one's run may be decoded first.
#[test]
fn of_two_breaks_the_earlier_one_is_reported() {
    let h = history();
    let wrong = "0".repeat(64);
    let claims = [(6 * 4096 + 5, wrong.clone()), (5 * 4096 + 9, wrong)];
    let (outcome, _) = verify(h, &claims);
    let b = outcome.unwrap_err();
    assert_eq!(b.sequence, 5 * 4096 + 10, "{b}");
    assert!(b.problem.contains("stämmer inte"), "{b}");
}
