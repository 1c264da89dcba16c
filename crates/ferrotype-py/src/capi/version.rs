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

/// 3.14: a bit-field whose width is out of range is named in the error
/// ("number of bits invalid for bit field 'x'"); before, no name.
pub const BITFIELD_ERROR_NAMES_FIELD: bool = cfg!(Py_3_14);

/// 3.14: a bit-field's width is checked against its type's size before the type is
/// checked, so `("a", c_float, 0)` is a ValueError (bad width), not a TypeError (type).
pub const BITFIELD_WIDTH_BEFORE_TYPE: bool = cfg!(Py_3_14);

/// 3.14: `CField` is public and described by name, type and bits (`name`, `type`,
/// `byte_offset`, `byte_size`, `bit_offset`, `bit_size`, `is_bitfield`, `is_anonymous`),
/// and its repr is `<ctypes.CField 'x' type=c_int, ofs=0, size=4>` instead of
/// `<Field type=c_int, ofs=0, size=4>`.
pub const CFIELD_DESCRIBED: bool = cfg!(Py_3_14);

/// 3.14: `_fields_` is read as Python unpacks it: any iterable of fields, each any
/// iterable of two or three items ("_fields_ must be a sequence of (name, C type) pairs
/// or (name, C type, bit size) triples", a ValueError), a type without a size is "this
/// type has no size", and a name that is not a str is refused as CField's argument.
pub const FIELDS_CHECKED_AS_ITERABLES: bool = cfg!(Py_3_14);

/// 3.14: `CField` has a (private) constructor, `CField(*, name, type, byte_size,
/// byte_offset, index, _internal_use, bit_size=None, bit_offset=None)`; before, the
/// class cannot be instantiated.
pub const CFIELD_CONSTRUCTOR: bool = cfg!(Py_3_14);

/// 3.14: a structure with `_pack_` but no `_layout_` gets the MSVC layout implicitly,
/// with a DeprecationWarning (on platforms other than Windows).
pub const PACK_WITHOUT_LAYOUT_WARNS: bool = cfg!(Py_3_14);

/// 3.14: `_pack_` is read in Python (`int(_pack_)`; `None` is no packing, a string of
/// digits or a float is converted, "_pack_ must be an integer" when it does not convert,
/// "_pack_ too big" above `INT_MAX`); before, as a C `int` (`__index__`), a value that is
/// not one or does not fit being "_pack_ must be a non-negative integer".
pub const PACK_CONVERTED_BY_INT: bool = cfg!(Py_3_14);

/// 3.14: `_align_` is compared with 0 in Python (a value that does not compare raises
/// that comparison's TypeError; one beyond `Py_ssize_t` overflows later); 3.13 reads it
/// as a C `int`, a value that is not one or does not fit being "_align_ must be a
/// non-negative integer". (3.11 and 3.12 ignore `_align_`; ferrotype honours it there,
/// read as 3.13 reads it.)
pub const ALIGN_COMPARED_IN_PYTHON: bool = cfg!(Py_3_14);

/// 3.14: the complex types `c_float_complex`, `c_double_complex` and
/// `c_longdouble_complex` (C `_Complex`), `_type_` codes `F`, `D` and `G`.
pub const HAS_COMPLEX_TYPES: bool = cfg!(Py_3_14);

/// 3.14 added `memoryview_at`, and `_ctypes._memoryview_at_addr` for it.
pub const HAS_MEMORYVIEW_AT: bool = cfg!(Py_3_14);

/// 3.15: the complex types' `_type_` (and PEP 3118 format) is two characters, `Zf`,
/// `Zd` and `Zg`; the single characters `F`, `D`, `G` are no longer codes, and a
/// `_type_` of any other length is reported with the list of codes (AttributeError)
/// rather than as "a string of length 1" (ValueError).
pub const COMPLEX_CODES_ARE_Z_PAIRS: bool = cfg!(Py_3_15);

/// The AttributeError message for a `_type_` that is not a type code, word for word
/// ctypes' (which lists ctypes' codes; ferrotype's own `e` is not named). 3.14 names
/// the complex ones and drops `X` (Windows' BSTR) off Windows; 3.15 lists the
/// two-character complex codes separately.
pub const TYPE_CODE_ERROR: &str = if cfg!(Py_3_15) {
    "class must define a '_type_' attribute which must be\n\
     one of these characters: 'cbBhHiIlLdfuzZqQPOv?g',\n\
     or one of these strings: 'Zf', 'Zd', 'Zg'."
} else if cfg!(Py_3_14) {
    "class must define a '_type_' attribute which must be\n\
     a single character string containing one of the\n\
     supported types: 'cbBhHiIlLdDFGfuzZqQPOv?g'."
} else {
    "class must define a '_type_' attribute which must be\n\
     a single character string containing one of 'cbBhHiIlLdfuzZqQPXOv?g'."
};

