//! Raw memory: the only place besides `call.rs` that reads and writes through raw
//! pointers. Everything above works with the safe [`OwnedBuf`] or calls the `unsafe fn`s
//! here with a documented contract.
//!
//! Values are read and written unaligned: a ctypes object may live anywhere
//! (`from_address`, `from_buffer` of a misaligned buffer, packed structures).

use core::ffi::c_void;
use std::alloc::{self, Layout};
use std::ptr::NonNull;

use crate::error::{Error, Result};
use crate::typecode::{long_double_format, LongDoubleFormat, TypeCode, ValueKind};

/// The smallest alignment of an [`OwnedBuf`], so that any scalar (and `long double`)
/// can be stored at its start.
pub const MIN_ALIGN: usize = 16;

/// Buffers of at least this many bytes come from the C library's `calloc`, as ctypes'
/// instance memory does (through `PyMem_Calloc`), not from Rust's global allocator.
/// The kernel then judges a huge request as it judges ctypes' (`(c_char * 2**40)()` is
/// refused when it exceeds what the machine could ever back, rather than reserved
/// because the allocator maps memory without reserving it), and the zeroed pages of a
/// large buffer are the kernel's, never written. Smaller buffers take the faster global
/// allocator.
pub const SYSTEM_ALLOC_FROM: usize = 32 << 20;

/// A zero-initialised heap allocation of a fixed size and alignment, freed on drop.
///
/// The memory behind [`OwnedBuf::as_ptr`] may be written through that pointer while the
/// buffer is shared (`&OwnedBuf`): it is plain bytes that C code writes too, so Rust
/// never holds a reference into it.
#[derive(Debug)]
pub struct OwnedBuf {
    ptr: NonNull<u8>,
    layout: Layout,
    /// The block `calloc` returned, for a buffer of at least [`SYSTEM_ALLOC_FROM`]
    /// bytes (`ptr` is inside it, aligned); null for one from the global allocator.
    system: *mut c_void,
}

// SAFETY: OwnedBuf exclusively owns its allocation; moving it to another thread moves
// that ownership. Concurrent access to the bytes is the caller's business, as it is for
// memory shared with C.
unsafe impl Send for OwnedBuf {}
// SAFETY: `&OwnedBuf` only hands out the raw pointer; no Rust reference to the bytes
// exists, so sharing the handle cannot create aliasing references.
unsafe impl Sync for OwnedBuf {}

impl OwnedBuf {
    /// Allocates `size` zeroed bytes aligned to at least `max(align, MIN_ALIGN)`.
    /// A zero size still allocates one alignment unit, so the pointer is never dangling.
    /// [`Error::OutOfMemory`] when the memory cannot be had.
    #[inline]
    pub fn try_new(size: usize, align: usize) -> Result<OwnedBuf> {
        let align = if align <= MIN_ALIGN {
            MIN_ALIGN
        } else {
            align.next_power_of_two()
        };
        let Ok(layout) = Layout::from_size_align(size.max(1), align) else {
            return Err(Error::OutOfMemory { size });
        };
        if layout.size() >= SYSTEM_ALLOC_FROM {
            return Self::try_new_system(layout);
        }
        // SAFETY: the layout has a non-zero size.
        let raw = unsafe { alloc::alloc_zeroed(layout) };
        match NonNull::new(raw) {
            Some(ptr) => Ok(OwnedBuf {
                ptr,
                layout,
                system: std::ptr::null_mut(),
            }),
            None => Err(Error::OutOfMemory { size }),
        }
    }

    /// A large buffer from `calloc`, with room to align its start when the alignment
    /// is beyond what `malloc` guarantees (`MIN_ALIGN`).
    #[cold]
    fn try_new_system(layout: Layout) -> Result<OwnedBuf> {
        let size = layout.size();
        let extra = if layout.align() > MIN_ALIGN {
            layout.align()
        } else {
            0
        };
        let total = size.checked_add(extra).ok_or(Error::OutOfMemory { size })?;
        // SAFETY: calloc has no preconditions; it returns null or a zeroed block of
        // `total` bytes aligned to at least MIN_ALIGN (glibc and musl on 64-bit targets).
        let system = unsafe { libc::calloc(1, total) };
        if system.is_null() {
            return Err(Error::OutOfMemory { size });
        }
        let pad = (system as usize).wrapping_neg() & (layout.align() - 1);
        // SAFETY: `pad < align <= extra` when the alignment needs padding (else 0), so
        // `pad + size <= total`: the aligned start lies within the block.
        let start = unsafe { system.cast::<u8>().add(pad) };
        let ptr = NonNull::new(start).ok_or(Error::OutOfMemory { size })?;
        Ok(OwnedBuf {
            ptr,
            layout,
            system,
        })
    }

    /// The start of the buffer.
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// The usable size in bytes.
    pub fn len(&self) -> usize {
        self.layout.size()
    }

    /// Whether the buffer is empty (never: a zero-size request allocates one unit).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Gives up the buffer without freeing it, as the parts [`OwnedBuf::from_raw`]
    /// takes back (for an owner that keeps them in less room than an `OwnedBuf`).
    pub fn into_raw(self) -> RawBuf {
        let me = std::mem::ManuallyDrop::new(self);
        let system = !me.system.is_null();
        RawBuf {
            ptr: me.ptr,
            size: me.layout.size(),
            word: if system {
                me.system as usize
            } else {
                me.layout.align()
            },
            system,
        }
    }

