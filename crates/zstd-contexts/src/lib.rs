//! sled's compression, with one zstd context per thread instead of one per
//! call.
//!
//! sled 0.34 (`use_compression`) compresses every message it writes to its
//! log — page fragments, blobs, its page-table snapshots — through
//! `zstd::block::compress`, and reads them back through
//! `zstd::stream::decode_all` (snapshots through `zstd::block::decompress`).
//! The zstd crate makes a fresh context for each of those calls; making one
//! runs `cpuid`, which on a virtual machine is a trap to the hypervisor: a
//! third of a projection rebuild went there. This crate stands in for the
//! zstd crate (the workspace patches `zstd` with it, so only sled sees it)
//! with the three functions sled calls, over [`zstd_safe`], keeping each
//! thread's contexts for its life.
//!
//! It also leaves small messages uncompressed: one under
//! [`SMALLEST_COMPRESSED`] bytes (an inserted key and value) shrinks by
//! under a third and costs about as much to compress (~7 µs here) as a node
//! of several kilobytes, which shrinks four- to fivefold. It is written as
//! a zstd frame holding one raw block — what zstd itself writes for bytes
//! it cannot shrink —, so everything this crate writes is plain zstd and
//! reads back with the zstd crate too (and this crate reads what the zstd
//! crate wrote): dropping the patch costs speed, not the folder.

use std::cell::RefCell;
use std::io;

/// Messages shorter than this are stored in a raw block.
pub const SMALLEST_COMPRESSED: usize = 1024;
// A raw frame's header here counts its size in at most two bytes.
const _: () = assert!(SMALLEST_COMPRESSED <= 1 << 16);

/// The largest message written or read (a frame header naming more is
/// damage, not a reason to reserve that much).
pub const LARGEST: usize = 1 << 30;

/// A thread's scratch buffer above this is let go after use (a large blob
/// or snapshot would otherwise keep its room for the thread's life).
const SCRATCH_KEPT: usize = 256 << 10;

thread_local! {
    static COMPRESSOR: RefCell<Compressor> = RefCell::new(Compressor::new());
    static DECOMPRESSOR: RefCell<zstd_safe::DCtx<'static>> =
        RefCell::new(zstd_safe::create_dctx());
}

/// Runs `f` with this thread's context in `kept`, or with a fresh one when
/// the thread's is out of reach (its thread-local storage already torn
/// down, or in use further up the stack).
fn with_kept<C, T>(
    kept: &'static std::thread::LocalKey<RefCell<C>>,
    fresh: fn() -> C,
    f: impl FnOnce(&mut C) -> T,
) -> T {
    let mut f = Some(f);
    let done = kept.try_with(|c| {
        c.try_borrow_mut()
            .ok()
            .map(|mut c| (f.take().expect("called once"))(&mut c))
    });
    match done {
        Ok(Some(out)) => out,
        _ => (f.take().expect("not called yet"))(&mut fresh()),
    }
}

fn with_compressor<T>(f: impl FnOnce(&mut Compressor) -> T) -> T {
    with_kept(&COMPRESSOR, Compressor::new, f)
}

