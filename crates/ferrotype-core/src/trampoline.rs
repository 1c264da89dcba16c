//! Closure trampolines of our own (x86-64 System V, Linux): the C entry of a callback
//! whose arguments and result all travel in registers, without libffi's closure entry
//! (which classifies every argument on every call).
//!
//! Design:
//! - A *block* is two pages mapped together: a code page of identical 32-byte stubs and
//!   a data page of 32-byte slots, slot `i` at the same offset from the data page as
//!   stub `i` from the code page. The code page is written once, while the mapping is
//!   still read-write, then made read-execute with `mprotect`: no page is ever writable
//!   and executable (W^X), and code is never written again. The data page stays
//!   read-write; a stub is handed out by writing its slot.
//! - A stub is `endbr64; mov r10, [rip + slot.context]; jmp [rip + slot.entry]`: it
//!   loads its context pointer into `r10` (a scratch register that carries no argument
//!   in the C convention) and jumps to [`ENTRY`], one assembly routine shared by every
//!   stub.
//! - The entry stores the six integer argument registers and the eight vector registers
//!   (their low 8 bytes) into a [`Frame`] on its stack, calls the function whose
//!   pointer is the first word of the context with `(context, frame)`, then returns
//!   `rax`/`rdx` and `xmm0`/`xmm1` loaded from the frame's result words. The handler
//!   knows from the signature, classified once when the closure is made, which frame
//!   word holds each argument; nothing is classified per call.
//! - Stubs are pooled: a free list of stubs, a new block when it is empty. A freed stub
//!   points at nothing (context 0) until it is handed out again; calling a freed
//!   callback is the caller's error, as with libffi's closures.
//!
//! Only signatures of integers, pointers, `float` and `double` that fit in the
//! registers (at most 6 integer-class and 8 vector-class arguments), with such a result
//! or `void`, take this path ([`plan`]); everything else, and every other target, keeps
//! libffi's closures.

use core::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::ffi_type::FfiType;
use crate::regcall::reg_bank;

/// Integer argument registers (rdi, rsi, rdx, rcx, r8, r9).
pub const INT_REGS: usize = 6;
/// Vector argument registers (xmm0-xmm7).
pub const FLOAT_REGS: usize = 8;
/// The most arguments a trampoline passes.
pub const MAX_ARGS: usize = INT_REGS + FLOAT_REGS;

/// The argument registers and the result of one call, on the entry's stack.
#[repr(C, align(16))]
pub struct Frame {
    /// rdi, rsi, rdx, rcx, r8, r9.
    pub ints: [u64; INT_REGS],
    /// The low 8 bytes of xmm0-xmm7.
    pub floats: [u64; FLOAT_REGS],
    /// The result: loaded into rax and rdx, and into the low 8 bytes of xmm0 and xmm1.
    /// Zero when the handler is called.
    pub ret: [u64; 2],
}

/// The byte offset of [`Frame::ret`] (the assembly below uses it).
const RET_OFFSET: usize = 8 * (INT_REGS + FLOAT_REGS);
const _: () = assert!(std::mem::size_of::<Frame>() == RET_OFFSET + 16);
const _: () = assert!(std::mem::size_of::<Frame>() % 16 == 0);

/// The function a context's first word points at: `(context, frame)`.
pub type EntryFn = unsafe extern "C" fn(*const c_void, *mut Frame);

/// Where a signature's arguments are in a [`Frame`]: the byte offset of each.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Byte offsets into the frame, one per argument.
    pub offsets: [u8; MAX_ARGS],
    /// The number of arguments.
    pub nargs: usize,
}

/// The frame plan of a signature, or `None` when it needs libffi's closures: an
/// argument or result that is not an integer, pointer, `float` or `double`, or more
/// arguments of a class than its registers.
pub fn plan(ret: &FfiType, args: &[FfiType]) -> Option<Plan> {
    match ret {
        FfiType::Void => {}
        FfiType::Scalar(c) if reg_bank(*c).is_some() => {}
        _ => return None,
    }
    let mut offsets = [0u8; MAX_ARGS];
    let (mut ni, mut nf) = (0usize, 0usize);
    for (i, a) in args.iter().enumerate() {
        let FfiType::Scalar(c) = a else { return None };
        let slot = match reg_bank(*c)? {
            false if ni < INT_REGS => {
                ni += 1;
                ni - 1
            }
            true if nf < FLOAT_REGS => {
                nf += 1;
                INT_REGS + nf - 1
            }
            _ => return None,
        };
        *offsets.get_mut(i)? = (8 * slot) as u8;
    }
    Some(Plan {
        offsets,
        nargs: args.len(),
    })
}

