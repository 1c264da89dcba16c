//! Callbacks: C function pointers that run Rust code.
//!
//! A [`Closure`] owns an executable entry, the prepared [`CallInterface`] describing
//! the C signature, and a handler. When C calls [`Closure::code_ptr`], the handler
//! receives the argument pointers and a result buffer. The entry is freed when the
//! `Closure` is dropped; C code must not call it afterwards (the caller's business, as
//! in C).
//!
//! Two kinds of entry: on x86-64 Linux, a signature whose arguments and result all
//! travel in registers gets a stub of our own ([`crate::trampoline`]): the argument
//! registers are stored into a frame and each argument's place in it was worked out
//! when the closure was made. Every other signature, and every other target, gets a
//! libffi closure (from `ffi_closure_alloc`, which uses libffi's static trampolines
//! where the platform has them), whose entry classifies the arguments on each call.
//! [`set_trampolines`] switches new closures to libffi's entry (for tests and
//! comparisons).
//!
//! Results: libffi requires integer results narrower than a register to be written as
//! a whole `ffi_arg`; [`Closure`] zeroes the result buffer before each call and handlers
//! write integers with [`write_int_result`], so a handler that fails leaves a zero
//! result.

use core::ffi::c_void;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use libffi::low::{closure_alloc, closure_free, CodePtr};
use libffi::raw::{ffi_arg, ffi_cif, ffi_closure};

use crate::call::CallInterface;
use crate::error::{Error, FfiStatus, Result};
use crate::ffi_type::FfiType;

/// The code run by a closure: `(data, args, result)`. `args[i]` points at argument `i`
/// (of the interface's `args()[i]` type); `result` has room for the result type, at
/// least one `ffi_arg` wide, and is zeroed.
pub type Handler<U> = fn(&U, &[*const c_void], *mut u8);

/// A handler known by its type: [`Closure::with_handle`] makes closures whose
/// trampoline calls `U::handle` directly (a static call the compiler can inline),
/// rather than through a [`Handler`] function pointer.
pub trait Handle {
    /// As a [`Handler`]: the argument pointers and the zeroed result buffer.
    fn handle(&self, args: &[*const c_void], result: *mut u8);
}

/// What a closure's entry reads. `repr(C)`: a trampoline stub's context is this
/// structure, whose first word is the function the shared entry calls.
#[repr(C)]
struct Data<U> {
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    entry: crate::trampoline::EntryFn,
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    plan: Option<crate::trampoline::Plan>,
    handler: Handler<U>,
    nargs: usize,
    result_size: usize,
    user: U,
}

/// The executable entry C calls.
enum Entry {
    /// A libffi closure.
    Ffi {
        raw: *mut ffi_closure,
        code: CodePtr,
    },
    /// A trampoline stub of our own.
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    Stub(crate::trampoline::Stub),
}

/// Whether new closures may use trampolines of our own (see the module docs).
static TRAMPOLINES: AtomicBool = AtomicBool::new(true);

/// Whether closures made from now on may use trampolines of our own where the
/// signature allows (the default), rather than libffi's; returns the previous setting.
pub fn set_trampolines(on: bool) -> bool {
    TRAMPOLINES.swap(on, Ordering::Relaxed)
}

/// A C-callable function pointer running a Rust handler.
pub struct Closure<U> {
    entry: Entry,
    cif: Arc<CallInterface>,
    data: Box<Data<U>>,
}

// SAFETY: the closure memory and the interface are only read after preparation; the
// handler data is shared with whatever thread C calls the closure from, which the
// `U: Sync` bound permits.
unsafe impl<U: Send + Sync> Send for Closure<U> {}
// SAFETY: as above.
unsafe impl<U: Send + Sync> Sync for Closure<U> {}

