//! Simple C types: the ctypes type codes (`_type_` characters) and what the platform
//! says about each one: size, alignment, libffi type and PEP 3118 format character.
//!
//! Sizes come from Rust's `core::ffi` aliases and from libffi's own `long double`
//! description, so the table is right on every target rather than on one machine.

use core::ffi::{c_char, c_int, c_long, c_longlong, c_short, c_void};
use core::mem::{align_of, size_of};

use libffi::raw::ffi_type;

use crate::error::{Error, Result};

/// A simple C type, identified by its ctypes `_type_` code.
///
/// Fixed-width aliases (`c_int32`, `c_size_t`, ...) are not codes of their own: ctypes
/// makes them aliases of the code with the same size and signedness.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TypeCode {
    /// `_Bool` (`?`)
    Bool,
    /// `char` as a one-byte character (`c`)
    Char,
    /// `wchar_t` as a character (`u`)
    WChar,
    /// `signed char` (`b`)
    Byte,
    /// `unsigned char` (`B`)
    UByte,
    /// `short` (`h`)
    Short,
    /// `unsigned short` (`H`)
    UShort,
    /// `int` (`i`)
    Int,
    /// `unsigned int` (`I`)
    UInt,
    /// `long` (`l`)
    Long,
    /// `unsigned long` (`L`)
    ULong,
    /// `long long` (`q`)
    LongLong,
    /// `unsigned long long` (`Q`)
    ULongLong,
    /// `float` (`f`)
    Float,
    /// `double` (`d`)
    Double,
    /// `long double` (`g`)
    LongDouble,
    /// IEEE 754 binary16, C `_Float16` (`e`). ferrotype only: stdlib ctypes has no such
    /// type. It lives in memory (fields, arrays, buffers) but cannot cross a call: libffi
    /// has no way to say "a 2-byte value in an SSE register" (see [`TypeCode::ffi_type`]).
    Half,
    /// `float _Complex` (`F`; CPython 3.14's code, 3.15 spells it `Zf`): the real part
    /// then the imaginary part, each a `float`.
    FloatComplex,
    /// `double _Complex` (`D`; 3.15: `Zd`).
    DoubleComplex,
    /// `long double _Complex` (`G`; 3.15: `Zg`).
    LongDoubleComplex,
    /// `void *` (`P`)
    VoidP,
    /// `char *`, a NUL-terminated byte string (`z`)
    CharP,
    /// `wchar_t *`, a NUL-terminated wide string (`Z`)
    WCharP,
    /// `PyObject *` (`O`)
    PyObject,
    /// `VARIANT_BOOL` (`v`): a `short` that is 0 for false and -1 (`VARIANT_TRUE`) for
    /// true, read back as a Python bool (`wintypes.VARIANT_BOOL`).
    VariantBool,
}

/// How the bytes of a simple type are interpreted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    /// A two's-complement signed integer.
    Signed,
    /// An unsigned integer.
    Unsigned,
    /// `_Bool`.
    Bool,
    /// An IEEE binary float of the type's size, or the platform's `long double`.
    Float,
    /// A C `_Complex` number: two floats of half the type's size (read and written with
    /// `memory::read_complex`/`write_complex`).
    Complex,
    /// A data or object pointer.
    Pointer,
}

/// The format of the platform's `long double`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LongDoubleFormat {
    /// Same as `double`.
    Double,
    /// x87 80-bit extended precision, padded to the type's size.
    X87Extended,
    /// IEEE 754 binary128.
    Binary128,
}

/// All codes, in the order ctypes lists them in its error message (ferrotype's own
/// codes last).
pub const ALL: [TypeCode; 25] = [
    TypeCode::Char,
    TypeCode::Byte,
    TypeCode::UByte,
    TypeCode::Short,
    TypeCode::UShort,
    TypeCode::Int,
    TypeCode::UInt,
    TypeCode::Long,
    TypeCode::ULong,
    TypeCode::Double,
    TypeCode::Float,
    TypeCode::WChar,
    TypeCode::CharP,
    TypeCode::WCharP,
    TypeCode::LongLong,
    TypeCode::ULongLong,
    TypeCode::VoidP,
    TypeCode::PyObject,
    TypeCode::VariantBool,
    TypeCode::Bool,
    TypeCode::LongDouble,
    TypeCode::Half,
    TypeCode::FloatComplex,
    TypeCode::DoubleComplex,
    TypeCode::LongDoubleComplex,
];

