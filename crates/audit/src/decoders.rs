//! Runs of messages decoded on worker threads while the verifier links the
//! runs before them: reading heads and hashing bytes need no chain, linking
//! does, so the two overlap and a verification keeps every core busy (one
//! thread per core decodes; the caller's thread links, checks, and reads
//! the stream).

use std::collections::VecDeque;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::thread::JoinHandle;

use bytes::Bytes;
use styr_store::{ChainState, EnvelopeHead, Heads, KommunId};

/// A run of consecutive messages, with what an export claims of each
/// message's hash.
pub(crate) struct Run {
    pub messages: Vec<(u64, Bytes)>,
    pub claimed: Vec<Option<String>>,
}

/// What the caller keeps of a head (read on a worker).
pub(crate) type ReadHead<T> = for<'a, 'b> fn(&'a EnvelopeHead<'b>) -> T;

/// Messages travel to a worker and back with their heads (moved, not
/// cloned: a clone of a message counts a reference on the buffer it was
/// read into, shared by every message read with it and by every thread).
type Messages = Vec<(u64, Bytes)>;

struct Worker<T> {
    to: Sender<Messages>,
    from: Receiver<(Messages, Heads<T>)>,
    thread: Option<JoinHandle<()>>,
}

/// Worker threads decoding runs in the order they are handed over, and
/// handing them back in that order.
pub(crate) struct Decoders<T> {
    kommun: KommunId,
    read: ReadHead<T>,
    /// Started at the first run handed over; empty if none could be
    /// started (the caller's thread then decodes).
    workers: Vec<Worker<T>>,
    started: bool,
    /// Runs handed over and not yet handed back, oldest first: what an
    /// export claims of each message, and the worker that has the messages.
    in_flight: VecDeque<(Vec<Option<String>>, usize)>,
    next_worker: usize,
}

impl<T: Send + 'static> Decoders<T> {
    pub fn new(kommun: KommunId, read: ReadHead<T>) -> Self {
        Decoders {
            kommun,
            read,
            workers: Vec::new(),
            started: false,
            in_flight: VecDeque::new(),
            next_worker: 0,
        }
    }

    fn start(&mut self) {
        self.started = true;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        for i in 0..cores.clamp(1, 4) {
            let (to, jobs) = channel::<Messages>();
            let (done, from) = channel();
            let (kommun, read) = (self.kommun.clone(), self.read);
            let spawned = std::thread::Builder::new()
                .name(format!("styr-verify-{i}"))
                .spawn(move || {
                    for messages in jobs {
                        let heads = ChainState::decode_heads(&kommun, &messages, read);
                        if done.send((messages, heads)).is_err() {
                            break;
                        }
                    }
                });
            match spawned {
                Ok(thread) => self.workers.push(Worker {
                    to,
                    from,
                    thread: Some(thread),
                }),
                Err(e) => {
                    tracing::warn!(error = %e, "kunde inte starta en tråd för verifieringen");
                    break;
                }
            }
        }
    }

    /// Hands `run` over; returns the oldest run, decoded, once enough are
    /// under way that the caller should link one before handing over more
    /// (two per worker: one being decoded, one waiting).
    pub fn submit(&mut self, run: Run) -> Option<(Run, Heads<T>)> {
        if !self.started {
            self.start();
        }
        if self.workers.is_empty() {
            let heads = ChainState::decode_heads(&self.kommun, &run.messages, self.read);
            return Some((run, heads));
        }
        let oldest = if self.in_flight.len() >= 2 * self.workers.len() {
            self.next_decoded()
        } else {
            None
        };
        let w = self.next_worker;
        self.next_worker = (w + 1) % self.workers.len();
        // A worker that has stopped (it can only have panicked) is found
        // out when its run is asked back.
        let _ = self.workers[w].to.send(run.messages);
        self.in_flight.push_back((run.claimed, w));
        oldest
    }

    /// The oldest run under way, decoded; `None` when none is. A panic on
    /// a worker is resumed here, as a panic on the caller's thread.
    pub fn next_decoded(&mut self) -> Option<(Run, Heads<T>)> {
        let (claimed, w) = self.in_flight.pop_front()?;
        let worker = &mut self.workers[w];
        match worker.from.recv() {
            Ok((messages, heads)) => Some((Run { messages, claimed }, heads)),
            Err(_) => {
                let stopped = worker.thread.take().map(JoinHandle::join);
                match stopped {
                    Some(Err(panic)) => std::panic::resume_unwind(panic),
                    // It cannot stop otherwise while its channel is open.
                    _ => unreachable!("a verification worker stopped without a panic"),
                }
            }
        }
    }
}

