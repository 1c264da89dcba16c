//! Values between Python and C over (type information, address): scalars
//! ([`scalar`]), call arguments ([`param`]), elements of any type ([`element`]) and
//! objects of the stdlib's ctypes standing for ferrotype ones ([`foreign`]).
//! Imports `model`, `capi` and the core.

pub mod element;
pub mod foreign;
pub mod param;
pub mod provenance;
pub mod scalar;