// The shared entry. On entry: r10 = the context, [rsp] = the return address (rsp is
// 8 mod 16). After `push rbp` and the 128-byte frame, rsp is 16-aligned for the call.
// The handler is an `extern "C"` function that never unwinds (a panic aborts).
std::arch::global_asm!(
    ".pushsection .text.ferrotype_trampoline_entry,\"ax\",@progbits",
    ".p2align 4",
    ".globl ferrotype_trampoline_entry",
    ".hidden ferrotype_trampoline_entry",
    ".type ferrotype_trampoline_entry,@function",
    "ferrotype_trampoline_entry:",
    ".cfi_startproc",
    "endbr64",
    "push rbp",
    ".cfi_def_cfa_offset 16",
    ".cfi_offset rbp, -16",
    "mov rbp, rsp",
    ".cfi_def_cfa_register rbp",
    "sub rsp, {frame}",
    "mov [rsp], rdi",
    "mov [rsp + 8], rsi",
    "mov [rsp + 16], rdx",
    "mov [rsp + 24], rcx",
    "mov [rsp + 32], r8",
    "mov [rsp + 40], r9",
    "movq [rsp + 48], xmm0",
    "movq [rsp + 56], xmm1",
    "movq [rsp + 64], xmm2",
    "movq [rsp + 72], xmm3",
    "movq [rsp + 80], xmm4",
    "movq [rsp + 88], xmm5",
    "movq [rsp + 96], xmm6",
    "movq [rsp + 104], xmm7",
    "xor eax, eax",
    "mov [rsp + {ret}], rax",
    "mov [rsp + {ret} + 8], rax",
    "mov rdi, r10",
    "mov rsi, rsp",
    "call [r10]",
    "mov rax, [rsp + {ret}]",
    "mov rdx, [rsp + {ret} + 8]",
    "movq xmm0, [rsp + {ret}]",
    "movq xmm1, [rsp + {ret} + 8]",
    "leave",
    ".cfi_def_cfa rsp, 8",
    "ret",
    ".cfi_endproc",
    ".size ferrotype_trampoline_entry, . - ferrotype_trampoline_entry",
    ".popsection",
    frame = const std::mem::size_of::<Frame>(),
    ret = const RET_OFFSET,
);

extern "C" {
    /// The shared entry (above); never called from Rust, only its address is taken.
    fn ferrotype_trampoline_entry();
}

/// Bytes per stub and per data slot.
const STRIDE: usize = 32;

/// The code of a stub at offset 0 of its stride, for a data page `page` bytes after the
/// code page: `endbr64`, `mov r10, [rip + d1]`, `jmp [rip + d2]`, `int3` padding. The
/// displacements are the same for every stub (slot `i` is `page` bytes after stub `i`).
fn stub_code(page: usize) -> Option<[u8; STRIDE]> {
    let mut s = [0xCCu8; STRIDE];
    s[..4].copy_from_slice(&[0xF3, 0x0F, 0x1E, 0xFA]);
    // mov r10, [rip + d1]: 4C 8B 15 d1, ending at offset 11; the context at slot + 0.
    let d1 = i32::try_from(page.checked_sub(11)?).ok()?;
    s[4..7].copy_from_slice(&[0x4C, 0x8B, 0x15]);
    s[7..11].copy_from_slice(&d1.to_le_bytes());
    // jmp [rip + d2]: FF 25 d2, ending at offset 17; the entry at slot + 8.
    let d2 = i32::try_from((page + 8).checked_sub(17)?).ok()?;
    s[11..13].copy_from_slice(&[0xFF, 0x25]);
    s[13..17].copy_from_slice(&d2.to_le_bytes());
    Some(s)
}

/// A stub handed out by the pool: its code address and its data slot.
pub struct Stub {
    code: usize,
    slot: usize,
}

impl Stub {
    /// The address C calls.
    pub fn code_ptr(&self) -> *const c_void {
        self.code as *const c_void
    }
}

struct Pool {
    free: Vec<(usize, usize)>,
}

static POOL: Mutex<Pool> = Mutex::new(Pool { free: Vec::new() });