unsafe extern "C" fn trampoline<U>(
    _cif: *mut ffi_cif,
    result: *mut c_void,
    args: *mut *mut c_void,
    userdata: *mut c_void,
) {
    // SAFETY: `userdata` is the `Data<U>` this closure was prepared with, owned by the
    // `Closure` that C is calling through (alive while C may call it).
    let data = unsafe { &*userdata.cast::<Data<U>>() };
    let args: &[*const c_void] = if data.nargs == 0 || args.is_null() {
        &[]
    } else {
        // SAFETY: libffi passes one pointer per declared argument.
        unsafe { std::slice::from_raw_parts(args.cast::<*const c_void>(), data.nargs) }
    };
    // SAFETY: libffi's result buffer holds at least the result type's size, rounded up
    // to an `ffi_arg` (one `ffi_arg`, the common case, as one store instead of a
    // `memset` call).
    unsafe {
        if data.result_size == std::mem::size_of::<ffi_arg>() {
            result.cast::<ffi_arg>().write_unaligned(0);
        } else {
            std::ptr::write_bytes(result.cast::<u8>(), 0, data.result_size);
        }
    }
    (data.handler)(&data.user, args, result.cast());
}

/// What a trampoline stub's handler does before the handler proper: the argument
/// pointers from the plan's frame offsets, the result in the frame's result words
/// (zeroed by the entry); then `f(data, args, result)`.
///
/// # Safety
/// `context` must be the `Data<U>` a stub was handed out for, owned by the `Closure`
/// C is calling through; `frame` the entry's frame for this call.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
#[inline(always)]
unsafe fn with_stub_args<U>(
    context: *const c_void,
    frame: *mut crate::trampoline::Frame,
    f: impl FnOnce(&Data<U>, &[*const c_void], *mut u8),
) {
    // SAFETY: the caller's contract: the closure's data (alive while C may call it)
    // and this call's frame.
    let (data, frame) = unsafe { (&*context.cast::<Data<U>>(), &mut *frame) };
    let Some(plan) = &data.plan else { return };
    let base = std::ptr::from_mut(frame).cast::<u8>().cast_const();
    let n = plan.nargs.min(crate::trampoline::MAX_ARGS);
    let mut args = [std::mem::MaybeUninit::<*const c_void>::uninit(); crate::trampoline::MAX_ARGS];
    if n <= 4 {
        // The usual few arguments: the first four words unconditionally, without a loop
        // (the offsets past `nargs` are zero: the frame's first word, never read).
        for (a, &off) in args.iter_mut().zip(&plan.offsets).take(4) {
            // SAFETY: the plan's offsets are words inside the frame.
            a.write(unsafe { base.add(usize::from(off)) }.cast());
        }
    } else {
        for (a, &off) in args.iter_mut().zip(&plan.offsets).take(n) {
            // SAFETY: the plan's offsets are argument words inside the frame.
            a.write(unsafe { base.add(usize::from(off)) }.cast());
        }
    }
    // SAFETY: the first `n` entries were written just above; a `*const c_void` and its
    // `MaybeUninit` have the same layout.
    let args = unsafe { std::slice::from_raw_parts(args.as_ptr().cast::<*const c_void>(), n) };
    let ret = std::ptr::from_mut(&mut frame.ret).cast::<u8>();
    f(data, args, ret);
}

/// The handler a trampoline stub reaches (through the shared entry) for a closure made
/// by [`Closure::new`]: the handler through its function pointer.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
unsafe extern "C" fn stub_handler<U>(context: *const c_void, frame: *mut crate::trampoline::Frame) {
    // SAFETY: the shared entry passes the context the stub was handed out for (a
    // `Data<U>`, see `Closure::build`) and its frame.
    unsafe { with_stub_args::<U>(context, frame, |d, a, r| (d.handler)(&d.user, a, r)) }
}

/// The same for a closure made by [`Closure::with_handle`]: `U::handle`, called
/// directly.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
unsafe extern "C" fn stub_handle<U: Handle>(
    context: *const c_void,
    frame: *mut crate::trampoline::Frame,
) {
    // SAFETY: as in `stub_handler`.
    unsafe { with_stub_args::<U>(context, frame, |d, a, r| d.user.handle(a, r)) }
}

