//! Verification live and offline, replay equivalence, and every tamper case
//! detected and located.

use std::collections::BTreeMap;
use std::sync::Arc;

use ed25519_dalek::{Signer, SigningKey};
use styr_audit::*;
use styr_projections::{digest, fold_records, Projector};
use styr_service::{example, Kommuner};
use styr_store::{
    key_id, sign_envelope, ChainHash, ChainState, DecidedBy, Envelope, EventStore, KommunId, Record,
};
use styr_testkit::TestNats;

struct World {
    nats: TestNats,
    store: Arc<EventStore>,
    header: ExportHeader,
    entries: Vec<ExportEntry>,
    first_key: String,
}

fn vimmerby() -> KommunId {
    KommunId::new("vimmerby").unwrap()
}

/// The example kommun with a checkpoint, a key rotation and a second
/// checkpoint, exported.
async fn world() -> World {
    let nats = TestNats::start().await;
    let store = nats.shared_store().await;
    let k = vimmerby();
    let kommuner = Kommuner::new(store.clone());
    let subs = example::vimmerby().unwrap();
    let cp = Checkpointer { store: &store };
    for s in &subs[..50] {
        kommuner.submit(&k, s.clone()).await.unwrap();
    }
    let (covered, at) = cp.checkpoint(&k).await.unwrap();
    assert_eq!(at, covered + 1);
    let first_key = hex::encode(
        store
            .chain_head(&k)
            .await
            .unwrap()
            .key
            .unwrap()
            .key
            .as_bytes(),
    );
    for s in &subs[50..] {
        kommuner.submit(&k, s.clone()).await.unwrap();
    }
    cp.rotate_key(&k).await.unwrap();
    cp.checkpoint(&k).await.unwrap();
    let mut buf = Vec::new();
    let header = write_export(&store, &k, None, &mut buf).await.unwrap();
    let (read_header, entries) = read_export(&buf[..]).unwrap();
    assert_eq!(read_header, header);
    World {
        nats,
        store,
        header,
        entries,
        first_key,
    }
}

fn verify(entries: &[ExportEntry], last: u64, options: Options) -> Result<Report, Break> {
    let mut v = Verifier::new(vimmerby(), options);
    for e in entries {
        v.push(e.sequence, &e.bytes(), Some(&e.hash))?;
    }
    v.finish(Some(last))
}

/// Rewrites entries from `from` on so that every link and hash is consistent
/// again, as a careful forger would, signing each envelope with `key` (the
/// forger has no other).
fn rechain(entries: &mut [ExportEntry], from: usize, key: &SigningKey) {
    let mut prev = if from == 0 {
        ChainHash::genesis(&vimmerby())
    } else {
        ChainHash::of_event(entries[from - 1].event.as_bytes())
    };
    for e in &mut entries[from..] {
        let mut env: Envelope = serde_json::from_str(&e.event).unwrap();
        env.prev_hash = prev;
        env.signature = None;
        let signed = sign_envelope(serde_json::to_vec(&env).unwrap(), key);
        e.event = String::from_utf8(signed).unwrap();
        prev = ChainHash::of_event(e.event.as_bytes());
        e.hash = prev.to_hex();
    }
}

fn payload_mut(e: &mut ExportEntry, f: impl FnOnce(&mut serde_json::Value)) {
    let mut env: Envelope = serde_json::from_str(&e.event).unwrap();
    f(&mut env.payload);
    e.event = serde_json::to_string(&env).unwrap();
}

/// The forger's key.
fn forger() -> SigningKey {
    SigningKey::from_bytes(&[9u8; 32])
}

fn index_of(entries: &[ExportEntry], event_type: &str, nth: usize) -> usize {
    entries
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            e.event
                .contains(&format!("\"event_type\":\"{event_type}\""))
        })
        .nth(nth)
        .map(|(i, _)| i)
        .unwrap()
}

#[tokio::test]
async fn live_and_offline_verification_and_replay_agree() {
    let w = world().await;
    let k = vimmerby();
    let live = verify_stream(&w.store, &k, Options::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live.events, w.store.last_sequence(&k).await.unwrap());
    assert_eq!(live.checkpoints.len(), 2);
    assert_eq!(live.keys.len(), 2);
    let offline = verify(
        &w.entries,
        w.header.last_sequence,
        Options {
            trusted_key: Some(w.first_key.clone()),
            pins: vec![(
                live.checkpoints[0].0,
                w.entries[live.checkpoints[0].0 as usize - 1].hash.clone(),
            )],
        },
    )
    .unwrap();
    assert_eq!(offline.trust, Trust::TrustedKey);
    assert_eq!(live.trust, Trust::FirstUse);
    assert_eq!(
        Report {
            trust: Trust::FirstUse,
            ..offline.clone()
        },
        live
    );
    assert_eq!(offline.head_hash, w.header.head_hash);

    // Replay from the file gives the live projection's digest.
    let mut chain = ChainState::genesis(&k);
    let records: Vec<Record> = w
        .entries
        .iter()
        .map(|e| chain.classify(e.sequence, e.bytes().into()).unwrap())
        .collect();
    assert!(records.iter().all(|r| matches!(r, Record::Event(_))));
    let replayed = fold_records(&k, records.iter()).unwrap();
    let p = Projector::open(w.nats.path("proj")).unwrap();
    p.catch_up(&w.store, &k).await.unwrap();
    assert_eq!(digest(&replayed, &k).unwrap(), p.digest(&k).unwrap());

    // An export up to a checkpoint verifies on its own.
    let mut buf = Vec::new();
    let h = write_export(&w.store, &k, Some(live.checkpoints[0].1), &mut buf)
        .await
        .unwrap();
    let (_, part) = read_export(&buf[..]).unwrap();
    let r = verify(&part, h.last_sequence, Options::default()).unwrap();
    assert_eq!(r.checkpoints.len(), 1);
}

