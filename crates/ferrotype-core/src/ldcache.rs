//! The dynamic loader's cache, `/etc/ld.so.cache`, read without running `ldconfig`.
//!
//! This module owns two things:
//!
//! 1. A bounds-checked parser for glibc's cache file: the current
//!    `glibc-ld.so.cache1.1` format, the old `ld.so-1.7.0` format, and the old
//!    format with the new one embedded after it. Malformed input never panics;
//!    it is reported as `None` (no cache), which is also what `ldconfig -p`
//!    gives a caller when it refuses such a file.
//! 2. The first step of `ctypes.util.find_library` on Linux
//!    (`_findSoname_ldconfig`). ctypes defines that step as "run
//!    `/sbin/ldconfig -p` and take the first match of the regex
//!    `\s+(lib<name>\.[^\s]+)\s+\(<abi>` over its output". So rather than
//!    approximating the regex on parsed entries, we render the exact text
//!    `ldconfig -p` prints (once, when the cache is parsed) and match that text
//!    by hand. The invariant is: for any cache file, [`LdCache::find_soname`]
//!    returns the same bytes ctypes' regex would capture.
//!
//! The system cache is read once per process and kept ([`system_cache`]); a
//! cache rewritten on disk while the process runs is not noticed, which is
//! fine for a library lookup.

use std::ffi::CStr;
use std::ops::Range;
use std::sync::OnceLock;

/// Where glibc's `ldconfig` writes the cache, and where `ldconfig -p` reads it.
pub const DEFAULT_CACHE_PATH: &str = "/etc/ld.so.cache";

/// The program ctypes runs for the first step of `find_library`. When it cannot
/// be run ctypes silently skips the step, so we must skip it too.
const LDCONFIG: &str = "/sbin/ldconfig";

// ---------------------------------------------------------------------------
// File layout (glibc `sysdeps/generic/dl-cache.h`). All integers are in the
// host's byte order: the cache is only ever read on the machine that wrote it.
// ---------------------------------------------------------------------------

/// `CACHEMAGIC`: magic of the old format's `struct cache_file`.
const MAGIC_OLD: &[u8] = b"ld.so-1.7.0";
/// `CACHEMAGIC_NEW` followed by `CACHE_VERSION`: the new format's first 20 bytes.
const MAGIC_NEW: &[u8] = b"glibc-ld.so.cache1.1";
/// `sizeof (struct cache_file)`: magic (11), one padding byte, `nlibs` (4).
const OLD_HEADER_SIZE: usize = 16;
/// `sizeof (struct file_entry)`: `flags`, `key`, `value`, 4 bytes each.
const OLD_ENTRY_SIZE: usize = 12;
/// `sizeof (struct cache_file_new)`: magic and version (20), `nlibs` (4),
/// `len_strings` (4), `flags` (1) and 3 padding bytes, `extension_offset` (4),
/// 3 unused words (12).
const NEW_HEADER_SIZE: usize = 48;
/// `sizeof (struct file_entry_new)`: `flags`, `key`, `value`, `osversion` (4
/// bytes each), `hwcap` (8).
const NEW_ENTRY_SIZE: usize = 24;
/// `__alignof__ (struct cache_file_new)`, which `ldconfig` uses to place a new
/// cache after an old one. It is the alignment of the `uint64_t hwcap` field,
/// so 8 on most targets but 4 on i386; Rust's `u64` follows the C ABI here.
const NEW_HEADER_ALIGN: usize = std::mem::align_of::<u64>();

/// Offsets of the fields we read inside `struct cache_file_new`.
const NEW_NLIBS_AT: usize = 20;
const NEW_FLAGS_AT: usize = 28;
const NEW_EXTENSION_OFFSET_AT: usize = 32;

/// The low two bits of `cache_file_new.flags` record the writer's byte order.
const ENDIAN_MASK: u8 = 3;
/// Written by an `ldconfig` that predates the endianness field: accepted.
const ENDIAN_UNSET: u8 = 0;
/// Explicitly invalid: `ldconfig -p` refuses the file.
const ENDIAN_INVALID: u8 = 1;
const ENDIAN_LITTLE: u8 = 2;
const ENDIAN_BIG: u8 = 3;

/// `cache_extension_magic`: first word of the extension directory.
const EXTENSION_MAGIC: u32 = 0xeaa4_2174;
/// `sizeof (struct cache_extension)` without its sections: `magic`, `count`.
const EXTENSION_HEADER_SIZE: usize = 8;
/// `sizeof (struct cache_extension_section)`: `tag`, `flags`, `offset`, `size`.
const EXTENSION_SECTION_SIZE: usize = 16;
/// Section holding the string that names the `ldconfig` which wrote the file.
const TAG_GENERATOR: u32 = 0;
/// Section holding an array of string offsets: the `glibc-hwcaps`
/// subdirectory names that entries refer to by index.
const TAG_GLIBC_HWCAPS: u32 = 1;

/// `DL_CACHE_HWCAP_EXTENSION >> 32`: in the upper half of `hwcap`, marks an
/// entry whose lower half indexes the `glibc-hwcaps` section.
const HWCAP_EXTENSION_HIGH: u64 = 1 << 30;
/// `DL_CACHE_HWCAP_ISA_LEVEL_MASK`: ISA-level bits, ignored by that test.
const HWCAP_ISA_LEVEL_MASK: u64 = 0x3ff;

/// Entry flags (glibc `sysdeps/generic/ldconfig.h`): the low byte is the
/// library type, the second byte the ABI the library requires.
const FLAG_TYPE_MASK: i32 = 0x00ff;
const FLAG_REQUIRED_MASK: i32 = 0xff00;
const FLAG_X8664_LIB64: i32 = 0x0300;
const FLAG_AARCH64_LIB64: i32 = 0x0a00;

/// Text `ldconfig -p` prints for each library type (`flags & FLAG_TYPE_MASK`):
/// libc4, ELF, libc5, libc6.
const TYPE_NAMES: [&str; 4] = ["libc4", "ELF", "libc5", "libc6"];

/// Text `ldconfig -p` prints for each required ABI (`flags & FLAG_REQUIRED_MASK`).
/// Several architectures share a spelling; `0` prints nothing.
const REQUIRED_NAMES: [(i32, &str); 18] = [
    (0x0100, ",64bit"), // FLAG_SPARC_LIB64
    (0x0200, ",IA-64"), // FLAG_IA64_LIB64
    (FLAG_X8664_LIB64, ",x86-64"),
    (0x0400, ",64bit"),      // FLAG_S390_LIB64
    (0x0500, ",64bit"),      // FLAG_POWERPC_LIB64
    (0x0600, ",N32"),        // FLAG_MIPS64_LIBN32
    (0x0700, ",64bit"),      // FLAG_MIPS64_LIBN64
    (0x0800, ",x32"),        // FLAG_X8664_LIBX32
    (0x0900, ",hard-float"), // FLAG_ARM_LIBHF
    (FLAG_AARCH64_LIB64, ",AArch64"),
    (0x0b00, ",soft-float"),    // FLAG_ARM_LIBSF
    (0x0c00, ",nan2008"),       // FLAG_MIPS_LIB32_NAN2008
    (0x0d00, ",N32,nan2008"),   // FLAG_MIPS64_LIBN32_NAN2008
    (0x0e00, ",64bit,nan2008"), // FLAG_MIPS64_LIBN64_NAN2008
    (0x0f00, ",soft-float"),    // FLAG_RISCV_FLOAT_ABI_SOFT
    (0x1000, ",double-float"),  // FLAG_RISCV_FLOAT_ABI_DOUBLE
    (0x1100, ",soft-float"),    // FLAG_LARCH_FLOAT_ABI_SOFT
    (0x1200, ",double-float"),  // FLAG_LARCH_FLOAT_ABI_DOUBLE
];