impl<U: Handle> Closure<U> {
    /// A closure with the signature of `cif` (which must not be variadic) running
    /// `user.handle`.
    pub fn with_handle(cif: Arc<CallInterface>, user: U) -> Result<Closure<U>> {
        Closure::build(
            cif,
            |u: &U, a: &[*const c_void], r: *mut u8| u.handle(a, r),
            user,
            #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
            stub_handle::<U>,
        )
    }
}

impl<U> Closure<U> {
    /// A closure with the signature of `cif` (which must not be variadic) running
    /// `handler` with `user`.
    pub fn new(cif: Arc<CallInterface>, handler: Handler<U>, user: U) -> Result<Closure<U>> {
        Closure::build(
            cif,
            handler,
            user,
            #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
            stub_handler::<U>,
        )
    }

    /// [`Closure::new`] with the function a trampoline stub's entry calls.
    fn build(
        cif: Arc<CallInterface>,
        handler: Handler<U>,
        user: U,
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))] entry: crate::trampoline::EntryFn,
    ) -> Result<Closure<U>> {
        if cif.is_variadic() {
            return Err(Error::Unsupported {
                what: "a variadic callback",
            });
        }
        let result_size = match cif.ret() {
            FfiType::Void => 0,
            t => t.size().max(std::mem::size_of::<ffi_arg>()),
        };
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        let plan = if TRAMPOLINES.load(Ordering::Relaxed) {
            crate::trampoline::plan(cif.ret(), cif.args())
        } else {
            None
        };
        let data = Box::new(Data {
            #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
            entry,
            #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
            plan,
            handler,
            nargs: cif.nargs(),
            result_size,
            user,
        });
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        if data.plan.is_some() {
            // SAFETY: the context is the boxed `Data<U>` (stable address) starting with
            // `entry` (a stub handler of `U`), for this signature's frame (the plan); the
            // Closure owns the data and releases the stub before freeing it.
            let stub = unsafe { crate::trampoline::alloc(std::ptr::from_ref(&*data).cast()) };
            if let Some(stub) = stub {
                return Ok(Closure {
                    entry: Entry::Stub(stub),
                    cif,
                    data,
                });
            }
        }
        let (raw, code) = closure_alloc();
        // SAFETY: `raw`/`code` come from closure_alloc; the cif is prepared and kept
        // alive by the Arc stored next to the closure; `data` is boxed (its address is
        // stable) and owned by the Closure, which frees the closure before the data.
        let status = unsafe {
            libffi::raw::ffi_prep_closure_loc(
                raw,
                cif.raw_cif(),
                Some(trampoline::<U>),
                std::ptr::from_ref::<Data<U>>(&data).cast_mut().cast(),
                code.as_mut_ptr(),
            )
        };
        if status != libffi::raw::ffi_status_FFI_OK {
            // SAFETY: allocated above and never handed out.
            unsafe { closure_free(raw) };
            return Err(Error::PrepCif {
                reason: format!("closure: {}", FfiStatus(status)),
            });
        }
        Ok(Closure {
            entry: Entry::Ffi { raw, code },
            cif,
            data,
        })
    }

    /// The C function pointer.
    pub fn code_ptr(&self) -> *const c_void {
        match &self.entry {
            Entry::Ffi { code, .. } => code.as_ptr(),
            #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
            Entry::Stub(stub) => stub.code_ptr(),
        }
    }

    /// Whether C enters through a trampoline of our own (else a libffi closure).
    pub fn is_trampoline(&self) -> bool {
        !matches!(self.entry, Entry::Ffi { .. })
    }

    /// The interface describing the C signature.
    pub fn interface(&self) -> &Arc<CallInterface> {
        &self.cif
    }

    /// The handler's data.
    pub fn user(&self) -> &U {
        &self.data.user
    }
}

impl<U> Drop for Closure<U> {
    fn drop(&mut self) {
        match &self.entry {
            // SAFETY: allocated by closure_alloc in `new` and freed exactly once, here.
            Entry::Ffi { raw, .. } => unsafe { closure_free(*raw) },
            #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
            Entry::Stub(stub) => crate::trampoline::release(stub),
        }
    }
}

