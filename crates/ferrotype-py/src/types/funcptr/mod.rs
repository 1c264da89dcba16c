//! `CFuncPtr`: foreign function pointers and the Python side of the call path.
//!
//! When `argtypes`, `restype` or `errcheck` are assigned, they are compiled into a
//! [`FuncState`]: one converter per argument (built-in simple and pointer types convert
//! in Rust without calling `from_param`), a result converter, and — when every argument
//! type is built in — the prepared call interface. A call then only converts, calls and
//! converts back:
//!
//! 1. check the argument count (ctypes' messages);
//! 2. convert each argument into a stack slot (`ArgumentError("argument N: ...")` on
//!    failure), collecting the objects that must outlive the call;
//! 3. pick the prepared interface, or the cached one for this call's types;
//! 4. release the GIL (not for `PyDLL`, nor where `release_gil = False`), swap errno if
//!    asked, call;
//! 5. convert the result, then run `errcheck`.
//!
//! The code is split along those steps: [`plan`] compiles, [`call`] runs both engines,
//! [`paramflags`] handles COM-style prototypes, and this module is the Python class.
//!
//! Step 4 has two engines. A function whose declared signature the core's
//! [`RegisterCall`] takes (scalars and structures in argument registers, and on x86-64
//! stack arguments and structure results in memory) is called through it (no libffi;
//! arguments are written straight into a register image, a result in memory straight
//! into the new instance); any other goes through libffi with the prepared interface. Both share the converters and the result path,
//! and `_set_register_calls(False)` makes plans prepared afterwards use libffi only, so
//! the tests can run every signature both ways.
//!
//! A call without keywords first tries [`call::call_direct`], which does steps 1 to 5
//! in one pass for a state with a [`plan::Direct`] record (arguments in registers and
//! all converted inline, a simple result, nothing around the call), and gives up
//! before anything has run otherwise.

pub mod call;
pub mod paramflags;
pub mod plan;

use std::ffi::c_void;
use std::sync::Arc;

use ferrotype_core::{memory, CallInterface, FfiType, TypeCode};
use pyo3::exceptions::{PyAttributeError, PyTypeError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyInt, PyString, PyTuple, PyType};
use pyo3::{PyTraverseError, PyVisit};

use crate::capi::gilcell::GilCell;
use crate::capi::slots::{enable_vectorcall, Vectorcall, VectorcallEntry};
use crate::capi::values::void_ptr_value;
use crate::capi::version;
use crate::model::cdata::CData;
use crate::model::errors::{too_many_arguments, CoreResultExt};
use crate::model::registry::{instantiate, take_pending};
use crate::model::stginfo::{info_of, set_info, Detail, Kind, StgInfo};
use crate::types::pointer::address;
use crate::types::thunk;

use call::{call_function, Callee};
use paramflags::call_with_paramflags;
use plan::{
    check_argtypes_with_paramflags, check_prototype, compile_restype, parse_paramflags,
    restype_checker, set_argtypes, FuncState,
};
pub use plan::{
    set_register_calls, FUNCFLAG_CDECL, FUNCFLAG_HRESULT, FUNCFLAG_PYTHONAPI, FUNCFLAG_USE_ERRNO,
    FUNCFLAG_USE_LASTERROR,
};

/// A foreign function pointer.
#[pyclass(extends = CData, subclass, frozen, module = "ferrotype._ctypes", name = "CFuncPtr")]
pub struct CFuncPtr {
    /// The vectorcall entry point; the type's `tp_vectorcall_offset` points here.
    vectorcall: VectorcallEntry,
    state: GilCell<FuncState>,
    /// The interface of the last call whose types were not all declared (calls without
    /// `argtypes`, extra arguments, custom `from_param`), so repeated calls of the same
    /// shape skip the process-wide cache.
    memo: GilCell<Option<Arc<CallInterface>>>,
    /// For a callback (made from a Python callable): the object owning the closure C
    /// calls (also in the instance's `_objects`, as in ctypes).
    callback: Option<Py<thunk::CThunkObject>>,
}

