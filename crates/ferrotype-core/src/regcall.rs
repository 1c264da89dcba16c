//! Register calls: on x86-64 System V and AArch64, a signature of scalar arguments
//! (integers and pointers in the integer bank, `float`/`double` in the vector bank) and
//! a scalar or `void` result can skip libffi: [`RegisterCall`] loads every argument
//! register and calls the function directly. Loading registers the callee does not read
//! is harmless for a non-variadic callee, so one call sequence per result class serves
//! every such signature: no JIT, no table of argument counts. On x86-64 the sequence
//! also sets `%al` to the number of vector registers used, as libffi does, so that
//! functions which are variadic in C but called with full `argtypes` (the ctypes idiom
//! for `printf`) still get their floating-point arguments.
//!
//! On x86-64 the engine also passes what System V puts on the stack: arguments beyond
//! the six integer and eight vector registers, structures whose eightbytes no longer
//! fit in the registers left, and structures of more than 16 bytes (copied whole), each
//! in 8-byte slots in argument order (up to [`STACK_WORDS`] slots); and it takes
//! structure results of more than 16 bytes, which the callee writes to memory the caller
//! names in the first integer register ([`RegisterCall::ret_in_memory`]). Everything
//! else (`long double`, 16-byte-aligned structures in memory, declared variadics, stack
//! arguments and memory results on AArch64, other targets) goes through libffi.
//!
//! A [`RegisterCall`] is prepared once per signature, like a [`crate::call::CallInterface`],
//! and the caller fills a [`Registers`] image per call.

use core::ffi::c_void;
use core::mem::MaybeUninit;

use crate::call::ArgSlot;
use crate::ffi_type::FfiType;
use crate::typecode::{TypeCode, ValueKind};

/// Whether [`RegisterCall`] is available on this target.
pub const REGISTER_CALLS: bool = cfg!(all(
    any(
        all(target_arch = "x86_64", not(windows)),
        target_arch = "aarch64"
    ),
    target_endian = "little"
));

/// Integer argument registers of the C calling convention (x86-64 System V: rdi, rsi,
/// rdx, rcx, r8, r9; AArch64: x0-x7).
pub const INT_REGS: usize = if cfg!(target_arch = "aarch64") { 8 } else { 6 };

/// Floating-point argument registers (xmm0-xmm7, v0-v7).
pub const FLOAT_REGS: usize = 8;

/// The words of a [`Registers`] image that are registers: the integer bank, then the
/// vector bank.
pub const REG_WORDS: usize = INT_REGS + FLOAT_REGS;

/// The most 8-byte stack slots a [`RegisterCall`] passes (more go through libffi).
pub const STACK_WORDS: usize = 32;

/// Whether this target's register calls pass stack arguments and take results in
/// memory (x86-64 System V only; AArch64 hands those signatures to libffi).
const STACK_CALLS: bool = cfg!(target_arch = "x86_64");

/// Every word of a [`Registers`] image.
const WORDS: usize = REG_WORDS + STACK_WORDS;

/// The words a [`Registers`] image has room for: every index a `u8` can name, so that
/// [`Registers::set`] needs no bounds test (the words from [`WORDS`] on are never
/// initialised nor read; the image is made in place, never copied, on the call paths).
const STORAGE: usize = 1 << u8::BITS;
const _: () = assert!(WORDS <= STORAGE);

/// The argument words of a [`RegisterCall`], one index space: words `0..INT_REGS` are
/// the 64-bit integer registers, `INT_REGS..REG_WORDS` the low 64 bits of the vector
/// registers (a `double`'s bits, or a `float`'s in the low 32), and from `REG_WORDS`
/// the stack slots in order. The register words and the call's stack words are
/// initialised (zero) by [`Registers::new`]; the words beyond them never are, and are
/// never read.
#[derive(Clone, Copy)]
#[repr(transparent)]
pub struct Registers {
    // One `MaybeUninit` of the whole array (not an array of them), so that making an
    // image costs only the register words' zeroing.
    words: MaybeUninit<[u64; STORAGE]>,
}

impl std::fmt::Debug for Registers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registers")
            .field(
                "int",
                &(0..INT_REGS).map(|i| self.reg(i)).collect::<Vec<_>>(),
            )
            .field(
                "float",
                &(INT_REGS..REG_WORDS)
                    .map(|i| self.reg(i))
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// Where one argument of a [`RegisterCall`] goes. Every `index` is a word of the
/// [`Registers`] image: a register or a stack slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegArg {
    /// An integer register or stack slot; `code` says how the value is widened.
    Int {
        /// The word.
        index: u8,
        /// The argument's C type.
        code: TypeCode,
    },
    /// A vector register or stack slot.
    Float {
        /// The word.
        index: u8,
        /// `double` (else `float`).
        double: bool,
    },
    /// A structure or union of at most 16 bytes passed in registers (x86-64 System V):
    /// each of its `n` eightbytes goes to the register word named in `parts`.
    Struct {
        /// The structure's size in bytes.
        size: u8,
        /// The number of eightbytes (1 or 2).
        n: u8,
        /// Per eightbyte: the bank (`true` for vector) and the register's word.
        parts: [(bool, u8); 2],
    },
    /// A structure or union copied whole to consecutive stack slots from `index`
    /// (x86-64 System V: one larger than 16 bytes, or one whose eightbytes did not fit
    /// in the registers left).
    Memory {
        /// The structure's size in bytes.
        size: u16,
        /// The first stack word.
        index: u8,
    },
}

/// Which registers hold a [`RegisterCall`]'s result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RegReturn {
    Int,
    Float,
    /// A structure of `size` bytes returned in registers: per eightbyte, whether it
    /// comes from the vector bank (else the integer bank), in order.
    Struct {
        size: u8,
        n: u8,
        sse: [bool; 2],
    },
    /// A structure of more than 16 bytes, written by the callee to the address passed
    /// in the first integer register (x86-64 System V).
    Memory,
}

/// The result registers after a [`RegisterCall`]: rax/rdx and the low 64 bits of
/// xmm0/xmm1 (x0 and d0 on AArch64).
#[derive(Clone, Copy, Debug, Default)]
pub struct RegResult {
    int: [u64; 2],
    float: [u64; 2],
}

/// A scalar signature called without libffi (see the module docs).
#[derive(Clone, Debug)]
pub struct RegisterCall {
    args: Box<[RegArg]>,
    nfloat: u8,
    nstack: u8,
    ret: RegReturn,
    ret_size: usize,
}

/// The bank a scalar type is passed in, if it can go through a [`RegisterCall`].
pub(crate) fn reg_bank(code: TypeCode) -> Option<bool> {
    match code {
        TypeCode::Float | TypeCode::Double => Some(true),
        TypeCode::LongDouble | TypeCode::Half => None,
        // A complex argument or result: libffi's path (a structure of two of its
        // component inside an aggregate is classified by the leaves, which split it).
        c if c.is_complex() => None,
        _ => Some(false),
    }
}

/// The x86-64 System V classes of an aggregate's eightbytes (`true` for SSE) when it is
/// passed and returned in registers: at most 16 bytes, every scalar naturally aligned
/// within one eightbyte, no `long double`. An eightbyte is SSE when all the scalars in
/// it are `float`/`double`, INTEGER otherwise.
fn sysv_eightbytes(t: &FfiType) -> Option<(u8, u8, [bool; 2])> {
    if !cfg!(target_arch = "x86_64") {
        return None;
    }
    let size = t.size();
    if size == 0 || size > 16 {
        return None;
    }
    // At most 16 bytes, so at most 16 leaves (never a walk over a long array).
    let mut leaves = Vec::new();
    if !t.leaves(&mut leaves) {
        return None;
    }
    let n = size.div_ceil(8);
    let mut sse = [true; 2];
    let mut seen = [false; 2];
    for (off, code) in leaves {
        if matches!(code, TypeCode::LongDouble | TypeCode::Half)
            || off % code.align() != 0
            || off / 8 != (off + code.size() - 1) / 8
            || off + code.size() > size
        {
            return None;
        }
        seen[off / 8] = true;
        sse[off / 8] &= matches!(code, TypeCode::Float | TypeCode::Double);
    }
    if seen[..n].contains(&false) {
        return None;
    }
    Some((size as u8, n as u8, sse))
}

