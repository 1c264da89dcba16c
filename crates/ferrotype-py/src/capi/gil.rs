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
//! A thread Python did not create has no thread state. `PyGILState_Ensure` makes one
//! and `PyGILState_Release` destroys it again, so a callback that entered and left that
//! way (as ctypes' do) would build and tear down a thread state, with its frame stack
//! and its registration in the interpreter, on every call. Instead the first callback
//! on such a thread takes the GIL with `PyGILState_Ensure` and keeps the thread state
//! it made, bound to the thread, for the thread's lifetime: the callback gives the GIL
//! up with `PyEval_SaveThread`, leaving `PyGILState_Ensure`'s count at one, and later
//! callbacks on the thread find the state bound and take the path above. A Rust
//! thread-local with a destructor ([`ForeignState`]) balances the `PyGILState_Ensure`
//! when the thread exits: it takes the GIL back and calls `PyGILState_Release`, which
//! clears and deletes the thread state. It does nothing when the interpreter has
//! finalized or is finalizing (finalization deletes every thread state itself, and a
//! foreign thread must not take the GIL then), or when the state bound to the thread is
//! no longer the one it kept. After `fork`, only the forking thread exists in the
//! child: a foreign thread that called `os.fork()` inside a callback keeps its state
//! (CPython keeps the forking thread's), the others' states are deleted by CPython and
//! their threads, with their thread-locals, do not exist there.
//!
//! Python-level per-thread state of such a thread (`threading.local` values, the
//! `contextvars` context) therefore lasts from one callback to the next on the same
//! thread, as it does on threads Python created; under ctypes it starts empty in every
//! callback (`docs/differences.md`).
//!
//! On a thread that holds the GIL at that moment (a call made without releasing it, or
//! C code that took it back with `PyGILState_Ensure` before calling the callback) the
//! callback goes through `Python::attach`, which finds the GIL taken.
//!
//! PyO3's attach count is left as it is while the GIL is given up. That is sound because
//! the only code of this crate that C code can reach in the meantime is a callback, and
//! callbacks enter through [`attach_callback`], which takes the GIL back (or finds it
//! taken) before PyO3 makes a `Python` token.

use std::cell::Cell;

use pyo3::ffi;
use pyo3::Python;

/// Runs `f` with the GIL released (`Py_BEGIN_ALLOW_THREADS`).
///
/// `f` must be `Send`, like the closure `Python::detach` takes: that keeps Python
/// tokens and GIL-guarded `Rc`s (see `gilcell`) out of the released section.
#[inline(always)]
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

/// [`released`] for a body that cannot unwind, without the guard that takes the GIL
/// back during unwinding (which keeps the body from being inlined).
///
/// # Safety
/// `f` must not panic: no panic may be reachable in it (a foreign call and plain
/// arithmetic).
#[inline(always)]
pub unsafe fn released_no_unwind<T, F>(_py: Python<'_>, f: F) -> T
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    // SAFETY: the token proves this thread holds the GIL.
    let state = unsafe { ffi::PyEval_SaveThread() };
    let r = f();
    // SAFETY: the state `PyEval_SaveThread` returned on this thread, which has not taken
    // the GIL back since (a callback that did has given it up again); `f` returned, as
    // it cannot unwind.
    unsafe { ffi::PyEval_RestoreThread(state) };
    r
}

/// Runs a callback's body attached to the interpreter, from any thread C code calls it
/// on. `None` if the body panicked or the interpreter cannot be attached to (it is not
/// initialized, or finalizing): a panic must not unwind into C.
pub fn attach_callback<R>(f: impl FnOnce(Python<'_>) -> R) -> Option<R> {
    // SAFETY: both read thread states without side effects (the first the one bound to
    // this OS thread, if any; the second the one holding the GIL, if any).
    let (mine, current) = unsafe {
        (
            ffi::PyGILState_GetThisThreadState(),
            ffi::compat::PyThreadState_GetUnchecked(),
        )
    };
    if mine.is_null() {
        // A thread Python does not know, on its first callback.
        return first_foreign_callback(f);
    }
    if current == mine {
        // This thread holds the GIL: PyO3 finds it taken.
        return std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Python::attach(f))).ok();
    }
    // This thread gave the GIL up (around the foreign call that called back, or after
    // its previous callback if Python did not create it): take it back on its own
    // thread state.
    // SAFETY: `mine` is this thread's state, and this thread does not hold the GIL.
    unsafe { ffi::PyEval_RestoreThread(mine) };
    run_then_give_up(f)
}