/// `_native._register_plan(func)`, for tests and benchmarks: `None` when calls of the
/// declared signature go through libffi, else the register engine's stack slots and
/// whether the callee writes the result to memory.
#[pyfunction]
#[pyo3(name = "_register_plan")]
pub fn register_plan(func: &Bound<'_, CFuncPtr>) -> Option<(usize, bool)> {
    let st = func.get().state.get(func.py());
    st.reg
        .as_ref()
        .map(|p| (p.call.stack_words(), p.call.ret_in_memory().is_some()))
}

impl Drop for CFuncPtr {
    fn drop(&mut self) {
        if let Some(t) = self.callback.take() {
            // Released at once (as a `Bound`), as the instance's other references are.
            Python::attach(|py| drop(t.into_bound(py)));
        }
    }
}

impl CFuncPtr {
    fn with_state(st: FuncState) -> CFuncPtr {
        CFuncPtr {
            vectorcall: VectorcallEntry::of::<CFuncPtr>(),
            state: GilCell::new(st),
            memo: GilCell::new(None),
            callback: None,
        }
    }

    fn update(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut FuncState) -> PyResult<()>,
    ) -> PyResult<()> {
        let mut st = self.state.get(py).clone_ref(py);
        f(&mut st)?;
        st.prepare(py)?;
        self.state.set(py, st);
        Ok(())
    }

    /// The function as the call engines see it.
    fn callee<'a, 'py>(slf: &'a Bound<'py, Self>) -> Callee<'a, 'py> {
        Callee {
            obj: slf.as_any(),
            fun: address(slf.as_super().get()),
            memo: &slf.get().memo,
        }
    }
}

