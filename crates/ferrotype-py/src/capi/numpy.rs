//! NumPy arrays read without linking against NumPy, for `ferrotype.ctypeslib`.
//!
//! An ndarray is read through the head of NumPy's public C struct
//! `PyArrayObject_fields` (`data`, `nd`, `dimensions`, `strides`, `base`, `descr`,
//! `flags`, in that order after `PyObject_HEAD`), which NumPy has kept unchanged from
//! 1.7 through 2.x because compiled extensions read it through the `PyArray_*` macros.
//! The head is only read from objects that pass `PyObject_TypeCheck` against the
//! `numpy.ndarray` type object handed over by `ctypeslib` (a subclass instance starts
//! with the same struct), and only while the GIL is held, so the array cannot be freed
//! or reshaped during the read. `tests/test_boundary.py` checks every fact read here
//! against NumPy's own attributes.

use std::ffi::{c_char, c_int};

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyType;
use pyo3::Borrowed;

/// NumPy's `NPY_ARRAY_C_CONTIGUOUS`.
pub const C_CONTIGUOUS: c_int = 0x0001;
/// NumPy's `NPY_ARRAY_WRITEABLE`.
pub const WRITEABLE: c_int = 0x0400;

/// The head of NumPy's `PyArrayObject_fields`.
#[repr(C)]
struct ArrayHead {
    ob_base: ffi::PyObject,
    data: *mut c_char,
    nd: c_int,
    dimensions: *const isize,
    strides: *const isize,
    base: *mut ffi::PyObject,
    descr: *mut ffi::PyObject,
    flags: c_int,
}

/// What ferrotype needs to know about one ndarray, borrowed from it.
pub struct ArrayFacts<'a, 'py> {
    /// The address of the first element.
    pub data: *mut u8,
    /// The dimensions.
    pub shape: &'a [isize],
    /// The data type (`arr.dtype`), borrowed from the array.
    pub descr: Borrowed<'a, 'py, PyAny>,
    /// NumPy's flags (see [`C_CONTIGUOUS`], [`WRITEABLE`]).
    pub flags: c_int,
}

/// The facts of `obj` if it is an instance of `ndarray` (the `numpy.ndarray` type).
pub fn array_facts<'a, 'py>(
    obj: &'a Bound<'py, PyAny>,
    ndarray: &Bound<'py, PyType>,
) -> Option<ArrayFacts<'a, 'py>> {
    // SAFETY: both pointers are valid Python objects; PyObject_TypeCheck only reads
    // their types.
    if unsafe { ffi::PyObject_TypeCheck(obj.as_ptr(), ndarray.as_type_ptr()) } == 0 {
        return None;
    }
    let head = obj.as_ptr().cast::<ArrayHead>();
    // The dimensions array holds `nd` entries and lives as long as the array, which
    // `obj` keeps alive for 'a; so does the descriptor, a reference the array owns.
    // SAFETY: `obj` is an ndarray (checked above), so its memory starts with NumPy's
    // PyArrayObject_fields, whose head `ArrayHead` mirrors (module comment).
    unsafe {
        let nd = (*head).nd.max(0) as usize;
        let shape = if nd == 0 || (*head).dimensions.is_null() {
            &[][..]
        } else {
            std::slice::from_raw_parts((*head).dimensions, nd)
        };
        Some(ArrayFacts {
            data: (*head).data.cast(),
            shape,
            descr: Borrowed::from_ptr(obj.py(), (*head).descr),
            flags: (*head).flags,
        })
    }
}

// ---------------------------------------------------------------------------------
// NumPy's C API, through its function table.

/// NumPy's C-API function table (`_ARRAY_API`, a capsule of `_multiarray_umath`), as an
/// address; set once by [`load_api`] when the table's ABI version is one this module
/// knows.
static API: std::sync::OnceLock<usize> = std::sync::OnceLock::new();

/// The ABI versions (`PyArray_GetNDArrayCVersion`) whose table layout is known here:
/// NumPy 1.x (0x01000009) and 2.x (0x02000000). The entries used keep their index in
/// both (NumPy never renumbers an entry it keeps).
const KNOWN_ABI: [u32; 2] = [0x0100_0009, 0x0200_0000];
/// Table indices (`numpy/__multiarray_api.h`).
const GET_NDARRAY_C_VERSION: usize = 0;
const ARRAY_TYPE: usize = 2;
const DESCR_TYPE: usize = 3;
const NEW_FROM_DESCR: usize = 94;
const SET_BASE_OBJECT: usize = 282;

/// NumPy's `NPY_ARRAY_WRITEABLE` as the flag argument of `PyArray_NewFromDescr`.
const NPY_ARRAY_WRITEABLE: c_int = 0x0400;

type NewFromDescr = unsafe extern "C" fn(
    *mut ffi::PyTypeObject,
    *mut ffi::PyObject,
    c_int,
    *const isize,
    *const isize,
    *mut std::ffi::c_void,
    c_int,
    *mut ffi::PyObject,
) -> *mut ffi::PyObject;
type SetBaseObject = unsafe extern "C" fn(*mut ffi::PyObject, *mut ffi::PyObject) -> c_int;
type GetVersion = unsafe extern "C" fn() -> std::ffi::c_uint;