impl RegisterCall {
    /// The register plan for a signature, or `None` when it needs libffi: `long double`,
    /// `_Float16`, an aggregate that travels neither in registers nor in 8-byte stack
    /// slots (or any aggregate on AArch64), stack arguments beyond [`STACK_WORDS`] (any
    /// on AArch64). Variadic functions must not use it on targets that pass variadic
    /// arguments differently (callers use it only for non-variadic calls).
    pub fn try_new(ret: &FfiType, args: &[FfiType]) -> Option<RegisterCall> {
        if !REGISTER_CALLS {
            return None;
        }
        let ret_size = ret.size();
        let ret = match ret {
            FfiType::Void => RegReturn::Int,
            FfiType::Scalar(c) => {
                if reg_bank(*c)? {
                    RegReturn::Float
                } else {
                    RegReturn::Int
                }
            }
            // System V returns an aggregate of more than 16 bytes in memory (there are no
            // vector types among ctypes' types, the only larger register class).
            FfiType::Struct(_) if STACK_CALLS && ret_size > 16 => RegReturn::Memory,
            FfiType::Struct(_) => {
                let (size, n, sse) = sysv_eightbytes(ret)?;
                RegReturn::Struct { size, n, sse }
            }
        };
        // The address of a result in memory is a hidden first integer argument.
        let (mut ni, mut nf) = (u8::from(ret == RegReturn::Memory), 0u8);
        let mut nstack = 0usize;
        let mut plan = Vec::with_capacity(args.len());
        for a in args {
            plan.push(match a {
                FfiType::Void => return None,
                FfiType::Scalar(code) => {
                    if reg_bank(*code)? {
                        RegArg::Float {
                            index: take_word(true, &mut ni, &mut nf, &mut nstack)?,
                            double: *code == TypeCode::Double,
                        }
                    } else {
                        RegArg::Int {
                            index: take_word(false, &mut ni, &mut nf, &mut nstack)?,
                            code: *code,
                        }
                    }
                }
                FfiType::Struct(_) => match sysv_eightbytes(a) {
                    Some((size, n, sse)) => {
                        let n_sse = sse[..usize::from(n)].iter().filter(|s| **s).count();
                        let n_int = usize::from(n) - n_sse;
                        if usize::from(ni) + n_int <= INT_REGS
                            && usize::from(nf) + n_sse <= FLOAT_REGS
                        {
                            let mut parts = [(false, 0u8); 2];
                            for (i, part) in parts.iter_mut().enumerate().take(usize::from(n)) {
                                *part = (sse[i], take_word(sse[i], &mut ni, &mut nf, &mut nstack)?);
                            }
                            RegArg::Struct { size, n, parts }
                        } else {
                            // The ABI passes the whole aggregate on the stack when its
                            // eightbytes do not all fit in the registers left (which stay
                            // free for later arguments).
                            memory_arg(a, &mut nstack)?
                        }
                    }
                    None if a.size() > 16 => memory_arg(a, &mut nstack)?,
                    None => return None,
                },
            });
        }
        if nstack > 0 && !STACK_CALLS {
            return None;
        }
        Some(RegisterCall {
            args: plan.into(),
            nfloat: nf,
            nstack: u8::try_from(nstack).ok()?,
            ret,
            ret_size,
        })
    }

    /// The size of a result the callee writes to memory (a structure of more than 16
    /// bytes): the caller passes its address with [`Registers::set_result_address`].
    /// `None` when the result comes back in registers.
    #[inline]
    pub fn ret_in_memory(&self) -> Option<usize> {
        matches!(self.ret, RegReturn::Memory).then_some(self.ret_size)
    }

    /// The number of 8-byte stack slots the call passes.
    #[inline]
    pub fn stack_words(&self) -> usize {
        usize::from(self.nstack)
    }

    /// Where each argument goes.
    pub fn args(&self) -> &[RegArg] {
        &self.args
    }

    /// Calls `fun` with the arguments in `regs`; read the result with
    /// [`RegisterCall::scalar`] or [`RegisterCall::write_result`] (a result in memory is
    /// where [`Registers::set_result_address`] said).
    ///
    /// # Safety
    /// `fun` must be a function whose C signature is the one this plan was made from;
    /// `regs` must have been made by [`Registers::new`] for this plan, and every
    /// argument word must hold a valid value of its type (pointers valid for whatever
    /// the function does with them), and for a result in memory the result address
    /// must be valid for writes of [`RegisterCall::ret_in_memory`] bytes.
    #[inline]
    pub unsafe fn call(&self, fun: *const c_void, regs: &Registers) -> RegResult {
        if self.nstack == 0 {
            // SAFETY: the caller's contract.
            unsafe {
                raw_register_call(fun, regs, self.nfloat, matches!(self.ret, RegReturn::Float))
            }
        } else {
            // SAFETY: the caller's contract; `regs` was made for this plan, so its first
            // `nstack` stack words are initialised.
            unsafe { raw_stack_call(fun, regs, self.nfloat, usize::from(self.nstack)) }
        }
    }

    /// Whether every argument is an integer (or pointer) in the integer registers, in
    /// order, with a scalar result or none: the plans [`call_ints`] calls.
    pub fn ints_only(&self) -> bool {
        SHORT_CALLS
            && self.nstack == 0
            && matches!(self.ret, RegReturn::Int | RegReturn::Float)
            && self
                .args
                .iter()
                .enumerate()
                .all(|(i, a)| matches!(a, RegArg::Int { index, .. } if usize::from(*index) == i))
    }

    /// Whether every argument is a `double` in the vector registers, in order, with a
    /// scalar result or none: the plans [`call_doubles`] calls.
    pub fn doubles_only(&self) -> bool {
        SHORT_CALLS
            && self.nstack == 0
            && matches!(self.ret, RegReturn::Int | RegReturn::Float)
            && self.args.iter().enumerate().all(|(i, a)| {
                matches!(a, RegArg::Float { index, double: true }
                    if usize::from(*index) == INT_REGS + i)
            })
    }

    /// Whether the result comes back in the first vector register (`float`/`double`).
    pub fn float_result(&self) -> bool {
        matches!(self.ret, RegReturn::Float)
    }

    /// The [`RegisterShape`] of a plan that passes every argument in registers and takes
    /// its result, if any, from registers (not from memory); `None` otherwise.
    #[inline]
    pub fn shape(&self) -> Option<RegisterShape> {
        (self.nstack == 0 && self.ret != RegReturn::Memory)
            .then(|| RegisterShape::new(self.nfloat, self.ret))
    }

    /// A scalar result's register: the integer register, or the bits of the vector
    /// register for a `float`/`double` result (a `float` in the low 32 bits). Integer
    /// results narrower than 64 bits are in the low bytes; the bits above them are
    /// unspecified.
    #[inline]
    pub fn scalar(&self, r: &RegResult) -> u64 {
        scalar_of(self.ret, r)
    }

    /// Writes the result's bytes to `out` as they would lie in memory: a scalar's
    /// register in native order (8 bytes), or an aggregate's eightbytes (its size; the
    /// bytes after it are zero).
    pub fn write_result(&self, r: &RegResult, out: &mut [u8; 16]) {
        write_result_of(self.ret, r, out);
    }
}

/// See [`RegisterCall::scalar`].
#[inline(always)]
fn scalar_of(ret: RegReturn, r: &RegResult) -> u64 {
    if matches!(ret, RegReturn::Float) {
        r.float[0]
    } else {
        r.int[0]
    }
}

/// See [`RegisterCall::write_result`].
#[inline]
fn write_result_of(ret: RegReturn, r: &RegResult, out: &mut [u8; 16]) {
    match ret {
        RegReturn::Struct { size, n, sse } => {
            let (mut i, mut f) = (0, 0);
            let mut bytes = [0u8; 16];
            for (k, is_sse) in sse.iter().enumerate().take(usize::from(n)) {
                let v = if *is_sse {
                    f += 1;
                    r.float[f - 1]
                } else {
                    i += 1;
                    r.int[i - 1]
                };
                bytes[k * 8..k * 8 + 8].copy_from_slice(&v.to_ne_bytes());
            }
            // The first `size` bytes, the rest zero: one masked 16-byte store (no
            // `memcpy` call for a length known only at run time).
            let mask = u128::MAX >> (128 - 8 * u32::from(size.clamp(1, 16)));
            *out = (u128::from_le_bytes(bytes) & mask).to_le_bytes();
        }
        RegReturn::Memory => {}
        _ => out[..8].copy_from_slice(&scalar_of(ret, r).to_ne_bytes()),
    }
}

/// The next word of the image for one eightbyte in a register of its bank (`float` for
/// the vector bank; `ni`/`nf` count the registers taken), else the next stack slot.
fn take_word(float: bool, ni: &mut u8, nf: &mut u8, nstack: &mut usize) -> Option<u8> {
    let (next, max, base) = if float {
        (nf, FLOAT_REGS, INT_REGS)
    } else {
        (ni, INT_REGS, 0)
    };
    if usize::from(*next) < max {
        *next += 1;
        return u8::try_from(base + usize::from(*next) - 1).ok();
    }
    stack_word(nstack, 1)
}

