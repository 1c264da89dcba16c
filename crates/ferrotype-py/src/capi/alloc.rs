//! The extension's global allocator: mimalloc, entered through its plain (unaligned)
//! functions whenever their result happens to satisfy the requested alignment.
//!
//! Rust asks every allocation with an alignment. mimalloc's aligned entry points take
//! their fast path only when a free block of the size class is at hand and already
//! aligned; otherwise (the usual case when a buffer is allocated and freed in turn, as
//! an instance's memory is) they over-allocate and align, for about 240 instructions
//! against 40 for `mi_zalloc`. Most blocks mimalloc hands out are 16-byte aligned
//! anyway (its size classes above 64 bytes are multiples of 16), so this allocator
//! calls the plain function for alignments up to 16, checks the address, and falls back
//! to the aligned function (freeing the first block) only when the check fails. The
//! check makes the result correct whatever mimalloc's placement rules are.

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys as mi;

/// The largest alignment the plain functions are tried for.
const PLAIN_ALIGN: usize = 16;

/// mimalloc, with the plain-call fast path described in the module documentation.
pub struct MiMalloc;

impl MiMalloc {
    /// `plain(size)`, if it returned null or a block aligned to `align`; else the block
    /// is freed and `aligned(size, align)` decides.
    ///
    /// # Safety
    /// `plain` and `aligned` must be mimalloc allocation functions (their blocks are
    /// freed with `mi_free`).
    #[inline(always)]
    unsafe fn try_plain(
        layout: Layout,
        plain: unsafe extern "C" fn(usize) -> *mut c_void,
        aligned: unsafe extern "C" fn(usize, usize) -> *mut c_void,
    ) -> *mut u8 {
        let (size, align) = (layout.size(), layout.align());
        if align <= PLAIN_ALIGN {
            // SAFETY: mimalloc's allocation functions accept any size (null on failure).
            let p = unsafe { plain(size) };
            if (p as usize) & (align - 1) == 0 {
                return p.cast();
            }
            // SAFETY: `p` is a live block from mimalloc, freed once.
            unsafe { mi::mi_free(p) };
        }
        // SAFETY: `align` is a power of two (a `Layout`'s), as mimalloc requires.
        unsafe { aligned(size, align).cast() }
    }
}

// SAFETY: every block comes from mimalloc (aligned as the layout asks, checked or
// guaranteed by the aligned entry points) and goes back through `mi_free`, which takes
// any mimalloc block whatever function made it; mimalloc is thread-safe.
unsafe impl GlobalAlloc for MiMalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: mimalloc's own functions.
        unsafe { Self::try_plain(layout, mi::mi_malloc, mi::mi_malloc_aligned) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: mimalloc's own functions.
        unsafe { Self::try_plain(layout, mi::mi_zalloc, mi::mi_zalloc_aligned) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from this allocator, so from mimalloc.
        unsafe { mi::mi_free(ptr.cast()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from this allocator; the aligned reallocation keeps the
        // layout's alignment.
        unsafe { mi::mi_realloc_aligned(ptr.cast(), new_size, layout.align()).cast() }
    }
}
