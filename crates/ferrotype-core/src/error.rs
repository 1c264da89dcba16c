//! The one error type of the core. Every fallible operation returns [`Result`]; the
//! Python extension converts these to the exceptions ctypes raises, in one place.

use std::fmt;

/// Errors of the core. Variants carry the context needed to build a message that
/// matches ctypes' (the loader's own text for library and symbol errors).
///
/// Not `#[non_exhaustive]`: the Python extension maps every variant to an exception
/// with an exhaustive match, so that a new variant forces a decision there.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `dlopen` failed; `message` is the loader's text, as ctypes reports it.
    #[error("{message}")]
    LibraryLoad {
        /// The name that was asked for (`None` for the process image).
        name: Option<String>,
        /// The dynamic loader's message (`dlerror`).
        message: String,
    },
    /// `dlsym` failed; `message` is the loader's text.
    #[error("{message}")]
    SymbolNotFound {
        /// The symbol that was asked for.
        symbol: String,
        /// The dynamic loader's message (`dlerror`).
        message: String,
    },
    /// `dlclose` failed.
    #[error("{message}")]
    LibraryClose {
        /// The dynamic loader's message.
        message: String,
    },
    /// libffi refused to prepare a call interface.
    #[error("ffi_prep_cif failed: {reason}")]
    PrepCif {
        /// Why libffi refused (bad typedef, bad ABI, ...).
        reason: String,
    },
    /// A call had more arguments than the core supports.
    #[error("too many arguments: {given} (at most {max})")]
    TooManyArguments {
        /// Arguments given.
        given: usize,
        /// The supported maximum.
        max: usize,
    },
    /// An integer does not fit the C type, not even as a bit pattern.
    #[error("int too long to convert to {ctype} ({bits}-bit)")]
    IntegerOverflow {
        /// The C type's name.
        ctype: &'static str,
        /// Its width in bits.
        bits: u32,
    },
    /// An unknown simple type code.
    #[error("unknown type code {code:?}")]
    UnknownTypeCode {
        /// The character given.
        code: char,
    },
    /// Something the platform cannot do (e.g. an unknown `long double` format).
    #[error("{what} is not supported on this platform")]
    Unsupported {
        /// What was asked for.
        what: &'static str,
    },
    /// A call signature holds a type libffi cannot pass or return: `_Float16`, which the
    /// ABIs put in floating-point registers (ferrotype only; Python: `TypeError`).
    #[error("ferrotype: {what} arguments and results are not supported by libffi")]
    NotCallable {
        /// The type's name (`float16`).
        what: &'static str,
    },
    /// A bit-field width of 0 or more bits than its type has (ctypes: `ValueError`).
    #[error("number of bits invalid for bit field '{field}'")]
    BitfieldWidth {
        /// The field's name.
        field: String,
        /// The width given.
        bits: i64,
    },
    /// A `_layout_` other than `'gcc-sysv'` or `'ms'` (ctypes: `ValueError`).
    #[error("unknown _layout_: '{name}'")]
    UnknownLayout {
        /// The value given.
        name: String,
    },
    /// A negative `_pack_` (ctypes: `ValueError`).
    #[error("_pack_ must be a non-negative integer")]
    NegativePack {
        /// The value given.
        value: i64,
    },
    /// A `_pack_` above `INT_MAX` (ctypes: `ValueError`).
    #[error("_pack_ too big")]
    PackTooBig {
        /// The value given.
        value: i64,
    },
    /// `_pack_` together with the gcc-sysv layout (ctypes: `ValueError`).
    #[error("_pack_ is not compatible with gcc-sysv layout")]
    PackWithGccLayout,
    /// A negative `_align_` (ctypes: `ValueError`).
    #[error("_align_ must be a non-negative integer")]
    NegativeAlign {
        /// The value given.
        value: i64,
    },
    /// A struct or union larger than `isize::MAX` bytes (ctypes: `OverflowError`).
    #[error("structure or union is too large")]
    LayoutTooLarge,
    /// An allocation failed, or asked for more than the allocator can give (ctypes:
    /// `MemoryError`).
    #[error("cannot allocate {size} bytes")]
    OutOfMemory {
        /// The size asked for.
        size: usize,
    },
}

/// The core's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A short stable name for the variant, for diagnostics.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::LibraryLoad { .. } => "LibraryLoad",
            Error::SymbolNotFound { .. } => "SymbolNotFound",
            Error::LibraryClose { .. } => "LibraryClose",
            Error::PrepCif { .. } => "PrepCif",
            Error::TooManyArguments { .. } => "TooManyArguments",
            Error::IntegerOverflow { .. } => "IntegerOverflow",
            Error::UnknownTypeCode { .. } => "UnknownTypeCode",
            Error::Unsupported { .. } => "Unsupported",
            Error::NotCallable { .. } => "NotCallable",
            Error::BitfieldWidth { .. } => "BitfieldWidth",
            Error::UnknownLayout { .. } => "UnknownLayout",
            Error::NegativePack { .. } => "NegativePack",
            Error::PackTooBig { .. } => "PackTooBig",
            Error::PackWithGccLayout => "PackWithGccLayout",
            Error::NegativeAlign { .. } => "NegativeAlign",
            Error::LayoutTooLarge => "LayoutTooLarge",
            Error::OutOfMemory { .. } => "OutOfMemory",
        }
    }
}

/// A libffi status that was not `FFI_OK`, for messages.
pub(crate) struct FfiStatus(pub(crate) u32);

impl fmt::Display for FfiStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            1 => f.write_str("FFI_BAD_TYPEDEF"),
            2 => f.write_str("FFI_BAD_ABI"),
            3 => f.write_str("FFI_BAD_ARGTYPE"),
            n => write!(f, "status {n}"),
        }
    }
}
