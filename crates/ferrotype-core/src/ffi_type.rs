//! libffi type descriptions owned by Rust: the `void` and scalar statics, and struct
//! types built from their elements. A struct's `ffi_type` lives in a `Box`, so its
//! address is stable for the call interfaces that point at it.

use core::ptr;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use libffi::raw::{ffi_type, ffi_type_enum_STRUCT};

use crate::typecode::TypeCode;

/// The libffi description of a C type as it travels through a call.
#[derive(Clone, Debug)]
pub enum FfiType {
    /// `void` (return type only).
    Void,
    /// A simple type.
    Scalar(TypeCode),
    /// An aggregate passed by value.
    Struct(Arc<StructType>),
}

impl PartialEq for FfiType {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (FfiType::Void, FfiType::Void) => true,
            (FfiType::Scalar(a), FfiType::Scalar(b)) => a == b,
            (FfiType::Struct(a), FfiType::Struct(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}
impl Eq for FfiType {}

impl Hash for FfiType {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            FfiType::Void => 0u8.hash(state),
            FfiType::Scalar(c) => {
                1u8.hash(state);
                c.hash(state);
            }
            FfiType::Struct(s) => {
                2u8.hash(state);
                (Arc::as_ptr(s) as usize).hash(state);
            }
        }
    }
}

impl FfiType {
    /// The raw descriptor for libffi.
    pub fn as_raw(&self) -> *mut ffi_type {
        match self {
            FfiType::Void => &raw mut libffi::raw::ffi_type_void,
            FfiType::Scalar(code) => code.ffi_type(),
            FfiType::Struct(s) => s.as_raw(),
        }
    }

    /// Whether a value of this type can cross a call: no simple type in it (a struct's
    /// members included) is one libffi cannot describe ([`TypeCode::is_callable`]).
    pub fn is_callable(&self) -> bool {
        match self {
            FfiType::Void => true,
            FfiType::Scalar(code) => code.is_callable(),
            FfiType::Struct(s) => s._children.iter().all(FfiType::is_callable),
        }
    }

    /// The size of a value of this type (0 for void).
    pub fn size(&self) -> usize {
        match self {
            FfiType::Void => 0,
            FfiType::Scalar(code) => code.size(),
            FfiType::Struct(s) => s.size,
        }
    }
}

impl FfiType {
    /// The alignment of a value of this type (1 for void).
    pub fn align(&self) -> usize {
        match self {
            FfiType::Void => 1,
            FfiType::Scalar(code) => code.align(),
            FfiType::Struct(s) => usize::from(s.raw.alignment).max(1),
        }
    }

    /// The scalar leaves of the type with their offsets, laid out as libffi lays out
    /// struct elements (each at the next multiple of its alignment).
    pub(crate) fn leaves(&self, base: usize, out: &mut Vec<(usize, TypeCode)>) {
        match self {
            FfiType::Void => {}
            FfiType::Scalar(code) => out.push((base, *code)),
            FfiType::Struct(s) => {
                let mut off = 0usize;
                for child in &s._children {
                    off = off.next_multiple_of(child.align());
                    child.leaves(base + off, out);
                    off += child.size();
                }
            }
        }
    }

    /// The libffi description of a union of `members` (all at offset 0) of `size`
    /// bytes and alignment `align`. libffi has no union type, so the union becomes a
    /// struct of `align`-sized slots, each an integer if any member has an integer or
    /// pointer overlapping it, else a float of the slot's size: the eightbyte
    /// classification of the x86-64 System V ABI (INTEGER wins over SSE), and an HFA on
    /// AArch64 when every member is made of one float type. `long double` members are
    /// refused (`None`): they are classified apart (x87) and cannot share a slot.
    pub fn union_of(members: &[FfiType], size: usize, align: usize) -> Option<FfiType> {
        let mut leaves = Vec::new();
        for m in members {
            m.leaves(0, &mut leaves);
        }
        if leaves.iter().any(|(_, c)| *c == TypeCode::LongDouble) || size == 0 {
            return None;
        }
        let slot = align.clamp(1, 8);
        if size % slot != 0 {
            return None;
        }
        let int_of = |n: usize| match n {
            1 => TypeCode::UByte,
            2 => TypeCode::UShort,
            4 => TypeCode::UInt,
            _ => TypeCode::ULongLong,
        };
        let mut elems = Vec::with_capacity(size / slot);
        for start in (0..size).step_by(slot) {
            let end = start + slot;
            let overlapping = leaves
                .iter()
                .filter(|(off, c)| *off < end && *off + c.size() > start);
            let mut float = None;
            let mut integer = false;
            for (_, c) in overlapping {
                match c {
                    TypeCode::Float | TypeCode::Double => float = Some(*c),
                    _ => integer = true,
                }
            }
            elems.push(FfiType::Scalar(match (integer, float, slot) {
                (false, Some(_), 4) => TypeCode::Float,
                (false, Some(TypeCode::Double), 8) => TypeCode::Double,
                // Two floats in one eightbyte (or padding next to one) are SSE too.
                (false, Some(_), 8) => TypeCode::Double,
                _ => int_of(slot),
            }));
        }
        Some(FfiType::Struct(StructType::new(elems, size, align)))
    }
}

