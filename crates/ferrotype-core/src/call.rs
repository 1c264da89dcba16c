//! The call path. A foreign call goes through these steps:
//!
//! 1. **Prepare once.** A signature (return type, argument types, and for variadic
//!    functions the number of fixed arguments) becomes a [`CallInterface`]:
//!    `ffi_prep_cif` over arrays this module owns. [`CallInterface::cached`] keeps one
//!    interface per signature for the whole process, so a function's interface is built
//!    when its `argtypes`/`restype` are set and never on a call.
//! 2. **Fill argument slots.** The caller converts each argument into an [`ArgSlot`]
//!    (or points at memory it owns, for structs passed by value) and passes an array of
//!    pointers to them.
//! 3. **Call.** [`CallInterface::call`] runs `ffi_call` into a [`RetBuf`], which is at
//!    least one register wide (libffi widens small integer results to a full `ffi_arg`)
//!    and wide enough for `long double`.
//! 4. **Read the result** with [`CallInterface::ret_ptr`], which accounts for the
//!    widening on big-endian machines.
//!
//! errno swapping (`use_errno`) and GIL handling happen around step 3 in the caller.
//! Signatures that fit in argument registers can skip libffi: see [`crate::regcall`].

use core::cell::UnsafeCell;
use core::ffi::c_void;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use libffi::raw::{ffi_abi_FFI_DEFAULT_ABI, ffi_cif, ffi_type};

use crate::error::{Error, FfiStatus, Result};
use crate::ffi_type::FfiType;

/// The most arguments a call may have (ctypes' `CTYPES_MAX_ARGCOUNT`).
pub const MAX_ARGS: usize = 1024;

/// One argument's storage: wide and aligned enough for any scalar, `long double`
/// included.
#[repr(C, align(16))]
#[derive(Clone, Copy)]
pub union ArgSlot {
    /// Integer bits (stored at offset 0 in native order; libffi reads `size` bytes).
    pub u64: u64,
    /// A signed 8-bit value.
    pub i8: i8,
    /// An unsigned 8-bit value.
    pub u8: u8,
    /// A signed 16-bit value.
    pub i16: i16,
    /// An unsigned 16-bit value.
    pub u16: u16,
    /// A signed 32-bit value.
    pub i32: i32,
    /// An unsigned 32-bit value.
    pub u32: u32,
    /// A signed 64-bit value.
    pub i64: i64,
    /// `float`.
    pub f32: f32,
    /// `double`.
    pub f64: f64,
    /// A pointer.
    pub ptr: *mut c_void,
    /// Raw bytes (`long double`).
    pub bytes: [u8; 16],
}

impl Default for ArgSlot {
    fn default() -> Self {
        ArgSlot { bytes: [0; 16] }
    }
}

/// Stack storage for a call's result: 32 bytes, 16-aligned. Larger struct results
/// need a buffer of [`CallInterface::ret_size`] bytes from the caller.
#[repr(C, align(16))]
#[derive(Default)]
pub struct RetBuf(pub [u8; 32]);

impl RetBuf {
    /// The start of the buffer.
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        self.0.as_mut_ptr()
    }
}

/// A prepared call interface (libffi `ffi_cif`) and the type arrays it points to.
pub struct CallInterface {
    cif: Box<UnsafeCell<ffi_cif>>,
    _atypes: Box<[*mut ffi_type]>,
    ret: FfiType,
    args: Box<[FfiType]>,
    nfixed: Option<usize>,
}

// SAFETY: after preparation the cif and the arrays are only read (ffi_call takes a
// `*mut` but does not write through it); the types they point to are static or owned
// by `ret`/`args`.
unsafe impl Send for CallInterface {}
// SAFETY: as above: shared use is read-only.
unsafe impl Sync for CallInterface {}

impl std::fmt::Debug for CallInterface {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallInterface")
            .field("ret", &self.ret)
            .field("args", &self.args)
            .field("nfixed", &self.nfixed)
            .finish()
    }
}

type Signature = (FfiType, Box<[FfiType]>, Option<usize>);

fn cache() -> &'static Mutex<HashMap<Signature, Arc<CallInterface>>> {
    static CACHE: OnceLock<Mutex<HashMap<Signature, Arc<CallInterface>>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

