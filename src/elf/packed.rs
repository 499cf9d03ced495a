//! Recognising UPX-packed executables without unpacking them.
//!
//! UPX writes an `l_info` block right after the program headers (`l_checksum`, then the magic
//! `UPX!`, `l_lsize`, `l_version`, `l_format`), followed by `p_info` (`p_progid`, `p_filesize`,
//! `p_blocksize`) and the first `b_info` block whose `b_method` byte names the compressor. At the
//! end of the file it writes a `PackHeader` that starts with `UPX!` too and holds the original
//! file size. The first is enough to say "packed"; the second only in a file without section
//! headers. The sizes are read where present.

use serde::Serialize;

use super::file::{ElfFile, read_uint};

const MAGIC: &[u8; 4] = b"UPX!";

/// What can be read about a UPX-packed file without unpacking it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpxInfo {
    /// The size of the file before packing, in bytes.
    pub original_size: Option<u64>,
    /// The compression method (`nrv2b`, `nrv2d`, `nrv2e`, `lzma`, `deflate`, `zstd`).
    pub method: Option<String>,
    /// The compression level UPX recorded (1–10).
    pub level: Option<u8>,
    /// The UPX format version byte.
    pub version: Option<u8>,
}

/// Names UPX's `M_*` method numbers.
pub fn method_name(m: u8) -> Option<&'static str> {
    Some(match m {
        2..=4 => "nrv2b",
        5..=7 => "nrv2d",
        8..=10 => "nrv2e",
        14 => "lzma",
        15 => "deflate",
        16 => "zstd",
        _ => return None,
    })
}

/// Detects UPX packing from the `l_info` block and the trailing `PackHeader`.
pub fn detect(elf: &ElfFile<'_>) -> Option<UpxInfo> {
    let little = elf.is_little_endian();
    // Program headers were bounds-checked at parse time, so this sum cannot overflow.
    let phend = if elf.phdrs.is_empty() {
        None
    } else {
        Some(elf.header.e_phoff + elf.phdrs.len() as u64 * u64::from(elf.header.e_phentsize))
    };
    let l_info = phend.and_then(|p| Some((p, elf.bytes_at(p, 12)?)));
    let l_info = l_info.filter(|(_, b)| &b[4..8] == MAGIC);
    // The trailer alone is a weak sign (any file may hold `UPX!` in its last bytes, and
    // stripping moves different bytes there): it counts only for files without section headers,
    // as UPX writes them.
    if l_info.is_none() && !elf.shdrs.is_empty() {
        return None;
    }
    let tail_len = elf.file_len().min(1024);
    let tail = elf.bytes_at(elf.file_len() - tail_len, tail_len);
    let trailer = tail.and_then(find_pack_header);
    if l_info.is_none() && trailer.is_none() {
        return None;
    }
    let mut info = UpxInfo {
        original_size: None,
        method: None,
        level: None,
        version: None,
    };
    if let Some((phend, l)) = l_info {
        info.version = Some(l[10]);
        // p_info: p_progid, p_filesize, p_blocksize, in the target's byte order.
        let p_filesize = elf.uint_at(phend + 12 + 4, 4);
        info.original_size = p_filesize.filter(|&n| n > 0);
        // First b_info: sz_unc, sz_cpr, b_method.
        info.method = elf
            .bytes_at(phend + 24 + 8, 1)
            .and_then(|m| method_name(m[0]))
            .map(str::to_string);
    }
    if let Some(ph) = trailer {
        info.version = info.version.or(Some(ph[4]));
        info.method = method_name(ph[6]).map(str::to_string).or(info.method);
        info.level = Some(ph[7]).filter(|l| (1..=10).contains(l));
        if let Some(size) = read_uint(ph, 24, 4, little).filter(|&n| n > 0) {
            info.original_size = Some(size);
        }
    }
    Some(info)
}

/// The trailing PackHeader in the file's last 1 KiB, `tail`: UPX puts it within the last few
/// hundred bytes.
fn find_pack_header(tail: &[u8]) -> Option<&[u8]> {
    let pos = tail.windows(4).rposition(|w| w[0] == b'U' && w == MAGIC)?;
    let ph = &tail[pos..];
    (ph.len() >= 32).then_some(ph)
}
