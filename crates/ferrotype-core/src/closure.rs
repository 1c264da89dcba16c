//! Callbacks: C function pointers that run Rust code, built on libffi closures.
//!
//! A [`Closure`] owns a libffi closure (an executable trampoline from
//! `ffi_closure_alloc`, which uses libffi's static trampolines where the platform has
//! them), the prepared [`CallInterface`] describing the C signature, and a handler. When
//! C calls [`Closure::code_ptr`], the handler receives the argument pointers and a
//! result buffer. The closure is freed when the `Closure` is dropped; C code must not
//! call it afterwards (the caller's business, as in C).
//!
//! Results: libffi requires integer results narrower than a register to be written as
//! a whole `ffi_arg`; [`Closure`] zeroes the result buffer before each call and handlers
//! write integers with [`write_int_result`], so a handler that fails leaves a zero
//! result.

use core::ffi::c_void;
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

struct Data<U> {
    handler: Handler<U>,
    nargs: usize,
    result_size: usize,
    user: U,
}

/// A C-callable function pointer running a Rust handler.
pub struct Closure<U> {
    raw: *mut ffi_closure,
    code: CodePtr,
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

impl<U> Closure<U> {
    /// A closure with the signature of `cif` (which must not be variadic) running
    /// `handler` with `user`.
    pub fn new(cif: Arc<CallInterface>, handler: Handler<U>, user: U) -> Result<Closure<U>> {
        if cif.is_variadic() {
            return Err(Error::Unsupported {
                what: "a variadic callback",
            });
        }
        let result_size = match cif.ret() {
            FfiType::Void => 0,
            t => t.size().max(std::mem::size_of::<ffi_arg>()),
        };
        let data = Box::new(Data {
            handler,
            nargs: cif.nargs(),
            result_size,
            user,
        });
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
            raw,
            code,
            cif,
            data,
        })
    }

    /// The C function pointer.
    pub fn code_ptr(&self) -> *const c_void {
        self.code.as_ptr()
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
        // SAFETY: allocated by closure_alloc in `new` and freed exactly once, here.
        unsafe { closure_free(self.raw) };
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

    #[test]
    fn a_closure_is_callable_through_libffi() {
        let i = FfiType::Scalar(TypeCode::Int);
        let cif = CallInterface::cached(&i, &[i.clone(), i.clone()], None).unwrap();
        let closure = Closure::new(cif.clone(), add_handler, AtomicUsize::new(0)).unwrap();
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
        let v = unsafe { *cif.ret_ptr(ret.as_mut_ptr()).cast::<i32>() };
        assert_eq!(v, -42);
        assert_eq!(closure.user().load(Ordering::Relaxed), 1);
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