/// 3.14: a pointer type's `_type_` without type information is named in the error
/// ("<class 'int'> must have storage info"); before, "_type_ must have storage info".
/// (Arrays keep the old message.)
pub const POINTER_STORAGE_ERROR_NAMES_TYPE: bool = cfg!(Py_3_14);

/// 3.12: a simple type's `from_param` re-raises the error of its value conversion
/// ("'str' object cannot be interpreted as an integer", "must be real number, not
/// str") when the object has no `_as_parameter_`; 3.11 replaces it by "wrong type".
pub const FROM_PARAM_RAISES_CONVERSION_ERROR: bool = cfg!(Py_3_12);

/// 3.13: `c_char_p`, `c_wchar_p` and `c_void_p` (and `POINTER(c_char)`/`POINTER(c_wchar)`)
/// reject an argument with "'int' object cannot be interpreted as ctypes.c_char_p";
/// before, "wrong type".
pub const STRING_FROM_PARAM_NAMES_TYPE: bool = cfg!(Py_3_13);

/// 3.14: `c_char` and `c_wchar` name what they were given ("one character bytes,
/// bytearray, or an integer in range(256) expected, not bytes of length 3", "integer not
/// in range(256)", "a unicode character expected, not instance of int"); 3.11 to 3.13 say
/// "one character bytes, bytearray or integer expected", "unicode string expected instead
/// of int instance", "one character unicode string expected".
pub const CHAR_ERRORS_NAME_VALUE: bool = cfg!(Py_3_14);

/// 3.14: `argtypes` assigned to a function made with paramflags are checked against
/// them ("paramflags must have the same length as argtypes", "'out' parameter 2 must be
/// a pointer type, not c_int"); before, any sequence was taken.
pub const ARGTYPES_CHECKED_WITH_PARAMFLAGS: bool = cfg!(Py_3_14);

/// 3.14: `del buf.raw` says "attribute 'raw' of 'c_char_Array_2' objects cannot be
/// deleted"; before, "cannot delete attribute".
pub const DELETION_ERROR_NAMES_ATTRIBUTE: bool = cfg!(Py_3_14);

/// How an exception raised by a callback is reported ("Exception ignored <this> <the
/// callable>"): 3.14 says "while calling", before "on calling".
pub const CALLBACK_CALL_FAILED: &std::ffi::CStr = if cfg!(Py_3_14) {
    c"while calling ctypes callback function"
} else {
    c"on calling ctypes callback function"
};

/// As [`CALLBACK_CALL_FAILED`], for a callback result that cannot be converted: 3.14
/// says "while converting result", before "on converting result".
pub const CALLBACK_RESULT_FAILED: &std::ffi::CStr = if cfg!(Py_3_14) {
    c"while converting result of ctypes callback function"
} else {
    c"on converting result of ctypes callback function"
};

/// 3.14: `byref`, `addressof` and `resize` reject a non-ctypes argument with "byref()
/// argument 1 must be _ctypes._CData, not int"; before, "byref() argument must be a
/// ctypes instance, not 'int'", "invalid type" and "expected ctypes instance".
pub const CDATA_ARGUMENT_ERRORS_NAME_CDATA: bool = cfg!(Py_3_14);

/// 3.12: `resize`'s error is spelled "expected ctypes instance" (3.11: "excepted").
pub const RESIZE_MESSAGE_SPELLED: bool = cfg!(Py_3_12);

/// 3.13: `cast(obj, typ)` with a `typ` that is no ctypes type says "cast() argument 2
/// must be a pointer type" without naming it; a ctypes type that is no pointer is still
/// named (", not c_int").
pub const CAST_NAMES_ONLY_CTYPES_TYPES: bool = cfg!(Py_3_13);

/// 3.15: `set_type` gives a pointer type the buffer format of its new target (`&<d`,
/// gh-142966); before, the format stays the one the type was made with (none for a
/// pointer type made without a target).
pub const SET_TYPE_UPDATES_FORMAT: bool = cfg!(Py_3_15);

/// 3.12 and later keep an int's digit count and sign in the `lv_tag` word after the
/// object header (`_PyLongValue`); 3.11 keeps the signed digit count in `ob_size`.
pub const INT_SIGN_IN_TAG: bool = cfg!(Py_3_12);

/// 3.13: a ctypes class gets its type information in its metaclass's `__init__`, not its
/// `__new__` (a class made by `__new__` alone is abstract; a second `__init__` is a
/// SystemError).
pub const METACLASS_INIT_LAYS_OUT: bool = cfg!(Py_3_13);