    /// The buffer [`OwnedBuf::into_raw`] gave up.
    ///
    /// # Safety
    /// `raw` must be what `into_raw` returned, taken back once.
    pub unsafe fn from_raw(raw: RawBuf) -> OwnedBuf {
        let (layout, system) = if raw.system {
            // Only `len` reads the layout of a `calloc` block, which is freed as such.
            // SAFETY: MIN_ALIGN is a power of two, and `size` was a valid layout's size
            // (so it does not overflow when rounded to a larger alignment).
            let layout = unsafe { Layout::from_size_align_unchecked(raw.size, MIN_ALIGN) };
            (layout, raw.word as *mut c_void)
        } else {
            // SAFETY: `size` and `word` are the size and alignment of the valid layout
            // the buffer was allocated with.
            let layout = unsafe { Layout::from_size_align_unchecked(raw.size, raw.word) };
            (layout, std::ptr::null_mut())
        };
        OwnedBuf {
            ptr: raw.ptr,
            layout,
            system,
        }
    }
}

/// The parts of an [`OwnedBuf`] given up by [`OwnedBuf::into_raw`].
#[derive(Debug, Clone, Copy)]
pub struct RawBuf {
    /// The start of the buffer.
    pub ptr: NonNull<u8>,
    /// Its size in bytes.
    pub size: usize,
    /// The alignment it was allocated with, or, for a buffer from `calloc` (`system`),
    /// the block to free.
    pub word: usize,
    /// Whether the buffer came from `calloc`.
    pub system: bool,
}

impl Drop for OwnedBuf {
    fn drop(&mut self) {
        if !self.system.is_null() {
            // SAFETY: `system` came from calloc and is freed once, here.
            unsafe { libc::free(self.system) }
            return;
        }
        // SAFETY: ptr was allocated by alloc_zeroed with exactly this layout.
        unsafe { alloc::dealloc(self.ptr.as_ptr(), self.layout) }
    }
}

/// The low `size` bytes of `value` widened to 64 bits: sign-extended if `signed`,
/// zero-extended otherwise (C's integer promotions, libffi's `ffi_arg` results).
pub fn widen(value: u64, size: usize, signed: bool) -> u64 {
    let bits = size * 8;
    if bits >= 64 {
        value
    } else if signed {
        (((value << (64 - bits)) as i64) >> (64 - bits)) as u64
    } else {
        value & ((1u64 << bits) - 1)
    }
}

/// A scalar value as read from or written to memory.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scalar {
    /// A signed integer (sign-extended from the type's width).
    Signed(i64),
    /// An unsigned integer or a bit pattern to store.
    Unsigned(u64),
    /// A floating point value (`long double` is rounded to `f64` when read).
    Float(f64),
    /// A `_Bool`.
    Bool(bool),
    /// A pointer value.
    Pointer(usize),
}

/// Reads a value of type `code` at `ptr`. `swapped` reads the bytes in the opposite of
/// native order (`__ctype_be__` on a little-endian machine). A complex type gives its
/// real part here; [`read_complex`] reads both.
///
/// # Safety
/// `ptr` must be valid for reads of `code.size()` bytes.
pub unsafe fn read_scalar(ptr: *const u8, code: TypeCode, swapped: bool) -> Scalar {
    let size = code.size();
    match code.kind() {
        // SAFETY: the real part is the first half of the caller's `size` bytes.
        ValueKind::Complex => Scalar::Float(unsafe { read_real(ptr, code.component(), swapped) }),
        ValueKind::Float => {
            // SAFETY: the caller guarantees `size` readable bytes for each case.
            let v = unsafe {
                match code {
                    TypeCode::Float => f64::from(f32::from_bits(read_bits(ptr, 4, swapped) as u32)),
                    TypeCode::Double => f64::from_bits(read_bits(ptr, 8, swapped)),
                    TypeCode::Half => f16_to_f64(read_bits(ptr, 2, swapped) as u16),
                    _ => read_long_double(ptr),
                }
            };
            Scalar::Float(v)
        }
        kind => {
            // SAFETY: caller guarantees `size` readable bytes.
            let bits = unsafe { read_bits(ptr, size, swapped) };
            match kind {
                ValueKind::Signed => Scalar::Signed(sign_extend(bits, size)),
                ValueKind::Unsigned => Scalar::Unsigned(bits),
                ValueKind::Bool => Scalar::Bool(bits != 0),
                _ => Scalar::Pointer(bits as usize),
            }
        }
    }
}

/// Writes `value` as type `code` at `ptr`. Integers are stored as their low
/// `code.size()` bytes (the caller checks the range first). A complex type gets `value`
/// as its real part and a zero imaginary part.
///
/// # Safety
/// `ptr` must be valid for writes of `code.size()` bytes.
pub unsafe fn write_scalar(ptr: *mut u8, code: TypeCode, swapped: bool, value: Scalar) {
    let size = code.size();
    if code.is_complex() {
        // SAFETY: forwarded contract.
        unsafe { write_complex(ptr, code, swapped, as_f64(value), 0.0) };
        return;
    }
    let bits = match (code, value) {
        (TypeCode::Float, v) => u64::from((as_f64(v) as f32).to_bits()),
        (TypeCode::Double, v) => as_f64(v).to_bits(),
        (TypeCode::Half, v) => u64::from(f64_to_f16(as_f64(v))),
        (TypeCode::LongDouble, v) => {
            // SAFETY: caller guarantees `size` writable bytes.
            unsafe { write_long_double(ptr, as_f64(v)) };
            return;
        }
        // VARIANT_TRUE is -1: all bits set.
        (TypeCode::VariantBool, v) => {
            if as_f64(v) != 0.0 {
                u64::MAX
            } else {
                0
            }
        }
        (_, Scalar::Signed(i)) => i as u64,
        (_, Scalar::Unsigned(u)) => u,
        (_, Scalar::Bool(b)) => u64::from(b),
        (_, Scalar::Pointer(p)) => p as u64,
        (_, Scalar::Float(f)) => f as i64 as u64,
    };
    // SAFETY: caller guarantees `size` writable bytes.
    unsafe { write_bits(ptr, size, swapped, bits) }
}