/// Takes `words` consecutive stack slots: the first one's word in the image, or `None`
/// beyond [`STACK_WORDS`].
fn stack_word(nstack: &mut usize, words: usize) -> Option<u8> {
    let first = *nstack;
    if first + words > STACK_WORDS {
        return None;
    }
    *nstack += words;
    u8::try_from(REG_WORDS + first).ok()
}

/// An aggregate copied to the stack: at most 8-aligned (a 16-aligned one, such as one
/// holding a `long double`, needs an aligned slot: libffi's), not empty.
fn memory_arg(t: &FfiType, nstack: &mut usize) -> Option<RegArg> {
    let size = t.size();
    if !STACK_CALLS || size == 0 || t.align() > 8 {
        return None;
    }
    let index = stack_word(nstack, size.div_ceil(8))?;
    Some(RegArg::Memory {
        size: u16::try_from(size).ok()?,
        index,
    })
}

impl Registers {
    /// An image for `call`: every register and the call's stack words zero. (The image
    /// is a few hundred bytes: hot paths make it in place with [`Registers::init`].)
    #[inline]
    pub fn new(call: &RegisterCall) -> Registers {
        let mut slot = MaybeUninit::uninit();
        *Registers::init(&mut slot, call)
    }

    /// Makes the image for `call` in `slot`, in place (no copy of the image): every
    /// register and the call's stack words zero.
    #[inline(always)]
    pub fn init<'a>(
        slot: &'a mut MaybeUninit<Registers>,
        call: &RegisterCall,
    ) -> &'a mut Registers {
        let words = slot.as_mut_ptr().cast::<u64>();
        let nstack = usize::from(call.nstack).min(STACK_WORDS);
        // SAFETY: the image has room for `STORAGE >= WORDS` words (`repr(transparent)` over the array);
        // `REG_WORDS + nstack` of them are written, the stack words from `REG_WORDS`.
        unsafe {
            std::ptr::write_bytes(words, 0, REG_WORDS);
            if nstack > 0 {
                std::ptr::write_bytes(words.add(REG_WORDS), 0, nstack);
            }
        }
        // SAFETY: the only field is a `MaybeUninit`, which needs no initialisation; the
        // words the image promises initialised are, just above.
        unsafe { slot.assume_init_mut() }
    }

    /// A register word (`index < REG_WORDS`, initialised by `new`).
    #[inline(always)]
    fn reg(&self, index: usize) -> u64 {
        debug_assert!(index < REG_WORDS);
        // SAFETY: `new` initialises every register word (and `set` keeps them so);
        // `min` keeps the read inside them whatever the caller passes.
        unsafe {
            self.words
                .as_ptr()
                .cast::<u64>()
                .add(index.min(REG_WORDS - 1))
                .read()
        }
    }

    /// The stack words (the first `stack_words()` of the plan are initialised).
    // (read by the x86-64 stack call only; AArch64 leaves stack arguments to libffi)
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    #[inline(always)]
    fn stack(&self) -> *const u64 {
        // SAFETY: `REG_WORDS < WORDS`: in bounds of the image.
        unsafe { self.words.as_ptr().cast::<u64>().add(REG_WORDS) }
    }

    /// Writes word `index` (a register or stack slot of the plan; a word beyond
    /// [`WORDS`], which no plan names, is written but never read).
    #[inline(always)]
    pub fn set(&mut self, index: u8, value: u64) {
        // SAFETY: every `u8` is below `STORAGE`, the image's length in words.
        unsafe {
            self.words
                .as_mut_ptr()
                .cast::<u64>()
                .add(usize::from(index))
                .write(value)
        };
    }

    /// Passes the address a result in memory is written to (the hidden first integer
    /// argument; see [`RegisterCall::ret_in_memory`]).
    #[inline]
    pub fn set_result_address(&mut self, ptr: *mut u8) {
        self.set(0, ptr as u64);
    }

    /// Stores integer bits for an argument of type `code`: truncated to the type's width,
    /// then sign- or zero-extended to 64 bits as the C ABI (and libffi) extend narrow
    /// arguments.
    #[inline]
    pub fn set_int(&mut self, index: u8, code: TypeCode, bits: u64) {
        // ctypes passes `char` as a signed char (see `TypeCode::ffi_type`).
        let signed = code == TypeCode::Char || code.kind() == ValueKind::Signed;
        self.set(index, crate::memory::widen(bits, code.size(), signed));
    }

    /// Stores a scalar argument from an [`ArgSlot`] written for its type (a structure
    /// argument takes [`Registers::set_struct`]).
    #[inline]
    pub fn set_from_slot(&mut self, arg: RegArg, slot: &ArgSlot) {
        // SAFETY: an ArgSlot is plain initialised bytes; the value sits at offset 0 in
        // native (little-endian) order, so the low bits of `u64` are the value.
        let bits = unsafe { slot.u64 };
        match arg {
            RegArg::Int { index, code } => self.set_int(index, code, bits),
            RegArg::Float { index, double } => {
                self.set(index, if double { bits } else { bits & 0xFFFF_FFFF });
            }
            RegArg::Struct { .. } | RegArg::Memory { .. } => {}
        }
    }

    /// Stores a structure argument from its memory.
    ///
    /// # Safety
    /// `arg` must be a [`RegArg::Struct`] or [`RegArg::Memory`] (other kinds are
    /// ignored) of this image's plan, and `mem` valid for reads of its `size` bytes.
    #[inline]
    pub unsafe fn set_struct(&mut self, arg: RegArg, mem: *const u8) {
        match arg {
            RegArg::Struct { size, n, parts } => {
                // Whole eightbytes (the common sizes) straight, without the loop.
                if size == 16 && n == 2 {
                    // SAFETY: the caller guarantees 16 readable bytes.
                    let (a, b) = unsafe {
                        (
                            mem.cast::<u64>().read_unaligned(),
                            mem.add(8).cast::<u64>().read_unaligned(),
                        )
                    };
                    self.set(parts[0].1, a);
                    self.set(parts[1].1, b);
                    return;
                }
                if size == 8 && n == 1 {
                    // SAFETY: the caller guarantees 8 readable bytes.
                    self.set(parts[0].1, unsafe { mem.cast::<u64>().read_unaligned() });
                    return;
                }
                let size = usize::from(size);
                for (k, (_, index)) in parts.iter().enumerate().take(usize::from(n)) {
                    let len = (size - k * 8).min(8);
                    let v = if len == 8 {
                        // SAFETY: the caller guarantees `size` readable bytes; this whole
                        // eightbyte lies within them.
                        unsafe { mem.add(k * 8).cast::<u64>().read_unaligned() }
                    } else {
                        let mut word = [0u8; 8];
                        // SAFETY: as above, for the `len` bytes of a trailing part.
                        unsafe {
                            std::ptr::copy_nonoverlapping(mem.add(k * 8), word.as_mut_ptr(), len)
                        };
                        u64::from_ne_bytes(word)
                    };
                    self.set(*index, v);
                }
            }
            RegArg::Memory { size, index } => {
                let (size, first) = (usize::from(size), usize::from(index));
                if first + size.div_ceil(8) > WORDS {
                    return; // (no plan names words beyond the image)
                }
                // The plan gave the argument `size.div_ceil(8)` stack words from `index`,
                // inside the image (checked above) and initialised by `new`; the bytes past
                // `size` in the last word stay zero.
                // SAFETY: the caller guarantees `size` readable bytes at `mem`, which are
                // not in the image; the destination words are in bounds.
                unsafe {
                    let dst = self.words.as_mut_ptr().cast::<u64>().add(first);
                    std::ptr::copy_nonoverlapping(mem, dst.cast::<u8>(), size)
                };
            }
            RegArg::Int { .. } | RegArg::Float { .. } => {}
        }
    }
}

/// What calling a plan that passes everything in registers and takes its result from
/// registers needs, copied out of the plan ([`RegisterCall::shape`]) so that the call
/// itself borrows nothing.
#[derive(Clone, Copy, Debug)]
pub struct RegisterShape {
    nfloat: u8,
    /// The result is a `float`/`double` (in the first vector register).
    float_ret: bool,
    ret: RegReturn,
    /// The vector registers the call loads: none when no argument uses one, the first
    /// two when at most two do, else all (always all where there are no short calls,
    /// and for a structure result, which may come back in four registers).
    float_words: FloatWords,
}