/// Runs the body on a thread that has just taken the GIL on its own thread state, and
/// gives the GIL up again after it, also if it unwinds.
#[inline]
fn run_then_give_up<R>(f: impl FnOnce(Python<'_>) -> R) -> Option<R> {
    /// Gives the GIL up again after the body, also if it unwinds.
    struct GiveUp;
    impl Drop for GiveUp {
        fn drop(&mut self) {
            // SAFETY: this thread took the GIL back in `attach_callback` and holds it.
            unsafe { ffi::PyEval_SaveThread() };
        }
    }
    let _give_up = GiveUp;
    // PyO3's attach count may be zero here (the raw slots make their tokens without
    // counting), so a `Py` dropped in the body would wait in PyO3's pool until its next
    // attach: the callback path drops references as `Bound` (see `GilSlot::set`).
    // SAFETY: this thread holds the GIL.
    let py = unsafe { Python::assume_attached() };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(py))).ok()
}

/// The thread state made for a thread Python did not create, kept from its first
/// callback until the thread exits (see the module docs).
struct ForeignState(Cell<*mut ffi::PyThreadState>);

impl Drop for ForeignState {
    fn drop(&mut self) {
        let kept = self.0.get();
        if kept.is_null() || super::private::is_finalizing() {
            return;
        }
        // SAFETY: the interpreter is initialized and not finalizing (checked just
        // above: best effort, like PyO3's own check before attaching), so its thread
        // state registry is live; both calls only read thread states.
        let (mine, current) = unsafe {
            (
                ffi::PyGILState_GetThisThreadState(),
                ffi::compat::PyThreadState_GetUnchecked(),
            )
        };
        // Only the state this thread still has bound and does not hold the GIL with
        // (C code that left a `PyGILState_Ensure` of its own unbalanced keeps it).
        if mine != kept || current == kept {
            return;
        }
        // `kept` is still bound to the thread, so neither finalization nor a fork deleted
        // it; `PyGILState_Release(UNLOCKED)` balances the `PyGILState_Ensure` that made the
        // state, whose count is one: it clears and deletes the state and releases the GIL.
        // SAFETY: `kept` is this thread's live thread state and the thread does not hold
        // the GIL, which is what the ensure/release pair needs.
        unsafe {
            ffi::PyEval_RestoreThread(kept);
            ffi::PyGILState_Release(ffi::PyGILState_STATE::PyGILState_UNLOCKED);
        }
    }
}

thread_local! {
    static FOREIGN: ForeignState = const { ForeignState(Cell::new(std::ptr::null_mut())) };
}

/// The first callback on a thread without a thread state: `PyGILState_Ensure` makes
/// one, which the thread keeps (see the module docs).
#[cold]
fn first_foreign_callback<R>(f: impl FnOnce(Python<'_>) -> R) -> Option<R> {
    if super::private::is_finalizing() {
        return None;
    }
    // A thread whose thread-locals are being destroyed (a callback from another
    // thread-local's destructor) cannot keep a state: it enters and leaves per call.
    if FOREIGN.try_with(|_| ()).is_err() {
        return std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Python::attach(f))).ok();
    }
    // SAFETY: the interpreter is initialized and not finalizing (best effort, as in
    // PyO3's attach); this thread has no thread state, so `PyGILState_Ensure` makes and
    // binds one and takes the GIL.
    let kept = unsafe {
        ffi::PyGILState_Ensure();
        ffi::PyGILState_GetThisThreadState()
    };
    // (A state the thread kept before was deleted since, by finalization: replaced.)
    let _ = FOREIGN.try_with(|k| k.0.set(kept));
    run_then_give_up(f)
}
