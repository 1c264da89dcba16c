//! `ferrotype._native`: the Python objects of ferrotype. The ctypes-compatible package
//! (`python/ferrotype`) assembles its classes on top of these; all the work happens
//! here or in `ferrotype-core`.
//!
//! The crate is layered, and imports only go down (`tools/check_structure.py`, run by
//! `make lint`, enforces it):
//!
//! - `capi`: the boundary with CPython, PyO3 and NumPy internals, and its soundness
//!   page. Nothing else touches `pyo3::ffi`, raw type slots or private symbols.
//! - `model`: type information, instances and their memory, the native class of each
//!   kind, errors.
//! - `codec`: values between Python and C (scalars, call arguments, elements).
//! - `types`: one module per Python class (`_SimpleCData`, `Array`, `_Pointer`,
//!   `Structure`/`Union`, `CFuncPtr`, callbacks, `ndpointer` specs).
//! - `api`: module-level functions.
//!
//! This file is the only one that names every kind: it registers the classes, hands
//! the raw slots their kinds, and fills the model's registry.

use pyo3::exceptions::PyImportError;
use pyo3::prelude::*;
use pyo3::types::PyType;
use pyo3::{PyClass, PyClassInitializer, PyTypeInfo};

/// Every Rust allocation of the extension (instance buffers, conversion scratch) goes to
/// mimalloc: a small zeroed buffer costs tens of instructions instead of the hundreds
/// glibc's `calloc`/`free` pair costs, and it needs no GIL (unlike pymalloc), so memory
/// may be allocated or freed on any thread. Without the `mimalloc` feature (the
/// AddressSanitizer and valgrind builds of `tools/sanitize.sh`) it is the system allocator.
/// `capi::alloc` says why it is not the `mimalloc` crate's allocator.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOC: capi::alloc::MiMalloc = capi::alloc::MiMalloc;

mod api;
mod capi;
mod codec;
mod model;
mod types;

use capi::objects;
use capi::slots;
use codec::param::CArg;
use ferrotype_core::{FfiType, TypeCode};
use model::cdata::CData;
use model::stginfo::{Detail, Kind, PointerInfo, StgInfo};
use types::array::{Array, CharArrayAttr};
use types::funcptr::CFuncPtr;
use types::pointer::Pointer;
use types::simple::SimpleCData;
use types::structure::{CField, Structure, Union};

// The five data kinds keep all their state in `CData` (capi's layout assumption 1).
const _: () = assert!(
    size_of::<SimpleCData>() == 0
        && size_of::<Array>() == 0
        && size_of::<Pointer>() == 0
        && size_of::<Structure>() == 0
        && size_of::<Union>() == 0
);

/// Type information for the probes of `install_slots`.
fn probe_info(py: Python<'_>) -> PyResult<Py<StgInfo>> {
    Py::new(
        py,
        StgInfo::new(
            Detail::Pointer(PointerInfo::new(None)),
            8,
            8,
            FfiType::Scalar(TypeCode::VoidP),
            "P",
        ),
    )
}

/// Measures the layout of a final class's instances on `probe` (one PyO3 made, freed by
/// PyO3's own slot before the raw ones are installed): `ImportError` if it is not the
/// one the raw slots assume.
fn measure_final<D: objects::Payload + PyClass<Frozen = pyo3::pyclass::boolean_struct::True>>(
    probe: Bound<'_, D>,
    name: &str,
) -> PyResult<()> {
    if objects::measure(probe.as_any(), probe.get(), &[]) {
        return Ok(());
    }
    Err(PyImportError::new_err(format!(
        "ferrotype: this interpreter or PyO3 lays out {name} differently from what \
         ferrotype was checked against (see crates/ferrotype-py/src/capi/mod.rs)"
    )))
}