/// The codes ctypes accepts, as it lists them in its `_type_` error message, followed by
/// ferrotype's own (`e`). The complex codes (`F`, `D`, `G`) are not in it: which
/// interpreters have them, and how they are spelt, is the extension's business.
pub const VALID_CODES: &str = "cbBhHiIlLdfuzZqQPXOv?ge";

impl TypeCode {
    /// The code for a ctypes `_type_` character.
    pub fn from_char(c: char) -> Result<TypeCode> {
        Ok(match c {
            '?' => TypeCode::Bool,
            'v' => TypeCode::VariantBool,
            'c' => TypeCode::Char,
            'u' => TypeCode::WChar,
            'b' => TypeCode::Byte,
            'B' => TypeCode::UByte,
            'h' => TypeCode::Short,
            'H' => TypeCode::UShort,
            'i' => TypeCode::Int,
            'I' => TypeCode::UInt,
            'l' => TypeCode::Long,
            'L' => TypeCode::ULong,
            'q' => TypeCode::LongLong,
            'Q' => TypeCode::ULongLong,
            'f' => TypeCode::Float,
            'd' => TypeCode::Double,
            'g' => TypeCode::LongDouble,
            'e' => TypeCode::Half,
            'F' => TypeCode::FloatComplex,
            'D' => TypeCode::DoubleComplex,
            'G' => TypeCode::LongDoubleComplex,
            'P' => TypeCode::VoidP,
            'z' => TypeCode::CharP,
            'Z' => TypeCode::WCharP,
            'O' => TypeCode::PyObject,
            _ => return Err(Error::UnknownTypeCode { code: c }),
        })
    }

    /// The ctypes `_type_` character.
    pub fn as_char(self) -> char {
        match self {
            TypeCode::Bool => '?',
            TypeCode::VariantBool => 'v',
            TypeCode::Char => 'c',
            TypeCode::WChar => 'u',
            TypeCode::Byte => 'b',
            TypeCode::UByte => 'B',
            TypeCode::Short => 'h',
            TypeCode::UShort => 'H',
            TypeCode::Int => 'i',
            TypeCode::UInt => 'I',
            TypeCode::Long => 'l',
            TypeCode::ULong => 'L',
            TypeCode::LongLong => 'q',
            TypeCode::ULongLong => 'Q',
            TypeCode::Float => 'f',
            TypeCode::Double => 'd',
            TypeCode::LongDouble => 'g',
            TypeCode::Half => 'e',
            TypeCode::FloatComplex => 'F',
            TypeCode::DoubleComplex => 'D',
            TypeCode::LongDoubleComplex => 'G',
            TypeCode::VoidP => 'P',
            TypeCode::CharP => 'z',
            TypeCode::WCharP => 'Z',
            TypeCode::PyObject => 'O',
        }
    }

