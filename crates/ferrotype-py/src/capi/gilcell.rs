//! [`GilCell`]: a cell for state that changes rarely and is read on hot paths (a
//! function's call plan), guarded by the GIL instead of a lock.
//!
//! Soundness: every access takes a `Python<'_>` token, so it happens while the calling
//! thread holds the GIL, which serialises all accesses on GIL-enabled interpreters (the
//! only ones this crate builds for; see the `compile_error!` below). Readers get an
//! `Rc` clone, never a reference into the cell, so a replacement made re-entrantly
//! (from Python code run during a call) cannot invalidate what a caller is using, and
//! the old value is dropped only after the cell has been updated.
//!
//! The count is an `Rc`'s, not an `Arc`'s: two atomic operations per call were a tenth
//! of a foreign call's cost. That is sound because every count change happens with the
//! GIL held: `Rc` is `!Send`, so a clone cannot move into the GIL-released part of a
//! call (`gil::released`, like `Python::detach`, requires `Send`), and it is dropped
//! before the thread gives the GIL up for good.

use std::cell::UnsafeCell;
use std::rc::Rc;

use pyo3::Python;

#[cfg(Py_GIL_DISABLED)]
compile_error!("ferrotype's GilCell relies on the GIL; free-threaded builds are not supported yet");

/// A GIL-guarded cell holding an `Rc<T>`.
pub struct GilCell<T>(UnsafeCell<Rc<T>>);

// SAFETY: all access, including every reference-count change of the Rc, is serialised
// by the GIL (see the module docs); T itself may be used from any thread that holds the
// GIL, so it must be Send + Sync.
unsafe impl<T: Send + Sync> Sync for GilCell<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Send for GilCell<T> {}

impl<T> GilCell<T> {
    /// A cell holding `value`.
    pub fn new(value: T) -> Self {
        GilCell(UnsafeCell::new(Rc::new(value)))
    }

    /// The current value (a cheap, non-atomic `Rc` clone).
    pub fn get(&self, _py: Python<'_>) -> Rc<T> {
        // SAFETY: the GIL is held (token), so no other access runs concurrently, and no
        // reference into the cell outlives this expression.
        unsafe { Rc::clone(&*self.0.get()) }
    }

    /// Lends the current value to `f`, without the `Rc` clone of [`GilCell::get`] (for
    /// hot paths that copy a few fields out).
    ///
    /// # Safety
    ///
    /// `f` must not run Python code nor anything that could (no call into Python, no
    /// allocation of a garbage-collected object, no release of a Python reference), so
    /// that nothing can replace the value while `f` reads it.
    #[inline]
    pub unsafe fn peek<R>(&self, _py: Python<'_>, f: impl FnOnce(&T) -> R) -> R {
        // SAFETY: the GIL is held (token), and by the caller's contract nothing replaces
        // the value before `f` returns, so the reference stays valid throughout.
        f(unsafe { &**self.0.get() })
    }

    /// Lends the current value to `f` during a garbage-collector traversal (where no
    /// `Python` token is at hand).
    pub fn traverse<R>(&self, _visit: &pyo3::PyVisit<'_>, f: impl FnOnce(&T) -> R) -> R {
        // SAFETY: the collector calls tp_traverse with the GIL held and no Python code
        // runs during traversal, so the cell cannot be replaced while `f` reads it.
        f(unsafe { &*self.0.get() })
    }

    /// Replaces the value; the old one is dropped after the cell is updated.
    pub fn set(&self, _py: Python<'_>, value: T) {
        // SAFETY: as in `get`; the swap completes before the old Rc is dropped, so code
        // run by that drop sees the new value.
        let old = unsafe { std::mem::replace(&mut *self.0.get(), Rc::new(value)) };
        drop(old);
    }
}

/// A GIL-guarded slot holding an optional Python object (an instance's `_objects`).
/// Same soundness argument as [`GilCell`]: accesses take a `Python` token, the old value
/// is dropped only after the slot is updated, and no reference into the slot escapes.
pub struct GilSlot(UnsafeCell<Option<pyo3::Py<pyo3::PyAny>>>);

// SAFETY: see GilCell: GIL-serialised access; Py<PyAny> is Send + Sync.
unsafe impl Sync for GilSlot {}
// SAFETY: as above.
unsafe impl Send for GilSlot {}

impl Default for GilSlot {
    fn default() -> Self {
        GilSlot::new()
    }
}

impl GilSlot {
    /// An empty slot.
    pub const fn new() -> Self {
        GilSlot(UnsafeCell::new(None))
    }

    /// The current object (a new reference).
    pub fn get<'py>(&self, py: Python<'py>) -> Option<pyo3::Bound<'py, pyo3::PyAny>> {
        // SAFETY: GIL held (token); the reference is cloned before the borrow ends.
        unsafe { (*self.0.get()).as_ref().map(|o| o.bind(py).clone()) }
    }

    /// Takes the object out, leaving the slot empty.
    pub fn take<'py>(&self, py: Python<'py>) -> Option<pyo3::Bound<'py, pyo3::PyAny>> {
        // SAFETY: GIL held (token); the value is moved out before the borrow ends.
        unsafe { (*self.0.get()).take().map(|o| o.into_bound(py)) }
    }

    /// The object, moved out of a slot that is never used again (its owner is being
    /// freed), without emptying it.
    ///
    /// # Safety
    /// The slot must not be read, written or dropped afterwards.
    #[inline(always)]
    pub unsafe fn take_last(&self) -> Option<pyo3::Py<pyo3::PyAny>> {
        // SAFETY: the caller's contract: the value is read out exactly once and the
        // slot is never used again, so no reference is duplicated.
        unsafe { std::ptr::read(self.0.get()) }
    }

    /// Replaces the object; the old one is released after the slot is updated. (As a
    /// `Bound`: released at once even where PyO3 does not count the thread as attached,
    /// see `gil::attach_callback`.)
    #[inline]
    pub fn set(&self, py: Python<'_>, value: Option<pyo3::Py<pyo3::PyAny>>) {
        // SAFETY: GIL held (token); the swap completes before the old value is dropped.
        let old = unsafe { std::mem::replace(&mut *self.0.get(), value) };
        drop(old.map(|o| o.into_bound(py)));
    }

    /// Visits the object for the garbage collector.
    pub fn traverse(&self, visit: &pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        // SAFETY: the collector calls tp_traverse with the GIL held and no Python code
        // runs during traversal, so the slot cannot change while it is read.
        match unsafe { &*self.0.get() } {
            Some(o) => visit.call(o),
            None => Ok(()),
        }
    }
}