/// Checks the instance layout and installs the raw slots on the native classes
/// (before any Python class derives from them).
fn install_slots(py: Python<'_>) -> PyResult<()> {
    let natives = [
        SimpleCData::type_object(py),
        Array::type_object(py),
        Pointer::type_object(py),
        Structure::type_object(py),
        Union::type_object(py),
    ];
    let measured = {
        // A probe instance made by PyO3, freed by PyO3's own slot before the raw ones
        // are installed.
        let probe = CData::new_view(probe_info(py)?, std::ptr::null_mut(), 0, None, 0);
        let probe = Bound::new(py, PyClassInitializer::from(probe).add_subclass(Pointer))?;
        objects::measure(probe.as_any(), probe.as_super().get(), &natives)
    };
    if !measured {
        return Err(PyImportError::new_err(
            "ferrotype: this interpreter or PyO3 lays out instances differently from what \
             ferrotype was checked against (see crates/ferrotype-py/src/capi/mod.rs)",
        ));
    }
    // `CArgObject` (`byref`, `from_param` results): made and freed by raw slots too;
    // `CField` (structure field descriptors): freed and traversed by them.
    measure_final(Bound::new(py, CArg::probe())?, "CArgObject")?;
    objects::install_final::<CArg>(py, None)?;
    measure_final(
        Bound::new(py, CField::probe(py, probe_info(py)?))?,
        "CField",
    )?;
    objects::install_final_traversed::<CField>(py)?;
    objects::install::<SimpleCData>(py)?;
    objects::install::<Array>(py)?;
    objects::install::<Pointer>(py)?;
    objects::install::<Structure>(py)?;
    objects::install::<Union>(py)?;
    // PyO3 makes function pointer instances around a `CData` built in Rust.
    objects::settle_after_new::<CFuncPtr, CData>(py)?;
    types::array::SUBSCRIPT.install::<Array>(py);
    types::array::SUBSCRIPT.install_seq::<Array>(py);
    types::pointer::SUBSCRIPT.install::<Pointer>(py);
    slots::install_descr_get::<CField>(py);
    // As ctypes' CField: immutable, and made only by the structure metaclasses before
    // 3.14 (which adds a private constructor).
    if !capi::version::CFIELD_CONSTRUCTOR {
        objects::disallow_instantiation(&CField::type_object(py));
    }
    objects::make_immutable(&CField::type_object(py));
    slots::install_descr_get::<CharArrayAttr>(py);
    slots::install_getset::<types::pointer::Contents>(
        &Pointer::type_object(py),
        c"contents",
        c"the object this pointer points to (read-write)",
    )?;
    slots::install_getset::<types::simple::Value>(
        &SimpleCData::type_object(py),
        c"value",
        c"the value of the instance, converted with its type",
    )?;
    let registry = [
        (Kind::Simple, SimpleCData::type_object(py)),
        (Kind::Array, Array::type_object(py)),
        (Kind::Pointer, Pointer::type_object(py)),
        (Kind::FuncPtr, CFuncPtr::type_object(py)),
        (Kind::Struct, Structure::type_object(py)),
        (Kind::Union, Union::type_object(py)),
    ];
    for (kind, cls) in registry {
        model::registry::register(kind, cls)?;
    }
    Ok(())
}

/// Which raw slots `cls` has (for the boundary tests): see `capi::report`.
#[pyfunction]
#[pyo3(name = "_slot_report")]
fn slot_report<'py>(cls: &Bound<'py, PyType>) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
    capi::report(cls)
}

/// `_set_metaclass(cls, meta)`: makes `meta` the metaclass of the native base class `cls`
/// (`_SimpleCData`, `Structure`, ...), which `_ctypes.py` does once at import, so that
/// the public bases are the native classes themselves, direct subclasses of `_CData`.
#[pyfunction]
#[pyo3(name = "_set_metaclass")]
fn set_metaclass(cls: &Bound<'_, PyType>, meta: &Bound<'_, PyType>) -> PyResult<()> {
    let base = CData::type_object(cls.py());
    if cls.is(&base) || !objects::is_subtype(cls, &base) {
        return Err(pyo3::exceptions::PyTypeError::new_err(
            "_set_metaclass: not a native data class",
        ));
    }
    objects::set_metaclass(cls, meta)
}