#[pymethods]
impl CFuncPtr {
    /// Visits what the function object refers to (its callable, argtypes, restype,
    /// errcheck), so that cycles through them are collected.
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        if let Some(t) = &self.callback {
            visit.call(t)?;
        }
        self.state.traverse(&visit, |st| {
            for o in [&st.argtypes, &st.restype, &st.checker, &st.errcheck]
                .into_iter()
                .flatten()
            {
                visit.call(o)?;
            }
            Ok(())
        })
    }

    #[new]
    #[classmethod]
    #[pyo3(signature = (*args, **_kwargs))]
    fn new(
        cls: &Bound<'_, PyType>,
        args: &Bound<'_, PyTuple>,
        _kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let py = cls.py();
        let info = info_of(cls.as_any())
            .filter(|i| i.get().kind() == Kind::FuncPtr)
            .ok_or_else(|| PyTypeError::new_err("abstract class"))?;
        let mut st = FuncState::empty();
        if let Ok(flags) = cls.getattr(intern!(py, "_flags_")) {
            st.flags = flags.extract()?;
        }
        let mut callback = None;
        let mut paramflags = None;
        let address: usize = match args.len() {
            0 => 0,
            1 => {
                let a = args.get_item(0)?;
                if a.is_instance_of::<PyInt>() {
                    // ctypes: `PyLong_AsVoidPtr`, whose OverflowError it keeps.
                    void_ptr_value(&a)?
                } else if let Ok(t) = a.cast::<PyTuple>() {
                    symbol_address(t)?
                } else if a.is_callable() {
                    let restype = cls.getattr(intern!(py, "_restype_")).ok();
                    let argtypes = cls.getattr(intern!(py, "_argtypes_")).ok();
                    let cb = thunk::make(
                        &a,
                        restype.as_ref(),
                        argtypes.as_ref(),
                        st.flags & FUNCFLAG_USE_ERRNO != 0,
                    )?;
                    let thunk = thunk::CThunkObject::new(py, cb)?;
                    let code = thunk.get().code_ptr();
                    callback = Some(thunk);
                    code
                } else {
                    return Err(PyTypeError::new_err(
                        "argument must be callable or integer function address",
                    ));
                }
            }
            2 => {
                let a = args.get_item(0)?;
                let Ok(t) = a.cast::<PyTuple>() else {
                    return Err(PyTypeError::new_err(
                        "argument must be callable or integer function address",
                    ));
                };
                paramflags = Some(args.get_item(1)?);
                symbol_address(t)?
            }
            _ => {
                return Err(PyTypeError::new_err(
                    "argument must be callable or integer function address",
                ))
            }
        };
        if let Ok(rt) = cls.getattr(intern!(py, "_restype_")) {
            let (ret, ffi) = compile_restype(&rt)?;
            st.checker = restype_checker(&rt);
            st.restype = Some(rt.unbind());
            st.ret = Arc::new(ret);
            st.ret_ffi = ffi;
        }
        if let Ok(at) = cls.getattr(intern!(py, "_argtypes_")) {
            set_argtypes(&mut st, &at)?;
        }
        if let Some(pf) = paramflags {
            let argtypes = st.argtypes.as_ref().map(|a| a.bind(py).clone());
            st.paramflags = parse_paramflags(&pf, argtypes.as_ref())?.map(Arc::new);
        }
        st.prepare(py)?;
        let cd = match take_pending() {
            Some(cd) => cd,
            None => {
                let mut cd = CData::for_type(&info)?;
                // SAFETY: a function pointer instance holds one pointer-sized value.
                unsafe {
                    memory::write_bits(
                        cd.unplaced_ptr(),
                        TypeCode::VoidP.size(),
                        false,
                        address as u64,
                    )
                };
                cd
            }
        };
        if let Some(t) = &callback {
            // ctypes: a callback keeps its thunk in `_objects` under key 0.
            cd.keep_alive(py, 0, t.clone_ref(py).into_any())?;
        }
        let mut fp = CFuncPtr::with_state(st);
        fp.callback = callback;
        Ok(PyClassInitializer::from(cd).add_subclass(fp))
    }

    #[pyo3(signature = (*args, **kwargs))]
    fn __call__(
        slf: &Bound<'_, Self>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        let st = slf.get().state.get(slf.py());
        let callee = CFuncPtr::callee(slf);
        match &st.paramflags {
            Some(f) => call_with_paramflags(&callee, &st, f, args.as_slice(), kwargs),
            // ctypes ignores keyword arguments of functions without paramflags.
            None => call_function(&callee, &st, args.as_slice()),
        }
    }

    /// Whether the function is declared variadic (ferrotype): `argtypes` are then its
    /// fixed arguments, and further arguments get C's default promotions (`float` to
    /// `double`, small integers to `int`; Python floats are accepted as `double`).
    #[getter]
    fn variadic(slf: &Bound<'_, Self>) -> bool {
        slf.get().state.get(slf.py()).variadic
    }

    #[setter]
    fn set_variadic(slf: &Bound<'_, Self>, value: bool) -> PyResult<()> {
        slf.get().update(slf.py(), |st| {
            st.variadic = value;
            Ok(())
        })
    }

    #[getter]
    fn argtypes(slf: &Bound<'_, Self>) -> Option<Py<PyAny>> {
        let py = slf.py();
        slf.get()
            .state
            .get(py)
            .argtypes
            .as_ref()
            .map(|a| a.clone_ref(py))
    }

    #[setter]
    fn set_argtypes(slf: &Bound<'_, Self>, value: Bound<'_, PyAny>) -> PyResult<()> {
        let py = slf.py();
        slf.get().update(py, |st| {
            if value.is_none() {
                prototype_argtypes(slf, st)
            } else {
                set_argtypes(st, &value)?;
                if version::ARGTYPES_CHECKED_WITH_PARAMFLAGS {
                    check_argtypes_with_paramflags(py, st)?;
                }
                Ok(())
            }
        })
    }

    #[deleter]
    fn delete_argtypes(slf: &Bound<'_, Self>) -> PyResult<()> {
        slf.get().update(slf.py(), |st| prototype_argtypes(slf, st))
    }

    #[getter]
    fn restype(slf: &Bound<'_, Self>) -> Py<PyAny> {
        let py = slf.py();
        slf.get()
            .state
            .get(py)
            .restype
            .as_ref()
            .map_or_else(|| py.None(), |r| r.clone_ref(py))
    }

    #[setter]
    fn set_restype(slf: &Bound<'_, Self>, value: Bound<'_, PyAny>) -> PyResult<()> {
        let (ret, ffi) = compile_restype(&value)?;
        let checker = restype_checker(&value);
        slf.get().update(slf.py(), |st| {
            st.checker = checker;
            st.restype = Some(value.unbind());
            st.ret = Arc::new(ret);
            st.ret_ffi = ffi;
            Ok(())
        })
    }

    /// ctypes: deleting `restype` restores the class default (`c_int` for `CDLL`).
    #[deleter]
    fn delete_restype(slf: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        let default = slf
            .get_type()
            .getattr(intern!(py, "_restype_"))
            .unwrap_or_else(|_| py.None().into_bound(py));
        CFuncPtr::set_restype(slf, default)
    }

    #[getter]
    fn errcheck(slf: &Bound<'_, Self>) -> Option<Py<PyAny>> {
        let py = slf.py();
        slf.get()
            .state
            .get(py)
            .errcheck
            .as_ref()
            .map(|e| e.clone_ref(py))
    }

    #[setter]
    fn set_errcheck(slf: &Bound<'_, Self>, value: Bound<'_, PyAny>) -> PyResult<()> {
        // ctypes: errcheck must be callable; `None` is refused too (use `del`).
        if !value.is_callable() {
            return Err(PyTypeError::new_err(
                "the errcheck attribute must be callable",
            ));
        }
        slf.get().update(slf.py(), |st| {
            st.errcheck = Some(value.unbind());
            Ok(())
        })
    }

    #[deleter]
    fn delete_errcheck(slf: &Bound<'_, Self>) -> PyResult<()> {
        slf.get().update(slf.py(), |st| {
            st.errcheck = None;
            Ok(())
        })
    }

    fn __bool__(slf: &Bound<'_, Self>) -> bool {
        address(slf.as_super().get()) != 0
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        Ok(format!(
            "<{} object at {:#x}>",
            slf.get_type().name()?,
            slf.as_ptr() as usize
        ))
    }

    /// Whether calls release the GIL (ferrotype; default true, as `CDLL` functions do).
    /// `func.release_gil = False` keeps it for short functions that never block nor call
    /// back from another thread; `PyDLL` functions never release it.
    #[getter]
    fn release_gil(slf: &Bound<'_, Self>) -> bool {
        let st = slf.get().state.get(slf.py());
        st.release_gil && st.flags & FUNCFLAG_PYTHONAPI == 0
    }

    #[setter]
    fn set_release_gil(slf: &Bound<'_, Self>, value: bool) -> PyResult<()> {
        slf.get().update(slf.py(), |st| {
            st.release_gil = value;
            Ok(())
        })
    }

    #[getter]
    fn _flags_(slf: &Bound<'_, Self>) -> u32 {
        slf.get().state.get(slf.py()).flags
    }
}