#[tokio::test]
async fn every_tamper_case_is_detected_and_located() {
    let w = world().await;
    let last = w.header.last_sequence;
    let mid = w.entries.len() / 2;
    let at = |b: Result<Report, Break>| b.unwrap_err();

    // One byte changed in the middle: the stored hash no longer matches.
    let mut t = w.entries.clone();
    t[mid].event = t[mid]
        .event
        .replacen("\"kommun\":\"vimmerby\"", "\"kommun\":\"vimmerbY\"", 1);
    let b = at(verify(&t, last, Options::default()));
    assert_eq!(b.sequence, t[mid].sequence, "{b}");
    // … and with its hash recomputed, its signature fails: it is foreign,
    // and so is everything that chained to the original.
    let mut t = w.entries.clone();
    payload_mut(&mut t[mid], |p| *p = serde_json::json!({"forged": true}));
    t[mid].hash = ChainHash::of_event(t[mid].event.as_bytes()).to_hex();
    let b = at(verify(&t, last, Options::default()));
    assert_eq!(b.sequence, t[mid].sequence, "{b}");
    assert!(b.event_id.is_some());
    assert!(b.problem.contains("främmande"), "{b}");
    assert!(b.foreign[0].reason.contains("signaturen"), "{b:?}");

    // An event dropped.
    let mut t = w.entries.clone();
    let dropped = t.remove(mid).sequence;
    let b = at(verify(&t, last, Options::default()));
    assert_eq!(b.sequence, dropped + 1);
    assert!(b.problem.contains("saknas"), "{b}");

    // Two swapped, with their numbers, or renumbered to look in order.
    let mut t = w.entries.clone();
    t.swap(mid, mid + 1);
    assert_eq!(
        at(verify(&t, last, Options::default())).sequence,
        w.entries[mid + 1].sequence
    );
    let (s1, s2) = (t[mid].sequence, t[mid + 1].sequence);
    t[mid].sequence = s2;
    t[mid + 1].sequence = s1;
    let b = at(verify(&t, last, Options::default()));
    assert_eq!(b.sequence, s2, "{b}");
    assert!(b.foreign[0].reason.contains("kedjan"), "{b:?}");

    // The end cut off.
    let t = &w.entries[..w.entries.len() - 3];
    let b = at(verify(t, last, Options::default()));
    assert!(b.problem.contains("avkortad"), "{b}");

    // A checkpoint whose head hash is forged (history rechained after it).
    let mut t = w.entries.clone();
    let cp = index_of(&t, "CheckpointSigned", 0);
    payload_mut(&mut t[cp], |p| {
        p["head_hash"] = serde_json::json!("00".repeat(32))
    });
    rechain(&mut t, cp, &forger());
    let b = at(verify(&t, last, Options::default()));
    assert_eq!(b.sequence, t[cp].sequence);
    assert!(b.foreign[0].reason.contains("signaturen"), "{b:?}");

    // A checkpoint re-signed with another key under the real key id.
    let mut t = w.entries.clone();
    let other = SigningKey::from_bytes(&[7u8; 32]);
    payload_mut(&mut t[cp], |p| {
        p["signature"] = serde_json::json!(hex::encode(other.sign(b"x").to_bytes()))
    });
    rechain(&mut t, cp, &forger());
    let b = at(verify(&t, last, Options::default()));
    assert_eq!(b.sequence, t[cp].sequence);
    assert!(b.problem.contains("signaturen"), "{b}");

    // A rewritten history re-signed end to end with the forger's own key:
    // only an auditor with the trusted key or a pinned checkpoint sees it.
    let mut t = w.entries.clone();
    payload_mut(&mut t[mid], |p| *p = serde_json::json!({"rewritten": true}));
    let forged_key = forger();
    let fk = forged_key.verifying_key();
    let fid = key_id(&fk);
    let k0 = index_of(&t, "SigningKeyPublished", 0);
    payload_mut(&mut t[k0], |p| {
        p["key_id"] = serde_json::json!(fid);
        p["public_key"] = serde_json::json!(hex::encode(fk.as_bytes()));
    });
    // Drop the rotation and re-sign every checkpoint with the forged key.
    let k1 = index_of(&t, "SigningKeyPublished", 1);
    let pinned = (w.entries[mid + 5].sequence, w.entries[mid + 5].hash.clone());
    let removed = t.remove(k1).sequence;
    for (i, e) in t.iter_mut().enumerate() {
        e.sequence = i as u64 + 1;
    }
    rechain(&mut t, 0, &forged_key);
    for i in 0..t.len() {
        if t[i].event.contains("\"event_type\":\"CheckpointSigned\"") {
            let env: Envelope = serde_json::from_str(&t[i].event).unwrap();
            let mut covered = env.payload["sequence"].as_u64().unwrap();
            if covered >= removed {
                covered -= 1;
            }
            let head = t[covered as usize - 1].hash.clone();
            let at: chrono::DateTime<chrono::Utc> =
                serde_json::from_value(env.payload["signed_at"].clone()).unwrap();
            let sig = forged_key.sign(&signed_text(&vimmerby(), covered, &head, at));
            payload_mut(&mut t[i], |p| {
                p["sequence"] = serde_json::json!(covered);
                p["head_hash"] = serde_json::json!(head);
                p["key_id"] = serde_json::json!(fid);
                p["signature"] = serde_json::json!(hex::encode(sig.to_bytes()));
            });
            rechain(&mut t, i, &forged_key);
        }
    }
    let forged_last = t.len() as u64;
    let tofu = verify(&t, forged_last, Options::default());
    assert!(
        tofu.is_ok(),
        "a self-consistent forgery passes trust-on-first-use: {tofu:?}"
    );

    // P7 in a history that otherwise holds (signed with its own first key):
    // an event without who recorded it, or whose decider is blank, breaks
    // verification there, naming what is missing.
    let blanked = |change: &dyn Fn(&mut Envelope)| {
        let mut p7 = t.clone();
        let mut env: Envelope = serde_json::from_str(&p7[mid].event).unwrap();
        change(&mut env);
        p7[mid].event = serde_json::to_string(&env).unwrap();
        rechain(&mut p7, mid, &forged_key);
        let b = at(verify(&p7, forged_last, Options::default()));
        assert_eq!(b.sequence, p7[mid].sequence, "{b}");
        b.problem
    };
    let problem = blanked(&|env| env.recorded_by = " ".into());
    assert!(
        problem.contains("recorded_by") && problem.contains("P7"),
        "{problem}"
    );
    let problem = blanked(&|env| {
        env.provenance.decided_by = DecidedBy::System {
            component: String::new(),
        }
    });
    assert!(
        problem.contains("provenance.decided_by.component") && problem.contains("P7"),
        "{problem}"
    );
    let b = at(verify(
        &t,
        forged_last,
        Options {
            trusted_key: Some(w.first_key.clone()),
            pins: vec![],
        },
    ));
    assert_eq!(b.sequence, t[k0].sequence);
    assert!(b.problem.contains("betrodda"), "{b}");
    let b = at(verify(
        &t,
        forged_last,
        Options {
            trusted_key: None,
            pins: vec![pinned.clone()],
        },
    ));
    assert!(b.sequence <= pinned.0, "{b}");
}