/// Reads one real floating-point value of type `real` (`float`, `double` or
/// `long double`) at `ptr`.
///
/// # Safety
/// `ptr` must be valid for reads of `real.size()` bytes.
unsafe fn read_real(ptr: *const u8, real: TypeCode, swapped: bool) -> f64 {
    // SAFETY: the caller guarantees `real.size()` readable bytes.
    unsafe {
        match real {
            TypeCode::Float => f64::from(f32::from_bits(read_bits(ptr, 4, swapped) as u32)),
            TypeCode::Double => f64::from_bits(read_bits(ptr, 8, swapped)),
            _ => read_long_double(ptr),
        }
    }
}

/// Writes one real floating-point value of type `real` at `ptr` (a `float` rounds as C's
/// conversion does: out-of-range values become infinities).
///
/// # Safety
/// `ptr` must be valid for writes of `real.size()` bytes.
unsafe fn write_real(ptr: *mut u8, real: TypeCode, swapped: bool, value: f64) {
    // SAFETY: the caller guarantees `real.size()` writable bytes.
    unsafe {
        match real {
            TypeCode::Float => write_bits(ptr, 4, swapped, u64::from((value as f32).to_bits())),
            TypeCode::Double => write_bits(ptr, 8, swapped, value.to_bits()),
            _ => write_long_double(ptr, value),
        }
    }
}

/// Reads a complex value (`F`, `D` or `G`) at `ptr` as `(real, imaginary)`: two values
/// of its component type in a row, each swapped on its own when `swapped` (a `long
/// double` component is never swapped: that type has no byte-swapped twin).
///
/// # Safety
/// `ptr` must be valid for reads of `code.size()` bytes.
pub unsafe fn read_complex(ptr: *const u8, code: TypeCode, swapped: bool) -> (f64, f64) {
    let real = code.component();
    // SAFETY: the caller guarantees both halves are readable.
    unsafe {
        (
            read_real(ptr, real, swapped),
            read_real(ptr.add(real.size()), real, swapped),
        )
    }
}

/// Writes `(re, im)` as the complex type `code` at `ptr` (see [`read_complex`]).
///
/// # Safety
/// `ptr` must be valid for writes of `code.size()` bytes.
pub unsafe fn write_complex(ptr: *mut u8, code: TypeCode, swapped: bool, re: f64, im: f64) {
    let real = code.component();
    // SAFETY: the caller guarantees both halves are writable.
    unsafe {
        write_real(ptr, real, swapped, re);
        write_real(ptr.add(real.size()), real, swapped, im);
    }
}

fn as_f64(v: Scalar) -> f64 {
    match v {
        Scalar::Float(f) => f,
        Scalar::Signed(i) => i as f64,
        Scalar::Unsigned(u) => u as f64,
        Scalar::Bool(b) => f64::from(u8::from(b)),
        Scalar::Pointer(p) => p as f64,
    }
}

fn sign_extend(bits: u64, size: usize) -> i64 {
    let shift = 64 - (size as u32 * 8).min(64);
    ((bits << shift) as i64) >> shift
}

/// Reads `size` (1..=8) bytes as an integer in native (or swapped) byte order.
///
/// # Safety
/// `ptr` must be valid for reads of `size` bytes.
pub unsafe fn read_bits(ptr: *const u8, size: usize, swapped: bool) -> u64 {
    let mut buf = [0u8; 8];
    let size = size.min(8);
    // SAFETY: caller guarantees `size` readable bytes; buf has 8.
    unsafe { std::ptr::copy_nonoverlapping(ptr, buf.as_mut_ptr(), size) };
    let native_le = cfg!(target_endian = "little");
    if native_le != swapped {
        u64::from_le_bytes(buf)
    } else {
        buf[..size].reverse();
        u64::from_le_bytes(buf)
    }
}

/// Writes the low `size` (1..=8) bytes of `bits` in native (or swapped) byte order.
///
/// # Safety
/// `ptr` must be valid for writes of `size` bytes.
pub unsafe fn write_bits(ptr: *mut u8, size: usize, swapped: bool, bits: u64) {
    let size = size.min(8);
    let mut buf = bits.to_le_bytes();
    let native_le = cfg!(target_endian = "little");
    if native_le == swapped {
        buf[..size].reverse();
    }
    // SAFETY: caller guarantees `size` writable bytes.
    unsafe { std::ptr::copy_nonoverlapping(buf.as_ptr(), ptr, size) };
}

/// Reads the `unit`-byte storage unit (1..=16 bytes) at `ptr` as an integer in native
/// (or swapped) byte order.
///
/// # Safety
/// `ptr` must be valid for reads of `unit` bytes.
unsafe fn read_unit(ptr: *const u8, unit: usize, swapped: bool) -> u128 {
    let unit = unit.min(16);
    let mut buf = [0u8; 16];
    // SAFETY: the caller guarantees `unit` readable bytes.
    unsafe { std::ptr::copy_nonoverlapping(ptr, buf.as_mut_ptr(), unit) };
    if cfg!(target_endian = "little") != swapped {
        u128::from_le_bytes(buf)
    } else {
        buf[..unit].reverse();
        u128::from_le_bytes(buf)
    }
}

/// Writes the low `unit` bytes of `value` at `ptr` in native (or swapped) byte order.
///
/// # Safety
/// `ptr` must be valid for writes of `unit` bytes.
unsafe fn write_unit(ptr: *mut u8, unit: usize, swapped: bool, value: u128) {
    let unit = unit.min(16);
    let mut buf = value.to_le_bytes();
    if cfg!(target_endian = "little") == swapped {
        buf[..unit].reverse();
    }
    // SAFETY: the caller guarantees `unit` writable bytes.
    unsafe { std::ptr::copy_nonoverlapping(buf.as_ptr(), ptr, unit) };
}