/// See [`RegisterShape::float_words`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum FloatWords {
    None,
    Two,
    All,
}

/// Whether this target has the short register calls of [`RegisterShape`] (x86-64 System V).
const SHORT_CALLS: bool = cfg!(all(
    target_arch = "x86_64",
    not(windows),
    target_endian = "little"
));

impl RegisterShape {
    fn new(nfloat: u8, ret: RegReturn) -> RegisterShape {
        let float_words = match nfloat {
            _ if !SHORT_CALLS || !matches!(ret, RegReturn::Int | RegReturn::Float) => {
                FloatWords::All
            }
            0 => FloatWords::None,
            1 | 2 => FloatWords::Two,
            _ => FloatWords::All,
        };
        RegisterShape {
            nfloat,
            float_ret: matches!(ret, RegReturn::Float),
            ret,
            float_words,
        }
    }

    /// Makes the register image for this call in `slot`, in place: the words
    /// [`RegisterShape::call`] reads are zero (the integer registers, and the vector ones it
    /// loads). Only for `call` of this same `RegisterShape`: the other words may stay
    /// uninitialised.
    #[inline(always)]
    pub fn init(self, slot: &mut MaybeUninit<Registers>) -> &mut Registers {
        let words = slot.as_mut_ptr().cast::<u64>();
        // (Constant lengths: a few stores each, no `memset` call.)
        // SAFETY: the image has room for `STORAGE >= WORDS` words (`repr(transparent)` over the array), and
        // every length is at most `REG_WORDS < WORDS`.
        unsafe {
            match self.float_words {
                FloatWords::None => std::ptr::write_bytes(words, 0, INT_REGS),
                FloatWords::Two => std::ptr::write_bytes(words, 0, INT_REGS + 2),
                FloatWords::All => std::ptr::write_bytes(words, 0, REG_WORDS),
            }
        }
        // SAFETY: the only field is a `MaybeUninit`, which needs no initialisation; the
        // words `call` reads are initialised, just above.
        unsafe { slot.assume_init_mut() }
    }

    /// Calls `fun` with the register words of `regs`; read the result with
    /// [`RegisterShape::write_result`] (or call [`RegisterShape::call_scalar`]). Only the vector
    /// registers that can hold arguments are loaded (see [`RegisterShape::init`]).
    ///
    /// # Safety
    /// As [`RegisterCall::call`], for the plan this was taken from; `regs` made by
    /// [`RegisterShape::init`] of this `RegisterShape` (or [`Registers::init`] for the
    /// plan), its argument words written with [`Registers::set`] and
    /// [`Registers::set_struct`].
    #[inline(always)]
    pub unsafe fn call(self, fun: *const c_void, regs: &Registers) -> RegResult {
        #[cfg(all(target_arch = "x86_64", not(windows), target_endian = "little"))]
        if self.float_words != FloatWords::All {
            // SAFETY: the caller's contract; the arguments in vector registers, if any,
            // are in the first two, and the result is one register.
            let (rax, xmm0) = unsafe { raw_short_call(fun, regs, self.nfloat) };
            return RegResult {
                int: [rax, 0],
                float: [xmm0, 0],
            };
        }
        // SAFETY: the caller's contract.
        unsafe { raw_register_call(fun, regs, self.nfloat, self.float_ret) }
    }

    /// See [`RegisterCall::write_result`].
    #[inline]
    pub fn write_result(self, r: &RegResult, out: &mut [u8; 16]) {
        write_result_of(self.ret, r, out);
    }

    /// The part of the shape a call with a scalar result needs (three bytes to carry
    /// around the call instead of the whole shape).
    #[inline(always)]
    pub fn scalar(self) -> ScalarShape {
        ScalarShape {
            nfloat: self.nfloat,
            float_ret: self.float_ret,
            float_words: self.float_words,
        }
    }
}

/// The part of a [`RegisterShape`] that a call with a scalar result (or none) needs.
#[derive(Clone, Copy, Debug)]
#[repr(C)]
pub struct ScalarShape {
    nfloat: u8,
    float_ret: bool,
    float_words: FloatWords,
}

impl ScalarShape {
    /// Calls `fun` as [`RegisterShape::call`] does, and returns the result register as
    /// [`RegisterCall::scalar`] reads it.
    ///
    /// # Safety
    /// As [`RegisterShape::call`], for the shape this was taken from.
    #[inline(always)]
    pub unsafe fn call(self, fun: *const c_void, regs: &Registers) -> u64 {
        #[cfg(all(target_arch = "x86_64", not(windows), target_endian = "little"))]
        if self.float_words != FloatWords::All {
            // SAFETY: as in `call`.
            let (rax, xmm0) = unsafe { raw_short_call(fun, regs, self.nfloat) };
            return if self.float_ret { xmm0 } else { rax };
        }
        // SAFETY: the caller's contract.
        let r = unsafe { raw_register_call(fun, regs, self.nfloat, self.float_ret) };
        if self.float_ret {
            r.float[0]
        } else {
            r.int[0]
        }
    }
}

/// Calls `fun` with integer arguments only, straight from registers (no image): `a`
/// into the six integer argument registers, `%al` zero; returns rax and the low 64 bits
/// of xmm0 (for a `float`/`double` result).
///
/// # Safety
/// `fun` must be a function following the C calling convention whose arguments are at
/// most six integers or pointers (the unused registers are ignored by it) holding the
/// values in `a`, as for [`RegisterCall::call`].
#[cfg(all(target_arch = "x86_64", not(windows), target_endian = "little"))]
#[inline(always)]
pub unsafe fn call_ints(fun: *const c_void, a: [u64; INT_REGS]) -> (u64, u64) {
    let rax: u64;
    let xmm0: f64;
    // SAFETY: `fun` follows the C calling convention (caller's contract), and
    // `clobber_abi("C")` tells the compiler every caller-saved register may change; the
    // stack is aligned for a call at the start of an asm block without `nostack`.
    unsafe {
        core::arch::asm!(
            "call {fun}",
            fun = in(reg) fun,
            in("rdi") a[0],
            in("rsi") a[1],
            in("rdx") a[2],
            in("rcx") a[3],
            in("r8") a[4],
            in("r9") a[5],
            inout("rax") 0u64 => rax,
            lateout("xmm0") xmm0,
            clobber_abi("C"),
        );
    }
    (rax, xmm0.to_bits())
}

/// Calls `fun` with `double` arguments only, straight from registers: `a` into the
/// eight vector argument registers, `%al` = `n` (the number in use, for a variadic
/// callee); returns rax and the low 64 bits of xmm0.
///
/// # Safety
/// `fun` must be a function following the C calling convention whose arguments are at
/// most eight `double`s holding the first `n` values of `a`, as for
/// [`RegisterCall::call`].
#[cfg(all(target_arch = "x86_64", not(windows), target_endian = "little"))]
#[inline(always)]
pub unsafe fn call_doubles(fun: *const c_void, a: [f64; FLOAT_REGS], n: u8) -> (u64, u64) {
    let rax: u64;
    let xmm0: f64;
    // SAFETY: as in `call_ints`.
    unsafe {
        core::arch::asm!(
            "call {fun}",
            fun = in(reg) fun,
            inout("rax") u64::from(n) => rax,
            inout("xmm0") a[0] => xmm0,
            in("xmm1") a[1],
            in("xmm2") a[2],
            in("xmm3") a[3],
            in("xmm4") a[4],
            in("xmm5") a[5],
            in("xmm6") a[6],
            in("xmm7") a[7],
            clobber_abi("C"),
        );
    }
    (rax, xmm0.to_bits())
}

/// The x86-64 System V call of a function with at most two arguments in vector
/// registers: the six integer registers, xmm0 and xmm1 when `nfloat > 0`, `%al` the
/// number of vector registers in use (for a variadic callee); rax and the low 64 bits of
/// xmm0 back.
///
/// # Safety
/// See [`RegisterCall::call`]; the plan passes at most two arguments in vector
/// registers, and when it passes none, the vector words of `r` need not be initialised.
#[cfg(all(target_arch = "x86_64", not(windows), target_endian = "little"))]
#[inline(always)]
unsafe fn raw_short_call(fun: *const c_void, r: &Registers, nfloat: u8) -> (u64, u64) {
    if nfloat == 0 {
        let a = [r.reg(0), r.reg(1), r.reg(2), r.reg(3), r.reg(4), r.reg(5)];
        // SAFETY: the caller's contract: integer arguments only, in these registers.
        return unsafe { call_ints(fun, a) };
    }
    let rax: u64;
    let xmm0: f64;
    let f = |i: usize| f64::from_bits(r.reg(INT_REGS + i));
    // `fun` follows the C calling convention (caller's contract), and `clobber_abi("C")`
    // tells the compiler every caller-saved register may change; the stack is aligned for
    // a call at the start of an asm block without `nostack`.
    // SAFETY: so the call is sound; the two vector words are initialised (`init`).
    unsafe {
        core::arch::asm!(
            "call {fun}",
            fun = in(reg) fun,
            in("rdi") r.reg(0),
            in("rsi") r.reg(1),
            in("rdx") r.reg(2),
            in("rcx") r.reg(3),
            in("r8") r.reg(4),
            in("r9") r.reg(5),
            inout("rax") u64::from(nfloat) => rax,
            inout("xmm0") f(0) => xmm0,
            in("xmm1") f(1),
            clobber_abi("C"),
        );
    }
    (rax, xmm0.to_bits())
}