impl CallInterface {
    /// Prepares an interface. `nfixed` is `Some(n)` for a variadic function with `n`
    /// fixed arguments (prepared with `ffi_prep_cif_var`).
    pub fn try_new(ret: FfiType, args: &[FfiType], nfixed: Option<usize>) -> Result<CallInterface> {
        if args.len() > MAX_ARGS {
            return Err(Error::TooManyArguments {
                given: args.len(),
                max: MAX_ARGS,
            });
        }
        if let Some(n) = nfixed {
            if n > args.len() {
                return Err(Error::PrepCif {
                    reason: format!("{n} fixed arguments but only {} in all", args.len()),
                });
            }
        }
        // `_Float16` goes in a floating-point register, which libffi cannot express: it
        // would pass the bits as an integer. Refuse before anything is called.
        if !(ret.is_callable() && args.iter().all(FfiType::is_callable)) {
            return Err(Error::NotCallable { what: "float16" });
        }
        let args: Box<[FfiType]> = args.into();
        let mut atypes: Box<[*mut ffi_type]> = args.iter().map(FfiType::as_raw).collect();
        let cif = Box::new(UnsafeCell::new(ffi_cif::default()));
        let nargs = args.len() as u32;
        // SAFETY: cif points to a default-initialised ffi_cif; rtype and atypes are valid
        // descriptors that live as long as the returned interface (owned by it).
        let status = unsafe {
            match nfixed {
                None => libffi::raw::ffi_prep_cif(
                    cif.get(),
                    ffi_abi_FFI_DEFAULT_ABI,
                    nargs,
                    ret.as_raw(),
                    atypes.as_mut_ptr(),
                ),
                Some(n) => libffi::raw::ffi_prep_cif_var(
                    cif.get(),
                    ffi_abi_FFI_DEFAULT_ABI,
                    n as u32,
                    nargs,
                    ret.as_raw(),
                    atypes.as_mut_ptr(),
                ),
            }
        };
        if status != libffi::raw::ffi_status_FFI_OK {
            return Err(Error::PrepCif {
                reason: FfiStatus(status).to_string(),
            });
        }
        Ok(CallInterface {
            cif,
            _atypes: atypes,
            ret,
            args,
            nfixed,
        })
    }

    /// The process-wide interface for a signature, prepared on first use.
    pub fn cached(
        ret: &FfiType,
        args: &[FfiType],
        nfixed: Option<usize>,
    ) -> Result<Arc<CallInterface>> {
        let key: Signature = (ret.clone(), args.into(), nfixed);
        let mut map = cache().lock().unwrap_or_else(|p| p.into_inner());
        if let Some(ci) = map.get(&key) {
            return Ok(Arc::clone(ci));
        }
        let ci = Arc::new(CallInterface::try_new(ret.clone(), args, nfixed)?);
        map.insert(key, Arc::clone(&ci));
        Ok(ci)
    }

    /// The return type.
    pub fn ret(&self) -> &FfiType {
        &self.ret
    }

    /// The argument types.
    pub fn args(&self) -> &[FfiType] {
        &self.args
    }

    /// The number of arguments.
    pub fn nargs(&self) -> usize {
        self.args.len()
    }

    /// The bytes the result buffer must hold: the result's size, and never less than
    /// 16 (a register, or a `long double`).
    pub fn ret_size(&self) -> usize {
        self.ret.size().max(16)
    }

    /// Calls `fun` with the arguments pointed to by `args`, writing the result to `ret`.
    ///
    /// # Safety
    /// `fun` must be a function with exactly this signature; `args` must hold
    /// [`CallInterface::nargs`] pointers, each to a valid value of its argument type;
    /// `ret` must be valid for writes of [`CallInterface::ret_size`] bytes and 16-aligned.
    #[inline]
    pub unsafe fn call(&self, fun: *const c_void, args: *mut *mut c_void, ret: *mut u8) {
        // SAFETY: `fun` is a non-null code address by the caller's contract, so it is a
        // valid `extern "C" fn()` to hand to libffi, which calls it with the prepared
        // signature rather than this nominal one.
        let code: unsafe extern "C" fn() = unsafe { std::mem::transmute(fun) };
        // SAFETY: the cif was prepared for this signature; the caller guarantees the
        // argument and result buffers.
        unsafe { libffi::raw::ffi_call(self.cif.get(), Some(code), ret.cast(), args) }
    }

    /// The number of fixed arguments of a variadic interface.
    pub fn nfixed(&self) -> Option<usize> {
        self.nfixed
    }

    /// Whether the interface was prepared for a variadic function.
    pub fn is_variadic(&self) -> bool {
        self.nfixed.is_some()
    }

    /// The prepared `ffi_cif`, for preparing closures over it (read-only after
    /// preparation; it lives as long as `self`).
    pub(crate) fn raw_cif(&self) -> *mut ffi_cif {
        self.cif.get()
    }

