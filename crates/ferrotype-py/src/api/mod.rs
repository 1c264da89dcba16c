//! Module-level functions of `ferrotype._native`: ctypes' functions (`sizeof`, `byref`,
//! `cast`, `memmove`, ...), the NumPy bridge and dtype descriptions for
//! `ferrotype.ctypeslib`, `find_library` support, and strict mode's Python API. Imports
//! every layer below.

pub mod dtype;
pub mod functions;
pub mod numpy;
pub mod strict;
pub mod util;