/// Reads a bit-field: `bits` bits at `shift` within the `unit`-byte storage unit at
/// `ptr` (the unit read in native, or swapped, byte order). Signed fields are
/// sign-extended.
///
/// # Safety
/// `ptr` must be valid for reads of `unit` (<= 16) bytes; `shift + bits <= unit * 8`.
pub unsafe fn read_bitfield(
    ptr: *const u8,
    unit: usize,
    shift: u32,
    bits: u32,
    swapped: bool,
    signed: bool,
) -> i128 {
    // SAFETY: forwarded contract.
    let raw = unsafe { read_unit(ptr, unit, swapped) };
    let bits = bits.clamp(1, 64);
    let v = (raw >> shift) & ((1u128 << bits) - 1);
    if signed && (v >> (bits - 1)) & 1 == 1 {
        v as i128 - (1i128 << bits)
    } else {
        v as i128
    }
}

/// Writes the low `bits` bits of `value` into a bit-field (read-modify-write of its
/// storage unit, leaving the other bits alone).
///
/// # Safety
/// As [`read_bitfield`], and `ptr` must be writable.
pub unsafe fn write_bitfield(
    ptr: *mut u8,
    unit: usize,
    shift: u32,
    bits: u32,
    swapped: bool,
    value: u64,
) {
    // SAFETY: forwarded contract.
    let raw = unsafe { read_unit(ptr, unit, swapped) };
    let bits = bits.clamp(1, 64);
    let mask = ((1u128 << bits) - 1) << shift;
    let new = (raw & !mask) | ((u128::from(value) << shift) & mask);
    // SAFETY: forwarded contract.
    unsafe { write_unit(ptr, unit, swapped, new) };
}

/// Reads the platform's `long double` at `ptr`, rounded to the nearest `f64`.
///
/// # Safety
/// `ptr` must be valid for reads of `sizeof(long double)` bytes.
pub unsafe fn read_long_double(ptr: *const u8) -> f64 {
    let size = TypeCode::LongDouble.size();
    let mut buf = [0u8; 16];
    // SAFETY: caller guarantees `size` (<= 16) readable bytes.
    unsafe { std::ptr::copy_nonoverlapping(ptr, buf.as_mut_ptr(), size.min(16)) };
    match long_double_format() {
        Ok(LongDoubleFormat::X87Extended) => f80_to_f64(&buf),
        Ok(LongDoubleFormat::Binary128) => f128_to_f64(u128::from_ne_bytes(buf)),
        _ => f64::from_ne_bytes(buf[..8].try_into().unwrap_or([0; 8])),
    }
}

/// Writes `value` as the platform's `long double` at `ptr` (exact: every `f64` is
/// representable in the wider formats).
///
/// # Safety
/// `ptr` must be valid for writes of `sizeof(long double)` bytes.
pub unsafe fn write_long_double(ptr: *mut u8, value: f64) {
    let size = TypeCode::LongDouble.size().min(16);
    let buf: [u8; 16] = match long_double_format() {
        Ok(LongDoubleFormat::X87Extended) => f64_to_f80(value),
        Ok(LongDoubleFormat::Binary128) => f64_to_f128(value).to_ne_bytes(),
        _ => {
            let mut b = [0u8; 16];
            b[..8].copy_from_slice(&value.to_ne_bytes());
            b
        }
    };
    // SAFETY: caller guarantees `size` writable bytes.
    unsafe { std::ptr::copy_nonoverlapping(buf.as_ptr(), ptr, size) };
}

/// x87 extended (little-endian: 64-bit mantissa with explicit integer bit, then
/// sign and 15-bit exponent) from an `f64`. Exact.
pub fn f64_to_f80(value: f64) -> [u8; 16] {
    let bits = value.to_bits();
    let sign = (bits >> 63) as u16;
    let exp = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1u64 << 52) - 1);
    let (e80, mant): (u16, u64) = if exp == 0x7ff {
        // Infinity or NaN: all-ones exponent, integer bit set.
        (0x7fff, (1u64 << 63) | (frac << 11))
    } else if exp == 0 {
        if frac == 0 {
            (0, 0)
        } else {
            // Subnormal double: normalise; the f80 exponent range covers it.
            let lz = frac.leading_zeros() as i32; // >= 12
            let mant = frac << lz;
            let e = -1022 - (lz - 11) + 16383;
            (e as u16, mant)
        }
    } else {
        ((exp - 1023 + 16383) as u16, (1u64 << 63) | (frac << 11))
    };
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&mant.to_le_bytes());
    out[8..10].copy_from_slice(&((sign << 15) | e80).to_le_bytes());
    out
}

/// The nearest `f64` to an x87 extended value (round half to even).
pub fn f80_to_f64(buf: &[u8; 16]) -> f64 {
    let mant = u64::from_le_bytes(buf[..8].try_into().unwrap_or([0; 8]));
    let se = u16::from_le_bytes([buf[8], buf[9]]);
    let sign = u64::from(se >> 15) << 63;
    let e80 = i32::from(se & 0x7fff);
    if e80 == 0x7fff {
        let frac = (mant << 1) >> 12;
        if frac == 0 && (mant << 1) == 0 {
            return f64::from_bits(sign | (0x7ffu64 << 52));
        }
        return f64::from_bits(sign | (0x7ffu64 << 52) | frac.max(1 << 51));
    }
    if mant == 0 {
        return f64::from_bits(sign);
    }
    // value = mant * 2^(e80 - 16383 - 63); e80 == 0 uses the denormal exponent 1.
    let e = if e80 == 0 { 1 } else { e80 } - 16383 - 63;
    let magnitude = round_to_f64(mant, e);
    f64::from_bits(sign | magnitude.to_bits())
}