/// Maps a new block and adds its stubs to the free list; `false` when that fails.
fn grow(pool: &mut Pool) -> bool {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let Ok(page) = usize::try_from(page) else {
        return false;
    };
    if page < STRIDE || page % STRIDE != 0 {
        return false;
    }
    let Some(code) = stub_code(page) else {
        return false;
    };
    // SAFETY: an anonymous private mapping at an address of the kernel's choosing; no
    // existing memory is affected.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            2 * page,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if base == libc::MAP_FAILED {
        return false;
    }
    let base = base.cast::<u8>();
    let n = page / STRIDE;
    for i in 0..n {
        // SAFETY: stub `i` lies within the first page of the fresh read-write mapping;
        // its data slot (page + i * STRIDE, two words) within the second, which mmap
        // zeroed (context 0).
        unsafe {
            std::ptr::copy_nonoverlapping(code.as_ptr(), base.add(i * STRIDE), STRIDE);
            base.add(page + i * STRIDE + 8)
                .cast::<usize>()
                .write(ferrotype_trampoline_entry as *const () as usize);
        }
    }
    // SAFETY: `base` is the start of the mapping made above, `page` bytes of it. From
    // here on the code page is only read and executed, never written.
    let rc = unsafe { libc::mprotect(base.cast(), page, libc::PROT_READ | libc::PROT_EXEC) };
    if rc != 0 {
        // SAFETY: the mapping made above, not yet handed out.
        unsafe { libc::munmap(base.cast(), 2 * page) };
        return false;
    }
    // Handed out from the low addresses up.
    pool.free.extend((0..n).rev().map(|i| {
        let code = base as usize + i * STRIDE;
        (code, code + page)
    }));
    true
}

/// A stub entering `context` (whose first word is its [`EntryFn`]), or `None` when no
/// executable memory can be had.
///
/// # Safety
/// `context` must point at memory whose first word is an [`EntryFn`] able to handle the
/// frame of the signature C calls the stub with, valid until the stub is released.
pub unsafe fn alloc(context: *const c_void) -> Option<Stub> {
    let mut pool = POOL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if pool.free.is_empty() && !grow(&mut pool) {
        return None;
    }
    let (code, slot) = pool.free.pop()?;
    // SAFETY: `slot` is a free data slot of a live block (blocks are never unmapped);
    // nothing calls a free stub, and the store is published to the threads C hands the
    // code pointer to by whatever hands it to them.
    unsafe { (*(slot as *const AtomicUsize)).store(context as usize, Ordering::Release) };
    Some(Stub { code, slot })
}

/// Returns a stub to the pool. C must not call it afterwards.
pub fn release(stub: &Stub) {
    // SAFETY: the stub's data slot lies in a live block (blocks are never unmapped).
    unsafe { (*(stub.slot as *const AtomicUsize)).store(0, Ordering::Release) };
    let mut pool = POOL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    pool.free.push((stub.code, stub.slot));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::typecode::TypeCode;

    #[repr(C)]
    struct Ctx {
        entry: EntryFn,
        add: i64,
    }

    unsafe extern "C" fn add_entry(ctx: *const c_void, frame: *mut Frame) {
        // SAFETY: the test's context and the entry's frame.
        unsafe {
            let ctx = &*ctx.cast::<Ctx>();
            let f = &mut *frame;
            let d = f64::from_bits(f.floats[0]);
            f.ret[0] = (f.ints[0] as i64 + f.ints[5] as i64 + ctx.add + d as i64) as u64;
        }
    }

    #[test]
    fn stubs_reach_the_entry_with_their_context() {
        let mut keep = Vec::new();
        // More than a block of stubs.
        for k in 0..300i64 {
            let ctx = Box::new(Ctx {
                entry: add_entry,
                add: k,
            });
            // SAFETY: the context starts with its entry and outlives the stub.
            let stub = unsafe { alloc(std::ptr::from_ref(&*ctx).cast()) }.unwrap();
            // SAFETY: the stub follows the C convention for this signature.
            let f: extern "C" fn(i64, i64, i64, i64, i64, i64, f64) -> i64 =
                unsafe { std::mem::transmute(stub.code_ptr()) };
            assert_eq!(f(1, 0, 0, 0, 0, 2, 10.0), 13 + k);
            keep.push((ctx, stub));
        }
        for (_, stub) in &keep {
            release(stub);
        }
    }

    #[test]
    fn plans_cover_register_signatures_only() {
        let i = FfiType::Scalar(TypeCode::Int);
        let d = FfiType::Scalar(TypeCode::Double);
        let p = plan(&i, &[i.clone(), d.clone(), i.clone()]).unwrap();
        assert_eq!(&p.offsets[..3], &[0, 48, 8]);
        assert!(plan(&i, &vec![i.clone(); 7]).is_none());
        assert!(plan(&d, &vec![d.clone(); 9]).is_none());
        assert!(plan(&FfiType::Scalar(TypeCode::LongDouble), &[]).is_none());
        assert!(plan(&i, &[FfiType::Scalar(TypeCode::DoubleComplex)]).is_none());
        assert!(plan(&FfiType::Void, &vec![i.clone(); 6]).is_some());
    }
}