    /// Where in a result buffer the value starts. libffi stores integer results smaller
    /// than a register as a whole `ffi_arg`; on big-endian machines the value is then at
    /// the end of that register.
    pub fn ret_ptr(&self, buf: *mut u8) -> *mut u8 {
        let size = self.ret.size();
        let word = std::mem::size_of::<libffi::raw::ffi_arg>();
        if cfg!(target_endian = "big") && matches!(self.ret, FfiType::Scalar(_)) && size < word {
            buf.wrapping_add(word - size)
        } else {
            buf
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::Library;
    use crate::memory::{read_scalar, Scalar};
    use crate::typecode::TypeCode;

    fn libm_fn(name: &str) -> *mut c_void {
        let lib = Library::open(
            Some(std::ffi::OsStr::new("libm.so.6")),
            crate::library::RTLD_LOCAL,
        )
        .or_else(|_| Library::this())
        .unwrap();
        lib.symbol(name).unwrap()
    }

    #[test]
    fn calls_cos_and_abs() {
        let d = FfiType::Scalar(TypeCode::Double);
        let ci = CallInterface::cached(&d, std::slice::from_ref(&d), None).unwrap();
        let again = CallInterface::cached(&d, std::slice::from_ref(&d), None).unwrap();
        assert!(Arc::ptr_eq(&ci, &again), "one interface per signature");
        let mut slot = ArgSlot { f64: 0.0 };
        let mut argv = [std::ptr::from_mut(&mut slot).cast::<c_void>()];
        let mut ret = RetBuf::default();
        // SAFETY: cos has signature double(double); argv and ret are valid.
        let v = unsafe {
            ci.call(libm_fn("cos"), argv.as_mut_ptr(), ret.as_mut_ptr());
            read_scalar(ci.ret_ptr(ret.as_mut_ptr()), TypeCode::Double, false)
        };
        assert_eq!(v, Scalar::Float(1.0));

        let i = FfiType::Scalar(TypeCode::Int);
        let ci = CallInterface::cached(&i, std::slice::from_ref(&i), None).unwrap();
        let mut slot = ArgSlot { i32: -42 };
        let mut argv = [std::ptr::from_mut(&mut slot).cast::<c_void>()];
        let abs = Library::this().unwrap().symbol("abs").unwrap();
        // SAFETY: abs has signature int(int).
        let v = unsafe {
            ci.call(abs, argv.as_mut_ptr(), ret.as_mut_ptr());
            read_scalar(ci.ret_ptr(ret.as_mut_ptr()), TypeCode::Int, false)
        };
        assert_eq!(v, Scalar::Signed(42));
    }

    #[test]
    fn variadic_interface() {
        let p = FfiType::Scalar(TypeCode::VoidP);
        let i = FfiType::Scalar(TypeCode::Int);
        let d = FfiType::Scalar(TypeCode::Double);
        let ci = CallInterface::try_new(i.clone(), &[p.clone(), p.clone(), d], Some(2)).unwrap();
        let mut buf = [0u8; 64];
        let fmt = c"%.2f";
        let mut a0 = ArgSlot {
            ptr: buf.as_mut_ptr().cast(),
        };
        let mut a1 = ArgSlot {
            ptr: fmt.as_ptr().cast_mut().cast(),
        };
        let mut a2 = ArgSlot { f64: 2.5 };
        let mut argv = [
            std::ptr::from_mut(&mut a0).cast::<c_void>(),
            std::ptr::from_mut(&mut a1).cast(),
            std::ptr::from_mut(&mut a2).cast(),
        ];
        let sprintf = Library::this().unwrap().symbol("sprintf").unwrap();
        let mut ret = RetBuf::default();
        // SAFETY: sprintf(char*, const char*, ...) with one double; buf has room.
        unsafe { ci.call(sprintf, argv.as_mut_ptr(), ret.as_mut_ptr()) };
        assert_eq!(&buf[..5], b"2.50\0");
    }

    #[test]
    fn float16_cannot_cross_a_call() {
        let i = FfiType::Scalar(TypeCode::Int);
        let h = FfiType::Scalar(TypeCode::Half);
        let s = FfiType::Struct(crate::StructType::new(vec![i.clone(), h.clone()], 8, 4));
        for (ret, args) in [
            (h.clone(), vec![]),
            (i.clone(), vec![i.clone(), h]),
            (s, vec![]),
        ] {
            assert!(matches!(
                CallInterface::try_new(ret, &args, None),
                Err(Error::NotCallable { what: "float16" })
            ));
        }
    }

    #[test]
    fn too_many_arguments() {
        let i = FfiType::Scalar(TypeCode::Int);
        let args = vec![i.clone(); MAX_ARGS + 1];
        assert!(matches!(
            CallInterface::try_new(i, &args, None),
            Err(Error::TooManyArguments { .. })
        ));
    }
}