/// The x86-64 System V call: six integer registers, eight vector registers, `%al` the
/// number of vector registers in use (read by variadic callees); the result is read
/// from rax, rdx, xmm0 and xmm1.
///
/// # Safety
/// See [`RegisterCall::call`].
#[cfg(all(target_arch = "x86_64", not(windows), target_endian = "little"))]
#[inline]
unsafe fn raw_register_call(
    fun: *const c_void,
    r: &Registers,
    nfloat: u8,
    _float_ret: bool,
) -> RegResult {
    let (rax, rdx): (u64, u64);
    let (xmm0, xmm1): (f64, f64);
    let f = |i: usize| f64::from_bits(r.reg(INT_REGS + i));
    // Every argument register is loaded and `%al` holds the vector register count; the
    // compiler keeps the stack aligned for a call at the start of an asm block without
    // `nostack`.
    // SAFETY: `fun` follows the C calling convention (caller's contract), and
    // `clobber_abi("C")` tells the compiler every caller-saved register may change.
    unsafe {
        core::arch::asm!(
            "call {fun}",
            fun = in(reg) fun,
            in("rdi") r.reg(0),
            in("rsi") r.reg(1),
            inout("rdx") r.reg(2) => rdx,
            in("rcx") r.reg(3),
            in("r8") r.reg(4),
            in("r9") r.reg(5),
            inout("rax") u64::from(nfloat) => rax,
            inout("xmm0") f(0) => xmm0,
            inout("xmm1") f(1) => xmm1,
            in("xmm2") f(2),
            in("xmm3") f(3),
            in("xmm4") f(4),
            in("xmm5") f(5),
            in("xmm6") f(6),
            in("xmm7") f(7),
            clobber_abi("C"),
        );
    }
    RegResult {
        int: [rax, rdx],
        float: [xmm0.to_bits(), xmm1.to_bits()],
    }
}

/// The x86-64 System V call with `nstack` (at least one) stack slots: the registers as
/// in [`raw_register_call`], and the stack words pushed last to first, after 8 bytes of
/// padding when their number is odd, so that the first is at `%rsp` and `%rsp` is
/// 16-aligned at the call; the caller pops them (and the padding) after it.
///
/// # Safety
/// See [`RegisterCall::call`]; `r`'s first `nstack` stack words must be initialised
/// and `nstack` at most [`STACK_WORDS`].
#[cfg(all(target_arch = "x86_64", not(windows), target_endian = "little"))]
#[inline(never)]
unsafe fn raw_stack_call(
    fun: *const c_void,
    r: &Registers,
    nfloat: u8,
    nstack: usize,
) -> RegResult {
    let (rax, rdx): (u64, u64);
    let (xmm0, xmm1): (f64, f64);
    let f = |i: usize| f64::from_bits(r.reg(INT_REGS + i));
    let stack = r.stack();
    let bytes = (nstack * 8).next_multiple_of(16);
    // r10 and r11 are the only caller-saved registers that carry no argument: r10 holds
    // the slots' address and r11 counts them down. The function address and the bytes
    // to pop live in r13 and r12, which the callee preserves.
    // The asm block has no `nostack`, so `%rsp` is 16-aligned for a call at its start,
    // and it gives back exactly what it takes (`bytes`), writing only below `%rsp`.
    // SAFETY: `fun` follows the C calling convention and `stack` holds `nstack`
    // initialised words (the caller's contract), which is all the block reads.
    unsafe {
        core::arch::asm!(
            "test r11, 1",
            "jz 2f",
            "sub rsp, 8",
            "2:",
            "test r11, r11",
            "jz 3f",
            "push qword ptr [r10 + 8*r11 - 8]",
            "dec r11",
            "jmp 2b",
            "3:",
            "call r13",
            "add rsp, r12",
            in("r10") stack,
            inout("r11") nstack => _,
            in("r12") bytes,
            in("r13") fun,
            in("rdi") r.reg(0),
            in("rsi") r.reg(1),
            inout("rdx") r.reg(2) => rdx,
            in("rcx") r.reg(3),
            in("r8") r.reg(4),
            in("r9") r.reg(5),
            inout("rax") u64::from(nfloat) => rax,
            inout("xmm0") f(0) => xmm0,
            inout("xmm1") f(1) => xmm1,
            in("xmm2") f(2),
            in("xmm3") f(3),
            in("xmm4") f(4),
            in("xmm5") f(5),
            in("xmm6") f(6),
            in("xmm7") f(7),
            clobber_abi("C"),
        );
    }
    RegResult {
        int: [rax, rdx],
        float: [xmm0.to_bits(), xmm1.to_bits()],
    }
}

/// The AArch64 call: eight integer and eight vector registers, through function pointer
/// types whose parameters are exactly the argument registers (AAPCS64 assigns the
/// banks independently, and variadic arguments on Linux travel like fixed ones).
///
/// # Safety
/// See [`RegisterCall::call`].
#[cfg(all(target_arch = "aarch64", target_endian = "little"))]
#[inline]
unsafe fn raw_register_call(
    fun: *const c_void,
    r: &Registers,
    _nfloat: u8,
    float_ret: bool,
) -> RegResult {
    type IntFn = unsafe extern "C" fn(
        u64,
        u64,
        u64,
        u64,
        u64,
        u64,
        u64,
        u64,
        f64,
        f64,
        f64,
        f64,
        f64,
        f64,
        f64,
        f64,
    ) -> u64;
    type FloatFn = unsafe extern "C" fn(
        u64,
        u64,
        u64,
        u64,
        u64,
        u64,
        u64,
        u64,
        f64,
        f64,
        f64,
        f64,
        f64,
        f64,
        f64,
        f64,
    ) -> f64;
    let i: [u64; INT_REGS] = core::array::from_fn(|k| r.reg(k));
    let f: [f64; FLOAT_REGS] = core::array::from_fn(|k| f64::from_bits(r.reg(INT_REGS + k)));
    // Under AAPCS64 a callee reads only the registers of its own parameters. The result
    // register is x0 for integers and pointers, d0 (s0 in its low bits) for floats.
    // SAFETY: `fun` is a C function (caller's contract); a type that loads all argument
    // registers passes its arguments exactly.
    unsafe {
        if float_ret {
            let g: FloatFn = core::mem::transmute(fun);
            let v = g(
                i[0], i[1], i[2], i[3], i[4], i[5], i[6], i[7], f[0], f[1], f[2], f[3], f[4], f[5],
                f[6], f[7],
            );
            RegResult {
                int: [0; 2],
                float: [v.to_bits(), 0],
            }
        } else {
            let g: IntFn = core::mem::transmute(fun);
            let v = g(
                i[0], i[1], i[2], i[3], i[4], i[5], i[6], i[7], f[0], f[1], f[2], f[3], f[4], f[5],
                f[6], f[7],
            );
            RegResult {
                int: [v, 0],
                float: [0; 2],
            }
        }
    }
}

/// Targets without register calls ([`RegisterCall::try_new`] returns `None` there).
///
/// # Safety
/// Never called.
#[cfg(not(any(
    all(target_arch = "x86_64", not(windows), target_endian = "little"),
    all(target_arch = "aarch64", target_endian = "little")
)))]
unsafe fn raw_register_call(_: *const c_void, _: &Registers, _: u8, _: bool) -> RegResult {
    unreachable!("register calls are not available on this target")
}

