//! Module-level functions of `ferrotype._native`: ctypes' functions (`sizeof`, `byref`,
//! `cast`, `memmove`, ...), the NumPy bridge and dtype descriptions for
//! `ferrotype.ctypeslib`, `find_library` support, strict mode's Python API, and the C declarations of `ferrotype.cdef` (`cdef.rs`), and the layout
//! facts behind `ferrotype.layout()` (`layout.rs`). Imports every layer below.

pub mod cdef;
pub mod dtype;
pub mod functions;
pub mod layout;
pub mod numpy;
pub mod strict;
pub mod util;
