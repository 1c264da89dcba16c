//! # What differs between the CPython versions ferrotype supports
//!
//! ferrotype is built once per interpreter (no abi3), so each difference between the
//! `ctypes` of CPython 3.11, 3.12, 3.13, 3.14 and 3.15 is a compile-time constant here,
//! derived from PyO3's `cfg(Py_3_x)` gates. Code elsewhere reads these constants (the
//! optimiser removes the branch not taken) and never tests `cfg(Py_3_x)` itself, so this
//! table is the whole list of behaviour that depends on the version. The internals the
//! boundary uses per version (private symbols, struct layouts) are gated where they are
//! used, in this directory, and listed on the soundness page.
//!
//! The Python layer has the matching switch in `ferrotype/_version.py`.

/// The interpreter this extension was built for, as `(major, minor)`.
pub const PYTHON: (u8, u8) = if cfg!(Py_3_15) {
    (3, 15)
} else if cfg!(Py_3_14) {
    (3, 14)
} else if cfg!(Py_3_13) {
    (3, 13)
} else if cfg!(Py_3_12) {
    (3, 12)
} else {
    (3, 11)
};

/// 3.12: a bit-field whose width is out of range is named in the error
/// ("number of bits invalid for bit field 'x'"); 3.11 gives no name.
pub const BITFIELD_ERROR_NAMES_FIELD: bool = cfg!(Py_3_12);

/// 3.14: a pointer type's `_type_` without type information is named in the error
/// ("<class 'int'> must have storage info"); before, "_type_ must have storage info".
/// (Arrays keep the old message.)
pub const POINTER_STORAGE_ERROR_NAMES_TYPE: bool = cfg!(Py_3_14);