/// `_make_immutable(cls)`: marks a class of ferrotype's immutable, as ctypes' classes and
/// metaclasses are (`_ctypes.py` does it once at import).
#[pyfunction]
#[pyo3(name = "_make_immutable")]
fn make_immutable(cls: &Bound<'_, PyType>) {
    objects::make_immutable(cls)
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    capi::values::check_compact_ints(py);
    capi::values::init_small_ints(py);
    m.add_class::<CData>()?;
    m.add_class::<SimpleCData>()?;
    m.add_class::<Array>()?;
    m.add_class::<Pointer>()?;
    m.add_class::<CFuncPtr>()?;
    m.add_class::<codec::param::CArg>()?;
    m.add_class::<StgInfo>()?;
    m.add_class::<Structure>()?;
    m.add_class::<Union>()?;
    m.add_class::<CField>()?;
    m.add_class::<CharArrayAttr>()?;
    m.add_class::<types::ndpointer::NdSpec>()?;
    install_slots(py)?;
    // The package's own version, single-sourced from the workspace's Cargo.toml (which
    // maturin also writes into the wheel's metadata); `ferrotype.__version__` is ctypes'.
    m.add("PACKAGE_VERSION", env!("CARGO_PKG_VERSION"))?;
    m.add(
        "ArgumentError",
        py.get_type::<model::errors::ArgumentError>(),
    )?;
    m.add_function(wrap_pyfunction!(types::structure::init_struct_type, m)?)?;
    m.add_function(wrap_pyfunction!(types::structure::fields_are_native, m)?)?;
    // The structure and union metaclasses' `__new__` (static methods in Python) and,
    // from 3.13, `__init__` (bound as methods here: a native function binds to nothing).
    m.add_function(wrap_pyfunction!(types::structure::struct_type_new, m)?)?;
    m.add_function(wrap_pyfunction!(types::structure::union_type_new, m)?)?;
    m.add_function(wrap_pyfunction!(types::structure::set_struct_fields, m)?)?;
    let init = wrap_pyfunction!(types::structure::struct_type_init, m)?;
    m.add(
        "struct_type_init",
        capi::classes::instance_method(init.as_any())?,
    )?;
    let init = wrap_pyfunction!(types::structure::union_type_init, m)?;
    m.add(
        "union_type_init",
        capi::classes::instance_method(init.as_any())?,
    )?;
    m.add_function(wrap_pyfunction!(types::simple::init_simple_type, m)?)?;
    m.add_function(wrap_pyfunction!(types::array::init_array_type, m)?)?;
    m.add_function(wrap_pyfunction!(types::pointer::init_pointer_type, m)?)?;
    m.add_function(wrap_pyfunction!(types::pointer::set_pointer_type, m)?)?;
    m.add_function(wrap_pyfunction!(types::funcptr::init_funcptr_type, m)?)?;
    m.add_function(wrap_pyfunction!(types::array::char_array_get_value, m)?)?;
    m.add_function(wrap_pyfunction!(types::array::set_char_types, m)?)?;
    m.add_function(wrap_pyfunction!(types::array::create_string_buffer, m)?)?;
    m.add_function(wrap_pyfunction!(types::array::create_unicode_buffer, m)?)?;
    m.add_function(wrap_pyfunction!(types::array::char_array_set_value, m)?)?;
    m.add_function(wrap_pyfunction!(types::array::char_array_get_raw, m)?)?;
    m.add_function(wrap_pyfunction!(types::array::char_array_set_raw, m)?)?;
    m.add_function(wrap_pyfunction!(types::thunk::debug_callbacks, m)?)?;
    m.add_function(wrap_pyfunction!(types::thunk::set_callback_trampolines, m)?)?;
    m.add_function(wrap_pyfunction!(types::thunk::callback_trampoline, m)?)?;
    m.add_function(wrap_pyfunction!(types::funcptr::set_register_calls, m)?)?;
    m.add_function(wrap_pyfunction!(types::funcptr::register_plan, m)?)?;
    m.add_function(wrap_pyfunction!(api::strict::strict_mode, m)?)?;
    m.add_function(wrap_pyfunction!(api::strict::is_strict, m)?)?;
    m.add_class::<api::strict::StrictMode>()?;
    api::strict::init_from_env();
    m.add_function(wrap_pyfunction!(set_metaclass, m)?)?;
    m.add_function(wrap_pyfunction!(make_immutable, m)?)?;
    m.add_function(wrap_pyfunction!(api::dtype::dtype_spec, m)?)?;
    m.add_function(wrap_pyfunction!(api::layout::struct_layout, m)?)?;
    m.add_function(wrap_pyfunction!(api::cdef::cdef_parse, m)?)?;
    m.add_function(wrap_pyfunction!(api::numpy::ndarray_facts, m)?)?;
    m.add_function(wrap_pyfunction!(api::numpy::numpy_c_api, m)?)?;
    m.add_function(wrap_pyfunction!(api::numpy::as_array, m)?)?;
    m.add_function(wrap_pyfunction!(api::numpy::as_ctypes, m)?)?;
    m.add_function(wrap_pyfunction!(api::numpy::set_numpy_spec, m)?)?;
    m.add(
        "sizeof",
        capi::slots::raw_function::<api::functions::SizeofFn>(m)?,
    )?;
    m.add_function(wrap_pyfunction!(api::functions::alignment, m)?)?;
    m.add(
        "byref",
        capi::slots::raw_function::<api::functions::ByrefFn>(m)?,
    )?;
    m.add(
        "addressof",
        capi::slots::raw_function::<api::functions::AddressofFn>(m)?,
    )?;
    m.add_function(wrap_pyfunction!(api::functions::cast, m)?)?;
    m.add_function(wrap_pyfunction!(api::functions::memmove, m)?)?;
    m.add_function(wrap_pyfunction!(api::functions::memset, m)?)?;
    m.add_function(wrap_pyfunction!(api::functions::string_at, m)?)?;
    m.add_function(wrap_pyfunction!(api::functions::wstring_at, m)?)?;
    m.add_function(wrap_pyfunction!(api::functions::memoryview_at, m)?)?;
    m.add_function(wrap_pyfunction!(api::functions::dllist, m)?)?;
    m.add_function(wrap_pyfunction!(api::functions::get_errno, m)?)?;
    m.add_function(wrap_pyfunction!(api::functions::set_errno, m)?)?;
    m.add_function(wrap_pyfunction!(api::functions::dlopen, m)?)?;
    m.add_function(wrap_pyfunction!(api::functions::dlsym, m)?)?;
    m.add_function(wrap_pyfunction!(api::functions::dlclose, m)?)?;
    m.add_function(wrap_pyfunction!(api::functions::from_address, m)?)?;
    m.add_function(wrap_pyfunction!(api::functions::in_dll, m)?)?;
    m.add_function(wrap_pyfunction!(api::functions::from_buffer, m)?)?;
    m.add_function(wrap_pyfunction!(api::functions::from_buffer_copy, m)?)?;
    m.add_function(wrap_pyfunction!(api::functions::resize, m)?)?;
    m.add_function(wrap_pyfunction!(api::functions::view_keeping, m)?)?;
    m.add_function(wrap_pyfunction!(api::functions::keep_alive, m)?)?;
    m.add_function(wrap_pyfunction!(api::functions::unpickle, m)?)?;
    m.add_function(wrap_pyfunction!(api::functions::pyobj_from_ptr, m)?)?;
    m.add_function(wrap_pyfunction!(api::functions::py_incref, m)?)?;
    m.add_function(wrap_pyfunction!(api::functions::py_decref, m)?)?;
    m.add_function(wrap_pyfunction!(api::functions::buffer_info, m)?)?;
    m.add_function(wrap_pyfunction!(api::functions::simple_from_param, m)?)?;
    m.add_function(wrap_pyfunction!(api::functions::pointer_from_param, m)?)?;
    m.add_function(wrap_pyfunction!(api::functions::generic_from_param, m)?)?;
    m.add_function(wrap_pyfunction!(slot_report, m)?)?;
    m.add("FUNCFLAG_CDECL", types::funcptr::FUNCFLAG_CDECL)?;
    m.add("FUNCFLAG_HRESULT", types::funcptr::FUNCFLAG_HRESULT)?;
    m.add("FUNCFLAG_PYTHONAPI", types::funcptr::FUNCFLAG_PYTHONAPI)?;
    m.add("FUNCFLAG_USE_ERRNO", types::funcptr::FUNCFLAG_USE_ERRNO)?;
    m.add(
        "FUNCFLAG_USE_LASTERROR",
        types::funcptr::FUNCFLAG_USE_LASTERROR,
    )?;
    m.add("RTLD_LOCAL", ferrotype_core::library::RTLD_LOCAL)?;
    m.add("RTLD_GLOBAL", ferrotype_core::library::RTLD_GLOBAL)?;
    m.add("DEFAULT_MODE", ferrotype_core::library::DEFAULT_MODE)?;
    m.add("SIZEOF_TIME_T", std::mem::size_of::<libc::time_t>())?;
    m.add("CTYPES_MAX_ARGCOUNT", ferrotype_core::MAX_ARGS)?;
    // The C functions ctypes publishes by address (`_memmove_addr`, ...).
    capi::cfuncs::set_cast(api::functions::cast_address);
    for (name, address) in capi::cfuncs::addresses() {
        m.add(name, address)?;
    }
    api::util::register(m)?;
    Ok(())
}