/// Classifies `entries` message by message and in runs of each size; the
/// outcomes (records, or the error's text) are the same.
fn assert_runs_classify_alike(entries: &[ExportEntry], what: &str) -> Vec<Record> {
    let messages: Vec<(u64, bytes::Bytes)> = entries
        .iter()
        .map(|e| (e.sequence, e.bytes().into()))
        .collect();
    assert_messages_classify_alike(&messages, what)
}

/// [`assert_runs_classify_alike`] over raw messages.
fn assert_messages_classify_alike(messages: &[(u64, bytes::Bytes)], what: &str) -> Vec<Record> {
    let k = vimmerby();
    let mut one = ChainState::genesis(&k);
    let exact: Vec<Result<Record, String>> = messages
        .iter()
        .map(|(s, raw)| one.classify(*s, raw.clone()).map_err(|e| e.to_string()))
        .collect();
    for size in [1, 2, 7, 64, messages.len()] {
        let mut chain = ChainState::genesis(&k);
        let runs: Vec<Result<Record, String>> = messages
            .chunks(size)
            .flat_map(|run| chain.classify_run(run.to_vec()))
            .map(|r| r.map_err(|e| e.to_string()))
            .collect();
        assert_eq!(runs, exact, "{what}: runs of {size}");
        assert_eq!(chain, one, "{what}: chain after runs of {size}");
    }
    exact.into_iter().filter_map(Result::ok).collect()
}

