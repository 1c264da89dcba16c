//! `ferrotype._native`: the Python objects of ferrotype. The ctypes-compatible package
//! (`python/ferrotype`) assembles its classes on top of these; all the work happens
//! here or in `ferrotype-core`.
//!
//! Module map: `cdata` (instances and memory), `stginfo` (type information),
//! `simple`/`array`/`pointer`/`funcptr`/`structure` (the kinds of types), `slots` (making
//! and freeing instances), `convert` (Python <-> C
//! values), `functions` (module functions), `dtype` (NumPy dtype descriptions), `errors` (exceptions), `gilcell`,
//! `util` (find_library support).

use pyo3::prelude::*;

/// Every Rust allocation of the extension (instance buffers, conversion scratch) goes to
/// mimalloc: a small zeroed buffer costs tens of instructions instead of the hundreds
/// glibc's `calloc`/`free` pair costs, and it needs no GIL (unlike pymalloc), so memory
/// may be allocated or freed on any thread.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod array;
mod cdata;
mod convert;
mod dtype;
mod errors;
mod funcptr;
mod functions;
mod gil;
mod gilcell;
mod ndarray;
mod pointer;
mod simple;
mod slots;
mod stginfo;
mod structure;
mod thunk;
mod util;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<cdata::CData>()?;
    m.add_class::<simple::SimpleCData>()?;
    m.add_class::<array::Array>()?;
    m.add_class::<pointer::Pointer>()?;
    m.add_class::<funcptr::CFuncPtr>()?;
    m.add_class::<convert::CArg>()?;
    m.add_class::<stginfo::StgInfo>()?;
    m.add_class::<structure::Structure>()?;
    m.add_class::<structure::Union>()?;
    m.add_class::<structure::CField>()?;
    slots::install(py)?;
    simple::install_value_descriptor(py)?;
    structure::install_field_slots(py);
    pointer::SUBSCRIPT.install(&<pointer::Pointer as pyo3::PyTypeInfo>::type_object(py));
    array::SUBSCRIPT.install(&<array::Array as pyo3::PyTypeInfo>::type_object(py));
    m.add_class::<array::CharArrayAttr>()?;
    array::install_char_attr_slots(py);
    m.add_function(wrap_pyfunction!(structure::init_struct_type, m)?)?;
    m.add_function(wrap_pyfunction!(dtype::dtype_spec, m)?)?;
    m.add("ArgumentError", py.get_type::<errors::ArgumentError>())?;
    m.add_function(wrap_pyfunction!(stginfo::init_simple_type, m)?)?;
    m.add_function(wrap_pyfunction!(stginfo::init_array_type, m)?)?;
    m.add_function(wrap_pyfunction!(stginfo::init_pointer_type, m)?)?;
    m.add_function(wrap_pyfunction!(stginfo::init_funcptr_type, m)?)?;
    m.add_function(wrap_pyfunction!(array::char_array_get_value, m)?)?;
    m.add_function(wrap_pyfunction!(array::set_char_types, m)?)?;
    m.add_function(wrap_pyfunction!(array::create_string_buffer, m)?)?;
    m.add_function(wrap_pyfunction!(array::create_unicode_buffer, m)?)?;
    m.add_function(wrap_pyfunction!(array::char_array_set_value, m)?)?;
    m.add_function(wrap_pyfunction!(array::char_array_get_raw, m)?)?;
    m.add_function(wrap_pyfunction!(array::char_array_set_raw, m)?)?;
    m.add_function(wrap_pyfunction!(functions::sizeof, m)?)?;
    m.add_function(wrap_pyfunction!(functions::alignment, m)?)?;
    m.add_function(wrap_pyfunction!(functions::byref, m)?)?;
    m.add_function(wrap_pyfunction!(functions::addressof, m)?)?;
    m.add_function(wrap_pyfunction!(functions::cast, m)?)?;
    m.add_function(wrap_pyfunction!(functions::memmove, m)?)?;
    m.add_function(wrap_pyfunction!(functions::memset, m)?)?;
    m.add_function(wrap_pyfunction!(functions::string_at, m)?)?;
    m.add_function(wrap_pyfunction!(functions::wstring_at, m)?)?;
    m.add_function(wrap_pyfunction!(functions::get_errno, m)?)?;
    m.add_function(wrap_pyfunction!(functions::set_errno, m)?)?;
    m.add_function(wrap_pyfunction!(functions::dlopen, m)?)?;
    m.add_function(wrap_pyfunction!(functions::dlsym, m)?)?;
    m.add_function(wrap_pyfunction!(functions::dlclose, m)?)?;
    m.add_function(wrap_pyfunction!(functions::from_address, m)?)?;
    m.add_function(wrap_pyfunction!(functions::in_dll, m)?)?;
    m.add_function(wrap_pyfunction!(functions::from_buffer, m)?)?;
    m.add_function(wrap_pyfunction!(functions::from_buffer_copy, m)?)?;
    m.add_function(wrap_pyfunction!(functions::resize, m)?)?;
    m.add_class::<ndarray::NdSpec>()?;
    m.add_function(wrap_pyfunction!(thunk::debug_callbacks, m)?)?;
    m.add_function(wrap_pyfunction!(funcptr::set_register_calls, m)?)?;
    m.add_function(wrap_pyfunction!(ndarray::ndarray_facts, m)?)?;
    m.add_function(wrap_pyfunction!(functions::view_keeping, m)?)?;
    m.add_function(wrap_pyfunction!(functions::keep_alive, m)?)?;
    m.add_function(wrap_pyfunction!(functions::unpickle, m)?)?;
    m.add_function(wrap_pyfunction!(functions::simple_from_param, m)?)?;
    m.add_function(wrap_pyfunction!(functions::pointer_from_param, m)?)?;
    m.add_function(wrap_pyfunction!(functions::generic_from_param, m)?)?;
    m.add("FUNCFLAG_CDECL", funcptr::FUNCFLAG_CDECL)?;
    m.add("FUNCFLAG_HRESULT", funcptr::FUNCFLAG_HRESULT)?;
    m.add("FUNCFLAG_PYTHONAPI", funcptr::FUNCFLAG_PYTHONAPI)?;
    m.add("FUNCFLAG_USE_ERRNO", funcptr::FUNCFLAG_USE_ERRNO)?;
    m.add("FUNCFLAG_USE_LASTERROR", funcptr::FUNCFLAG_USE_LASTERROR)?;
    m.add("RTLD_LOCAL", ferrotype_core::library::RTLD_LOCAL)?;
    m.add("RTLD_GLOBAL", ferrotype_core::library::RTLD_GLOBAL)?;
    m.add("DEFAULT_MODE", ferrotype_core::library::DEFAULT_MODE)?;
    m.add("SIZEOF_TIME_T", std::mem::size_of::<libc::time_t>())?;
    util::register(m)?;
    Ok(())
}