/// Operating systems named by the top byte of an entry's `osversion`, which
/// older `ldconfig`s recorded and printed as `, OS ABI: Linux 3.2.0`.
const OS_NAMES: [&str; 7] = [
    "Linux",
    "Hurd",
    "Solaris",
    "FreeBSD",
    "kNetBSD",
    "Syllable",
    "Unknown OS",
];

/// The ABI tag ctypes looks for in `ldconfig -p` output on this machine.
///
/// ctypes maps `os.uname().machine` plus the width of C `long` to a tag:
/// `x86_64-64` to `libc6,x86-64`; `ppc64-64`, `sparc64-64` and `s390x-64` to
/// `libc6,64bit`; `ia64-64` to `libc6,IA-64`; everything else to plain
/// `libc6`. The tag is matched as a *prefix* of the flags text, so on aarch64,
/// i386 or ppc64le, where it is plain `libc6`, any libc6 entry matches
/// (`libc6,AArch64`, but also e.g. a multiarch `libc6,hard-float` one). We
/// reproduce that, not a stricter per-architecture filter, because the goal is
/// ctypes' answer. A 64-bit process always runs on a kernel reporting its own
/// machine name, so the compile-time target decides the same way uname does.
pub const fn host_abi_tag() -> &'static str {
    if cfg!(not(target_pointer_width = "64")) {
        // `struct.calcsize('l') == 4`: the machine name gets `-32`, which is
        // in no entry of ctypes' map (this includes x32 on x86_64).
        "libc6"
    } else if cfg!(target_arch = "x86_64") {
        "libc6,x86-64"
    } else if cfg!(any(
        target_arch = "sparc64",
        target_arch = "s390x",
        // uname says `ppc64` only on big-endian; little-endian is `ppc64le`.
        all(target_arch = "powerpc64", target_endian = "big")
    )) {
        "libc6,64bit"
    } else {
        "libc6"
    }
}

/// One library in the cache, in the order the file lists it. The byte
/// strings are borrowed from the [`LdCache`] (or, while parsing, the file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    /// The name the loader looks up (`key`): usually the soname, such as
    /// `libc.so.6`, or the file name for development links (`libz.so`).
    pub soname: &'a [u8],
    /// The file the loader opens for it (`value`), an absolute path.
    pub path: &'a [u8],
    /// The raw entry flags: library type in the low byte, required ABI in the
    /// second byte (for example `0x0303` is `libc6,x86-64`).
    pub flags: i32,
    /// OS ABI recorded by old `ldconfig`s (top byte OS, then major, minor,
    /// patch); zero in caches written by current ones, and in the old format.
    pub osversion: u32,
    /// Hardware capabilities the entry requires; zero for ordinary entries.
    pub hwcap: u64,
    /// For an entry found in a `glibc-hwcaps/<subdir>` directory, the
    /// subdirectory name (such as `x86-64-v3`).
    pub hwcaps_subdir: Option<&'a [u8]>,
}

/// An [`Entry`] whose strings are ranges of [`LdCache::listing`], where they
/// appear verbatim; this saves keeping a second copy of every string.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Record {
    soname: Range<usize>,
    path: Range<usize>,
    flags: i32,
    osversion: u32,
    hwcap: u64,
    hwcaps_subdir: Option<Range<usize>>,
}

/// A parsed loader cache, held as the text `ldconfig -p` would print for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LdCache {
    /// What `LC_ALL=C ldconfig -p` prints for this cache.
    listing: Vec<u8>,
    records: Vec<Record>,
    generator: Option<Range<usize>>,
    /// Offsets in `listing` where ctypes' regex can start its capture group:
    /// the text there starts with `lib` right after a whitespace byte. Kept so
    /// a lookup does not scan the whole listing. Rendering appends them in
    /// increasing order; `parse` then sorts them by the byte after `lib`
    /// (stably, so each bucket stays in listing order) and a lookup only
    /// walks the bucket of its name's first byte.
    lib_starts: Vec<usize>,
}

impl LdCache {
    /// Parses the bytes of a cache file. `cache_name` is the path printed in
    /// the listing's first line, as `ldconfig -p` does.
    ///
    /// Returns `None` when `ldconfig -p` would reject the file (bad magic,
    /// foreign byte order, malformed extension data) or when any offset in it
    /// points outside the file. An empty file is a valid, empty cache.
    pub fn parse(data: &[u8], cache_name: &str) -> Option<Self> {
        if data.is_empty() {
            // `ldconfig -p` prints nothing at all for an empty file.
            return Some(Self::default());
        }
        let layout = Layout::locate(data)?;
        let nlibs = layout.nlibs();
        // `nlibs` is untrusted until every entry has been read: size the
        // buffers by what the file can hold (no record is under 12 bytes).
        let expected = (nlibs as usize).min(data.len() / OLD_ENTRY_SIZE);
        let mut cache = Self {
            // The listing is a little longer than the strings it repeats.
            listing: Vec::with_capacity(data.len() + 32 * expected),
            records: Vec::with_capacity(expected),
            generator: None,
            lib_starts: Vec::with_capacity(expected + 1),
        };
        // `%d` of an unsigned count: reinterpreted as signed, as printf does.
        let header = format!("{} libs found in cache `{cache_name}'\n", nlibs as i32);
        cache.push_line(header.as_bytes());
        for index in 0..nlibs as usize {
            let entry = layout.entry(data, index)?;
            cache.push_entry(&entry);
        }
        if let Some(generator) = layout.generator(data)? {
            let start = cache.listing.len() + GENERATOR_PREFIX.len();
            let line = [GENERATOR_PREFIX, generator, b"\n"].concat();
            cache.push_line(&line);
            cache.generator = Some(start..start + generator.len());
        }
        let listing = &cache.listing;
        cache
            .lib_starts
            .sort_by_key(|&at| byte_after_lib(listing, at));
        Some(cache)
    }

    /// Reads and parses the cache file at `path`. `None` when the file cannot
    /// be read or is not a valid cache.
    pub fn load(path: &str) -> Option<Self> {
        let data = std::fs::read(path).ok()?;
        Self::parse(&data, path)
    }

    /// The entries in file order (which is the order `ldconfig -p` prints).
    pub fn entries(&self) -> impl ExactSizeIterator<Item = Entry<'_>> + '_ {
        let text = |range: &Range<usize>| &self.listing[range.clone()];
        self.records.iter().map(move |r| Entry {
            soname: text(&r.soname),
            path: text(&r.path),
            flags: r.flags,
            osversion: r.osversion,
            hwcap: r.hwcap,
            hwcaps_subdir: r.hwcaps_subdir.as_ref().map(text),
        })
    }