fn with_decompressor<T>(f: impl FnOnce(&mut zstd_safe::DCtx<'static>) -> T) -> T {
    with_kept(&DECOMPRESSOR, zstd_safe::create_dctx, f)
}

struct Compressor {
    context: zstd_safe::CCtx<'static>,
    /// Room for a frame: written into, then copied out at its length (a
    /// fresh buffer of zstd's bound each call would touch fresh pages for
    /// nodes of several kilobytes).
    scratch: Vec<u8>,
}

impl Compressor {
    fn new() -> Self {
        Compressor {
            context: zstd_safe::create_cctx(),
            scratch: Vec::new(),
        }
    }
}

fn zstd_error(code: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("zstd: {}", zstd_safe::get_error_name(code)),
    )
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

/// `data` (under [`SMALLEST_COMPRESSED`]) as one zstd frame of one raw block, as RFC 8878
/// lays it out: the magic number; a frame header descriptor saying "single
/// segment" with a content size of one byte (or of two, counted from 256);
/// the content size; a block header (last block, type raw, its size, three
/// bytes little-endian); the bytes.
fn raw_frame(data: &[u8]) -> Vec<u8> {
    let len = data.len();
    let mut out = Vec::with_capacity(len + 10);
    out.extend_from_slice(&zstd_safe::MAGICNUMBER.to_le_bytes());
    if len < 256 {
        out.extend_from_slice(&[0b0010_0000, len as u8]);
    } else {
        out.push(0b0110_0000);
        out.extend_from_slice(&((len - 256) as u16).to_le_bytes());
    }
    let block = 1 | ((len as u32) << 3);
    out.extend_from_slice(&block.to_le_bytes()[..3]);
    out.extend_from_slice(data);
    out
}

pub mod block {
    use super::*;

    /// `data` as one zstd frame: compressed at `level` when it is long
    /// enough, a raw block when not.
    pub fn compress(data: &[u8], level: i32) -> io::Result<Vec<u8>> {
        if data.len() < SMALLEST_COMPRESSED {
            return Ok(raw_frame(data));
        }
        if data.len() > LARGEST {
            return Err(invalid("message larger than 1 GiB"));
        }
        with_compressor(|c| {
            c.scratch.clear();
            c.scratch.reserve(zstd_safe::compress_bound(data.len()));
            let written = c
                .context
                .compress(&mut c.scratch, data, level)
                .map_err(zstd_error)
                .map(|_| c.scratch.clone());
            if c.scratch.capacity() > SCRATCH_KEPT {
                c.scratch = Vec::new();
            }
            written
        })
    }

    /// What the frames in `data` hold, if it is at most `capacity` bytes.
    pub fn decompress(data: &[u8], capacity: usize) -> io::Result<Vec<u8>> {
        super::decompress(data, capacity.min(LARGEST))
    }
}

pub mod stream {
    use super::*;

    /// What the frames read whole from `source` hold.
    pub fn decode_all<R: io::Read>(mut source: R) -> io::Result<Vec<u8>> {
        let mut input = Vec::new();
        source.read_to_end(&mut input)?;
        super::decompress(&input, LARGEST)
    }
}

/// The frames in `data`, one after another, decompressed; their sizes are
/// checked against `limit` before anything is reserved.
fn decompress(mut data: &[u8], limit: usize) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let size = zstd_safe::get_frame_content_size(data);
        if size >= zstd_safe::CONTENTSIZE_ERROR {
            return Err(invalid("not a zstd frame with its content size"));
        }
        let size = usize::try_from(size)
            .ok()
            .filter(|&n| n <= limit - out.len())
            .ok_or_else(|| invalid("zstd frame larger than the room given"))?;
        let frame = zstd_safe::find_frame_compressed_size(data).map_err(zstd_error)?;
        let frame = data
            .get(..frame)
            .ok_or_else(|| invalid("zstd frame cut short"))?;
        let mut part = Vec::with_capacity(size);
        with_decompressor(|d| d.decompress(&mut part, frame)).map_err(zstd_error)?;
        if part.len() != size {
            return Err(invalid("zstd frame shorter than its content size"));
        }
        if out.is_empty() {
            out = part;
        } else {
            out.extend_from_slice(&part);
        }
        data = &data[frame.len()..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(len: usize) -> Vec<u8> {
        // JSON-like and repetitive, as sled's nodes are.
        let line = br#"{"kommun":"k001","seq":12345,"kind":"utfall","value":42.5},"#;
        line.iter().copied().cycle().take(len).collect()
    }

    /// zstd's own one-shot decompression, no context of ours.
    fn plain_zstd(frame: &[u8], len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len);
        zstd_safe::decompress(&mut out, frame).unwrap();
        out
    }

    #[test]
    fn every_size_reads_back_here_and_with_zstd_itself() {
        for len in [
            0,
            1,
            255,
            256,
            SMALLEST_COMPRESSED - 1,
            SMALLEST_COMPRESSED,
            5000,
            300_000,
        ] {
            let data = sample(len);
            let packed = block::compress(&data, 1).unwrap();
            assert_eq!(stream::decode_all(&packed[..]).unwrap(), data, "{len}");
            assert_eq!(block::decompress(&packed, len).unwrap(), data, "{len}");
            assert_eq!(plain_zstd(&packed, len), data, "{len}");
            // And what zstd writes itself (a folder written before the
            // patch, or by the zstd crate) reads here.
            let mut theirs = Vec::with_capacity(zstd_safe::compress_bound(len));
            zstd_safe::compress(&mut theirs, &data, 3).unwrap();
            assert_eq!(stream::decode_all(&theirs[..]).unwrap(), data, "{len}");
        }
    }

    #[test]
    fn small_messages_are_raw_frames_and_large_ones_shrink() {
        for (len, frame) in [(0, 9), (255, 9), (256, 10), (SMALLEST_COMPRESSED - 1, 10)] {
            let small = block::compress(&sample(len), 1).unwrap();
            assert_eq!(small.len(), len + frame, "{len}");
            assert_eq!(small[..4], zstd_safe::MAGICNUMBER.to_le_bytes());
            assert_eq!(&small[frame..], &sample(len)[..], "{len}");
        }
        let large = block::compress(&sample(8000), 1).unwrap();
        assert!(large.len() < 1000, "{}", large.len());
    }

    #[test]
    fn frames_one_after_another_read_as_one() {
        let (a, b) = (sample(300), sample(7000));
        let mut both = block::compress(&a, 1).unwrap();
        both.extend(block::compress(&b, 1).unwrap());
        assert_eq!(stream::decode_all(&both[..]).unwrap(), [a, b].concat());
    }

    #[test]
    fn damaged_messages_are_errors_not_panics() {
        let packed = block::compress(&sample(5000), 1).unwrap();
        for bad in [
            &[7, 1, 2, 3][..],
            &packed[..packed.len() / 2],
            &packed[..4],
            &block::compress(&sample(300), 1).unwrap()[..200],
        ] {
            assert!(stream::decode_all(bad).is_err(), "{bad:?}");
        }
        let mut flipped = packed.clone();
        let last = flipped.len() - 3;
        flipped[last] ^= 0xff;
        // A flipped byte inside a frame either fails or yields other bytes;
        // never a panic (sled checks its own CRC before it gets here).
        let _ = stream::decode_all(&flipped[..]);
        assert!(block::decompress(&packed, 10).is_err());
    }

    #[test]
    fn a_header_naming_a_huge_size_is_an_error_not_an_allocation() {
        // Magic, a descriptor saying "single segment, 8-byte content
        // size", then 2^40.
        let mut frame = zstd_safe::MAGICNUMBER.to_le_bytes().to_vec();
        frame.push(0xe0);
        frame.extend_from_slice(&(1u64 << 40).to_le_bytes());
        frame.extend_from_slice(&[0; 8]);
        let e = stream::decode_all(&frame[..]).unwrap_err();
        assert!(e.to_string().contains("larger than the room given"), "{e}");
    }

    #[test]
    fn a_context_in_use_is_not_borrowed_twice() {
        let data = sample(4000);
        let inner = with_compressor(|_| block::compress(&data, 1).unwrap());
        assert!(inner.len() < data.len());
        let back = with_decompressor(|_| stream::decode_all(&inner[..]).unwrap());
        assert_eq!(back, data);
    }

    #[test]
    fn threads_compress_side_by_side() {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                std::thread::spawn(move || {
                    for len in [2000 + i * 700, 50_000, 1500] {
                        let data = sample(len);
                        let packed = block::compress(&data, 1 + i as i32).unwrap();
                        assert_eq!(stream::decode_all(&packed[..]).unwrap(), data);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    }
}
