//! The data model: type information ([`stginfo`]), instances and their memory and
//! keep-alive ([`cdata`]), the native class of each kind ([`registry`]) and errors
//! ([`errors`]). Imports only `capi` and the core.

pub mod cdata;
pub mod errors;
pub mod registry;
pub mod stginfo;
