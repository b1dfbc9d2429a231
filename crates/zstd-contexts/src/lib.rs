//! sled's compression, with one zstd context per thread instead of one per
//! call.
//!
//! sled 0.34 compresses every page fragment it writes (`use_compression`)
//! through `zstd::block::compress`, reads them back through
//! `zstd::stream::decode_all`, and its page-table snapshots through
//! `zstd::block::decompress`. The zstd crate makes a fresh context for each of
//! those calls; making one runs `cpuid`, which on a virtual machine is a trap
//! to the hypervisor: a third of a projection rebuild went there. This crate
//! stands in for the zstd crate (the workspace patches `zstd` with it, so
//! only sled sees it) with the three functions sled calls, over
//! [`zstd_safe`], keeping each thread's contexts for its life.
//!
//! It also leaves small fragments as they are: a fragment under
//! [`SMALLEST_COMPRESSED`] bytes (an inserted key and value) shrinks by under
//! a third and costs about as much to compress (~7 µs here) as a node of
//! several kilobytes, which shrinks four- to fivefold.
//! So every buffer this crate writes starts with one byte saying which it
//! is, [`STORED`] or [`COMPRESSED`] (a zstd frame follows); the bytes are
//! read only by this crate, in a projection folder that is a cache.

use std::cell::RefCell;
use std::io;

/// The first byte of a fragment kept as it is.
pub const STORED: u8 = 0;
/// The first byte of a fragment compressed as one zstd frame.
pub const COMPRESSED: u8 = 1;
/// Fragments shorter than this are stored as they are.
pub const SMALLEST_COMPRESSED: usize = 1024;

thread_local! {
    static COMPRESSOR: RefCell<Compressor> = RefCell::new(Compressor::new());
    static DECOMPRESSOR: RefCell<zstd_safe::DCtx<'static>> =
        RefCell::new(zstd_safe::create_dctx());
}

/// The largest fragment a frame may say it holds (a header naming more is
/// damage, not a reason to reserve that much).
const LARGEST_FRAGMENT: usize = 1 << 30;

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
    /// Room for the largest frame so far: written into, then copied out at
    /// its length (a fresh buffer of zstd's bound each call would touch
    /// fresh pages for nodes of several kilobytes).
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

pub mod block {
    use super::*;

    /// `data` tagged, and compressed at `level` when it is long enough.
    pub fn compress(data: &[u8], level: i32) -> io::Result<Vec<u8>> {
        if data.len() < SMALLEST_COMPRESSED {
            let mut out = Vec::with_capacity(data.len() + 1);
            out.push(STORED);
            out.extend_from_slice(data);
            return Ok(out);
        }
        with_compressor(|c| {
            c.scratch.clear();
            c.scratch.reserve(zstd_safe::compress_bound(data.len()));
            c.context
                .compress(&mut c.scratch, data, level)
                .map_err(zstd_error)?;
            let mut out = Vec::with_capacity(c.scratch.len() + 1);
            out.push(COMPRESSED);
            out.extend_from_slice(&c.scratch);
            Ok(out)
        })
    }

    /// What [`compress`] was given, if it is at most `capacity` bytes.
    pub fn decompress(data: &[u8], capacity: usize) -> io::Result<Vec<u8>> {
        let out = super::decompress(data)?;
        if out.len() > capacity {
            return Err(invalid("decompressed data over the capacity given"));
        }
        Ok(out)
    }
}

pub mod stream {
    use super::*;

    /// What [`block::compress`](super::block::compress) was given, read
    /// whole from `source`.
    pub fn decode_all<R: io::Read>(mut source: R) -> io::Result<Vec<u8>> {
        let mut input = Vec::new();
        source.read_to_end(&mut input)?;
        super::decompress(&input)
    }
}

fn decompress(data: &[u8]) -> io::Result<Vec<u8>> {
    match data.split_first() {
        Some((&STORED, rest)) => Ok(rest.to_vec()),
        Some((&COMPRESSED, frame)) => {
            let size = zstd_safe::get_frame_content_size(frame);
            if size >= zstd_safe::CONTENTSIZE_ERROR {
                return Err(invalid("zstd frame without its content size"));
            }
            // A damaged header could name any size; no fragment sled
            // writes comes near this.
            let size = usize::try_from(size)
                .ok()
                .filter(|&n| n <= LARGEST_FRAGMENT)
                .ok_or_else(|| invalid("zstd frame larger than any fragment"))?;
            let mut out = Vec::with_capacity(size);
            with_decompressor(|d| d.decompress(&mut out, frame)).map_err(zstd_error)?;
            if out.len() != size {
                return Err(invalid("zstd frame shorter than its content size"));
            }
            Ok(out)
        }
        Some(_) => Err(invalid("unknown fragment tag")),
        None => Err(invalid("empty fragment")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(len: usize) -> Vec<u8> {
        // JSON-like and repetitive, as sled's nodes are.
        let line = br#"{"kommun":"k001","seq":12345,"kind":"utfall","value":42.5},"#;
        line.iter().copied().cycle().take(len).collect()
    }

    #[test]
    fn every_size_reads_back_as_written() {
        for len in [
            0,
            1,
            100,
            SMALLEST_COMPRESSED - 1,
            SMALLEST_COMPRESSED,
            5000,
            300_000,
        ] {
            let data = sample(len);
            let packed = block::compress(&data, 1).unwrap();
            assert_eq!(stream::decode_all(&packed[..]).unwrap(), data, "{len}");
            assert_eq!(block::decompress(&packed, len).unwrap(), data, "{len}");
        }
    }

    #[test]
    fn small_fragments_are_stored_and_large_ones_shrink() {
        let small = block::compress(&sample(SMALLEST_COMPRESSED - 1), 1).unwrap();
        assert_eq!(small[0], STORED);
        assert_eq!(small.len(), SMALLEST_COMPRESSED);
        let large = block::compress(&sample(8000), 1).unwrap();
        assert_eq!(large[0], COMPRESSED);
        assert!(large.len() < 1000, "{}", large.len());
    }

    #[test]
    fn damaged_fragments_are_errors_not_panics() {
        let packed = block::compress(&sample(5000), 1).unwrap();
        for bad in [
            &[][..],
            &[7, 1, 2, 3][..],
            &packed[..packed.len() / 2],
            &[COMPRESSED, 0x28, 0xb5, 0x2f][..],
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
        let mut frame = vec![COMPRESSED, 0x28, 0xb5, 0x2f, 0xfd, 0xe0];
        frame.extend_from_slice(&(1u64 << 40).to_le_bytes());
        frame.extend_from_slice(&[0; 8]);
        let e = stream::decode_all(&frame[..]).unwrap_err();
        assert!(e.to_string().contains("larger than any fragment"), "{e}");
    }

    #[test]
    fn a_context_in_use_is_not_borrowed_twice() {
        let data = sample(4000);
        let inner = with_compressor(|_| block::compress(&data, 1).unwrap());
        assert_eq!(inner[0], COMPRESSED);
        let back = with_decompressor(|_| stream::decode_all(&inner[..]).unwrap());
        assert_eq!(back, data);
    }

    #[test]
    fn threads_keep_contexts_of_their_own() {
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