/// Takes NumPy's C-API table from `capsule` (`_multiarray_umath._ARRAY_API`, whose
/// capsule has no name) if its ABI version is known; returns whether the table is in
/// use.
pub fn load_api(capsule: &Bound<'_, PyAny>) -> bool {
    if API.get().is_some() {
        return true;
    }
    // SAFETY: `capsule` is a live object; PyCapsule_CheckExact reads its type.
    if unsafe { ffi::PyCapsule_CheckExact(capsule.as_ptr()) } == 0 {
        return false;
    }
    // SAFETY: a capsule; the name NumPy gives this one is NULL. On a name mismatch the
    // call returns NULL with an exception set, which is cleared.
    let table = unsafe { ffi::PyCapsule_GetPointer(capsule.as_ptr(), std::ptr::null()) };
    if table.is_null() {
        let _ = PyErr::take(capsule.py());
        return false;
    }
    let table = table.cast::<*const std::ffi::c_void>();
    // SAFETY: the capsule holds NumPy's function table, whose first entry is
    // `PyArray_GetNDArrayCVersion` in every NumPy version (it is how `import_array`
    // checks the ABI), a function taking nothing.
    let version = unsafe {
        let f: GetVersion = std::mem::transmute(*table.add(GET_NDARRAY_C_VERSION));
        f()
    };
    if !KNOWN_ABI.contains(&version) {
        return false;
    }
    let _ = API.set(table as usize);
    true
}

/// A new ndarray of type `descr` (a NumPy dtype) and shape `dims`, C-contiguous, over
/// the memory at `data`, writeable or not, keeping `base` alive (its `base`
/// attribute). `None` when NumPy's table is not loaded ([`load_api`]).
///
/// # Safety
/// `data` must be valid for `dims`' product times the dtype's item size bytes for as
/// long as `base` lives, and writable if `writeable`.
pub unsafe fn array_view<'py>(
    descr: &Bound<'py, PyAny>,
    dims: &[isize],
    data: *mut u8,
    writeable: bool,
    base: &Bound<'py, PyAny>,
) -> Option<PyResult<Bound<'py, PyAny>>> {
    let table = *API.get()? as *const *const std::ffi::c_void;
    let py = base.py();
    let nd = c_int::try_from(dims.len()).ok()?;
    // `PyArray_NewFromDescr` steals a reference to the dtype (given one here) and, with
    // `data` not NULL and no strides, makes a C-contiguous view computing its own flags
    // but for the writeable bit passed. `PyArray_SetBaseObject` steals the reference to
    // `base` (given one); on failure the new array is released.
    // `table` is NumPy's function table of a known ABI (`load_api`): the entries used
    // are `PyArray_Type` and `PyArrayDescr_Type` (type objects; `descr` is checked to be
    // a dtype), `PyArray_NewFromDescr` and `PyArray_SetBaseObject`.
    // SAFETY: those entries have the signatures of `numpy/__multiarray_api.h` in that
    // ABI, and the caller's contract covers the memory.
    unsafe {
        let array_type = (*table.add(ARRAY_TYPE))
            .cast_mut()
            .cast::<ffi::PyTypeObject>();
        let new: NewFromDescr = std::mem::transmute(*table.add(NEW_FROM_DESCR));
        let set_base: SetBaseObject = std::mem::transmute(*table.add(SET_BASE_OBJECT));
        let descr_type = (*table.add(DESCR_TYPE))
            .cast_mut()
            .cast::<ffi::PyTypeObject>();
        if ffi::PyObject_TypeCheck(descr.as_ptr(), descr_type) == 0 {
            return None;
        }
        let flags = if writeable { NPY_ARRAY_WRITEABLE } else { 0 };
        let arr = new(
            array_type,
            descr.clone().into_ptr(),
            nd,
            dims.as_ptr(),
            std::ptr::null(),
            data.cast(),
            flags,
            std::ptr::null_mut(),
        );
        if arr.is_null() {
            return Some(Err(PyErr::fetch(py)));
        }
        let arr = Bound::from_owned_ptr(py, arr);
        if set_base(arr.as_ptr(), base.clone().into_ptr()) < 0 {
            return Some(Err(PyErr::fetch(py)));
        }
        Some(Ok(arr))
    }
}

/// NumPy's `ndarray` type, from its C-API table, once [`load_api`] took one.
pub fn ndarray_type(py: Python<'_>) -> Option<Bound<'_, PyType>> {
    let table = *API.get()? as *const *const std::ffi::c_void;
    // SAFETY: entry `ARRAY_TYPE` of a loaded table of a known ABI is `&PyArray_Type`, a
    // static type object of the NumPy module, which stays loaded once imported.
    unsafe {
        let tp = (*table.add(ARRAY_TYPE)).cast_mut().cast::<ffi::PyObject>();
        Some(Bound::from_borrowed_ptr(py, tp).cast_into_unchecked())
    }
}