#[tokio::test]
async fn runs_classify_exactly_as_message_by_message() {
    let w = world().await;
    let mid = w.entries.len() / 2;
    let foreign = |records: &[Record]| {
        records
            .iter()
            .filter(|r| matches!(r, Record::Foreign(_)))
            .count()
    };
    // The history as written: a key, checkpoints, a rotation.
    let records = assert_runs_classify_alike(&w.entries, "as written");
    assert_eq!(foreign(&records), 0);
    assert_eq!(records.len(), w.entries.len());

    // A payload forged mid-run, its hash recomputed: the events after it
    // still chain to the original.
    let mut t = w.entries.clone();
    payload_mut(&mut t[mid], |p| *p = serde_json::json!({"forged": true}));
    let records = assert_runs_classify_alike(&t, "forged payload");
    assert!(foreign(&records) > 0);

    // Rechained from the middle with the forger's key: every link holds,
    // the signatures do not.
    let mut t = w.entries.clone();
    rechain(&mut t, mid, &forger());
    let records = assert_runs_classify_alike(&t, "rechained");
    assert_eq!(foreign(&records), t.len() - mid);

    // A well-chained forgery at the end, and one followed by the real
    // history again.
    let mut t = w.entries.clone();
    let mut extra = t[mid].clone();
    extra.sequence = t.len() as u64 + 1;
    t.push(extra);
    let n = t.len();
    rechain(&mut t, n - 1, &forger());
    let records = assert_runs_classify_alike(&t, "forgery at the end");
    assert_eq!(foreign(&records), 1);
    let mut t = w.entries.clone();
    let mut forged = t[mid].clone();
    rechain(std::slice::from_mut(&mut forged), 0, &forger());
    let mut env: Envelope = serde_json::from_str(&forged.event).unwrap();
    env.prev_hash = ChainHash::of_event(t[mid - 1].event.as_bytes());
    env.signature = None;
    forged.event =
        String::from_utf8(sign_envelope(serde_json::to_vec(&env).unwrap(), &forger())).unwrap();
    t.insert(mid, forged);
    for (i, e) in t.iter_mut().enumerate() {
        e.sequence = i as u64 + 1;
    }
    let records = assert_runs_classify_alike(&t, "forgery inserted");
    assert_eq!(foreign(&records), 1);

    // Garbage, a dropped event, two swapped.
    let mut t = w.entries.clone();
    t[mid].event = "not json".into();
    t[mid].event_hex = None;
    assert_runs_classify_alike(&t, "garbage");
    let mut t = w.entries.clone();
    t.remove(mid);
    assert_runs_classify_alike(&t, "dropped");
    let mut t = w.entries.clone();
    t.swap(mid, mid + 1);
    assert_runs_classify_alike(&t, "swapped");
}

/// Event `i` of a test history of `k`'s, of aggregate `thing/<id>`, after
/// `prev`, signed with `key`: its stored bytes.
pub(crate) fn signed_event(
    k: &KommunId,
    i: usize,
    id: &str,
    (event_type, payload): (&str, serde_json::Value),
    prev: ChainHash,
    key: &SigningKey,
) -> Vec<u8> {
    let env = styr_testkit::envelope(k, id, (event_type, payload), format!("k-{i}"), prev);
    sign_envelope(serde_json::to_vec(&env).unwrap(), key)
}

/// A history of `n` events: the first key, events by it, a rotation to a
/// second key endorsed by the first, events by the second. `sign(i)` is
/// the key event i is signed with (the key events are signed by the key
/// they publish, as the store does).
fn rotated_history(sign: impl Fn(usize) -> SigningKey) -> Vec<(u64, bytes::Bytes)> {
    let k = vimmerby();
    let (k1, k2) = (
        SigningKey::from_bytes(&[1u8; 32]),
        SigningKey::from_bytes(&[2u8; 32]),
    );
    let (v1, v2) = (k1.verifying_key(), k2.verifying_key());
    let mut prev = ChainHash::genesis(&k);
    let mut out = Vec::new();
    for i in 0..10usize {
        let (event_type, payload) = match i {
            0 => (
                styr_store::KEY_EVENT_TYPE,
                serde_json::json!({"key_id": key_id(&v1), "public_key": hex::encode(v1.as_bytes())}),
            ),
            6 => (
                styr_store::KEY_EVENT_TYPE,
                serde_json::json!({"key_id": key_id(&v2), "public_key": hex::encode(v2.as_bytes()),
                    "replaces": key_id(&v1), "endorsement": hex::encode(k1.sign(v2.as_bytes()).to_bytes())}),
            ),
            _ => ("Happened", serde_json::json!({"n": i})),
        };
        let raw = signed_event(&k, i, "a", (event_type, payload), prev, &sign(i));
        prev = ChainHash::of_event(&raw);
        out.push((i as u64 + 1, raw.into()));
    }
    out
}

/// A key endorsed once is no licence for what came before it: holding the
/// second key, a forger rewrites events the first key signed before the
/// rotation (signing them with a key of his own), re-signs the rotation —
/// its endorsement copied — and the events after it with the second key.
/// Runs call it foreign exactly as message by message does.
#[test]
fn a_rotated_key_cannot_vouch_for_the_events_before_it() {
    let key = |i: usize| SigningKey::from_bytes(&[if i < 6 { 1u8 } else { 2u8 }; 32]);
    let genuine = rotated_history(key);
    let records = assert_messages_classify_alike(&genuine, "genuine rotation");
    assert!(records.iter().all(|r| matches!(r, Record::Event(_))));
    let forged = rotated_history(|i| {
        if (2..6).contains(&i) {
            forger()
        } else {
            key(i)
        }
    });
    let records = assert_messages_classify_alike(&forged, "rewritten before a rotation");
    let foreign = records
        .iter()
        .filter(|r| matches!(r, Record::Foreign(_)))
        .count();
    assert_eq!(foreign, 8, "everything from the first rewritten event on");
}

