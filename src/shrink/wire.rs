//! Wire sizes: what each step of the ledger costs gzip-compressed at level 6, measured fast.
//!
//! The ledger compresses the original and every changed step. Done serially with miniz that took
//! 5–6 s on a 42.8 MB Go binary, twice one `gzip -6`. Three things make it a fraction of that:
//!
//! 1. **A deflate that finds what gzip finds, faster.** zlib-rs (through `libz-rs-sys`'s zlib
//!    API, so binslim's other gzip users keep miniz and their bytes) runs zlib's lazy-matching
//!    algorithm (`deflate_slow`) with gzip's level-6 parameters (good 8, lazy 16, nice 128,
//!    chain 128) and zlib's 3-byte rolling hash. Its own level 6 is a different algorithm that
//!    lands 0.9 % above gzip; this one lands within 0.1 % of `gzip -6` at about twice its speed.
//! 2. **Parallel chunks, as pigz does.** Every stream is cut into 1 MiB chunks, each compressed on
//!    its own with the 32 KiB before it as the dictionary, so each chunk finds the matches the
//!    serial stream would; the chunk sizes add up to within a hair of the serial stream's.
//! 3. **Shared chunks measured once.** A chunk's compressed size depends only on its bytes and
//!    its dictionary's. The strip steps keep the input's loaded prefix at the same offsets, so a
//!    chunk whose bytes and dictionary come from the same input ranges as a chunk already
//!    measured costs nothing: each step only compresses what differs (its rewritten headers and
//!    its tail).
//!
//! Sizes are those of a gzip member without a file name (`gzip -6 -c < FILE`): 10 header bytes,
//! the deflate data, 8 trailer bytes.
//!
//! **zstd** (`--wire zstd|both`, [`zstd_sizes`]): libzstd at level 3 is several times faster
//! than deflate, so each stream is compressed whole, as `zstd -3 -c FILE` does it (the content
//! size in the frame header, a checksum), one stream per core: the same bytes as the CLI of the
//! same libzstd version, no chunking error.

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use libz_rs_sys as z;

use crate::strip::{Layout, Piece, Source};

/// Output-size of each chunk, in bytes of the stream (1 MiB: big enough that the per-chunk cost,
/// a final block and a fresh dictionary, stays below 0.01 %).
const CHUNK: u64 = 1 << 20;
/// Deflate's window: each chunk is primed with this much of what precedes it.
const DICT: u64 = 32 << 10;
/// The shortest chunk worth a cut (see [`source_marks`]).
const MIN_CHUNK: u64 = 2 * DICT;
/// A gzip member's header (10 bytes, no name) and trailer (CRC-32 and length, 8 bytes).
const GZIP_OVERHEAD: u64 = 18;

/// A byte stream whose wire size to measure: pieces of a source, in order.
pub struct Stream<'a, S: Source + Sync + ?Sized> {
    src: &'a S,
    pieces: Vec<Piece<'a>>,
    len: u64,
}

impl<'a, S: Source + Sync + ?Sized> Stream<'a, S> {
    /// The first `len` bytes of `src`.
    pub fn whole(src: &'a S, len: u64) -> Self {
        let pieces = if len == 0 {
            Vec::new()
        } else {
            vec![Piece::Input { offset: 0, len }]
        };
        Stream { src, pieces, len }
    }

    /// The output of `layout`, whose input pieces are read from `src`.
    pub fn layout(src: &'a S, layout: &'a Layout) -> Self {
        let pieces: Vec<Piece<'a>> = layout.pieces().collect();
        let len = pieces.iter().map(piece_len).sum();
        Stream { src, pieces, len }
    }

    /// The stream's length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when the stream has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The pieces covering `[start, end)` of the stream, cut to that range; adjacent input pieces
    /// and adjacent zeros merged, so equal bytes from equal places give equal lists.
    fn slice(&self, start: u64, end: u64) -> Vec<Piece<'a>> {
        let mut out: Vec<Piece<'a>> = Vec::new();
        let mut at = 0u64;
        for p in &self.pieces {
            let n = piece_len(p);
            let (lo, hi) = (start.max(at), end.min(at + n));
            at += n;
            if lo >= hi {
                if at >= end {
                    break;
                }
                continue;
            }
            let (skip, take) = (lo - (at - n), hi - lo);
            let cut = match *p {
                Piece::Input { offset, .. } => Piece::Input {
                    offset: offset + skip,
                    len: take,
                },
                Piece::Data(d) => Piece::Data(&d[skip as usize..(skip + take) as usize]),
                Piece::Zeros(_) => Piece::Zeros(take),
            };
            match (out.last_mut(), cut) {
                (
                    Some(Piece::Input { offset, len }),
                    Piece::Input {
                        offset: o2,
                        len: l2,
                    },
                ) if *offset + *len == o2 => *len += l2,
                (Some(Piece::Zeros(a)), Piece::Zeros(b)) => *a += b,
                _ => out.push(cut),
            }
        }
        out
    }
}