    /// The generator string (such as `ldconfig (GNU libc) stable release
    /// version 2.36`), if the file records one.
    pub fn generator(&self) -> Option<&[u8]> {
        self.generator.clone().map(|range| &self.listing[range])
    }

    /// The text `LC_ALL=C ldconfig -p` prints for this cache, byte for byte.
    pub fn listing(&self) -> &[u8] {
        &self.listing
    }

    /// ctypes' `_findSoname_ldconfig(name)` on this cache, for this machine's
    /// ABI tag ([`host_abi_tag`]): the first `lib<name>.<something>` soname in
    /// cache order whose flags text starts with the tag, e.g. `libc.so.6` for
    /// `c`. `name` is the file-system encoding of the Python string.
    pub fn find_soname(&self, name: &[u8]) -> Option<&[u8]> {
        self.find_soname_for_abi(name, host_abi_tag().as_bytes())
    }

    /// As [`LdCache::find_soname`], for an explicit ABI tag such as
    /// `b"libc6,AArch64"`.
    ///
    /// This is the regex `\s+(lib<name>\.[^\s]+)\s+\(<abi>` (with `name` and
    /// `abi` taken literally) searched over [`LdCache::listing`], and returns
    /// what its group captures at the leftmost match. Because `[^\s]+` cannot
    /// cross whitespace and must be followed by whitespace, the regex never
    /// needs to backtrack into a shorter token, so a direct scan is exact.
    pub fn find_soname_for_abi(&self, name: &[u8], abi: &[u8]) -> Option<&[u8]> {
        let text = &self.listing;
        // `lib<name>.`: the byte after `lib` is the name's first, or the dot.
        let first = name.first().copied().unwrap_or(b'.');
        let bucket_at = self
            .lib_starts
            .partition_point(|&at| byte_after_lib(text, at) < first);
        let bucket = self.lib_starts[bucket_at..]
            .iter()
            .take_while(|&&at| byte_after_lib(text, at) == first);
        for &start in bucket {
            let Some(tail) = text[start + 3..]
                .strip_prefix(name)
                .and_then(|t| t.strip_prefix(b"."))
            else {
                continue;
            };
            // `[^\s]+`: at least one byte, up to the next whitespace.
            let token = tail.iter().take_while(|&&b| !is_regex_space(b)).count();
            // `\s+`: at least one whitespace byte (none means end of text).
            let gap = tail[token..]
                .iter()
                .take_while(|&&b| is_regex_space(b))
                .count();
            if token == 0 || gap == 0 {
                continue;
            }
            let opens_abi = tail[token + gap..]
                .strip_prefix(b"(")
                .is_some_and(|flags| flags.starts_with(abi));
            if opens_abi {
                let end = text.len() - tail.len() + token;
                return Some(&text[start..end]);
            }
        }
        None
    }

    /// Appends one entry's line as `print_entry` in glibc's `elf/cache.c`
    /// prints it: `\t<soname> (<flags>[, hwcap: ...][, OS ABI: ...]) => <path>`.
    fn push_entry(&mut self, entry: &Entry<'_>) {
        self.listing.push(b'\t');
        let soname = self.push_field(entry.soname, true);
        self.listing.extend_from_slice(b" (");
        push_flags_text(&mut self.listing, entry.flags);
        let mut hwcaps_subdir = None;
        if let Some(subdir) = entry.hwcaps_subdir {
            self.listing.extend_from_slice(b", hwcap: \"");
            hwcaps_subdir = Some(self.push_field(subdir, false));
            self.listing.push(b'"');
        } else if entry.hwcap != 0 {
            // `%#.16" PRIx64`: `0x` and at least 16 hex digits.
            let text = format!(", hwcap: 0x{:016x}", entry.hwcap);
            self.listing.extend_from_slice(text.as_bytes());
        }
        if entry.osversion != 0 {
            let v = entry.osversion;
            let os = OS_NAMES[((v >> 24) as usize).min(OS_NAMES.len() - 1)];
            let (major, minor, patch) = ((v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
            let text = format!(", OS ABI: {os} {major}.{minor}.{patch}");
            self.listing.extend_from_slice(text.as_bytes());
        }
        self.listing.extend_from_slice(b") => ");
        let path = self.push_field(entry.path, true);
        self.listing.push(b'\n');
        self.records.push(Record {
            soname,
            path,
            flags: entry.flags,
            osversion: entry.osversion,
            hwcap: entry.hwcap,
            hwcaps_subdir,
        });
    }

    /// Appends a string taken from the file and records the regex candidates
    /// it creates. Within an entry line, the fixed text puts whitespace only
    /// before the soname and the path (`after_space`), and before bytes that
    /// are never `l` (`(`, `h`, `"`, `=`, `O`, ...); after each field comes
    /// ` (`, `"` or a newline, so no `lib` straddles a field's end. Hence the
    /// only candidates are a field's start (when `after_space`) and positions
    /// after whitespace inside a field, which real caches never have.
    fn push_field(&mut self, field: &[u8], after_space: bool) -> Range<usize> {
        let start = self.listing.len();
        self.listing.extend_from_slice(field);
        if after_space && field.starts_with(b"lib") {
            self.lib_starts.push(start);
        }
        // `<= b' '` covers every regex `\s` byte, and this form vectorizes.
        if field.iter().fold(false, |seen, &b| seen | (b <= b' ')) {
            self.lib_starts
                .extend(lib_starts_within(field).map(|i| start + i));
        }
        start..self.listing.len()
    }

    /// Appends a whole line of free text (the count line, the generator line)
    /// and records every candidate in it. The line ends with a newline, so no
    /// candidate straddles its end.
    fn push_line(&mut self, line: &[u8]) {
        let start = self.listing.len();
        self.listing.extend_from_slice(line);
        // Scan from the byte before the line, so its first byte is tested too.
        let from = start.saturating_sub(1);
        let text = &self.listing[from..];
        self.lib_starts
            .extend(lib_starts_within(text).map(|i| from + i));
    }
}

/// The byte after the `lib` at `at` in `text`; 0 at the end of the text.
fn byte_after_lib(text: &[u8], at: usize) -> u8 {
    text.get(at + 3).copied().unwrap_or(0)
}

/// Positions `i` in `text` where `lib` starts right after a regex whitespace
/// byte (so never 0: the byte before would be outside `text`).
fn lib_starts_within(text: &[u8]) -> impl Iterator<Item = usize> + '_ {
    (1..text.len()).filter(move |&i| is_regex_space(text[i - 1]) && text[i..].starts_with(b"lib"))
}

/// `Cache generated by: `, which `print_extensions` puts before the generator.
const GENERATOR_PREFIX: &[u8] = b"Cache generated by: ";

/// Appends the flags part of an entry's line, such as `libc6,x86-64`.
fn push_flags_text(out: &mut Vec<u8>, flags: i32) {
    let kind = usize::try_from(flags & FLAG_TYPE_MASK)
        .ok()
        .and_then(|t| TYPE_NAMES.get(t))
        .copied()
        .unwrap_or("unknown");
    out.extend_from_slice(kind.as_bytes());
    let required = flags & FLAG_REQUIRED_MASK;
    match REQUIRED_NAMES.iter().find(|(flag, _)| *flag == required) {
        Some((_, text)) => out.extend_from_slice(text.as_bytes()),
        None if required == 0 => {}
        None => out.extend_from_slice(format!(",{required}").as_bytes()),
    }
}

/// `\s` of a Python bytes regex: space, `\t`, `\n`, `\r`, `\v`, `\f`. (Rust's
/// `is_ascii_whitespace` leaves out `\v`.)
fn is_regex_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Where a cache file keeps its entries, located and checked the way
/// `print_cache` in glibc's `elf/cache.c` does.
enum Layout {
    /// An old-format-only file: `nlibs` entries after the 16-byte header,
    /// strings relative to the end of the entry table.
    Old { nlibs: u32, strings_at: usize },
    /// A new-format cache whose header starts at `base` (0, or just after an
    /// old-format table). Entry strings are relative to `base`; the extension
    /// directory and the strings it points to are relative to the start of
    /// the file (`cache_extension_load` and `glibc_hwcaps_string` are handed
    /// the file, not the new header).
    New {
        base: usize,
        nlibs: u32,
        extensions: Extensions,
    },
}

impl Layout {
    /// A file that does not start with the old magic must be a new-format
    /// cache; an old-format file may carry a new-format cache after its entry
    /// table, and then only the new one is used.
    fn locate(data: &[u8]) -> Option<Self> {
        if data.len() < OLD_HEADER_SIZE {
            return None;
        }
        if !data.starts_with(MAGIC_OLD) {
            return if data.starts_with(MAGIC_NEW) {
                Self::locate_new(data, 0)
            } else {
                None
            };
        }
        let nlibs = read_u32(data, MAGIC_OLD.len() + 1)?;
        // ldconfig's own corruption check: the entry table must fit.
        if (data.len() - OLD_HEADER_SIZE) / OLD_ENTRY_SIZE < nlibs as usize {
            return None;
        }
        let table_end = OLD_HEADER_SIZE + nlibs as usize * OLD_ENTRY_SIZE;
        let new_at = table_end.next_multiple_of(NEW_HEADER_ALIGN);
        if data.len() > new_at + NEW_HEADER_SIZE && data[new_at..].starts_with(MAGIC_NEW) {
            return Self::locate_new(data, new_at);
        }
        Some(Self::Old {
            nlibs,
            strings_at: table_end,
        })
    }