/// Targets without stack arguments in register calls ([`RegisterCall::try_new`] makes
/// no plan with stack words there).
///
/// # Safety
/// Never called.
#[cfg(not(all(target_arch = "x86_64", not(windows), target_endian = "little")))]
unsafe fn raw_stack_call(_: *const c_void, _: &Registers, _: u8, _: usize) -> RegResult {
    unreachable!("stack arguments are passed by libffi on this target")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::{CallInterface, RetBuf};
    use crate::closure::Closure;
    use crate::library::Library;

    // Register calls against libffi: the same functions, arguments and result reads
    // through both paths.
    extern "C" fn narrow_ints(a: i8, b: u8, c: i16, d: u16, e: i32, f: u32) -> i64 {
        i64::from(a) * 1_000_000
            + i64::from(b) * 10_000
            + i64::from(c) * 100
            + i64::from(d)
            + i64::from(e)
            + i64::from(f)
    }
    extern "C" fn mixed(a: f32, b: i64, c: f64, d: u8, e: f32, f: *const u8) -> f64 {
        // SAFETY: the tests pass a pointer to at least one byte.
        let byte = unsafe { *f };
        f64::from(a) * 2.0 + b as f64 + c * 3.0 + f64::from(d) + f64::from(e) + f64::from(byte)
    }
    #[allow(clippy::too_many_arguments)]
    extern "C" fn all_registers(
        i0: u64,
        i1: u64,
        i2: u64,
        i3: u64,
        i4: u64,
        i5: u64,
        f0: f64,
        f1: f64,
        f2: f64,
        f3: f64,
        f4: f64,
        f5: f64,
        f6: f64,
        f7: f32,
    ) -> f64 {
        (i0 + 2 * i1 + 3 * i2 + 4 * i3 + 5 * i4 + 6 * i5) as f64
            + f0
            + 2.0 * f1
            + 3.0 * f2
            + 4.0 * f3
            + 5.0 * f4
            + 6.0 * f5
            + 7.0 * f6
            + 8.0 * f64::from(f7)
    }
    extern "C" fn half_of(a: f32) -> f32 {
        a / 2.0
    }
    extern "C" fn neg_byte(a: i8) -> i8 {
        a.wrapping_neg()
    }
    extern "C" fn nothing(_a: i32) {}

    fn both_ways(
        fun: *const c_void,
        ret: TypeCode,
        args: &[(TypeCode, ArgSlot)],
    ) -> (Vec<u8>, Vec<u8>) {
        let types: Vec<FfiType> = args.iter().map(|(c, _)| FfiType::Scalar(*c)).collect();
        let rt = if ret == TypeCode::Int && fun == nothing as *const c_void {
            FfiType::Void
        } else {
            FfiType::Scalar(ret)
        };
        let n = ret.size();
        let ci = CallInterface::try_new(rt.clone(), &types, None).unwrap();
        let mut slots: Vec<ArgSlot> = args.iter().map(|(_, s)| *s).collect();
        let mut argv: Vec<*mut c_void> = slots
            .iter_mut()
            .map(|s| std::ptr::from_mut(s).cast())
            .collect();
        let mut rb = RetBuf::default();
        // SAFETY: each test function has exactly the described signature.
        unsafe { ci.call(fun, argv.as_mut_ptr(), rb.as_mut_ptr()) };
        let via_ffi = rb.0[..n].to_vec();
        let rc = RegisterCall::try_new(&rt, &types).expect("a register signature");
        let mut regs = Registers::new(&rc);
        for (a, (_, s)) in rc.args().iter().zip(args) {
            regs.set_from_slot(*a, s);
        }
        // SAFETY: as above.
        let r = unsafe { rc.call(fun, &regs) };
        (via_ffi, rc.scalar(&r).to_ne_bytes()[..n].to_vec())
    }

    #[test]
    fn register_calls_match_libffi() {
        if !REGISTER_CALLS {
            return;
        }
        use TypeCode as T;
        let s = |v: u64| ArgSlot { u64: v };
        let byte = 7u8;
        type Case = (*const c_void, TypeCode, Vec<(TypeCode, ArgSlot)>);
        let cases: Vec<Case> = vec![
            (
                narrow_ints as *const c_void,
                T::LongLong,
                vec![
                    (T::Byte, s(0xF6)), // -10 in the low byte, garbage-free above
                    (T::UByte, s(200)),
                    (T::Short, s(0xFFFF_FFFF_FFFF_FF9C)), // -100
                    (T::UShort, s(65535)),
                    (T::Int, s((-5i32) as u32 as u64)),
                    (T::UInt, s(4_000_000_000)),
                ],
            ),
            (
                mixed as *const c_void,
                T::Double,
                vec![
                    (T::Float, ArgSlot { f32: 1.5 }),
                    (T::LongLong, s((-40i64) as u64)),
                    (T::Double, ArgSlot { f64: 0.25 }),
                    (T::UByte, s(3)),
                    (T::Float, ArgSlot { f32: -2.0 }),
                    (
                        T::VoidP,
                        ArgSlot {
                            ptr: (&raw const byte).cast_mut().cast(),
                        },
                    ),
                ],
            ),
            (
                all_registers as *const c_void,
                T::Double,
                (1..=6)
                    .map(|i| (T::ULongLong, s(i)))
                    .chain((1..=7).map(|i| {
                        (
                            T::Double,
                            ArgSlot {
                                f64: f64::from(i) / 4.0,
                            },
                        )
                    }))
                    .chain([(T::Float, ArgSlot { f32: 0.5 })])
                    .collect(),
            ),
            (
                half_of as *const c_void,
                T::Float,
                vec![(T::Float, ArgSlot { f32: 5.0 })],
            ),
            (neg_byte as *const c_void, T::Byte, vec![(T::Byte, s(0x80))]),
            (nothing as *const c_void, T::Int, vec![(T::Int, s(1))]),
        ];
        for (fun, ret, args) in cases {
            let (a, b) = both_ways(fun, ret, &args);
            if fun != nothing as *const c_void {
                assert_eq!(
                    a,
                    b,
                    "{ret:?} {args:?}",
                    args = args.iter().map(|a| a.0).collect::<Vec<_>>()
                );
            }
        }
        let f = both_ways(
            mixed as *const c_void,
            T::Double,
            &[
                (T::Float, ArgSlot { f32: 1.0 }),
                (T::LongLong, s(1)),
                (T::Double, ArgSlot { f64: 1.0 }),
                (T::UByte, s(1)),
                (T::Float, ArgSlot { f32: 1.0 }),
                (
                    T::VoidP,
                    ArgSlot {
                        ptr: (&raw const byte).cast_mut().cast(),
                    },
                ),
            ],
        );
        assert_eq!(
            f64::from_ne_bytes(f.1.try_into().unwrap()),
            2.0 + 1.0 + 3.0 + 1.0 + 1.0 + 7.0
        );
    }

    #[test]
    fn register_plans() {
        use TypeCode as T;
        let sc = FfiType::Scalar;
        if !REGISTER_CALLS {
            assert!(RegisterCall::try_new(&FfiType::Void, &[]).is_none());
            return;
        }
        assert!(RegisterCall::try_new(&sc(T::LongDouble), &[]).is_none());
        assert!(RegisterCall::try_new(&FfiType::Void, &[sc(T::Half)]).is_none());
        let x86 = cfg!(target_arch = "x86_64");
        // Beyond the registers: stack slots on x86-64, libffi on AArch64.
        let rc = RegisterCall::try_new(&FfiType::Void, &vec![sc(T::Int); INT_REGS + 1]);
        assert_eq!(rc.map(|r| r.stack_words()), x86.then_some(1));
        let rc = RegisterCall::try_new(&FfiType::Void, &vec![sc(T::Double); FLOAT_REGS + 3]);
        assert_eq!(rc.map(|r| r.stack_words()), x86.then_some(3));
        assert!(RegisterCall::try_new(
            &FfiType::Void,
            &vec![sc(T::Int); REG_WORDS + STACK_WORDS + 1]
        )
        .is_none());
        let big = FfiType::Struct(crate::StructType::new(vec![sc(T::LongLong); 3], 24, 8));
        let rc = RegisterCall::try_new(&big, &[]);
        assert_eq!(rc.and_then(|r| r.ret_in_memory()), x86.then_some(24));
        let rc = RegisterCall::try_new(&FfiType::Void, std::slice::from_ref(&big));
        assert_eq!(
            rc.map(|r| r.args().to_vec()),
            x86.then(|| vec![RegArg::Memory {
                size: 24,
                index: REG_WORDS as u8
            }])
        );
        let ld = FfiType::Struct(crate::StructType::new(vec![sc(T::LongDouble)], 16, 16));
        assert!(RegisterCall::try_new(&FfiType::Void, &[ld]).is_none());
        let ld2 = FfiType::Struct(crate::StructType::new(vec![sc(T::LongDouble); 2], 32, 16));
        assert!(RegisterCall::try_new(&FfiType::Void, &[ld2]).is_none());
        let st = FfiType::Struct(crate::StructType::new(vec![sc(T::Int)], 4, 4));
        let rc = RegisterCall::try_new(&st, std::slice::from_ref(&st));
        assert_eq!(rc.is_some(), x86);
        // Six integer registers hold five scalars and one eightbyte, not a two-eightbyte
        // aggregate: it goes on the stack, and the register left takes the next integer.
        let two = FfiType::Struct(crate::StructType::new(vec![sc(T::LongLong); 2], 16, 8));
        let mut args = vec![sc(T::Int); 5];
        args.push(two);
        args.push(sc(T::Int));
        let rc = RegisterCall::try_new(&FfiType::Void, &args);
        assert_eq!(
            rc.map(|r| r.args()[5..].to_vec()),
            x86.then(|| vec![
                RegArg::Memory {
                    size: 16,
                    index: REG_WORDS as u8
                },
                RegArg::Int {
                    index: 5,
                    code: T::Int
                }
            ])
        );
        let rc = RegisterCall::try_new(
            &sc(T::Int),
            &[sc(T::Double), sc(T::Int), sc(T::Float), sc(T::VoidP)],
        )
        .unwrap();
        assert_eq!(
            rc.args(),
            &[
                RegArg::Float {
                    index: INT_REGS as u8,
                    double: true
                },
                RegArg::Int {
                    index: 0,
                    code: T::Int
                },
                RegArg::Float {
                    index: INT_REGS as u8 + 1,
                    double: false
                },
                RegArg::Int {
                    index: 1,
                    code: T::VoidP
                },
            ]
        );
    }

    #[test]
    fn register_call_sets_the_vector_count_for_variadic_callees() {
        if !REGISTER_CALLS {
            return;
        }
        use TypeCode as T;
        let sc = FfiType::Scalar;
        let snprintf = Library::this().unwrap().symbol("snprintf").unwrap();
        let rc = RegisterCall::try_new(
            &sc(T::Int),
            &[
                sc(T::VoidP),
                sc(T::ULong),
                sc(T::VoidP),
                sc(T::Double),
                sc(T::Int),
                sc(T::Double),
            ],
        )
        .unwrap();
        let mut buf = [0u8; 64];
        let fmt = c"%.2f %d %.1f";
        let mut regs = Registers::new(&rc);
        let vals = [
            ArgSlot {
                ptr: buf.as_mut_ptr().cast(),
            },
            ArgSlot { u64: 64 },
            ArgSlot {
                ptr: fmt.as_ptr().cast_mut().cast(),
            },
            ArgSlot { f64: 2.5 },
            ArgSlot { i32: -7 },
            ArgSlot { f64: 0.5 },
        ];
        for (a, v) in rc.args().iter().zip(&vals) {
            regs.set_from_slot(*a, v);
        }
        // SAFETY: snprintf(char*, size_t, const char*, ...) with two doubles and an int.
        let r = unsafe { rc.call(snprintf, &regs) };
        let n = rc.scalar(&r) as u32 as i32;
        assert_eq!(&buf[..n as usize], b"2.50 -7 0.5");
    }

    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq)]
    struct Pt {
        x: f64,
        y: f64,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq)]
    struct Mixed {
        a: i32,
        b: f32,
        c: f64,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq)]
    struct Small {
        a: u8,
        b: u16,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq)]
    struct F3 {
        x: f32,
        y: f32,
        z: f32,
    }
    extern "C" fn pt_add(a: Pt, b: Pt) -> Pt {
        Pt {
            x: a.x + b.x,
            y: a.y + b.y,
        }
    }
    extern "C" fn mixed_swap(k: i64, m: Mixed, d: f64) -> Mixed {
        Mixed {
            a: m.a + k as i32,
            b: m.c as f32,
            c: f64::from(m.b) + d,
        }
    }
    extern "C" fn small_f3(s: Small, f: F3) -> F3 {
        F3 {
            x: f.z + f32::from(s.a),
            y: f.x,
            z: f.y + f32::from(s.b),
        }
    }

    /// Calls `fun` with structure arguments both ways and returns both results.
    fn struct_both_ways<R: Copy>(
        fun: *const c_void,
        ret: &FfiType,
        args: &[(FfiType, *const u8)],
    ) -> (R, R) {
        let types: Vec<FfiType> = args.iter().map(|(t, _)| t.clone()).collect();
        let ci = CallInterface::try_new(ret.clone(), &types, None).unwrap();
        let mut argv: Vec<*mut c_void> = args.iter().map(|(_, p)| p.cast_mut().cast()).collect();
        let mut rb = vec![0u128; ret.size().div_ceil(16).max(2)];
        // SAFETY: the functions have exactly these signatures; argv points at values;
        // the result buffer is 16-aligned and holds the result.
        unsafe { ci.call(fun, argv.as_mut_ptr(), rb.as_mut_ptr().cast()) };
        // SAFETY: the buffer holds an R.
        let a = unsafe { rb.as_ptr().cast::<R>().read_unaligned() };
        let rc = RegisterCall::try_new(ret, &types).expect("a register signature");
        let mut regs = Registers::new(&rc);
        let mut in_memory = vec![0u8; ret.size()];
        if rc.ret_in_memory().is_some() {
            regs.set_result_address(in_memory.as_mut_ptr());
        }
        for (reg, (t, p)) in rc.args().iter().zip(args) {
            match t {
                // SAFETY: `p` points at a value of the aggregate.
                FfiType::Struct(_) => unsafe { regs.set_struct(*reg, *p) },
                _ => {
                    let mut slot = ArgSlot::default();
                    // SAFETY: `p` points at a scalar of at most 8 bytes.
                    unsafe {
                        std::ptr::copy_nonoverlapping(*p, (&raw mut slot).cast::<u8>(), t.size())
                    };
                    regs.set_from_slot(*reg, &slot);
                }
            }
        }
        // SAFETY: as above.
        let r = unsafe { rc.call(fun, &regs) };
        if rc.ret_in_memory().is_some() {
            // SAFETY: the callee wrote an R there.
            return (a, unsafe {
                in_memory.as_ptr().cast::<R>().read_unaligned()
            });
        }
        let mut out = [0u8; 16];
        rc.write_result(&r, &mut out);
        // SAFETY: `out` holds an R (at most 16 bytes).
        let b = unsafe { out.as_ptr().cast::<R>().read_unaligned() };
        (a, b)
    }

    #[test]
    fn register_calls_pass_small_structs_like_libffi() {
        if !(REGISTER_CALLS && cfg!(target_arch = "x86_64")) {
            return;
        }
        use TypeCode as T;
        let sc = FfiType::Scalar;
        let st =
            |e: Vec<FfiType>, size, align| FfiType::Struct(crate::StructType::new(e, size, align));
        let pt = st(vec![sc(T::Double), sc(T::Double)], 16, 8);
        let mixed = st(vec![sc(T::Int), sc(T::Float), sc(T::Double)], 16, 8);
        let small = st(vec![sc(T::UByte), sc(T::UShort)], 4, 2);
        let f3 = st(vec![sc(T::Float); 3], 12, 4);

        let (a, b) = (Pt { x: 1.5, y: -2.0 }, Pt { x: 0.25, y: 8.0 });
        let r: (Pt, Pt) = struct_both_ways(
            pt_add as *const c_void,
            &pt,
            &[
                (pt.clone(), (&raw const a).cast()),
                (pt.clone(), (&raw const b).cast()),
            ],
        );
        assert_eq!(r.0, r.1);
        assert_eq!(r.1, Pt { x: 1.75, y: 6.0 });

        let k = 5i64;
        let m = Mixed {
            a: -3,
            b: 0.5,
            c: 10.0,
        };
        let d = 0.125f64;
        let r: (Mixed, Mixed) = struct_both_ways(
            mixed_swap as *const c_void,
            &mixed,
            &[
                (sc(T::LongLong), (&raw const k).cast()),
                (mixed.clone(), (&raw const m).cast()),
                (sc(T::Double), (&raw const d).cast()),
            ],
        );
        assert_eq!(r.0, r.1);
        assert_eq!(
            r.1,
            Mixed {
                a: 2,
                b: 10.0,
                c: 0.625
            }
        );

        let s = Small { a: 7, b: 300 };
        let f = F3 {
            x: 1.0,
            y: 2.0,
            z: 3.0,
        };
        let r: (F3, F3) = struct_both_ways(
            small_f3 as *const c_void,
            &f3,
            &[
                (small.clone(), (&raw const s).cast()),
                (f3.clone(), (&raw const f).cast()),
            ],
        );
        assert_eq!(r.0, r.1);
        assert_eq!(
            r.1,
            F3 {
                x: 10.0,
                y: 1.0,
                z: 302.0
            }
        );
    }

    /// What a probe closure saw: each argument's bytes, in order.
    struct Probe {
        sizes: Vec<usize>,
        seen: std::sync::Mutex<Vec<u8>>,
        ret: FfiType,
    }

    /// The result a probe returns for the bytes it saw: a checksum in every byte of a
    /// structure result, else in the scalar.
    fn probe_result(seen: &[u8]) -> u64 {
        seen.iter().enumerate().fold(17u64, |h, (i, b)| {
            h.wrapping_mul(31).wrapping_add(u64::from(*b) ^ i as u64)
        })
    }

    fn probe_handler(p: &Probe, args: &[*const c_void], ret: *mut u8) {
        let mut seen = Vec::new();
        for (a, size) in args.iter().zip(&p.sizes) {
            // SAFETY: libffi passes a pointer to each argument's `size` bytes.
            seen.extend_from_slice(unsafe { std::slice::from_raw_parts(a.cast::<u8>(), *size) });
        }
        let h = probe_result(&seen);
        let n = p.ret.size();
        // SAFETY: the result buffer holds the result type (at least 8 bytes).
        unsafe {
            match &p.ret {
                FfiType::Struct(_) => {
                    for k in 0..n {
                        *ret.add(k) = (h >> (8 * (k % 8))) as u8 ^ k as u8;
                    }
                }
                FfiType::Scalar(TypeCode::Double) => ret.cast::<f64>().write(h as f64),
                _ => ret.cast::<u64>().write(h),
            }
        }
        *p.seen.lock().unwrap() = seen;
    }

    /// Calls a libffi closure of the signature through the register engine: the closure
    /// (libffi's reading of the ABI) must see every argument's bytes as passed, and the
    /// engine must read its result as written.
    fn probe(ret: FfiType, args: &[FfiType]) {
        let cif = CallInterface::cached(&ret, args, None).unwrap();
        let sizes: Vec<usize> = args.iter().map(FfiType::size).collect();
        let closure = Closure::new(
            cif,
            probe_handler,
            Probe {
                sizes: sizes.clone(),
                seen: Default::default(),
                ret: ret.clone(),
            },
        )
        .unwrap();
        let rc = RegisterCall::try_new(&ret, args)
            .unwrap_or_else(|| panic!("a register plan for {args:?} -> {ret:?}"));
        // Argument bytes: a distinct pattern per argument, valid for its type (floats are
        // small integers, so no NaN payloads are involved).
        let mut values: Vec<Vec<u8>> = Vec::new();
        for (i, a) in args.iter().enumerate() {
            let v: Vec<u8> = match a {
                FfiType::Scalar(TypeCode::Double) => (i as f64 + 0.5).to_ne_bytes().to_vec(),
                FfiType::Scalar(TypeCode::Float) => (i as f32 - 0.25).to_ne_bytes().to_vec(),
                FfiType::Struct(_) => {
                    // structures of long long and double members: one value per word
                    let mut out = Vec::new();
                    let mut leaves = Vec::new();
                    assert!(a.leaves(&mut leaves));
                    for (k, (_, code)) in leaves.iter().enumerate() {
                        if *code == TypeCode::Double {
                            out.extend_from_slice(&(i as f64 * 100.0 + k as f64).to_ne_bytes());
                        } else {
                            out.extend_from_slice(&((i * 100 + k) as u64 | 1 << 40).to_ne_bytes());
                        }
                    }
                    out
                }
                t => {
                    let bits = 0x8070_6050_4030_2010u64.rotate_left(i as u32 * 8) ^ i as u64;
                    bits.to_ne_bytes()[..t.size()].to_vec()
                }
            };
            values.push(v);
        }
        let mut regs = Registers::new(&rc);
        let mut out = vec![0u8; ret.size().max(16)];
        if rc.ret_in_memory().is_some() {
            regs.set_result_address(out.as_mut_ptr());
        }
        for (reg, v) in rc.args().iter().zip(&values) {
            match reg {
                // SAFETY: `v` holds the structure's bytes.
                RegArg::Struct { .. } | RegArg::Memory { .. } => unsafe {
                    regs.set_struct(*reg, v.as_ptr())
                },
                _ => {
                    let mut slot = ArgSlot::default();
                    // SAFETY: a scalar of at most 8 bytes.
                    unsafe {
                        std::ptr::copy_nonoverlapping(v.as_ptr(), (&raw mut slot).cast(), v.len())
                    };
                    regs.set_from_slot(*reg, &slot);
                }
            }
        }
        // SAFETY: the closure has exactly this signature; `out` holds the result.
        let r = unsafe { rc.call(closure.code_ptr(), &regs) };
        let expected: Vec<u8> = values.concat();
        let seen = closure.user().seen.lock().unwrap().clone();
        assert_eq!(seen, expected, "{args:?} -> {ret:?}");
        let h = probe_result(&expected);
        match &ret {
            FfiType::Struct(_) => {
                if rc.ret_in_memory().is_none() {
                    let mut b = [0u8; 16];
                    rc.write_result(&r, &mut b);
                    out[..16].copy_from_slice(&b);
                }
                let want: Vec<u8> = (0..ret.size())
                    .map(|k| (h >> (8 * (k % 8))) as u8 ^ k as u8)
                    .collect();
                assert_eq!(&out[..ret.size()], &want[..], "{args:?} -> {ret:?}");
            }
            FfiType::Scalar(TypeCode::Double) => {
                assert_eq!(f64::from_bits(rc.scalar(&r)), h as f64)
            }
            _ => assert_eq!(rc.scalar(&r), h),
        }
    }

    #[test]
    fn stack_arguments_match_libffi_closures() {
        if !(REGISTER_CALLS && STACK_CALLS) {
            return;
        }
        use TypeCode as T;
        let sc = FfiType::Scalar;
        let ints = [T::LongLong, T::Byte, T::UShort, T::Int, T::UInt, T::VoidP];
        let floats = [T::Double, T::Float];
        let st = |e: Vec<FfiType>, size| FfiType::Struct(crate::StructType::new(e, size, 8));
        let s16 = st(vec![sc(T::LongLong); 2], 16);
        let sd16 = st(vec![sc(T::Double); 2], 16);
        let mixed16 = st(vec![sc(T::Double), sc(T::LongLong)], 16);
        let s24 = st(vec![sc(T::LongLong); 3], 24);
        let s64 = st(vec![sc(T::Double); 8], 64);
        let results = [
            sc(T::LongLong),
            sc(T::Double),
            s24.clone(),
            s64.clone(),
            sd16.clone(),
        ];
        // Every count of 0..=12 integer and 0..=12 floating arguments, integers first,
        // floats first, and alternating.
        let mut n = 0;
        for ni in 0..=12usize {
            for nf in 0..=12usize {
                let i_args: Vec<FfiType> = (0..ni).map(|k| sc(ints[k % ints.len()])).collect();
                let f_args: Vec<FfiType> = (0..nf).map(|k| sc(floats[k % 2])).collect();
                let mut alt = Vec::new();
                for k in 0..ni.max(nf) {
                    alt.extend(i_args.get(k).cloned());
                    alt.extend(f_args.get(k).cloned());
                }
                let ret = &results[(ni + nf) % results.len()];
                probe(ret.clone(), &[i_args.clone(), f_args.clone()].concat());
                probe(ret.clone(), &[f_args.clone(), i_args.clone()].concat());
                probe(ret.clone(), &alt);
                n += 3;
            }
        }
        assert_eq!(n, 3 * 13 * 13);
        // Structures by value: in registers while they fit, then on the stack (and the
        // registers left serve later scalars), larger ones always on the stack.
        let i = |n: usize| vec![sc(T::LongLong); n];
        let d = |n: usize| vec![sc(T::Double); n];
        let shapes: Vec<Vec<FfiType>> = vec![
            [i(5), vec![s16.clone()], i(2)].concat(),
            [i(4), vec![s16.clone()], i(2)].concat(),
            [d(7), vec![sd16.clone()], d(2)].concat(),
            [d(8), vec![mixed16.clone()], i(6)].concat(),
            [i(6), vec![mixed16.clone()], d(8)].concat(),
            vec![s24.clone(), sc(T::Int), s64.clone(), sc(T::Double)],
            [
                i(6),
                d(8),
                vec![s24.clone(), s16.clone(), sd16.clone()],
                i(1),
            ]
            .concat(),
            [vec![s64.clone()], i(7), d(9)].concat(),
        ];
        for args in &shapes {
            for ret in &results {
                probe(ret.clone(), args);
            }
        }
    }
}