/// Drops a function's own `argtypes`: ctypes then uses its prototype's `_argtypes_`
/// (a `CFUNCTYPE` class's), or none.
fn prototype_argtypes(slf: &Bound<'_, CFuncPtr>, st: &mut FuncState) -> PyResult<()> {
    st.argtypes = None;
    st.converters = Arc::new([]);
    match slf.get_type().getattr(intern!(slf.py(), "_argtypes_")) {
        Ok(at) if !at.is_none() => set_argtypes(st, &at),
        _ => Ok(()),
    }
}

/// The address of `(name_or_ordinal, dll)`: `dll._handle` looked up with dlsym.
fn symbol_address(t: &Bound<'_, PyTuple>) -> PyResult<usize> {
    let py = t.py();
    if t.len() != 2 {
        return Err(PyTypeError::new_err("illegal func_spec argument"));
    }
    let name = t.get_item(0)?;
    let dll = t.get_item(1)?;
    let handle: usize = dll
        .getattr(intern!(py, "_handle"))
        .map_err(|_| {
            PyTypeError::new_err("the _handle attribute of the second argument must be an integer")
        })?
        .extract()
        .map_err(|_| {
            PyTypeError::new_err("the _handle attribute of the second argument must be an integer")
        })?;
    let name: String = if let Ok(s) = name.cast::<PyString>() {
        s.to_str()?.to_owned()
    } else if let Ok(b) = name.cast::<pyo3::types::PyBytes>() {
        String::from_utf8_lossy(b.as_bytes()).into_owned()
    } else {
        return Err(PyTypeError::new_err(
            "function name must be string, bytes object or integer",
        ));
    };
    // ctypes looks the name up as a C string: it ends at the first NUL.
    let name = name.split('\0').next().unwrap_or_default();
    // SAFETY: the handle comes from a CDLL, which got it from dlopen (or from the user,
    // as ctypes allows) and never closes it implicitly.
    let lib = unsafe { ferrotype_core::Library::from_handle(handle as *mut c_void) };
    let addr = lib.symbol(name).py()? as usize;
    // ctypes: a symbol that resolves to NULL (a GNU indirect function returning NULL)
    // is not a function (GH-126554).
    if addr == 0 {
        return Err(PyAttributeError::new_err(format!(
            "function '{name}' not found"
        )));
    }
    Ok(addr)
}