/// Rounds `mant * 2^exp` (mant != 0) to the nearest f64, ties to even.
fn round_to_f64(mant: u64, exp: i32) -> f64 {
    let lz = mant.leading_zeros() as i32;
    let m = mant << lz; // top bit set
    let e = exp - lz + 63; // value = 1.xxx * 2^e
    if e > 1023 {
        return f64::INFINITY;
    }
    // Number of mantissa bits kept: 53 for normals, fewer for subnormals.
    let keep = if e >= -1022 { 53 } else { 53 - (-1022 - e) };
    if keep <= 0 {
        // Below half the smallest subnormal (or exactly half: ties to even -> 0).
        if keep == 0 && m > (1u64 << 63) {
            return f64::from_bits(1);
        }
        return 0.0;
    }
    let drop = 64 - keep as u32;
    let mut kept = m >> drop;
    let rem = m & ((1u64 << drop) - 1);
    let half = 1u64 << (drop - 1);
    if rem > half || (rem == half && kept & 1 == 1) {
        kept += 1;
    }
    // Rebuild: kept has `keep` bits (maybe one more after rounding).
    (kept as f64) * pow2(e - keep + 1)
}

fn pow2(e: i32) -> f64 {
    // Split to stay within the f64 exponent range for each factor.
    let mut v = 1.0f64;
    let mut e = e;
    while e > 1000 {
        v *= f64::from_bits((1023u64 + 1000) << 52);
        e -= 1000;
    }
    while e < -1000 {
        v *= f64::from_bits((1023u64 - 1000) << 52);
        e += 1000;
    }
    v * f64::from_bits(((1023 + e) as u64) << 52)
}

/// IEEE binary128 bits from an `f64`. Exact.
pub fn f64_to_f128(value: f64) -> u128 {
    let bits = value.to_bits();
    let sign = u128::from(bits >> 63) << 127;
    let exp = ((bits >> 52) & 0x7ff) as i32;
    let frac = u128::from(bits & ((1u64 << 52) - 1));
    if exp == 0x7ff {
        return sign | (0x7fffu128 << 112) | (frac << 60);
    }
    if exp == 0 {
        if frac == 0 {
            return sign;
        }
        // Subnormal double: frac * 2^-1074; normalise around its top bit.
        let pos = 63 - (frac as u64).leading_zeros() as i32;
        let f = (frac ^ (1u128 << pos)) << (112 - pos);
        let e = pos - 1074 + 16383;
        return sign | ((e as u128) << 112) | f;
    }
    sign | (((exp - 1023 + 16383) as u128) << 112) | (frac << 60)
}

/// The nearest `f64` to an IEEE binary128 value.
pub fn f128_to_f64(bits: u128) -> f64 {
    let sign = ((bits >> 127) as u64) << 63;
    let e = ((bits >> 112) & 0x7fff) as i32;
    let frac = bits & ((1u128 << 112) - 1);
    if e == 0x7fff {
        let nan = if frac != 0 { 1u64 << 51 } else { 0 };
        return f64::from_bits(sign | (0x7ffu64 << 52) | nan);
    }
    if e == 0 && frac == 0 {
        return f64::from_bits(sign);
    }
    // Keep the top 63 fraction bits plus a sticky bit; enough for correct rounding.
    let full = if e == 0 { frac } else { frac | (1u128 << 112) };
    let top = (full >> 50) as u64 | u64::from(full & ((1u128 << 50) - 1) != 0);
    let exp = if e == 0 { 1 } else { e } - 16383 - 62;
    f64::from_bits(sign | round_to_f64(top, exp).to_bits())
}

/// IEEE binary16 bits of the nearest half-precision value to `value` (round half to
/// even, one rounding straight from `f64`), as NumPy's `float16(value)` gives them:
/// values from 65520 up overflow to infinity, values up to 2^-25 underflow to a zero
/// of the same sign, and a NaN keeps its sign and the top 10 bits of its payload
/// (never all zero, so it stays a NaN).
pub fn f64_to_f16(value: f64) -> u16 {
    let bits = value.to_bits();
    let sign = ((bits >> 48) & 0x8000) as u16;
    let exp = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1u64 << 52) - 1);
    if exp == 0x7ff {
        if frac == 0 {
            return sign | 0x7c00;
        }
        return sign | 0x7c00 | ((frac >> 42) as u16).max(1);
    }
    let e = exp - 1023; // value = 1.frac * 2^e (doubles with exp == 0 are far below 2^-25)
    if e > 15 {
        return sign | 0x7c00;
    }
    if e < -25 {
        return sign;
    }
    // Keep the bits down to the half's last place: 2^(e-10) for normal halves, 2^-24 for
    // subnormal ones. `shift` is 42..=53, so the 53-bit significand fits a u64 shift.
    let sig = frac | (1u64 << 52);
    let shift = (52 - 10 + (-14 - e).max(0)) as u32;
    let mut kept = sig >> shift;
    let rem = sig & ((1u64 << shift) - 1);
    let half = 1u64 << (shift - 1);
    if rem > half || (rem == half && kept & 1 == 1) {
        kept += 1;
    }
    // A normal half is ((e + 15) << 10) | (kept - 1024) = ((e + 14) << 10) + kept; a
    // subnormal one (e clamped to -14) is `kept` itself. A carry out of the significand
    // then steps the exponent up, to the smallest normal or to infinity, as it should.
    sign | ((((e.max(-14) + 14) as u16) << 10) + kept as u16)
}

