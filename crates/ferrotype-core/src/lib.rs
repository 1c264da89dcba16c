//! # ferrotype-core
//!
//! The pure-Rust heart of ferrotype, the C foreign-function interface for Python. It
//! knows nothing about Python: Rust programs can load libraries, describe C types and
//! make dynamic calls with it directly (see `examples/cos.rs`).
//!
//! Module map:
//! - [`typecode`]: the simple C types (ctypes' `_type_` codes): size, alignment, libffi
//!   type, PEP 3118 format character.
//! - [`layout`]: struct and union layout by the C compiler's rules (gcc-sysv and ms,
//!   `_pack_`, `_align_`, bit-fields, swapped byte order).
//! - [`ffi_type`]: owned libffi type descriptions (scalars, and structs, unions and
//!   arrays by value, built from a C layout).
//! - [`library`]: `dlopen`/`dlsym`, the process image; never closes implicitly.
//! - [`call`]: the numbered call path through libffi: prepared and cached call
//!   interfaces, argument slots, a result buffer at least one register wide.
//! - [`regcall`]: the register engine: signatures that fit in argument registers,
//!   called without libffi (x86-64 System V and AArch64).
//! - [`closure`]: callbacks: C function pointers running Rust handlers (libffi
//!   closures, or on x86-64 Linux our own trampolines for register-only signatures).
//! - `trampoline` (x86-64 Linux): those trampolines: W^X stub pages, one assembly
//!   entry, argument places worked out once per signature.
//! - [`errno`]: the private per-thread errno that `use_errno` functions swap.
//! - [`memory`]: the raw-memory helpers (scalar reads and writes, owned buffers).
//! - [`ldcache`]: the dynamic loader's cache, for `find_library`.
//! - [`strict`]: the process-wide strict-mode switch (checks ctypes does not make).
//! - [`error`]: the one error enum.
//!
//! Unsafe code is confined to `memory`, `call`, `regcall`, `closure`, `trampoline`, `library`, `errno` and `typecode`'s
//! libffi statics; each block states why it is sound.
#![deny(missing_docs)]

pub mod call;
pub mod cdecl;
pub mod closure;
pub mod errno;
pub mod error;
pub mod ffi_type;
pub mod layout;
pub mod ldcache;
pub mod library;
pub mod memory;
pub mod regcall;
pub mod strict;
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
pub mod trampoline;
pub mod typecode;

pub use call::{ArgSlot, CallInterface, RetBuf, MAX_ARGS};
pub use closure::Closure;
pub use error::{Error, Result};
pub use ffi_type::{FfiType, StructType};
pub use library::Library;
pub use memory::{OwnedBuf, RawBuf, Scalar};
#[cfg(all(target_arch = "x86_64", not(windows), target_endian = "little"))]
pub use regcall::{call_doubles, call_ints};
pub use regcall::{RegArg, RegResult, RegisterCall, RegisterShape, Registers, ScalarShape};
pub use typecode::TypeCode;
