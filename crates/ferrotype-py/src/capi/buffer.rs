//! The buffer protocol, both ways: filling in the view an instance exports, and reading
//! the facts of a buffer another object exports (`from_buffer`).

use std::ffi::{c_char, c_int, CStr};

use pyo3::exceptions::PyBufferError;
use pyo3::ffi;
use pyo3::prelude::*;

/// A `memoryview` of `len` raw bytes at `ptr` that owns nothing (its `obj` is None),
/// writable unless `readonly` (`PyMemoryView_FromMemory`, ctypes' `memoryview_at`).
///
/// # Safety
/// The memory is used unchecked for as long as the view lives: the caller vouches for
/// it, as for any raw-address operation of ctypes (`string_at`).
pub unsafe fn memoryview_at<'py>(
    py: Python<'py>,
    ptr: *mut u8,
    len: isize,
    readonly: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let flags = if readonly {
        ffi::PyBUF_READ
    } else {
        ffi::PyBUF_WRITE
    };
    // SAFETY: the GIL is held (token); `len` is not negative (the caller checked) and
    // the region is the caller's responsibility. The result is a new reference or NULL
    // with an exception set.
    unsafe {
        let view = ffi::PyMemoryView_FromMemory(ptr.cast::<c_char>(), len, flags);
        Bound::from_owned_ptr_or_err(py, view)
    }
}

/// The view CPython hands to `__getbuffer__`.
pub type RawBuffer = ffi::Py_buffer;

/// What a consumer asks of a buffer.
#[derive(Clone, Copy)]
pub enum Request {
    /// Any buffer: only its address and length (`PyBUF_SIMPLE`).
    Simple,
    /// Any buffer, with its format, shape and strides, writable or not (`PyBUF_FULL_RO`).
    FullReadOnly,
}

/// What an instance exports: its memory, and the format and shape of its type.
pub struct Export<'a> {
    /// The instance's bytes.
    pub buf: *mut u8,
    /// Their number.
    pub len: usize,
    /// Whether writes are refused.
    pub readonly: bool,
    /// The size of the innermost element.
    pub itemsize: usize,
    /// The PEP 3118 format.
    pub format: &'a CStr,
    /// The shape (empty for a scalar).
    pub shape: &'a [isize],
}

/// Fills in `view` for `obj` exporting `export`, honouring `flags` (the consumer's
/// request): the PEP 3118 rules ctypes follows.
///
/// # Safety
/// `view` must be the view CPython passed to `obj`'s `__getbuffer__` with `flags`, and
/// the memory, format and shape in `export` must stay valid as long as `obj` lives (the
/// view holds a reference to it).
pub unsafe fn fill_view(
    view: *mut RawBuffer,
    obj: &Bound<'_, PyAny>,
    export: &Export<'_>,
    flags: c_int,
) -> PyResult<()> {
    if view.is_null() {
        return Err(PyBufferError::new_err("View is null"));
    }
    if export.readonly && flags & ffi::PyBUF_WRITABLE != 0 {
        return Err(PyBufferError::new_err("Object is not writable."));
    }
    // SAFETY: `view` is a valid, writable Py_buffer provided by the interpreter for the
    // duration of the call; the pointers stored in it stay valid while `obj` (a new
    // reference kept in the view) lives (the caller's guarantee).
    unsafe {
        (*view).obj = obj.clone().into_ptr();
        (*view).buf = export.buf.cast();
        (*view).len = export.len as isize;
        (*view).readonly = c_int::from(export.readonly);
        (*view).itemsize = export.itemsize as isize;
        (*view).format = if flags & ffi::PyBUF_FORMAT != 0 {
            export.format.as_ptr().cast_mut()
        } else {
            std::ptr::null_mut()
        };
        (*view).ndim = export.shape.len() as c_int;
        (*view).shape = if flags & ffi::PyBUF_ND != 0 && !export.shape.is_empty() {
            export.shape.as_ptr().cast_mut()
        } else {
            std::ptr::null_mut()
        };
        (*view).strides = std::ptr::null_mut();
        (*view).suboffsets = std::ptr::null_mut();
        (*view).internal = std::ptr::null_mut();
    }
    Ok(())
}

/// The facts of a buffer `obj` exports: its address and length, whether it is
/// read-only, and whether it is C-contiguous. The view is released before returning;
/// the caller keeps the exporter alive (and unchanged) while it uses the address.
pub fn facts(obj: &Bound<'_, PyAny>, request: Request) -> PyResult<(*mut u8, usize, bool, bool)> {
    let flags = match request {
        Request::Simple => ffi::PyBUF_SIMPLE,
        Request::FullReadOnly => ffi::PyBUF_FULL_RO,
    };
    let mut view = std::mem::MaybeUninit::<ffi::Py_buffer>::zeroed();
    // SAFETY: `view` is writable storage for a Py_buffer; on success it is filled in and
    // released below, on failure an exception is set.
    if unsafe { ffi::PyObject_GetBuffer(obj.as_ptr(), view.as_mut_ptr(), flags) } != 0 {
        return Err(PyErr::fetch(obj.py()));
    }
    // SAFETY: PyObject_GetBuffer succeeded, so the view is initialised.
    let mut view = unsafe { view.assume_init() };
    // SAFETY: a filled-in view; PyBuffer_IsContiguous only reads it.
    let contiguous = unsafe { ffi::PyBuffer_IsContiguous(&view, b'C' as c_char) } != 0;
    let facts = (
        view.buf.cast::<u8>(),
        view.len as usize,
        view.readonly != 0,
        contiguous,
    );
    // SAFETY: releases the view obtained above exactly once.
    unsafe { ffi::PyBuffer_Release(&mut view) };
    Ok(facts)
}

/// Whether `obj`'s type exports buffers.
#[inline]
pub fn exports_buffer(obj: &Bound<'_, PyAny>) -> bool {
    // SAFETY: `obj` is a live object; PyObject_CheckBuffer only reads its type.
    unsafe { ffi::PyObject_CheckBuffer(obj.as_ptr()) != 0 }
}