    /// The C spelling of the type, for messages.
    pub fn c_name(self) -> &'static str {
        match self {
            TypeCode::Bool => "_Bool",
            TypeCode::VariantBool => "VARIANT_BOOL",
            TypeCode::Char => "char",
            TypeCode::WChar => "wchar_t",
            TypeCode::Byte => "signed char",
            TypeCode::UByte => "unsigned char",
            TypeCode::Short => "short",
            TypeCode::UShort => "unsigned short",
            TypeCode::Int => "int",
            TypeCode::UInt => "unsigned int",
            TypeCode::Long => "long",
            TypeCode::ULong => "unsigned long",
            TypeCode::LongLong => "long long",
            TypeCode::ULongLong => "unsigned long long",
            TypeCode::Float => "float",
            TypeCode::Double => "double",
            TypeCode::LongDouble => "long double",
            TypeCode::Half => "_Float16",
            TypeCode::FloatComplex => "float _Complex",
            TypeCode::DoubleComplex => "double _Complex",
            TypeCode::LongDoubleComplex => "long double _Complex",
            TypeCode::VoidP => "void *",
            TypeCode::CharP => "char *",
            TypeCode::WCharP => "wchar_t *",
            TypeCode::PyObject => "PyObject *",
        }
    }

    /// `sizeof` the C type on this platform.
    #[inline]
    pub fn size(self) -> usize {
        match self {
            TypeCode::Bool => size_of::<bool>(),
            TypeCode::VariantBool => size_of::<c_short>(),
            TypeCode::Char | TypeCode::Byte | TypeCode::UByte => size_of::<c_char>(),
            TypeCode::WChar => size_of::<libc::wchar_t>(),
            TypeCode::Short | TypeCode::UShort => size_of::<c_short>(),
            TypeCode::Int | TypeCode::UInt => size_of::<c_int>(),
            TypeCode::Long | TypeCode::ULong => size_of::<c_long>(),
            TypeCode::LongLong | TypeCode::ULongLong => size_of::<c_longlong>(),
            TypeCode::Float => size_of::<f32>(),
            TypeCode::Double => size_of::<f64>(),
            TypeCode::LongDouble => long_double_ffi().size,
            TypeCode::Half => 2,
            // C11: a complex type is laid out as an array of two of its real type.
            TypeCode::FloatComplex => 2 * size_of::<f32>(),
            TypeCode::DoubleComplex => 2 * size_of::<f64>(),
            TypeCode::LongDoubleComplex => 2 * long_double_ffi().size,
            TypeCode::VoidP | TypeCode::CharP | TypeCode::WCharP | TypeCode::PyObject => {
                size_of::<*mut c_void>()
            }
        }
    }

    /// `_Alignof` the C type on this platform.
    pub fn align(self) -> usize {
        match self {
            TypeCode::Bool => align_of::<bool>(),
            TypeCode::VariantBool => align_of::<c_short>(),
            TypeCode::Char | TypeCode::Byte | TypeCode::UByte => align_of::<c_char>(),
            TypeCode::WChar => align_of::<libc::wchar_t>(),
            TypeCode::Short | TypeCode::UShort => align_of::<c_short>(),
            TypeCode::Int | TypeCode::UInt => align_of::<c_int>(),
            TypeCode::Long | TypeCode::ULong => align_of::<c_long>(),
            TypeCode::LongLong | TypeCode::ULongLong => align_of::<c_longlong>(),
            TypeCode::Float => align_of::<f32>(),
            TypeCode::Double => align_of::<f64>(),
            TypeCode::LongDouble => usize::from(long_double_ffi().alignment),
            TypeCode::Half => 2,
            TypeCode::FloatComplex => align_of::<f32>(),
            TypeCode::DoubleComplex => align_of::<f64>(),
            TypeCode::LongDoubleComplex => usize::from(long_double_ffi().alignment),
            TypeCode::VoidP | TypeCode::CharP | TypeCode::WCharP | TypeCode::PyObject => {
                align_of::<*mut c_void>()
            }
        }
    }

    /// How the type's bytes are read.
    pub fn kind(self) -> ValueKind {
        match self {
            TypeCode::Bool | TypeCode::VariantBool => ValueKind::Bool,
            TypeCode::Byte | TypeCode::Short | TypeCode::Int | TypeCode::Long => ValueKind::Signed,
            TypeCode::LongLong => ValueKind::Signed,
            // C `char` is read as a byte value (0..=255) by ctypes, whatever its signedness.
            TypeCode::Char | TypeCode::UByte | TypeCode::UShort | TypeCode::UInt => {
                ValueKind::Unsigned
            }
            TypeCode::ULong | TypeCode::ULongLong => ValueKind::Unsigned,
            TypeCode::WChar => {
                if wchar_is_signed() {
                    ValueKind::Signed
                } else {
                    ValueKind::Unsigned
                }
            }
            TypeCode::Float | TypeCode::Double | TypeCode::LongDouble | TypeCode::Half => {
                ValueKind::Float
            }
            TypeCode::FloatComplex | TypeCode::DoubleComplex | TypeCode::LongDoubleComplex => {
                ValueKind::Complex
            }
            TypeCode::VoidP | TypeCode::CharP | TypeCode::WCharP | TypeCode::PyObject => {
                ValueKind::Pointer
            }
        }
    }

    /// Whether the code is one of the integer types that accept Python ints
    /// (`b B h H i I l L q Q`).
    pub fn is_integer(self) -> bool {
        matches!(
            self,
            TypeCode::Byte
                | TypeCode::UByte
                | TypeCode::Short
                | TypeCode::UShort
                | TypeCode::Int
                | TypeCode::UInt
                | TypeCode::Long
                | TypeCode::ULong
                | TypeCode::LongLong
                | TypeCode::ULongLong
        )
    }

    /// Whether the code is one of the complex types (`F`, `D`, `G`).
    pub fn is_complex(self) -> bool {
        self.kind() == ValueKind::Complex
    }

    /// The real type of each half of a complex type (the type itself otherwise).
    pub fn component(self) -> TypeCode {
        match self {
            TypeCode::FloatComplex => TypeCode::Float,
            TypeCode::DoubleComplex => TypeCode::Double,
            TypeCode::LongDoubleComplex => TypeCode::LongDouble,
            other => other,
        }
    }

    /// Whether ctypes offers a byte-swapped twin (`__ctype_be__`/`__ctype_le__`) of this type.
    /// ctypes: only integers, `float`, `double`, their complex types (3.14) and the
    /// one-byte `char` types have one; ferrotype's `_Float16` has one too.
    pub fn has_swapped_twin(self) -> bool {
        self.is_integer()
            || matches!(
                self,
                TypeCode::Float
                    | TypeCode::Double
                    | TypeCode::Char
                    | TypeCode::Half
                    | TypeCode::FloatComplex
                    | TypeCode::DoubleComplex
            )
    }

    /// Whether a value of this type can be passed to or returned from a foreign call.
    /// `_Float16` cannot: the x86-64 and AArch64 ABIs pass it in a floating-point
    /// register, and libffi has no type that says so. Its [`TypeCode::ffi_type`] only
    /// describes its size and alignment, and [`crate::CallInterface`] refuses any
    /// signature that contains it (inside a structure too).
    pub fn is_callable(self) -> bool {
        self != TypeCode::Half
    }

    /// The libffi type describing this C type in a call.
    pub fn ffi_type(self) -> *mut ffi_type {
        use libffi::raw as r;
        let signed = matches!(self.kind(), ValueKind::Signed);
        match self {
            TypeCode::Float => &raw mut r::ffi_type_float,
            TypeCode::Double => &raw mut r::ffi_type_double,
            TypeCode::LongDouble => &raw mut r::ffi_type_longdouble,
            TypeCode::FloatComplex => &raw mut r::ffi_type_complex_float,
            TypeCode::DoubleComplex => &raw mut r::ffi_type_complex_double,
            TypeCode::LongDoubleComplex => &raw mut r::ffi_type_complex_longdouble,
            // Size and alignment only (libffi has no `_Float16`): calls refuse the type
            // (see `is_callable`), so the integer class is never used to pass one.
            TypeCode::Half => &raw mut r::ffi_type_uint16,
            TypeCode::VoidP | TypeCode::CharP | TypeCode::WCharP | TypeCode::PyObject => {
                &raw mut r::ffi_type_pointer
            }
            // ctypes passes `char` as a signed char, like the C default promotion on x86.
            TypeCode::Char => &raw mut r::ffi_type_sint8,
            TypeCode::VariantBool => &raw mut r::ffi_type_sint16,
            _ => int_ffi_type(self.size(), signed),
        }
    }

    /// The PEP 3118 format character CPython's ctypes exports for this type, with the
    /// standard-size character chosen by the type's actual size (ctypes does the same,
    /// so `c_long` on LP64 exports `<q`).
    pub fn format_char(self) -> char {
        match self {
            TypeCode::Bool => '?',
            // ctypes exports the type code itself (which NumPy does not read).
            TypeCode::VariantBool => 'v',
            TypeCode::Char => 'c',
            TypeCode::WChar => 'u',
            TypeCode::Float => 'f',
            TypeCode::Double => 'd',
            TypeCode::LongDouble => 'g',
            TypeCode::Half => 'e',
            // CPython 3.14 exports its type code; 3.15 spells the complex formats `Zf`,
            // `Zd`, `Zg` (the extension adds the `Z`).
            TypeCode::FloatComplex => 'F',
            TypeCode::DoubleComplex => 'D',
            TypeCode::LongDoubleComplex => 'G',
            TypeCode::VoidP => 'P',
            TypeCode::CharP => 'z',
            TypeCode::WCharP => 'Z',
            TypeCode::PyObject => 'O',
            _ => {
                let signed = matches!(self.kind(), ValueKind::Signed);
                match (self.size(), signed) {
                    (1, true) => 'b',
                    (1, false) => 'B',
                    (2, true) => 'h',
                    (2, false) => 'H',
                    (4, true) => 'i',
                    (4, false) => 'I',
                    (_, true) => 'q',
                    (_, false) => 'Q',
                }
            }
        }
    }

    /// Whether an integer given as its 128-bit value fits this type's width as a bit
    /// pattern: the union of the signed and unsigned ranges, `-2**(n-1) ..= 2**n - 1`.
    ///
    /// This is ferrotype's rule: `c_uint(-1)` and `c_int(0xFFFFFFFF)` keep working as
    /// they do in ctypes, but a value that would lose bits raises instead of being
    /// silently truncated.
    #[inline]
    pub fn int_fits(self, value: i128) -> bool {
        let bits = (self.size() * 8) as u32;
        if bits >= 128 {
            return true;
        }
        let min = -(1i128 << (bits - 1));
        let max = (1i128 << bits) - 1;
        (min..=max).contains(&value)
    }

    /// The error for an integer that does not fit ([`TypeCode::int_fits`]).
    pub fn overflow_error(self) -> Error {
        Error::IntegerOverflow {
            ctype: self.c_name(),
            bits: (self.size() * 8) as u32,
        }
    }
}

