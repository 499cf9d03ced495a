//! Phase 3: the section name table (`.shstrtab`), reused in place or rebuilt.
//!
//! When the old table lies inside the copied prefix and no new name is needed, the kept
//! sections keep their `sh_name` offsets and the table costs nothing. Otherwise a new table
//! holds only the kept names (and `.gnu_debuglink` when one is added), with suffix sharing.

use super::Input;
use super::fate::Fate;

/// The kept sections' names in the output.
pub(super) struct SectionNames {
    /// The old table is reused where it is.
    pub(super) reused: bool,
    /// Each input section's `sh_name` in the output.
    pub(super) name_off: Vec<u32>,
    /// The new table's bytes (empty when reused).
    pub(super) table: Vec<u8>,
    /// The added `.gnu_debuglink` section's `sh_name`.
    pub(super) debuglink_name: u32,
}

impl SectionNames {
    /// The old table, where it is: every section keeps its `sh_name`.
    pub(super) fn reuse(input: &Input<'_, '_>) -> Self {
        SectionNames {
            reused: true,
            name_off: input.elf.shdrs.iter().map(|s| s.sh_name as u32).collect(),
            table: Vec::new(),
            debuglink_name: 0,
        }
    }

    /// A new table with the names of the sections `fate` keeps, and `.gnu_debuglink` when
    /// `add_debuglink`.
    pub(super) fn rebuild(input: &Input<'_, '_>, fate: &[Fate], add_debuglink: bool) -> Self {
        let kept = || (1..input.n).filter(|&i| fate[i].is_kept());
        let mut wanted: Vec<&str> = kept().map(|i| input.names[i].as_str()).collect();
        if add_debuglink {
            wanted.push(".gnu_debuglink");
        }
        let (table, offsets) = build_strtab(&wanted);
        let mut name_off = vec![0u32; input.n];
        let mut k = 0;
        for i in kept() {
            name_off[i] = offsets[k];
            k += 1;
        }
        SectionNames {
            reused: false,
            name_off,
            table,
            debuglink_name: if add_debuglink { offsets[k] } else { 0 },
        }
    }
}

/// A string table holding `names` (with suffix sharing: `.rela.plt` also gives `.plt`).
/// Returns the table and each name's offset, in the order given.
fn build_strtab(names: &[&str]) -> (Vec<u8>, Vec<u32>) {
    let mut order: Vec<usize> = (0..names.len()).collect();
    // Sort by reversed bytes, longest first among equal suffixes, so a name that is a suffix
    // of the one before it can share its bytes.
    order.sort_by(|&a, &b| {
        let ra = names[a].bytes().rev();
        let rb = names[b].bytes().rev();
        rb.cmp(ra)
    });
    let mut table = vec![0u8];
    let mut offsets = vec![0u32; names.len()];
    let mut prev: Option<(&str, u32)> = None;
    for &k in &order {
        let name = names[k];
        if name.is_empty() {
            offsets[k] = 0;
            continue;
        }
        if let Some((p, off)) = prev
            && p.ends_with(name)
        {
            offsets[k] = off + (p.len() - name.len()) as u32;
            continue;
        }
        let off = table.len() as u32;
        table.extend_from_slice(name.as_bytes());
        table.push(0);
        offsets[k] = off;
        prev = Some((name, off));
    }
    (table, offsets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtab_shares_suffixes() {
        let (t, o) = build_strtab(&[".plt", ".rela.plt", ".text", "", ".data"]);
        assert_eq!(t, b"\0.text\0.rela.plt\0.data\0");
        let at = |k: usize| crate::elf::file::cstr_at(&t, o[k] as usize).unwrap();
        assert_eq!(at(0), b".plt");
        assert_eq!(at(1), b".rela.plt");
        assert_eq!(at(2), b".text");
        assert_eq!(at(3), b"");
        assert_eq!(at(4), b".data");
    }
}