    fn locate_new(data: &[u8], base: usize) -> Option<Self> {
        let header = data.get(base..base.checked_add(NEW_HEADER_SIZE)?)?;
        let endian_ok = match header[NEW_FLAGS_AT] & ENDIAN_MASK {
            ENDIAN_UNSET => true,
            ENDIAN_INVALID => false,
            ENDIAN_LITTLE => cfg!(target_endian = "little"),
            ENDIAN_BIG => cfg!(target_endian = "big"),
            _ => false, // cannot happen after masking to two bits
        };
        if !endian_ok {
            return None;
        }
        Some(Self::New {
            base,
            nlibs: read_u32(header, NEW_NLIBS_AT)?,
            extensions: Extensions::load(data, read_u32(header, NEW_EXTENSION_OFFSET_AT)?)?,
        })
    }

    fn nlibs(&self) -> u32 {
        match *self {
            Self::Old { nlibs, .. } | Self::New { nlibs, .. } => nlibs,
        }
    }

    /// Entry `index` (< `nlibs`), borrowing its strings from `data`; `None`
    /// if the record or one of its strings lies outside the file.
    fn entry<'a>(&self, data: &'a [u8], index: usize) -> Option<Entry<'a>> {
        match *self {
            Self::Old { strings_at, .. } => {
                // In bounds: `locate` checked that the table fits.
                let at = OLD_HEADER_SIZE + index * OLD_ENTRY_SIZE;
                Some(Entry {
                    flags: read_i32(data, at)?,
                    soname: read_cstr(data, strings_at, read_u32(data, at + 4)?)?,
                    path: read_cstr(data, strings_at, read_u32(data, at + 8)?)?,
                    osversion: 0,
                    hwcap: 0,
                    hwcaps_subdir: None,
                })
            }
            Self::New {
                base,
                ref extensions,
                ..
            } => {
                let at = index
                    .checked_mul(NEW_ENTRY_SIZE)?
                    .checked_add(base + NEW_HEADER_SIZE)?;
                let record = data.get(at..at.checked_add(NEW_ENTRY_SIZE)?)?;
                let hwcap = read_u64(record, 16)?;
                Some(Entry {
                    flags: read_i32(record, 0)?,
                    soname: read_cstr(data, base, read_u32(record, 4)?)?,
                    path: read_cstr(data, base, read_u32(record, 8)?)?,
                    osversion: read_u32(record, 12)?,
                    hwcap,
                    hwcaps_subdir: match extensions.hwcaps_subdir(data, hwcap) {
                        SubdirName::Found(name) => Some(name),
                        SubdirName::NotApplicable => None,
                        SubdirName::Malformed => return None,
                    },
                })
            }
        }
    }

    /// The generator string, if the file has one (`Some(None)` if not);
    /// `None` if it lies outside the file.
    fn generator<'a>(&self, data: &'a [u8]) -> Option<Option<&'a [u8]>> {
        match self {
            Self::New {
                extensions:
                    Extensions {
                        generator: Some((start, size)),
                        ..
                    },
                ..
            } => data.get(*start..start.checked_add(*size)?).map(Some),
            _ => Some(None),
        }
    }
}

/// The sections of the extension directory we use, as `(file offset, size)`.
#[derive(Default)]
struct Extensions {
    generator: Option<(usize, usize)>,
    glibc_hwcaps: Option<(usize, usize)>,
}

/// Result of resolving an entry's `glibc-hwcaps` subdirectory.
enum SubdirName<'a> {
    Found(&'a [u8]),
    /// Not a hwcaps-extension entry, or the index is out of range (which
    /// `ldconfig -p` also tolerates by printing no subdirectory).
    NotApplicable,
    /// The name's string runs off the end of the file.
    Malformed,
}