/// The libffi integer type of the given size and signedness.
pub fn int_ffi_type(size: usize, signed: bool) -> *mut ffi_type {
    use libffi::raw as r;
    match (size, signed) {
        (1, true) => &raw mut r::ffi_type_sint8,
        (1, false) => &raw mut r::ffi_type_uint8,
        (2, true) => &raw mut r::ffi_type_sint16,
        (2, false) => &raw mut r::ffi_type_uint16,
        (4, true) => &raw mut r::ffi_type_sint32,
        (4, false) => &raw mut r::ffi_type_uint32,
        (_, true) => &raw mut r::ffi_type_sint64,
        (_, false) => &raw mut r::ffi_type_uint64,
    }
}

fn wchar_is_signed() -> bool {
    // wchar_t is a signed type exactly when its minimum is below zero.
    #[allow(clippy::absurd_extreme_comparisons, unused_comparisons)]
    let signed = libc::wchar_t::MIN < 0;
    signed
}

/// Size and alignment of `long double` as libffi describes it for this target.
struct LongDoubleInfo {
    size: usize,
    alignment: u16,
}

fn long_double_ffi() -> LongDoubleInfo {
    // SAFETY: `ffi_type_longdouble` is a statically initialised, never-written libffi
    // descriptor (libffi only writes size/alignment of struct types in ffi_prep_cif);
    // reading two plain fields through a raw pointer cannot race with a write.
    let (size, alignment) = unsafe {
        let t = &raw const libffi::raw::ffi_type_longdouble;
        ((*t).size, (*t).alignment)
    };
    LongDoubleInfo { size, alignment }
}

