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
