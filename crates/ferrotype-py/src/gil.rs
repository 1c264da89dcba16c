//! Giving the GIL up around foreign calls, and taking it back in callbacks.
//!
//! A foreign call releases the GIL with `PyEval_SaveThread` and records the thread state
//! it got in a thread-local. A callback that the C function makes on the same thread
//! during that call takes the GIL back with `PyEval_RestoreThread` on that state and
//! gives it up again when done. That is what `PyGILState_Ensure`/`Release` do for such a
//! thread, without their thread-state lookups and counters, and without PyO3's attach
//! bookkeeping: about 150 instructions less per callback.
//!
//! Callbacks on any other thread (threads Python did not create included), or on a
//! thread that holds the GIL at that moment (C code that took it back with
//! `PyGILState_Ensure` before calling the callback) go through `Python::attach`.
//!
//! PyO3's attach count is left as it is while the GIL is given up. That is sound because
//! the only code of this crate that C code can reach in the meantime is a callback, and
//! callbacks enter through [`attach_callback`], which takes the GIL back (or finds it
//! taken) before PyO3 makes a `Python` token.

use std::cell::Cell;
use std::ptr;

use pyo3::ffi;
use pyo3::Python;

thread_local! {
    /// The thread state this thread gave up in [`released`], while it is given up.
    static RELEASED: Cell<*mut ffi::PyThreadState> = const { Cell::new(ptr::null_mut()) };
}

/// Runs `f` with the GIL released (`Py_BEGIN_ALLOW_THREADS`).
///
/// `f` must be `Send`, like the closure `Python::detach` takes: that keeps Python
/// tokens and GIL-guarded `Rc`s (see `gilcell`) out of the released section.
pub fn released<T, F>(_py: Python<'_>, f: F) -> T
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    /// Takes the GIL back, also if `f` unwinds.
    struct Retake {
        state: *mut ffi::PyThreadState,
        previous: *mut ffi::PyThreadState,
    }
    impl Drop for Retake {
        fn drop(&mut self) {
            RELEASED.with(|r| r.set(self.previous));
            // SAFETY: the state `PyEval_SaveThread` returned on this thread, which has
            // not taken the GIL back since (a callback that did has given it up again).
            unsafe { ffi::PyEval_RestoreThread(self.state) };
        }
    }
    let previous = RELEASED.with(Cell::get);
    // SAFETY: the token proves this thread holds the GIL.
    let state = unsafe { ffi::PyEval_SaveThread() };
    RELEASED.with(|r| r.set(state));
    let _retake = Retake { state, previous };
    f()
}

/// Runs a callback's body attached to the interpreter, from any thread C code calls it
/// on. `None` if the body panicked or PyO3 refused to attach (the interpreter is
/// finalizing): a panic must not unwind into C.
pub fn attach_callback<R>(f: impl FnOnce(Python<'_>) -> R) -> Option<R> {
    /// Gives the GIL up again after the body, also if it unwinds.
    struct GiveUp;
    impl Drop for GiveUp {
        fn drop(&mut self) {
            // SAFETY: this thread took the GIL back in `attach_callback` and holds it.
            let state = unsafe { ffi::PyEval_SaveThread() };
            RELEASED.with(|r| r.set(state));
        }
    }
    let state = RELEASED.with(Cell::get);
    // SAFETY: reads the current thread state, without side effects.
    let current = unsafe { ffi::compat::PyThreadState_GetUnchecked() };
    if state.is_null() || current == state {
        // Not inside `released`, or C code took the GIL back: PyO3 attaches
        // (PyGILState_Ensure on a thread without the GIL).
        return std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Python::attach(f))).ok();
    }
    // This thread is inside `released` and does not hold the GIL: take it back.
    RELEASED.with(|r| r.set(ptr::null_mut()));
    // SAFETY: the state this thread gave up in `released`.
    unsafe { ffi::PyEval_RestoreThread(state) };
    let _give_up = GiveUp;
    // PyO3's attach count may be zero here (the raw slots make their tokens without
    // counting), so a `Py` dropped in the body would wait in PyO3's pool until its next
    // attach: the callback path drops references as `Bound` (see `GilSlot::set`).
    // SAFETY: this thread holds the GIL.
    let py = unsafe { Python::assume_attached() };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(py))).ok()
}