/// Where chunks may start, in each source's offsets: the multiples of [`CHUNK`], every input
/// piece's start and end, and [`MIN_CHUNK`] past each start but the file's (so the chunk after
/// a join is short, and the one after it already has a dictionary from inside the piece).
/// Marks closer than [`MIN_CHUNK`] to the one before are dropped: every cut ends a deflate
/// block early (tens of bytes), which would show on small files with many sections. All the
/// streams of one source share its marks, so their chunks line up wherever they read the same
/// input.
fn source_marks<S: Source + Sync + ?Sized>(streams: &[Stream<'_, S>]) -> HashMap<usize, Vec<u64>> {
    let mut marks: HashMap<usize, Vec<u64>> = HashMap::new();
    for s in streams {
        let m = marks
            .entry(std::ptr::from_ref(s.src).cast::<u8>() as usize)
            .or_default();
        for p in &s.pieces {
            if let Piece::Input { offset, len } = *p {
                m.extend([offset, offset + len]);
                if offset > 0 {
                    m.push(offset + MIN_CHUNK);
                }
            }
        }
    }
    for m in marks.values_mut() {
        let end = m.iter().copied().max().unwrap_or(0);
        m.extend((1..=end / CHUNK).map(|k| k * CHUNK));
        m.sort_unstable();
        let mut last = 0;
        m.retain(|&x| {
            let keep = x >= last + MIN_CHUNK;
            if keep {
                last = x;
            }
            keep
        });
    }
    marks
}

impl<S: Source + Sync + ?Sized> Stream<'_, S> {
    /// The ends of this stream's chunks, in stream offsets, the last one its length: where an
    /// input piece reaches a source mark (its own ends included), and every [`CHUNK`] of a run
    /// of new bytes.
    fn cuts(&self, marks: &[u64]) -> Vec<u64> {
        let mut cuts = Vec::new();
        let mut at = 0u64;
        for p in &self.pieces {
            let n = piece_len(p);
            match *p {
                Piece::Input { offset, len } => {
                    let first = marks.partition_point(|&m| m < offset);
                    cuts.extend(
                        marks[first..]
                            .iter()
                            .take_while(|&&m| m <= offset + len)
                            .map(|&m| at + (m - offset)),
                    );
                }
                Piece::Data(_) | Piece::Zeros(_) => {
                    cuts.extend((1..n.div_ceil(CHUNK)).map(|k| at + k * CHUNK));
                }
            }
            at += n;
        }
        cuts.push(self.len);
        cuts.dedup();
        cuts.retain(|&c| c > 0);
        cuts
    }
}

fn piece_len(p: &Piece<'_>) -> u64 {
    match p {
        Piece::Input { len, .. } => *len,
        Piece::Data(d) => d.len() as u64,
        Piece::Zeros(n) => *n,
    }
}

/// One chunk to compress: the source, the pieces of its dictionary and data, and how many of
/// those bytes are dictionary. Equal keys mean equal bytes, hence equal compressed sizes.
#[derive(PartialEq, Eq, Hash)]
struct Key<'a> {
    src: usize,
    dict: u64,
    pieces: Vec<Piece<'a>>,
}