impl<T> Drop for Decoders<T> {
    fn drop(&mut self) {
        // Closing both channels stops each worker at its next run: all of
        // them first, then each is waited for.
        let threads: Vec<_> = self.workers.drain(..).filter_map(|w| w.thread).collect();
        for thread in threads {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use styr_store::ChainHash;

    fn kommun() -> KommunId {
        KommunId::new("vimmerby").unwrap()
    }

    /// A run of `n` messages from `from`, each an envelope whose
    /// idempotency key is `k-<sequence>` (`boom` at `boom`).
    fn run(from: u64, n: u64, boom: Option<u64>) -> Run {
        let messages = (from..from + n)
            .map(|sequence| {
                let key = match boom {
                    Some(b) if b == sequence => "boom".to_owned(),
                    _ => format!("k-{sequence}"),
                };
                let envelope = styr_testkit::envelope(
                    &kommun(),
                    "g-1",
                    ("GoalAdopted", serde_json::json!({})),
                    key,
                    ChainHash::genesis(&kommun()),
                );
                (
                    sequence,
                    Bytes::from(serde_json::to_vec(&envelope).unwrap()),
                )
            })
            .collect();
        Run {
            messages,
            claimed: vec![None; n as usize],
        }
    }

    fn key_or_panic(head: &EnvelopeHead<'_>) -> String {
        assert_ne!(head.idempotency_key, "boom", "a worker met the bad message");
        head.idempotency_key.to_string()
    }

    /// Every head of a decoded run, as the sequences its keys name.
    fn sequences(heads: &Heads<String>) -> Vec<u64> {
        heads
            .values()
            .map(|key| {
                let key = key.expect("an envelope decodes");
                key.trim_start_matches("k-").parse().unwrap()
            })
            .collect()
    }

    #[test]
    fn runs_come_back_in_the_order_they_were_handed_over() {
        let mut decoders = Decoders::new(kommun(), key_or_panic);
        let mut back = Vec::new();
        // More runs than the workers hold at once, of differing lengths.
        let mut from = 1;
        for n in [5, 1, 9, 3, 7, 2, 8, 4, 6, 10, 1, 5] {
            if let Some((run, heads)) = decoders.submit(run(from, n, None)) {
                back.push((run, heads));
            }
            from += n;
        }
        while let Some(decoded) = decoders.next_decoded() {
            back.push(decoded);
        }
        let mut expected = 1;
        for (run, heads) in &back {
            let got = sequences(heads);
            let sent: Vec<u64> = run.messages.iter().map(|(s, _)| *s).collect();
            assert_eq!(got, sent, "heads belong to their own messages");
            assert_eq!(sent.first(), Some(&expected), "runs in order");
            expected += sent.len() as u64;
        }
        assert_eq!(expected, from, "every run came back");
    }

    #[test]
    fn a_panic_on_a_worker_is_a_panic_of_the_caller() {
        let mut decoders = Decoders::new(kommun(), key_or_panic);
        let mut back = Vec::new();
        back.extend(decoders.submit(run(1, 4, None)));
        let handed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            back.extend(decoders.submit(run(5, 4, Some(7))));
            while let Some(decoded) = decoders.next_decoded() {
                back.push(decoded);
            }
        }));
        let panic = handed.expect_err("the worker's panic reaches the caller");
        let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(
            message.contains("a worker met the bad message"),
            "{message}"
        );
        // The run before it came back whole, first.
        let got: Vec<Vec<u64>> = back.iter().map(|(_, heads)| sequences(heads)).collect();
        assert_eq!(got, [vec![1, 2, 3, 4]]);
    }
}