/// The platform's `long double` format.
pub fn long_double_format() -> Result<LongDoubleFormat> {
    let size = long_double_ffi().size;
    if size == 8 {
        return Ok(LongDoubleFormat::Double);
    }
    if cfg!(any(target_arch = "x86", target_arch = "x86_64")) {
        return Ok(LongDoubleFormat::X87Extended);
    }
    if size == 16
        && cfg!(any(
            target_arch = "aarch64",
            target_arch = "riscv64",
            target_arch = "s390x",
            target_arch = "loongarch64"
        ))
    {
        return Ok(LongDoubleFormat::Binary128);
    }
    Err(Error::Unsupported {
        what: "this long double format",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for code in ALL {
            assert_eq!(TypeCode::from_char(code.as_char()).unwrap(), code);
            assert!(VALID_CODES.contains(code.as_char()) || code.is_complex());
        }
        assert!(matches!(
            TypeCode::from_char('x'),
            Err(Error::UnknownTypeCode { code: 'x' })
        ));
    }

    #[test]
    fn sizes_match_the_platform() {
        assert_eq!(TypeCode::Int.size(), size_of::<c_int>());
        assert_eq!(TypeCode::Long.size(), size_of::<c_long>());
        assert_eq!(TypeCode::VoidP.size(), size_of::<usize>());
        assert_eq!(TypeCode::Bool.size(), 1);
        for code in ALL {
            let t = code.ffi_type();
            // SAFETY: the statics returned by ffi_type are valid libffi descriptors.
            let (size, align) = unsafe { ((*t).size, usize::from((*t).alignment)) };
            if code != TypeCode::Bool {
                assert_eq!(size, code.size(), "{code:?}");
                assert_eq!(align, code.align(), "{code:?}");
            }
        }
    }

    #[test]
    fn long_double_is_known() {
        let fmt = long_double_format().unwrap();
        if cfg!(target_arch = "x86_64") {
            assert_eq!(fmt, LongDoubleFormat::X87Extended);
            assert_eq!(TypeCode::LongDouble.size(), 16);
            assert_eq!(TypeCode::LongDouble.align(), 16);
        }
    }

    #[test]
    fn format_chars_use_standard_sizes() {
        assert_eq!(TypeCode::Int.format_char(), 'i');
        if size_of::<c_long>() == 8 {
            assert_eq!(TypeCode::Long.format_char(), 'q');
            assert_eq!(TypeCode::ULong.format_char(), 'Q');
        }
        assert_eq!(TypeCode::CharP.format_char(), 'z');
        assert_eq!(TypeCode::Half.format_char(), 'e');
    }

    #[test]
    fn half_is_a_two_byte_float_that_cannot_be_called() {
        let h = TypeCode::from_char('e').unwrap();
        assert_eq!(h, TypeCode::Half);
        assert_eq!((h.size(), h.align(), h.kind()), (2, 2, ValueKind::Float));
        assert!(h.has_swapped_twin() && !h.is_integer() && !h.is_callable());
        assert!(ALL
            .iter()
            .filter(|c| !c.is_callable())
            .eq([&TypeCode::Half]));
    }

    #[test]
    fn complex_types_are_two_of_their_component() {
        for (c, re) in [
            (TypeCode::FloatComplex, TypeCode::Float),
            (TypeCode::DoubleComplex, TypeCode::Double),
            (TypeCode::LongDoubleComplex, TypeCode::LongDouble),
        ] {
            assert_eq!(TypeCode::from_char(c.as_char()).unwrap(), c);
            assert_eq!(c.component(), re);
            assert_eq!((c.size(), c.align()), (2 * re.size(), re.align()));
            assert!(c.is_complex() && c.is_callable() && !re.is_complex());
            assert_eq!(c.has_swapped_twin(), re.has_swapped_twin());
        }
    }

    #[test]
    fn bit_pattern_range() {
        let int = TypeCode::Int;
        assert!(int.int_fits(-1));
        assert!(int.int_fits(0xFFFF_FFFF));
        assert!(int.int_fits(-(1 << 31)));
        assert!(!int.int_fits(1 << 32));
        assert!(!int.int_fits(-(1 << 31) - 1));
        assert!(TypeCode::ULongLong.int_fits(u64::MAX as i128));
        assert!(!TypeCode::ULongLong.int_fits(u64::MAX as i128 + 1));
        assert!(TypeCode::UByte.int_fits(255) && !TypeCode::UByte.int_fits(256));
    }
}