/// The gzip -6 size of each stream, in order. Chunks shared between streams (same source
/// ranges, same dictionary) are compressed once; the rest are compressed on all cores.
pub fn gzip_sizes<S: Source + Sync + ?Sized>(streams: &[Stream<'_, S>]) -> io::Result<Vec<u64>> {
    // Phase 1: cut every stream into chunks and give each distinct chunk one job.
    let (jobs, per_stream) = plan(streams);

    // Phase 2: compress the jobs on every core, each worker taking the next job.
    let sizes = run_jobs(&jobs)?;

    // Phase 3: each stream's size is the sum of its chunks' plus gzip's header and trailer.
    Ok(per_stream
        .iter()
        .map(|js| match js.is_empty() {
            // An empty deflate stream is one empty final block: 2 bytes.
            true => GZIP_OVERHEAD + 2,
            false => GZIP_OVERHEAD + js.iter().map(|&j| sizes[j]).sum::<u64>(),
        })
        .collect())
}

/// The zstd level of the wire figure (the `zstd` CLI's default).
pub const ZSTD_LEVEL: i32 = 3;

/// The `zstd -3 -c FILE` size of each stream, in order: each stream compressed whole as one
/// frame (content size and checksum, as the CLI writes them), the streams on all cores.
pub fn zstd_sizes<S: Source + Sync + ?Sized>(streams: &[Stream<'_, S>]) -> io::Result<Vec<u64>> {
    let lens = streams.iter().map(|s| s.len).collect();
    on_all_cores(
        lens,
        || Ok(Vec::new()),
        |buf, i| zstd_size(&streams[i], buf),
    )
}

/// Runs `job(state, i)` for every `i` of `lens` on all cores, longest first (so the workers
/// finish together), each worker with its own `init()` state; the results in order.
fn on_all_cores<T>(
    lens: Vec<u64>,
    init: impl Fn() -> io::Result<T> + Sync,
    job: impl Fn(&mut T, usize) -> io::Result<u64> + Sync,
) -> io::Result<Vec<u64>> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(lens.len())
        .max(1);
    let mut order: Vec<usize> = (0..lens.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(lens[i]));
    let next = AtomicUsize::new(0);
    let sizes = Mutex::new(vec![0u64; lens.len()]);
    let work = || -> io::Result<()> {
        let mut state = init()?;
        loop {
            let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) else {
                return Ok(());
            };
            let n = job(&mut state, i)?;
            sizes.lock().unwrap_or_else(PoisonError::into_inner)[i] = n;
        }
    };
    std::thread::scope(|sc| {
        let others: Vec<_> = (1..workers).map(|_| sc.spawn(work)).collect();
        let mut r = work();
        for h in others {
            let o = h
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("a wire-size worker panicked")));
            r = r.and(o);
        }
        r
    })?;
    Ok(sizes.into_inner().unwrap_or_else(PoisonError::into_inner))
}

/// Counts the bytes written to it.
struct Counter(u64);

impl io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One stream's zstd size, read in [`CHUNK`] pieces through `buf`.
fn zstd_size<S: Source + Sync + ?Sized>(s: &Stream<'_, S>, buf: &mut Vec<u8>) -> io::Result<u64> {
    let mut z = zstd::stream::write::Encoder::new(Counter(0), ZSTD_LEVEL)?;
    z.include_checksum(true)?;
    z.include_contentsize(true)?;
    z.set_pledged_src_size(Some(s.len))?;
    let mut start = 0;
    while start < s.len {
        let end = (start + CHUNK).min(s.len);
        fill(s.src, &s.slice(start, end), buf)?;
        io::Write::write_all(&mut z, buf)?;
        start = end;
    }
    Ok(z.finish()?.0)
}

