//! ferrotype-core: the pure-Rust heart of ferrotype (no Python here).
pub mod ldcache;