/// Every opened tag is closed in order (void elements aside).
fn assert_well_formed(html: &str) {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let end = rest.find('>').expect("unclosed <");
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if tag.starts_with('!') {
            continue;
        }
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if ["meta", "br"].contains(&name.as_str()) {
            continue;
        }
        if tag.starts_with('/') {
            assert_eq!(
                stack.pop().as_deref(),
                Some(name.as_str()),
                "mismatched </{name}>"
            );
        } else {
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
}

#[tokio::test]
async fn the_revisor_report_covers_the_year() {
    let w = world().await;
    let k = vimmerby();
    let p = Projector::open(w.nats.path("proj")).unwrap();
    p.catch_up(&w.store, &k).await.unwrap();
    let verification = verify_stream(&w.store, &k, Options::default())
        .await
        .unwrap();
    let head = verification.as_ref().unwrap().head_hash.clone();
    let today: chrono::NaiveDate = "2027-03-01".parse().unwrap();
    let r = RevisorReport::build(p.view(), &k, 2026, today, verification).unwrap();
    let tables: BTreeMap<&str, Table> = r.tables().into_iter().map(|t| (t.file, t)).collect();
    // One row of a table, found by its first cell (and a second, when given).
    let row = |file: &str, first: &str, second: Option<&str>| -> Vec<String> {
        tables[file]
            .rows
            .iter()
            .find(|r| r[0].plain() == first && second.is_none_or(|s| r[1].plain() == s))
            .unwrap_or_else(|| panic!("{file} has no row {first} {second:?}"))
            .iter()
            .map(Cell::plain)
            .collect()
    };
    let tone = |file: &str, first: &str, col: usize| -> Option<Tone> {
        tables[file]
            .rows
            .iter()
            .find(|r| r[0].plain() == first)
            .and_then(|r| r[col].tone())
    };

    // Ändringslogg: every decision of the year, with its §, in date order.
    let log = &tables["andringslogg.csv"].rows;
    let report = log
        .iter()
        .find(|r| r[2].plain() == "BUN 2026-09-22 § 308")
        .expect("BUN's delårsrapport in the change log");
    assert_eq!(report[3].plain(), "FollowUpReportAdopted");
    assert!(report[4].plain().contains("report/bun/2026/delarsrapport"));
    // Each event once, however many entities it touched (the Kolada import
    // of March touched four goals).
    let mut sequences: Vec<String> = log.iter().map(|r| r[0].plain()).collect();
    let n = sequences.len();
    sequences.sort();
    sequences.dedup();
    assert_eq!(sequences.len(), n);
    assert!(log
        .iter()
        .any(|r| r[4].plain().matches("goal/").count() == 4));
    let dates: Vec<String> = log
        .iter()
        .map(|r| r[1].plain())
        .filter(|d| !d.is_empty())
        .collect();
    assert!(dates.windows(2).all(|w| w[0] <= w[1]), "in date order");
    assert!(dates.iter().all(|d| d.starts_with("2026")));
    // Måluppfyllelse with traffic lights, from the latest report of the year.
    assert_eq!(
        row("maluppfyllelse.csv", "bun-m1", None)[4],
        "grön: uppfyllt"
    );
    assert_eq!(
        row("maluppfyllelse.csv", "bun-m1", None)[5],
        "BUN årsredovisning"
    );
    assert_eq!(tone("maluppfyllelse.csv", "bun-m2", 4), Some(Tone::Warn));
    assert_eq!(
        row("indikatorer.csv", "kf-m2", None)[6],
        "gul: nära målvärdet"
    );
    // Uppdrag: the one due in 2026 and not done is overdue.
    assert_eq!(tone("uppdrag.csv", "u-2026-04", 5), Some(Tone::Bad));
    assert!(row("uppdrag.csv", "u-2026-04", None)[5].starts_with("försenat"));
    assert_eq!(tone("uppdrag.csv", "u-2026-01", 5), Some(Tone::Good));
    // Economy against the ram per nämnd and report.
    assert_eq!(
        row("ekonomi.csv", "SN", Some("delårsrapport")),
        [
            "SN",
            "delårsrapport",
            "2026-08-31",
            "512400",
            "343908",
            "512700",
            "-300",
            "gul: högst 1 % över ram"
        ]
    );
    // Granskningar with the boards' yttranden and whether they came in time.
    let reviews = &tables["granskningar.csv"].rows;
    assert_eq!(reviews.len(), 2, "one row per board asked");
    // KS and BUN both replied before the deadline of 30 November.
    for r in reviews {
        assert_eq!(
            (r[7].plain(), r[7].tone()),
            ("ja".into(), Some(Tone::Good)),
            "{r:?}"
        );
        assert!(
            r[5].plain().starts_with(&r[2].plain()),
            "the yttrande's decision: {r:?}"
        );
    }
    // Intern kontroll: BUN's plan has no tertial report although T1 and T2 have passed.
    assert_eq!(row("intern_kontroll.csv", "ik-bun-2026", None)[5], "inga");
    assert_eq!(
        tone("intern_kontroll.csv", "ik-bun-2026", 5),
        Some(Tone::Bad)
    );
    assert_eq!(
        row("intern_kontroll.csv", "ik-bun-2026", None)[4],
        "1 kontrollmoment"
    );
    assert!(tables["kontrollmoment.csv"]
        .rows
        .iter()
        .any(|r| r[9].plain() == "SAKNAS"));

    let md = r.markdown();
    for needle in [
        "# Revisionsunderlag 2026 — Vimmerby kommun",
        "ik-ks-2026",
        "brist-2026-01",
        "dev-2026-03",
        "ap-bun-2026-1",
        "Senaste signerade kontrollpunkt",
        &head,
        "Miljö- och byggnadsnämnden saknar nämndplan för 2026",
        "🔴",
    ] {
        assert!(md.contains(needle), "markdown lacks {needle:?}");
    }

    let html = r.html();
    assert_well_formed(&html);
    // The HTML has what the Markdown has: every table, the tertial reports.
    for t in tables.values() {
        assert!(
            html.contains(&format!(
                "<h2>{}</h2>",
                maud::html! { (t.title) }.into_string()
            )),
            "{}",
            t.title
        );
    }
    assert!(
        html.contains("<td class=\"badc\">inga</td>"),
        "open items coloured"
    );
    // The matrix shows the risk's text, red where the score is 12 or more.
    let risk = r
        .risks()
        .into_iter()
        .find(|(_, r)| r.id == "r-behorighet")
        .unwrap()
        .1
        .description
        .clone();
    assert!(
        html.contains(&format!(
            "<td class=\"high\"><div>{risk} <small>(ik-ks-2026/r-behorighet)</small></div></td>"
        )),
        "{html}"
    );
    assert!(html.contains("@page{size:A4"));
    assert!(html.contains("thead{display:table-header-group}"));

    // CSV for Swedish Excel: BOM, semicolons, CRLF; quoting by the csv crate.
    let csv = r.csv().unwrap();
    for (name, bytes) in &csv {
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "{name} has a BOM");
        let text = std::str::from_utf8(&bytes[3..]).unwrap();
        assert!(
            text.ends_with("\r\n") && !text.replace("\r\n", "").contains('\n'),
            "{name} uses CRLF"
        );
    }
    let text = |name: &str| String::from_utf8(csv[name][3..].to_vec()).unwrap();
    assert_eq!(text("risker.csv").lines().count(), 1 + 5);
    assert!(text("kontrollmoment.csv")
        .starts_with("plan;kontroll;vad;hur;frekvens;ansvarig;risk;T1;T2;T3\r\n"));
    assert!(text("brister.csv").contains("brist-2026-01"));
    let access = text("behorigheter.csv");
    assert!(
        access.contains("bun-sekreterare;beslut för BUN;beviljad;KS 2023-01-16 § 6"),
        "{access}"
    );
    assert!(
        access.contains("vikarie-bun;beslut för BUN;återkallad;KS 2024-02-14 § 12"),
        "{access}"
    );
    // The budget: every decision that set a figure, the investments with
    // their follow-up, the balanskrav before and after RUR.
    let budget = text("budgetbeslut.csv");
    for line in [
        "ram;bun;498600;budgetramar;KF 2025-06-16 § 87;2025-06-16;",
        "skattesats;2026;22:16 kr per skattekrona;fastställd budget;KF 2025-11-17 § 132;2025-11-17;",
    ] {
        assert!(budget.contains(line), "{line:?} not in {budget}");
    }
    assert!(text("investeringar.csv").contains(
        "inv-ny-forskola;BUN;Ny förskola i centralorten;62000;30000;12400;32400;32100;KF 2025-11-17 § 132"
    ));
    assert!(text("balanskrav.csv").contains(
        "årsredovisning;24100;-1200;22900;5000;0;17900;uppfyllt;riktlinjer-rur;KS 2027-02-23 § 20"
    ));

    // The workbook, opened with a spreadsheet reader: a sheet per table,
    // typed cells.
    use calamine::{Data, Reader};
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(r.xlsx().unwrap())).unwrap();
    let sheets = book.sheet_names();
    for t in tables.values() {
        assert!(
            sheets.iter().any(|s| s == t.file.trim_end_matches(".csv")),
            "sheet for {}",
            t.file
        );
    }
    let investments = book.worksheet_range("investeringar").unwrap();
    let school = investments
        .rows()
        .find(|r| r[0] == Data::String("inv-ny-forskola".into()))
        .expect("the förskola's row");
    assert_eq!(school[2], Data::String("Ny förskola i centralorten".into()));
    assert_eq!(school[3], Data::Float(62000.0), "an amount is a number");
    let economy = book.worksheet_range("ekonomi").unwrap();
    let through = &economy.rows().nth(1).unwrap()[2];
    assert!(
        matches!(through, Data::DateTime(d) if d.is_datetime()),
        "a date is a date: {through:?}"
    );
    // Excel counts days from 1899-12-30; the first row is BUN's budgetuppföljning.
    let serial = ("2026-04-30".parse::<chrono::NaiveDate>().unwrap()
        - "1899-12-30".parse::<chrono::NaiveDate>().unwrap())
    .num_days() as f64;
    assert!(
        matches!(through, Data::DateTime(d) if d.as_f64() == serial),
        "{through:?}"
    );

    // A broken history says so at the top, in red.
    let broken = Err(Break {
        sequence: 7,
        event_id: None,
        problem: "test".into(),
        foreign: vec![],
    });
    let r = RevisorReport::build(p.view(), &k, 2026, today, broken).unwrap();
    let md = r.markdown();
    let first = md.find("HISTORIKEN HÅLLER INTE: sekvens 7").unwrap();
    assert!(first < md.find("## Ändringslogg").unwrap());
    assert!(r
        .html()
        .contains("<div class=\"broken\"><p class=\"bad\">HISTORIKEN HÅLLER INTE"));
}