/// The `f64` equal to the IEEE binary16 value `bits` (exact: every half is a double).
/// A NaN keeps its sign and payload, as in NumPy.
pub fn f16_to_f64(bits: u16) -> f64 {
    let sign = u64::from(bits >> 15) << 63;
    let exp = u64::from((bits >> 10) & 0x1f);
    let frac = u64::from(bits & 0x3ff);
    let magnitude = match exp {
        // Subnormal: frac * 2^-24, exact in f64.
        0 => (frac as f64 * (1.0 / 16_777_216.0)).to_bits(),
        0x1f => (0x7ffu64 << 52) | (frac << 42),
        _ => ((exp + 1023 - 15) << 52) | (frac << 42),
    };
    f64::from_bits(sign | magnitude)
}

/// The length of the NUL-terminated byte string at `ptr`.
///
/// # Safety
/// `ptr` must point to a NUL-terminated string.
pub unsafe fn strlen(ptr: *const u8) -> usize {
    // SAFETY: caller guarantees a NUL terminator.
    unsafe { libc::strlen(ptr.cast()) }
}

/// The length in `wchar_t` units of the NUL-terminated wide string at `ptr`.
///
/// # Safety
/// `ptr` must point to a NUL-terminated, `wchar_t`-aligned wide string.
pub unsafe fn wcslen(ptr: *const libc::wchar_t) -> usize {
    // SAFETY: caller guarantees a NUL terminator.
    unsafe { libc::wcslen(ptr) }
}

/// Copies `len` bytes from `src` to `dst`; the regions may overlap (C `memmove`).
///
/// # Safety
/// Both regions must be valid for `len` bytes.
pub unsafe fn memmove(dst: *mut c_void, src: *const c_void, len: usize) {
    // SAFETY: caller guarantees validity; `copy` allows overlap.
    unsafe { std::ptr::copy(src.cast::<u8>(), dst.cast::<u8>(), len) }
}

/// Fills `len` bytes at `dst` with `byte` (C `memset`).
///
/// # Safety
/// `dst` must be valid for writes of `len` bytes.
pub unsafe fn memset(dst: *mut c_void, byte: u8, len: usize) {
    // SAFETY: caller guarantees validity.
    unsafe { std::ptr::write_bytes(dst.cast::<u8>(), byte, len) }
}

/// Copies `len` bytes from `src` to `dst`, which must not overlap (an instance's bytes
/// into a fresh buffer, a call's result into a new instance).
///
/// # Safety
/// `src` must be valid for reads and `dst` for writes of `len` bytes, and the regions
/// must not overlap.
#[inline]
pub unsafe fn copy_bytes(src: *const u8, dst: *mut u8, len: usize) {
    // SAFETY: the caller guarantees both regions and that they are disjoint.
    unsafe { std::ptr::copy_nonoverlapping(src, dst, len) }
}

/// Copies `len` bytes from `src` to `dst`; the regions may overlap (an instance
/// assigned into memory it may share).
///
/// # Safety
/// `src` must be valid for reads and `dst` for writes of `len` bytes.
#[inline]
pub unsafe fn move_bytes(src: *const u8, dst: *mut u8, len: usize) {
    // SAFETY: the caller guarantees both regions; `copy` allows overlap.
    unsafe { std::ptr::copy(src, dst, len) }
}

/// Sets `len` bytes at `dst` to zero.
///
/// # Safety
/// `dst` must be valid for writes of `len` bytes.
#[inline]
pub unsafe fn zero_bytes(dst: *mut u8, len: usize) {
    // SAFETY: the caller guarantees the region.
    unsafe { std::ptr::write_bytes(dst, 0, len) }
}