impl Vectorcall for CFuncPtr {
    #[inline(always)]
    fn direct<'py>(
        slf: &Bound<'py, Self>,
        args: &[Bound<'py, PyAny>],
    ) -> Option<Option<Py<PyAny>>> {
        let fun = address(slf.as_super().get());
        // SAFETY: the function's own state cell and address.
        unsafe { call::call_direct(slf.py(), &slf.get().state, fun, args) }
    }

    fn call<'py>(
        slf: &Bound<'py, Self>,
        args: &[Bound<'py, PyAny>],
        kwargs: Option<(Bound<'py, PyTuple>, &[Bound<'py, PyAny>])>,
    ) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let st = slf.get().state.get(py);
        let callee = CFuncPtr::callee(slf);
        let Some(flags) = &st.paramflags else {
            // ctypes ignores keyword arguments of functions without paramflags.
            return call_function(&callee, &st, args);
        };
        let kwargs = match kwargs {
            None => None,
            Some((names, values)) => {
                let d = PyDict::new(py);
                for (name, value) in names.iter().zip(values) {
                    d.set_item(name, value)?;
                }
                Some(d)
            }
        };
        call_with_paramflags(&callee, &st, flags, args, kwargs.as_ref())
    }
}

/// The byte offset of the `vectorcall` field in a `CFuncPtr` object, measured once.
static VECTORCALL_OFFSET: std::sync::OnceLock<isize> = std::sync::OnceLock::new();

/// Installs the vectorcall protocol on a function pointer class (each one: CPython
/// 3.11 does not pass the flag on to heap subtypes).
fn install_vectorcall(cls: &Bound<'_, PyType>, info: &Bound<'_, StgInfo>) -> PyResult<()> {
    let offset = match VECTORCALL_OFFSET.get() {
        Some(o) => *o,
        None => {
            let sample = instantiate(cls, CData::for_type(info)?)?;
            let fp = sample.cast::<CFuncPtr>().map_err(PyErr::from)?;
            let field = std::ptr::from_ref(&fp.get().vectorcall) as isize;
            let o = field - sample.as_ptr() as isize;
            *VECTORCALL_OFFSET.get_or_init(|| o)
        }
    };
    // SAFETY: `cls` is a CFuncPtr type (its StgInfo kind is FuncPtr, which only
    // `init_funcptr_type` sets, for subclasses of the native class), so each of its
    // instances is a `CFuncPtr` holding its entry point at `offset`.
    unsafe { enable_vectorcall(cls, offset) };
    Ok(())
}

/// Fills in a function pointer type's information.
#[pyfunction]
pub fn init_funcptr_type(cls: &Bound<'_, PyType>) -> PyResult<()> {
    if let Ok(at) = cls.getattr(intern!(cls.py(), "_argtypes_")) {
        let n = at.len().unwrap_or(0);
        if n > ferrotype_core::MAX_ARGS {
            return Err(too_many_arguments(n, ferrotype_core::MAX_ARGS, true));
        }
    }
    check_prototype(cls)?;
    let ptr = TypeCode::VoidP;
    let info = set_info(
        cls,
        StgInfo {
            has_pointer: true,
            ..StgInfo::new(
                Detail::FuncPtr,
                ptr.size(),
                ptr.align(),
                FfiType::Scalar(ptr),
                "X{}",
            )
        },
    )?;
    install_vectorcall(cls, &info)
}
