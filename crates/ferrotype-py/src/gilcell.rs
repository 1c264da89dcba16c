//! [`GilCell`]: a cell for state that changes rarely and is read on hot paths (a
//! function's call plan), guarded by the GIL instead of a lock.
//!
//! Soundness: every access takes a `Python<'_>` token, so it happens while the calling
//! thread holds the GIL, which serialises all accesses on GIL-enabled interpreters (the
//! only ones this crate builds for; see the `compile_error!` below). Readers get an
//! `Arc` clone, never a reference into the cell, so a replacement made re-entrantly
//! (from Python code run during a call) cannot invalidate what a caller is using, and
//! the old value is dropped only after the cell has been updated.

use std::cell::UnsafeCell;
use std::sync::Arc;

use pyo3::Python;

#[cfg(Py_GIL_DISABLED)]
compile_error!("ferrotype's GilCell relies on the GIL; free-threaded builds are not supported yet");

/// A GIL-guarded cell holding an `Arc<T>`.
pub struct GilCell<T>(UnsafeCell<Arc<T>>);

// SAFETY: all access is serialised by the GIL (see the module docs); T itself is shared
// between threads through Arc, so it must be Send + Sync.
unsafe impl<T: Send + Sync> Sync for GilCell<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Send for GilCell<T> {}

impl<T> GilCell<T> {
    /// A cell holding `value`.
    pub fn new(value: T) -> Self {
        GilCell(UnsafeCell::new(Arc::new(value)))
    }

    /// The current value.
    #[inline]
    pub fn get(&self, _py: Python<'_>) -> Arc<T> {
        // SAFETY: the GIL is held (token), so no other access runs concurrently, and no
        // reference into the cell outlives this expression.
        unsafe { Arc::clone(&*self.0.get()) }
    }

    /// Replaces the value; the old one is dropped after the cell is updated.
    pub fn set(&self, _py: Python<'_>, value: T) {
        // SAFETY: as in `get`; the swap completes before the old Arc is dropped, so code
        // run by that drop sees the new value.
        let old = unsafe { std::mem::replace(&mut *self.0.get(), Arc::new(value)) };
        drop(old);
    }
}