impl Extensions {
    /// Mirrors glibc's `cache_extension_load`: no directory is fine; a
    /// misaligned or truncated directory, a wrong magic, or a section reaching
    /// past the end of the file makes the whole cache invalid. Unknown tags
    /// are skipped; a repeated tag overrides the earlier section.
    fn load(data: &[u8], offset: u32) -> Option<Self> {
        let mut found = Self::default();
        if offset == 0 {
            return Some(found);
        }
        if offset % 4 != 0 {
            return None;
        }
        let at = offset as usize;
        if read_u32(data, at)? != EXTENSION_MAGIC {
            return None;
        }
        let count = read_u32(data, at + 4)? as usize;
        let sections_at = at + EXTENSION_HEADER_SIZE;
        let sections_end = count
            .checked_mul(EXTENSION_SECTION_SIZE)?
            .checked_add(sections_at)?;
        if sections_end > data.len() {
            return None;
        }
        for i in 0..count {
            let section = &data[sections_at + i * EXTENSION_SECTION_SIZE..];
            let tag = read_u32(section, 0)?;
            let start = read_u32(section, 8)? as usize;
            let size = read_u32(section, 12)? as usize;
            if start.checked_add(size).is_none_or(|end| end > data.len()) {
                return None;
            }
            match tag {
                TAG_GENERATOR => found.generator = Some((start, size)),
                TAG_GLIBC_HWCAPS => found.glibc_hwcaps = Some((start, size)),
                _ => {}
            }
        }
        Some(found)
    }

    /// glibc's `glibc_hwcaps_string`: the subdirectory name of an entry whose
    /// `hwcap` marks it as a hwcaps extension. An out-of-range index or string
    /// offset is ignored, as `ldconfig -p` ignores it.
    fn hwcaps_subdir<'a>(&self, data: &'a [u8], hwcap: u64) -> SubdirName<'a> {
        let is_extension = (hwcap >> 32) & !HWCAP_ISA_LEVEL_MASK == HWCAP_EXTENSION_HIGH;
        let Some((start, size)) = self.glibc_hwcaps else {
            return SubdirName::NotApplicable;
        };
        // The lower 32 bits are the index (truncation intended).
        let index = hwcap as u32 as usize;
        if !is_extension || index >= size / 4 {
            return SubdirName::NotApplicable;
        }
        // In bounds: `Extensions::load` checked that the section fits the file.
        let Some(string_at) = read_u32(data, start + index * 4) else {
            return SubdirName::Malformed;
        };
        if string_at as usize >= data.len() {
            return SubdirName::NotApplicable;
        }
        match read_cstr(data, 0, string_at) {
            Some(name) => SubdirName::Found(name),
            None => SubdirName::Malformed,
        }
    }
}

/// The `N`-byte array at `at`, if it lies inside `data`.
fn read_array<const N: usize>(data: &[u8], at: usize) -> Option<[u8; N]> {
    data.get(at..at.checked_add(N)?)?.try_into().ok()
}

fn read_u32(data: &[u8], at: usize) -> Option<u32> {
    read_array(data, at).map(u32::from_ne_bytes)
}

fn read_i32(data: &[u8], at: usize) -> Option<i32> {
    read_array(data, at).map(i32::from_ne_bytes)
}

fn read_u64(data: &[u8], at: usize) -> Option<u64> {
    read_array(data, at).map(u64::from_ne_bytes)
}

/// The NUL-terminated string at `base + offset`, without its NUL; `None` if
/// it starts outside `data` or has no terminator before the end.
fn read_cstr(data: &[u8], base: usize, offset: u32) -> Option<&[u8]> {
    let rest = data.get(base.checked_add(offset as usize)?..)?;
    // `CStr` finds the NUL with std's word-at-a-time memchr.
    CStr::from_bytes_until_nul(rest).ok().map(CStr::to_bytes)
}

/// The system cache, [`DEFAULT_CACHE_PATH`], parsed on first use and kept for
/// the life of the process; `None` if it is missing or invalid.
pub fn system_cache() -> Option<&'static LdCache> {
    static SYSTEM: OnceLock<Option<LdCache>> = OnceLock::new();
    SYSTEM
        .get_or_init(|| LdCache::load(DEFAULT_CACHE_PATH))
        .as_ref()
}

/// Whether ctypes could run `/sbin/ldconfig`. If it cannot (a minimal
/// container, say), ctypes' `Popen` raises `OSError`, the cache step finds
/// nothing and only the compiler-based search is left, whatever the cache
/// holds. We test for an executable regular file, which is what `execve`
/// needs; the exact permission class is not checked.
fn ldconfig_runnable() -> bool {
    static RUNNABLE: OnceLock<bool> = OnceLock::new();
    *RUNNABLE.get_or_init(|| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(LDCONFIG)
            .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
    })
}

/// ctypes' `_findSoname_ldconfig(name)`, answered from the system cache
/// without a subprocess: the soname bytes (such as `b"libc.so.6"` for `b"c"`),
/// or `None` where ctypes' first step finds nothing and `find_library` falls
/// back to the compiler.
///
/// `name` is the file-system encoding of the Python string (UTF-8 with
/// `surrogateescape` on Linux), matched literally.
pub fn find_soname_bytes(name: &[u8]) -> Option<&'static [u8]> {
    if !ldconfig_runnable() {
        return None;
    }
    system_cache()?.find_soname(name)
}