/// The example kommun loaded by its loader (its administrator), and the
/// NATS service answering as `styr-api`.
async fn served() -> (TestNats, Arc<EventStore>, Arc<Kommuner>, Arc<Projector>) {
    let nats = TestNats::start().await;
    let store = nats.shared_store().await;
    let kommuner = Arc::new(Kommuner::new(store.clone()));
    for s in example::vimmerby().unwrap() {
        kommuner.submit(&vimmerby(), s).await.unwrap();
    }
    let projector = Arc::new(Projector::open(nats.path("proj")).unwrap());
    let api = Arc::new(styr_service::api::Api {
        kommuner: kommuner.clone(),
        projector: projector.clone(),
        health: Default::default(),
    });
    tokio::spawn(styr_service::api::serve(
        nats.client_as("styr-api").await,
        api,
    ));
    (nats, store, kommuner, projector)
}

async fn ask(
    client: &async_nats::Client,
    subject: &str,
    body: serde_json::Value,
) -> serde_json::Value {
    // The service may still be starting: a request with no responder yet is
    // retried, a bounded number of times.
    let mut last = None;
    for _ in 0..500 {
        match client
            .request(
                subject.to_owned(),
                serde_json::to_vec(&body).unwrap().into(),
            )
            .await
        {
            Ok(m) => return serde_json::from_slice(&m.payload).unwrap(),
            Err(e) => last = Some(e),
        }
    }
    panic!("the service never answered {subject}: {last:?}");
}

