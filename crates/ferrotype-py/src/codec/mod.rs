//! Values between Python and C over (type information, address): scalars
//! ([`scalar`]), call arguments ([`param`]) and elements of any type ([`element`]).
//! Imports `model`, `capi` and the core.

pub mod element;
pub mod param;
pub mod scalar;