/// The `len` bytes at `ptr` as a slice.
///
/// # Safety
/// `ptr` must be valid for reads of `len` bytes, which nothing writes while the slice
/// lives.
#[inline]
pub unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if len == 0 {
        return &[];
    }
    // SAFETY: the caller guarantees the region and that it is not written meanwhile.
    unsafe { std::slice::from_raw_parts(ptr, len) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complex_values_are_two_components() {
        let buf = OwnedBuf::try_new(32, 16).unwrap();
        let p = buf.as_ptr();
        // SAFETY: the buffer holds 32 bytes, the largest complex type.
        unsafe {
            for code in [
                TypeCode::FloatComplex,
                TypeCode::DoubleComplex,
                TypeCode::LongDoubleComplex,
            ] {
                write_complex(p, code, false, 1.5, -2.25);
                assert_eq!(read_complex(p, code, false), (1.5, -2.25));
                assert_eq!(read_scalar(p, code, false), Scalar::Float(1.5));
                write_scalar(p, code, false, Scalar::Signed(3));
                assert_eq!(read_complex(p, code, false), (3.0, 0.0));
            }
            write_complex(p, TypeCode::DoubleComplex, false, 1.0, 2.0);
            let native: Vec<u8> = [1.0f64.to_ne_bytes(), 2.0f64.to_ne_bytes()].concat();
            assert_eq!(bytes(p, 16), &native[..]);
            write_complex(p, TypeCode::FloatComplex, true, 1.0, 2.0);
            let other: Vec<u8> = if cfg!(target_endian = "little") {
                [1.0f32.to_be_bytes(), 2.0f32.to_be_bytes()].concat()
            } else {
                [1.0f32.to_le_bytes(), 2.0f32.to_le_bytes()].concat()
            };
            assert_eq!(bytes(p, 8), &other[..]);
            assert_eq!(read_complex(p, TypeCode::FloatComplex, true), (1.0, 2.0));
            write_complex(p, TypeCode::FloatComplex, false, 1e300, 0.0);
            assert_eq!(
                read_complex(p, TypeCode::FloatComplex, false).0,
                f64::INFINITY
            );
        }
    }

    #[test]
    fn scalars_round_trip() {
        let buf = OwnedBuf::try_new(16, 16).unwrap();
        let p = buf.as_ptr();
        for (code, v) in [
            (TypeCode::Int, Scalar::Signed(-5)),
            (TypeCode::UInt, Scalar::Unsigned(0xFFFF_FFFF)),
            (TypeCode::Short, Scalar::Signed(-32768)),
            (TypeCode::LongLong, Scalar::Signed(i64::MIN)),
            (TypeCode::ULongLong, Scalar::Unsigned(u64::MAX)),
            (TypeCode::Double, Scalar::Float(1.25)),
            (TypeCode::Float, Scalar::Float(0.5)),
            (TypeCode::LongDouble, Scalar::Float(-3.75e300)),
            (TypeCode::Half, Scalar::Float(-1.5)),
            (TypeCode::Bool, Scalar::Bool(true)),
            (TypeCode::VoidP, Scalar::Pointer(0xdead_beef)),
        ] {
            for swapped in [false, true] {
                // SAFETY: buf has 16 bytes, enough for every scalar.
                let got = unsafe {
                    write_scalar(p, code, swapped, v);
                    read_scalar(p, code, swapped)
                };
                assert_eq!(got, v, "{code:?} swapped={swapped}");
            }
        }
    }

    #[test]
    fn swapped_is_big_endian_on_little_endian_hosts() {
        let buf = OwnedBuf::try_new(4, 4).unwrap();
        // SAFETY: 4 bytes are available.
        let bytes = unsafe {
            write_scalar(
                buf.as_ptr(),
                TypeCode::Int,
                cfg!(target_endian = "little"),
                Scalar::Signed(1),
            );
            std::slice::from_raw_parts(buf.as_ptr(), 4).to_vec()
        };
        assert_eq!(bytes, [0, 0, 0, 1]);
    }

    #[test]
    fn bitfields_round_trip() {
        let buf = OwnedBuf::try_new(16, 16).unwrap();
        let p = buf.as_ptr();
        for swapped in [false, true] {
            // SAFETY: 16 bytes are available; every unit used is at most 9 bytes.
            unsafe {
                write_bitfield(p, 4, 3, 5, swapped, 0b10110);
                assert_eq!(read_bitfield(p, 4, 3, 5, swapped, false), 0b10110);
                assert_eq!(read_bitfield(p, 4, 3, 5, swapped, true), 0b10110 - 32);
                write_bitfield(p, 4, 0, 3, swapped, 0b111);
                assert_eq!(
                    read_bitfield(p, 4, 3, 5, swapped, false),
                    0b10110,
                    "neighbours kept"
                );
                write_bitfield(p, 9, 60, 10, swapped, 0x3ff);
                assert_eq!(read_bitfield(p, 9, 60, 10, swapped, false), 0x3ff);
            }
        }
        // SAFETY: as above.
        unsafe {
            std::ptr::write_bytes(p, 0, 16);
            write_bitfield(p, 4, 0, 1, false, 1);
            assert_eq!(*p & 1, u8::from(cfg!(target_endian = "little")));
        }
    }

    #[test]
    fn f80_conversions() {
        for v in [
            0.0,
            -0.0,
            1.0,
            -2.5,
            1e308,
            5e-324,
            2.2250738585072014e-308,
            f64::INFINITY,
            f64::MAX,
        ] {
            let enc = f64_to_f80(v);
            assert_eq!(f80_to_f64(&enc).to_bits(), v.to_bits(), "{v}");
        }
        assert!(f80_to_f64(&f64_to_f80(f64::NAN)).is_nan());
        // 1 + 2^-60 rounds to 1.0; 1 + 2^-52 + 2^-53 rounds up (tie to even).
        let mut one_plus = f64_to_f80(1.0);
        one_plus[0] |= 0b1000;
        assert_eq!(f80_to_f64(&one_plus), 1.0);
        // The largest extended value overflows to infinity.
        let mut big = [0xffu8; 16];
        big[9] = 0x7f;
        big[8] = 0xfe;
        assert_eq!(f80_to_f64(&big), f64::INFINITY);
    }

    #[test]
    fn f128_conversions() {
        for v in [
            0.0,
            1.0,
            -2.5,
            1e308,
            5e-324,
            1e-310,
            f64::INFINITY,
            f64::MAX,
            std::f64::consts::PI,
        ] {
            assert_eq!(f128_to_f64(f64_to_f128(v)).to_bits(), v.to_bits(), "{v}");
        }
    }

    #[test]
    fn half_bytes_in_both_orders() {
        let buf = OwnedBuf::try_new(2, 2).unwrap();
        for (swapped, want) in [(false, [0x00, 0x3c]), (true, [0x3c, 0x00])] {
            // SAFETY: 2 bytes are available.
            let bytes = unsafe {
                write_scalar(buf.as_ptr(), TypeCode::Half, swapped, Scalar::Float(1.0));
                std::slice::from_raw_parts(buf.as_ptr(), 2).to_vec()
            };
            let want = if cfg!(target_endian = "little") {
                want
            } else {
                [want[1], want[0]]
            };
            assert_eq!(bytes, want, "swapped={swapped}");
        }
        // Integers convert through f64, like c_float's.
        // SAFETY: 2 bytes are available.
        let got = unsafe {
            write_scalar(buf.as_ptr(), TypeCode::Half, false, Scalar::Signed(-3));
            read_scalar(buf.as_ptr(), TypeCode::Half, false)
        };
        assert_eq!(got, Scalar::Float(-3.0));
    }

    #[test]
    fn every_half_round_trips_through_f64() {
        for bits in 0..=u16::MAX {
            let v = f16_to_f64(bits);
            let is_nan = bits & 0x7c00 == 0x7c00 && bits & 0x3ff != 0;
            assert_eq!(v.is_nan(), is_nan, "{bits:#06x}");
            if !is_nan {
                assert_eq!(f64_to_f16(v), bits, "{bits:#06x} -> {v:e}");
                // The value is the one the format defines.
                let mag = bits & 0x7fff;
                let want = match mag >> 10 {
                    0 => f64::from(mag) * 2f64.powi(-24),
                    31 => f64::INFINITY,
                    e => f64::from((mag & 0x3ff) | 0x400) * 2f64.powi(i32::from(e) - 25),
                };
                assert_eq!(v.abs(), want, "{bits:#06x}");
                assert_eq!(v.is_sign_negative(), bits & 0x8000 != 0, "{bits:#06x}");
            } else {
                // NaN payloads survive the round trip, as in NumPy.
                assert_eq!(f64_to_f16(v), bits, "{bits:#06x}");
            }
        }
    }

    #[test]
    fn f64_to_f16_rounds_to_nearest_even_between_every_pair_of_halves() {
        // Between each pair of neighbouring finite halves (the top one may be infinity:
        // 65520 is the midpoint between 65504 and the next step, 65536), the midpoint goes
        // to the even one and the doubles just either side of it to the nearer one.
        for lo in 0u16..0x7c00 {
            let hi = lo + 1;
            let a = f16_to_f64(lo);
            let b = if hi == 0x7c00 {
                65536.0
            } else {
                f16_to_f64(hi)
            };
            let mid = (a + b) / 2.0; // exact: both have few significant bits
            let even = if lo & 1 == 0 { lo } else { hi };
            for sign in [0u16, 0x8000] {
                let s = if sign == 0 { 1.0 } else { -1.0 };
                assert_eq!(f64_to_f16(s * mid), sign | even, "mid of {lo:#06x}");
                let below = f64::from_bits(mid.to_bits() - 1);
                let above = f64::from_bits(mid.to_bits() + 1);
                assert_eq!(f64_to_f16(s * below), sign | lo, "below mid of {lo:#06x}");
                assert_eq!(f64_to_f16(s * above), sign | hi, "above mid of {lo:#06x}");
                assert_eq!(f64_to_f16(s * a), sign | lo);
            }
        }
    }

    #[test]
    fn f64_to_f16_spot_checks() {
        let cases: [(f64, u16); 22] = [
            (0.0, 0x0000),
            (-0.0, 0x8000),
            (1.0, 0x3c00),
            (-2.0, 0xc000),
            (0.1, 0x2e66),
            (1.0 / 3.0, 0x3555),
            (65504.0, 0x7bff),
            (65519.99, 0x7bff),
            (65520.0, 0x7c00),
            (1e6, 0x7c00),
            (-1e300, 0xfc00),
            (f64::MAX, 0x7c00),
            (f64::INFINITY, 0x7c00),
            (f64::NEG_INFINITY, 0xfc00),
            (2f64.powi(-14), 0x0400),                // smallest normal
            (2f64.powi(-24), 0x0001),                // smallest subnormal
            (2f64.powi(-25), 0x0000),                // tie: to even, zero
            (-(2f64.powi(-25) * 1.0000001), 0x8001), // just above the tie
            (3.0 * 2f64.powi(-25), 0x0002),          // tie between 1 and 2 ulps: to 2
            (1e-10, 0x0000),
            (5e-324, 0x0000),
            (-5e-324, 0x8000),
        ];
        for (v, want) in cases {
            assert_eq!(f64_to_f16(v), want, "{v:e}");
        }
        // Ties in the normal range: 1 + 2^-11 is halfway between 1 and 1 + 2^-10.
        assert_eq!(f64_to_f16(1.0 + 2f64.powi(-11)), 0x3c00);
        assert_eq!(f64_to_f16(1.0 + 3.0 * 2f64.powi(-11)), 0x3c02);
        // A sticky bit far below breaks the tie.
        assert_eq!(f64_to_f16(1.0 + 2f64.powi(-11) + 2f64.powi(-50)), 0x3c01);
        // NaN stays NaN, with its sign; Python's nan is NumPy's 0x7e00.
        assert_eq!(f64_to_f16(f64::NAN), 0x7e00);
        assert_eq!(f64_to_f16(-f64::NAN), 0xfe00);
        // A payload only in the low bits still gives a NaN, not infinity.
        assert_eq!(f64_to_f16(f64::from_bits(0x7ff0_0000_0000_0001)), 0x7c01);
        assert!(f16_to_f64(0x7c01).is_nan());
        assert_eq!(f16_to_f64(0x7bff), 65504.0);
        assert_eq!(f16_to_f64(0x8000).to_bits(), (-0.0f64).to_bits());
    }

    #[test]
    fn owned_buf_is_aligned_and_zeroed() {
        let buf = OwnedBuf::try_new(40, 64).unwrap();
        assert_eq!(buf.as_ptr() as usize % 64, 0);
        // SAFETY: 40 bytes are available.
        let bytes = unsafe { std::slice::from_raw_parts(buf.as_ptr(), 40) };
        assert!(bytes.iter().all(|&b| b == 0));
        assert!(OwnedBuf::try_new(usize::MAX, 1).is_err());
    }

    #[test]
    fn large_owned_buf_comes_from_calloc_aligned_and_zeroed() {
        for align in [1, 16, 64, 4096] {
            let size = SYSTEM_ALLOC_FROM + 3;
            let buf = OwnedBuf::try_new(size, align).unwrap();
            assert!(!buf.system.is_null());
            assert_eq!(buf.as_ptr() as usize % align.max(MIN_ALIGN), 0);
            assert_eq!(buf.len(), size);
            // SAFETY: `size` bytes are available.
            let bytes = unsafe { std::slice::from_raw_parts_mut(buf.as_ptr(), size) };
            assert!(bytes[..64]
                .iter()
                .chain(&bytes[size - 64..])
                .all(|&b| b == 0));
            bytes[size - 1] = 1;
        }
        // More than any machine backs: refused, not reserved.
        assert!(OwnedBuf::try_new(1 << 62, 16).is_err());
    }
}