fn bun_status(key: &str) -> serde_json::Value {
    serde_json::json!({"idempotency_key": key,
        "provenance": {"decided_by": {"kind": "body", "body": "bun", "meeting_date": "2026-06-15", "paragraph": "80"}, "effective_date": "2026-06-15"},
        "command": {"command": "report_uppdrag_status", "uppdrag": "u-2026-01", "body": "bun", "as_of": "2026-05-31", "status": "ongoing"}})
}

#[tokio::test]
async fn a_foreign_message_takes_nothing_down_and_verify_names_it() {
    let (nats, store, kommuner, projector) = served().await;
    let k = vimmerby();
    let other = KommunId::new("are").unwrap();
    let register: styr_service::Submission = serde_json::from_value(serde_json::json!({
        "idempotency_key": "are-1", "recorded_by": "are-admin",
        "provenance": {"decided_by": {"kind": "body", "body": "kf", "meeting_date": "2022-11-07", "paragraph": "1"}, "effective_date": "2022-11-07"},
        "command": {"command": "register_kommun", "name": "Åre kommun", "kommunkod": "2321", "council": "kf"}}))
    .unwrap();
    kommuner.submit(&other, register).await.unwrap();

    // Through a privileged connection (a misconfigured server, an old
    // client): a message that is no envelope at all lands in the stream.
    let js = async_nats::jetstream::new(nats.client().await);
    let ack = js
        .publish("styr.vimmerby.uppdrag.u-2026-01", "not an envelope".into())
        .await
        .unwrap()
        .await
        .unwrap();
    let intruder = ack.sequence;

    // Everything keeps answering: queries, submits (as BUN's secretary,
    // granted in the example), checkpoints, the other kommun.
    let bun = nats.client_as("bun-sekreterare").await;
    let plan = ask(
        &bun,
        "styrkedja.api.vimmerby.query",
        serde_json::json!({"query": {"kind": "plan", "year": 2026}}),
    )
    .await;
    assert_eq!(plan["result"]["budget"]["year"], 2026, "{plan}");
    let r = ask(
        &bun,
        "styrkedja.api.vimmerby.submit",
        bun_status("after-intrusion"),
    )
    .await;
    assert_eq!(r["outcome"], "recorded", "{r}");
    let after = r["last_sequence"].as_u64().unwrap();
    assert_eq!(after, intruder + 1);
    let recorded = store.read(&k, after).await.unwrap();
    assert_ne!(
        recorded[0].envelope.prev_hash,
        ChainHash::of_event(b"not an envelope"),
        "the chain links only Styrkedja's own events"
    );
    let cp = Checkpointer { store: &store };
    cp.checkpoint(&k).await.unwrap();
    let are = ask(
        &bun,
        "styrkedja.api.are.query",
        serde_json::json!({"query": {"kind": "register", "register": "body"}}),
    )
    .await;
    assert!(are["error"].is_null(), "{are}");

    // verify names it (and only it) and fails.
    let b = verify_stream(&store, &k, Options::default())
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(b.sequence, intruder, "{b}");
    assert_eq!(
        b.foreign.iter().map(|f| f.sequence).collect::<Vec<_>>(),
        vec![intruder]
    );
    assert!(verify_stream(&store, &other, Options::default())
        .await
        .unwrap()
        .is_ok());
    // The projection shows it as an intrusion and goes on past it.
    projector.catch_up(&store, &k).await.unwrap();
    let found: Vec<styr_projections::IntrusionDoc> = styr_projections::docs(
        projector.view(),
        &k,
        styr_projections::docs::DocKind::Intrusion,
    )
    .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].sequence, intruder);
    // A fresh service (restart) loads past it too.
    let fresh = Kommuner::new(nats.shared_store().await);
    let (_, seq) = fresh.state(&k).await.unwrap();
    assert_eq!(seq, store.last_sequence(&k).await.unwrap());
}