/// Writes an integer result of `size` bytes as the whole `ffi_arg` libffi expects
/// (sign- or zero-extended).
///
/// # Safety
/// `result` must be a closure result buffer (at least one `ffi_arg`, aligned for it).
pub unsafe fn write_int_result(result: *mut u8, value: u64, size: usize, signed: bool) {
    let widened = crate::memory::widen(value, size, signed);
    // SAFETY: the caller guarantees an aligned buffer of at least one ffi_arg.
    unsafe { result.cast::<ffi_arg>().write(widened as ffi_arg) };
}

/// Writes an integer result that already has the value the result register must hold:
/// `value` fits the result type, and sign- or zero-extending it from the type's width
/// gives `value` again (a value of at most 31 bits into a type of 4 bytes or more,
/// not negative for an unsigned type).
///
/// # Safety
/// `result` must be a closure result buffer (at least one `ffi_arg`, aligned for it).
#[inline]
pub unsafe fn write_word_result(result: *mut u8, value: i64) {
    // SAFETY: the caller guarantees an aligned buffer of at least one ffi_arg.
    unsafe { result.cast::<ffi_arg>().write(value as ffi_arg) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::{ArgSlot, RetBuf};
    use crate::typecode::TypeCode;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn add_handler(calls: &AtomicUsize, args: &[*const c_void], ret: *mut u8) {
        calls.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the signature is int(int, int).
        let (a, b) = unsafe { (*args[0].cast::<i32>(), *args[1].cast::<i32>()) };
        // SAFETY: `ret` is a closure result buffer.
        unsafe { write_int_result(ret, (a + b) as i64 as u64, 4, true) };
    }

    fn call_add(closure: &Closure<AtomicUsize>, cif: &CallInterface) -> i32 {
        let mut a = ArgSlot { i32: -40 };
        let mut b = ArgSlot { i32: -2 };
        let mut argv = [
            std::ptr::from_mut(&mut a).cast::<c_void>(),
            std::ptr::from_mut(&mut b).cast(),
        ];
        let mut ret = RetBuf::default();
        // SAFETY: the closure has signature int(int, int), as the interface says.
        unsafe { cif.call(closure.code_ptr(), argv.as_mut_ptr(), ret.as_mut_ptr()) };
        // SAFETY: an int result.
        unsafe { *cif.ret_ptr(ret.as_mut_ptr()).cast::<i32>() }
    }

    #[test]
    fn a_closure_is_callable_through_libffi() {
        let i = FfiType::Scalar(TypeCode::Int);
        let cif = CallInterface::cached(&i, &[i.clone(), i.clone()], None).unwrap();
        // Either entry (another test may switch trampolines off meanwhile).
        let closure = Closure::new(cif.clone(), add_handler, AtomicUsize::new(0)).unwrap();
        assert_eq!(call_add(&closure, &cif), -42);
        assert_eq!(closure.user().load(Ordering::Relaxed), 1);
    }

    #[test]
    fn both_entries_run_the_handler() {
        let i = FfiType::Scalar(TypeCode::Int);
        let cif = CallInterface::cached(&i, &[i.clone(), i.clone()], None).unwrap();
        let was = set_trampolines(false);
        let ffi = Closure::new(cif.clone(), add_handler, AtomicUsize::new(0)).unwrap();
        set_trampolines(was);
        assert!(!ffi.is_trampoline());
        assert_eq!(call_add(&ffi, &cif), -42);
        assert_eq!(call_add(&ffi, &cif), -42);
        assert_eq!(ffi.user().load(Ordering::Relaxed), 2);
    }

    #[test]
    fn narrow_results_are_widened() {
        let mut buf = RetBuf::default();
        // SAFETY: RetBuf is 16-aligned and 32 bytes.
        unsafe { write_int_result(buf.as_mut_ptr(), 0xFF, 1, true) };
        assert_eq!(u64::from_ne_bytes(buf.0[..8].try_into().unwrap()), u64::MAX);
        // SAFETY: as above.
        unsafe { write_int_result(buf.as_mut_ptr(), 0x1FF, 1, false) };
        assert_eq!(u64::from_ne_bytes(buf.0[..8].try_into().unwrap()), 0xFF);
    }
}
