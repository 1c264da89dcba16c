//! Giving the GIL up around foreign calls, and taking it back in callbacks.
//!
//! A foreign call releases the GIL with `PyEval_SaveThread` and takes it back with
//! `PyEval_RestoreThread`, as `Py_BEGIN_ALLOW_THREADS` does.
//!
//! A callback that C code makes on a thread Python knows (one with a thread state bound
//! to it) while that thread does not hold the GIL takes the GIL back with
//! `PyEval_RestoreThread` on that thread state and gives it up again when done. That is
//! what `PyGILState_Ensure`/`Release` do for such a thread, without their counters and
//! without PyO3's attach bookkeeping: about 150 instructions less per callback.
//!
//! Callbacks on any other thread (threads Python did not create), or on a thread that
//! holds the GIL at that moment (a call made without releasing it, or C code that took
//! it back with `PyGILState_Ensure` before calling the callback) go through
//! `Python::attach`.
//!
//! PyO3's attach count is left as it is while the GIL is given up. That is sound because
//! the only code of this crate that C code can reach in the meantime is a callback, and
//! callbacks enter through [`attach_callback`], which takes the GIL back (or finds it
//! taken) before PyO3 makes a `Python` token.

use pyo3::ffi;
use pyo3::Python;

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
    struct Retake(*mut ffi::PyThreadState);
    impl Drop for Retake {
        fn drop(&mut self) {
            // SAFETY: the state `PyEval_SaveThread` returned on this thread, which has
            // not taken the GIL back since (a callback that did has given it up again).
            unsafe { ffi::PyEval_RestoreThread(self.0) };
        }
    }
    // SAFETY: the token proves this thread holds the GIL.
    let _retake = Retake(unsafe { ffi::PyEval_SaveThread() });
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
            unsafe { ffi::PyEval_SaveThread() };
        }
    }
    // SAFETY: both read thread states without side effects (the first the one bound to
    // this OS thread, if any; the second the one holding the GIL, if any).
    let (mine, current) = unsafe {
        (
            ffi::PyGILState_GetThisThreadState(),
            ffi::compat::PyThreadState_GetUnchecked(),
        )
    };
    if mine.is_null() || current == mine {
        // A thread Python does not know, or one holding the GIL: PyO3 attaches
        // (PyGILState_Ensure on a thread without the GIL).
        return std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Python::attach(f))).ok();
    }
    // This thread gave the GIL up (around the foreign call that called back): take it
    // back on its own thread state.
    // SAFETY: `mine` is this thread's state, and this thread does not hold the GIL.
    unsafe { ffi::PyEval_RestoreThread(mine) };
    let _give_up = GiveUp;
    // PyO3's attach count may be zero here (the raw slots make their tokens without
    // counting), so a `Py` dropped in the body would wait in PyO3's pool until its next
    // attach: the callback path drops references as `Bound` (see `GilSlot::set`).
    // SAFETY: this thread holds the GIL.
    let py = unsafe { Python::assume_attached() };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(py))).ok()
}