/// [`find_soname_bytes`] for UTF-8 names and results: `find_soname("c")` is
/// `Some("libc.so.6")` on glibc systems. A soname that is not UTF-8 is
/// converted lossily; use [`find_soname_bytes`] to get it exactly.
pub fn find_soname(name: &str) -> Option<String> {
    find_soname_bytes(name.as_bytes()).map(|s| String::from_utf8_lossy(s).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLAG_ELF_LIBC6: i32 = 0x0003;
    const LIBC6_X86_64: i32 = FLAG_ELF_LIBC6 | FLAG_X8664_LIB64;
    const LIBC6_AARCH64: i32 = FLAG_ELF_LIBC6 | FLAG_AARCH64_LIB64;

    /// One entry for the synthetic cache builder.
    struct Lib<'a> {
        soname: &'a str,
        path: &'a str,
        flags: i32,
        /// Index into the builder's hwcaps subdirectory list.
        subdir: Option<u32>,
    }

    fn lib<'a>(soname: &'a str, path: &'a str, flags: i32) -> Lib<'a> {
        Lib {
            soname,
            path,
            flags,
            subdir: None,
        }
    }

    /// Builds a new-format cache the way `ldconfig` lays it out: header,
    /// entries, string table, then (4-aligned) the extension directory,
    /// the hwcaps offset array and the generator string. `prefix` bytes of
    /// an old-format cache may come first; the new cache's own offsets are
    /// relative to its header, the extension's to the file.
    fn build_new(prefix: &[u8], libs: &[Lib], subdirs: &[&str], generator: &str) -> Vec<u8> {
        let base = prefix.len();
        let table_len = NEW_HEADER_SIZE + libs.len() * NEW_ENTRY_SIZE;
        let mut strings = Vec::new();
        let mut add = |s: &str| {
            let at = (table_len + strings.len()) as u32;
            strings.extend_from_slice(s.as_bytes());
            strings.push(0);
            at
        };
        let mut records = Vec::new();
        for l in libs {
            let key = add(l.soname);
            let value = add(l.path);
            let hwcap = l.subdir.map_or(0, |i| (1u64 << 62) | u64::from(i));
            records.extend_from_slice(&l.flags.to_ne_bytes());
            records.extend_from_slice(&key.to_ne_bytes());
            records.extend_from_slice(&value.to_ne_bytes());
            records.extend_from_slice(&0u32.to_ne_bytes());
            records.extend_from_slice(&hwcap.to_ne_bytes());
        }
        let subdir_offsets: Vec<u32> = subdirs.iter().map(|s| add(s) + base as u32).collect();

        let mut out = prefix.to_vec();
        out.extend_from_slice(MAGIC_NEW);
        out.extend_from_slice(&(libs.len() as u32).to_ne_bytes());
        out.extend_from_slice(&(strings.len() as u32).to_ne_bytes());
        let endian = if cfg!(target_endian = "little") {
            ENDIAN_LITTLE
        } else {
            ENDIAN_BIG
        };
        out.extend_from_slice(&[endian, 0, 0, 0]);
        let ext_at_pos = out.len();
        out.extend_from_slice(&[0; 16]); // extension_offset + unused[3]
        out.extend_from_slice(&records);
        out.extend_from_slice(&strings);
        while out.len() % 4 != 0 {
            out.push(0);
        }
        let ext_at = out.len() as u32;
        out[ext_at_pos..ext_at_pos + 4].copy_from_slice(&ext_at.to_ne_bytes());
        let sections = if subdirs.is_empty() { 1u32 } else { 2 };
        let hwcaps_at = ext_at + 8 + sections * 16;
        let hwcaps_size = 4 * subdirs.len() as u32;
        out.extend_from_slice(&EXTENSION_MAGIC.to_ne_bytes());
        out.extend_from_slice(&sections.to_ne_bytes());
        for word in [
            TAG_GENERATOR,
            0,
            hwcaps_at + hwcaps_size,
            generator.len() as u32,
        ] {
            out.extend_from_slice(&word.to_ne_bytes());
        }
        if !subdirs.is_empty() {
            for word in [TAG_GLIBC_HWCAPS, 0, hwcaps_at, hwcaps_size] {
                out.extend_from_slice(&word.to_ne_bytes());
            }
        }
        for offset in subdir_offsets {
            out.extend_from_slice(&offset.to_ne_bytes());
        }
        out.extend_from_slice(generator.as_bytes());
        out
    }

    /// An old-format cache (`nlibs` entries) with its own strings, optionally
    /// followed by alignment padding and a new-format cache.
    fn build_old(libs: &[Lib], pad_to: Option<usize>) -> Vec<u8> {
        let mut strings = Vec::new();
        let mut records = Vec::new();
        for l in libs {
            for (i, s) in [l.soname, l.path].into_iter().enumerate() {
                if i == 0 {
                    records.extend_from_slice(&l.flags.to_ne_bytes());
                }
                records.extend_from_slice(&(strings.len() as u32).to_ne_bytes());
                strings.extend_from_slice(s.as_bytes());
                strings.push(0);
            }
        }
        let mut out = MAGIC_OLD.to_vec();
        out.push(0);
        out.extend_from_slice(&(libs.len() as u32).to_ne_bytes());
        out.extend_from_slice(&records);
        if let Some(align) = pad_to {
            while out.len() % align != 0 {
                out.push(0);
            }
        } else {
            out.extend_from_slice(&strings);
        }
        out
    }

    fn sample_libs() -> Vec<Lib<'static>> {
        vec![
            lib("libcrypto.so.3", "/lib/libcrypto.so.3", LIBC6_X86_64),
            lib(
                "libc_malloc_debug.so.0",
                "/lib/libc_malloc_debug.so.0",
                LIBC6_X86_64,
            ),
            lib("libc.so.6", "/lib32/libc.so.6", FLAG_ELF_LIBC6),
            lib("libc.so.6", "/lib/libc.so.6", LIBC6_X86_64),
            lib("libc.so", "/lib/libc.so", LIBC6_X86_64),
            lib("libm.so.6", "/lib/aarch64/libm.so.6", LIBC6_AARCH64),
            lib("libm.so.6", "/lib/libm.so.6", LIBC6_X86_64),
            lib(
                "libpython3.11.so.1.0",
                "/lib/libpython3.11.so.1.0",
                LIBC6_X86_64,
            ),
            lib("libstdc++.so.6", "/lib/libstdc++.so.6", LIBC6_X86_64),
            lib("libz.", "/lib/libz.", LIBC6_X86_64),
        ]
    }

    fn parse(data: &[u8]) -> Option<LdCache> {
        let cache = LdCache::parse(data, DEFAULT_CACHE_PATH)?;
        check_lib_starts(&cache);
        Some(cache)
    }

    /// The candidates recorded while rendering are exactly those a scan of
    /// the whole listing finds.
    fn check_lib_starts(cache: &LdCache) {
        let mut all: Vec<usize> = lib_starts_within(cache.listing()).collect();
        all.sort_by_key(|&at| byte_after_lib(cache.listing(), at));
        assert_eq!(cache.lib_starts, all);
    }

    /// The flags text as a string.
    fn flags_text(flags: i32) -> String {
        let mut out = Vec::new();
        push_flags_text(&mut out, flags);
        String::from_utf8(out).unwrap()
    }

    fn find<'a>(cache: &'a LdCache, name: &str, abi: &str) -> Option<&'a str> {
        cache
            .find_soname_for_abi(name.as_bytes(), abi.as_bytes())
            .map(|s| std::str::from_utf8(s).unwrap())
    }

    #[test]
    fn new_format_entries_and_listing() {
        let mut libs = sample_libs();
        libs.insert(
            0,
            Lib {
                subdir: Some(0),
                ..lib(
                    "libz.so.1",
                    "/lib/glibc-hwcaps/x86-64-v3/libz.so.1",
                    LIBC6_X86_64,
                )
            },
        );
        let data = build_new(&[], &libs, &["x86-64-v3"], "ldconfig (test) 2.99");
        let cache = parse(&data).unwrap();
        let entries: Vec<Entry> = cache.entries().collect();
        assert_eq!(entries.len(), libs.len());
        assert_eq!(entries[0].soname, b"libz.so.1");
        assert_eq!(entries[0].path, b"/lib/glibc-hwcaps/x86-64-v3/libz.so.1");
        assert_eq!(entries[0].hwcap, (1 << 62));
        assert_eq!(entries[0].hwcaps_subdir, Some(&b"x86-64-v3"[..]));
        assert_eq!(entries[3].flags, FLAG_ELF_LIBC6);
        assert_eq!(entries[3].hwcaps_subdir, None);
        assert_eq!(cache.generator(), Some(&b"ldconfig (test) 2.99"[..]));
        let listing = std::str::from_utf8(cache.listing()).unwrap();
        let lines: Vec<&str> = listing.lines().collect();
        assert_eq!(lines[0], "11 libs found in cache `/etc/ld.so.cache'");
        assert_eq!(
            lines[1],
            "\tlibz.so.1 (libc6,x86-64, hwcap: \"x86-64-v3\") => \
             /lib/glibc-hwcaps/x86-64-v3/libz.so.1"
        );
        assert_eq!(
            lines[3],
            "\tlibc_malloc_debug.so.0 (libc6,x86-64) => /lib/libc_malloc_debug.so.0"
        );
        assert_eq!(lines[4], "\tlibc.so.6 (libc6) => /lib32/libc.so.6");
        assert_eq!(
            lines[7],
            "\tlibm.so.6 (libc6,AArch64) => /lib/aarch64/libm.so.6"
        );
        assert_eq!(lines[12], "Cache generated by: ldconfig (test) 2.99");
        assert!(listing.ends_with('\n'));
    }

    #[test]
    fn lookup_follows_ctypes_regex() {
        let data = build_new(&[], &sample_libs(), &[], "g");
        let cache = parse(&data).unwrap();
        let x86 = "libc6,x86-64";
        // First match in cache order, with the right ABI: not the 32-bit one.
        assert_eq!(find(&cache, "c", x86), Some("libc.so.6"));
        assert_eq!(find(&cache, "m", x86), Some("libm.so.6"));
        assert_eq!(find(&cache, "crypto", x86), Some("libcrypto.so.3"));
        // Names are literal, not regex syntax.
        assert_eq!(find(&cache, "stdc++", x86), Some("libstdc++.so.6"));
        assert_eq!(find(&cache, "std.++", x86), None);
        // `lib<name>\.` then anything non-blank: not only `.so` names.
        assert_eq!(find(&cache, "python3", x86), Some("libpython3.11.so.1.0"));
        assert_eq!(find(&cache, "c.so", x86), Some("libc.so.6"));
        // `[^\s]+` needs at least one byte after the dot.
        assert_eq!(find(&cache, "z", x86), None);
        // The name must be followed by a dot, and start right after `lib`.
        assert_eq!(find(&cache, "c_malloc", x86), None);
        assert_eq!(find(&cache, "ibc", x86), None);
        assert_eq!(find(&cache, "nonexistent", x86), None);
        // The ABI tag is a prefix of the flags text: plain `libc6` (ctypes'
        // tag on aarch64 and i386) takes the first libc6 entry of any ABI.
        assert_eq!(find(&cache, "c", "libc6"), Some("libc.so.6"));
        assert_eq!(
            cache
                .find_soname_for_abi(b"m", b"libc6")
                .map(|s| s.as_ptr()),
            cache
                .find_soname_for_abi(b"m", b"libc6,AArch64")
                .map(|s| s.as_ptr()),
        );
        assert_eq!(find(&cache, "m", "libc6,AArch64"), Some("libm.so.6"));
        assert_eq!(find(&cache, "c", "libc6,AArch64"), None);
        assert_eq!(find(&cache, "crypto", "libc6,64bit"), None);
    }

    #[test]
    fn lookup_returns_first_match_in_cache_order() {
        let libs = [
            lib("libfoo.so.2", "/a/libfoo.so.2", LIBC6_X86_64),
            lib("libfoo.so.1", "/a/libfoo.so.1", LIBC6_X86_64),
        ];
        let cache = parse(&build_new(&[], &libs, &[], "g")).unwrap();
        assert_eq!(find(&cache, "foo", "libc6,x86-64"), Some("libfoo.so.2"));
    }

    #[test]
    fn lookup_matches_text_not_fields() {
        // Odd keys behave as they do under ctypes' regex over `ldconfig -p`:
        // a match can start after a blank inside a key.
        let libs = [
            lib("x libodd.so.1", "/a/odd", LIBC6_X86_64),
            lib("libodd.so 1", "/a/odd1", LIBC6_X86_64),
        ];
        let cache = parse(&build_new(&[], &libs, &[], "g")).unwrap();
        assert_eq!(find(&cache, "odd", "libc6,x86-64"), Some("libodd.so.1"));
        // A blank inside the token stops it; `(` must then follow: no match.
        let libs = [lib("libodd.so 1", "/a/odd1", LIBC6_X86_64)];
        let cache = parse(&build_new(&[], &libs, &[], "g")).unwrap();
        assert_eq!(find(&cache, "odd", "libc6,x86-64"), None);
    }

    #[test]
    fn blanks_inside_any_string_start_candidates() {
        let libs = [
            Lib {
                subdir: Some(0),
                ..lib("libk.so\t libk2.so.1", "/p q/ libp.so.1", LIBC6_X86_64)
            },
            lib("libz.so.1", "\x0blibv.so.1", LIBC6_X86_64),
        ];
        let data = build_new(&[], &libs, &["v3 libs.x"], "gen libg.so.1");
        let cache = LdCache::parse(&data, "/tmp/x libn.so").unwrap();
        check_lib_starts(&cache);
        // Only key starts and a path starting with `lib` after `\v` are followed by `(`.
        assert_eq!(find(&cache, "k2", "libc6,x86-64"), Some("libk2.so.1"));
        assert_eq!(find(&cache, "p", "libc6,x86-64"), None);
        assert_eq!(find(&cache, "g", "libc6,x86-64"), None);
    }

    #[test]
    fn flags_text_matches_ldconfig() {
        assert_eq!(flags_text(0x0303), "libc6,x86-64");
        assert_eq!(flags_text(0x0a03), "libc6,AArch64");
        assert_eq!(flags_text(0x0003), "libc6");
        assert_eq!(flags_text(0x0001), "ELF");
        assert_eq!(flags_text(0x0000), "libc4");
        assert_eq!(flags_text(0x0907), "unknown,hard-float");
        assert_eq!(flags_text(0x7f03), "libc6,32512");
        assert_eq!(flags_text(-1), "unknown,65280");
    }

    #[test]
    fn old_format_with_embedded_new_uses_the_new() {
        // Odd and even entry counts: the new header is aligned after the
        // old table either way.
        for old_count in [1, 2, 3] {
            let old_libs: Vec<Lib> = (0..old_count)
                .map(|_| lib("libold.so.1", "/old/libold.so.1", LIBC6_X86_64))
                .collect();
            let prefix = build_old(&old_libs, Some(NEW_HEADER_ALIGN));
            let data = build_new(&prefix, &sample_libs(), &["v2"], "g");
            let cache = parse(&data).unwrap();
            assert_eq!(cache.entries().len(), sample_libs().len());
            assert_eq!(find(&cache, "c", "libc6,x86-64"), Some("libc.so.6"));
            assert_eq!(find(&cache, "old", "libc6,x86-64"), None);
        }
    }

    #[test]
    fn old_format_alone() {
        let libs = [
            lib("libold.so.1", "/old/libold.so.1", 1),
            lib("libc.so.6", "/lib/libc.so.6", LIBC6_X86_64),
        ];
        let cache = parse(&build_old(&libs, None)).unwrap();
        assert_eq!(cache.entries().len(), 2);
        assert_eq!(
            std::str::from_utf8(cache.listing()).unwrap(),
            "2 libs found in cache `/etc/ld.so.cache'\n\
             \tlibold.so.1 (ELF) => /old/libold.so.1\n\
             \tlibc.so.6 (libc6,x86-64) => /lib/libc.so.6\n"
        );
        assert_eq!(find(&cache, "c", "libc6,x86-64"), Some("libc.so.6"));
    }

    #[test]
    fn empty_file_is_an_empty_cache() {
        let cache = parse(b"").unwrap();
        assert_eq!(cache.entries().len(), 0);
        assert!(cache.listing().is_empty());
        assert_eq!(cache.find_soname(b"c"), None);
    }

    #[test]
    fn rejects_what_ldconfig_rejects() {
        let good = build_new(&[], &sample_libs(), &["v3"], "g");
        assert!(parse(&good).is_some());
        // Bad magic, bad version.
        assert!(parse(b"not a cache file at all, not at all").is_none());
        let mut bad = good.clone();
        bad[17] = b'2';
        assert!(parse(&bad).is_none());
        // Explicitly invalid or foreign byte order.
        for endian in [
            ENDIAN_INVALID,
            ENDIAN_LITTLE ^ ENDIAN_BIG ^ good[NEW_FLAGS_AT],
        ] {
            let mut bad = good.clone();
            bad[NEW_FLAGS_AT] = endian;
            assert!(parse(&bad).is_none(), "endian flag {endian}");
        }
        // Unset byte order is accepted.
        let mut unset = good.clone();
        unset[NEW_FLAGS_AT] = ENDIAN_UNSET;
        assert!(parse(&unset).is_some());
        // Misaligned extension directory, or a wrong extension magic.
        let ext_at = read_u32(&good, NEW_EXTENSION_OFFSET_AT).unwrap() as usize;
        let mut bad = good.clone();
        bad[NEW_EXTENSION_OFFSET_AT..NEW_EXTENSION_OFFSET_AT + 4]
            .copy_from_slice(&(ext_at as u32 + 2).to_ne_bytes());
        assert!(parse(&bad).is_none());
        let mut bad = good.clone();
        bad[ext_at] ^= 0xff;
        assert!(parse(&bad).is_none());
        // A string offset pointing past the end of the file.
        let mut bad = good.clone();
        bad[NEW_HEADER_SIZE + 4..NEW_HEADER_SIZE + 8].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert!(parse(&bad).is_none());
        // An old header claiming more entries than the file holds.
        let mut bad = build_old(&sample_libs(), None);
        bad[12..16].copy_from_slice(&1000u32.to_ne_bytes());
        assert!(parse(&bad).is_none());
    }

    #[test]
    fn malformed_input_never_panics() {
        let mut inputs = vec![
            build_new(&[], &sample_libs(), &["x86-64-v2", "x86-64-v3"], "gen"),
            build_old(&sample_libs(), None),
        ];
        let prefix = build_old(&sample_libs()[..3], Some(NEW_HEADER_ALIGN));
        inputs.push(build_new(&prefix, &sample_libs(), &["v2"], "gen"));
        for data in inputs {
            for len in 0..data.len() {
                let _ = parse(&data[..len]);
            }
            for i in 0..data.len() {
                for flip in [0x01, 0x80, 0xff] {
                    let mut bad = data.clone();
                    bad[i] ^= flip;
                    if let Some(cache) = parse(&bad) {
                        let _ = cache.find_soname(b"c");
                    }
                }
            }
        }
    }

    #[test]
    fn host_abi_tag_is_ctypes_tag() {
        #[cfg(all(target_arch = "x86_64", target_pointer_width = "64"))]
        assert_eq!(host_abi_tag(), "libc6,x86-64");
        #[cfg(any(target_arch = "aarch64", target_arch = "x86"))]
        assert_eq!(host_abi_tag(), "libc6");
    }

    #[test]
    fn real_system_cache() {
        let Some(cache) = LdCache::load(DEFAULT_CACHE_PATH) else {
            return; // no glibc cache on this machine
        };
        check_lib_starts(&cache);
        if cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
            assert_eq!(cache.find_soname(b"c"), Some(&b"libc.so.6"[..]));
        }
        assert_eq!(cache.find_soname(b"surely-not-a-library-name"), None);
        // The process-wide lookup agrees with the freshly loaded cache.
        if ldconfig_runnable() {
            let expected = cache
                .find_soname(b"c")
                .map(|s| String::from_utf8_lossy(s).into_owned());
            assert_eq!(find_soname("c"), expected);
        }
    }

    /// What `ldconfig -p` prints for `data` written to a file named `path`,
    /// or `None` when it rejects the file; `Err` when there is no ldconfig.
    fn ldconfig_p(data: &[u8], path: &std::path::Path) -> Result<Option<Vec<u8>>, ()> {
        std::fs::write(path, data).unwrap();
        let output = std::process::Command::new(LDCONFIG)
            .arg("-C")
            .arg(path)
            .arg("-p")
            .env_clear()
            .env("LC_ALL", "C")
            .output()
            .map_err(|_| ())?;
        Ok(output.status.success().then_some(output.stdout))
    }

    #[test]
    fn synthetic_caches_match_ldconfig_p() {
        let path = std::env::temp_dir().join(format!("ferrotype-ldcache-{}", std::process::id()));
        let name = path.to_str().unwrap();
        let mut hwcaps_libs = sample_libs();
        hwcaps_libs.insert(
            0,
            Lib {
                subdir: Some(1),
                ..lib(
                    "libz.so.1",
                    "/l/glibc-hwcaps/x86-64-v3/libz.so.1",
                    LIBC6_X86_64,
                )
            },
        );
        let mut cases = vec![
            build_new(&[], &sample_libs(), &[], "ldconfig (test)"),
            build_new(&[], &hwcaps_libs, &["x86-64-v2", "x86-64-v3"], "gen"),
            build_old(&sample_libs(), None),
            build_new(
                &build_old(&sample_libs()[..3], Some(NEW_HEADER_ALIGN)),
                &hwcaps_libs,
                &["a", "b"],
                "g",
            ),
            build_new(
                &build_old(&sample_libs()[..2], Some(NEW_HEADER_ALIGN)),
                &sample_libs(),
                &[],
                "g",
            ),
        ];
        // Rejected files must be rejected by both.
        let mut foreign = cases[0].clone();
        foreign[NEW_FLAGS_AT] ^= ENDIAN_LITTLE ^ ENDIAN_BIG;
        let mut bad_ext = cases[1].clone();
        let ext_at = read_u32(&bad_ext, NEW_EXTENSION_OFFSET_AT).unwrap() as usize;
        bad_ext[ext_at] ^= 1;
        cases.extend([foreign, bad_ext, b"garbage garbage garbage".to_vec()]);
        for (i, data) in cases.iter().enumerate() {
            let Ok(expected) = ldconfig_p(data, &path) else {
                return; // no ldconfig on this machine
            };
            let ours = LdCache::parse(data, name).map(|c| {
                check_lib_starts(&c);
                c.listing().to_vec()
            });
            assert_eq!(
                ours.as_deref().map(String::from_utf8_lossy),
                expected.as_deref().map(String::from_utf8_lossy),
                "case {i}"
            );
        }
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn listing_is_byte_identical_to_ldconfig_p() {
        let Some(cache) = LdCache::load(DEFAULT_CACHE_PATH) else {
            return;
        };
        let Ok(output) = std::process::Command::new(LDCONFIG)
            .arg("-p")
            .env_clear()
            .env("LC_ALL", "C")
            .env("LANG", "C")
            .output()
        else {
            return; // no ldconfig to compare with
        };
        assert!(output.status.success());
        assert_eq!(
            String::from_utf8_lossy(cache.listing()),
            String::from_utf8_lossy(&output.stdout)
        );
    }
}