/// The distinct chunks of all `streams` (each with its source) and, for each stream, the
/// indices of its chunks in order.
#[allow(clippy::type_complexity)]
fn plan<'a, S: Source + Sync + ?Sized>(
    streams: &[Stream<'a, S>],
) -> (Vec<(&'a S, Key<'a>)>, Vec<Vec<usize>>) {
    let marks = source_marks(streams);
    let mut jobs: Vec<(&S, Key<'_>)> = Vec::new();
    let mut index: HashMap<Key<'_>, usize> = HashMap::new();
    let mut per_stream: Vec<Vec<usize>> = Vec::with_capacity(streams.len());
    for s in streams {
        let src = std::ptr::from_ref(s.src).cast::<u8>() as usize;
        let mut mine = Vec::new();
        let mut start = 0u64;
        for end in s.cuts(&marks[&src]) {
            let dict = start.min(DICT);
            let key = Key {
                src,
                dict,
                pieces: s.slice(start - dict, end),
            };
            let job = match index.get(&key) {
                Some(&j) => j,
                None => {
                    let copy = Key {
                        src,
                        dict,
                        pieces: key.pieces.clone(),
                    };
                    index.insert(key, jobs.len());
                    jobs.push((s.src, copy));
                    jobs.len() - 1
                }
            };
            mine.push(job);
            start = end;
        }
        per_stream.push(mine);
    }
    (jobs, per_stream)
}

fn run_jobs<S: Source + Sync + ?Sized>(jobs: &[(&S, Key<'_>)]) -> io::Result<Vec<u64>> {
    let lens = jobs
        .iter()
        .map(|(_, k)| k.pieces.iter().map(piece_len).sum::<u64>() - k.dict)
        .collect();
    on_all_cores(
        lens,
        || Ok((Deflater::new()?, Vec::new())),
        |(deflater, buf), j| {
            let (src, key) = &jobs[j];
            fill(*src, &key.pieces, buf)?;
            let (dict, data) = buf.split_at(key.dict as usize);
            deflater.size(dict, data)
        },
    )
}

/// Reads `pieces` from `src` into `buf` (resized to their length).
fn fill<S: Source + Sync + ?Sized>(
    src: &S,
    pieces: &[Piece<'_>],
    buf: &mut Vec<u8>,
) -> io::Result<()> {
    let total: u64 = pieces.iter().map(piece_len).sum();
    buf.resize(total as usize, 0);
    let mut at = 0usize;
    for p in pieces {
        let n = piece_len(p) as usize;
        let dst = &mut buf[at..at + n];
        match *p {
            Piece::Input { offset, .. } => src.read_exact_at(dst, offset)?,
            Piece::Data(d) => dst.copy_from_slice(d),
            Piece::Zeros(_) => dst.fill(0),
        }
        at += n;
    }
    Ok(())
}

/// A raw deflate stream set up as gzip's level 6, reused from chunk to chunk.
struct Deflater {
    strm: Box<z::z_stream>,
    out: Vec<u8>,
}

/// zlib's (and gzip's) level-6 search parameters: good length, lazy match, nice length, chain.
const GZIP6: (i32, i32, i32, i32) = (8, 16, 128, 128);

impl Deflater {
    fn new() -> io::Result<Self> {
        // Level 9 selects zlib-rs's `deflate_slow` (zlib's lazy matcher) and zlib's 3-byte rolling
        // hash; its search parameters are then set to level 6's, as gzip uses them.
        let mut strm = Box::<z::z_stream>::default();
        // SAFETY: `strm` is a default (zeroed, no allocator) stream, boxed so it never moves
        // while zlib-rs's state points back at it; the version and size are zlib-rs's own.
        let r = unsafe {
            z::deflateInit2_(
                &mut *strm,
                9,
                z::Z_DEFLATED,
                -15,
                8,
                z::Z_DEFAULT_STRATEGY,
                z::zlibVersion(),
                std::mem::size_of::<z::z_stream>() as i32,
            )
        };
        check(r, "deflateInit2")?;
        Ok(Deflater {
            strm,
            out: vec![0; 256 << 10],
        })
    }

    /// The raw deflate size of `data` with `dict` as the preset dictionary.
    fn size(&mut self, dict: &[u8], data: &[u8]) -> io::Result<u64> {
        let s = &mut *self.strm;
        let (good, lazy, nice, chain) = GZIP6;
        // SAFETY: the stream was initialised by `new` and is reset here before each chunk; the
        // input and output pointers are valid for the lengths given for the duration of the
        // calls, and zlib-rs does not keep them past `deflate` returning.
        unsafe {
            check(z::deflateReset(s), "deflateReset")?;
            check(z::deflateTune(s, good, lazy, nice, chain), "deflateTune")?;
            if !dict.is_empty() {
                check(
                    z::deflateSetDictionary(s, dict.as_ptr(), dict.len() as u32),
                    "deflateSetDictionary",
                )?;
            }
            let mut total = 0u64;
            let mut rest = data;
            loop {
                // Feed at most 1 GiB at a time (avail_in is 32 bits).
                let k = rest.len().min(1 << 30);
                s.next_in = rest.as_ptr();
                s.avail_in = k as u32;
                s.next_out = self.out.as_mut_ptr();
                s.avail_out = self.out.len() as u32;
                let flush = if k == rest.len() {
                    z::Z_FINISH
                } else {
                    z::Z_NO_FLUSH
                };
                let r = z::deflate(s, flush);
                let used = k - s.avail_in as usize;
                rest = &rest[used..];
                total += (self.out.len() - s.avail_out as usize) as u64;
                s.next_in = std::ptr::null();
                s.next_out = std::ptr::null_mut();
                if r == z::Z_STREAM_END {
                    return Ok(total);
                }
                check(r, "deflate")?;
            }
        }
    }
}

impl Drop for Deflater {
    fn drop(&mut self) {
        // SAFETY: initialised by `new`, ended once.
        unsafe {
            z::deflateEnd(&mut *self.strm);
        }
    }
}

fn check(r: i32, what: &str) -> io::Result<()> {
    if r == z::Z_OK || r == z::Z_BUF_ERROR {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "{what} failed with zlib code {r}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        // Compressible but not trivial: a text-like sequence with repeats far apart.
        let mut v = Vec::new();
        let mut x = 12345u32;
        while v.len() < 3 << 20 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let word = (x >> 16) % 500;
            v.extend_from_slice(format!("w{word} ").as_bytes());
        }
        v
    }

    #[test]
    fn chunked_size_is_within_a_hair_of_one_stream() {
        let data = sample();
        let mut one = Deflater::new().unwrap();
        let serial = GZIP_OVERHEAD + one.size(&[], &data).unwrap();
        let chunked = gzip_sizes(&[Stream::whole(&data[..], data.len() as u64)]).unwrap()[0];
        let diff = (chunked as f64 - serial as f64).abs() / serial as f64;
        assert!(diff < 0.001, "{chunked} vs {serial}");
    }

    #[test]
    fn slices_merge_adjacent_pieces() {
        let data = [0u8; 10];
        let s = Stream {
            src: &data[..],
            pieces: vec![
                Piece::Input { offset: 0, len: 4 },
                Piece::Input { offset: 4, len: 4 },
                Piece::Zeros(2),
                Piece::Zeros(3),
                Piece::Data(b"abc"),
            ],
            len: 16,
        };
        assert_eq!(
            s.slice(1, 15),
            vec![
                Piece::Input { offset: 1, len: 7 },
                Piece::Zeros(5),
                Piece::Data(b"ab")
            ]
        );
    }

    #[test]
    fn chunks_shared_by_streams_are_compressed_once() {
        // A 5 MiB "file" and a "stripped" copy: a new 64-byte header, the next 3 MiB of the file
        // kept in place, then 100 new bytes. Only the header's chunk, the chunk after the
        // header join and the tail are compressed for the copy.
        let data = sample();
        let data = [&data[..], &data[..], &data[..]].concat()[..5 << 20].to_vec();
        let header = [7u8; 64];
        let tail = [9u8; 100];
        let copy = Stream {
            src: &data[..],
            pieces: vec![
                Piece::Data(&header),
                Piece::Input {
                    offset: 64,
                    len: (3 << 20) - 64,
                },
                Piece::Data(&tail),
            ],
            len: (3 << 20) + 100,
        };
        let whole = Stream::whole(&data[..], data.len() as u64);
        let streams = [whole, copy];
        let (jobs, per_stream) = plan(&streams);
        let bytes = |js: &[usize]| -> u64 {
            js.iter()
                .map(|&j| {
                    let k = &jobs[j].1;
                    k.pieces.iter().map(piece_len).sum::<u64>() - k.dict
                })
                .sum()
        };
        let all: Vec<usize> = (0..jobs.len()).collect();
        assert_eq!(bytes(&per_stream[0]), 5 << 20);
        assert_eq!(bytes(&per_stream[1]), (3 << 20) + 100);
        // Compressed: the whole file once, plus the copy's first 64 KiB + 64 bytes (its header
        // chunk, which differs) and its last chunk (the end of the kept part and the new tail).
        let extra = bytes(&all) - (5 << 20);
        assert!(extra <= MIN_CHUNK + 64 + CHUNK + 100, "{extra}");
        assert!(extra >= MIN_CHUNK + 64 + 100, "{extra}");
        // The sizes agree with measuring the copy alone, within a hair.
        let together = gzip_sizes(&streams).unwrap();
        let alone = gzip_sizes(&streams[1..]).unwrap();
        let d = (together[1] as f64 - alone[0] as f64).abs() / alone[0] as f64;
        assert!(d < 0.001, "{together:?} vs {alone:?}");
    }

    #[test]
    fn zstd_size_is_the_size_of_one_frame() {
        let data = sample();
        let sizes = zstd_sizes(&[
            Stream::whole(&data[..], data.len() as u64),
            Stream::whole(&data[..], 0),
        ])
        .unwrap();
        let mut z = zstd::stream::write::Encoder::new(Vec::new(), ZSTD_LEVEL).unwrap();
        z.include_checksum(true).unwrap();
        z.set_pledged_src_size(Some(data.len() as u64)).unwrap();
        io::Write::write_all(&mut z, &data).unwrap();
        assert_eq!(sizes[0], z.finish().unwrap().len() as u64);
        // `printf '' | zstd -3 -c | wc -c` prints 13 (the CLI pledges 0 bytes: header, empty
        // block, checksum).
        assert_eq!(sizes[1], 13);
    }

    #[test]
    fn empty_stream_is_a_bare_gzip_member() {
        let data = [0u8; 0];
        assert_eq!(
            gzip_sizes(&[Stream::whole(&data[..], 0)]).unwrap(),
            vec![20]
        );
    }
}