/// A struct type for libffi (unions are described as structs, see [`FfiType::union_of`]).
pub struct StructType {
    raw: Box<ffi_type>,
    _elements: Box<[*mut ffi_type]>,
    _children: Vec<FfiType>,
    size: usize,
}

// SAFETY: the descriptor is immutable after construction except for the size/alignment
// fields that ffi_prep_cif fills in, which it computes identically every time; the
// children it points to are owned (or static) and live as long as self.
unsafe impl Send for StructType {}
// SAFETY: as above.
unsafe impl Sync for StructType {}

impl std::fmt::Debug for StructType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StructType")
            .field("size", &self.size)
            .field("elements", &self._children)
            .finish()
    }
}

impl StructType {
    /// Describes a struct whose members, in order, are `elements` (arrays expanded into
    /// their elements by the caller), with the C layout's `size` and `align`.
    pub fn new(elements: Vec<FfiType>, size: usize, align: usize) -> Arc<StructType> {
        let mut raw_elems: Vec<*mut ffi_type> = elements.iter().map(FfiType::as_raw).collect();
        raw_elems.push(ptr::null_mut());
        let mut elems = raw_elems.into_boxed_slice();
        let raw = Box::new(ffi_type {
            size,
            alignment: u16::try_from(align).unwrap_or(u16::MAX),
            type_: ffi_type_enum_STRUCT,
            elements: elems.as_mut_ptr(),
        });
        Arc::new(StructType {
            raw,
            _elements: elems,
            _children: elements,
            size,
        })
    }

    fn as_raw(&self) -> *mut ffi_type {
        ptr::from_ref::<ffi_type>(&self.raw).cast_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slots(t: &FfiType) -> Vec<TypeCode> {
        let FfiType::Struct(s) = t else {
            panic!("a union is described as a struct")
        };
        s._children
            .iter()
            .map(|c| match c {
                FfiType::Scalar(code) => *code,
                other => panic!("slot {other:?}"),
            })
            .collect()
    }

    #[test]
    fn unions_are_classified_per_slot() {
        let s = |c| FfiType::Scalar(c);
        // int/float: the integer wins (INTEGER over SSE).
        let u = FfiType::union_of(&[s(TypeCode::Int), s(TypeCode::Float)], 4, 4).unwrap();
        assert_eq!(slots(&u), [TypeCode::UInt]);
        // Only floating members: SSE (an HFA on AArch64).
        let u = FfiType::union_of(&[s(TypeCode::Double), s(TypeCode::Float)], 8, 8).unwrap();
        assert_eq!(slots(&u), [TypeCode::Double]);
        // A struct of two floats next to a double: both eightbytes stay SSE.
        let ff = FfiType::Struct(StructType::new(
            vec![s(TypeCode::Float), s(TypeCode::Float)],
            8,
            4,
        ));
        let u = FfiType::union_of(&[ff, s(TypeCode::Double)], 8, 8).unwrap();
        assert_eq!(slots(&u), [TypeCode::Double]);
        // A long member over the second eightbyte only makes that one INTEGER.
        let dl = FfiType::Struct(StructType::new(
            vec![s(TypeCode::Double), s(TypeCode::LongLong)],
            16,
            8,
        ));
        let dd = FfiType::Struct(StructType::new(
            vec![s(TypeCode::Double), s(TypeCode::Double)],
            16,
            8,
        ));
        let u = FfiType::union_of(&[dd, dl], 16, 8).unwrap();
        assert_eq!(slots(&u), [TypeCode::Double, TypeCode::ULongLong]);
        assert_eq!(u.size(), 16);
        // long double members are refused.
        assert!(FfiType::union_of(&[s(TypeCode::LongDouble)], 16, 16).is_none());
    }
}