#[tokio::test]
async fn a_well_chained_forgery_without_the_key_is_caught() {
    let (nats, store, _kommuner, projector) = served().await;
    let k = vimmerby();
    // The attack: read the last message, chain a KF decision onto it, and
    // publish it expecting exactly that sequence.
    let last = store.last_sequence(&k).await.unwrap();
    let raw = store.raw_message(&k, last).await.unwrap();
    let mut env: Envelope = serde_json::from_slice(&raw).unwrap();
    env.event_id = uuid::Uuid::now_v7();
    env.aggregate = styr_store::AggregateRef::new("body", "forged");
    env.event_type = "BodyEstablished".into();
    env.provenance = serde_json::from_value(serde_json::json!({
        "decided_by": {"kind": "body", "body": "kf", "meeting_date": "2026-11-21", "paragraph": "667"},
        "effective_date": "2026-11-21"}))
    .unwrap();
    env.payload = serde_json::json!({"body": "forged", "kind": "committee", "name": "Förfalskade nämnden", "area": "allt"});
    env.idempotency_key = "forged".into();
    env.prev_hash = ChainHash::of_event(&raw);
    env.signature = None;
    let forged = sign_envelope(serde_json::to_vec(&env).unwrap(), &forger());
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Nats-Expected-Last-Sequence", last.to_string());
    let js = async_nats::jetstream::new(nats.client().await);
    js.publish_with_headers("styr.vimmerby.body.forged", headers, forged.into())
        .await
        .unwrap()
        .await
        .unwrap();

    let b = verify_stream(&store, &k, Options::default())
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(b.sequence, last + 1, "{b}");
    assert!(b.foreign[0].reason.contains("signatur"), "{b:?}");
    // It is in nobody's audit trail as a KF decision.
    projector.catch_up(&store, &k).await.unwrap();
    assert!(
        styr_projections::history(projector.view(), &k, "body/forged")
            .unwrap()
            .is_empty()
    );
    // The service goes on, chaining to the last genuine event, not to it.
    let bun = nats.client_as("bun-sekreterare").await;
    let r = ask(
        &bun,
        "styrkedja.api.vimmerby.submit",
        bun_status("after-forgery"),
    )
    .await;
    assert_eq!(r["outcome"], "recorded", "{r}");
    let next = store.read(&k, last + 2).await.unwrap();
    assert_eq!(next[0].envelope.prev_hash, ChainHash::of_event(&raw));
    let b = verify_stream(&store, &k, Options::default())
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(b.foreign.len(), 1);
}

#[tokio::test]
async fn a_rotation_that_cannot_be_recorded_leaves_the_old_key_in_force() {
    let mut nats = TestNats::start().await;
    let store = nats.shared_store().await;
    let k = vimmerby();
    let kommuner = Kommuner::new(store.clone());
    for s in &example::vimmerby().unwrap()[..30] {
        kommuner.submit(&k, s.clone()).await.unwrap();
    }
    let before = store.chain_head(&k).await.unwrap().key.unwrap().id;
    let cp = Checkpointer { store: &store };
    // The append of the rotation fails: the server is gone.
    nats.server.kill();
    assert!(cp.rotate_key(&k).await.is_err());
    nats.server.restart().await.unwrap();
    // The old key is still the one in force, and everything still verifies
    // and signs.
    assert_eq!(store.chain_head(&k).await.unwrap().key.unwrap().id, before);
    cp.checkpoint(&k).await.unwrap();
    assert!(verify_stream(&store, &k, Options::default())
        .await
        .unwrap()
        .is_ok());
    // A later rotation succeeds and is verified.
    let new = cp.rotate_key(&k).await.unwrap();
    assert_ne!(new, before);
    cp.checkpoint(&k).await.unwrap();
    let r = verify_stream(&store, &k, Options::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.keys, vec![before, new]);
}

#[tokio::test]
async fn the_revisor_exports_and_verifies_with_its_own_credentials() {
    let (nats, store, _kommuner, _projector) = served().await;
    let k = vimmerby();
    let revisor = EventStore::connect(&nats.user_url("revisor"), Default::default())
        .await
        .unwrap();
    let mut buf = Vec::new();
    let header = write_export(&revisor, &k, None, &mut buf).await.unwrap();
    assert_eq!(header.last_sequence, store.last_sequence(&k).await.unwrap());
    let (_, entries) = read_export(&buf[..]).unwrap();
    let offline = verify(&entries, header.last_sequence, Options::default()).unwrap();
    let live = verify_stream(&revisor, &k, Options::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(offline.head_hash, live.head_hash);
    // … and cannot submit.
    let (address, options) = styr_store::connect_options(&nats.user_url("revisor"));
    let client = options
        .request_timeout(Some(std::time::Duration::from_millis(500)))
        .connect(address)
        .await
        .unwrap();
    assert!(client
        .request(
            "styrkedja.api.vimmerby.submit",
            serde_json::to_vec(&bun_status("revisor-try"))
                .unwrap()
                .into()
        )
        .await
        .is_err());
}
